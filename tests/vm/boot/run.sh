#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Boot test (issue 7): Debian's own kernel and an initramfs made by Debian's
# mkinitramfs with volcrypt's hook and boot script (as `make install`
# installs them), the root filesystem on a volcrypt volume on a virtio disk,
# found by UUID= from volcrypttab, the passphrase typed on the serial
# console.  Boots (qemu TCG, each ~6-12 s of wall time):
#   right  passphrase typed: the root mounts, /sbin/init prints the marker
#          file; dm-volcrypt.ko from the initramfs serves it
#   wrong  a wrong passphrase 3 times: the clear message and initramfs-tools'
#          rescue shell, in bounded time (no hang)
#   key    key file inside the initramfs (volcrypttab names it): no prompt
#   keydm  the same without dm-volcrypt.ko: the dm-crypt backend
#   plain  the same root filesystem on a plain disk, no volcrypt
#   systemd  a second root with systemd as init (the host's systemd, udev
#          and kmod): /etc/volcrypttab names two disks by UUID=, one with a
#          key file, one asked through systemd-ask-password (a wrong
#          passphrase, then the right one, typed at systemd's console agent),
#          and one by its path (its unit waits for the device unit udev
#          makes); volcrypt-generator's units open them before
#          cryptsetup.target (our kernel target, loaded by modprobe), a probe
#          unit reads them, and at poweroff the units' stops close them
# and reports the time from kernel start to the root's mount (the kernel's
# time stamp of its ext4 mount line) of key, keydm and plain.
#
#   tests/vm/boot/run.sh BUILD_DIR
#
# Environment: VOLCRYPT_BOOT_KEEP=DIR keeps the images, initramfs images
# and serial logs; VOLCRYPT_BOOT_TIMEOUT limits each boot (180 s);
# VOLCRYPT_BOOT_REPEAT=N boots key, keydm and plain N times for the figures.
# Needs root (loop devices, the fuse backend, mkinitramfs); missing packages
# are installed as root, else the run fails: nothing is skipped.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../../.." && pwd)
PKGS=(qemu-system-x86 linux-image-amd64 busybox-static initramfs-tools e2fsprogs
	dmsetup kmod udev zstd python3 systemd)
NAME=vcroot
PASSED=0
FAILED=0

die() {
	echo "boot: error: $*" >&2
	echo "boot: $PASSED passed, $((FAILED + 1)) failed"
	exit 1
}

note() {
	echo "boot: $*"
}

# shellcheck source=tests/vm/host.sh
. "$HERE/../host.sh"

ok() {
	PASSED=$((PASSED + 1))
	echo "ok   - boot: $1"
}
fail() {
	FAILED=$((FAILED + 1))
	echo "FAIL - boot: $1"
}
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}

[ $# = 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd) || die "no build directory $1"
LIBVOL=$(readlink "$BUILD/libvol.so" 2>/dev/null)  # libvol.so.N, the SONAME
if [ ! -x "$BUILD/volcrypt" ] || [ -z "$LIBVOL" ] || [ ! -f "$BUILD/$LIBVOL" ]; then
	die "$BUILD/volcrypt is not built: run make"
fi
[ "$(id -u)" = 0 ] || die "the boot test needs root (loop devices, fuse, mkinitramfs)"

missing() {
	command -v qemu-system-x86_64 >/dev/null || echo qemu
	[ -n "$(newest_kernel)" ] || echo kernel
	[ -x /bin/busybox ] || echo busybox
	PATH=/usr/sbin:/sbin:$PATH command -v mkinitramfs >/dev/null || echo mkinitramfs
	PATH=/usr/sbin:/sbin:$PATH command -v mkfs.ext4 >/dev/null || echo mkfs.ext4
	[ -e /lib/udev/rules.d/95-dm-notify.rules ] || echo dm-udev-rules
	command -v python3 >/dev/null || echo python3
	[ -x /usr/lib/systemd/systemd ] && [ -x /usr/lib/systemd/systemd-shutdown ] || echo systemd
	command -v kmod >/dev/null || echo kmod
}
ensure_packages missing "${PKGS[@]}"
export PATH=/usr/sbin:/sbin:$PATH
KVER=$(newest_kernel)

W=$(mktemp -d /tmp/volcrypt-boot.XXXXXX) || die "mktemp failed"
VC="$BUILD/volcrypt"
cleanup() {
	"$VC" close "$NAME-host" >/dev/null 2>&1
	if [ -n "${VOLCRYPT_BOOT_KEEP:-}" ]; then
		mkdir -p "$VOLCRYPT_BOOT_KEEP" && cp -a "$W"/. "$VOLCRYPT_BOOT_KEEP"/
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
t_start=$(date +%s)
echo "boot: kernel $KVER, work directory $W"

# ------------------------------------------------------------ the disks

# The root filesystem: busybox, /sbin/init, a marker; an ext4 image of it.
MARKER="volcrypt-boot-marker-$RANDOM$RANDOM"
R=$W/rootfs
mkdir -p "$R"/{bin,sbin,proc,sys,dev,run,tmp,root,mnt}
cp /bin/busybox "$R/bin/busybox"
for a in sh mount cat cut awk grep sed dmesg sync poweroff echo; do ln -s busybox "$R/bin/$a"; done
install -m 0755 "$HERE/init" "$R/sbin/init"
echo "$MARKER" >"$R/marker"
mkfs.ext4 -q -F -L bootroot -d "$R" "$W/root.ext4" 40M >/dev/null || die "mkfs.ext4 -d failed"
cp --sparse=always "$W/root.ext4" "$W/plaindisk.img"

# The volcrypt disk: the same ext4 written through the fuse backend.
printf 'boot-test-%s' "$RANDOM$RANDOM" >"$W/pass"
printf 'boot-test-wrong' >"$W/wrong"
"$VC" format "$W/disk.img" --size 64M --key-file "$W/pass" --batch --pbkdf pbkdf2 \
	--pbkdf-force-iterations 1000 >/dev/null || die "volcrypt format failed"
UUID=$("$VC" dump "$W/disk.img" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["uuid"])')
dev=$("$VC" open "$W/disk.img" "$NAME-host" --backend fuse --key-file "$W/pass") ||
	die "volcrypt open --backend fuse failed"
dd if="$W/root.ext4" of="$dev" bs=1M oflag=direct status=none || die "writing the root failed"
"$VC" close "$NAME-host" || die "volcrypt close failed"
check "the disk image holds no plaintext marker" test "$(grep -c "$MARKER" "$W/disk.img")" = 0

# ------------------------------------------------------------ initramfs images

# Our hook and script as `make install` installs them, in a private
# configuration directory: the host's /etc/initramfs-tools and /etc/volcrypttab
# are not read or changed (mkinitramfs -d; the hook reads $VOLCRYPTTAB).
make -s -C "$TOP" install DESTDIR="$W/inst" BUILD="$BUILD" >"$W/install.log" 2>&1 ||
	die "make install DESTDIR=... failed: $(tail -n 5 "$W/install.log")"
# mkconf DIR: initramfs.conf (only the modules the VM needs: fast to build and boot).
mkconf() {
	mkdir -p "$1"/{hooks,scripts/local-top,conf.d}
	printf '%s\n' 'MODULES=list' 'BUSYBOX=y' 'COMPRESS=zstd' 'UMASK=0077' 'RESUME=none' \
		>"$1/initramfs.conf"
	printf '%s\n' virtio_pci virtio_blk ext4 >"$1/modules"
	install -m 0755 "$W/inst/usr/share/initramfs-tools/hooks/volcrypt" "$1/hooks/volcrypt"
	install -m 0755 "$W/inst/usr/share/initramfs-tools/scripts/local-top/volcrypt" \
		"$1/scripts/local-top/volcrypt"
}
# mkinitrd NAME TAB [KO]: initramfs NAME.img built with volcrypttab TAB (and dm-volcrypt.ko KO).
mkinitrd() {
	mkconf "$W/conf-$1"
	local t0=$EPOCHREALTIME
	VOLCRYPTTAB=$2 VOLCRYPT_INITRAMFS_BIN=$VC VOLCRYPT_INITRAMFS_KO=${3:-} \
		mkinitramfs -d "$W/conf-$1" -o "$W/$1.img" "$KVER" >"$W/mkinitramfs-$1.log" 2>&1 ||
		die "mkinitramfs ($1) failed: $(tail -n 5 "$W/mkinitramfs-$1.log")"
	echo "boot: initramfs $1: $(du -k "$W/$1.img" | cut -f1) KiB in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
}
printf '# boot test\n%s UUID=%s none initramfs\n' "$NAME" "$UUID" >"$W/tab-prompt"
# The key file's path is the same in the initramfs (the hook copies it there).
install -m 0600 "$W/pass" "$W/root.key"
printf '%s UUID=%s %s initramfs\n' "$NAME" "$UUID" "$W/root.key" >"$W/tab-key"
: >"$W/tab-none"
# Our kernel target (make all builds it against the VM kernel's headers).
KO=$TOP/dm-target/dm-volcrypt.ko
if [ -f "$KO" ] && [ "$(modinfo -F vermagic "$KO" | cut -d' ' -f1)" = "$KVER" ]; then
	ok "dm-volcrypt.ko is built for $KVER"
else
	fail "dm-volcrypt.ko is built for $KVER (make all with linux-headers-$KVER); the boots use dm-crypt"
	KO=""
fi
mkinitrd prompt "$W/tab-prompt" "$KO"
mkinitrd key "$W/tab-key" "$KO"
mkinitrd keydm "$W/tab-key"
mkinitrd plain "$W/tab-none"

lsinit() { lsinitramfs "$W/$1.img" 2>/dev/null; }
check "the initramfs has volcrypt, libvol, dm-crypt and the boot script" \
	eval "lsinit prompt | grep -q 'volcrypt\$' && lsinit prompt | grep -q '$LIBVOL\$' &&
	      lsinit prompt | grep -q 'dm-crypt.ko' && lsinit prompt | grep -q 'scripts/local-top/volcrypt\$'"
check "the initramfs's volcrypttab holds the initramfs entry" \
	eval "unmkinitramfs '$W/prompt.img' '$W/x-prompt' && grep -q '^$NAME UUID=$UUID none initramfs\$' '$W/x-prompt/etc/volcrypttab'"
check "the key-file initramfs holds the key file, and is readable by root only (UMASK=0077)" \
	eval "unmkinitramfs '$W/key.img' '$W/x-key' && cmp -s '$W/pass' '$W/x-key$W/root.key' &&
	      test \"\$(stat -c %a '$W/key.img')\" = 600"
check "without entries the hook adds nothing" eval "! lsinit plain | grep -q 'libvol.so'"

# ------------------------------------------------------------ boots

# boot NAME INITRD DISK APPEND STEPS...: serial.py drives the console.
boot() {
	local name=$1 initrd=$2 disk=$3 append=$4 t0 rc
	shift 4
	t0=$EPOCHREALTIME
	python3 "$HERE/serial.py" --log "$W/serial-$name.log" --timeout "${VOLCRYPT_BOOT_TIMEOUT:-180}" "$@" -- \
		qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 1G -nographic -no-reboot \
		-net none -drive "file=$disk,format=raw,if=virtio,cache=unsafe" ${BOOT_EXTRA[@]+"${BOOT_EXTRA[@]}"} \
		-kernel "/boot/vmlinuz-$KVER" -initrd "$initrd" \
		-append "console=ttyS0 quiet fsck.mode=skip $append"
	rc=$?
	BOOT_S=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	echo "boot: $name: ${BOOT_S} s of wall time (serial.py exit $rc)"
	return $rc
}
# mount_time LOG [WHAT]: the kernel's time stamp of the root's ext4 mount
# (WHAT=initramfs: of the start of the initramfs's /init).
mount_time() {
	sed -n "s/^boot-test: ${2:-mount} \\[ *\\([0-9.]*\\)\\].*/\\1/p" "$1" | head -n1
}

ROOT_APPEND="root=/dev/mapper/$NAME rootfstype=ext4"
BOOT_EXTRA=()
# panic=-1: initramfs-tools' panic reboots at once, and qemu (-no-reboot) ends.
BOOT_FAILED='Kernel panic|Rebooting automatically|\(initramfs\) '
check "boot with the passphrase typed on the console: root mounted, marker read" \
	boot right "$W/prompt.img" "$W/disk.img" "$ROOT_APPEND panic=-1" --fail "$BOOT_FAILED" \
	--expect 'Enter passphrase for [^ ]*: ' --send-file "$W/pass" \
	--expect "boot-test: marker $MARKER" --expect 'boot-test: done'
check "... the root is /dev/mapper/$NAME, ext4" grep -q "^boot-test: root /dev/mapper/$NAME ext4" "$W/serial-right.log"
check "... the boot script said which volume it unlocks" grep -q "^volcrypt: unlocking $NAME (UUID=$UUID)" "$W/serial-right.log"
if [ -n "$KO" ]; then
	check "... with our kernel target (dm-volcrypt.ko from the initramfs)" \
		grep -q "^volcrypt: $NAME opened with the volcrypt backend" "$W/serial-right.log"
fi

t0=$EPOCHREALTIME
check "three wrong passphrases: a clear message and the rescue shell, no hang" \
	boot wrong "$W/prompt.img" "$W/disk.img" "$ROOT_APPEND" --fail 'Kernel panic|cannot read the initramfs' \
	--expect 'Enter passphrase for [^ ]*: ' --send-file "$W/wrong" \
	--expect 'Enter passphrase for [^ ]*: ' --send-file "$W/wrong" \
	--expect 'Enter passphrase for [^ ]*: ' --send-file "$W/wrong" \
	--expect "volcrypt: $NAME: wrong passphrase 3 times; the volume stays locked" \
	--expect '\(initramfs\) ' --stop
check "... each wrong try said so, with the tries left" \
	eval "grep -q 'volcrypt: $NAME: 2 of 3 tries left' '$W/serial-wrong.log' &&
	      grep -q 'volcrypt: $NAME: 1 of 3 tries left' '$W/serial-wrong.log' &&
	      grep -q 'volcrypt: $NAME: giving up after 3 wrong passphrases' '$W/serial-wrong.log'"
check "... and the root was never mounted" eval "! grep -q '^boot-test: marker' '$W/serial-wrong.log'"

# The timing boots: no one types, so kernel start -> root mounted is the
# machine's own time.  key: key file, kernel target; keydm: key file,
# dm-crypt (no dm-volcrypt.ko); plain: no volcrypt.  Repeated in rotated
# order with VOLCRYPT_BOOT_REPEAT=N (1): the host's load moves the figures.
declare -A TIMES=()
timing_boot() {             # timing_boot KIND ROUND
	local kind=$1 r=$2 initrd=$W/$1.img disk=$W/disk.img append=$ROOT_APPEND t t_init t_dm
	if [ "$kind" = plain ]; then
		disk=$W/plaindisk.img
		append="root=/dev/vda rootfstype=ext4"
	fi
	boot "$kind-$r" "$initrd" "$disk" "$append panic=-1" --fail "$BOOT_FAILED" \
		--expect "boot-test: marker $MARKER" --expect 'boot-test: done' || return 1
	t=$(mount_time "$W/serial-$kind-$r.log")
	t_init=$(mount_time "$W/serial-$kind-$r.log" initramfs)
	[ -n "$t" ] && [ -n "$t_init" ] || return 1
	TIMES[$kind]+="$t "
	TIMES[$kind-initramfs]+="$(awk -v a="$t_init" -v b="$t" 'BEGIN { printf "%.3f", b - a }') "
	t_dm=$(mount_time "$W/serial-$kind-$r.log" dm)
	if [ -n "$t_dm" ]; then
		TIMES[$kind-dm]+="$(awk -v a="$t_dm" -v b="$t" 'BEGIN { printf "%.3f", b - a }') "
	fi
}
check "boot with a key file inside the initramfs: no prompt, marker read" timing_boot key 1
check "... and no passphrase was asked" eval "! grep -q 'Enter passphrase' '$W/serial-key-1.log'"
check "boot with the key file and dm-crypt (no dm-volcrypt.ko in the initramfs): marker read" \
	timing_boot keydm 1
check "... the initramfs chose dm-crypt" grep -q "^volcrypt: $NAME opened with the dm-crypt backend" "$W/serial-keydm-1.log"
check "reference boot, the same root on a plain disk: marker read" timing_boot plain 1
for ((r = 2; r <= ${VOLCRYPT_BOOT_REPEAT:-1}; r++)); do
	case $((r % 3)) in
	0) order="plain key keydm" ;;
	1) order="keydm plain key" ;;
	*) order="key keydm plain" ;;
	esac
	for kind in $order; do
		check "timing boot $kind, round $r" timing_boot "$kind" "$r"
	done
done
# summary KIND: "median s (each: a b c)"
summary() {
	tr ' ' '\n' <<<"${TIMES[$1]:-}" | sed '/^$/d' | sort -n |
		awk '{ v[NR] = $1 } END { if (!NR) { print "?"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			s = ""; for (i = 1; i <= NR; i++) s = s " " v[i]
			printf "%.2f s (median of%s)\n", m, s }'
}
echo "boot: kernel start -> root mounted (kernel time stamp of the ext4 mount):"
echo "boot:   volcrypt, key file, kernel target:  $(summary key)"
echo "boot:   volcrypt, key file, dm-crypt:       $(summary keydm)"
echo "boot:   plain disk, no volcrypt:            $(summary plain)"
echo "boot:   volcrypt, passphrase typed (serial.py answers at once): $(mount_time "$W/serial-right.log") s"
echo "boot: of which initramfs /init start -> root mounted:"
echo "boot:   volcrypt, key file, kernel target:  $(summary key-initramfs)"
echo "boot:   volcrypt, key file, dm-crypt:       $(summary keydm-initramfs)"
echo "boot:   plain disk, no volcrypt:            $(summary plain-initramfs)"
echo "boot: of which device-mapper loaded (by volcrypt's boot script) -> root mounted:"
echo "boot:   volcrypt, key file, kernel target:  $(summary key-dm)"
echo "boot:   volcrypt, key file, dm-crypt:       $(summary keydm-dm)"
# ------------------------------------------------------------ systemd
# A second root filesystem, booted with systemd as init: the systemd and
# kmod of the host, busybox, and volcrypt as `make install` installs it.
# /etc/volcrypttab names three volumes on more disks, two by UUID=, one
# by path;
# volcrypt-generator makes a volcrypt@NAME.service of each,
# cryptsetup.target pulls them in, a probe unit after it reads the
# volumes, and at poweroff a probe ordered after the units' stops checks
# they closed.
# stage_systemd_root DIR IMAGE UDEV TAB NAMES: the root in DIR, its ext4 in
# IMAGE; UDEV=1 adds udevd, its rules and units; TAB is its volcrypttab,
# NAMES the volumes the probes look at.
stage_systemd_root() {
	local a d
	SD=$1
	STAGE=$SD # copy_bin and copy_libs (host.sh) stage into it
	STAGE_LIBDIR=$W/inst/usr/local/lib
	# The host's merged /usr layout: systemd finds its helpers by either path.
	mkdir -p "$SD"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,run,tmp,root,var}
	for d in bin sbin lib lib64; do ln -s "usr/$d" "$SD/$d"; done
	for a in /usr/lib/systemd/systemd /usr/lib/systemd/systemd-shutdown \
		"$(command -v systemctl)" /usr/bin/systemd-ask-password \
		/usr/bin/systemd-tty-ask-password-agent /bin/busybox "$(readlink -f "$(command -v kmod)")"; do
		copy_bin "$a"
	done
	local units=(cryptsetup.target cryptsetup-pre.target umount.target shutdown.target
		poweroff.target final.target systemd-poweroff.service blockdev@.target
		systemd-ask-password-console.path systemd-ask-password-console.service)
	if [ "$3" = 1 ]; then
		# udev's rules: device units (99-systemd.rules), device-mapper's cookies.
		for a in /usr/lib/systemd/systemd-udevd /usr/bin/udevadm /usr/sbin/dmsetup; do
			copy_bin "$a"
		done
		mkdir -p "$SD/usr/lib/udev"
		cp -a /usr/lib/udev/rules.d "$SD/usr/lib/udev/"
		units+=(systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
			systemd-udev-trigger.service systemd-udev-settle.service)
	fi
	for a in sh cat tr grep sed head true; do ln -sf /bin/busybox "$SD/bin/$a"; done
	ln -sf "$(readlink -f "$(command -v kmod)")" "$SD/sbin/modprobe"
	# volcrypt as installed, with the libraries libvol needs.
	cp -a "$W/inst/usr" "$SD/"
	copy_libs "$W/inst/usr/local/sbin/volcrypt"
	copy_libs "$W/inst/usr/local/sbin/volcrypt-fused"
	# Units: the host's targets and shutdown services, our probes.
	mkdir -p "$SD/usr/lib/systemd/system" "$SD/etc/systemd/system"
	for a in "${units[@]}"; do
		cp "/usr/lib/systemd/system/$a" "$SD/usr/lib/systemd/system/"
	done
	cp "$HERE"/systemd/*.service "$HERE"/systemd/*.target "$SD/etc/systemd/system/"
	ln -sf boot-test.target "$SD/etc/systemd/system/default.target"
	install -m 0755 "$HERE/systemd/boot-test-systemd" "$SD/usr/local/sbin/boot-test-systemd"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$SD/etc/passwd"
	cp /etc/group "$SD/etc/group" # the system groups udev's rules name
	printf '%s\n' 0123456789abcdef0123456789abcdef >"$SD/etc/machine-id"
	cp -L /etc/os-release "$SD/etc/os-release"
	install -m 0600 "$W/pass" "$SD/etc/data.key"
	printf '# systemd boot test\n%s' "$4" >"$SD/etc/volcrypttab"
	echo "$5" >"$SD/etc/boot-test-volumes"
	# Modules modprobe (the kernel's helper) loads: device-mapper, dm-crypt,
	# the ciphers, and our target.
	for d in drivers/md crypto arch/x86/crypto lib; do
		mkdir -p "$SD/lib/modules/$KVER/kernel/$d"
		cp -a "/lib/modules/$KVER/kernel/$d/." "$SD/lib/modules/$KVER/kernel/$d/"
	done
	cp "/lib/modules/$KVER"/modules.{builtin,builtin.modinfo,order} "$SD/lib/modules/$KVER/"
	if [ -n "$KO" ]; then
		mkdir -p "$SD/lib/modules/$KVER/extra" && cp "$KO" "$SD/lib/modules/$KVER/extra/"
	fi
	depmod -b "$SD" "$KVER"
	find "$SD/usr" -type f -name '*.so*' -printf '/%h\n' | sed "s|^/$SD||" | sort -u >"$W/ld.so.conf"
	mv "$W/ld.so.conf" "$SD/etc/ld.so.conf"
	ldconfig -r "$SD"
	mkfs.ext4 -q -F -L sdroot -d "$SD" "$2" 300M >/dev/null
}

# data_volume IMG MARKER: a 32 MiB volume whose first bytes are MARKER
# (written through the fuse backend); prints its UUID.
data_volume() {
	local dev
	"$VC" format "$1" --size 32M --key-file "$W/pass" --batch --pbkdf pbkdf2 \
		--pbkdf-force-iterations 1000 >/dev/null || die "volcrypt format of $1 failed"
	dev=$("$VC" open "$1" "$NAME-host" --backend fuse --key-file "$W/pass") ||
		die "volcrypt open of $1 failed"
	printf '%s' "$2" | dd of="$dev" bs=512 conv=sync oflag=direct status=none ||
		die "writing the marker of $1 failed"
	"$VC" close "$NAME-host" || die "volcrypt close failed"
	"$VC" dump "$1" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["uuid"])'
}
# data: a key file; ask: no key file, so its unit asks through
# systemd-ask-password (2 tries), answered on the serial console.
DATA_MARKER="volcrypt-systemd-marker-$RANDOM$RANDOM"
ASK_MARKER="volcrypt-systemd-asked-$RANDOM$RANDOM"
DATA_UUID=$(data_volume "$W/data.img" "$DATA_MARKER")
ASK_UUID=$(data_volume "$W/ask.img" "$ASK_MARKER")
PATH_MARKER="volcrypt-systemd-bypath-$RANDOM$RANDOM"
data_volume "$W/bypath.img" "$PATH_MARKER" >/dev/null
drive() {
	printf '%s\n' -drive "file=$1,format=raw,if=virtio,cache=unsafe"
}
SD_APPEND="root=/dev/vda rootfstype=ext4 rw init=/usr/lib/systemd/systemd systemd.show_status=1"
SD_APPEND+=" systemd.log_level=info systemd.log_target=console systemd.default_standard_error=tty panic=-1"

# Without udevd (its socket left over from the initramfs): the UUID= entries,
# one of them asked on the console.
stage_systemd_root "$W/sdroot" "$W/sdroot.ext4" 0 \
	"$(printf 'data UUID=%s /etc/data.key\nask UUID=%s none tries=2\n' "$DATA_UUID" "$ASK_UUID")" \
	"data ask"
mapfile -t BOOT_EXTRA < <(drive "$W/data.img"; drive "$W/ask.img")
check "systemd as init, no udevd: volcrypt-generator's units open both UUID= entries, the probe reads them" \
	boot systemd "$W/plain.img" "$W/sdroot.ext4" "$SD_APPEND" \
	--fail "$BOOT_FAILED|Freezing execution" \
	--expect 'Passphrase for ask \(UUID=[^)]*\):' --send-file "$W/wrong" \
	--expect 'Passphrase for ask \(UUID=[^)]*\):' --send-file "$W/pass" \
	--expect "boot-test: systemd data marker $DATA_MARKER" \
	--expect "boot-test: systemd ask marker $ASK_MARKER" \
	--expect 'boot-test: systemd data closed at shutdown' \
	--expect 'boot-test: systemd ask closed at shutdown'
check "... systemd ran the generated units" \
	eval "grep -q 'volcrypt volume data' '$W/serial-systemd.log' && grep -q 'volcrypt volume ask' '$W/serial-systemd.log'"
check "... the asking unit took the wrong passphrase as such and asked again" \
	test "$(grep -c 'Passphrase for ask (UUID=' "$W/serial-systemd.log")" -ge 2

# With udevd: a UUID= entry and one by path, whose unit waits for udev's device unit.
stage_systemd_root "$W/sdroot-udev" "$W/sdroot-udev.ext4" 1 \
	"$(printf 'data UUID=%s /etc/data.key\nbypath /dev/vdc /etc/data.key\n' "$DATA_UUID")" \
	"data bypath"
mapfile -t BOOT_EXTRA < <(drive "$W/data.img"; drive "$W/bypath.img")
check "systemd as init with udevd: the UUID= and the path entries opened, the probe reads them" \
	boot systemd-udev "$W/plain.img" "$W/sdroot-udev.ext4" "$SD_APPEND" \
	--fail "$BOOT_FAILED|Freezing execution" \
	--expect "boot-test: systemd data marker $DATA_MARKER" \
	--expect "boot-test: systemd bypath marker $PATH_MARKER" \
	--expect 'boot-test: systemd data closed at shutdown' \
	--expect 'boot-test: systemd bypath closed at shutdown'
BOOT_EXTRA=()
check "... the path entry's unit waited for udev's device unit" \
	grep -q 'Found device dev-vdc.device' "$W/serial-systemd-udev.log"
if [ -n "$KO" ]; then
	check "... every volume of both boots through our kernel target, loaded by modprobe" \
		eval "grep -q '^boot-test: systemd data backend volcrypt' '$W/serial-systemd.log' &&
		      grep -q '^boot-test: systemd ask backend volcrypt' '$W/serial-systemd.log' &&
		      grep -q '^boot-test: systemd data backend volcrypt' '$W/serial-systemd-udev.log' &&
		      grep -q '^boot-test: systemd bypath backend volcrypt' '$W/serial-systemd-udev.log'"
fi
echo "boot: took $(($(date +%s) - t_start)) s"
echo "boot: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
