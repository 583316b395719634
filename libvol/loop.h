/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loop devices through the loop ioctls (no losetup). */
#ifndef LIBVOL_LOOP_H
#define LIBVOL_LOOP_H

#include <stddef.h>
#include <stdint.h>

#define VOL_LOOP_READ_ONLY 0x1
#define VOL_LOOP_DIRECT_IO 0x2   /* O_DIRECT to the backing file */

/*
 * Attach @path to a free loop device with logical block size @block_size
 * (512 or 4096); the device path goes to @dev.  Returns 0 or -errno.
 */
int vol_loop_attach(const char *path, unsigned flags, uint32_t block_size,
		    char *dev, size_t dev_len);

/*
 * Make @dev detach itself at its last close.  Only useful once something
 * (a dm table) holds it open: set at attach time, the attach's own close
 * would already detach it.
 */
int vol_loop_set_autoclear(const char *dev);

/* Detach @dev: -EBUSY while something (a mount, a process) holds it open. */
int vol_loop_detach(const char *dev);

/* 1 if @dev is attached to a backing file, 0 if free, or -errno. */
int vol_loop_is_attached(const char *dev);

/*
 * 1 if the loop device @dev (a path or a name such as "loop3") is
 * attached to @file, as the kernel names the backing file (an absolute
 * path with the links resolved); 0 otherwise.
 */
int vol_loop_backs(const char *dev, const char *file);

/* 1 with its path in @dev if some loop device is attached to @file (as above); else 0. */
int vol_loop_find(const char *file, char *dev, size_t dev_len);

#endif
