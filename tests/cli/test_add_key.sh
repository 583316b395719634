#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt add-key: slots, passphrase input, full volume, refusals.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

img=$T/img
newvol "$img" "$P0"

# --- first free slot ------------------------------------------------------------
expect_exit 0 vc add-key "$img" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}"
check "add-key prints 'Key added to keyslot 1.'" grep -qx 'Key added to keyslot 1\.' "$OUT"
expect_exit 0 vc test-key "$img" --key-file "$P1"
check "the new passphrase opens keyslot 1" grep -qx 'Keyslot 1 opens the volume\.' "$OUT"
expect_exit 0 vc test-key "$img" --key-file "$P0"
check "the old passphrase still opens keyslot 0" grep -qx 'Keyslot 0 opens the volume\.' "$OUT"
expect_copies "after add-key both metadata copies are ok" "$img" "ok ok"
check_not "keyslot 1 material copy 0 was written" is_zero "$img" "$(mat_off 0 1)" "$MAT_LEN"
check_not "keyslot 1 material copy 1 was written" is_zero "$img" "$(mat_off 1 1)" "$MAT_LEN"
check_not "the new passphrase is not stored in clear" grep -qaF "$(cat "$P1")" "$img"

# --- explicit slot, JSON, argon2id ------------------------------------------------
expect_exit 0 vc add-key "$img" --batch --key-file "$P1" --new-key-file "$P5" --slot 5 "${KDF_ARGON[@]}" --json
jcheck "add-key --json is {\"keyslot\": 5}" "$OUT" 'j == {"keyslot": 5}'
expect_exit 0 vc test-key "$img" --key-file "$P5" --slot 5
dump_json "$img"
jcheck "slot 5 uses the argon2id parameters given" "$T/dump.json" \
	'[k for k in j["keyslots"] if k["slot"] == 5][0]["kdf"] == "argon2id" and [k for k in j["keyslots"] if k["slot"] == 5][0]["memory_kib"] == 1024'
jcheck "active slots are 0, 1, 5" "$T/dump.json" '[k["slot"] for k in j["keyslots"]] == [0, 1, 5]'

# An occupied slot is not overwritten.
s=$(sum_of "$img")
expect_exit '1|5' vc add-key "$img" --batch --key-file "$P0" --new-key-file "$P6" --slot 5 "${KDF[@]}"
check "add-key to an occupied slot writes nothing" test "$(sum_of "$img")" = "$s"
expect_exit 0 vc test-key "$img" --key-file "$P5" --slot 5
expect_exit 2 vc test-key "$img" --key-file "$P6"

# --- refusals that write nothing -------------------------------------------------------
refused() {                     # refused CODE ADD-KEY-ARGS...
	local code=$1
	shift
	s=$(sum_of "$img")
	expect_exit "$code" vc add-key "$img" --batch "$@"
	check "... and the image is unchanged" test "$(sum_of "$img")" = "$s"
}
refused 2 --key-file "$PWRONG" --new-key-file "$P6" "${KDF[@]}"
expect_exit 2 vc test-key "$img" --key-file "$P6"
refused 1 --key-file "$P0" --new-key-file "$P6" --slot 8 "${KDF[@]}"
refused 1 --key-file "$P0" --new-key-file "$P6" --slot -1 "${KDF[@]}"
refused 1 --key-file "$P0" --new-key-file "$P6" --slot x "${KDF[@]}"
: >"$T/empty"
refused 1 --key-file "$P0" --new-key-file "$T/empty" "${KDF[@]}"
refused 1 --key-file "$T/empty" --new-key-file "$P6" "${KDF[@]}"
head -c $((MiB + 1)) /dev/zero | tr '\0' 'k' >"$T/big"
refused 1 --key-file "$P0" --new-key-file "$T/big" "${KDF[@]}"
refused 1 --key-file "$P0" --new-key-file "$P6" --pbkdf pbkdf2 --pbkdf-force-iterations 999
refused 1 --key-file "$P0" --new-key-file "$P6" --pbkdf sha1
refused 4 --key-file "$P0" --new-key-file "$T/no-such-file" "${KDF[@]}"
refused 1 --key-file "$P0" --new-key-file "$P6" "${KDF[@]}" --bogus

# --- stdin: first line existing, second line new ------------------------------------------
printf '%s\n%s\n' "$(cat "$P0")" "$(cat "$P2")" >"$T/two-lines"
expect_exit 0 vc add-key "$img" --batch "${KDF[@]}" <"$T/two-lines"
check "add-key from stdin chose slot 2" grep -qx 'Key added to keyslot 2\.' "$OUT"
expect_exit 0 vc test-key "$img" --key-file "$P2"
# Existing from a key file, new from stdin.
expect_exit 0 vc add-key "$img" --batch --key-file "$P0" "${KDF[@]}" <<<"$(cat "$P3")"
expect_exit 0 vc test-key "$img" --key-file "$P3"
check "the new passphrase from stdin went to slot 3" grep -qx 'Keyslot 3 opens the volume\.' "$OUT"
# --key-file - for the new passphrase: all of stdin, verbatim.
printf 'multi\nline\n' >"$T/multi"
expect_exit 0 vc add-key "$img" --batch --key-file "$P0" --new-key-file - "${KDF[@]}" <"$T/multi"
expect_exit 0 vc test-key "$img" --key-file "$T/multi"
# Only one line on stdin where two are needed.
s=$(sum_of "$img")
expect_exit 1 vc add-key "$img" --batch "${KDF[@]}" <<<"$(cat "$P0")"
check "add-key with no new passphrase writes nothing" test "$(sum_of "$img")" = "$s"

# --- on a terminal: new passphrase asked twice ------------------------------------------------
pw0=$(cat "$P0") pw7=$(cat "$P7")
s=$(sum_of "$img")
expect_tty 2 --expect-secret 'Enter passphrase for .*: ' --send-file "$P0" \
	--expect-secret ': ' --send-file "$P7" --expect-secret 'Verify passphrase: ' --send "typo\n" \
	-- "$VC" add-key "$img" --batch "${KDF[@]}"
check "mismatched new passphrases: 'passphrases do not match'" grep -q 'passphrases do not match' "$OUT"
check "mismatched new passphrases: image unchanged" test "$(sum_of "$img")" = "$s"
check_not "passphrases typed on the tty are not echoed" grep -qF -e "$pw0" -e "$pw7" "$OUT"

# --- fill every slot -----------------------------------------------------------------------------
# Now active: 0 1 2 3 4(multi) 5.  Two free slots left: 6 and 7.
expect_exit 0 vc add-key "$img" --batch --key-file "$P0" --new-key-file "$P6" "${KDF[@]}"
check "next free slot is 6" grep -qx 'Key added to keyslot 6\.' "$OUT"
expect_exit 0 vc add-key "$img" --batch --key-file "$P0" --new-key-file "$P7" "${KDF[@]}"
check "next free slot is 7" grep -qx 'Key added to keyslot 7\.' "$OUT"
dump_json "$img"
jcheck "all 8 keyslots are active" "$T/dump.json" '[k["slot"] for k in j["keyslots"]] == list(range(8))'
s=$(sum_of "$img")
expect_exit 5 vc add-key "$img" --batch --key-file "$P0" --new-key-file "$P8" "${KDF[@]}"
check "add-key with all 8 slots full writes nothing" test "$(sum_of "$img")" = "$s"
expect_exit 2 vc test-key "$img" --key-file "$P8"
for k in 0 1 2 3 5 6 7; do
	EXPECT_NAME="passphrase $k still opens a full volume" expect_exit 0 vc test-key "$img" --key-file "$T/pass$k"
done
expect_copies "full volume: both metadata copies ok" "$img" "ok ok"

# --- bad targets -----------------------------------------------------------------------------------
expect_exit 4 vc add-key "$T/none" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}"
mkdir "$T/dir"
expect_exit 4 vc add-key "$T/dir" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}"
mkimg "$T/zero"
expect_exit 4 vc add-key "$T/zero" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}"
check "add-key on a non-volcrypt image writes nothing" is_zero "$T/zero" 0 $((20 * MiB))
newvol "$T/ro" "$P0"
if require_tool losetup && ro_loop "$T/ro" rodev; then
	s=$(sum_of "$T/ro")
	expect_exit 2 vc add-key "$rodev" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}"
	check "add-key on a read-only device writes nothing" test "$(sum_of "$T/ro")" = "$s"
fi
expect_exit 1 vc add-key --batch --key-file "$P0" --new-key-file "$P1"

# --- busy: another process holds an exclusive lock on the target ---------------------------
if require_tool flock; then
	newvol "$T/busy" "$P0"
	s=$(sum_of "$T/busy")
	exec 8<"$T/busy"
	if flock -x -n 8; then
		expect_exit 5 vc add-key "$T/busy" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}"
		expect_exit 5 vc format "$T/busy" --batch --force --key-file "$P1" "${KDF[@]}"
		expect_exit 5 vc remove-key "$T/busy" --batch --force --slot 0
		check "a busy target is not written" test "$(sum_of "$T/busy")" = "$s"
		expect_exit 0 vc test-key "$T/busy" --key-file "$P0"
	else
		fail "take an exclusive flock on the test image"
	fi
	exec 8<&-
	expect_exit 0 vc add-key "$T/busy" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}"
fi

finish
