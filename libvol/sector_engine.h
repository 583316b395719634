/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal entry points of the AES-XTS sector engine. */
#ifndef LIBVOL_SECTOR_ENGINE_H
#define LIBVOL_SECTOR_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "libvol.h"

/*
 * Like vol_engine_new() but from raw key bytes (64 for AES-256-XTS).
 * Used for keyslot material (512-byte units, one thread) and by tests.
 */
int vol_engine_new_raw(const uint8_t *key, size_t key_len,
		       uint32_t sector_size, unsigned threads,
		       struct vol_engine **out);

/*
 * vol_engine_encrypt()/decrypt() out of place: reads @len bytes from @src
 * (not overlapping @buf) and writes the result to @buf, one pass over the
 * data instead of a copy and an in-place pass.
 */
int vol_engine_crypt_from(struct vol_engine *eng, int encrypt, uint64_t iv_sector, void *buf,
			  const void *src, size_t len);

/*
 * A run handed to the workers in the background: vol_engine_submit()
 * queues it and returns; vol_engine_wait() helps with queued work until
 * it is done, returns its result and frees the job.  Lets the caller copy
 * or write one piece while the workers transform another.
 */
struct vol_engine_job;
int vol_engine_submit(struct vol_engine *eng, int encrypt, uint64_t iv_sector, void *buf,
		      size_t len, struct vol_engine_job **job);
/* The same, reading @len bytes from @src (not overlapping @buf) instead of @buf. */
int vol_engine_submit_from(struct vol_engine *eng, int encrypt, uint64_t iv_sector, void *buf,
			   const void *src, size_t len, struct vol_engine_job **job);
int vol_engine_wait(struct vol_engine_job *job);

/*
 * Whether idle workers busy-wait a little before sleeping (the default):
 * good for the latency of small requests (fuse), a waste of CPU that
 * others could use during bulk work beside other threads (a rekey).
 */
void vol_engine_set_spin(struct vol_engine *eng, int spin);

#endif
