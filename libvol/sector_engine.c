/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The userspace AES-256-XTS sector engine.
 *
 * Output is bit-identical to dm-crypt's aes-xts-plain64 without
 * iv_large_sectors: every encryption unit (sector_size bytes) is one XTS
 * data unit whose tweak is the 64-bit little-endian index of its first
 * byte in 512-byte units, zero padded to 16 bytes.  A 4096-byte unit at
 * 512-byte index s therefore uses IV s and the next one IV s + 8.
 *
 * Threading.  A run of at least two CHUNK_MIN_BYTES is cut into
 * contiguous chunks, several per thread.  The calling thread always does the
 * first chunk itself and queues the others on a job queue shared by the
 * whole engine; a pool of threads - 1 persistent workers, each holding
 * its own keyed cipher handle, drains that queue.  While its chunks are
 * outstanding a caller helps with whatever is queued (possibly another
 * caller's chunks), so a call always makes progress even when every
 * worker is busy with other callers.  Several chunks per thread rather
 * than one keep the load balanced: a worker that wakes late, or whose CPU
 * is taken by another process, simply ends up with fewer chunks instead
 * of leaving the caller waiting for its share.
 *
 * Waking a sleeping thread can cost tens of microseconds on a virtual
 * machine - as long as AES-NI/VAES takes for a few hundred KiB.  So a
 * worker that runs out of work spins briefly before it sleeps, catching
 * the next call of a sequential stream, and a caller whose last chunks
 * are still running elsewhere (they finish within one chunk's time)
 * spins briefly before it sleeps.  Both spins are bounded by SPIN_NS.
 *
 * Callers take their own cipher handle from a small lock-protected pool
 * that grows to the number of concurrent callers and is reused
 * afterwards, so the steady state allocates nothing per call.
 */
#include <errno.h>
#include <gcrypt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "le_bytes.h"
#include "internal.h"
#include "sector_engine.h"

#define XTS_KEY_BYTES 64
#define XTS_IV_BYTES 16
#define ENGINE_MAX_THREADS 256
/* Most chunks per call: bounds the task array on the caller's stack. */
#define SPLIT_MAX 64
/*
 * Below this many bytes per chunk, handing the chunk to another thread
 * (lock, wake-up, cache lines moving between cores) costs about as much
 * as the work itself.
 */
#define CHUNK_MIN_BYTES (64 * 1024)
/* Chunks per thread of a large run, for load balancing (see above). */
#define CHUNKS_PER_THREAD 8
/* Longest busy wait before sleeping on a condition variable. */
#define SPIN_NS 50000

enum xts_op { XTS_ENCRYPT, XTS_DECRYPT };

/* One vol_engine_encrypt/decrypt call that was split; lives on its stack. */
struct xts_call {
	enum xts_op op;
	/* Queued or running chunks; changed under eng->lock, read anywhere. */
	atomic_uint pending;
	int err;		/* first error of a chunk; under eng->lock */
};

/* One contiguous chunk of a split call. */
struct xts_task {
	struct xts_task *next;
	struct xts_call *call;
	uint64_t iv_sector;
	uint8_t *buf;
	const uint8_t *src;	/* NULL: in place, else the input (same length) */
	size_t len;
};

/* A cipher handle of the callers' pool. */
struct hd_node {
	struct hd_node *next;
	gcry_cipher_hd_t hd;
};

struct worker {
	struct vol_engine *eng;
	gcry_cipher_hd_t hd;
	pthread_t tid;
};

struct vol_engine {
	uint32_t sector_size;
	unsigned threads;	/* parallelism: the workers plus the caller */
	unsigned nworkers;	/* worker threads started */
	struct worker *workers;
	/* Raw key (secure memory) to key extra handles for callers. */
	uint8_t *key;

	pthread_mutex_t lock;	/* protects the queue, stop and xts_call */
	pthread_cond_t work;	/* queue not empty, or stop */
	pthread_cond_t done;	/* some xts_call's pending dropped to 0 */
	struct xts_task *head, *tail;
	/* Length of the queue; changed under lock, read by spinning threads. */
	atomic_uint queued;
	int stop;

	pthread_mutex_t hd_lock;
	struct hd_node *idle_hd;	/* handles no caller is using */
	/* Busy-wait before sleeping (vol_engine_set_spin); atomic: set while running. */
	atomic_uint_fast64_t spin_ns;
};

/*
 * Transform @len bytes (a multiple of the sector size) unit by unit.  The
 * IV must be set for every unit: libgcrypt carries the tweak on from the
 * end of the previous call, which is not the next sector's tweak.
 */
static int xts_run_from(gcry_cipher_hd_t hd, enum xts_op op, uint32_t sector_size,
			uint64_t iv_sector, uint8_t *buf, const uint8_t *src, size_t len)
{
	const uint64_t step = sector_size / 512;
	uint8_t iv[XTS_IV_BYTES] = { 0 };
	gcry_error_t e = 0;

	for (size_t off = 0; off < len; off += sector_size, iv_sector += step) {
		put_le64(iv, iv_sector);
		e = gcry_cipher_setiv(hd, iv, sizeof(iv));
		if (e)
			break;
		if (op == XTS_ENCRYPT)
			e = gcry_cipher_encrypt(hd, buf + off, sector_size, src ? src + off : NULL,
						src ? sector_size : 0);
		else
			e = gcry_cipher_decrypt(hd, buf + off, sector_size, src ? src + off : NULL,
						src ? sector_size : 0);
		if (e)
			break;
	}
	if (e) {
		vol_err("AES-XTS %s failed: %s",
			op == XTS_ENCRYPT ? "encryption" : "decryption", gcry_strerror(e));
		return -EIO;
	}
	return 0;
}

static int open_handle(const uint8_t *key, gcry_cipher_hd_t *out)
{
	gcry_cipher_hd_t hd;
	gcry_error_t e;

	/* GCRY_CIPHER_SECURE: the expanded keys live in locked memory. */
	e = gcry_cipher_open(&hd, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_XTS,
			     GCRY_CIPHER_SECURE);
	if (e) {
		vol_err("cannot open AES-256-XTS: %s", gcry_strerror(e));
		return gcry_err_code(e) == GPG_ERR_ENOMEM ? -ENOMEM : -EINVAL;
	}
	e = gcry_cipher_setkey(hd, key, XTS_KEY_BYTES);
	if (e) {
		/* E.g. identical key halves, refused in FIPS mode. */
		vol_err("AES-256-XTS key rejected: %s", gcry_strerror(e));
		gcry_cipher_close(hd);
		return -EINVAL;
	}
	*out = hd;
	return 0;
}

/* ---------------------------------------------------------------- queue */

/* Called with eng->lock held. */
static struct xts_task *queue_pop(struct vol_engine *eng)
{
	struct xts_task *t = eng->head;

	if (t) {
		eng->head = t->next;
		if (!eng->head)
			eng->tail = NULL;
		atomic_fetch_sub_explicit(&eng->queued, 1, memory_order_relaxed);
	}
	return t;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/*
 * Busy-wait up to SPIN_NS until work is queued or, with @pending, until
 * it drops to 0.  Called without the lock; the caller re-checks under it.
 */
static void spin_wait(struct vol_engine *eng, atomic_uint *pending)
{
	uint64_t deadline = now_ns() + atomic_load_explicit(&eng->spin_ns, memory_order_relaxed);

	for (unsigned i = 1;; i++) {
		if (atomic_load_explicit(&eng->queued, memory_order_relaxed))
			return;
		if (pending && !atomic_load_explicit(pending, memory_order_relaxed))
			return;
		cpu_relax();
		if (!(i % 64) && now_ns() > deadline)
			return;
	}
}

/* Run a dequeued task; called and returns with eng->lock held. */
static void task_run_locked(struct vol_engine *eng, gcry_cipher_hd_t hd,
			    struct xts_task *t)
{
	struct xts_call *call = t->call;
	int r;

	pthread_mutex_unlock(&eng->lock);
	r = xts_run_from(hd, call->op, eng->sector_size, t->iv_sector, t->buf, t->src, t->len);
	pthread_mutex_lock(&eng->lock);
	if (r && !call->err)
		call->err = r;
	/* Once pending is 0 the owner may return: *t and *call are gone. */
	if (atomic_fetch_sub(&call->pending, 1) == 1)
		pthread_cond_broadcast(&eng->done);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct vol_engine *eng = w->eng;

	pthread_mutex_lock(&eng->lock);
	for (;;) {
		struct xts_task *t = queue_pop(eng);

		if (t) {
			task_run_locked(eng, w->hd, t);
			continue;
		}
		if (eng->stop)
			break;
		pthread_mutex_unlock(&eng->lock);
		spin_wait(eng, NULL);
		pthread_mutex_lock(&eng->lock);
		if (!eng->head && !eng->stop)
			pthread_cond_wait(&eng->work, &eng->lock);
	}
	pthread_mutex_unlock(&eng->lock);
	return NULL;
}

/* ------------------------------------------------------- caller handles */

static struct hd_node *hd_get(struct vol_engine *eng)
{
	struct hd_node *n;

	pthread_mutex_lock(&eng->hd_lock);
	n = eng->idle_hd;
	if (n)
		eng->idle_hd = n->next;
	pthread_mutex_unlock(&eng->hd_lock);
	if (n)
		return n;

	/* Slow path: more concurrent callers than ever before. */
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	if (open_handle(eng->key, &n->hd)) {
		free(n);
		return NULL;
	}
	return n;
}

static void hd_put(struct vol_engine *eng, struct hd_node *n)
{
	pthread_mutex_lock(&eng->hd_lock);
	n->next = eng->idle_hd;
	eng->idle_hd = n;
	pthread_mutex_unlock(&eng->hd_lock);
}

/* ----------------------------------------------------------------- calls */

static unsigned split_count(const struct vol_engine *eng, size_t len)
{
	size_t n = len / CHUNK_MIN_BYTES;

	if (eng->threads < 2 || n < 2)
		return 1;
	if (n > (size_t)eng->threads * CHUNKS_PER_THREAD)
		n = (size_t)eng->threads * CHUNKS_PER_THREAD;
	return n > SPLIT_MAX ? SPLIT_MAX : (unsigned)n;
}

/* Queue chunks 1..n-1 of a run (in @tasks) and wake the workers. */
static void queue_chunks(struct vol_engine *eng, struct xts_task *tasks, unsigned n)
{
	pthread_mutex_lock(&eng->lock);
	if (eng->tail)
		eng->tail->next = &tasks[0];
	else
		eng->head = &tasks[0];
	eng->tail = &tasks[n - 2];
	atomic_fetch_add_explicit(&eng->queued, n - 1, memory_order_relaxed);
	/* No more wake-ups than chunks or workers; spinning ones need none. */
	for (unsigned i = 1; i < n && i < eng->threads; i++)
		pthread_cond_signal(&eng->work);
	pthread_mutex_unlock(&eng->lock);
}

/*
 * Wait until every chunk of @call is done, doing queued chunks (of any
 * call) meanwhile.  Returns the first error of the chunks.
 */
static int wait_chunks(struct vol_engine *eng, gcry_cipher_hd_t hd, struct xts_call *call)
{
	int r;

	pthread_mutex_lock(&eng->lock);
	for (;;) {
		struct xts_task *t = queue_pop(eng);

		if (t) {
			task_run_locked(eng, hd, t);
			continue;
		}
		if (!atomic_load(&call->pending))
			break;
		pthread_mutex_unlock(&eng->lock);
		spin_wait(eng, &call->pending);
		pthread_mutex_lock(&eng->lock);
		if (!eng->head && atomic_load(&call->pending))
			pthread_cond_wait(&eng->done, &eng->lock);
	}
	r = call->err;
	pthread_mutex_unlock(&eng->lock);
	return r;
}

/* Fill @tasks with the @n chunks of a run (chunk sizes as crypt_split). */
static void split_run(const struct vol_engine *eng, struct xts_call *call,
		      struct xts_task *tasks, unsigned n, uint64_t iv_sector, uint8_t *buf,
		      const uint8_t *src, size_t len)
{
	const size_t ss = eng->sector_size, units = len / ss, per = units / n, extra = units % n;
	size_t off = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t clen = (per + (i < extra ? 1 : 0)) * ss;

		tasks[i] = (struct xts_task){ .next = i + 1 < n ? &tasks[i + 1] : NULL, .call = call,
					      .iv_sector = iv_sector + off / 512, .buf = buf + off,
					      .src = src ? src + off : NULL, .len = clen };
		off += clen;
	}
}

static int crypt_split(struct vol_engine *eng, gcry_cipher_hd_t hd, enum xts_op op,
		       uint64_t iv_sector, uint8_t *buf, const uint8_t *src, size_t len, unsigned n)
{
	struct xts_task tasks[SPLIT_MAX];
	struct xts_call call = { .op = op, .err = 0 };
	int r, r2;

	atomic_init(&call.pending, n - 1);
	split_run(eng, &call, tasks, n, iv_sector, buf, src, len);
	/* Chunk 0 stays with the caller, chunks 1..n-1 go to the queue. */
	queue_chunks(eng, &tasks[1], n);
	r = xts_run_from(hd, op, eng->sector_size, iv_sector, buf, src, tasks[0].len);
	r2 = wait_chunks(eng, hd, &call);
	return r ? r : r2;
}

static int check_run(const struct vol_engine *eng, uint64_t iv_sector,
		     const void *buf, size_t len)
{
	const uint64_t per_unit = eng->sector_size / 512;

	if (iv_sector % per_unit || len % eng->sector_size)
		return -EINVAL;
	/* The 512-byte index of the last byte must not wrap around 2^64. */
	if (len && (uint64_t)(len / 512) - 1 > UINT64_MAX - iv_sector)
		return -EINVAL;
	if (len && !buf)
		return -EINVAL;
	return 0;
}

static int engine_crypt(struct vol_engine *eng, enum xts_op op, uint64_t iv_sector,
			void *buf, const void *src, size_t len)
{
	struct hd_node *n;
	unsigned chunks;
	int r;

	if (!eng)
		return -EINVAL;
	r = check_run(eng, iv_sector, buf, len);
	if (r) {
		vol_dbg("sector engine: invalid run (iv_sector %llu, %zu bytes)",
			(unsigned long long)iv_sector, len);
		return r;
	}
	if (!len)
		return 0;

	n = hd_get(eng);
	if (!n)
		return -ENOMEM;
	chunks = split_count(eng, len);
	if (chunks > 1)
		r = crypt_split(eng, n->hd, op, iv_sector, buf, src, len, chunks);
	else
		r = xts_run_from(n->hd, op, eng->sector_size, iv_sector, buf, src, len);
	hd_put(eng, n);
	return r;
}

/* A run handed to the workers whole (vol_engine_submit). */
struct vol_engine_job {
	struct vol_engine *eng;
	struct hd_node *hd;          /* the waiter's handle, taken at submit */
	struct xts_call call;
	struct xts_task tasks[SPLIT_MAX];
};

int vol_engine_submit_from(struct vol_engine *eng, int encrypt, uint64_t iv_sector, void *buf,
			   const void *src, size_t len, struct vol_engine_job **out)
{
	struct vol_engine_job *job;
	unsigned n;
	int r;

	if (!eng || !out)
		return -EINVAL;
	r = check_run(eng, iv_sector, buf, len);
	if (r)
		return r;
	job = calloc(1, sizeof(*job));
	if (job)
		job->hd = hd_get(eng);
	if (!job || !job->hd) {
		free(job);
		return -ENOMEM;
	}
	job->eng = eng;
	job->call.op = encrypt ? XTS_ENCRYPT : XTS_DECRYPT;
	n = len ? split_count(eng, len) : 0;
	atomic_init(&job->call.pending, n);
	if (n) {
		split_run(eng, &job->call, job->tasks, n, iv_sector, buf, src, len);
		queue_chunks(eng, job->tasks, n + 1); /* all n of them */
	}
	*out = job;
	return 0;
}

int vol_engine_submit(struct vol_engine *eng, int encrypt, uint64_t iv_sector, void *buf,
		      size_t len, struct vol_engine_job **out)
{
	return vol_engine_submit_from(eng, encrypt, iv_sector, buf, NULL, len, out);
}

int vol_engine_wait(struct vol_engine_job *job)
{
	int r;

	if (!job)
		return -EINVAL;
	r = wait_chunks(job->eng, job->hd->hd, &job->call);
	hd_put(job->eng, job->hd);
	free(job);
	return r;
}

int vol_engine_encrypt(struct vol_engine *eng, uint64_t iv_sector, void *buf, size_t len)
{
	return engine_crypt(eng, XTS_ENCRYPT, iv_sector, buf, NULL, len);
}

int vol_engine_decrypt(struct vol_engine *eng, uint64_t iv_sector, void *buf, size_t len)
{
	return engine_crypt(eng, XTS_DECRYPT, iv_sector, buf, NULL, len);
}

int vol_engine_crypt_from(struct vol_engine *eng, int encrypt, uint64_t iv_sector, void *buf,
			  const void *src, size_t len)
{
	return engine_crypt(eng, encrypt ? XTS_ENCRYPT : XTS_DECRYPT, iv_sector, buf, src, len);
}

void vol_engine_set_spin(struct vol_engine *eng, int spin)
{
	atomic_store(&eng->spin_ns, spin ? SPIN_NS : 0);
}

/* ------------------------------------------------------- setup/teardown */

/* Frees a fully or partially constructed engine. */
static void engine_destroy(struct vol_engine *eng)
{
	struct hd_node *n;

	pthread_mutex_lock(&eng->lock);
	eng->stop = 1;
	pthread_cond_broadcast(&eng->work);
	pthread_mutex_unlock(&eng->lock);
	for (unsigned i = 0; i < eng->nworkers; i++)
		pthread_join(eng->workers[i].tid, NULL);

	/* gcry_cipher_close() wipes the expanded keys. */
	for (unsigned i = 0; eng->workers && i < eng->threads; i++)
		if (eng->workers[i].hd)
			gcry_cipher_close(eng->workers[i].hd);
	while ((n = eng->idle_hd)) {
		eng->idle_hd = n->next;
		gcry_cipher_close(n->hd);
		free(n);
	}
	vol_secure_free(eng->key, XTS_KEY_BYTES);
	free(eng->workers);
	pthread_cond_destroy(&eng->work);
	pthread_cond_destroy(&eng->done);
	pthread_mutex_destroy(&eng->lock);
	pthread_mutex_destroy(&eng->hd_lock);
	free(eng);
}

void vol_engine_free(struct vol_engine *eng)
{
	if (eng)
		engine_destroy(eng);
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > ENGINE_MAX_THREADS ? ENGINE_MAX_THREADS : (unsigned)n;
}

/*
 * Workers never handle signals: the application (e.g. a FUSE daemon)
 * expects them on its own threads.
 */
static int start_workers(struct vol_engine *eng)
{
	sigset_t all, old;
	int r = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i + 1 < eng->threads; i++) {
		struct worker *w = &eng->workers[i];

		r = pthread_create(&w->tid, NULL, worker_main, w);
		if (r) {
			vol_err("cannot start sector engine thread: %s", strerror(r));
			r = -r;
			break;
		}
		eng->nworkers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

static int engine_setup(struct vol_engine *eng, const uint8_t *key)
{
	struct hd_node *n;
	int r;

	eng->key = vol_secure_alloc(XTS_KEY_BYTES);
	eng->workers = calloc(eng->threads, sizeof(*eng->workers));
	n = calloc(1, sizeof(*n));
	if (!eng->key || !eng->workers || !n) {
		free(n);
		return -ENOMEM;
	}
	memcpy(eng->key, key, XTS_KEY_BYTES);

	/* One caller handle up front: single-threaded use never allocates. */
	r = open_handle(eng->key, &n->hd);
	if (r) {
		free(n);
		return r;
	}
	eng->idle_hd = n;

	/* The caller works too, so threads - 1 workers make @threads in all. */
	for (unsigned i = 0; i + 1 < eng->threads; i++) {
		eng->workers[i].eng = eng;
		r = open_handle(eng->key, &eng->workers[i].hd);
		if (r)
			return r;
	}
	return start_workers(eng);
}

int vol_engine_new_raw(const uint8_t *key, size_t key_len, uint32_t sector_size,
		       unsigned threads, struct vol_engine **out)
{
	struct vol_engine *eng;
	int r;

	if (out)
		*out = NULL;
	r = vol_require_gcrypt();
	if (r)
		return r;
	if (!key || key_len != XTS_KEY_BYTES || !out ||
	    (sector_size != 512 && sector_size != 4096) || threads > ENGINE_MAX_THREADS) {
		vol_err("sector engine: invalid parameters");
		return -EINVAL;
	}

	eng = calloc(1, sizeof(*eng));
	if (!eng)
		return -ENOMEM;
	eng->sector_size = sector_size;
	eng->threads = threads ? threads : online_cpus();
	/* With default attributes these cannot fail on Linux. */
	pthread_mutex_init(&eng->lock, NULL);
	pthread_mutex_init(&eng->hd_lock, NULL);
	pthread_cond_init(&eng->work, NULL);
	pthread_cond_init(&eng->done, NULL);
	atomic_init(&eng->queued, 0);
	atomic_init(&eng->spin_ns, SPIN_NS);

	r = engine_setup(eng, key);
	if (r) {
		engine_destroy(eng);
		return r;
	}
	vol_dbg("sector engine: aes-xts-plain64, %u-byte sectors, %u threads",
		sector_size, eng->threads);
	*out = eng;
	return 0;
}

int vol_engine_new(const struct vol_key *key, uint32_t sector_size, unsigned threads,
		   struct vol_engine **out)
{
	if (out)
		*out = NULL;
	if (!key || !key->bytes)
		return -EINVAL;
	return vol_engine_new_raw(key->bytes, key->len, sector_size, threads, out);
}
