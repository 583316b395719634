#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt open/close/status: every bad input, its exit code, nothing left behind.
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

img=$T/img
newvol "$img" "$P0"
other=$T/other
newvol "$other" "$P0"
NAME=vct-err-$$
mkdir "$T/dir"
s=$(sum_of "$img")

leftover() { [ -e "/run/volcrypt/$1" ]; }

# Arguments and options.
expect_exit 1 vc open "$img" --key-file "$P0"
expect_exit 1 vc open "$img" "$NAME" extra --key-file "$P0"
expect_exit 1 vc open "$img" "a/b" --key-file "$P0"
expect_exit 1 vc open "$img" "" --key-file "$P0"
expect_exit 1 vc open "$img" "two words" --key-file "$P0"
expect_exit 1 vc open "$img" "$(printf 'x%.0s' {1..64})" --key-file "$P0"
expect_exit 1 vc open "$img" .. --key-file "$P0"
expect_exit 1 vc open "$img" "$NAME" --backend bogus --key-file "$P0"
expect_exit 1 vc open "$img" "$NAME" --slot 9 --key-file "$P0"
expect_exit 1 vc close
expect_exit 1 vc close a b
expect_exit 1 vc status a b
check_not "no record left by refused opens" leftover "$NAME"

# Targets and passphrases.
expect_exit 4 vc open "$T/missing" "$NAME" --key-file "$P0"
expect_exit 4 vc open "$T/dir" "$NAME" --key-file "$P0"
expect_exit 4 vc open /dev/null "$NAME" --key-file "$P0"
mkimg "$T/blank"
expect_exit 4 vc open "$T/blank" "$NAME" --key-file "$P0"
expect_exit 2 vc open "$img" "$NAME" --key-file "$PWRONG"
expect_exit 2 vc open "$img" "$NAME" --key-file "$P0" --slot 3
check_not "no record after a wrong passphrase" leftover "$NAME"

# Backends this host does not have (no device-mapper here; the VM tests
# cover dm-crypt, the kernel-target tests cover volcrypt).
if [ ! -e /dev/mapper/control ]; then
	expect_exit 4 vc open "$img" "$NAME" --backend dm-crypt --key-file "$P0"
	check "the reason names device-mapper" grep -q "device-mapper" "$ERR"
	expect_exit 4 vc open "$img" "$NAME" --backend volcrypt --key-file "$P0"
	check_not "no record after an unavailable backend" leftover "$NAME"
fi

# Names and volumes in use.
expect_exit 0 vc open "$img" "$NAME" --backend fuse --key-file "$P0"
dev=$(cat "$OUT")
check "open prints a block device" test -b "$dev"
expect_exit 5 vc open "$other" "$NAME" --backend fuse --key-file "$P0"
check "the error says the name is taken" grep -q "already exists" "$ERR"
expect_exit 5 vc open "$img" "$NAME-2" --backend fuse --key-file "$P0"
check "the error names the mapping holding the volume" grep -q "$NAME" "$ERR"
check_not "no second record" leftover "$NAME-2"
expect_exit 5 vc format "$img" --batch --force --key-file "$P0" "${KDF[@]}"
check "format of an open volume names the mapping" grep -q "open as $NAME" "$ERR"
expect_exit 0 vc status "$NAME" --json
jcheck "status JSON describes the mapping" "$OUT" \
	"j['name'] == '$NAME' and j['backend'] == 'fuse' and j['device'] == '$dev' and not j['stale']"
expect_exit 0 vc status --json
jcheck "status without NAME lists it" "$OUT" "any(m['name'] == '$NAME' for m in j)"
expect_exit 0 vc close "$NAME"
check_not "close removes the record" leftover "$NAME"
check "the volume itself is unchanged by open/close" test "$(sum_of "$img")" = "$s"

# Closing and querying what is not there.
expect_exit 4 vc close "$NAME"
expect_exit 4 vc status "$NAME"
expect_exit 1 vc close "a/b"
expect_exit 1 vc status "a/b"
finish
