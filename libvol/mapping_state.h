/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The record of an active mapping: VOL_RUN_DIR/NAME/state (no secrets). */
#ifndef LIBVOL_MAPPING_STATE_H
#define LIBVOL_MAPPING_STATE_H

#include <stddef.h>

#include "libvol.h"

/* VOL_RUN_DIR "/" NAME "/state.tmp" and a NUL fit. */
#define PATH_MAX_STATE (sizeof("/run/volcrypt/") + VOL_NAME_MAX + sizeof("/state.tmp"))

/* VOL_RUN_DIR/NAME into @buf. */
void vol_state_dir(const char *name, char *buf, size_t len);

/* Create VOL_RUN_DIR/NAME (0700): -EEXIST if it is taken. */
int vol_state_reserve(const char *name);

/* Write the state file atomically (temporary file + rename). */
int vol_state_write(const struct vol_mapping_info *info);

/* Read it back: -ENOENT if there is no such mapping, -EBADMSG if unreadable. */
int vol_state_read(const char *name, struct vol_mapping_info *info);

/* Remove the state file and the (then empty) directory. */
int vol_state_remove(const char *name);

#endif
