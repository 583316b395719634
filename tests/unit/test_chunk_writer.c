/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rekey's chunk writer: everything made ready reaches the device at
 * its place, in both modes; a write error and a producer that stops early
 * are reported by chunk_writer_finish, never swallowed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chunk_writer.h"
#include "device.h"
#include "unit.h"

#define LEN (3u * 1024 * 1024 + 4096) /* three units and a short one */
#define UNIT (1u << 20)
#define POS 8192u

static char path[] = "/tmp/test_chunk_writer.XXXXXX";
static struct vol_device dev;
static uint8_t *buf;

static void setup(void)
{
	dev.fd = mkstemp(path);
	ck_assert_int_ge(dev.fd, 0);
	dev.writable = 1;
	dev.path = path;
	buf = malloc(LEN);
	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < LEN; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
}

static void teardown(void)
{
	close(dev.fd);
	unlink(path);
	strcpy(path + strlen(path) - 6, "XXXXXX");
	free(buf);
}

/* The file holds buf at POS, and nothing past POS + LEN. */
static void check_file(void)
{
	uint8_t *got = malloc(LEN);

	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(pread(dev.fd, got, LEN, POS), LEN);
	ck_assert_int_eq(memcmp(got, buf, LEN), 0);
	ck_assert_int_eq(lseek(dev.fd, 0, SEEK_END), POS + LEN);
	free(got);
}

/* Made ready in odd steps, as the cipher's pieces finish. */
static int write_in_steps(int threaded)
{
	struct chunk_writer w;

	chunk_writer_start(&w, &dev, POS, buf, LEN, UNIT, threaded);
	for (size_t ready = 0; ready < LEN;) {
		ready = ready + 700 * 1024 < LEN ? ready + 700 * 1024 : LEN;
		chunk_writer_ready(&w, ready);
	}
	return chunk_writer_finish(&w);
}

START_TEST(threaded_writes_everything)
{
	ck_assert_int_eq(write_in_steps(1), 0);
	check_file();
}
END_TEST

START_TEST(inline_writes_everything)
{
	ck_assert_int_eq(write_in_steps(0), 0);
	check_file();
}
END_TEST

START_TEST(write_error_reported)
{
	dev.writable = 0; /* vol_device_write: -EROFS */
	ck_assert_int_eq(write_in_steps(_i), -EROFS);
}
END_TEST

START_TEST(early_stop_reported)
{
	struct chunk_writer w;

	chunk_writer_start(&w, &dev, POS, buf, LEN, UNIT, _i);
	chunk_writer_ready(&w, 2 * UNIT + 5); /* two whole units and a bit */
	ck_assert_int_eq(chunk_writer_finish(&w), -EIO);
	/* The whole units made ready were written; the bit was not. */
	ck_assert_int_eq(lseek(dev.fd, 0, SEEK_END), POS + 2 * UNIT);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("chunk_writer");
	TCase *tc = tcase_create("writer");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, threaded_writes_everything);
	tcase_add_test(tc, inline_writes_everything);
	tcase_add_loop_test(tc, write_error_reported, 0, 2);
	tcase_add_loop_test(tc, early_stop_reported, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(suite());
}
