#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Layered homes across a reboot, first half (pc2_home.sh checks the
# second): on the persistent disk, an ext4 volume through the volcrypt
# target with an fscrypt home and an eCryptfs home, unlocked, files
# written as their users and synced; then the VM is reset with both homes
# unlocked -- the keys live only in the running kernel.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

NAME=pchome
MAPPER=/dev/mapper/$NAME
FS=/mnt/pchome

UP=$T/user.pass
mkpass "$UP" "login passphrase, not the volume's"

pc_volume_device || finish
wipe_dev "$DISK"
fmt "$DISK" || finish
expect_exit 0 vc open "$DISK" "$NAME" --key-file "$P0" --backend volcrypt
check "mkfs.ext4" mkfs.ext4 -q -F "$MAPPER"
mkdir -p "$FS" && check "mount" mount "$MAPPER" "$FS"
mkdir -p "$FS/home"
for u in vchome:fscrypt vcecr:ecryptfs; do
	user=${u%%:*}
	EXPECT_NAME="setup $user (${u#*:})" expect_exit 0 vc home setup --user "$user" \
		--home "$FS/home/$user" --volume "$NAME" --layer "${u#*:}" --key-file "$UP" \
		--batch "${KDF[@]}"
	check "$user writes a file" setpriv --reuid="$user" --regid="$user" --clear-groups \
		sh -c "head -c 100000 /dev/urandom > '$FS/home/$user/reboot-marker.bin'"
	check "state: $user's checksum" \
		state_set "home.$user" "$(sum_of "$FS/home/$user/reboot-marker.bin")"
done
sync
powercut_reset
fail "the VM was reset"
finish
