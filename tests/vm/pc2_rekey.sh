#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Power cut during an online rekey, second half: after the reset the
# volume shows a rekey in progress, opens through the volcrypt target
# (the chunk the cut interrupted is finished from the journal) with every
# byte intact, the rekey resumes online to the end, and the data reads
# back with the new key through dm-crypt too.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

NAME=pcrk
MAPPER=/dev/mapper/$NAME

want=$(state_get rekey.data_sum)
len=$(state_get rekey.data_len)
check "pc1 left its state" test -n "$want" -a -n "$len"
[ -n "$want" ] || finish
pc_volume_device || finish

vc dump "$DISK" --json >"$T/dump.json"
jcheck "the rekey is still in progress after the cut" "$T/dump.json" .rekey.in_progress true
boundary=$(json_get "$T/dump.json" .rekey.boundary)
check "the header's boundary is inside the data area" \
	test -n "$boundary" -a "${boundary:-0}" -lt "$len"

expect_exit 0 vc_open "$DISK" "$NAME" --backend volcrypt
check_eq "every byte intact after the power cut" "$(sum_range "$MAPPER" 0 "$len")" "$want"
EXPECT_NAME="rekey --resume online after the power cut" \
	expect_exit 0 vc rekey "$NAME" --key-file "$P0" --resume
check_eq "every byte intact after the resumed rekey" "$(sum_range "$MAPPER" 0 "$len")" "$want"
expect_exit 0 vc close "$NAME"
vc dump "$DISK" --json >"$T/dump.json"
jcheck "finished: no rekey in progress" "$T/dump.json" .rekey.in_progress false
jcheck "finished: one rekey in the history" "$T/dump.json" .rekey.count 1
expect_exit 0 vc_open "$DISK" "$NAME" --backend dm-crypt
check_eq "dm-crypt reads it with the new key" "$(sum_range "$MAPPER" 0 "$len")" "$want"
expect_exit 0 vc close "$NAME"
kernel_log_clean "no kernel warning after the power cut"
finish
