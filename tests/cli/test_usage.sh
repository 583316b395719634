#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --help, --version, usage errors, process hardening.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

COMMANDS="format dump add-key remove-key passwd test-key header-backup header-restore benchmark"

# --- --version ------------------------------------------------------------------------------
expect_exit 0 vc --version
version=$(sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' "$TOP_DIR/Makefile" 2>/dev/null)
if [ -n "$version" ]; then
	check "--version prints exactly 'volcrypt $version'" test "$(cat "$OUT")" = "volcrypt $version"
else
	check "--version prints 'volcrypt VERSION'" grep -Eqx 'volcrypt [0-9]+\.[0-9]+(\.[0-9]+)?.*' "$OUT"
fi
check_not "--version: nothing on stderr" test -s "$ERR"

# --- --help -----------------------------------------------------------------------------------
for h in --help -h; do
	expect_exit 0 vc $h
	check "volcrypt $h prints usage on stdout" grep -qi 'usage' "$OUT"
	for c in $COMMANDS; do
		check "volcrypt $h lists $c" grep -qw -- "$c" "$OUT"
	done
	check_not "volcrypt $h: nothing on stderr" test -s "$ERR"
done
for c in $COMMANDS; do
	for h in --help -h; do
		expect_exit 0 vc "$c" $h
		check "$c $h prints its usage" eval "grep -qi usage '$OUT' && grep -qw -- '$c' '$OUT'"
		check_not "$c $h: nothing on stderr" test -s "$ERR"
	done
	# --help after other arguments still wins and does nothing else.
	expect_exit 0 vc "$c" "$T/no-such-target" --help
done
check "format --help did not create anything" test ! -e "$T/no-such-target"
# Per-command options are documented in that command's usage.
vc format --help >"$T/h" 2>&1
for o in --size --label --sector-size --uuid --pbkdf --iter-time --pbkdf-memory \
	--pbkdf-parallel --pbkdf-force-iterations --force --batch --key-file --json; do
	check "format --help mentions $o" grep -q -- "$o" "$T/h"
done
vc add-key --help >"$T/h" 2>&1
for o in --key-file --new-key-file --slot --pbkdf; do
	check "add-key --help mentions $o" grep -q -- "$o" "$T/h"
done
vc dump --help >"$T/h" 2>&1
check "dump --help mentions --volume-key" grep -q -- --volume-key "$T/h"
vc header-restore --help >"$T/h" 2>&1
check "header-restore --help mentions --force" grep -q -- --force "$T/h"

# --- usage errors: exit 1, one line on stderr -------------------------------------------------------
expect_exit 1 vc
expect_exit 1 vc no-such-command
expect_exit 1 vc --bogus
expect_exit 1 vc --bogus dump "$T/x"
expect_exit 1 vc FORMAT "$T/x"
for c in $COMMANDS; do
	expect_exit 1 vc "$c" --no-such-option "$T/x"
done
for c in format dump add-key remove-key passwd test-key header-backup header-restore; do
	expect_exit 1 vc "$c"
done
expect_exit 1 vc header-backup "$T/x"
expect_exit 1 vc header-restore "$T/x"
expect_exit 1 vc test-key "$T/x" --slot
expect_exit 1 vc format "$T/x" --key-file
expect_exit 1 vc format "$T/x" --pbkdf-force-iterations
check "no usage error created a file" test ! -e "$T/x"

# --- process start: no core dumps ----------------------------------------------------------------
# Hold test-key waiting on stdin, then look at its limits.
mkimg "$T/img"
if fmt "$T/img" "$P0"; then
	mkfifo "$T/fifo"
	"$VC" test-key "$T/img" <"$T/fifo" >"$T/tk.out" 2>"$T/tk.err" &
	pid=$!
	exec 7>"$T/fifo"
	for _ in $(seq 50); do
		[ -r "/proc/$pid/limits" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$VC" ] && break
		sleep 0.1
	done
	sleep 0.3
	core=$(awk '/^Max core file size/ {print $5 " " $6}' "/proc/$pid/limits" 2>/dev/null)
	check "RLIMIT_CORE is 0 in the running process (got '$core')" test "$core" = "0 0"
	# As root mlock() cannot fail for lack of RLIMIT_MEMLOCK.
	if [ "$(id -u)" = 0 ]; then
		lck=$(awk '/^VmLck:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
		check "libgcrypt secure memory (4 MiB) is locked: VmLck ${lck:-?} kB" test "${lck:-0}" -ge 4096
	fi
	(cat "$P0"; echo) >&7 2>/dev/null    # a subshell: SIGPIPE must not kill us
	exec 7>&-
	wait "$pid"
	rc=$?
	check "test-key reading the passphrase from a pipe exits 0 (got $rc)" test "$rc" = 0
else
	fail "format for the hardening test"
fi

# PR_SET_DUMPABLE 0: another process of the same (unprivileged) user may not
# read /proc/PID/environ of a non-dumpable process.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	chmod 0755 "$T"
	chmod 0644 "$T/img" "$P0"
	rm -f "$T/fifo"
	mkfifo -m 0644 "$T/fifo"
	if nobody test -x "$VC" && nobody test -r "$T/img"; then
		nobody "$VC" test-key "$T/img" <"$T/fifo" >/dev/null 2>&1 &
		pid=$!
		exec 7>"$T/fifo"
		for _ in $(seq 50); do
			[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$VC" ] && break
			sleep 0.1
		done
		sleep 0.3
		check "the process is not dumpable (same user cannot read /proc/PID/environ)" \
			eval "kill -0 $pid && ! nobody cat /proc/$pid/environ >/dev/null 2>&1"
		check "(control) a dumpable process of that user is readable" \
			eval "nobody sh -c 'cat /proc/\$\$/environ' >/dev/null 2>&1"
		(echo) >&7 2>/dev/null
		exec 7>&-
		wait "$pid"
	else
		echo "       (the binary is not reachable by uid 65534; dumpable check not run)"
	fi
	chmod 0700 "$T"
fi

# --- --debug ---------------------------------------------------------------------------------
expect_exit 0 vc test-key "$T/img" --key-file "$P0" --debug
check "--debug prints library messages on stderr" test -s "$ERR"
check_not "--debug messages contain no passphrase" grep -qF "$(cat "$P0")" "$ERR"

finish
