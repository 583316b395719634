#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What the host-side VM scripts (run.sh, boot/run.sh, ecryptfs_tests_build.sh)
# need from the machine.  Sourced; the sourcing script defines die and note.

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
