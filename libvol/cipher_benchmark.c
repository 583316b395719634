/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Throughput of the sector engine, for `volcrypt benchmark`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sector_engine.h"

#define BENCH_KEY_BYTES 64
/* Large enough to be split across every thread, small enough to allocate. */
#define BENCH_BUF_BYTES (4u << 20)

/* Pass over @total bytes, @buf_len at a time; returns MB/s (10^6 B/s). */
static int bench_pass(struct vol_engine *eng, int encrypt, uint8_t *buf, size_t buf_len,
		      size_t total, double *mbps)
{
	double t0 = vol_now_ms(), ms;
	size_t done = 0;
	int r;

	while (done < total) {
		size_t n = total - done < buf_len ? total - done : buf_len;

		/* Sector 0 every time: the IV value does not change the cost. */
		if (encrypt)
			r = vol_engine_encrypt(eng, 0, buf, n);
		else
			r = vol_engine_decrypt(eng, 0, buf, n);
		if (r)
			return r;
		done += n;
	}
	ms = vol_now_ms() - t0;
	if (ms < 1e-3)
		ms = 1e-3;
	*mbps = (double)total / (ms * 1e3);
	return 0;
}

static int bench_engine(uint32_t sector_size, unsigned threads, struct vol_engine **out)
{
	uint8_t *key = vol_secure_alloc(BENCH_KEY_BYTES);
	int r;

	if (!key)
		return -ENOMEM;
	/* The key protects nothing, so nonce-quality randomness will do. */
	vol_random_nonce(key, BENCH_KEY_BYTES);
	r = vol_engine_new_raw(key, BENCH_KEY_BYTES, sector_size, threads, out);
	vol_secure_free(key, BENCH_KEY_BYTES);
	return r;
}

int vol_benchmark_cipher(uint32_t sector_size, unsigned threads, size_t total_bytes,
			 double *enc_mbps, double *dec_mbps)
{
	struct vol_engine *eng = NULL;
	size_t buf_len;
	uint8_t *buf;
	int r;

	r = vol_require_gcrypt();
	if (r)
		return r;
	if ((sector_size != 512 && sector_size != 4096) || !enc_mbps || !dec_mbps)
		return -EINVAL;
	/* Whole sectors only; less than one sector cannot be measured. */
	total_bytes -= total_bytes % sector_size;
	if (!total_bytes)
		return -EINVAL;
	buf_len = total_bytes < BENCH_BUF_BYTES ? total_bytes : BENCH_BUF_BYTES;

	buf = aligned_alloc(64, buf_len);
	if (!buf)
		return -ENOMEM;
	/* Touch every page now so page faults are not timed. */
	memset(buf, 0xa5, buf_len);

	r = bench_engine(sector_size, threads, &eng);
	if (!r)
		r = bench_pass(eng, 1, buf, buf_len, total_bytes, enc_mbps);
	if (!r)
		r = bench_pass(eng, 0, buf, buf_len, total_bytes, dec_mbps);
	if (r)
		vol_err("cipher benchmark failed: %s", vol_strerror(r));
	vol_engine_free(eng);
	free(buf);
	return r;
}
