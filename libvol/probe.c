/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libblkid knows every filesystem and partition-table signature; we ask it
 * before format overwrites anything, and let it erase the magic of what
 * we overwrite so no stale superblock is ever detected on the volume.
 */
#include <blkid/blkid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "probe.h"

static blkid_probe new_probe(struct vol_device *dev, int for_wipe)
{
	blkid_probe pr = blkid_new_probe();

	if (!pr)
		return NULL;
	if (blkid_probe_set_device(pr, dev->fd, 0, 0) < 0) {
		blkid_free_probe(pr);
		return NULL;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_enable_partitions(pr, 1);
	if (for_wipe) {
		/* Wiping needs the magic's offset; all-types, not just the first. */
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_TYPE |
						  BLKID_SUBLKS_BADCSUM);
		blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
	} else {
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE);
	}
	return pr;
}

int vol_probe_signatures(struct vol_device *dev, char *what, size_t what_len)
{
	const char *type = NULL;
	blkid_probe pr = new_probe(dev, 0);
	int r;

	if (!pr)
		return -ENOMEM;
	r = blkid_do_safeprobe(pr);
	if (r == 0) {
		if (!blkid_probe_lookup_value(pr, "TYPE", &type, NULL))
			snprintf(what, what_len, "a signature of type %s", type);
		else if (!blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL))
			snprintf(what, what_len, "a partition table of type %s", type);
		else
			snprintf(what, what_len, "an unidentified signature");
		r = 1;
	} else if (r == -2) {
		snprintf(what, what_len, "several conflicting signatures");
		r = 1;
	} else if (r == 1) {
		r = 0;
	} else {
		r = -EIO;
	}
	blkid_free_probe(pr);
	return r;
}

int vol_probe_wipe(struct vol_device *dev)
{
	blkid_probe pr = new_probe(dev, 1);
	int r = 0;

	if (!pr)
		return -ENOMEM;
	while (blkid_do_probe(pr) == 0) {
		if (blkid_do_wipe(pr, 0) < 0) {
			r = -EIO;
			break;
		}
	}
	blkid_free_probe(pr);
	if (!r)
		r = vol_device_sync(dev);
	return r;
}
