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
	struct mapping_header h;
	int r = vol_mapping_get(opts->target, &m);

	if (r)
		return report_lib_error(r, opts->target);
	mapping_header_read(&m, &h);
	if (opts->json)
		return json_out_print(mapping_json(&m, &h), JSON_OUT_PLAIN);
	mapping_print(&m, &h, stdout);
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
		struct mapping_header h;

		if (vol_mapping_get(names[i], &m))
			continue; /* vanished between the listing and now */
		mapping_header_read(&m, &h);
		if (opts->json)
			json_out_append(arr, mapping_json(&m, &h));
		else
			mapping_print(&m, &h, stdout);
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
