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

int image_grow(const char *path, uint64_t size, bool *created)
{
	struct stat st;
	int fd, status = 0;

	*created = false;
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_CREAT | O_EXCL, IMAGE_MODE);
	if (fd >= 0)
		*created = true;
	else if (errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return report_sys_error(-errno, path);

	/* Checked again on the descriptor: the file may have changed meanwhile. */
	if (fstat(fd, &st))
		status = report_sys_error(-errno, path);
	else
		status = image_check_size(path, &st, size);
	if (!status && (uint64_t)st.st_size < size && ftruncate(fd, (off_t)size))
		status = report_sys_error(-errno, path);
	if (close(fd) && !status)
		status = report_sys_error(-errno, path);
	if (status && *created) {
		unlink(path);
		*created = false;
	}
	return status;
}
