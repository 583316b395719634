#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# An end-to-end tour of volcrypt on an image file: `make demo` runs
#   tests/demo.sh build/volcrypt
# Everything happens in a temporary directory that is removed at the end.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 PATH/TO/volcrypt" >&2
	exit 2
fi
case $1 in
/*) VC=$1 ;;
*) VC=$PWD/$1 ;;
esac
if [ ! -x "$VC" ]; then
	echo "demo: $1 is missing; run make first" >&2
	exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/volcrypt-demo.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM HUP
cd "$dir" || exit 1

# Quick KDF settings, for the demo only.
FAST=(--pbkdf pbkdf2 --pbkdf-force-iterations 1000)
step=0

say() {
	step=$((step + 1))
	printf '\n=== %d. %s\n' "$step" "$*"
}
run() {
	printf '$ volcrypt'
	printf ' %q' "$@"
	printf '\n'
	"$VC" "$@"
	local rc=$?
	if [ $rc -ne 0 ]; then
		echo "demo: volcrypt $1 failed with exit status $rc" >&2
		exit 1
	fi
}

echo "volcrypt demo in $dir ($("$VC" --version))"

say "Make a 64 MiB image file and two passphrase files"
truncate -s 64M disk.img
printf '%s' "first demo passphrase" >first.key
printf '%s' "second demo passphrase" >second.key
chmod 0600 first.key second.key
ls -ls disk.img first.key second.key

say "Format the image"
echo "The KDF is forced to 1000 PBKDF2 iterations so that the demo is quick."
echo "Real use leaves it alone: Argon2id is then calibrated so that one unlock"
echo "takes about 2 s (the --iter-time default, 2000 ms) on this machine."
run format disk.img --batch --key-file first.key "${FAST[@]}" --label demo

say "Show the header (no secrets in it)"
run dump disk.img

say "Open it as a block device, put a filesystem on it, write a file"
echo "'auto' picks the kernel target, else dm-crypt, else (as on hosts without"
echo "device-mapper) the fuse backend: a userspace daemon plus a loop device."
printf '$ volcrypt open disk.img demo --key-file first.key\n'
dev=$("$VC" open disk.img demo --key-file first.key) || { echo "demo: open failed" >&2; exit 1; }
trap '"$VC" close demo >/dev/null 2>&1; umount "$dir/mnt" 2>/dev/null; rm -rf "$dir"' EXIT
echo "block device: $dev"
run status demo
mkdir mnt
mkfs.ext4 -q -L demo "$dev" && mount "$dev" mnt || { echo "demo: mkfs/mount failed" >&2; exit 1; }
echo "The secret plans of the demo" > mnt/plans.txt
sha256sum mnt/plans.txt | tee plans.sha256
umount mnt
run close demo

say "The image holds only ciphertext"
if grep -q "secret plans" disk.img; then
	echo "demo: plaintext found in the image!" >&2
	exit 1
fi
echo "grep for the file's text in disk.img: not found."

say "Reopen read-only and check the file"
dev=$("$VC" open disk.img demo --key-file first.key --read-only) || exit 1
mount -o ro "$dev" mnt && sha256sum -c plans.sha256 && umount mnt || exit 1
run close demo

say "Add a second passphrase"
run add-key disk.img --key-file first.key --new-key-file second.key "${FAST[@]}"

say "Check that both passphrases open the volume"
run test-key disk.img --key-file first.key
run test-key disk.img --key-file second.key
echo "A wrong passphrase exits with status 2:"
printf '%s' "not the passphrase" >wrong.key
"$VC" test-key disk.img --key-file wrong.key
echo "(exit status $?)"

say "Back up the header area (metadata and key slots, 16 MiB)"
run header-backup disk.img disk.hdr
ls -ls disk.hdr

say "Destroy the first MiB of the image, as a stray write might"
dd if=/dev/zero of=disk.img bs=1M count=1 conv=notrunc 2>&1 | tail -n1
echo "The second metadata copy at 4 MiB and the second copy of the key"
echo "material still open the volume; dump shows which copies are damaged:"
run test-key disk.img --key-file second.key
run dump disk.img

say "Restore the header from the backup"
run header-restore disk.img disk.hdr --batch
run dump disk.img

say "Remove the first passphrase"
run remove-key disk.img --batch --key-file first.key
echo "It no longer opens the volume (exit status 2 expected):"
"$VC" test-key disk.img --key-file first.key
echo "(exit status $?)"
run test-key disk.img --key-file second.key

say "Benchmark the KDF and the sector engine"
echo "(KDF forced as above; without options benchmark shows what format would pick.)"
run benchmark "${FAST[@]}"

say "Done"
echo "Removing $dir"
