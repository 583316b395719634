/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Online rekey: which backend holds the volume decides who rewrites the
 * chunks (rekey.h).  The volcrypt kernel target does it in the kernel,
 * driven by device-mapper messages; a fuse daemon runs the rekey loop
 * itself, inside the process that serves the I/O.
 */
#include <errno.h>

#include "backend.h"
#include "internal.h"
#include "rekey.h"
#include "volume.h"

int vol_rekey_run_mapping(struct vol_volume *vol, const char *name,
			  const struct vol_key *old_key, const struct vol_key *new_key,
			  vol_rekey_progress_fn progress, void *ctx)
{
	struct vol_mapping_info m;
	int r;

	if (!vol || !name || !new_key)
		return -EINVAL;
	r = vol_mapping_get(name, &m);
	if (r)
		return r;
	switch (m.backend) {
	case VOL_BACKEND_VOLCRYPT:
		return vol_dm_rekey(vol, name, old_key, new_key, progress, ctx);
	case VOL_BACKEND_FUSE:
		return vol_fuse_rekey(vol, &m, old_key, new_key, progress, ctx);
	default:
		vol_err("%s: the dm-crypt backend cannot re-encrypt online (its table holds one "
			"key); close it and run the rekey offline, or open it with "
			"--backend volcrypt", name);
		return -EOPNOTSUPP;
	}
}
