/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a `volcrypt home` command works on: the user, their home
 * directory, the filesystem that holds it and the open volcrypt volume
 * under that filesystem.
 */
#ifndef VOLCRYPT_HOME_TARGET_H
#define VOLCRYPT_HOME_TARGET_H

#include <limits.h>
#include <stdbool.h>

#include "libvol.h"

struct cli_opts;

struct home_target {
	char user[256];
	char dir[PATH_MAX];		/* the home directory, absolute */
	char fs_root[PATH_MAX];		/* mount point of the filesystem holding it */
	struct vol_mapping_info mapping;	/* the volume under that filesystem */
	struct vol_home home;		/* for libvol: points into the above */
};

/*
 * Resolves --user, --home and --volume (required when @need_volume).
 * Returns 0, or an exit status after the error line: unknown user (1),
 * volume not open or the home not on it (4).
 */
int home_target_resolve(const struct cli_opts *opts, bool need_volume, struct home_target *t);

#endif
