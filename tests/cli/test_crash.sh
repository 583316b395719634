#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# kill -9 during add-key and passwd at many points.
#
# build/tests/crashpoint.so (tests/cli/crashpoint.c) counts the durable
# operations of a run (pwrite/write to the target, fsync/fdatasync) and,
# with CRASHPOINT_AT=k, tears the k-th write in half and SIGKILLs the
# process (or kills it just before the k-th sync).  For every k (at most
# CRASH_POINTS evenly spaced ones) the command runs on a fresh copy of the
# same image, and afterwards:
#   add-key: the header is valid, the old passphrase opens, the new one
#            opens or not;
#   passwd:  the header is valid, the old OR the new passphrase opens;
#   and the next successful update leaves both metadata copies and both
#   material copies of every keyslot ok.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

CRASH_POINTS=${CRASH_POINTS:-40}

require_crashpoint || finish

pristine=$T/pristine
work=$T/work

# points N: 1..N, or CRASH_POINTS evenly spaced values including 1 and N.
points() {
	local n=$1 i
	if [ "$n" -le "$CRASH_POINTS" ]; then
		seq 1 "$n"
	else
		for i in $(seq 0 $((CRASH_POINTS - 1))); do
			echo $((1 + i * (n - 1) / (CRASH_POINTS - 1)))
		done | uniq
	fi
}

rc_of() {                       # rc_of CMD...: prints the exit status
	"$@" >/dev/null 2>&1
	echo $?
}

# count_ops NAME CMD...: runs CMD once on a fresh copy with the shim
# counting; prints the number of durable operations (empty on failure).
count_ops() {
	local name=$1
	shift
	cp "$pristine" "$work"
	rm -f "$T/count"
	run_shim 0 "$@"
	local rc=$?
	if [ $rc -ne 0 ]; then
		fail "$name runs to completion under the shim (exit $rc)"
		diag_file stderr "$T/shim.err"
		return 1
	fi
	local n
	n=$(cat "$T/count" 2>/dev/null)
	if [ -z "$n" ] || [ "$n" -eq 0 ]; then
		fail "$name: the shim counted durable operations" \
			"count file: '${n:-missing}' (does the library write with pwrite/fsync?)"
		return 1
	fi
	ok "$name under the shim: $n durable operations"
	echo "$n" >"$T/n"
}

# crash_run NAME K CMD...: fresh copy, crash at K; asserts it was killed.
crash_run() {
	local name=$1 k=$2
	shift 2
	cp "$pristine" "$work"
	run_shim "$k" "$@"
	CRASH_RC=$?
	[ "$CRASH_RC" -eq 137 ]
}

# ============================================================ add-key
NEWVOL_SIZE=20M newvol "$pristine" "$P0"
addcmd=("$VC" add-key "$work" --batch --key-file "$P0" --new-key-file "$P1" "${KDF[@]}")
count_ops "add-key" "${addcmd[@]}"
n=$(cat "$T/n" 2>/dev/null || echo 0)
new_opened=0 new_closed=0
for k in $(points "$n"); do
	why=()
	crash_run add-key "$k" "${addcmd[@]}" || why+=("not killed at operation $k (exit $CRASH_RC)")
	d=$(rc_of vc dump "$work")
	[ "$d" = 0 ] || why+=("dump exit $d (header not valid)")
	o=$(rc_of vc test-key "$work" --key-file "$P0")
	[ "$o" = 0 ] || why+=("old passphrase: test-key exit $o")
	nw=$(rc_of vc test-key "$work" --key-file "$P1")
	case $nw in
	0) new_opened=$((new_opened + 1)) ;;
	2) new_closed=$((new_closed + 1)) ;;
	*) why+=("new passphrase: test-key exit $nw (expected 0 or 2)") ;;
	esac
	# The next update repairs whatever copy was torn.
	a=$(rc_of vc add-key "$work" --batch --key-file "$P0" --new-key-file "$P2" "${KDF[@]}")
	[ "$a" = 0 ] || why+=("follow-up add-key exit $a")
	c=$(redundancy "$work")
	[ "$c" = ok ] || why+=("after the follow-up add-key: $c")
	o2=$(rc_of vc test-key "$work" --key-file "$P2")
	[ "$o2" = 0 ] || why+=("follow-up passphrase: test-key exit $o2")
	if [ ${#why[@]} -eq 0 ]; then
		if [ "$nw" = 0 ]; then nwtext="opens"; else nwtext="does not open"; fi
		ok "add-key killed at $k/$n: header valid, old opens, new $nwtext"
	else
		fail "add-key killed at $k/$n" "${why[@]}"
		diag_file "stderr of the crashed run" "$T/shim.err"
	fi
done
# Sanity: crashing at the very first operation cannot have added the key,
# and a complete run (checked by count_ops) did.
check "add-key: some crash points left the new key unusable ($new_closed of them)" test "$new_closed" -gt 0

# ============================================================ passwd
# P0 -> P8 (P8 is in no slot); slot 3 holds P3, which must never be affected.
newvol "$pristine" "$P0"
addkey "$pristine" "$P0" "$P3" --slot 3 || fail "add-key slot 3 for the passwd test"
pwcmd=("$VC" passwd "$work" --batch --key-file "$P0" --new-key-file "$P8" "${KDF[@]}")
crash_passwd() {                # crash_passwd LABEL N
	local label=$1 n=$2 k
	local got_old=0 got_new=0 both=0
	for k in $(points "$n"); do
		why=()
		crash_run passwd "$k" "${pwcmd[@]}" || why+=("not killed at operation $k (exit $CRASH_RC)")
		d=$(rc_of vc dump "$work")
		[ "$d" = 0 ] || why+=("dump exit $d (header not valid)")
		o=$(rc_of vc test-key "$work" --key-file "$P0")
		nw=$(rc_of vc test-key "$work" --key-file "$P8")
		case "$o/$nw" in
		0/2) got_old=$((got_old + 1)); opener=$P0 ;;
		2/0) got_new=$((got_new + 1)); opener=$P8 ;;
		0/0) both=$((both + 1)); opener=$P0 ;;     # allowed: both, for a moment
		*) why+=("old passphrase exit $o, new passphrase exit $nw: neither opens"); opener= ;;
		esac
		o3=$(rc_of vc test-key "$work" --key-file "$P3")
		[ "$o3" = 0 ] || why+=("the unrelated slot 3 no longer opens (exit $o3)")
		if [ -n "$opener" ]; then
			a=$(rc_of vc add-key "$work" --batch --key-file "$opener" --new-key-file "$P9" "${KDF[@]}")
			if [ "$a" = 5 ] && [ "$label" = "passwd (full volume)" ]; then
				# No free slot: use another update instead.
				a=$(rc_of vc passwd "$work" --batch --key-file "$P3" --new-key-file "$P9" "${KDF[@]}")
			fi
			[ "$a" = 0 ] || why+=("follow-up update exit $a")
			c=$(redundancy "$work")
			[ "$c" = ok ] || why+=("after the follow-up update: $c")
			o2=$(rc_of vc test-key "$work" --key-file "$opener")
			[ "$o2" = 0 ] || why+=("after the follow-up the passphrase that opened no longer does (exit $o2)")
		fi
		if [ ${#why[@]} -eq 0 ]; then
			ok "$label killed at $k/$n: header valid, $([ "$opener" = "$P0" ] && echo old || echo new) passphrase opens"
		else
			fail "$label killed at $k/$n" "${why[@]}"
			diag_file "stderr of the crashed run" "$T/shim.err"
		fi
	done
	check "$label: early crash points keep the old passphrase ($got_old)" test "$got_old" -gt 0
	check "$label: late crash points have the new passphrase ($got_new)" test "$got_new" -gt 0
	[ "$both" -eq 0 ] || echo "       ($label: $both crash points left both passphrases working)"
}
if count_ops "passwd" "${pwcmd[@]}"; then
	crash_passwd passwd "$(cat "$T/n")"
fi

# passwd on a full volume rewrites the passphrase's own slot.
newvol "$pristine" "$P0"
for k in 1 2 3 4 5 6 7; do
	addkey "$pristine" "$P0" "$T/pass$k" || fail "add-key $k for the full-volume passwd test"
done
if count_ops "passwd (full volume)" "${pwcmd[@]}"; then
	crash_passwd "passwd (full volume)" "$(cat "$T/n")"
fi

# ============================================================ remove-key
# Removing slot 1 (P1); slot 0 (P0) must always open.  Afterwards slot 1
# either still opens or is gone; a follow-up remove-key --slot 1 (if it is
# still there) leaves its material wiped in both copies.
newvol "$pristine" "$P0"
addkey "$pristine" "$P0" "$P1" || fail "add-key for the remove-key test"
rmcmd=("$VC" remove-key "$work" --batch --slot 1)
if count_ops "remove-key" "${rmcmd[@]}"; then
	n=$(cat "$T/n")
	for k in $(points "$n"); do
		why=()
		crash_run remove-key "$k" "${rmcmd[@]}" || why+=("not killed at operation $k (exit $CRASH_RC)")
		d=$(rc_of vc dump "$work")
		[ "$d" = 0 ] || why+=("dump exit $d (header not valid)")
		o=$(rc_of vc test-key "$work" --key-file "$P0")
		[ "$o" = 0 ] || why+=("the remaining passphrase: test-key exit $o")
		r=$(rc_of vc test-key "$work" --key-file "$P1")
		case $r in
		0) a=$(rc_of vc remove-key "$work" --batch --slot 1) ;;
		2) a=$(rc_of vc add-key "$work" --batch --key-file "$P0" --new-key-file "$P2" --slot 2 "${KDF[@]}") ;;
		*) why+=("removed passphrase: test-key exit $r (expected 0 or 2)"); a=0 ;;
		esac
		[ "$a" = 0 ] || why+=("follow-up update exit $a")
		c=$(redundancy "$work")
		[ "$c" = ok ] || why+=("after the follow-up update: $c")
		if ! slot_wiped "$work" 1; then
			if [ "$(rc_of vc test-key "$work" --key-file "$P1")" != 0 ]; then
				why+=("slot 1 no longer opens but its material is not wiped in both copies")
			fi
		fi
		if [ ${#why[@]} -eq 0 ]; then
			ok "remove-key killed at $k/$n: header valid, slot 0 opens, slot 1 $([ "$r" = 0 ] && echo "still there" || echo "gone")"
		else
			fail "remove-key killed at $k/$n" "${why[@]}"
			diag_file "stderr of the crashed run" "$T/shim.err"
		fi
	done
fi

finish
