/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The re-encryption journal's entry codec: what it accepts, and that a
 * checksummed entry naming a chunk outside the data area (the sums
 * wrapping around 2^64 included) is refused before any recovery acts on it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rekey_journal.h"
#include "unit.h"

#define SS 512u
#define CHUNK (1u << 20)
/* Three whole chunks and a short one of 8 sectors. */
#define DATA_SIZE (3ull * CHUNK + 8 * SS)

static struct vol_metadata md;
static uint8_t *slot; /* half the journal, as recovery reads it */

static void setup(void)
{
	memset(&md, 0, sizeof(md));
	md.sector_size = SS;
	md.data_size = DATA_SIZE;
	md.rekey.id = 0x1122334455667788ull;
	md.rekey.chunk_size = CHUNK;
	md.rekey.journal_size = VOL_JOURNAL_SIZE;
	slot = calloc(1, VOL_JOURNAL_SIZE / 2);
	ck_assert_ptr_nonnull(slot);
}

static void teardown(void)
{
	free(slot);
}

/* Encode an entry for the given geometry (fingerprints: a pattern). */
static void encode(uint64_t sequence, uint64_t offset, uint64_t length)
{
	uint32_t count = (uint32_t)(length / SS);
	struct vol_journal_entry e = {
		.id = md.rekey.id, .sequence = sequence, .offset = offset, .length = length,
		.sector_size = SS, .count = count,
		.fingerprints = slot + VOL_JOURNAL_ENTRY_HEADER,
	};

	for (size_t i = 0; i < (size_t)count * VOL_FINGERPRINT_BYTES; i++)
		slot[VOL_JOURNAL_ENTRY_HEADER + i] = (uint8_t)(i * 7 + sequence);
	vol_journal_entry_encode(&e, slot);
}

static int decode(void)
{
	struct vol_journal_entry e;

	return vol_journal_entry_decode(slot, &md, &e);
}

START_TEST(round_trip)
{
	struct vol_journal_entry e;

	encode(1, CHUNK, CHUNK);
	ck_assert_int_eq(vol_journal_entry_decode(slot, &md, &e), 0);
	ck_assert_uint_eq(e.id, md.rekey.id);
	ck_assert_uint_eq(e.sequence, 1);
	ck_assert_uint_eq(e.offset, CHUNK);
	ck_assert_uint_eq(e.length, CHUNK);
	ck_assert_uint_eq(e.count, CHUNK / SS);
	ck_assert_ptr_eq(e.fingerprints, slot + VOL_JOURNAL_ENTRY_HEADER);
	ck_assert_uint_eq(e.fingerprints[5], 35 + 1);
}
END_TEST

START_TEST(short_last_chunk)
{
	encode(3, 3ull * CHUNK, 8 * SS);
	ck_assert_int_eq(decode(), 0);
}
END_TEST

START_TEST(not_an_entry_of_this_rekey)
{
	encode(0, 0, CHUNK);
	slot[VOL_JOURNAL_ENTRY_HEADER + 100] ^= 1; /* torn */
	ck_assert_int_eq(decode(), -ENOENT);
	encode(0, 0, CHUNK);
	md.rekey.id++; /* an older rekey's entry */
	ck_assert_int_eq(decode(), -ENOENT);
	md.rekey.id--;
	md.sector_size = 4096;
	ck_assert_int_eq(decode(), -ENOENT);
	md.sector_size = SS;
	memset(slot, 0, 8); /* no magic */
	ck_assert_int_eq(decode(), -ENOENT);
}
END_TEST

/* Checksummed, so only a bug or tampering makes them: never acted on. */
START_TEST(impossible_geometry_refused)
{
	const uint64_t wrap_seq = UINT64_MAX / CHUNK; /* seq * CHUNK = 2^64 - CHUNK */

	encode(1, 0, CHUNK); /* offset not the chunk's */
	ck_assert_int_eq(decode(), -EBADMSG);
	encode(4, 4ull * CHUNK, CHUNK); /* past the data area */
	ck_assert_int_eq(decode(), -EBADMSG);
	encode(1, CHUNK, CHUNK / 2); /* short, but not the last chunk */
	ck_assert_int_eq(decode(), -EBADMSG);
	encode(3, 3ull * CHUNK, CHUNK); /* the last chunk, longer than the area */
	ck_assert_int_eq(decode(), -EBADMSG);
	/*
	 * offset + length wraps to 0: the old check let this through, and
	 * recovery would have rewritten sectors in front of the data area.
	 */
	encode(wrap_seq, wrap_seq * CHUNK, CHUNK);
	ck_assert_uint_eq(wrap_seq * CHUNK + CHUNK, 0);
	ck_assert_int_eq(decode(), -EBADMSG);
	/* A data size at the top of the range must not overflow the checks. */
	md.data_size = UINT64_MAX - SS + 1;
	encode(wrap_seq, wrap_seq * CHUNK, CHUNK);
	ck_assert_int_eq(decode(), -EBADMSG);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("rekey_journal");
	TCase *tc = tcase_create("entries");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, short_last_chunk);
	tcase_add_test(tc, not_an_entry_of_this_rekey);
	tcase_add_test(tc, impossible_geometry_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(suite());
}
