/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Load the header of the target and open it with a passphrase. */
#include <errno.h>

#include "options.h"
#include "passphrase.h"
#include "report.h"
#include "volume.h"

/* 1 if @target holds a LUKS2 header (which only open and convert take). */
static int is_luks2(const char *target)
{
	struct vol_volume *vol;
	int luks2;

	if (vol_load(target, VOL_LOAD_READONLY | VOL_LOAD_LUKS2, &vol))
		return 0;
	luks2 = vol_get_header_format(vol) == VOL_HEADER_LUKS2;
	vol_free(vol);
	return luks2;
}

int volume_open(const struct cli_opts *opts, unsigned int flags, struct vol_volume **vol)
{
	int err = vol_load(opts->target, flags, vol);

	if (err == -EBADMSG && is_luks2(opts->target))
		return report_error(err, opts->target, "a LUKS2 volume: 'volcrypt open' maps it and "
				    "'volcrypt convert --from-luks2' makes it a volcrypt volume; "
				    "for its header and keyslots use cryptsetup");
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
