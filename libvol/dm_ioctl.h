/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device-mapper plumbing shared by the dm backends (dm-crypt now, the
 * volcrypt target later).  dm_ioctl.c is the only file that talks to
 * libdevmapper (cryptsetup's rule): libdevmapper keeps global state and a
 * global log hook, so every call goes through one lock here.
 *
 * Keys never travel in a table: a backend puts the key in the kernel
 * keyring as a "logon" key (vol_dm_key_add), names it in the table
 * (":64:logon:DESC"), and drops it once the table is loaded
 * (vol_dm_key_drop) -- the target keeps its own copy.
 */
#ifndef LIBVOL_DM_IOCTL_H
#define LIBVOL_DM_IOCTL_H

#include <stddef.h>
#include <stdint.h>

/* Longest dm UUID including the NUL (DM_UUID_LEN in linux/dm-ioctl.h). */
#define VOL_DM_UUID_LEN 129
/* Longest dm device name including the NUL (DM_NAME_LEN). */
#define VOL_DM_NAME_LEN 128
/* Where libdevmapper puts device nodes. */
#define VOL_DM_DIR "/dev/mapper"

/* One table line: @start and @length in 512-byte sectors. */
struct vol_dm_target {
	uint64_t start;
	uint64_t length;
	const char *type;    /* "crypt", "volcrypt", ... */
	const char *params;  /* target arguments; key references only, never keys */
};

struct vol_dm_create {
	const char *name;
	const char *uuid;    /* dm UUID: how status recognises our devices */
	const struct vol_dm_target *targets;
	size_t n_targets;
	int read_only;
};

struct vol_dm_info {
	int open_count;      /* openers: mounts, processes, stacked devices */
	int read_only;
	int suspended;
	uint32_t major;
	uint32_t minor;
	char uuid[VOL_DM_UUID_LEN];
};

/*
 * 1 if device-mapper is usable from this process: the control node
 * exists and the driver answers.  Quiet (debug messages only) and fast
 * when it does not, which is the normal case in containers.
 */
int vol_dm_available(void);

/*
 * 1 if target @type is registered with the kernel, or can be loaded on
 * demand because module @module is built in or listed in modules.dep of
 * the running kernel; 0 otherwise.  @version (3 numbers, may be NULL)
 * receives the registered version, zeros if it is only loadable.
 */
int vol_dm_target_available(const char *type, const char *module, uint32_t version[3]);

/*
 * Creates, loads and resumes a device (removed again if a step fails);
 * /dev/mapper/NAME exists on return (udev cookie when udev runs,
 * libdevmapper's own node creation when it does not).  The table load is
 * always marked secure: the kernel wipes the ioctl buffers holding the
 * table.  -EEXIST if the name is taken,
 * -EBUSY if a device in the table is claimed by someone else (mounted),
 * -EINVAL if the kernel rejects the table (details in the kernel log).
 */
int vol_dm_create_device(const struct vol_dm_create *req);

/* Sends @message to the target at sector 0 of @name; the target's -errno on refusal. */
int vol_dm_message(const char *name, const char *message);

/* The status line (STATUSTYPE_INFO) of the first target of @name. */
int vol_dm_status(const char *name, char *buf, size_t len);

/* Removes @name: -ENOENT if absent, -EBUSY while open. */
int vol_dm_remove_device(const char *name);

/* Describes @name: -ENOENT if there is no such device. */
int vol_dm_query(const char *name, struct vol_dm_info *info);

/*
 * Builds a dm UUID "PREFIX-<volume uuid without dashes>-NAME" in @buf.
 * -ENAMETOOLONG if it does not fit VOL_DM_UUID_LEN or @len.
 */
int vol_dm_make_uuid(char *buf, size_t len, const char *prefix,
		     const char *vol_uuid, const char *name);

/*
 * Adds @key as a "logon" key described by @desc to this thread's keyring,
 * where the kernel finds it while it loads a table from our ioctl.
 * Returns the key serial (> 0) or -errno.
 */
int32_t vol_dm_key_add(const char *desc, const uint8_t *key, size_t len);

/* Invalidates and unlinks a key from vol_dm_key_add (serial <= 0: no-op). */
void vol_dm_key_drop(int32_t serial);

#endif
