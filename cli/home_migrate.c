/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * volcrypt home migrate --user U --volume V: moves the plain home HOME into
 * a layered one without losing a file, the way ecryptfs-migrate-home does
 * it, but resumable:
 *
 *   1. refuse while a process uses HOME; check free space and inodes
 *   2. set up the layered home in HOME.volcrypt-new           (state "copy")
 *   3. rsync -aHAXS: hard links, ACLs, xattrs, sparse files, owners, modes,
 *      times; run again on resume, it copies what is missing
 *   4. exchange HOME and HOME.volcrypt-new atomically          (state "swap")
 *   5. rename the plain tree to HOME.volcrypt-plain, remove the state
 *
 * The state file FS_ROOT/.volcrypt-home/UID.migrate says which step a
 * resumed run continues from; the plain copy is kept for the user to
 * check and delete.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "home_migrate.h"
#include "home_target.h"
#include "json_out.h"
#include "options.h"
#include "passphrase.h"
#include "report.h"
#include "run_program.h"

#define STAGING_SUFFIX ".volcrypt-new"
#define PLAIN_SUFFIX ".volcrypt-plain"

struct migration {
	struct home_target t;
	char staging[PATH_MAX + 32];
	char plain[PATH_MAX + 32];
	char state_file[PATH_MAX + 32];
	struct vol_home staging_home;	/* the layered home while it is being filled */
};

/* ---------------------------------------------------------------- state */

static int state_read(const struct migration *m, char *state, size_t len)
{
	FILE *f = fopen(m->state_file, "re");

	state[0] = 0;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (!fgets(state, (int)len, f))
		state[0] = 0;
	state[strcspn(state, "\n")] = 0;
	fclose(f);
	return 0;
}

/* Durable when it returns: written to a new file, synced, renamed. */
static int state_write(const struct migration *m, const char *state)
{
	char tmp[PATH_MAX + 64];
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s.new", m->state_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (dprintf(fd, "%s\n", state) < 0 || fsync(fd))
		r = -errno;
	close(fd);
	if (!r && rename(tmp, m->state_file))
		r = -errno;
	return r;
}

/* ------------------------------------------------------ refusals, space */

/* 1 if @link (a /proc symlink) points at @dir or below it. */
static int points_under(const char *link, const char *dir)
{
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	size_t len = strlen(dir);

	if (n <= 0)
		return 0;
	target[n] = 0;
	return !strncmp(target, dir, len) && (target[len] == 0 || target[len] == '/');
}

/* 1 if process @pid has its cwd, root or an open file under @dir. */
static int process_uses(const char *pid, const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *fds;
	int uses = 0;

	snprintf(path, sizeof(path), "/proc/%s/cwd", pid);
	uses = points_under(path, dir);
	snprintf(path, sizeof(path), "/proc/%s/root", pid);
	uses = uses || (points_under(path, dir));
	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	fds = opendir(path);
	while (!uses && fds && (e = readdir(fds))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd/%s", pid, e->d_name);
		uses = points_under(path, dir);
	}
	if (fds)
		closedir(fds);
	return uses;
}

/* Refuses while a process (other than us) uses @dir. */
static int check_unused(const char *dir)
{
	char self[32], comm_path[300], comm[64] = "?";
	struct dirent *e;
	DIR *proc = opendir("/proc");
	FILE *f;

	if (!proc)
		return report_sys_error(-errno, "/proc");
	snprintf(self, sizeof(self), "%d", (int)getpid());
	while ((e = readdir(proc))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || !strcmp(e->d_name, self) ||
		    !process_uses(e->d_name, dir))
			continue;
		snprintf(comm_path, sizeof(comm_path), "/proc/%s/comm", e->d_name);
		f = fopen(comm_path, "re");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		closedir(proc);
		return report_error(-EBUSY, dir, "in use by process %s (%s): log the user out "
				    "and close their files first", e->d_name, comm);
	}
	closedir(proc);
	return 0;
}

/*
 * What a tree occupies: allocated bytes and inodes, hard links counted
 * once.  Through eCryptfs a file takes its size rounded up to 4 KiB
 * extents plus an 8 KiB header, holes included (it fills them).
 */
#define ECRYPTFS_EXTENT 4096u
#define ECRYPTFS_HEADER 8192u

static struct {
	bool ecryptfs;
	uint64_t bytes;
	uint64_t inodes;
	void *seen;	/* tsearch tree of inode numbers with more than one link */
} usage;

static int ino_cmp(const void *a, const void *b)
{
	ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;

	return x < y ? -1 : x > y;
}

static int count_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	ino_t *key;

	(void)path;
	(void)flag;
	(void)ftw;
	if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
		key = malloc(sizeof(*key));
		if (!key)
			return -ENOMEM;
		*key = st->st_ino;
		if (*(ino_t **)tsearch(key, &usage.seen, ino_cmp) != key) {
			free(key);
			return 0; /* another link of an inode already counted */
		}
	}
	if (usage.ecryptfs && S_ISREG(st->st_mode))
		usage.bytes += ((uint64_t)st->st_size + ECRYPTFS_EXTENT - 1) / ECRYPTFS_EXTENT *
			       ECRYPTFS_EXTENT + ECRYPTFS_HEADER;
	else
		usage.bytes += (uint64_t)st->st_blocks * 512;
	usage.inodes++;
	return 0;
}

static int tree_usage(const char *dir, bool ecryptfs, uint64_t *bytes, uint64_t *inodes)
{
	int r;

	memset(&usage, 0, sizeof(usage));
	usage.ecryptfs = ecryptfs;
	r = nftw(dir, count_entry, 64, FTW_PHYS | FTW_MOUNT);
	tdestroy(usage.seen, free);
	if (r)
		return r < 0 && errno ? -errno : r;
	*bytes = usage.bytes;
	*inodes = usage.inodes;
	return 0;
}

/*
 * The copy needs what the plain tree will occupy in @layer, less what a
 * resumed copy already holds, plus 5% for the layer's overhead (padded
 * names, larger symlinks, directories grown while both trees exist).
 */
static int check_space(const struct migration *m, enum vol_home_layer layer, bool resumed)
{
	bool ecryptfs = layer == VOL_HOME_ECRYPTFS;
	uint64_t need, inodes, have = 0, have_inodes = 0, avail;
	struct statvfs sv;
	int r;

	r = tree_usage(m->t.dir, ecryptfs, &need, &inodes);
	if (!r && resumed)
		r = tree_usage(m->staging, ecryptfs, &have, &have_inodes);
	if (r)
		return report_sys_error(r, m->t.dir);
	need = need > have ? need - have : 0;
	inodes = inodes > have_inodes ? inodes - have_inodes : 0;
	need += need / 20;
	if (statvfs(m->t.fs_root, &sv))
		return report_sys_error(-errno, m->t.fs_root);
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (avail < need)
		return report_error(-ENOSPC, m->t.dir,
				    "not enough space: the copy needs %.1f MiB, %s has %.1f MiB "
				    "free; free %.1f MiB more",
				    need / 1048576.0, m->t.fs_root, avail / 1048576.0,
				    (need - avail) / 1048576.0);
	if (sv.f_favail < inodes)
		return report_error(-ENOSPC, m->t.dir,
				    "not enough inodes: the copy needs %llu, %s has %llu free",
				    (unsigned long long)inodes, m->t.fs_root,
				    (unsigned long long)sv.f_favail);
	return 0;
}

/* The layer asked for, or the one a resumed migration set up already. */
static enum vol_home_layer migration_layer(const struct cli_opts *opts, const struct migration *m)
{
	struct vol_home_status st;

	if (!vol_home_status(&m->staging_home, &st) && st.set_up)
		return st.protector.layer;
	return opts->layer ? opts->layer : VOL_HOME_FSCRYPT;
}

/* ----------------------------------------------------------------- steps */

static int copy_tree(const struct migration *m)
{
	char src[PATH_MAX + 2], dst[PATH_MAX + 40];
	/* --modify-window=-1: times compared to the nanosecond, else a tree made
	 * in the same second as its copy keeps the copy's directory times. */
	char *rsync[] = { "rsync", "-aHAXS", "--numeric-ids", "--delete", "--one-file-system",
			  "--modify-window=-1",
			  src, dst, NULL };

	snprintf(src, sizeof(src), "%s/", m->t.dir);
	snprintf(dst, sizeof(dst), "%s/", m->staging);
	return run_program(rsync);
}

static int lib_result(int r, const char *what)
{
	if (r == -EPERM)
		return report_error(r, what, "wrong passphrase");
	return r ? report_lib_error(r, what) : 0;
}

/* Steps 2 and 3: the layered home in HOME.volcrypt-new, filled. */
static int fill_staging(const struct cli_opts *opts, struct migration *m,
			const struct secret *pass, bool resumed)
{
	struct vol_home_status st;
	int r;

	if (resumed) {
		/* A crash inside the setup of step 2 leaves no protector: set up again. */
		r = vol_home_status(&m->staging_home, &st);
		if (r)
			return lib_result(r, m->staging);
		resumed = st.set_up;
	}
	if (!resumed) {
		r = state_write(m, "copy");
		if (r)
			return report_sys_error(r, m->state_file);
		r = vol_home_setup(&m->staging_home, migration_layer(opts, m), &opts->kdf,
				   pass->data, pass->len);
		if (r)
			return lib_result(r, m->staging);
	} else {
		r = st.unlocked ? vol_home_check_passphrase(&m->staging_home, pass->data, pass->len)
				: vol_home_unlock(&m->staging_home, pass->data, pass->len);
		if (r)
			return lib_result(r, m->staging);
	}
	return copy_tree(m);
}

/*
 * Step 4.  The state names the layered tree by inode number before the
 * exchange, so that a resumed run knows whether it happened.  eCryptfs is
 * unmounted first: a mount point cannot move.
 */
static int swap_trees(struct migration *m, const char *state, const struct secret *pass)
{
	unsigned long long layered;
	struct vol_home_status st;
	char line[64];
	struct stat sb;
	int r;

	if (sscanf(state, "swap %llu", &layered) == 1) {
		r = vol_home_check_passphrase(&m->t.home, pass->data, pass->len);
		if (r)
			return lib_result(r, m->t.dir);
	} else {
		if (stat(m->staging, &sb))
			return report_sys_error(-errno, m->staging);
		layered = (unsigned long long)sb.st_ino;
		snprintf(line, sizeof(line), "swap %llu", layered);
		r = state_write(m, line);
		if (r)
			return report_sys_error(r, m->state_file);
	}
	if (stat(m->t.dir, &sb))
		return report_sys_error(-errno, m->t.dir);
	if ((unsigned long long)sb.st_ino != layered) {
		r = vol_home_status(&m->staging_home, &st);
		if (!r && st.protector.layer == VOL_HOME_ECRYPTFS)
			r = vol_home_lock(&m->staging_home);
		if (r)
			return lib_result(r, m->staging);
		if (renameat2(AT_FDCWD, m->t.dir, AT_FDCWD, m->staging, RENAME_EXCHANGE))
			return report_sys_error(-errno, m->t.dir);
	}
	r = vol_home_status(&m->t.home, &st);
	if (!r && !st.unlocked)
		r = vol_home_unlock(&m->t.home, pass->data, pass->len);
	return lib_result(r, m->t.dir);
}

/* Step 5: the plain tree to HOME.volcrypt-plain (done already if it is gone). */
static int set_plain_aside(const struct migration *m)
{
	if (rename(m->staging, m->plain) && !(errno == ENOENT && !access(m->plain, F_OK)))
		return report_sys_error(-errno, m->staging);
	if (unlink(m->state_file))
		return report_sys_error(-errno, m->state_file);
	return 0;
}

static int prepare(const struct cli_opts *opts, struct migration *m)
{
	char protector[PATH_MAX + 64];
	int status;

	memset(m, 0, sizeof(*m));
	status = home_target_resolve(opts, true, &m->t);
	if (status)
		return status;
	if (vol_home_protector_path(m->t.fs_root, m->t.home.uid, protector, sizeof(protector)) ||
	    snprintf(m->staging, sizeof(m->staging), "%s" STAGING_SUFFIX, m->t.dir) >=
		    (int)sizeof(m->staging) ||
	    snprintf(m->plain, sizeof(m->plain), "%s" PLAIN_SUFFIX, m->t.dir) >=
		    (int)sizeof(m->plain))
		return report_error(-ENAMETOOLONG, m->t.dir, "path too long");
	snprintf(m->state_file, sizeof(m->state_file), "%.*s.migrate",
		 (int)(strlen(protector) - strlen(".protector")), protector);
	m->staging_home = m->t.home;
	m->staging_home.dir = m->staging;
	return 0;
}

int home_migrate(const struct cli_opts *opts)
{
	struct secret pass = SECRET_INIT;
	struct vol_home_status st;
	struct migration m;
	char state[64];
	bool fresh, swapping;
	int status, r;

	status = prepare(opts, &m);
	if (status)
		return status;
	r = state_read(&m, state, sizeof(state));
	if (r)
		return report_sys_error(r, m.state_file);
	fresh = !state[0];
	swapping = !strncmp(state, "swap", 4);
	if (fresh) {
		r = vol_home_status(&m.t.home, &st);
		if (r == -ENODATA || (!r && st.set_up))
			return report_error(-EEXIST, m.t.user, "already has a layered home on %s",
					    m.t.fs_root);
		if (access(m.t.dir, F_OK))
			return report_sys_error(-errno, m.t.dir);
		if (!access(m.staging, F_OK))
			return report_error(-EEXIST, m.staging, "exists, but no migration is in "
					    "progress: move it out of the way");
	}
	if (!swapping) {
		status = check_unused(m.t.dir);
		if (!status)
			status = check_space(&m, migration_layer(opts, &m), !fresh);
		if (status)
			return status;
	}
	status = home_passphrase_get(opts, &m.t, fresh ? PASSPHRASE_INITIAL : PASSPHRASE_EXISTING,
				     &pass);
	if (!status && !swapping)
		status = fill_staging(opts, &m, &pass, !fresh);
	if (!status)
		status = swap_trees(&m, swapping ? state : "", &pass);
	secret_free(&pass);
	if (!status)
		status = set_plain_aside(&m);
	if (status)
		return status;
	printf("%s is now a layered home (unlocked). The plain copy is %s: check the home, "
	       "then delete it; until then its files are stored without the per-file layer.\n",
	       m.t.dir, m.plain);
	return 0;
}
