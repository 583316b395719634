#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt test-key: right/wrong passphrase, --slot, input forms, read-only.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

img=$T/img
newvol "$img" "$P0"
addkey "$img" "$P0" "$P1" || fail "add-key for the test"
addkey "$img" "$P0" "$P6" --slot 6 "${KDF_ARGON[@]}" || fail "add-key slot 6 for the test"
s=$(sum_of "$img")

expect_exit 0 vc test-key "$img" --key-file "$P0"
check "prints 'Keyslot 0 opens the volume.'" grep -qx 'Keyslot 0 opens the volume\.' "$OUT"
check_not "nothing on stderr on success" test -s "$ERR"
expect_exit 0 vc test-key "$img" --key-file "$P1"
check "prints 'Keyslot 1 opens the volume.'" grep -qx 'Keyslot 1 opens the volume\.' "$OUT"
expect_exit 0 vc test-key "$img" --key-file "$P6"
check "argon2id slot 6 opens" grep -qx 'Keyslot 6 opens the volume\.' "$OUT"
expect_exit 2 vc test-key "$img" --key-file "$PWRONG"
check_not "wrong passphrase prints nothing on stdout" test -s "$OUT"
check_not "the error does not echo the passphrase" grep -qF "$(cat "$PWRONG")" "$ERR"

# --slot
expect_exit 0 vc test-key "$img" --key-file "$P0" --slot 0
expect_exit 0 vc test-key "$img" --key-file "$P1" --slot 1
expect_exit 2 vc test-key "$img" --key-file "$P0" --slot 1
expect_exit 2 vc test-key "$img" --key-file "$P1" --slot 0
expect_exit 0 vc test-key "$img" --key-file "$P6" --slot 6
expect_exit '1|2|4' vc test-key "$img" --key-file "$P0" --slot 7
expect_exit 1 vc test-key "$img" --key-file "$P0" --slot 8
expect_exit 1 vc test-key "$img" --key-file "$P0" --slot -1
expect_exit 1 vc test-key "$img" --key-file "$P0" --slot 1x

# JSON
expect_exit 0 vc test-key "$img" --key-file "$P1" --json
jcheck "test-key --json is {\"keyslot\": 1}" "$OUT" 'j == {"keyslot": 1}'

# Passphrase input forms.
expect_exit 0 vc test-key "$img" <<<"$(cat "$P0")"
check "stdin line (newline stripped) opens slot 0" grep -qx 'Keyslot 0 opens the volume\.' "$OUT"
printf '%s' "$(cat "$P0")" >"$T/nonl"
expect_exit 0 vc test-key "$img" <"$T/nonl"
printf '%s\n' "$(cat "$P0")" >"$T/withnl"
expect_exit 2 vc test-key "$img" --key-file "$T/withnl"
expect_exit 0 vc test-key "$img" --key-file - <"$T/nonl"
expect_exit 2 vc test-key "$img" --key-file - <"$T/withnl"
printf '%s\n%s\n' "$(cat "$P1")" "$(cat "$P0")" >"$T/two"
expect_exit 0 vc test-key "$img" <"$T/two"
check "stdin: only the first line is the passphrase" grep -qx 'Keyslot 1 opens the volume\.' "$OUT"
expect_exit 1 vc test-key "$img" </dev/null
expect_exit 1 vc test-key "$img" <<<""
: >"$T/empty"
expect_exit 1 vc test-key "$img" --key-file "$T/empty"
expect_exit 4 vc test-key "$img" --key-file "$T/no-such-key-file"
# 1 MiB exactly is accepted (and wrong); one byte more is refused.
head -c "$MiB" /dev/zero | tr '\0' 'x' >"$T/1mib"
expect_exit 2 vc test-key "$img" --key-file "$T/1mib"
head -c $((MiB + 1)) /dev/zero | tr '\0' 'x' >"$T/1mib+1"
expect_exit 1 vc test-key "$img" --key-file "$T/1mib+1"
expect_exit 1 vc test-key "$img" --key-file - <"$T/1mib+1"
check "test-key never modifies the target" test "$(sum_of "$img")" = "$s"

# On a terminal: one no-echo prompt (never asked twice).
pw=$(cat "$P1")
expect_tty 0 --expect-secret "Enter passphrase for $img: " --send-file "$P1" -- "$VC" test-key "$img"
check "tty: the slot is reported" grep -q 'Keyslot 1 opens the volume\.' "$OUT"
check_not "tty: the passphrase is not echoed" grep -qF "$pw" "$OUT"
check_not "tty: test-key does not ask to verify" grep -q 'Verify passphrase' "$OUT"
expect_tty 2 --expect-secret "Enter passphrase for $img: " --send "nope\n" -- "$VC" test-key "$img"

# Read-only device.
if require_tool losetup && ro_loop "$img" rodev; then
	expect_exit 0 vc test-key "$rodev" --key-file "$P0"
	expect_exit 2 vc test-key "$rodev" --key-file "$PWRONG"
fi

# Bad targets.
expect_exit 4 vc test-key "$T/none" --key-file "$P0"
mkdir "$T/dir"
expect_exit 4 vc test-key "$T/dir" --key-file "$P0"
mkimg "$T/zero"
expect_exit 4 vc test-key "$T/zero" --key-file "$P0"
mkimg "$T/small" 1M
expect_exit 4 vc test-key "$T/small" --key-file "$P0"
expect_exit 1 vc test-key --key-file "$P0"
expect_exit 1 vc test-key "$img" "$img" --key-file "$P0"

finish
