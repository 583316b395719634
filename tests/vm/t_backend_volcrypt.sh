#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# `volcrypt open --backend volcrypt`: the kernel target (dm-target/) as a
# backend of the CLI.  Open prints /dev/mapper/NAME, the table names the
# key by keyring reference only, a filesystem survives, close refuses while
# mounted, `auto` prefers the target once its module can be loaded, and
# data written through the target reads back through the userspace engine
# (fuse backend) and the reverse, for both sector sizes.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DEV=/dev/ram1
NAME=vmvc
MAPPER=/dev/mapper/$NAME
MNT=$T/mnt
mkdir -p "$MNT"
kmsg_mark

require_target_module || finish

wipe_dev "$DEV" $((20 * MiB))
fmt "$DEV" || finish
vc dump "$DEV" --json >"$T/dump.json"
uuid=$(json_get "$T/dump.json" .uuid)
data_size=$(json_get "$T/dump.json" .data_size)
key=$(volume_key "$DEV")

EXPECT_NAME="open --backend volcrypt" expect_exit 0 vc_open "$DEV" "$NAME" --backend volcrypt
check_eq "open prints the device path" "$(cat "$OUT")" "$MAPPER"
check "the device node exists when open returns" test -b "$MAPPER"
check_eq "mapping size is the data area" "$(dev_size "$MAPPER")" "$data_size"
dmsetup table --showkeys "$NAME" >"$T/table" 2>&1
want="0 $((data_size / 512)) volcrypt :64:logon:volcrypt:$uuid:$NAME "
check "table: volcrypt target with a logon key reference" grep -qF -- "$want" "$T/table"
check "table: data offset 32768, sector size 512" grep -qE -- " 32768 512$" "$T/table"
check_not "key absent from dmsetup table --showkeys" contains_hex "$T/table" "$key"
dmsetup status "$NAME" >"$T/status" 2>&1
check_not "key absent from dmsetup status" contains_hex "$T/status" "$key"
check_eq "dm UUID marks the device as volcrypt's" \
	"$(dmsetup info -c --noheadings -o uuid "$NAME")" "VOLCRYPT-${uuid//-/}-$NAME"
expect_exit 0 vc status "$NAME" --json
jcheck "status: backend" "$OUT" .backend volcrypt
jcheck "status: device" "$OUT" .device "$MAPPER"
jcheck "status: not stale" "$OUT" .stale false

random_file "$T/data" $((3 * MiB))
check "mkfs.ext4 on the mapping" mkfs.ext4 -q -F "$MAPPER"
check "mount" mount -t ext4 "$MAPPER" "$MNT"
at_exit umount "$MNT"
cp "$T/data" "$MNT/data"
sync
EXPECT_NAME="close while mounted" expect_exit 5 vc close "$NAME"
check "umount" umount "$MNT"
check "e2fsck clean" fsck_clean "$MAPPER"
expect_exit 0 vc close "$NAME"
check_not "device gone after close" test -e "$MAPPER"

# The engine (fuse backend) reads what the kernel target wrote.
expect_exit 0 vc_open "$DEV" "$NAME" --backend fuse
fdev=$(cat "$OUT")
check "mount through the fuse backend" mount -t ext4 -o ro "$fdev" "$MNT"
check "file written through the target reads back through the engine" \
	cmp -s "$T/data" "$MNT/data"
umount "$MNT"
expect_exit 0 vc close "$NAME"

# `auto` prefers the target when its module is loadable.
expect_exit 0 vc_open "$DEV" "$NAME"
check "auto says it chose volcrypt" grep -q "volcrypt backend" "$ERR"
expect_exit 0 vc status "$NAME" --json
jcheck "auto: backend volcrypt" "$OUT" .backend volcrypt
expect_exit 0 vc close "$NAME"

# Both directions, both sector sizes, raw devices.
for ss in 512 4096; do
	wipe_dev "$DEV" $((20 * MiB))
	fmt "$DEV" --sector-size "$ss" --force || continue
	random_file "$T/raw" $((2 * MiB))
	expect_exit 0 vc_open "$DEV" "$NAME" --backend volcrypt
	dd if="$T/raw" of="$MAPPER" bs=1M oflag=direct status=none
	expect_exit 0 vc close "$NAME"
	expect_exit 0 vc_open "$DEV" "$NAME" --backend fuse
	fdev=$(cat "$OUT")
	check "[$ss] engine reads what the target wrote" \
		cmp -s "$T/raw" <(head -c $((2 * MiB)) "$fdev")
	random_file "$T/raw2" $((2 * MiB))
	dd if="$T/raw2" of="$fdev" bs=1M oflag=direct conv=fsync status=none
	expect_exit 0 vc close "$NAME"
	expect_exit 0 vc_open "$DEV" "$NAME" --backend volcrypt
	check "[$ss] target reads what the engine wrote" \
		cmp -s "$T/raw2" <(head -c $((2 * MiB)) "$MAPPER")
	check_eq "[$ss] logical block size" "$(blockdev --getss "$MAPPER")" "$ss"
	expect_exit 0 vc close "$NAME"
done

kernel_log_clean "no kernel warning during the volcrypt-backend tests"
finish
