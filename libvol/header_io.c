/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading and updating the two header halves (docs/FORMAT.md, "Update
 * protocol").  The rule that makes every update crash-safe: a write never
 * targets the only valid copy of anything, and each write is made durable
 * before the next one starts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "keyslot.h"
#include "volume.h"

int vol_header_read_copy(struct vol_device *dev, int copy, struct vol_metadata *md)
{
	uint8_t buf[VOL_META_SIZE];
	int r;

	if (dev->size < VOL_COPY_BASE(copy) + VOL_META_SIZE)
		return -EBADMSG;
	r = vol_device_read(dev, VOL_COPY_BASE(copy), buf, sizeof(buf));
	if (r)
		return r == -EIO ? -EBADMSG : r;
	return vol_metadata_decode(buf, copy, md);
}

/* Classify the copies once the best one is known. */
static void classify(const int res[VOL_COPIES], const struct vol_metadata cand[VOL_COPIES],
		     int best, enum vol_copy_state state[VOL_COPIES])
{
	for (int c = 0; c < VOL_COPIES; c++) {
		if (res[c])
			state[c] = VOL_COPY_DAMAGED;
		else if (c == best || !memcmp(&cand[c], &cand[best], sizeof(cand[c])))
			state[c] = VOL_COPY_OK;
		else
			state[c] = VOL_COPY_STALE;
	}
}

int vol_header_read(struct vol_device *dev, struct vol_metadata *md,
		    enum vol_copy_state state[VOL_COPIES])
{
	struct vol_metadata cand[VOL_COPIES];
	int res[VOL_COPIES], best = -1;

	for (int c = 0; c < VOL_COPIES; c++) {
		res[c] = vol_header_read_copy(dev, c, &cand[c]);
		if (res[c] && res[c] != -EBADMSG && res[c] != -EPROTONOSUPPORT)
			return res[c];
		if (!res[c] && (best < 0 || cand[c].sequence > cand[best].sequence))
			best = c;
	}
	if (best < 0) {
		if (res[0] == -EPROTONOSUPPORT || res[1] == -EPROTONOSUPPORT) {
			vol_err("%s: volcrypt header of a newer format version or with "
				"unsupported features", dev->path);
			return -EPROTONOSUPPORT;
		}
		vol_err("%s: no valid volcrypt header (both metadata copies damaged, "
			"or not a volcrypt volume)", dev->path);
		return -EBADMSG;
	}
	classify(res, cand, best, state);
	for (int c = 0; c < VOL_COPIES; c++)
		if (state[c] != VOL_COPY_OK)
			vol_warn("%s: metadata copy %d is %s; it will be rewritten on the next update",
				 dev->path, c, state[c] == VOL_COPY_STALE ? "stale" : "damaged");
	*md = cand[best];
	return 0;
}

int vol_material_read(struct vol_device *dev, int copy, int slot, uint8_t *buf)
{
	return vol_device_read(dev, VOL_MATERIAL_OFFSET(copy, slot), buf, VOL_MATERIAL_STRIDE);
}

int vol_material_write(struct vol_device *dev, int copy, int slot, const uint8_t *buf)
{
	int r = vol_device_write(dev, VOL_MATERIAL_OFFSET(copy, slot), buf, VOL_MATERIAL_STRIDE);

	return r ? r : vol_device_sync(dev);
}

int vol_material_scan(struct vol_device *dev, const struct vol_metadata *md,
		      enum vol_copy_state state[VOL_KEYSLOTS][VOL_COPIES])
{
	uint8_t *buf = malloc(VOL_MATERIAL_STRIDE);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (int s = 0; s < VOL_KEYSLOTS; s++) {
		for (int c = 0; c < VOL_COPIES; c++) {
			state[s][c] = VOL_COPY_OK;
			if (!md->slot[s].active)
				continue;
			r = vol_material_read(dev, c, s, buf);
			if (r && r != -EIO)
				goto out;
			if (r || !vol_keyslot_material_ok(&md->slot[s], buf))
				state[s][c] = VOL_COPY_DAMAGED;
			r = 0;
		}
	}
out:
	free(buf);
	return r;
}

int vol_first_copy_to_write(const enum vol_copy_state state[VOL_COPIES])
{
	return state[1] == VOL_COPY_OK && state[0] != VOL_COPY_OK ? 0 : 1;
}

static int write_metadata(struct vol_device *dev, const struct vol_metadata *md, int copy)
{
	uint8_t buf[VOL_META_SIZE];
	int r;

	vol_metadata_encode(md, copy, buf);
	r = vol_device_write(dev, VOL_COPY_BASE(copy), buf, sizeof(buf));
	return r ? r : vol_device_sync(dev);
}

int vol_require_writable(const struct vol_volume *vol)
{
	if (vol->luks2) {
		vol_err("%s is a LUKS2 volume: change it with cryptsetup, or make it volcrypt "
			"with 'volcrypt convert --from-luks2'", vol->dev->path);
		return -EPROTONOSUPPORT;
	}
	if (vol->dev->writable)
		return 0;
	vol_err("%s: volume was opened read-only", vol->dev->path);
	return -EROFS;
}

int vol_require_no_rekey(const struct vol_volume *vol)
{
	if (vol->md.rekey.state == VOL_REKEY_NONE)
		return 0;
	vol_err("%s: a rekey is in progress; finish it first (volcrypt rekey --resume)",
		vol->dev->path);
	return -EBUSY;
}

int vol_require_keyslot_update(const struct vol_volume *vol)
{
	int r = vol_require_writable(vol);

	return r ? r : vol_require_no_rekey(vol);
}

int vol_header_commit(struct vol_volume *vol)
{
	int first = vol_first_copy_to_write(vol->copy_state);
	int r;

	r = vol_require_writable(vol);
	if (r)
		return r;
	vol->md.sequence++;
	r = write_metadata(vol->dev, &vol->md, first);
	if (!r) {
		vol->copy_state[first] = VOL_COPY_OK;
		vol->copy_state[!first] = VOL_COPY_STALE;
		r = write_metadata(vol->dev, &vol->md, !first);
	}
	if (r) {
		vol_err("%s: writing metadata failed: %s", vol->dev->path, vol_strerror(r));
		return r;
	}
	vol->copy_state[!first] = VOL_COPY_OK;
	return 0;
}

static int is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* One slot: wipe if inactive, repair a damaged copy from the good one. */
static int tidy_slot(struct vol_volume *vol, int s, uint8_t *buf)
{
	enum vol_copy_state *st = vol->material_state[s];
	int r = 0;

	if (!vol->md.slot[s].active) {
		for (int c = 0; c < VOL_COPIES && !r; c++) {
			r = vol_material_read(vol->dev, c, s, buf);
			if (!r && !is_zero(buf, VOL_MATERIAL_STRIDE)) {
				memset(buf, 0, VOL_MATERIAL_STRIDE);
				r = vol_material_write(vol->dev, c, s, buf);
			}
		}
		return r;
	}
	for (int c = 0; c < VOL_COPIES && !r; c++) {
		if (st[c] == VOL_COPY_OK || st[!c] != VOL_COPY_OK)
			continue;
		r = vol_material_read(vol->dev, !c, s, buf);
		if (!r)
			r = vol_material_write(vol->dev, c, s, buf);
		if (!r) {
			st[c] = VOL_COPY_OK;
			vol_info("%s: repaired copy %d of keyslot %d", vol->dev->path, c, s);
		}
	}
	return r;
}

int vol_header_tidy(struct vol_volume *vol)
{
	uint8_t *buf = malloc(VOL_MATERIAL_STRIDE);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (int s = 0; s < VOL_KEYSLOTS && !r; s++)
		r = tidy_slot(vol, s, buf);
	free(buf);
	if (r)
		vol_err("%s: tidying keyslot areas failed: %s", vol->dev->path, vol_strerror(r));
	return r;
}
