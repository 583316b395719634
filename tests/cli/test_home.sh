#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# volcrypt home (issue 6) on the host: the fscrypt layer on ext4 on a volume
# opened with the fuse backend.  Setup, lock/unlock (what the user, the
# filesystem, the volume's mapping and the image show), close/reopen,
# PAM-style stdin, every bad input with its exit code, and migrate: a
# populated home (hard links, symlinks, xattrs, ACLs, sparse files, modes,
# owners) moved in with identical checksums and metadata, refused while in
# use or without space, and resumed after a kill at each of volcrypt's
# durable steps and after an interrupted copy.
# Helpers run through check and trap: not unreachable.
# shellcheck disable=SC2317
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" "$@"

NAME=vt-home-$$
NAME2=vt-home2-$$
IMG=$T/vol.img
IMG2=$T/vol2.img
FS=$T/fs
FS2=$T/fs2
MARK_NAME=VCHOMENAMEMARKER9f3
MARK_TEXT=VCHOMECONTENTMARKER5e1
mkdir -p "$FS" "$FS2"
chmod 755 "$T"                      # the users must reach their homes under it

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ] || [ ! -c /dev/loop-control ]; then
	fail "the home test needs root, /dev/fuse and /dev/loop-control"
	finish
fi
for t in mkfs.ext4 dumpe2fs setpriv rsync getfattr setfattr setfacl mksquashfs mountpoint; do
	require_tool "$t" || finish
done
require_crashpoint || finish

home_cleanup() {
	local n
	for n in "$FS" "$FS2"; do
		mountpoint -q "$n" && umount -l "$n"
	done
	for n in "$NAME" "$NAME2"; do
		[ -d "/run/volcrypt/$n" ] && vc close "$n" >/dev/null 2>&1
	done
}
home_exit() {
	home_cleanup
	cleanup
}
trap home_exit EXIT

mkpass "$P0" "volume passphrase"
UP=$T/user.pass
WRONG=$T/wrong.pass
mkpass "$UP" "login passphrase of the user"
mkpass "$WRONG" "not the login passphrase"

# as_user USER CMD...: CMD with the user's uid and gid (files "written as the user").
as_user() {
	local u=$1
	shift
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups "$@"
}

# home USER ACTION [OPTS...]: volcrypt home with the user's directory under $FS/home.
home() {
	local u=$1 action=$2
	shift 2
	vc home "$action" --user "$u" --home "$FS/home/$u" "$@"
}

# open_volume IMG NAME: open with the fuse backend; sets DEV.
open_volume() {
	EXPECT_NAME="open $2 (fuse)" expect_exit 0 vc open "$1" "$2" --backend fuse \
		--key-file "$P0" || return 1
	DEV=$(cat "$OUT")
}

# mount_volume IMG NAME DIR: open and mount its ext4; sets DEV.
mount_volume() {
	open_volume "$1" "$2" && mount "$DEV" "$3"
}

# contains_text FILE TEXT: the file (or device) holds TEXT.
contains_text() {
	grep -aqF "$2" "$1"
}

unmount_volume() {                  # unmount_volume NAME DIR
	umount "$2" && vc close "$1" >/dev/null
}

# tree_listing DIR: metadata, contents, xattrs, holes and hard links (see the script).
tree_listing() {
	"$TOP_DIR/tests/vm/tree_listing.sh" "$1"
}

# ---------------------------------------------------------------- volume
mkimg "$IMG" 160M
fmt "$IMG" "$P0" || { fail "format"; finish; }
open_volume "$IMG" "$NAME" || finish
# mkfs without the encrypt feature: setup must turn it on.
check "mkfs.ext4 (no encrypt feature)" mkfs.ext4 -q -F -O ^encrypt "$DEV"
check "mount the volume's ext4" mount "$DEV" "$FS"
mkdir -p "$FS/home"
check_not "the filesystem starts without the encrypt feature" \
	sh -c "dumpe2fs -h '$DEV' 2>/dev/null | grep -q '^Filesystem features:.* encrypt'"

# ---------------------------------------------------------------- bad inputs
EXPECT_NAME="unknown user" expect_exit 1 vc home setup --user no-such-user-vc --volume "$NAME" \
	--key-file "$UP" "${KDF[@]}"
check "unknown user: says so" grep -q "unknown user" "$ERR"
EXPECT_NAME="no --user" expect_exit 1 vc home status
EXPECT_NAME="unknown action" expect_exit 1 vc home frobnicate --user nobody
EXPECT_NAME="unknown --layer" expect_exit 1 home nobody setup --volume "$NAME" --layer rot13
EXPECT_NAME="setup without --volume" expect_exit 1 home nobody setup --key-file "$UP"
EXPECT_NAME="volume not open" expect_exit 4 home nobody setup --volume vt-not-open-$$ \
	--key-file "$UP" "${KDF[@]}"
check "volume not open: says so" grep -q "not open" "$ERR"
EXPECT_NAME="home not on the volume's filesystem" expect_exit 4 vc home setup --user nobody \
	--home "$T/elsewhere" --volume "$NAME" --key-file "$UP" "${KDF[@]}"
EXPECT_NAME="unlock: not on any volume" expect_exit 4 vc home unlock --user nobody \
	--home "$T/elsewhere" --key-file "$UP"
EXPECT_NAME="unlock before setup" expect_exit 4 home nobody unlock --key-file "$UP"
check "unlock before setup: says setup first" grep -q "setup" "$ERR"
check_not "bad inputs changed nothing: no protector directory" test -e "$FS/.volcrypt-home"
check_not "bad inputs changed nothing: encrypt still off" \
	sh -c "dumpe2fs -h '$DEV' 2>/dev/null | grep -q '^Filesystem features:.* encrypt'"

# Not ext4: a squashfs on a second volume.
mkimg "$IMG2" 40M
fmt "$IMG2" "$P0" || fail "format the second volume"
mkdir -p "$T/sq/home"
mksquashfs "$T/sq" "$T/sq.img" -quiet -noappend >/dev/null
MAIN_DEV=$DEV
if open_volume "$IMG2" "$NAME2"; then
	dd if="$T/sq.img" of="$DEV" bs=1M conv=fsync status=none
	check "mount a squashfs from the second volume" mount -t squashfs -o ro "$DEV" "$FS2"
	EXPECT_NAME="filesystem not ext4" expect_exit 4 vc home setup --user nobody \
		--home "$FS2/home/nobody" --volume "$NAME2" --key-file "$UP" "${KDF[@]}"
	check "not ext4: says so" grep -q "not ext4" "$ERR"
	unmount_volume "$NAME2" "$FS2"
fi
DEV=$MAIN_DEV

# ---------------------------------------------------------------- setup
# On a terminal, turning the encrypt feature on needs a YES.
EXPECT_NAME="setup on a terminal, the encrypt feature refused" expect_tty 1 \
	--expect "Type 'YES' to continue: " --send 'no\n' -- \
	"$VC" home setup --user nobody --home "$FS/home/nobody" --volume "$NAME" \
	--key-file "$UP" "${KDF[@]}"
check "refused: the transcript says what tune2fs would do" grep -q "tune2fs -O encrypt" "$OUT"
check_not "refused: encrypt still off" \
	sh -c "dumpe2fs -h '$DEV' 2>/dev/null | grep -q '^Filesystem features:.* encrypt'"
check_not "refused: no home directory" test -e "$FS/home/nobody"
EXPECT_NAME="setup nobody (fscrypt, consent implied off a terminal)" \
	expect_exit 0 home nobody setup --volume "$NAME" --key-file "$UP" "${KDF[@]}"
check "setup turned the encrypt feature on" \
	sh -c "dumpe2fs -h '$DEV' 2>/dev/null | grep -q '^Filesystem features:.* encrypt'"
check "the home is a directory owned by the user, mode 700" \
	test "$(stat -c '%U %a' "$FS/home/nobody")" = "nobody 700"
PROT=$FS/.volcrypt-home/$(id -u nobody).protector
check "the protector is in .volcrypt-home, mode 600, root's" \
	test "$(stat -c '%U %a' "$PROT")" = "root 600"
check "the protector holds its own format (VCHOMEP)" \
	test "$(head -c 7 "$PROT")" = "VCHOMEP"
EXPECT_NAME="setup again: already set up" expect_exit 5 home nobody setup --volume "$NAME" \
	--key-file "$UP" "${KDF[@]}"
mkdir -p "$FS/home/sys" && echo plain >"$FS/home/sys/file"
EXPECT_NAME="setup of a home that holds files" expect_exit 5 home sys setup --volume "$NAME" \
	--key-file "$UP" "${KDF[@]}"
check "holds files: points to migrate" grep -q "volcrypt home migrate" "$ERR"
check "holds files: the file is untouched, no protector" \
	sh -c "grep -qx plain '$FS/home/sys/file' && ! test -e '$FS/.volcrypt-home/$(id -u sys).protector'"
rm -rf "$FS/home/sys"
EXPECT_NAME="status --json" expect_exit 0 home nobody status --json
jcheck "status: fscrypt, unlocked, the volume and its backend" "$OUT" \
	'j["layer"] == "fscrypt" and j["state"] == "unlocked" and j["volume"]["name"] == "'"$NAME"'" and j["volume"]["backend"] == "fuse" and j["uid"] == '"$(id -u nobody)"

# Files written as the user.
as_user nobody sh -c "mkdir '$FS/home/nobody/$MARK_NAME.dir' &&
	echo '$MARK_TEXT' > '$FS/home/nobody/$MARK_NAME.txt' &&
	head -c 300000 /dev/urandom > '$FS/home/nobody/$MARK_NAME.dir/blob' &&
	ln -s '$MARK_NAME.txt' '$FS/home/nobody/link'"
check "the user wrote files in the unlocked home" test -s "$FS/home/nobody/$MARK_NAME.txt"
SUM_BLOB=$(sum_of "$FS/home/nobody/$MARK_NAME.dir/blob" 2>/dev/null)
check "the user reads them back" grep -q "$MARK_TEXT" "$FS/home/nobody/$MARK_NAME.txt"

# ---------------------------------------------------------------- lock
EXPECT_NAME="lock" expect_exit 0 home nobody lock
check_not "locked: no plaintext names" sh -c "ls '$FS/home/nobody' | grep -q '$MARK_NAME'"
check "locked: three encrypted names" test "$(find "$FS/home/nobody" -mindepth 1 -maxdepth 1 | wc -l)" = 3
check_not "locked: contents unreadable, even for root" \
	sh -c "cat '$FS/home/nobody'/* 2>/dev/null | grep -q '$MARK_TEXT'"
EXPECT_NAME="status after lock" expect_exit 0 home nobody status --json
jcheck "status: locked" "$OUT" 'j["state"] == "locked"'
EXPECT_NAME="lock again: already locked" expect_exit 0 home nobody lock
sync
check_not "the volume's decrypted device holds no plaintext content" contains_text "$DEV" "$MARK_TEXT"
check_not "the volume's decrypted device holds no plaintext name" contains_text "$DEV" "$MARK_NAME"
check_not "the image holds no plaintext content" contains_text "$IMG" "$MARK_TEXT"
check_not "the image holds no plaintext name" contains_text "$IMG" "$MARK_NAME"

EXPECT_NAME="unlock with a wrong passphrase" expect_exit 2 home nobody unlock --key-file "$WRONG"
check "wrong passphrase: says so" grep -q "wrong passphrase" "$ERR"
check_not "still locked after a wrong passphrase" test -e "$FS/home/nobody/$MARK_NAME.txt"

# ---------------------------------------------------------------- close, reopen
unmount_volume "$NAME" "$FS"
mount_volume "$IMG" "$NAME" "$FS" || { fail "reopen"; finish; }
EXPECT_NAME="status after reopen" expect_exit 0 home nobody status --json
jcheck "after reopen: locked" "$OUT" 'j["state"] == "locked"'
check_not "after reopen, without the user key: ciphertext names only" \
	sh -c "ls '$FS/home/nobody' | grep -q '$MARK_NAME'"
# PAM: pam_exec (expose_authtok) writes the passphrase and a NUL to stdin and
# names the user in PAM_USER.
EXPECT_NAME="unlock as pam_exec runs it (PAM_USER, NUL-terminated stdin)" expect_exit 0 \
	sh -c "{ cat '$UP'; printf '\\0'; } | PAM_TYPE=auth PAM_USER=nobody \
		'$VC' home unlock --home '$FS/home/nobody' --key-file -"
check "unlocked: the content is back" grep -q "$MARK_TEXT" "$FS/home/nobody/$MARK_NAME.txt"
check "unlocked: the blob's checksum matches" \
	test "$(sum_of "$FS/home/nobody/$MARK_NAME.dir/blob" 2>/dev/null)" = "${SUM_BLOB:-none}"
check "unlocked: the symlink resolves" test "$(readlink "$FS/home/nobody/link")" = "$MARK_NAME.txt"
EXPECT_NAME="unlock again: already unlocked" expect_exit 0 home nobody unlock --key-file "$WRONG"

# Lock while a file is open: the key goes, the open file stays usable until closed.
exec {held}<"$FS/home/nobody/$MARK_NAME.txt"
EXPECT_NAME="lock with a file open: busy" expect_exit 5 home nobody lock
check "busy: says files are open" grep -q "still open" "$ERR"
EXPECT_NAME="status while files hold the key" expect_exit 0 home nobody status --json
jcheck "status: locking" "$OUT" 'j["state"].startswith("locking")'
exec {held}<&-
EXPECT_NAME="lock after closing the file" expect_exit 0 home nobody lock
EXPECT_NAME="status after the second lock" expect_exit 0 home nobody status --json
jcheck "status: locked at last" "$OUT" 'j["state"] == "locked"'

# A damaged protector: clear error, nothing unlocked.
cp "$PROT" "$T/prot.bak"
flip "$PROT" 20 1
EXPECT_NAME="unlock with a damaged protector" expect_exit 4 home nobody unlock --key-file "$UP"
cp "$T/prot.bak" "$PROT"
EXPECT_NAME="unlock with the protector restored" expect_exit 0 home nobody unlock --key-file "$UP"
home nobody lock >/dev/null 2>&1

# ---------------------------------------------------------------- migrate
# populate USER: a plain home with the kinds of entries a home holds.
populate() {
	"$TOP_DIR/tests/vm/populate_home.sh" "$FS/home/$1" "$1"
}
populate daemon
tree_listing "$FS/home/daemon" >"$T/before.txt"
check "the listing covers the tree" test "$(wc -l <"$T/before.txt")" -gt 150
EXPECT_NAME="migrate daemon's plain home" expect_exit 0 \
	home daemon migrate --volume "$NAME" --key-file "$UP" "${KDF[@]}"
tree_listing "$FS/home/daemon" >"$T/after.txt"
if cmp -s "$T/before.txt" "$T/after.txt"; then
	ok "migrate: checksums and metadata identical"
else
	fail "migrate: checksums and metadata identical" "$(diff "$T/before.txt" "$T/after.txt" | head -10)"
fi
check "migrate: the plain copy is kept aside" test -d "$FS/home/daemon.volcrypt-plain"
check_not "migrate: no staging directory or state left" \
	sh -c "ls -d '$FS/home/daemon.volcrypt-new' '$FS/.volcrypt-home/'*.migrate 2>/dev/null | grep -q ."
EXPECT_NAME="status of the migrated home" expect_exit 0 home daemon status --json
jcheck "migrated: fscrypt, unlocked" "$OUT" 'j["layer"] == "fscrypt" and j["state"] == "unlocked"'
EXPECT_NAME="lock the migrated home" expect_exit 0 home daemon lock
check_not "migrated and locked: names encrypted" test -e "$FS/home/daemon/docs"
EXPECT_NAME="migrate again: already set up" expect_exit 5 \
	home daemon migrate --volume "$NAME" --key-file "$UP" "${KDF[@]}"

# Refused while the user has a file open; then nothing changed.
populate bin
exec {held}<"$FS/home/bin/docs/f7.txt"
EXPECT_NAME="migrate while a file is open" expect_exit 5 \
	home bin migrate --volume "$NAME" --key-file "$UP" "${KDF[@]}"
check "in use: names the process" grep -q "in use by process" "$ERR"
exec {held}<&-
check_not "refused: no staging directory" test -e "$FS/home/bin.volcrypt-new"
check_not "refused: no protector" test -e "$FS/.volcrypt-home/$(id -u bin).protector"

# Not enough space: a home bigger than the free space.
mkdir -p "$FS/home/sys"
AVAIL=$(df -B1 --output=avail "$FS" | tail -1)
fallocate -l $((AVAIL * 6 / 10)) "$FS/home/sys/huge" 2>/dev/null ||
	head -c $((AVAIL * 6 / 10)) /dev/zero >"$FS/home/sys/huge"
chown -R sys: "$FS/home/sys"
EXPECT_NAME="migrate without enough space" expect_exit 5 \
	home sys migrate --volume "$NAME" --key-file "$UP" "${KDF[@]}"
check "no space: says how much is needed" grep -Eq "needs [0-9.]+ MiB.*free [0-9.]+ MiB more" "$ERR"
check_not "no space: no staging directory" test -e "$FS/home/sys.volcrypt-new"
rm -rf "$FS/home/sys"

# Killed at each durable step of volcrypt (rsync is not volcrypt: CRASHPOINT_PROGRAM).
tree_listing "$FS/home/bin" >"$T/before.txt"
export CRASHPOINT_PROGRAM=volcrypt
run_shim 0 "$VC" home migrate --user bin --home "$FS/home/bin" --volume "$NAME" \
	--key-file "$UP" "${KDF[@]}" --batch
N=$(cat "$T/count" 2>/dev/null || echo 0)
check "migrate makes durable steps to crash at ($N)" test "$N" -ge 5
# Undo that run to crash the next ones from the start.
undo_migration() {              # undo_migration USER
	local d=$FS/home/$1
	home "$1" lock >/dev/null 2>&1
	rm -rf "$d" "$d.volcrypt-new" "$FS/.volcrypt-home/$(id -u "$1")".*
	mv "$d.volcrypt-plain" "$d" 2>/dev/null
}
undo_migration bin
for at in $(seq 1 "$N"); do
	run_shim "$at" "$VC" home migrate --user bin --home "$FS/home/bin" --volume "$NAME" \
		--key-file "$UP" "${KDF[@]}" --batch
	rc=$?
	home bin migrate --volume "$NAME" --key-file "$UP" "${KDF[@]}" >"$T/resume.out" 2>"$T/resume.err"
	rc2=$?
	tree_listing "$FS/home/bin" >"$T/after.txt"
	if [ "$rc" = 137 ] && [ "$rc2" = 0 ] && cmp -s "$T/before.txt" "$T/after.txt" &&
		home bin status --json 2>/dev/null | grep -q '"unlocked"'; then
		ok "killed at durable step $at of $N: the next migrate finishes, tree identical"
	else
		fail "killed at durable step $at of $N: the next migrate finishes, tree identical" \
			"kill run exit $rc, resume exit $rc2" "$(head -3 "$T/resume.err")" \
			"$(diff "$T/before.txt" "$T/after.txt" | head -5)"
	fi
	undo_migration bin
done
unset CRASHPOINT_PROGRAM

# An interrupted copy: rsync dies after copying part of the tree; migrate resumes.
mkdir -p "$T/fakebin"
cat >"$T/fakebin/rsync" <<EOF
#!/bin/sh
# Copies everything but docs/, then dies as a kill -9 of volcrypt would leave it.
$(command -v rsync) --exclude=/docs "\$@"
kill -9 \$PPID
exit 1
EOF
chmod +x "$T/fakebin/rsync"
PATH="$T/fakebin:$PATH" "$VC" home migrate --user bin --home "$FS/home/bin" --volume "$NAME" \
	--key-file "$UP" "${KDF[@]}" >/dev/null 2>&1
check "interrupted copy: the staging home holds part of the tree" \
	sh -c "test -L '$FS/home/bin.volcrypt-new/symlink' && ! test -e '$FS/home/bin.volcrypt-new/docs'"
EXPECT_NAME="resuming with a wrong passphrase is refused" expect_exit 2 \
	home bin migrate --volume "$NAME" --key-file "$WRONG"
check "refused resume: the plain home is untouched" test -e "$FS/home/bin/docs/f1.txt"
EXPECT_NAME="migrate resumes the interrupted copy" expect_exit 0 \
	home bin migrate --volume "$NAME" --key-file "$UP" "${KDF[@]}"
tree_listing "$FS/home/bin" >"$T/after.txt"
check "resumed: checksums and metadata identical" cmp -s "$T/before.txt" "$T/after.txt"
home bin lock >/dev/null 2>&1
home daemon lock >/dev/null 2>&1

unmount_volume "$NAME" "$FS"
finish
