#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The VM test stage.  Boots the newest installed Debian kernel under qemu
# (TCG: KVM hangs on these machines) with a busybox initramfs that holds
# our binaries, the tools and kernel modules the tests need, and the test
# scripts; /init runs every tests/vm/t_*.sh in the first boot.
#
# Power cuts: each selected pc1_NAME.sh runs at the end of a boot and resets
# the VM (sysrq b); the next boot, on the same disks, runs pc2_NAME.sh.  So
# N pairs take N+1 boots (boot K runs pc2 of pair K-1, then pc1 of pair K);
# no pair, one boot.  Every boot has two persistent virtio disks: /dev/vda
# for the tests (VOLCRYPT_VM_DISK_MB) and a 1 MiB state disk for KEY=VALUE
# lines (state.sh).  Each boot prints "vm: boot K: N passed, N failed";
# this script adds them up (with its own checks: each pc1 boot ended in a
# reset) into "vm: N passed, N failed".  Exit status: 0 only if every boot
# gave its line and nothing failed (a crash, an oops, a kernel warning or a
# timeout in any boot fails).
#
#   tests/vm/run.sh BUILD_DIR
#
# Optional environment (see tests/vm/README.md):
#   VOLCRYPT_VM_TESTS         globs of scripts to run (default "t_*.sh pc1_*.sh";
#                             a pc1_NAME.sh selects the pair pc1_NAME/pc2_NAME)
#   VOLCRYPT_VM_DISK_MB       size of the test disk /dev/vda in MiB (256, sparse)
#   VOLCRYPT_VM_KVM=1         use KVM instead of TCG
#   VOLCRYPT_VM_TIMEOUT       limit for each boot in seconds (600)
#   VOLCRYPT_VM_TEST_TIMEOUT  limit per test script in seconds (300)
#   VOLCRYPT_VM_MEM, _SMP     guest memory and CPUs (2G, 2)
#   VOLCRYPT_VM_APPEND        extra kernel command line
#   VOLCRYPT_VM_KO            extra .ko files (default: dm-target/*.ko if built)
#   VOLCRYPT_VM_EXTRA_BINS    extra host programs, copied to /opt/volcrypt/bin
#   VOLCRYPT_VM_KEEP=DIR      keep initramfs, staging tree, disk images and
#                             serial logs (serial-K.log a boot) in DIR
#   VOLCRYPT_VM_SHELL=1       interactive shell after the tests of each boot
set -euo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_DIR=$(cd "$VM_DIR/../.." && pwd)
# What the VM stage needs from Debian, with the packages of tools.list.
VM_PKGS=(qemu-system-x86 linux-image-amd64 busybox-static cpio kmod zstd libc-bin
	coreutils e2fsprogs util-linux fio dmsetup cryptsetup-bin keyutils fuse3 bash acl
	attr rsync findutils)

die() {
	echo "vm: error: $*" >&2
	exit 1
}

note() {
	echo "vm: $*"
}

# shellcheck source=tests/vm/host.sh
. "$VM_DIR/host.sh"

usage() {
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
}

# ------------------------------------------------------------ prerequisites

missing_prereqs() {
	local t
	command -v qemu-system-x86_64 >/dev/null || echo "qemu-system-x86_64"
	[ -n "$(newest_kernel)" ] || echo "a Debian kernel (/boot/vmlinuz-* with /lib/modules)"
	[ -x /bin/busybox ] || echo "busybox"
	for t in cpio depmod ldconfig ldd; do
		PATH=/usr/sbin:/sbin:$PATH command -v "$t" >/dev/null || echo "$t"
	done
	while read -r t; do
		PATH=/usr/sbin:/sbin:$PATH command -v "$t" >/dev/null || echo "$t"
	done < <(list_entries "$VM_DIR/tools.list")
}

# Non-comment, non-empty lines of a list file, inline comments removed.
list_entries() {
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^[[:space:]]*$/d' "$1"
}

# ------------------------------------------------------------ staging files

stage_busybox() {
	local a
	copy_bin /bin/busybox /bin/busybox
	for a in $(/bin/busybox --list); do
		[ -e "$STAGE/bin/$a" ] || ln -s busybox "$STAGE/bin/$a"
	done
	# The kernel's usermode helper and scripts expect these paths.
	mkdir -p "$STAGE/sbin"
	ln -sf /bin/busybox "$STAGE/sbin/modprobe"
	ln -sf /bin/busybox "$STAGE/sbin/insmod"
	ln -sf /bin/busybox "$STAGE/sbin/rmmod"
}

stage_tools() {
	local t path
	while read -r t; do
		path=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$t") || die "tool $t not found"
		copy_bin "$path"
	done < <(list_entries "$VM_DIR/tools.list")
	# Test scripts start with #!/bin/bash; busybox has no bash applet.
	ln -sf /usr/bin/bash "$STAGE/bin/bash"
	[ -f /etc/mke2fs.conf ] && copy_in /etc/mke2fs.conf /etc/mke2fs.conf
	return 0
}

# Our binaries go together into /opt/volcrypt/bin: the CLI finds
# volcrypt-fused next to itself and both find libvol through $ORIGIN.
stage_volcrypt() {
	local f lib
	# libvol.so -> libvol.so.N (the SONAME the binaries ask for)
	lib=$(readlink "$BUILD_ABS/libvol.so") || die "$BUILD_ABS/libvol.so is missing: run make first"
	for f in volcrypt "$lib"; do
		[ -f "$BUILD_ABS/$f" ] || die "$BUILD_ABS/$f is missing: run make first"
	done
	for f in volcrypt volcrypt-fused "$lib"; do
		if [ -f "$BUILD_ABS/$f" ]; then
			copy_bin "$BUILD_ABS/$f" "/opt/volcrypt/bin/$f"
		else
			# Not fatal here: the tests that need it fail loudly in the VM.
			note "warning: $BUILD_ABS/$f is not built; tests using it will fail"
		fi
	done
	for f in ${VOLCRYPT_VM_EXTRA_BINS:-}; do
		[ -f "$f" ] || die "VOLCRYPT_VM_EXTRA_BINS: $f does not exist"
		copy_bin "$f" "/opt/volcrypt/bin/$(basename "$f")"
	done
	stage_helpers
	stage_ecryptfs_tests
	mkdir -p "$STAGE/opt/volcrypt/tests/vm"
	cp "$VM_DIR"/*.sh "$VM_DIR"/*.awk "$STAGE/opt/volcrypt/tests/vm/"
	rm -f "$STAGE/opt/volcrypt/tests/vm/run.sh"
}

# Hook: tests/vm/*.c are small test programs using libvol's public API,
# built here against the build tree with the project's warning flags and
# installed next to volcrypt (they find libvol through $ORIGIN too).
stage_helpers() {
	local c bin
	for c in "$VM_DIR"/*.c; do
		[ -f "$c" ] || continue
		bin=$WORK/bin/$(basename "$c" .c)
		mkdir -p "$WORK/bin"
		# shellcheck disable=SC2046,SC2016 # pkg-config words; $ORIGIN is for ld
		"${CC:-cc}" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla \
			-O2 -I"$TOP_DIR/libvol" $(pkg-config --cflags libgcrypt libkeyutils) \
			-o "$bin" "$c" -L"$BUILD_ABS" -lvol -Wl,-rpath,'$ORIGIN' \
			$(pkg-config --libs libgcrypt libkeyutils) ||
			die "cannot build $c"
		copy_bin "$bin" "/opt/volcrypt/bin/$(basename "$bin")"
	done
}

# Hook: a selected script with the line "# vm-needs: ecryptfs-tests" gets
# ecryptfs-utils' kernel tests (fetched and built under BUILD_DIR by
# ecryptfs_tests_build.sh, cached there) in /opt/ecryptfs-tests/tests,
# with the libraries of their programs and the NSS modules that
# libecryptfs's NSS loads at run time (not in ldd's list).
ECRYPTFS_TESTS=0
stage_ecryptfs_tests() {
	local f nssdir
	[ "$ECRYPTFS_TESTS" = 1 ] || return 0
	"$VM_DIR/ecryptfs_tests_build.sh" "$BUILD_ABS" || die "cannot build the eCryptfs kernel tests"
	mkdir -p "$STAGE/opt/ecryptfs-tests"
	cp -a "$BUILD_ABS/ecryptfs-tests/tests" "$STAGE/opt/ecryptfs-tests/"
	while read -r f; do
		copy_libs "$f"
	done < <(find "$STAGE/opt/ecryptfs-tests" -type f -perm -u+x ! -name '*.sh')
	nssdir=$(LD_LIBRARY_PATH='' ldd "$STAGE/opt/ecryptfs-tests/tests/lib/etl-add-passphrase-key-to-keyring" |
		awk '$1 == "libnss3.so" { sub(/\/[^\/]*$/, "", $3); print $3 }')
	[ -n "$nssdir" ] || die "the eCryptfs key helper does not link libnss3 (through libecryptfs)"
	for f in libsoftokn3.so libfreeblpriv3.so libfreebl3.so; do
		[ -f "$nssdir/$f" ] || die "$nssdir/$f is missing (package libnss3)"
		copy_bin "$nssdir/$f"
		[ ! -f "$nssdir/${f%.so}.chk" ] || copy_in "$nssdir/${f%.so}.chk" "$nssdir/${f%.so}.chk"
	done
	note "eCryptfs kernel tests staged in /opt/ecryptfs-tests"
}

# ------------------------------------------------------------ modules

MODDIR=""
declare -A MOD_SEEN=()
LOAD_LIST=()

mod_norm() {
	local n=${1##*/}
	n=${n%%.ko*}
	printf '%s' "${n//-/_}"
}

# mod_dep_line NAME: the modules.dep line of module NAME ('-' and '_' alike).
mod_dep_line() {
	awk -v n="$1" '{
		m = $1
		sub(/:$/, "", m); sub(/.*\//, "", m); sub(/\.ko.*/, "", m); gsub(/-/, "_", m)
		if (m == n) { print; exit }
	}' "$MODDIR/modules.dep"
}

mod_builtin() {
	awk -v n="$1" '{
		m = $1
		sub(/.*\//, "", m); sub(/\.ko$/, "", m); gsub(/-/, "_", m)
		if (m == n) { found = 1; exit }
	} END { exit !found }' "$MODDIR/modules.builtin"
}

# Modules an alias (e.g. crypto-crc32c in a softdep) stands for.
mod_alias_targets() {
	awk -v a="$1" '$1 == "alias" && $2 == a { print $3 }' "$MODDIR/modules.alias"
}

mod_softdeps_pre() {
	awk -v m="$1" '$1 == "softdep" && $2 == m {
		pre = 0
		for (i = 3; i <= NF; i++) {
			if ($i == "pre:") pre = 1
			else if ($i == "post:") pre = 0
			else if (pre) print $i
		}
	}' "$MODDIR/modules.softdep"
}

# mod_resolve KIND NAME [PARAMS]: queues NAME after its dependencies.
# Returns 1 if the module exists nowhere (not a module, builtin or alias).
mod_resolve() {
	local kind=$1 name=$2 params=${3:-} n line path deps d a i found
	n=$(mod_norm "$name")
	[ -n "${MOD_SEEN[$n]:-}" ] && return 0
	MOD_SEEN[$n]=1
	line=$(mod_dep_line "$n")
	if [ -z "$line" ]; then
		mod_builtin "$n" && return 0
		found=1
		for a in $(mod_alias_targets "$name"); do
			mod_resolve "$kind" "$a" && found=0
		done
		return $found
	fi
	for d in $(mod_softdeps_pre "$n"); do
		mod_resolve "$kind" "$d" || note "warning: soft dependency $d of $n not found"
	done
	path=${line%%:*}
	read -r -a deps <<<"${line#*:}"
	# modules.dep lists the deepest dependencies last: load those first.
	for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
		mod_resolve "$kind" "${deps[i]}"
	done
	copy_in "$MODDIR/$path" "/lib/modules/$KVER/$path"
	LOAD_LIST+=("$kind $path${params:+ $params}")
}

stage_modules() {
	local name params kind ko ver f
	MODDIR=/lib/modules/$KVER
	while read -r name params; do
		kind=required
		if [ "${name#\?}" != "$name" ]; then
			kind=optional
			name=${name#\?}
		fi
		if ! mod_resolve "$kind" "$name" "$params" && [ "$kind" = required ]; then
			die "module $name (tests/vm/modules.list) not found for kernel $KVER"
		fi
	done < <(list_entries "$VM_DIR/modules.list")
	# Hook: out-of-tree modules (dm-target) for the tests to modprobe.
	for ko in ${VOLCRYPT_VM_KO-$(ls "$TOP_DIR"/dm-target/*.ko 2>/dev/null)}; do
		[ -f "$ko" ] || die "VOLCRYPT_VM_KO: $ko does not exist"
		ver=$(modinfo -F vermagic "$ko" | awk '{ print $1 }')
		[ "$ver" = "$KVER" ] || die "$ko is built for kernel '$ver', the VM boots $KVER: rebuild it"
		copy_in "$ko" "/lib/modules/$KVER/extra/$(basename "$ko")"
		note "extra module: $(basename "$ko")"
	done
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[ -f "$MODDIR/$f" ] && copy_in "$MODDIR/$f" "/lib/modules/$KVER/$f"
	done
	# modules.dep & co. for exactly what is staged: modprobe works in the VM.
	depmod -b "$STAGE" "$KVER"
	mkdir -p "$STAGE/etc/volcrypt-vm"
	printf '%s\n' "${LOAD_LIST[@]}" >"$STAGE/etc/volcrypt-vm/modules"
}

# ------------------------------------------------------------ initramfs

stage_base() {
	local d
	for d in bin sbin usr/bin usr/sbin lib lib64 etc proc sys dev tmp run mnt root; do
		mkdir -p "$STAGE/$d"
	done
	# Users of the layered home tests (t_home.sh, pc*_home.sh, b_layering.sh).
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
		'vchome:x:1000:1000::/home/vchome:/bin/sh' \
		'vcecr:x:1001:1001::/home/vcecr:/bin/sh' \
		'vcmig:x:1002:1002::/home/vcmig:/bin/sh' \
		'vcmig2:x:1003:1003::/home/vcmig2:/bin/sh' >"$STAGE/etc/passwd"
	printf '%s\n' 'root:x:0:' 'vchome:x:1000:' 'vcecr:x:1001:' 'vcmig:x:1002:' \
		'vcmig2:x:1003:' >"$STAGE/etc/group"
	copy_in "$VM_DIR/init" /init
	chmod 0755 "$STAGE/init"
}

# The loader finds libraries through a cache built for this tree.
stage_ldcache() {
	local d
	for d in $(cd "$STAGE" && find lib lib64 usr/lib -name '*.so*' -printf '/%h\n' 2>/dev/null | sort -u); do
		echo "$d"
	done >"$STAGE/etc/ld.so.conf"
	ldconfig -r "$STAGE"
}

# select_scripts: expands VOLCRYPT_VM_TESTS in tests/vm into TESTS (the
# first boot's scripts) and PAIRS (NAME of each pc1_NAME.sh/pc2_NAME.sh,
# one boot each more).  Mistakes stop the run before any boot.
select_scripts() {
	local pat f name
	local -A seen=()
	TESTS=() PAIRS=()
	for pat in ${VOLCRYPT_VM_TESTS-t_*.sh pc1_*.sh}; do
		for f in "$VM_DIR"/$pat; do
			[ -f "$f" ] || continue
			name=${f##*/}
			[ -z "${seen[$name]:-}" ] || continue
			seen[$name]=1
			case $name in
			lib.sh | state.sh | run.sh) ;;
			pc1_*)
				[ -f "$VM_DIR/pc2_${name#pc1_}" ] || die "$name has no partner pc2_${name#pc1_}"
				PAIRS+=("${name#pc1_}")
				;;
			pc2_*) die "$name runs after pc1_${name#pc2_}: select that one" ;;
			*) TESTS+=("$name") ;;
			esac
		done
	done
	for name in "${TESTS[@]}" "${PAIRS[@]/#/pc1_}" "${PAIRS[@]/#/pc2_}"; do
		[ -n "$name" ] || continue
		if grep -q '^# vm-needs: ecryptfs-tests$' "$VM_DIR/$name"; then
			ECRYPTFS_TESTS=1
		fi
	done
	[ $((${#TESTS[@]} + ${#PAIRS[@]})) -gt 0 ] ||
		die "no test script matches VOLCRYPT_VM_TESTS='${VOLCRYPT_VM_TESTS-}'"
	BOOTS=1
	[ ${#PAIRS[@]} -eq 0 ] || BOOTS=$((${#PAIRS[@]} + 1))
}

write_config() {
	cat >"$STAGE/etc/volcrypt-vm/config" <<EOF
VM_KVER='$KVER'
VM_TESTS='${TESTS[*]}'
VM_PC_PAIRS='${PAIRS[*]}'
VM_TEST_TIMEOUT='${VOLCRYPT_VM_TEST_TIMEOUT:-300}'
VM_SHELL='${VOLCRYPT_VM_SHELL:-0}'
EOF
}

build_initramfs() {
	stage_base
	stage_busybox
	stage_tools
	stage_volcrypt
	stage_modules
	stage_ldcache
	write_config
	# zstd unpacks faster in the guest; Debian's kernel takes gzip too.
	local compress=(gzip -1)
	command -v zstd >/dev/null && compress=(zstd -q -T0 -3)
	(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
		"${compress[@]}" >"$WORK/initrd.img"
}

# ------------------------------------------------------------ boot

# The persistent disks, made once and attached to every boot of the run:
# sparse raw images, so 256 MiB cost nothing until written.
make_disks() {
	local mb=${VOLCRYPT_VM_DISK_MB:-256}
	[[ $mb =~ ^[1-9][0-9]*$ ]] || die "VOLCRYPT_VM_DISK_MB='$mb' is not a size in MiB"
	truncate -s "${mb}M" "$WORK/disk.img"
	truncate -s 1M "$WORK/state.img"
}

# qemu_cmd K: the command line of boot K.
qemu_cmd() {
	# shellcheck disable=SC2054 # commas belong to qemu's option syntax
	local accel=(-accel tcg,thread=multi -cpu max) disks=() img serial
	[ "${VOLCRYPT_VM_KVM:-0}" = 1 ] && accel=(-accel kvm -cpu host)
	# The disks survive the reset because -no-reboot makes qemu exit on it
	# and the next boot is a new qemu on the same files: whatever qemu had
	# written (raw format: qemu keeps no cache of its own) is in the host's
	# page cache and read back from there.  cache=writeback: the guest sees
	# a volatile write cache, so its kernel sends flushes and FUA as to a
	# real disk (what a power-cut test is about), and qemu turns each flush
	# into an fdatasync of the image.  A flushed write thus survives even a
	# host crash; an acknowledged but unflushed one survives the guest reset
	# too (the host cache is not lost), which a real power cut would not
	# promise: tests must not depend on such writes being lost.  The serial
	# numbers tell /init which disk is which (/sys/block/vd*/serial); the
	# test disk comes first, so it is /dev/vda.
	for img in disk state; do
		serial=volcrypt-data
		[ "$img" = state ] && serial=volcrypt-state
		# shellcheck disable=SC2054 # commas belong to qemu's option syntax
		disks+=(-drive "file=$WORK/$img.img,format=raw,if=none,id=$img,cache=writeback"
			-device "virtio-blk-pci,drive=$img,serial=$serial")
	done
	QEMU=(timeout -k 10 "${VOLCRYPT_VM_TIMEOUT:-600}"
		qemu-system-x86_64 "${accel[@]}" -smp "${VOLCRYPT_VM_SMP:-2}"
		-m "${VOLCRYPT_VM_MEM:-2G}" -nographic -no-reboot -net none "${disks[@]}"
		-kernel "/boot/vmlinuz-$KVER" -initrd "$WORK/initrd.img"
		-append "console=ttyS0 panic=-1 quiet volcrypt_vm.boot=$1 ${VOLCRYPT_VM_APPEND:-}")
}

# boot K: streams the serial console of boot K to stdout, $WORK/serial-K.log
# and $LOG (all boots); notes when /init started and how long the boot took.
boot() {
	local k=$1 line t0 now blog=$WORK/serial-$1.log
	qemu_cmd "$k"
	t0=$EPOCHREALTIME
	INIT_AT[k]="?"
	: >"$blog"
	if [ "${VOLCRYPT_VM_SHELL:-0}" = 1 ]; then
		"${QEMU[@]:4}" | tee -a "$blog" "$LOG"
		return 0
	fi
	while IFS= read -r line; do
		line=${line%$'\r'}
		# Not anchored: the firmware's "Booting from ROM.." precedes it.
		if [ "${INIT_AT[k]}" = "?" ] && [[ $line == *"vm: init "* ]]; then
			now=$EPOCHREALTIME
			INIT_AT[k]=$(awk -v a="$t0" -v b="$now" 'BEGIN { printf "%.1f", b - a }')
		fi
		printf '%s\n' "$line"
		printf '%s\n' "$line" >>"$blog"
		printf '%s\n' "$line" >>"$LOG"
	done < <({ "${QEMU[@]}" </dev/null 2>&1; echo "vm-host: qemu exit status $?"; } |
		sed -u 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g')
	BOOT_S[k]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
}

# ------------------------------------------------------------ verdict

# ------------------------------------------------------------ verdict

# The host's own assertions, counted with the boots' results.
host_ok() {
	HOST_PASSED=$((HOST_PASSED + 1))
	echo "ok   - vm-host: $1"
}

host_fail() {
	HOST_FAILED=$((HOST_FAILED + 1))
	echo "FAIL - vm-host: $1"
	[ $# -lt 2 ] || printf '%s\n' "${@:2}" | head -n 20 | sed 's/^/       /'
}

# Kernel messages that fail a run.  /init checks dmesg in each boot; its
# console is quiet, so of these only what the kernel prints at KERN_ERR and
# above shows up here.  After a pc1 script starts, /init lets every kernel
# message reach the console (that kernel log dies with the reset), so
# that part of the log is checked for all of /init's patterns, on lines
# with a kernel timestamp (not the test's own output).
CONSOLE_BAD='Kernel panic|BUG:|Oops|WARNING: CPU|general protection fault'
KLOG_BAD='WARNING:|BUG:|Oops|general protection|Call Trace:|Kernel panic|UBSAN:|KASAN:|blocked for more than|segfault at|kernel BUG'

# check_boot K: the verdict on boot K; adds its summary to PASSED/FAILED.
# Returns 1 if the boot did not get to its summary or its expected reset.
check_boot() {
	local k=$1 blog=$WORK/serial-$1.log summary qemu_rc problems pc1="" after
	local -a n
	summary=$(grep -E "^vm: boot $k: [0-9]+ passed, [0-9]+ failed\$" "$blog" | tail -n1 || true)
	qemu_rc=$(sed -n 's/^vm-host: qemu exit status //p' "$blog" | tail -n1)
	[ "$k" -le ${#PAIRS[@]} ] && pc1=pc1_${PAIRS[k - 1]}
	problems=$(grep -E "$CONSOLE_BAD" "$blog" || true)
	if [ -n "$pc1" ]; then
		after=$(sed -n "/^vm: powercut: boot $k: /,\$p" "$blog")
		problems+=$'\n'$(grep -E '\[ *[0-9]+\.[0-9]+\]' <<<"$after" | grep -E "$KLOG_BAD" || true)
		problems=$(sed '/^$/d' <<<"$problems" | sort -u)
	fi
	if [ -n "$problems" ]; then
		host_fail "boot $k: no kernel problems on the console" "$problems"
	fi
	if [ -z "$summary" ]; then
		case $qemu_rc in
		124 | 137) host_fail "boot $k: timed out after ${VOLCRYPT_VM_TIMEOUT:-600}s (VOLCRYPT_VM_TIMEOUT)" ;;
		*) host_fail "boot $k: no summary line: the VM crashed or qemu failed (exit status ${qemu_rc:-?})" ;;
		esac
		return 1
	fi
	read -r -a n <<<"${summary#vm: boot "$k": }"
	PASSED=$((PASSED + n[0]))
	FAILED=$((FAILED + n[2]))
	[ -n "$pc1" ] || return 0
	# A pc1 boot must end in the reset: sysrq's own message (printed at any
	# console level) and qemu leaving (-no-reboot) without an error.
	if grep -q "^vm: powercut: boot $k: $pc1 returned" "$blog"; then
		host_fail "boot $k: $pc1 reset the VM" "$(grep "^vm: powercut: boot $k: " "$blog" | tail -n1)"
	elif [ "$qemu_rc" = 0 ] && grep -q 'sysrq: Resetting' <<<"$after" &&
		! grep -q "^vm: boot $k: power off" "$blog"; then
		host_ok "boot $k: $pc1 reset the VM"
	else
		host_fail "boot $k: $pc1 reset the VM (no sysrq reset seen; qemu exit status ${qemu_rc:-?})"
		return 1
	fi
}

verdict() {
	local k bad=0 times=""
	PASSED=0 FAILED=0 HOST_PASSED=0 HOST_FAILED=0
	echo
	for ((k = 1; k <= BOOTS_RUN; k++)); do
		check_boot "$k" || true
	done
	[ "$BOOTS_RUN" -eq "$BOOTS" ] || host_fail "all $BOOTS boots ran (stopped after boot $BOOTS_RUN)"
	PASSED=$((PASSED + HOST_PASSED))
	FAILED=$((FAILED + HOST_FAILED))
	[ "$FAILED" -eq 0 ] || bad=1
	[ "$PASSED" -gt 0 ] || { echo "vm: FAILED: nothing passed"; bad=1; }
	if grep -q '^FAIL' "$LOG"; then
		echo "vm: failures:"
		grep '^FAIL' "$LOG" | sed 's/^/    /'
	fi
	for ((k = 1; k <= BOOTS_RUN; k++)); do
		times+="; boot $k: /init after ${INIT_AT[k]:-?}s, ${BOOT_S[k]:-?}s in all"
	done
	echo "vm: kernel $KVER; initramfs $(du -h "$WORK/initrd.img" | cut -f1) built in ${BUILD_S}s$times;" \
		"whole VM stage $((SECONDS - START))s"
	echo "vm: $PASSED passed, $FAILED failed"
	return $bad
}

main() {
	[ $# -eq 1 ] || usage
	[ -d "$1" ] || die "build directory '$1' does not exist: run make first"
	BUILD_ABS=$(cd "$1" && pwd)
	STAGE_LIBDIR=$BUILD_ABS
	START=$SECONDS
	ensure_packages missing_prereqs "${VM_PKGS[@]}"
	KVER=$(newest_kernel)
	[ -r "/boot/vmlinuz-$KVER" ] || die "/boot/vmlinuz-$KVER is not readable (run as root)"
	if [ -n "${VOLCRYPT_VM_KEEP:-}" ]; then
		WORK=$VOLCRYPT_VM_KEEP
		rm -rf "$WORK"
		mkdir -p "$WORK"
	else
		WORK=$(mktemp -d "${TMPDIR:-/tmp}/volcrypt-vm.XXXXXX")
		trap 'rm -rf "$WORK"' EXIT
	fi
	STAGE=$WORK/root
	LOG=$WORK/serial.log
	mkdir -p "$STAGE"
	select_scripts
	note "kernel $KVER, building the initramfs"
	build_initramfs
	make_disks
	BUILD_S=$((SECONDS - START))
	: >"$LOG"
	INIT_AT=() BOOT_S=()
	for ((BOOTS_RUN = 1; BOOTS_RUN <= BOOTS; BOOTS_RUN++)); do
		note "boot $BOOTS_RUN of $BOOTS ($([ "${VOLCRYPT_VM_KVM:-0}" = 1 ] && echo KVM || echo TCG))"
		boot "$BOOTS_RUN"
		[ "${VOLCRYPT_VM_SHELL:-0}" = 1 ] && continue
		# A boot that did not reach its summary: the rest is not worth its time.
		grep -qE "^vm: boot $BOOTS_RUN: [0-9]+ passed" "$WORK/serial-$BOOTS_RUN.log" || break
	done
	[ "$BOOTS_RUN" -le "$BOOTS" ] || BOOTS_RUN=$BOOTS
	[ "${VOLCRYPT_VM_SHELL:-0}" = 1 ] && return 0
	verdict
}

main "$@"
