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

rekey() {
	"$V" rekey "$work/img" --key-file "$work/key" --json |
		python3 -c '
import json, sys
done = [json.loads(l) for l in sys.stdin if l.strip()][-1]
print("%.1f" % (done["bytes"] / done["ms"] * 1e3 / 1e6))'
}

a_all=() b_all=()
for ((i = 1; i <= rounds; i++)); do
	a1=$(bound); b1=$(rekey); b2=$(rekey); a2=$(bound)
	echo "round $i: bound $a1 $a2 MB/s, rekey $b1 $b2 MB/s"
	a_all+=("$a1" "$a2")
	b_all+=("$b1" "$b2")
done
awk -v a="${a_all[*]}" -v b="${b_all[*]}" -v ss="$ss" -v mib=$DATA_MIB 'BEGIN {
	na = split(a, A, " "); nb = split(b, B, " ")
	for (i = 1; i <= na; i++) sa += A[i]
	for (i = 1; i <= nb; i++) sb += B[i]
	printf "offline rekey (%d-byte sectors, %d MiB in /dev/shm): %.0f MB/s vs engine " \
	       "decrypt+encrypt bound %.0f MB/s -> ratio %.2f (goal >= 0.7)\n",
	       ss, mib, sb / nb, sa / na, sb / sa }'
