/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes a buffer to a device behind its producer: the producer says how
 * much of the buffer is ready, a thread writes whatever is ready and not
 * yet written in one pwrite.  The rekey re-encrypts a chunk a piece at a
 * time; with the writes on their own thread, the cipher's next pieces
 * overlap the device's work, and each write covers every piece finished
 * meanwhile: on a disk opened O_DIRECT, one large request instead of a
 * queue depth of one.
 */
#ifndef LIBVOL_CHUNK_WRITER_H
#define LIBVOL_CHUNK_WRITER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct vol_device;

struct chunk_writer {
	struct vol_device *dev;
	uint64_t pos;        /* device offset of buf[0] */
	const uint8_t *buf;
	size_t len;
	size_t unit;         /* bytes per write (the last one may be shorter) */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* ready or written moved, or failed */
	size_t ready;        /* buf[0, ready) may be written */
	size_t written;      /* buf[0, written) is written */
	int err;             /* the first write error; nothing is written after it */
	int threaded;        /* 0: the writes happen in chunk_writer_ready */
};

/*
 * Start writing @len bytes of @buf at @pos of @dev as they become ready,
 * @unit bytes a write (0: all at once), on a thread of its own if
 * @threaded, else within chunk_writer_ready.  Writes are cut at multiples of
 * @unit from the start, not at whatever happens to be ready: the same
 * buffer always makes the same writes, which the crash tests count to
 * kill at a chosen one.
 */
void chunk_writer_start(struct chunk_writer *w, struct vol_device *dev, uint64_t pos,
			const uint8_t *buf, size_t len, size_t unit, int threaded);

/* buf[0, @ready) is final: it may be written from now on. */
void chunk_writer_ready(struct chunk_writer *w, size_t ready);

/*
 * Wait for the writes of everything made ready and stop the thread:
 * 0 if all of buf[0, len) is written, else the first error (-EIO when
 * the producer stopped early).
 */
int chunk_writer_finish(struct chunk_writer *w);

#endif
