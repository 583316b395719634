/* SPDX-License-Identifier: GPL-2.0-or-later */
/* volcrypt convert TARGET --to-luks2 | --from-luks2 (docs/FORMAT.md section 14). */
#include <errno.h>
#include <stdio.h>

#include "command.h"
#include "confirm.h"
#include "json_out.h"
#include "options.h"
#include "passphrase.h"
#include "progress.h"
#include "report.h"

static int check_direction(const struct cli_opts *opts)
{
	if (opts->to_luks2 == opts->from_luks2)
		return report_error(-EINVAL, "convert", "give exactly one of --to-luks2 and "
				    "--from-luks2");
	return 0;
}

static int run(const struct cli_opts *opts, const struct secret *pass, double *ms)
{
	struct kept_passphrases keep;
	struct vol_convert_params p = {
		.keep = keep.data, .keep_len = keep.len, .nkeep = opts->keep_key_files,
		.kdf = opts->kdf,
	};
	double t0;
	int status, err;

	status = passphrase_get_kept(opts->keep_key_file, opts->keep_key_files, opts->target,
				     &keep);
	if (!status) {
		t0 = progress_now_ms();
		err = opts->to_luks2 ?
		      vol_convert_to_luks2(opts->target, pass->data, pass->len, &p) :
		      vol_convert_from_luks2(opts->target, pass->data, pass->len, &p);
		*ms = progress_now_ms() - t0;
		if (err)
			status = report_lib_error(err, opts->target);
	}
	passphrases_kept_free(&keep);
	return status;
}

int cmd_convert(const struct cli_opts *opts)
{
	const char *to = opts->to_luks2 ? "LUKS2" : "volcrypt";
	struct secret pass = SECRET_INIT;
	struct json_object *o;
	double ms = 0;
	int status;

	status = check_direction(opts);
	if (!status)
		status = confirm(opts->batch, "This will replace the header of %s by a %s header "
				 "(the data stays; passphrases not given here stop working).",
				 opts->target, to);
	if (!status)
		status = passphrase_get(opts->key_file, opts->target, PASSPHRASE_EXISTING, &pass);
	if (!status)
		status = run(opts, &pass, &ms);
	secret_free(&pass);
	if (status)
		return status;
	o = json_out_object();
	json_out_set_string(o, "device", opts->target);
	json_out_set_string(o, "format", opts->to_luks2 ? "luks2" : "volcrypt");
	json_out_set_int(o, "keyslots", 1 + opts->keep_key_files);
	json_out_set_double(o, "ms", ms);
	return json_out_result(opts->json, o, "Converted %s to %s (%d passphrase%s in new "
			       "keyslots) in %.0f ms.", opts->target, to,
			       1 + opts->keep_key_files, opts->keep_key_files ? "s" : "", ms);
}
