/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Secure-memory buffers and the one reader that fills them from a fd. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gcrypt.h>

#include "libvol.h"
#include "secret.h"

#define SECRET_MIN_CAP 128

int secret_reserve(struct secret *s, size_t n)
{
	size_t cap = s->cap ? s->cap : SECRET_MIN_CAP;
	char *p;

	if (s->len + n <= s->cap)
		return 0;
	while (cap < s->len + n)
		cap *= 2;
	/* Doubling past the limit would only waste locked memory. */
	if (cap > SECRET_MAX_BYTES + 1 && s->len + n <= SECRET_MAX_BYTES + 1)
		cap = SECRET_MAX_BYTES + 1;
	p = gcry_malloc_secure(cap);
	if (!p)
		return -ENOMEM;
	/*
	 * Move by hand instead of gcry_realloc(): the old copy must be
	 * wiped, whatever the allocator does with released blocks.
	 */
	if (s->data) {
		memcpy(p, s->data, s->len);
		explicit_bzero(s->data, s->cap);
		gcry_free(s->data);
	}
	s->data = p;
	s->cap = cap;
	return 0;
}

/*
 * A line is read one byte at a time so that nothing after the '\n' is
 * consumed: the next line of stdin may be the next passphrase, and a
 * stdio buffer would keep a copy of it outside secure memory.
 */
static size_t read_chunk(const struct secret *s, enum secret_read_mode mode)
{
	size_t room = s->cap - s->len;
	size_t to_limit = SECRET_MAX_BYTES + 1 - s->len;

	if (mode == SECRET_READ_LINE)
		return 1;
	return room < to_limit ? room : to_limit;
}

int secret_read_fd(struct secret *s, int fd, enum secret_read_mode mode)
{
	ssize_t got;
	int err;

	for (;;) {
		/* One byte beyond the limit tells "too large" from "exactly". */
		if (s->len > SECRET_MAX_BYTES)
			return -EFBIG;
		err = secret_reserve(s, 1);
		if (err)
			return err;
		got = read(fd, s->data + s->len, read_chunk(s, mode));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return 0;
		if (mode == SECRET_READ_LINE && s->data[s->len] == '\n') {
			s->data[s->len] = '\0';
			return 0;
		}
		s->len += (size_t)got;
	}
}

/* The lengths may differ in time: a passphrase's length is not kept secret. */
int secret_equal(const struct secret *a, const struct secret *b)
{
	return a->len == b->len && vol_ct_equal(a->data, b->data, a->len);
}

void secret_free(struct secret *s)
{
	if (s->data) {
		explicit_bzero(s->data, s->cap);
		gcry_free(s->data);
	}
	s->data = NULL;
	s->len = 0;
	s->cap = 0;
}
