/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Keyslot sealing/unsealing and the volume key digest. */
#ifndef LIBVOL_KEYSLOT_H
#define LIBVOL_KEYSLOT_H

#include <stddef.h>
#include <stdint.h>

#include "header_codec.h"
#include "internal.h"
#include "kdf.h"

/* Bytes of key material stored per slot copy (AF stripes * key bytes). */
size_t vol_keyslot_material_bytes(const struct vol_keyslot *slot);

/*
 * Seal @key under @pass into @slot (KDF parameters, fresh salt, material
 * checksum) and @material (VOL_MATERIAL_STRIDE bytes, zero padded):
 *   kek      = KDF(pass, salt)                                (64 bytes)
 *   material = AES-256-XTS_kek(AF-split(key, 4000 stripes)),
 *              512-byte units, IV = plain64(unit index)
 *   checksum = SHA-256(material)
 */
int vol_keyslot_seal(struct vol_keyslot *slot, const struct vol_kdf_spec *spec,
		     const struct vol_key *key, const char *pass, size_t pass_len,
		     uint8_t *material);

/* kek = KDF(pass, slot salt); @kek is VOL_VOLUME_KEY_BYTES of secure memory. */
int vol_keyslot_derive(const struct vol_keyslot *slot, const char *pass,
		       size_t pass_len, uint8_t *kek);

/* 1 if SHA-256(material) matches the slot's checksum, else 0. */
int vol_keyslot_material_ok(const struct vol_keyslot *slot, const uint8_t *material);

/* key = AF-merge(AES-256-XTS-decrypt_kek(material)); no digest check here. */
int vol_keyslot_unseal(const struct vol_keyslot *slot, const uint8_t *kek,
		       const uint8_t *material, struct vol_key *key);

/* Iterations of a key digest for the KDF request @kdf (calibrated, or the minimum when forced). */
uint32_t vol_digest_iterations(const struct vol_kdf_params *kdf);

/* d.value = PBKDF2-SHA256(key, d.salt (fresh), iterations, 32) */
int vol_digest_create(struct vol_digest *d, const struct vol_key *key,
		      uint32_t iterations);

/* 1 if @key matches @d (constant-time comparison), 0 if not, or -errno. */
int vol_digest_verify(const struct vol_digest *d, const struct vol_key *key);

#endif
