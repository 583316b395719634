#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt rekey online through the fuse backend: the daemon re-encrypts
# the volume it serves while the block device stays usable (a reader
# checks it during the rekey); kill -9 of the daemon at 25 random points
# of a rekey (after a random journal entry has reached the image, plus a
# random spin), then `open` (recovers the interrupted
# chunk, maps with both keys: every byte intact; status shows the
# progress) and `rekey --resume` online finish it; the old slots are wiped and the key changed.
#
#   REKEY_SEED=N          seed of the random kill points (default random)
#   REKEY_KILL_POINTS=N   how many (default 25)
# shellcheck disable=SC2317
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

NAME=vt-rkf-$$
KILLS=${REKEY_KILL_POINTS:-25}
SEED=${REKEY_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "# kill points seed: $SEED (REKEY_SEED=$SEED reproduces the choice of entries)"
RANDOM=$SEED
K1=$P1 K3=$P3
CHUNK=$((64 * 1024))            # many steps, each with its syncs: kills land inside
DATA_SIZE=$((48 * MiB - DATA_OFFSET))
NCHUNKS=$((DATA_SIZE / CHUNK))
JOURNAL=$((8 * MiB))

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ] || [ ! -c /dev/loop-control ]; then
	fail "the online fuse rekey test needs root, /dev/fuse and /dev/loop-control"
	finish
fi
require_tool python3 || finish

rkf_cleanup() {
	[ -d "/run/volcrypt/$NAME" ] && vc close "$NAME" >/dev/null 2>&1
	cleanup
}
trap rkf_cleanup EXIT

pristine=$T/pristine
work=$T/work

mkimg "$pristine" 48M
if fmt "$pristine" "$K1"; then ok "format a 48 MiB volume"; else fail "format a 48 MiB volume"; finish; fi
addkey "$pristine" "$K1" "$K3" --slot 1 || fail "add-key k3 (slot 1)" "exit $?"
head -c "$DATA_SIZE" /dev/urandom >"$T/plain"
expect_exit 0 vc open "$pristine" "$NAME" --backend fuse --key-file "$K1" || finish
dd if="$T/plain" of="$(cat "$OUT")" bs=1M oflag=direct status=none
expect_exit 0 vc close "$NAME"

open_dev() {                    # open_dev IMG: prints the device
	vc open "$1" "$NAME" --backend fuse --key-file "$K1" 2>"$T/open.err"
}

plain_ok() {                    # plain_ok DEV: the whole plaintext reads back
	dd if="$1" bs=1M iflag=direct status=none | cmp -s - "$T/plain"
}

# newest_seq IMG: the highest sequence number of a journal entry on disk
# (od, not python: the poll must be faster than a chunk).
newest_seq() {
	local a b
	a=$(od -An -tu8 -j $((JOURNAL + 16)) -N8 "$1")
	b=$(od -An -tu8 -j $((JOURNAL + 4 * MiB + 16)) -N8 "$1")
	echo $((a > b ? a : b))
}

# ============================================================ online, undisturbed
cp --sparse=always "$pristine" "$work"
dev=$(open_dev "$work") || { fail "open for the online rekey" "$(cat "$T/open.err")"; finish; }
# A reader goes through the device while the daemon re-encrypts it.
(for _ in 1 2 3; do plain_ok "$dev" || exit 1; done) &
reader=$!
EXPECT_NAME="rekey NAME online through the fuse daemon" \
	expect_exit 0 vc rekey "$NAME" --key-file "$K1" --chunk-size 1M
check "it says online" grep -q "finished (online)" "$OUT"
check "a reader during the online rekey saw the right data every time" wait "$reader"
check "the plaintext is intact after the online rekey" plain_ok "$dev"
expect_exit 0 vc close "$NAME"
dump_json "$work"
jcheck "history: one online rekey" "$T/dump.json" \
	'j["rekey"]["count"] == 1 and j["rekey"]["history"][0]["mode"] == "online"'
EXPECT_NAME="the dropped passphrase no longer opens" expect_exit 2 vc test-key "$work" --key-file "$K3"
check "the dropped slot's material is wiped" slot_wiped "$work" 1

# ============================================================ open offers to resume
# A rekey cut short (its daemon killed after a few chunks), then `open` on a
# terminal: "n" leaves it in progress, "y" finishes it online right away.
interrupted_copy() {
	cp --sparse=always "$pristine" "$work"
	dev=$(open_dev "$work") || return 1
	pid=$(vc status "$NAME" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
	vc rekey "$NAME" --key-file "$K1" --chunk-size 64K >/dev/null 2>&1 &
	rk=$!
	while [ "$(newest_seq "$work")" -lt 8 ] && kill -0 "$rk" 2>/dev/null; do :; done
	kill -9 "$pid"
	wait "$rk"
	vc close "$NAME" >/dev/null 2>&1
	dump_json "$work" && jpy "$T/dump.json" 'j["rekey"]["in_progress"]' | grep -q true
}
for answer in n y; do
	if ! interrupted_copy; then
		fail "[$answer] a rekey cut short for the open prompt"
		continue
	fi
	EXPECT_NAME="open on a terminal offers to resume the rekey; answer $answer" \
		expect_tty 0 --expect-secret 'Enter passphrase for .*: ' --send-file "$K1" \
		--expect 'Resume it now .*\[y/N\] ' --send "$answer\n" -- \
		"$VC" open "$work" "$NAME" --backend fuse
	dump_json "$work"
	want=$([ $answer = y ] && echo False || echo True)
	jcheck "[$answer] afterwards the rekey is $([ $answer = y ] && echo finished || echo still in progress)" \
		"$T/dump.json" 'j["rekey"]["in_progress"] == '"$want"
	check "[$answer] the data reads back" plain_ok "$(vc status "$NAME" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["device"])')"
	vc close "$NAME" >/dev/null 2>&1
done

# ============================================================ kill -9 of the daemon
bad=0 interrupted=0
for ((i = 1; i <= KILLS; i++)); do
	# At least entry 1: the rekey has started (entry 0 could kill the daemon
	# before the rekey reaches it, leaving nothing to resume or check).
	entry=$((1 + RANDOM % (NCHUNKS - 9)))
	spin=$((RANDOM % 2000))
	cp --sparse=always "$pristine" "$work"
	dev=$(open_dev "$work") || { fail "[$i] open" "$(cat "$T/open.err")"; bad=1; break; }
	pid=$(vc status "$NAME" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
	vc rekey "$NAME" --key-file "$K1" --chunk-size 64K >/dev/null 2>"$T/rekey.err" &
	rk=$!
	# The kill lands after journal entry $entry is on the image (observed,
	# not timed), $spin idle loops later: inside a chunk's rewrite or between two.
	while [ "$(newest_seq "$work")" -lt "$entry" ] && kill -0 "$rk" 2>/dev/null; do :; done
	for ((s = 0; s < spin; s++)); do :; done
	kill -9 "$pid"
	wait "$rk"
	rc=$?
	vc close "$NAME" >/dev/null 2>&1          # stale mapping: cleaned up
	if ! dev=$(open_dev "$work"); then
		fail "[$i] reopen after kill -9 at entry $entry +$spin spins" "$(cat "$T/open.err")"
		bad=1
		continue
	fi
	plain_ok "$dev" || { fail "[$i] data intact after kill -9 at entry $entry +$spin spins (rekey exit $rc)"; bad=1; }
	if grep -q "rekey --resume" "$T/open.err"; then
		interrupted=$((interrupted + 1))
		vc status "$NAME" --json >"$T/status.json" 2>/dev/null
		jpy "$T/status.json" '"ok" if "rekey" in j else "no rekey in: " + json.dumps(j)' \
			>"$T/status.check" 2>&1
		grep -q '^ok$' "$T/status.check" ||
			{ fail "[$i] status shows the rekey in progress" "$(cat "$T/status.check")"; bad=1; }
		vc rekey "$NAME" --key-file "$K1" --resume >/dev/null 2>"$T/resume.err" ||
			{ fail "[$i] resume online" "$(cat "$T/resume.err")"; bad=1; }
	fi
	plain_ok "$dev" || { fail "[$i] data intact after the resumed rekey"; bad=1; }
	vc close "$NAME" >/dev/null 2>&1
	dump_json "$work"
	jpy "$T/dump.json" '"ok" if j["rekey"]["count"] == 1 and not j["rekey"]["in_progress"] else "no"' |
		grep -q ok || { fail "[$i] the rekey finished (count 1, none in progress)" \
			"rekey: $(jpy "$T/dump.json" 'j["rekey"]')" "open said: $(cat "$T/open.err")" \
			"the killed rekey said: $(cat "$T/rekey.err")"; bad=1; }
	slot_wiped "$work" 1 || { fail "[$i] the dropped slot is wiped"; bad=1; }
done
check "$KILLS kills of the daemon during an online rekey: every byte intact, every rekey finished" \
	test "$bad" = 0
check "most kills interrupted the rekey ($interrupted of $KILLS left one to resume)" \
	test "$interrupted" -ge $((KILLS / 2))
finish
