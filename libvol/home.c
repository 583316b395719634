/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Layered home directories (docs/layering.md): a per-file layer (fscrypt
 * or eCryptfs) under the user's own master key MK_u, on a filesystem that
 * a volcrypt volume holds.  MK_u lives wrapped in the user's protector
 * (home_protector.c) in FS_ROOT/.volcrypt-home; this file ties the
 * protector to the layer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "home_ecryptfs.h"
#include "home_fscrypt.h"
#include "home_protector.h"
#include "internal.h"

#define HOME_STATE_DIR ".volcrypt-home"

const char *vol_home_layer_name(enum vol_home_layer layer)
{
	switch (layer) {
	case VOL_HOME_FSCRYPT:
		return "fscrypt";
	case VOL_HOME_ECRYPTFS:
		return "ecryptfs";
	}
	return "unknown";
}

int vol_home_layer_parse(const char *name, enum vol_home_layer *layer)
{
	if (!strcmp(name, "fscrypt"))
		*layer = VOL_HOME_FSCRYPT;
	else if (!strcmp(name, "ecryptfs"))
		*layer = VOL_HOME_ECRYPTFS;
	else
		return -EINVAL;
	return 0;
}

int vol_home_protector_path(const char *fs_root, uint32_t uid, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/" HOME_STATE_DIR "/%u.protector", fs_root, uid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The lower directory of an eCryptfs home: FS_ROOT/.volcrypt-home/UID.ecryptfs */
static int ecryptfs_lower_path(const struct vol_home *h, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/" HOME_STATE_DIR "/%u.ecryptfs", h->fs_root, h->uid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Root-only: protectors are read by `home unlock`, which runs as root (PAM). */
static int make_state_dir(const char *fs_root)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/" HOME_STATE_DIR, fs_root) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* 1 if @path is an empty directory, 0 if it has entries, -errno. */
static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

/* Creates @path for the user (0700), or accepts it if it is an empty directory. */
static int make_user_dir(const char *path, const struct vol_home *h, int *created)
{
	int r;

	*created = 0;
	if (!mkdir(path, 0700))
		*created = 1;
	else if (errno != EEXIST)
		return -errno;
	if (!*created) {
		r = dir_is_empty(path);
		if (r <= 0)
			return r ? r : -ENOTEMPTY;
	}
	if (chown(path, h->uid, h->gid) || chmod(path, 0700))
		return -errno;
	return 0;
}

static int open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* The key identifier of the home's fscrypt policy (-ENODATA if none). */
static int fscrypt_home_id(const struct vol_home *h, uint8_t id[VOL_FSCRYPT_ID_BYTES])
{
	int fd = open_dir(h->dir), r;

	if (fd < 0)
		return fd;
	r = vol_fscrypt_get_policy(fd, id);
	close(fd);
	return r;
}

/*
 * The home's key identifier, and a descriptor of the filesystem's root:
 * the key ioctls act on the filesystem's keyring through it.
 */
static int open_fscrypt_keyring(const struct vol_home *h, uint8_t id[VOL_FSCRYPT_ID_BYTES])
{
	int r = fscrypt_home_id(h, id);

	return r ? r : open_dir(h->fs_root);
}

/* Gives MK_u to the filesystem and checks it is the key of the home's policy. */
static int fscrypt_unlock(const struct vol_home *h, const struct vol_key *mk, int set_policy)
{
	uint8_t id[VOL_FSCRYPT_ID_BYTES], want[VOL_FSCRYPT_ID_BYTES];
	int fd, r;

	fd = open_dir(h->dir);
	if (fd < 0)
		return fd;
	r = vol_fscrypt_add_key(fd, mk->bytes, mk->len, id);
	if (r) {
		close(fd);
		return r == -ENOTTY ? -EOPNOTSUPP : r;
	}
	if (set_policy) {
		r = vol_fscrypt_set_policy(fd, id);
	} else {
		r = vol_fscrypt_get_policy(fd, want);
		if (!r && !vol_ct_equal(id, want, sizeof(id)))
			r = -EKEYREJECTED; /* a protector of another directory */
	}
	/* A failure leaves the key out of the kernel again. */
	if (r)
		vol_fscrypt_remove_key(fd, id);
	close(fd);
	return r == -ENOTTY ? -EOPNOTSUPP : r;
}

static int layer_unlock(const struct vol_home *h, enum vol_home_layer layer,
			const struct vol_key *mk, int first_time)
{
	char lower[4096];
	int r;

	if (layer == VOL_HOME_FSCRYPT)
		return fscrypt_unlock(h, mk, first_time);
	r = ecryptfs_lower_path(h, lower, sizeof(lower));
	return r ? r : vol_ecryptfs_mount(mk->bytes, mk->len, lower, h->dir);
}

int vol_home_fs_check(const char *fs_root, enum vol_home_layer layer)
{
	uint8_t id[VOL_FSCRYPT_ID_BYTES];
	struct statfs sfs;
	int fd, r;

	if (statfs(fs_root, &sfs))
		return -errno;
	if (sfs.f_type != EXT4_SUPER_MAGIC)
		return -EMEDIUMTYPE;
	if (layer != VOL_HOME_FSCRYPT)
		return 0;
	/* fscrypt's own probe: ENODATA (no policy) means the feature is on. */
	fd = open_dir(fs_root);
	if (fd < 0)
		return fd;
	r = vol_fscrypt_get_policy(fd, id);
	close(fd);
	return r == -ENODATA || !r || r == -EPROTO ? 0 : r == -ENOTTY ? -EOPNOTSUPP : r;
}

/* Removes the directories setup made (empty: nothing was written in them). */
static void remove_made_dirs(const struct vol_home *h, int dir_created, int lower_created)
{
	char lower[4096];

	if (dir_created)
		rmdir(h->dir);
	if (lower_created && !ecryptfs_lower_path(h, lower, sizeof(lower)))
		rmdir(lower);
}

int vol_home_setup(const struct vol_home *h, enum vol_home_layer layer,
		   const struct vol_kdf_params *kdf, const char *pass, size_t pass_len)
{
	char protector[4096], lower[4096];
	int dir_created = 0, lower_created = 0, r;
	struct vol_key *mk = NULL;

	r = vol_home_protector_path(h->fs_root, h->uid, protector, sizeof(protector));
	if (!r && !access(protector, F_OK))
		r = -EEXIST;
	if (!r)
		r = make_state_dir(h->fs_root);
	if (!r && layer == VOL_HOME_ECRYPTFS) {
		r = ecryptfs_lower_path(h, lower, sizeof(lower));
		if (!r)
			r = make_user_dir(lower, h, &lower_created);
	}
	if (!r)
		r = make_user_dir(h->dir, h, &dir_created);
	if (!r)
		r = vol_protector_create(protector, h->uid, layer, kdf, pass, pass_len, &mk);
	/* layer_unlock() leaves nothing unlocked or mounted when it fails. */
	if (!r) {
		r = layer_unlock(h, layer, mk, 1);
		if (r)
			unlink(protector);
	}
	vol_key_free(mk);
	if (r)
		remove_made_dirs(h, dir_created, lower_created);
	return r;
}

int vol_home_unlock(const struct vol_home *h, const char *pass, size_t pass_len)
{
	struct vol_home_protector_info info;
	struct vol_key *mk;
	char protector[4096];
	int r;

	r = vol_home_protector_path(h->fs_root, h->uid, protector, sizeof(protector));
	if (!r)
		r = vol_protector_unlock(protector, pass, pass_len, &mk, &info);
	if (r)
		return r;
	if (info.uid != h->uid)
		r = -EKEYREJECTED;
	else
		r = layer_unlock(h, info.layer, mk, 0);
	vol_key_free(mk);
	return r;
}

int vol_home_check_passphrase(const struct vol_home *h, const char *pass, size_t pass_len)
{
	struct vol_key *mk;
	char protector[4096];
	int r;

	r = vol_home_protector_path(h->fs_root, h->uid, protector, sizeof(protector));
	if (!r)
		r = vol_protector_unlock(protector, pass, pass_len, &mk, NULL);
	if (!r)
		vol_key_free(mk);
	return r;
}

static int protector_layer(const struct vol_home *h, struct vol_home_protector_info *info)
{
	char protector[4096];
	int r = vol_home_protector_path(h->fs_root, h->uid, protector, sizeof(protector));

	return r ? r : vol_protector_read_info(protector, info);
}

int vol_home_lock(const struct vol_home *h)
{
	struct vol_home_protector_info info;
	uint8_t id[VOL_FSCRYPT_ID_BYTES];
	int fd, r;

	r = protector_layer(h, &info);
	if (r)
		return r;
	if (info.layer == VOL_HOME_ECRYPTFS)
		return vol_ecryptfs_is_mounted(h->dir) == 1 ? vol_ecryptfs_umount(h->dir) : 0;
	fd = open_fscrypt_keyring(h, id);
	if (fd < 0)
		return fd;
	r = vol_fscrypt_remove_key(fd, id);
	close(fd);
	return r == -ENOKEY ? 0 : r; /* already locked */
}

int vol_home_status(const struct vol_home *h, struct vol_home_status *st)
{
	enum vol_fscrypt_key_status ks = VOL_FSCRYPT_KEY_ABSENT; /* if the ioctl fails */
	uint8_t id[VOL_FSCRYPT_ID_BYTES];
	int fd, r;

	memset(st, 0, sizeof(*st));
	r = protector_layer(h, &st->protector);
	if (r == -ENOENT)
		return 0;
	if (r)
		return r;
	st->set_up = 1;
	if (st->protector.layer == VOL_HOME_ECRYPTFS) {
		r = vol_ecryptfs_is_mounted(h->dir);
		st->unlocked = r == 1;
		return r < 0 ? r : 0;
	}
	fd = open_fscrypt_keyring(h, id);
	if (fd < 0)
		return fd;
	r = vol_fscrypt_key_status(fd, id, &ks);
	close(fd);
	st->unlocked = ks == VOL_FSCRYPT_KEY_PRESENT;
	st->removing = ks == VOL_FSCRYPT_KEY_REMOVING;
	return r;
}
