/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Secure memory, wiping, constant-time comparison and randomness. */
#include <errno.h>
#include <gcrypt.h>
#include <string.h>
#include <time.h>

#include "internal.h"

int vol_require_gcrypt(void)
{
	/* Initialisation is the application's job (see libvol.h). */
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		vol_err("libgcrypt is not initialised by the application");
		return -EINVAL;
	}
	return 0;
}

void *vol_secure_alloc(size_t n)
{
	return gcry_calloc_secure(1, n ? n : 1);
}

void vol_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

void vol_secure_free(void *p, size_t n)
{
	if (!p)
		return;
	vol_wipe(p, n);
	gcry_free(p);
}

int vol_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

void vol_random_key_bytes(void *buf, size_t n)
{
	gcry_randomize(buf, n, GCRY_VERY_STRONG_RANDOM);
}

void vol_random_nonce(void *buf, size_t n)
{
	gcry_create_nonce(buf, n);
}

struct vol_key *vol_key_alloc(size_t len)
{
	struct vol_key *k = vol_secure_alloc(sizeof(*k));

	if (!k)
		return NULL;
	k->bytes = vol_secure_alloc(len);
	if (!k->bytes) {
		vol_secure_free(k, sizeof(*k));
		return NULL;
	}
	k->len = len;
	return k;
}

void vol_key_free(struct vol_key *key)
{
	if (!key)
		return;
	vol_secure_free(key->bytes, key->len);
	vol_secure_free(key, sizeof(*key));
}

int vol_key_export(const struct vol_key *key, uint8_t *buf, size_t len)
{
	if (!key || !buf || len < key->len)
		return -EINVAL;
	memcpy(buf, key->bytes, key->len);
	return (int)key->len;
}

double vol_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int vol_key_import(const uint8_t *bytes, size_t len, struct vol_key **out)
{
	struct vol_key *key;

	if (!bytes || !out || len != VOL_VOLUME_KEY_BYTES)
		return -EINVAL;
	key = vol_key_alloc(len);
	if (!key)
		return -ENOMEM;
	memcpy(key->bytes, bytes, len);
	*out = key;
	return 0;
}
