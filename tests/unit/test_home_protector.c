/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for libvol/home_protector.c (docs/FORMAT.md section 13): a
 * protector round-trips MK_u, refuses a wrong passphrase with EPERM, is
 * never overwritten, and every kind of damage (checksum, reserved byte,
 * version, size, material) is EBADMSG / EPROTONOSUPPORT, not a key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "home_protector.h"
#include "internal.h"
#include "unit.h"

static const struct vol_kdf_params fast = {
	.type = VOL_KDF_PBKDF2_SHA256,
	.force_iterations = 1000,
};
static const char pass[] = "login passphrase";
static char dir[64], path[128];

static void setup(void)
{
	strcpy(dir, "/tmp/vc-protector-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/1000.protector", dir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

/* Creates a protector at path; *mk gets MK_u. */
static void create(struct vol_key **mk)
{
	ck_assert_int_eq(vol_protector_create(path, 1000, VOL_HOME_FSCRYPT, &fast, pass,
					      strlen(pass), mk), 0);
}

static void patch(off_t off, uint8_t value)
{
	int fd = open(path, O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, &value, 1, off), 1);
	close(fd);
}

static int unlock(struct vol_key **mk)
{
	return vol_protector_unlock(path, pass, strlen(pass), mk, NULL);
}

START_TEST(test_round_trip)
{
	struct vol_home_protector_info info;
	struct vol_key *mk, *again;
	uint8_t a[64], b[64];
	struct stat st;

	create(&mk);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 256 + 64 * 4000);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(vol_protector_unlock(path, pass, strlen(pass), &again, &info), 0);
	ck_assert_int_eq(vol_key_export(mk, a, sizeof(a)), 64);
	ck_assert_int_eq(vol_key_export(again, b, sizeof(b)), 64);
	ck_assert_mem_eq(a, b, sizeof(a));
	ck_assert_int_eq(info.uid, 1000);
	ck_assert_int_eq(info.layer, VOL_HOME_FSCRYPT);
	ck_assert_int_eq(info.kdf, VOL_KDF_PBKDF2_SHA256);
	ck_assert_int_eq(info.iterations, 1000);
	vol_key_free(mk);
	vol_key_free(again);
}
END_TEST

START_TEST(test_wrong_passphrase)
{
	struct vol_key *mk;

	create(&mk);
	vol_key_free(mk);
	mk = (struct vol_key *)1;
	ck_assert_int_eq(vol_protector_unlock(path, "wrong", 5, &mk, NULL), -EPERM);
	ck_assert_ptr_null(mk);
}
END_TEST

START_TEST(test_never_overwritten)
{
	struct vol_key *mk, *other;
	uint8_t a[64], b[64];

	create(&mk);
	ck_assert_int_eq(vol_protector_create(path, 1000, VOL_HOME_ECRYPTFS, &fast, "x", 1,
					      &other), -EEXIST);
	ck_assert_int_eq(unlock(&other), 0);
	vol_key_export(mk, a, sizeof(a));
	vol_key_export(other, b, sizeof(b));
	ck_assert_mem_eq(a, b, sizeof(a));
	vol_key_free(mk);
	vol_key_free(other);
}
END_TEST

/* Each damage: offset and the error it must give. */
static const struct {
	off_t off;
	int err;
} damage[] = {
	{ 0, -EBADMSG },		/* magic */
	{ 12, -EBADMSG },		/* uid: fixed-part checksum */
	{ 200, -EBADMSG },		/* reserved (checksum catches it too) */
	{ 230, -EBADMSG },		/* the checksum itself */
	{ 256 + 1000, -EBADMSG },	/* material: material checksum */
};

START_TEST(test_damage)
{
	struct vol_key *mk;
	uint8_t byte;
	int fd;

	create(&mk);
	vol_key_free(mk);
	fd = open(path, O_RDONLY);
	ck_assert_int_eq(pread(fd, &byte, 1, damage[_i].off), 1);
	close(fd);
	patch(damage[_i].off, byte ^ 0x01);
	ck_assert_int_eq(unlock(&mk), damage[_i].err);
	patch(damage[_i].off, byte);
	ck_assert_int_eq(unlock(&mk), 0);
	vol_key_free(mk);
}
END_TEST

START_TEST(test_truncated)
{
	struct vol_key *mk;

	create(&mk);
	vol_key_free(mk);
	ck_assert_int_eq(truncate(path, 256 + 64 * 4000 - 1), 0);
	ck_assert_int_eq(unlock(&mk), -EBADMSG);
	ck_assert_int_eq(truncate(path, 100), 0);
	ck_assert_int_eq(unlock(&mk), -EBADMSG);
}
END_TEST

START_TEST(test_missing)
{
	struct vol_home_protector_info info;
	struct vol_key *mk;

	ck_assert_int_eq(unlock(&mk), -ENOENT);
	ck_assert_int_eq(vol_protector_read_info(path, &info), -ENOENT);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("home_protector");
	TCase *tc = tcase_create("home_protector");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_wrong_passphrase);
	tcase_add_test(tc, test_never_overwritten);
	tcase_add_loop_test(tc, test_damage, 0, sizeof(damage) / sizeof(damage[0]));
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_missing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	vol_set_log(NULL, NULL);
	return unit_run(suite());
}
