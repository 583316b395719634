/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vol_benchmark_kdf(): what calibration picks here, and what it costs. */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "kdf.h"

/* Same shapes as a keyslot: a key for AES-256-XTS and a 32-byte salt. */
#define BENCH_KEY_LEN VOL_VOLUME_KEY_BYTES
#define BENCH_PASS_LEN 32u
#define BENCH_SALT_LEN 32u

/* Time one derivation with @spec on a random passphrase and salt. */
static int time_derivation(const struct vol_kdf_spec *spec, double *ms)
{
	uint8_t salt[BENCH_SALT_LEN];
	uint8_t *pass = vol_secure_alloc(BENCH_PASS_LEN);
	uint8_t *key = vol_secure_alloc(BENCH_KEY_LEN);
	double t0;
	int r = -ENOMEM;

	if (!pass || !key)
		goto out;
	vol_random_nonce(pass, BENCH_PASS_LEN);
	vol_random_nonce(salt, sizeof(salt));
	t0 = vol_now_ms();
	r = vol_kdf_derive(spec, pass, BENCH_PASS_LEN, salt, sizeof(salt), key,
			   BENCH_KEY_LEN);
	*ms = vol_now_ms() - t0;
out:
	vol_secure_free(pass, BENCH_PASS_LEN);
	vol_secure_free(key, BENCH_KEY_LEN);
	return r;
}

int vol_benchmark_kdf(const struct vol_kdf_params *req,
		      struct vol_keyslot_info *chosen, double *ms)
{
	struct vol_kdf_spec spec;
	int r;

	r = vol_require_gcrypt();
	if (r)
		return r;
	if (!chosen || !ms)
		return -EINVAL;
	/* Exactly what vol_format() does for keyslot 0. */
	r = vol_kdf_calibrate(req, BENCH_KEY_LEN, &spec);
	if (r)
		return r;
	r = time_derivation(&spec, ms);
	if (r)
		return r;
	memset(chosen, 0, sizeof(*chosen));
	chosen->kdf = spec.type;
	chosen->iterations = spec.iterations;
	chosen->memory_kib = spec.memory_kib;
	chosen->parallel = spec.parallel;
	return 0;
}
