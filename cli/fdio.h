/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unbuffered output: for prompts on /dev/tty and for secrets on stdout,
 * which must not be copied into stdio's buffers.
 */
#ifndef VOLCRYPT_FDIO_H
#define VOLCRYPT_FDIO_H

#include <stddef.h>

/* Writes all of @buf, retrying on EINTR.  Returns 0 or a negative errno. */
int fd_write_all(int fd, const void *buf, size_t len);

/*
 * Writes @buf to stdout behind stdio's back, after flushing what stdio
 * still holds so that the order of the output is kept.
 */
int stdout_write_unbuffered(const void *buf, size_t len);

#endif /* VOLCRYPT_FDIO_H */
