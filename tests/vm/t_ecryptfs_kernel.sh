#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Issue 6 (layered home directories): ecryptfs-utils' eCryptfs kernel tests
# of the safe category (tests/kernel/tests.rc) pass with a volcrypt volume
# as the lower device.  A volume on /dev/ram1 is opened with the kernel
# target (--backend volcrypt), gets an ext4 filesystem, and upstream's
# harness runs each test with that device as its lower filesystem
# (run_tests.sh -K -d DEV -l LOWER -u UPPER -t TEST: each test mounts the
# ext4 filesystem of the mapping, mounts eCryptfs on it, tests, unmounts
# both).  One ok/FAIL line a test; the number run must reach the size of
# the category, so a harness that runs nothing fails.  Afterwards the
# filesystem on the volume is clean and nothing is left mounted.
#
# The tests are fetched and built on the host by ecryptfs_tests_build.sh,
# which run.sh calls for scripts with the line below.
# vm-needs: ecryptfs-tests
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ETL=/opt/ecryptfs-tests/tests
DEV=/dev/ram1
NAME=vmek
MAPPER=/dev/mapper/$NAME
LOWER=$T/lower
UPPER=$T/upper
# ecryptfs-utils 111's tests.rc has 25 safe tests: fewer means the list
# (or its parsing) lost some.
MIN_SAFE=25
# Tests of the category that cannot pass for a reason unrelated to
# volcrypt, with the reason.  Not counted as passes: each still runs, on
# the volume and on a plain ramdisk (CONTROL, no volcrypt), and must end
# the same way on both -- so a kernel that fixes the cause makes the
# exclusion fail, and volcrypt cannot hide behind it.
#
# setattr-flush-dirty.sh: `cp -p` of a file through eCryptfs, then the
#   copy's mtime must equal the original's to the nanosecond.  Debian's
#   6.1 kernel truncates it to whole seconds (the copy reads back
#   hh:mm:ss.000000000): eCryptfs leaves its superblock's s_time_gran at
#   the default of one second, and the VFS rounds the times utimensat()
#   sets to it (timestamp_truncate() in notify_change()).  On plain ext4
#   the same cp -p keeps the nanoseconds (GNU cp, tools.list); through
#   eCryptfs it loses them whatever the lower device.
declare -A EXCLUDED=(
	[setattr-flush-dirty.sh]="eCryptfs in the VM kernel keeps timestamps set by utimensat to whole seconds (s_time_gran), on any lower device"
)
CONTROL=/dev/ram0
# What a test may leave in the lower filesystem, and why (removed before
# the next test; anything else left is a failure).  lp-872905.sh fills the
# lower filesystem with a file named "filler" written directly into the
# lower directory of its test directory; with filename encryption on (the
# harness's default) that plaintext lower name cannot be looked up
# through eCryptfs, so the test's `rm -rf` of its directory cannot remove
# it, and the full filesystem would fail every later test with ENOSPC.
# The entry: the only name allowed in the one directory left behind.
declare -A LEFTOVER_OK=([lp-872905.sh]="filler")
# Per test: inode-race-stat.sh runs for 20 s by design; the others take
# a second or two under TCG.
TEST_LIMIT=90

mkdir -p "$LOWER" "$UPPER"
kmsg_mark

check "eCryptfs kernel tests are in the initramfs" test -x "$ETL/run_tests.sh" || finish
check "eCryptfs is available (module loaded)" grep -qw ecryptfs /proc/filesystems || finish
require_target_module || finish

# The safe category, as upstream's harness would read it (-c safe).
# shellcheck disable=SC2016 # for the inner shell
safe=$(bash -c '. "$1" && echo "$safe"' tests.rc "$ETL/kernel/tests.rc")
read -r -a SAFE <<<"$safe"
check "tests.rc lists at least $MIN_SAFE safe tests (${#SAFE[@]})" [ "${#SAFE[@]}" -ge "$MIN_SAFE" ]

wipe_dev "$DEV" $((20 * MiB))
fmt "$DEV" || finish
EXPECT_NAME="open --backend volcrypt" expect_exit 0 vc_open "$DEV" "$NAME" --backend volcrypt || finish
check "mkfs.ext4 on the volcrypt mapping" mkfs.ext4 -q -F "$MAPPER" || finish
# If a test dies with its mounts up: upper first, then lower (reverse order).
at_exit umount "$LOWER"
at_exit umount "$UPPER"

# lower_leftovers TEST: what TEST left in the lower filesystem (besides
# lost+found) is removed; unless LEFTOVER_OK expects it, that is a failure.
lower_leftovers() {
	local t=$1 f inside bad=() left=()
	mount -t ext4 "$MAPPER" "$LOWER" || {
		fail "${t%.sh}: the lower filesystem mounts after the test"
		return 1
	}
	for f in "$LOWER"/* "$LOWER"/.[!.]*; do
		if [ ! -e "$f" ] || [ "$f" = "$LOWER/lost+found" ]; then
			continue
		fi
		left+=("${f##*/}")
		# shellcheck disable=SC2012 # names for a message (busybox find has no -printf)
		inside=$(ls -A "$f" 2>/dev/null | head -n 5 | paste -sd' ' -)
		if [ -z "${LEFTOVER_OK[$t]:-}" ] || [ ! -d "$f" ] || [ "$inside" != "${LEFTOVER_OK[$t]}" ]; then
			bad+=("${f##*/}: $inside")
		fi
		rm -rf "$f"
	done
	umount "$LOWER"
	if [ ${#bad[@]} -gt 0 ]; then
		fail "${t%.sh} left nothing unexpected in the lower filesystem" "left: ${bad[*]}"
	elif [ ${#left[@]} -gt 0 ]; then
		echo "# $TEST_NAME: ${t%.sh} left ${left[*]} in the lower filesystem (known, see LEFTOVER_OK): removed"
	fi
}

# run_one TEST DEV LOG: upstream's harness on TEST with DEV's filesystem
# as the lower one; true if the test passed.  The harness prints
# "NAME<TAB>pass" and a summary; its exit status is the number of failures.
run_one() {
	timeout -k 5 "$TEST_LIMIT" "$ETL/run_tests.sh" -K -d "$2" -l "$LOWER" -u "$UPPER" \
		-t "$1" >"$3" 2>&1 && grep -qx '1 passed' "$3" && grep -qx '0 failed' "$3"
}

# outcome TEST DEV LOG: "pass", "fail" (the harness ran it and it failed)
# or "not run".
outcome() {
	if run_one "$@"; then
		echo pass
	elif grep -qE "^${1%.sh}[[:space:]]+FAIL\$" "$3"; then
		echo fail
	else
		echo "not run"
	fi
}

ran=0
for t in "${SAFE[@]}"; do
	log=$T/${t%.sh}.log
	if [ -n "${EXCLUDED[$t]:-}" ]; then
		echo "# $TEST_NAME: ${t%.sh} excluded: ${EXCLUDED[$t]}"
		got=$(outcome "$t" "$MAPPER" "$log")
		lower_leftovers "$t"
		want="mkfs failed"
		mkfs.ext4 -q -F "$CONTROL" && want=$(outcome "$t" "$CONTROL" "$log.control")
		check_eq "${t%.sh} (excluded) ends the same on the volume as on a plain ramdisk ($want)" \
			"$got" "$want"
		[ "$got" != "not run" ] || diag_file output "$log"
		continue
	fi
	ran=$((ran + 1))
	t0=$(ms_now)
	run_one "$t" "$MAPPER" "$log"
	rc=$?
	ms=$(($(ms_now) - t0))
	if [ "$rc" -eq 0 ]; then
		ok "${t%.sh} (${ms} ms)"
	else
		fail "${t%.sh} (${ms} ms)"
		diag_file output "$log"
	fi
	# A test must unmount what it mounted: the next one mounts again.
	if grep -qE " ($LOWER|$UPPER) " /proc/mounts; then
		fail "${t%.sh} left a mount behind" "$(grep -E " ($LOWER|$UPPER) " /proc/mounts)"
		umount "$UPPER" 2>/dev/null
		umount "$LOWER" 2>/dev/null
	fi
	lower_leftovers "$t"
done
check "ran at least $((MIN_SAFE - ${#EXCLUDED[@]})) safe tests ($ran; excluded ${#EXCLUDED[@]})" \
	[ "$ran" -ge $((MIN_SAFE - ${#EXCLUDED[@]})) ]
check "ran every safe test not excluded" [ "$ran" -eq $((${#SAFE[@]} - ${#EXCLUDED[@]})) ]

check_not "nothing left mounted on the lower or upper directory" grep -qE " ($LOWER|$UPPER) " /proc/mounts
# The tests' keys are user keys named by their 16-hex-digit signature.
check_not "no eCryptfs key left in the user keyring" grep -qE ' user: [0-9a-f]{16}$' \
	<(keyctl list @u 2>/dev/null)
check "e2fsck -fn: the lower filesystem on the volume is clean" fsck_clean "$MAPPER"
kernel_log_clean "no kernel warnings during the tests"
finish
