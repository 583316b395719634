/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "backend.h"

int vol_fuse_rekey(struct vol_volume *vol, const struct vol_mapping_info *m,
		   const struct vol_key *old_key, const struct vol_key *new_key,
		   vol_rekey_progress_fn progress, void *ctx)
{
	(void)vol; (void)m; (void)old_key; (void)new_key; (void)progress; (void)ctx;
	return -EOPNOTSUPP;
}
