/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Exit statuses of the volcrypt command (docs/cli-spec.md, "Errors and
 * exit codes") and the mapping from the negative errno values that libvol
 * and the system calls of the CLI report.
 */
#ifndef VOLCRYPT_EXIT_CODES_H
#define VOLCRYPT_EXIT_CODES_H

enum exit_status {
	EXIT_STATUS_OK = 0,
	EXIT_STATUS_USAGE = 1,		/* wrong parameters, refused, cancelled */
	EXIT_STATUS_AUTH = 2,		/* bad passphrase or no permission */
	EXIT_STATUS_NOMEM = 3,		/* out of memory */
	EXIT_STATUS_DEVICE = 4,		/* wrong/corrupt device or header, I/O */
	EXIT_STATUS_BUSY = 5,		/* busy, exists, no free keyslot */
};

/* Exit status for a negative errno value (0 maps to EXIT_STATUS_OK). */
int exit_status_for_errno(int err);

#endif /* VOLCRYPT_EXIT_CODES_H */
