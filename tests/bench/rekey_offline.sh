#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Offline rekey throughput against the engine's decrypt+encrypt bound,
# measured in the same run, interleaved A B B A per round:
#   A: tests/bench/bench_recrypt.c: the engine decrypting and encrypting
#      the same amount of data in memory, every CPU, piece by piece as the
#      rekey does: all of the rekey's work except its I/O;
#   B: `volcrypt rekey` of a volume in /dev/shm (no disk in the way: the
#      figure is what the rekey itself costs), its own rate from --json.
# Goal (issue 5): rekey >= 0.7 of the bound.
#
#   tests/bench/rekey_offline.sh BUILD_DIR [ROUNDS] [SECTOR_SIZE]
set -euo pipefail
# shellcheck source=tests/bench/cpu.sh
. "$(dirname "$0")/cpu.sh"

build=${1:-build}
rounds=${2:-3}
ss=${3:-512}
V=$build/volcrypt
export LD_LIBRARY_PATH=$build
DATA_MIB=1024
work=$(mktemp -d /dev/shm/volcrypt-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

printf 'bench' >"$work/key"
truncate -s $((DATA_MIB + 16))M "$work/img"
"$V" format "$work/img" --batch --key-file "$work/key" --sector-size "$ss" \
	--pbkdf pbkdf2 --pbkdf-force-iterations 1000 >/dev/null
# Real ciphertext-like data, every page allocated before the first round.
dd if=/dev/urandom of="$work/img" bs=1M seek=16 count=$DATA_MIB conv=notrunc status=none

bound() {
	"$build/bench/bench_recrypt" "$ss" "$DATA_MIB" | awk '{ print $3 }'
}

# rekey: prints its rate (MB/s, its own --json figure) and the machine's CPU
# seconds per 10^9 bytes during the rekey loop (the command's CPU time less
# what its setup, single-threaded and outside the loop, could have used).
rekey() {
	local t0 t1 w0 w1
	t0=$(cpu_busy_ticks)
	w0=$(date +%s%N)
	"$V" rekey "$work/img" --key-file "$work/key" --json >"$work/json"
	w1=$(date +%s%N)
	t1=$(cpu_busy_ticks)
	python3 -c '
import json, sys
cpu, wall_ms = float(sys.argv[1]), (int(sys.argv[2]) - int(sys.argv[3])) / 1e6
done = [json.loads(l) for l in open(sys.argv[4]) if l.strip()][-1]
gb = done["bytes"] / 1e9
loop_cpu = cpu - max(0.0, wall_ms - done["ms"]) / 1e3
print("%.1f %.4f" % (gb * 1e3 / (done["ms"] / 1e3), loop_cpu / gb))' \
		"$(cpu_seconds "$t0" "$t1")" "$w1" "$w0" "$work/json"
}

a_all=() b_all=() c_all=()
for ((i = 1; i <= rounds; i++)); do
	a1=$(bound); read -r b1 c1 < <(rekey); read -r b2 c2 < <(rekey); a2=$(bound)
	echo "round $i: bound $a1 $a2 MB/s, rekey $b1 $b2 MB/s ($c1 $c2 CPU-s per GB)"
	a_all+=("$a1" "$a2")
	b_all+=("$b1" "$b2")
	c_all+=("$c1" "$c2")
done
awk -v a="${a_all[*]}" -v b="${b_all[*]}" -v c="${c_all[*]}" -v ss="$ss" -v mib=$DATA_MIB \
	-v ncpu="$CPU_COUNT" 'BEGIN {
	na = split(a, A, " "); nb = split(b, B, " "); nc = split(c, C, " ")
	for (i = 1; i <= na; i++) sa += A[i]
	for (i = 1; i <= nb; i++) sb += B[i]
	for (i = 1; i <= nc; i++) sc += C[i]
	printf "offline rekey (%d-byte sectors, %d MiB in /dev/shm): %.0f MB/s vs engine " \
	       "decrypt+encrypt bound %.0f MB/s -> ratio %.2f (goal >= 0.7)\n",
	       ss, mib, sb / nb, sa / na, sb / sa
	# Every CPU busy with the rekey, none idle: the most this work allows.
	cpu = sc / nc; most = ncpu / cpu * 1e3
	printf "  the rekey costs %.3f CPU-s per GB; on %d CPUs and never idle it would run at " \
	       "%.0f MB/s -> ratio %.2f at most\n", cpu, ncpu, most, most / (sa / na) }'
