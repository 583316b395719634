/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "backend.h"

int vol_dm_rekey(struct vol_volume *vol, const char *name, const struct vol_key *old_key,
		 const struct vol_key *new_key, vol_rekey_progress_fn progress, void *ctx)
{
	(void)vol; (void)name; (void)old_key; (void)new_key; (void)progress; (void)ctx;
	return -EOPNOTSUPP;
}
