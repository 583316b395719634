/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Printing a mapping (open, status): human form and JSON. */
#ifndef VOLCRYPT_MAPPING_OUT_H
#define VOLCRYPT_MAPPING_OUT_H

#include <stdio.h>

#include "libvol.h"

struct json_object;

/* JSON keys: name, backend, device, target, uuid, size, sector_size,
 * read_only, pid, stale. */
struct json_object *mapping_json(const struct vol_mapping_info *m);

/* The human form, a few indented lines. */
void mapping_print(const struct vol_mapping_info *m, FILE *out);

#endif
