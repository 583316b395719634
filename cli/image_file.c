/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Creating and growing image files for format --size. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "image_file.h"
#include "report.h"

/* Images hold key material: readable by the owner only, like the backup. */
#define IMAGE_MODE 0600

int image_check_size(const char *path, const struct stat *st, uint64_t size)
{
	/* off_t is signed: ftruncate() could not give the file this size. */
	if (size > (uint64_t)INT64_MAX)
		return report_error(-EINVAL, path, "--size is too large");
	if (!st)
		return 0;
	if (!S_ISREG(st->st_mode))
		return report_error(-EINVAL, path,
				    "--size only applies to regular files");
	if ((uint64_t)st->st_size > size)
		return report_error(-EINVAL, path,
				    "file is larger than --size (%ju bytes); it is never shrunk",
				    (uintmax_t)size);
	return 0;
}

int image_grow(const char *path, uint64_t size, struct image_change *change)
{
	struct stat st;
	int fd, status = 0;

	*change = (struct image_change){ 0 };
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_CREAT | O_EXCL, IMAGE_MODE);
	if (fd >= 0)
		change->created = true;
	else if (errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return report_sys_error(-errno, path);

	/* Checked again on the descriptor: the file may have changed meanwhile. */
	if (fstat(fd, &st))
		status = report_sys_error(-errno, path);
	else
		status = image_check_size(path, &st, size);
	if (!status && (uint64_t)st.st_size < size) {
		if (ftruncate(fd, (off_t)size))
			status = report_sys_error(-errno, path);
		else if (!change->created)
			*change = (struct image_change){ .grown = true,
							 .old_size = (uint64_t)st.st_size };
	}
	if (close(fd) && !status)
		status = report_sys_error(-errno, path);
	if (status) {
		image_undo(path, change);
		*change = (struct image_change){ 0 };
	}
	return status;
}

void image_undo(const char *path, const struct image_change *change)
{
	/* Only zeros were added, so shrinking back loses nothing. */
	if (change->created)
		unlink(path);
	else if (change->grown && truncate(path, (off_t)change->old_size))
		report_sys_error(-errno, path);
}
