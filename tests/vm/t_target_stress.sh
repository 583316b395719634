#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The volcrypt target under load, for 512- and 4096-byte sectors:
#   - fio random writes from several jobs with block sizes from one sector
#     to 1 MiB (larger than the write split, smaller than a page), then
#     verify; meanwhile the device is suspended and resumed under it;
#   - what fio wrote reads back the same through dm-crypt (the kernel's
#     own aes-xts-plain64 as the reference);
#   - mkfs.ext4, a tree of files copied in, e2fsck clean, and the files
#     intact after a remount.
# shellcheck disable=SC2317 # helpers are called through check
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DEV=/dev/ram0
DESC=volcrypt:vm-target-stress
REF=":64:logon:$DESC"
OFF=2048
SIZE=$((48 * MiB))
SECTORS=$((SIZE / 512))
VT=/dev/mapper/vt-stress
MNT=$T/mnt
mkdir -p "$MNT"

require_tool fio || finish
require_tool keyctl || finish
check "dm-volcrypt loads" modprobe dm-volcrypt

target_key "$DESC"
at_exit keyctl unlink "$kid" @u
at_exit umount "$MNT"

fio_round() {
	local ss=$1 min=$1 opts="" stop=$T/stop.$1 pid n
	echo "# --- fio, sector size $ss"
	[ "$ss" = 4096 ] && opts=" 1 sector_size:4096"
	mk vt-stress "0 $SECTORS volcrypt $REF $DEV $OFF $ss" || return
	rm -f "$stop"
	suspender vt-stress "$stop" 0.3 &
	pid=$!
	# 4 jobs, each on its own quarter; every write verified after the pass.
	if timeout -k 10 200 fio --name=verify --filename="$VT" --rw=randwrite --bsrange="$min"-1m \
		--ioengine=libaio --iodepth=16 --direct=1 --numjobs=4 \
		--size=$((SIZE / 4)) --offset_increment=$((SIZE / 4)) \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 \
		--randseed="$ss" --group_reporting >"$T/fio.out" 2>&1; then
		ok "[$ss] fio randwrite $min..1m x4 jobs, verified"
	else
		fail "[$ss] fio randwrite $min..1m x4 jobs, verified"
		diag_file fio "$T/fio.out"
	fi
	touch "$stop"
	wait "$pid"
	n=$(cat "$stop.count" 2>/dev/null)
	check "[$ss] the device was suspended and resumed under fio ($n times)" test "${n:-0}" -gt 0
	sum_range "$VT" 0 "$SIZE" >"$T/sum.vt"
	read -r -a st <<<"$(dmsetup status vt-stress)"
	check_eq "[$ss] status: no errors, nothing rejected" "${st[*]:5:3}" "0 0 0"
	dm_remove vt-stress

	mk dc-stress "0 $SECTORS crypt aes-xts-plain64 $KEYHEX 0 $DEV $OFF$opts" || return
	check_eq "[$ss] dm-crypt reads the same data" "$(sum_range /dev/mapper/dc-stress 0 "$SIZE")" \
		"$(cat "$T/sum.vt")"
	dm_remove dc-stress
}

# sums DIR: one line per regular file, "sha256  path", sorted.
sums() {
	(cd "$1" && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
}

fs_round() {
	local ss=$1 src
	echo "# --- ext4, sector size $ss"
	mk vt-stress "0 $SECTORS volcrypt $REF $DEV $OFF $ss" || return
	check "[$ss] mkfs.ext4" mkfs.ext4 -q -F "$VT"
	check "[$ss] mount" mount -t ext4 "$VT" "$MNT" || { dm_remove vt-stress; return; }
	mkdir -p "$T/tree"
	# Whatever the initramfs has, up to about 24 MiB (the filesystem has 48).
	for src in /usr/bin /usr/sbin /opt/volcrypt /etc /lib/modules /usr/lib /lib /lib64; do
		[ -d "$src" ] || continue
		[ "$(du -sm "$T/tree" | cut -f1)" -lt 12 ] || break
		mkdir -p "$T/tree$src"
		cp -a "$src/." "$T/tree$src/" 2>/dev/null
	done
	# And many small files in nested directories (metadata-heavy).
	for i in $(seq 400); do
		mkdir -p "$T/tree/small/d$((i % 20))/e$((i % 7))"
		head -c $((RANDOM % 9000 + 1)) /dev/urandom >"$T/tree/small/d$((i % 20))/e$((i % 7))/f$i"
	done
	check "[$ss] copy a file tree in ($(du -sm "$T/tree" | cut -f1) MiB)" cp -a "$T/tree" "$MNT/tree"
	sums "$T/tree" >"$T/sums.src"
	check "[$ss] umount" umount "$MNT"
	check "[$ss] e2fsck -fn clean" fsck_clean "$VT"
	check "[$ss] remount" mount -t ext4 -o ro "$VT" "$MNT"
	sums "$MNT/tree" >"$T/sums.fs"
	check "[$ss] every file intact ($(wc -l <"$T/sums.src") files)" cmp -s "$T/sums.src" "$T/sums.fs"
	umount "$MNT"
	rm -rf "$T/tree"
	dm_remove vt-stress
}

fio_round 512
fio_round 4096
fs_round 512
fs_round 4096
finish
