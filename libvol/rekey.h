/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How a rekey rewrites a chunk, for each place a volume can be while it
 * is re-encrypted.  Offline (ops == NULL) libvol rewrites the chunk
 * itself; a fuse daemon does the same but first stops its own I/O to the
 * chunk; the volcrypt kernel target rewrites the chunk in the kernel while
 * I/O to it waits.  The journal and the header are always written by
 * libvol (rekey.c), before and after the chunk.
 */
#ifndef LIBVOL_REKEY_H
#define LIBVOL_REKEY_H

#include <stdint.h>

#include "libvol.h"

struct vol_rekey_ops {
	/*
	 * Where the backend's boundary is (bytes into the data area): the
	 * running rekey continues from there.  NULL: from the journal.
	 */
	int (*boundary)(void *ctx, uint64_t *boundary);
	/*
	 * Before the old ciphertext of [off, off + len) is read for its
	 * fingerprints: from now on the backend must either keep the chunk
	 * unchanged or notice that it changed (rewrite returns -EAGAIN).
	 */
	int (*hold)(void *ctx, uint64_t off, uint64_t len);
	/*
	 * Re-encrypt the chunk (its old ciphertext is in @buf) and make it
	 * durable; NULL: libvol does it.  -EAGAIN: the chunk changed after
	 * hold(), start it again.
	 */
	int (*rewrite)(void *ctx, uint64_t off, uint64_t len, uint8_t *buf);
	/* After the chunk: @done says whether the boundary moved past it. */
	void (*release)(void *ctx, uint64_t off, uint64_t len, int done);
	/* All data is under the new key: stop using the old one. */
	int (*finish)(void *ctx);
	void *ctx;
	/* Read the data area with O_DIRECT (the kernel writes it behind the page cache). */
	int direct;
	/* Recorded in the history. */
	int online;
};

/*
 * The rekey loop behind vol_rekey_run(), with @ops describing the
 * backend (NULL: offline).
 */
int vol_rekey_run_ops(struct vol_volume *vol, const struct vol_key *old_key,
		      const struct vol_key *new_key, const struct vol_rekey_ops *ops,
		      vol_rekey_progress_fn progress, void *progress_ctx);

#endif
