/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The re-encryption journal (docs/FORMAT.md, "Re-encryption journal"):
 * before a chunk is rewritten, an entry recording a fingerprint of every
 * sector's old ciphertext is made durable in one of two alternating
 * slots.  After a crash the newest valid entry names the chunk that may
 * be half rewritten, and its fingerprints tell, sector by sector, which
 * key encrypts it.
 */
#ifndef LIBVOL_REKEY_JOURNAL_H
#define LIBVOL_REKEY_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "header_codec.h"

struct vol_device;

/* One entry as it is in memory; fingerprints point into the caller's buffer. */
struct vol_journal_entry {
	uint64_t id;            /* the rekey record's id */
	uint64_t sequence;      /* chunk number: offset / chunk size */
	uint64_t offset;        /* bytes into the data area */
	uint64_t length;
	uint32_t sector_size;
	uint32_t count;         /* fingerprints = length / sector_size */
	const uint8_t *fingerprints;
};

/* Bytes an entry for @count sectors occupies on disk (rounded to 4 KiB). */
size_t vol_journal_entry_bytes(uint32_t count);

/* Fingerprint of each @sector_size unit of @len bytes of ciphertext into @out. */
void vol_fingerprint_chunk(const uint8_t *data, size_t len, uint32_t sector_size,
			   uint8_t *out);

/* 1 if @sector still holds the ciphertext that @fp was taken from, 0 if not, -1 if torn. */
int vol_fingerprint_match(const uint8_t *sector, uint32_t sector_size, const uint8_t *fp);

/*
 * Lay @e out in @scratch (vol_journal_entry_bytes(e->count) bytes; its
 * fingerprints are copied in unless they already sit there), checksum
 * included; returns the byte count.
 */
size_t vol_journal_entry_encode(const struct vol_journal_entry *e, uint8_t *scratch);

/*
 * The entry at @buf (half the journal of @md's rekey record): 0 if it is
 * one of this rekey, with *e filled (fingerprints point into @buf);
 * -ENOENT if it is not (no magic, another rekey, torn); -EBADMSG if its
 * checksum holds but its chunk is not where this rekey's chunk of that
 * number is.
 */
int vol_journal_entry_decode(const uint8_t *buf, const struct vol_metadata *md,
			     struct vol_journal_entry *e);

/*
 * Write @e (fingerprints included) to its slot (sequence % 2) of the
 * journal described by @rec and make it durable.  @scratch holds
 * vol_journal_entry_bytes(e->count) bytes.
 */
int vol_journal_write(struct vol_device *dev, const struct vol_rekey_record *rec,
		      const struct vol_journal_entry *e, uint8_t *scratch);

/*
 * The newest valid entry of the rekey @rec for @md's geometry: 0 with
 * *e filled (its fingerprints point into @scratch, which must hold half
 * the journal), -ENOENT if neither slot holds one.
 */
int vol_journal_newest(struct vol_device *dev, const struct vol_metadata *md,
		       uint8_t *scratch, struct vol_journal_entry *e);

/* Zero the whole journal area (start and end of a rekey). */
int vol_journal_clear(struct vol_device *dev, const struct vol_rekey_record *rec);

#endif
