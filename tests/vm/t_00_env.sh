#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The VM provides what the other tests rely on: every staged program
# starts (its libraries are all there), the kernel has device-mapper with
# the crypt target, ramdisks, loop, fuse and a keyring the kernel can read
# logon keys from.  A failure here explains failures further on.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# Each program runs far enough to print its version: the loader found
# every library it needs.
for p in "$VC --version" "dmsetup --version" "cryptsetup --version" "fio --version" \
	"mkfs.ext4 -V" "e2fsck -V" "keyctl --version" "date --version" "losetup --version"; do
	check "runs: $p" bash -c "$p >/dev/null 2>&1"
done
check "volcrypt-fused is installed next to volcrypt" test -x "$(dirname "$VC")/volcrypt-fused"

check "device-mapper control node" test -c /dev/mapper/control
check "dmsetup reaches the driver" bash -c 'dmsetup version | grep -q "^Driver version"'
check "crypt target registered" bash -c 'dmsetup targets | grep -q "^crypt "'
check "ramdisk /dev/ram0" test -b /dev/ram0
check "ramdisk /dev/ram1" test -b /dev/ram1
check "loop control" test -c /dev/loop-control
check "fuse device" test -c /dev/fuse
check "no udev in the VM (libdevmapper makes nodes itself)" test ! -e /run/udev/control

# modprobe works on what run.sh staged (the dm-target tests load and
# unload their module this way); nothing uses dm-crypt yet.
check "rmmod dm_crypt" rmmod dm_crypt
check_not "dm-crypt unloaded" test -d /sys/module/dm_crypt
check "modprobe dm-crypt (modules.dep of the initramfs)" modprobe dm-crypt
check "dm-crypt loaded again" test -d /sys/module/dm_crypt

# A logon key cannot be read back from user space, but the kernel finds it.
# The user keyring: /init has no session keyring, and "@s" would make one
# that dies with keyctl.
kid=$(printf 'k%.0s' $(seq 64) | keyctl padd logon "volcrypt:envtest" @u 2>"$ERR")
if [ -n "$kid" ]; then
	ok "logon key added to the user keyring"
	check_not "logon key is not readable from user space" bash -c "keyctl pipe $kid >/dev/null 2>&1"
	keyctl unlink "$kid" @u >/dev/null 2>&1
else
	fail "logon key added to the user keyring"
	diag_file stderr "$ERR"
fi

# dm-crypt accepts a keyring reference in a table (the dm-crypt backend
# depends on it) and dmsetup shows the reference, not the key.
dd if=/dev/zero of=/dev/ram1 bs=1M count=1 status=none
kid=$(head -c 64 /dev/urandom | keyctl padd logon "volcrypt:envtest2" @u 2>"$ERR")
at_exit dm_remove vm-envtest
if dmsetup create vm-envtest --table \
	"0 2048 crypt aes-xts-plain64 :64:logon:volcrypt:envtest2 0 /dev/ram1 0" >"$OUT" 2>&1; then
	ok "crypt table with a logon key reference loads"
	check "device node made without udev" test -b /dev/mapper/vm-envtest
	dmsetup table --showkeys vm-envtest >"$OUT" 2>&1
	check "table shows the key reference" grep -q ':64:logon:volcrypt:envtest2 ' "$OUT"
	dm_remove vm-envtest
	check_not "device node removed without udev" test -e /dev/mapper/vm-envtest
else
	fail "crypt table with a logon key reference loads"
	diag_file dmsetup "$OUT"
fi
[ -n "$kid" ] && keyctl unlink "$kid" @u >/dev/null 2>&1

finish
