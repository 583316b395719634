/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Keyslots on a real (temporary) image file: add, remove, change, wipe,
 * recovery from damaged copies, header backup and restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "libvol.h"
#include "unit.h"

#define IMG_SIZE (20ULL << 20)

static char img[64];
static const struct vol_kdf_params fast = {
	.type = VOL_KDF_PBKDF2_SHA256,
	.force_iterations = 1000,
};

/* A sparse image file under /tmp; @path receives its name. */
static void make_image_at(char *path)
{
	int fd;

	strcpy(path, "/tmp/vc-unit-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, IMG_SIZE), 0);
	close(fd);
}

static void make_image(void)
{
	make_image_at(img);
}

static void setup(void)
{
	struct vol_format_params p = { .label = "unit", .kdf = fast };

	make_image();
	ck_assert_int_eq(vol_format(img, &p, "one", 3, NULL), 0);
}

static void teardown(void)
{
	unlink(img);
}

static struct vol_volume *load_rw(void)
{
	struct vol_volume *vol = NULL;

	ck_assert_int_eq(vol_load(img, 0, &vol), 0);
	return vol;
}

static int opens(const char *pass)
{
	struct vol_volume *vol = NULL;
	int slot = -1, r;

	r = vol_load(img, VOL_LOAD_READONLY, &vol);
	if (r)
		return r;
	r = vol_unlock(vol, -1, pass, strlen(pass), &slot, NULL);
	vol_free(vol);
	return r ? r : slot;
}

static struct vol_key *unlock(struct vol_volume *vol, const char *pass)
{
	struct vol_key *key = NULL;

	ck_assert_int_eq(vol_unlock(vol, -1, pass, strlen(pass), NULL, &key), 0);
	return key;
}

static void patch(uint64_t off, const void *buf, size_t len)
{
	int fd = open(img, O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* Inverts one byte: always a change, whatever the (random) byte was. */
static void flip(uint64_t off)
{
	int fd = open(img, O_RDWR);
	uint8_t b;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
	b = (uint8_t)~b;
	ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

static int area_is_zero(uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len);
	int fd = open(img, O_RDONLY), zero = 1;

	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	for (size_t i = 0; i < len; i++)
		zero &= buf[i] == 0;
	close(fd);
	free(buf);
	return zero;
}

static void zero_range(uint64_t off, size_t len)
{
	uint8_t *z = calloc(1, len);

	patch(off, z, len);
	free(z);
}

START_TEST(format_then_unlock)
{
	struct vol_volume *vol = load_rw();
	struct vol_info info;

	ck_assert_int_eq(vol_get_info(vol, &info), 0);
	ck_assert_str_eq(info.label, "unit");
	ck_assert_uint_eq(info.sector_size, 512);
	ck_assert_uint_eq(info.data_offset, 16 << 20);
	ck_assert_uint_eq(info.data_size, IMG_SIZE - (16 << 20));
	ck_assert_int_eq(info.active_keyslots, 1);
	ck_assert_int_eq(info.copy_state[0], VOL_COPY_OK);
	ck_assert_int_eq(info.copy_state[1], VOL_COPY_OK);
	vol_free(vol);
	ck_assert_int_eq(opens("one"), 0);
	ck_assert_int_eq(opens("two"), -EPERM);
	ck_assert_int_eq(opens("on"), -EPERM);
}
END_TEST

START_TEST(add_remove_wipes_material)
{
	struct vol_volume *vol = load_rw();
	struct vol_key *key = unlock(vol, "one");
	int slot = -1;

	ck_assert_int_eq(vol_keyslot_add(vol, key, -1, "two", 3, &fast, &slot), 0);
	ck_assert_int_eq(slot, 1);
	ck_assert(!area_is_zero(VOL_MATERIAL_OFFSET(0, 1), 4096));
	ck_assert(!area_is_zero(VOL_MATERIAL_OFFSET(1, 1), 4096));
	ck_assert_int_eq(opens("two"), 1);
	ck_assert_int_eq(vol_keyslot_remove(vol, 1, 0), 0);
	ck_assert(area_is_zero(VOL_MATERIAL_OFFSET(0, 1), VOL_MATERIAL_STRIDE));
	ck_assert(area_is_zero(VOL_MATERIAL_OFFSET(1, 1), VOL_MATERIAL_STRIDE));
	ck_assert_int_eq(opens("two"), -EPERM);
	ck_assert_int_eq(opens("one"), 0);
	/* the last key needs allow_last */
	ck_assert_int_eq(vol_keyslot_remove(vol, 0, 0), -EINVAL);
	ck_assert_int_eq(vol_keyslot_remove(vol, 3, 1), -EINVAL);
	vol_key_free(key);
	vol_free(vol);
}
END_TEST

START_TEST(all_slots_full)
{
	struct vol_volume *vol = load_rw();
	struct vol_key *key = unlock(vol, "one");
	char pass[16];

	for (int i = 1; i < VOL_KEYSLOTS; i++) {
		int slot = -1;

		snprintf(pass, sizeof(pass), "p%d", i);
		ck_assert_int_eq(vol_keyslot_add(vol, key, -1, pass, strlen(pass), &fast, &slot), 0);
		ck_assert_int_eq(slot, i);
	}
	ck_assert_int_eq(vol_keyslot_add(vol, key, -1, "x", 1, &fast, NULL), -ENOSPC);
	ck_assert_int_eq(vol_keyslot_add(vol, key, 2, "x", 1, &fast, NULL), -EEXIST);
	vol_key_free(key);
	vol_free(vol);
	ck_assert_int_eq(opens("p7"), 7);
}
END_TEST

START_TEST(change_in_place)
{
	struct vol_volume *vol = load_rw();
	struct vol_key *key = unlock(vol, "one");
	int slot = -1;

	ck_assert_int_eq(vol_keyslot_change(vol, key, 0, "new", 3, &fast, &slot), 0);
	ck_assert_int_eq(slot, 0);
	vol_key_free(key);
	vol_free(vol);
	ck_assert_int_eq(opens("one"), -EPERM);
	ck_assert_int_eq(opens("new"), 0);
}
END_TEST

START_TEST(wrong_key_refused)
{
	struct vol_volume *vol = load_rw();
	struct vol_key *key = unlock(vol, "one");
	struct vol_format_params p = { .kdf = fast };
	struct vol_volume *other;
	char other_img[64];

	make_image_at(other_img);
	ck_assert_int_eq(vol_format(other_img, &p, "one", 3, &other), 0);
	/* the key of volume A must not be sealed into volume B */
	ck_assert_int_eq(vol_keyslot_add(other, key, -1, "x", 1, &fast, NULL), -EPERM);
	vol_free(other);
	unlink(other_img);
	vol_key_free(key);
	vol_free(vol);
}
END_TEST

START_TEST(damaged_copy_0_recovers)
{
	struct vol_volume *vol;
	struct vol_info info;
	struct vol_keyslot_info ks;
	struct vol_key *key;
	uint8_t junk[16] = "damage damage!!";

	patch(100, junk, sizeof(junk));
	patch(VOL_MATERIAL_OFFSET(0, 0) + 1000, junk, sizeof(junk));
	ck_assert_int_eq(opens("one"), 0);
	vol = load_rw();
	vol_get_info(vol, &info);
	ck_assert_int_eq(info.copy_state[0], VOL_COPY_DAMAGED);
	ck_assert_int_eq(info.copy_state[1], VOL_COPY_OK);
	vol_get_keyslot(vol, 0, &ks);
	ck_assert_int_eq(ks.material_state[0], VOL_COPY_DAMAGED);
	/* the next update rewrites the damaged copies */
	key = unlock(vol, "one");
	ck_assert_int_eq(vol_keyslot_add(vol, key, -1, "two", 3, &fast, NULL), 0);
	vol_key_free(key);
	vol_free(vol);
	vol = load_rw();
	vol_get_info(vol, &info);
	vol_get_keyslot(vol, 0, &ks);
	ck_assert_int_eq(info.copy_state[0], VOL_COPY_OK);
	ck_assert_int_eq(ks.material_state[0], VOL_COPY_OK);
	vol_free(vol);
}
END_TEST

START_TEST(first_mib_zeroed_still_opens)
{
	zero_range(0, 1 << 20);
	ck_assert_int_eq(opens("one"), 0);
}
END_TEST

START_TEST(both_copies_damaged)
{
	struct vol_volume *vol = NULL;

	flip(VOL_COPY_BASE(0) + 50);
	flip(VOL_COPY_BASE(1) + 50);
	ck_assert_int_eq(vol_load(img, VOL_LOAD_READONLY, &vol), -EBADMSG);
	ck_assert_ptr_null(vol);
}
END_TEST

START_TEST(both_material_copies_damaged)
{
	flip(VOL_MATERIAL_OFFSET(0, 0) + 7);
	flip(VOL_MATERIAL_OFFSET(1, 0) + 7);
	ck_assert_int_eq(opens("one"), -EPERM);
}
END_TEST

START_TEST(backup_restore)
{
	struct vol_volume *vol = load_rw();
	char bk[80];

	snprintf(bk, sizeof(bk), "%s.bak", img);
	unlink(bk);
	ck_assert_int_eq(vol_header_backup(vol, bk), 0);
	ck_assert_int_eq(vol_header_backup(vol, bk), -EEXIST);
	vol_free(vol);
	zero_range(0, VOL_HEADER_AREA_SIZE);
	ck_assert_int_eq(opens("one"), -EBADMSG);
	ck_assert_int_eq(vol_header_restore(img, bk, 0), 0);
	ck_assert_int_eq(opens("one"), 0);
	/* a truncated backup is refused */
	ck_assert_int_eq(truncate(bk, VOL_HEADER_AREA_SIZE - 4096), 0);
	ck_assert_int_eq(vol_header_restore(img, bk, 0), -EBADMSG);
	unlink(bk);
}
END_TEST

START_TEST(restore_other_uuid_needs_force)
{
	struct vol_format_params p = { .kdf = fast };
	struct vol_volume *other;
	char other_img[64], bk[80];

	make_image_at(other_img);
	ck_assert_int_eq(vol_format(other_img, &p, "other", 5, &other), 0);
	snprintf(bk, sizeof(bk), "%s.bak", other_img);
	unlink(bk);
	ck_assert_int_eq(vol_header_backup(other, bk), 0);
	vol_free(other);
	ck_assert_int_eq(vol_header_restore(img, bk, 0), -EEXIST);
	ck_assert_int_eq(opens("one"), 0);
	ck_assert_int_eq(vol_header_restore(img, bk, 1), 0);
	ck_assert_int_eq(opens("other"), 0);
	ck_assert_int_eq(opens("one"), -EPERM);
	unlink(bk);
	unlink(other_img);
}
END_TEST

START_TEST(format_refuses_existing)
{
	struct vol_format_params p = { .kdf = fast };

	/* an existing volcrypt volume is a signature too */
	ck_assert_int_eq(vol_format(img, &p, "x", 1, NULL), -EEXIST);
	ck_assert_int_eq(opens("one"), 0);
	p.force = 1;
	ck_assert_int_eq(vol_format(img, &p, "x", 1, NULL), 0);
	ck_assert_int_eq(opens("x"), 0);
}
END_TEST

START_TEST(format_bad_params)
{
	struct vol_format_params p = { .kdf = fast, .force = 1 };

	p.sector_size = 1024;
	ck_assert_int_eq(vol_format(img, &p, "x", 1, NULL), -EINVAL);
	p.sector_size = 0;
	p.uuid = "not-a-uuid";
	ck_assert_int_eq(vol_format(img, &p, "x", 1, NULL), -EINVAL);
	p.uuid = NULL;
	p.label = "0123456789012345678901234567890123456789012345678901234567890123";
	ck_assert_int_eq(vol_format(img, &p, "x", 1, NULL), -EINVAL);
	p.label = "two\nlines";
	ck_assert_int_eq(vol_format(img, &p, "x", 1, NULL), -EINVAL);
	p.label = NULL;
	p.data_offset = 8 << 20;
	ck_assert_int_eq(vol_format(img, &p, "x", 1, NULL), -EINVAL);
	p.data_offset = 0;
	ck_assert_int_eq(vol_format(img, &p, "", 0, NULL), -EINVAL);
	ck_assert_int_eq(vol_format("/nonexistent/x", &p, "x", 1, NULL), -ENOENT);
	ck_assert_int_eq(vol_format("/tmp", &p, "x", 1, NULL), -ENODEV);
	ck_assert_int_eq(truncate(img, 16 << 20), 0);
	ck_assert_int_eq(vol_format(img, &p, "x", 1, NULL), -ENODEV);
}
END_TEST

START_TEST(sector_size_4096_and_uuid)
{
	struct vol_format_params p = { .kdf = fast, .force = 1, .sector_size = 4096,
				       .uuid = "01234567-89ab-cdef-0123-456789abcdef" };
	struct vol_volume *vol;
	struct vol_info info;

	ck_assert_int_eq(vol_format(img, &p, "x", 1, &vol), 0);
	vol_get_info(vol, &info);
	ck_assert_uint_eq(info.sector_size, 4096);
	ck_assert_str_eq(info.uuid, "01234567-89ab-cdef-0123-456789abcdef");
	vol_free(vol);
}
END_TEST

START_TEST(argon2id_slot)
{
	struct vol_kdf_params a = { .type = VOL_KDF_ARGON2ID, .force_iterations = 4,
				    .memory_kib = 1024, .parallel = 2 };
	struct vol_volume *vol = load_rw();
	struct vol_key *key = unlock(vol, "one");
	struct vol_keyslot_info ks;
	int slot;

	ck_assert_int_eq(vol_keyslot_add(vol, key, 6, "argon", 5, &a, &slot), 0);
	ck_assert_int_eq(slot, 6);
	vol_get_keyslot(vol, 6, &ks);
	ck_assert_int_eq(ks.kdf, VOL_KDF_ARGON2ID);
	ck_assert_uint_eq(ks.memory_kib, 1024);
	ck_assert_uint_eq(ks.parallel, 2);
	vol_key_free(key);
	vol_free(vol);
	ck_assert_int_eq(opens("argon"), 6);
}
END_TEST

START_TEST(readonly_handle_refuses_updates)
{
	struct vol_volume *vol = NULL;
	struct vol_key *key;

	ck_assert_int_eq(vol_load(img, VOL_LOAD_READONLY, &vol), 0);
	key = unlock(vol, "one");
	ck_assert_int_eq(vol_keyslot_add(vol, key, -1, "x", 1, &fast, NULL), -EROFS);
	vol_key_free(key);
	vol_free(vol);
}
END_TEST

START_TEST(writer_lock_is_exclusive)
{
	struct vol_volume *a = load_rw(), *b = NULL;

	ck_assert_int_eq(vol_load(img, 0, &b), -EBUSY);
	vol_free(a);
}
END_TEST

/* Every single-bit difference, at every position, is told from equality. */
START_TEST(ct_equal_sees_every_bit)
{
	uint8_t a[33], b[33];

	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)(i * 37 + 1);
	memcpy(b, a, sizeof(a));
	ck_assert_int_eq(vol_ct_equal(a, b, sizeof(a)), 1);
	ck_assert_int_eq(vol_ct_equal(NULL, NULL, 0), 1);
	for (size_t i = 0; i < sizeof(a); i++) {
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			ck_assert_int_eq(vol_ct_equal(a, b, sizeof(a)), 0);
			/* Only the first i bytes compared: the difference is outside. */
			ck_assert_int_eq(vol_ct_equal(a, b, i), 1);
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("keyslot");
	TCase *tc = tcase_create("keyslots");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, format_then_unlock);
	tcase_add_test(tc, add_remove_wipes_material);
	tcase_add_test(tc, all_slots_full);
	tcase_add_test(tc, change_in_place);
	tcase_add_test(tc, wrong_key_refused);
	tcase_add_test(tc, damaged_copy_0_recovers);
	tcase_add_test(tc, first_mib_zeroed_still_opens);
	tcase_add_test(tc, both_copies_damaged);
	tcase_add_test(tc, both_material_copies_damaged);
	tcase_add_test(tc, backup_restore);
	tcase_add_test(tc, restore_other_uuid_needs_force);
	tcase_add_test(tc, format_refuses_existing);
	tcase_add_test(tc, format_bad_params);
	tcase_add_test(tc, sector_size_4096_and_uuid);
	tcase_add_test(tc, argon2id_slot);
	tcase_add_test(tc, readonly_handle_refuses_updates);
	tcase_add_test(tc, writer_lock_is_exclusive);
	tcase_add_test(tc, ct_equal_sees_every_bit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(suite());
}
