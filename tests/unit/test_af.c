/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for libvol/af.c, the TKS1 anti-forensic splitter.
 *
 * The diffuser is checked against an independent implementation of the
 * LUKS formula built on OpenSSL's SHA-256, and against a vector computed
 * with Python's hashlib, so a bug shared by split and merge cannot hide.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "af.h"
#include "internal.h"
#include "unit.h"

static const size_t key_lens[] = { 1, 16, 31, 32, 33, 64, 65, 100 };
static const unsigned stripe_counts[] = { 1, 2, 3, 17, VOL_AF_STRIPES };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8) * 13);
}

/* --- independent reference: block i -> SHA256(be32(i) || block)[0..n) */

static void ref_diffuse(uint8_t *buf, size_t len)
{
	for (size_t off = 0, i = 0; off < len; off += 32, i++) {
		size_t n = len - off < 32 ? len - off : 32;
		uint8_t in[4 + 32], md[32];
		unsigned mdlen = 0;

		in[0] = (uint8_t)(i >> 24);
		in[1] = (uint8_t)(i >> 16);
		in[2] = (uint8_t)(i >> 8);
		in[3] = (uint8_t)i;
		memcpy(in + 4, buf + off, n);
		ck_assert_int_eq(EVP_Digest(in, 4 + n, md, &mdlen, EVP_sha256(),
					    NULL), 1);
		ck_assert_uint_eq(mdlen, 32);
		memcpy(buf + off, md, n);
	}
}

/* d after the first stripes - 1 stripes of @m. */
static void ref_chain(const uint8_t *m, size_t len, unsigned stripes, uint8_t *d)
{
	memset(d, 0, len);
	for (unsigned s = 0; s + 1 < stripes; s++) {
		for (size_t i = 0; i < len; i++)
			d[i] ^= m[(size_t)s * len + i];
		ref_diffuse(d, len);
	}
}

/* Material with chosen stripes and the last one computed by hand. */
static uint8_t *ref_split(const uint8_t *key, size_t len, unsigned stripes)
{
	uint8_t *m = malloc(len * stripes), *d = malloc(len);

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(d);
	for (unsigned s = 0; s + 1 < stripes; s++)
		pattern(m + (size_t)s * len, len, s + 1);
	ref_chain(m, len, stripes, d);
	for (size_t i = 0; i < len; i++)
		m[(size_t)(stripes - 1) * len + i] = d[i] ^ key[i];
	free(d);
	return m;
}

static void ref_merge(const uint8_t *m, size_t len, unsigned stripes, uint8_t *key)
{
	uint8_t *d = malloc(len);

	ck_assert_ptr_nonnull(d);
	ref_chain(m, len, stripes, d);
	for (size_t i = 0; i < len; i++)
		key[i] = d[i] ^ m[(size_t)(stripes - 1) * len + i];
	free(d);
}

/* ------------------------------------------------------------------ */

START_TEST(test_roundtrip)
{
	for (size_t k = 0; k < N(key_lens); k++) {
		for (size_t s = 0; s < N(stripe_counts); s++) {
			size_t len = key_lens[k];
			unsigned stripes = stripe_counts[s];
			uint8_t key[128], back[128];
			uint8_t *m = malloc(len * stripes);

			ck_assert_ptr_nonnull(m);
			gcry_randomize(key, len, GCRY_STRONG_RANDOM);
			memset(back, 0, sizeof(back));
			ck_assert_int_eq(vol_af_split(key, len, stripes, m), 0);
			ck_assert_int_eq(vol_af_merge(m, len, stripes, back), 0);
			ck_assert_msg(!memcmp(key, back, len),
				      "roundtrip len %zu stripes %u", len, stripes);
			free(m);
		}
	}
}
END_TEST

START_TEST(test_every_stripe_matters)
{
	static const size_t lens[] = { 33, 64 };
	const unsigned stripes = VOL_AF_STRIPES;
	const unsigned which[] = { 0, 1, 1234, stripes / 2, stripes - 2, stripes - 1 };

	for (size_t k = 0; k < N(lens); k++) {
		size_t len = lens[k];
		uint8_t key[64], back[64];
		uint8_t *m = malloc(len * stripes), *bad = malloc(len * stripes);

		ck_assert_ptr_nonnull(m);
		ck_assert_ptr_nonnull(bad);
		gcry_randomize(key, len, GCRY_STRONG_RANDOM);
		ck_assert_int_eq(vol_af_split(key, len, stripes, m), 0);
		for (size_t w = 0; w < N(which); w++) {
			size_t pos = (size_t)which[w] * len + (which[w] % len);

			memcpy(bad, m, len * stripes);
			bad[pos] ^= 0x01;
			ck_assert_int_eq(vol_af_merge(bad, len, stripes, back), 0);
			ck_assert_msg(memcmp(key, back, len) != 0,
				      "flip in stripe %u went unnoticed", which[w]);
		}
		/* The untouched material still gives the key. */
		ck_assert_int_eq(vol_af_merge(m, len, stripes, back), 0);
		ck_assert_mem_eq(key, back, len);
		free(m);
		free(bad);
	}
}
END_TEST

START_TEST(test_split_is_randomised)
{
	const size_t len = 64;
	const unsigned stripes = VOL_AF_STRIPES;
	uint8_t key[64], back[64];
	uint8_t *a = malloc(len * stripes), *b = malloc(len * stripes);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	pattern(key, len, 7);
	ck_assert_int_eq(vol_af_split(key, len, stripes, a), 0);
	ck_assert_int_eq(vol_af_split(key, len, stripes, b), 0);
	ck_assert(memcmp(a, b, len * stripes) != 0);
	/* Not even one stripe may repeat, the last one included. */
	for (unsigned s = 0; s < stripes; s++)
		ck_assert_msg(memcmp(a + (size_t)s * len, b + (size_t)s * len, len),
			      "stripe %u identical in two splits", s);
	ck_assert_int_eq(vol_af_merge(a, len, stripes, back), 0);
	ck_assert_mem_eq(key, back, len);
	ck_assert_int_eq(vol_af_merge(b, len, stripes, back), 0);
	ck_assert_mem_eq(key, back, len);
	free(a);
	free(b);
}
END_TEST

/* Material built by the reference implementation merges to the key. */
START_TEST(test_merge_matches_reference)
{
	for (size_t k = 0; k < N(key_lens); k++) {
		for (size_t s = 0; s < N(stripe_counts); s++) {
			size_t len = key_lens[k];
			unsigned stripes = stripe_counts[s];
			uint8_t key[128], back[128];
			uint8_t *m;

			pattern(key, len, 1000 + (unsigned)k);
			m = ref_split(key, len, stripes);
			ck_assert_int_eq(vol_af_merge(m, len, stripes, back), 0);
			ck_assert_msg(!memcmp(key, back, len),
				      "reference material len %zu stripes %u",
				      len, stripes);
			free(m);
		}
	}
}
END_TEST

/* Material from vol_af_split merges to the key by the reference. */
START_TEST(test_split_matches_reference)
{
	static const size_t lens[] = { 20, 32, 33, 64, 100 };

	for (size_t k = 0; k < N(lens); k++) {
		size_t len = lens[k];
		uint8_t key[128], back[128];
		uint8_t *m = malloc(len * VOL_AF_STRIPES);

		ck_assert_ptr_nonnull(m);
		gcry_randomize(key, len, GCRY_STRONG_RANDOM);
		ck_assert_int_eq(vol_af_split(key, len, VOL_AF_STRIPES, m), 0);
		ref_merge(m, len, VOL_AF_STRIPES, back);
		ck_assert_msg(!memcmp(key, back, len), "len %zu", len);
		free(m);
	}
}
END_TEST

/*
 * Fixed vector, computed with Python's hashlib (not OpenSSL, not
 * libgcrypt):
 *   L = 40; s0 = bytes(range(0, 40)); s1 = bytes(range(0x40, 0x68))
 *   key = bytes(range(0xa0, 0xc8))
 *   diffuse(b) = concat(sha256(be32(i) + blk)[:len(blk)] for 32-byte blk)
 *   d = diffuse(diffuse(s0) ^ s1); s2 = d ^ key
 */
START_TEST(test_known_answer)
{
	static const uint8_t s2[40] = {
		0xff, 0x7e, 0xa7, 0x49, 0xef, 0xf3, 0xb3, 0x33, 0x2a, 0xaf,
		0xea, 0xf4, 0x9c, 0xa2, 0x00, 0xea, 0x9d, 0x50, 0x2b, 0xe2,
		0x57, 0x4e, 0x61, 0xf9, 0xae, 0x83, 0xd6, 0x00, 0x4c, 0x95,
		0x21, 0x85, 0xe3, 0x0d, 0x6b, 0x0a, 0x23, 0x3a, 0xe9, 0x66,
	};
	uint8_t m[3 * 40], key[40], back[40];

	for (int i = 0; i < 40; i++) {
		m[i] = (uint8_t)i;
		m[40 + i] = (uint8_t)(0x40 + i);
		key[i] = (uint8_t)(0xa0 + i);
	}
	memcpy(m + 80, s2, sizeof(s2));
	ck_assert_int_eq(vol_af_merge(m, 40, 3, back), 0);
	ck_assert_mem_eq(key, back, 40);
	/* The OpenSSL reference agrees with the Python vector. */
	memset(back, 0, sizeof(back));
	ref_merge(m, 40, 3, back);
	ck_assert_mem_eq(key, back, 40);
}
END_TEST

START_TEST(test_invalid_arguments)
{
	uint8_t key[32] = { 0 }, m[64] = { 0 };

	ck_assert_int_eq(vol_af_split(NULL, 32, 2, m), -EINVAL);
	ck_assert_int_eq(vol_af_split(key, 32, 2, NULL), -EINVAL);
	ck_assert_int_eq(vol_af_split(key, 0, 2, m), -EINVAL);
	ck_assert_int_eq(vol_af_split(key, 32, 0, m), -EINVAL);
	ck_assert_int_eq(vol_af_split(key, SIZE_MAX / 2, 4, m), -EINVAL);
	/* len * stripes does not fit in size_t */
	ck_assert_int_eq(vol_af_split(key, (size_t)1 << 36, 1u << 30, m), -EINVAL);
	ck_assert_int_eq(vol_af_merge(NULL, 32, 2, key), -EINVAL);
	ck_assert_int_eq(vol_af_merge(m, 32, 2, NULL), -EINVAL);
	ck_assert_int_eq(vol_af_merge(m, 0, 2, key), -EINVAL);
	ck_assert_int_eq(vol_af_merge(m, 32, 0, key), -EINVAL);
	ck_assert_int_eq(vol_af_merge(m, SIZE_MAX / 2, 4, key), -EINVAL);
	ck_assert_int_eq(vol_af_merge(m, (size_t)1 << 36, 1u << 30, key), -EINVAL);
}
END_TEST

/* Secure-memory destinations, as the keyslot code uses them. */
START_TEST(test_secure_buffers)
{
	const size_t len = 64;
	uint8_t *key = vol_secure_alloc(len), *back = vol_secure_alloc(len);
	uint8_t *m = vol_secure_alloc(len * VOL_AF_STRIPES);

	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(back);
	ck_assert_ptr_nonnull(m);
	vol_random_key_bytes(key, len);
	ck_assert_int_eq(vol_af_split(key, len, VOL_AF_STRIPES, m), 0);
	ck_assert_int_eq(vol_af_merge(m, len, VOL_AF_STRIPES, back), 0);
	ck_assert_mem_eq(key, back, len);
	vol_secure_free(m, len * VOL_AF_STRIPES);
	vol_secure_free(back, len);
	vol_secure_free(key, len);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("af");
	TCase *tc = tcase_create("af");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_every_stripe_matters);
	tcase_add_test(tc, test_split_is_randomised);
	tcase_add_test(tc, test_merge_matches_reference);
	tcase_add_test(tc, test_split_matches_reference);
	tcase_add_test(tc, test_known_answer);
	tcase_add_test(tc, test_invalid_arguments);
	tcase_add_test(tc, test_secure_buffers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(suite());
}
