#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt remove-key: by passphrase, by slot, last key, wiping.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

img=$T/img


newvol "$img" "$P0"
addkey "$img" "$P0" "$P1" || fail "add-key 1 for the test"
addkey "$img" "$P0" "$P2" || fail "add-key 2 for the test"
check_not "before removal slot 1 has key material" slot_wiped "$img" 1

# --- by passphrase ------------------------------------------------------------------
expect_exit 0 vc remove-key "$img" --batch --key-file "$P1"
check "remove-key prints 'Keyslot 1 removed.'" grep -qx 'Keyslot 1 removed\.' "$OUT"
expect_exit 2 vc test-key "$img" --key-file "$P1"
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_exit 0 vc test-key "$img" --key-file "$P2"
check "slot 1 material copy 0 is all zero after removal" \
	cmp -s -n "$MAT_LEN" -i "$(mat_off 0 1):0" "$img" /dev/zero
check "slot 1 material copy 1 is all zero after removal" \
	cmp -s -n "$MAT_LEN" -i "$(mat_off 1 1):0" "$img" /dev/zero
check_not "slot 0 material is untouched" slot_wiped "$img" 0
check_not "slot 2 material is untouched" slot_wiped "$img" 2
dump_json "$img"
jcheck "dump lists slots 0 and 2 only" "$T/dump.json" '[k["slot"] for k in j["keyslots"]] == [0, 2]'
jcheck "both metadata copies ok after remove-key" "$T/dump.json" 'j["metadata_copies"] == ["ok", "ok"]'

# wrong passphrase
s=$(sum_of "$img")
expect_exit 2 vc remove-key "$img" --batch --key-file "$PWRONG"
check "remove-key with a wrong passphrase writes nothing" test "$(sum_of "$img")" = "$s"
# passphrase from stdin (not a terminal): one line
expect_exit 0 vc remove-key "$img" --batch <<<"$(cat "$P2")"
check "remove-key with the passphrase on stdin removed slot 2" grep -qx 'Keyslot 2 removed\.' "$OUT"
expect_exit 2 vc test-key "$img" --key-file "$P2"
check "slot 2 material wiped in both copies" slot_wiped "$img" 2

# --- last key ---------------------------------------------------------------------------------
s=$(sum_of "$img")
expect_exit 1 vc remove-key "$img" --batch --key-file "$P0"
check "removing the last key without --force writes nothing" test "$(sum_of "$img")" = "$s"
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_exit 1 vc remove-key "$img" --batch --slot 0
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_exit 0 vc remove-key "$img" --batch --force --key-file "$P0"
check "forced removal of the last key prints 'Keyslot 0 removed.'" grep -qx 'Keyslot 0 removed\.' "$OUT"
expect_exit 2 vc test-key "$img" --key-file "$P0"
expect_exit 2 vc test-key "$img" --key-file "$P1"
check "slot 0 material wiped in both copies" slot_wiped "$img" 0
expect_exit 0 vc dump "$img"
dump_json "$img"
jcheck "no active keyslot left" "$T/dump.json" 'j["keyslots"] == []'

# --- by slot (no passphrase) -----------------------------------------------------------------------
newvol "$img" "$P0"
addkey "$img" "$P0" "$P3" --slot 3 || fail "add-key 3 for the test"
expect_exit 0 vc remove-key "$img" --batch --slot 3 </dev/null
check "remove-key --slot prints 'Keyslot 3 removed.'" grep -qx 'Keyslot 3 removed\.' "$OUT"
expect_exit 2 vc test-key "$img" --key-file "$P3"
check "slot 3 material wiped in both copies" slot_wiped "$img" 3
s=$(sum_of "$img")
expect_exit '1|4' vc remove-key "$img" --batch --slot 3
check "remove-key of an inactive slot writes nothing" test "$(sum_of "$img")" = "$s"
expect_exit 1 vc remove-key "$img" --batch --slot 8
expect_exit 1 vc remove-key "$img" --batch --slot -1
expect_exit 1 vc remove-key "$img" --batch --slot one
check "the failed removals wrote nothing" test "$(sum_of "$img")" = "$s"
expect_exit 0 vc remove-key "$img" --batch --force --slot 0
expect_exit 2 vc test-key "$img" --key-file "$P0"
check "slot 0 wiped after --force --slot 0" slot_wiped "$img" 0

# --- confirmation on a terminal ------------------------------------------------------------------------
newvol "$img" "$P0"
addkey "$img" "$P0" "$P4" --slot 4 || fail "add-key 4 for the test"
s=$(sum_of "$img")
expect_tty 1 --expect "Type 'YES' to continue: " --send "y\n" -- "$VC" remove-key "$img" --slot 4
check "remove-key --slot answered 'y' on the tty: nothing written" test "$(sum_of "$img")" = "$s"
expect_exit 0 vc test-key "$img" --key-file "$P4"
expect_tty 0 --expect "Type 'YES' to continue: " --send "YES\n" -- "$VC" remove-key "$img" --slot 4
expect_exit 2 vc test-key "$img" --key-file "$P4"
expect_tty 0 --expect-secret 'Enter passphrase for .*: ' --send-file "$P0" \
	-- "$VC" remove-key "$img" --batch --force
expect_exit 2 vc test-key "$img" --key-file "$P0"

# --- bad targets and usage ----------------------------------------------------------------------------------
expect_exit 4 vc remove-key "$T/none" --batch --slot 0
mkdir "$T/dir"
expect_exit 4 vc remove-key "$T/dir" --batch --slot 0
mkimg "$T/zero"
expect_exit 4 vc remove-key "$T/zero" --batch --key-file "$P0"
newvol "$T/ro" "$P0"
addkey "$T/ro" "$P0" "$P1" || fail "add-key for the read-only test"
if require_tool losetup && ro_loop "$T/ro" rodev; then
	expect_exit 2 vc remove-key "$rodev" --batch --slot 1
	expect_exit 0 vc test-key "$T/ro" --key-file "$P1"
fi
expect_exit 1 vc remove-key --batch --slot 0
: >"$T/empty"
expect_exit 1 vc remove-key "$img" --batch --key-file "$T/empty"

finish
