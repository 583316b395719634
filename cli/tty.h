/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Questions asked on the controlling terminal (/dev/tty), so that they
 * reach the user even when stdout is redirected or carries JSON.
 */
#ifndef VOLCRYPT_TTY_H
#define VOLCRYPT_TTY_H

#include <stdbool.h>

#include "secret.h"

/* True when stdin is a terminal: the condition for asking anything. */
bool tty_interactive(void);

/*
 * Writes @prompt to /dev/tty and reads one line into @answer.  With
 * @echo false the typed characters are not shown, and the terminal is
 * restored even if a signal ends the process meanwhile.
 * Returns 0 or a negative errno.
 */
int tty_ask(const char *prompt, bool echo, struct secret *answer);

#endif /* VOLCRYPT_TTY_H */
