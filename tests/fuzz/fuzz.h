/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every libFuzzer target of ours shares: libgcrypt set up for the run. */
#ifndef VOLCRYPT_FUZZ_H
#define VOLCRYPT_FUZZ_H

#include <gcrypt.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* No secure memory: the fuzzer's inputs are no secrets, and it would run out. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	gcry_check_version(GCRYPT_VERSION);
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	return 0;
}

#endif
