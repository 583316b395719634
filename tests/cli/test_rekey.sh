#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt rekey (offline): the data area re-encrypted under a new volume
# key, passphrases carried over or wiped, crash safety at random kill
# points (tests/cli/crashpoint.c) with --resume, refusals, a damaged rekey
# record or journal, --json progress.
#
# The plaintext is written and checked through the fuse backend (needs
# root, /dev/fuse and /dev/loop-control, like test_open_fuse.sh).
#
#   REKEY_SEED=N          seed of the random kill points (printed; default random)
#   REKEY_CRASH_POINTS=N  how many kill points (default 25)
# Helpers run through check and trap: not unreachable.
# shellcheck disable=SC2317
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

NAME=vt-rekey-$$                # unique: other suites may run at the same time
CRASH_N=${REKEY_CRASH_POINTS:-25}
SEED=${REKEY_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "# kill points seed: $SEED (REKEY_SEED=$SEED reproduces them)"

K1=$P1 K2=$P2 K3=$P3            # k1 unlocks, k2 is kept, k3 is dropped
CHUNK=$((4 * MiB))
IMG_SIZE=64M
DATA_SIZE=$((64 * MiB - DATA_OFFSET))
NCHUNKS=$((DATA_SIZE / CHUNK))

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ] || [ ! -c /dev/loop-control ]; then
	fail "the rekey test needs root, /dev/fuse and /dev/loop-control (plaintext through the fuse backend)"
	finish
fi
for t in python3 losetup cmp; do
	require_tool "$t" || finish
done
require_crashpoint || finish

rekey_cleanup() {
	[ -d "/run/volcrypt/$NAME" ] && vc close "$NAME" >/dev/null 2>&1
	[ -n "${LOOP:-}" ] && losetup -d "$LOOP" 2>/dev/null
	cleanup
}
trap rekey_cleanup EXIT

pristine=$T/pristine            # formatted, k1 k2 k3 in slots 0..2, filled with $T/plain
work=$T/work

rc_of() {                       # rc_of CMD...: prints the exit status; stderr in $T/step.err
	"$@" >/dev/null 2>"$T/step.err"
	echo $?
}

# crash_copy K: fresh copy of the pristine image in $work, rekey killed at
# durable operation K; returns 0 if it was killed.
rekey_cmd=("$VC" rekey "$work" --key-file "$K1" --keep-key-file "$K2" --chunk-size 4M)
crash_copy() {
	cp --sparse=always "$pristine" "$work"
	run_shim "$1" "${rekey_cmd[@]}"
	CRASH_RC=$?
	[ "$CRASH_RC" -eq 137 ]
}

# plain_is IMG FILE [PASSFILE]: the volume's plaintext (read through a
# read-only fuse mapping, O_DIRECT) is byte-identical to FILE.  Prints why
# not otherwise.
plain_is() {
	local img=$1 want=$2 pf=${3:-$K1} dev rc
	if ! dev=$(vc open "$img" "$NAME" --backend fuse --read-only --key-file "$pf" 2>"$T/open.err"); then
		echo "open --read-only failed: $(head -n1 "$T/open.err")"
		return 1
	fi
	dd if="$dev" bs=1M iflag=direct status=none | cmp -s - "$want"
	rc=$?
	vc close "$NAME" >/dev/null 2>"$T/close.err" || { echo "close failed: $(head -n1 "$T/close.err")"; return 1; }
	[ $rc -eq 0 ] || echo "the plaintext differs in 4 MiB $(diff_chunks "$img" "$want" "$pf")"
	return $rc
}

# diff_chunks IMG FILE PASSFILE: which 4 MiB chunks of the plaintext differ.
diff_chunks() {
	local dev
	dev=$(vc open "$1" "$NAME" --backend fuse --read-only --key-file "$3" 2>/dev/null) || return 0
	python3 - "$dev" "$2" "$CHUNK" <<'EOF'
import os, sys
dev, want, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
a, b = open(dev, "rb"), open(want, "rb")
bad = []
i = 0
while True:
    x, y = a.read(chunk), b.read(chunk)
    if not x and not y:
        break
    if x != y:
        bad.append(i)
    i += 1
print("chunks " + ",".join(map(str, bad)), end="")
EOF
	vc close "$NAME" >/dev/null 2>&1
}

# in_progress IMG: prints yes/no from dump --json (incompatible feature bit
# 0x1 = a rekey in progress), or "error ...".
in_progress() {
	dump_expr "$1" '"yes" if j["incompat_features"] & 1 else "no"'
}

digest_of() {                   # digest_of IMG: digest value from dump --json
	dump_json "$1" && jpy "$T/dump.json" 'j["digest"]["value"]'
}

# set_meta IMG PYEXPR: applies PYEXPR to both metadata copies (m is a
# bytearray of the 4096 bytes) and fixes their SHA-256 checksums.
set_meta() {
	python3 - "$1" "$2" <<'EOF'
import hashlib, sys
with open(sys.argv[1], "r+b") as f:
    for base in (0, 4 << 20):
        f.seek(base)
        m = bytearray(f.read(4096))
        exec(sys.argv[2])
        m[4064:4096] = hashlib.sha256(bytes(m[:4064])).digest()
        f.seek(base)
        f.write(m)
EOF
}

# ============================================================ setup
mkimg "$pristine" "$IMG_SIZE"
if fmt "$pristine" "$K1"; then ok "format a $IMG_SIZE volume with k1"; else fail "format a $IMG_SIZE volume with k1"; finish; fi
addkey "$pristine" "$K1" "$K2" --slot 1 || fail "add-key k2 (slot 1)" "exit $?"
addkey "$pristine" "$K1" "$K3" --slot 2 || fail "add-key k3 (slot 2)" "exit $?"
head -c "$DATA_SIZE" /dev/urandom >"$T/plain"
EXPECT_NAME="open the new volume with the fuse backend" \
	expect_exit 0 vc open "$pristine" "$NAME" --backend fuse --key-file "$K1" || finish
dev=$(cat "$OUT")
check "write $((DATA_SIZE / MiB)) MiB of random plaintext to the device" \
	dd if="$T/plain" of="$dev" bs=1M oflag=direct status=none
EXPECT_NAME="close" expect_exit 0 vc close "$NAME"
msg=$(plain_is "$pristine" "$T/plain")
check "the plaintext reads back before the rekey${msg:+ ($msg)}" test -z "$msg"
old_key=$(volume_key "$pristine" "$K1")
old_digest=$(digest_of "$pristine")
check "dump --volume-key and dump --json give the old key and digest" test -n "$old_key" -a -n "$old_digest"

# ============================================================ basic rekey
cp --sparse=always "$pristine" "$work"
expect_exit 0 vc rekey "$work" --key-file "$K1" --keep-key-file "$K2" --chunk-size 4M
check "rekey prints 'Rekey of ... finished (offline)'" grep -q '^Rekey of .* finished (offline)' "$OUT"
EXPECT_NAME="test-key k1 (unlocking passphrase) after the rekey" expect_exit 0 vc test-key "$work" --key-file "$K1"
EXPECT_NAME="test-key k2 (kept passphrase) after the rekey" expect_exit 0 vc test-key "$work" --key-file "$K2"
EXPECT_NAME="test-key k3 (dropped passphrase) after the rekey" expect_exit 2 vc test-key "$work" --key-file "$K3"
msg=$(plain_is "$work" "$T/plain")
check "the plaintext is byte-identical after the rekey${msg:+ ($msg)}" test -z "$msg"
msg=$(plain_is "$work" "$T/plain" "$K2")
check "... also through the kept passphrase k2${msg:+ ($msg)}" test -z "$msg"
dump_json "$work"
jcheck "dump --json after the rekey: version 2, no incompatible feature, copies ok, two keyslots" "$T/dump.json" \
	'j["version"] == 2 and j["incompat_features"] == 0 and j["metadata_copies"] == ["ok", "ok"] and len(j["keyslots"]) == 2'
jcheck "dump --json: the digest changed" "$T/dump.json" 'j["digest"]["value"] != "'"$old_digest"'"'
check "redundancy: both copies of metadata and of every keyslot ok" test "$(redundancy "$work")" = ok
for s in 0 1 2; do
	check "the old keyslot $s's key material is zero in both copies" slot_wiped "$work" "$s"
done
new_key=$(volume_key "$work" "$K1")
check "dump --volume-key: the volume key changed" test -n "$new_key" -a "$new_key" != "$old_key"
check "dump --volume-key: the same new key through k2" test "$(volume_key "$work" "$K2")" = "$new_key"
head -c $((16 * MiB)) "$work" >"$T/hdr"
check_not "the old volume key's bytes appear nowhere in the header area" contains_hex "$T/hdr" "$old_key"
check_not "the new volume key's bytes appear nowhere in the header area" contains_hex "$T/hdr" "$new_key"
check_not "the old volume key's bytes appear nowhere in the image" contains_hex "$work" "$old_key"
# Every 4 MiB chunk: first, middle and last sector of its ciphertext changed.
check "the ciphertext changed in every one of the $NCHUNKS chunks (first, middle, last sector)" \
	python3 - "$pristine" "$work" "$DATA_OFFSET" "$CHUNK" "$NCHUNKS" <<'EOF'
import sys
a, b = open(sys.argv[1], "rb"), open(sys.argv[2], "rb")
base, chunk, n = map(int, sys.argv[3:6])
same = []
for c in range(n):
    for s in (0, chunk // 2, chunk - 512):
        off = base + c * chunk + s
        a.seek(off); b.seek(off)
        if a.read(512) == b.read(512):
            same.append((c, s))
if same:
    sys.exit("unchanged (chunk, offset): %s" % same)
EOF
check "nothing after the data area's end was written" test "$(file_size "$work")" = $((64 * MiB))
check "the journal area is zero again after the rekey" is_zero "$work" $((8 * MiB)) $((8 * MiB))

# A second rekey of the rekeyed volume, k1 only: k2 goes, the data stays.
expect_exit 0 vc rekey "$work" --key-file "$K1" --chunk-size 8M
EXPECT_NAME="second rekey: k1 opens" expect_exit 0 vc test-key "$work" --key-file "$K1"
EXPECT_NAME="second rekey: k2 (not kept this time) no longer opens" expect_exit 2 vc test-key "$work" --key-file "$K2"
msg=$(plain_is "$work" "$T/plain")
check "second rekey: the plaintext is byte-identical${msg:+ ($msg)}" test -z "$msg"
check "second rekey: yet another volume key" test "$(volume_key "$work" "$K1")" != "$new_key"

# A version 1 volume (format wrote version 1 before) is read and rekeyed to version 2.
cp --sparse=always "$pristine" "$T/v1"
set_meta "$T/v1" 'm[8:10] = (1).to_bytes(2, "little")'
dump_json "$T/v1"
jcheck "a version 1 header (same volume, version field 1) is read" "$T/dump.json" 'j["version"] == 1'
EXPECT_NAME="rekey of a version 1 volume" expect_exit 0 vc rekey "$T/v1" --key-file "$K1" --keep-key-file "$K2"
dump_json "$T/v1"
jcheck "... makes it version 2" "$T/dump.json" 'j["version"] == 2 and j["incompat_features"] == 0'
msg=$(plain_is "$T/v1" "$T/plain" "$K2")
check "... with the plaintext intact${msg:+ ($msg)}" test -z "$msg"
rm -f "$T/v1"

# ============================================================ --json
cp --sparse=always "$pristine" "$work"
expect_exit 0 vc rekey "$work" --key-file "$K1" --keep-key-file "$K2" --chunk-size 4M --json
cp "$OUT" "$T/rekey.json"
check "rekey --json: nothing on stderr" test ! -s "$ERR"
new_digest=$(digest_of "$work")
# The events as a stream of JSON values (however they are laid out).
check "rekey --json: progress events with done_bytes/total_bytes, then one done event" \
	python3 - "$T/rekey.json" "$DATA_SIZE" "$new_digest" <<'EOF'
import json, sys
text, size, digest = open(sys.argv[1]).read(), int(sys.argv[2]), sys.argv[3]
dec, pos, ev = json.JSONDecoder(), 0, []
while True:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos == len(text):
        break
    v, pos = dec.raw_decode(text, pos)
    ev.append(v)
if not ev or not all(isinstance(e, dict) for e in ev):
    sys.exit("not a sequence of JSON objects: %r" % ev)
prog, last = ev[:-1], ev[-1]
if not prog or any(e.get("event") != "progress" for e in prog):
    sys.exit("expected progress events before the last one: %r" % [e.get("event") for e in ev])
done = [e.get("done_bytes") for e in prog]
if any(not isinstance(e.get(k), int) or isinstance(e.get(k), bool) for e in prog for k in ("done_bytes", "total_bytes")):
    sys.exit("done_bytes/total_bytes missing or not integers")
if any(e["total_bytes"] != size for e in prog) or done != sorted(done) or done[-1] != size or done[0] <= 0:
    sys.exit("done_bytes %s, total_bytes %s (data size %d)" % (done, [e["total_bytes"] for e in prog], size))
if last.get("event") != "done" or last.get("mode") != "offline" or last.get("digest") != digest or last.get("bytes") != size:
    sys.exit("last event: %r (expected done, offline, %d bytes, digest %s)" % (last, size, digest))
EOF
# One event per line: a consumer reads the progress line by line.
check "rekey --json: every line of the output is one JSON object (one event per line)" \
	python3 - "$T/rekey.json" <<'EOF'
import json, sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l.strip()]
bad = 0
for l in lines:
    try:
        bad += not isinstance(json.loads(l), dict)
    except ValueError:
        bad += 1
if bad or not lines:
    sys.exit("%d of %d lines are not a JSON object" % (bad, len(lines)))
EOF

# kill_verdict PASS FAIL: ok PASS if nothing went into why[] after a kill,
# else fail FAIL with the reasons and the killed run's stderr.
kill_verdict() {
	if [ ${#why[@]} -eq 0 ]; then
		ok "$1"
	else
		fail "$2" "${why[@]}"
		diag_file "stderr of the killed run" "$T/shim.err"
	fi
}

# ============================================================ crash safety
rm -f "$T/count"
cp --sparse=always "$pristine" "$work"
(env LD_PRELOAD="$CRASHPOINT_SO" CRASHPOINT_LOG=1 CRASHPOINT_COUNT_FILE="$T/count" \
	"${rekey_cmd[@]}" >/dev/null 2>"$T/oplog")
rc=$?
n=$(cat "$T/count" 2>/dev/null)
if [ "$rc" -ne 0 ] || [ -z "$n" ] || [ "$n" -lt 20 ]; then
	fail "rekey runs to completion under the shim, counting its durable operations" \
		"exit $rc, count '${n:-missing}'"
	diag_file stderr "$T/oplog"
	finish
fi
ok "rekey under the shim: $n durable operations"
# Landmarks in the operation log: the first journal entry is the first
# write at 8 MiB after the header commit that records the rekey (the
# first write at offset 0); slot 0's old key material (at 64 KiB) is
# only written when the old slots are wiped at the end.
first_entry=$(awk '/ pwrite.* off=0$/ { c = 1 } c && / pwrite.* off=8388608$/ { sub(/^crashpoint: #/, ""); print $1; exit }' "$T/oplog")
first_wipe=$(awk '/ pwrite.* off=65536$/ { sub(/^crashpoint: #/, ""); print $1; exit }' "$T/oplog")
check "the operation log shows the first journal entry and the final wipe (#${first_entry:-?}, #${first_wipe:-?})" \
	test -n "$first_entry" -a -n "$first_wipe"

points=$(python3 -c 'import random, sys; r = random.Random(int(sys.argv[1])); print(*sorted(r.sample(range(1, int(sys.argv[2]) + 1), min(int(sys.argv[3]), int(sys.argv[2])))))' "$SEED" "$n" "$CRASH_N")
echo "# kill points: $points (of $n)"
resumed=0 restarted=0 finished=0
inprog_points=()
for k in $points; do
	why=()
	crash_copy "$k" || why+=("not killed at operation $k (exit $CRASH_RC)")
	state=$(in_progress "$work")
	case $state in
	yes)
		inprog_points+=("$k")
		r=$(rc_of vc rekey "$work" --resume --key-file "$K1")
		[ "$r" = 0 ] || why+=("rekey --resume exit $r: $(head -n1 "$T/step.err")")
		resumed=$((resumed + 1)) how="resumed"
		;;
	no)
		r=$(rc_of vc rekey "$work" --resume --key-file "$K1")
		[ "$r" = 1 ] || why+=("no rekey in progress, yet rekey --resume exit $r (expected 1)")
		if [ "$(digest_of "$work")" = "$old_digest" ]; then
			r=$(rc_of vc rekey "$work" --key-file "$K1" --keep-key-file "$K2" --chunk-size 4M)
			[ "$r" = 0 ] || why+=("not recorded: a new rekey exit $r")
			restarted=$((restarted + 1)) how="not recorded, rekeyed anew"
		else
			finished=$((finished + 1)) how="already finished"
		fi
		;;
	*) why+=("dump --json after the crash: $state"); how="" ;;
	esac
	w=$(plain_is "$work" "$T/plain") || why+=("$w")
	for p in "$K1" "$K2"; do
		r=$(rc_of vc test-key "$work" --key-file "$p")
		[ "$r" = 0 ] || why+=("test-key $(basename "$p") exit $r")
	done
	r=$(rc_of vc test-key "$work" --key-file "$K3")
	[ "$r" = 2 ] || why+=("the dropped k3: test-key exit $r (expected 2)")
	[ "$(in_progress "$work")" = no ] || why+=("still in progress afterwards")
	for s in 0 1 2; do
		slot_wiped "$work" "$s" || why+=("old keyslot $s's material not wiped")
	done
	[ "$(volume_key "$work" "$K1")" != "$old_key" ] || why+=("the volume key did not change")
	kill_verdict "rekey killed at $k/$n ($how): plaintext identical, k1 k2 open, k3 gone" \
		"rekey killed at $k/$n${how:+ ($how)}"
done
echo "# $resumed resumed, $restarted not recorded yet, $finished already finished"
check "some kill points left a rekey in progress ($resumed)" test "$resumed" -gt 0

# open instead of --resume: it must never serve the wrong plaintext.
# Either it refuses (one error line), or what it serves is the volume's
# plaintext.  Afterwards --resume still finishes the rekey.
# Per chunk c the operations are: journal entry (first_entry + 4c), its
# sync, the chunk's rewrite, its sync.  The points chosen here are before
# a rewrite's sync (the rewrite itself complete), where recovery does not
# depend on the journal's fingerprints.
open_points=()
[ -n "$first_entry" ] && open_points+=($((first_entry + 3)))         # chunk 0 rewritten
[ -n "$first_entry" ] && open_points+=($((first_entry + 4 * 5 + 3))) # chunks 0..5 rewritten
[ -n "$first_wipe" ] && open_points+=("$first_wipe")                # all data done, old slots being wiped
for k in "${open_points[@]}"; do
	[ "$k" -le "$n" ] || continue
	why=()
	crash_copy "$k" || why+=("not killed at operation $k (exit $CRASH_RC)")
	[ "$(in_progress "$work")" = yes ] || why+=("no rekey in progress after the kill")
	if dev=$(vc open "$work" "$NAME" --backend fuse --read-only --key-file "$K1" 2>"$T/open.err"); then
		dd if="$dev" bs=1M iflag=direct status=none | cmp -s - "$T/plain" ||
			why+=("open --read-only succeeded (exit 0) and serves the wrong plaintext")
		vc close "$NAME" >/dev/null 2>&1 || why+=("close failed")
		got="opened"
	else
		r=$?
		e=$(stderr_one_line "$T/open.err") || why+=("open refused (exit $r) but: $e")
		got="refused, exit $r"
	fi
	r=$(rc_of vc rekey "$work" --resume --key-file "$K1")
	[ "$r" = 0 ] || why+=("rekey --resume after the open: exit $r")
	w=$(plain_is "$work" "$T/plain") || why+=("after the resume: $w")
	if [ ${#why[@]} -eq 0 ]; then
		ok "open of a volume killed mid-rekey at $k/$n ($got), then --resume: plaintext identical"
	else
		fail "open of a volume killed mid-rekey at $k/$n" "${why[@]}"
	fi
done

# ============================================================ a block device
# On a block device the rekey reads and writes O_DIRECT, and the writes
# go out behind the cipher from a thread of their own, 4 MiB at a time:
# 16 MiB chunks make four writes each.  Killed at any of them (the shim
# tears the write in half) or at the chunk's sync, the rekey resumes on
# the device to the same plaintext.
LOOP=
cp --sparse=always "$pristine" "$work"
if LOOP=$(losetup -f --show "$work" 2>"$T/losetup.err"); then
	blk_cmd=("$VC" rekey "$LOOP" --key-file "$K1" --keep-key-file "$K2" --chunk-size 16M)
	(env LD_PRELOAD="$CRASHPOINT_SO" CRASHPOINT_LOG=1 CRASHPOINT_COUNT_FILE="$T/count" \
		"${blk_cmd[@]}" >/dev/null 2>"$T/oplog")
	rc=$?
	# The chunks' data writes: 4 MiB each, past the 16 MiB header area.
	mapfile -t data_ops < <(awk '/ pwrite.* len=4194304 .*off=[0-9]+$/ {
			off = $NF; sub(/^off=/, "", off)
			if (off + 0 >= 16777216) { sub(/^crashpoint: #/, ""); print $1 } }' "$T/oplog")
	check "the block device's rekey writes its data 4 MiB at a time (exit $rc, ${#data_ops[@]} writes)" \
		test "$rc" = 0 -a "${#data_ops[@]}" = $((DATA_SIZE / (4 * MiB)))
	w=$(plain_is "$work" "$T/plain") || true
	check "... and the plaintext is intact${w:+ ($w)}" test -z "$w"
	# The first chunk's four data writes and its sync, and the last write.
	first=$(printf '%s\n' "${data_ops[@]}" | head -n1)
	last=$(printf '%s\n' "${data_ops[@]}" | tail -n1)
	for k in "${first:-1}" $((first + 1)) $((first + 2)) $((first + 3)) $((first + 4)) \
		"${last:-1}"; do
		why=()
		cp --sparse=always "$pristine" "$work"
		run_shim "$k" "${blk_cmd[@]}"
		[ $? -eq 137 ] || why+=("not killed at operation $k")
		[ "$(in_progress "$LOOP")" = yes ] || why+=("no rekey in progress after the kill")
		r=$(rc_of vc rekey "$LOOP" --resume --key-file "$K1")
		[ "$r" = 0 ] || why+=("rekey --resume exit $r: $(head -n1 "$T/step.err")")
		w=$(plain_is "$work" "$T/plain") || why+=("$w")
		kill_verdict "block device: rekey killed at $k (a torn data write or its sync), resumed: plaintext identical" \
			"block device: rekey killed at $k"
	done
	losetup -d "$LOOP"
	LOOP=
else
	fail "losetup of the image" "$(head -n1 "$T/losetup.err")"
fi

# ============================================================ refusals, damage
cp --sparse=always "$pristine" "$work"
s=$(sum_of "$work")
EXPECT_NAME="rekey with a wrong passphrase" expect_exit 2 vc rekey "$work" --key-file "$PWRONG"
check "... wrote nothing" test "$(sum_of "$work")" = "$s"
EXPECT_NAME="rekey with a wrong --keep-key-file passphrase" \
	expect_exit 2 vc rekey "$work" --key-file "$K1" --keep-key-file "$PWRONG"
check "... wrote nothing" test "$(sum_of "$work")" = "$s"
EXPECT_NAME="rekey --chunk-size 1000" expect_exit 1 vc rekey "$work" --key-file "$K1" --chunk-size 1000
EXPECT_NAME="rekey --chunk-size 1G (more fingerprints than the journal holds)" \
	expect_exit 1 vc rekey "$work" --key-file "$K1" --chunk-size 1G
EXPECT_NAME="rekey --chunk-size bogus" expect_exit 1 vc rekey "$work" --key-file "$K1" --chunk-size 4Q
EXPECT_NAME="rekey --keep-key-file - (stdin is the unlocking passphrase's)" \
	expect_exit 1 vc rekey "$work" --key-file "$K1" --keep-key-file -
EXPECT_NAME="rekey --resume without a rekey in progress" expect_exit 1 vc rekey "$work" --resume --key-file "$K1"
check "... says so" grep -q 'no rekey is in progress' "$ERR"
check "the refused calls wrote nothing" test "$(sum_of "$work")" = "$s"

# All 8 keyslots full: no free slot for the new key's passphrases.
for p in 4 5 6 7 8; do
	addkey "$work" "$K1" "$T/pass$p" || fail "add-key pass$p to fill the slots" "exit $?"
done
s=$(sum_of "$work")
EXPECT_NAME="rekey with all 8 keyslots in use" expect_exit 5 vc rekey "$work" --key-file "$K1"
check "... wrote nothing" test "$(sum_of "$work")" = "$s"
vc remove-key "$work" --batch --slot 7 >/dev/null 2>&1 || fail "remove-key slot 7"
s=$(sum_of "$work")
EXPECT_NAME="rekey keeping 2 passphrases with 1 free keyslot" \
	expect_exit 5 vc rekey "$work" --key-file "$K1" --keep-key-file "$K2"
check "... wrote nothing" test "$(sum_of "$work")" = "$s"

# Another process holds the volume's lock.
cp --sparse=always "$pristine" "$work"
s=$(sum_of "$work")
exec {lockfd}<>"$work"
if flock -x -n "$lockfd"; then
	EXPECT_NAME="rekey while this shell holds the volume's flock" expect_exit 5 vc rekey "$work" --key-file "$K1"
	check "... says it is being updated by another process" grep -q 'another process' "$ERR"
else
	fail "take the volume's flock in the test shell"
fi
exec {lockfd}>&-
EXPECT_NAME="rekey under 'flock -x IMG' (another process holds the lock)" \
	expect_exit 5 flock -x "$work" "$VC" rekey "$work" --key-file "$K1"
check "the locked-out rekeys wrote nothing" test "$(sum_of "$work")" = "$s"
# A real concurrent rekey: the first one reads its passphrase from a FIFO
# after it has locked the volume; opening the FIFO's write end returns
# only once it has done so.
mkfifo "$T/fifo"
# (Should it exit without opening the FIFO, the subshell opens it instead:
# the test never hangs.)
(vc rekey "$work" --key-file "$T/fifo" --keep-key-file "$K2" >"$T/first.out" 2>"$T/first.err"
echo $? >"$T/first.rc"
: <>"$T/fifo") &
first=$!
exec {fifofd}>"$T/fifo"
EXPECT_NAME="a second rekey while the first one runs" expect_exit 5 vc rekey "$work" --key-file "$K1"
EXPECT_NAME="add-key while a rekey runs" \
	expect_exit 5 vc add-key "$work" --batch --key-file "$K1" --new-key-file "$P9" "${KDF[@]}"
cat "$K1" 1>&"$fifofd" 2>/dev/null
exec {fifofd}>&-
wait "$first"
rc=$(cat "$T/first.rc")
check "the first rekey finishes (exit $rc)" test "$rc" = 0
diag_file "its stderr" "$T/first.err"
msg=$(plain_is "$work" "$T/plain")
check "... and the plaintext is intact${msg:+ ($msg)}" test -z "$msg"

# A rekey in progress (killed half way).
mid=$T/mid
# (before the sync of the rewrite of chunk NCHUNKS/2: see open_points)
half_point=$(( ${first_entry:-20} + 4 * (NCHUNKS / 2) + 3 ))
if crash_copy "$half_point" && [ "$(in_progress "$work")" = yes ]; then
	ok "rekey killed at $half_point/$n leaves a rekey in progress"
else
	fail "rekey killed at $half_point/$n leaves a rekey in progress" "exit $CRASH_RC, in progress: $(in_progress "$work")"
fi
cp --sparse=always "$work" "$mid"
s=$(sum_of "$work")
EXPECT_NAME="rekey while one is in progress" expect_exit 5 vc rekey "$work" --key-file "$K1"
check "... says it is already in progress" grep -q 'already in progress' "$ERR"
EXPECT_NAME="add-key during a rekey" \
	expect_exit 5 vc add-key "$work" --batch --key-file "$K1" --new-key-file "$P9" "${KDF[@]}"
EXPECT_NAME="passwd during a rekey" \
	expect_exit 5 vc passwd "$work" --batch --key-file "$K1" --new-key-file "$P9" "${KDF[@]}"
EXPECT_NAME="remove-key during a rekey" expect_exit 5 vc remove-key "$work" --batch --slot 2
EXPECT_NAME="header-backup during a rekey" expect_exit 5 vc header-backup "$work" "$T/hdr.bak"
check "... and it created no backup file" test ! -e "$T/hdr.bak"
EXPECT_NAME="rekey --resume --chunk-size (only for a new rekey)" \
	expect_exit 1 vc rekey "$work" --resume --key-file "$K1" --chunk-size 8M
EXPECT_NAME="rekey --resume --keep-key-file (only for a new rekey)" \
	expect_exit 1 vc rekey "$work" --resume --key-file "$K1" --keep-key-file "$K2"
EXPECT_NAME="rekey --resume with a wrong passphrase" expect_exit 2 vc rekey "$work" --resume --key-file "$PWRONG"
EXPECT_NAME="rekey --resume with k3 (opens the old key only)" expect_exit 2 vc rekey "$work" --resume --key-file "$K3"
exec {lockfd}<>"$work"
flock -x "$lockfd"
EXPECT_NAME="rekey --resume while another process holds the lock" \
	expect_exit 5 vc rekey "$work" --resume --key-file "$K1"
exec {lockfd}>&-
check "the refused calls during the rekey wrote nothing" test "$(sum_of "$work")" = "$s"
EXPECT_NAME="rekey --resume with the kept passphrase k2" expect_exit 0 vc rekey "$work" --resume --key-file "$K2"
msg=$(plain_is "$work" "$T/plain" "$K2")
check "resumed with k2: plaintext identical${msg:+ ($msg)}" test -z "$msg"
EXPECT_NAME="resumed with k2: k3 gone" expect_exit 2 vc test-key "$work" --key-file "$K3"
EXPECT_NAME="rekey --resume once it is finished" expect_exit 1 vc rekey "$work" --resume --key-file "$K1"

# A damaged rekey record with valid checksums: refused, nothing written.
for what in "state:m[1408] ^= 0x40" "chunk size:m[1408 + 32] ^= 0x01" "reserved byte:m[1408 + 60] = 0x5a"; do
	label=${what%%:*}
	cp --sparse=always "$mid" "$work"
	set_meta "$work" "${what#*:}"
	s=$(sum_of "$work")
	EXPECT_NAME="rekey --resume with the rekey record's $label altered (checksums fixed)" \
		expect_exit 4 vc rekey "$work" --resume --key-file "$K1"
	check "... wrote nothing" test "$(sum_of "$work")" = "$s"
done

# Journals that must be ignored: random bytes, or valid entries of another
# rekey (another id).  Only where the header alone knows where the rekey
# stands: killed just after the rekey was recorded (the first journal
# entry torn), and after the last chunk (the old slots being wiped).
head -c $((8 * MiB)) /dev/urandom >"$T/garbage"
cp --sparse=always "$mid" "$T/other"           # a journal with valid entries of another rekey
for case in "entry:$first_entry:garbage" "entry:$first_entry:other" "wipe:$first_wipe:garbage"; do
	IFS=: read -r label k src <<<"$case"
	[ -n "$k" ] || continue
	why=()
	crash_copy "$k" || why+=("not killed at operation $k (exit $CRASH_RC)")
	[ "$(in_progress "$work")" = yes ] || why+=("no rekey in progress after the kill")
	if [ "$src" = garbage ]; then
		dd if="$T/garbage" of="$work" bs=1M seek=8 conv=notrunc status=none
		desc="random bytes"
	else
		copy_range "$T/other" "$work" $((8 * MiB)) $((8 * MiB))
		desc="another rekey's valid entries"
	fi
	r=$(rc_of vc rekey "$work" --resume --key-file "$K1")
	[ "$r" = 0 ] || why+=("rekey --resume exit $r: $(head -n1 "$T/step.err")")
	w=$(plain_is "$work" "$T/plain") || why+=("$w")
	r=$(rc_of vc test-key "$work" --key-file "$K3")
	[ "$r" = 2 ] || why+=("k3: test-key exit $r")
	if [ ${#why[@]} -eq 0 ]; then
		ok "killed at $k ($label), journal replaced by $desc: resume ignores it, plaintext identical"
	else
		fail "killed at $k ($label), journal replaced by $desc" "${why[@]}"
	fi
done

# A damaged journal where only it knows how far the rekey got: the header's
# boundary is inside the data area (committed there by an earlier pause)
# and no entry is readable.  Resuming could encrypt a chunk a second time:
# refused with one line, exit 4, nothing written.
if [ -n "$first_entry" ] && crash_copy $((first_entry + 4 * 5)); then
	set_meta "$work" 'import struct; m[1416:1424] = struct.pack("<Q", 2 * '"$CHUNK"')'
	dd if="$T/garbage" of="$work" bs=1M seek=8 conv=notrunc status=none
	s=$(sum_of "$work")
	EXPECT_NAME="rekey --resume with the journal destroyed past the header's boundary" \
		expect_exit 4 vc rekey "$work" --resume --key-file "$K1"
	check "... says the journal is damaged" grep -q "journal is damaged" "$ERR"
	check "... wrote nothing" test "$(sum_of "$work")" = "$s"
else
	fail "a rekey killed at its sixth chunk for the damaged-journal case"
fi

finish
