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

static void fix_checksum(uint8_t *buf)
{
	gcry_md_hash_buffer(GCRY_MD_SHA256, buf + 4064, buf, 4064);
}

START_TEST(round_trip)
{
	struct vol_metadata md = sample(), out;
	uint8_t buf[VOL_META_SIZE];

	for (int copy = 0; copy < 2; copy++) {
		vol_metadata_encode(&md, copy, buf);
		ck_assert_int_eq(vol_metadata_decode(buf, copy, &out), 0);
		ck_assert_mem_eq(&md, &out, sizeof(md));
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
	{ "version 2", 8, 2, 2, -EPROTONOSUPPORT },
	{ "version 0", 8, 2, 0, -EPROTONOSUPPORT },
	{ "copy index", 10, 2, 1, -EBADMSG },
	{ "metadata size", 12, 4, 8192, -EBADMSG },
	{ "unknown incompat feature", 16, 8, 1, -EPROTONOSUPPORT },
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
	{ "keyslot digest index", 386, 1, 1, -EBADMSG },
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
	{ "tail reserved", 4000, 1, 1, -EBADMSG },
};

START_TEST(field_rules)
{
	const struct mutation *m = &mutations[_i];
	struct vol_metadata md = sample(), out;
	uint8_t buf[VOL_META_SIZE];

	vol_metadata_encode(&md, 0, buf);
	for (int b = 0; b < m->width; b++)
		buf[m->off + b] = (uint8_t)(m->value >> (8 * b));
	fix_checksum(buf);
	if (vol_metadata_decode(buf, 0, &out) != m->expect)
		ck_abort_msg("%s: got %d, want %d", m->what,
			     vol_metadata_decode(buf, 0, &out), m->expect);
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
	tcase_add_test(tc, label_needs_nul);
	tcase_add_test(tc, uuid_text);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(suite());
}
