#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# volcrypt target vs dm-crypt aes-xts-plain64, same key, same brd ramdisk
# region (written beforehand: reads of unallocated brd pages are faster),
# in one boot.  fio (libaio, O_DIRECT, 2 jobs): 1 MiB sequential read and
# write, 4 KiB random read and write, at queue depth 1 and 32.  Each row
# runs dm-crypt, volcrypt, volcrypt, dm-crypt (A B B A: drift cancels)
# and prints volcrypt / dm-crypt as the ratio; goal >= 1.0 on every row.
#
# The full measurement is long under TCG, so by default this runs each
# row for 1 s and asserts only that every run works.  For the figures:
#
#   VOLCRYPT_VM_TESTS=t_target_bench.sh VOLCRYPT_VM_APPEND=volcrypt.bench=5 \
#       tests/vm/run.sh build          # 5 s per run (any number of seconds)
#
# Results go to the console as "bench:" lines (and a table at the end).
. "$(dirname "$0")/lib.sh"

DEV=/dev/ram0
DESC=volcrypt:vm-target-bench
OFF=2048
SIZE=$((48 * MiB))
SECTORS=$((SIZE / 512))
RUNTIME=$(sed -n 's/.*volcrypt\.bench=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
QUICK=0
[ -n "$RUNTIME" ] || { RUNTIME=1; QUICK=1; }

require_tool fio || finish
require_tool keyctl || finish
check "dm-volcrypt loads" modprobe dm-volcrypt

head -c 64 /dev/urandom >"$T/key"
KEYHEX=$(xxd -p "$T/key" | tr -d '\n')
kid=$(keyctl padd logon "$DESC" @u <"$T/key")
at_exit keyctl unlink "$kid" @u

mk() {
	at_exit dm_remove "$1"
	printf '%s\n' "$2" | dmsetup create "$1" >"$T/dm.err" 2>&1 && return 0
	diag_file dmsetup "$T/dm.err"
	return 1
}
mk dc-bench "0 $SECTORS crypt aes-xts-plain64 $KEYHEX 0 $DEV $OFF" || finish
mk vt-bench "0 $SECTORS volcrypt :64:logon:$DESC $DEV $OFF 512" || finish
ok "dm-crypt and volcrypt mapped over the same region"
check "prefill the region (brd pages allocated)" \
	dd if=/dev/zero of=/dev/mapper/dc-bench bs=1M oflag=direct status=none

# run DEV RW BS QD OFFSET_INCREMENT: prints bandwidth (MiB/s) or IOPS.
run() {
	local dev=$1 rw=$2 bs=$3 qd=$4 split=$5 field=iops f=$T/fio.json size=$SIZE
	local dir=read
	case $rw in *write) dir=write ;; esac
	[ "$bs" = 1M ] && field=bw
	[ "$split" = 1 ] && size=$((SIZE / 2))
	if ! fio --name=b --filename="$dev" --rw="$rw" --bs="$bs" --iodepth="$qd" \
		--ioengine=libaio --direct=1 --numjobs=2 --group_reporting \
		--size="$size" --offset_increment=$((split * SIZE / 2)) --norandommap \
		--randrepeat=0 --time_based --runtime="$RUNTIME" --ramp_time=1 \
		--output-format=json --output="$f" >"$T/fio.err" 2>&1; then
		echo "fio failed on $dev ($rw $bs qd $qd)" >&2
		cat "$T/fio.err" >&2
		return 1
	fi
	json_get "$f" ".jobs[0].$dir.$field" | awk -v f="$field" '{ printf "%.1f", f == "bw" ? $1 / 1024 : $1 }'
}

ROWS=()
row() {                           # row LABEL RW BS QD SPLIT
	local label=$1 d1 v1 v2 d2 ratio unit=IOPS
	shift
	[ "$2" = 1M ] && unit=MiB/s
	d1=$(run /dev/mapper/dc-bench "$@") && v1=$(run /dev/mapper/vt-bench "$@") &&
		v2=$(run /dev/mapper/vt-bench "$@") && d2=$(run /dev/mapper/dc-bench "$@") || {
		fail "bench: $label: fio runs"
		return
	}
	ratio=$(awk -v a="$v1" -v b="$v2" -v c="$d1" -v d="$d2" 'BEGIN { printf "%.2f", (a + b) / (c + d) }')
	ok "bench: $label: dm-crypt $d1 $d2, volcrypt $v1 $v2 $unit: ratio $ratio"
	ROWS+=("$(printf '%-28s %10s %10s %6s' "$label ($unit)" \
		"$(awk -v c="$d1" -v d="$d2" 'BEGIN { printf "%.1f", (c + d) / 2 }')" \
		"$(awk -v a="$v1" -v b="$v2" 'BEGIN { printf "%.1f", (a + b) / 2 }')" "$ratio")")
}

echo "# runtime ${RUNTIME}s per run$([ $QUICK = 1 ] && echo " (quick mode: volcrypt.bench=N on the kernel command line for the figures)")"
row "seq read 1M QD1" read 1M 1 1
row "seq write 1M QD1" write 1M 1 1
row "seq read 1M QD32" read 1M 32 1
row "seq write 1M QD32" write 1M 32 1
row "rand read 4k QD1" randread 4k 1 0
row "rand write 4k QD1" randwrite 4k 1 0
row "rand read 4k QD32" randread 4k 32 0
row "rand write 4k QD32" randwrite 4k 32 0

echo "# bench: $(printf '%-28s %10s %10s %6s' "row" "dm-crypt" "volcrypt" "ratio")"
for r in "${ROWS[@]}"; do
	echo "# bench: $r"
done
finish
