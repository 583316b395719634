/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The systemd generator's half of volcrypttab: a volcrypt@NAME.service
 * for each entry the initramfs does not open (docs/volcrypttab.5,
 * "SYSTEMD").
 */
#ifndef VOLCRYPT_TAB_UNITS_H
#define VOLCRYPT_TAB_UNITS_H

#include "volcrypttab.h"

/*
 * Writes the units of @tab (read from @tab_path) into the generator
 * directory @dir, with @volcrypt as the program they run.  Returns 0 or
 * an exit status after the error line.
 */
int tab_units_write(const struct volcrypttab *tab, const char *tab_path, const char *dir,
		    const char *volcrypt);

#endif /* VOLCRYPT_TAB_UNITS_H */
