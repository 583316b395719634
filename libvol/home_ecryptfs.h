/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PLACEHOLDER until the eCryptfs glue lands (branch ecryptfs-glue). */
#ifndef LIBVOL_HOME_ECRYPTFS_H
#define LIBVOL_HOME_ECRYPTFS_H
#include <stddef.h>
#include <stdint.h>
int vol_ecryptfs_mount(const uint8_t *mk, size_t mk_len, const char *lower_dir,
		       const char *mount_point);
int vol_ecryptfs_umount(const char *mount_point);
int vol_ecryptfs_is_mounted(const char *mount_point);
#endif
