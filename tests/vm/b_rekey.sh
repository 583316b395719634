#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Rekey figures in one boot, same size, same kind of device (two 64 MiB
# brd ramdisks, 48 MiB of data each, filled beforehand):
#   - offline: `volcrypt rekey` vs `cryptsetup reencrypt` (LUKS2 default
#     resilience, checksum), A B B A per round; goal: volcrypt 2x faster;
#   - online: fio 4 KiB random read (QD1, O_DIRECT) p99 completion latency
#     idle and during the rekey, for volcrypt through its kernel target and
#     for `cryptsetup reencrypt` on the active device.
# Bench only (make bench):
#   VOLCRYPT_VM_TESTS=b_rekey.sh VOLCRYPT_VM_APPEND=volcrypt.rounds=2 tests/vm/run.sh build
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

VDEV=/dev/ram0
LDEV=/dev/ram1
VNAME=brk-v
LNAME=brk-l
ROUNDS=$(sed -n 's/.*volcrypt\.rounds=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$ROUNDS" ] || ROUNDS=1
FIO_SECONDS=3

require_tool fio || finish
require_tool cryptsetup || finish
check "dm-volcrypt loads" modprobe dm-volcrypt
LUKS_KDF=(--pbkdf pbkdf2 --pbkdf-force-iterations 1000)

fill() {                            # fill DEV: random data over all of it
	dd if=/dev/urandom of="$1" bs=1M count=$(($(dev_size "$1") / MiB)) \
		oflag=direct status=none
}

fill "$VDEV"
fill "$LDEV"
# The same encryption sector size on both sides (LUKS2's default here: 512).
fmt "$VDEV" --force --sector-size 512 || finish
check "luksFormat (LUKS2)" cryptsetup luksFormat --type luks2 --batch-mode "${LUKS_KDF[@]}" \
	--sector-size 512 --key-file "$P0" "$LDEV"
vc dump "$VDEV" --json >"$T/dump.json"
echo "# data: volcrypt $(json_get "$T/dump.json" .data_size) bytes; LUKS2 segment:" \
	"$(cryptsetup luksDump "$LDEV" | awk '/^Data segments/ { s = 1 } s && /length:/ { $1 = ""; print; exit }')"

# --------------------------------------------------------- offline

lsum=0 vsum=0 ls="" vs=""
for ((i = 0; i < ROUNDS; i++)); do
	for x in l v v l; do
		if [ $x = l ]; then
			t=$(timed cryptsetup reencrypt --batch-mode --key-file "$P0" "$LDEV") ||
				{ fail "bench: cryptsetup reencrypt runs"; finish; }
			ls="$ls $t"; lsum=$((lsum + t))
		else
			t=$(timed vc rekey "$VDEV" --key-file "$P0") ||
				{ fail "bench: volcrypt rekey runs"; finish; }
			vs="$vs $t"; vsum=$((vsum + t))
		fi
	done
done
speedup=$(awk -v l="$lsum" -v v="$vsum" 'BEGIN { printf "%.2f", l / v }')
ok "bench: offline rekey of 48 MiB (ms): cryptsetup reencrypt$ls; volcrypt rekey$vs; volcrypt is ${speedup}x faster (goal >= 2)"

# --------------------------------------------------------- online latency

# 4 KiB random read QD1, p99 reported (JSON in $T/fio.json); add
# --filename and --runtime.
FIO_P99=(fio --name=p99 --rw=randread --bs=4k --iodepth=1 --ioengine=psync --direct=1
	--time_based --percentile_list=99 --output-format=json --output="$T/fio.json")

# p99_of_run: "p99/max (n reads)" completion latency (ms) of the last fio
# run.  After SIGINT fio may say so ahead of the JSON document.
p99_of_run() {
	sed -n '/^{/,$p' "$T/fio.json" | json_flat /dev/stdin | awk -F'\t' '
		$1 ~ /^\.jobs\[0\]\.read\.clat_ns\.percentile\./ { p = $2 / 1e6; found = 1 }
		$1 == ".jobs[0].read.clat_ns.max" { m = $2 / 1e6 }
		$1 == ".jobs[0].read.total_ios" { n = $2 }
		END { if (found) printf "%.2f/%.1f (%d reads)\n", p, m, n; exit !found }'
}

idle_p99() {                        # idle_p99 DEV
	"${FIO_P99[@]}" --filename="$1" --runtime="$FIO_SECONDS" >"$T/fio.err" 2>&1 && p99_of_run
}

# during DEV CMD...: p99 of DEV over exactly the time CMD runs (fio is
# stopped with SIGINT when CMD ends).
during() {
	local dev=$1 fio_pid r=0 t0 t1
	shift
	# fio itself in the background (not a function: SIGINT must reach it).
	"${FIO_P99[@]}" --filename="$dev" --runtime=600 >"$T/fio.err" 2>&1 &
	fio_pid=$!
	t0=$(ms_now)
	"$@" >"$T/during.out" 2>&1 || { cat "$T/during.out" >&2; r=1; }
	t1=$(ms_now)
	kill -INT "$fio_pid"
	wait "$fio_pid"
	[ $r = 0 ] && echo "$(p99_of_run) in a $((t1 - t0)) ms rekey"
}

expect_exit 0 vc_open "$VDEV" "$VNAME" --backend volcrypt
check "cryptsetup open" cryptsetup open --key-file "$P0" "$LDEV" "$LNAME"
at_exit cryptsetup close "$LNAME"
vidle=$(idle_p99 "/dev/mapper/$VNAME")
lidle=$(idle_p99 "/dev/mapper/$LNAME")
vbusy=$(during "/dev/mapper/$VNAME" "$VC" rekey "$VNAME" --key-file "$P0") ||
	fail "bench: volcrypt online rekey runs"
lbusy=$(during "/dev/mapper/$LNAME" cryptsetup reencrypt --batch-mode --key-file "$P0" \
	--active-name "$LNAME") || fail "bench: cryptsetup online reencrypt runs"
ok "bench: 4k random read latency p99/max (ms), idle -> during the online rekey: volcrypt $vidle -> $vbusy; cryptsetup $lidle -> $lbusy"
vc close "$VNAME"
kernel_log_clean "no kernel warning during the rekey bench"
finish
