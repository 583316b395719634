/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The target: a block device or a regular (image) file. */
#ifndef LIBVOL_DEVICE_H
#define LIBVOL_DEVICE_H

#include <stddef.h>
#include <stdint.h>

struct vol_device {
	int fd;
	int writable;
	int is_block;
	uint64_t size;
	char *path;
};

/* Open flags. */
#define VOL_DEV_WRITE 0x1   /* read-write, exclusive lock for updates */
#define VOL_DEV_SHARED 0x2  /* a mapping holds the block device: no O_EXCL */
#define VOL_DEV_NOLOCK 0x4  /* the caller's client holds the update lock for it */

/*
 * Open @path: must be a regular file or block device (-ENODEV otherwise,
 * -ENOENT if missing).  Writers take an exclusive flock (and O_EXCL on
 * block devices, which the kernel refuses while mounted): -EBUSY if held.
 */
int vol_device_open(const char *path, unsigned flags, struct vol_device **out);
void vol_device_close(struct vol_device *dev);

/* Whole-buffer positional I/O; short transfers become -EIO. */
int vol_device_read(struct vol_device *dev, uint64_t off, void *buf, size_t len);
int vol_device_write(struct vol_device *dev, uint64_t off, const void *buf, size_t len);
/* Write @len zero bytes at @off. */
int vol_device_zero(struct vol_device *dev, uint64_t off, uint64_t len);
/* Make everything written so far durable (fdatasync). */
int vol_device_sync(struct vol_device *dev);

#endif
