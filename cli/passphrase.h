/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where a passphrase comes from (docs/cli-spec.md, "Passphrase input"):
 * a key file (or "-" for all of stdin), else a hidden prompt on the
 * terminal when stdin is one, else one line of stdin.
 */
#ifndef VOLCRYPT_PASSPHRASE_H
#define VOLCRYPT_PASSPHRASE_H

#include "libvol.h"
#include "secret.h"

enum passphrase_purpose {
	PASSPHRASE_EXISTING,	/* opens the volume: asked once */
	PASSPHRASE_INITIAL,	/* format's first passphrase: asked twice */
	PASSPHRASE_NEW,		/* add-key/passwd replacement: asked twice */
};

/*
 * Fills @out with a non-empty passphrase.  @key_file may be NULL;
 * @target is named in the prompt.  Returns 0, or an exit status after
 * the error line has been printed.  @out must be freed with
 * secret_free() in both cases.
 */
int passphrase_get(const char *key_file, const char *target,
		   enum passphrase_purpose purpose, struct secret *out);

/* At most one passphrase to keep per keyslot besides the unlocking one. */
#define KEPT_PASSPHRASES_MAX (VOL_KEYSLOTS - 1)

/*
 * The passphrases a rekey or a conversion carries over (--keep-key-file),
 * and the views of them libvol takes: data[i]/len[i] point into secret[i].
 */
struct kept_passphrases {
	struct secret secret[KEPT_PASSPHRASES_MAX];
	const char *data[KEPT_PASSPHRASES_MAX];
	size_t len[KEPT_PASSPHRASES_MAX];
	int n;
};

/*
 * Reads the @n (<= KEPT_PASSPHRASES_MAX) existing passphrases to keep,
 * one per file in @files: a file each, never "-" (stdin is for the
 * unlocking passphrase).  Returns 0 or an exit status; @out must be freed
 * with passphrases_kept_free() either way.
 */
int passphrase_get_kept(const char *const *files, int n, const char *target,
			struct kept_passphrases *out);

/* Wipes and releases every kept passphrase. */
void passphrases_kept_free(struct kept_passphrases *kept);

#endif /* VOLCRYPT_PASSPHRASE_H */
