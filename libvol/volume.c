/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading a volume, inspecting it, and unlocking it with a passphrase. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "keyslot.h"
#include "luks2.h"
#include "volume.h"

/*
 * A LUKS2 device whose layout is volcrypt's (luks2.c checks it): its
 * geometry in vol->md, enough to map the data area with any backend.
 */
static int load_luks2(struct vol_volume *vol)
{
	struct vol_metadata *md = &vol->md;
	struct vol_luks2_geometry g;
	int r = vol_luks2_inspect(vol->dev->path, &g);

	if (r)
		return r;
	memset(md, 0, sizeof(*md));
	if (vol_uuid_parse(g.uuid, md->uuid))
		return -EBADMSG;
	snprintf(md->label, sizeof(md->label), "%s", g.label);
	strcpy(md->cipher, VOL_CIPHER_SPEC);
	md->key_bytes = VOL_VOLUME_KEY_BYTES;
	md->sector_size = g.sector_size;
	md->data_offset = g.data_offset;
	if (vol->dev->size <= g.data_offset)
		return -ENODEV;
	/* LUKS2's data segment is "dynamic": the rest of the device. */
	md->data_size = (vol->dev->size - g.data_offset) / g.sector_size * g.sector_size;
	vol->copy_state[0] = vol->copy_state[1] = VOL_COPY_OK;
	vol->luks2 = 1;
	return 0;
}

/* The volcrypt header, else (VOL_LOAD_LUKS2) a LUKS2 header. */
static int read_header(struct vol_volume *vol, unsigned flags)
{
	int r;

	if (!(flags & VOL_LOAD_LUKS2))
		return vol_header_read(vol->dev, &vol->md, vol->copy_state);
	vol_set_log_suppressed(1);
	r = vol_header_read(vol->dev, &vol->md, vol->copy_state);
	vol_set_log_suppressed(0);
	if (r != -EBADMSG)
		return r;
	r = load_luks2(vol);
	if (r == -EBADMSG) /* neither: say what is wrong with the volcrypt header */
		r = vol_header_read(vol->dev, &vol->md, vol->copy_state);
	return r;
}

int vol_load(const char *path, unsigned flags, struct vol_volume **out)
{
	struct vol_volume *vol;
	int r;

	r = vol_require_gcrypt();
	if (r)
		return r;
	if (!path || !out)
		return -EINVAL;
	if ((flags & VOL_LOAD_LUKS2) && !(flags & VOL_LOAD_READONLY))
		return -EINVAL; /* a LUKS2 handle is never updated */
	vol = calloc(1, sizeof(*vol));
	if (!vol)
		return -ENOMEM;
	r = vol_device_open(path, (flags & VOL_LOAD_READONLY) ? 0 :
				  VOL_DEV_WRITE | ((flags & VOL_LOAD_ONLINE) ? VOL_DEV_SHARED : 0) |
				  ((flags & VOL_LOAD_LOCK_HELD) ? VOL_DEV_NOLOCK : 0),
			    &vol->dev);
	if (!r)
		r = read_header(vol, flags);
	if (!r && vol->dev->size < vol->md.data_offset + vol->md.data_size) {
		vol_err("%s: device is smaller than the volume it holds (truncated?)", path);
		r = -ENODEV;
	}
	if (!r && !vol->luks2)
		r = vol_material_scan(vol->dev, &vol->md, vol->material_state);
	if (r) {
		vol_free(vol);
		return r;
	}
	*out = vol;
	return 0;
}

void vol_free(struct vol_volume *vol)
{
	if (!vol)
		return;
	vol_device_close(vol->dev);
	vol_wipe(vol, sizeof(*vol));
	free(vol);
}

int vol_get_header_format(const struct vol_volume *vol)
{
	if (!vol)
		return -EINVAL;
	return vol->luks2 ? VOL_HEADER_LUKS2 : VOL_HEADER_VOLCRYPT;
}

int vol_get_info(const struct vol_volume *vol, struct vol_info *info)
{
	const struct vol_metadata *md = &vol->md;

	memset(info, 0, sizeof(*info));
	info->version = md->version;
	vol_uuid_format(md->uuid, info->uuid);
	memcpy(info->label, md->label, sizeof(info->label));
	memcpy(info->cipher, md->cipher, sizeof(info->cipher));
	info->key_bytes = md->key_bytes;
	info->sector_size = md->sector_size;
	info->data_offset = md->data_offset;
	info->data_size = md->data_size;
	info->sequence = md->sequence;
	info->incompat_features = md->incompat_features;
	info->compat_features = md->compat_features;
	memcpy(info->copy_state, vol->copy_state, sizeof(info->copy_state));
	info->digest_iterations = md->digest[0].iterations;
	memcpy(info->digest, md->digest[0].value, sizeof(info->digest));
	for (int s = 0; s < VOL_KEYSLOTS; s++)
		info->active_keyslots += md->slot[s].active;
	return 0;
}

int vol_get_keyslot(const struct vol_volume *vol, int slot, struct vol_keyslot_info *info)
{
	const struct vol_keyslot *k;

	if (slot < 0 || slot >= VOL_KEYSLOTS || !info)
		return -EINVAL;
	k = &vol->md.slot[slot];
	memset(info, 0, sizeof(*info));
	info->active = k->active;
	if (!k->active)
		return 0;
	info->kdf = k->kdf;
	info->iterations = k->iterations;
	info->memory_kib = k->memory_kib;
	info->parallel = k->parallel;
	info->stripes = k->stripes;
	info->digest_index = k->digest_index;
	memcpy(info->material_state, vol->material_state[slot], sizeof(info->material_state));
	return 0;
}

/* Read a copy of the slot's material that matches its checksum. */
static int read_valid_material(struct vol_volume *vol, int slot, uint8_t *buf)
{
	for (int c = 0; c < VOL_COPIES; c++) {
		if (vol->material_state[slot][c] != VOL_COPY_OK)
			continue;
		if (!vol_material_read(vol->dev, c, slot, buf) &&
		    vol_keyslot_material_ok(&vol->md.slot[slot], buf))
			return 0;
	}
	vol_warn("%s: keyslot %d: key material damaged in both copies", vol->dev->path, slot);
	return -EBADMSG;
}

/* 0 and the key if @pass opens @slot; -EPERM if not. */
static int try_slot(struct vol_volume *vol, int slot, const char *pass, size_t pass_len,
		    uint8_t *material, struct vol_key *key)
{
	const struct vol_keyslot *k = &vol->md.slot[slot];
	uint8_t *kek;
	int r;

	r = read_valid_material(vol, slot, material);
	if (r)
		return -EPERM;
	kek = vol_secure_alloc(VOL_VOLUME_KEY_BYTES);
	if (!kek)
		return -ENOMEM;
	r = vol_keyslot_derive(k, pass, pass_len, kek);
	if (!r)
		r = vol_keyslot_unseal(k, kek, material, key);
	vol_secure_free(kek, VOL_VOLUME_KEY_BYTES);
	if (r)
		return r;
	r = vol_digest_verify(&vol->md.digest[k->digest_index], key);
	return r == 1 ? 0 : (r < 0 ? r : -EPERM);
}

int vol_unlock_digest(struct vol_volume *vol, int digest, int slot, const char *pass,
		      size_t pass_len, int *slot_out, struct vol_key **key_out)
{
	struct vol_key *key;
	uint8_t *material;
	int r = -EPERM;

	if (!vol || !pass || slot >= VOL_KEYSLOTS)
		return -EINVAL;
	if (slot >= 0 && !vol->md.slot[slot].active) {
		vol_err("keyslot %d is not active", slot);
		return -EPERM;
	}
	key = vol_key_alloc(vol->md.key_bytes);
	material = malloc(VOL_MATERIAL_STRIDE);
	if (!key || !material) {
		r = -ENOMEM;
		goto out;
	}
	for (int s = slot < 0 ? 0 : slot; s < VOL_KEYSLOTS; s++) {
		if (vol->md.slot[s].active && vol->md.slot[s].digest_index == digest)
			r = try_slot(vol, s, pass, pass_len, material, key);
		if (r != -EPERM) {
			if (!r && slot_out)
				*slot_out = s;
			break;
		}
		if (slot >= 0)
			break;
	}
out:
	free(material);
	if (!r && key_out)
		*key_out = key;
	else
		vol_key_free(key);
	return r;
}

int vol_unlock(struct vol_volume *vol, int slot, const char *pass, size_t pass_len,
	       int *slot_out, struct vol_key **key_out)
{
	struct vol_luks2_slot where;
	int r;

	if (vol && vol->luks2) {
		if (!pass)
			return -EINVAL;
		r = vol_luks2_unlock(vol->dev->path, slot, pass, pass_len, &where, key_out);
		if (!r && slot_out)
			*slot_out = where.slot;
	} else {
		r = vol_unlock_digest(vol, 0, slot, pass, pass_len, slot_out, key_out);
	}
	if (r == -EPERM)
		vol_err("no key available with this passphrase");
	return r;
}

int vol_key_verify(const struct vol_volume *vol, const struct vol_key *key)
{
	if (!vol || !key || key->len != vol->md.key_bytes)
		return -EINVAL;
	if (vol->luks2)
		return vol_luks2_key_verify(vol->dev->path, key);
	return vol_digest_verify(&vol->md.digest[0], key);
}
