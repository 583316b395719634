#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared helpers of the volcrypt CLI tests.  Every tests/cli/test_*.sh starts
#
#     . "$(dirname "$0")/lib.sh" "$@"        # $1: path of the volcrypt binary
#
# and ends with `finish`.  Each assertion prints one line, "ok   - FILE: what"
# or "FAIL - FILE: what" followed by indented detail; `finish` prints the
# machine-readable line "# counts: PASSED FAILED" that tests/cli/run.sh adds
# up, and exits non-zero if anything failed.
#
# Passphrases are always given through files (--key-file) or stdin, never
# on the command line.

# shellcheck disable=SC2034  # variables used by the test files
set -u

TEST_NAME=$(basename "$0" .sh)
CLI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_DIR=$(cd "$CLI_DIR/../.." && pwd)
PASS=0
FAIL=0

if [ $# -lt 1 ] || [ -z "${1:-}" ]; then
	echo "usage: $0 PATH/TO/volcrypt" >&2
	echo "# counts: 0 1"
	exit 2
fi
case $1 in
/*) VC=$1 ;;
*) VC=$PWD/$1 ;;
esac
if [ ! -x "$VC" ] || [ -d "$VC" ]; then
	echo "FAIL - $TEST_NAME: volcrypt binary '$VC' is missing or not executable"
	echo "# counts: 0 1"
	exit 1
fi
VC=$(cd "$(dirname "$VC")" && pwd -P)/$(basename "$VC")
# build/volcrypt -> build/tests/crashpoint.so, unless given explicitly.
CRASHPOINT_SO=${CRASHPOINT_SO:-$(dirname "$VC")/tests/crashpoint.so}
PTY_RUN=$CLI_DIR/pty_run.py
VC_TIMEOUT=${VC_TIMEOUT:-120}

# Fast KDF settings: real use calibrates to 2 s per unlock.
KDF=(--pbkdf pbkdf2 --pbkdf-force-iterations 1000)
KDF_ARGON=(--pbkdf argon2id --pbkdf-force-iterations 4 --pbkdf-memory 1024 --pbkdf-parallel 1)

# On-disk layout facts the tests rely on.
KiB=1024
MiB=1048576
DATA_OFFSET=$((16 * MiB))
META_LEN=4096
META_OFF=(0 $((4 * MiB)))           # metadata copy 0, copy 1
MAT_LEN=$((256 * KiB))              # keyslot material area per slot
mat_off() {                         # mat_off COPY SLOT
	echo $(($1 * 4 * MiB + 64 * KiB + $2 * MAT_LEN))
}

# Tests never read the terminal: commands must not prompt unless a test
# gives them a pty on purpose (tty_run).
exec </dev/null

T=$(mktemp -d "${TMPDIR:-/tmp}/volcrypt-$TEST_NAME.XXXXXX") || {
	echo "FAIL - $TEST_NAME: mktemp -d failed"
	echo "# counts: 0 1"
	exit 1
}
OUT=$T/out      # stdout of the last expect_exit
ERR=$T/err      # stderr of the last expect_exit
LOOPS=()
rodev=""                        # set by ro_loop FILE rodev
cleanup() {
	local l
	for l in ${LOOPS[@]+"${LOOPS[@]}"}; do
		losetup -d "$l" 2>/dev/null
	done
	chattr -R -i "$T" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Passphrase files.  The contents are distinctive so that a test can look
# for them in output and on disk.
mkpass() {                          # mkpass FILE TEXT (written verbatim)
	printf '%s' "$2" >"$1"
}
for _i in 0 1 2 3 4 5 6 7 8 9; do
	mkpass "$T/pass$_i" "Zq7-secret-passphrase-$_i-uXw"
done
mkpass "$T/wrong" "Zq7-not-the-passphrase-uXw"
P0=$T/pass0 P1=$T/pass1 P2=$T/pass2 P3=$T/pass3 P4=$T/pass4
P5=$T/pass5 P6=$T/pass6 P7=$T/pass7 P8=$T/pass8 P9=$T/pass9
PWRONG=$T/wrong
unset _i

# ------------------------------------------------------------ reporting

ok() {
	PASS=$((PASS + 1))
	echo "ok   - $TEST_NAME: $1"
}

fail() {                            # fail NAME [DETAIL-LINE...]
	local name=$1
	shift
	FAIL=$((FAIL + 1))
	echo "FAIL - $TEST_NAME: $name"
	local l
	for l in "$@"; do
		printf '       %s\n' "$l"
	done
}

diag_file() {                       # diag_file LABEL FILE: indented, at most 20 lines
	[ -s "$2" ] || return 0
	echo "       $1:"
	head -n 20 "$2" | sed 's/^/       | /'
}

# check NAME CMD...: passes if CMD exits 0.
check() {
	local name=$1
	shift
	if "$@"; then
		ok "$name"
	else
		fail "$name" "(condition failed: $(describe "$@"))"
	fi
}

# check_not NAME CMD...: passes if CMD exits non-zero.
check_not() {
	local name=$1
	shift
	if "$@"; then
		fail "$name" "(condition unexpectedly true: $(describe "$@"))"
	else
		ok "$name"
	fi
}

finish() {
	echo "# counts: $PASS $FAIL"
	[ "$FAIL" -eq 0 ]
	exit
}

# Human-readable command line for test names: temp dir and binary shortened.
describe() {
	local s="" a
	for a in "$@"; do
		a=${a//$T\//}
		a=${a//$VC/volcrypt}
		[ "$a" = vc ] && a=volcrypt
		case $a in
		*[[:space:]]*) a="'$a'" ;;
		esac
		s="$s${s:+ }$a"
	done
	printf '%s' "$s"
}

# ------------------------------------------------------------ running volcrypt

vc() {
	timeout -k 5 "$VC_TIMEOUT" "$VC" "$@"
}

# The stderr of a failing command must be exactly one error line starting
# "volcrypt: " (library warnings "volcrypt: warning: ..." may come before
# it).  The spec's form is "volcrypt: <what>: <why>", but when the library's
# message already names the target the CLI leaves <what> out, so only the
# prefix and a non-empty message are checked.  Prints a reason and returns 1
# otherwise.
stderr_one_line() {
	local f=$1 lines
	lines=$(grep -v '^volcrypt: warning: ' "$f" | grep -c '')
	if [ "$lines" -ne 1 ]; then
		echo "stderr has $lines error lines, expected exactly 1"
		return 1
	fi
	if ! grep -v '^volcrypt: warning: ' "$f" | grep -Eq '^volcrypt: [^[:space:]]'; then
		echo "stderr line does not start with 'volcrypt: <message>'"
		return 1
	fi
	return 0
}

# expect_exit CODE CMD...: runs CMD (stdin is the caller's), keeps stdout in
# $OUT and stderr in $ERR, passes if the exit status is CODE (or one of
# CODE1|CODE2...) and, for a failure, stderr is exactly one error line.
# Set EXPECT_NAME to name the assertion instead of the command line.
expect_exit() {
	local want=$1
	shift
	local name=${EXPECT_NAME:-$(describe "$@")}
	name="exit $want: $name"
	"$@" >"$OUT" 2>"$ERR"
	local rc=$?
	local hit=0
	case "|$want|" in
	*"|$rc|"*) hit=1 ;;
	esac
	if [ $hit -ne 1 ]; then
		fail "$name" "got exit status $rc"
		diag_file stdout "$OUT"
		diag_file stderr "$ERR"
		return 1
	fi
	if [ "$rc" != 0 ]; then
		local why
		if ! why=$(stderr_one_line "$ERR"); then
			fail "$name" "$why"
			diag_file stderr "$ERR"
			return 1
		fi
	fi
	ok "$name"
	return 0
}

# expect_tty CODE PTY_RUN_ARGS... -- CMD...: like expect_exit, but the
# command runs on a pseudo-terminal driven by pty_run.py (its transcript is
# in $OUT; stderr is not checked because it is the terminal).
expect_tty() {
	local want=$1
	shift
	local name=${EXPECT_NAME:-"(on a tty) $(describe "$@")"}
	name="exit $want: $name"
	if ! command -v python3 >/dev/null 2>&1; then
		fail "$name" "python3 is needed to drive a pseudo-terminal"
		return 1
	fi
	python3 "$PTY_RUN" --timeout "$VC_TIMEOUT" "$@" >"$OUT" 2>"$ERR"
	local rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$name" "got exit status $rc"
		diag_file transcript "$OUT"
		diag_file stderr "$ERR"
		return 1
	fi
	ok "$name"
}

# volume_key IMG PASSFILE: prints the hex volume key (dump --volume-key).
volume_key() {
	vc dump "$1" --volume-key --batch --key-file "$2" 2>/dev/null | sed -n 's/^Volume key: //p'
}

# ------------------------------------------------------------ images

mkimg() {                           # mkimg IMG [SIZE]: sparse, 20 MiB default
	rm -f "$1"
	truncate -s "${2:-20M}" "$1"
}

# fmt IMG PASSFILE [OPTS...]: format with --batch, the key file and the fast
# pbkdf2 settings (unless OPTS choose --pbkdf).  Output in $T/fmt.out/err.
fmt() {
	local img=$1 pf=$2
	shift 2
	local kdf=("${KDF[@]}") a
	for a in "$@"; do
		[ "$a" = --pbkdf ] && kdf=()
	done
	vc format "$img" --batch --key-file "$pf" ${kdf[@]+"${kdf[@]}"} "$@" \
		>"$T/fmt.out" 2>"$T/fmt.err"
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "       (format $(describe "$img") failed with exit $rc)"
		diag_file stderr "$T/fmt.err"
	fi
	return $rc
}

# newvol IMG PASSFILE [OPTS...]: fresh 20 MiB image, formatted; counts an
# assertion.
newvol() {
	local img=$1
	mkimg "$img" "${NEWVOL_SIZE:-20M}"
	if fmt "$@"; then
		ok "format $(describe "$img") for the test"
		return 0
	fi
	fail "format $(describe "$img") for the test"
	return 1
}

# addkey IMG EXISTING NEW [OPTS...]: add-key with the fast KDF; 0 or exit code.
addkey() {
	local img=$1 old=$2 new=$3
	shift 3
	vc add-key "$img" --batch --key-file "$old" --new-key-file "$new" "${KDF[@]}" "$@" \
		>"$T/addkey.out" 2>"$T/addkey.err"
}

sum_of() {                          # sum_of FILE: sha256 of the contents
	sha256sum "$1" | cut -d' ' -f1
}

file_size() {
	stat -c %s "$1"
}

# is_zero FILE OFFSET LEN: the range is all zero bytes.
is_zero() {
	cmp -s -n "$3" -i "$2:0" "$1" /dev/zero
}

# slot_wiped IMG SLOT: both key material copies of SLOT are all zero.
slot_wiped() {
	is_zero "$1" "$(mat_off 0 "$2")" "$MAT_LEN" && is_zero "$1" "$(mat_off 1 "$2")" "$MAT_LEN"
}

# bytes_at FILE OFFSET LEN: prints the raw bytes (for short ASCII checks).
bytes_at() {
	dd if="$1" bs=4096 iflag=skip_bytes,count_bytes skip="$2" count="$3" 2>/dev/null
}

has_magic() {                       # has_magic FILE OFFSET
	[ "$(bytes_at "$1" "$2" 8)" = VOLCRYPT ]
}

# flip FILE OFFSET LEN: invert LEN bytes in place.
flip() {
	perl -e '
		my ($f, $o, $l) = @ARGV;
		open(my $h, "+<:raw", $f) or die "$f: $!";
		seek($h, $o, 0) or die; read($h, my $b, $l) == $l or die "short read";
		$b ^= ("\xff" x $l);
		seek($h, $o, 0) or die; print $h $b or die; close($h) or die;
	' "$1" "$2" "$3"
}

# contains_hex FILE HEX: the file contains the bytes spelled by HEX.
contains_hex() {
	[ -n "$2" ] || return 1
	python3 -c '
import sys
sys.exit(0 if bytes.fromhex(sys.argv[2]) in open(sys.argv[1], "rb").read() else 1)
' "$1" "$2"
}

# zero_range FILE OFFSET LEN
zero_range() {
	dd if=/dev/zero of="$1" bs=4096 iflag=count_bytes oflag=seek_bytes \
		seek="$2" count="$3" conv=notrunc 2>/dev/null
}

# copy_range SRC DST OFFSET LEN: copy bytes at the same offset.
copy_range() {
	dd if="$1" of="$2" bs=4096 iflag=skip_bytes,count_bytes oflag=seek_bytes \
		skip="$3" seek="$3" count="$4" conv=notrunc 2>/dev/null
}

# ro_loop FILE VAR: attach FILE read-only to a loop device, store its path
# in VAR; the device is detached on exit.
ro_loop() {
	local dev
	if ! command -v losetup >/dev/null 2>&1; then
		echo "       (losetup is not installed)"
		return 1
	fi
	dev=$(losetup -r -f --show "$1") || return 1
	LOOPS+=("$dev")
	printf -v "$2" '%s' "$dev"
}

# ------------------------------------------------------------ JSON

# jpy FILE EXPR: evaluates the Python expression EXPR with j = the parsed
# JSON document and prints the result (strings raw, the rest as JSON).
jpy() {
	python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))
' "$1" "$2"
}

# jcheck NAME FILE EXPR: passes if the file is JSON and EXPR is true.
jcheck() {
	local name=$1 file=$2 expr=$3 why
	if why=$(python3 -c '
import json, re, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print("not JSON: %s" % e); sys.exit(1)
try:
    r = eval(sys.argv[2])
except Exception as e:
    print("%s: %s" % (type(e).__name__, e)); sys.exit(1)
sys.exit(0 if r else 1)
' "$file" "$expr" 2>&1); then
		ok "$name"
	else
		fail "$name" "expression: $expr" ${why:+"$why"}
		diag_file json "$file"
	fi
}

# require_crashpoint: the crash shim (tests/cli/crashpoint.c) is built.
require_crashpoint() {
	[ -f "$CRASHPOINT_SO" ] && return 0
	fail "crash shim $CRASHPOINT_SO exists (build it: see tests/cli/crashpoint.c)"
	return 1
}

# run_shim AT CMD...: CMD with the crash shim preloaded, killed at its
# AT-th durable operation (AT=0: only counts them into $T/count); output
# in $T/shim.out and $T/shim.err; returns CMD's exit status (137: killed).
run_shim() {
	local at=$1
	shift
	# (in a subshell so that bash's "Killed" job message goes nowhere)
	(timeout -k 5 "$VC_TIMEOUT" env LD_PRELOAD="$CRASHPOINT_SO" CRASHPOINT_AT="$at" \
		CRASHPOINT_COUNT_FILE="$T/count" "$@" >"$T/shim.out" 2>"$T/shim.err"
	exit $?) 2>/dev/null
}

# dump_json IMG: runs dump --json into $T/dump.json; returns the exit code.
dump_json() {
	vc dump "$1" --json >"$T/dump.json" 2>"$T/dump.err"
}

# dump_expr IMG PYEXPR: PYEXPR (see jpy) of IMG's dump --json, or "error N"
# if dump exits N, "error json" if the expression fails.
dump_expr() {
	local rc
	dump_json "$1"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "error $rc"
		return 0
	fi
	jpy "$T/dump.json" "$2" 2>/dev/null || echo "error json"
}

# copies_state IMG: prints e.g. "ok ok" (metadata copy 0, copy 1), or an error.
copies_state() {
	dump_expr "$1" '" ".join(j["metadata_copies"])'
}

# redundancy IMG: prints "ok" if both metadata copies and both material
# copies of every active keyslot are ok, else what is not.
redundancy() {
	if ! dump_json "$1"; then
		echo "dump failed"
		return 0
	fi
	python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
bad = []
if j["metadata_copies"] != ["ok", "ok"]:
    bad.append("metadata %s" % j["metadata_copies"])
for k in j["keyslots"]:
    if k["material"] != ["ok", "ok"]:
        bad.append("slot %d material %s" % (k["slot"], k["material"]))
print("; ".join(bad) if bad else "ok")
' "$T/dump.json" 2>&1
}

# expect_copies NAME IMG "STATE0 STATE1"
expect_copies() {
	local got
	got=$(copies_state "$2")
	if [ "$got" = "$3" ]; then
		ok "$1"
	else
		fail "$1" "metadata copies: got '$got', expected '$3'"
		diag_file "dump stderr" "$T/dump.err"
	fi
}

# Required tools are asserted, never skipped silently.
require_tool() {
	if command -v "$1" >/dev/null 2>&1; then
		return 0
	fi
	fail "tool '$1' is available (needed by this test)"
	return 1
}
