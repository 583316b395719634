# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by the host benchmarks: how much CPU time the whole machine
# spent, to tell a goal missed for lack of CPU from one missed for waiting.
# The machine must be otherwise quiet for the figures to mean anything.

CPU_HZ=$(getconf CLK_TCK)
# shellcheck disable=SC2034 # used by the scripts that source this
CPU_COUNT=$(nproc)

# cpu_busy_ticks: busy time of every CPU so far, in CPU_HZ ticks (user,
# nice, system, irq, softirq: idle, iowait and steal are not our work).
cpu_busy_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
}

# cpu_seconds FROM TO: the CPU seconds between two cpu_busy_ticks readings.
cpu_seconds() {
	awk -v a="$1" -v b="$2" -v hz="$CPU_HZ" 'BEGIN { printf "%.3f\n", (b - a) / hz }'
}

# cipher_cpu_per_gb VOLCRYPT SECTOR_SIZE encrypt|decrypt: CPU seconds one
# thread of the sector engine needs per 10^9 bytes (volcrypt benchmark).
cipher_cpu_per_gb() {
	"$1" benchmark --json --pbkdf pbkdf2 --pbkdf-force-iterations 1000 2>/dev/null |
		python3 -c '
import json, sys
ss, way = int(sys.argv[1]), sys.argv[2] + "_mbps"
for c in json.load(sys.stdin)["cipher"]:
    if c["sector_size"] == ss and c["threads"] == 1:
        print("%.4f" % (1000.0 / c[way]))
        break
else:
    sys.exit(1)' "$2" "$3"
}
