/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Header backup and restore.  A backup is a 16 MiB image of the header
 * area in canonical form: both metadata copies and both material copies
 * of every active slot, rebuilt from the best copies, zeros elsewhere.
 * It is therefore itself a valid header, read with the same code.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "internal.h"
#include "volume.h"

static int read_valid_copy(struct vol_device *dev, const enum vol_copy_state st[VOL_COPIES],
			   int slot, uint8_t *buf)
{
	for (int c = 0; c < VOL_COPIES; c++)
		if (st[c] == VOL_COPY_OK)
			return vol_material_read(dev, c, slot, buf);
	vol_err("%s: keyslot %d has no valid key material", dev->path, slot);
	return -EBADMSG;
}

/*
 * Write a canonical header (metadata @md, material copied from @src) to
 * @dst: material first, then metadata copy 1, then copy 0, each durable.
 */
static int write_canonical(struct vol_device *dst, struct vol_device *src,
			   struct vol_metadata *md,
			   enum vol_copy_state mst[VOL_KEYSLOTS][VOL_COPIES])
{
	struct vol_volume tmp = { .dev = dst, .md = *md };
	uint8_t *buf = calloc(1, VOL_MATERIAL_STRIDE);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (int s = 0; s < VOL_KEYSLOTS && !r; s++) {
		memset(buf, 0, VOL_MATERIAL_STRIDE);
		if (md->slot[s].active)
			r = read_valid_copy(src, mst[s], s, buf);
		for (int c = 0; c < VOL_COPIES && !r; c++)
			r = vol_material_write(dst, c, s, buf);
	}
	free(buf);
	if (r)
		return r;
	/* Commit increments: store sequence - 1 so the result carries @md's. */
	tmp.md.sequence = md->sequence - 1;
	tmp.copy_state[0] = tmp.copy_state[1] = VOL_COPY_DAMAGED;
	return vol_header_commit(&tmp);
}

int vol_header_backup(const struct vol_volume *vol, const char *file)
{
	struct vol_device *dst;
	struct vol_metadata md = vol->md;
	int fd, r;

	if (!vol || !file)
		return -EINVAL;
	r = vol_require_no_rekey(vol);
	if (r)
		return r;
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		vol_err("cannot create %s: %s", file, vol_strerror(r));
		return r;
	}
	r = ftruncate(fd, (off_t)VOL_HEADER_AREA_SIZE) ? -errno : 0;
	close(fd);
	if (!r)
		r = vol_device_open(file, VOL_DEV_WRITE, &dst);
	if (!r) {
		r = write_canonical(dst, vol->dev, &md,
				    ((struct vol_volume *)vol)->material_state);
		vol_device_close(dst);
	}
	if (r)
		unlink(file);
	return r;
}

/* Load and check a backup file: exact size, valid header, usable slots. */
static int load_backup(const char *file, struct vol_volume *bk)
{
	int r = vol_device_open(file, 0, &bk->dev);

	if (r) {
		vol_err("cannot open %s: %s", file, vol_strerror(r));
		return r;
	}
	if (bk->dev->size != VOL_HEADER_AREA_SIZE) {
		vol_err("%s is not a complete volcrypt header backup (%llu bytes, expected %llu)",
			file, (unsigned long long)bk->dev->size,
			(unsigned long long)VOL_HEADER_AREA_SIZE);
		return -EBADMSG;
	}
	r = vol_header_read(bk->dev, &bk->md, bk->copy_state);
	if (!r)
		r = vol_material_scan(bk->dev, &bk->md, bk->material_state);
	for (int s = 0; !r && s < VOL_KEYSLOTS; s++) {
		if (bk->md.slot[s].active && bk->material_state[s][0] != VOL_COPY_OK &&
		    bk->material_state[s][1] != VOL_COPY_OK) {
			vol_err("%s: keyslot %d is damaged in the backup", file, s);
			r = -EBADMSG;
		}
	}
	return r;
}

/* A target whose header belongs to another volume needs force. */
static int check_restore_target(struct vol_device *dev, struct vol_metadata *bk, int force)
{
	struct vol_metadata cur;
	enum vol_copy_state st[VOL_COPIES];
	char name[VOL_NAME_MAX + 1];
	int r;

	if (vol_target_mapped(dev->path, name, sizeof(name))) {
		vol_err("%s is open as %s; close it first", dev->path, name);
		return -EBUSY;
	}
	if (dev->size < bk->data_offset + bk->data_size) {
		vol_err("%s is too small for the volume in the backup", dev->path);
		return -ENODEV;
	}
	vol_set_log_suppressed(1);
	r = vol_header_read(dev, &cur, st);
	vol_set_log_suppressed(0);
	if (r)
		return 0; /* nothing valid to protect */
	if (memcmp(cur.uuid, bk->uuid, sizeof(cur.uuid)) && !force) {
		char a[VOL_UUID_STRLEN], b[VOL_UUID_STRLEN];

		vol_uuid_format(cur.uuid, a);
		vol_uuid_format(bk->uuid, b);
		vol_err("%s holds volume %s but the backup is of %s (force to overwrite)",
			dev->path, a, b);
		return -EEXIST;
	}
	/*
	 * Same volume, but its data may no longer be under the backup's key:
	 * a rekey in progress, or one finished since the backup was taken.
	 */
	if (!force && cur.rekey.state == VOL_REKEY_RUNNING) {
		vol_err("%s is in the middle of a rekey; restoring a header now would make "
			"its data unreadable (force to overwrite)", dev->path);
		return -EBUSY;
	}
	if (!force && cur.rekey_count > bk->rekey_count) {
		vol_err("%s was rekeyed after the backup was taken (%llu rekeys against %llu); "
			"the backup's key no longer decrypts its data (force to overwrite)",
			dev->path, (unsigned long long)cur.rekey_count,
			(unsigned long long)bk->rekey_count);
		return -EEXIST;
	}
	/* Newer than anything on the target, so a partial restore is detectable. */
	if (cur.sequence >= bk->sequence)
		bk->sequence = cur.sequence + 1;
	return 0;
}

int vol_header_restore(const char *path, const char *file, int force)
{
	struct vol_volume bk = { 0 };
	struct vol_device *dev = NULL;
	int r;

	r = vol_require_gcrypt();
	if (r)
		return r;
	if (!path || !file)
		return -EINVAL;
	r = load_backup(file, &bk);
	if (!r)
		r = vol_device_open(path, VOL_DEV_WRITE, &dev);
	if (!r)
		r = check_restore_target(dev, &bk.md, force);
	if (!r)
		r = write_canonical(dev, bk.dev, &bk.md, bk.material_state);
	vol_device_close(dev);
	vol_device_close(bk.dev);
	return r;
}
