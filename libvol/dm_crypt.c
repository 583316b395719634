/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dm-crypt backend: the data area as a stock dm-crypt "crypt" mapping.
 *
 *   0 <data_size/512> crypt aes-xts-plain64 :64:logon:volcrypt:<uuid>:<name> 0
 *     <major:minor> <data_offset/512> [<n> allow_discards sector_size:4096]
 *
 * The key goes to the kernel as a keyring reference, never as hex: it sits
 * in this thread's keyring only while the table loads (dm-crypt copies it)
 * and is invalidated right after.  The dm UUID "CRYPT-VOLCRYPT-<hex>-<name>"
 * marks the device as ours; the CRYPT- prefix is cryptsetup's convention
 * for crypt devices it did not make itself.  IVs count 512-byte sectors
 * from the start of the data area (iv_offset 0, no iv_large_sectors), as
 * docs/FORMAT.md section 7 requires.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend.h"
#include "dm_ioctl.h"
#include "internal.h"
#include "loop.h"

#define DMCRYPT_TARGET "crypt"
#define DMCRYPT_MODULE "dm-crypt"
#define DMCRYPT_CIPHER "aes-xts-plain64"
#define DMCRYPT_UUID_PREFIX "CRYPT-VOLCRYPT"
#define KEY_DESC_PREFIX "volcrypt"

int vol_dmcrypt_available(void)
{
	return vol_dm_target_available(DMCRYPT_TARGET, DMCRYPT_MODULE, NULL);
}

/*
 * Keyring key references need crypt target 1.18.1 (Linux 4.10); a target
 * that is only loadable (version unknown) comes from the running kernel's
 * own modules, which are newer than that on anything libvol builds on.
 */
static int dmcrypt_usable(void)
{
	uint32_t v[3];

	if (!vol_dm_target_available(DMCRYPT_TARGET, DMCRYPT_MODULE, v)) {
		vol_err("dm-crypt: device-mapper or its crypt target is not available here");
		return -ENODEV;
	}
	if (v[0] == 1 && (v[1] < 18 || (v[1] == 18 && v[2] < 1))) {
		vol_err("dm-crypt: crypt target %u.%u.%u cannot take keys from the keyring "
			"(1.18.1 or later needed)", v[0], v[1], v[2]);
		return -ENODEV;
	}
	return 0;
}

static int check_request(const struct vol_map_request *req)
{
	uint32_t ss = req->sector_size;

	if (!req->name || !req->target || !req->key || !req->uuid[0] ||
	    req->key->len != VOL_VOLUME_KEY_BYTES || (ss != 512 && ss != 4096)) {
		vol_err("dm-crypt: invalid mapping request");
		return -EINVAL;
	}
	if (!req->data_size || req->data_size % ss || req->data_offset % ss) {
		vol_err("dm-crypt: data area %llu+%llu is not a multiple of %u-byte sectors",
			(unsigned long long)req->data_offset,
			(unsigned long long)req->data_size, ss);
		return -EINVAL;
	}
	return 0;
}

/*
 * The block device to map: @req->target itself, or a loop device attached
 * to it when it is an image file (*loop set to 1).  Its number goes to
 * @devno as "major:minor" so the table does not depend on path lookups.
 */
static int backing_device(const struct vol_map_request *req, char *dev, size_t dev_len,
			  char *devno, size_t devno_len, int *loop)
{
	struct stat st;
	int r;

	*loop = 0;
	if (stat(req->target, &st) != 0) {
		r = -errno;
		vol_err("%s: %s", req->target, vol_strerror(r));
		return r;
	}
	if (S_ISREG(st.st_mode)) {
		unsigned flags = req->read_only ? VOL_LOOP_READ_ONLY : 0;

		r = vol_loop_attach(req->target, flags, req->sector_size, dev, dev_len);
		if (r)
			return r;
		*loop = 1;
		if (stat(dev, &st) != 0) {
			r = -errno;
			vol_loop_detach(dev);
			*loop = 0;
			return r;
		}
	} else if (S_ISBLK(st.st_mode)) {
		snprintf(dev, dev_len, "%s", req->target);
	} else {
		vol_err("%s: not a block device or a regular file", req->target);
		return -ENODEV;
	}
	snprintf(devno, devno_len, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

static void key_description(char *buf, size_t len, const struct vol_map_request *req)
{
	snprintf(buf, len, "%s:%s:%s", KEY_DESC_PREFIX, req->uuid, req->name);
}

/* The crypt target's arguments; they name the key, they never hold it. */
static int crypt_params(char *buf, size_t len, const struct vol_map_request *req,
			const char *key_desc, const char *devno)
{
	char opts[64] = "";
	int n_opts = 0, w;

	if (req->allow_discards) {
		n_opts++;
		strcat(opts, " allow_discards");
	}
	if (req->sector_size != 512) {
		n_opts++;
		snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), " sector_size:%u",
			 req->sector_size);
	}
	w = snprintf(buf, len, "%s :%zu:logon:%s 0 %s %llu", DMCRYPT_CIPHER,
		     req->key->len, key_desc, devno,
		     (unsigned long long)(req->data_offset / 512));
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	if (!n_opts)
		return 0;
	w = snprintf(buf + w, len - (size_t)w, " %d%s", n_opts, opts) + w;
	return (size_t)w >= len ? -ENAMETOOLONG : 0;
}

/* Loads the table with the key in the keyring for exactly that long. */
static int create_mapping(const struct vol_map_request *req, const char *devno)
{
	char key_desc[VOL_DM_NAME_LEN + VOL_UUID_STRLEN + 16];
	char params[512], uuid[VOL_DM_UUID_LEN];
	struct vol_dm_target tgt;
	struct vol_dm_create c;
	int32_t serial;
	int r;

	key_description(key_desc, sizeof(key_desc), req);
	r = vol_dm_make_uuid(uuid, sizeof(uuid), DMCRYPT_UUID_PREFIX, req->uuid, req->name);
	if (!r)
		r = crypt_params(params, sizeof(params), req, key_desc, devno);
	if (r)
		return r;
	serial = vol_dm_key_add(key_desc, req->key->bytes, req->key->len);
	if (serial < 0)
		return serial;
	tgt = (struct vol_dm_target){ .start = 0, .length = req->data_size / 512,
				      .type = DMCRYPT_TARGET, .params = params };
	c = (struct vol_dm_create){ .name = req->name, .uuid = uuid, .targets = &tgt,
				    .n_targets = 1, .read_only = req->read_only };
	r = vol_dm_create_device(&c);
	vol_dm_key_drop(serial);
	if (r == -EEXIST)
		vol_err("dm-crypt: a device-mapper device named %s exists already", req->name);
	else if (r == -EBUSY)
		vol_err("dm-crypt: %s is in use by someone else (mounted, or held open "
			"exclusively)", req->target);
	else if (r)
		vol_err("dm-crypt: cannot create %s: %s (the kernel log may say why)",
			req->name, vol_strerror(r));
	return r;
}

int vol_dmcrypt_activate(const struct vol_map_request *req, struct vol_mapping_info *info)
{
	char dev[256], devno[32];
	int r, loop;

	r = check_request(req);
	if (r)
		return r;
	r = dmcrypt_usable();
	if (r)
		return r;
	r = backing_device(req, dev, sizeof(dev), devno, sizeof(devno), &loop);
	if (r)
		return r;
	r = create_mapping(req, devno);
	if (r == 0 && loop) {
		r = vol_loop_set_autoclear(dev);
		if (r) {
			vol_err("dm-crypt: cannot make %s detach on close: %s", dev,
				vol_strerror(r));
			vol_dm_remove_device(req->name);
		}
	}
	if (r) {
		if (loop)
			vol_loop_detach(dev);
		return r;
	}
	if (info)
		snprintf(info->device, sizeof(info->device), "%s/%s", VOL_DM_DIR, req->name);
	vol_dbg("dm-crypt: %s mapped on %s", req->name, dev);
	return 0;
}

/* Is @name a device-mapper device we made (dm UUID with our prefix)? */
static int ours(const char *name, const struct vol_dm_info *di)
{
	size_t n = strlen(DMCRYPT_UUID_PREFIX);

	if (!strncmp(di->uuid, DMCRYPT_UUID_PREFIX, n) && di->uuid[n] == '-')
		return 1;
	vol_dbg("dm-crypt: device %s (uuid '%s') is not a volcrypt mapping", name, di->uuid);
	return 0;
}

int vol_dmcrypt_deactivate(const char *name)
{
	struct vol_dm_info di;
	int r;

	r = vol_dm_query(name, &di);
	if (r)
		return r;
	/* Never remove a device somebody else made under the same name. */
	if (!ours(name, &di))
		return -ENOENT;
	r = vol_dm_remove_device(name);
	if (r == -EBUSY)
		vol_err("dm-crypt: %s is in use (mounted or open)", name);
	else if (r && r != -ENOENT)
		vol_err("dm-crypt: cannot remove %s: %s", name, vol_strerror(r));
	return r;
}

int vol_dmcrypt_refresh(struct vol_mapping_info *info)
{
	char want[VOL_DM_UUID_LEN];
	struct vol_dm_info di;

	info->stale = 1;
	if (vol_dm_query(info->name, &di) != 0)
		return 0;
	/* Same name, other volume (or not ours): our mapping is gone. */
	if (vol_dm_make_uuid(want, sizeof(want), DMCRYPT_UUID_PREFIX, info->uuid, info->name) ||
	    strcmp(want, di.uuid) != 0)
		return 0;
	info->stale = 0;
	info->read_only = di.read_only;
	return 0;
}
