#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Layered homes across a reboot, second half: the volume opens again, both
# homes are locked (their keys did not survive), show only ciphertext,
# unlock with the user's passphrase and read back what pc1 wrote; e2fsck
# is clean.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

NAME=pchome
MAPPER=/dev/mapper/$NAME
FS=/mnt/pchome

UP=$T/user.pass
mkpass "$UP" "login passphrase, not the volume's"

pc_volume_device || finish
expect_exit 0 vc_open "$DISK" "$NAME" --backend volcrypt
mkdir -p "$FS" && check "mount after the reboot" mount "$MAPPER" "$FS" && at_exit umount "$FS"
for user in vchome vcecr; do
	want=$(state_get "home.$user")
	check "pc1 left $user's checksum" test -n "$want"
	vc home status --user "$user" --home "$FS/home/$user" --json >"$T/hs.json"
	check_eq "$user: locked after the reboot" "$(json_get "$T/hs.json" .state)" locked
	check_not "$user: no plaintext name while locked" test -e "$FS/home/$user/reboot-marker.bin"
	EXPECT_NAME="unlock $user after the reboot" expect_exit 0 vc home unlock --user "$user" \
		--home "$FS/home/$user" --key-file "$UP"
	check_eq "$user: the file survived the reboot" \
		"$(sum_of "$FS/home/$user/reboot-marker.bin")" "$want"
	EXPECT_NAME="lock $user" expect_exit 0 vc home lock --user "$user" --home "$FS/home/$user"
done
umount "$FS"
check "e2fsck clean after the reboot" fsck_clean "$MAPPER"
expect_exit 0 vc close "$NAME"
kernel_log_clean "no kernel warning around the reboot"
finish
