/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /etc/volcrypttab: the volumes to open at boot (docs/volcrypttab.5).
 *
 *     # NAME   DEVICE                                     KEY-FILE   OPTIONS
 *     root     UUID=1b4e28ba-2fa1-11d2-883f-0016d3cca427  none       initramfs,tries=5
 *     data     /dev/sdb1                                  /etc/volcrypt/data.key  discard
 *
 * Fields are separated by blanks; KEY-FILE and OPTIONS may be left out
 * (none, no options); '#' starts a comment line.
 */
#ifndef VOLCRYPT_VOLCRYPTTAB_H
#define VOLCRYPT_VOLCRYPTTAB_H

#include <stdbool.h>
#include <stddef.h>

#include "libvol.h"

#define VOLCRYPTTAB_DEFAULT "/etc/volcrypttab"
#define VOLCRYPTTAB_TRIES_DEFAULT 3
#define VOLCRYPTTAB_TRIES_MAX 100
/* Longest line accepted (a path may be up to PATH_MAX). */
#define VOLCRYPTTAB_LINE_MAX 8192

struct tab_entry {
	char *name;		/* mapping name */
	char *device;		/* a path or "UUID=..." as written */
	char *key_file;		/* NULL for "none": ask for the passphrase */
	enum vol_backend backend;
	bool read_only;
	bool discard;
	bool initramfs;		/* opened by the initramfs (the root, /usr) */
	bool noauto;		/* not opened at boot, only on demand */
	bool nofail;		/* boot goes on if it cannot be opened */
	unsigned int tries;	/* passphrase prompts before giving up */
	unsigned int line;
};

struct volcrypttab {
	struct tab_entry *entries;
	size_t count;
};

/*
 * Parses one line into @e (no allocation on error).  Returns 1 for an
 * entry, 0 for a blank or comment line, -EINVAL with the reason in @why.
 */
int tab_parse_line(const char *line, struct tab_entry *e, char *why, size_t why_len);

/*
 * Reads the table at @path.  Returns 0, or an exit status after the error
 * line ("volcrypt: PATH:LINE: reason" for a malformed line, exit 1; a
 * missing or unreadable file, exit 4).
 */
int tab_load(const char *path, struct volcrypttab *tab);

/* The entry called @name, or NULL. */
const struct tab_entry *tab_find(const struct volcrypttab *tab, const char *name);

/* The options of @e in the canonical form tab_parse_line reads ("-" if none). */
void tab_options_string(const struct tab_entry *e, char *buf, size_t len);

void tab_free(struct volcrypttab *tab);

#endif /* VOLCRYPT_VOLCRYPTTAB_H */
