#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt tab (the /etc/volcrypttab verbs) and UUID= targets: the parser
# and its line-numbered errors, list/device/open/close on loop devices
# found by UUID (fuse backend), passphrase tries on a terminal, and the
# units of the systemd generator.  Loop devices and fuse need root.
# Helpers run through trap: not unreachable.
# shellcheck disable=SC2317
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

NAME=vt-tab-$$
TAB=$T/volcrypttab

tab_cleanup() {
	[ -d "/run/volcrypt/$NAME" ] && vc close "$NAME" >/dev/null 2>&1
	cleanup
}
trap tab_cleanup EXIT

# ------------------------------------------------------------ parsing

U1=1b4e28ba-2fa1-11d2-883f-0016d3cca427
cat >"$TAB" <<EOF
# NAME  DEVICE  KEY-FILE  OPTIONS    (a comment with many words)

root	UUID=$U1 none initramfs,tries=5
   # indented comment
data  /dev/sdb1   /etc/volcrypt/data.key  discard,read-only,backend=dm-crypt
swap /dev/disk/by-id/x-y
opt /dev/sdc1 - nofail,noauto,readonly
EOF
EXPECT_NAME="tab list of a valid table" expect_exit 0 vc tab list --tab "$TAB"
cat >"$T/want" <<EOF
root UUID=$U1 none initramfs,tries=5
data /dev/sdb1 /etc/volcrypt/data.key backend=dm-crypt,read-only,discard
swap /dev/disk/by-id/x-y none -
opt /dev/sdc1 none read-only,noauto,nofail
EOF
check "... one canonical 'NAME DEVICE KEY-FILE OPTIONS' line per entry" cmp -s "$OUT" "$T/want"
EXPECT_NAME="tab list --initramfs" expect_exit 0 vc tab list --initramfs --tab "$TAB"
check "... only the initramfs entry" test "$(cat "$OUT")" = "root UUID=$U1 none initramfs,tries=5"
vc tab list --tab "$TAB" --json >"$T/list.json"
jcheck "tab list --json: entries with their options and line numbers" "$T/list.json" \
	'[e["name"] for e in j] == ["root", "data", "swap", "opt"] and j[0]["key_file"] is None and j[0]["tries"] == 5 and j[0]["initramfs"] and j[0]["line"] == 3 and j[1]["key_file"] == "/etc/volcrypt/data.key" and j[1]["backend"] == "dm-crypt" and j[1]["read_only"] and j[1]["discard"] and not j[1]["initramfs"] and j[1]["tries"] == 3 and j[1]["line"] == 5 and j[3]["noauto"] and j[3]["nofail"]'

# bad_line "LINE" "REASON-REGEX": a table whose third line is LINE is
# refused with exit 1 and one error line "volcrypt: FILE:3: REASON".
bad_line() {
	printf '# two lines before it\nok /dev/sda1\n%s\n' "$1" >"$T/bad.tab"
	EXPECT_NAME="malformed line refused: $1" expect_exit 1 vc tab list --tab "$T/bad.tab"
	check "... the error names the file and line 3: $2" \
		grep -Eq "^volcrypt: $T/bad.tab:3: $2" "$ERR"
}
bad_line "x /dev/sda1 none bogus" "unknown option 'bogus'"
bad_line "x /dev/sda1 none discard,size=4" "unknown option 'size=4'"
bad_line "x /dev/sda1 none backend=loop" "unknown backend 'loop'"
bad_line "x /dev/sda1 none backend" "option 'backend' needs a value"
bad_line "x /dev/sda1 none tries=0" "tries=0: expected a number from 1 to 100"
bad_line "x /dev/sda1 none tries=3x" "tries=3x: expected a number"
bad_line "x /dev/sda1 none discard,,initramfs" "empty option"
bad_line "x" "x: missing DEVICE"
bad_line "x sda1" "device 'sda1' is neither an absolute path nor UUID="
bad_line "x UUID=1234" "'1234' is not a UUID"
bad_line "x /dev/sda1 key.txt" "key file 'key.txt' is not an absolute path"
bad_line "x /dev/sda1 none discard extra" "too many fields"
bad_line "-x /dev/sda1" "invalid name '-x'"
bad_line "ok /dev/sdb1" "name 'ok' already used on line 2"
EXPECT_NAME="a missing table" expect_exit 4 vc tab list --tab "$T/nonexistent"
check "... names the file" grep -q "$T/nonexistent" "$ERR"
EXPECT_NAME="tab open of a name the table does not have" expect_exit 1 vc tab open nosuch --tab "$TAB"
check "... says so" grep -q "no entry called 'nosuch'" "$ERR"
EXPECT_NAME="an unknown tab action" expect_exit 1 vc tab frobnicate --tab "$TAB"
EXPECT_NAME="tab open without a NAME" expect_exit 1 vc tab open --tab "$TAB"
EXPECT_NAME="tab list NAME" expect_exit 1 vc tab list root --tab "$TAB"

# ------------------------------------------------------------ systemd units

GEN=$T/gen
mkdir -p "$GEN"
EXPECT_NAME="tab generate DIR writes the units" expect_exit 0 vc tab generate "$GEN" --tab "$TAB"
check "no unit for the initramfs entry (the initramfs opened it)" test ! -e "$GEN/volcrypt@root.service"
check "units for the others" eval "test -f '$GEN/volcrypt@data.service' && test -f '$GEN/volcrypt@swap.service' && test -f '$GEN/volcrypt@opt.service'"
check "required by cryptsetup.target (no nofail)" \
	test "$(readlink "$GEN/cryptsetup.target.requires/volcrypt@data.service")" = "../volcrypt@data.service"
check "noauto: not pulled in by any target" \
	eval "! ls '$GEN'/*.target.*/volcrypt@opt.service 2>/dev/null"
u=$GEN/volcrypt@data.service
check "the unit opens the entry with this volcrypt and table" \
	grep -qx "ExecStart=$VC tab open data --tab $TAB" "$u"
check "... closes it when stopped (before umount.target at shutdown)" \
	eval "grep -qx 'ExecStop=$VC close data' '$u' && grep -qx 'Conflicts=umount.target' '$u' && grep -qx 'Before=umount.target' '$u'"
check "... runs after its device and before cryptsetup.target" \
	eval "grep -qx 'BindsTo=dev-sdb1.device' '$u' && grep -qx 'After=dev-sdb1.device' '$u' && grep -qx 'Before=cryptsetup.target' '$u'"
check "device unit names are escaped as systemd-escape --path does" \
	grep -qxF 'BindsTo=dev-disk-by\x2did-x\x2dy.device' "$GEN/volcrypt@swap.service"
require_tool systemd-escape &&
	check "... (systemd-escape agrees)" \
		test "$(systemd-escape --path /dev/disk/by-id/x-y)" = 'dev-disk-by\x2did-x\x2dy'
check "without a key file systemd's password agent asks, up to tries times" \
	grep -qF "systemd-ask-password --id=volcrypt:swap \"Passphrase for swap (/dev/disk/by-id/x-y):\" | $VC tab open swap --tab $TAB && exit 0" \
	"$GEN/volcrypt@swap.service"
check "nofail: not before cryptsetup.target" eval "! grep -q '^Before=cryptsetup.target' '$GEN/volcrypt@opt.service'"
if require_tool systemd-analyze; then
	systemd-analyze verify --man=no "$u" "$GEN/volcrypt@swap.service" >"$T/verify.out" 2>&1
	# The device units it names do not exist here; nothing else may be wrong.
	check "systemd-analyze verify finds nothing wrong in the units" \
		eval "! grep -v 'dev-.*\\.device' '$T/verify.out' | grep -q ."
	diag_file "systemd-analyze verify" "$T/verify.out"
fi
printf 'we%%ird /dev/sda1\n' >"$T/weird.tab"
EXPECT_NAME="a name a unit cannot carry is refused" expect_exit 1 vc tab generate "$GEN" --tab "$T/weird.tab"

# ------------------------------------------------------------ UUID= on loop devices

if [ "$(id -u)" != 0 ] || [ ! -c /dev/loop-control ] || [ ! -c /dev/fuse ]; then
	fail "UUID= resolution needs root, loop devices and fuse"
	finish
fi
img=$T/img
NEWVOL_SIZE=40M newvol "$img" "$P0" || finish
uuid=$(vc dump "$img" --json >"$T/dump.json" && jpy "$T/dump.json" 'j["uuid"]')
loop=$(losetup -f --show "$img") && LOOPS+=("$loop")
check "the image is on a loop device" test -b "$loop"
EXPECT_NAME="dump UUID=<uuid> reads the loop device" expect_exit 0 vc dump "UUID=$uuid"
check "... the header of $loop" grep -q "^volcrypt header of $loop\$" "$OUT"
EXPECT_NAME="UUID= in upper case" expect_exit 0 vc test-key "UUID=${uuid^^}" --key-file "$P0"
EXPECT_NAME="an unknown UUID" expect_exit 4 vc open "UUID=00000000-0000-4000-8000-000000000000" "$NAME" --key-file "$P0"
check "... says no block device holds it" grep -q "no block device holds a volcrypt volume with UUID 00000000-0000-4000-8000-000000000000" "$ERR"
EXPECT_NAME="a malformed UUID=" expect_exit 1 vc open "UUID=not-a-uuid" "$NAME" --key-file "$P0"
EXPECT_NAME="a NAME argument is never resolved (close UUID=...)" expect_exit 4 vc close "UUID=$uuid"
loop2=$(losetup -f --show "$img") && LOOPS+=("$loop2")
EXPECT_NAME="a UUID on two devices (a copied disk)" expect_exit 4 vc dump "UUID=$uuid"
check "... names both devices" eval "grep -q '${loop#/dev/}' '$ERR' && grep -q '${loop2#/dev/}' '$ERR'"
losetup -d "$loop2"

printf '%s UUID=%s %s backend=fuse\n' "$NAME" "$uuid" "$P0" >"$T/key.tab"
EXPECT_NAME="tab device resolves UUID=" expect_exit 0 vc tab device "$NAME" --tab "$T/key.tab"
check "... to the loop device" test "$(cat "$OUT")" = "$loop"
EXPECT_NAME="tab open with the entry's key file" expect_exit 0 vc tab open "$NAME" --tab "$T/key.tab"
dev=$(cat "$OUT")
vc status "$NAME" --json >"$T/st.json"
jcheck "... the mapping's target is the device found by UUID, with the entry's backend" "$T/st.json" \
	'j["target"] == "'"$loop"'" and j["backend"] == "fuse" and j["device"] == "'"$dev"'"'
EXPECT_NAME="tab open of an open entry: busy" expect_exit 5 vc tab open "$NAME" --tab "$T/key.tab"
EXPECT_NAME="tab close" expect_exit 0 vc tab close "$NAME" --tab "$T/key.tab"
check "... the mapping is gone" test ! -e "/run/volcrypt/$NAME"

printf '%s UUID=%s %s/missing.key backend=fuse\n' "$NAME" "$uuid" "$T" >"$T/missing.tab"
EXPECT_NAME="a missing key file" expect_exit 4 vc tab open "$NAME" --tab "$T/missing.tab"
check "... names it" grep -q "$T/missing.key" "$ERR"
printf '%s UUID=%s %s backend=fuse,tries=3\n' "$NAME" "$uuid" "$PWRONG" >"$T/wrong.tab"
EXPECT_NAME="a key file with the wrong passphrase: exit 2, tried once" \
	expect_exit 2 vc tab open "$NAME" --tab "$T/wrong.tab"

# On a terminal without a key file: tries=N prompts, then a clear end.
printf '%s UUID=%s none backend=fuse,tries=3\n' "$NAME" "$uuid" >"$T/ask.tab"
P='Enter passphrase for .*: '
EXPECT_NAME="three wrong passphrases on a terminal" expect_tty 2 \
	--expect-secret "$P" --send-file "$PWRONG" --expect-secret "$P" --send-file "$PWRONG" \
	--expect-secret "$P" --send-file "$PWRONG" -- "$VC" tab open "$NAME" --tab "$T/ask.tab"
check "... asked three times" test "$(grep -c 'Enter passphrase for' "$OUT")" = 3
check "... counted the tries left and gave up clearly" \
	eval "grep -q '$NAME: 2 of 3 tries left' '$OUT' && grep -q '$NAME: 1 of 3 tries left' '$OUT' &&
	      grep -q '$NAME: giving up after 3 wrong passphrases' '$OUT'"
check "... and opened nothing" test ! -e "/run/volcrypt/$NAME"
EXPECT_NAME="a wrong then the right passphrase on a terminal" expect_tty 0 \
	--expect-secret "$P" --send-file "$PWRONG" --expect-secret "$P" --send-file "$P0" \
	-- "$VC" tab open "$NAME" --tab "$T/ask.tab"
check "... opened it" test -d "/run/volcrypt/$NAME"
EXPECT_NAME="close" expect_exit 0 vc close "$NAME"
finish
