/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding a volume by its UUID (volcrypttab's and the CLI's "UUID=").
 *
 * libblkid has no prober for our format, so its UUID index cannot answer
 * (and udev's /dev/disk/by-uuid links, made from libblkid's results, do
 * not exist for our volumes).  Instead every block device the kernel
 * lists in /sys/class/block -- disks, partitions, loop, md and dm devices
 * -- is opened read-only and the magic of both metadata copies (offsets 0
 * and 4 MiB) is checked; a copy that decodes completely (checksum and
 * all) gives the UUID.  Nothing is written and no lock is taken, so a
 * mounted or mapped device is read like any other.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "device.h"
#include "header_codec.h"
#include "internal.h"
#include "volume.h"

#define SYS_CLASS_BLOCK "/sys/class/block"

/*
 * 1 if /dev/@name holds a header of @uuid.  Devices that cannot be opened
 * (no medium, gone meanwhile, no node) are not candidates.
 */
static int device_has_uuid(const char *name, const uint8_t uuid[16])
{
	char path[PATH_MAX];
	struct vol_device dev = { .path = path };
	struct vol_metadata md;
	int found = 0;

	snprintf(path, sizeof(path), "/dev/%s", name);
	/* O_NONBLOCK: an empty CD drive fails at once instead of spinning up. */
	dev.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (dev.fd < 0)
		return 0;
	if (ioctl(dev.fd, BLKGETSIZE64, &dev.size) == 0) {
		for (int c = 0; c < VOL_COPIES && !found; c++)
			found = !vol_header_read_copy(&dev, c, &md) && !memcmp(md.uuid, uuid, 16);
	}
	close(dev.fd);
	return found;
}

static int copy_path(char *path, size_t path_len, const char *name)
{
	if ((size_t)snprintf(path, path_len, "/dev/%s", name) >= path_len)
		return -ERANGE;
	return 0;
}

int vol_find_uuid(const char *uuid, char *path, size_t path_len)
{
	uint8_t want[16];
	char text[VOL_UUID_STRLEN], first[NAME_MAX + 1] = "";
	struct dirent *de;
	DIR *dir;
	int r = 0, matches = 0;

	if (!uuid || !path || !path_len)
		return -EINVAL;
	if (vol_uuid_parse(uuid, want)) {
		vol_err("'%s' is not a UUID (expected 8-4-4-4-12 hexadecimal digits)", uuid);
		return -EINVAL;
	}
	vol_uuid_format(want, text);
	dir = opendir(SYS_CLASS_BLOCK);
	if (!dir) {
		r = -errno;
		vol_err("cannot list block devices in %s: %s", SYS_CLASS_BLOCK, strerror(-r));
		return r;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || !device_has_uuid(de->d_name, want))
			continue;
		if (matches++) {
			vol_err("volume UUID %s is on both /dev/%s and /dev/%s (a copied disk?); "
				"name the device by its path", text, first, de->d_name);
			r = -ENOTUNIQ;
			break;
		}
		snprintf(first, sizeof(first), "%s", de->d_name);
	}
	closedir(dir);
	if (r)
		return r;
	if (!matches) {
		vol_err("no block device holds a volcrypt volume with UUID %s", text);
		return -ENOENT;
	}
	vol_dbg("UUID %s is /dev/%s", text, first);
	return copy_path(path, path_len, first);
}
