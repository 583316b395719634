/* SPDX-License-Identifier: GPL-2.0-or-later */
/* header-backup and header-restore: the header area to and from a file. */
#include <stdio.h>

#include "command.h"
#include "confirm.h"
#include "json_out.h"
#include "options.h"
#include "report.h"
#include "volume.h"

/* --json: both commands name the same two files. */
static struct json_object *files_json(const struct cli_opts *opts)
{
	struct json_object *obj = json_out_object();

	json_out_set_string(obj, "device", opts->target);
	json_out_set_string(obj, "backup", opts->file);
	return obj;
}

int cmd_header_backup(const struct cli_opts *opts)
{
	struct vol_volume *vol = NULL;
	int err, status;

	status = volume_open(opts, VOL_LOAD_READONLY, &vol);
	if (!status) {
		err = vol_header_backup(vol, opts->file);
		if (err)
			status = report_lib_error(err, opts->file);
	}
	vol_free(vol);
	if (status)
		return status;
	return json_out_result(opts->json, files_json(opts), "Header backed up to %s.\n",
			       opts->file);
}

int cmd_header_restore(const struct cli_opts *opts)
{
	int err, status;

	status = confirm(opts->batch,
			 "The header of %s will be replaced by the backup %s; passphrases "
			 "added since the backup will no longer open the volume.",
			 opts->target, opts->file);
	if (status)
		return status;
	err = vol_header_restore(opts->target, opts->file, opts->force);
	if (err)
		return report_lib_error(err, opts->target);
	return json_out_result(opts->json, files_json(opts), "Header of %s restored from %s.\n",
			       opts->target, opts->file);
}
