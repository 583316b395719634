/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Golden metadata copies written by the v1 code (tests/unit/golden/):
 * decoding them must give the documented values, and encoding the result
 * must reproduce them byte for byte.  A failure here means the on-disk
 * format changed: that needs a version bump (docs/FORMAT.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "header_codec.h"
#include "unit.h"

#ifndef GOLDEN_DIR
#define GOLDEN_DIR "tests/unit/golden"
#endif

static void read_golden(const char *name, uint8_t *buf)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_uint_eq(fread(buf, 1, VOL_META_SIZE, f), VOL_META_SIZE);
	fclose(f);
}

START_TEST(golden_copies)
{
	static const char *names[] = { "v1-copy0.bin", "v1-copy1.bin" };
	uint8_t buf[VOL_META_SIZE], again[VOL_META_SIZE];
	struct vol_metadata md;
	char uuid[VOL_UUID_STRLEN];

	for (int copy = 0; copy < 2; copy++) {
		read_golden(names[copy], buf);
		ck_assert_int_eq(vol_metadata_decode(buf, copy, &md), 0);
		ck_assert_int_eq(vol_metadata_decode(buf, !copy, &md), -EBADMSG);
		ck_assert_int_eq(vol_metadata_decode(buf, copy, &md), 0);
		vol_uuid_format(md.uuid, uuid);
		ck_assert_str_eq(uuid, "6f0c1f5e-2b1a-4c7e-9d3a-5e8b7a6c4d21");
		ck_assert_str_eq(md.label, "golden-v1");
		ck_assert_str_eq(md.cipher, "aes-xts-plain64");
		ck_assert_uint_eq(md.version, 1);
		ck_assert_uint_eq(md.sequence, 2);
		ck_assert_uint_eq(md.sector_size, 4096);
		ck_assert_uint_eq(md.data_offset, 16 << 20);
		ck_assert_uint_eq(md.data_size, 4 << 20);
		ck_assert_uint_eq(md.digest[0].iterations, 1000);
		ck_assert(md.slot[0].active && md.slot[3].active);
		ck_assert_uint_eq(md.slot[0].kdf, VOL_KDF_PBKDF2_SHA256);
		ck_assert_uint_eq(md.slot[3].kdf, VOL_KDF_ARGON2ID);
		ck_assert_uint_eq(md.slot[3].memory_kib, 1024);
		ck_assert_uint_eq(md.slot[3].parallel, 2);
		ck_assert_uint_eq(md.slot[3].iterations, 4);
		for (int s = 0; s < VOL_KEYSLOTS; s++)
			if (s != 0 && s != 3)
				ck_assert(!md.slot[s].active);
		vol_metadata_encode(&md, copy, again);
		ck_assert_mem_eq(buf, again, VOL_META_SIZE);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("golden");
	TCase *tc = tcase_create("v1");

	tcase_add_test(tc, golden_copies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(suite());
}
