#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What the host-side VM scripts (run.sh, boot/run.sh, ecryptfs_tests_build.sh)
# need from the machine, and staging a root filesystem from it.  Sourced; the sourcing script defines die and note.

# newest_kernel: the newest version with both /boot/vmlinuz-VER and
# /lib/modules/VER/modules.dep (sort -V: 6.1.0-10 after 6.1.0-9); never a
# hard-coded version.
newest_kernel() {
	local v best=""
	for v in $(find /lib/modules -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V); do
		if [ -f "/boot/vmlinuz-$v" ] && [ -f "/lib/modules/$v/modules.dep" ]; then
			best=$v
		fi
	done
	printf '%s' "$best"
}

# ensure_packages CHECK PKG...: CHECK prints what is missing, a line each.
# Nothing missing: done.  Else, as root, apt-get installs PKG... and CHECK
# must then find nothing; not root, or still missing: die, naming what.
# Never a silent skip.
ensure_packages() {
	local check=$1 missing
	shift
	missing=$("$check" | paste -sd, -)
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || die "missing: $missing. As root: apt-get install $*"
	note "missing: $missing; installing $*"
	apt-get update -qq || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
		die "apt-get install $* failed"
	missing=$("$check" | paste -sd, -)
	[ -z "$missing" ] || die "still missing after apt-get install: $missing"
}

# Staging a root filesystem (an initramfs, a VM's root) from host files:
# STAGE is its directory; STAGE_LIBDIR, if set, the build's library
# directory (our libraries, staged with our programs, not by copy_libs).

# copy_in SRC DEST: DEST is the path inside STAGE; symlinks followed.
copy_in() {
	[ -e "$STAGE$2" ] && return 0
	mkdir -p "$(dirname "$STAGE$2")"
	cp -L --preserve=mode "$1" "$STAGE$2"
}

# copy_libs BINARY: every shared library ldd lists, and the dynamic loader,
# at the same path as on the host.  Libraries from STAGE_LIBDIR are
# skipped: they are staged next to our binaries.  A missing one: die.
copy_libs() {
	local out lib
	# Our programs find libvol in STAGE_LIBDIR only at run time.
	out=$(LD_LIBRARY_PATH=${STAGE_LIBDIR:-} ldd "$1" 2>&1) || return 0 # static binary
	if grep -q 'not found' <<<"$out"; then
		die "$1 needs libraries that are not installed:"$'\n'"$(grep 'not found' <<<"$out")"
	fi
	while read -r lib; do
		case $lib in
		"${STAGE_LIBDIR:-/nonexistent}"/*) ;;
		*) copy_in "$lib" "$lib" ;;
		esac
	done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out")
}

# copy_bin PROGRAM [DEST]: a host program with its libraries.
copy_bin() {
	copy_in "$1" "${2:-$1}"
	copy_libs "$1"
}
