/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A keyslot turns a passphrase into the volume key:
 *
 *   kek      = KDF(passphrase, slot.salt)            Argon2id or PBKDF2-SHA256
 *   split    = AF-split(volume_key, 4000 stripes)    af.c
 *   material = AES-256-XTS_kek(split)                512-byte units, IV = unit index
 *
 * and the volume key is recognised by its digest:
 *
 *   digest   = PBKDF2-SHA256(volume_key, digest.salt, digest.iterations, 32)
 *
 * Everything that holds a key or the split key lives in secure memory.
 */
#include <errno.h>
#include <gcrypt.h>
#include <string.h>

#include "af.h"
#include "keyslot.h"
#include "sector_engine.h"

size_t vol_keyslot_material_bytes(const struct vol_keyslot *slot)
{
	return (size_t)VOL_MATERIAL_BYTES(slot->key_bytes, slot->stripes);
}

/* In-place XTS over the material in 512-byte units, IV = unit index. */
static int material_crypt(const uint8_t *kek, uint8_t *buf, size_t len, int encrypt)
{
	struct vol_engine *eng;
	int r;

	r = vol_engine_new_raw(kek, VOL_VOLUME_KEY_BYTES, 512, 1, &eng);
	if (r)
		return r;
	r = encrypt ? vol_engine_encrypt(eng, 0, buf, len) : vol_engine_decrypt(eng, 0, buf, len);
	vol_engine_free(eng);
	return r;
}

int vol_keyslot_derive(const struct vol_keyslot *slot, const char *pass,
		       size_t pass_len, uint8_t *kek)
{
	struct vol_kdf_spec spec = {
		.type = slot->kdf,
		.iterations = slot->iterations,
		.memory_kib = slot->memory_kib,
		.parallel = slot->parallel,
	};

	return vol_kdf_derive(&spec, pass, pass_len, slot->salt, VOL_SALT_BYTES,
			      kek, VOL_VOLUME_KEY_BYTES);
}

int vol_keyslot_seal(struct vol_keyslot *slot, const struct vol_kdf_spec *spec,
		     const struct vol_key *key, const char *pass, size_t pass_len,
		     uint8_t *material)
{
	uint8_t *kek = vol_secure_alloc(VOL_VOLUME_KEY_BYTES);
	uint8_t *split = NULL;
	size_t len;
	int r = -ENOMEM;

	memset(slot, 0, sizeof(*slot));
	slot->active = 1;
	slot->kdf = (uint8_t)spec->type;
	slot->key_bytes = (uint32_t)key->len;
	slot->stripes = VOL_AF_STRIPES_V1;
	slot->iterations = spec->iterations;
	slot->memory_kib = spec->memory_kib;
	slot->parallel = spec->parallel;
	gcry_randomize(slot->salt, VOL_SALT_BYTES, GCRY_STRONG_RANDOM);
	len = vol_keyslot_material_bytes(slot);
	split = vol_secure_alloc(len);
	if (!kek || !split)
		goto out;
	r = vol_keyslot_derive(slot, pass, pass_len, kek);
	if (!r)
		r = vol_af_split(key->bytes, key->len, slot->stripes, split);
	if (!r)
		r = material_crypt(kek, split, len, 1);
	if (r)
		goto out;
	memset(material, 0, VOL_MATERIAL_STRIDE);
	memcpy(material, split, len); /* now ciphertext: safe outside secure memory */
	gcry_md_hash_buffer(GCRY_MD_SHA256, slot->material_sha256, material, len);
out:
	vol_secure_free(split, len);
	vol_secure_free(kek, VOL_VOLUME_KEY_BYTES);
	return r;
}

int vol_keyslot_material_ok(const struct vol_keyslot *slot, const uint8_t *material)
{
	uint8_t sum[VOL_SHA256_BYTES];

	gcry_md_hash_buffer(GCRY_MD_SHA256, sum, material, vol_keyslot_material_bytes(slot));
	return memcmp(sum, slot->material_sha256, sizeof(sum)) == 0;
}

int vol_keyslot_unseal(const struct vol_keyslot *slot, const uint8_t *kek,
		       const uint8_t *material, struct vol_key *key)
{
	size_t len = vol_keyslot_material_bytes(slot);
	uint8_t *split = vol_secure_alloc(len);
	int r;

	if (!split)
		return -ENOMEM;
	memcpy(split, material, len);
	r = material_crypt(kek, split, len, 0);
	if (!r)
		r = vol_af_merge(split, slot->key_bytes, slot->stripes, key->bytes);
	vol_secure_free(split, len);
	return r;
}

static int digest_compute(const struct vol_digest *d, const struct vol_key *key,
			  uint8_t *out)
{
	struct vol_kdf_spec spec = {
		.type = VOL_KDF_PBKDF2_SHA256,
		.iterations = d->iterations,
	};

	return vol_kdf_derive(&spec, key->bytes, key->len, d->salt, VOL_SALT_BYTES,
			      out, VOL_SHA256_BYTES);
}

/* The digest costs 1/16 of a keyslot's KDF (LUKS2: ~125 ms of 2000 ms). */
#define DIGEST_TIME_DIVISOR 16

uint32_t vol_digest_iterations(const struct vol_kdf_params *kdf)
{
	uint32_t ms = kdf->iter_time_ms ? kdf->iter_time_ms : VOL_DEFAULT_ITER_TIME_MS;

	/* Forced (test) parameters skip every benchmark, the digest's too. */
	if (kdf->force_iterations)
		return VOL_PBKDF2_MIN_ITER;
	return vol_pbkdf2_iterations_for_ms(ms / DIGEST_TIME_DIVISOR);
}

int vol_digest_create(struct vol_digest *d, const struct vol_key *key,
		      uint32_t iterations)
{
	memset(d, 0, sizeof(*d));
	d->type = VOL_DIGEST_PBKDF2_SHA256;
	d->iterations = iterations;
	gcry_randomize(d->salt, VOL_SALT_BYTES, GCRY_STRONG_RANDOM);
	return digest_compute(d, key, d->value);
}

int vol_digest_verify(const struct vol_digest *d, const struct vol_key *key)
{
	uint8_t value[VOL_SHA256_BYTES];
	int r = digest_compute(d, key, value);

	if (!r)
		r = vol_ct_equal(value, d->value, sizeof(value));
	vol_wipe(value, sizeof(value));
	return r;
}
