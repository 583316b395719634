#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt convert --to-luks2 / --from-luks2 (docs/FORMAT.md section 14):
# in place, same volume key and plaintext, both sector sizes, both ways
# (volcrypt -> LUKS2 -> volcrypt, and cryptsetup luksFormat -> volcrypt);
# LUKS2 volumes opened by volcrypt; every refusal with its exit code and
# nothing written; a kill at every durable step of both directions leaves
# a volume that opens with the passphrase and reads the same plaintext,
# and running the conversion again finishes it.
#
# On the host libcryptsetup formats, loads and unlocks LUKS2 headers on
# image files without device-mapper; the plaintext is read through
# volcrypt's fuse backend (needs root, /dev/fuse, /dev/loop-control).
# The VM test t_luks2.sh reads it through `cryptsetup open` as well.
# Helpers run through check and trap: not unreachable.
# shellcheck disable=SC2317
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

NAME=vt-conv-$$
IMG_SIZE=32M
CS_KDF=(--pbkdf pbkdf2 --pbkdf-force-iterations 1000)

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ] || [ ! -c /dev/loop-control ]; then
	fail "the convert test needs root, /dev/fuse and /dev/loop-control (plaintext through the fuse backend)"
	finish
fi
for t in cryptsetup python3 losetup cmp blkid; do
	require_tool "$t" || finish
done
require_crashpoint || finish

conv_cleanup() {
	[ -d "/run/volcrypt/$NAME" ] && vc close "$NAME" >/dev/null 2>&1
	cleanup
}
trap conv_cleanup EXIT

head -c $((32 * MiB - DATA_OFFSET)) /dev/urandom >"$T/plain"

# ------------------------------------------------------------ helpers

check_eq() {                    # check_eq NAME GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2'" "want '$3'"; fi
}

# plain_is IMG [PASSFILE]: the plaintext read through a read-only fuse
# mapping (volcrypt or LUKS2 header) is $T/plain; prints why not.
plain_is() {
	local dev rc
	if ! dev=$(vc open "$1" "$NAME" --backend fuse --read-only --key-file "${2:-$P1}" 2>"$T/open.err"); then
		echo "open --read-only failed: $(head -n1 "$T/open.err")"
		return 1
	fi
	dd if="$dev" bs=1M iflag=direct status=none | cmp -s - "$T/plain"
	rc=$?
	vc close "$NAME" >/dev/null 2>&1 || { echo "close failed"; return 1; }
	[ $rc -eq 0 ] || echo "the plaintext differs"
	return $rc
}

check_plain() {                 # check_plain NAME IMG [PASSFILE]
	local msg
	if msg=$(plain_is "$2" "${3:-$P1}"); then ok "$1"; else fail "$1" "$msg"; fi
}

# write_plain IMG: $T/plain through a fuse mapping (any header volcrypt opens).
write_plain() {
	local dev
	dev=$(vc open "$1" "$NAME" --backend fuse --key-file "$P1" 2>"$T/open.err") || return 1
	dd if="$T/plain" of="$dev" bs=1M oflag=direct status=none
	vc close "$NAME" >/dev/null
}

luks_key() {                    # luks_key IMG PASSFILE: the LUKS2 volume key in hex
	cryptsetup luksDump --dump-volume-key --batch-mode --key-file "$2" "$1" 2>/dev/null |
		sed -n '/^MK dump:/,$p' | sed 's/^MK dump://' | tr -d ' \t\n'
}

luks_opens() {                  # luks_opens IMG PASSFILE: cryptsetup accepts the passphrase
	cryptsetup open --test-passphrase --key-file "$2" "$1" >/dev/null 2>&1
}

luks_field() {                  # luks_field IMG REGEX: first matching luksDump line, trimmed
	cryptsetup luksDump "$1" 2>/dev/null | grep -m1 -E "$2" | sed 's/^[^:]*:[[:space:]]*//'
}

is_volcrypt_only() {            # blkid sees nothing (our magic is not one of its types)
	! blkid -p "$1" >/dev/null 2>&1 && [ "$(copies_state "$1")" = "ok ok" ]
}

fmt_luks() {                    # fmt_luks IMG SS [cryptsetup options]
	local img=$1 ss=$2
	shift 2
	mkimg "$img" "$IMG_SIZE"
	cryptsetup luksFormat --batch-mode --type luks2 "${CS_KDF[@]}" --sector-size "$ss" \
		--key-file "$P1" "$@" "$img" >"$T/cs.err" 2>&1
}

conv() {                        # conv IMG --to-luks2|--from-luks2 [OPTS]: fast KDF, batch
	local img=$1
	shift
	vc convert "$img" --batch "${KDF[@]}" "$@"
}

# ------------------------------------------------------------ round trips

for ss in 512 4096; do
	img=$T/v$ss.img
	echo "# --- sector size $ss: volcrypt -> LUKS2 -> volcrypt"
	mkimg "$img" "$IMG_SIZE"
	fmt "$img" "$P1" --sector-size "$ss" --label "conv-$ss" && addkey "$img" "$P1" "$P2" ||
		{ fail "format $ss with two passphrases"; continue; }
	write_plain "$img" || fail "write the plaintext ($ss)"
	key=$(volume_key "$img" "$P1")
	uuid=$(dump_expr "$img" 'j["uuid"]')
	addkey "$img" "$P1" "$P3"       # P3 is not carried over: it must stop working
	EXPECT_NAME="convert --to-luks2 ($ss), keeping P2" expect_exit 0 \
		conv "$img" --to-luks2 --key-file "$P1" --keep-key-file "$P2"
	check "($ss) stdout names the result" grep -q "to LUKS2" "$OUT"
	check_eq "($ss) LUKS2 volume key = volcrypt volume key" "$(luks_key "$img" "$P1")" "$key"
	check_eq "($ss) LUKS2 UUID kept" "$(luks_field "$img" '^UUID:')" "$uuid"
	check_eq "($ss) LUKS2 label kept" "$(luks_field "$img" '^Label:')" "conv-$ss"
	check_eq "($ss) LUKS2 sector size" "$(luks_field "$img" 'sector:' | cut -d' ' -f1)" "$ss"
	check_eq "($ss) LUKS2 data offset 16 MiB" "$(luks_field "$img" 'offset:' | cut -d' ' -f1)" "$DATA_OFFSET"
	check "($ss) cryptsetup accepts P1" luks_opens "$img" "$P1"
	check "($ss) cryptsetup accepts the kept P2" luks_opens "$img" "$P2"
	check_not "($ss) P3, not kept, opens nothing" luks_opens "$img" "$P3"
	check "($ss) blkid sees LUKS only" sh -c "blkid -p -o value -s TYPE '$img' | grep -qx crypto_LUKS"
	check "($ss) volcrypt's header area from 4 MiB is zero" is_zero "$img" $((4 * MiB)) $((12 * MiB))
	check_plain "($ss) volcrypt open (fuse) of the LUKS2 volume reads the plaintext" "$img"
	check_plain "($ss) ... also with the kept passphrase" "$img" "$P2"
	EXPECT_NAME="($ss) --to-luks2 again: already LUKS2" expect_exit 5 \
		conv "$img" --to-luks2 --key-file "$P1"
	check "($ss) ... says so" grep -q "already a LUKS2 volume" "$ERR"
	EXPECT_NAME="($ss) add-key on the LUKS2 volume is refused" expect_exit 4 \
		vc add-key "$img" --key-file "$P1" --new-key-file "$P4" "${KDF[@]}"

	EXPECT_NAME="convert --from-luks2 ($ss), keeping P2" expect_exit 0 \
		conv "$img" --from-luks2 --key-file "$P2" --keep-key-file "$P1"
	check "($ss) back: only a volcrypt header, both copies ok" is_volcrypt_only "$img"
	check_eq "($ss) back: volume key unchanged" "$(volume_key "$img" "$P1")" "$key"
	check_eq "($ss) back: UUID, label, sector size" \
		"$(dump_expr "$img" '"%s %s %d %d" % (j["uuid"], j["label"], j["sector_size"], j["data_offset"])')" \
		"$uuid conv-$ss $ss $DATA_OFFSET"
	check_eq "($ss) back: redundancy" "$(redundancy "$img")" ok
	check "($ss) back: test-key P2" vc test-key "$img" --key-file "$P2"
	check_plain "($ss) back: plaintext unchanged" "$img"
	EXPECT_NAME="($ss) --from-luks2 again: already volcrypt" expect_exit 5 \
		conv "$img" --from-luks2 --key-file "$P1"

	echo "# --- sector size $ss: cryptsetup luksFormat -> volcrypt"
	limg=$T/l$ss.img
	fmt_luks "$limg" "$ss" --label "cs-$ss" || { fail "luksFormat ($ss)" "$(cat "$T/cs.err")"; continue; }
	EXPECT_NAME="($ss) volcrypt open of a cryptsetup volume (fuse), written" expect_exit 0 \
		write_plain "$limg"
	key=$(luks_key "$limg" "$P1")
	if dev=$(vc open "$limg" "$NAME" --backend fuse --key-file "$P1" 2>"$T/open.err"); then
		vc status "$NAME" --json >"$T/st.json" 2>&1
		jcheck "($ss) status of a mapped LUKS2 volume says so" "$T/st.json" 'j["format"] == "luks2"'
		vc close "$NAME" >/dev/null
	else
		fail "($ss) open the LUKS2 volume for status" "$(cat "$T/open.err")"
	fi
	EXPECT_NAME="($ss) dump of a LUKS2 volume" expect_exit 4 vc dump "$limg"
	check "($ss) dump says it is LUKS2 and what to use" \
		grep -q "a LUKS2 volume: 'volcrypt open' maps it" "$ERR"
	EXPECT_NAME="convert --from-luks2 of a luksFormat volume ($ss)" expect_exit 0 \
		conv "$limg" --from-luks2 --key-file "$P1"
	check_eq "($ss) volume key = the LUKS2 key" "$(volume_key "$limg" "$P1")" "$key"
	check_eq "($ss) label and geometry" \
		"$(dump_expr "$limg" '"%s %d %d %d" % (j["label"], j["sector_size"], j["data_offset"], j["data_size"])')" \
		"cs-$ss $ss $DATA_OFFSET $((32 * MiB - DATA_OFFSET))"
	check "($ss) no LUKS signature left (old keyslots gone)" is_volcrypt_only "$limg"
	check_plain "($ss) plaintext unchanged" "$limg"
done

# ------------------------------------------------------------ refusals

# refused NAME CODE REGEX IMG CMD...: exit CODE, the error line matches,
# and IMG is byte for byte what it was.
refused() {
	local name=$1 code=$2 re=$3 img=$4 before
	shift 4
	before=$(sum_of "$img")
	EXPECT_NAME="$name" expect_exit "$code" "$@" || return
	if grep -qE "$re" "$ERR"; then ok "$name: the reason"; else fail "$name: the reason" "want /$re/"; diag_file stderr "$ERR"; fi
	if [ "$(sum_of "$img")" = "$before" ]; then ok "$name: nothing written"; else fail "$name: nothing written"; fi
}

echo "# --- refusals"
img=$T/r.img
newvol "$img" "$P1"
refused "no direction" 1 "exactly one of" "$img" vc convert "$img" --batch --key-file "$P1"
refused "both directions" 1 "exactly one of" "$img" vc convert "$img" --batch --to-luks2 --from-luks2 --key-file "$P1"
refused "wrong passphrase (to LUKS2)" 2 "no key available" "$img" conv "$img" --to-luks2 --key-file "$PWRONG"
refused "passphrase to keep opens nothing" 2 "keep number 1" "$img" conv "$img" --to-luks2 --key-file "$P1" --keep-key-file "$PWRONG"
refused "--from-luks2 of a volcrypt volume" 5 "already a volcrypt volume" "$img" conv "$img" --from-luks2 --key-file "$P1"
vc format "$T/long.img" --batch --key-file "$P1" "${KDF[@]}" --size 20M \
	--label "a-label-of-forty-eight-bytes-is-too-long-for-LUK" >/dev/null 2>&1
refused "label longer than LUKS2's 47 bytes" 4 "LUKS2 labels hold at most 47" "$T/long.img" \
	conv "$T/long.img" --to-luks2 --key-file "$P1"

# an open volcrypt mapping, then a LUKS2 image attached to a loop device
if dev=$(vc open "$img" "$NAME" --backend fuse --key-file "$P1" 2>/dev/null); then
	refused "volcrypt volume open" 5 "close it first" "$img" conv "$img" --to-luks2 --key-file "$P1"
	vc close "$NAME" >/dev/null
else
	fail "open for the busy test"
fi
limg=$T/rl.img
fmt_luks "$limg" 512
if ro_loop "$limg" rodev; then
	refused "LUKS2 image attached to $rodev" 5 "attached to /dev/loop" "$limg" conv "$limg" --from-luks2 --key-file "$P1"
	losetup -d "$rodev"
fi
refused "wrong passphrase (from LUKS2)" 2 "no key available" "$limg" conv "$limg" --from-luks2 --key-file "$PWRONG"
refused "LUKS2 passphrase to keep opens nothing" 2 "keep number 1" "$limg" conv "$limg" --from-luks2 --key-file "$P1" --keep-key-file "$PWRONG"

fmt_luks "$T/cbc.img" 512 --cipher aes-cbc-essiv:sha256 --key-size 256
refused "cipher aes-cbc-essiv" 4 "cipher aes-cbc-essiv:sha256: volcrypt uses aes-xts-plain64" "$T/cbc.img" conv "$T/cbc.img" --from-luks2 --key-file "$P1"
fmt_luks "$T/k256.img" 512 --cipher aes-xts-plain64 --key-size 256
refused "256-bit XTS key" 4 "256-bit key" "$T/k256.img" conv "$T/k256.img" --from-luks2 --key-file "$P1"
fmt_luks "$T/off.img" 512 --offset 16384
refused "data offset 8 MiB" 4 "data offset 8388608 bytes" "$T/off.img" conv "$T/off.img" --from-luks2 --key-file "$P1"
fmt_luks "$T/off2.img" 512 --offset 33000
refused "data offset 16.1 MiB" 4 "multiple of 1 MiB" "$T/off2.img" conv "$T/off2.img" --from-luks2 --key-file "$P1"
fmt_luks "$T/ss.img" 1024
refused "sector size 1024" 4 "sector size 1024" "$T/ss.img" conv "$T/ss.img" --from-luks2 --key-file "$P1"
mkimg "$T/l1.img" "$IMG_SIZE"
cryptsetup luksFormat --batch-mode --type luks1 --iter-time 1 --key-file "$P1" "$T/l1.img" >/dev/null 2>&1
refused "LUKS1" 4 "LUKS1: convert it to LUKS2 first" "$T/l1.img" conv "$T/l1.img" --from-luks2 --key-file "$P1"
fmt_luks "$T/tok.img" 512
echo '{"type":"volcrypt-test","keyslots":[]}' | cryptsetup token import "$T/tok.img" >/dev/null 2>&1
refused "a LUKS2 token" 4 "token 0 \\(volcrypt-test\\) would be lost" "$T/tok.img" conv "$T/tok.img" --from-luks2 --key-file "$P1"
zero_range "$T/rl.img" 0 $((16 * MiB))
refused "no header at all" 4 "neither a LUKS2 nor a volcrypt header" "$T/rl.img" \
	conv "$T/rl.img" --from-luks2 --key-file "$P1"

# A passphrase whose LUKS2 keyslot lies above 4 MiB: 16 keyslot areas of
# 252 KiB fill 32 KiB .. 4064 KiB, the 17th reaches beyond 4 MiB.
hi=$T/hi.img
fmt_luks "$hi" 512
for i in $(seq 1 16); do
	printf 'filler-%d' "$i" >"$T/f$i"
	cryptsetup luksAddKey --batch-mode "${CS_KDF[@]}" --key-file "$P1" "$hi" "$T/f$i" >/dev/null 2>&1
done
area=$(cryptsetup luksDump "$hi" | awk '/^  16: luks2/{s=1} s && /Area offset/{sub(/.*:/,""); print $1+0; exit}')
if [ $((${area:-0} + 258048)) -gt $((4 * MiB)) ]; then
	refused "keyslot area above 4 MiB" 4 "keyslot 16 lies at .* inside volcrypt's second header half" "$hi" \
		conv "$hi" --from-luks2 --key-file "$T/f16"
else
	fail "LUKS2 keyslot 16 lies above 4 MiB for the test (area offset '$area')"
fi

# a volcrypt volume in the middle of a rekey
rk=$T/rk.img
NEWVOL_SIZE=$IMG_SIZE newvol "$rk" "$P1"
cp --sparse=always "$rk" "$T/rk0.img"
run_shim 0 "$VC" rekey "$T/rk0.img" --key-file "$P1" --chunk-size 4M
total=$(cat "$T/count" 2>/dev/null || echo 0)
run_shim $((total / 2)) "$VC" rekey "$rk" --key-file "$P1" --chunk-size 4M
if [ "$(dump_expr "$rk" 'j["incompat_features"] & 1')" = 1 ]; then
	refused "a rekey in progress" 5 "a rekey is in progress" "$rk" conv "$rk" --to-luks2 --key-file "$P1"
else
	fail "a rekey left in progress for the test (killed at $((total / 2)) of $total)"
fi

# ------------------------------------------------------------ kill at every durable step

# opens_somehow IMG: volcrypt (its own header) or cryptsetup accepts P1,
# and volcrypt open reads the plaintext.
opens_somehow() {
	if ! vc test-key "$1" --key-file "$P1" >/dev/null 2>&1 && ! luks_opens "$1" "$P1"; then
		echo "neither volcrypt test-key nor cryptsetup accepts the passphrase"
		return 1
	fi
	plain_is "$1"
}

crash_direction() {             # crash_direction LABEL PRISTINE FLAG FINAL-CHECK
	local label=$1 pristine=$2 flag=$3 final=$4 total k rc why=() bad=0 killed=0 already=0
	cp --sparse=always "$pristine" "$T/work"
	run_shim 0 "$VC" convert "$T/work" --batch "${KDF[@]}" "$flag" --key-file "$P1" --keep-key-file "$P2"
	total=$(cat "$T/count" 2>/dev/null || echo 0)
	if [ "$total" -lt 5 ]; then
		fail "$label: durable operations counted ($total)"
		return
	fi
	ok "$label: $total durable operations"
	for k in $(seq 1 "$total"); do
		cp --sparse=always "$pristine" "$T/work"
		run_shim "$k" "$VC" convert "$T/work" --batch "${KDF[@]}" "$flag" --key-file "$P1" --keep-key-file "$P2"
		[ $? -eq 137 ] && killed=$((killed + 1))
		if ! msg=$(opens_somehow "$T/work"); then
			bad=$((bad + 1)); why+=("killed at $k: $msg"); continue
		fi
		# Killed after the last write reached the file: "already done" is right.
		vc convert "$T/work" --batch "${KDF[@]}" "$flag" --key-file "$P1" --keep-key-file "$P2" >/dev/null 2>"$T/again.err"
		rc=$?
		if [ $rc -ne 0 ] && { [ $rc -ne 5 ] || ! grep -q "is already a" "$T/again.err"; }; then
			bad=$((bad + 1)); why+=("killed at $k: running it again failed: $(head -n1 "$T/again.err")"); continue
		fi
		[ $rc -eq 5 ] && already=$((already + 1))
		if ! msg=$($final "$T/work"); then
			bad=$((bad + 1)); why+=("killed at $k, run again: $msg"); continue
		fi
		if ! msg=$(plain_is "$T/work"); then
			bad=$((bad + 1)); why+=("killed at $k, run again: $msg"); continue
		fi
	done
	if [ "$killed" -eq "$total" ]; then ok "$label: killed at each of the $total steps"; else fail "$label: killed at each step" "only $killed of $total"; fi
	if [ "$bad" -eq 0 ]; then
		ok "$label: after every kill the volume opens and reads the same plaintext; running it again finishes ($already times: already done)"
	else
		fail "$label: $bad of $total kill points went wrong" "${why[@]:0:5}"
	fi
}

is_luks_result() {              # only LUKS2 is left, with both passphrases
	luks_opens "$1" "$P2" || { echo "P2 does not open the LUKS2 volume"; return 1; }
	is_zero "$1" $((4 * MiB)) $((12 * MiB)) || { echo "volcrypt's second half is not wiped"; return 1; }
}
is_volcrypt_result() {
	is_volcrypt_only "$1" || { echo "not a clean volcrypt volume: $(copies_state "$1")"; return 1; }
	vc test-key "$1" --key-file "$P2" >/dev/null 2>&1 || { echo "P2 opens nothing"; return 1; }
}

for ss in 512 4096; do
	p=$T/crash-v$ss.img
	mkimg "$p" "$IMG_SIZE"
	fmt "$p" "$P1" --sector-size "$ss" && addkey "$p" "$P1" "$P2" && write_plain "$p" ||
		{ fail "volcrypt volume for the crash test ($ss)"; continue; }
	crash_direction "kill -9 during --to-luks2 ($ss)" "$p" --to-luks2 is_luks_result
	p=$T/crash-l$ss.img
	fmt_luks "$p" "$ss" && cryptsetup luksAddKey --batch-mode "${CS_KDF[@]}" --key-file "$P1" "$p" "$P2" &&
		write_plain "$p" || { fail "LUKS2 volume for the crash test ($ss)"; continue; }
	crash_direction "kill -9 during --from-luks2 ($ss)" "$p" --from-luks2 is_volcrypt_result
done

finish
