/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Foreign signature detection and wiping through libblkid. */
#ifndef LIBVOL_PROBE_H
#define LIBVOL_PROBE_H

#include <stddef.h>

#include "device.h"

/*
 * Look for filesystems, RAID/LVM/LUKS superblocks and partition tables on
 * @dev.  Returns 1 and a description in @what if something is there,
 * 0 if the target looks empty, or -errno.
 */
int vol_probe_signatures(struct vol_device *dev, char *what, size_t what_len);

/* Erase every signature libblkid can find (magic bytes only). */
int vol_probe_wipe(struct vol_device *dev);

#endif
