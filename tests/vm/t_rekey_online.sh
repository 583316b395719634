#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# `volcrypt rekey` in the kernel: online through the volcrypt target while
# fio verify writes and reads a file on the mounted filesystem (fio
# verify passes, e2fsck is clean, files written before read back, the new
# key is the volume's: the engine reads the same data with it); a volume
# whose rekey is half done opens with both kernel backends (the volcrypt
# target's rekey table, dm-crypt's two segments) and reads the right
# data; the dm-crypt backend refuses an online rekey with a reason.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DEV=/dev/ram1
NAME=vmrk
MAPPER=/dev/mapper/$NAME
MNT=$T/mnt
mkdir -p "$MNT"
kmsg_mark

require_target_module || finish
require_tool fio || finish

# --------------------------------------------------------- online under fio

wipe_dev "$DEV" $((56 * MiB))
fmt "$DEV" || finish
mkpass "$T/pass1" "second passphrase, kept"
mkpass "$T/pass2" "third passphrase, dropped"
vc add-key "$DEV" --key-file "$P0" --new-key-file "$T/pass1" "${KDF[@]}" >/dev/null
vc add-key "$DEV" --key-file "$P0" --new-key-file "$T/pass2" "${KDF[@]}" >/dev/null
old_key=$(volume_key "$DEV")

expect_exit 0 vc_open "$DEV" "$NAME" --backend volcrypt
check "mkfs.ext4" mkfs.ext4 -q -F "$MAPPER"
check "mount" mount -t ext4 "$MAPPER" "$MNT"
at_exit umount "$MNT"
random_file "$T/before" $((4 * MiB))
cp "$T/before" "$MNT/before"
sync

# fio keeps writing and verifying (verify_backlog) until the rekey is done.
fio --name=rk --filename="$MNT/fio.dat" --size=8M --rw=randwrite --bs=4k \
	--ioengine=psync --direct=1 --verify=crc32c --verify_backlog=64 \
	--time_based --runtime=600 --output-format=json --output="$T/fio.json" >"$T/fio.err" 2>&1 &
fio_pid=$!
# fio has laid out its file and is writing once the file has its size.
wait_until 30000 test "$(stat -c %s "$MNT/fio.dat" 2>/dev/null)" = $((8 * MiB))
EXPECT_NAME="rekey online through the volcrypt target (fio verify running)" \
	expect_exit 0 vc rekey "$NAME" --key-file "$P0" --keep-key-file "$T/pass1" --json
cp "$OUT" "$T/rekey.json"
check "fio was still running when the rekey finished" kill -0 "$fio_pid"
# SIGINT ends a time-based run early (fio exits 128 for it); errors are per job.
kill -INT "$fio_pid"
wait "$fio_pid"
# fio may say "terminating on signal 2" ahead of the JSON document.
sed -n '/^{/,$p' "$T/fio.json" >"$T/fio.clean.json" && mv "$T/fio.clean.json" "$T/fio.json"
jcheck "fio verify passed during the online rekey (no job error)" "$T/fio.json" '.jobs[0].error' 0
check "fio wrote during the rekey" test "$(json_get "$T/fio.json" '.jobs[0].write.io_bytes')" -gt 0
check "fio verified during the rekey" test "$(json_get "$T/fio.json" '.jobs[0].read.io_bytes')" -gt 0
check_not "fio reported no verify error" grep -qi "verify.*fail\|bad magic\|crc32c" "$T/fio.err"
check "the rekey reported progress lines" grep -q '"event":"progress"' "$T/rekey.json"
check "the rekey ended with its result" grep -q '"event":"done","mode":"online"' "$T/rekey.json"
check "file written before the rekey reads back" cmp -s "$T/before" "$MNT/before"
check "umount" umount "$MNT"
check "e2fsck clean after the online rekey" fsck_clean "$MAPPER"
dmsetup table "$NAME" >"$T/table" 2>&1
dmsetup status "$NAME" >"$T/status" 2>&1
check_not "status shows no rekey any more" grep -q " rekey " "$T/status"
expect_exit 0 vc close "$NAME"
new_key=$(volume_key "$DEV")
check "the volume key changed" test -n "$new_key" -a "$new_key" != "$old_key"
head -c $((16 * MiB)) "$DEV" >"$T/header"
check_not "old key nowhere in the header area" contains_hex "$T/header" "$old_key"
vc dump "$DEV" --json >"$T/dump.json"
jcheck "dump: one rekey in the history" "$T/dump.json" .rekey.count 1
jcheck "dump: it was online" "$T/dump.json" '.rekey.history[0].mode' online
expect_exit 0 vc test-key "$DEV" --key-file "$T/pass1"
EXPECT_NAME="dropped passphrase no longer opens" expect_exit 2 vc test-key "$DEV" --key-file "$T/pass2"

# The userspace engine agrees with what the kernel re-encrypted.
expect_exit 0 vc_open "$DEV" "$NAME" --backend fuse
fdev=$(cat "$OUT")
check "mount through the engine after the kernel rekey" mount -t ext4 -o ro "$fdev" "$MNT"
check "engine reads the file written before the rekey" cmp -s "$T/before" "$MNT/before"
umount "$MNT"
expect_exit 0 vc close "$NAME"

# --------------------------------------------------------- half-done rekeys

# A rekey paused at a chunk boundary (SIGINT after the first progress line,
# on a small chunk), then opened by each kernel backend.
wipe_dev "$DEV" $((24 * MiB))
fmt "$DEV" || finish
random_file "$T/raw" $((8 * MiB))
expect_exit 0 vc_open "$DEV" "$NAME" --backend volcrypt
dd if="$T/raw" of="$MAPPER" bs=1M oflag=direct status=none
expect_exit 0 vc close "$NAME"
# Pause: the first progress line (one per second at most) stops it.
exec {rk}< <(exec timeout -k 5 "$VC_TIMEOUT" "$VC" rekey "$DEV" --key-file "$P0" \
	--chunk-size 64K --json 2>&1)
rk_pid=$!
read -r -u "$rk" _
kill -INT "$rk_pid"
cat <&"$rk" >/dev/null
exec {rk}<&-
wait "$rk_pid"
check_eq "rekey paused by SIGINT exits 1" "$?" 1
vc dump "$DEV" --json >"$T/dump.json"
boundary=$(json_get "$T/dump.json" .rekey.boundary)
check "paused inside the data area (boundary $boundary)" \
	test -n "$boundary" -a "${boundary:-0}" -gt 0 -a "${boundary:-0}" -lt $((8 * MiB))
for backend in volcrypt dm-crypt; do
	expect_exit 0 vc_open "$DEV" "$NAME" --backend "$backend"
	check "[$backend] open says the rekey can be resumed" grep -q "rekey --resume" "$ERR"
	check "[$backend] half-rekeyed volume reads right across the boundary" \
		cmp -s "$T/raw" <(head -c $((8 * MiB)) "$MAPPER")
	dmsetup table "$NAME" >"$T/table"
	check_not "[$backend] no key bytes in the table" grep -qE '[0-9a-f]{64}' "$T/table"
	if [ "$backend" = dm-crypt ]; then
		check_eq "[dm-crypt] two segments, one per key" "$(wc -l <"$T/table")" 2
		EXPECT_NAME="[dm-crypt] online rekey refused" \
			expect_exit 1 vc rekey "$NAME" --key-file "$P0" --resume
		check "[dm-crypt] the refusal says why" grep -q "cannot re-encrypt online" "$ERR"
	else
		check "[volcrypt] the table carries the rekey" grep -q " rekey " "$T/table"
	fi
	expect_exit 0 vc close "$NAME"
done
# Finish it online through the target's rekey table.
expect_exit 0 vc_open "$DEV" "$NAME" --backend volcrypt
expect_exit 0 vc rekey "$NAME" --key-file "$P0" --resume
check "resumed online: data intact" cmp -s "$T/raw" <(head -c $((8 * MiB)) "$MAPPER")
expect_exit 0 vc close "$NAME"
expect_exit 0 vc_open "$DEV" "$NAME" --backend dm-crypt
check "dm-crypt reads it with the new key" cmp -s "$T/raw" <(head -c $((8 * MiB)) "$MAPPER")
expect_exit 0 vc close "$NAME"

kernel_log_clean "no kernel warning during the online rekey tests"
finish
