#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The dm-crypt backend end to end on a ramdisk and on an image file:
# open prints /dev/mapper/NAME, status describes it, a filesystem on it
# survives mkfs/mount/write/umount/fsck, the key never shows in the dm
# table (a logon keyring reference instead), close refuses while mounted,
# and close removes the device (and the loop device of an image).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DEV=/dev/ram0
NAME=vmdm
MAPPER=/dev/mapper/$NAME
MNT=$T/mnt
mkdir -p "$MNT"
kmsg_mark

# ---------------------------------------------------------------- open

wipe_dev "$DEV" $((20 * MiB))
fmt "$DEV" || finish
uuid=$(vc dump "$DEV" --json >"$T/dump.json" && json_get "$T/dump.json" .uuid)
data_size=$(json_get "$T/dump.json" .data_size)
key=$(volume_key "$DEV")
check "volume key read for the checks (128 hex digits)" test ${#key} -eq 128

at_exit umount "$MNT"
EXPECT_NAME="open $DEV $NAME --backend dm-crypt" expect_exit 0 vc_open "$DEV" "$NAME" --backend dm-crypt
check_eq "open prints the device path" "$(cat "$OUT")" "$MAPPER"
check "the device node exists when open returns" test -b "$MAPPER"
check_eq "mapping size is the data area" "$(dev_size "$MAPPER")" "$data_size"
check_eq "512-byte sectors" "$(blockdev --getss "$MAPPER")" 512

# What the kernel got: a crypt table naming the key in the keyring.
dmsetup table --showkeys "$NAME" >"$T/table" 2>&1
want="0 $((data_size / 512)) crypt aes-xts-plain64 :64:logon:volcrypt:$uuid:$NAME 0"
check "table: aes-xts-plain64 with a logon key reference, iv_offset 0" \
	grep -qF -- "$want" "$T/table"
check "table: data offset 32768 sectors, no optional arguments" \
	grep -qE -- " 32768$" "$T/table"
check_not "key absent from dmsetup table --showkeys" contains_hex "$T/table" "$key"
dmsetup table "$NAME" >"$T/table.plain" 2>&1
check_not "key absent from dmsetup table" contains_hex "$T/table.plain" "$key"
hexuuid=${uuid//-/}
check_eq "dm UUID marks the device as volcrypt's" \
	"$(dmsetup info -c --noheadings -o uuid "$NAME")" "CRYPT-VOLCRYPT-$hexuuid-$NAME"

# ---------------------------------------------------------------- status

expect_exit 0 vc status "$NAME" --json
cp "$OUT" "$T/st.json"
jcheck "status: backend" "$T/st.json" .backend dm-crypt
jcheck "status: device" "$T/st.json" .device "$MAPPER"
jcheck "status: target" "$T/st.json" .target "$DEV"
jcheck "status: uuid" "$T/st.json" .uuid "$uuid"
jcheck "status: size" "$T/st.json" .size "$data_size"
jcheck "status: sector_size" "$T/st.json" .sector_size 512
jcheck "status: read_only" "$T/st.json" .read_only false
jcheck "status: not stale" "$T/st.json" .stale false
expect_exit 0 vc status --json
jcheck "status of all mappings lists it" "$OUT" "[0].name" "$NAME"
expect_exit 0 vc status "$NAME"
check "human status names the backend" grep -q 'dm-crypt' "$OUT"

# ---------------------------------------------------------------- filesystem

MARK="volcrypt-vm-plaintext-marker-7f3a"
random_file "$T/data" $((3 * MiB))
check "mkfs.ext4 on the mapping" mkfs.ext4 -q -F "$MAPPER"
check "mount" mount -t ext4 "$MAPPER" "$MNT"
cp "$T/data" "$MNT/data"
for i in $(seq 200); do
	echo "$MARK $i" >"$MNT/file$i"
done
sync
EXPECT_NAME="close while mounted" expect_exit 5 vc close "$NAME"
check "still mapped after the refused close" test -b "$MAPPER"
check "mounted filesystem still usable after the refused close" cmp -s "$T/data" "$MNT/data"
check "umount" umount "$MNT"
check "e2fsck -fn clean" fsck_clean "$MAPPER"
check "plaintext readable through the mapping" contains_text "$MAPPER" "$MARK"
check_not "no plaintext on the ramdisk" contains_text "$DEV" "$MARK"

# ---------------------------------------------------------------- close

EXPECT_NAME="close $NAME" expect_exit 0 vc close "$NAME"
check_not "device node gone after close" test -e "$MAPPER"
check_not "dm device gone after close" bash -c "DM_DISABLE_UDEV=1 dmsetup info $NAME >/dev/null 2>&1"
EXPECT_NAME="status after close" expect_exit 4 vc status "$NAME"
expect_exit 0 vc status --json
check_not "status --json lists nothing after close" json_get "$OUT" "[0].name"
EXPECT_NAME="close again" expect_exit 4 vc close "$NAME"

# ---------------------------------------------------------------- read-only reopen

EXPECT_NAME="open --read-only" expect_exit 0 vc_open "$DEV" "$NAME" --backend dm-crypt --read-only
check_eq "read-only block device" "$(blockdev --getro "$MAPPER")" 1
check "dm table is read-only" bash -c "DM_DISABLE_UDEV=1 dmsetup info $NAME | grep -q 'State:.*(READ-ONLY)'"
check "read-only mount" mount -t ext4 -o ro,noload "$MAPPER" "$MNT"
check "data intact after reopen" cmp -s "$T/data" "$MNT/data"
check "umount" umount "$MNT"
check_not "writes refused on a read-only mapping" \
	bash -c "dd if=/dev/zero of=$MAPPER bs=4096 count=1 oflag=direct status=none 2>/dev/null"
expect_exit 0 vc status "$NAME" --json
jcheck "status: read_only" "$OUT" .read_only true
EXPECT_NAME="close read-only" expect_exit 0 vc close "$NAME"

# ---------------------------------------------------------------- keyring

# In a process that stays alive after mapping (a daemon using libvol), the
# key must be gone from its keyrings once the table is loaded.
at_exit vc close "$NAME"
if /opt/volcrypt/bin/vm_keyring_probe "$DEV" "$NAME" "$P0" >"$OUT" 2>&1; then
	ok "key dropped from the keyrings after the table load (in-process)"
else
	fail "key dropped from the keyrings after the table load (in-process)"
	diag_file output "$OUT"
fi
check "the in-process mapping works" fsck_clean "$MAPPER"

# ---------------------------------------------------------------- stale

# The dm device disappears behind volcrypt's back: status says stale,
# close cleans up the record.
dmsetup remove "$NAME" >/dev/null 2>&1
expect_exit 0 vc status "$NAME" --json
jcheck "status: stale after the dm device vanished" "$OUT" .stale true
EXPECT_NAME="close a stale mapping" expect_exit 0 vc close "$NAME"
EXPECT_NAME="status after cleaning" expect_exit 4 vc status "$NAME"

# ---------------------------------------------------------------- names

dmsetup create "$NAME" --table "0 8 error" >/dev/null 2>&1
at_exit dm_remove "$NAME"
EXPECT_NAME="open under a dm name that exists" expect_exit 5 vc open "$DEV" "$NAME" \
	--backend dm-crypt --key-file "$P0"
EXPECT_NAME="close of a foreign dm device" expect_exit 4 vc close "$NAME"
check "foreign dm device left alone" bash -c "DM_DISABLE_UDEV=1 dmsetup info $NAME >/dev/null 2>&1"
dm_remove "$NAME"

# ---------------------------------------------------------------- target claimed

# A target someone else holds exclusively cannot be mapped: exit 5 with a
# reason, and no half-made dm device.  The holder is swap: mkswap damages
# metadata copy 0 only, copy 1 (at 4 MiB) still opens the volume.
DEV2=/dev/ram1
wipe_dev "$DEV2" $((20 * MiB))
fmt "$DEV2" || finish
if mkswap "$DEV2" >"$OUT" 2>&1 && swapon "$DEV2" 2>>"$OUT"; then
	at_exit swapoff "$DEV2"
	EXPECT_NAME="open a target held by swap" expect_exit 5 vc open "$DEV2" "$NAME" \
		--backend dm-crypt --key-file "$P0"
	check "the reason names the target as in use" grep -q "$DEV2 is in use" "$ERR"
	check_not "no dm device left after the refused open" \
		bash -c "DM_DISABLE_UDEV=1 dmsetup info $NAME >/dev/null 2>&1"
	swapoff "$DEV2"
else
	fail "swap on $DEV2 to claim it" "$(cat "$OUT")"
fi

# ---------------------------------------------------------------- 4096-byte sectors, discards

wipe_dev "$DEV2" $((20 * MiB))
fmt "$DEV2" --sector-size 4096 || finish
EXPECT_NAME="open 4096-byte volume with --allow-discards" \
	expect_exit 0 vc_open "$DEV2" "$NAME" --backend dm-crypt --allow-discards
check_eq "4096-byte logical sectors" "$(blockdev --getss "$MAPPER")" 4096
dmsetup table "$NAME" >"$T/table4k" 2>&1
check "table: 2 optional arguments, allow_discards and sector_size:4096" \
	grep -qE -- " 32768 2 allow_discards sector_size:4096$" "$T/table4k"
check "mkfs.ext4 on a 4096-byte mapping" mkfs.ext4 -q -F "$MAPPER"
check "e2fsck -fn clean" fsck_clean "$MAPPER"
EXPECT_NAME="close" expect_exit 0 vc close "$NAME"

# ---------------------------------------------------------------- image file (loop)

IMG=$T/vol.img
truncate -s 40M "$IMG"
fmt "$IMG" || finish
EXPECT_NAME="open an image file" expect_exit 0 vc_open "$IMG" "$NAME" --backend dm-crypt
check_eq "open prints the device path" "$(cat "$OUT")" "$MAPPER"
loopdev=$(losetup -n -O NAME -j "$IMG" | head -n1)
check "image attached to a loop device" test -n "$loopdev"
check "loop device set to detach on close" bash -c "losetup -n -O AUTOCLEAR -j '$IMG' | grep -q 1"
check "dm table maps the loop device" bash -c \
	"DM_DISABLE_UDEV=1 dmsetup deps -o devname $NAME | grep -q '(${loopdev#/dev/})'"
expect_exit 0 vc status "$NAME" --json
jcheck "status: target is the image" "$OUT" .target "$IMG"
check "mkfs.ext4" mkfs.ext4 -q -F "$MAPPER"
check "mount" mount -t ext4 "$MAPPER" "$MNT"
echo "$MARK image" >"$MNT/marker"
check "umount" umount "$MNT"
check "e2fsck -fn clean" fsck_clean "$MAPPER"
check_not "no plaintext in the image" contains_text "$IMG" "$MARK"
EXPECT_NAME="close image mapping" expect_exit 0 vc close "$NAME"
# shellcheck disable=SC2317 # called through wait_until
no_loop_on() {
	[ -z "$(losetup -n -O NAME -j "$1")" ]
}
check "loop device detached with the mapping" wait_until 2000 no_loop_on "$IMG"

kernel_log_clean "no kernel warning during the dm-crypt tests"
finish
