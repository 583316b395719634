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
#include "passphrase.h"

struct cli_opts;

struct home_target {
	char user[256];
	char dir[PATH_MAX];		/* the home directory, absolute */
	char fs_root[PATH_MAX];		/* mount point of the filesystem holding it */
	struct vol_mapping_info mapping;	/* the volume under that filesystem */
	struct vol_home home;		/* for libvol: points into the above */
};

/*
 * Resolves --user (default: $PAM_USER when pam_exec runs us), --home and
 * --volume (required when @need_volume).
 * Returns 0, or an exit status after the error line: unknown user (1),
 * volume not open or the home not on it (4).
 */
int home_target_resolve(const struct cli_opts *opts, bool need_volume, struct home_target *t);

/*
 * The user's login passphrase (passphrase.h rules, the prompt naming the
 * user).  It ends at the first NUL: pam_exec's expose_authtok sends it
 * NUL-terminated, and a PAM passphrase cannot contain one.
 */
int home_passphrase_get(const struct cli_opts *opts, const struct home_target *t,
			enum passphrase_purpose purpose, struct secret *pass);

#endif
