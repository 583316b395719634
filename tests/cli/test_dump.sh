#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt dump: human and JSON forms, --volume-key, bad targets.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

img=$T/img
uuid=6a1f0c52-93e4-4d7b-8c21-5e0f9a3b7d64
mkimg "$img"
EXPECT_NAME="format with a label and UUID" expect_exit 0 \
	vc format "$img" --batch --key-file "$P0" "${KDF[@]}" --label "dump-label" --uuid "$uuid"
addkey "$img" "$P0" "$P1" --slot 3 "${KDF_ARGON[@]}" ||
	fail "add-key for the dump test" "$(cat "$T/addkey.err")"

# --- human form ----------------------------------------------------------------
expect_exit 0 vc dump "$img"
cp "$OUT" "$T/dump.txt"
check "dump shows the UUID" grep -qF "$uuid" "$T/dump.txt"
check "dump shows the label" grep -qF "dump-label" "$T/dump.txt"
check "dump shows the data offset in bytes" grep -qw 16777216 "$T/dump.txt"
check "dump shows the data size in bytes" grep -qw 4194304 "$T/dump.txt"
check "dump shows the sector size" grep -qw 512 "$T/dump.txt"
check "dump shows the cipher" grep -qi 'xts' "$T/dump.txt"
check "dump shows the metadata copies as ok" grep -qiE 'ok.*ok' "$T/dump.txt"
check "dump shows the argon2id keyslot" grep -qi 'argon2id' "$T/dump.txt"
check "dump shows the pbkdf2 keyslot" grep -qi 'pbkdf2' "$T/dump.txt"
check "dump shows keyslot 3" grep -qw 3 "$T/dump.txt"
check_not "dump shows no passphrase" grep -qF -e "$(cat "$P0")" -e "$(cat "$P1")" "$T/dump.txt"
check_not "dump says nothing on stderr" test -s "$ERR"

# --- JSON form -------------------------------------------------------------------
expect_exit 0 vc dump "$img" --json
cp "$OUT" "$T/d.json"
check "dump --json parses (python3 -m json.tool)" eval "python3 -m json.tool '$T/d.json' >/dev/null"
if command -v jq >/dev/null 2>&1; then
	check "dump --json parses (jq)" eval "jq -e . '$T/d.json' >/dev/null"
fi
jcheck "dump --json has every top-level key of the spec" "$T/d.json" \
	'set("version uuid label cipher key_bits sector_size data_offset data_size sequence incompat_features compat_features metadata_copies digest keyslots".split()) <= set(j)'
jcheck "dump --json values" "$T/d.json" \
	'j["uuid"] == "'"$uuid"'" and j["label"] == "dump-label" and j["key_bits"] == 512 and j["sector_size"] == 512 and j["data_offset"] == 16777216 and j["data_size"] == 4194304 and j["version"] == 2'
jcheck "dump --json: numbers are numbers" "$T/d.json" \
	'all(isinstance(j[k], int) and not isinstance(j[k], bool) for k in ("version", "key_bits", "sector_size", "data_offset", "data_size", "sequence"))'
jcheck "dump --json: cipher is AES-XTS" "$T/d.json" '"xts" in j["cipher"].lower()'
jcheck "dump --json: metadata_copies is [ok, ok]" "$T/d.json" 'j["metadata_copies"] == ["ok", "ok"]'
jcheck "dump --json: digest type, iterations, 32-byte hex value" "$T/d.json" \
	'j["digest"]["type"] == "pbkdf2-sha256" and isinstance(j["digest"]["iterations"], int) and j["digest"]["iterations"] >= 1000 and re.fullmatch("[0-9a-f]{64}", j["digest"]["value"]) is not None'
jcheck "dump --json: exactly the active keyslots 0 and 3" "$T/d.json" \
	'[k["slot"] for k in j["keyslots"]] == [0, 3]'
jcheck "dump --json: every keyslot has the spec keys" "$T/d.json" \
	'all(set("slot kdf iterations memory_kib parallel stripes material".split()) <= set(k) for k in j["keyslots"])'
jcheck "dump --json: slot 0 is pbkdf2-sha256 with 1000 iterations" "$T/d.json" \
	'j["keyslots"][0]["kdf"] == "pbkdf2-sha256" and j["keyslots"][0]["iterations"] == 1000'
jcheck "dump --json: slot 3 is argon2id t=4 m=1024 p=1" "$T/d.json" \
	'j["keyslots"][1]["kdf"] == "argon2id" and j["keyslots"][1]["iterations"] == 4 and j["keyslots"][1]["memory_kib"] == 1024 and j["keyslots"][1]["parallel"] == 1'
jcheck "dump --json: 4000 stripes, material copies [ok, ok]" "$T/d.json" \
	'all(k["stripes"] == 4000 and k["material"] == ["ok", "ok"] for k in j["keyslots"])'
check_not "dump --json shows no passphrase" grep -qF -e "$(cat "$P0")" -e "$(cat "$P1")" "$T/d.json"
check_not "dump --json has no volume key" grep -q volume_key "$T/d.json"
seq1=$(jpy "$T/d.json" 'j["sequence"]')
addkey "$img" "$P0" "$P2"
dump_json "$img"
jcheck "the sequence number grows with an update" "$T/dump.json" "j['sequence'] > $seq1"
jcheck "the new keyslot 1 is listed" "$T/dump.json" '[k["slot"] for k in j["keyslots"]] == [0, 1, 3]'
s=$(sum_of "$img")
vc dump "$img" >/dev/null 2>&1
vc dump "$img" --json >/dev/null 2>&1
check "dump does not modify the target" test "$(sum_of "$img")" = "$s"

# --- --volume-key ----------------------------------------------------------------
expect_exit 2 vc dump "$img" --volume-key --batch --key-file "$PWRONG"
check_not "wrong passphrase: no key printed" grep -qi 'volume key' "$OUT"
expect_exit 0 vc dump "$img" --volume-key --batch --key-file "$P0"
check "--volume-key prints 'Volume key: <128 hex digits>'" grep -Eqx 'Volume key: [0-9a-f]{128}' "$OUT"
check "--volume-key warns on stderr" grep -q 'warning' "$ERR"
vk0=$(sed -n 's/^Volume key: //p' "$OUT")
expect_exit 0 vc dump "$img" --volume-key --batch --key-file "$P1"
vk3=$(sed -n 's/^Volume key: //p' "$OUT")
check "every keyslot yields the same volume key" test -n "$vk0" -a "$vk0" = "$vk3"
expect_exit 0 vc dump "$img" --volume-key --batch --json --key-file "$P2"
jcheck "--volume-key --json has volume_key (128 hex digits, same key)" "$OUT" \
	'j["volume_key"] == "'"$vk0"'"'
check_not "the volume key is not stored in clear on disk" contains_hex "$img" "${vk0:0:32}"
# From stdin (not a terminal): one line.
expect_exit 0 vc dump "$img" --volume-key --batch <<<"$(cat "$P0")"
check "--volume-key with the passphrase on stdin" grep -qx "Volume key: $vk0" "$OUT"
# On a terminal: passphrase check first, then the confirmation.
expect_tty 1 --expect-secret 'Enter passphrase for .*: ' --send-file "$P0" \
	--expect "Type 'YES' to continue: " --send "no\n" -- "$VC" dump "$img" --volume-key
check_not "--volume-key refused at the confirmation prints no key" grep -q 'Volume key:' "$OUT"
expect_tty 0 --expect-secret 'Enter passphrase for .*: ' --send-file "$P0" \
	--expect "Type 'YES' to continue: " --send "YES\n" -- "$VC" dump "$img" --volume-key
check "--volume-key confirmed on the tty prints the key" grep -q "Volume key: $vk0" "$OUT"
expect_tty 2 --expect-secret 'Enter passphrase for .*: ' --send "not it\n" -- "$VC" dump "$img" --volume-key
check_not "a wrong passphrase is rejected before any confirmation" grep -q "Type 'YES'" "$OUT"

# --- read-only access is enough ------------------------------------------------------
if require_tool losetup && ro_loop "$img" rodev; then
	expect_exit 0 vc dump "$rodev"
	expect_exit 0 vc dump "$rodev" --volume-key --batch --key-file "$P0"
fi

# --- bad targets ----------------------------------------------------------------------
expect_exit 4 vc dump "$T/does-not-exist"
mkdir "$T/dir"
expect_exit 4 vc dump "$T/dir"
mkimg "$T/zero"
expect_exit 4 vc dump "$T/zero"
expect_exit 4 vc dump "$T/zero" --json
head -c $((20 * MiB)) /dev/urandom >"$T/random"
expect_exit 4 vc dump "$T/random"
mkimg "$T/small" 1M
expect_exit 4 vc dump "$T/small"
expect_exit 4 vc dump /dev/null
: >"$T/empty"
expect_exit 1 vc dump "$img" --volume-key --batch --key-file "$T/empty"
expect_exit 1 vc dump
expect_exit 1 vc dump "$img" "$img"
expect_exit 1 vc dump "$img" --bogus

finish
