/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The interface between mapping.c (names, state, backend choice) and the
 * backends that turn an unlocked volume into a block device.
 */
#ifndef LIBVOL_BACKEND_H
#define LIBVOL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "libvol.h"

/* Where mapping state lives: /run/volcrypt/NAME/{state,mnt/} */
#define VOL_RUN_DIR "/run/volcrypt"

/* Everything a backend needs to map a volume. */
struct vol_map_request {
	const char *name;
	const char *target;              /* device or image file of the volume */
	const char *run_dir;             /* VOL_RUN_DIR/NAME, already created */
	char uuid[VOL_UUID_STRLEN];
	const struct vol_key *key;
	/* During a rekey: the new key, used below the boundary (bytes); else NULL. */
	const struct vol_key *new_key;
	uint64_t rekey_boundary;
	uint64_t data_offset;            /* bytes */
	uint64_t data_size;              /* bytes */
	uint32_t sector_size;
	int read_only;
	int allow_discards;
	const char *fuse_helper;         /* NULL = default lookup */
};

/* 1 and its name if @path (device or image) is mapped now, else 0. */
int vol_target_mapped(const char *path, char *name, size_t len);

/*
 * Backends fill in info->device (and pid for fuse); mapping.c fills the
 * rest from the request and records it.  All return 0 or -errno.
 */

/*
 * Device-mapper backends (dm_backend.c): @b is VOL_BACKEND_DMCRYPT (stock
 * dm-crypt) or VOL_BACKEND_VOLCRYPT (our target, dm-target/).
 */
int vol_dm_backend_available(enum vol_backend b);  /* 1 if usable here, else 0 */
int vol_dm_activate(enum vol_backend b, const struct vol_map_request *req,
		    struct vol_mapping_info *info);
int vol_dm_deactivate(enum vol_backend b, const char *name); /* -EBUSY while open, -ENOENT */
/* The keyring description a mapping's key (or new key, during a rekey) goes by. */
void vol_dm_key_description(char *buf, size_t len, const char *uuid, const char *name,
			    int new_key);
/* Sets info->stale if the dm device is gone (info->backend says which kind). */
int vol_dm_refresh(struct vol_mapping_info *info);

/* fuse daemon + loop device (fuse_spawn.c). */
int vol_fuse_activate(const struct vol_map_request *req, struct vol_mapping_info *info);
/* -EBUSY while the loop device is open; cleans up a dead daemon's leftovers. */
int vol_fuse_deactivate(const struct vol_mapping_info *info, const char *run_dir);
/* Sets info->stale if the daemon is gone or its mount is dead. */
int vol_fuse_refresh(struct vol_mapping_info *info, const char *run_dir);

/*
 * Online rekey through a mapping (rekey_online.c): the volcrypt target
 * (rekey_dm.c) or the fuse daemon (rekey_fuse.c).
 */
int vol_dm_rekey(struct vol_volume *vol, const char *name, const struct vol_key *old_key,
		 const struct vol_key *new_key, vol_rekey_progress_fn progress, void *ctx);
int vol_fuse_rekey(struct vol_volume *vol, const struct vol_mapping_info *m,
		   const struct vol_key *old_key, const struct vol_key *new_key,
		   vol_rekey_progress_fn progress, void *ctx);

#endif
