#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The figures of issue 6 (layered home directories, docs/layering.md): what
# each layer costs, in one boot, on the same kind of device (brd ramdisks
# filled with random data beforehand: reads of unallocated brd pages are
# faster) and the same filesystem geometry (ext4, 4 KiB blocks, the size of
# the volume's data area; inode tables and journal written by mkfs, so no
# ext4lazyinit thread runs during a measurement).  Five configurations:
#   plain      ext4 on /dev/ram0
#   volcrypt   ext4 on a volcrypt volume on /dev/ram1 (kernel target backend)
#   fscrypt    ext4 -O encrypt on /dev/ram0, a directory with a v2 policy
#              (AES-256-XTS / AES-256-CTS, padding 32) and a random key
#              (vm_fscrypt_probe: `volcrypt home` wants a volcrypt volume)
#   vc+fscrypt the volcrypt volume plus `volcrypt home setup` (fscrypt)
#   vc+ecryptfs the volcrypt volume plus `volcrypt home setup --layer ecryptfs`
# Each run sets a configuration up from scratch (mkfs; the volume is
# formatted once, 4096-byte sectors), times three workloads and tears it
# down:
#   write   a 24 MiB file (random data from tmpfs), dd bs=1M conv=fsync
#   read    that file after sync + drop_caches, dd bs=1M
#   create  500 files of 4 KiB in a new directory (bash builtins: no fork
#           per file), then sync
# After one warm-up run of each (not counted), the order of a round is
# 1 2 3 4 5 5 4 3 2 1 (A B B A: drift cancels);
# the figure of a cell is the median of its 2 x ROUNDS runs, and the ratio
# is that median over plain ext4's.  Emulated AES (TCG, ~40 MiB/s)
# dominates: only the ratios mean anything, and only on an otherwise idle
# host (with another TCG VM running on the 2 cores, samples spread 2x and
# the ratios of the encrypted configurations nearly doubled: check the
# spread of the samples on the "bench:" lines).  Bench only (make bench):
#
#   VOLCRYPT_VM_TESTS=b_layering.sh VOLCRYPT_VM_TEST_TIMEOUT=3000 \
#   VOLCRYPT_VM_TIMEOUT=3600 VOLCRYPT_VM_APPEND="volcrypt.rounds=2" tests/vm/run.sh build
#
# Results: "bench:" lines (every sample) and a table of "# " lines.
# shellcheck source-path=SCRIPTDIR source=lib.sh
# shellcheck disable=SC2317 # helpers are called through check and timed
. "$(dirname "$0")/lib.sh"

PDEV=/dev/ram0                      # plain ext4, fscrypt only
VDEV=/dev/ram1                      # the volcrypt volume
VNAME=blay
VMAP=/dev/mapper/$VNAME
MNT=/mnt/blay
HOME_USER=vchome                    # in the VM's /etc/passwd (tests/vm/run.sh)
HOME_DIR=$MNT/home/$HOME_USER
PROBE=/opt/volcrypt/bin/vm_fscrypt_probe
FILE_MB=24
NFILES=500
ROUNDS=$(sed -n 's/.*volcrypt\.rounds=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$ROUNDS" ] || ROUNDS=1
CONFIGS=(plain volcrypt fscrypt vc+fscrypt vc+ecryptfs)
WORKLOADS=(write read create)
# The policy both fscrypt configurations must have: v2, contents mode 1
# (AES-256-XTS), names mode 4 (AES-256-CTS), flags 0x03 (padding 32).
POLICY="v2 1 4 0x03"

# need NAME CMD...: check, and stop the bench if it failed (a setup step).
need() {
	local before=$FAIL
	check "$@"
	[ "$FAIL" = "$before" ] || finish
}
quiet() {                           # quiet CMD...: stdout to a file, stderr shown
	"$@" >"$T/quiet.out"
}

kmsg_mark
require_target_module || finish
need "dm-volcrypt loads" modprobe dm-volcrypt
modprobe ecryptfs 2>/dev/null
need "the ecryptfs filesystem is registered" grep -qw ecryptfs /proc/filesystems
need "user $HOME_USER exists (uid 1000)" grep -q "^$HOME_USER:x:1000:1000:" /etc/passwd
need "the fscrypt probe is installed" test -x "$PROBE"

fill() {                            # fill DEV: random data over all of it
	dd if=/dev/urandom of="$1" bs=1M count=$(($(dev_size "$1") / MiB)) \
		oflag=direct status=none
}
need "fill $PDEV with random data" fill "$PDEV"
need "fill $VDEV with random data" fill "$VDEV"
fmt "$VDEV" --force --sector-size 4096 || finish
vc dump "$VDEV" --json >"$T/dump.json"
DATA_SIZE=$(json_get "$T/dump.json" .data_size)
need "the volume's data area is known" test -n "$DATA_SIZE"
FS_BLOCKS=$((DATA_SIZE / 4096))
# shellcheck disable=SC2054 # commas belong to -E's syntax
MKFS=(mkfs.ext4 -q -F -b 4096 -E lazy_itable_init=0,lazy_journal_init=0,nodiscard)
mkpass "$T/user.pass" "login passphrase of vchome"
UP=$T/user.pass
need "random data for the file" random_file "$T/data" $((FILE_MB * MiB))
S4K=$(head -c 2048 /dev/urandom | xxd -p | tr -d '\n')  # 4096 bytes of text
need "4 KiB of small-file content" test ${#S4K} = 4096
mkdir -p "$MNT"

# Whatever a failed run left: the eCryptfs home, the ext4, the volume.
emergency_down() {
	umount "$HOME_DIR" 2>/dev/null
	umount "$MNT" 2>/dev/null
	[ -e "$VMAP" ] && vc close "$VNAME"
	rmdir "$MNT" 2>/dev/null
	return 0
}
at_exit emergency_down

open_volume() {
	need "$1: open the volume (volcrypt target)" \
		quiet vc open "$VDEV" "$VNAME" --key-file "$P0" --backend volcrypt
}

# home_setup CFG LAYER: `volcrypt home setup` for vchome on the mounted volume.
home_setup() {
	need "$1: mkdir $MNT/home" mkdir "$MNT/home"
	need "$1: volcrypt home setup --layer $2" quiet vc home setup --user "$HOME_USER" \
		--volume "$VNAME" --home "$HOME_DIR" --layer "$2" --key-file "$UP" --batch "${KDF[@]}"
}

# up CFG: sets configuration CFG up; W is the directory the workloads use.
up() {
	case $1 in
	plain)
		need "$1: mkfs.ext4" "${MKFS[@]}" "$PDEV" "$FS_BLOCKS"
		need "$1: mount" mount -t ext4 "$PDEV" "$MNT"
		W=$MNT/w
		need "$1: mkdir" mkdir "$W"
		;;
	volcrypt)
		open_volume "$1"
		need "$1: mkfs.ext4" "${MKFS[@]}" "$VMAP" "$FS_BLOCKS"
		need "$1: mount" mount -t ext4 "$VMAP" "$MNT"
		W=$MNT/w
		need "$1: mkdir" mkdir "$W"
		;;
	fscrypt)
		need "$1: mkfs.ext4 -O encrypt" "${MKFS[@]}" -O encrypt "$PDEV" "$FS_BLOCKS"
		need "$1: mount" mount -t ext4 "$PDEV" "$MNT"
		W=$MNT/w
		need "$1: mkdir" mkdir "$W"
		need "$1: key added, policy set" quiet "$PROBE" setup "$W"
		need "$1: policy $POLICY" test "$("$PROBE" policy "$W")" = "$POLICY"
		;;
	vc+fscrypt)
		open_volume "$1"
		# The feature `volcrypt home setup` would turn on with tune2fs.
		need "$1: mkfs.ext4 -O encrypt" "${MKFS[@]}" -O encrypt "$VMAP" "$FS_BLOCKS"
		need "$1: mount" mount -t ext4 "$VMAP" "$MNT"
		home_setup "$1" fscrypt
		W=$HOME_DIR
		need "$1: policy $POLICY" test "$("$PROBE" policy "$W")" = "$POLICY"
		;;
	vc+ecryptfs)
		open_volume "$1"
		need "$1: mkfs.ext4" "${MKFS[@]}" "$VMAP" "$FS_BLOCKS"
		need "$1: mount" mount -t ext4 "$VMAP" "$MNT"
		home_setup "$1" ecryptfs
		W=$HOME_DIR
		need "$1: the home is an eCryptfs mount" \
			test "$(findmnt -n -o FSTYPE --mountpoint "$W")" = ecryptfs
		;;
	esac
	need "$1: ext4 has the geometry of the others" \
		test "$(df -k "$MNT" | awk 'NR == 2 { print $2 }')" = "$FS_KB_WANT"
}

down() {                            # down CFG
	case $1 in
	vc+fscrypt | vc+ecryptfs)
		need "$1: volcrypt home lock" quiet vc home lock --user "$HOME_USER" --home "$HOME_DIR"
		;;
	esac
	need "$1: umount" umount "$MNT"
	case $1 in
	volcrypt | vc+*) need "$1: close the volume" quiet vc close "$VNAME" ;;
	esac
}

drop_caches() {
	sync && echo 3 >/proc/sys/vm/drop_caches
}

w_write() {
	dd if="$T/data" of="$W/big" bs=1M conv=fsync status=none
}
w_read() {
	dd if="$W/big" of=/dev/null bs=1M status=none
}
w_create() {
	local i
	mkdir "$W/small" || return 1
	for ((i = 0; i < NFILES; i++)); do
		printf '%s' "$S4K" >"$W/small/f$i" || return 1
	done
	sync
}

declare -A MS=()                    # MS[CFG.WORKLOAD]: " t1 t2 ..." (ms)

# run CFG: one run of the three workloads on a fresh CFG.
run() {
	local c=$1 w t
	up "$c"
	for w in "${WORKLOADS[@]}"; do
		drop_caches
		t=$(timed "w_$w") || { fail "bench: $c: $w runs"; finish; }
		[ "$WARMUP" = 1 ] || MS[$c.$w]+=" $t"
	done
	need "$c: the file reads back" cmp -s "$T/data" "$W/big"
	need "$c: $NFILES small files" test "$(find "$W/small" -type f | wc -l)" = "$NFILES"
	need "$c: the last one reads back" test "$(cat "$W/small/f$((NFILES - 1))")" = "$S4K"
	down "$c"
}

# The size df reports for plain ext4: every configuration must match it.
need "geometry: mkfs.ext4" "${MKFS[@]}" "$PDEV" "$FS_BLOCKS"
need "geometry: mount" mount -t ext4 "$PDEV" "$MNT"
FS_KB_WANT=$(df -k "$MNT" | awk 'NR == 2 { print $2 }')
need "geometry: umount" umount "$MNT"
need "ext4 of $FS_BLOCKS blocks of 4 KiB: df says ${FS_KB_WANT:-?} KiB" test -n "$FS_KB_WANT"

echo "# layering: $FILE_MB MiB file, $NFILES x 4 KiB files, ext4 $((DATA_SIZE / MiB)) MiB" \
	"(4 KiB blocks) on brd, $ROUNDS round(s) of ${CONFIGS[*]} and back"
# Warm-up, not counted: the first run of a boot is slower (the first
# measured run would be plain ext4's, the reference).
WARMUP=1
for c in "${CONFIGS[@]}"; do run "$c"; done
WARMUP=0
T0=$(ms_now)
for ((i = 0; i < ROUNDS; i++)); do
	for c in "${CONFIGS[@]}"; do run "$c"; done
	for ((j = ${#CONFIGS[@]} - 1; j >= 0; j--)); do run "${CONFIGS[j]}"; done
done
T1=$(ms_now)

median() {                          # median N...: of the numbers
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A MED=()
for c in "${CONFIGS[@]}"; do
	for w in "${WORKLOADS[@]}"; do
		# shellcheck disable=SC2086 # the samples, split on purpose
		MED[$c.$w]=$(median ${MS[$c.$w]})
	done
done
ratio() {                           # ratio CFG WORKLOAD: median / plain's
	awk -v a="${MED[$1.$2]}" -v b="${MED[plain.$2]}" 'BEGIN { printf "%.2f", a / b }'
}
for c in "${CONFIGS[@]}"; do
	for w in "${WORKLOADS[@]}"; do
		ok "bench: layering $c $w (ms):${MS[$c.$w]}; median ${MED[$c.$w]}; ratio to plain $(ratio "$c" "$w")"
	done
done

echo "# bench: median ms (ratio to plain ext4), $((2 * ROUNDS)) runs each, in $(((T1 - T0) / 1000)) s"
printf '# bench: %-12s %20s %20s %20s\n' "config" "write ${FILE_MB}M+fsync" \
	"read ${FILE_MB}M cold" "create ${NFILES}x4K+sync"
for c in "${CONFIGS[@]}"; do
	row=()
	for w in "${WORKLOADS[@]}"; do
		row+=("$(printf '%s (%s)' "${MED[$c.$w]}" "$(ratio "$c" "$w")")")
	done
	printf '# bench: %-12s %20s %20s %20s\n' "$c" "${row[@]}"
done
kernel_log_clean "no kernel warning during the layering bench"
finish
