#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fetches and builds the eCryptfs kernel tests of ecryptfs-utils
# (tests/kernel, run by tests/vm/t_ecryptfs_kernel.sh in the VM).
#
#   tests/vm/ecryptfs_tests_build.sh BUILD_DIR
#
# Result: BUILD_DIR/ecryptfs-tests/tests/ -- upstream's run_tests.sh,
# lib/etl_funcs.sh, lib/etl-add-passphrase-key-to-keyring, kernel/*.sh,
# kernel/tests.rc and every kernel/NAME/test program -- plus a stamp file.
# Nothing else of ecryptfs-utils is built: the key helper links against
# Debian's libecryptfs1, the test programs need only libc.
#
# The source is the upstream tarball that `apt-get source --download-only
# ecryptfs-utils` fetches.  The deb-src entries are derived from the
# machine's own Debian entries (deb822 .sources and one-line .list files)
# but kept in a private apt configuration under BUILD_DIR, with their own
# package lists: the machine's apt configuration and lists are not touched,
# and the download needs no root.  The tarball is checked against the
# SHA-256 of the .dsc.  Cache: a second run with the same tarball and the
# same version of this script does nothing; a run with the tarball but no
# (or a stale) build rebuilds without downloading.
#
# Missing build tools or libraries: as root they are installed with
# apt-get (they are in the Makefile's DEB_VM_PKGS, so `make deps` has them
# already); otherwise the script stops with the package list.
set -euo pipefail

SRC_PKG=ecryptfs-utils
# What the build needs (also in the Makefile's DEB_VM_PKGS): a compiler,
# the library the key helper links to, apt-get and tar.
BUILD_PKGS=(gcc libc6-dev libecryptfs1 apt tar gzip)

die() {
	echo "ecryptfs-tests: error: $*" >&2
	exit 1
}

note() {
	echo "ecryptfs-tests: $*"
}

[ $# -eq 1 ] || {
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
}
mkdir -p "$1"
BUILD_ABS=$(cd "$1" && pwd)
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
VM_DIR=$(dirname "$SELF")
# shellcheck source=tests/vm/host.sh
. "$VM_DIR/host.sh"
TOP=$BUILD_ABS/ecryptfs-utils   # downloads, private apt state, unpacked tree
OUT=$BUILD_ABS/ecryptfs-tests   # what run.sh stages into the VM
STAMP=$OUT/.stamp
ARCH_LIBDIR=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBECRYPTFS=/usr/lib/$ARCH_LIBDIR/libecryptfs.so.1

# ------------------------------------------------------------ prerequisites

missing_prereqs() {
	command -v gcc >/dev/null || echo gcc
	[ -f /usr/include/stdio.h ] || echo "C library headers"
	[ -e "$LIBECRYPTFS" ] || echo "$LIBECRYPTFS"
	command -v apt-get >/dev/null || echo apt-get
	command -v tar >/dev/null || echo tar
	command -v sha256sum >/dev/null || echo sha256sum
}

# ------------------------------------------------------------ fetching

# deb-src twins of the machine's enabled Debian archive entries, in deb822.
# A stanza (or line) is kept if it is of type deb and its URI is a Debian
# archive (…/debian or …/debian-security): other repositories rarely
# publish sources, and a missing Sources index would fail apt-get update.
src_entries() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
		function flush() {
			if (types ~ /(^|[ \t])deb([ \t]|$)/ && uris ~ /\/debian(-security)?\/?([ \t]|$)/ &&
			    enabled !~ /^[ \t]*no/) {
				print "Types: deb-src"
				print "URIs: " uris
				print "Suites: " suites
				print "Components: " comps
				if (signed != "") print "Signed-By: " signed
				print ""
			}
			types = uris = suites = comps = signed = enabled = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		{
			key = tolower($1); sub(/:$/, "", key)
			val = $0; sub(/^[^:]*:[ \t]*/, "", val)
			if (key == "types") types = val
			else if (key == "uris") uris = val
			else if (key == "suites") suites = val
			else if (key == "components") comps = val
			else if (key == "signed-by") signed = val
			else if (key == "enabled") enabled = tolower(val)
		}
		END { flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# deb [options] URI SUITE COMPONENT...
		awk '$1 == "deb" {
			i = 2; opts = ""
			if ($2 ~ /^\[/) {
				while (i <= NF && $i !~ /\]$/) { opts = opts " " $i; i++ }
				opts = opts " " $i; i++
			}
			if ($i !~ /\/debian(-security)?\/?$/) next
			signed = ""
			if (match(opts, /signed-by=[^ \]]*/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
			print "Types: deb-src"
			print "URIs: " $i
			print "Suites: " $(i + 1)
			c = ""; for (j = i + 2; j <= NF; j++) c = c (c == "" ? "" : " ") $j
			print "Components: " c
			if (signed != "") print "Signed-By: " signed
			print ""
		}' "$f"
	done
}

# apt-get with the private configuration: only the deb-src entries, lists
# and cache under $TOP/apt.
APT_OPTS=()
private_apt() {
	local a=$TOP/apt
	mkdir -p "$a/sources.list.d" "$a/lists/partial" "$a/cache/archives/partial" "$a/preferences.d"
	src_entries >"$a/sources.list.d/deb-src.sources"
	[ -s "$a/sources.list.d/deb-src.sources" ] ||
		die "no Debian archive entry in /etc/apt/sources.list{,.d} to derive a deb-src entry from"
	APT_OPTS=(-o "Dir::Etc::SourceList=/dev/null"
		-o "Dir::Etc::SourceParts=$a/sources.list.d"
		-o "Dir::Etc::Preferences=/dev/null"
		-o "Dir::Etc::PreferencesParts=$a/preferences.d"
		-o "Dir::State::Lists=$a/lists"
		-o "Dir::Cache=$a/cache"
		-o "Dir::State::status=/var/lib/dpkg/status"
		-o "Debug::NoLocking=1"
		-o "APT::Sandbox::User=$(id -un)")
}

# The upstream tarball's name and SHA-256, from the .dsc.
dsc_orig() {
	awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 }
		on && $3 ~ /\.orig\.tar\.(gz|xz|bz2)$/ { print $1, $3; exit }' "$1"
}

newest_dsc() {
	find "$1" -maxdepth 1 -name "${SRC_PKG}_*.dsc" | sort -V | tail -n1
}

fetch() {
	local dl=$TOP/dl dsc sum name log
	mkdir -p "$dl"
	dsc=$(newest_dsc "$dl")
	if [ -n "$dsc" ] && read -r sum name < <(dsc_orig "$dsc") && [ -f "$dl/$name" ] &&
		echo "$sum  $dl/$name" | sha256sum -c --status; then
		ORIG=$dl/$name
		note "cached: $(basename "$ORIG")"
		return 0
	fi
	private_apt
	note "apt-get update (deb-src entries: $TOP/apt/sources.list.d/deb-src.sources)"
	apt-get "${APT_OPTS[@]}" -q update >"$TOP/apt-update.log" 2>&1 ||
		die "apt-get update failed:"$'\n'"$(tail -n 20 "$TOP/apt-update.log")"
	note "apt-get source --download-only $SRC_PKG"
	log=$TOP/apt-source.log
	# Only the .dsc and the upstream tarball matter here: the Debian
	# packaging tarball is not used (its absence from a mirror is noted,
	# not fatal); the tarball is checked against the .dsc below.
	if ! (cd "$dl" && apt-get "${APT_OPTS[@]}" -q source --download-only "$SRC_PKG") >"$log" 2>&1; then
		note "apt-get source reported errors (checking what it fetched):"
		grep -E '^(E|W):' "$log" | sed 's/^/    /' || true
	fi
	dsc=$(newest_dsc "$dl")
	[ -n "$dsc" ] || die "apt-get source fetched no .dsc for $SRC_PKG:"$'\n'"$(tail -n 20 "$log")"
	read -r sum name < <(dsc_orig "$dsc") || die "$dsc names no upstream tarball"
	[ -f "$dl/$name" ] || die "apt-get source did not fetch $name:"$'\n'"$(tail -n 20 "$log")"
	echo "$sum  $dl/$name" | sha256sum -c --status ||
		die "$name does not match the SHA-256 of $(basename "$dsc")"
	ORIG=$dl/$name
	note "fetched $(basename "$ORIG") (SHA-256 checked against $(basename "$dsc"))"
}

# ------------------------------------------------------------ building

# Upstream's code, built as upstream builds it: its warnings are not ours
# to fix (-w).
CFLAGS_TESTS=(-O2 -g -D_GNU_SOURCE -w -pthread)

# Programs of tests/kernel: the noinst_PROGRAMS of its Makefile.am.
kernel_programs() {
	awk '/^noinst_PROGRAMS/ { on = 1 }
		on { for (i = 1; i <= NF; i++) if ($i ~ /\/test$/) print $i
		     if ($0 !~ /\\$/) on = 0 }' "$1/tests/kernel/Makefile.am"
}

build() {
	local tree=$TOP/tree src p tmp
	rm -rf "$tree" "$OUT"
	mkdir -p "$tree"
	tar -xf "$ORIG" -C "$tree"
	src=$(find "$tree" -mindepth 1 -maxdepth 1 -type d | head -n1)
	[ -f "$src/tests/run_tests.sh" ] || die "$(basename "$ORIG") has no tests/run_tests.sh"
	tmp=$OUT.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp/tests/lib" "$tmp/tests/kernel"

	# The only change to upstream: lp-509180 includes <attr/xattr.h>, which
	# libattr dropped (2.4.48) in favour of glibc's <sys/xattr.h>.
	sed -i 's|#include <attr/xattr.h>|#include <sys/xattr.h>|' "$src/tests/kernel/lp-509180/test.c"

	for p in $(kernel_programs "$src"); do
		mkdir -p "$tmp/tests/kernel/$(dirname "$p")"
		gcc "${CFLAGS_TESTS[@]}" -o "$tmp/tests/kernel/$p" "$src/tests/kernel/$p.c" \
			-l:"$(basename "$LIBECRYPTFS")" -Wl,--as-needed ||
			die "cannot build tests/kernel/$p"
	done
	# The key helper of etl_funcs.sh, against Debian's libecryptfs1 (the
	# header is the tarball's: the same version).
	gcc "${CFLAGS_TESTS[@]}" -I"$src/src/include" -o "$tmp/tests/lib/etl-add-passphrase-key-to-keyring" \
		"$src/tests/lib/etl_add_passphrase_key_to_keyring.c" "$LIBECRYPTFS" ||
		die "cannot build tests/lib/etl-add-passphrase-key-to-keyring"

	cp "$src/tests/run_tests.sh" "$tmp/tests/"
	cp "$src/tests/lib/etl_funcs.sh" "$tmp/tests/lib/"
	cp "$src/tests/kernel/tests.rc" "$src"/tests/kernel/*.sh "$tmp/tests/kernel/"
	# tests.rc lists xattr.sh as safe, but upstream's Makefile.am leaves
	# it out of the tarball (xattr/test.c is there): ours runs that program
	# the way the other kernel tests run theirs (tests/vm/ecryptfs/).
	for p in "$VM_DIR"/ecryptfs/*.sh; do
		[ -f "$p" ] || continue
		[ -e "$tmp/tests/kernel/$(basename "$p")" ] ||
			cp "$p" "$tmp/tests/kernel/$(basename "$p")"
	done
	chmod 0755 "$tmp/tests/run_tests.sh" "$tmp"/tests/kernel/*.sh
	note "built $(kernel_programs "$src" | wc -l) test programs and the key helper"
	stamp >"$tmp/.stamp"
	mv "$tmp" "$OUT"
}

# What the build depends on: this script, our additions, the tarball.
stamp() {
	cat "$SELF" "$VM_DIR"/ecryptfs/*.sh 2>/dev/null | sha256sum | cut -d' ' -f1
	basename "$ORIG"
}

main() {
	ensure_packages missing_prereqs "${BUILD_PKGS[@]}"
	fetch
	if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp)" ]; then
		note "up to date: $OUT"
		return 0
	fi
	build
	note "ready: $OUT"
}

main
