#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers of the VM tests (tests/vm/t_*.sh), which run as root inside the
# test VM (see README.md).  A test starts with
#
#     . "$(dirname "$0")/lib.sh"
#
# and ends with `finish`.  Assertions print "ok   - TEST: what" or
# "FAIL - TEST: what" plus indented detail; `finish` prints the line
# "# counts: PASSED FAILED" that /init adds up.  Same conventions as
# tests/cli/lib.sh, without python3 (JSON goes through json_flat.awk).
#
# Secrets are given through files, never on a command line.

# shellcheck disable=SC2034  # variables used by the test files
set -u

TEST_NAME=$(basename "$0" .sh)
VM_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PASS=0
FAIL=0
VC=${VC:-/opt/volcrypt/bin/volcrypt}
VC_TIMEOUT=${VC_TIMEOUT:-120}

# Fast KDF: real use calibrates to 2 s per unlock.
KDF=(--pbkdf pbkdf2 --pbkdf-force-iterations 1000)
KiB=1024
MiB=1048576
DATA_OFFSET=$((16 * MiB))

exec </dev/null

T=$(mktemp -d /tmp/"$TEST_NAME".XXXXXX) || {
	echo "FAIL - $TEST_NAME: mktemp -d failed"
	echo "# counts: 0 1"
	exit 1
}
OUT=$T/out
ERR=$T/err

# ------------------------------------------------------------ cleanup

# Cleanup actions run in reverse order of registration, also on failure:
# a test must leave no mapping, mount or loop device (/init checks).
CLEANUPS=()
at_exit() {                         # at_exit CMD...: one shell word list
	CLEANUPS+=("$(printf '%q ' "$@")")
}
run_cleanups() {
	local i
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUPS[i]}" >/dev/null 2>&1
	done
	CLEANUPS=()
	rm -rf "$T"
}
trap run_cleanups EXIT
trap 'exit 130' INT TERM HUP

# ------------------------------------------------------------ reporting

ok() {
	PASS=$((PASS + 1))
	echo "ok   - $TEST_NAME: $1"
}

fail() {                            # fail NAME [DETAIL-LINE...]
	local name=$1 l
	shift
	FAIL=$((FAIL + 1))
	echo "FAIL - $TEST_NAME: $name"
	for l in "$@"; do
		printf '       %s\n' "$l"
	done
}

diag_file() {                       # diag_file LABEL FILE: at most 20 lines
	[ -s "$2" ] || return 0
	echo "       $1:"
	head -n 20 "$2" | sed 's/^/       | /'
}

describe() {
	local s="" a
	for a in "$@"; do
		a=${a//$T\//}
		a=${a//$VC/volcrypt}
		case $a in
		*[[:space:]]*) a="'$a'" ;;
		esac
		s="$s${s:+ }$a"
	done
	printf '%s' "$s"
}

check() {                           # check NAME CMD...: passes if CMD exits 0
	local name=$1
	shift
	if "$@"; then
		ok "$name"
	else
		fail "$name" "(condition failed: $(describe "$@"))"
	fi
}

check_not() {                       # check_not NAME CMD...: passes if CMD fails
	local name=$1
	shift
	if "$@"; then
		fail "$name" "(condition unexpectedly true: $(describe "$@"))"
	else
		ok "$name"
	fi
}

check_eq() {                        # check_eq NAME GOT WANT
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1" "got:  '$2'" "want: '$3'"
	fi
}

# expect_exit CODE CMD...: stdout in $OUT, stderr in $ERR; passes if the
# exit status is CODE (or one of CODE1|CODE2).  EXPECT_NAME names it.
expect_exit() {
	local want=$1 rc
	shift
	local name="exit $want: ${EXPECT_NAME:-$(describe "$@")}"
	"$@" >"$OUT" 2>"$ERR"
	rc=$?
	case "|$want|" in
	*"|$rc|"*)
		ok "$name"
		return 0
		;;
	esac
	fail "$name" "got exit status $rc"
	diag_file stdout "$OUT"
	diag_file stderr "$ERR"
	return 1
}

finish() {
	run_cleanups
	echo "# counts: $PASS $FAIL"
	[ "$FAIL" -eq 0 ]
	exit
}

# Required tools are asserted, never skipped silently.
require_tool() {
	if command -v "$1" >/dev/null 2>&1; then
		return 0
	fi
	fail "tool '$1' is available in the VM (add it to tests/vm/tools.list)"
	return 1
}

# require_target_module: dm-volcrypt.ko is in the initramfs; unloaded at the
# end of the test.  Fails (counted) otherwise.
require_target_module() {
	if ! modinfo dm-volcrypt >/dev/null 2>&1; then
		fail "dm-volcrypt.ko is in the initramfs (build dm-target first)"
		return 1
	fi
	at_exit modprobe -r dm-volcrypt
}

# suspender NAME STOPFILE SECONDS: suspends and resumes dm device NAME every
# SECONDS (a pace, not a synchronisation) until STOPFILE exists; writes the
# number of cycles to STOPFILE.count.
suspender() {
	local name=$1 stop=$2 pace=$3 n=0
	while [ ! -e "$stop" ]; do
		sleep "$pace"
		dmsetup suspend "$name" && dmsetup resume "$name" && n=$((n + 1))
	done
	echo "$n" >"$stop.count"
}

# ------------------------------------------------------------ volcrypt

vc() {
	timeout -k 5 "$VC_TIMEOUT" "$VC" "$@"
}

mkpass() {                          # mkpass FILE TEXT
	printf '%s' "$2" >"$1"
}
mkpass "$T/pass0" "Zq7-secret-passphrase-0-uXw"
P0=$T/pass0

# fmt TARGET [OPTS...]: format with the fast KDF and $P0; counts an assertion.
fmt() {
	local target=$1
	shift
	if vc format "$target" --batch --key-file "$P0" "${KDF[@]}" "$@" >"$T/fmt.out" 2>"$T/fmt.err"; then
		ok "format $(describe "$target" "$@")"
		return 0
	fi
	fail "format $(describe "$target" "$@")"
	diag_file stderr "$T/fmt.err"
	return 1
}

# volume_key TARGET: the volume key in hex (dump --volume-key).
volume_key() {
	vc dump "$1" --volume-key --batch --key-file "$P0" 2>/dev/null |
		sed -n 's/^Volume key:[[:space:]]*//p' | tr -d ' :\n'
}

# vc_open TARGET NAME [OPTS...]: opens, registers the close, prints the device.
vc_open() {
	local target=$1 name=$2
	shift 2
	at_exit vc close "$name"
	vc open "$target" "$name" --key-file "$P0" "$@"
}

# ------------------------------------------------------------ JSON

json_flat() {                       # json_flat FILE: PATH<TAB>VALUE lines
	awk -f "$VM_TESTS_DIR/json_flat.awk" "$1"
}

# json_get FILE PATH: prints the value at PATH (".backend", "[0].name");
# fails if the document is not JSON or has no such scalar.
json_get() {
	local flat
	flat=$(json_flat "$1") || return 1
	awk -F'\t' -v p="$2" '$1 == p { print $2; found = 1; exit } END { exit !found }' <<<"$flat"
}

# jcheck NAME FILE PATH WANT: the scalar at PATH equals WANT.
jcheck() {
	local got
	if ! got=$(json_get "$2" "$3"); then
		fail "$1" "no $3 in the JSON document"
		diag_file json "$2"
		return 1
	fi
	check_eq "$1" "$got" "$4"
}

# ------------------------------------------------------------ devices and data

# wait_for_path PATH [MS]: polls (bounded) for something outside our control.
wait_for_path() {
	local i
	for ((i = 0; i < ${2:-5000}; i += 10)); do
		[ -e "$1" ] && return 0
		sleep 0.01
	done
	return 1
}

# wait_until MS CMD...: polls CMD (bounded) until it succeeds, for kernel
# work that may finish after the syscall returns (an auto-clearing loop
# device).  Returns CMD's last status.
wait_until() {
	local ms=$1 i
	shift
	for ((i = 0; i < ms; i += 10)); do
		"$@" && return 0
		sleep 0.01
	done
	"$@"
}

dev_size() {                        # dev_size DEV: bytes
	blockdev --getsize64 "$1"
}

# wipe_dev DEV [BYTES]: zero the start (default: all) of a block device.
wipe_dev() {
	local bytes=${2:-$(dev_size "$1")}
	dd if=/dev/zero of="$1" bs=1M count=$((bytes / MiB)) oflag=direct status=none
}

# random_file FILE BYTES: incompressible test data.
random_file() {
	head -c "$2" /dev/urandom >"$1"
}

# read_range SRC OFFSET LEN: raw bytes, O_DIRECT (no page cache between
# two views of one device); offset and length 4 KiB multiples.
read_range() {
	dd if="$1" bs=1M skip="$2" count="$3" iflag=skip_bytes,count_bytes,direct status=none
}

# write_range SRC DST OFFSET: SRC's bytes into DST at OFFSET (4 KiB multiple).
write_range() {
	dd if="$1" of="$2" bs=1M seek="$3" oflag=seek_bytes,direct conv=notrunc,fsync status=none
}

sum_of() {                          # sum_of FILE: sha256 of the contents
	sha256sum "$1" | cut -d' ' -f1
}

sum_range() {                       # sum_range DEV OFFSET LEN
	read_range "$1" "$2" "$3" | sha256sum | cut -d' ' -f1
}

# hex_to_file HEX FILE: raw bytes (a dm-crypt/cryptsetup key file).
hex_to_file() {
	printf '%s' "$1" | xxd -r -p >"$2"
}

# contains_hex FILE HEX: FILE contains the bytes spelled by HEX.
contains_hex() {
	[ -n "$2" ] || return 1
	xxd -p "$1" | tr -d '\n' | grep -qi -- "$2"
}

# contains_text FILE TEXT: FILE (or device) contains TEXT.
contains_text() {
	grep -qaF -- "$2" "$1"
}

# fsck_clean DEV: e2fsck -fn finds nothing to fix (output kept for failures).
fsck_clean() {
	e2fsck -fn "$1" >"$T/fsck.out" 2>&1 && return 0
	echo "       e2fsck -fn $1 failed:"
	tail -n 15 "$T/fsck.out" | sed 's/^/       | /'
	return 1
}

# dmsetup relies on udev for /dev/mapper nodes unless told there is none;
# the VM has no udev.  (volcrypt itself must cope without being told.)
dmsetup() {
	DM_DISABLE_UDEV=1 command dmsetup "$@"
}

# dm_remove NAME: removes a hand-made dm device (cleanup helper).
dm_remove() {
	dmsetup remove "$1" >/dev/null 2>&1
}

ms_now() {
	date +%s%3N
}

# timed CMD...: prints how many milliseconds CMD took (its output goes to
# $T/timed.out, shown on stderr if it fails); fails with CMD.
timed() {
	local t0 t1
	t0=$(ms_now)
	"$@" >"$T/timed.out" 2>&1 || { cat "$T/timed.out" >&2; return 1; }
	t1=$(ms_now)
	echo $((t1 - t0))
}

# ------------------------------------------------------------ kernel log

KLOG_BAD='WARNING:|BUG:|Oops|general protection|Call Trace:|UBSAN:|KASAN:|blocked for more than|kernel BUG|leak'
KMSG_MARK=""

# kmsg_mark: puts a unique line in the kernel log; kernel_log_clean
# looks only at what came after it (e.g. one load/unload cycle).
kmsg_mark() {
	KMSG_MARK="volcrypt-vm-mark $TEST_NAME $$ $(date +%s%N)"
	echo "$KMSG_MARK" >/dev/kmsg
}

# kernel_log_clean NAME: asserts no warning, oops or leak report since the mark.
kernel_log_clean() {
	local since
	since=$(dmesg | awk -v m="$KMSG_MARK" 'BEGIN { found = m == "" } found { print }
		!found && index($0, m) { found = 1 }')
	if grep -Eq "$KLOG_BAD" <<<"$since"; then
		fail "$1" "kernel log since the mark:"
		grep -E -A8 "$KLOG_BAD" <<<"$since" | head -n 30 | sed 's/^/       | /'
		return 1
	fi
	ok "$1"
}

# ------------------------------------------------------------ power cuts

# The persistent disks (README.md, "Power cuts"), found by /init:
# $VM_DISK is /dev/vda, the test disk (VOLCRYPT_VM_DISK_MB, 256 MiB);
# $VM_STATE_DEV holds state_get/state_set's KEY=VALUE lines across boots.
# shellcheck source-path=SCRIPTDIR source=state.sh
. "$VM_TESTS_DIR/state.sh"

# pc_volume_device: DISK=/dev/mapper/pcvol, a linear map of the first
# 48 MiB of the persistent test disk ($VM_DISK): a volume of that size that
# both boots of a power-cut pair find at the same place.
pc_volume_device() {
	DISK=/dev/mapper/pcvol
	check "test disk is a block device" test -b "${VM_DISK:-}" || return 1
	mk pcvol "0 $((48 * MiB / 512)) linear $VM_DISK 0" || return 1
	ok "48 MiB of $VM_DISK mapped as $DISK"
}

# powercut_reset: the end of a pc1_* script.  Records the counts of its
# assertions on the state disk (the next boot's /init adds them up), then
# resets the VM at once, like a power cut: no sync, no cleanup, whatever
# is still running (a background writer) is cut off mid-way.  Returns 1
# only if the reset did not happen, which /init reports as a failure.
powercut_reset() {
	if ! state_set vm.pc1.counts "$PASS $FAIL"; then
		fail "results recorded on the state disk before the reset"
		return 1
	fi
	echo "# powercut: $PASS passed, $FAIL failed; resetting the VM (sysrq b)"
	echo b >/proc/sysrq-trigger
	return 1
}

# ------------------------------------------------------------ kernel target tests

# mk NAME TABLE: a dm device from a table on stdin (a hex key stays off
# argv); a failure to load is a failed assertion.
mk() {
	at_exit dm_remove "$1"
	printf '%s\n' "$2" | dmsetup create "$1" >"$T/dm.err" 2>&1 && return 0
	# shellcheck disable=SC2001 # a regex: a 128-digit hex key
	fail "table of $1 loads" "$(sed 's/ [0-9a-f]\{128\} / <key> /' <<<"$2")"
	diag_file dmsetup "$T/dm.err"
	return 1
}

# target_key DESC: a random 64-byte key, added as logon key DESC to the user
# keyring (removed at exit); $T/key holds it, $KEYHEX its hex for stock
# dm-crypt tables, $kid its serial.
target_key() {
	head -c 64 /dev/urandom >"$T/key"
	KEYHEX=$(xxd -p "$T/key" | tr -d '\n')
	kid=$(keyctl padd logon "$1" @u <"$T/key")
}
