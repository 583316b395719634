/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Passphrase key derivation: the glue between keyslots and libgcrypt's
 * Argon2id and PBKDF2-HMAC-SHA256, and the LUKS2-style calibration that
 * picks their costs.
 *
 * libgcrypt does the cryptography.  What lives here is parameter checking,
 * a small thread pool that lets libgcrypt run the Argon2 lanes of one
 * segment in parallel, and the benchmark arithmetic.
 */
#include <errno.h>
#include <gcrypt.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "kdf.h"

/* The reference Argon2 implementation refuses shorter salts. */
#define ARGON2_MIN_SALT 8u
/* RFC 9106 section 3.1: the tag is at least 4 bytes. */
#define ARGON2_MIN_TAG 4u
/* RFC 9106 section 3.1: m >= 8 * p KiB (two blocks per lane and slice). */
#define ARGON2_KIB_PER_LANE 8u

/* Calibration: memory used for the benchmark sample (64 MiB). */
#define ARGON2_SAMPLE_KIB (64u << 10)
/* Calibration never trades memory below 32 MiB for speed. */
#define ARGON2_FLOOR_KIB (32u << 10)
/* Shorter samples are dominated by timer and setup noise. */
#define ARGON2_SAMPLE_MIN_MS 25.0
#define PBKDF2_SAMPLE_MIN_MS 50.0
/* Benchmarks use throw-away random passphrases and salts of this size. */
#define BENCH_PASS_LEN 32u
#define BENCH_SALT_LEN 32u

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

/* Half the physical RAM in KiB, or UINT64_MAX if it cannot be read. */
static uint64_t half_ram_kib(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	long psize = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || psize <= 0)
		return UINT64_MAX;
	return (uint64_t)pages * (uint64_t)psize / 1024 / 2;
}

static int gcry_to_errno(gcry_error_t err)
{
	int e = gcry_err_code_to_errno(gcry_err_code(err));

	return e == ENOMEM ? -ENOMEM : -EINVAL;
}

/* ------------------------------------------------------------------ */
/* Parameter limits                                                    */

static int argon2_spec_valid(const struct vol_kdf_spec *s)
{
	if (s->iterations < VOL_ARGON2_MIN_TIME ||
	    s->iterations > VOL_ARGON2_MAX_TIME) {
		vol_err("Argon2id time cost %u outside %u..%u", s->iterations,
			VOL_ARGON2_MIN_TIME, VOL_ARGON2_MAX_TIME);
		return -EINVAL;
	}
	if (s->parallel < 1 || s->parallel > VOL_ARGON2_MAX_LANES) {
		vol_err("Argon2id parallel cost %u outside 1..%u lanes",
			s->parallel, VOL_ARGON2_MAX_LANES);
		return -EINVAL;
	}
	if (s->memory_kib < VOL_ARGON2_MIN_MEM_KIB ||
	    s->memory_kib > VOL_ARGON2_MAX_MEM_KIB) {
		vol_err("Argon2id memory cost %u KiB outside %u..%u KiB",
			s->memory_kib, VOL_ARGON2_MIN_MEM_KIB,
			VOL_ARGON2_MAX_MEM_KIB);
		return -EINVAL;
	}
	if (s->memory_kib < ARGON2_KIB_PER_LANE * s->parallel) {
		vol_err("Argon2id memory cost %u KiB below %u KiB per lane (%u lanes)",
			s->memory_kib, ARGON2_KIB_PER_LANE, s->parallel);
		return -EINVAL;
	}
	return 0;
}

int vol_kdf_spec_valid(const struct vol_kdf_spec *spec)
{
	if (!spec)
		return -EINVAL;
	switch (spec->type) {
	case VOL_KDF_PBKDF2_SHA256:
		if (spec->iterations < VOL_PBKDF2_MIN_ITER) {
			vol_err("PBKDF2 iterations %u below the minimum of %u",
				spec->iterations, VOL_PBKDF2_MIN_ITER);
			return -EINVAL;
		}
		if (spec->memory_kib || spec->parallel) {
			vol_err("PBKDF2 keyslot with memory or parallel cost set");
			return -EINVAL;
		}
		return 0;
	case VOL_KDF_ARGON2ID:
		return argon2_spec_valid(spec);
	default:
		vol_err("unknown KDF type %d", (int)spec->type);
		return -EINVAL;
	}
}

/* ------------------------------------------------------------------ */
/* Argon2 lane threads                                                 */

/*
 * libgcrypt splits each Argon2 pass into four slices; within a slice the
 * lanes are independent.  It hands us one job per lane (dispatch_job) and
 * then waits for the slice to finish (wait_all_jobs).  The pool keeps its
 * workers for the whole derivation, and the calling thread runs jobs too
 * while it waits, so n threads of work need n - 1 workers.
 */
struct lane_job {
	gcry_kdf_job_fn_t fn;
	void *priv;
};

struct lane_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* a job was queued, or stop was set */
	pthread_cond_t done;	/* pending dropped to zero */
	struct lane_job queue[VOL_ARGON2_MAX_LANES];
	unsigned head;		/* ring buffer of queued jobs */
	unsigned queued;
	unsigned pending;	/* queued + running */
	int stop;
	pthread_t workers[VOL_ARGON2_MAX_LANES];
	unsigned nworkers;
};

/* Called with the lock held. */
static int pool_take(struct lane_pool *p, struct lane_job *job)
{
	if (!p->queued)
		return 0;
	*job = p->queue[p->head];
	p->head = (p->head + 1) % VOL_ARGON2_MAX_LANES;
	p->queued--;
	return 1;
}

/* Called with the lock held; drops it while the job runs. */
static void pool_run(struct lane_pool *p, const struct lane_job *job)
{
	pthread_mutex_unlock(&p->lock);
	job->fn(job->priv);
	pthread_mutex_lock(&p->lock);
	if (--p->pending == 0)
		pthread_cond_broadcast(&p->done);
}

static void *pool_worker(void *arg)
{
	struct lane_pool *p = arg;
	struct lane_job job;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (pool_take(p, &job))
			pool_run(p, &job);
		else if (p->stop)
			break;
		else
			pthread_cond_wait(&p->wake, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int pool_dispatch(void *ctx, gcry_kdf_job_fn_t fn, void *priv)
{
	struct lane_pool *p = ctx;
	int r = 0;

	pthread_mutex_lock(&p->lock);
	/* libgcrypt queues at most one job per lane before waiting. */
	if (p->queued == VOL_ARGON2_MAX_LANES) {
		r = -1;
	} else {
		unsigned tail = (p->head + p->queued) % VOL_ARGON2_MAX_LANES;

		p->queue[tail].fn = fn;
		p->queue[tail].priv = priv;
		p->queued++;
		p->pending++;
		pthread_cond_signal(&p->wake);
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

static int pool_wait_all(void *ctx)
{
	struct lane_pool *p = ctx;
	struct lane_job job;

	pthread_mutex_lock(&p->lock);
	while (pool_take(p, &job))
		pool_run(p, &job);
	while (p->pending)
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/*
 * Start up to @nworkers workers.  Fewer (even none) is not an error: the
 * caller runs whatever the workers do not.  Returns -1 only if the pool's
 * synchronisation objects cannot be created.
 */
static int pool_start(struct lane_pool *p, unsigned nworkers)
{
	sigset_t all, old;

	memset(p, 0, sizeof(*p));
	if (pthread_mutex_init(&p->lock, NULL))
		return -1;
	if (pthread_cond_init(&p->wake, NULL))
		goto err_lock;
	if (pthread_cond_init(&p->done, NULL))
		goto err_wake;

	/* Workers must not steal the application's signals. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (p->nworkers < nworkers &&
	       !pthread_create(&p->workers[p->nworkers], NULL, pool_worker, p))
		p->nworkers++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->nworkers < nworkers)
		vol_dbg("Argon2: started %u of %u lane threads", p->nworkers,
			nworkers);
	return 0;

err_wake:
	pthread_cond_destroy(&p->wake);
err_lock:
	pthread_mutex_destroy(&p->lock);
	return -1;
}

static void pool_stop(struct lane_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i], NULL);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
}

/* ------------------------------------------------------------------ */
/* Derivation                                                          */

/*
 * out = Argon2id(pass, salt, t = iterations, m = memory_kib KiB,
 *                p = parallel lanes, tag length out_len)    (RFC 9106)
 *
 * The Argon2 matrix itself (m KiB) is allocated by libgcrypt in ordinary
 * memory - it cannot fit in the locked pool - and wiped by gcry_kdf_close().
 */
static int argon2id_derive(const struct vol_kdf_spec *spec, const void *pass,
			   size_t pass_len, const uint8_t *salt,
			   size_t salt_len, uint8_t *out, size_t out_len)
{
	/* libgcrypt's parameter vector: tag length, t, m, p. */
	unsigned long param[4] = { out_len, spec->iterations,
				   spec->memory_kib, spec->parallel };
	unsigned threads = min_u32(spec->parallel, online_cpus());
	struct lane_pool pool;
	gcry_kdf_thread_ops_t ops = {
		.jobs_context = &pool,
		.dispatch_job = pool_dispatch,
		.wait_all_jobs = pool_wait_all,
	};
	gcry_kdf_hd_t h;
	gcry_error_t err;

	err = gcry_kdf_open(&h, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID, param, 4,
			    pass, pass_len, salt, salt_len, NULL, 0, NULL, 0);
	if (err) {
		vol_err("Argon2id setup failed (m=%u KiB): %s",
			spec->memory_kib, gcry_strerror(err));
		return gcry_to_errno(err);
	}
	if (threads > 1 && !pool_start(&pool, threads - 1)) {
		err = gcry_kdf_compute(h, &ops);
		pool_stop(&pool);
	} else {
		err = gcry_kdf_compute(h, NULL);
	}
	if (!err)
		err = gcry_kdf_final(h, out_len, out);
	gcry_kdf_close(h);
	if (err) {
		vol_err("Argon2id failed: %s", gcry_strerror(err));
		return gcry_to_errno(err);
	}
	return 0;
}

/* out = PBKDF2-HMAC-SHA256(pass, salt, iterations, out_len)  (RFC 8018) */
static int pbkdf2_derive(const struct vol_kdf_spec *spec, const void *pass,
			 size_t pass_len, const uint8_t *salt, size_t salt_len,
			 uint8_t *out, size_t out_len)
{
	gcry_error_t err;

	/*
	 * libgcrypt keeps the HMAC state in secure memory when the passphrase
	 * or the output buffer is secure, which is how callers pass them.
	 */
	err = gcry_kdf_derive(pass, pass_len, GCRY_KDF_PBKDF2, GCRY_MD_SHA256,
			      salt, salt_len, spec->iterations, out_len, out);
	if (err) {
		vol_err("PBKDF2 failed: %s", gcry_strerror(err));
		return gcry_to_errno(err);
	}
	return 0;
}

static int derive_args_valid(const struct vol_kdf_spec *spec,
			     const void *pass, size_t pass_len,
			     const uint8_t *salt, size_t salt_len,
			     const uint8_t *out, size_t out_len)
{
	int r = vol_kdf_spec_valid(spec);

	if (r)
		return r;
	if (!pass || !pass_len) {
		vol_err("empty passphrase");
		return -EINVAL;
	}
	if (!out || !out_len || out_len > UINT32_MAX) {
		vol_err("invalid derived key length %zu", out_len);
		return -EINVAL;
	}
	if (!salt || !salt_len) {
		vol_err("empty KDF salt");
		return -EINVAL;
	}
	if (spec->type == VOL_KDF_ARGON2ID &&
	    (salt_len < ARGON2_MIN_SALT || out_len < ARGON2_MIN_TAG)) {
		vol_err("Argon2id needs a salt of at least %u bytes and a key of at least %u",
			ARGON2_MIN_SALT, ARGON2_MIN_TAG);
		return -EINVAL;
	}
	return 0;
}

int vol_kdf_derive(const struct vol_kdf_spec *spec, const void *pass,
		   size_t pass_len, const uint8_t *salt, size_t salt_len,
		   uint8_t *out, size_t out_len)
{
	int r;

	r = derive_args_valid(spec, pass, pass_len, salt, salt_len, out,
			      out_len);
	if (r)
		return r;
	if (spec->type == VOL_KDF_ARGON2ID)
		r = argon2id_derive(spec, pass, pass_len, salt, salt_len, out,
				    out_len);
	else
		r = pbkdf2_derive(spec, pass, pass_len, salt, salt_len, out,
				  out_len);
	/* Never hand back a half-written key. */
	if (r)
		vol_wipe(out, out_len);
	return r;
}

/* ------------------------------------------------------------------ */
/* Benchmark                                                           */

/* Inputs of benchmark runs: random, but kept in secure memory anyway. */
struct bench {
	uint8_t *pass;
	uint8_t *out;
	size_t out_len;
	uint8_t salt[BENCH_SALT_LEN];
};

static int bench_init(struct bench *b, size_t out_len)
{
	b->out_len = out_len;
	b->pass = vol_secure_alloc(BENCH_PASS_LEN);
	b->out = vol_secure_alloc(out_len);
	if (!b->pass || !b->out) {
		vol_secure_free(b->pass, BENCH_PASS_LEN);
		vol_secure_free(b->out, out_len);
		return -ENOMEM;
	}
	vol_random_nonce(b->pass, BENCH_PASS_LEN);
	vol_random_nonce(b->salt, sizeof(b->salt));
	return 0;
}

static void bench_done(struct bench *b)
{
	vol_secure_free(b->pass, BENCH_PASS_LEN);
	vol_secure_free(b->out, b->out_len);
}

/* Wall-clock milliseconds of one derivation with @spec. */
static int bench_run(struct bench *b, const struct vol_kdf_spec *spec,
		     double *ms)
{
	double t0 = vol_now_ms();
	int r;

	r = vol_kdf_derive(spec, b->pass, BENCH_PASS_LEN, b->salt,
			   sizeof(b->salt), b->out, b->out_len);
	*ms = vol_now_ms() - t0;
	if (*ms < 0.01)
		*ms = 0.01;
	return r;
}

static uint32_t clamp_u32(double v, uint32_t lo, uint32_t hi)
{
	if (!(v >= lo))		/* also catches NaN */
		return lo;
	if (v >= hi)
		return hi;
	return (uint32_t)v;
}

/*
 * Time a PBKDF2 sample long enough to be meaningful, then scale linearly:
 * iterations = sample_iterations * target_ms / sample_ms.
 * The cost covers ceil(out_len / 32) HMAC chains, so the sample uses the
 * real key length.
 */
static int pbkdf2_calibrate(uint32_t target_ms, size_t out_len,
			    uint32_t *iterations)
{
	struct vol_kdf_spec s = { .type = VOL_KDF_PBKDF2_SHA256,
				  .iterations = VOL_PBKDF2_MIN_ITER };
	struct bench b;
	double ms = 0;
	int r;

	r = bench_init(&b, out_len);
	if (r)
		return r;
	for (;;) {
		r = bench_run(&b, &s, &ms);
		if (r || ms >= PBKDF2_SAMPLE_MIN_MS || s.iterations >= (1u << 28))
			break;
		/* Aim at twice the minimum so the next sample is the last. */
		s.iterations = clamp_u32(s.iterations * 2 *
					 PBKDF2_SAMPLE_MIN_MS / ms,
					 s.iterations * 2, s.iterations * 16);
	}
	bench_done(&b);
	if (r)
		return r;
	*iterations = clamp_u32((double)s.iterations * target_ms / ms,
				VOL_PBKDF2_MIN_ITER, UINT32_MAX);
	vol_dbg("PBKDF2: %u iterations in %.1f ms -> %u for %u ms",
		s.iterations, ms, *iterations, target_ms);
	return 0;
}

uint32_t vol_pbkdf2_iterations_for_ms(uint32_t ms)
{
	uint32_t it = VOL_PBKDF2_MIN_ITER;

	if (pbkdf2_calibrate(ms, VOL_VOLUME_KEY_BYTES, &it))
		vol_warn("PBKDF2 benchmark failed, using %u iterations", it);
	return it;
}

/*
 * Argon2id calibration, following LUKS2: keep t at its minimum of 4 and
 * use as much memory as allowed; if that is faster than the target, raise
 * t; if slower, lower the memory (but not below 32 MiB or the cap).
 *
 * Cost model, for memory m KiB and time cost t:
 *	time(t, m) = m * (fixed + t * per_pass)
 * fixed is what does not depend on t: allocating, first touching and
 * wiping the matrix, which is far from negligible (and grows faster than
 * linearly in a VM whose host backs guest memory lazily).  Two short
 * samples at 64 MiB, at t_s and 2 * t_s, give
 *	per_pass = (ms(2 t_s) - ms(t_s)) / (t_s * m_s)
 *	fixed    = ms(t_s) / m_s - t_s * per_pass
 * The candidate this predicts is then measured, as LUKS2 does, and the
 * next one derived from that measurement, for at most ARGON2_ROUNDS
 * rounds or until a run lands within ARGON2_TOLERANCE of the target.
 */
#define ARGON2_ROUNDS 2
#define ARGON2_TOLERANCE 0.10

struct argon2_cal {
	uint32_t target_ms;
	uint32_t mem_cap;	/* KiB */
	uint32_t lanes;
	double fixed;		/* ms per KiB */
	double per_pass;	/* ms per KiB and pass */
};

static int argon2_run(struct bench *b, const struct argon2_cal *c,
		      uint32_t t, uint32_t m, double *ms)
{
	struct vol_kdf_spec s = { .type = VOL_KDF_ARGON2ID, .iterations = t,
				  .memory_kib = m, .parallel = c->lanes };

	return bench_run(b, &s, ms);
}

/* Fit the model on two samples at m_s, long enough to be timed. */
static int argon2_sample(struct argon2_cal *c, struct bench *b)
{
	uint32_t m_s = min_u32(c->mem_cap, ARGON2_SAMPLE_KIB);
	uint32_t t_s = VOL_ARGON2_MIN_TIME;
	double ms1, ms2, again;
	int r;

	for (;;) {
		r = argon2_run(b, c, t_s, m_s, &ms1);
		if (r || ms1 >= ARGON2_SAMPLE_MIN_MS || t_s >= 4096)
			break;
		t_s = clamp_u32(t_s * 2 * ARGON2_SAMPLE_MIN_MS / ms1, t_s * 2,
				t_s * 16);
	}
	/* The first large allocation of a process pays one-off costs. */
	if (!r)
		r = argon2_run(b, c, t_s, m_s, &again);
	if (!r)
		r = argon2_run(b, c, 2 * t_s, m_s, &ms2);
	if (r)
		return r;
	if (again < ms1)
		ms1 = again;
	vol_dbg("Argon2id sample: m=%u KiB t=%u %.1f ms, t=%u %.1f ms", m_s,
		t_s, ms1, 2 * t_s, ms2);
	c->per_pass = (ms2 - ms1) / ((double)t_s * m_s);
	c->fixed = ms1 / m_s - t_s * c->per_pass;
	/* Timer noise can make the split meaningless: charge it all per pass. */
	if (c->per_pass <= 0 || c->fixed < 0) {
		c->per_pass = ms1 / ((double)t_s * m_s);
		c->fixed = 0;
	}
	return 0;
}

/* The parameters the model says take target_ms. */
static void argon2_candidate(const struct argon2_cal *c, uint32_t *t,
			     uint32_t *m)
{
	double per_kib4 = c->fixed + VOL_ARGON2_MIN_TIME * c->per_pass;
	uint32_t floor = min_u32(c->mem_cap, ARGON2_FLOOR_KIB);

	if (per_kib4 * c->mem_cap >= c->target_ms) {
		/* Too slow even at t = 4: solve time(4, m) = target for m. */
		*t = VOL_ARGON2_MIN_TIME;
		*m = clamp_u32(c->target_ms / per_kib4, floor, c->mem_cap);
	} else {
		/* Full memory: solve time(t, cap) = target for t. */
		*m = c->mem_cap;
		*t = clamp_u32((c->target_ms / (double)c->mem_cap - c->fixed) /
			       c->per_pass, VOL_ARGON2_MIN_TIME,
			       VOL_ARGON2_MAX_TIME);
	}
}

/*
 * Refit the model to a run of @ms at (t, m).  The per-pass cost is plain
 * computation and scales well from the sample; what the sample misses is
 * the memory overhead of a large matrix, so that absorbs the difference.
 */
static void argon2_refit(struct argon2_cal *c, uint32_t t, uint32_t m,
			 double ms)
{
	double fixed = ms / m - t * c->per_pass;

	if (fixed >= 0) {
		c->fixed = fixed;
	} else {
		double scale = ms / (m * (c->fixed + t * c->per_pass));

		c->fixed *= scale;
		c->per_pass *= scale;
	}
}

struct argon2_point {
	uint32_t t, m;
	double ms;
};

/*
 * Two runs at t = 4 with different memory: interpolate between them
 * (secant step) rather than trust the model's proportionality, since the
 * cost of fresh memory grows faster than linearly in a VM.
 */
static int argon2_secant(const struct argon2_cal *c,
			 const struct argon2_point *a,
			 const struct argon2_point *b, uint32_t *m)
{
	double slope;

	if (a->t != VOL_ARGON2_MIN_TIME || b->t != VOL_ARGON2_MIN_TIME ||
	    a->m == b->m)
		return 0;
	slope = (b->ms - a->ms) / ((double)b->m - a->m);
	if (slope <= 0)
		return 0;	/* noise: no usable trend */
	*m = clamp_u32(b->m + (c->target_ms - b->ms) / slope,
		       min_u32(c->mem_cap, ARGON2_FLOOR_KIB), c->mem_cap);
	return 1;
}

/* Choose the next candidate after measuring @cur (and @prev, if any). */
static void argon2_next(struct argon2_cal *c, const struct argon2_point *prev,
			const struct argon2_point *cur, uint32_t *t, uint32_t *m)
{
	if (prev && argon2_secant(c, prev, cur, m)) {
		*t = VOL_ARGON2_MIN_TIME;
		return;
	}
	argon2_refit(c, cur->t, cur->m, cur->ms);
	argon2_candidate(c, t, m);
}

static int argon2_calibrate(struct argon2_cal *c, size_t out_len,
			    struct vol_kdf_spec *out)
{
	struct argon2_point runs[ARGON2_ROUNDS];
	uint32_t t, m;
	struct bench b;
	int r;

	r = bench_init(&b, out_len);
	if (r)
		return r;
	r = argon2_sample(c, &b);
	argon2_candidate(c, &t, &m);
	for (int i = 0; !r && i < ARGON2_ROUNDS; i++) {
		struct argon2_point *cur = &runs[i];

		cur->t = t;
		cur->m = m;
		r = argon2_run(&b, c, t, m, &cur->ms);
		if (r)
			break;
		vol_dbg("Argon2id candidate: m=%u KiB t=%u %.1f ms", m, t,
			cur->ms);
		if (cur->ms >= c->target_ms * (1 - ARGON2_TOLERANCE) &&
		    cur->ms <= c->target_ms * (1 + ARGON2_TOLERANCE))
			break;
		argon2_next(c, i ? &runs[i - 1] : NULL, cur, &t, &m);
		if (t == cur->t && m == cur->m)
			break;		/* at a limit: nothing better to try */
	}
	bench_done(&b);
	if (r)
		return r;
	out->type = VOL_KDF_ARGON2ID;
	out->iterations = t;
	out->memory_kib = m;
	out->parallel = c->lanes;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Calibration entry point                                             */

/* Lanes and memory cap for an Argon2id request, checked against limits. */
static int argon2_request(const struct vol_kdf_params *req,
			  struct argon2_cal *c)
{
	uint64_t half_ram = half_ram_kib();
	uint32_t lanes = req->parallel ? req->parallel : VOL_DEFAULT_MAX_LANES;
	uint32_t mem = req->memory_kib ? req->memory_kib : VOL_DEFAULT_MAX_MEM_KIB;

	if (lanes > VOL_ARGON2_MAX_LANES) {
		vol_err("Argon2id parallel cost %u above the maximum of %u lanes",
			lanes, VOL_ARGON2_MAX_LANES);
		return -EINVAL;
	}
	if (mem < VOL_ARGON2_MIN_MEM_KIB || mem > VOL_ARGON2_MAX_MEM_KIB) {
		vol_err("Argon2id memory cost %u KiB outside %u..%u KiB", mem,
			VOL_ARGON2_MIN_MEM_KIB, VOL_ARGON2_MAX_MEM_KIB);
		return -EINVAL;
	}
	/* Lanes beyond the CPU count cannot run at once; LUKS2 caps them too. */
	c->lanes = min_u32(lanes, online_cpus());
	/*
	 * The memory is an upper bound, kept to half the RAM so unlocking
	 * does not swap - except when the caller forces an exact value.
	 */
	if ((!req->force_iterations || !req->memory_kib) && mem > half_ram)
		mem = (uint32_t)half_ram;
	if (mem < ARGON2_KIB_PER_LANE * c->lanes) {
		vol_err("Argon2id memory cost %u KiB below %u KiB per lane (%u lanes)",
			mem, ARGON2_KIB_PER_LANE, c->lanes);
		return -EINVAL;
	}
	c->mem_cap = mem;
	return 0;
}

static int calibrate_argon2id(const struct vol_kdf_params *req,
			      uint32_t target_ms, size_t out_len,
			      struct vol_kdf_spec *out)
{
	struct argon2_cal c = { .target_ms = target_ms };
	int r;

	r = argon2_request(req, &c);
	if (r)
		return r;
	if (!req->force_iterations)
		return argon2_calibrate(&c, out_len, out);
	if (req->force_iterations < VOL_ARGON2_MIN_TIME) {
		vol_err("Argon2id time cost %u below the minimum of %u",
			req->force_iterations, VOL_ARGON2_MIN_TIME);
		return -EINVAL;
	}
	out->type = VOL_KDF_ARGON2ID;
	out->iterations = req->force_iterations;
	out->memory_kib = c.mem_cap;
	out->parallel = c.lanes;
	return vol_kdf_spec_valid(out);
}

static int calibrate_pbkdf2(const struct vol_kdf_params *req,
			    uint32_t target_ms, size_t out_len,
			    struct vol_kdf_spec *out)
{
	if (req->memory_kib || req->parallel) {
		vol_err("memory and parallel cost apply to Argon2id only");
		return -EINVAL;
	}
	out->type = VOL_KDF_PBKDF2_SHA256;
	if (!req->force_iterations)
		return pbkdf2_calibrate(target_ms, out_len, &out->iterations);
	if (req->force_iterations < VOL_PBKDF2_MIN_ITER) {
		vol_err("PBKDF2 iterations %u below the minimum of %u",
			req->force_iterations, VOL_PBKDF2_MIN_ITER);
		return -EINVAL;
	}
	out->iterations = req->force_iterations;
	return 0;
}

int vol_kdf_calibrate(const struct vol_kdf_params *req, size_t out_len,
		      struct vol_kdf_spec *out)
{
	static const struct vol_kdf_params defaults;
	uint32_t target_ms;
	int r;

	if (!out || !out_len || out_len > UINT32_MAX)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!req)
		req = &defaults;
	target_ms = req->iter_time_ms ? req->iter_time_ms
				      : VOL_DEFAULT_ITER_TIME_MS;
	switch (req->type) {
	case VOL_KDF_DEFAULT:
	case VOL_KDF_ARGON2ID:
		r = calibrate_argon2id(req, target_ms, out_len, out);
		break;
	case VOL_KDF_PBKDF2_SHA256:
		r = calibrate_pbkdf2(req, target_ms, out_len, out);
		break;
	default:
		vol_err("unknown KDF type %d", (int)req->type);
		r = -EINVAL;
		break;
	}
	if (r)
		memset(out, 0, sizeof(*out));
	else
		vol_dbg("KDF: type %d t=%u m=%u KiB p=%u for %u ms",
			(int)out->type, out->iterations, out->memory_kib,
			out->parallel, target_ms);
	return r;
}
