#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs every tests/cli/test_*.sh against a volcrypt binary.
#
#   tests/cli/run.sh build/volcrypt [TEST...]
#
# TEST narrows the run to some files (e.g. "format crash").  Prints one
# summary line per test file (and the failing assertions), then exactly
# "N passed, N failed" counted over all assertions; exits non-zero if
# anything failed or could not run.  VERBOSE=1 shows every assertion.
# The crash test needs build/tests/crashpoint.so next to the binary
# (or CRASHPOINT_SO=path).
set -u

here=$(cd "$(dirname "$0")" && pwd)

if [ $# -lt 1 ]; then
	echo "usage: $0 PATH/TO/volcrypt [TEST...]" >&2
	exit 2
fi
arg=$1
bin=$1
shift
case $bin in
/*) ;;
*) bin=$PWD/$bin ;;
esac
if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
	echo "run.sh: volcrypt binary '$arg' is missing or not executable (run make first)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
so=${CRASHPOINT_SO:-$(dirname "$bin")/tests/crashpoint.so}
if [ ! -f "$so" ]; then
	echo "run.sh: crash shim '$so' is missing; build it with:" >&2
	echo "  gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o $so tests/cli/crashpoint.c -ldl" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
export CRASHPOINT_SO=$so

tests=()
if [ $# -gt 0 ]; then
	for t in "$@"; do
		t=${t%.sh}
		[ -f "$here/test_$t.sh" ] || t=${t#test_}
		if [ ! -f "$here/test_$t.sh" ]; then
			echo "run.sh: no test file test_$t.sh" >&2
			echo "0 passed, 1 failed"
			exit 1
		fi
		tests+=("$here/test_$t.sh")
	done
else
	for t in "$here"/test_*.sh; do
		[ -f "$t" ] && tests+=("$t")
	done
fi
if [ ${#tests[@]} -eq 0 ]; then
	echo "run.sh: no tests found in $here" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

log=$(mktemp "${TMPDIR:-/tmp}/volcrypt-cli-log.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT

total_pass=0
total_fail=0
start_all=$(date +%s)
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	start=$(date +%s)
	timeout -k 10 "${TEST_TIMEOUT:-900}" bash "$t" "$bin" </dev/null >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	counts=$(sed -n 's/^# counts: \([0-9][0-9]*\) \([0-9][0-9]*\)$/\1 \2/p' "$log" | tail -n1)
	if [ -z "$counts" ]; then
		p=$(grep -c '^ok   - ' "$log")
		f=$(grep -c '^FAIL - ' "$log")
		f=$((f + 1))
		note=" (did not finish: exit $rc$([ $rc -eq 124 ] && echo ', timed out'))"
	else
		p=${counts% *}
		f=${counts#* }
		note=""
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
			note=" (exit status $rc without a failed assertion)"
		fi
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "${VERBOSE:-0}" != 0 ]; then
		cat "$log"
	elif [ "$f" -gt 0 ]; then
		# failing assertions with their detail lines, and any stray output
		awk '/^FAIL - /{show=1; print; next} /^ok   - /{show=0; next} /^# counts:/{next} show || !/^       /{print}' "$log"
	fi
	if [ "$f" -eq 0 ]; then
		status=PASS
	else
		status=FAIL
	fi
	printf '%-4s %-22s %4d passed, %d failed, %ds%s\n' "$status" "$name" "$p" "$f" "$secs" "$note"
done
echo "cli tests took $(($(date +%s) - start_all))s"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
