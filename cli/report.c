/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Library log routing and the one error line a failing command prints. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exit_codes.h"
#include "report.h"

#define PROGRAM "volcrypt"

static bool show_debug;

/*
 * libvol logs the precise cause of a failure (which file, which check)
 * before returning a bare errno; the error line uses the last such
 * message, so keep it until it is consumed.
 */
static char last_error[512];

void report_set_debug(bool debug)
{
	show_debug = debug;
}

void report_log(enum vol_log_level level, const char *msg, void *ctx)
{
	(void)ctx;

	switch (level) {
	case VOL_LOG_ERROR:
		snprintf(last_error, sizeof(last_error), "%s", msg);
		if (show_debug)
			fprintf(stderr, PROGRAM ": debug: error: %s\n", msg);
		break;
	case VOL_LOG_WARN:
		fprintf(stderr, PROGRAM ": warning: %s\n", msg);
		break;
	case VOL_LOG_INFO:
	case VOL_LOG_DEBUG:
	default:
		if (show_debug)
			fprintf(stderr, PROGRAM ": debug: %s\n", msg);
		break;
	}
}

static void print_error_line(const char *what, const char *why)
{
	if (what && *what)
		fprintf(stderr, PROGRAM ": %s: %s\n", what, why);
	else
		fprintf(stderr, PROGRAM ": %s\n", why);
}

int report_error(int err, const char *what, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	print_error_line(what, why);
	return exit_status_for_errno(err);
}

int report_sys_error(int err, const char *what)
{
	print_error_line(what, strerror(err < 0 ? -err : err));
	return exit_status_for_errno(err);
}

/*
 * Whether @msg names @what as a word of its own ("cannot open X: ..."),
 * so that the error line does not repeat it.  A bare substring test
 * would let a target called "a" match almost any message.
 */
static bool names_subject(const char *msg, const char *what)
{
	size_t len = strlen(what);
	const char *p;

	for (p = strstr(msg, what); len && p; p = strstr(p + 1, what)) {
		bool starts = p == msg || p[-1] == ' ';
		bool ends = p[len] == '\0' || p[len] == ':' || p[len] == ' ';

		if (starts && ends)
			return true;
	}
	return false;
}

int report_lib_error(int err, const char *what)
{
	if (last_error[0]) {
		print_error_line(what && names_subject(last_error, what) ? NULL : what,
				 last_error);
		last_error[0] = '\0';
	} else {
		print_error_line(what, vol_strerror(err));
	}
	return exit_status_for_errno(err);
}

void report_warning(const char *fmt, ...)
{
	va_list ap;

	fputs(PROGRAM ": warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
