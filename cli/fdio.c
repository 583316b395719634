/* SPDX-License-Identifier: GPL-2.0-or-later */
/* write(2) loops shared by the terminal prompts and secret output. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "fdio.h"

int fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t done = write(fd, p, len);

		if (done < 0 && errno == EINTR)
			continue;
		if (done < 0)
			return -errno;
		p += done;
		len -= (size_t)done;
	}
	return 0;
}

int stdout_write_unbuffered(const void *buf, size_t len)
{
	if (fflush(stdout))
		return -errno;
	return fd_write_all(STDOUT_FILENO, buf, len);
}
