/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device-mapper backends: the data area as a kernel mapping, either
 * stock dm-crypt or our own target (dm-target/, docs/dm-target.md):
 *
 *   dm-crypt:  0 <data_size/512> crypt aes-xts-plain64 :64:logon:<desc> 0
 *                <major:minor> <data_offset/512> [<n> allow_discards sector_size:4096]
 *   volcrypt:  0 <data_size/512> volcrypt :64:logon:<desc> <major:minor>
 *                <data_offset/512> <sector_size> [1 allow_discards]
 *
 * with <desc> = volcrypt:<uuid>:<name>.  The key goes to the kernel as a
 * keyring reference, never as hex: it sits in this thread's keyring only
 * while the table loads (the target copies it) and is invalidated right
 * after.  The dm UUID "<prefix>-<hex>-<name>" marks the device as ours
 * (CRYPT-VOLCRYPT for dm-crypt: CRYPT- is cryptsetup's convention for
 * crypt devices it did not make; VOLCRYPT for our target).  Both targets
 * count IVs in 512-byte sectors from the start of the data area, as
 * docs/FORMAT.md section 7 requires.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend.h"
#include "dm_ioctl.h"
#include "internal.h"
#include "loop.h"

#define DMCRYPT_CIPHER "aes-xts-plain64"
#define KEY_DESC_PREFIX "volcrypt"

/*
 * One table line of a mapping: @key_desc names the key in force for
 * [start, start + sectors) of the data area (512-byte units).  During a
 * rekey the volcrypt target takes both keys in one line; dm-crypt needs
 * a line per key (new key below the boundary, old key above).
 */
struct table_line {
	const char *key_desc;
	const char *new_key_desc;        /* volcrypt during a rekey, else NULL */
	uint64_t start;
	uint64_t sectors;
};

/* What differs between the two targets. */
struct dm_flavour {
	const char *label;        /* for messages: the backend's name */
	const char *target;       /* dm target type */
	const char *module;       /* module that provides it */
	const char *uuid_prefix;  /* dm UUID prefix marking our devices */
	/* Minimum target version that takes keyring references. */
	uint32_t min_version[3];
	int (*params)(char *buf, size_t len, const struct vol_map_request *req,
		      const struct table_line *line, const char *devno);
	/* During a rekey: both keys in one line (volcrypt), or a line per key. */
	int both_keys_in_one_line;
};

static int crypt_params(char *buf, size_t len, const struct vol_map_request *req,
			const struct table_line *line, const char *devno);
static int volcrypt_params(char *buf, size_t len, const struct vol_map_request *req,
			   const struct table_line *line, const char *devno);

static const struct dm_flavour flavours[] = {
	/* Keyring references arrived in crypt 1.18.1 (Linux 4.10). */
	{ "dm-crypt", "crypt", "dm-crypt", "CRYPT-VOLCRYPT", { 1, 18, 1 }, crypt_params, 0 },
	{ "volcrypt", "volcrypt", "dm-volcrypt", "VOLCRYPT", { 1, 0, 0 }, volcrypt_params, 1 },
};

static const struct dm_flavour *flavour_of(enum vol_backend b)
{
	return b == VOL_BACKEND_VOLCRYPT ? &flavours[1] : &flavours[0];
}

int vol_dm_backend_available(enum vol_backend b)
{
	const struct dm_flavour *f = flavour_of(b);

	return vol_dm_target_available(f->target, f->module, NULL);
}

static int version_below(const uint32_t v[3], const uint32_t min[3])
{
	for (int i = 0; i < 3; i++)
		if (v[i] != min[i])
			return v[i] < min[i];
	return 0;
}

/*
 * A target that is only loadable (version unknown, zeros) comes from the
 * running kernel's own modules, which are new enough for keyring keys.
 */
static int flavour_usable(const struct dm_flavour *f)
{
	static const uint32_t unknown[3];
	uint32_t v[3];

	if (!vol_dm_target_available(f->target, f->module, v)) {
		vol_err("%s: device-mapper or its %s target is not available here",
			f->label, f->target);
		return -ENODEV;
	}
	if (memcmp(v, unknown, sizeof(v)) && version_below(v, f->min_version)) {
		vol_err("%s: %s target %u.%u.%u cannot take keys from the keyring "
			"(%u.%u.%u or later needed)", f->label, f->target, v[0], v[1], v[2],
			f->min_version[0], f->min_version[1], f->min_version[2]);
		return -ENODEV;
	}
	return 0;
}

static int check_request(const struct vol_map_request *req)
{
	uint32_t ss = req->sector_size;

	if (!req->name || !req->target || !req->key || !req->uuid[0] ||
	    req->key->len != VOL_VOLUME_KEY_BYTES || (ss != 512 && ss != 4096)) {
		vol_err("device-mapper: invalid mapping request");
		return -EINVAL;
	}
	if (!req->data_size || req->data_size % ss || req->data_offset % ss) {
		vol_err("device-mapper: data area %llu+%llu is not a multiple of %u-byte sectors",
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

void vol_dm_key_description(char *buf, size_t len, const char *uuid, const char *name,
			   int new_key)
{
	snprintf(buf, len, "%s:%s:%s%s", KEY_DESC_PREFIX, uuid, name, new_key ? ":new" : "");
}

static void key_description(char *buf, size_t len, const struct vol_map_request *req)
{
	vol_dm_key_description(buf, len, req->uuid, req->name, 0);
}

/* Optional arguments of a table line: their words, and how many. */
struct opt_args {
	char text[256];
	int words;
};

static void __attribute__((format(printf, 3, 4)))
add_opt(struct opt_args *o, int words, const char *fmt, ...)
{
	size_t used = strlen(o->text);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->text + used, sizeof(o->text) - used, fmt, ap);
	va_end(ap);
	o->words += words;
}

/* Appends " <#opt_args> <opt_args>" to the @w bytes of @buf (if any). */
static int finish_params(char *buf, size_t len, int w, const struct opt_args *o)
{
	if (w >= 0 && (size_t)w < len && o->words)
		w += snprintf(buf + w, len - (size_t)w, " %d%s", o->words, o->text);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

/* The targets' arguments name the key, they never hold it. */
static int crypt_params(char *buf, size_t len, const struct vol_map_request *req,
			const struct table_line *line, const char *devno)
{
	struct opt_args o = { "", 0 };

	if (req->allow_discards)
		add_opt(&o, 1, " allow_discards");
	if (req->sector_size != 512)
		add_opt(&o, 1, " sector_size:%u", req->sector_size);
	/* iv_offset = start: the IV counts from the start of the data area. */
	return finish_params(buf, len,
			     snprintf(buf, len, "%s :%zu:logon:%s %llu %s %llu", DMCRYPT_CIPHER,
				      req->key->len, line->key_desc,
				      (unsigned long long)line->start, devno,
				      (unsigned long long)(req->data_offset / 512 + line->start)),
			     &o);
}

static int volcrypt_params(char *buf, size_t len, const struct vol_map_request *req,
			   const struct table_line *line, const char *devno)
{
	struct opt_args o = { "", 0 };

	if (req->allow_discards)
		add_opt(&o, 1, " allow_discards");
	if (line->new_key_desc)
		add_opt(&o, 3, " rekey :%zu:logon:%s %llu", req->key->len, line->new_key_desc,
			(unsigned long long)(req->rekey_boundary / 512));
	return finish_params(buf, len,
			     snprintf(buf, len, ":%zu:logon:%s %s %llu %u", req->key->len,
				      line->key_desc, devno,
				      (unsigned long long)(req->data_offset / 512),
				      req->sector_size),
			     &o);
}

/* The table: one line, or for dm-crypt during a rekey, one per key. */
static int build_lines(const struct dm_flavour *f, const struct vol_map_request *req,
		       const char *key_desc, const char *new_key_desc, struct table_line *lines)
{
	uint64_t sectors = req->data_size / 512, boundary = req->rekey_boundary / 512;

	if (!req->new_key) {
		lines[0] = (struct table_line){ key_desc, NULL, 0, sectors };
		return 1;
	}
	if (f->both_keys_in_one_line) {
		lines[0] = (struct table_line){ key_desc, new_key_desc, 0, sectors };
		return 1;
	}
	if (boundary == 0) {
		lines[0] = (struct table_line){ key_desc, NULL, 0, sectors };
		return 1;
	}
	lines[0] = (struct table_line){ new_key_desc, NULL, 0, boundary };
	lines[1] = (struct table_line){ key_desc, NULL, boundary, sectors - boundary };
	return boundary < sectors ? 2 : 1;
}

/* Loads the table with the key(s) in the keyring for exactly that long. */
static int create_mapping(const struct dm_flavour *f, const struct vol_map_request *req,
			  const char *devno)
{
	char key_desc[VOL_DM_NAME_LEN + VOL_UUID_STRLEN + 16];
	char new_key_desc[sizeof(key_desc) + 8];
	char params[2][640], uuid[VOL_DM_UUID_LEN];
	struct vol_dm_target tgt[2];
	struct table_line lines[2];
	struct vol_dm_create c;
	int32_t serial, new_serial = 0;
	int r, n;

	key_description(key_desc, sizeof(key_desc), req);
	vol_dm_key_description(new_key_desc, sizeof(new_key_desc), req->uuid, req->name, 1);
	n = build_lines(f, req, key_desc, new_key_desc, lines);
	r = vol_dm_make_uuid(uuid, sizeof(uuid), f->uuid_prefix, req->uuid, req->name);
	for (int i = 0; !r && i < n; i++) {
		r = f->params(params[i], sizeof(params[i]), req, &lines[i], devno);
		tgt[i] = (struct vol_dm_target){ .start = lines[i].start,
						 .length = lines[i].sectors,
						 .type = f->target, .params = params[i] };
	}
	if (r)
		return r;
	serial = vol_dm_key_add(key_desc, req->key->bytes, req->key->len);
	if (serial < 0)
		return serial;
	if (req->new_key) {
		new_serial = vol_dm_key_add(new_key_desc, req->new_key->bytes, req->new_key->len);
		if (new_serial < 0) {
			vol_dm_key_drop(serial);
			return new_serial;
		}
	}
	c = (struct vol_dm_create){ .name = req->name, .uuid = uuid, .targets = tgt,
				    .n_targets = n, .read_only = req->read_only };
	r = vol_dm_create_device(&c);
	vol_dm_key_drop(serial);
	if (new_serial)
		vol_dm_key_drop(new_serial);
	if (r == -EEXIST)
		vol_err("%s: a device-mapper device named %s exists already", f->label, req->name);
	else if (r == -EBUSY)
		vol_err("%s: %s is in use by someone else (mounted, or held open "
			"exclusively)", f->label, req->target);
	else if (r)
		vol_err("%s: cannot create %s: %s (the kernel log may say why)",
			f->label, req->name, vol_strerror(r));
	return r;
}

int vol_dm_activate(enum vol_backend b, const struct vol_map_request *req,
		    struct vol_mapping_info *info)
{
	const struct dm_flavour *f = flavour_of(b);
	char dev[256], devno[32];
	int r, loop;

	r = check_request(req);
	if (r)
		return r;
	r = flavour_usable(f);
	if (r)
		return r;
	r = backing_device(req, dev, sizeof(dev), devno, sizeof(devno), &loop);
	if (r)
		return r;
	r = create_mapping(f, req, devno);
	if (r == 0 && loop) {
		r = vol_loop_set_autoclear(dev);
		if (r) {
			vol_err("%s: cannot make %s detach on close: %s", f->label, dev,
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
	vol_dbg("%s: %s mapped on %s", f->label, req->name, dev);
	return 0;
}

/* Is @name a device-mapper device we made (dm UUID with our prefix)? */
static int ours(const struct dm_flavour *f, const char *name, const struct vol_dm_info *di)
{
	size_t n = strlen(f->uuid_prefix);

	if (!strncmp(di->uuid, f->uuid_prefix, n) && di->uuid[n] == '-')
		return 1;
	vol_dbg("%s: device %s (uuid '%s') is not a volcrypt mapping", f->label, name,
		di->uuid);
	return 0;
}

int vol_dm_deactivate(enum vol_backend b, const char *name)
{
	const struct dm_flavour *f = flavour_of(b);
	struct vol_dm_info di;
	int r;

	r = vol_dm_query(name, &di);
	if (r)
		return r;
	/* Never remove a device somebody else made under the same name. */
	if (!ours(f, name, &di))
		return -ENOENT;
	r = vol_dm_remove_device(name);
	if (r == -EBUSY)
		vol_err("%s: %s is in use (mounted or open)", f->label, name);
	else if (r && r != -ENOENT)
		vol_err("%s: cannot remove %s: %s", f->label, name, vol_strerror(r));
	return r;
}

int vol_dm_refresh(struct vol_mapping_info *info)
{
	const struct dm_flavour *f = flavour_of(info->backend);
	char want[VOL_DM_UUID_LEN];
	struct vol_dm_info di;

	info->stale = 1;
	if (vol_dm_query(info->name, &di) != 0)
		return 0;
	/* Same name, other volume (or not ours): our mapping is gone. */
	if (vol_dm_make_uuid(want, sizeof(want), f->uuid_prefix, info->uuid, info->name) ||
	    strcmp(want, di.uuid) != 0)
		return 0;
	info->stale = 0;
	info->read_only = di.read_only;
	return 0;
}
