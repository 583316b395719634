#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Throughput of the fuse backend (volcrypt-fused + loop device), measured
# against, in the same run:
#   nocrypto - the same daemon built without the cipher
#              (BUILD/bench/helpers/volcrypt-fused-nocrypto), and
#   plain    - a loop device on a plain image file.
# Goal: the fuse backend reaches 0.85 of the no-crypto daemon.
#
#   tests/bench/bench_fuse.sh [BUILD]        (default: build)
#
# Environment: SIZE_MB (data area, default 1024), ROUNDS (3), RUNTIME
# (seconds per fio run, 2), SEQ_QD (queue depth of the 1 MiB runs, 8),
# SECTOR_SIZE (the volume's encryption unit and the loop devices' logical
# block size: 512, the format default, or 4096).  tests/bench/run.sh runs
# both.
#
# Both daemons are started exactly as libvol starts them (key on fd 3,
# ready byte on fd 4) and get the loop settings fuse_spawn.c uses (direct
# I/O, logical block size = sector size).  This machine is shared and
# noisy: every metric is measured in rounds of A B C C B A (fuse,
# nocrypto, plain) and each ratio is the median of its per-round ratios.
# Devices are filled completely before anything is measured (a hole in
# an image file reads much faster than data).
#
# Exits non-zero only when the benchmark cannot run; a missed goal is
# reported, not failed.
# The exit trap is not unreachable.
# shellcheck disable=SC2317
set -u
# shellcheck source=tests/bench/cpu.sh
. "$(dirname "$0")/cpu.sh"

build=${1:-build}
SIZE_MB=${SIZE_MB:-1024}
ROUNDS=${ROUNDS:-3}
RUNTIME=${RUNTIME:-2}
SEQ_QD=${SEQ_QD:-8}
SECTOR_SIZE=${SECTOR_SIZE:-512}
GOAL=0.85

vc=$build/volcrypt
fused=$build/volcrypt-fused
nocrypto=$build/bench/helpers/volcrypt-fused-nocrypto

skip() {
	echo "bench_fuse: skipped: $*"
	exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root (FUSE mounts and loop devices)"
if [ ! -c /dev/fuse ] || [ ! -c /dev/loop-control ]; then
	skip "no /dev/fuse or /dev/loop-control"
fi
for t in fio losetup xxd; do
	command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
for b in "$vc" "$fused" "$nocrypto"; do
	if [ ! -x "$b" ]; then
		echo "bench_fuse: $b is missing (make bench builds it)" >&2
		exit 1
	fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/bench-fuse.XXXXXX") || exit 1
PIDS=()
DEVS=()
bench_exit() {
	local d p
	for d in ${DEVS[@]+"${DEVS[@]}"}; do
		losetup -d "$d" 2>/dev/null
	done
	for p in ${PIDS[@]+"${PIDS[@]}"}; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	umount -l "$T/m-fuse" "$T/m-nocrypto" 2>/dev/null
	rm -rf "$T"
}
trap bench_exit EXIT
trap 'exit 130' INT TERM HUP

die() {
	echo "bench_fuse: $*" >&2
	exit 1
}

# --- volumes ------------------------------------------------------------------
# A throwaway volume: its key may sit in a file of this private directory.
printf 'bench-fuse-passphrase' >"$T/pass"
"$vc" format "$T/fuse.img" --size "$((SIZE_MB + 16))M" --sector-size "$SECTOR_SIZE" \
	--batch --key-file "$T/pass" \
	--pbkdf pbkdf2 --pbkdf-force-iterations 1000 >/dev/null || die "format failed"
(umask 077 && "$vc" dump "$T/fuse.img" --volume-key --batch --key-file "$T/pass" 2>/dev/null |
	sed -n 's/^Volume key: //p' | xxd -r -p >"$T/key") || die "cannot get the volume key"
[ "$(stat -c %s "$T/key")" = 64 ] || die "volume key is not 64 bytes"
# The other daemon gets its own copy: a target is served by one daemon only.
cp "$T/fuse.img" "$T/nocrypto.img"
truncate -s "${SIZE_MB}M" "$T/plain.img"

# start_daemon NAME BINARY: serve $T/NAME.img on $T/m-NAME; the loop
# device on it goes to LAST_DEV.
start_daemon() {
	local name=$1 bin=$2 ready dev pid
	mkdir -p "$T/m-$name"
	mkfifo "$T/ready-$name"
	setsid "$bin" --target "$T/$name.img" --mountpoint "$T/m-$name" --key-fd 3 --ready-fd 4 \
		--verbose 3<"$T/key" 4>"$T/ready-$name" 2>"$T/$name.log" &
	pid=$!
	PIDS+=("$pid")
	ready=$(head -c1 "$T/ready-$name")
	[ "$ready" = R ] || die "$name daemon did not start: $(tail -n1 "$T/$name.log")"
	dev=$(losetup -f --show --direct-io=on -b "$SECTOR_SIZE" "$T/m-$name/volume") ||
		die "cannot attach a loop device to $name"
	DEVS+=("$dev")
	LAST_DEV=$dev
}

start_daemon fuse "$fused"
DEV_fuse=$LAST_DEV
start_daemon nocrypto "$nocrypto"
DEV_nocrypto=$LAST_DEV
# losetup's default (buffered): how a plain image is normally used.
DEV_plain=$(losetup -f --show -b "$SECTOR_SIZE" "$T/plain.img") || die "losetup failed"
DEVS+=("$DEV_plain")

# fio_run DEV ARGS...: prints MB/s (rw=read/write) or IOPS (randread);
# the machine's CPU seconds per 10^9 bytes moved go to $T/cpu.DEVNAME.
fio_run() {
	local dev=$1 t0 t1 out
	shift
	t0=$(cpu_busy_ticks)
	out=$(fio --name=b --filename="$dev" --direct=1 --ioengine=libaio --size="${SIZE_MB}M" \
		--output-format=terse --terse-version=3 "$@" 2>/dev/null) || return 1
	t1=$(cpu_busy_ticks)
	# Terse v3: read KiB/s $7, IOPS $8, runtime ms $9; write KiB/s $48, runtime $50.
	awk -F';' -v cpu="$(cpu_seconds "$t0" "$t1")" -v f="$T/cpu.${dev##*/}" '{
		ms = $9 > $50 ? $9 : $50
		gb = ($7 + $48) * 1024 * ms / 1000 / 1e9
		if (gb > 0) printf "%.4f\n", cpu / gb >>f
	}' <<<"$out"
	awk -F';' -v m="$METRIC" '
		m == "iops" { print $8; exit }
		{ bw = $7 + $48; printf "%.0f\n", bw / 1024; exit }' <<<"$out"
}

echo "== prefill ${SIZE_MB} MiB on each device"
for d in "$DEV_fuse" "$DEV_nocrypto" "$DEV_plain"; do
	METRIC=bw fio_run "$d" --rw=write --bs=1M --iodepth=8 >/dev/null ||
		die "prefill of $d failed"
done

# median [FORMAT] < numbers
median() {
	sort -g | awk -v f="${1:-%.0f}" '{ v[NR] = $1 }
		END { printf f "\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# measure LABEL METRIC FIO-ARGS...: rounds of fuse nocrypto plain plain nocrypto fuse.
measure() {
	local label=$1 r a1 b1 c1 c2 b2 a2
	METRIC=$2
	shift 2
	: >"$T/fuse.v"; : >"$T/nocrypto.v"; : >"$T/plain.v"; : >"$T/r_nc.v"; : >"$T/r_pl.v"
	rm -f "$T"/cpu.*
	for ((r = 0; r < ROUNDS; r++)); do
		a1=$(fio_run "$DEV_fuse" "$@")
		b1=$(fio_run "$DEV_nocrypto" "$@")
		c1=$(fio_run "$DEV_plain" "$@")
		c2=$(fio_run "$DEV_plain" "$@")
		b2=$(fio_run "$DEV_nocrypto" "$@")
		a2=$(fio_run "$DEV_fuse" "$@")
		if [ -z "$a1" ] || [ -z "$a2" ] || [ -z "$b1" ] || [ -z "$b2" ] ||
			[ -z "$c1" ] || [ -z "$c2" ]; then
			die "fio failed ($label)"
		fi
		printf '%s\n%s\n' "$a1" "$a2" >>"$T/fuse.v"
		printf '%s\n%s\n' "$b1" "$b2" >>"$T/nocrypto.v"
		printf '%s\n%s\n' "$c1" "$c2" >>"$T/plain.v"
		awk -v a="$((a1 + a2))" -v b="$((b1 + b2))" 'BEGIN { printf "%.3f\n", a / b }' >>"$T/r_nc.v"
		awk -v a="$((a1 + a2))" -v c="$((c1 + c2))" 'BEGIN { printf "%.3f\n", a / c }' >>"$T/r_pl.v"
	done
	local unit=MB/s
	[ "$METRIC" = iops ] && unit=IOPS
	printf '%-26s fuse %8s  nocrypto %8s  plain %8s %-5s  fuse/nocrypto %s  fuse/plain %s\n' \
		"$label" "$(median <"$T/fuse.v")" "$(median <"$T/nocrypto.v")" \
		"$(median <"$T/plain.v")" "$unit" "$(median %.3f <"$T/r_nc.v")" \
		"$(median %.3f <"$T/r_pl.v")"
	median %.3f <"$T/r_nc.v" >>"$T/all_nc"
	cpu_report "$label" "$1"
}

# cpu_report LABEL --rw=WAY: where the fuse daemon's time goes.  Both
# daemons keep the CPUs busy, so the ratio is the no-crypto daemon's CPU
# cost per GB over the fuse daemon's; what the fuse daemon costs on top is
# compared with what the cipher alone costs one thread (volcrypt benchmark).
cpu_report() {
	local way=decrypt a b c
	[ "$2" = --rw=write ] && way=encrypt
	a=$(median %.4f <"$T/cpu.${DEV_fuse##*/}")
	b=$(median %.4f <"$T/cpu.${DEV_nocrypto##*/}")
	c=$(cipher_cpu_per_gb "$vc" "$SECTOR_SIZE" "$way") || return 0
	awk -v l="$1" -v a="$a" -v b="$b" -v c="$c" 'BEGIN {
		printf "%-26s CPU-s per GB: fuse %.3f  nocrypto %.3f  extra %.3f;" \
		       "  the cipher alone %.3f -> nocrypto/(nocrypto + cipher) %.2f\n",
		       l, a, b, a - b, c, b / (b + c) }'
}

echo "== $ROUNDS rounds of A B C C B A, ${RUNTIME} s per run (medians)"
timed=(--runtime="$RUNTIME" --time_based)
measure "seq write 1M qd$SEQ_QD" bw --rw=write --bs=1M --iodepth="$SEQ_QD" "${timed[@]}"
measure "seq read 1M qd$SEQ_QD" bw --rw=read --bs=1M --iodepth="$SEQ_QD" "${timed[@]}"
measure "rand read 4K qd32" iops --rw=randread --bs=4k --iodepth=32 "${timed[@]}"

# The request sizes the kernel really sent (the daemon's debug counters).
losetup -d "$DEV_fuse" && DEVS=("$DEV_nocrypto" "$DEV_plain")
kill "${PIDS[0]}" && wait "${PIDS[0]}"
sed -n 's/^volcrypt-fused: debug: \(served .*\)/fuse daemon: \1/p' "$T/fuse.log"

worst=$(sort -g "$T/all_nc" | head -n1)
if awk -v w="$worst" -v g="$GOAL" 'BEGIN { exit !(w >= g) }'; then
	echo "goal met: every fuse/nocrypto ratio >= $GOAL"
else
	echo "goal missed: lowest fuse/nocrypto ratio $worst < $GOAL"
fi
exit 0
