#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# xattr.sh: runs ecryptfs-utils' tests/kernel/xattr/test (setxattr,
# listxattr, getxattr and removexattr through eCryptfs) on a file of a fresh
# eCryptfs mount, then checks the mount comes back.
#
# Written for volcrypt: ecryptfs-utils' tests.rc lists xattr.sh in the safe
# category and its tarball has xattr/test.c, but tests/kernel/Makefile.am
# does not distribute xattr.sh.  tests/vm/ecryptfs_tests_build.sh copies
# this script into the built tests/kernel/ when the tarball has none.  Same
# structure as the upstream kernel tests, with their helpers (etl_funcs.sh).

# shellcheck disable=SC1091,SC2317 # etl_funcs.sh is upstream's; trap calls test_cleanup
test_script_dir=$(dirname "$0")
rc=1
test_dir=""

. "${test_script_dir}/../lib/etl_funcs.sh"

test_cleanup()
{
	etl_remove_test_dir "$test_dir"
	etl_umount
	etl_lumount
	etl_unlink_keys
	exit "$rc"
}
trap test_cleanup 0 1 2 3 15

# TEST
etl_add_keys || exit
etl_lmount || exit
etl_mount_i || exit
test_dir=$(etl_create_test_dir) || exit
test_file="${test_dir}/test_file"

echo "xattr test file" >"$test_file" || exit

xattr_opt=""
if etl_is_mount_opt_set "ecryptfs_xattr_metadata"; then
	xattr_opt="-x"
fi

# shellcheck disable=SC2086 # $xattr_opt: no word or one
"${test_script_dir}/xattr/test" $xattr_opt "$test_file" || exit
rm -f "$test_file" || exit

etl_umount || exit
etl_mount_i || exit

rc=0
exit
