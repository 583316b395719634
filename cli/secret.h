/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Growable buffers for passphrases and other secrets.  The bytes live
 * only in libgcrypt secure memory (locked, never swapped) and are wiped
 * before the memory is released or moved.
 */
#ifndef VOLCRYPT_SECRET_H
#define VOLCRYPT_SECRET_H

#include <stddef.h>

/* Largest secret accepted from any source (key file, stdin, terminal). */
#define SECRET_MAX_BYTES (1024 * 1024)

struct secret {
	char *data;	/* not NUL-terminated: key files may contain NULs */
	size_t len;
	size_t cap;
};

#define SECRET_INIT { NULL, 0, 0 }

enum secret_read_mode {
	SECRET_READ_TO_EOF,	/* key files: every byte, verbatim */
	SECRET_READ_LINE,	/* one line; the '\n' is consumed, not stored */
};

/*
 * Appends what @fd delivers to @s.  Returns 0, -EFBIG when more than
 * SECRET_MAX_BYTES arrive, -ENOMEM, or the negative errno of read().
 */
int secret_read_fd(struct secret *s, int fd, enum secret_read_mode mode);

/* Makes room for @n more bytes.  Returns 0 or -ENOMEM. */
int secret_reserve(struct secret *s, size_t n);

/* 1 if both secrets hold the same bytes. */
int secret_equal(const struct secret *a, const struct secret *b);

/* Wipes and releases @s and leaves it empty (safe to call twice). */
void secret_free(struct secret *s);

#endif /* VOLCRYPT_SECRET_H */
