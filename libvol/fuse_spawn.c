/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fuse backend: starting and stopping volcrypt-fused, and the loop
 * device on the file it serves (RUN_DIR/mnt/volume).
 *
 * Start-up.  The daemon must outlive `volcrypt open` yet never become a
 * zombie child of a long-lived libvol user, so it is started by a double
 * fork:
 *
 *   caller --fork--> starter: setsid(), fork --> daemon: execve(helper)
 *                       |
 *                       +-- reads the daemon's ready pipe; on EOF reaps
 *                           the daemon and learns its exit status;
 *                           reports {pid} then {status} to the caller
 *                           on the report pipe and exits.
 *
 * The caller reaps the starter; the daemon is re-parented to init.  The
 * volume key goes into a pipe (fd 3 of the daemon) before the fork: never
 * on argv or in the environment, and no SIGPIPE if the daemon dies before
 * reading it.  The daemon's exit status is the errno value of its failure
 * (cli/fused/main.c), so -EBUSY (target served by another daemon), -EPERM
 * (wrong key), ... reach the caller unchanged; the last line of
 * RUN_DIR/daemon.log (the daemon's stderr) goes into the error message.
 *
 * Between fork and execve the children of a possibly multi-threaded
 * caller only make async-signal-safe calls: every string and descriptor
 * they need is prepared before the fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "fuse_control.h"
#include "internal.h"
#include "loop.h"

#ifndef VOL_SBINDIR
#define VOL_SBINDIR "/usr/local/sbin"
#endif

#define HELPER_NAME "volcrypt-fused"
/* /proc/PID/comm of the daemon (it sets it itself: cli/fused/main.c). */
#define HELPER_COMM "volcrypt-fused"
#define DAEMON_KEY_FD 3
#define DAEMON_READY_FD 4
/* The daemon child's exit status when execve() of the helper failed. */
#define EXEC_FAILED 127

/* Start-up reads the header and checks the key digest (PBKDF2): seconds at most. */
#define START_TIMEOUT_MS 60000
/* SIGTERM: the daemon unmounts and wipes its keys; then SIGKILL. */
#define STOP_TIMEOUT_MS 10000
#define KILL_TIMEOUT_MS 5000

#define LOG_LINE_MAX 300

/* What the starter reports: the daemon's pid first, then its fate. */
enum { STATUS_READY = 0, STATUS_SIGNALLED = 1000 };

struct spawn {
	/* Prepared before the fork. */
	char *argv[14];
	char control[PATH_MAX];
	char *envp[3];
	char exec_msg[PATH_MAX + 64];
	size_t exec_msg_len;
	int key_fd;		/* read end of the key pipe, holding the key */
	int ready[2];		/* daemon -> starter */
	int report[2];		/* starter -> caller */
	int null_fd;
	int log_fd;
	/* Results. */
	pid_t starter;
	pid_t daemon;
};

/* --------------------------------------------------------- small helpers */

static int path_join(char *buf, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* 1 once the process behind @pidfd has exited, 0 on timeout, or -errno. */
static int pidfd_wait(int pidfd, int timeout_ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	double deadline = vol_now_ms() + timeout_ms;
	int n;

	for (;;) {
		double left = deadline - vol_now_ms();

		n = poll(&p, 1, left > 0 ? (int)left : 0);
		if (n >= 0)
			return n > 0;
		if (errno != EINTR)
			return -errno;
	}
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int read_small_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read_full(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return (int)n;
}

/*
 * The last line of the daemon's log that is not a warning, made
 * printable, into @out ("" if there is none).
 */
static void log_tail(const char *log, char *out, size_t len)
{
	char buf[4096], *line = NULL, *p, *save = NULL;
	struct stat st;
	int fd;
	ssize_t n;

	out[0] = '\0';
	fd = open(log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (!fstat(fd, &st) && st.st_size > (off_t)sizeof(buf) - 1)
		lseek(fd, st.st_size - (off_t)sizeof(buf) + 1, SEEK_SET);
	n = read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (p = strtok_r(buf, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
		if (*p && (!line || !strstr(p, ": warning: ")))
			line = p;
	if (!line)
		return;
	snprintf(out, len, "%s", line);
	for (p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
}

/* --------------------------------------------------------- the helper */

static bool is_executable(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

/* req->fuse_helper, else next to the running program, else VOL_SBINDIR. */
static int find_helper(const char *asked, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (asked) {
		if (!is_executable(asked)) {
			vol_err("fuse helper %s is not an executable file", asked);
			return -ENOENT;
		}
		snprintf(buf, len, "%s", asked);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (!path_join(buf, len, self, HELPER_NAME) && is_executable(buf))
				return 0;
		}
	}
	if (path_join(buf, len, VOL_SBINDIR, HELPER_NAME) || !is_executable(buf)) {
		vol_err("cannot find the fuse daemon %s (looked next to this program and in %s)",
			HELPER_NAME, VOL_SBINDIR);
		return -ENOENT;
	}
	return 0;
}

/* ------------------------------------------------------------ spawning */

static void spawn_init(struct spawn *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->key_fd = sp->null_fd = sp->log_fd = -1;
	sp->ready[0] = sp->ready[1] = sp->report[0] = sp->report[1] = -1;
	sp->starter = sp->daemon = -1;
}

static void spawn_close(struct spawn *sp)
{
	close_fd(&sp->key_fd);
	close_fd(&sp->ready[0]);
	close_fd(&sp->ready[1]);
	close_fd(&sp->report[0]);
	close_fd(&sp->report[1]);
	close_fd(&sp->null_fd);
	close_fd(&sp->log_fd);
}

static int write_key(int fd, const struct vol_key *key)
{
	ssize_t n;

	/* Far below the pipe's capacity: never blocks, one atomic write. */
	do
		n = write(fd, key->bytes, key->len);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)key->len ? 0 : n < 0 ? -errno : -EIO;
}

/*
 * The key into a fresh pipe, then the new key during a rekey (the daemon
 * knows from the header whether to expect it); only the read end is kept.
 */
static int key_pipe(struct spawn *sp, const struct vol_key *key, const struct vol_key *new_key)
{
	int p[2], r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	r = write_key(p[1], key);
	if (!r && new_key)
		r = write_key(p[1], new_key);
	close(p[1]);
	if (r) {
		close(p[0]);
		return r;
	}
	sp->key_fd = p[0];
	return 0;
}

static int spawn_prepare(struct spawn *sp, const struct vol_map_request *req,
			 const char *helper, const char *mnt, const char *log)
{
	static char key_fd[] = "3", ready_fd[] = "4";
	static char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	static char env_lang[] = "LC_ALL=C";
	int i = 0, r;

	sp->argv[i++] = (char *)helper;
	sp->argv[i++] = (char *)"--target";
	sp->argv[i++] = (char *)req->target;
	sp->argv[i++] = (char *)"--mountpoint";
	sp->argv[i++] = (char *)mnt;
	sp->argv[i++] = (char *)"--key-fd";
	sp->argv[i++] = key_fd;
	sp->argv[i++] = (char *)"--ready-fd";
	sp->argv[i++] = ready_fd;
	if (req->read_only) {
		sp->argv[i++] = (char *)"--read-only";
	} else {
		snprintf(sp->control, sizeof(sp->control), "%s/" VOL_CTL_SOCKET, req->run_dir);
		sp->argv[i++] = (char *)"--control";
		sp->argv[i++] = sp->control;
	}
	sp->argv[i] = NULL;
	/* A clean environment: nothing of the caller's leaks into the daemon. */
	sp->envp[0] = env_path;
	sp->envp[1] = env_lang;
	sp->envp[2] = NULL;
	snprintf(sp->exec_msg, sizeof(sp->exec_msg), HELPER_NAME ": cannot execute %s\n", helper);
	sp->exec_msg_len = strlen(sp->exec_msg);

	sp->log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
			  0600);
	if (sp->log_fd < 0) {
		r = -errno;
		vol_err("cannot create %s: %s", log, vol_strerror(r));
		return r;
	}
	sp->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (sp->null_fd < 0 || pipe2(sp->ready, O_CLOEXEC) < 0 ||
	    pipe2(sp->report, O_CLOEXEC) < 0)
		return -errno;
	r = key_pipe(sp, req->key, req->new_key);
	if (r)
		vol_err("cannot pass the key to the fuse daemon: %s", vol_strerror(r));
	return r;
}

/* In the daemon child: fds 0-4 as the daemon expects them, nothing else. */
static void __attribute__((noreturn)) exec_daemon(struct spawn *sp)
{
	/* Copies above 4 first: a source may already sit on a target number. */
	int key = fcntl(sp->key_fd, F_DUPFD, 10);
	int ready = fcntl(sp->ready[1], F_DUPFD, 10);
	int null = fcntl(sp->null_fd, F_DUPFD, 10);
	int log = fcntl(sp->log_fd, F_DUPFD, 10);
	sigset_t none;
	ssize_t ign;

	if (key < 0 || ready < 0 || null < 0 || log < 0 || dup2(null, 0) < 0 ||
	    dup2(log, 1) < 0 || dup2(log, 2) < 0 || dup2(key, DAEMON_KEY_FD) < 0 ||
	    dup2(ready, DAEMON_READY_FD) < 0)
		_exit(EXEC_FAILED);
	/* Not the caller's descriptors: a held flock would outlive `open`. */
	if (close_range(DAEMON_READY_FD + 1, ~0U, 0) < 0)
		for (int fd = DAEMON_READY_FD + 1; fd < 1024; fd++)
			close(fd);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(sp->argv[0], sp->argv, sp->envp);
	ign = write(2, sp->exec_msg, sp->exec_msg_len);
	(void)ign;
	_exit(EXEC_FAILED);
}

static void report(int fd, int32_t val)
{
	ssize_t n;

	do
		n = write(fd, &val, sizeof(val));
	while (n < 0 && errno == EINTR);
}

/* The starter (see the top of the file).  Async-signal-safe calls only. */
static void __attribute__((noreturn)) run_starter(struct spawn *sp)
{
	int32_t status = STATUS_READY;
	pid_t pid, w;
	char c;
	ssize_t n;
	int ws = 0;

	close(sp->report[0]);
	/* Its own session: no terminal's SIGHUP or SIGINT reaches the daemon. */
	setsid();
	/* An ignored SIGCHLD (the caller's) would reap the daemon behind our back. */
	signal(SIGCHLD, SIG_DFL);
	pid = fork();
	if (pid == 0)
		exec_daemon(sp);
	/* Only the daemon holds the write end: its exit means EOF here. */
	close(sp->ready[1]);
	close(sp->key_fd);
	close(sp->null_fd);
	close(sp->log_fd);
	report(sp->report[1], pid < 0 ? -1 : pid);
	if (pid < 0)
		_exit(1);
	do
		n = read(sp->ready[0], &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		/* EOF: the daemon gave up (or died); its status says why. */
		do
			w = waitpid(pid, &ws, 0);
		while (w < 0 && errno == EINTR);
		if (w < 0)
			status = EIO;
		else if (WIFEXITED(ws))
			status = WEXITSTATUS(ws);
		else
			status = STATUS_SIGNALLED + WTERMSIG(ws);
		if (status == STATUS_READY)
			status = EIO; /* exited 0 without ever being ready */
	}
	report(sp->report[1], status);
	_exit(0);
}

static int spawn_fork(struct spawn *sp)
{
	sp->starter = fork();
	if (sp->starter < 0) {
		int r = -errno;

		vol_err("cannot start the fuse daemon: %s", vol_strerror(r));
		return r;
	}
	if (sp->starter == 0)
		run_starter(sp);
	/* Only the report pipe's read end stays with us. */
	close_fd(&sp->key_fd);
	close_fd(&sp->ready[0]);
	close_fd(&sp->ready[1]);
	close_fd(&sp->report[1]);
	close_fd(&sp->null_fd);
	close_fd(&sp->log_fd);
	return 0;
}

/* Reads one report within @timeout_ms: 1, 0 on EOF, -ETIMEDOUT or -errno. */
static int read_report(int fd, int32_t *val, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = read_full(fd, val, sizeof(*val));
	if (n < 0)
		return (int)n;
	return n == sizeof(*val);
}

static void reap(pid_t pid)
{
	/* ECHILD: the application reaps children itself or ignores SIGCHLD. */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Exit status of the daemon -> -errno, with the log's last word. */
static int start_error(int32_t status, const char *target, const char *log)
{
	char tail[LOG_LINE_MAX];
	int r;

	if (status >= STATUS_SIGNALLED)
		r = -EIO;
	else if (status == EXEC_FAILED)
		r = -ENOEXEC;
	else
		r = -status;
	log_tail(log, tail, sizeof(tail));
	if (tail[0])
		vol_err("the fuse daemon for %s did not start: %s", target,
			strncmp(tail, HELPER_NAME ": ", sizeof(HELPER_NAME ": ") - 1) ? tail :
			tail + sizeof(HELPER_NAME ": ") - 1);
	else if (status >= STATUS_SIGNALLED)
		vol_err("the fuse daemon for %s was killed by signal %d", target,
			status - STATUS_SIGNALLED);
	else
		vol_err("the fuse daemon for %s did not start: %s", target, vol_strerror(r));
	return r;
}

/*
 * Start the daemon and wait until it serves the file: 0 and its pid in
 * sp->daemon, or -errno (the daemon is gone then).
 */
static int spawn_wait(struct spawn *sp, const struct vol_map_request *req, const char *log)
{
	int32_t pid = -1, status = EIO;
	int r;

	r = read_report(sp->report[0], &pid, START_TIMEOUT_MS);
	if (r == 1 && pid > 0) {
		sp->daemon = pid;
		r = read_report(sp->report[0], &status, START_TIMEOUT_MS);
	}
	if (r == -ETIMEDOUT && sp->daemon > 0) {
		/* Still the starter's unreaped child, so the pid is still its. */
		vol_warn("the fuse daemon for %s did not start within %d s; killing it",
			 req->target, START_TIMEOUT_MS / 1000);
		kill(sp->daemon, SIGKILL);
		r = read_report(sp->report[0], &status, START_TIMEOUT_MS);
	}
	if (r != 1)
		kill(sp->starter, SIGKILL); /* unreaped: still ours */
	reap(sp->starter);
	if (r != 1) {
		vol_err("lost contact with the fuse daemon for %s", req->target);
		return r < 0 ? r : -EIO;
	}
	return status == STATUS_READY ? 0 : start_error(status, req->target, log);
}

/* --------------------------------------------------------- stopping */

/*
 * Whether @pid is the daemon serving @mnt: its comm, and --mountpoint
 * MNT in its command line (another volcrypt-fused may have got the pid
 * of a dead one).
 */
static bool daemon_is_ours(pid_t pid, const char *mnt)
{
	char path[64], buf[PATH_MAX + 256];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0 || strcmp(buf, HELPER_COMM "\n"))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	n = read_small_file(path, buf, sizeof(buf));
	for (int i = 0; i < n; i += (int)strlen(buf + i) + 1)
		if (!strcmp(buf + i, "--mountpoint"))
			return i + 13 < n && !strcmp(buf + i + 13, mnt);
	return false;
}

/*
 * A pidfd on the daemon serving @mnt, or -ESRCH if it is gone (dead, or
 * the pid now belongs to another process).  Checked through the pidfd,
 * so the answer cannot go stale: if the process we opened is still
 * running after the /proc checks, those checks were about it.
 */
static int daemon_pidfd(pid_t pid, const char *mnt)
{
	int pidfd;

	if (pid <= 0)
		return -ESRCH;
	pidfd = sys_pidfd_open(pid);
	if (pidfd < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	if (!daemon_is_ours(pid, mnt) || pidfd_wait(pidfd, 0) != 0) {
		close(pidfd);
		return -ESRCH;
	}
	return pidfd;
}

/* SIGTERM, bounded wait, then SIGKILL.  0 once the daemon is gone. */
static int daemon_stop(pid_t pid, const char *mnt)
{
	int pidfd = daemon_pidfd(pid, mnt);
	int r;

	if (pidfd == -ESRCH)
		return 0;
	if (pidfd < 0)
		return pidfd;
	r = sys_pidfd_signal(pidfd, SIGTERM) < 0 && errno != ESRCH ? -errno : 0;
	if (!r)
		r = pidfd_wait(pidfd, STOP_TIMEOUT_MS);
	if (r == 0) {
		vol_warn("the fuse daemon (pid %d) ignored SIGTERM for %d s; killing it",
			 (int)pid, STOP_TIMEOUT_MS / 1000);
		sys_pidfd_signal(pidfd, SIGKILL);
		r = pidfd_wait(pidfd, KILL_TIMEOUT_MS);
		if (r == 0) {
			vol_err("the fuse daemon (pid %d) does not die", (int)pid);
			r = -EBUSY;
		}
	}
	close(pidfd);
	return r < 0 ? r : 0;
}

/*
 * Remove what the daemon leaves behind: a dead FUSE mount (after SIGKILL
 * the mount stays and answers ENOTCONN), mnt/ itself, the log and the
 * control socket.
 */
static void cleanup_run_dir(const char *run_dir)
{
	char mnt[PATH_MAX], log[PATH_MAX], ctl[PATH_MAX];

	if (path_join(mnt, sizeof(mnt), run_dir, "mnt") ||
	    path_join(log, sizeof(log), run_dir, "daemon.log") ||
	    path_join(ctl, sizeof(ctl), run_dir, VOL_CTL_SOCKET))
		return;
	if (unlink(ctl) < 0 && errno != ENOENT)
		vol_warn("cannot remove %s: %s", ctl, strerror(errno));
	if (umount2(mnt, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
		vol_warn("cannot unmount %s: %s", mnt, strerror(errno));
	if (rmdir(mnt) < 0 && errno != ENOENT)
		vol_warn("cannot remove %s: %s", mnt, strerror(errno));
	if (unlink(log) < 0 && errno != ENOENT)
		vol_warn("cannot remove %s: %s", log, strerror(errno));
}

/* ------------------------------------------------------------- the API */

static unsigned loop_flags(const struct vol_map_request *req)
{
	/*
	 * Direct I/O: the loop device hands requests to the daemon
	 * asynchronously, many at a time, and keeps no page cache of its
	 * own over the file.  Buffered, it sends one request at a time.
	 */
	return VOL_LOOP_DIRECT_IO | (req->read_only ? VOL_LOOP_READ_ONLY : 0);
}

static int attach_loop(const struct vol_map_request *req, const char *mnt,
		       struct vol_mapping_info *info)
{
	char file[PATH_MAX];
	int r = path_join(file, sizeof(file), mnt, "volume");

	if (!r)
		r = vol_loop_attach(file, loop_flags(req), req->sector_size, info->device,
				    sizeof(info->device));
	return r;
}

/* A leftover empty mnt/ (say, of an interrupted close) is fine. */
static int make_mountpoint(const char *mnt)
{
	struct stat st;
	int r;

	if (!mkdir(mnt, 0700) || (errno == EEXIST && !lstat(mnt, &st) && S_ISDIR(st.st_mode)))
		return 0;
	r = errno == EEXIST ? -ENOTDIR : -errno;
	vol_err("cannot create %s: %s", mnt, vol_strerror(r));
	return r;
}

int vol_fuse_activate(const struct vol_map_request *req, struct vol_mapping_info *info)
{
	char mnt[PATH_MAX], log[PATH_MAX], helper[PATH_MAX];
	struct spawn sp;
	int r;

	if (!req || !info || !req->run_dir || !req->target || !req->key)
		return -EINVAL;
	if (path_join(mnt, sizeof(mnt), req->run_dir, "mnt") ||
	    path_join(log, sizeof(log), req->run_dir, "daemon.log"))
		return -ENAMETOOLONG;
	r = find_helper(req->fuse_helper, helper, sizeof(helper));
	if (r)
		return r;
	r = make_mountpoint(mnt);
	if (r)
		return r;

	spawn_init(&sp);
	r = spawn_prepare(&sp, req, helper, mnt, log);
	if (!r)
		r = spawn_fork(&sp);
	if (!r)
		r = spawn_wait(&sp, req, log);
	spawn_close(&sp);
	/* Normally gone already; not if we lost contact with the starter. */
	if (r && sp.daemon > 0)
		daemon_stop(sp.daemon, mnt);
	if (!r) {
		info->pid = sp.daemon;
		r = attach_loop(req, mnt, info);
		if (r)
			daemon_stop(sp.daemon, mnt);
	}
	if (r) {
		info->device[0] = '\0';
		info->pid = 0;
		cleanup_run_dir(req->run_dir);
	}
	return r;
}

int vol_fuse_deactivate(const struct vol_mapping_info *info, const char *run_dir)
{
	char mnt[PATH_MAX], file[PATH_MAX];
	int r;

	if (!info || !run_dir)
		return -EINVAL;
	if (path_join(mnt, sizeof(mnt), run_dir, "mnt") ||
	    path_join(file, sizeof(file), mnt, "volume"))
		return -ENAMETOOLONG;
	/* The device first: while it is in use, nothing may change. */
	if (info->device[0] && vol_loop_backs(info->device, file)) {
		r = vol_loop_detach(info->device);
		if (r == -EBUSY)
			return r;
		if (r) {
			vol_err("cannot detach %s: %s", info->device, vol_strerror(r));
			return r;
		}
		/*
		 * Still bound: another process has the device open and the
		 * kernel only marked it for detaching at its last close.
		 * The daemon must serve that process until then.
		 */
		if (vol_loop_backs(info->device, file))
			return -EBUSY;
	}
	r = daemon_stop(info->pid, mnt);
	if (r)
		return r;
	cleanup_run_dir(run_dir);
	return 0;
}

int vol_fuse_refresh(struct vol_mapping_info *info, const char *run_dir)
{
	char mnt[PATH_MAX], file[PATH_MAX];
	struct stat st;
	int pidfd;

	if (!info || !run_dir)
		return -EINVAL;
	if (path_join(mnt, sizeof(mnt), run_dir, "mnt") ||
	    path_join(file, sizeof(file), mnt, "volume"))
		return -ENAMETOOLONG;
	pidfd = daemon_pidfd(info->pid, mnt);
	if (pidfd >= 0)
		close(pidfd);
	/* A killed daemon leaves its mount behind: stat() says ENOTCONN. */
	info->stale = pidfd == -ESRCH || stat(file, &st) < 0 ||
		      (info->device[0] && !vol_loop_backs(info->device, file));
	return 0;
}
