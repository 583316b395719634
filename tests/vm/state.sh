# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
#
# The power-cut state area: KEY=VALUE lines on a small virtio disk of its
# own (serial "volcrypt-state", found by /init and exported as
# $VM_STATE_DEV), which keeps them across the reset between two boots of
# one run (see README.md, "Power cuts").  A disk of its own, not the end of
# /dev/vda: a test may overwrite all of /dev/vda without destroying what the
# harness and the other tests keep there.  run.sh makes it zeroed: empty.
#
# Sourced by /init (busybox sh) and lib.sh (bash): POSIX sh only, and GNU
# dd by its full path (busybox sh prefers its own applets, whose dd has no
# oflag=direct).
#
#   state_get KEY          prints the value; fails if KEY was never set
#   state_set KEY VALUE    durable (O_DIRECT write, then fsync) on return;
#                          an empty VALUE removes KEY
#
# Keys: letters, digits, '.', '_' and '-'; by convention prefixed with the
# owner ("vm." for /init, "harness." for pc*_00_harness.sh).  Values: one
# line.  The whole area is one 64 KiB block written at once; a reset in
# the middle of state_set can tear it, so set state before the part of a
# test that resets, never concurrently with it.

STATE_BYTES=65536
STATE_DD=/usr/bin/dd

state_read() {
	[ -b "${VM_STATE_DEV:-}" ] || return 1
	"$STATE_DD" if="$VM_STATE_DEV" bs="$STATE_BYTES" count=1 iflag=direct status=none | tr -d '\000'
}

state_get() {
	state_read | awk -v k="$1" '
		index($0, k "=") == 1 { v = substr($0, length(k) + 2); found = 1 }
		END { if (found) print v; exit !found }'
}

state_set() {
	[ -b "${VM_STATE_DEV:-}" ] || {
		echo "state_set: no state disk (\$VM_STATE_DEV)" >&2
		return 1
	}
	case $1 in
	'' | *[!A-Za-z0-9._-]*)
		echo "state_set: bad key '$1'" >&2
		return 1
		;;
	esac
	case $2 in
	*'
'*)
		echo "state_set: value of $1 has a newline" >&2
		return 1
		;;
	esac
	# The other keys, then this one (an empty VALUE removes KEY).
	_st_new=$(
		state_read | awk -v k="$1" 'index($0, k "=") != 1'
		[ -z "$2" ] || printf '%s=%s\n' "$1" "$2"
	)
	if [ "$(printf '%s\n' "$_st_new" | wc -c)" -ge "$STATE_BYTES" ]; then
		echo "state_set: the state area is full" >&2
		return 1
	fi
	# conv=sync pads the one (full, thanks to iflag=fullblock) input block
	# with NULs to 64 KiB; fsync: durable before we return.
	printf '%s\n' "$_st_new" |
		"$STATE_DD" of="$VM_STATE_DEV" bs="$STATE_BYTES" count=1 iflag=fullblock \
			oflag=direct conv=sync,notrunc,fsync status=none
}
