/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Diagnostics of the volcrypt command: the libvol log callback and the
 * single-line error messages "volcrypt: <what>: <why>" on stderr.
 *
 * Every report_*error() function returns the exit status that belongs to
 * the error, so callers can write "return report_error(...);".
 */
#ifndef VOLCRYPT_REPORT_H
#define VOLCRYPT_REPORT_H

#include <stdbool.h>

#include "libvol.h"

/* The vol_log_fn installed with vol_set_log(). */
void report_log(enum vol_log_level level, const char *msg, void *ctx);

/* Show library debug and info messages (--debug). */
void report_set_debug(bool debug);

/*
 * Error found by the CLI itself; @err is the negative errno that decides
 * the exit status, @fmt the human reason.
 */
int report_error(int err, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A failed system call: the reason is strerror(-err). */
int report_sys_error(int err, const char *what);

/*
 * A failed libvol call: the reason is the last ERROR message the library
 * logged, else vol_strerror(err).
 */
int report_lib_error(int err, const char *what);

/* "volcrypt: warning: ..." on stderr. */
void report_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* VOLCRYPT_REPORT_H */
