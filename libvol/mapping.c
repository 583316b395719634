/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Mappings: names, the choice of backend, and the records that let
 * status and close find a mapping from any shell.  The backends
 * themselves live in dm_crypt.c and fuse_spawn.c.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "mapping_state.h"
#include "volume.h"

static const char *const backend_names[] = {
	[VOL_BACKEND_AUTO] = "auto",
	[VOL_BACKEND_VOLCRYPT] = "volcrypt",
	[VOL_BACKEND_DMCRYPT] = "dm-crypt",
	[VOL_BACKEND_FUSE] = "fuse",
};

const char *vol_backend_name(enum vol_backend b)
{
	if ((unsigned)b >= sizeof(backend_names) / sizeof(backend_names[0]))
		return NULL;
	return backend_names[b];
}

int vol_backend_parse(const char *name, enum vol_backend *b)
{
	for (unsigned i = 0; name && i < sizeof(backend_names) / sizeof(backend_names[0]); i++) {
		if (!strcmp(name, backend_names[i])) {
			*b = (enum vol_backend)i;
			return 0;
		}
	}
	return -EINVAL;
}

enum name_problem { NAME_OK, NAME_LENGTH, NAME_RESERVED, NAME_CHARS };

static enum name_problem name_problem(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > VOL_NAME_MAX)
		return NAME_LENGTH;
	if (!strcmp(name, ".") || !strcmp(name, "..") || name[0] == '-')
		return NAME_RESERVED;
	/* It becomes a file name under /run and /dev/mapper. */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p == '/' || *p <= ' ' || *p == 0x7f)
			return NAME_CHARS;
	return NAME_OK;
}

int vol_name_valid(const char *name)
{
	return name_problem(name) == NAME_OK;
}

int vol_name_check(const char *name)
{
	switch (name_problem(name)) {
	case NAME_OK:
		return 0;
	case NAME_LENGTH:
		vol_err("a mapping name has 1 to %d characters", VOL_NAME_MAX);
		break;
	case NAME_RESERVED:
		vol_err("'%s' is not a valid mapping name", name);
		break;
	case NAME_CHARS:
		vol_err("a mapping name must not contain '/', spaces or control characters");
		break;
	}
	return -EINVAL;
}

enum mapping_key { BY_TARGET, BY_UUID };

/*
 * 1 and its name in @name if a recorded mapping has @value as its target
 * path (BY_TARGET) or volume UUID (BY_UUID), else 0.
 */
static int find_mapping(enum mapping_key key, const char *value, char *name, size_t len)
{
	char **names = NULL;
	size_t n = 0;
	int found = 0;

	if (vol_mapping_list(&names, &n))
		return 0;
	for (size_t i = 0; i < n && !found; i++) {
		struct vol_mapping_info m;

		if (vol_state_read(names[i], &m))
			continue;
		found = !strcmp(key == BY_TARGET ? m.target : m.uuid, value);
		if (found)
			snprintf(name, len, "%s", m.name);
	}
	vol_mapping_list_free(names, n);
	return found;
}

int vol_target_mapped(const char *path, char *name, size_t len)
{
	char abs[PATH_MAX];

	/* Records hold absolute paths (see describe()). */
	return realpath(path, abs) && find_mapping(BY_TARGET, abs, name, len);
}

int vol_mapping_find(const char *what, char *name, size_t len)
{
	struct vol_mapping_info m;
	int valid;

	if (!what || !name)
		return -EINVAL;
	vol_set_log_suppressed(1);
	valid = !vol_name_check(what);
	vol_set_log_suppressed(0);
	if (valid && !vol_state_read(what, &m)) {
		snprintf(name, len, "%s", m.name);
		return 1;
	}
	return vol_target_mapped(what, name, len);
}

/* The kernel backends in order of preference, then fuse. */
static int choose_backend(enum vol_backend asked, enum vol_backend *chosen)
{
	switch (asked) {
	case VOL_BACKEND_AUTO:
		if (vol_dm_backend_available(VOL_BACKEND_VOLCRYPT))
			*chosen = VOL_BACKEND_VOLCRYPT;
		else if (vol_dm_backend_available(VOL_BACKEND_DMCRYPT))
			*chosen = VOL_BACKEND_DMCRYPT;
		else
			*chosen = VOL_BACKEND_FUSE;
		vol_info("using the %s backend", vol_backend_name(*chosen));
		return 0;
	case VOL_BACKEND_VOLCRYPT:
	case VOL_BACKEND_DMCRYPT:
		if (!vol_dm_backend_available(asked)) {
			vol_err(asked == VOL_BACKEND_VOLCRYPT ?
				"the volcrypt kernel target (dm-volcrypt.ko) is not available" :
				"dm-crypt is not available (no device-mapper in this kernel)");
			return -ENODEV;
		}
		*chosen = asked;
		return 0;
	case VOL_BACKEND_FUSE:
		*chosen = asked;
		return 0;
	}
	return -EINVAL;
}

static int is_dm(enum vol_backend b)
{
	return b == VOL_BACKEND_DMCRYPT || b == VOL_BACKEND_VOLCRYPT;
}

static int check_free(const char *name, const char *uuid)
{
	char path[PATH_MAX], other[VOL_NAME_MAX + 1];

	snprintf(path, sizeof(path), "/dev/mapper/%s", name);
	if (access(path, F_OK) == 0) {
		vol_err("a device-mapper device called %s already exists", name);
		return -EEXIST;
	}
	if (find_mapping(BY_UUID, uuid, other, sizeof(other))) {
		vol_err("volume %s is already open as %s", uuid, other);
		return -EBUSY;
	}
	return 0;
}

static int run_backend(const struct vol_map_request *req, enum vol_backend b,
		       struct vol_mapping_info *m)
{
	if (is_dm(b))
		return vol_dm_activate(b, req, m);
	return vol_fuse_activate(req, m);
}

/* @target: the volume's path made absolute (daemons do not share our cwd). */
static void fill_request(struct vol_volume *vol, const struct vol_key *key, const char *name,
			 const struct vol_activate_params *p, const char *run_dir,
			 const char *target, struct vol_map_request *req)
{
	struct vol_info info;

	vol_get_info(vol, &info);
	memset(req, 0, sizeof(*req));
	req->name = name;
	req->target = target;
	req->run_dir = run_dir;
	memcpy(req->uuid, info.uuid, sizeof(req->uuid));
	req->key = key;
	req->data_offset = info.data_offset;
	req->data_size = info.data_size;
	req->sector_size = info.sector_size;
	req->read_only = p->read_only;
	req->allow_discards = p->allow_discards;
	req->fuse_helper = p->fuse_helper;
	if (vol->md.rekey.state == VOL_REKEY_RUNNING) {
		req->new_key = p->new_key;
		req->rekey_boundary = vol->md.rekey.boundary;
	}
}

/* The key, and during a rekey the new key too, must be the volume's. */
static int check_keys(struct vol_volume *vol, const struct vol_key *key,
		      const struct vol_activate_params *p)
{
	if (vol_key_verify(vol, key) != 1)
		return -EPERM;
	if (vol->md.rekey.state != VOL_REKEY_RUNNING)
		return 0;
	if (!p->new_key) {
		vol_err("a rekey is in progress: mapping the volume needs both keys");
		return -EINVAL;
	}
	return vol_rekey_key_verify(vol, p->new_key) == 1 ? 0 : -EPERM;
}

static void describe(const struct vol_map_request *req, enum vol_backend b,
		     struct vol_mapping_info *m)
{
	snprintf(m->name, sizeof(m->name), "%s", req->name);
	m->backend = b;
	snprintf(m->target, sizeof(m->target), "%s", req->target);
	memcpy(m->uuid, req->uuid, sizeof(m->uuid));
	m->size = req->data_size;
	m->sector_size = req->sector_size;
	m->read_only = req->read_only;
}

int vol_activate(struct vol_volume *vol, const struct vol_key *key, const char *name,
		 const struct vol_activate_params *params, struct vol_mapping_info *info)
{
	static const struct vol_activate_params defaults;
	const struct vol_activate_params *p = params ? params : &defaults;
	char run_dir[PATH_MAX], target[PATH_MAX];
	struct vol_map_request req;
	struct vol_mapping_info m;
	enum vol_backend b;
	int r;

	if (!vol || !key)
		return -EINVAL;
	if (!realpath(vol->dev->path, target))
		return -errno;
	r = vol_name_check(name);
	if (!r)
		r = check_keys(vol, key, p);
	if (!r)
		r = choose_backend(p->backend, &b);
	if (r)
		return r;
	vol_state_dir(name, run_dir, sizeof(run_dir));
	fill_request(vol, key, name, p, run_dir, target, &req);
	r = vol_state_reserve(name);
	if (r) {
		if (r == -EEXIST)
			vol_err("a mapping called %s already exists", name);
		return r;
	}
	r = check_free(name, req.uuid);
	memset(&m, 0, sizeof(m));
	if (!r)
		r = run_backend(&req, b, &m);
	if (!r) {
		describe(&req, b, &m);
		r = vol_state_write(&m);
		if (r) /* unrecorded mappings could never be closed: undo */
			is_dm(b) ? vol_dm_deactivate(b, name) : vol_fuse_deactivate(&m, run_dir);
	}
	if (r) {
		vol_state_remove(name);
		return r;
	}
	if (info)
		*info = m;
	return 0;
}

static int refresh(struct vol_mapping_info *m)
{
	char run_dir[PATH_MAX];

	vol_state_dir(m->name, run_dir, sizeof(run_dir));
	if (is_dm(m->backend))
		return vol_dm_refresh(m);
	return vol_fuse_refresh(m, run_dir);
}

int vol_mapping_get(const char *name, struct vol_mapping_info *info)
{
	int r;

	if (!info || vol_name_check(name))
		return -EINVAL;
	r = vol_state_read(name, info);
	if (r == -ENOENT)
		vol_err("no mapping called %s", name);
	else if (r)
		vol_err("the record of mapping %s is unreadable", name);
	return r ? r : refresh(info);
}

int vol_deactivate(const char *name)
{
	char run_dir[PATH_MAX];
	struct vol_mapping_info m;
	int r;

	r = vol_mapping_get(name, &m);
	if (r)
		return r;
	vol_state_dir(name, run_dir, sizeof(run_dir));
	if (is_dm(m.backend))
		r = vol_dm_deactivate(m.backend, name);
	else
		r = vol_fuse_deactivate(&m, run_dir);
	if (r == -ENOENT) /* already gone underneath us: only the record is left */
		r = 0;
	if (r == -EBUSY)
		vol_err("%s (%s) is in use", name, m.device);
	return r ? r : vol_state_remove(name);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vol_mapping_list(char ***names, size_t *count)
{
	DIR *d;
	struct dirent *e;
	char **v = NULL;
	size_t n = 0;

	*names = NULL;
	*count = 0;
	d = opendir(VOL_RUN_DIR);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		char **nv;

		if (e->d_name[0] == '.' || strlen(e->d_name) > VOL_NAME_MAX)
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv || !(nv[n] = strdup(e->d_name))) {
			v = nv ? nv : v;
			vol_mapping_list_free(v, n);
			closedir(d);
			return -ENOMEM;
		}
		v = nv;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*names = v;
	*count = n;
	return 0;
}

void vol_mapping_list_free(char **names, size_t count)
{
	for (size_t i = 0; names && i < count; i++)
		free(names[i]);
	free(names);
}
