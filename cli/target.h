/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TARGET given as "UUID=<uuid>": the block device that holds that volume
 * (libvol's vol_find_uuid() scans the block devices; libblkid does not
 * know our format).
 */
#ifndef VOLCRYPT_TARGET_H
#define VOLCRYPT_TARGET_H

#include <stddef.h>

/* The prefix that names a volume by UUID, as in crypttab and fstab. */
#define TARGET_UUID_PREFIX "UUID="

/*
 * If @spec starts with "UUID=", writes the device that holds the volume
 * to @path (else copies @spec).  Returns 0, or an exit status after the
 * error line: 1 (not a UUID), 4 (no such volume, or on two devices).
 */
int target_resolve(const char *spec, char *path, size_t path_len);

#endif /* VOLCRYPT_TARGET_H */
