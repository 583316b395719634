/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the re-encryption journal's entry decoder.  The
 * first 32 bytes of an input choose the volume's geometry (sector size,
 * chunk size, data size) and the rest is decoded twice: as found, and
 * re-encoded with the entry's own fields so that its checksum holds and
 * the geometry checks are reached.  Whatever decodes must name a chunk of
 * this rekey that lies wholly inside the data area: recovery rewrites
 * exactly those bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "le_bytes.h"
#include "rekey_journal.h"

/* A small journal keeps each input cheap: half of it holds 253 fingerprints. */
#define SLOT_BYTES 8192u

static void check_entry(const struct vol_journal_entry *e, const struct vol_metadata *md,
			const uint8_t *slot)
{
	const uint64_t max_count = (SLOT_BYTES - VOL_JOURNAL_ENTRY_HEADER) / VOL_FINGERPRINT_BYTES;

	if (e->id != md->rekey.id || e->sector_size != md->sector_size || e->count > max_count ||
	    e->fingerprints != slot + VOL_JOURNAL_ENTRY_HEADER)
		abort();
	if (!e->length || e->length > md->rekey.chunk_size ||
	    e->length != (uint64_t)e->count * e->sector_size)
		abort();
	if (e->offset > md->data_size || e->length > md->data_size - e->offset ||
	    e->offset % md->rekey.chunk_size)
		abort();
}

static void decode(const uint8_t *slot, const struct vol_metadata *md)
{
	struct vol_journal_entry e;

	if (vol_journal_entry_decode(slot, md, &e) == 0)
		check_entry(&e, md, slot);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t slot[SLOT_BYTES];
	struct vol_metadata md;
	struct vol_journal_entry e;

	if (size < 32)
		return 0;
	memset(&md, 0, sizeof(md));
	md.sector_size = data[0] & 1 ? 4096 : 512;
	md.rekey.chunk_size = (uint64_t)1 << (12 + data[1] % 20);
	md.rekey.id = get_le64(data + 8);
	md.rekey.journal_size = 2 * SLOT_BYTES;
	md.data_size = get_le64(data + 16) & ~(uint64_t)(md.sector_size - 1);
	data += 32;
	size -= 32;

	memset(slot, 0, sizeof(slot));
	memcpy(slot, data, size < sizeof(slot) ? size : sizeof(slot));
	decode(slot, &md);

	/* The same fields, sealed by the encoder: past the checksum. */
	e = (struct vol_journal_entry){
		.id = md.rekey.id,
		.sequence = get_le64(slot + 16),
		.offset = get_le64(slot + 24),
		.length = get_le64(slot + 32),
		.sector_size = md.sector_size,
		.count = get_le32(slot + 44) % ((SLOT_BYTES - VOL_JOURNAL_ENTRY_HEADER) /
						VOL_FINGERPRINT_BYTES + 1),
		.fingerprints = slot + VOL_JOURNAL_ENTRY_HEADER,
	};
	vol_journal_entry_encode(&e, slot);
	decode(slot, &md);
	return 0;
}
