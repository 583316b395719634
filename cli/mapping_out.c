/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Printing a mapping (open, status): human form and JSON. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "json_out.h"
#include "mapping_out.h"
#include "progress.h"

void mapping_header_read(const struct vol_mapping_info *m, struct mapping_header *h)
{
	struct vol_volume *vol = NULL;

	memset(h, 0, sizeof(*h));
	if (m->stale)
		return;
	/* One load reads either header (a volcrypt one first). */
	if (vol_load(m->target, VOL_LOAD_READONLY | VOL_LOAD_LUKS2, &vol))
		return;
	if (vol_get_header_format(vol) == VOL_HEADER_LUKS2) {
		h->format = "luks2";
	} else {
		h->format = "volcrypt";
		/* The header says how far a rekey is (committed about once a second). */
		vol_get_rekey_info(vol, &h->rekey);
	}
	vol_free(vol);
}

struct json_object *mapping_json(const struct vol_mapping_info *m, const struct mapping_header *h)
{
	const struct vol_rekey_info *rk = h ? &h->rekey : NULL;
	struct json_object *o = json_out_object();

	json_out_set_string(o, "name", m->name);
	json_out_set_string(o, "backend", vol_backend_name(m->backend));
	json_out_set_string(o, "device", m->device);
	json_out_set_string(o, "target", m->target);
	json_out_set_string(o, "uuid", m->uuid);
	json_out_set_u64(o, "size", m->size);
	json_out_set_u64(o, "sector_size", m->sector_size);
	json_out_set(o, "read_only", json_object_new_boolean(m->read_only));
	json_out_set_int(o, "pid", m->pid);
	json_out_set(o, "stale", json_object_new_boolean(m->stale));
	if (h && h->format)
		json_out_set_string(o, "format", h->format);
	if (rk && rk->running) {
		struct json_object *r = json_out_object();

		json_out_set_u64(r, "boundary", rk->boundary);
		json_out_set_u64(r, "total", rk->data_size);
		json_out_set_double(r, "percent", progress_percent(rk->boundary, rk->data_size));
		json_out_set(o, "rekey", r);
	}
	return o;
}

void mapping_print(const struct vol_mapping_info *m, const struct mapping_header *h, FILE *out)
{
	const struct vol_rekey_info *rk = h ? &h->rekey : NULL;

	fprintf(out, "%s is %s.\n", m->name, m->stale ? "STALE (its backend is gone; "
		"'volcrypt close' cleans it up)" : "active");
	fprintf(out, "  backend:      %s\n", vol_backend_name(m->backend));
	fprintf(out, "  device:       %s\n", m->device);
	fprintf(out, "  target:       %s\n", m->target);
	if (h && h->format)
		fprintf(out, "  format:       %s\n", strcmp(h->format, "luks2") ? "volcrypt" : "LUKS2");
	fprintf(out, "  uuid:         %s\n", m->uuid);
	fprintf(out, "  size:         %" PRIu64 " bytes (%" PRIu64 " sectors of 512)\n",
		m->size, m->size / 512);
	fprintf(out, "  sector size:  %" PRIu32 "\n", m->sector_size);
	fprintf(out, "  mode:         %s\n", m->read_only ? "read-only" : "read/write");
	if (m->pid)
		fprintf(out, "  daemon pid:   %d\n", m->pid);
	if (rk && rk->running)
		fprintf(out, "  rekey:        in progress, %.1f%% (%" PRIu64 " of %" PRIu64 " bytes)\n",
			progress_percent(rk->boundary, rk->data_size), rk->boundary, rk->data_size);
}
