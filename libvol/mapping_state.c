/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Mapping records live in /run (a tmpfs, gone at reboot like the mappings
 * themselves) so that status and close work from any shell.  The format is
 * "key=value" lines; nothing secret is ever written here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "mapping_state.h"

void vol_state_dir(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", VOL_RUN_DIR, name);
}

static void state_file(const char *name, const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/state%s", VOL_RUN_DIR, name, suffix);
}

int vol_state_reserve(const char *name)
{
	char dir[sizeof(VOL_RUN_DIR) + VOL_NAME_MAX + 2];

	if (mkdir(VOL_RUN_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	vol_state_dir(name, dir, sizeof(dir));
	if (mkdir(dir, 0700) < 0)
		return -errno;
	return 0;
}

int vol_state_write(const struct vol_mapping_info *m)
{
	char tmp[PATH_MAX_STATE], path[PATH_MAX_STATE];
	FILE *f;
	int r = 0;

	state_file(m->name, ".tmp", tmp, sizeof(tmp));
	state_file(m->name, "", path, sizeof(path));
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "backend=%s\ndevice=%s\ntarget=%s\nuuid=%s\nsize=%" PRIu64 "\n"
		"sector_size=%" PRIu32 "\nread_only=%d\npid=%d\n",
		vol_backend_name(m->backend), m->device, m->target, m->uuid, m->size,
		m->sector_size, m->read_only, m->pid);
	if (fflush(f) || fsync(fileno(f)))
		r = -errno;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

static int parse_line(char *line, struct vol_mapping_info *m)
{
	char *eq = strchr(line, '=');
	const char *v;

	if (!eq)
		return -EBADMSG;
	*eq = '\0';
	v = eq + 1;
	line[strcspn(line, "\n")] = '\0';
	((char *)v)[strcspn(v, "\n")] = '\0';
	if (!strcmp(line, "backend"))
		return vol_backend_parse(v, &m->backend) ? -EBADMSG : 0;
	if (!strcmp(line, "device"))
		snprintf(m->device, sizeof(m->device), "%s", v);
	else if (!strcmp(line, "target"))
		snprintf(m->target, sizeof(m->target), "%s", v);
	else if (!strcmp(line, "uuid"))
		snprintf(m->uuid, sizeof(m->uuid), "%s", v);
	else if (!strcmp(line, "size"))
		m->size = strtoull(v, NULL, 10);
	else if (!strcmp(line, "sector_size"))
		m->sector_size = (uint32_t)strtoul(v, NULL, 10);
	else if (!strcmp(line, "read_only"))
		m->read_only = atoi(v);
	else if (!strcmp(line, "pid"))
		m->pid = atoi(v);
	/* unknown keys: written by a newer volcrypt, ignored */
	return 0;
}

int vol_state_read(const char *name, struct vol_mapping_info *m)
{
	char path[PATH_MAX_STATE], line[4200];
	FILE *f;
	int r = 0;

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	state_file(name, "", path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
	while (!r && fgets(line, sizeof(line), f))
		r = parse_line(line, m);
	fclose(f);
	if (!r && (!m->backend || !m->device[0]))
		r = -EBADMSG;
	return r;
}

int vol_state_remove(const char *name)
{
	char path[PATH_MAX_STATE];

	state_file(name, "", path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	vol_state_dir(name, path, sizeof(path));
	if (rmdir(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
