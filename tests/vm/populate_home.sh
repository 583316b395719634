#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# populate_home.sh DIR USER [NFILES]: a plain home directory with the kinds
# of entries a home holds, for the `volcrypt home migrate` tests: NFILES
# small files (150), a 1 MB binary, hard links (within and across
# directories), symlinks (one dangling), a sparse file, a user xattr, an
# ACL, a private file, a setgid directory, a fifo, an entry owned by root,
# and nanosecond times.  Needs GNU coreutils, setfattr, setfacl.
set -e
d=$1
user=$2
n=${3:-150}
mkdir -p "$d/docs/deep/er" "$d/.config/app" "$d/empty"
for ((i = 1; i <= n; i++)); do
	printf 'file %s of %s\n' "$i" "$user" >"$d/docs/f$i.txt"
done
head -c 1000000 /dev/urandom >"$d/docs/deep/er/big.bin"
ln "$d/docs/f1.txt" "$d/hardlink-to-f1"
ln "$d/docs/deep/er/big.bin" "$d/.config/big-again"
ln -s docs/f2.txt "$d/symlink"
ln -s /nonexistent/target "$d/dangling"
truncate -s 20M "$d/sparse.img"
printf 'data in the middle' | dd of="$d/sparse.img" bs=1 seek=$((9 << 20)) conv=notrunc status=none
setfattr -n user.tag -v "hello xattr" "$d/docs/f3.txt"
setfacl -m u:root:rw "$d/docs/f4.txt"
printf 'secret\n' >"$d/.config/app/token"
chmod 600 "$d/.config/app/token"
mkfifo "$d/fifo"
chown -R "$user:" "$d"
chmod 2750 "$d/docs/deep"
chown root: "$d/docs/f5.txt"
touch -h -d '2001-02-03 04:05:06.123456789' "$d/symlink" "$d/docs/f6.txt"
touch -d '1999-12-31 23:59:59.5' "$d/docs/deep"
