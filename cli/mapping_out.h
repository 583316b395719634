/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Printing a mapping (open, status): human form and JSON. */
#ifndef VOLCRYPT_MAPPING_OUT_H
#define VOLCRYPT_MAPPING_OUT_H

#include <stdio.h>

#include "libvol.h"

struct json_object;

/* JSON keys: name, backend, device, target, uuid, size, sector_size,
 * read_only, pid, stale. */
struct json_object *mapping_json(const struct vol_mapping_info *m, const struct vol_rekey_info *rk);

/* The human form, a few indented lines. */
void mapping_print(const struct vol_mapping_info *m, const struct vol_rekey_info *rk, FILE *out);

/* The rekey state of the volume behind @m (nothing running if unreadable). */
void mapping_rekey_state(const struct vol_mapping_info *m, struct vol_rekey_info *rk);

#endif
