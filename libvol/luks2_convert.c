/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * In-place conversion between volcrypt and LUKS2 (docs/FORMAT.md
 * section 14).  Both formats put the same data area at the same offset
 * under the same key and IVs, so only the first 16 MiB change.  The two
 * headers overlap there, and the order of the writes is what keeps a
 * volume that opens after a crash at any point:
 *
 *   volcrypt's second half (4 MiB .. 8 MiB) and a LUKS2 header confined
 *   to [0, 4 MiB) can both be valid at once.  Each direction first
 *   completes the new format in the region the old one does not need,
 *   then overwrites the old format's region.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"
#include "keyslot.h"
#include "loop.h"
#include "luks2.h"
#include "volume.h"

/* volcrypt's second half begins where the LUKS2 area of a conversion ends. */
#define HALF VOL_COPY_BASE(1)
_Static_assert(VOL_LUKS2_AREA_END == VOL_COPY_BASE(1), "LUKS2 area ends at volcrypt's copy 1");
#define MAX_PASS VOL_KEYSLOTS

/* The unlocking passphrase followed by the ones to keep. */
struct passes {
	const char *p[MAX_PASS];
	size_t len[MAX_PASS];
	int n;
};

static int collect(const char *pass, size_t pass_len, const struct vol_convert_params *c,
		   struct passes *ps)
{
	if (!pass || !pass_len || !c || c->nkeep < 0 || (c->nkeep && (!c->keep || !c->keep_len))) {
		vol_err(pass && !pass_len ? "empty passphrase" : "missing argument");
		return -EINVAL;
	}
	if (c->nkeep > MAX_PASS - 1) {
		vol_err("at most %d passphrases can be kept", MAX_PASS - 1);
		return -EINVAL;
	}
	ps->n = 0;
	ps->p[ps->n] = pass;
	ps->len[ps->n++] = pass_len;
	for (int i = 0; i < c->nkeep; i++) {
		ps->p[ps->n] = c->keep[i];
		ps->len[ps->n++] = c->keep_len[i];
	}
	return 0;
}

/*
 * Nothing may use the device while its header changes format.  A block
 * device that a mapping holds was already refused by the O_EXCL open.
 */
static int check_unused(const struct vol_device *dev)
{
	char what[PATH_MAX], file[PATH_MAX];

	if (vol_target_mapped(dev->path, what, sizeof(what))) {
		vol_err("%s is open as %s; close it first", dev->path, what);
		return -EBUSY;
	}
	/* An image file: cryptsetup open attaches a loop device to it. */
	if (!dev->is_block && realpath(dev->path, file) && vol_loop_find(file, what, sizeof(what))) {
		vol_err("%s is attached to %s (an open mapping?); close it first", dev->path, what);
		return -EBUSY;
	}
	return 0;
}

static int write_synced(struct vol_device *dev, uint64_t off, const void *buf, size_t len)
{
	int r = vol_device_write(dev, off, buf, len);

	return r ? r : vol_device_sync(dev);
}

static int zero_synced(struct vol_device *dev, uint64_t off, uint64_t len)
{
	int r = vol_device_zero(dev, off, len);

	return r ? r : vol_device_sync(dev);
}

static int is_zero(struct vol_device *dev, uint64_t off, uint64_t len, int *zero)
{
	uint8_t buf[65536];
	int r = 0;

	*zero = 1;
	for (uint64_t at = off; at < off + len && *zero && !r; at += sizeof(buf)) {
		size_t n = (size_t)(off + len - at < sizeof(buf) ? off + len - at : sizeof(buf));

		r = vol_device_read(dev, at, buf, n);
		for (size_t i = 0; i < n && !r; i++)
			if (buf[i]) {
				*zero = 0;
				break;
			}
	}
	return r;
}

/*
 * A canonical volcrypt half (docs/FORMAT.md section 1) in @buf (HALF
 * bytes): metadata copy @copy, then each active slot's material, zeros
 * elsewhere.
 */
static void encode_half(const struct vol_metadata *md, uint8_t *const *material, int copy,
			uint8_t *buf)
{
	memset(buf, 0, HALF);
	vol_metadata_encode(md, copy, buf);
	for (int s = 0; s < VOL_KEYSLOTS; s++)
		if (md->slot[s].active)
			memcpy(buf + VOL_MATERIAL_AREA_OFFSET + s * VOL_MATERIAL_STRIDE, material[s],
			       VOL_MATERIAL_STRIDE);
}

/* ================================================= volcrypt -> LUKS2 */

/* The unlocking passphrase's key; the ones to keep must open a slot too. */
static int unlock_volcrypt(struct vol_volume *vol, const struct passes *ps, struct vol_key **key)
{
	int r = vol_unlock(vol, -1, ps->p[0], ps->len[0], NULL, key);

	for (int i = 1; i < ps->n && !r; i++) {
		r = vol_unlock_digest(vol, 0, -1, ps->p[i], ps->len[i], NULL, NULL);
		if (r == -EPERM)
			vol_err("passphrase to keep number %d opens no keyslot", i);
	}
	if (r) {
		vol_key_free(*key);
		*key = NULL;
	}
	return r;
}

/*
 * volcrypt's second half is what keeps the volume open while the LUKS2
 * header overwrites the first: it must be current and complete.  If not,
 * the normal update protocol rewrites it from the first.
 */
static int complete_second_half(struct vol_volume *vol)
{
	int whole = vol->copy_state[1] == VOL_COPY_OK;
	int r;

	for (int s = 0; s < VOL_KEYSLOTS; s++)
		if (vol->md.slot[s].active && vol->material_state[s][1] != VOL_COPY_OK)
			whole = 0;
	if (whole)
		return 0;
	vol_info("%s: completing the second header half first", vol->dev->path);
	r = vol_header_commit(vol);
	if (!r)
		r = vol_header_tidy(vol);
	for (int s = 0; s < VOL_KEYSLOTS && !r; s++)
		if (vol->md.slot[s].active && vol->material_state[s][1] != VOL_COPY_OK)
			r = -EBADMSG;
	return r;
}

/*
 * The LUKS2 header, built by libcryptsetup in an anonymous memory file
 * (nothing is left behind by a crash), read back as the first HALF bytes
 * to copy to the device.
 */
static int build_luks2_area(struct vol_volume *vol, const struct vol_key *key,
			    const struct passes *ps, const struct vol_kdf_params *kdf, uint8_t *area)
{
	char uuid[VOL_UUID_STRLEN], path[64];
	struct vol_luks2_build b = {
		.uuid = uuid, .label = vol->md.label, .sector_size = vol->md.sector_size,
		.data_offset = vol->md.data_offset, .kdf = kdf,
		.pass = ps->p, .pass_len = ps->len, .npass = ps->n,
	};
	size_t got = 0;
	int fd, r;

	vol_uuid_format(vol->md.uuid, uuid);
	fd = memfd_create("volcrypt-luks2-header", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* libcryptsetup wants room for the whole header area in the header file. */
	r = ftruncate(fd, (off_t)HALF) ? -errno : 0;
	if (!r)
		r = vol_luks2_build_header(path, vol->dev->path, &b, key);
	memset(area, 0, HALF);
	while (!r && got < HALF) {
		ssize_t n = pread(fd, area + got, HALF - got, (off_t)got);

		if (n < 0)
			r = -errno;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return r;
}

/*
 * Keyslots area first, then the secondary header, then the primary: a
 * LUKS2 header never names a keyslot whose material is not on disk yet.
 * volcrypt's second half stays valid throughout.
 */
static int write_luks2_area(struct vol_device *dev, const uint8_t *area)
{
	const uint64_t m = VOL_LUKS2_METADATA_SIZE;
	int r = write_synced(dev, 2 * m, area + 2 * m, HALF - 2 * m);

	if (!r)
		r = write_synced(dev, m, area + m, m);
	if (!r)
		r = write_synced(dev, 0, area, m);
	return r;
}

/*
 * The LUKS2 header is complete: volcrypt's metadata copy 1 goes first (so
 * no volcrypt header names material that is being zeroed), then the rest
 * of the old header area: key material copy 1 and the journal.
 */
static int wipe_volcrypt_rest(struct vol_device *dev)
{
	int r = zero_synced(dev, HALF, VOL_META_SIZE);

	return r ? r : zero_synced(dev, HALF + VOL_META_SIZE,
				   VOL_HEADER_AREA_SIZE - HALF - VOL_META_SIZE);
}

/*
 * A crash after the LUKS2 header was complete: the volcrypt header is
 * gone or going, LUKS2 opens.  Finish wiping if the LUKS2 header is a
 * conversion's (its keyslots end at 4 MiB: nothing of it lies above).
 */
static int resume_to_luks2(const char *path, const struct passes *ps)
{
	struct vol_luks2_geometry g;
	struct vol_device *dev = NULL;
	int r, zero;

	r = vol_luks2_inspect(path, &g);
	if (r == -EBADMSG)
		vol_err("%s holds neither a volcrypt nor a LUKS2 header", path);
	if (r)
		return r;
	r = vol_luks2_unlock(path, -1, ps->p[0], ps->len[0], NULL, NULL);
	if (r == -EPERM)
		vol_err("no key available with this passphrase");
	if (!r)
		r = vol_device_open(path, VOL_DEV_WRITE, &dev);
	if (!r)
		r = check_unused(dev);
	if (!r)
		r = is_zero(dev, HALF, VOL_HEADER_AREA_SIZE - HALF, &zero);
	if (!r && (zero || g.keyslots_end != HALF)) {
		vol_err("%s is already a LUKS2 volume", path);
		r = -EALREADY;
	}
	if (!r) {
		vol_info("%s: finishing an interrupted conversion to LUKS2", path);
		r = wipe_volcrypt_rest(dev);
	}
	vol_device_close(dev);
	return r;
}

static int check_to_luks2(struct vol_volume *vol)
{
	int r = vol_require_no_rekey(vol);

	if (!r)
		r = check_unused(vol->dev);
	if (!r && strlen(vol->md.label) > VOL_LUKS2_LABEL_MAX) {
		vol_err("%s: label of %zu bytes: LUKS2 labels hold at most %d", vol->dev->path,
			strlen(vol->md.label), VOL_LUKS2_LABEL_MAX);
		r = -EPROTONOSUPPORT;
	}
	if (!r && vol->dev->size - vol->md.data_offset >= vol->md.data_size + vol->md.sector_size)
		vol_warn("%s: LUKS2 data areas reach the end of the device: %llu bytes after "
			 "the volcrypt data area become part of it", vol->dev->path,
			 (unsigned long long)(vol->dev->size - vol->md.data_offset -
					      vol->md.data_size));
	return r;
}

/* What both directions do first: libgcrypt ready, passphrases gathered, no locks. */
static int conversion_start(const char *pass, size_t pass_len, const struct vol_convert_params *c,
			    struct passes *ps)
{
	int r = vol_require_gcrypt();

	if (!r)
		r = collect(pass, pass_len, c, ps);
	if (!r)
		vol_luks2_locking_off();
	return r;
}

int vol_convert_to_luks2(const char *path, const char *pass, size_t pass_len,
			 const struct vol_convert_params *c)
{
	struct vol_volume *vol = NULL;
	struct vol_key *key = NULL;
	uint8_t *area = NULL;
	struct passes ps;
	int r;

	r = conversion_start(pass, pass_len, c, &ps);
	if (r)
		return r;
	vol_set_log_suppressed(1);
	r = vol_load(path, 0, &vol);
	vol_set_log_suppressed(0);
	if (r == -EBADMSG)
		return resume_to_luks2(path, &ps);
	if (r)
		return vol_load(path, 0, &vol); /* again, to say why */
	r = check_to_luks2(vol);
	if (!r)
		r = unlock_volcrypt(vol, &ps, &key);
	if (!r)
		r = complete_second_half(vol);
	if (!r && !(area = malloc(HALF)))
		r = -ENOMEM;
	if (!r)
		r = build_luks2_area(vol, key, &ps, &c->kdf, area);
	if (!r)
		r = write_luks2_area(vol->dev, area);
	if (!r)
		r = wipe_volcrypt_rest(vol->dev);
	if (r && r != -EPERM && r != -EPROTONOSUPPORT && r != -EBUSY)
		vol_err("%s: conversion to LUKS2 failed: %s", path, vol_strerror(r));
	free(area);
	vol_key_free(key);
	vol_free(vol);
	return r;
}

/* ================================================= LUKS2 -> volcrypt */

/* The new volcrypt header in memory: metadata and each slot's material. */
struct new_header {
	struct vol_metadata md;
	uint8_t *material[VOL_KEYSLOTS];
};

static void new_header_free(struct new_header *h)
{
	for (int s = 0; s < VOL_KEYSLOTS; s++)
		free(h->material[s]);
}

static int unlock_luks2(const char *path, const struct vol_luks2_geometry *g,
			const struct passes *ps, struct vol_key **key)
{
	struct vol_luks2_slot at;
	int r = vol_luks2_unlock(path, -1, ps->p[0], ps->len[0], &at, key);

	if (r == -EPERM)
		vol_err("no key available with this passphrase");
	if (!r && at.area_offset + at.area_length > HALF) {
		vol_err("%s: LUKS2 keyslot %d lies at %llu..%llu, inside volcrypt's second header "
			"half (from 4 MiB); add the passphrase to a keyslot below 4 MiB "
			"(cryptsetup luksAddKey) and remove this one first", path, at.slot,
			(unsigned long long)at.area_offset,
			(unsigned long long)(at.area_offset + at.area_length));
		r = -EPROTONOSUPPORT;
	}
	if (!r && g->metadata_end > HALF) {
		vol_err("%s: LUKS2 metadata of 2 x %llu bytes reaches volcrypt's second header "
			"half", path, (unsigned long long)(g->metadata_end / 2));
		r = -EPROTONOSUPPORT;
	}
	for (int i = 1; i < ps->n && !r; i++) {
		r = vol_luks2_unlock(path, -1, ps->p[i], ps->len[i], NULL, NULL);
		if (r == -EPERM)
			vol_err("passphrase to keep number %d opens no keyslot", i);
	}
	if (r) {
		vol_key_free(*key);
		*key = NULL;
	}
	return r;
}

static int new_metadata(const struct vol_luks2_geometry *g, uint64_t dev_size,
			struct vol_metadata *md)
{
	memset(md, 0, sizeof(*md));
	md->version = VOL_FORMAT_VERSION;
	md->sequence = 1;
	if (vol_uuid_parse(g->uuid, md->uuid))
		return -EPROTONOSUPPORT;
	if (!vol_label_printable(g->label)) {
		vol_err("the LUKS2 label contains control characters");
		return -EPROTONOSUPPORT;
	}
	memcpy(md->label, g->label, sizeof(md->label));
	strcpy(md->cipher, VOL_CIPHER_SPEC);
	md->key_bytes = VOL_VOLUME_KEY_BYTES;
	md->sector_size = g->sector_size;
	md->data_offset = g->data_offset;
	md->data_size = (dev_size - g->data_offset) / g->sector_size * g->sector_size;
	return md->data_size ? 0 : -ENODEV;
}

/* Digest entry 0 and one sealed slot per passphrase, in order. */
static int seal_all(struct new_header *h, const struct vol_key *key, const struct passes *ps,
		    const struct vol_kdf_params *kdf)
{
	struct vol_kdf_spec spec;
	int r = vol_kdf_calibrate(kdf, VOL_VOLUME_KEY_BYTES, &spec);

	if (!r)
		r = vol_digest_create(&h->md.digest[0], key, vol_digest_iterations(kdf));
	for (int s = 0; s < ps->n && !r; s++) {
		h->material[s] = malloc(VOL_MATERIAL_STRIDE);
		r = h->material[s] ? vol_keyslot_seal(&h->md.slot[s], &spec, key, ps->p[s],
						      ps->len[s], h->material[s]) : -ENOMEM;
	}
	return r;
}

/*
 * The second half while LUKS2 still opens from [0, 4 MiB): everything
 * from 8 MiB to the data area zeroed (old LUKS2 keyslots), the material,
 * then the metadata that names it.
 */
static int write_second_half(struct vol_device *dev, const struct new_header *h,
			     uint8_t *buf)
{
	int r;

	encode_half(&h->md, h->material, 1, buf);
	r = vol_device_zero(dev, 2 * HALF, h->md.data_offset - 2 * HALF);
	if (!r)
		r = write_synced(dev, HALF + VOL_META_SIZE, buf + VOL_META_SIZE,
				 HALF - VOL_META_SIZE);
	return r ? r : write_synced(dev, HALF, buf, VOL_META_SIZE);
}

/* The first half over the LUKS2 header, in one write: the second half is complete. */
static int write_first_half(struct vol_device *dev, const struct new_header *h, uint8_t *buf)
{
	encode_half(&h->md, h->material, 0, buf);
	return write_synced(dev, 0, buf, HALF);
}

/* The canonical first half from the metadata and key material of copy 1. */
static int first_half_from_second(struct vol_volume *vol, struct new_header *h, uint8_t *buf)
{
	int r = 0;

	h->md = vol->md;
	for (int s = 0; s < VOL_KEYSLOTS && !r; s++) {
		if (!h->md.slot[s].active)
			continue;
		h->material[s] = malloc(VOL_MATERIAL_STRIDE);
		r = h->material[s] ? vol_material_read(vol->dev, 1, s, h->material[s]) : -ENOMEM;
		if (!r && !vol_keyslot_material_ok(&h->md.slot[s], h->material[s]))
			r = -EBADMSG;
	}
	if (!r)
		encode_half(&h->md, h->material, 0, buf);
	return r;
}

/*
 * A crash after the second half was complete: volcrypt opens from it,
 * and the first half may still hold pieces of the LUKS2 header (old
 * keyslots among them).  Unless the first half is already exactly what
 * the second implies, rewrite it from the second.
 */
static int resume_from_luks2(const char *path, const struct passes *ps)
{
	struct new_header h = { 0 };
	struct vol_volume *vol = NULL;
	uint8_t *want = NULL, *have = NULL;
	int r;

	vol_set_log_suppressed(1);
	r = vol_load(path, 0, &vol);
	vol_set_log_suppressed(0);
	if (r == -EBADMSG)
		vol_err("%s holds neither a LUKS2 nor a volcrypt header", path);
	if (r)
		return r;
	r = check_unused(vol->dev);
	if (!r)
		r = vol_unlock(vol, -1, ps->p[0], ps->len[0], NULL, NULL);
	if (!r && (!(want = malloc(HALF)) || !(have = malloc(HALF))))
		r = -ENOMEM;
	if (!r && (vol->copy_state[1] != VOL_COPY_OK ||
		   first_half_from_second(vol, &h, want) ||
		   (!vol_device_read(vol->dev, 0, have, HALF) && !memcmp(want, have, HALF)))) {
		vol_err("%s is already a volcrypt volume", path);
		r = -EALREADY;
	}
	if (!r) {
		vol_info("%s: finishing an interrupted conversion from LUKS2", path);
		r = write_synced(vol->dev, 0, want, HALF);
	}
	free(want);
	free(have);
	new_header_free(&h);
	vol_free(vol);
	return r;
}

static int convert_from(struct vol_device *dev, const struct vol_luks2_geometry *g,
			const struct passes *ps, const struct vol_kdf_params *kdf)
{
	struct new_header h = { 0 };
	struct vol_key *key = NULL;
	uint8_t *buf = NULL;
	int r;

	r = unlock_luks2(dev->path, g, ps, &key);
	if (!r)
		r = new_metadata(g, dev->size, &h.md);
	if (!r)
		r = seal_all(&h, key, ps, kdf);
	if (!r && !(buf = malloc(HALF)))
		r = -ENOMEM;
	if (!r)
		r = write_second_half(dev, &h, buf);
	if (!r)
		r = write_first_half(dev, &h, buf);
	free(buf);
	new_header_free(&h);
	vol_key_free(key);
	return r;
}

int vol_convert_from_luks2(const char *path, const char *pass, size_t pass_len,
			   const struct vol_convert_params *c)
{
	struct vol_luks2_geometry g;
	struct vol_device *dev = NULL;
	struct passes ps;
	int r;

	r = conversion_start(pass, pass_len, c, &ps);
	if (r)
		return r;
	r = vol_luks2_inspect(path, &g);
	if (r == -EBADMSG)
		return resume_from_luks2(path, &ps);
	if (!r)
		r = vol_device_open(path, VOL_DEV_WRITE, &dev);
	if (!r)
		r = check_unused(dev);
	if (!r)
		r = convert_from(dev, &g, &ps, &c->kdf);
	if (r && r != -EPERM && r != -EPROTONOSUPPORT && r != -EBUSY)
		vol_err("%s: conversion from LUKS2 failed: %s", path, vol_strerror(r));
	vol_device_close(dev);
	return r;
}
