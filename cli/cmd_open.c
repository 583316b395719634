/* SPDX-License-Identifier: GPL-2.0-or-later */
/* volcrypt open TARGET NAME, volcrypt close NAME. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "json_out.h"
#include "mapping_out.h"
#include "options.h"
#include "report.h"
#include "volume.h"

/* volcrypt-fused is installed next to volcrypt; libvol finds it there. */
static int activate(struct vol_volume *vol, const struct vol_key *key,
		    const struct cli_opts *opts, struct vol_mapping_info *m)
{
	struct vol_activate_params p = {
		.backend = opts->backend,
		.read_only = opts->read_only,
		.allow_discards = opts->allow_discards,
	};
	int r = vol_activate(vol, key, opts->file, &p, m);

	return r ? report_lib_error(r, opts->file) : 0;
}

int cmd_open(const struct cli_opts *opts)
{
	struct vol_volume *vol = NULL;
	struct vol_key *key = NULL;
	struct vol_mapping_info m;
	int status;

	/* A bad NAME is a usage error: say so before asking for a passphrase. */
	if (vol_name_check(opts->file))
		return report_lib_error(-EINVAL, opts->file);
	status = volume_open(opts, VOL_LOAD_READONLY, &vol);
	if (!status)
		status = volume_unlock(vol, opts, opts->slot, NULL, &key);
	if (!status)
		status = activate(vol, key, opts, &m);
	vol_key_free(key);
	vol_free(vol);
	if (status)
		return status;
	if (opts->json)
		return json_out_print(mapping_json(&m), JSON_OUT_PLAIN);
	if (opts->backend == VOL_BACKEND_AUTO)
		fprintf(stderr, "volcrypt: %s opened with the %s backend\n", m.name,
			vol_backend_name(m.backend));
	printf("%s\n", m.device);
	return 0;
}

int cmd_close(const struct cli_opts *opts)
{
	struct json_object *o;
	int r = vol_deactivate(opts->target);

	if (r)
		return report_lib_error(r, opts->target);
	o = json_out_object();
	json_out_set_string(o, "name", opts->target);
	json_out_set(o, "closed", json_object_new_boolean(1));
	return json_out_result(opts->json, o, "%s", "");
}
