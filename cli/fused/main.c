/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * volcrypt-fused: the fuse backend's daemon.  libvol (fuse_spawn.c)
 * starts it for `volcrypt open --backend fuse`; it is not meant to be run
 * by hand.
 *
 *   volcrypt-fused --target PATH --mountpoint DIR --key-fd N --ready-fd M
 *                  [--read-only] [--control SOCKET] [--threads N] [--verbose]
 *
 * The volume key arrives on --key-fd (exactly VOL_VOLUME_KEY_BYTES raw
 * bytes, never on the command line or in the environment).  Once the
 * volume file is served under DIR, one byte goes to --ready-fd.
 *
 * Exit status: 0 after a clean shutdown (SIGTERM, SIGINT, SIGHUP or an
 * unmount); otherwise the errno value of the failure (EBUSY: the target
 * is served by another daemon, EPERM: wrong key, EINVAL: bad usage,
 * ENOENT, EBADMSG, ...), which the spawner turns back into -errno.
 * Messages go to stderr, one line each; the last line names the failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gcrypt.h>

#include "libvol.h"

#define PROGRAM "volcrypt-fused"
/* The key and the expanded cipher keys (one set per concurrent worker). */
#define SECURE_MEMORY_BYTES (1u << 20)
#define THREADS_MAX 256

struct fused_opts {
	const char *target;
	const char *mountpoint;
	int key_fd;
	int ready_fd;
	bool read_only;
	const char *control;
	bool verbose;
	unsigned threads;
};

static bool verbose;
/* Set once a library error has been printed: it then is the last word. */
static bool error_logged;

static void log_line(enum vol_log_level level, const char *msg, void *ctx)
{
	(void)ctx;
	switch (level) {
	case VOL_LOG_ERROR:
		fprintf(stderr, PROGRAM ": %s\n", msg);
		error_logged = true;
		break;
	case VOL_LOG_WARN:
		fprintf(stderr, PROGRAM ": warning: %s\n", msg);
		break;
	default:
		if (verbose)
			fprintf(stderr, PROGRAM ": debug: %s\n", msg);
		break;
	}
}

/* The failure line, unless the library has already explained it. */
static int __attribute__((format(printf, 2, 3))) fail(int err, const char *fmt, ...)
{
	va_list ap;

	if (!error_logged) {
		fputs(PROGRAM ": ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, ": %s\n", vol_strerror(err));
	}
	err = err < 0 ? -err : err;
	return err > 0 && err < 256 ? err : EIO;
}

/*
 * The volume key lives in this process for its whole life: keep it out
 * of core files and out of reach of ptrace (a non-dumpable process cannot
 * be attached to by other processes of the same user).
 */
static void harden_process(void)
{
	const struct rlimit no_core = { 0, 0 };

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &no_core);
	/* Spawners verify /proc/PID/comm before they signal us (pid reuse). */
	prctl(PR_SET_NAME, PROGRAM, 0, 0, 0);
}

/*
 * Writeback of the file system on the loop device goes through this
 * process.  Memory reclaim that waits for that writeback must not be
 * waited on by our own allocations (PR_SET_IO_FLUSHER, inherited by the
 * threads started later), and the OOM killer must not pick us: dirty
 * data of the volume would be lost.  Best effort: both need privileges.
 */
static void writeback_safety(void)
{
	int err = 0, fd;

	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0))
		err = errno;
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "-1000", 5) != 5)
		err = errno;
	if (fd >= 0)
		close(fd);
	if (err)
		fprintf(stderr, PROGRAM ": warning: no protection against memory reclaim and the "
			"OOM killer (needs CAP_SYS_RESOURCE): %s\n", strerror(err));
}

/*
 * libfuse installs its SIGTERM/SIGINT/SIGHUP handlers only over default
 * dispositions, and a blocked mask would keep them from ever running:
 * start from a clean state whatever our parent left behind.
 */
static void reset_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE };
	sigset_t none;

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int init_gcrypt(void)
{
	if (!gcry_check_version(GCRYPT_VERSION))
		return fail(-EPROTONOSUPPORT, "libgcrypt %s or newer is required", GCRYPT_VERSION);
	gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
	if (gcry_control(GCRYCTL_INIT_SECMEM, SECURE_MEMORY_BYTES, 0))
		return fail(-ENOMEM, "cannot set up secure memory");
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	return 0;
}

static void usage(FILE *out)
{
	fputs("Usage: " PROGRAM " --target PATH --mountpoint DIR --key-fd N --ready-fd M\n"
	      "                      [--read-only] [--control SOCKET] [--threads N] [--verbose]\n"
	      "Serves the decrypted data area of the volcrypt volume PATH as DIR/volume.\n"
	      "Started by 'volcrypt open --backend fuse'; not meant to be run by hand.\n",
	      out);
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_fd(const char *s, int *fd)
{
	unsigned long v;

	if (!parse_uint(s, INT_MAX, &v))
		return false;
	*fd = (int)v;
	return true;
}

enum { OPT_TARGET = 256, OPT_MOUNTPOINT, OPT_KEY_FD, OPT_READY_FD, OPT_READ_ONLY,
       OPT_CONTROL, OPT_THREADS, OPT_VERBOSE, OPT_HELP };

static int parse_one(int opt, const char *arg, struct fused_opts *o)
{
	unsigned long v;

	switch (opt) {
	case OPT_TARGET: o->target = arg; return 0;
	case OPT_MOUNTPOINT: o->mountpoint = arg; return 0;
	case OPT_KEY_FD: return parse_fd(arg, &o->key_fd) ? 0 : fail(-EINVAL, "--key-fd %s", arg);
	case OPT_READY_FD:
		return parse_fd(arg, &o->ready_fd) ? 0 : fail(-EINVAL, "--ready-fd %s", arg);
	case OPT_READ_ONLY: o->read_only = true; return 0;
	case OPT_CONTROL: o->control = arg; return 0;
	case OPT_VERBOSE: o->verbose = true; return 0;
	case OPT_THREADS:
		if (!parse_uint(arg, THREADS_MAX, &v))
			return fail(-EINVAL, "--threads %s (0 to %d)", arg, THREADS_MAX);
		o->threads = (unsigned)v;
		return 0;
	default:
		return fail(-EINVAL, "unknown option (see --help)");
	}
}

static int parse_args(int argc, char **argv, struct fused_opts *o)
{
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "mountpoint", required_argument, NULL, OPT_MOUNTPOINT },
		{ "key-fd", required_argument, NULL, OPT_KEY_FD },
		{ "ready-fd", required_argument, NULL, OPT_READY_FD },
		{ "read-only", no_argument, NULL, OPT_READ_ONLY },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int opt, r;

	memset(o, 0, sizeof(*o));
	o->key_fd = o->ready_fd = -1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == OPT_HELP) {
			usage(stdout);
			exit(0);
		}
		r = parse_one(opt, optarg, o);
		if (r)
			return r;
	}
	if (optind != argc || !o->target || !o->mountpoint || o->key_fd < 0 || o->ready_fd < 0)
		return fail(-EINVAL, "--target, --mountpoint, --key-fd and --ready-fd are required");
	if (o->key_fd == o->ready_fd || o->key_fd <= 2 || o->ready_fd <= 2)
		return fail(-EINVAL, "--key-fd and --ready-fd must be distinct and above 2");
	return 0;
}

/* Exactly VOL_VOLUME_KEY_BYTES from @fd, straight into secure memory. */
static int read_key(int fd, struct vol_key **key)
{
	uint8_t *buf = gcry_malloc_secure(VOL_VOLUME_KEY_BYTES);
	size_t got = 0;
	int r = 0;

	if (!buf)
		return fail(-ENOMEM, "volume key");
	while (got < VOL_VOLUME_KEY_BYTES) {
		ssize_t n = read(fd, buf + got, VOL_VOLUME_KEY_BYTES - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = fail(n < 0 ? -errno : -EINVAL, "reading the volume key (%zu of %d bytes)",
				 got, VOL_VOLUME_KEY_BYTES);
			break;
		}
		got += (size_t)n;
	}
	if (!r) {
		r = vol_key_import(buf, VOL_VOLUME_KEY_BYTES, key);
		if (r)
			r = fail(r, "volume key");
	}
	explicit_bzero(buf, VOL_VOLUME_KEY_BYTES);
	gcry_free(buf);
	return r;
}

/*
 * The geometry comes from the header (volcrypt's, or a LUKS2 header read
 * through libvol); the key must be this volume's.
 * During a rekey the new key follows the first one on @key_fd.
 */
static int load_volume(const char *target, int key_fd, const struct vol_key *key,
		       struct vol_key **new_key, struct vol_info *info,
		       struct vol_rekey_info *rekey)
{
	struct vol_volume *vol = NULL;
	int r = vol_load(target, VOL_LOAD_READONLY | VOL_LOAD_LUKS2, &vol);

	if (r)
		return fail(r, "%s", target);
	vol_get_info(vol, info);
	vol_get_rekey_info(vol, rekey);
	r = vol_key_verify(vol, key);
	if (r == 1 && rekey->running) {
		r = read_key(key_fd, new_key);
		r = r ? r : vol_rekey_key_verify(vol, *new_key);
	}
	vol_free(vol);
	if (r < 0)
		return fail(r, "%s: checking the volume key", target);
	if (r != 1)
		return fail(-EPERM, "%s: the key given is not this volume's key", target);
	return 0;
}

/*
 * Absolute paths, then "/" as working directory: a daemon must not keep
 * the directory it was started from busy.
 */
static int resolve_paths(struct fused_opts *o, char *target, char *mnt)
{
	if (!realpath(o->target, target))
		return fail(-errno, "%s", o->target);
	if (!realpath(o->mountpoint, mnt))
		return fail(-errno, "%s", o->mountpoint);
	o->target = target;
	o->mountpoint = mnt;
	if (chdir("/"))
		return fail(-errno, "chdir /");
	return 0;
}

static int run(struct fused_opts *o)
{
	char target[PATH_MAX], mnt[PATH_MAX];
	struct vol_key *key = NULL, *new_key = NULL;
	struct vol_rekey_info rekey;
	struct vol_info info;
	int r;

	r = read_key(o->key_fd, &key);
	if (!r)
		r = resolve_paths(o, target, mnt);
	if (!r)
		r = load_volume(o->target, o->key_fd, key, &new_key, &info, &rekey);
	close(o->key_fd);
	if (!r) {
		const struct vol_fuse_config cfg = {
			.target = o->target,
			.mountpoint = o->mountpoint,
			.data_offset = info.data_offset,
			.data_size = info.data_size,
			.sector_size = info.sector_size,
			.read_only = o->read_only,
			.threads = o->threads,
			.new_key = new_key,
			.rekey_boundary = rekey.boundary,
			.control = o->control,
		};

		r = vol_fuse_serve(&cfg, key, o->ready_fd);
		if (r)
			r = fail(r, "serving %s on %s", o->target, o->mountpoint);
	}
	vol_key_free(key);
	vol_key_free(new_key);
	return r;
}

int main(int argc, char **argv)
{
	struct fused_opts o;
	int r;

	harden_process();
	reset_signals();
	vol_set_log(log_line, NULL);
	r = parse_args(argc, argv, &o);
	if (r)
		return r;
	verbose = o.verbose;
	writeback_safety();
	r = init_gcrypt();
	if (!r)
		r = run(&o);
	return r;
}
