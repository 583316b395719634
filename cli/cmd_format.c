/* SPDX-License-Identifier: GPL-2.0-or-later */
/* volcrypt format: write a new header with the passphrase in keyslot 0. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command.h"
#include "confirm.h"
#include "image_file.h"
#include "json_out.h"
#include "options.h"
#include "passphrase.h"
#include "report.h"

/* vol_format() always puts the first passphrase in keyslot 0. */
#define FORMAT_KEYSLOT 0

/*
 * Decides before any question whether the target can be formatted at
 * all, so that a typo in the path does not cost a passphrase prompt.
 */
static int check_target(const struct cli_opts *opts, bool *exists)
{
	struct stat st;

	*exists = stat(opts->target, &st) == 0;
	if (!*exists && errno != ENOENT)
		return report_sys_error(-errno, opts->target);
	if (!*exists && !opts->size_given)
		return report_error(-ENOENT, opts->target,
				    "no such file (--size creates an image file)");
	if (opts->size_given)
		return image_check_size(opts->target, *exists ? &st : NULL, opts->size);
	return 0;
}

static int format_target(const struct cli_opts *opts, const struct secret *pass,
			 struct vol_volume **vol)
{
	struct vol_format_params params;
	int err;

	memset(&params, 0, sizeof(params));
	params.label = opts->label;
	params.uuid = opts->uuid;
	params.sector_size = opts->sector_size;
	params.force = opts->force;
	params.kdf = opts->kdf;
	err = vol_format(opts->target, &params, pass->data, pass->len, vol);
	return err ? report_lib_error(err, opts->target) : 0;
}

static int print_result(const struct cli_opts *opts, const struct vol_volume *vol)
{
	struct json_object *out;
	struct vol_info info;
	int err;

	err = vol_get_info(vol, &info);
	if (err)
		return report_lib_error(err, opts->target);
	out = json_out_object();
	json_out_set_string(out, "device", opts->target);
	json_out_set_string(out, "uuid", info.uuid);
	json_out_set_int(out, "keyslot", FORMAT_KEYSLOT);
	json_out_set_u64(out, "sector_size", info.sector_size);
	json_out_set_u64(out, "data_offset", info.data_offset);
	json_out_set_u64(out, "data_size", info.data_size);
	return json_out_result(opts->json, out,
			       "Formatted %s: UUID %s, passphrase in keyslot %d.\n",
			       opts->target, info.uuid, FORMAT_KEYSLOT);
}

int cmd_format(const struct cli_opts *opts)
{
	struct secret pass = SECRET_INIT;
	struct vol_volume *vol = NULL;
	struct image_change change = { 0 };
	bool exists;
	int status;

	status = check_target(opts, &exists);
	/* A file that --size is about to create holds nothing to lose. */
	if (!status && exists)
		status = confirm(opts->batch, "This will overwrite data on %s irrevocably.",
				 opts->target);
	if (!status)
		status = passphrase_get(opts->key_file, opts->target, PASSPHRASE_INITIAL, &pass);
	if (!status && opts->size_given)
		status = image_grow(opts->target, opts->size, &change);
	if (!status)
		status = format_target(opts, &pass, &vol);
	secret_free(&pass);
	/* A refused or failed format leaves the file as it found it. */
	if (status)
		image_undo(opts->target, &change);
	if (!status)
		status = print_result(opts, vol);
	vol_free(vol);
	return status;
}
