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

/* What image_grow() changed, so that a failed format can put it back. */
struct image_change {
	bool created;       /* the file did not exist */
	bool grown;         /* an existing file was extended from old_size */
	uint64_t old_size;
};

/* Creates @path or grows it to @size, recording what it did in @change. */
int image_grow(const char *path, uint64_t size, struct image_change *change);

/* Undo image_grow(): remove a created file, shrink a grown one back. */
void image_undo(const char *path, const struct image_change *change);

#endif /* VOLCRYPT_IMAGE_FILE_H */
