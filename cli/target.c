/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TARGET=UUID=... resolution for every command that takes a TARGET. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libvol.h"
#include "report.h"
#include "target.h"

int target_resolve(const char *spec, char *path, size_t path_len)
{
	size_t n = strlen(TARGET_UUID_PREFIX);
	int r;

	if (strncmp(spec, TARGET_UUID_PREFIX, n)) {
		if ((size_t)snprintf(path, path_len, "%s", spec) >= path_len)
			return report_error(-EINVAL, spec, "path too long");
		return 0;
	}
	r = vol_find_uuid(spec + n, path, path_len);
	/* Two devices with one UUID: a device problem, not a usage error. */
	if (r == -ENOTUNIQ)
		r = -ENODEV;
	return r ? report_lib_error(r, spec) : 0;
}
