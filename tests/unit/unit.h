/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Common scaffolding for the Check unit tests: one program per file. */
#ifndef VOLCRYPT_UNIT_H
#define VOLCRYPT_UNIT_H

#include <check.h>
#include <gcrypt.h>
#include <stdio.h>
#include <stdlib.h>

/* The application (here: the test) owns libgcrypt initialisation. */
static inline void unit_init_gcrypt(void)
{
	if (!gcry_check_version(GCRYPT_VERSION)) {
		fprintf(stderr, "libgcrypt version mismatch\n");
		exit(2);
	}
	gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
	gcry_control(GCRYCTL_INIT_SECMEM, 4 << 20, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
}

/* Run one suite; exit status is the number of failures (capped). */
static inline int unit_run(Suite *s)
{
	unit_init_gcrypt();
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif
