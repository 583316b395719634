// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * crashpoint.so - LD_PRELOAD shim that kills the process at the N-th
 * "durable operation", to test that volcrypt's header updates survive a
 * crash at any point.
 *
 * Counted operations (in program order, across all threads):
 *   - pwrite(), pwrite64() and write() on a file descriptor > 2 that refers
 *     to a regular file or a block device;
 *   - fsync() and fdatasync() on such a descriptor.
 *
 * Environment:
 *   CRASHPOINT_AT=N          on the N-th counted operation (1-based):
 *                              write: write only the first half of the
 *                                     buffer (a torn write), then SIGKILL;
 *                              sync:  SIGKILL before syncing.
 *   CRASHPOINT_COUNT_FILE=F  at normal exit, write the total number of
 *                            counted operations (decimal, newline) to F.
 *   CRASHPOINT_LOG=1         print each counted operation to stderr.
 *   CRASHPOINT_PROGRAM=NAME  count only in a process whose program name is
 *                            NAME (children such as rsync inherit
 *                            LD_PRELOAD; they are left alone).
 *
 * Build: gcc -shared -fPIC -O2 -Wall -Wextra -Werror \
 *            -o build/tests/crashpoint.so tests/cli/crashpoint.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*pwrite64_fn)(int, const void *, size_t, off64_t);
typedef int (*sync_fn)(int);

static write_fn real_write;
static pwrite_fn real_pwrite;
static pwrite64_fn real_pwrite64;
static sync_fn real_fsync;
static sync_fn real_fdatasync;

static unsigned long crash_at;      /* 0: never */
static int log_ops;
static int inert;                   /* CRASHPOINT_PROGRAM names another program */
static unsigned long op_count;      /* updated atomically */

static void *next_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		static const char msg[] = "crashpoint: dlsym failed\n";
		/* syscall-free fallback is impossible: give up loudly. */
		if (real_write)
			real_write(2, msg, sizeof(msg) - 1);
		abort();
	}
	return p;
}

#define RESOLVE(var, name)                                   \
	do {                                                 \
		if (!(var)) {                                \
			void *sym_ = next_sym(name);         \
			memcpy(&(var), &sym_, sizeof(var));  \
		}                                            \
	} while (0)

static void resolve_all(void)
{
	RESOLVE(real_write, "write");
	RESOLVE(real_pwrite, "pwrite");
	RESOLVE(real_pwrite64, "pwrite64");
	RESOLVE(real_fsync, "fsync");
	RESOLVE(real_fdatasync, "fdatasync");
}

__attribute__((constructor)) static void crashpoint_init(void)
{
	const char *at = getenv("CRASHPOINT_AT");
	const char *lg = getenv("CRASHPOINT_LOG");
	const char *prog = getenv("CRASHPOINT_PROGRAM");

	resolve_all();
	inert = prog && *prog && strcmp(prog, program_invocation_short_name) != 0;
	if (at && *at) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(at, &end, 10);
		if (errno == 0 && *end == '\0')
			crash_at = v;
	}
	log_ops = lg && *lg && strcmp(lg, "0") != 0;
}

__attribute__((destructor)) static void crashpoint_fini(void)
{
	const char *path = getenv("CRASHPOINT_COUNT_FILE");
	char buf[32];
	int fd, n;

	if (!path || !*path || inert)
		return;
	resolve_all();
	n = snprintf(buf, sizeof(buf), "%lu\n",
		     __atomic_load_n(&op_count, __ATOMIC_SEQ_CST));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (n > 0 && real_write(fd, buf, (size_t)n) != n) {
		/* nothing sensible to do at exit */
	}
	close(fd);
}

/* Is @fd a descriptor whose writes we count? */
static int durable_fd(int fd)
{
	struct stat st;

	if (fd <= 2)
		return 0;
	if (fstat(fd, &st) != 0)
		return 0;
	return S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
}

static void log_op(unsigned long n, const char *what, int fd, size_t len,
		   long long off)
{
	char buf[160];
	int k;

	if (!log_ops)
		return;
	k = snprintf(buf, sizeof(buf), "crashpoint: #%lu %s fd=%d len=%zu off=%lld\n",
		     n, what, fd, len, off);
	if (k > 0)
		real_write(2, buf, (size_t)k < sizeof(buf) ? (size_t)k : sizeof(buf) - 1);
}

/* Returns the number of this operation (1-based), 0 if not counted. */
static unsigned long count_op(int fd, const char *what, size_t len, long long off)
{
	unsigned long n;

	if (inert || !durable_fd(fd))
		return 0;
	n = __atomic_add_fetch(&op_count, 1, __ATOMIC_SEQ_CST);
	log_op(n, what, fd, len, off);
	return n;
}

static int crash_here(unsigned long n)
{
	return crash_at != 0 && n == crash_at;
}

/* Half of a write, kept a multiple of 512 bytes when that is possible so
 * that the torn write also works on O_DIRECT descriptors. */
static size_t torn_len(size_t len)
{
	size_t half = len / 2;

	if (half >= 512)
		half &= ~(size_t)511;
	return half;
}

static void die_now(void)
{
	raise(SIGKILL);
	_exit(137);     /* not reached */
}

ssize_t write(int fd, const void *buf, size_t count)
{
	unsigned long n;

	resolve_all();
	n = count_op(fd, "write", count, -1);
	if (n && crash_here(n)) {
		size_t half = torn_len(count);

		if (half)
			(void)real_write(fd, buf, half);
		die_now();
	}
	return real_write(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
	unsigned long n;

	resolve_all();
	n = count_op(fd, "pwrite", count, (long long)offset);
	if (n && crash_here(n)) {
		size_t half = torn_len(count);

		if (half)
			(void)real_pwrite(fd, buf, half, offset);
		die_now();
	}
	return real_pwrite(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset)
{
	unsigned long n;

	resolve_all();
	n = count_op(fd, "pwrite64", count, (long long)offset);
	if (n && crash_here(n)) {
		size_t half = torn_len(count);

		if (half)
			(void)real_pwrite64(fd, buf, half, offset);
		die_now();
	}
	return real_pwrite64(fd, buf, count, offset);
}

int fsync(int fd)
{
	unsigned long n;

	resolve_all();
	n = count_op(fd, "fsync", 0, -1);
	if (n && crash_here(n))
		die_now();
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	unsigned long n;

	resolve_all();
	n = count_op(fd, "fdatasync", 0, -1);
	if (n && crash_here(n))
		die_now();
	return real_fdatasync(fd);
}
