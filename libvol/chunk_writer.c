/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A buffer written behind its producer (see chunk_writer.h). */
#include <errno.h>

#include "chunk_writer.h"
#include "device.h"

/* Bytes of the next write, once they are all ready (0: not yet). */
static size_t next_write(const struct chunk_writer *w)
{
	size_t n = w->len - w->written < w->unit ? w->len - w->written : w->unit;

	return w->ready - w->written >= n ? n : 0;
}

static void *writer_main(void *arg)
{
	struct chunk_writer *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->err && w->written < w->len) {
		size_t from = w->written, n = next_write(w);
		int r;

		if (!n) {
			pthread_cond_wait(&w->cond, &w->lock);
			continue;
		}
		pthread_mutex_unlock(&w->lock);
		r = vol_device_write(w->dev, w->pos + from, w->buf + from, n);
		pthread_mutex_lock(&w->lock);
		if (r)
			w->err = r;
		else
			w->written += n;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

void chunk_writer_start(struct chunk_writer *w, struct vol_device *dev, uint64_t pos,
			const uint8_t *buf, size_t len, size_t unit, int threaded)
{
	*w = (struct chunk_writer){ .dev = dev, .pos = pos, .buf = buf, .len = len,
				    .unit = unit ? unit : len };
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	/* Without a thread the producer writes each unit itself: slower, as correct. */
	w->threaded = threaded && pthread_create(&w->thread, NULL, writer_main, w) == 0;
}

void chunk_writer_ready(struct chunk_writer *w, size_t ready)
{
	if (!w->threaded) {
		size_t n;

		w->ready = ready;
		while (!w->err && (n = next_write(w))) {
			w->err = vol_device_write(w->dev, w->pos + w->written, w->buf + w->written, n);
			if (!w->err)
				w->written += n;
		}
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->ready = ready;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int chunk_writer_finish(struct chunk_writer *w)
{
	int r;

	if (w->threaded) {
		pthread_mutex_lock(&w->lock);
		while (!w->err && next_write(w))
			pthread_cond_wait(&w->cond, &w->lock);
		/* Whatever was never made ready will not come: let the thread go. */
		if (!w->err && w->written < w->len)
			w->err = -EIO;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	} else if (!w->err && w->written < w->len) {
		w->err = -EIO;
	}
	r = w->err;
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	return r;
}
