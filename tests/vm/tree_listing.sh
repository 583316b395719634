#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tree_listing.sh DIR: the metadata and contents of every entry under DIR,
# in a stable order, so that two trees can be compared with cmp (used by
# the `volcrypt home migrate` tests on the host and in the VM):
#   - non-directories: path, type, mode, owner, group, size, links, symlink
#     target, mtime (ns); directories the same without the size (it depends
#     on how the names are encoded: encrypted names are longer);
#   - sha256 of every regular file;
#   - xattrs and ACLs (getfattr, symlinks not followed);
#   - allocated blocks of the files named sparse* (holes kept);
#   - the groups of paths that share an inode (hard links).
# TREE_LISTING_ECRYPTFS=1: what eCryptfs keeps: times to the second only, and
# no holes (it allocates them), so no block counts.
# Needs GNU find, getfattr, sha256sum.
set -o pipefail
cd "$1" || exit 1
times() {
	if [ "${TREE_LISTING_ECRYPTFS:-0}" = 1 ]; then
		sed -E 's/ ([0-9]+)\.[0-9]+$/ \1/'
	else
		cat
	fi
}
find . -mindepth 1 ! -type d -printf '%P %y %m %U %G %s %n [%l] %T@\n' | times | sort &&
	find . -mindepth 1 -type d -printf '%P %y %m %U %G %n %T@\n' | times | sort &&
	find . -mindepth 1 -type f -print0 | sort -z | xargs -0r sha256sum &&
	{ getfattr -R -h -d -m - --absolute-names . 2>/dev/null || true; } |
	awk '/^# file: /{f=$3; next} NF{print f, $0}' | sort &&
	{ [ "${TREE_LISTING_ECRYPTFS:-0}" = 1 ] ||
		find . -mindepth 1 -name 'sparse*' -printf '%P blocks=%b\n' | sort; } &&
	find . -mindepth 1 -type f -links +1 -printf '%i %P\n' |
	awk '{g[$1] = g[$1] " " $2} END{for (i in g) print g[i]}' |
	while read -r -a names; do printf '%s\n' "${names[@]}" | sort | tr '\n' ' '; echo; done |
	sort
