/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Finding the user, the home directory and the volume under it. */
#include <errno.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "home_target.h"
#include "options.h"
#include "report.h"

/* DIR made absolute through its parent (DIR itself need not exist yet). */
static int absolute_home(const char *dir, struct home_target *t)
{
	char copy_dir[PATH_MAX], copy_base[PATH_MAX], parent[PATH_MAX];
	const char *base;

	if (dir[0] != '/')
		return report_error(-EINVAL, dir, "the home directory must be an absolute path");
	if (strlen(dir) >= sizeof(copy_dir))
		return report_error(-ENAMETOOLONG, dir, "path too long");
	strcpy(copy_dir, dir);
	strcpy(copy_base, dir);
	base = basename(copy_base);
	if (!strcmp(base, "/") || !strcmp(base, ".") || !strcmp(base, ".."))
		return report_error(-EINVAL, dir, "not a usable home directory");
	if (!realpath(dirname(copy_dir), parent))
		return report_sys_error(-errno, dirname(copy_dir));
	if (snprintf(t->dir, sizeof(t->dir), "%s/%s", strcmp(parent, "/") ? parent : "",
		     base) >= (int)sizeof(t->dir))
		return report_error(-ENAMETOOLONG, dir, "path too long");
	return 0;
}

/* The mount point of the filesystem holding @path: climb while st_dev stays. */
static int find_fs_root(const char *path, dev_t *dev, char *root, size_t len)
{
	char cur[PATH_MAX], tmp[PATH_MAX], up[PATH_MAX];
	struct stat st, st_up;

	snprintf(cur, sizeof(cur), "%s", path);
	if (stat(cur, &st))
		return -errno;
	*dev = st.st_dev;
	while (strcmp(cur, "/")) {
		snprintf(tmp, sizeof(tmp), "%s", cur);
		snprintf(up, sizeof(up), "%s", dirname(tmp));
		if (stat(up, &st_up))
			return -errno;
		if (st_up.st_dev != st.st_dev)
			break;
		snprintf(cur, sizeof(cur), "%s", up);
	}
	snprintf(root, len, "%s", cur);
	return 0;
}

static bool mapping_holds(const struct vol_mapping_info *m, dev_t dev)
{
	struct stat st;

	return !m->stale && !stat(m->device, &st) && S_ISBLK(st.st_mode) && st.st_rdev == dev;
}

/* The open volume named by --volume (a mapping name, or its device/image). */
static int named_volume(const char *volume, struct vol_mapping_info *m)
{
	char name[VOL_NAME_MAX + 1];
	int r;

	if (!strchr(volume, '/') && !vol_mapping_get(volume, m))
		return m->stale ? report_error(-ENODEV, volume,
					       "the mapping is stale (its backend died)")
				: 0;
	r = vol_mapping_find(volume, name, sizeof(name));
	if (r < 0)
		return report_lib_error(r, volume);
	if (r == 0 || vol_mapping_get(name, m))
		return report_error(-ENODEV, volume, "the volume is not open "
				    "('volcrypt open' it and mount its filesystem first)");
	return 0;
}

/* The open volume whose device is @dev, if any. */
static int volume_of_device(dev_t dev, struct vol_mapping_info *m)
{
	char **names;
	size_t n, i;
	int r;

	r = vol_mapping_list(&names, &n);
	if (r)
		return r;
	r = -ENODEV;
	for (i = 0; i < n && r; i++)
		if (!vol_mapping_get(names[i], m) && mapping_holds(m, dev))
			r = 0;
	vol_mapping_list_free(names, n);
	return r;
}

int home_target_resolve(const struct cli_opts *opts, bool need_volume, struct home_target *t)
{
	char parent[PATH_MAX];
	struct passwd *pw;
	dev_t dev;
	int r;

	const char *user = opts->user;

	memset(t, 0, sizeof(*t));
	/* pam_exec names the user in the environment it gives us. */
	if (!user && getenv("PAM_TYPE"))
		user = getenv("PAM_USER");
	if (!user)
		return report_error(-EINVAL, "home", "--user is required");
	if (need_volume && !opts->volume)
		return report_error(-EINVAL, "home", "--volume is required");
	errno = 0;
	pw = getpwnam(user);
	if (!pw)
		return errno ? report_sys_error(-errno, user)
			     : report_error(-EINVAL, user, "unknown user");
	snprintf(t->user, sizeof(t->user), "%s", pw->pw_name);
	t->home.uid = pw->pw_uid;
	t->home.gid = pw->pw_gid;
	r = absolute_home(opts->home ? opts->home : pw->pw_dir, t);
	if (r)
		return r;
	/* The parent: an unlocked eCryptfs home is a filesystem of its own. */
	snprintf(parent, sizeof(parent), "%s", t->dir);
	r = find_fs_root(dirname(parent), &dev, t->fs_root, sizeof(t->fs_root));
	if (r)
		return report_sys_error(r, t->dir);
	if (opts->volume) {
		r = named_volume(opts->volume, &t->mapping);
		if (r)
			return r;
		if (!mapping_holds(&t->mapping, dev))
			return report_error(-ENODEV, t->dir,
					    "not on the filesystem of volume %s (mount %s so "
					    "that it holds the home directory)",
					    t->mapping.name, t->mapping.device);
	} else if (volume_of_device(dev, &t->mapping)) {
		return report_error(-ENODEV, t->dir,
				    "its filesystem (%s, device %u:%u) is not on an open "
				    "volcrypt volume", t->fs_root, major(dev), minor(dev));
	}
	t->home.fs_root = t->fs_root;
	t->home.dir = t->dir;
	return 0;
}

int home_passphrase_get(const struct cli_opts *opts, const struct home_target *t,
			enum passphrase_purpose purpose, struct secret *pass)
{
	char owner[300];
	char *nul;
	int status;

	snprintf(owner, sizeof(owner), "the home of %s", t->user);
	status = passphrase_get(opts->key_file, owner, purpose, pass);
	nul = status ? NULL : memchr(pass->data, 0, pass->len);
	if (nul)
		pass->len = (size_t)(nul - pass->data); /* the rest stays wiped-on-free */
	if (!status && !pass->len)
		status = report_error(-EINVAL, t->user, "empty passphrase");
	return status;
}
