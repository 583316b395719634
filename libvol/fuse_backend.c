/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The body of the volcrypt-fused daemon (fuse backend): a FUSE file
 * system holding one regular file, "volume", whose bytes are the
 * decrypted data area of a volume.  fuse_spawn.c puts a loop device on
 * that file to make it a block device.
 *
 * Data path.  Every request costs one pread() or pwrite() of the target
 * at data_offset + offset and one sector engine call, in a buffer owned
 * by the worker thread (allocated on its first request and kept until the
 * thread exits): the steady state allocates nothing.  Requests on sector
 * boundaries go straight through.  Others are widened to whole sectors:
 * a read decrypts the wider range and returns its middle; a write reads
 * and decrypts the edge sectors, patches them and writes the whole range
 * back (read-modify-write, RMW).
 *
 * Concurrency.  The kernel sends requests on many threads at once.  An
 * RMW must not interleave with another write of its edge sectors, or one
 * of the two updates is lost: RMWs hold rmw_lock exclusively, aligned
 * writes hold it shared around their pwrite() only, so aligned writes -
 * all the loop device ever sends - still run in parallel.  Reads take no
 * lock: a read racing with a write of the same sectors may see either
 * version of a sector, exactly as on any block device.
 *
 * Caching.  The file is opened with direct_io: the loop device (or the
 * file system on it) above and the target's page cache below already
 * cache; a FUSE page cache in between would only add a copy and memory.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuse_control.h"
#include "internal.h"
#include "sector_engine.h"
#include "libvol.h"

#define VOLUME_INO 2
#define VOLUME_NAME "volume"

/*
 * Largest request: the kernel's FUSE limit (256 pages) and what libfuse
 * receives in one buffer.  Bigger requests cost fewer round trips.
 */
#define IO_MAX (1u << 20)
/* A worker's buffer: IO_MAX plus the two edge sectors of a widened request. */
#define IO_BUF_BYTES (IO_MAX + 2 * 4096)
#define IO_BUF_ALIGN 4096

/*
 * Each worker encrypts its own request: the parallelism comes from the
 * many requests in flight (the loop device queues up to 128), as in
 * dm-crypt.  Letting the engine also split a request across its own
 * threads only added hand-offs (measured on 2 CPUs: no gain at queue
 * depth 1, 5-10% less throughput at depths 8 and 32).
 */
#define ENGINE_THREADS 1
/*
 * Workers per configured thread: a worker spends much of a request in
 * pread/pwrite and in the kernel, so more workers than CPUs keep the
 * CPUs busy.
 */
#define WORKERS_PER_THREAD 4
#define WORKERS_MIN 8
#define WORKERS_MAX 64
/*
 * Asynchronous direct I/O (the loop device's) is "background" work to
 * FUSE, which by default lets only 12 such requests wait for the daemon.
 */
#define MAX_BACKGROUND 64

/* The file's size never changes: let the kernel cache its attributes. */
#define ATTR_TIMEOUT 86400.0

/* Data path errors are logged, but a dying disk must not flood the log. */
#define IO_ERRORS_LOGGED 16

struct fuse_vol {
	int fd;				/* the target */
	uint64_t data_offset;
	uint64_t data_size;
	uint32_t sector_size;
	int read_only;
	unsigned threads;
	struct vol_engine *eng;
	/*
	 * Online rekey: below @boundary the data is under @new_eng.  Every
	 * request holds rekey_lock shared while it picks its key and does its
	 * I/O; the rekey takes it exclusively while it rewrites a chunk and
	 * moves the boundary.  Taken before rmw_lock.
	 */
	struct vol_engine *new_eng;
	uint64_t boundary;
	pthread_rwlock_t rekey_lock;
	struct vol_fuse_control *control;
	pthread_rwlock_t rmw_lock;	/* see "Concurrency" above */
	pthread_key_t buf_key;		/* struct io_buf of each worker */
	uid_t uid;
	gid_t gid;
	struct timespec started;	/* the file's timestamps */
	atomic_int initialised;		/* FUSE_INIT answered */
	unsigned conn_max_write;
	unsigned conn_max_read;

	/* Statistics for the debug log: relaxed counters, no ordering. */
	atomic_uint_fast64_t reads, writes, rmws;
	atomic_uint_fast64_t max_read, max_write;
	atomic_uint io_errors;
};

struct io_buf {
	uint8_t *mem;
	size_t cap;
};

/* A request widened to whole sectors: [start, start + len). */
struct span {
	uint64_t start;
	size_t len;
};

/* ------------------------------------------------------------- helpers */

static void io_buf_free(void *p)
{
	struct io_buf *b = p;

	if (!b)
		return;
	/* It held plaintext of the volume. */
	vol_wipe(b->mem, b->cap);
	free(b->mem);
	free(b);
}

/* The calling worker's buffer, at least @len bytes; NULL if out of memory. */
static uint8_t *io_buf_get(struct fuse_vol *v, size_t len)
{
	struct io_buf *b = pthread_getspecific(v->buf_key);
	size_t cap = len > IO_BUF_BYTES ? len : IO_BUF_BYTES;
	void *mem;

	if (b && b->cap >= len)
		return b->mem;
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return NULL;
		if (pthread_setspecific(v->buf_key, b)) {
			free(b);
			return NULL;
		}
	}
	/* Only a request larger than the kernel's announced maximum gets here. */
	if (posix_memalign(&mem, IO_BUF_ALIGN, cap))
		return NULL;
	if (b->mem) {
		vol_wipe(b->mem, b->cap);
		free(b->mem);
	}
	b->mem = mem;
	b->cap = cap;
	return mem;
}

static void stat_max(atomic_uint_fast64_t *max, uint64_t val)
{
	uint64_t cur = atomic_load_explicit(max, memory_order_relaxed);

	while (val > cur && !atomic_compare_exchange_weak_explicit(
				    max, &cur, val, memory_order_relaxed, memory_order_relaxed))
		;
}

static void io_error(struct fuse_vol *v, const char *what, uint64_t pos, size_t len, int err)
{
	unsigned n = atomic_fetch_add_explicit(&v->io_errors, 1, memory_order_relaxed);

	if (n < IO_ERRORS_LOGGED)
		vol_err("%s of %zu bytes at target offset %llu failed: %s%s", what, len,
			(unsigned long long)pos, strerror(-err),
			n + 1 == IO_ERRORS_LOGGED ? " (further errors not logged)" : "");
}

static int pread_full(struct fuse_vol *v, void *buf, size_t len, uint64_t pos)
{
	uint8_t *p = buf;
	size_t left = len;

	while (left) {
		ssize_t n = pread(v->fd, p, left, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* 0: the target shrank under us. */
			int r = n < 0 ? -errno : -EIO;

			io_error(v, "read", pos, left, r);
			return r;
		}
		p += n;
		pos += (uint64_t)n;
		left -= (size_t)n;
	}
	return 0;
}

static int pwrite_full(struct fuse_vol *v, const void *buf, size_t len, uint64_t pos)
{
	const uint8_t *p = buf;
	size_t left = len;

	while (left) {
		ssize_t n = pwrite(v->fd, p, left, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = n < 0 ? -errno : -EIO;

			io_error(v, "write", pos, left, r);
			return r;
		}
		p += n;
		pos += (uint64_t)n;
		left -= (size_t)n;
	}
	return 0;
}

/*
 * @pos is relative to the data area.  @src is the input (NULL: @buf, in
 * place); out of place, the cipher's one pass over the data replaces a
 * copy and an in-place pass.  The bench-only build (see the Makefile's
 * volcrypt-fused-nocrypto) measures the daemon without the cipher: each
 * call becomes a copy of the same bytes (or nothing, in place), so the
 * two builds move the same data; it must never serve a real volume.
 */
static int data_crypt(struct fuse_vol *v, uint64_t pos, void *buf, const void *src, size_t len,
		      int encrypt)
{
#ifdef VOL_FUSE_BENCH_NO_CRYPTO
	(void)v, (void)pos, (void)encrypt;
	if (src)
		memcpy(buf, src, len);
	return 0;
#else
	uint64_t below = v->new_eng && pos < v->boundary ? v->boundary - pos : 0;
	size_t n = below < len ? (size_t)below : len;
	int r = 0;

	/* A request across the rekey boundary: each side with its own key. */
	if (n)
		r = vol_engine_crypt_from(v->new_eng, encrypt, pos / 512, buf, src, n);
	if (!r && n < len)
		r = vol_engine_crypt_from(v->eng, encrypt, (pos + n) / 512, (uint8_t *)buf + n,
					  src ? (const uint8_t *)src + n : NULL, len - n);
	return r;
#endif
}

static int data_decrypt(struct fuse_vol *v, uint64_t pos, void *buf, size_t len)
{
	return data_crypt(v, pos, buf, NULL, len, 0);
}

static int data_encrypt(struct fuse_vol *v, uint64_t pos, void *buf, size_t len)
{
	return data_crypt(v, pos, buf, NULL, len, 1);
}

/* Read and decrypt whole sectors [pos, pos + len) of the data area. */
static int read_plain(struct fuse_vol *v, uint8_t *buf, uint64_t pos, size_t len)
{
	int r = pread_full(v, buf, len, v->data_offset + pos);

	return r ? r : data_decrypt(v, pos, buf, len);
}

static struct span span_of(const struct fuse_vol *v, uint64_t off, size_t size)
{
	const uint64_t mask = v->sector_size - 1;
	const uint64_t end = (off + size + mask) & ~mask;
	struct span s = { .start = off & ~mask };

	s.len = (size_t)(end - s.start);
	return s;
}

/* Bytes of [off, off + size) inside the file (0 at or past its end). */
static size_t clamp_to_end(const struct fuse_vol *v, uint64_t off, size_t size)
{
	if (off >= v->data_size)
		return 0;
	return v->data_size - off < size ? (size_t)(v->data_size - off) : size;
}

/* ---------------------------------------------------------------- I/O */

static void vf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fuse_vol *v = fuse_req_userdata(req);
	struct span s;
	uint8_t *buf;
	int r;

	(void)fi;
	if (ino != VOLUME_INO || off < 0) {
		fuse_reply_err(req, ino != VOLUME_INO ? EISDIR : EINVAL);
		return;
	}
	/* Short at the end of the file, like any regular file. */
	size = clamp_to_end(v, (uint64_t)off, size);
	if (!size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	s = span_of(v, (uint64_t)off, size);
	buf = io_buf_get(v, s.len);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_rwlock_rdlock(&v->rekey_lock);
	r = read_plain(v, buf, s.start, s.len);
	pthread_rwlock_unlock(&v->rekey_lock);
	if (r) {
		fuse_reply_err(req, -r);
		return;
	}
	atomic_fetch_add_explicit(&v->reads, 1, memory_order_relaxed);
	stat_max(&v->max_read, size);
	fuse_reply_buf(req, (const char *)buf + ((uint64_t)off - s.start), size);
}

/* Whole sectors: encrypt from libfuse's buffer into ours, and write that. */
static int write_aligned(struct fuse_vol *v, const char *data, size_t size, uint64_t off)
{
	uint8_t *buf = io_buf_get(v, size);
	int r;

	if (!buf)
		return -ENOMEM;
	r = data_crypt(v, off, buf, data, size, 1);
	if (r)
		return r;
	pthread_rwlock_rdlock(&v->rmw_lock);
	r = pwrite_full(v, buf, size, v->data_offset + off);
	pthread_rwlock_unlock(&v->rmw_lock);
	return r;
}

/*
 * Part of a sector at either end: merge the new bytes into the decrypted
 * edge sectors and write the widened range, all under the exclusive lock
 * so no other write of those sectors can slip in between.
 */
static int write_rmw(struct fuse_vol *v, const char *data, size_t size, uint64_t off)
{
	const struct span s = span_of(v, off, size);
	const size_t ss = v->sector_size;
	const uint64_t tail = s.start + s.len - ss;
	uint8_t *buf = io_buf_get(v, s.len);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	pthread_rwlock_wrlock(&v->rmw_lock);
	if (off != s.start)
		r = read_plain(v, buf, s.start, ss);
	/* The last sector, unless it is the first one and was just read. */
	if (!r && off + size != s.start + s.len && (tail != s.start || off == s.start))
		r = read_plain(v, buf + (tail - s.start), tail, ss);
	if (!r) {
		memcpy(buf + (off - s.start), data, size);
		r = data_encrypt(v, s.start, buf, s.len);
	}
	if (!r)
		r = pwrite_full(v, buf, s.len, v->data_offset + s.start);
	pthread_rwlock_unlock(&v->rmw_lock);
	atomic_fetch_add_explicit(&v->rmws, 1, memory_order_relaxed);
	return r;
}

static void vf_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size,
		     off_t off, struct fuse_file_info *fi)
{
	struct fuse_vol *v = fuse_req_userdata(req);
	const uint64_t mask = v->sector_size - 1;
	size_t n;
	int r;

	(void)fi;
	if (ino != VOLUME_INO || off < 0) {
		fuse_reply_err(req, ino != VOLUME_INO ? EISDIR : EINVAL);
		return;
	}
	if (v->read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	/* The file never grows: short write at the end, ENOSPC past it. */
	n = clamp_to_end(v, (uint64_t)off, size);
	if (!n) {
		if (size)
			fuse_reply_err(req, ENOSPC);
		else
			fuse_reply_write(req, 0);
		return;
	}
	pthread_rwlock_rdlock(&v->rekey_lock);
	if (!(((uint64_t)off | n) & mask))
		r = write_aligned(v, data, n, (uint64_t)off);
	else
		r = write_rmw(v, data, n, (uint64_t)off);
	pthread_rwlock_unlock(&v->rekey_lock);
	if (r) {
		fuse_reply_err(req, -r);
		return;
	}
	atomic_fetch_add_explicit(&v->writes, 1, memory_order_relaxed);
	stat_max(&v->max_write, n);
	fuse_reply_write(req, n);
}

/* Flushes of the file (the loop device's too) reach the target. */
static int sync_target(struct fuse_vol *v)
{
	if (v->read_only || !fdatasync(v->fd))
		return 0;
	vol_err("cannot flush the target: %s", strerror(errno));
	return errno;
}

static void vf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino, (void)datasync, (void)fi;
	fuse_reply_err(req, sync_target(fuse_req_userdata(req)));
}

/* close() of a descriptor of the file: make what it wrote durable. */
static void vf_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	fuse_reply_err(req, ino == VOLUME_INO ? sync_target(fuse_req_userdata(req)) : 0);
}

/* ------------------------------------------------------ the namespace */

static void fill_attr(const struct fuse_vol *v, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = v->uid;
	st->st_gid = v->gid;
	st->st_atim = v->started;
	st->st_mtim = v->started;
	st->st_ctim = v->started;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0700;
		st->st_nlink = 2;
		return;
	}
	st->st_mode = S_IFREG | (v->read_only ? 0400 : 0600);
	st->st_nlink = 1;
	st->st_size = (off_t)v->data_size;
	st->st_blocks = (blkcnt_t)(v->data_size / 512);
	st->st_blksize = (blksize_t)v->sector_size;
}

static int valid_ino(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID || ino == VOLUME_INO;
}

static void vf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	if (parent != FUSE_ROOT_ID || strcmp(name, VOLUME_NAME)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = VOLUME_INO;
	e.attr_timeout = ATTR_TIMEOUT;
	e.entry_timeout = ATTR_TIMEOUT;
	fill_attr(fuse_req_userdata(req), VOLUME_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void vf_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (!valid_ino(ino)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(fuse_req_userdata(req), ino, &st);
	fuse_reply_attr(req, &st, ATTR_TIMEOUT);
}

/*
 * The size is the volume's and ownership and mode are fixed: refuse to
 * change them (this also makes open(O_TRUNC) fail).  Timestamps are
 * accepted and ignored, so that touch(1) works.
 */
static void vf_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct fuse_vol *v = fuse_req_userdata(req);
	struct stat st;

	(void)fi;
	if (!valid_ino(ino)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) ||
	    ((to_set & FUSE_SET_ATTR_SIZE) &&
	     (ino != VOLUME_INO || (uint64_t)attr->st_size != v->data_size))) {
		fuse_reply_err(req, v->read_only ? EROFS : EPERM);
		return;
	}
	fill_attr(v, ino, &st);
	fuse_reply_attr(req, &st, ATTR_TIMEOUT);
}

static void vf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fuse_vol *v = fuse_req_userdata(req);

	if (ino != VOLUME_INO) {
		fuse_reply_err(req, valid_ino(ino) ? EISDIR : ENOENT);
		return;
	}
	if (v->read_only && (fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

static void vf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	static const struct {
		const char *name;
		fuse_ino_t ino;
		mode_t mode;
	} ents[] = {
		{ ".", FUSE_ROOT_ID, S_IFDIR },
		{ "..", FUSE_ROOT_ID, S_IFDIR },
		{ VOLUME_NAME, VOLUME_INO, S_IFREG },
	};
	const off_t count = (off_t)(sizeof(ents) / sizeof(ents[0]));
	char buf[512];
	size_t used = 0, room = size < sizeof(buf) ? size : sizeof(buf);

	(void)fi;
	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, valid_ino(ino) ? ENOTDIR : ENOENT);
		return;
	}
	for (off_t i = off < 0 ? 0 : off; i < count; i++) {
		struct stat st = { .st_ino = ents[i].ino, .st_mode = ents[i].mode };
		size_t n = fuse_add_direntry(req, buf + used, room - used, ents[i].name,
					     &st, i + 1);

		if (n > room - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

static void vf_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fuse_vol *v = userdata;

	conn->max_write = IO_MAX;
	/* libfuse insists that this repeats the max_read mount option. */
	conn->max_read = IO_MAX;
	/* Splicing costs a pipe round trip per request; the data is copied anyway. */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
			FUSE_CAP_WRITEBACK_CACHE);
	/* Let the loop device's asynchronous direct I/O overlap in the daemon. */
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	conn->max_background = MAX_BACKGROUND;
	conn->congestion_threshold = MAX_BACKGROUND * 3 / 4;
	v->conn_max_write = conn->max_write;
	v->conn_max_read = conn->max_read;
	atomic_store(&v->initialised, 1);
}

static const struct fuse_lowlevel_ops vf_ops = {
	.init = vf_init,
	.lookup = vf_lookup,
	.getattr = vf_getattr,
	.setattr = vf_setattr,
	.open = vf_open,
	.read = vf_read,
	.write = vf_write,
	.flush = vf_flush,
	.fsync = vf_fsync,
	.readdir = vf_readdir,
};

/* ------------------------------------------------------ setup/teardown */

/* libfuse's own messages go where libvol's go (the library never prints). */
static void __attribute__((format(printf, 2, 0)))
fuse_log_to_vol(enum fuse_log_level level, const char *fmt, va_list ap)
{
	enum vol_log_level l = level <= FUSE_LOG_ERR ? VOL_LOG_ERROR :
			       level == FUSE_LOG_WARNING ? VOL_LOG_WARN :
			       level == FUSE_LOG_DEBUG ? VOL_LOG_DEBUG : VOL_LOG_INFO;
	char msg[400];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	vol_log(l, "%s", msg);
}

static int target_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (!S_ISBLK(st.st_mode))
		return -ENODEV;
	return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
}

/*
 * One daemon per target: an OFD lock on the first byte of the data area,
 * [data_offset, data_offset + 1), held by our open file description for
 * the daemon's lifetime and dropped by the kernel however the daemon
 * ends.  OFD locks do not conflict with the flock() libvol takes for
 * header updates (device.c), so keyslots can still be changed while the
 * volume is open.  A read-only daemon's descriptor cannot hold a write
 * lock; it takes a read lock: read-only daemons may share a target, but
 * never with a read-write one.
 */
static int lock_target(struct fuse_vol *v, const char *path)
{
	struct flock fl = {
		.l_type = v->read_only ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = (off_t)v->data_offset,
		.l_len = 1,
	};

	if (!fcntl(v->fd, F_OFD_SETLK, &fl))
		return 0;
	if (errno == EAGAIN || errno == EACCES) {
		vol_err("%s is already served by another volcrypt-fused", path);
		return -EBUSY;
	}
	vol_err("cannot lock %s: %s", path, strerror(errno));
	return -errno;
}

static int check_mountpoint(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		vol_err("cannot use %s as mount point: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		vol_err("mount point %s is not a directory", path);
		return -ENOTDIR;
	}
	return 0;
}

static int check_geometry(const struct vol_fuse_config *cfg)
{
	if ((cfg->sector_size != 512 && cfg->sector_size != 4096) || !cfg->data_size ||
	    cfg->data_size % cfg->sector_size || cfg->data_offset % cfg->sector_size ||
	    cfg->data_offset + cfg->data_size < cfg->data_offset) {
		vol_err("invalid volume geometry for %s", cfg->target);
		return -EINVAL;
	}
	return 0;
}

static int open_target(struct fuse_vol *v, const struct vol_fuse_config *cfg)
{
	uint64_t size;
	int r;

	v->fd = open(cfg->target, (cfg->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (v->fd < 0) {
		r = -errno;
		vol_err("cannot open %s: %s", cfg->target, strerror(-r));
		return r;
	}
	r = lock_target(v, cfg->target);
	if (r)
		return r;
	r = target_size(v->fd, &size);
	if (!r && size < cfg->data_offset + cfg->data_size) {
		vol_err("%s is smaller than the volume it holds", cfg->target);
		r = -ENODEV;
	}
	return r;
}

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

static void vol_teardown(struct fuse_vol *v)
{
	/* Workers have exited (their buffers are freed); this thread's is left. */
	io_buf_free(pthread_getspecific(v->buf_key));
	pthread_setspecific(v->buf_key, NULL);
	pthread_key_delete(v->buf_key);
	pthread_rwlock_destroy(&v->rmw_lock);
	pthread_rwlock_destroy(&v->rekey_lock);
	vol_engine_free(v->eng); /* wipes the expanded keys */
	vol_engine_free(v->new_eng);
	if (v->fd >= 0)
		close(v->fd);
}

static int vol_setup(struct fuse_vol *v, const struct vol_fuse_config *cfg,
		     const struct vol_key *key)
{
	pthread_rwlockattr_t ra;
	int r;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	v->data_offset = cfg->data_offset;
	v->data_size = cfg->data_size;
	v->sector_size = cfg->sector_size;
	v->read_only = !!cfg->read_only;
	v->threads = cfg->threads ? cfg->threads : online_cpus();
	v->uid = getuid();
	v->gid = getgid();
	clock_gettime(CLOCK_REALTIME, &v->started);

	/* An endless stream of aligned writes must not starve an RMW. */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&v->rmw_lock, &ra);
	/* Likewise the rekey must get its chunk while requests keep coming. */
	pthread_rwlock_init(&v->rekey_lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	r = -pthread_key_create(&v->buf_key, io_buf_free);
	if (r) {
		pthread_rwlock_destroy(&v->rmw_lock);
		pthread_rwlock_destroy(&v->rekey_lock);
		return r;
	}
	r = open_target(v, cfg);
	if (!r)
		r = vol_engine_new(key, v->sector_size, ENGINE_THREADS, &v->eng);
	if (!r && cfg->new_key) {
		v->boundary = cfg->rekey_boundary;
		r = vol_engine_new(cfg->new_key, v->sector_size, ENGINE_THREADS, &v->new_eng);
	}
	if (r)
		vol_teardown(v);
	return r;
}

/* ------------------------------------------------------- online rekey */

/*
 * The rekey runs in the control thread (fuse_control.c) with these
 * hooks: it holds every request off while it rewrites a chunk through its
 * own descriptor (same page cache as ours), and moves our boundary before
 * letting them go.
 */
static int rekey_install(void *ctx, const struct vol_key *new_key)
{
	struct fuse_vol *v = ctx;
	struct vol_engine *eng;
	int r;

	if (v->new_eng) /* started with both keys: the rekey is resumed */
		return 0;
	r = vol_engine_new(new_key, v->sector_size, ENGINE_THREADS, &eng);
	if (r)
		return r;
	pthread_rwlock_wrlock(&v->rekey_lock);
	v->boundary = 0;
	v->new_eng = eng;
	pthread_rwlock_unlock(&v->rekey_lock);
	return 0;
}

static int rekey_boundary(void *ctx, uint64_t *boundary)
{
	struct fuse_vol *v = ctx;

	pthread_rwlock_rdlock(&v->rekey_lock);
	*boundary = v->boundary;
	pthread_rwlock_unlock(&v->rekey_lock);
	return 0;
}

static int rekey_hold(void *ctx, uint64_t off, uint64_t len)
{
	struct fuse_vol *v = ctx;

	(void)off, (void)len;
	pthread_rwlock_wrlock(&v->rekey_lock);
	return 0;
}

static void rekey_release(void *ctx, uint64_t off, uint64_t len, int done)
{
	struct fuse_vol *v = ctx;

	if (done)
		v->boundary = off + len;
	pthread_rwlock_unlock(&v->rekey_lock);
}

/* Everything is under the new key: it becomes the only one. */
static int rekey_finish(void *ctx)
{
	struct fuse_vol *v = ctx;
	struct vol_engine *old;

	pthread_rwlock_wrlock(&v->rekey_lock);
	old = v->eng;
	v->eng = v->new_eng;
	v->new_eng = NULL;
	v->boundary = 0;
	pthread_rwlock_unlock(&v->rekey_lock);
	vol_engine_free(old);
	return 0;
}

static int control_start(struct fuse_vol *v, const struct vol_fuse_config *cfg)
{
	const struct vol_fuse_rekey_hooks hooks = {
		.install = rekey_install,
		.ops = {
			.boundary = rekey_boundary,
			.hold = rekey_hold,
			.release = rekey_release,
			.finish = rekey_finish,
			.ctx = v,
			.online = 1,
		},
	};

	if (!cfg->control || v->read_only)
		return 0;
	return vol_fuse_control_start(cfg->control, cfg->target, &hooks, &v->control);
}

static struct fuse_session *session_new(struct fuse_vol *v, const char *mountpoint)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	char opts[128];

	/* root bypasses the mode bits; default_permissions keeps others out. */
	snprintf(opts, sizeof(opts),
		 "default_permissions,fsname=volcrypt,subtype=volcrypt,max_read=%u%s",
		 IO_MAX, v->read_only ? ",ro" : "");
	if (fuse_opt_add_arg(&args, "volcrypt-fused") || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, opts))
		goto out;
	se = fuse_session_new(&args, &vf_ops, sizeof(vf_ops), v);
	if (se && fuse_set_signal_handlers(se)) {
		fuse_session_destroy(se);
		se = NULL;
	}
	if (se && fuse_session_mount(se, mountpoint)) {
		vol_err("cannot mount %s", mountpoint);
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
		se = NULL;
	}
out:
	fuse_opt_free_args(&args);
	return se;
}

/*
 * Answer FUSE_INIT on this thread before anything else, so that "ready"
 * means the file can be opened and the limits it negotiates are known.
 */
static int answer_init(struct fuse_session *se, struct fuse_vol *v)
{
	struct fuse_buf fbuf = { .mem = NULL };
	int r = 0;

	while (!atomic_load(&v->initialised)) {
		r = fuse_session_receive_buf(se, &fbuf);
		if (r == -EINTR && !fuse_session_exited(se))
			continue;
		if (r <= 0) {
			/* Signalled, or unmounted, before we were ready. */
			r = r ? r : -ENOTCONN;
			vol_err("the FUSE connection ended during start-up: %s", strerror(-r));
			break;
		}
		fuse_session_process_buf(se, &fbuf);
		r = 0;
	}
	/* libfuse ends the session when it dislikes what init() negotiated. */
	if (!r && fuse_session_exited(se)) {
		vol_err("the FUSE connection could not be set up");
		r = -EPROTO;
	}
	free(fbuf.mem);
	if (!r)
		vol_dbg("FUSE connection up: max_write %u, max_read %u", v->conn_max_write,
			v->conn_max_read);
	return r;
}

static int signal_ready(int ready_fd)
{
	ssize_t n;

	do
		n = write(ready_fd, "R", 1);
	while (n < 0 && errno == EINTR);
	close(ready_fd);
	if (n == 1)
		return 0;
	/* Whoever started us is gone and will never record the mapping. */
	vol_err("cannot report readiness: %s", n < 0 ? strerror(errno) : "short write");
	return n < 0 ? -errno : -EIO;
}

static int serve_loop(struct fuse_session *se, const struct fuse_vol *v)
{
	struct fuse_loop_config *lc = fuse_loop_cfg_create();
	unsigned workers = v->threads * WORKERS_PER_THREAD;
	int r;

	if (!lc)
		return -ENOMEM;
	workers = workers < WORKERS_MIN ? WORKERS_MIN : workers > WORKERS_MAX ? WORKERS_MAX : workers;
	/* A /dev/fuse clone per worker: no contention on one queue. */
	fuse_loop_cfg_set_clone_fd(lc, 1);
	fuse_loop_cfg_set_max_threads(lc, workers);
	/* Idle workers stay: restarting one would reallocate its buffer. */
	fuse_loop_cfg_set_idle_threads(lc, workers);
	r = fuse_session_loop_mt(se, lc);
	fuse_loop_cfg_destroy(lc);
	/* > 0: the signal that ended the session - a normal shutdown. */
	return r < 0 ? r : 0;
}

/*
 * Not libfuse's lazy unmount: if the loop device still holds the file
 * (the daemon was stopped before the device was detached), a lazy unmount
 * would hide the file's path, by which `volcrypt close` recognises the
 * loop device as ours.  The mount is left behind instead (dead once we
 * exit) for close to detach the device and unmount it.
 */
static void unmount(struct fuse_session *se, const char *mountpoint)
{
	if (umount2(mountpoint, UMOUNT_NOFOLLOW) < 0 && errno == EBUSY) {
		vol_warn("%s is still in use; leaving the mount to 'volcrypt close'", mountpoint);
		return;
	}
	fuse_session_unmount(se);
}

static void log_stats(struct fuse_vol *v)
{
	vol_dbg("served %llu reads (largest %llu bytes), %llu writes (largest %llu bytes), "
		"%llu read-modify-writes, %u I/O errors",
		(unsigned long long)atomic_load(&v->reads),
		(unsigned long long)atomic_load(&v->max_read),
		(unsigned long long)atomic_load(&v->writes),
		(unsigned long long)atomic_load(&v->max_write),
		(unsigned long long)atomic_load(&v->rmws), atomic_load(&v->io_errors));
}

int vol_fuse_serve(const struct vol_fuse_config *cfg, const struct vol_key *key,
		   int ready_fd)
{
	struct fuse_session *se;
	struct fuse_vol v;
	int r;

	if (!cfg || !cfg->target || !cfg->mountpoint || !key || ready_fd < 0)
		return -EINVAL;
	r = vol_require_gcrypt();
	if (!r)
		r = check_geometry(cfg);
	if (!r)
		r = check_mountpoint(cfg->mountpoint);
	if (r)
		return r;
	fuse_set_log_func(fuse_log_to_vol);
#ifdef VOL_FUSE_BENCH_NO_CRYPTO
	vol_warn("benchmark build without encryption: data is stored in plaintext");
#endif
	r = vol_setup(&v, cfg, key);
	if (r)
		goto out;
	se = session_new(&v, cfg->mountpoint);
	if (!se) {
		r = -EIO;
		goto teardown;
	}
	r = answer_init(se, &v);
	if (!r)
		r = control_start(&v, cfg);
	if (!r)
		r = signal_ready(ready_fd);
	if (!r)
		r = serve_loop(se, &v);
	/* A rekey in progress pauses at its next chunk: requests still run. */
	vol_fuse_control_stop(v.control);
	unmount(se, cfg->mountpoint);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	log_stats(&v);
teardown:
	vol_teardown(&v);
out:
	fuse_set_log_func(NULL);
	return r;
}
