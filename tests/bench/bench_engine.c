/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sector engine throughput against OpenSSL, measured in one process.
 *
 * Every comparison runs reference and engine interleaved as A B B A,
 * several times over, and sums bytes and time per side, so frequency
 * changes and noisy neighbours hit both sides alike.
 *
 *  (a) one thread: the engine on 64 KiB runs of 4096- and 512-byte sectors
 *      against EVP aes-256-xts on units of the same size, done the way
 *      `openssl speed -evp aes-256-xts -bytes N` does (one EVP update per
 *      unit, no IV change - the most favourable case for OpenSSL);
 *  (b) all CPUs against one thread on 8 MiB runs of 4096-byte sectors.
 *
 * The scaling line also shows how many CPUs the process actually got
 * (CPU time / wall time): on a shared machine a low figure there means
 * other load, not the engine, limited the result.
 *
 * tests/bench/run.sh passes the figure of the real `openssl speed` in
 * OPENSSL_SPEED_XTS_4096_MBPS.  Missed goals are reported, not fatal;
 * the exit status is non-zero only on errors.
 */
#include <gcrypt.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libvol.h"
#include "sector_engine.h"

#define KEY_BYTES 64
#define RUN_1T (64u * 1024)		/* run size of the single-thread figures */
#define RUN_MT (8u * 1024 * 1024)	/* run size of the scaling figure */
#define REPS 3
#define SLICE_S 0.3			/* seconds per measurement */

static uint8_t key[KEY_BYTES];

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* One side of a comparison: processes len bytes of buf per call. */
struct side {
	int (*run)(struct side *s);
	uint8_t *buf;
	size_t len;
	uint32_t ss;
	uint64_t iv;
	struct vol_engine *eng;
	EVP_CIPHER_CTX *ctx;
	double bytes, secs, cpu_secs;	/* accumulated */
};

static int run_engine(struct side *s)
{
	int r = vol_engine_encrypt(s->eng, s->iv, s->buf, s->len);

	/* Move on through the IV space like a sequential writer. */
	s->iv = (s->iv + s->len / 512) & ((1ULL << 40) - 1);
	return r;
}

/* `openssl speed -evp aes-256-xts -bytes ss`: one update per unit. */
static int run_openssl(struct side *s)
{
	for (size_t off = 0; off < s->len; off += s->ss) {
		int outl;

		if (EVP_EncryptUpdate(s->ctx, s->buf + off, &outl, s->buf + off, (int)s->ss) != 1)
			return -1;
	}
	return 0;
}

/* What a real sector loop needs: a new IV for every unit. */
static int run_openssl_iv(struct side *s)
{
	for (size_t off = 0; off < s->len; off += s->ss, s->iv += s->ss / 512) {
		uint8_t iv[16] = { 0 };
		int outl;

		for (int i = 0; i < 8; i++)
			iv[i] = (uint8_t)(s->iv >> (8 * i));
		if (EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, iv) != 1 ||
		    EVP_EncryptUpdate(s->ctx, s->buf + off, &outl, s->buf + off, (int)s->ss) != 1)
			return -1;
	}
	return 0;
}

static int measure(struct side *s)
{
	double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t0 = now_s(), t;
	size_t n = 0;

	do {
		if (s->run(s))
			return -1;
		n++;
		t = now_s();
	} while (t - t0 < SLICE_S);
	s->bytes += (double)n * s->len;
	s->secs += t - t0;
	s->cpu_secs += clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	return 0;
}

/* A B B A, REPS times. */
static int compare(struct side *a, struct side *b)
{
	for (int i = 0; i < REPS; i++)
		if (measure(a) || measure(b) || measure(b) || measure(a))
			return -1;
	return 0;
}

static double mbps(const struct side *s)
{
	return s->bytes / s->secs / 1e6;
}

static uint8_t *alloc_buf(size_t len)
{
	uint8_t *p = aligned_alloc(64, len);

	if (p)
		memset(p, 0x3c, len);
	return p;
}

static EVP_CIPHER_CTX *openssl_ctx(void)
{
	static const uint8_t iv[16] = { 1 };
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_xts(), NULL, key, iv) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static int single_thread(uint32_t ss)
{
	struct side ref = { .run = run_openssl, .len = RUN_1T, .ss = ss };
	struct side ref_iv = { .run = run_openssl_iv, .len = RUN_1T, .ss = ss };
	struct side ours = { .run = run_engine, .len = RUN_1T, .ss = ss };
	const char *cli = getenv("OPENSSL_SPEED_XTS_4096_MBPS");
	int r = -1;

	ref.buf = ref_iv.buf = ours.buf = alloc_buf(RUN_1T);
	ref.ctx = openssl_ctx();
	ref_iv.ctx = openssl_ctx();
	if (!ref.buf || !ref.ctx || !ref_iv.ctx ||
	    vol_engine_new_raw(key, KEY_BYTES, ss, 1, &ours.eng)) {
		fprintf(stderr, "bench_engine: setup failed\n");
		goto out;
	}
	if (compare(&ref, &ours) || compare(&ref_iv, &ours)) {
		fprintf(stderr, "bench_engine: encryption failed\n");
		goto out;
	}
	/* ours ran in both comparisons: its figure is the sum of the two. */
	printf("engine 1 thread %uB: %.0f MB/s, openssl %.0f MB/s, ratio %.2f (goal >= 0.9)",
	       ss, mbps(&ours), mbps(&ref), mbps(&ours) / mbps(&ref));
	if (ss == 4096 && cli && *cli)
		printf("; openssl speed -evp aes-256-xts -bytes 4096: %s MB/s", cli);
	printf("\n  openssl with a new IV per %uB unit (what sector I/O needs): %.0f MB/s, "
	       "ratio %.2f\n", ss, mbps(&ref_iv), mbps(&ours) / mbps(&ref_iv));
	r = 0;
out:
	vol_engine_free(ours.eng);
	EVP_CIPHER_CTX_free(ref.ctx);
	EVP_CIPHER_CTX_free(ref_iv.ctx);
	free(ref.buf);
	return r;
}

static int scaling(void)
{
	struct side one = { .run = run_engine, .len = RUN_MT, .ss = 4096 };
	struct side all = { .run = run_engine, .len = RUN_MT, .ss = 4096 };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int r = -1;

	one.buf = alloc_buf(RUN_MT);
	all.buf = alloc_buf(RUN_MT);
	if (!one.buf || !all.buf ||
	    vol_engine_new_raw(key, KEY_BYTES, 4096, 1, &one.eng) ||
	    vol_engine_new_raw(key, KEY_BYTES, 4096, 0, &all.eng)) {
		fprintf(stderr, "bench_engine: setup failed\n");
		goto out;
	}
	if (compare(&one, &all)) {
		fprintf(stderr, "bench_engine: encryption failed\n");
		goto out;
	}
	printf("engine %ld threads 4096B 8 MiB runs: %.0f MB/s, 1 thread %.0f MB/s, "
	       "scaling %.2f (goal >= %.1f)\n", cpus, mbps(&all), mbps(&one),
	       mbps(&all) / mbps(&one), cpus >= 2 ? 0.9 * (double)cpus : 1.0);
	printf("  CPUs used: %.2f with %ld threads, %.2f with 1\n",
	       all.cpu_secs / all.secs, cpus, one.cpu_secs / one.secs);
	r = 0;
out:
	vol_engine_free(one.eng);
	vol_engine_free(all.eng);
	free(one.buf);
	free(all.buf);
	return r;
}

/* Other load on the machine skews every figure; say how much there was. */
static void print_load(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double l1;

	if (f && fscanf(f, "%lf", &l1) == 1)
		printf("load average %.2f at start%s\n", l1,
		       l1 > 0.5 ? " - other load will skew the figures" : "");
	if (f)
		fclose(f);
}

int main(void)
{
	if (!gcry_check_version(GCRYPT_VERSION)) {
		fprintf(stderr, "bench_engine: libgcrypt version mismatch\n");
		return 2;
	}
	gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
	gcry_control(GCRYCTL_INIT_SECMEM, 1 << 20, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	gcry_create_nonce(key, sizeof(key));

	printf("AES-256-XTS sector engine vs OpenSSL %s (%d x A B B A, %.1f s each)\n",
	       OpenSSL_version(OPENSSL_VERSION_STRING), REPS, SLICE_S);
	print_load();
	if (single_thread(4096) || single_thread(512) || scaling())
		return 1;
	return 0;
}
