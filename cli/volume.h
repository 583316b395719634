/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Opening and unlocking the target volume, shared by every command that
 * works on an existing header.  Both return 0 or an exit status after
 * the error line.
 */
#ifndef VOLCRYPT_VOLUME_H
#define VOLCRYPT_VOLUME_H

#include "libvol.h"

struct cli_opts;

/* vol_load() of opts->target; @flags as for vol_load(). */
int volume_open(const struct cli_opts *opts, unsigned int flags, struct vol_volume **vol);

/*
 * Asks the existing passphrase (opts->key_file, else prompt or stdin) and
 * tries it on @slot (SLOT_ANY: every active slot).  On success *slot_out
 * and *key_out (each optional) receive the slot that matched and the
 * volume key; free the key with vol_key_free().
 */
int volume_unlock(struct vol_volume *vol, const struct cli_opts *opts, int slot,
		  int *slot_out, struct vol_key **key_out);

#endif /* VOLCRYPT_VOLUME_H */
