/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * format --size: the image file is created or grown by the CLI before
 * libvol sees it; it is never shrunk.  Both functions return 0 or an exit
 * status after the error line.
 */
#ifndef VOLCRYPT_IMAGE_FILE_H
#define VOLCRYPT_IMAGE_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * Checks, before anything is asked or written, that @path can be given
 * @size bytes; @st describes it, or is NULL if it does not exist yet.
 */
int image_check_size(const char *path, const struct stat *st, uint64_t size);

/* Creates @path or grows it to @size; *created tells if it is new. */
int image_grow(const char *path, uint64_t size, bool *created);

#endif /* VOLCRYPT_IMAGE_FILE_H */
