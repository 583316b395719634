/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PLACEHOLDER until the eCryptfs glue lands (branch ecryptfs-glue). */
#include <errno.h>
#include "home_ecryptfs.h"
int vol_ecryptfs_mount(const uint8_t *mk, size_t mk_len, const char *lower_dir,
		       const char *mount_point)
{
	(void)mk; (void)mk_len; (void)lower_dir; (void)mount_point;
	return -EOPNOTSUPP;
}
int vol_ecryptfs_umount(const char *mount_point)
{
	(void)mount_point;
	return -EOPNOTSUPP;
}
int vol_ecryptfs_is_mounted(const char *mount_point)
{
	(void)mount_point;
	return 0;
}
