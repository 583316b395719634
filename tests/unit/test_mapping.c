/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Mapping names, backend names and the /run/volcrypt records. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "mapping_state.h"
#include "unit.h"

START_TEST(name_rules)
{
	char longest[VOL_NAME_MAX + 2];

	ck_assert_int_eq(vol_name_check("home"), 0);
	ck_assert_int_eq(vol_name_check("crypt_root-1.x"), 0);
	memset(longest, 'a', sizeof(longest));
	longest[VOL_NAME_MAX] = '\0';
	ck_assert_int_eq(vol_name_check(longest), 0);
	longest[VOL_NAME_MAX] = 'a';
	longest[VOL_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(vol_name_check(longest), -EINVAL);
	ck_assert_int_eq(vol_name_check(""), -EINVAL);
	ck_assert_int_eq(vol_name_check(NULL), -EINVAL);
	ck_assert_int_eq(vol_name_check("a/b"), -EINVAL);
	ck_assert_int_eq(vol_name_check("."), -EINVAL);
	ck_assert_int_eq(vol_name_check(".."), -EINVAL);
	ck_assert_int_eq(vol_name_check("-rf"), -EINVAL);
	ck_assert_int_eq(vol_name_check("two words"), -EINVAL);
	ck_assert_int_eq(vol_name_check("tab\there"), -EINVAL);
}
END_TEST

START_TEST(backend_names)
{
	enum vol_backend b;

	for (int i = VOL_BACKEND_AUTO; i <= VOL_BACKEND_FUSE; i++) {
		ck_assert_ptr_nonnull(vol_backend_name((enum vol_backend)i));
		ck_assert_int_eq(vol_backend_parse(vol_backend_name((enum vol_backend)i), &b), 0);
		ck_assert_int_eq(b, i);
	}
	ck_assert_str_eq(vol_backend_name(VOL_BACKEND_DMCRYPT), "dm-crypt");
	ck_assert_ptr_null(vol_backend_name((enum vol_backend)9));
	ck_assert_int_eq(vol_backend_parse("dmcrypt", &b), -EINVAL);
	ck_assert_int_eq(vol_backend_parse(NULL, &b), -EINVAL);
}
END_TEST

START_TEST(state_round_trip)
{
	struct vol_mapping_info m, back;
	char name[32], **names;
	size_t n;
	int listed = 0;

	memset(&m, 0, sizeof(m)); /* padding too: compared with memcmp */
	m.backend = VOL_BACKEND_FUSE;
	m.size = 1 << 30;
	m.sector_size = 4096;
	m.read_only = 1;
	m.pid = 4242;
	snprintf(name, sizeof(name), "unit-%d", (int)getpid());
	snprintf(m.name, sizeof(m.name), "%s", name);
	strcpy(m.device, "/dev/loop7");
	strcpy(m.target, "/srv/images/disk one.img");
	strcpy(m.uuid, "01234567-89ab-cdef-0123-456789abcdef");
	ck_assert_int_eq(vol_state_reserve(name), 0);
	ck_assert_int_eq(vol_state_reserve(name), -EEXIST);
	ck_assert_int_eq(vol_state_read(name, &back), -ENOENT);
	ck_assert_int_eq(vol_state_write(&m), 0);
	ck_assert_int_eq(vol_state_read(name, &back), 0);
	ck_assert_mem_eq(&m, &back, sizeof(m));
	ck_assert_int_eq(vol_mapping_list(&names, &n), 0);
	for (size_t i = 0; i < n; i++)
		listed += !strcmp(names[i], name);
	vol_mapping_list_free(names, n);
	ck_assert_int_eq(listed, 1);
	ck_assert_int_eq(vol_state_remove(name), 0);
	ck_assert_int_eq(vol_state_read(name, &back), -ENOENT);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("mapping");
	TCase *tc = tcase_create("mapping");

	tcase_add_test(tc, name_rules);
	tcase_add_test(tc, backend_names);
	tcase_add_test(tc, state_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(suite());
}
