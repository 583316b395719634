#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The power-cut harness itself, first half (pc2_00_harness.sh checks the
# second): a 4 MiB random pattern written to the test disk with O_DIRECT
# and fsync must survive the reset; a background writer filling a second
# region is cut off mid-way by it.  The writer reports each chunk once it
# is durable (O_DIRECT + fsync); the reset follows its own progress report,
# not a sleep.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DISK=${VM_DISK:-}
PATTERN_OFF=$((16 * MiB))
PATTERN_LEN=$((4 * MiB))
REGION_OFF=$((32 * MiB)) # the writer's region: CHUNKS MiB from here
CHUNKS=48
RESET_AFTER=8 # chunks reported durable before the reset

check "test disk is /dev/vda" test "$DISK" = /dev/vda -a -b "$DISK"
[ -b "$DISK" ] || finish
boot=$(state_get vm.boot)
check "boot counter on the state disk readable" test -n "$boot"

random_file "$T/pattern" "$PATTERN_LEN"
random_file "$T/chunk" "$MiB"
check "pattern written (O_DIRECT, fsync)" write_range "$T/pattern" "$DISK" "$PATTERN_OFF"
check_eq "pattern reads back" "$(sum_range "$DISK" "$PATTERN_OFF" "$PATTERN_LEN")" "$(sum_of "$T/pattern")"
# Zeros where the writer goes: pc2 tells written chunks from untouched ones
# (the image is new each run, but an earlier power-cut pair may have used it).
check "writer's region zeroed" dd if=/dev/zero of="$DISK" bs=1M seek=$((REGION_OFF / MiB)) \
	count="$CHUNKS" oflag=direct conv=notrunc,fsync status=none

for kv in "pc1_boot=$boot" "boot_id=$(cat /proc/sys/kernel/random/boot_id)" \
	"pattern_off=$PATTERN_OFF" "pattern_len=$PATTERN_LEN" "pattern_sum=$(sum_of "$T/pattern")" \
	"region_off=$REGION_OFF" "chunks=$CHUNKS" "chunk_sum=$(sum_of "$T/chunk")"; do
	check "state: harness.${kv%%=*}" state_set "harness.${kv%%=*}" "${kv#*=}"
done

# One chunk a MiB, in order, each durable before it is reported.
writer() {
	local i
	for ((i = 0; i < CHUNKS; i++)); do
		dd if="$T/chunk" of="$DISK" bs=1M seek=$((REGION_OFF / MiB + i)) \
			oflag=direct conv=notrunc,fsync status=none || { echo "error $i"; return 1; }
		echo "durable $i"
	done
	echo "finished"
}

exec {progress}< <(writer)
last=""
while read -r -u "$progress" what i; do
	case $what in
	durable)
		last=$i
		if [ "$i" -ge $((RESET_AFTER - 1)) ]; then
			check "state: harness.durable" state_set harness.durable "$last"
			powercut_reset
			break
		fi
		;;
	*)
		fail "writer: $what ${i:-}"
		break
		;;
	esac
done
fail "the VM was reset while the writer was running (last durable chunk: ${last:-none})"
finish
