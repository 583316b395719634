/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for libvol/home_ecryptfs.c: the key derivations and
 * signatures (known answers computed with Python's hmac/hashlib), the
 * auth token's byte layout (offsets of the kernel's packed struct), the
 * mountinfo parser, and the argument checks that need no eCryptfs.  The
 * mount itself is tested in the VM (tests/vm/t_ecryptfs_glue.sh).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "home_ecryptfs.h"
#include "internal.h"
#include "unit.h"

static void counting_mk(uint8_t mk[VOL_HOME_MK_BYTES])
{
	for (int i = 0; i < VOL_HOME_MK_BYTES; i++)
		mk[i] = (uint8_t)i;
}

START_TEST(test_derivation_known_answer)
{
	static const uint8_t fekek16[16] = {
		0x58, 0xd2, 0x96, 0xd0, 0x86, 0x9c, 0x96, 0xb8,
		0x03, 0x45, 0xf1, 0xc6, 0x26, 0xe7, 0x2f, 0x56,
	};
	static const uint8_t fnek16[16] = {
		0xbc, 0x37, 0x3c, 0xfb, 0x44, 0xd0, 0x48, 0x4d,
		0x07, 0x82, 0x05, 0x15, 0x41, 0x07, 0xe6, 0x8d,
	};
	uint8_t mk[VOL_HOME_MK_BYTES], key[64];
	char sig[VOL_ECRYPTFS_SIG_LEN + 1];

	counting_mk(mk);
	ck_assert_int_eq(vol_ecryptfs_derive(mk, sizeof(mk), VOL_ECRYPTFS_FEKEK_LABEL, key), 0);
	ck_assert_mem_eq(key, fekek16, 16);
	vol_ecryptfs_key_sig(key, sig);
	ck_assert_str_eq(sig, "ea4cccd68201c1bb");
	ck_assert_int_eq(vol_ecryptfs_derive(mk, sizeof(mk), VOL_ECRYPTFS_FNEK_LABEL, key), 0);
	ck_assert_mem_eq(key, fnek16, 16);
	vol_ecryptfs_key_sig(key, sig);
	ck_assert_str_eq(sig, "9c7568fcc7fd8258");
}
END_TEST

START_TEST(test_sigs)
{
	char a[VOL_ECRYPTFS_SIG_LEN + 1], b[VOL_ECRYPTFS_SIG_LEN + 1];
	uint8_t mk[VOL_HOME_MK_BYTES];

	counting_mk(mk);
	ck_assert_int_eq(vol_ecryptfs_sigs(mk, sizeof(mk), a, b), 0);
	ck_assert_str_eq(a, "ea4cccd68201c1bb");
	ck_assert_str_eq(b, "9c7568fcc7fd8258");
	/* One bit of the master key changes both. */
	mk[63] ^= 1;
	ck_assert_int_eq(vol_ecryptfs_sigs(mk, sizeof(mk), a, b), 0);
	ck_assert_str_ne(a, "ea4cccd68201c1bb");
	ck_assert_str_ne(b, "9c7568fcc7fd8258");
	ck_assert_int_eq(vol_ecryptfs_sigs(mk, 32, a, b), -EINVAL);
	ck_assert_int_eq(vol_ecryptfs_sigs(NULL, sizeof(mk), a, b), -EINVAL);
}
END_TEST

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Offsets of the kernel's struct ecryptfs_auth_tok (packed, x86-64). */
START_TEST(test_token_layout)
{
	struct ecfs_auth_tok tok;
	const uint8_t *b = (const uint8_t *)&tok;
	uint8_t key[64];

	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)(0xa0 + i);
	memset(&tok, 0x5a, sizeof(tok));
	vol_ecryptfs_fill_token(&tok, key, "0123456789abcdef");
	ck_assert_uint_eq(b[0], 0x04);               /* version, minor */
	ck_assert_uint_eq(b[1], 0x00);               /* version, major */
	ck_assert_uint_eq(b[2] | b[3] << 8, 0);      /* ECRYPTFS_PASSWORD */
	ck_assert_uint_eq(le32_at(b + 4), 0);        /* flags */
	ck_assert_uint_eq(le32_at(b + 8 + 4), 0);    /* no encrypted session key */
	ck_assert_uint_eq(le32_at(b + 628 + 0), 0);  /* password_bytes */
	ck_assert_uint_eq(le32_at(b + 628 + 4), 10); /* PGP SHA-512 */
	ck_assert_uint_eq(le32_at(b + 628 + 8), 65536);
	ck_assert_uint_eq(le32_at(b + 628 + 12), 64);
	ck_assert_uint_eq(le32_at(b + 628 + 16), 0x02); /* key set */
	ck_assert_mem_eq(b + 628 + 20, key, 64);
	ck_assert_mem_eq(b + 712, "0123456789abcdef", 17);
	for (size_t i = 729; i < sizeof(tok); i++)   /* salt and padding */
		ck_assert_uint_eq(b[i], 0);
}
END_TEST

START_TEST(test_mountinfo)
{
	struct vol_mountinfo_entry e;

	ck_assert_int_eq(vol_mountinfo_parse(
		"97 29 0:52 / /home/a\\040b rw,nosuid,nodev,relatime shared:5 master:1 - "
		"ecryptfs /home/.ecryptfs/a/.Private rw,ecryptfs_fnek_sig=9c7568fcc7fd8258,"
		"ecryptfs_sig=ea4cccd68201c1bb,ecryptfs_cipher=aes,ecryptfs_key_bytes=32,"
		"ecryptfs_unlink_sigs\n", &e), 0);
	ck_assert_str_eq(e.mount_point, "/home/a b");
	ck_assert_str_eq(e.fstype, "ecryptfs");
	ck_assert_uint_eq(e.nsigs, 2);
	ck_assert_str_eq(e.sigs[0], "9c7568fcc7fd8258");
	ck_assert_str_eq(e.sigs[1], "ea4cccd68201c1bb");

	/* Other filesystems: no signatures, whatever their options say. */
	ck_assert_int_eq(vol_mountinfo_parse(
		"22 1 8:1 / / rw - ext4 /dev/sda1 rw,ecryptfs_sig=ea4cccd68201c1bb\n", &e), 0);
	ck_assert_str_eq(e.mount_point, "/");
	ck_assert_str_eq(e.fstype, "ext4");
	ck_assert_uint_eq(e.nsigs, 0);

	/* A signature of the wrong length is not one. */
	ck_assert_int_eq(vol_mountinfo_parse(
		"23 1 0:5 / /x rw - ecryptfs /y rw,ecryptfs_sig=ea4c,ecryptfs_sig=ea4cccd68201c1bbff\n",
		&e), 0);
	ck_assert_uint_eq(e.nsigs, 0);

	ck_assert_int_eq(vol_mountinfo_parse("23 1 0:5 / /x rw ecryptfs\n", &e), -EINVAL);
	ck_assert_int_eq(vol_mountinfo_parse("23 1 0:5\n", &e), -EINVAL);
	ck_assert_int_eq(vol_mountinfo_parse("", &e), -EINVAL);
}
END_TEST

/* What can be checked without eCryptfs: argument and state errors. */
START_TEST(test_without_ecryptfs)
{
	uint8_t mk[VOL_HOME_MK_BYTES];

	counting_mk(mk);
	ck_assert_int_eq(vol_ecryptfs_is_mounted("/"), 0);
	ck_assert_int_eq(vol_ecryptfs_is_mounted("/nonexistent/volcrypt"), -ENOENT);
	ck_assert_int_eq(vol_ecryptfs_is_mounted("/proc/self/mountinfo"), -ENOTDIR);
	ck_assert_int_eq(vol_ecryptfs_umount("/"), -ENOENT);
	ck_assert_int_eq(vol_ecryptfs_mount(mk, 63, "/tmp", "/tmp"), -EINVAL);
	ck_assert_int_eq(vol_ecryptfs_mount(mk, sizeof(mk), "/nonexistent/volcrypt", "/tmp"),
			 -ENOENT);
	ck_assert_int_eq(vol_ecryptfs_mount(mk, sizeof(mk), "/tmp", "/proc/self/mountinfo"),
			 -ENOTDIR);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("home_ecryptfs");
	TCase *tc = tcase_create("home_ecryptfs");

	tcase_add_test(tc, test_derivation_known_answer);
	tcase_add_test(tc, test_sigs);
	tcase_add_test(tc, test_token_layout);
	tcase_add_test(tc, test_mountinfo);
	tcase_add_test(tc, test_without_ecryptfs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	vol_set_log(NULL, NULL);
	return unit_run(suite());
}
