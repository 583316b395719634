/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Target access.  All writes go through pwrite() + fdatasync() so that the
 * crash tests (tests/cli/crashpoint.c) can interrupt every durable step.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device.h"
#include "internal.h"

static int device_size(int fd, const struct stat *st, uint64_t *size)
{
	if (S_ISREG(st->st_mode)) {
		*size = (uint64_t)st->st_size;
		return 0;
	}
	if (ioctl(fd, BLKGETSIZE64, size) < 0)
		return -errno;
	return 0;
}

static int open_checked(const char *path, unsigned flags, struct stat *st)
{
	int mode = (flags & VOL_DEV_WRITE) ? O_RDWR : O_RDONLY;
	int fd;

	if (stat(path, st) < 0)
		return -errno;
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		vol_err("%s is not a block device or regular file", path);
		return -ENODEV;
	}
	/* O_EXCL on a block device fails while it is mounted or mapped. */
	if (S_ISBLK(st->st_mode) && (flags & VOL_DEV_WRITE) && !(flags & VOL_DEV_SHARED))
		mode |= O_EXCL;
	fd = open(path, mode | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fd;
}

int vol_device_open(const char *path, unsigned flags, struct vol_device **out)
{
	struct vol_device *dev;
	struct stat st;
	int fd, r;

	fd = open_checked(path, flags, &st);
	if (fd < 0) {
		if (fd == -EBUSY)
			vol_err("%s is in use", path);
		return fd;
	}
	if ((flags & VOL_DEV_WRITE) && !(flags & VOL_DEV_NOLOCK) &&
	    flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		vol_err("%s is being updated by another process", path);
		close(fd);
		return r;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev || !(dev->path = strdup(path))) {
		free(dev);
		close(fd);
		return -ENOMEM;
	}
	dev->fd = fd;
	dev->writable = !!(flags & VOL_DEV_WRITE);
	dev->is_block = S_ISBLK(st.st_mode);
	r = device_size(fd, &st, &dev->size);
	if (r) {
		vol_device_close(dev);
		return r;
	}
	*out = dev;
	return 0;
}

void vol_device_close(struct vol_device *dev)
{
	if (!dev)
		return;
	close(dev->fd); /* also drops the flock */
	free(dev->path);
	free(dev);
}

int vol_device_read(struct vol_device *dev, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(dev->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* past the end: a truncated target */
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int vol_device_write(struct vol_device *dev, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!dev->writable)
		return -EROFS;
	while (len) {
		ssize_t n = pwrite(dev->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int vol_device_zero(struct vol_device *dev, uint64_t off, uint64_t len)
{
	const size_t chunk = 1 << 20;
	uint8_t *zero = calloc(1, chunk);
	int r = 0;

	if (!zero)
		return -ENOMEM;
	while (len && !r) {
		size_t n = len < chunk ? (size_t)len : chunk;

		r = vol_device_write(dev, off, zero, n);
		off += n;
		len -= n;
	}
	free(zero);
	return r;
}

int vol_device_sync(struct vol_device *dev)
{
	if (fdatasync(dev->fd) < 0)
		return -errno;
	return 0;
}
