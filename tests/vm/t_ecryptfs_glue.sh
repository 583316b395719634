#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The eCryptfs layer of `volcrypt home` (libvol/home_ecryptfs.c) on an ext4
# filesystem on a volcrypt volume: a mount whose keys outlive the mounting
# process but no keyring, ciphertext-only names and contents below it,
# umount that takes the keys away, refusal of a busy umount and of a second
# mount, a wrong key that reads nothing and the right key that reads it all.
# shellcheck source-path=SCRIPTDIR source=lib.sh
# shellcheck disable=SC2317 # helpers are called through check
. "$(dirname "$0")/lib.sh"

PROBE=/opt/volcrypt/bin/vm_ecryptfs_probe
VOL=vmeh
TOP=/mnt/vmeh
LOWER=$TOP/.Private
MNT=$TOP/home
CONTENT_MARK=ecryptfs-glue-content-7f3a9c
NAME_MARK=secret-name-alpha
CONTROL_MARK=ecryptfs-glue-control-41d2
CONTROL_NAME=control-plain-name-b7

# key_live SIG: /proc/keys has a usable "user" key SIG (referenced, not
# revoked, dead or invalidated).
key_live() {
	awk -v d="$1:" '$8 == "user" && $9 == d && $3 > 0 && $2 !~ /[RDi]/ { f = 1 }
		END { exit !f }' /proc/keys
}
# key_listed SIG: /proc/keys still lists a "user" key SIG, in any state.
key_listed() {
	awk -v d="$1:" '$8 == "user" && $9 == d { f = 1 } END { exit !f }' /proc/keys
}
keys_gone() {
	! key_listed "$FEKEK_SIG" && ! key_listed "$FNEK_SIG"
}
# in_keyring SPEC SIG: `keyctl show SPEC` names SIG.
in_keyring() {
	keyctl show "$1" 2>/dev/null | grep -qF "$2"
}
is_mounted() {                      # is_mounted: the probe says 1
	[ "$("$PROBE" is-mounted "$MNT" 2>/dev/null)" = 1 ]
}
ecryptfs_mounts() {                 # ecryptfs_mounts: how many on $MNT
	awk -v m="$MNT" '$5 == m { for (i = 7; $i != "-"; i++); if ($(i + 1) == "ecryptfs") n++ }
		END { print n + 0 }' /proc/self/mountinfo
}
mount_opts() {                      # mount_opts: options of the top mount on $MNT
	awk -v m="$MNT" '$5 == m { for (i = 7; $i != "-"; i++); o = $6 "," $(i + 3) }
		END { print o }' /proc/self/mountinfo
}
has_opt() {                         # has_opt OPT: in the mount's super options
	case ",$(mount_opts)," in *",$1,"*) return 0 ;; esac
	return 1
}
release_mnt() {                     # cleanup: whatever is still mounted on $MNT
	local i
	for ((i = 0; i < 4; i++)); do
		umount "$MNT" 2>/dev/null || break
	done
}
files_match() {                     # files_match DIR: the files written below read back
	cmp -s "$T/content" "$1/$NAME_MARK.txt" &&
		cmp -s "$T/small" "$1/dir-$NAME_MARK/inner-$NAME_MARK" &&
		cmp -s "$T/late" "$1/late-$NAME_MARK"
}
lower_names_encrypted() {           # every name under $LOWER is an eCryptfs name
	local n
	n=$(find "$LOWER" -mindepth 1 | wc -l)
	[ "$n" -ge 4 ] || return 1
	find "$LOWER" -mindepth 1 | sed 's|.*/||' >"$T/lower.names"
	[ "$(grep -c '^ECRYPTFS_FNEK_ENCRYPTED\.' "$T/lower.names")" -eq "$n" ]
}

modprobe ecryptfs 2>/dev/null
check "the ecryptfs filesystem is registered" grep -qw ecryptfs /proc/filesystems

head -c 64 /dev/urandom >"$T/mk"
head -c 64 /dev/urandom >"$T/mk.wrong"
head -c 63 /dev/urandom >"$T/mk.short"
for ((i = 0; i < 2000; i++)); do echo "$CONTENT_MARK line $i"; done >"$T/content"
echo "small $CONTENT_MARK" >"$T/small"
echo "written after the mounting process exited $CONTENT_MARK" >"$T/late"

expect_exit 0 "$PROBE" sigs "$T/mk"
read -r FEKEK_SIG FNEK_SIG <"$OUT"
check "two 16-hex-digit signatures" \
	grep -qE '^[0-9a-f]{16} [0-9a-f]{16}$' "$OUT"
check_not "FEKEK and FNEK signatures differ" [ "$FEKEK_SIG" = "$FNEK_SIG" ]
expect_exit 0 "$PROBE" sigs "$T/mk.wrong"
check_not "another key, other signatures" grep -qF "$FEKEK_SIG" "$OUT"
expect_exit 22 "$PROBE" sigs "$T/mk.short"

# The lower filesystem: ext4 on a volcrypt volume (dm-crypt backend).
wipe_dev /dev/ram0
fmt /dev/ram0 --sector-size 4096 || finish
EXPECT_NAME="open the volume" expect_exit 0 vc_open /dev/ram0 "$VOL" --backend dm-crypt
DEV=/dev/mapper/$VOL
check "mkfs.ext4" mkfs.ext4 -q -F "$DEV"
mkdir -p "$TOP"
check "mount ext4" mount "$DEV" "$TOP" || finish
at_exit umount "$TOP"
mkdir -p "$LOWER" "$MNT"
at_exit release_mnt
# Control: plaintext written straight to ext4 is found by the scans below.
echo "$CONTROL_MARK" >"$TOP/$CONTROL_NAME"
sync

check_not "no key loaded before the mount" key_listed "$FEKEK_SIG"
check "is-mounted: 0 before the mount" [ "$("$PROBE" is-mounted "$MNT")" = 0 ]
expect_exit 22 "$PROBE" mount "$T/mk.short" "$LOWER" "$MNT"
expect_exit 20 "$PROBE" mount "$T/mk" "$TOP/$CONTROL_NAME" "$MNT"
expect_exit 2 "$PROBE" mount "$T/mk" "$TOP/nonexistent" "$MNT"
check_not "failed mounts leave no key" key_listed "$FEKEK_SIG"

EXPECT_NAME="mount" expect_exit 0 "$PROBE" mount "$T/mk" "$LOWER" "$MNT"
check "is-mounted: 1" is_mounted
check_eq "one eCryptfs mount on $MNT" "$(ecryptfs_mounts)" 1
for opt in "ecryptfs_sig=$FEKEK_SIG" "ecryptfs_fnek_sig=$FNEK_SIG" ecryptfs_cipher=aes \
	ecryptfs_key_bytes=32 ecryptfs_unlink_sigs ecryptfs_mount_auth_tok_only nosuid nodev; do
	check "mount option $opt" has_opt "$opt"
done
check_not "no plaintext passthrough" has_opt ecryptfs_passthrough
# The probe has exited: only the mount holds the keys now.
check "FEKEK held by the mount after the process exited" key_live "$FEKEK_SIG"
check "FNEK held by the mount after the process exited" key_live "$FNEK_SIG"
check_not "FEKEK in no session keyring" in_keyring @s "$FEKEK_SIG"
check_not "FEKEK in no user keyring" in_keyring @u "$FEKEK_SIG"
check_not "FNEK in no user keyring" in_keyring @u "$FNEK_SIG"
check_not "the payload cannot be read back" keyctl print "%user:$FEKEK_SIG"

check "write a file" cp "$T/content" "$MNT/$NAME_MARK.txt"
check "write a directory" mkdir "$MNT/dir-$NAME_MARK"
check "write a file in it" cp "$T/small" "$MNT/dir-$NAME_MARK/inner-$NAME_MARK"
check "write another file" cp "$T/late" "$MNT/late-$NAME_MARK"
check "the files read back" files_match "$MNT"
check "names listed in plaintext above" sh -c "ls '$MNT' | grep -qx '$NAME_MARK.txt'"
sync
echo 3 >/proc/sys/vm/drop_caches
check "the files read back from disk" files_match "$MNT"

# Below: ciphertext names and contents only.
check "lower names are all encrypted" lower_names_encrypted
check_not "no plaintext name below" sh -c "find '$LOWER' | grep -qF '$NAME_MARK'"
check_not "no plaintext content below" grep -rqF "$CONTENT_MARK" "$LOWER"
check "control: ext4 device shows a plain name" contains_text "$DEV" "$CONTROL_NAME"
check "control: ext4 device shows plain content" contains_text "$DEV" "$CONTROL_MARK"
check_not "ext4 device: no plaintext name" contains_text "$DEV" "$NAME_MARK"
check_not "ext4 device: no plaintext content" contains_text "$DEV" "$CONTENT_MARK"
check_not "volume: no ext4 plaintext either" contains_text /dev/ram0 "$CONTROL_MARK"

# A second mount is refused; so is a busy umount.
expect_exit 17 "$PROBE" mount "$T/mk" "$LOWER" "$MNT"
check_eq "still one eCryptfs mount" "$(ecryptfs_mounts)" 1
exec {held}<"$MNT/$NAME_MARK.txt"
expect_exit 16 "$PROBE" umount "$MNT"
check "busy: still mounted" is_mounted
check "busy: FEKEK kept" key_live "$FEKEK_SIG"
check "busy: files still read back" files_match "$MNT"
exec {held}<&-

# A copy of the key left in the user keyring by another tool goes too.
check "plant a stray copy in @u" sh -c "printf stray | keyctl padd user '$FEKEK_SIG' @u >/dev/null"
EXPECT_NAME="umount" expect_exit 0 "$PROBE" umount "$MNT"
check_not "is-mounted: 0 after umount" is_mounted
check_eq "no eCryptfs mount left" "$(ecryptfs_mounts)" 0
check_not "FEKEK gone at once" key_live "$FEKEK_SIG"
check_not "FNEK gone at once" key_live "$FNEK_SIG"
check_not "stray copy gone from @u" in_keyring @u "$FEKEK_SIG"
check "keys collected (kernel key GC)" wait_until 5000 keys_gone
expect_exit 2 "$PROBE" umount "$MNT"
check_not "plaintext names not visible on the bare directory" \
	sh -c "ls -A '$MNT' | grep -q ."

# The wrong key: mounts (eCryptfs cannot tell), reads nothing.
EXPECT_NAME="mount, wrong key" expect_exit 0 "$PROBE" mount "$T/mk.wrong" "$LOWER" "$MNT"
check_not "wrong key: no plaintext name listed" sh -c "ls -A '$MNT' 2>/dev/null | grep -qF '$NAME_MARK'"
check_not "wrong key: the file cannot be opened by name" cat "$MNT/$NAME_MARK.txt"
check_not "wrong key: no content readable" grep -rqF "$CONTENT_MARK" "$MNT"
check_not "wrong key: the right keys did not come back" key_listed "$FEKEK_SIG"
EXPECT_NAME="umount, wrong key" expect_exit 0 "$PROBE" umount "$MNT"

# The right key again: everything is there.
EXPECT_NAME="mount again" expect_exit 0 "$PROBE" mount "$T/mk" "$LOWER" "$MNT"
check "the files read back after a remount" files_match "$MNT"
EXPECT_NAME="umount again" expect_exit 0 "$PROBE" umount "$MNT"
check "keys gone after the second umount" wait_until 5000 keys_gone
if check "umount ext4" umount "$TOP"; then
	check "e2fsck -fn clean" fsck_clean "$DEV"
fi
finish
