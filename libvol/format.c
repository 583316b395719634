/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Creating a new volume: validate, probe, wipe, write a fresh header. */
#include <errno.h>
#include <gcrypt.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "internal.h"
#include "keyslot.h"
#include "probe.h"
#include "volume.h"

static int init_metadata(const struct vol_format_params *p, struct vol_metadata *md)
{
	memset(md, 0, sizeof(*md));
	md->version = VOL_FORMAT_VERSION;
	strcpy(md->cipher, VOL_CIPHER_SPEC);
	md->key_bytes = VOL_VOLUME_KEY_BYTES;
	md->sector_size = p->sector_size ? p->sector_size : 512;
	md->data_offset = p->data_offset ? p->data_offset : VOL_DEFAULT_DATA_OFFSET;
	if (md->sector_size != 512 && md->sector_size != 4096) {
		vol_err("sector size must be 512 or 4096, not %u", md->sector_size);
		return -EINVAL;
	}
	if (md->data_offset < VOL_HEADER_AREA_SIZE || md->data_offset % (1 << 20)) {
		vol_err("data offset must be a multiple of 1 MiB and at least 16 MiB");
		return -EINVAL;
	}
	if (p->label && strlen(p->label) > VOL_LABEL_MAX) {
		vol_err("label is longer than %d bytes", VOL_LABEL_MAX);
		return -EINVAL;
	}
	if (p->label && !vol_label_printable(p->label)) {
		vol_err("label contains control characters");
		return -EINVAL;
	}
	if (p->label)
		strcpy(md->label, p->label);
	if (p->uuid && vol_uuid_parse(p->uuid, md->uuid)) {
		vol_err("invalid UUID '%s'", p->uuid);
		return -EINVAL;
	}
	if (!p->uuid) {
		gcry_create_nonce(md->uuid, sizeof(md->uuid));
		md->uuid[6] = (md->uuid[6] & 0x0f) | 0x40; /* RFC 4122 version 4 */
		md->uuid[8] = (md->uuid[8] & 0x3f) | 0x80;
	}
	return 0;
}

/* Refuse to overwrite anything recognisable unless forced. */
static int check_target(struct vol_device *dev, const struct vol_metadata *md, int force)
{
	struct vol_metadata old;
	enum vol_copy_state st[VOL_COPIES];
	char what[128];
	int r;

	if (dev->size < md->data_offset + md->sector_size) {
		vol_err("%s is too small: %llu bytes, a volume needs at least %llu",
			dev->path, (unsigned long long)dev->size,
			(unsigned long long)(md->data_offset + md->sector_size));
		return -ENODEV;
	}
	if (vol_target_mapped(dev->path, what, sizeof(what))) {
		vol_err("%s is open as %s; close it first", dev->path, what);
		return -EBUSY;
	}
	if (force)
		return 0;
	vol_set_log_suppressed(1);
	r = vol_header_read(dev, &old, st);
	vol_set_log_suppressed(0);
	if (r == 0) {
		char uuid[VOL_UUID_STRLEN];

		vol_uuid_format(old.uuid, uuid);
		vol_err("%s already holds volcrypt volume %s (volcrypt format --force overwrites it)",
			dev->path, uuid);
		return -EEXIST;
	}
	r = vol_probe_signatures(dev, what, sizeof(what));
	if (r == 1) {
		vol_err("%s contains %s (volcrypt format --force overwrites it)", dev->path, what);
		return -EEXIST;
	}
	return r;
}

static int write_new_header(struct vol_volume *vol, const struct vol_key *key,
			    const char *pass, size_t pass_len, const struct vol_kdf_spec *spec)
{
	uint8_t *material = malloc(VOL_MATERIAL_STRIDE);
	int r;

	if (!material)
		return -ENOMEM;
	r = vol_keyslot_seal(&vol->md.slot[0], spec, key, pass, pass_len, material);
	for (int c = 0; c < VOL_COPIES && !r; c++)
		r = vol_material_write(vol->dev, c, 0, material);
	free(material);
	if (r)
		return r;
	/* Both copies were zeroed: commit writes copy 1, then copy 0. */
	vol->copy_state[0] = vol->copy_state[1] = VOL_COPY_DAMAGED;
	r = vol_header_commit(vol);
	if (!r)
		vol->material_state[0][0] = vol->material_state[0][1] = VOL_COPY_OK;
	return r;
}

static int format_device(struct vol_volume *vol, const struct vol_format_params *p,
			 const char *pass, size_t pass_len, const struct vol_kdf_spec *spec)
{
	struct vol_metadata *md = &vol->md;
	struct vol_key *key = NULL;
	int r;

	r = check_target(vol->dev, md, p->force);
	if (r)
		return r;
	md->data_size = (vol->dev->size - md->data_offset) / md->sector_size * md->sector_size;
	r = vol_probe_wipe(vol->dev);
	if (!r)
		r = vol_device_zero(vol->dev, 0, md->data_offset);
	if (!r)
		r = vol_device_sync(vol->dev);
	if (r)
		return r;
	key = vol_key_alloc(VOL_VOLUME_KEY_BYTES);
	if (!key)
		return -ENOMEM;
	vol_random_key_bytes(key->bytes, key->len);
	r = vol_digest_create(&md->digest[0], key, vol_digest_iterations(&p->kdf));
	if (!r)
		r = write_new_header(vol, key, pass, pass_len, spec);
	vol_key_free(key);
	return r;
}

int vol_format(const char *path, const struct vol_format_params *p, const char *pass,
	       size_t pass_len, struct vol_volume **out)
{
	struct vol_kdf_spec spec;
	struct vol_volume *vol;
	int r;

	r = vol_require_gcrypt();
	if (r)
		return r;
	if (!path || !p || !pass || !pass_len) {
		vol_err(pass && !pass_len ? "empty passphrase" : "missing argument");
		return -EINVAL;
	}
	vol = calloc(1, sizeof(*vol));
	if (!vol)
		return -ENOMEM;
	r = init_metadata(p, &vol->md);
	if (!r)
		r = vol_kdf_calibrate(&p->kdf, VOL_VOLUME_KEY_BYTES, &spec);
	if (!r)
		r = vol_device_open(path, VOL_DEV_WRITE, &vol->dev);
	if (!r)
		r = format_device(vol, p, pass, pass_len, &spec);
	if (r || !out) {
		vol_free(vol);
		return r;
	}
	*out = vol;
	return 0;
}
