#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt home in Debian's kernel: layered home directories on ext4 on a
# volume mapped by the volcrypt target.
#   - fscrypt: setup, files written as the user, lock (encrypted names, no
#     content, no plaintext on the mapping or the disk), close and reopen
#     through dm-crypt (still locked, ciphertext names), unlock, checksums;
#   - eCryptfs: the same story, plus lock while a file is open (refused),
#     wrong passphrase;
#   - migrate of a populated home into each layer: trees identical
#     (tree_listing.sh: checksums, modes, owners, times, xattrs, ACLs,
#     holes, hard links).
# The reboot is pc1_home.sh / pc2_home.sh.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

NAME=vhome
MAPPER=/dev/mapper/$NAME
FS=/mnt/vhome
MARK_NAME=VCHOMENAMEMARKER4c2
MARK_TEXT=VCHOMECONTENTMARKER8d0

for t in rsync setpriv getfattr setfacl tune2fs; do
	require_tool "$t" || finish
done
require_target_module || finish
check "the ecryptfs module is loaded" grep -qw ecryptfs /proc/filesystems

UP=$T/user.pass
WRONG=$T/wrong.pass
mkpass "$UP" "login passphrase, not the volume's"
mkpass "$WRONG" "a wrong login passphrase"

as_user() {                         # as_user USER CMD...
	local u=$1
	shift
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups "$@"
}

home() {                            # home USER ACTION [OPTS...]
	local u=$1 action=$2
	shift 2
	vc home "$action" --user "$u" --home "$FS/home/$u" "$@"
}

home_state() {                      # home_state USER: locked/unlocked/...
	home "$1" status --json >"$T/hs.json" 2>/dev/null && json_get "$T/hs.json" .state
}

mount_fs() {
	mkdir -p "$FS" && mount "$MAPPER" "$FS" && at_exit umount "$FS"
}

unmount_fs() {
	umount "$FS"
}

# write_marks USER: as the user, a text file and a 200 KB blob with marked names.
write_marks() {
	local d=$FS/home/$1
	as_user "$1" sh -c "echo '$MARK_TEXT' > '$d/$MARK_NAME.txt' &&
		mkdir '$d/$MARK_NAME.dir' &&
		head -c 200000 /dev/urandom > '$d/$MARK_NAME.dir/blob'"
}

# ---------------------------------------------------------------- volume
wipe_dev /dev/ram0
fmt /dev/ram0 --sector-size 4096 || finish
expect_exit 0 vc_open /dev/ram0 "$NAME" --backend volcrypt
check "mkfs.ext4 without the encrypt feature" mkfs.ext4 -q -F -O ^encrypt "$MAPPER"
mount_fs || { fail "mount"; finish; }
mkdir -p "$FS/home"

# ---------------------------------------------------------------- fscrypt
EXPECT_NAME="setup vchome (fscrypt)" expect_exit 0 \
	home vchome setup --volume "$NAME" --key-file "$UP" --batch "${KDF[@]}"
check "setup enabled the encrypt feature" \
	sh -c "dumpe2fs -h '$MAPPER' 2>/dev/null | grep -q '^Filesystem features:.* encrypt'"
EXPECT_NAME="setup vchome again" expect_exit 5 \
	home vchome setup --volume "$NAME" --key-file "$UP" --batch "${KDF[@]}"
check "the user writes in the unlocked home" write_marks vchome
SUM=$(sum_of "$FS/home/vchome/$MARK_NAME.dir/blob")
EXPECT_NAME="lock vchome" expect_exit 0 home vchome lock
check_eq "status: locked" "$(home_state vchome)" locked
check_not "locked: no plaintext names" sh -c "ls '$FS/home/vchome' | grep -q '$MARK_NAME'"
check "locked: two encrypted names" test "$(ls "$FS/home/vchome" | wc -l)" = 2
check_not "locked: no content, even for root" \
	sh -c "cat '$FS/home/vchome'/* 2>/dev/null | grep -q '$MARK_TEXT'"
sync
echo 3 >/proc/sys/vm/drop_caches
check_not "the mapping holds no plaintext content" contains_text "$MAPPER" "$MARK_TEXT"
check_not "the mapping holds no plaintext name" contains_text "$MAPPER" "$MARK_NAME"
check_not "the disk holds no plaintext content" contains_text /dev/ram0 "$MARK_TEXT"
check_not "the disk holds no plaintext name" contains_text /dev/ram0 "$MARK_NAME"

# Close, reopen through dm-crypt: without the user key only ciphertext names.
unmount_fs
expect_exit 0 vc close "$NAME"
expect_exit 0 vc_open /dev/ram0 "$NAME" --backend dm-crypt
mount_fs || { fail "mount after reopen"; finish; }
check_eq "reopened: locked" "$(home_state vchome)" locked
check_not "reopened: ciphertext names only" sh -c "ls '$FS/home/vchome' | grep -q '$MARK_NAME'"
EXPECT_NAME="unlock with a wrong passphrase" expect_exit 2 home vchome unlock --key-file "$WRONG"
EXPECT_NAME="unlock as pam_exec runs it (PAM_USER, NUL-terminated stdin)" expect_exit 0 \
	sh -c "{ cat '$UP'; printf '\\0'; } | PAM_TYPE=auth PAM_USER=vchome \
		'$VC' home unlock --home '$FS/home/vchome' --key-file -"
check "unlocked: the text is back" grep -q "$MARK_TEXT" "$FS/home/vchome/$MARK_NAME.txt"
check_eq "unlocked: the blob's checksum" "$(sum_of "$FS/home/vchome/$MARK_NAME.dir/blob")" "$SUM"
check "the user reads the file" as_user vchome cat "$FS/home/vchome/$MARK_NAME.txt"
EXPECT_NAME="lock vchome again" expect_exit 0 home vchome lock

# ---------------------------------------------------------------- eCryptfs
EXPECT_NAME="setup vcecr (ecryptfs)" expect_exit 0 \
	home vcecr setup --volume "$NAME" --layer ecryptfs --key-file "$UP" --batch "${KDF[@]}"
check "the home is an ecryptfs mount" \
	sh -c "awk '\$2 == \"$FS/home/vcecr\" && \$3 == \"ecryptfs\"' /proc/mounts | grep -q ."
check "the user writes in the unlocked home" write_marks vcecr
SUM=$(sum_of "$FS/home/vcecr/$MARK_NAME.dir/blob")
exec {held}<"$FS/home/vcecr/$MARK_NAME.txt"
EXPECT_NAME="lock vcecr with a file open" expect_exit 5 home vcecr lock
exec {held}<&-
EXPECT_NAME="lock vcecr" expect_exit 0 home vcecr lock
check_eq "status: locked" "$(home_state vcecr)" locked
LOWER=$FS/.volcrypt-home/$(id -u vcecr).ecryptfs
check "locked: the lower directory has two entries" test "$(ls "$LOWER" | wc -l)" = 2
check "locked: the lower names are eCryptfs-encrypted" \
	sh -c "ls '$LOWER' | grep -c '^ECRYPTFS_FNEK_ENCRYPTED\.' | grep -qx 2"
check_not "locked: no plaintext content below" \
	sh -c "cat \$(find '$LOWER' -type f) | grep -aq '$MARK_TEXT'"
sync
echo 3 >/proc/sys/vm/drop_caches
check_not "the mapping holds no eCryptfs plaintext" contains_text "$MAPPER" "$MARK_TEXT"
check_not "the disk holds no eCryptfs plaintext" contains_text /dev/ram0 "$MARK_TEXT"
EXPECT_NAME="unlock vcecr with a wrong passphrase" expect_exit 2 \
	home vcecr unlock --key-file "$WRONG"
check_not "still locked: nothing mounted" \
	sh -c "awk '\$2 == \"$FS/home/vcecr\"' /proc/mounts | grep -q ."
EXPECT_NAME="unlock vcecr" expect_exit 0 home vcecr unlock --key-file "$UP"
at_exit umount "$FS/home/vcecr"
check_eq "eCryptfs unlocked: the blob's checksum" \
	"$(sum_of "$FS/home/vcecr/$MARK_NAME.dir/blob")" "$SUM"
check "the user reads the file" as_user vcecr grep -q "$MARK_TEXT" "$FS/home/vcecr/$MARK_NAME.txt"
EXPECT_NAME="lock vcecr again" expect_exit 0 home vcecr lock

# ---------------------------------------------------------------- migrate
for layer in fscrypt ecryptfs; do
	u=vcmig
	export TREE_LISTING_ECRYPTFS=0
	# eCryptfs keeps times to the second and fills holes (docs/layering.md).
	[ $layer = ecryptfs ] && u=vcmig2 TREE_LISTING_ECRYPTFS=1
	"$VM_TESTS_DIR/populate_home.sh" "$FS/home/$u" "$u" 60
	"$VM_TESTS_DIR/tree_listing.sh" "$FS/home/$u" >"$T/before.txt"
	check "$layer: the listing covers the tree" test "$(wc -l <"$T/before.txt")" -gt 60
	EXPECT_NAME="migrate $u into $layer" expect_exit 0 \
		home "$u" migrate --volume "$NAME" --layer $layer --key-file "$UP" --batch "${KDF[@]}"
	[ $layer = ecryptfs ] && at_exit umount "$FS/home/$u"
	"$VM_TESTS_DIR/tree_listing.sh" "$FS/home/$u" >"$T/after.txt"
	if cmp -s "$T/before.txt" "$T/after.txt"; then
		ok "$layer: migrated tree identical (checksums, metadata, xattrs, holes, links)"
	else
		fail "$layer: migrated tree identical" \
			"$(diff -u "$T/before.txt" "$T/after.txt" | grep '^-[^-]' | head -8)" \
			"$(diff -u "$T/before.txt" "$T/after.txt" | grep '^+[^+]' | head -8)"
	fi
	EXPECT_NAME="lock the migrated $layer home" expect_exit 0 home "$u" lock
	check_not "$layer: locked after migrate, no plaintext names" test -e "$FS/home/$u/docs"
	rm -rf "$FS/home/$u.volcrypt-plain"
done
unset TREE_LISTING_ECRYPTFS

unmount_fs
check "e2fsck clean" fsck_clean "$MAPPER"
expect_exit 0 vc close "$NAME"
finish
