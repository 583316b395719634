#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Corruption and recovery: damaged/stale metadata copies, damaged key
# material, zeroed first MiB, both copies gone.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

img=$T/img
M1=$((4 * MiB))

material_state() {              # material_state IMG SLOT: e.g. "ok ok"
	dump_json "$1" || { echo "error"; return 0; }
	jpy "$T/dump.json" "' '.join([k for k in j['keyslots'] if k['slot'] == $2][0]['material'])" 2>/dev/null || echo "error json"
}
expect_material() {             # expect_material NAME IMG SLOT "S0 S1"
	local got
	got=$(material_state "$2" "$3")
	if [ "$got" = "$4" ]; then ok "$1"; else fail "$1" "slot $3 material: got '$got', expected '$4'"; fi
}

# --- primary metadata copy damaged -----------------------------------------------------
newvol "$img" "$P0"
flip "$img" 16 16
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_exit 2 vc test-key "$img" --key-file "$PWRONG"
expect_exit 0 vc dump "$img"
check "human dump mentions the damaged copy" grep -qi damaged "$OUT"
expect_copies "flipped bytes in copy 0: dump shows copy 0 damaged" "$img" "damaged ok"
s=$(sum_of "$img")
vc dump "$img" >/dev/null 2>&1
vc test-key "$img" --key-file "$P0" >/dev/null 2>&1
check "reading a damaged volume does not write to it" test "$(sum_of "$img")" = "$s"
expect_exit 0 vc add-key "$img" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}"
expect_copies "after add-key both copies are ok again" "$img" "ok ok"
check "copy 0 rewritten with the magic" has_magic "$img" 0
expect_exit 0 vc test-key "$img" --key-file "$P1"

# Magic overwritten in copy 0.
newvol "$img" "$P0"
printf 'XXXXXXXX' | dd of="$img" conv=notrunc 2>/dev/null
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_copies "copy 0 without its magic: damaged, copy 1 ok" "$img" "damaged ok"

# Last byte of copy 0 damaged (the checksum must cover the whole copy).
newvol "$img" "$P0"
flip "$img" 4095 1
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_copies "last byte of copy 0 flipped: damaged" "$img" "damaged ok"

# --- secondary copy damaged ---------------------------------------------------------------------
newvol "$img" "$P0"
flip "$img" $((M1 + 16)) 16
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_copies "flipped bytes in copy 1: dump shows copy 1 damaged" "$img" "ok damaged"
expect_exit 0 vc passwd "$img" --batch --key-file "$P0" --new-key-file "$P2" "${KDF[@]}"
expect_copies "after passwd both copies ok" "$img" "ok ok"

# --- both copies damaged ------------------------------------------------------------------------------
newvol "$img" "$P0"
flip "$img" 16 16
flip "$img" $((M1 + 16)) 16
s=$(sum_of "$img")
expect_exit 4 vc test-key "$img" --key-file "$P0"
check "both copies damaged: the message says what is wrong" \
	grep -qiE 'corrupt|damaged|no valid|invalid|not a volcrypt|bad' "$ERR"
expect_exit 4 vc dump "$img"
expect_exit 4 vc dump "$img" --json
expect_exit 4 vc add-key "$img" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}"
expect_exit 4 vc header-backup "$img" "$T/both.hdr"
check "nothing was written to the broken volume" test "$(sum_of "$img")" = "$s"

# --- first MiB zeroed ------------------------------------------------------------------------------------
newvol "$img" "$P0"
for k in 1 2 3 4; do
	addkey "$img" "$P0" "$T/pass$k" || fail "add-key $k for the zeroed-MiB test"
done
dd if=/dev/zero of="$img" bs=1M count=1 conv=notrunc 2>/dev/null
for k in 0 1 2 3 4; do
	EXPECT_NAME="first MiB zeroed: passphrase $k still opens" expect_exit 0 vc test-key "$img" --key-file "$T/pass$k"
done
expect_exit 0 vc dump "$img"
expect_copies "first MiB zeroed: copy 0 damaged, copy 1 ok" "$img" "damaged ok"
expect_material "first MiB zeroed: slot 0 material copy 0 damaged" "$img" 0 "damaged ok"
expect_material "first MiB zeroed: slot 2 material copy 0 damaged" "$img" 2 "damaged ok"
expect_material "first MiB zeroed: slot 4 (past 1 MiB) material ok" "$img" 4 "ok ok"
expect_exit 0 vc header-backup "$img" "$T/zeroed.hdr"
expect_exit 0 vc add-key "$img" --batch --key-file "$P0" --new-key-file "$P5" "${KDF[@]}"
expect_copies "first MiB zeroed, after add-key: both copies ok" "$img" "ok ok"
check "first MiB zeroed, after add-key: all key material copies ok again" test "$(redundancy "$img")" = ok
for k in 0 1 2 3 4 5; do
	EXPECT_NAME="after the repair passphrase $k opens" expect_exit 0 vc test-key "$img" --key-file "$T/pass$k"
done
# The backup taken from the zeroed volume is complete.
zero_range "$img" 0 "$DATA_OFFSET"
expect_exit 0 vc header-restore "$img" "$T/zeroed.hdr" --batch
expect_copies "backup taken with copy 0 zeroed restores two good copies" "$img" "ok ok"
expect_material "... and two good material copies for slot 0" "$img" 0 "ok ok"
expect_exit 0 vc test-key "$img" --key-file "$P3"

# --- key material damaged -------------------------------------------------------------------------------------
newvol "$img" "$P0"
addkey "$img" "$P0" "$P1" || fail "add-key for the material test"
flip "$img" $(($(mat_off 0 0) + 1000)) 64
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_material "slot 0 material copy 0 flipped: damaged ok" "$img" 0 "damaged ok"
newvol "$img" "$P0"
addkey "$img" "$P0" "$P1" || fail "add-key for the material test"
flip "$img" $(($(mat_off 1 0) + 200000)) 64
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_material "slot 0 material copy 1 flipped: ok damaged" "$img" 0 "ok damaged"
flip "$img" $(($(mat_off 0 0) + 5)) 64
expect_exit '2|4' vc test-key "$img" --key-file "$P0" --slot 0
expect_exit 0 vc test-key "$img" --key-file "$P1"
expect_material "slot 1 material unaffected" "$img" 1 "ok ok"

# --- stale copies (rollback) ----------------------------------------------------------------------------------------
newvol "$img" "$P0"
cp "$img" "$T/old"
addkey "$img" "$P0" "$P1" || fail "add-key for the stale test"
# Copy 1 from before the add-key: valid but older.
copy_range "$T/old" "$img" "$M1" "$META_LEN"
expect_copies "older copy 1: reported stale" "$img" "ok stale"
expect_exit 0 vc test-key "$img" --key-file "$P1"
check "the newer copy is used (slot 1 exists)" grep -qx 'Keyslot 1 opens the volume\.' "$OUT"
# Copy 0 from before the add-key: the newer copy 1 wins.
newvol "$img" "$P0"
cp "$img" "$T/old"
addkey "$img" "$P0" "$P1" || fail "add-key for the stale test"
copy_range "$T/old" "$img" 0 "$META_LEN"
expect_copies "older copy 0: reported stale, copy 1 used" "$img" "stale ok"
expect_exit 0 vc test-key "$img" --key-file "$P1"
expect_exit 0 vc remove-key "$img" --batch --slot 1
expect_copies "after an update both copies ok" "$img" "ok ok"
expect_exit 2 vc test-key "$img" --key-file "$P1"

finish
