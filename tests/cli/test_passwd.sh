#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt passwd: old passphrase stops working, new one works, old material wiped.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

img=$T/img
changed_slot() {                # slot number from "Passphrase changed (keyslot N)."
	sed -n 's/^Passphrase changed (keyslot \([0-7]\))\.$/\1/p' "$OUT"
}

newvol "$img" "$P0"
vk=$(volume_key "$img" "$P0")

m0=$(bytes_at "$img" "$(mat_off 0 0)" "$MAT_LEN" | sha256sum)
m1=$(bytes_at "$img" "$(mat_off 1 0)" "$MAT_LEN" | sha256sum)
expect_exit 0 vc passwd "$img" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}"
n=$(changed_slot)
# Old material + old passphrase would still give the volume key: it must
# not survive in either copy, whether passwd moved the slot or not.
check "the old key material of slot 0 is gone from copy 0" \
	test "$(bytes_at "$img" "$(mat_off 0 0)" "$MAT_LEN" | sha256sum)" != "$m0"
check "the old key material of slot 0 is gone from copy 1" \
	test "$(bytes_at "$img" "$(mat_off 1 0)" "$MAT_LEN" | sha256sum)" != "$m1"
check "passwd prints 'Passphrase changed (keyslot N).'" test -n "$n"
expect_exit 2 vc test-key "$img" --key-file "$P0"
expect_exit 0 vc test-key "$img" --key-file "$P1"
check "test-key reports the slot passwd named" grep -qx "Keyslot ${n:-?} opens the volume\." "$OUT"
dump_json "$img"
jcheck "still exactly one active keyslot" "$T/dump.json" "[k['slot'] for k in j['keyslots']] == [${n:-99}]"
jcheck "both metadata copies ok after passwd" "$T/dump.json" 'j["metadata_copies"] == ["ok", "ok"]'
if [ -n "$n" ] && [ "$n" != 0 ]; then
	check "the old slot 0's material is wiped in both copies" slot_wiped "$img" 0
fi
check "the volume key did not change" \
	test -n "$vk" -a "$vk" = "$(volume_key "$img" "$P1")"

# Wrong old passphrase: exit 2, nothing written.
s=$(sum_of "$img")
expect_exit 2 vc passwd "$img" --batch --key-file "$PWRONG" --new-key-file "$P2" "${KDF[@]}"
check "passwd with a wrong passphrase writes nothing" test "$(sum_of "$img")" = "$s"
expect_exit 2 vc test-key "$img" --key-file "$P2"

# Stdin: first line old, second new; argon2id for the new slot.
printf '%s\n%s\n' "$(cat "$P1")" "$(cat "$P2")" >"$T/two"
expect_exit 0 vc passwd "$img" --batch "${KDF_ARGON[@]}" <"$T/two"
n=$(changed_slot)
expect_exit 2 vc test-key "$img" --key-file "$P1"
expect_exit 0 vc test-key "$img" --key-file "$P2"
dump_json "$img"
jcheck "passwd with argon2id options: the slot uses argon2id" "$T/dump.json" \
	"[k['kdf'] for k in j['keyslots'] if k['slot'] == ${n:-99}] == ['argon2id']"

# --slot: only that slot's passphrase is changed.
addkey "$img" "$P2" "$P3" --slot 5 || fail "add-key slot 5 for the test"
s=$(sum_of "$img")
expect_exit 2 vc passwd "$img" --batch --slot 5 --key-file "$P2" --new-key-file "$P4" "${KDF[@]}"
check "passwd --slot with another slot's passphrase writes nothing" test "$(sum_of "$img")" = "$s"
expect_exit 0 vc passwd "$img" --batch --slot 5 --key-file "$P3" --new-key-file "$P4" "${KDF[@]}"
expect_exit 2 vc test-key "$img" --key-file "$P3"
expect_exit 0 vc test-key "$img" --key-file "$P4"
expect_exit 0 vc test-key "$img" --key-file "$P2"
dump_json "$img"
jcheck "two active keyslots after passwd --slot" "$T/dump.json" 'len(j["keyslots"]) == 2'
expect_exit 1 vc passwd "$img" --batch --slot 9 --key-file "$P4" --new-key-file "$P5" "${KDF[@]}"

# With all 8 slots full the passphrase is replaced in place.
newvol "$img" "$P0"
for k in 1 2 3 4 5 6 7; do
	addkey "$img" "$P0" "$T/pass$k" || fail "add-key $k for the full-volume test"
done
expect_exit 0 vc passwd "$img" --batch --key-file "$P3" --new-key-file "$P9" "${KDF[@]}"
check "full volume: passwd keeps keyslot 3" test "$(changed_slot)" = 3
expect_exit 2 vc test-key "$img" --key-file "$P3"
expect_exit 0 vc test-key "$img" --key-file "$P9" --slot 3
for k in 0 1 2 4 5 6 7; do
	EXPECT_NAME="full volume: passphrase $k untouched by passwd" expect_exit 0 vc test-key "$img" --key-file "$T/pass$k" --slot $k
done
expect_copies "full volume: both metadata copies ok after passwd" "$img" "ok ok"

# Refusals.
s=$(sum_of "$img")
: >"$T/empty"
expect_exit 1 vc passwd "$img" --batch --key-file "$P0" --new-key-file "$T/empty" "${KDF[@]}"
expect_exit 1 vc passwd "$img" --batch --key-file "$P0" --new-key-file "$P8" --pbkdf pbkdf2 --pbkdf-force-iterations 1
expect_exit 1 vc passwd "$img" --batch --key-file "$P0" "${KDF[@]}" <<<""
check "refused passwd calls wrote nothing" test "$(sum_of "$img")" = "$s"

# On a terminal: the new passphrase is asked twice.
newvol "$img" "$P0"
pw0=$(cat "$P0") pw1=$(cat "$P1")
s=$(sum_of "$img")
expect_tty 2 --expect-secret 'Enter passphrase for .*: ' --send-file "$P0" \
	--expect-secret ': ' --send-file "$P1" --expect-secret 'Verify passphrase: ' --send "other\n" \
	-- "$VC" passwd "$img" --batch "${KDF[@]}"
check "tty mismatch: 'passphrases do not match'" grep -q 'passphrases do not match' "$OUT"
check "tty mismatch: nothing written" test "$(sum_of "$img")" = "$s"
expect_tty 0 --expect-secret 'Enter passphrase for .*: ' --send-file "$P0" \
	--expect-secret ': ' --send-file "$P1" --expect-secret 'Verify passphrase: ' --send-file "$P1" \
	-- "$VC" passwd "$img" --batch "${KDF[@]}"
check_not "tty passphrases not echoed" grep -qF -e "$pw0" -e "$pw1" "$OUT"
expect_exit 0 vc test-key "$img" --key-file "$P1"
expect_exit 2 vc test-key "$img" --key-file "$P0"

# Bad targets.
expect_exit 4 vc passwd "$T/none" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}"
mkimg "$T/zero"
expect_exit 4 vc passwd "$T/zero" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}"
newvol "$T/ro" "$P0"
if require_tool losetup && ro_loop "$T/ro" rodev; then
	expect_exit 2 vc passwd "$rodev" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}"
	expect_exit 0 vc test-key "$T/ro" --key-file "$P0"
fi
expect_exit 1 vc passwd --batch --key-file "$P0" --new-key-file "$P1"

finish
