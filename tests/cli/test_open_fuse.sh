#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt open/close/status with the fuse backend (volcrypt-fused + loop
# device), on the host: real FUSE mounts, loop devices and ext4.  Needs
# root, /dev/fuse and /dev/loop-control.
# Helpers run through check and trap: not unreachable.
# shellcheck disable=SC2317
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

FUSED=$(dirname "$VC")/volcrypt-fused
NAME=vt-fuse-$$                 # unique: other suites may run at the same time
NAME4K=vt-fuse4k-$$
FS=$T/fs
MARKER=VOLCRYPT-FUSE-PLAINTEXT-MARKER-7d1e
mkdir -p "$FS"

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ] || [ ! -c /dev/loop-control ]; then
	fail "the fuse backend test needs root, /dev/fuse and /dev/loop-control"
	finish
fi
for t in mkfs.ext4 e2fsck fio blockdev losetup python3 mountpoint; do
	require_tool "$t" || finish
done
check "volcrypt-fused is built next to volcrypt" test -x "$FUSED"

# Whatever happens, leave no mount, mapping or daemon behind.
HOLDER=""                       # a daemon started by hand
fuse_cleanup() {
	local n
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null && wait "$HOLDER"
	mountpoint -q "$FS" && umount -l "$FS"
	for n in "$NAME" "$NAME4K"; do
		[ -d "/run/volcrypt/$n" ] && vc close "$n" >/dev/null 2>&1
	done
}
fuse_exit() {
	fuse_cleanup
	cleanup
}
trap fuse_exit EXIT

# status_json NAME: status --json into $T/st.json; returns its exit code.
status_json() {
	vc status "$1" --json >"$T/st.json" 2>"$T/st.err"
}

# open_vol IMG NAME [OPTS...]: sets DEV (counts an assertion).
open_vol() {
	local img=$1 name=$2
	shift 2
	DEV=""
	EXPECT_NAME="open $name --backend fuse $*" \
		expect_exit 0 vc open "$img" "$name" --backend fuse --key-file "$P0" "$@" || return 1
	DEV=$(cat "$OUT")
	check "open prints the device path, one line" grep -Eqx '/dev/loop[0-9]+' "$OUT"
}

close_vol() {                       # close_vol NAME
	EXPECT_NAME="close $1" expect_exit 0 vc close "$1"
}

daemon_pid() {                      # daemon_pid NAME
	status_json "$1" && jpy "$T/st.json" 'j["pid"]'
}

# gone NAME DEV PID: nothing of the mapping is left.
gone() {
	local name=$1 dev=$2 pid=$3
	[ ! -e "/run/volcrypt/$name" ] || return 1
	! losetup "$dev" 2>/dev/null | grep -q "/run/volcrypt/$name/" || return 1
	! grep -q " /run/volcrypt/$name/" /proc/mounts || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" != volcrypt-fused ] ||
		grep -q '^State:.*Z' "/proc/$pid/status"
}

# xts_check IMG DATA_OFFSET DEV_OFFSET PLAINFILE KEYHEX SECTOR_SIZE: the
# image holds exactly OpenSSL's AES-256-XTS of PLAINFILE at DEV_OFFSET of
# the data area, one unit per sector, IV = 512-byte index (plain64).
xts_check() {
	python3 - "$@" <<'EOF'
import ctypes, ctypes.util, sys
img, data_off, off, plain, keyhex, ss = sys.argv[1:7]
data_off, off, ss = int(data_off), int(off), int(ss)
lib = ctypes.CDLL(ctypes.util.find_library("crypto"))
vp, cp = ctypes.c_void_p, ctypes.c_char_p
lib.EVP_CIPHER_CTX_new.restype = vp
lib.EVP_aes_256_xts.restype = vp
lib.EVP_EncryptInit_ex.argtypes = [vp, vp, vp, cp, cp]
lib.EVP_EncryptUpdate.argtypes = [vp, cp, ctypes.POINTER(ctypes.c_int), cp, ctypes.c_int]
lib.EVP_CIPHER_CTX_free.argtypes = [vp]
key = bytes.fromhex(keyhex)
pt = open(plain, "rb").read()
with open(img, "rb") as f:
    f.seek(data_off + off)
    ct = f.read(len(pt))
ctx = lib.EVP_CIPHER_CTX_new()
bad = 0
for i in range(0, len(pt), ss):
    iv = ((off + i) // 512).to_bytes(16, "little")
    out, n = ctypes.create_string_buffer(ss), ctypes.c_int()
    if lib.EVP_EncryptInit_ex(ctx, lib.EVP_aes_256_xts(), None, key, iv) != 1 or \
       lib.EVP_EncryptUpdate(ctx, out, ctypes.byref(n), pt[i:i + ss], ss) != 1:
        sys.exit("OpenSSL refused")
    bad += out.raw != ct[i:i + ss]
lib.EVP_CIPHER_CTX_free(ctx)
if bad or len(ct) != len(pt):
    sys.exit("%d of %d sectors differ from OpenSSL" % (bad, len(pt) // ss))
EOF
}

# unaligned_io FILE SIZE: partial-sector writes from 4 processes sharing
# sectors (read-modify-write must not lose updates), short reads at the
# end, ENOSPC past it, and no resizing.
unaligned_io() {
	python3 - "$@" <<'EOF'
import errno, os, sys
path, size = sys.argv[1], int(sys.argv[2])
base, piece, stride, count, procs = 3 * 4096 + 7, 97, 4 * 97 + 13, 600, 4
def tag(w, k):
    return (b"%d:%05d|" % (w, k) * 20)[:piece]
kids = []
for w in range(procs):
    pid = os.fork()
    if pid == 0:
        fd = os.open(path, os.O_RDWR)
        for k in range(count):
            os.pwrite(fd, tag(w, k), base + k * stride + w * piece)
        os._exit(0)
    kids.append(pid)
for pid in kids:
    if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]):
        sys.exit("a writer failed")
fd = os.open(path, os.O_RDWR)
data = os.pread(fd, count * stride + procs * piece, base)
lost = sum(data[k * stride + w * piece:][:piece] != tag(w, k)
           for w in range(procs) for k in range(count))
if lost:
    sys.exit("%d of %d concurrent partial-sector writes lost" % (lost, procs * count))
if len(os.pread(fd, 1000, size - 100)) != 100:
    sys.exit("read across the end is not short")
if os.pread(fd, 10, size) != b"":
    sys.exit("read at the end returns data")
if os.pwrite(fd, b"x" * 1000, size - 10) != 10:
    sys.exit("write across the end is not short")
try:
    os.pwrite(fd, b"x", size)
    sys.exit("write past the end succeeded")
except OSError as e:
    if e.errno not in (errno.ENOSPC, errno.EFBIG):
        sys.exit("write past the end: %s" % e)
try:
    os.ftruncate(fd, size + 4096)
    sys.exit("the volume file could be resized")
except OSError:
    pass
if os.fstat(fd).st_size != size:
    sys.exit("size changed")
EOF
}

# fio_verify DEV BSRANGE: 4 jobs, each in its own 12 MiB region, random
# writes of mixed sizes then a crc32c verify, looped for a few seconds.
fio_verify() {
	if fio --name=v --filename="$1" --direct=1 --ioengine=libaio --iodepth=8 \
		--rw=randwrite --bsrange="$2" --numjobs=4 --size=12M --offset_increment=12M \
		--loops="${FIO_LOOPS:-75}" --verify=crc32c --verify_fatal=1 --group_reporting \
		>"$T/fio.out" 2>&1; then
		return 0
	fi
	grep -iE 'verify|err|bad' "$T/fio.out" | head -n 10 | sed 's/^/       | /'
	return 1
}

fsck_clean() {                      # fsck_clean DEV: e2fsck -fn finds no problem
	e2fsck -fn "$1" >"$T/fsck.out" 2>&1 && return 0
	sed 's/^/       | /' "$T/fsck.out" | head -n 20
	return 1
}

# --- open, filesystem, close ---------------------------------------------------
img=$T/img
NEWVOL_SIZE=80M newvol "$img" "$P0" || finish
data_size=$((80 * MiB - DATA_OFFSET))
open_vol "$img" "$NAME" || finish
dev=$DEV
status_json "$NAME"
jcheck "status --json has every field" "$T/st.json" \
	'set(["name","backend","device","target","uuid","size","sector_size","read_only","pid","stale","format"]) <= set(j) and j["format"] == "volcrypt"'
jcheck "status --json: fuse, the device, the target, size, 512, rw, a pid, not stale" "$T/st.json" \
	'j["name"] == "'"$NAME"'" and j["backend"] == "fuse" and j["device"] == "'"$dev"'" and j["target"] == "'"$img"'" and j["size"] == '"$data_size"' and j["sector_size"] == 512 and j["read_only"] is False and j["pid"] > 0 and j["stale"] is False'
pid=$(jpy "$T/st.json" 'j["pid"]')
check "the daemon runs as volcrypt-fused" test "$(cat "/proc/$pid/comm" 2>/dev/null)" = volcrypt-fused
check "the device is as large as the data area" test "$(blockdev --getsize64 "$dev")" = "$data_size"
check "the device has 512-byte logical blocks" test "$(blockdev --getss "$dev")" = 512
key=$(volume_key "$img" "$P0")
check "the volume key is neither on the daemon's command line nor in its environment" \
	eval "! tr '\\0' '\\n' </proc/$pid/cmdline | grep -qi '$key' && \
	      test \"\$(tr '\\0' ' ' </proc/$pid/environ)\" = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C '"

check "mkfs.ext4 on the device" mkfs.ext4 -q -F "$dev"
check "mount it" mount "$dev" "$FS"
head -c $((6 * MiB)) /dev/urandom >"$FS/random.bin"
for _ in $(seq 2000); do echo "$MARKER"; done >"$FS/marker.txt"
(cd "$FS" && sha256sum random.bin marker.txt) >"$T/sums"
EXPECT_NAME="close while mounted is refused (busy)" expect_exit 5 vc close "$NAME"
status_json "$NAME"
jcheck "... and the mapping stays active" "$T/st.json" 'j["stale"] is False'
check "umount" umount "$FS"
exec 7<"$dev"
EXPECT_NAME="close while a process has the device open is refused (busy)" \
	expect_exit 5 vc close "$NAME"
check "... and the daemon still serves that process" \
	dd if="$dev" of=/dev/null bs=4096 count=16 iflag=direct status=none
exec 7<&-
close_vol "$NAME"
check "close removes the state, the loop device, the mount and the daemon" gone "$NAME" "$dev" "$pid"
EXPECT_NAME="status of a closed mapping" expect_exit "1|4" vc status "$NAME"
check "the image contains none of the plaintext" test "$(grep -ac "$MARKER" "$img")" = 0

open_vol "$img" "$NAME"
check "mount it again" mount "$DEV" "$FS"
check "the files read back with their checksums" eval "(cd '$FS' && sha256sum -c --quiet '$T/sums')"
check "umount" umount "$FS"
check "e2fsck -fn finds the file system clean" fsck_clean "$DEV"

close_vol "$NAME"

# --- read-only -------------------------------------------------------------------
open_vol "$img" "$NAME" --read-only
status_json "$NAME"
jcheck "status --json says read_only" "$T/st.json" 'j["read_only"] is True'
check "blockdev --getro is 1" test "$(blockdev --getro "$DEV")" = 1
check "mount -o ro works" mount -o ro "$DEV" "$FS"
check "the files read back read-only" eval "(cd '$FS' && sha256sum -c --quiet '$T/sums')"
check "umount" umount "$FS"
check_not "dd to the read-only device fails" \
	dd if=/dev/zero of="$DEV" bs=4096 count=1 oflag=direct status=none 2>/dev/null
check_not "writing the read-only volume file fails" \
	dd if=/dev/zero of="/run/volcrypt/$NAME/mnt/volume" bs=512 count=1 conv=notrunc status=none 2>/dev/null
close_vol "$NAME"

# --- the daemon dies: stale, close cleans up, data synced before is intact ------
open_vol "$img" "$NAME"
check "mount" mount "$DEV" "$FS"
head -c $((2 * MiB)) /dev/urandom >"$FS/synced.bin"
sync
sum_synced=$(sum_of "$FS/synced.bin")
pid=$(daemon_pid "$NAME")
dev=$DEV
kill -KILL "$pid"
umount "$FS" 2>/dev/null || umount -l "$FS"
status_json "$NAME"
jcheck "after SIGKILL of the daemon, status says stale" "$T/st.json" 'j["stale"] is True'
close_vol "$NAME"
check "close cleans up the stale mapping" gone "$NAME" "$dev" "$pid"
open_vol "$img" "$NAME"
check "mount after the crash (journal replay)" mount "$DEV" "$FS"
check "the data synced before the crash is intact" test "$(sum_of "$FS/synced.bin")" = "$sum_synced"
check "umount" umount "$FS"
check "e2fsck -fn finds the file system clean" fsck_clean "$DEV"
close_vol "$NAME"

# --- destructive tests on the raw volume (the file system is gone after them) ---
open_vol "$img" "$NAME"
check "unaligned concurrent writes, reads and writes at the end of the volume file" \
	unaligned_io "/run/volcrypt/$NAME/mnt/volume" "$data_size"

# --- one daemon per target ------------------------------------------------------
volume_key "$img" "$P0" | xxd -r -p >"$T/key.bin"
mkdir -p "$T/m2"
"$FUSED" --target "$img" --mountpoint "$T/m2" --key-fd 3 --ready-fd 4 3<"$T/key.bin" \
	4>/dev/null 2>"$T/fused2.err"
rc=$?
check "a second daemon on the same target exits with EBUSY (16)" test "$rc" = 16
check "... saying why" grep -q "already served" "$T/fused2.err"
head -c 64 /dev/urandom >"$T/badkey.bin"
"$FUSED" --target "$img" --mountpoint "$T/m2" --key-fd 3 --ready-fd 4 3<"$T/badkey.bin" \
	4>/dev/null 2>"$T/fused3.err"
rc=$?
check "the daemon refuses a key that is not the volume's (EPERM, 1)" test "$rc" = 1
check_not "... and mounted nothing" mountpoint -q "$T/m2"
# Through the spawner: the daemon's exit status and last word reach open.
close_vol "$NAME"
rm -f "$T/ready"
mkfifo "$T/ready"
setsid "$FUSED" --target "$img" --mountpoint "$T/m2" --key-fd 3 --ready-fd 4 \
	3<"$T/key.bin" 4>"$T/ready" 2>/dev/null &
HOLDER=$!
check "a daemon started by hand serves the target" test "$(head -c1 "$T/ready")" = R
EXPECT_NAME="open while another daemon serves the target is refused (busy)" \
	expect_exit 5 vc open "$img" "$NAME" --backend fuse --key-file "$P0"
check "... with the daemon's reason" grep -q "already served by another volcrypt-fused" "$ERR"
check "... and leaves nothing behind" test ! -e "/run/volcrypt/$NAME"
kill "$HOLDER"
wait "$HOLDER"
check "the hand-started daemon exits 0 on SIGTERM and unmounts" \
	eval "test $? = 0 && ! mountpoint -q '$T/m2'"
HOLDER=""
open_vol "$img" "$NAME"

# --- fio verify on the raw device -------------------------------------------------
check "fio: 4 jobs of random writes 512B-1M, crc32c verify" fio_verify "$DEV" 512-1M

# --- ciphertext byte-exact against OpenSSL -------------------------------------
head -c $((64 * KiB)) /dev/urandom >"$T/plain.bin"
xoff=$((2049 * 512))                # not the start of the data area: IVs count from it
check "write known plaintext to the device" \
	dd if="$T/plain.bin" of="$DEV" bs=64K seek="$xoff" oflag=direct,seek_bytes status=none
close_vol "$NAME"
check "on disk: AES-256-XTS-plain64 of the plaintext, byte for byte as OpenSSL computes it" \
	xts_check "$img" "$DATA_OFFSET" "$xoff" "$T/plain.bin" "$key" 512

# --- 4096-byte sectors -------------------------------------------------------------
img4k=$T/img4k
NEWVOL_SIZE=80M newvol "$img4k" "$P0" --sector-size 4096 || finish
open_vol "$img4k" "$NAME4K"
status_json "$NAME4K"
jcheck "status --json: sector_size 4096" "$T/st.json" 'j["sector_size"] == 4096'
check "the device has 4096-byte logical blocks" test "$(blockdev --getss "$DEV")" = 4096
check "mkfs.ext4 on the 4K device" mkfs.ext4 -q -F "$DEV"
check "mount it" mount "$DEV" "$FS"
cp "$T/plain.bin" "$FS/p" && sync
check "umount" umount "$FS"
check "e2fsck -fn finds it clean" fsck_clean "$DEV"
check "fio: 4 jobs of random writes 4K-1M, crc32c verify" fio_verify "$DEV" 4k-1M
xoff=$((257 * 4096))
check "write known plaintext to the 4K device" \
	dd if="$T/plain.bin" of="$DEV" bs=64K seek="$xoff" oflag=direct,seek_bytes status=none
check "unaligned concurrent writes on a 4K-sector volume file" \
	unaligned_io "/run/volcrypt/$NAME4K/mnt/volume" "$data_size"
close_vol "$NAME4K"
check "4K units on disk match OpenSSL (IV = 512-byte index, steps of 8)" \
	xts_check "$img4k" "$DATA_OFFSET" "$xoff" "$T/plain.bin" "$(volume_key "$img4k" "$P0")" 4096

finish
