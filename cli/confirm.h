/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The "Type 'YES' to continue" question before irreversible changes. */
#ifndef VOLCRYPT_CONFIRM_H
#define VOLCRYPT_CONFIRM_H

#include <stdbool.h>

/*
 * Shows the formatted reason and asks for "YES" - only when stdin is a
 * terminal and @batch is false; otherwise consent is implied.  Returns 0
 * to proceed, or exit status 1 after the error line.
 */
int confirm(bool batch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* VOLCRYPT_CONFIRM_H */
