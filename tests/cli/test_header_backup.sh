#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt header-backup and header-restore.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

img=$T/img
bak=$T/img.hdr
data_sum() {                    # checksum of the data area (after 16 MiB)
	tail -c +$((DATA_OFFSET + 1)) "$1" | sha256sum | cut -d' ' -f1
}

newvol "$img" "$P0"
addkey "$img" "$P0" "$P1" || fail "add-key for the test"
# Put recognisable bytes in the data area; restore must not touch them.
head -c $((4 * MiB)) /dev/urandom | dd of="$img" bs=1M seek=16 iflag=fullblock conv=notrunc 2>/dev/null
dsum=$(data_sum "$img")

# --- backup ---------------------------------------------------------------------------
s=$(sum_of "$img")
expect_exit 0 vc header-backup "$img" "$bak"
check "header-backup prints 'Header backed up to FILE.'" grep -qxF "Header backed up to $bak." "$OUT"
check "header-backup does not modify the volume" test "$(sum_of "$img")" = "$s"
check "the backup exists" test -f "$bak"
check "the backup is the 16 MiB header area" test "$(file_size "$bak" 2>/dev/null)" = "$DATA_OFFSET"
check "the backup starts with VOLCRYPT" has_magic "$bak" 0
check "the backup's metadata copy 1 starts with VOLCRYPT" has_magic "$bak" $((4 * MiB))
check_not "the backup does not contain the data area" contains_hex "$bak" \
	"$(dd if="$img" bs=1M skip=16 count=1 2>/dev/null | head -c 64 | od -An -tx1 | tr -d ' \n')"
check_not "the backup holds no passphrase in clear" grep -qaF -e "$(cat "$P0")" -e "$(cat "$P1")" "$bak"
bsum=$(sum_of "$bak")

# Existing file: exit 5, untouched.
expect_exit 5 vc header-backup "$img" "$bak"
check "header-backup to an existing file leaves it alone" test "$(sum_of "$bak")" = "$bsum"
echo "precious" >"$T/precious"
expect_exit 5 vc header-backup "$img" "$T/precious"
check "an unrelated existing file is untouched" grep -qx precious "$T/precious"
ln -s "$T/nowhere" "$T/dangling"
expect_exit 5 vc header-backup "$img" "$T/dangling"
check "header-backup does not follow a dangling symlink" test ! -e "$T/nowhere"
# Bad sources and destinations.
mkimg "$T/zero"
expect_exit 4 vc header-backup "$T/zero" "$T/zero.hdr"
check "no backup file left after a failed backup" test ! -e "$T/zero.hdr"
expect_exit 4 vc header-backup "$T/none" "$T/none.hdr"
expect_exit 4 vc header-backup "$img" "$T/no-such-dir/img.hdr"
expect_exit 1 vc header-backup "$img"
expect_exit 1 vc header-backup "$img" "$T/x.hdr" "$T/y.hdr"

# --- restore after the header area was destroyed ----------------------------------------
zero_range "$img" 0 "$DATA_OFFSET"
expect_exit 4 vc test-key "$img" --key-file "$P0"
expect_exit 0 vc header-restore "$img" "$bak" --batch
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_exit 0 vc test-key "$img" --key-file "$P1"
expect_copies "after restore both metadata copies ok" "$img" "ok ok"
check "restore did not touch the data area" test "$(data_sum "$img")" = "$dsum"
check "restore does not modify the backup file" test "$(sum_of "$bak")" = "$bsum"

# --- restore brings back the old passphrase --------------------------------------------------
expect_exit 0 vc passwd "$img" --batch --key-file "$P0" --new-key-file "$P2" "${KDF[@]}"
expect_exit 2 vc test-key "$img" --key-file "$P0"
expect_exit 0 vc header-restore "$img" "$bak" --batch
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_exit 2 vc test-key "$img" --key-file "$P2"
check "the data area is still intact" test "$(data_sum "$img")" = "$dsum"

# --- bad backups: exit 4, target unchanged ----------------------------------------------------
s=$(sum_of "$img")
bad_restore() {                 # bad_restore DESCRIPTION FILE
	EXPECT_NAME="header-restore from $1" expect_exit 4 vc header-restore "$img" "$2" --batch
	check "... $1: the target is unchanged" test "$(sum_of "$img")" = "$s"
}
head -c $((8 * MiB)) "$bak" >"$T/trunc.hdr"
bad_restore "a backup truncated to 8 MiB" "$T/trunc.hdr"
head -c $((DATA_OFFSET - 1)) "$bak" >"$T/trunc1.hdr"
bad_restore "a backup one byte short" "$T/trunc1.hdr"
head -c 4096 "$bak" >"$T/trunc4k.hdr"
bad_restore "a backup of only the first metadata copy" "$T/trunc4k.hdr"
: >"$T/empty.hdr"
bad_restore "an empty file" "$T/empty.hdr"
head -c "$DATA_OFFSET" /dev/urandom >"$T/random.hdr"
bad_restore "random bytes" "$T/random.hdr"
truncate -s "$DATA_OFFSET" "$T/zero.hdr"
bad_restore "zeros" "$T/zero.hdr"
cp "$bak" "$T/damaged.hdr"
flip "$T/damaged.hdr" 16 32
flip "$T/damaged.hdr" $((4 * MiB + 16)) 32
bad_restore "a backup with both metadata copies damaged" "$T/damaged.hdr"
mkfs.ext4 -F -q "$T/zero" >/dev/null 2>&1
bad_restore "an ext4 image" "$T/zero"
expect_exit 4 vc header-restore "$img" "$T/no-such.hdr" --batch
expect_exit 4 vc header-restore "$img" "$T" --batch
check "the failed restores wrote nothing" test "$(sum_of "$img")" = "$s"

# --- backup of another volume ---------------------------------------------------------------
other=$T/other
newvol "$other" "$P5"
expect_exit 0 vc header-backup "$other" "$T/other.hdr"
s=$(sum_of "$img")
expect_exit 5 vc header-restore "$img" "$T/other.hdr" --batch
check "restore of another volume's backup without --force writes nothing" test "$(sum_of "$img")" = "$s"
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_exit 0 vc header-restore "$img" "$T/other.hdr" --batch --force
expect_exit 0 vc test-key "$img" --key-file "$P5"
expect_exit 2 vc test-key "$img" --key-file "$P0"
check "after the forced restore the target has the other volume's UUID" test \
	"$(vc dump "$img" --json 2>/dev/null | jpy /dev/stdin 'j["uuid"]')" = \
	"$(vc dump "$other" --json 2>/dev/null | jpy /dev/stdin 'j["uuid"]')"
check "the forced restore did not touch the data area" test "$(data_sum "$img")" = "$dsum"

# --- target too small for the backup's data area ------------------------------------------------
NEWVOL_SIZE=32M newvol "$T/big" "$P0"
expect_exit 0 vc header-backup "$T/big" "$T/big.hdr"
mkimg "$T/small20"
expect_exit 4 vc header-restore "$T/small20" "$T/big.hdr" --batch
check "restore to a too small target writes nothing" is_zero "$T/small20" 0 $((20 * MiB))
mkimg "$T/small1" 1M
expect_exit 4 vc header-restore "$T/small1" "$bak" --batch

# --- restore onto a blank target (no valid header: no UUID check) ------------------------------------
mkimg "$T/blank"
expect_exit 0 vc header-restore "$T/blank" "$bak" --batch
expect_exit 0 vc test-key "$T/blank" --key-file "$P0"

# --- backup when copy 0 is damaged: taken from the good copies ----------------------------------------------
newvol "$T/d" "$P0"
addkey "$T/d" "$P0" "$P1" || fail "add-key for the damaged-copy test"
flip "$T/d" 16 64
expect_exit 0 vc header-backup "$T/d" "$T/d.hdr"
zero_range "$T/d" 0 "$DATA_OFFSET"
expect_exit 0 vc header-restore "$T/d" "$T/d.hdr" --batch
expect_copies "backup of a volume with a damaged copy restores two good copies" "$T/d" "ok ok"
expect_exit 0 vc test-key "$T/d" --key-file "$P1"

# --- confirmation on a terminal; read-only target ---------------------------------------------------------
zero_range "$img" 0 "$DATA_OFFSET"
s=$(sum_of "$img")
expect_tty 1 --expect "Type 'YES' to continue: " --send "NO\n" -- "$VC" header-restore "$img" "$bak"
check "restore refused at the tty confirmation writes nothing" test "$(sum_of "$img")" = "$s"
expect_tty 0 --expect "Type 'YES' to continue: " --send "YES\n" -- "$VC" header-restore "$img" "$bak"
expect_exit 0 vc test-key "$img" --key-file "$P0"
if require_tool losetup && ro_loop "$T/blank" rodev; then
	expect_exit 2 vc header-restore "$rodev" "$bak" --batch
	expect_exit 0 vc header-backup "$rodev" "$T/ro.hdr"
fi
expect_exit 1 vc header-restore "$img" --batch

finish
