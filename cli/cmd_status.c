/* SPDX-License-Identifier: GPL-2.0-or-later */
/* volcrypt status [NAME]: one mapping, or all of them. */
#include <stdio.h>

#include "command.h"
#include "json_out.h"
#include "mapping_out.h"
#include "options.h"
#include "report.h"

static int status_one(const struct cli_opts *opts)
{
	struct vol_mapping_info m;
	struct vol_rekey_info rk;
	int r = vol_mapping_get(opts->target, &m);

	if (r)
		return report_lib_error(r, opts->target);
	mapping_rekey_state(&m, &rk);
	if (opts->json)
		return json_out_print(mapping_json(&m, &rk), JSON_OUT_PLAIN);
	mapping_print(&m, &rk, stdout);
	return 0;
}

static int status_all(const struct cli_opts *opts)
{
	struct json_object *arr = json_out_array();
	char **names = NULL;
	size_t n = 0;
	int r = vol_mapping_list(&names, &n);

	if (r) {
		json_out_discard(arr);
		return report_lib_error(r, "/run/volcrypt");
	}
	for (size_t i = 0; i < n; i++) {
		struct vol_mapping_info m;
		struct vol_rekey_info rk;

		if (vol_mapping_get(names[i], &m))
			continue; /* vanished between the listing and now */
		mapping_rekey_state(&m, &rk);
		if (opts->json)
			json_out_append(arr, mapping_json(&m, &rk));
		else
			mapping_print(&m, &rk, stdout);
	}
	vol_mapping_list_free(names, n);
	if (opts->json)
		return json_out_print(arr, JSON_OUT_PLAIN);
	json_out_discard(arr);
	if (n == 0)
		printf("No volcrypt mappings.\n");
	return 0;
}

int cmd_status(const struct cli_opts *opts)
{
	return opts->target ? status_one(opts) : status_all(opts);
}
