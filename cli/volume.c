/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Load the header of the target and open it with a passphrase. */
#include "options.h"
#include "passphrase.h"
#include "report.h"
#include "volume.h"

int volume_open(const struct cli_opts *opts, unsigned int flags, struct vol_volume **vol)
{
	int err = vol_load(opts->target, flags, vol);

	return err ? report_lib_error(err, opts->target) : 0;
}

int volume_unlock(struct vol_volume *vol, const struct cli_opts *opts, int slot,
		  int *slot_out, struct vol_key **key_out)
{
	struct secret pass = SECRET_INIT;
	int err, status;

	status = passphrase_get(opts->key_file, opts->target, PASSPHRASE_EXISTING, &pass);
	if (!status) {
		err = vol_unlock(vol, slot, pass.data, pass.len, slot_out, key_out);
		if (err)
			status = report_lib_error(err, opts->target);
	}
	secret_free(&pass);
	return status;
}
