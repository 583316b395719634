/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Confirmation of destructive operations on the terminal. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "confirm.h"
#include "report.h"
#include "tty.h"

#define CONFIRM_WORD "YES"

int confirm(bool batch, const char *fmt, ...)
{
	struct secret answer = SECRET_INIT;
	char question[8192];
	size_t used;
	va_list ap;
	int err, status = 0;

	if (batch || !tty_interactive())
		return 0;

	va_start(ap, fmt);
	used = (size_t)vsnprintf(question, sizeof(question), fmt, ap);
	va_end(ap);
	if (used >= sizeof(question))
		used = sizeof(question) - 1;
	snprintf(question + used, sizeof(question) - used,
		 "\nType '" CONFIRM_WORD "' to continue: ");

	err = tty_ask(question, true, &answer);
	if (err)
		status = report_sys_error(err, "/dev/tty");
	else if (answer.len != strlen(CONFIRM_WORD) ||
		 memcmp(answer.data, CONFIRM_WORD, answer.len))
		status = report_error(-EINVAL, "operation cancelled",
				      "the answer was not '" CONFIRM_WORD "'");
	secret_free(&answer);
	return status;
}
