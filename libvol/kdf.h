/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Passphrase key derivation: Argon2id and PBKDF2-SHA256 through libgcrypt. */
#ifndef LIBVOL_KDF_H
#define LIBVOL_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "libvol.h"

/* Fully resolved KDF parameters, as stored in a keyslot. */
struct vol_kdf_spec {
	enum vol_kdf_type type;   /* VOL_KDF_PBKDF2_SHA256 or VOL_KDF_ARGON2ID */
	uint32_t iterations;      /* PBKDF2 iterations / Argon2id time cost */
	uint32_t memory_kib;      /* Argon2id only, else 0 */
	uint32_t parallel;        /* Argon2id only, else 0 */
};

/* Limits enforced on decode and on user input. */
#define VOL_PBKDF2_MIN_ITER 1000u
#define VOL_ARGON2_MIN_TIME 4u
#define VOL_ARGON2_MAX_TIME 0x7fffffffu
#define VOL_ARGON2_MIN_MEM_KIB 32u
/* 4 GiB - 1 KiB: libgcrypt 1.10 overflows a 32-bit block count at 4 GiB. */
#define VOL_ARGON2_MAX_MEM_KIB ((4u << 20) - 1)
#define VOL_ARGON2_MAX_LANES 16u
#define VOL_DEFAULT_ITER_TIME_MS 2000u
#define VOL_DEFAULT_MAX_MEM_KIB (1u << 20)  /* 1 GiB */
#define VOL_DEFAULT_MAX_LANES 4u

/*
 * out = KDF(pass, salt) with the parameters of @spec.
 *   PBKDF2:   out = PBKDF2-HMAC-SHA256(pass, salt, iterations, out_len)
 *   Argon2id: out = Argon2id(pass, salt, t=iterations, m=memory_kib,
 *                            p=parallel, tag length out_len)   (RFC 9106)
 * Argon2id lanes run on up to @parallel threads.
 * Returns 0 or -errno (-EINVAL for parameters outside the limits above).
 */
int vol_kdf_derive(const struct vol_kdf_spec *spec, const void *pass,
		   size_t pass_len, const uint8_t *salt, size_t salt_len,
		   uint8_t *out, size_t out_len);

/* Check that a spec read from disk is within the limits above. */
int vol_kdf_spec_valid(const struct vol_kdf_spec *spec);

/*
 * Resolve caller's request into a spec: apply defaults and caps (memory
 * <= min(1 GiB, RAM/2), lanes <= min(4, CPUs)), then either take
 * force_iterations or benchmark so that one derivation takes about
 * iter_time_ms.  -EINVAL for out-of-range requests.
 */
int vol_kdf_calibrate(const struct vol_kdf_params *req, size_t out_len,
		      struct vol_kdf_spec *out);

/*
 * PBKDF2-SHA256 iterations that take about @ms milliseconds here
 * (at least VOL_PBKDF2_MIN_ITER).  Used for the volume key digest.
 */
uint32_t vol_pbkdf2_iterations_for_ms(uint32_t ms);

#endif
