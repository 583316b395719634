/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loop devices through the kernel's ioctls: LOOP_CTL_GET_FREE picks a
 * device, LOOP_CONFIGURE binds the file with every setting in one call
 * (no window in which the device exists with the wrong block size or
 * writable), LOOP_CLR_FD unbinds it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"
#include "loop.h"

/* Another process may grab the free device between GET_FREE and CONFIGURE. */
#define LOOP_ATTACH_TRIES 16

static int configure(int loop_fd, int file_fd, unsigned flags, uint32_t block_size)
{
	struct loop_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (uint32_t)file_fd;
	cfg.block_size = block_size;
	if (flags & VOL_LOOP_READ_ONLY)
		cfg.info.lo_flags |= LO_FLAGS_READ_ONLY;
	if (flags & VOL_LOOP_DIRECT_IO)
		cfg.info.lo_flags |= LO_FLAGS_DIRECT_IO;
	if (ioctl(loop_fd, LOOP_CONFIGURE, &cfg) < 0)
		return -errno;
	return 0;
}

static int attach_once(int ctl, int file_fd, unsigned flags, uint32_t block_size,
		       char *dev, size_t dev_len)
{
	int nr, loop_fd, r;

	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	if (nr < 0)
		return -errno;
	snprintf(dev, dev_len, "/dev/loop%d", nr);
	loop_fd = open(dev, ((flags & VOL_LOOP_READ_ONLY) ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (loop_fd < 0)
		return -errno;
	r = configure(loop_fd, file_fd, flags, block_size);
	close(loop_fd);
	return r;
}

int vol_loop_attach(const char *path, unsigned flags, uint32_t block_size,
		    char *dev, size_t dev_len)
{
	int mode = (flags & VOL_LOOP_READ_ONLY) ? O_RDONLY : O_RDWR;
	int ctl, file_fd, r = -EBUSY;

	if (flags & VOL_LOOP_DIRECT_IO)
		mode |= O_DIRECT;
	file_fd = open(path, mode | O_CLOEXEC);
	if (file_fd < 0) {
		r = -errno;
		vol_err("cannot open %s for the loop device: %s", path, vol_strerror(r));
		return r;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		r = -errno;
		vol_err("no loop device support (/dev/loop-control): %s", vol_strerror(r));
		close(file_fd);
		return r;
	}
	for (int i = 0; i < LOOP_ATTACH_TRIES && r == -EBUSY; i++)
		r = attach_once(ctl, file_fd, flags, block_size, dev, dev_len);
	close(ctl);
	close(file_fd); /* the loop device holds its own reference */
	if (r)
		vol_err("cannot attach %s to a loop device: %s", path, vol_strerror(r));
	return r;
}

int vol_loop_set_autoclear(const char *dev)
{
	struct loop_info64 info;
	int fd, r = 0;

	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, LOOP_GET_STATUS64, &info) < 0) {
		r = -errno;
	} else {
		info.lo_flags |= LO_FLAGS_AUTOCLEAR;
		if (ioctl(fd, LOOP_SET_STATUS64, &info) < 0)
			r = -errno;
	}
	close(fd);
	return r;
}

/*
 * With other openers the kernel does not refuse LOOP_CLR_FD: it only sets
 * autoclear so the device detaches at the last close.  That is not what a
 * caller asking "detach now" wants: undo the deferral and report -EBUSY.
 */
static int cancel_deferred_detach(int fd)
{
	struct loop_info64 info;

	if (ioctl(fd, LOOP_GET_STATUS64, &info) < 0)
		return errno == ENXIO ? 0 : -errno; /* detached for real */
	info.lo_flags &= ~(uint32_t)LO_FLAGS_AUTOCLEAR;
	ioctl(fd, LOOP_SET_STATUS64, &info);
	return -EBUSY;
}

int vol_loop_detach(const char *dev)
{
	int fd, r = 0;

	/* O_EXCL fails while the device is mounted or held by a mapping. */
	fd = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return errno == EBUSY ? -EBUSY : -errno;
	if (ioctl(fd, LOOP_CLR_FD) < 0)
		r = errno == ENXIO ? 0 : -errno; /* ENXIO: already free */
	else
		r = cancel_deferred_detach(fd);
	close(fd);
	return r;
}

int vol_loop_is_attached(const char *dev)
{
	struct loop_info64 info;
	int fd, r;

	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = ioctl(fd, LOOP_GET_STATUS64, &info) < 0 ? (errno == ENXIO ? 0 : -errno) : 1;
	close(fd);
	return r;
}

int vol_loop_backs(const char *dev, const char *file)
{
	char path[128], buf[PATH_MAX + 16];
	const char *base = strrchr(dev, '/');
	FILE *f;
	size_t n;

	base = base ? base + 1 : dev;
	if (strncmp(base, "loop", 4))
		return 0;
	snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", base);
	f = fopen(path, "re");
	if (!f)
		return 0; /* not attached (or no such device) */
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return !strcmp(buf, file);
}

int vol_loop_find(const char *file, char *dev, size_t dev_len)
{
	struct dirent *de;
	DIR *dir = opendir("/sys/block");
	int found = 0;

	if (!dir)
		return 0;
	while (!found && (de = readdir(dir))) {
		if (vol_loop_backs(de->d_name, file))
			found = snprintf(dev, dev_len, "/dev/%s", de->d_name) < (int)dev_len;
	}
	closedir(dir);
	return found;
}
