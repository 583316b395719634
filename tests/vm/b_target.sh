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
# The full measurement is long under TCG, so by default (make check) this
# is a smoke test: one row, 1 s runs, asserting only that fio runs on both
# devices.  For the figures (make bench):
#
#   VOLCRYPT_VM_TESTS=b_target.sh VOLCRYPT_VM_TEST_TIMEOUT=3000 \
#   VOLCRYPT_VM_TIMEOUT=3600 VOLCRYPT_VM_APPEND="volcrypt.bench=3 volcrypt.rounds=3" \
#       tests/vm/run.sh build
#
# (volcrypt.bench=N: N seconds per run; volcrypt.rounds=R: R rounds.)
#
# Results go to the console as "bench:" lines (and a table at the end).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DEV=/dev/ram0
DESC=volcrypt:vm-target-bench
OFF=2048
SIZE=$((48 * MiB))
SECTORS=$((SIZE / 512))
RUNTIME=$(sed -n 's/.*volcrypt\.bench=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
ROUNDS=$(sed -n 's/.*volcrypt\.rounds=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
QUICK=0
[ -n "$RUNTIME" ] || { RUNTIME=1; QUICK=1; }
[ -n "$ROUNDS" ] || ROUNDS=1

require_tool fio || finish
require_tool keyctl || finish
check "dm-volcrypt loads" modprobe dm-volcrypt

target_key "$DESC"
at_exit keyctl unlink "$kid" @u

mk dc-bench "0 $SECTORS crypt aes-xts-plain64 $KEYHEX 0 $DEV $OFF" || finish
mk vt-bench "0 $SECTORS volcrypt :64:logon:$DESC $DEV $OFF 512" || finish
ok "dm-crypt and volcrypt mapped over the same region"
check "prefill the region (brd pages allocated)" \
	dd if=/dev/zero of=/dev/mapper/dc-bench bs=1M count=$((SIZE / MiB)) oflag=direct status=none

# run DEV RW BS QD OFFSET_INCREMENT: prints bandwidth (MiB/s) or IOPS.
run() {
	local dev=$1 rw=$2 bs=$3 qd=$4 split=$5 field=iops f=$T/fio.json size=$SIZE
	local dir=read
	case $rw in *write) dir="write" ;; esac
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
# row LABEL RW BS QD SPLIT: ROUNDS x (dm-crypt volcrypt volcrypt dm-crypt);
# the ratio is that of the sums, so every run weighs the same.
row() {
	local label=$1 i d v x dsum=0 vsum=0 ds="" vs="" ratio unit=IOPS
	shift
	[ "$2" = 1M ] && unit=MiB/s
	for ((i = 0; i < ROUNDS; i++)); do
		for x in d v v d; do
			if [ $x = d ]; then
				d=$(run /dev/mapper/dc-bench "$@") || { fail "bench: $label: fio runs"; return; }
				ds="$ds $d"
				dsum=$(awk -v a="$dsum" -v b="$d" 'BEGIN { print a + b }')
			else
				v=$(run /dev/mapper/vt-bench "$@") || { fail "bench: $label: fio runs"; return; }
				vs="$vs $v"
				vsum=$(awk -v a="$vsum" -v b="$v" 'BEGIN { print a + b }')
			fi
		done
	done
	ratio=$(awk -v a="$vsum" -v b="$dsum" 'BEGIN { printf "%.2f", a / b }')
	ok "bench: $label ($unit): dm-crypt$ds; volcrypt$vs; ratio $ratio"
	ROWS+=("$(printf '%-28s %10s %10s %6s' "$label ($unit)" \
		"$(awk -v s="$dsum" -v n=$((2 * ROUNDS)) 'BEGIN { printf "%.1f", s / n }')" \
		"$(awk -v s="$vsum" -v n=$((2 * ROUNDS)) 'BEGIN { printf "%.1f", s / n }')" "$ratio")")
}

echo "# runtime ${RUNTIME}s per run, $ROUNDS round(s) of A B B A$([ $QUICK = 1 ] && echo " (smoke test: volcrypt.bench=N on the kernel command line for the figures)")"
if [ $QUICK = 1 ]; then
	row "rand read 4k QD1" randread 4k 1 0
else
	row "seq read 1M QD1" read 1M 1 1
	row "seq write 1M QD1" write 1M 1 1
	row "seq read 1M QD32" read 1M 32 1
	row "seq write 1M QD32" write 1M 32 1
	row "rand read 4k QD1" randread 4k 1 0
	row "rand write 4k QD1" randwrite 4k 1 0
	row "rand read 4k QD32" randread 4k 32 0
	row "rand write 4k QD32" randwrite 4k 32 0
fi

echo "# bench: $(printf '%-28s %10s %10s %6s' "row" "dm-crypt" "volcrypt" "ratio")"
for r in "${ROWS[@]}"; do
	echo "# bench: $r"
done
finish
