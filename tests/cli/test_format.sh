#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt format: output, options, and every refused input.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

UUID_RE='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
img=$T/img

# --- the normal case -------------------------------------------------------
mkimg "$img"
expect_exit 0 vc format "$img" --batch --key-file "$P0" "${KDF[@]}"
check "format prints 'Formatted TARGET: UUID <uuid>, passphrase in keyslot 0.'" \
	grep -Eqx "Formatted $img: UUID $UUID_RE, passphrase in keyslot 0\." "$OUT"
check "format leaves the image size alone" test "$(file_size "$img")" -eq $((20 * MiB))
check "metadata copy 0 starts with VOLCRYPT" has_magic "$img" 0
check "metadata copy 1 (at 4 MiB) starts with VOLCRYPT" has_magic "$img" $((4 * MiB))
check_not "keyslot 0 material copy 0 is not all zero" is_zero "$img" "$(mat_off 0 0)" $MAT_LEN
check_not "keyslot 0 material copy 1 is not all zero" is_zero "$img" "$(mat_off 1 0)" $MAT_LEN
check "keyslot 1 material areas are all zero" \
	eval "is_zero '$img' $(mat_off 0 1) $MAT_LEN && is_zero '$img' $(mat_off 1 1) $MAT_LEN"
check_not "the passphrase is not stored in clear on disk" grep -qaF "$(cat "$P0")" "$img"
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_exit 2 vc test-key "$img" --key-file "$PWRONG"
expect_copies "fresh volume: both metadata copies ok" "$img" "ok ok"

# Without --batch and with stdin not a terminal there is no confirmation.
mkimg "$img"
expect_exit 0 vc format "$img" --key-file "$P0" "${KDF[@]}"

# -q is --batch.
mkimg "$img"
expect_exit 0 vc format "$img" -q --key-file "$P0" "${KDF[@]}"

# --- JSON --------------------------------------------------------------------
mkimg "$img"
expect_exit 0 vc format "$img" --batch --json --key-file "$P0" "${KDF[@]}"
cp "$OUT" "$T/fmt.json"
jcheck "format --json has device, uuid, keyslot, sector_size, data_offset, data_size" \
	"$T/fmt.json" \
	'set(["device", "uuid", "keyslot", "sector_size", "data_offset", "data_size"]) <= set(j)'
jcheck "format --json values (keyslot 0, 512, 16 MiB offset, 4 MiB data)" "$T/fmt.json" \
	'j["keyslot"] == 0 and j["sector_size"] == 512 and j["data_offset"] == 16777216 and j["data_size"] == 4194304 and re.fullmatch("'"$UUID_RE"'", j["uuid"]) is not None and j["device"].endswith("/img")'
dump_json "$img"
check "the UUID format reported is the one dump shows" \
	test "$(jpy "$T/fmt.json" 'j["uuid"]')" = "$(jpy "$T/dump.json" 'j["uuid"]')"

# --- two formats give different UUIDs and volume keys -------------------------
mkimg "$T/a"
mkimg "$T/b"
fmt "$T/a" "$P0" && fmt "$T/b" "$P0"
ua=$(vc dump "$T/a" --json | jpy /dev/stdin 'j["uuid"]')
ub=$(vc dump "$T/b" --json | jpy /dev/stdin 'j["uuid"]')
check "two formats get different random UUIDs" test -n "$ua" -a "$ua" != "$ub"
ka=$(volume_key "$T/a" "$P0")
kb=$(volume_key "$T/b" "$P0")
check "two formats get different random volume keys" test -n "$ka" -a "$ka" != "$kb"
rm -f "$T/a" "$T/b"

# --- --uuid, --label ----------------------------------------------------------
mkimg "$img"
expect_exit 0 vc format "$img" --batch --key-file "$P0" "${KDF[@]}" \
	--uuid 0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F0 --label "my test volume"
dump_json "$img"
jcheck "--uuid is stored (lower case)" "$T/dump.json" \
	'j["uuid"] == "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0"'
jcheck "--label is stored" "$T/dump.json" 'j["label"] == "my test volume"'

label63=$(printf 'L%.0s' $(seq 63))
mkimg "$img"
expect_exit 0 vc format "$img" --batch --key-file "$P0" "${KDF[@]}" --label "$label63"
dump_json "$img"
jcheck "a 63-byte label is stored whole" "$T/dump.json" "j['label'] == '$label63'"

# Refused parameters: exit 1 and nothing written (the image stays all zero).
refused() {                         # refused DESCRIPTION FORMAT-OPTIONS...
	local what=$1
	shift
	mkimg "$img"
	EXPECT_NAME="format $what" expect_exit 1 vc format "$img" --batch --key-file "$P0" "${KDF[@]}" "$@"
	check "format $what: nothing written" is_zero "$img" 0 $((20 * MiB))
}
refused "with a 64-byte label" --label "${label63}X"
refused "with --uuid not-a-uuid" --uuid not-a-uuid
refused "with a UUID missing a digit" --uuid 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f
refused "with a UUID with a non-hex digit" --uuid 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0fg
refused "with --sector-size 1024" --sector-size 1024
refused "with --sector-size 0" --sector-size 0
refused "with --sector-size abc" --sector-size abc
refused "with --pbkdf md5" --pbkdf md5
refused "with pbkdf2 below 1000 iterations" --pbkdf pbkdf2 --pbkdf-force-iterations 10
refused "with argon2id below 32 KiB memory" --pbkdf argon2id --pbkdf-force-iterations 4 --pbkdf-memory 8 --pbkdf-parallel 1
refused "with --iter-time abc" --iter-time abc
refused "with --pbkdf-memory -1" --pbkdf argon2id --pbkdf-memory -1
refused "with an unknown option" --no-such-option

# --- sector size 4096 ----------------------------------------------------------
mkimg "$img"
expect_exit 0 vc format "$img" --batch --key-file "$P0" "${KDF[@]}" --sector-size 4096
dump_json "$img"
jcheck "--sector-size 4096 is stored" "$T/dump.json" 'j["sector_size"] == 4096'
expect_exit 0 vc test-key "$img" --key-file "$P0"
mkimg "$img"
expect_exit 0 vc format "$img" --batch --key-file "$P0" "${KDF[@]}" --sector-size 512
dump_json "$img"
jcheck "--sector-size 512 is stored" "$T/dump.json" 'j["sector_size"] == 512'

# --- KDFs ------------------------------------------------------------------------
mkimg "$img"
expect_exit 0 vc format "$img" --batch --key-file "$P0" "${KDF_ARGON[@]}"
dump_json "$img"
jcheck "argon2id keyslot parameters are the ones forced" "$T/dump.json" \
	'j["keyslots"][0]["kdf"] == "argon2id" and j["keyslots"][0]["iterations"] == 4 and j["keyslots"][0]["memory_kib"] == 1024 and j["keyslots"][0]["parallel"] == 1'
expect_exit 0 vc test-key "$img" --key-file "$P0"
expect_exit 2 vc test-key "$img" --key-file "$PWRONG"
mkimg "$img"
fmt "$img" "$P0"
dump_json "$img"
jcheck "pbkdf2 keyslot parameters are the ones forced" "$T/dump.json" \
	'j["keyslots"][0]["kdf"] == "pbkdf2-sha256" and j["keyslots"][0]["iterations"] == 1000'

# --- --size ------------------------------------------------------------------------
rm -f "$T/new.img"
expect_exit 0 vc format "$T/new.img" --batch --key-file "$P0" "${KDF[@]}" --size 20M
check "--size 20M creates a 20 MiB file" test "$(file_size "$T/new.img" 2>/dev/null)" = $((20 * MiB))
expect_exit 0 vc test-key "$T/new.img" --key-file "$P0"
rm -f "$T/new.img"
expect_exit 0 vc format "$T/new.img" --batch --key-file "$P0" "${KDF[@]}" --size 20480K
check "--size 20480K creates a 20 MiB file" test "$(file_size "$T/new.img" 2>/dev/null)" = $((20 * MiB))
mkimg "$img"
expect_exit 0 vc format "$img" --batch --key-file "$P0" "${KDF[@]}" --size 32M
check "--size 32M extends a 20 MiB file to 32 MiB" test "$(file_size "$img")" = $((32 * MiB))
dump_json "$img"
jcheck "data_size after --size 32M is 16 MiB" "$T/dump.json" 'j["data_size"] == 16777216'
mkimg "$img"
expect_exit 0 vc format "$img" --batch --key-file "$P0" "${KDF[@]}" --size 20M
check "--size equal to the file size keeps it" test "$(file_size "$img")" = $((20 * MiB))
mkimg "$img" 24M
s=$(sum_of "$img")
expect_exit 1 vc format "$img" --batch --key-file "$P0" "${KDF[@]}" --size 20M
check "--size smaller than the file: never shrinks" test "$(file_size "$img")" = $((24 * MiB))
check "--size smaller than the file: nothing written" test "$(sum_of "$img")" = "$s"
# A refused format with --size must not have extended the file either.
mkimg "$img"
expect_exit 1 vc format "$img" --batch --key-file "$P0" "${KDF[@]}" --size 32M --label "${label63}X"
check "format --size refused for a bad label: the file is not extended" \
	test "$(file_size "$img")" = $((20 * MiB))
mkimg "$img"
expect_exit 1 vc format "$img" --batch --key-file "$P0" "${KDF[@]}" --size 32M --uuid bad
check "format --size refused for a bad UUID: the file is not extended" \
	test "$(file_size "$img")" = $((20 * MiB))
rm -f "$T/new.img"
expect_exit 1 vc format "$T/new.img" --batch --key-file "$P0" "${KDF[@]}" --size 20M --sector-size 1000
check "format --size refused: no file is left behind" test ! -e "$T/new.img"
rm -f "$T/new.img"
expect_exit 1 vc format "$T/new.img" --batch --key-file "$P0" "${KDF[@]}" --size 20X
expect_exit 1 vc format "$T/new.img" --batch --key-file "$P0" "${KDF[@]}" --size -5M
expect_exit 1 vc format "$T/new.img" --batch --key-file "$P0" "${KDF[@]}" --size ""
rm -f "$T/new.img"
expect_exit 4 vc format "$T/new.img" --batch --key-file "$P0" "${KDF[@]}" --size 1M

# --- bad targets ---------------------------------------------------------------------
expect_exit 4 vc format "$T/does-not-exist" --batch --key-file "$P0" "${KDF[@]}"
check "format of a missing file without --size creates nothing" test ! -e "$T/does-not-exist"
mkdir "$T/dir"
expect_exit 4 vc format "$T/dir" --batch --key-file "$P0" "${KDF[@]}"
expect_exit 4 vc format "$T/does-not-exist/img" --batch --key-file "$P0" "${KDF[@]}"
mkimg "$T/small" 1M
expect_exit 4 vc format "$T/small" --batch --key-file "$P0" "${KDF[@]}"
check "too small target: nothing written" is_zero "$T/small" 0 $MiB
mkimg "$T/small" 16M
expect_exit 4 vc format "$T/small" --batch --key-file "$P0" "${KDF[@]}"
check "target of exactly the header size: nothing written" is_zero "$T/small" 0 $((16 * MiB))
mkfifo "$T/fifo"
VC_TIMEOUT=10 expect_exit 4 vc format "$T/fifo" --batch --key-file "$P0" "${KDF[@]}"
expect_exit 4 vc format /dev/null --batch --key-file "$P0" "${KDF[@]}"

# Read-only target: root ignores file modes, so use a read-only loop device.
mkimg "$img"
if [ "$(id -u)" -ne 0 ]; then
	chmod 0444 "$img"
	expect_exit 2 vc format "$img" --batch --key-file "$P0" "${KDF[@]}"
	chmod 0644 "$img"
elif require_tool losetup && ro_loop "$img" rodev; then
	expect_exit 2 vc format "$rodev" --batch --key-file "$P0" "${KDF[@]}"
	check "read-only loop device: nothing written" is_zero "$img" 0 $((20 * MiB))
else
	fail "attach a read-only loop device for the read-only target test"
fi
# An immutable file cannot be opened for writing, even by root.
mkimg "$img"
if require_tool chattr && chattr +i "$img" 2>/dev/null; then
	expect_exit 2 vc format "$img" --batch --key-file "$P0" "${KDF[@]}"
	chattr -i "$img"
	check "immutable file: nothing written" is_zero "$img" 0 $((20 * MiB))
else
	echo "       (chattr +i unsupported on $(df --output=fstype "$T" | tail -n1); immutable-file case not run)"
fi

# --- foreign signatures -----------------------------------------------------------------
if require_tool mkfs.ext4 && require_tool blkid; then
	mkimg "$img"
	mkfs.ext4 -F -q "$img" >/dev/null 2>&1
	check "blkid sees ext4 on the test image" test "$(blkid -p -o value -s TYPE "$img" 2>/dev/null)" = ext4
	s=$(sum_of "$img")
	expect_exit 5 vc format "$img" --batch --key-file "$P0" "${KDF[@]}"
	check "ext4 without --force: nothing written" test "$(sum_of "$img")" = "$s"
	expect_exit 5 vc format "$img" --batch --key-file "$P0" "${KDF[@]}" --size 32M
	check "ext4 without --force, with --size 32M: nothing written, not extended" \
		test "$(sum_of "$img")" = "$s" -a "$(file_size "$img")" = $((20 * MiB))
	truncate -s 20M "$img"
	expect_exit 0 vc format "$img" --batch --force --key-file "$P0" "${KDF[@]}"
	check "after format --force blkid no longer reports ext4" \
		test "$(blkid -p -o value -s TYPE "$img" 2>/dev/null)" != ext4
	expect_exit 0 vc test-key "$img" --key-file "$P0"
fi
if require_tool blkid; then
	# A DOS partition table (one Linux partition from sector 2048), written
	# by hand so that fdisk's sfdisk is not needed.
	mkimg "$img"
	perl -e 'open(my $h, "+<:raw", $ARGV[0]) or die "$ARGV[0]: $!";
		seek($h, 446, 0); print $h pack("C C3 C C3 V V", 0, 0, 0x21, 0, 0x83, 0, 0, 0, 2048, 38912);
		seek($h, 510, 0); print $h "\x55\xaa"; close($h) or die' "$img"
	check "blkid sees a dos partition table on the test image" \
		test "$(blkid -p -o value -s PTTYPE "$img" 2>/dev/null)" = dos
	s=$(sum_of "$img")
	expect_exit 5 vc format "$img" --batch --key-file "$P0" "${KDF[@]}"
	check "DOS partition table without --force: nothing written" test "$(sum_of "$img")" = "$s"
	expect_exit 0 vc format "$img" --batch --force --key-file "$P0" "${KDF[@]}"
	check "after --force blkid no longer reports a partition table" \
		test -z "$(blkid -p -o value -s PTTYPE "$img" 2>/dev/null)"
fi

# --- an existing volcrypt volume is not overwritten without --force -----------------
mkimg "$img"
fmt "$img" "$P0"
s=$(sum_of "$img")
expect_exit 5 vc format "$img" --batch --key-file "$P1" "${KDF[@]}"
check "re-format of a volcrypt volume without --force: nothing written" test "$(sum_of "$img")" = "$s"
expect_exit 0 vc format "$img" --batch --force --key-file "$P1" "${KDF[@]}"
expect_exit 2 vc test-key "$img" --key-file "$P0"
expect_exit 0 vc test-key "$img" --key-file "$P1"

# --- passphrase input -------------------------------------------------------------------
mkimg "$img"
: >"$T/empty"
expect_exit 1 vc format "$img" --batch --key-file "$T/empty" "${KDF[@]}"
check "empty key file: nothing written" is_zero "$img" 0 $((20 * MiB))
head -c $((MiB + 1)) /dev/urandom >"$T/big"
expect_exit 1 vc format "$img" --batch --key-file "$T/big" "${KDF[@]}"
check "key file over 1 MiB: nothing written" is_zero "$img" 0 $((20 * MiB))
expect_exit 1 vc format "$img" --batch "${KDF[@]}" </dev/null
expect_exit 1 vc format "$img" --batch "${KDF[@]}" <<<""
check "empty passphrase on stdin: nothing written" is_zero "$img" 0 $((20 * MiB))
expect_exit 4 vc format "$img" --batch --key-file "$T/no-such-key-file" "${KDF[@]}"

# Stdin, not a terminal: one line, trailing newline removed.
expect_exit 0 vc format "$img" --batch "${KDF[@]}" <<<"$(cat "$P1")"
expect_exit 0 vc test-key "$img" --key-file "$P1"
# --key-file -: all of stdin, verbatim (the newline is part of it).
mkimg "$img"
printf 'line one\nline two\n' >"$T/multi"
expect_exit 0 vc format "$img" --batch --key-file - "${KDF[@]}" <"$T/multi"
expect_exit 0 vc test-key "$img" --key-file "$T/multi"
printf 'line one\nline two' >"$T/multi-nonl"
expect_exit 2 vc test-key "$img" --key-file "$T/multi-nonl"
printf 'line one' >"$T/line1"
expect_exit 2 vc test-key "$img" --key-file "$T/line1"
# A key file with NUL bytes is taken verbatim.
mkimg "$img"
printf 'a\000b\000c' >"$T/nul"
expect_exit 0 vc format "$img" --batch --key-file "$T/nul" "${KDF[@]}"
expect_exit 0 vc test-key "$img" --key-file "$T/nul"
printf 'a' >"$T/nul-prefix"
expect_exit 2 vc test-key "$img" --key-file "$T/nul-prefix"
printf 'a\000b\000d' >"$T/nul-other"
expect_exit 2 vc test-key "$img" --key-file "$T/nul-other"

# --- on a terminal: passphrase asked twice, confirmation ------------------------------
pw=$(cat "$P2")
mkimg "$img"
expect_tty 2 --expect-secret 'Enter passphrase for .*: ' --send-file "$P2" \
	--expect-secret 'Verify passphrase: ' --send "something else\n" \
	-- "$VC" format "$img" --batch "${KDF[@]}"
check "tty passphrase mismatch says 'passphrases do not match'" grep -q 'passphrases do not match' "$OUT"
check "tty passphrase mismatch: nothing written" is_zero "$img" 0 $((20 * MiB))
check_not "passphrases typed on the tty are not echoed" grep -qF "$pw" "$OUT"
expect_tty 1 --expect "Type 'YES' to continue: " --send "yes\n" \
	-- "$VC" format "$img" --key-file "$P2" "${KDF[@]}"
check "tty confirmation answered 'yes' (not YES): nothing written" is_zero "$img" 0 $((20 * MiB))
check "the confirmation names the target" grep -qF "This will overwrite data on $img irrevocably." "$OUT"
expect_tty 0 --expect "Type 'YES' to continue: " --send "YES\n" \
	-- "$VC" format "$img" --key-file "$P2" "${KDF[@]}"
expect_exit 0 vc test-key "$img" --key-file "$P2"
mkimg "$img"
expect_tty 0 --expect-secret 'Enter passphrase for .*: ' --send-file "$P2" \
	--expect-secret 'Verify passphrase: ' --send-file "$P2" \
	-- "$VC" format "$img" --batch "${KDF[@]}"
check_not "passphrase typed on the tty is not echoed" grep -qF "$pw" "$OUT"
expect_exit 0 vc test-key "$img" --key-file "$P2"

# --- usage errors --------------------------------------------------------------------------
expect_exit 1 vc format --batch --key-file "$P0"
expect_exit 1 vc format "$img" "$T/extra" --batch --key-file "$P0" "${KDF[@]}"
expect_exit 1 vc format "$img" --batch --key-file "$P0" --label

finish
