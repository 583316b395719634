/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Journal entries: a 96-byte header and the fingerprints, SHA-256 over
 * both, in one of two slots so that a torn write of the newest entry
 * leaves the previous one.
 *
 * A fingerprint is the first and the last 16 bytes of a sector's
 * ciphertext.  Under a new key every 16-byte XTS block of a sector
 * changes, so one block already tells old ciphertext from new with an
 * error chance of 2^-128; the second one notices a sector whose write
 * was torn (the device promised sector-atomic writes and broke it) so
 * that it can be reported instead of silently decrypted with either key.
 * Copying 32 bytes per sector costs nothing next to the cipher, where a
 * hash of the whole sector would cost more than the re-encryption.
 */
#include <errno.h>
#include <gcrypt.h>
#include <string.h>

#include "device.h"
#include "internal.h"
#include "le_bytes.h"
#include "rekey_journal.h"

enum {
	J_MAGIC = 0, J_ID = 8, J_SEQUENCE = 16, J_OFFSET = 24, J_LENGTH = 32,
	J_SECTOR_SIZE = 40, J_COUNT = 44, J_RESERVED = 48, J_CHECKSUM = 64,
	J_FINGERPRINTS = 96,
};
_Static_assert(J_FINGERPRINTS == VOL_JOURNAL_ENTRY_HEADER, "entry header size");

#define FP_HALF (VOL_FINGERPRINT_BYTES / 2)

size_t vol_journal_entry_bytes(uint32_t count)
{
	size_t n = VOL_JOURNAL_ENTRY_HEADER + (size_t)count * VOL_FINGERPRINT_BYTES;

	return (n + 4095) & ~(size_t)4095;
}

void vol_fingerprint_chunk(const uint8_t *data, size_t len, uint32_t sector_size,
			   uint8_t *out)
{
	for (size_t off = 0; off < len; off += sector_size, out += VOL_FINGERPRINT_BYTES) {
		memcpy(out, data + off, FP_HALF);
		memcpy(out + FP_HALF, data + off + sector_size - FP_HALF, FP_HALF);
	}
}

int vol_fingerprint_match(const uint8_t *sector, uint32_t sector_size, const uint8_t *fp)
{
	int head = !memcmp(sector, fp, FP_HALF);
	int tail = !memcmp(sector + sector_size - FP_HALF, fp + FP_HALF, FP_HALF);

	if (head && tail)
		return 1;
	return head || tail ? -1 : 0;
}

static uint64_t slot_offset(const struct vol_rekey_record *rec, uint64_t sequence)
{
	return rec->journal_offset + (sequence % 2) * (rec->journal_size / 2);
}

static void entry_checksum(const uint8_t *buf, uint32_t count, uint8_t *sum)
{
	gcry_md_hd_t h;

	/* Both parts of the entry, around the checksum field itself. */
	if (gcry_md_open(&h, GCRY_MD_SHA256, 0)) {
		memset(sum, 0, VOL_SHA256_BYTES); /* never matches a written entry */
		return;
	}
	gcry_md_write(h, buf, J_CHECKSUM);
	gcry_md_write(h, buf + J_FINGERPRINTS, (size_t)count * VOL_FINGERPRINT_BYTES);
	memcpy(sum, gcry_md_read(h, GCRY_MD_SHA256), VOL_SHA256_BYTES);
	gcry_md_close(h);
}

size_t vol_journal_entry_encode(const struct vol_journal_entry *e, uint8_t *scratch)
{
	size_t bytes = vol_journal_entry_bytes(e->count);
	size_t used = VOL_JOURNAL_ENTRY_HEADER + (size_t)e->count * VOL_FINGERPRINT_BYTES;

	/* The fingerprints may already be in place (scratch + J_FINGERPRINTS). */
	if (e->fingerprints != scratch + J_FINGERPRINTS)
		memmove(scratch + J_FINGERPRINTS, e->fingerprints,
			(size_t)e->count * VOL_FINGERPRINT_BYTES);
	memset(scratch, 0, VOL_JOURNAL_ENTRY_HEADER);
	memset(scratch + used, 0, bytes - used);
	memcpy(scratch + J_MAGIC, VOL_JOURNAL_MAGIC, 8);
	put_le64(scratch + J_ID, e->id);
	put_le64(scratch + J_SEQUENCE, e->sequence);
	put_le64(scratch + J_OFFSET, e->offset);
	put_le64(scratch + J_LENGTH, e->length);
	put_le32(scratch + J_SECTOR_SIZE, e->sector_size);
	put_le32(scratch + J_COUNT, e->count);
	entry_checksum(scratch, e->count, scratch + J_CHECKSUM);
	return bytes;
}

int vol_journal_write(struct vol_device *dev, const struct vol_rekey_record *rec,
		      const struct vol_journal_entry *e, uint8_t *scratch)
{
	size_t bytes = vol_journal_entry_encode(e, scratch);
	int r = vol_device_write(dev, slot_offset(rec, e->sequence), scratch, bytes);

	return r ? r : vol_device_sync(dev);
}

/*
 * Where a checksummed entry says its chunk is must be where this rekey's
 * chunk of that number is: inside the data area, every sum checked
 * against overflow (a crafted entry must never send the recovery's
 * rewrite outside the data area).
 */
static int entry_geometry_valid(const struct vol_journal_entry *e, const struct vol_metadata *md)
{
	const uint64_t chunk = md->rekey.chunk_size;

	if (!chunk || e->sequence >= md->data_size / chunk + !!(md->data_size % chunk))
		return 0;
	if (e->offset != e->sequence * chunk || !e->length || e->length > chunk ||
	    e->length != (uint64_t)e->count * e->sector_size)
		return 0;
	if (e->length > md->data_size - e->offset)
		return 0;
	/* Only the last chunk may be short, and it ends the data area. */
	return e->length == chunk || e->offset + e->length == md->data_size;
}

int vol_journal_entry_decode(const uint8_t *buf, const struct vol_metadata *md,
			     struct vol_journal_entry *e)
{
	const struct vol_rekey_record *rec = &md->rekey;
	uint8_t sum[VOL_SHA256_BYTES];
	uint64_t max_count = (rec->journal_size / 2 - VOL_JOURNAL_ENTRY_HEADER) /
			     VOL_FINGERPRINT_BYTES;

	if (memcmp(buf + J_MAGIC, VOL_JOURNAL_MAGIC, 8))
		return -ENOENT;
	e->id = get_le64(buf + J_ID);
	e->sequence = get_le64(buf + J_SEQUENCE);
	e->offset = get_le64(buf + J_OFFSET);
	e->length = get_le64(buf + J_LENGTH);
	e->sector_size = get_le32(buf + J_SECTOR_SIZE);
	e->count = get_le32(buf + J_COUNT);
	e->fingerprints = buf + J_FINGERPRINTS;
	if (e->id != rec->id || e->sector_size != md->sector_size || e->count > max_count)
		return -ENOENT; /* from another rekey, or nonsense */
	entry_checksum(buf, e->count, sum);
	if (memcmp(sum, buf + J_CHECKSUM, sizeof(sum)))
		return -ENOENT; /* torn while being written */
	/* A valid checksum on a wrong geometry is a bug or tampering, not a crash. */
	return entry_geometry_valid(e, md) ? 0 : -EBADMSG;
}

int vol_journal_newest(struct vol_device *dev, const struct vol_metadata *md,
		       uint8_t *scratch, struct vol_journal_entry *e)
{
	const struct vol_rekey_record *rec = &md->rekey;
	size_t half = rec->journal_size / 2;
	struct vol_journal_entry found[2];
	int valid[2];

	for (int s = 0; s < 2; s++) {
		int r = vol_device_read(dev, rec->journal_offset + s * half, scratch + s * half,
					half);

		if (r)
			return r;
		r = vol_journal_entry_decode(scratch + s * half, md, &found[s]);
		if (r == -EBADMSG) {
			vol_err("%s: the re-encryption journal is inconsistent with the header",
				dev->path);
			return r;
		}
		/* An entry sits in the slot its sequence number selects. */
		valid[s] = !r && found[s].sequence % 2 == (uint64_t)s;
	}
	if (!valid[0] && !valid[1])
		return -ENOENT;
	if (valid[0] && valid[1])
		*e = found[found[1].sequence > found[0].sequence];
	else
		*e = found[valid[1]];
	return 0;
}

int vol_journal_clear(struct vol_device *dev, const struct vol_rekey_record *rec)
{
	int r = vol_device_zero(dev, rec->journal_offset, rec->journal_size);

	return r ? r : vol_device_sync(dev);
}
