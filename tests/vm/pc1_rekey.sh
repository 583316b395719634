#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Power cut during an online rekey, first half (pc2_rekey.sh checks the
# second): a volume on the virtio disk, open through the volcrypt target,
# filled with known data; an online rekey in small chunks; the VM is reset
# (sysrq b) once the rekey has reported progress twice -- in the middle of
# it, with the target holding a chunk at any moment.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

NAME=pcrk
MAPPER=/dev/mapper/$NAME
DATA=$((32 * MiB))

# The volume: the first 48 MiB of the test disk (pc2 maps the same).
pc_volume_device || finish
wipe_dev "$DISK"
fmt "$DISK" || finish
expect_exit 0 vc open "$DISK" "$NAME" --key-file "$P0" --backend volcrypt
random_file "$T/data" "$DATA"
check "data written through the target" \
	dd if="$T/data" of="$MAPPER" bs=1M oflag=direct conv=fsync status=none
check "state: data checksum" state_set rekey.data_sum "$(sum_of "$T/data")"
check "state: data size" state_set rekey.data_len "$DATA"

exec {rk}< <(exec "$VC" rekey "$NAME" --key-file "$P0" --chunk-size 256K --json 2>&1)
lines=0
while read -r -u "$rk" line; do
	case $line in
	*'"event":"progress"'*)
		lines=$((lines + 1))
		if [ $lines = 2 ]; then
			ok "the rekey is under way: $line"
			powercut_reset
			break
		fi
		;;
	*) echo "# rekey: $line" ;;
	esac
done
fail "the VM was reset in the middle of the rekey" \
	"the rekey ended after $lines progress lines, before the reset"
finish
