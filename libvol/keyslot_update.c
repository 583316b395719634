/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Adding, removing and changing keyslots, each a sequence of durable
 * steps ordered so that a crash between any two leaves the volume
 * openable with the passphrases it had before or after (docs/FORMAT.md,
 * "Update protocol").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "keyslot.h"
#include "volume.h"

/* The caller's key must be this volume's key: never seal a stranger. */
static int check_key(const struct vol_volume *vol, const struct vol_key *key)
{
	int r = vol_digest_verify(&vol->md.digest[0], key);

	if (r == 1)
		return 0;
	if (r == 0)
		vol_err("volume key does not match this volume");
	return r ? r : -EPERM;
}

static int pick_free_slot(const struct vol_volume *vol, int slot)
{
	if (slot >= VOL_KEYSLOTS)
		return -EINVAL;
	if (slot >= 0) {
		if (vol->md.slot[slot].active) {
			vol_err("keyslot %d is already in use", slot);
			return -EEXIST;
		}
		return slot;
	}
	for (int s = 0; s < VOL_KEYSLOTS; s++)
		if (!vol->md.slot[s].active)
			return s;
	vol_err("all %d keyslots are in use", VOL_KEYSLOTS);
	return -ENOSPC;
}

/* Prepare a sealed slot and its material from the caller's KDF request. */
static int seal_new(const struct vol_key *key, const char *pass, size_t pass_len,
		    const struct vol_kdf_params *kdf, struct vol_keyslot *slot,
		    uint8_t **material)
{
	static const struct vol_kdf_params defaults;
	struct vol_kdf_spec spec;
	int r;

	if (!pass || !pass_len) {
		vol_err("empty passphrase");
		return -EINVAL;
	}
	r = vol_kdf_calibrate(kdf ? kdf : &defaults, VOL_VOLUME_KEY_BYTES, &spec);
	if (r)
		return r;
	*material = malloc(VOL_MATERIAL_STRIDE);
	if (!*material)
		return -ENOMEM;
	r = vol_keyslot_seal(slot, &spec, key, pass, pass_len, *material);
	if (r) {
		free(*material);
		*material = NULL;
	}
	return r;
}

int vol_keyslot_add(struct vol_volume *vol, const struct vol_key *key, int slot,
		    const char *pass, size_t pass_len, const struct vol_kdf_params *kdf,
		    int *slot_out)
{
	struct vol_keyslot sealed;
	uint8_t *material = NULL;
	int s, r;

	if (!vol || !key)
		return -EINVAL;
	r = vol_require_keyslot_update(vol);
	if (!r)
		r = check_key(vol, key);
	if (r)
		return r;
	s = pick_free_slot(vol, slot);
	if (s < 0)
		return s;
	r = seal_new(key, pass, pass_len, kdf, &sealed, &material);
	/* The slot is inactive, so its areas hold nothing anyone needs. */
	for (int c = 0; c < VOL_COPIES && !r; c++)
		r = vol_material_write(vol->dev, c, s, material);
	free(material);
	if (r)
		return r;
	vol->md.slot[s] = sealed;
	r = vol_header_commit(vol);
	if (r) {
		memset(&vol->md.slot[s], 0, sizeof(vol->md.slot[s]));
		return r;
	}
	vol->material_state[s][0] = vol->material_state[s][1] = VOL_COPY_OK;
	if (slot_out)
		*slot_out = s;
	return vol_header_tidy(vol);
}

int vol_keyslot_remove(struct vol_volume *vol, int slot, int allow_last)
{
	int active = 0, r;

	if (!vol || slot < 0 || slot >= VOL_KEYSLOTS)
		return -EINVAL;
	r = vol_require_keyslot_update(vol);
	if (r)
		return r;
	if (!vol->md.slot[slot].active) {
		vol_err("keyslot %d is not active", slot);
		return -EINVAL;
	}
	for (int s = 0; s < VOL_KEYSLOTS; s++)
		active += vol->md.slot[s].active;
	if (active == 1 && !allow_last) {
		vol_err("keyslot %d holds the last key; removing it makes the volume "
			"unopenable (force to do it anyway)", slot);
		return -EINVAL;
	}
	memset(&vol->md.slot[slot], 0, sizeof(vol->md.slot[slot]));
	r = vol_header_commit(vol);
	/* Tidy wipes both material copies of the now inactive slot. */
	return r ? r : vol_header_tidy(vol);
}

int vol_keyslot_change(struct vol_volume *vol, const struct vol_key *key, int old_slot,
		       const char *new_pass, size_t new_pass_len,
		       const struct vol_kdf_params *kdf, int *new_slot)
{
	enum vol_copy_state *st;
	struct vol_keyslot sealed;
	uint8_t *material = NULL;
	int first, r;

	if (!vol || !key || old_slot < 0 || old_slot >= VOL_KEYSLOTS)
		return -EINVAL;
	if (!vol->md.slot[old_slot].active) {
		vol_err("keyslot %d is not active", old_slot);
		return -EINVAL;
	}
	r = vol_require_keyslot_update(vol);
	if (!r)
		r = check_key(vol, key);
	if (!r)
		r = seal_new(key, new_pass, new_pass_len, kdf, &sealed, &material);
	if (r)
		return r;
	/*
	 * In place: overwrite a copy that is not the only valid one, switch
	 * the metadata (new salt, parameters, checksum) in one commit, then
	 * overwrite the other copy.  Old passphrase works until the commit,
	 * the new one from then on.
	 */
	st = vol->material_state[old_slot];
	first = vol_first_copy_to_write(st);
	r = vol_material_write(vol->dev, first, old_slot, material);
	if (r)
		goto out;
	st[first] = VOL_COPY_DAMAGED; /* holds material the old metadata rejects */
	vol->md.slot[old_slot] = sealed;
	r = vol_header_commit(vol);
	if (r)
		goto out;
	st[first] = VOL_COPY_OK;
	st[!first] = VOL_COPY_DAMAGED;
	r = vol_material_write(vol->dev, !first, old_slot, material);
	if (r)
		goto out;
	st[!first] = VOL_COPY_OK;
	if (new_slot)
		*new_slot = old_slot;
	r = vol_header_tidy(vol);
out:
	free(material);
	return r;
}
