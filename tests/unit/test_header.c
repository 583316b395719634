/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Metadata codec: round trip, every field's rule, copy selection. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le_bytes.h"
#include "header_codec.h"
#include "unit.h"

static struct vol_metadata sample(void)
{
	struct vol_metadata md;

	memset(&md, 0, sizeof(md));
	md.version = 1;
	md.sequence = 42;
	for (int i = 0; i < 16; i++)
		md.uuid[i] = (uint8_t)(0x10 + i);
	strcpy(md.label, "home");
	strcpy(md.cipher, "aes-xts-plain64");
	md.key_bytes = 64;
	md.sector_size = 4096;
	md.data_offset = 16 << 20;
	md.data_size = 64 << 20;
	md.digest[0].type = VOL_DIGEST_PBKDF2_SHA256;
	md.digest[0].iterations = 123456;
	memset(md.digest[0].salt, 0xa5, sizeof(md.digest[0].salt));
	memset(md.digest[0].value, 0x5a, sizeof(md.digest[0].value));
	md.slot[0] = (struct vol_keyslot){ .active = 1, .kdf = VOL_KDF_ARGON2ID, .key_bytes = 64,
					   .stripes = 4000, .iterations = 4,
					   .memory_kib = 65536, .parallel = 2 };
	md.slot[5] = (struct vol_keyslot){ .active = 1, .kdf = VOL_KDF_PBKDF2_SHA256,
					   .key_bytes = 64, .stripes = 4000,
					   .iterations = 1000 };
	memset(md.slot[0].salt, 1, 32);
	memset(md.slot[5].material_sha256, 2, 32);
	return md;
}

/* A version 2 copy in the middle of a rekey, after three finished ones. */
static struct vol_metadata sample_rekey(void)
{
	struct vol_metadata md = sample();

	md.version = 2;
	md.incompat_features = VOL_INCOMPAT_REKEY;
	md.digest[1] = md.digest[0];
	md.digest[1].iterations = 2000;
	md.slot[5].digest_index = 1;
	md.rekey = (struct vol_rekey_record){ .state = VOL_REKEY_RUNNING,
					      .resilience = VOL_REKEY_RESILIENCE_FINGERPRINT,
					      .boundary = 8 << 20, .journal_offset = 8 << 20,
					      .journal_size = 8 << 20, .chunk_size = 4 << 20,
					      .id = 0x1234, .started = 1700000000 };
	md.rekey_count = 3;
	for (int i = 0; i < 3; i++)
		md.history[i] = (struct vol_rekey_history){ .started = 1600000000 - i * 1000,
							    .finished = 1600000100 - i * 1000,
							    .bytes = 64 << 20,
							    .flags = i == 1 ? VOL_HISTORY_ONLINE : 0 };
	return md;
}

static void fix_checksum(uint8_t *buf)
{
	gcry_md_hash_buffer(GCRY_MD_SHA256, buf + 4064, buf, 4064);
}

START_TEST(round_trip)
{
	struct vol_metadata samples[] = { sample(), sample_rekey() }, out;
	uint8_t buf[VOL_META_SIZE];

	for (int i = 0; i < 2; i++)
		for (int copy = 0; copy < 2; copy++) {
			vol_metadata_encode(&samples[i], copy, buf);
			ck_assert_int_eq(vol_metadata_decode(buf, copy, &out), 0);
			ck_assert_mem_eq(&samples[i], &out, sizeof(out));
		}
}
END_TEST

START_TEST(fixed_positions)
{
	struct vol_metadata md = sample();
	uint8_t buf[VOL_META_SIZE];

	vol_metadata_encode(&md, 1, buf);
	ck_assert_mem_eq(buf, "VOLCRYPT", 8);
	ck_assert_uint_eq(get_le16(buf + 8), 1);
	ck_assert_uint_eq(get_le16(buf + 10), 1);
	ck_assert_uint_eq(get_le32(buf + 12), 4096);
	ck_assert_uint_eq(get_le64(buf + 32), 42);
	ck_assert_uint_eq(buf[40], 0x10);
	ck_assert_str_eq((char *)buf + 56, "home");
	ck_assert_str_eq((char *)buf + 120, "aes-xts-plain64");
	ck_assert_uint_eq(get_le32(buf + 156), 4096);
	ck_assert_uint_eq(get_le64(buf + 160), 16 << 20);
	ck_assert_uint_eq(get_le32(buf + 192 + 4), 123456);
	/* keyslot 5: state, kdf, iterations */
	ck_assert_uint_eq(buf[384 + 5 * 128], 1);
	ck_assert_uint_eq(buf[384 + 5 * 128 + 1], VOL_KDF_PBKDF2_SHA256);
	ck_assert_uint_eq(get_le32(buf + 384 + 5 * 128 + 12), 1000);
	/* keyslot 1 inactive: all zero */
	for (int i = 0; i < 128; i++)
		ck_assert_uint_eq(buf[384 + 128 + i], 0);

	md = sample_rekey();
	vol_metadata_encode(&md, 0, buf);
	ck_assert_uint_eq(get_le16(buf + 8), 2);
	ck_assert_uint_eq(get_le64(buf + 16), 1);
	ck_assert_uint_eq(get_le32(buf + 192 + 96 + 4), 2000);
	ck_assert_uint_eq(buf[384 + 5 * 128 + 2], 1);
	ck_assert_uint_eq(get_le32(buf + 1408), 1);
	ck_assert_uint_eq(get_le32(buf + 1412), 1);
	ck_assert_uint_eq(get_le64(buf + 1416), 8 << 20);
	ck_assert_uint_eq(get_le64(buf + 1424), 8 << 20);
	ck_assert_uint_eq(get_le64(buf + 1432), 8 << 20);
	ck_assert_uint_eq(get_le64(buf + 1440), 4 << 20);
	ck_assert_uint_eq(get_le64(buf + 1448), 0x1234);
	ck_assert_uint_eq(get_le64(buf + 1456), 1700000000);
	ck_assert_uint_eq(get_le64(buf + 1472), 3);
	ck_assert_uint_eq(get_le64(buf + 1488 + 32 + 0), 1600000000 - 1000);
	ck_assert_uint_eq(get_le64(buf + 1488 + 32 + 8), 1600000100 - 1000);
	ck_assert_uint_eq(get_le64(buf + 1488 + 32 + 16), 64 << 20);
	ck_assert_uint_eq(get_le32(buf + 1488 + 32 + 24), VOL_HISTORY_ONLINE);
	for (int i = 1488 + 3 * 32; i < 4064; i++)
		ck_assert_uint_eq(buf[i], 0);
}
END_TEST

START_TEST(checksum_detects_any_flip)
{
	struct vol_metadata md = sample(), out;
	uint8_t buf[VOL_META_SIZE];

	vol_metadata_encode(&md, 0, buf);
	for (unsigned off = 0; off < VOL_META_SIZE; off += 61) {
		buf[off] ^= 0x01;
		ck_assert_int_eq(vol_metadata_decode(buf, 0, &out), -EBADMSG);
		buf[off] ^= 0x01;
	}
}
END_TEST

/* A mutation at @off with the checksum recomputed must still be refused. */
struct mutation {
	const char *what;
	int off;
	int width;
	uint64_t value;
	int expect;
};

static const struct mutation mutations[] = {
	{ "magic", 0, 1, 'X', -EBADMSG },
	{ "version 2 (a v1 copy is also valid v2)", 8, 2, 2, 0 },
	{ "version 3", 8, 2, 3, -EPROTONOSUPPORT },
	{ "version 0", 8, 2, 0, -EPROTONOSUPPORT },
	{ "copy index", 10, 2, 1, -EBADMSG },
	{ "metadata size", 12, 4, 8192, -EBADMSG },
	{ "unknown incompat feature", 16, 8, 2, -EPROTONOSUPPORT },
	{ "rekey feature without a rekey", 16, 8, 1, -EBADMSG },
	{ "label without NUL", 56, 8, 0x4141414141414141ULL, 0 /* still has NULs */ },
	{ "label with newline", 57, 1, '\n', -EBADMSG },
	{ "cipher", 120, 1, 'b', -EBADMSG },
	{ "key size", 152, 4, 32, -EBADMSG },
	{ "sector size 1024", 156, 4, 1024, -EBADMSG },
	{ "data offset 1 MiB", 160, 8, 1 << 20, -EBADMSG },
	{ "data offset unaligned", 160, 8, (16 << 20) + 512, -EBADMSG },
	{ "data size 0", 168, 8, 0, -EBADMSG },
	{ "data size unaligned", 168, 8, (64 << 20) + 512, -EBADMSG },
	{ "reserved after geometry", 180, 1, 1, -EBADMSG },
	{ "digest type", 192, 4, 7, -EBADMSG },
	{ "digest iterations", 196, 4, 999, -EBADMSG },
	{ "digest 1 reserved", 192 + 96, 4, 1, -EBADMSG },
	{ "keyslot state 2", 384, 1, 2, -EBADMSG },
	{ "keyslot kdf 3", 385, 1, 3, -EBADMSG },
	{ "keyslot digest index 1 without a rekey", 386, 1, 1, -EBADMSG },
	{ "keyslot digest index 2", 386, 1, 2, -EBADMSG },
	{ "keyslot key bytes", 388, 4, 32, -EBADMSG },
	{ "keyslot stripes", 392, 4, 1, -EBADMSG },
	{ "argon2 time cost 1", 396, 4, 1, -EBADMSG },
	{ "argon2 memory 0", 400, 4, 0, -EBADMSG },
	{ "argon2 lanes 0", 404, 4, 0, -EBADMSG },
	{ "keyslot reserved", 384 + 100, 1, 1, -EBADMSG },
	{ "pbkdf2 iterations", 384 + 5 * 128 + 12, 4, 10, -EBADMSG },
	{ "pbkdf2 with memory", 384 + 5 * 128 + 16, 4, 1024, -EBADMSG },
	{ "inactive slot garbage", 384 + 128 + 40, 1, 1, -EBADMSG },
	{ "rekey record", 1408, 4, 1, -EBADMSG },
	{ "rekey boundary", 1416, 8, 4096, -EBADMSG },
	{ "history in v1", 1472, 8, 0, 0 /* zero count, zero entries: fine */ },
	{ "history count in v1", 1472, 8, 1, -EBADMSG },
	{ "tail reserved", 4000, 1, 1, -EBADMSG },
};

/* The same on a version 2 copy whose rekey is in progress (sample_rekey). */
static const struct mutation rekey_mutations[] = {
	{ "as it is", 0, 0, 0, 0 },
	{ "version 1", 8, 2, 1, -EBADMSG },
	{ "rekey feature cleared", 16, 8, 0, -EBADMSG },
	{ "digest 1 unused", 288, 4, 0, -EBADMSG },
	{ "state 2", 1408, 4, 2, -EBADMSG },
	{ "state 0", 1408, 4, 0, -EBADMSG },
	{ "resilience 0", 1412, 4, 0, -EBADMSG },
	{ "resilience 2", 1412, 4, 2, -EBADMSG },
	{ "boundary at the end", 1416, 8, 64 << 20, 0 },
	{ "boundary zero", 1416, 8, 0, 0 },
	{ "boundary beyond the end", 1416, 8, 68 << 20, -EBADMSG },
	{ "boundary inside a chunk", 1416, 8, 4096, -EBADMSG },
	{ "journal offset", 1424, 8, 0, -EBADMSG },
	{ "journal size", 1432, 8, 4 << 20, -EBADMSG },
	{ "chunk size 0", 1440, 8, 0, -EBADMSG },
	{ "chunk not a page multiple", 1440, 8, 6144, -EBADMSG },
	{ "chunk beyond the journal", 1440, 8, 1ULL << 30, -EBADMSG },
	{ "id 0", 1448, 8, 0, -EBADMSG },
	{ "start time 0", 1456, 8, 0, -EBADMSG },
	{ "record reserved", 1464, 1, 1, -EBADMSG },
	{ "history count too small", 1472, 8, 2, -EBADMSG },
	{ "history count larger than kept", 1472, 8, 100, -EBADMSG },
	{ "history reserved", 1480, 1, 1, -EBADMSG },
	{ "history flags", 1488 + 24, 4, 2, -EBADMSG },
	{ "history entry reserved", 1488 + 28, 1, 1, -EBADMSG },
	{ "history finished before started", 1488 + 8, 8, 1, -EBADMSG },
	{ "history entry after the count", 1488 + 3 * 32, 1, 1, -EBADMSG },
	{ "new-key slot digest index 2", 384 + 5 * 128 + 2, 1, 2, -EBADMSG },
	{ "slot on the old key", 384 + 5 * 128 + 2, 1, 0, 0 },
};

static void check_mutation(const struct mutation *m, struct vol_metadata md)
{
	struct vol_metadata out;
	uint8_t buf[VOL_META_SIZE];

	vol_metadata_encode(&md, 0, buf);
	for (int b = 0; b < m->width; b++)
		buf[m->off + b] = (uint8_t)(m->value >> (8 * b));
	fix_checksum(buf);
	if (vol_metadata_decode(buf, 0, &out) != m->expect)
		ck_abort_msg("%s: got %d, want %d", m->what,
			     vol_metadata_decode(buf, 0, &out), m->expect);
}

START_TEST(field_rules)
{
	check_mutation(&mutations[_i], sample());
}
END_TEST

START_TEST(rekey_rules)
{
	check_mutation(&rekey_mutations[_i], sample_rekey());
}
END_TEST

/* The largest chunk is the one whose fingerprints just fit half the journal. */
START_TEST(chunk_limit)
{
	struct vol_metadata md = sample_rekey(), out;
	uint64_t fit = (4ULL << 20) - VOL_JOURNAL_ENTRY_HEADER;
	uint8_t buf[VOL_META_SIZE];

	md.sector_size = 512;
	md.rekey.boundary = 0;
	md.rekey.chunk_size = fit / VOL_FINGERPRINT_BYTES * 512 / 4096 * 4096;
	vol_metadata_encode(&md, 0, buf);
	ck_assert_int_eq(vol_metadata_decode(buf, 0, &out), 0);
	md.rekey.chunk_size += 4096;
	vol_metadata_encode(&md, 0, buf);
	ck_assert_int_eq(vol_metadata_decode(buf, 0, &out), -EBADMSG);
}
END_TEST

START_TEST(label_needs_nul)
{
	struct vol_metadata md = sample(), out;
	uint8_t buf[VOL_META_SIZE];

	vol_metadata_encode(&md, 0, buf);
	memset(buf + 56, 'A', 64); /* no terminating NUL left */
	fix_checksum(buf);
	ck_assert_int_eq(vol_metadata_decode(buf, 0, &out), -EBADMSG);
	vol_metadata_encode(&md, 0, buf);
	buf[56 + 10] = 'x'; /* text after the NUL */
	fix_checksum(buf);
	ck_assert_int_eq(vol_metadata_decode(buf, 0, &out), -EBADMSG);
}
END_TEST

START_TEST(uuid_text)
{
	uint8_t u[16];
	char text[VOL_UUID_STRLEN];

	ck_assert_int_eq(vol_uuid_parse("0123ABCD-4567-89ab-cdef-0123456789AB", u), 0);
	vol_uuid_format(u, text);
	ck_assert_str_eq(text, "0123abcd-4567-89ab-cdef-0123456789ab");
	ck_assert_int_eq(vol_uuid_parse("0123abcd-4567-89ab-cdef-0123456789a", u), -EINVAL);
	ck_assert_int_eq(vol_uuid_parse("0123abcd+4567-89ab-cdef-0123456789ab", u), -EINVAL);
	ck_assert_int_eq(vol_uuid_parse("0123abcd-4567-89ab-cdef-0123456789ag", u), -EINVAL);
	ck_assert_int_eq(vol_uuid_parse("", u), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("header_codec");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, fixed_positions);
	tcase_add_test(tc, checksum_detects_any_flip);
	tcase_add_loop_test(tc, field_rules, 0, sizeof(mutations) / sizeof(mutations[0]));
	tcase_add_loop_test(tc, rekey_rules, 0,
			    sizeof(rekey_mutations) / sizeof(rekey_mutations[0]));
	tcase_add_test(tc, chunk_limit);
	tcase_add_test(tc, label_needs_nul);
	tcase_add_test(tc, uuid_text);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(suite());
}
