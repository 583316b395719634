/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for libvol/kdf.c and kdf_benchmark.c: published vectors,
 * cross-checks against independent computations, limits, calibration.
 *
 * Argon2 runs use little memory except where calibration is the point.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "internal.h"
#include "kdf.h"
#include "unit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define PB VOL_KDF_PBKDF2_SHA256
#define A2 VOL_KDF_ARGON2ID

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		while (*hex == ' ')
			hex++;
		ck_assert_int_eq(sscanf(hex, "%2x", &v), 1);
		out[i] = (uint8_t)v;
		hex += 2;
	}
}

/* The last error the library logged, to check it names the limit. */
static char last_err[512];

static void capture_log(enum vol_log_level level, const char *msg, void *ctx)
{
	(void)ctx;
	if (level == VOL_LOG_ERROR)
		snprintf(last_err, sizeof(last_err), "%s", msg);
}

static void setup(void)
{
	last_err[0] = 0;
	vol_set_log(capture_log, NULL);
}

static uint32_t expected_lanes_cap(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus > 0 && cpus < 4 ? (uint32_t)cpus : 4;
}

static uint64_t expected_mem_cap(void)
{
	uint64_t half = (uint64_t)sysconf(_SC_PHYS_PAGES) *
			(uint64_t)sysconf(_SC_PAGESIZE) / 1024 / 2;

	return half < (1u << 20) ? half : (1u << 20);
}

/* ------------------------------------------------------------------ */
/* Direct libgcrypt Argon2id, the same call shape as kdf.c             */

/* One thread per job, joined at each sync point: unlike kdf.c's pool. */
struct direct_job {
	gcry_kdf_job_fn_t fn;
	void *priv;
};

struct direct_ctx {
	pthread_t tid[16];
	struct direct_job job[16];
	unsigned n;
};

static void *direct_thread(void *arg)
{
	struct direct_job *j = arg;

	j->fn(j->priv);
	return NULL;
}

static int direct_dispatch(void *ctx, gcry_kdf_job_fn_t fn, void *priv)
{
	struct direct_ctx *c = ctx;

	if (c->n == N(c->tid))
		return -1;
	c->job[c->n].fn = fn;
	c->job[c->n].priv = priv;
	if (pthread_create(&c->tid[c->n], NULL, direct_thread, &c->job[c->n]))
		return -1;
	c->n++;
	return 0;
}

static int direct_wait(void *ctx)
{
	struct direct_ctx *c = ctx;

	for (unsigned i = 0; i < c->n; i++)
		pthread_join(c->tid[i], NULL);
	c->n = 0;
	return 0;
}

struct a2_in {
	const void *pass, *salt, *secret, *ad;
	size_t pass_len, salt_len, secret_len, ad_len;
	unsigned long t, m, p;
};

static gcry_error_t direct_argon2id(const struct a2_in *in, uint8_t *out,
				    size_t out_len, int threaded)
{
	unsigned long param[4] = { out_len, in->t, in->m, in->p };
	struct direct_ctx ctx = { .n = 0 };
	gcry_kdf_thread_ops_t ops = { &ctx, direct_dispatch, direct_wait };
	gcry_kdf_hd_t h;
	gcry_error_t err;

	err = gcry_kdf_open(&h, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID, param, 4,
			    in->pass, in->pass_len, in->salt, in->salt_len,
			    in->secret, in->secret_len, in->ad, in->ad_len);
	if (err)
		return err;
	err = gcry_kdf_compute(h, threaded ? &ops : NULL);
	if (!err)
		err = gcry_kdf_final(h, out_len, out);
	gcry_kdf_close(h);
	return err;
}

/* ------------------------------------------------------------------ */
/* Argon2id                                                            */

/* RFC 9106 section 5.3 (needs secret and associated data: direct call). */
START_TEST(test_argon2id_rfc9106)
{
	uint8_t pass[32], salt[16], secret[8], ad[12], want[32], got[32];
	struct a2_in in = { pass, salt, secret, ad, 32, 16, 8, 12, 3, 32, 4 };

	memset(pass, 0x01, sizeof(pass));
	memset(salt, 0x02, sizeof(salt));
	memset(secret, 0x03, sizeof(secret));
	memset(ad, 0x04, sizeof(ad));
	unhex("0d 64 0d f5 8d 78 76 6c 08 c0 37 a3 4a 8b 53 c9"
	      "d0 1e f0 45 2d 75 b6 5e b5 25 20 e9 6b 01 e6 59", want, 32);
	for (int threaded = 0; threaded <= 1; threaded++) {
		memset(got, 0, sizeof(got));
		ck_assert_int_eq(direct_argon2id(&in, got, sizeof(got), threaded), 0);
		ck_assert_mem_eq(got, want, 32);
	}
}
END_TEST

/*
 * Reference implementation's test.c (P-H-C/phc-winner-argon2, Argon2id,
 * v=0x13): t=4, m=2^16, p=1, "password", "somesalt".  No secret or ad,
 * t >= 4: it goes through vol_kdf_derive() itself.
 */
START_TEST(test_argon2id_phc_vector)
{
	struct vol_kdf_spec spec = { VOL_KDF_ARGON2ID, 4, 1u << 16, 1 };
	uint8_t want[32], got[32];

	unhex("9025d48e68ef7395cca9079da4c4ec3affb3c8911fe4f86d1a2520856f63172c",
	      want, 32);
	ck_assert_int_eq(vol_kdf_derive(&spec, "password", 8,
					(const uint8_t *)"somesalt", 8, got, 32), 0);
	ck_assert_mem_eq(got, want, 32);
}
END_TEST

/* Our lane pool must not change the result: compare with no threads. */
START_TEST(test_argon2id_lanes_agree)
{
	static const uint32_t lanes[] = { 1, 2, 3, 4, 7, 16 };
	static const size_t out_lens[] = { 32, 64, 100 };

	for (size_t l = 0; l < N(lanes); l++) {
		for (size_t o = 0; o < N(out_lens); o++) {
			struct vol_kdf_spec spec = { A2, 4, 1024, lanes[l] };
			uint8_t pass[40], salt[16], ours[100], seq[100], thr[100];
			struct a2_in in = { pass, salt, NULL, NULL, sizeof(pass),
					    sizeof(salt), 0, 0, 4, 1024, lanes[l] };
			size_t n = out_lens[o];

			gcry_randomize(pass, sizeof(pass), GCRY_STRONG_RANDOM);
			gcry_randomize(salt, sizeof(salt), GCRY_STRONG_RANDOM);
			ck_assert_int_eq(vol_kdf_derive(&spec, pass, sizeof(pass), salt,
							sizeof(salt), ours, n), 0);
			ck_assert_int_eq(direct_argon2id(&in, seq, n, 0), 0);
			ck_assert_int_eq(direct_argon2id(&in, thr, n, 1), 0);
			ck_assert_msg(!memcmp(ours, seq, n), "p=%u len %zu", lanes[l], n);
			ck_assert_mem_eq(seq, thr, n);
		}
	}
}
END_TEST

/* Every parameter reaches libgcrypt. */
START_TEST(test_argon2id_inputs_matter)
{
	const struct vol_kdf_spec base = { VOL_KDF_ARGON2ID, 4, 256, 2 };
	struct vol_kdf_spec spec;
	uint8_t salt[16], ref[32], out[32];

	memcpy(salt, "0123456789abcdef", 16);
	ck_assert_int_eq(vol_kdf_derive(&base, "secret", 6, salt, 16, ref, 32), 0);

	ck_assert_int_eq(vol_kdf_derive(&base, "secreT", 6, salt, 16, out, 32), 0);
	ck_assert(memcmp(ref, out, 32));
	salt[15] ^= 1;
	ck_assert_int_eq(vol_kdf_derive(&base, "secret", 6, salt, 16, out, 32), 0);
	ck_assert(memcmp(ref, out, 32));
	salt[15] ^= 1;
	spec = base;
	spec.iterations++;
	ck_assert_int_eq(vol_kdf_derive(&spec, "secret", 6, salt, 16, out, 32), 0);
	ck_assert(memcmp(ref, out, 32));
	spec = base;
	spec.memory_kib += 16;
	ck_assert_int_eq(vol_kdf_derive(&spec, "secret", 6, salt, 16, out, 32), 0);
	ck_assert(memcmp(ref, out, 32));
	spec = base;
	spec.parallel = 1;
	ck_assert_int_eq(vol_kdf_derive(&spec, "secret", 6, salt, 16, out, 32), 0);
	ck_assert(memcmp(ref, out, 32));
	/* The tag length is an input too: a shorter tag is not a prefix. */
	ck_assert_int_eq(vol_kdf_derive(&base, "secret", 6, salt, 16, out, 16), 0);
	ck_assert(memcmp(ref, out, 16));
	/* And it is deterministic. */
	ck_assert_int_eq(vol_kdf_derive(&base, "secret", 6, salt, 16, out, 32), 0);
	ck_assert_mem_eq(ref, out, 32);
}
END_TEST

/* ------------------------------------------------------------------ */
/* PBKDF2-HMAC-SHA256                                                  */

/* RFC 7914 section 11. */
START_TEST(test_pbkdf2_rfc7914)
{
	struct vol_kdf_spec spec = { VOL_KDF_PBKDF2_SHA256, 80000, 0, 0 };
	uint8_t want[64], got[64];

	/* c = 1 is below our minimum: the same libgcrypt call, made directly. */
	unhex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
	      "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
	      want, 64);
	ck_assert_int_eq(gcry_kdf_derive("passwd", 6, GCRY_KDF_PBKDF2, GCRY_MD_SHA256,
					 "salt", 4, 1, 64, got), 0);
	ck_assert_mem_eq(got, want, 64);
	spec.iterations = 1;
	ck_assert_int_eq(vol_kdf_derive(&spec, "passwd", 6, (const uint8_t *)"salt",
					4, got, 64), -EINVAL);

	spec.iterations = 80000;
	unhex("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
	      "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
	      want, 64);
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(vol_kdf_derive(&spec, "Password", 8, (const uint8_t *)"NaCl",
					4, got, 64), 0);
	ck_assert_mem_eq(got, want, 64);
}
END_TEST

/* Random inputs against OpenSSL's PKCS5_PBKDF2_HMAC. */
START_TEST(test_pbkdf2_matches_openssl)
{
	static const size_t out_lens[] = { 1, 20, 32, 33, 64, 100 };

	for (int round = 0; round < 24; round++) {
		uint8_t pass[80], salt[64], ours[100], ossl[100], r[4];
		struct vol_kdf_spec spec = { VOL_KDF_PBKDF2_SHA256, 0, 0, 0 };
		size_t pass_len, salt_len, n = out_lens[round % N(out_lens)];

		gcry_randomize(r, sizeof(r), GCRY_STRONG_RANDOM);
		pass_len = 1 + r[0] % sizeof(pass);
		salt_len = 1 + r[1] % sizeof(salt);
		spec.iterations = VOL_PBKDF2_MIN_ITER + (uint32_t)(r[2] << 4 | r[3] >> 4);
		gcry_randomize(pass, pass_len, GCRY_STRONG_RANDOM);
		gcry_randomize(salt, salt_len, GCRY_STRONG_RANDOM);
		ck_assert_int_eq(vol_kdf_derive(&spec, pass, pass_len, salt, salt_len,
						ours, n), 0);
		ck_assert_int_eq(PKCS5_PBKDF2_HMAC((const char *)pass, (int)pass_len,
						   salt, (int)salt_len,
						   (int)spec.iterations, EVP_sha256(),
						   (int)n, ossl), 1);
		ck_assert_msg(!memcmp(ours, ossl, n),
			      "pass %zu salt %zu iter %u len %zu", pass_len,
			      salt_len, spec.iterations, n);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* Limits                                                              */

START_TEST(test_spec_valid)
{
	static const struct {
		struct vol_kdf_spec s;
		int ok;
	} cases[] = {
		{ { VOL_KDF_PBKDF2_SHA256, 1000, 0, 0 }, 1 },
		{ { VOL_KDF_PBKDF2_SHA256, UINT32_MAX, 0, 0 }, 1 },
		{ { VOL_KDF_PBKDF2_SHA256, 999, 0, 0 }, 0 },
		{ { VOL_KDF_PBKDF2_SHA256, 5000, 1024, 0 }, 0 },
		{ { VOL_KDF_PBKDF2_SHA256, 5000, 0, 1 }, 0 },
		{ { VOL_KDF_ARGON2ID, 4, 32, 1 }, 1 },
		{ { VOL_KDF_ARGON2ID, 4, 128, 16 }, 1 },
		{ { VOL_KDF_ARGON2ID, VOL_ARGON2_MAX_TIME, 1u << 20, 4 }, 1 },
		{ { VOL_KDF_ARGON2ID, 4, VOL_ARGON2_MAX_MEM_KIB, 4 }, 1 },
		{ { VOL_KDF_ARGON2ID, 3, 1024, 1 }, 0 },
		{ { VOL_KDF_ARGON2ID, 0x80000000u, 1024, 1 }, 0 },
		{ { VOL_KDF_ARGON2ID, 4, 31, 1 }, 0 },
		{ { VOL_KDF_ARGON2ID, 4, VOL_ARGON2_MAX_MEM_KIB + 1, 1 }, 0 },
		{ { VOL_KDF_ARGON2ID, 4, 1024, 0 }, 0 },
		{ { VOL_KDF_ARGON2ID, 4, 1024, 17 }, 0 },
		{ { VOL_KDF_ARGON2ID, 4, 64, 16 }, 0 },	/* < 8 KiB per lane */
		{ { VOL_KDF_DEFAULT, 4, 1024, 1 }, 0 },
		{ { (enum vol_kdf_type)3, 4, 1024, 1 }, 0 },
	};

	for (size_t i = 0; i < N(cases); i++)
		ck_assert_msg(vol_kdf_spec_valid(&cases[i].s) ==
			      (cases[i].ok ? 0 : -EINVAL), "case %zu", i);
	ck_assert_int_eq(vol_kdf_spec_valid(NULL), -EINVAL);
}
END_TEST

START_TEST(test_derive_rejects_bad_arguments)
{
	const struct vol_kdf_spec a2 = { VOL_KDF_ARGON2ID, 4, 64, 1 };
	const struct vol_kdf_spec pb = { VOL_KDF_PBKDF2_SHA256, 1000, 0, 0 };
	const struct vol_kdf_spec bad = { VOL_KDF_ARGON2ID, 2, 64, 1 };
	const uint8_t salt[16] = { 0 };
	uint8_t out[32];

	ck_assert_int_eq(vol_kdf_derive(NULL, "p", 1, salt, 16, out, 32), -EINVAL);
	ck_assert_int_eq(vol_kdf_derive(&bad, "p", 1, salt, 16, out, 32), -EINVAL);
	ck_assert_int_eq(vol_kdf_derive(&a2, "p", 0, salt, 16, out, 32), -EINVAL);
	ck_assert_int_eq(vol_kdf_derive(&pb, "p", 0, salt, 16, out, 32), -EINVAL);
	ck_assert_int_eq(vol_kdf_derive(&a2, NULL, 1, salt, 16, out, 32), -EINVAL);
	ck_assert_int_eq(vol_kdf_derive(&a2, "p", 1, NULL, 16, out, 32), -EINVAL);
	ck_assert_int_eq(vol_kdf_derive(&pb, "p", 1, salt, 0, out, 32), -EINVAL);
	ck_assert_int_eq(vol_kdf_derive(&a2, "p", 1, salt, 7, out, 32), -EINVAL);
	ck_assert_int_eq(vol_kdf_derive(&a2, "p", 1, salt, 16, NULL, 32), -EINVAL);
	ck_assert_int_eq(vol_kdf_derive(&a2, "p", 1, salt, 16, out, 0), -EINVAL);
	ck_assert_int_eq(vol_kdf_derive(&a2, "p", 1, salt, 16, out, 3), -EINVAL);
	/* The edges that are allowed. */
	ck_assert_int_eq(vol_kdf_derive(&a2, "p", 1, salt, 8, out, 4), 0);
	ck_assert_int_eq(vol_kdf_derive(&pb, "p", 1, salt, 1, out, 1), 0);
}
END_TEST

static int calibrate_err(struct vol_kdf_params req, const char *needle)
{
	struct vol_kdf_spec spec = { VOL_KDF_ARGON2ID, 9, 9, 9 };
	int r;

	last_err[0] = 0;
	r = vol_kdf_calibrate(&req, 64, &spec);
	ck_assert_msg(strstr(last_err, needle), "message '%s' lacks '%s'",
		      last_err, needle);
	/* Nothing half-filled is left behind. */
	ck_assert_uint_eq(spec.iterations, 0);
	return r;
}

START_TEST(test_calibrate_rejects_out_of_range)
{
	static const struct {
		struct vol_kdf_params p;
		const char *limit;	/* the message must name it */
	} bad[] = {
		{ { .type = PB, .force_iterations = 999 }, "1000" },
		{ { .type = PB, .memory_kib = 1024 }, "Argon2id only" },
		{ { .type = PB, .parallel = 2, .force_iterations = 5000 },
		  "Argon2id only" },
		{ { .type = A2, .force_iterations = 3 }, "minimum of 4" },
		{ { .force_iterations = 3 }, "minimum of 4" },	/* default type */
		{ { .type = A2, .force_iterations = 0x80000000u, .memory_kib = 1024 },
		  "2147483647" },
		{ { .type = A2, .memory_kib = 16 }, "32.." },
		{ { .type = A2, .memory_kib = VOL_ARGON2_MAX_MEM_KIB + 1,
		    .force_iterations = 4 }, "4194303 KiB" },
		{ { .type = A2, .parallel = 17 }, "16 lanes" },
		{ { .type = (enum vol_kdf_type)7 }, "unknown KDF" },
	};

	for (size_t i = 0; i < N(bad); i++)
		ck_assert_int_eq(calibrate_err(bad[i].p, bad[i].limit), -EINVAL);
}
END_TEST

START_TEST(test_calibrate_force_skips_benchmark)
{
	struct vol_kdf_params p = { .type = A2, .memory_kib = 1u << 20,
				    .parallel = 2, .force_iterations = 6 };
	uint32_t lanes = expected_lanes_cap() < 2 ? expected_lanes_cap() : 2;
	struct vol_kdf_spec s;
	double t0 = vol_now_ms();

	/* 1 GiB at t = 6 takes seconds to run: a benchmark would show. */
	ck_assert_int_eq(vol_kdf_calibrate(&p, 64, &s), 0);
	ck_assert_uint_eq(s.type, VOL_KDF_ARGON2ID);
	ck_assert_uint_eq(s.iterations, 6);
	ck_assert_uint_eq(s.memory_kib, 1u << 20);
	ck_assert_uint_eq(s.parallel, lanes);

	/* Without a memory request: the default cap. */
	p = (struct vol_kdf_params){ .force_iterations = 5 };
	ck_assert_int_eq(vol_kdf_calibrate(&p, 64, &s), 0);
	ck_assert_uint_eq(s.type, VOL_KDF_ARGON2ID);
	ck_assert_uint_eq(s.iterations, 5);
	ck_assert_uint_eq(s.memory_kib, expected_mem_cap());
	ck_assert_uint_eq(s.parallel, expected_lanes_cap());

	p = (struct vol_kdf_params){ .type = VOL_KDF_PBKDF2_SHA256,
				     .force_iterations = 123456 };
	ck_assert_int_eq(vol_kdf_calibrate(&p, 64, &s), 0);
	ck_assert_uint_eq(s.type, VOL_KDF_PBKDF2_SHA256);
	ck_assert_uint_eq(s.iterations, 123456);
	ck_assert_uint_eq(s.memory_kib, 0);
	ck_assert_uint_eq(s.parallel, 0);
	ck_assert_msg(vol_now_ms() - t0 < 50, "forced calibration took %.1f ms",
		      vol_now_ms() - t0);
}
END_TEST

/* Defaults: LUKS2's Argon2id, 2 s, memory and lanes within their caps. */
START_TEST(test_calibrate_defaults)
{
	struct vol_kdf_spec s;

	ck_assert_int_eq(vol_kdf_calibrate(NULL, 64, &s), 0);
	ck_assert_uint_eq(s.type, VOL_KDF_ARGON2ID);
	ck_assert_uint_le(s.memory_kib, expected_mem_cap());
	ck_assert_uint_ge(s.memory_kib, 32u << 10);
	ck_assert_uint_ge(s.parallel, 1);
	ck_assert_uint_le(s.parallel, expected_lanes_cap());
	ck_assert_uint_ge(s.iterations, VOL_ARGON2_MIN_TIME);
	ck_assert_int_eq(vol_kdf_spec_valid(&s), 0);
}
END_TEST

static double time_derive(const struct vol_kdf_spec *s)
{
	uint8_t *pass = vol_secure_alloc(32), *key = vol_secure_alloc(64);
	uint8_t salt[32];
	double t0;

	ck_assert_ptr_nonnull(pass);
	ck_assert_ptr_nonnull(key);
	gcry_create_nonce(pass, 32);
	gcry_create_nonce(salt, 32);
	t0 = vol_now_ms();
	ck_assert_int_eq(vol_kdf_derive(s, pass, 32, salt, 32, key, 64), 0);
	t0 = vol_now_ms() - t0;
	vol_secure_free(pass, 32);
	vol_secure_free(key, 64);
	return t0;
}

/* A 200 ms target gives a derivation of about 200 ms. */
START_TEST(test_calibrate_hits_target)
{
	static const enum vol_kdf_type types[] = { VOL_KDF_ARGON2ID,
						   VOL_KDF_PBKDF2_SHA256 };

	for (size_t i = 0; i < N(types); i++) {
		struct vol_kdf_params p = { .type = types[i], .iter_time_ms = 200 };
		struct vol_kdf_spec s;
		double ms;

		ck_assert_int_eq(vol_kdf_calibrate(&p, 64, &s), 0);
		ck_assert_uint_eq(s.type, types[i]);
		ms = time_derive(&s);
		ck_assert_msg(ms >= 100 && ms <= 400,
			      "type %d t=%u m=%u p=%u took %.1f ms", (int)s.type,
			      s.iterations, s.memory_kib, s.parallel, ms);
	}
}
END_TEST

START_TEST(test_pbkdf2_iterations_for_ms)
{
	struct vol_kdf_spec s = { VOL_KDF_PBKDF2_SHA256, 0, 0, 0 };
	double ms;

	ck_assert_uint_eq(vol_pbkdf2_iterations_for_ms(0), VOL_PBKDF2_MIN_ITER);
	s.iterations = vol_pbkdf2_iterations_for_ms(100);
	ck_assert_uint_gt(s.iterations, VOL_PBKDF2_MIN_ITER);
	ms = time_derive(&s);
	ck_assert_msg(ms >= 50 && ms <= 200, "%u iterations took %.1f ms",
		      s.iterations, ms);
}
END_TEST

START_TEST(test_benchmark_kdf)
{
	struct vol_kdf_params p = { .type = VOL_KDF_ARGON2ID, .memory_kib = 4096,
				    .parallel = 1, .force_iterations = 4 };
	struct vol_keyslot_info info;
	double ms = -1;

	ck_assert_int_eq(vol_benchmark_kdf(&p, &info, &ms), 0);
	ck_assert_uint_eq(info.kdf, VOL_KDF_ARGON2ID);
	ck_assert_uint_eq(info.iterations, 4);
	ck_assert_uint_eq(info.memory_kib, 4096);
	ck_assert_uint_eq(info.parallel, 1);
	ck_assert(ms > 0 && ms < 2000);

	p = (struct vol_kdf_params){ .type = VOL_KDF_PBKDF2_SHA256, .iter_time_ms = 100 };
	ck_assert_int_eq(vol_benchmark_kdf(&p, &info, &ms), 0);
	ck_assert_uint_eq(info.kdf, VOL_KDF_PBKDF2_SHA256);
	ck_assert_uint_gt(info.iterations, VOL_PBKDF2_MIN_ITER);
	ck_assert_uint_eq(info.memory_kib, 0);
	ck_assert_uint_eq(info.parallel, 0);
	ck_assert_msg(ms >= 50 && ms <= 200, "PBKDF2 100 ms took %.1f ms", ms);

	ck_assert_int_eq(vol_benchmark_kdf(&p, NULL, &ms), -EINVAL);
	ck_assert_int_eq(vol_benchmark_kdf(&p, &info, NULL), -EINVAL);
	p.force_iterations = 10;
	ck_assert_int_eq(vol_benchmark_kdf(&p, &info, &ms), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("kdf");
	TCase *vec = tcase_create("vectors");
	TCase *lim = tcase_create("limits");
	TCase *cal = tcase_create("calibration");

	tcase_add_checked_fixture(vec, setup, NULL);
	tcase_set_timeout(vec, 30);
	tcase_add_test(vec, test_argon2id_rfc9106);
	tcase_add_test(vec, test_argon2id_phc_vector);
	tcase_add_test(vec, test_argon2id_lanes_agree);
	tcase_add_test(vec, test_argon2id_inputs_matter);
	tcase_add_test(vec, test_pbkdf2_rfc7914);
	tcase_add_test(vec, test_pbkdf2_matches_openssl);
	suite_add_tcase(s, vec);

	tcase_add_checked_fixture(lim, setup, NULL);
	tcase_add_test(lim, test_spec_valid);
	tcase_add_test(lim, test_derive_rejects_bad_arguments);
	tcase_add_test(lim, test_calibrate_rejects_out_of_range);
	tcase_add_test(lim, test_calibrate_force_skips_benchmark);
	suite_add_tcase(s, lim);

	/* The default calibration measures up to 1 GiB runs. */
	tcase_add_checked_fixture(cal, setup, NULL);
	tcase_set_timeout(cal, 60);
	tcase_add_test(cal, test_calibrate_defaults);
	tcase_add_test(cal, test_calibrate_hits_target);
	tcase_add_test(cal, test_pbkdf2_iterations_for_ms);
	tcase_add_test(cal, test_benchmark_kdf);
	suite_add_tcase(s, cal);
	return s;
}

int main(void)
{
	return unit_run(suite());
}
