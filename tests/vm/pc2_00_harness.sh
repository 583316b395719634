#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The power-cut harness, second half (see pc1_00_harness.sh): this is a new
# boot of the same VM, the state disk kept what pc1 recorded, the synced
# pattern survived the reset intact, and the background writer was cut off
# mid-way: every chunk it reported durable is there, nothing after the one
# it was writing is.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DISK=${VM_DISK:-}
check "test disk is /dev/vda" test "$DISK" = /dev/vda -a -b "$DISK"
[ -b "$DISK" ] || finish

declare -A S=()
for k in pc1_boot boot_id pattern_off pattern_len pattern_sum region_off chunks chunk_sum durable; do
	if S[$k]=$(state_get "harness.$k") && [ -n "${S[$k]}" ]; then
		ok "state kept across the reset: harness.$k"
	else
		fail "state kept across the reset: harness.$k"
	fi
done
[ "$FAIL" -eq 0 ] || finish

# A second boot: the counter /init increments went up by exactly one since
# pc1 ran, and the kernel's boot id changed.
check_eq "boot counter: one boot since pc1" "$(state_get vm.boot)" "$((S[pc1_boot] + 1))"
check_eq "boot counter matches run.sh's boot number" "$(state_get vm.boot)" "${VM_BOOT:-}"
check_not "kernel boot id differs from pc1's" \
	test "$(cat /proc/sys/kernel/random/boot_id)" = "${S[boot_id]}"

check_eq "synced pattern survived the reset" \
	"$(sum_range "$DISK" "${S[pattern_off]}" "${S[pattern_len]}")" "${S[pattern_sum]}"

# The writer's region: chunks 0..durable hold the chunk; the first that does
# not (cut while being written, or never started) is after those; all the
# rest is untouched zeros (the writer went in order, one chunk at a time).
# Hashing is slow under TCG: one sha256 identifies the chunk (chunk 0, if
# intact), cmp compares the others with it and the tail with zeros.
first=""
read_range "$DISK" "${S[region_off]}" "$MiB" >"$T/chunk"
[ "$(sum_of "$T/chunk")" = "${S[chunk_sum]}" ] || first=0
for ((i = 1; i < S[chunks] && ${#first} == 0; i++)); do
	read_range "$DISK" $((S[region_off] + i * MiB)) "$MiB" | cmp -s - "$T/chunk" || first=$i
done
# shellcheck disable=SC2317 # called through check
beyond_durable() { [ -z "$first" ] || [ "$first" -gt "${S[durable]}" ]; }
check "every chunk reported durable survived (0..${S[durable]}; first other: ${first:-none})" \
	beyond_durable
check "the reset cut the writer off mid-way (first unwritten chunk ${first:-none} of ${S[chunks]})" \
	test -n "$first"
# shellcheck disable=SC2317 # called through check
tail_zero() { read_range "$DISK" "$1" "$2" | cmp -s -n "$2" - /dev/zero; }
if [ -n "$first" ] && [ $((first + 1)) -lt "${S[chunks]}" ]; then
	rest=$(((S[chunks] - first - 1) * MiB))
	check "nothing written after the chunk being written at the reset (chunks $((first + 1))..$((S[chunks] - 1)) zero)" \
		tail_zero $((S[region_off] + (first + 1) * MiB)) "$rest"
fi
finish
