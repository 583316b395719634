/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The only file that talks to libdevmapper; see dm_ioctl.h.
 *
 * libdevmapper is process-global: one log hook, one control fd, one list
 * of pending node operations.  Every entry point therefore takes
 * dm_lock, installs our log hook (libdevmapper would print to stderr,
 * and the library never prints), and ends with dm_lib_release(), which
 * applies pending node operations and closes the control fd so that a
 * daemon we spawn later does not inherit it.
 */
#include <errno.h>
#include <fcntl.h>
#include <keyutils.h>
#include <libdevmapper.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "dm_ioctl.h"
#include "internal.h"

#define DM_CONTROL VOL_DM_DIR "/control"
/* udevd's control socket: present exactly when udev can answer cookies. */
#define UDEV_CONTROL "/run/udev/control"
/* How long to wait for a device node udev has not made yet. */
#define NODE_WAIT_MS 5000
#define NODE_POLL_MS 10

static pthread_mutex_t dm_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * libdevmapper's messages are for debugging: callers turn failures into
 * one clear error of their own, and probing (vol_dm_available) must stay
 * quiet.  Only warnings and errors are kept; its debug output is noise.
 */
__attribute__((format(printf, 5, 6)))
static void dm_log_hook(int level, const char *file, int line, int dm_errno,
			const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno;
	if ((level & 7) > 4) /* _LOG_WARN */
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vol_dbg("libdevmapper: %s", msg);
}

/*
 * Is udevd there to answer a cookie?  Its control socket can outlive it:
 * initramfs-tools stops the initramfs's udevd and moves /run, socket
 * file included, to the real root.  Waiting on a cookie nobody answers
 * would hang for ever, so only a socket that takes a connection counts
 * (without blocking: a busy udevd's full backlog still counts as running).
 */
static int udev_listening(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ok;

	if (access(UDEV_CONTROL, F_OK) != 0)
		return 0;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 1; /* cannot tell: trust the socket file, as libdevmapper does */
	memcpy(addr.sun_path, UDEV_CONTROL, sizeof(UDEV_CONTROL));
	ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 || errno != ECONNREFUSED;
	close(fd);
	if (!ok)
		vol_dbg("udev: %s is left over, no udevd listens on it", UDEV_CONTROL);
	return ok;
}

static void dm_begin(void)
{
	pthread_mutex_lock(&dm_lock);
	dm_log_with_errno_init(dm_log_hook);
	/*
	 * Without udevd nobody answers a cookie: let libdevmapper create and
	 * remove the nodes itself (initramfs, containers, our test VM).
	 */
	dm_udev_set_sync_support(udev_listening());
}

static void dm_end(void)
{
	dm_lib_release();
	dm_log_with_errno_init(NULL);
	pthread_mutex_unlock(&dm_lock);
}

static int module_loadable(const char *module);

/*
 * Device-mapper built as a module that nothing has loaded yet has no
 * control node.  Make it as systemd's kmod-static-nodes does at boot:
 * opening it has the kernel load dm_mod (its char-major-10-236 alias).
 * A unit early in the boot, or a minimal root without that service,
 * would otherwise find no device-mapper and fall back to fuse.
 */
static void make_control_node(void)
{
	if (!module_loadable("dm_mod"))
		return;
	if (mkdir(VOL_DM_DIR, 0755) && errno != EEXIST)
		return;
	if (mknod(DM_CONTROL, S_IFCHR | 0600, makedev(10, 236)) == 0)
		vol_dbg("device-mapper: made %s for the dm_mod module to load", DM_CONTROL);
}

int vol_dm_available(void)
{
	char version[64];
	int ok;

	if (access(DM_CONTROL, F_OK) != 0)
		make_control_node();
	if (access(DM_CONTROL, F_OK) != 0) {
		vol_dbg("device-mapper: %s: %s", DM_CONTROL, strerror(errno));
		return 0;
	}
	dm_begin();
	ok = dm_driver_version(version, sizeof(version));
	dm_end();
	if (!ok) {
		vol_dbg("device-mapper: the driver does not answer");
		return 0;
	}
	vol_dbg("device-mapper: driver %s", version);
	return 1;
}

/* Same module name?  modprobe treats '-' and '_' alike. */
static int module_name_eq(const char *a, const char *b, size_t b_len)
{
	size_t i;

	for (i = 0; i < b_len; i++) {
		char x = a[i] == '_' ? '-' : a[i], y = b[i] == '_' ? '-' : b[i];

		if (!a[i] || x != y)
			return 0;
	}
	return a[i] == '\0';
}

/* Does a modules.dep or modules.builtin line name @module? ("dir/NAME.ko[.xz]:") */
static int line_names_module(const char *line, const char *module)
{
	const char *end = strstr(line, ".ko"), *base;

	if (!end)
		return 0;
	for (base = end; base > line && base[-1] != '/'; base--)
		;
	return module_name_eq(module, base, (size_t)(end - base));
}

static int module_listed(const char *file, const char *module)
{
	char line[1024];
	FILE *f;
	int found = 0;

	f = fopen(file, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = line_names_module(line, module);
	fclose(f);
	return found;
}

/* Can the kernel load @module on demand (request_module) when a table needs it? */
static int module_loadable(const char *module)
{
	static const char *const lists[] = { "modules.builtin", "modules.dep" };
	struct utsname u;
	char path[512];

	if (uname(&u) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/%s", u.release, lists[i]);
		if (module_listed(path, module))
			return 1;
	}
	return 0;
}

static int target_registered(const char *type, uint32_t version[3])
{
	struct dm_versions *t, *last;
	struct dm_task *dmt;
	int found = 0;

	dm_begin();
	dmt = dm_task_create(DM_DEVICE_LIST_VERSIONS);
	if (dmt && dm_task_run(dmt)) {
		t = dm_task_get_versions(dmt);
		do {
			last = t;
			if (!strcmp(t->name, type)) {
				found = 1;
				if (version)
					memcpy(version, t->version, 3 * sizeof(uint32_t));
			}
			t = (struct dm_versions *)((char *)t + t->next);
		} while (!found && last != t);
	}
	if (dmt)
		dm_task_destroy(dmt);
	dm_end();
	return found;
}

int vol_dm_target_available(const char *type, const char *module, uint32_t version[3])
{
	if (version)
		memset(version, 0, 3 * sizeof(uint32_t));
	if (!vol_dm_available())
		return 0;
	if (target_registered(type, version))
		return 1;
	if (module && module_loadable(module)) {
		vol_dbg("device-mapper: target %s not loaded, module %s is loadable", type, module);
		return 1;
	}
	vol_dbg("device-mapper: no %s target here", type);
	return 0;
}

/* Called with dm_lock held. */
static int query_locked(const char *name, struct vol_dm_info *out)
{
	struct dm_info dmi;
	struct dm_task *dmt;
	const char *uuid;
	int r = -EIO;

	dmt = dm_task_create(DM_DEVICE_INFO);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt) || !dm_task_get_info(dmt, &dmi))
		goto out;
	if (!dmi.exists) {
		r = -ENOENT;
		goto out;
	}
	if (out) {
		memset(out, 0, sizeof(*out));
		out->open_count = dmi.open_count;
		out->read_only = dmi.read_only;
		out->suspended = dmi.suspended;
		out->major = dmi.major;
		out->minor = dmi.minor;
		uuid = dm_task_get_uuid(dmt);
		snprintf(out->uuid, sizeof(out->uuid), "%s", uuid ? uuid : "");
	}
	r = 0;
out:
	dm_task_destroy(dmt);
	return r;
}

int vol_dm_query(const char *name, struct vol_dm_info *info)
{
	int r;

	if (access(DM_CONTROL, F_OK) != 0)
		return -ENOENT; /* no device-mapper: no device of that name either */
	dm_begin();
	r = query_locked(name, info);
	dm_end();
	return r;
}

/* The errno of a failed task; 0 (libdevmapper lost it) becomes @fallback. */
static int task_errno(struct dm_task *dmt, int fallback)
{
	int e = dm_task_get_errno(dmt);

	return e > 0 ? -e : fallback;
}

static int add_targets(struct dm_task *dmt, const struct vol_dm_create *req)
{
	for (size_t i = 0; i < req->n_targets; i++) {
		const struct vol_dm_target *t = &req->targets[i];

		if (!dm_task_add_target(dmt, t->start, t->length, t->type, t->params))
			return -ENOMEM;
	}
	return 0;
}

int vol_dm_message(const char *name, const char *message)
{
	struct dm_task *dmt;
	int r = -ENOMEM;

	dm_begin();
	dmt = dm_task_create(DM_DEVICE_TARGET_MSG);
	/* Secure: a message may name a key (never hold one), wipe it anyway. */
	if (dmt && dm_task_set_name(dmt, name) && dm_task_set_sector(dmt, 0) &&
	    dm_task_set_message(dmt, message) && dm_task_secure_data(dmt))
		r = dm_task_run(dmt) ? 0 : task_errno(dmt, -EIO);
	if (dmt)
		dm_task_destroy(dmt);
	dm_end();
	return r;
}

int vol_dm_status(const char *name, char *buf, size_t len)
{
	uint64_t start, length;
	char *type = NULL, *params = NULL;
	struct dm_task *dmt;
	int r = -ENOMEM;

	dm_begin();
	dmt = dm_task_create(DM_DEVICE_STATUS);
	if (dmt && dm_task_set_name(dmt, name)) {
		r = dm_task_run(dmt) ? 0 : task_errno(dmt, -EIO);
		if (!r) {
			dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
			r = params && (size_t)snprintf(buf, len, "%s", params) < len ? 0 : -EPROTO;
		}
	}
	if (dmt)
		dm_task_destroy(dmt);
	dm_end();
	return r;
}

/* Creates the device without a table.  EBUSY: the name or uuid is taken. */
static int create_empty(const struct vol_dm_create *req)
{
	struct dm_task *dmt;
	int r = -ENOMEM;

	dmt = dm_task_create(DM_DEVICE_CREATE);
	if (!dmt)
		return -ENOMEM;
	if (dm_task_set_name(dmt, req->name) && dm_task_set_uuid(dmt, req->uuid))
		r = dm_task_run(dmt) ? 0 : task_errno(dmt, -EIO);
	dm_task_destroy(dmt);
	return r == -EBUSY ? -EEXIST : r;
}

/*
 * Loads the table.  The task is always marked secure: the kernel wipes
 * its ioctl buffers, whatever the table holds.  EBUSY here means a device
 * in the table is claimed by someone else (mounted).
 */
static int load_table(const struct vol_dm_create *req)
{
	struct dm_task *dmt;
	int r = -ENOMEM;

	dmt = dm_task_create(DM_DEVICE_RELOAD);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, req->name) || !dm_task_secure_data(dmt) ||
	    (req->read_only && !dm_task_set_ro(dmt)))
		goto out;
	r = add_targets(dmt, req);
	if (!r)
		r = dm_task_run(dmt) ? 0 : task_errno(dmt, -EINVAL);
out:
	dm_task_destroy(dmt);
	return r;
}

/*
 * Runs a resume or remove with a udev cookie: udev (when it runs) has
 * made or removed /dev/mapper/NAME when dm_udev_wait returns; without
 * udev libdevmapper does it itself in dm_udev_wait.
 */
static int run_with_cookie(int type, const char *name, int retry)
{
	struct dm_task *dmt;
	uint32_t cookie = 0;
	int r = -ENOMEM;

	dmt = dm_task_create(type);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name))
		goto out;
	if (retry)
		dm_task_retry_remove(dmt);
	if (!dm_task_set_cookie(dmt, &cookie, 0)) {
		r = -EIO;
		goto out;
	}
	r = dm_task_run(dmt) ? 0 : task_errno(dmt, -EIO);
	dm_udev_wait(cookie); /* also on failure: releases the cookie */
out:
	dm_task_destroy(dmt);
	return r;
}

/*
 * Create, load, resume as three ioctls rather than libdevmapper's combined
 * DM_DEVICE_CREATE-with-table, which loses the errno of a failed load
 * (EBUSY for a mounted device came back as a bare failure).  Called with
 * dm_lock held; a half-made device is removed again.
 */
static int run_create(const struct vol_dm_create *req)
{
	int r;

	r = create_empty(req);
	if (r)
		return r;
	r = load_table(req);
	if (!r)
		r = run_with_cookie(DM_DEVICE_RESUME, req->name, 0);
	if (r)
		run_with_cookie(DM_DEVICE_REMOVE, req->name, 1);
	return r;
}

/*
 * udev (when it runs) made the node before the cookie was released; this
 * bounded poll only covers a udev that reports completion early.
 */
static int wait_for_node(const char *name)
{
	const struct timespec step = { 0, NODE_POLL_MS * 1000000L };
	char path[sizeof(VOL_DM_DIR) + VOL_DM_NAME_LEN + 1];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", VOL_DM_DIR, name);
	for (int waited = 0; waited <= NODE_WAIT_MS; waited += NODE_POLL_MS) {
		if (stat(path, &st) == 0 && S_ISBLK(st.st_mode))
			return 0;
		nanosleep(&step, NULL);
	}
	vol_err("device-mapper: %s did not appear", path);
	return -ENODEV;
}

int vol_dm_create_device(const struct vol_dm_create *req)
{
	int r;

	if (!req || !req->name || !req->uuid || !req->n_targets ||
	    strlen(req->name) >= VOL_DM_NAME_LEN || strlen(req->uuid) >= VOL_DM_UUID_LEN)
		return -EINVAL;
	if (access(DM_CONTROL, F_OK) != 0)
		return -ENODEV;
	dm_begin();
	r = query_locked(req->name, NULL);
	if (r == 0)
		r = -EEXIST;
	else if (r == -ENOENT)
		r = run_create(req);
	dm_end();
	if (r == 0)
		r = wait_for_node(req->name);
	else
		vol_dbg("device-mapper: create %s: %s", req->name, strerror(-r));
	return r;
}

int vol_dm_remove_device(const char *name)
{
	struct vol_dm_info info;
	int r;

	if (access(DM_CONTROL, F_OK) != 0)
		return -ENOENT;
	dm_begin();
	r = query_locked(name, &info);
	if (r == 0 && info.open_count > 0)
		r = -EBUSY;
	else if (r == 0)
		/*
		 * Retried: rides out a transient opener (udev's blkid probe
		 * after create); a real user was refused by open_count above.
		 */
		r = run_with_cookie(DM_DEVICE_REMOVE, name, 1);
	dm_end();
	if (r == -ENXIO)
		r = -ENOENT; /* removed by someone else meanwhile */
	return r;
}

int vol_dm_make_uuid(char *buf, size_t len, const char *prefix,
		     const char *vol_uuid, const char *name)
{
	char hex[VOL_DM_UUID_LEN];
	size_t n = 0;
	int w;

	for (const char *p = vol_uuid; *p && n + 1 < sizeof(hex); p++)
		if (*p != '-')
			hex[n++] = *p;
	hex[n] = '\0';
	w = snprintf(buf, len, "%s-%s-%s", prefix, hex, name);
	if (w < 0 || (size_t)w >= len || w >= VOL_DM_UUID_LEN)
		return -ENAMETOOLONG;
	return 0;
}

int32_t vol_dm_key_add(const char *desc, const uint8_t *key, size_t len)
{
	key_serial_t id;

	/*
	 * The thread keyring: the kernel searches it while it runs our table
	 * load ioctl, and no other thread or process can reach the key.
	 */
	id = add_key("logon", desc, key, len, KEY_SPEC_THREAD_KEYRING);
	if (id < 0) {
		int r = -errno;

		vol_err("cannot add the volume key to the kernel keyring: %s", strerror(-r));
		return r;
	}
	return id;
}

void vol_dm_key_drop(int32_t serial)
{
	if (serial <= 0)
		return;
	/* Invalidate destroys the key at once and unlinks it everywhere. */
	if (keyctl_invalidate(serial) == 0)
		return;
	vol_dbg("keyring: invalidate key %d: %s; revoking it", serial, strerror(errno));
	if (keyctl_revoke(serial) != 0)
		vol_warn("cannot revoke the volume key in the keyring: %s", strerror(errno));
	keyctl_unlink(serial, KEY_SPEC_THREAD_KEYRING);
}
