/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The protector file of a layered home directory: the user's master key
 * MK_u wrapped under the user's login passphrase with the keyslot
 * construction (docs/FORMAT.md section 13).
 */
#ifndef LIBVOL_HOME_PROTECTOR_H
#define LIBVOL_HOME_PROTECTOR_H

#include <stdint.h>

#include "libvol.h"

/*
 * Creates MK_u (64 random bytes) and writes its protector to the new file
 * @path (0600, durable when this returns; -EEXIST if it exists).  On
 * success *mk holds MK_u (free with vol_key_free).
 */
int vol_protector_create(const char *path, uint32_t uid, enum vol_home_layer layer,
			 const struct vol_kdf_params *kdf, const char *pass, size_t pass_len,
			 struct vol_key **mk);

/* Reads what the protector at @path says without a passphrase. */
int vol_protector_read_info(const char *path, struct vol_home_protector_info *info);

/*
 * Unwraps MK_u with @pass.  -EPERM for a wrong passphrase, -EBADMSG for
 * a damaged file, -ENOENT if there is none.
 */
int vol_protector_unlock(const char *path, const char *pass, size_t pass_len,
			 struct vol_key **mk, struct vol_home_protector_info *info);

#endif
