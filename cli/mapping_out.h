/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Printing a mapping (open, status): human form and JSON. */
#ifndef VOLCRYPT_MAPPING_OUT_H
#define VOLCRYPT_MAPPING_OUT_H

#include <stdio.h>

#include "libvol.h"

struct json_object;

/* What the target's header says about a mapping. */
struct mapping_header {
	const char *format;		/* "volcrypt", "luks2", or NULL: unreadable */
	struct vol_rekey_info rekey;	/* nothing running unless a volcrypt header says so */
};

/* JSON keys: name, backend, device, target, uuid, size, sector_size,
 * read_only, pid, stale, and with @h format and rekey. */
struct json_object *mapping_json(const struct vol_mapping_info *m, const struct mapping_header *h);

/* The human form, a few indented lines. */
void mapping_print(const struct vol_mapping_info *m, const struct mapping_header *h, FILE *out);

/* Reads the header behind @m (a stale mapping's is not read). */
void mapping_header_read(const struct vol_mapping_info *m, struct mapping_header *h);

#endif
