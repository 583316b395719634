/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The errno -> exit status table; the only place that knows the mapping. */
#include <errno.h>
#include <stddef.h>

#include "exit_codes.h"

static const struct {
	int err;
	int status;
} errno_table[] = {
	{ EINVAL, EXIT_STATUS_USAGE },
	/*
	 * Not produced by libvol, but by the CLI's own checks of user
	 * input (file names, sizes): still the caller's parameters.
	 */
	{ ENAMETOOLONG, EXIT_STATUS_USAGE },
	{ EFBIG, EXIT_STATUS_USAGE },
	/* Cancelled (a paused rekey), or not possible the way it was asked. */
	{ EINTR, EXIT_STATUS_USAGE },
	{ EOPNOTSUPP, EXIT_STATUS_USAGE },

	{ EPERM, EXIT_STATUS_AUTH },
	{ EACCES, EXIT_STATUS_AUTH },
	{ EROFS, EXIT_STATUS_AUTH },

	{ ENOMEM, EXIT_STATUS_NOMEM },

	{ ENOENT, EXIT_STATUS_DEVICE },
	{ ENODEV, EXIT_STATUS_DEVICE },
	{ ENOTDIR, EXIT_STATUS_DEVICE },
	{ EISDIR, EXIT_STATUS_DEVICE },
	{ EBADMSG, EXIT_STATUS_DEVICE },
	{ EPROTONOSUPPORT, EXIT_STATUS_DEVICE },
	{ EIO, EXIT_STATUS_DEVICE },
	{ ENXIO, EXIT_STATUS_DEVICE },

	{ EBUSY, EXIT_STATUS_BUSY },
	{ EEXIST, EXIT_STATUS_BUSY },
	{ ENOSPC, EXIT_STATUS_BUSY },
	{ ETXTBSY, EXIT_STATUS_BUSY },
	{ EALREADY, EXIT_STATUS_BUSY },
	{ EAGAIN, EXIT_STATUS_BUSY },
};

int exit_status_for_errno(int err)
{
	size_t i;

	if (err == 0)
		return EXIT_STATUS_OK;
	if (err < 0)
		err = -err;
	for (i = 0; i < sizeof(errno_table) / sizeof(errno_table[0]); i++)
		if (errno_table[i].err == err)
			return errno_table[i].status;
	/*
	 * Anything else is a failure of the environment rather than of the
	 * command line, so it must not look like a usage error to scripts.
	 */
	return EXIT_STATUS_DEVICE;
}
