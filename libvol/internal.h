/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared helpers of libvol: logging, secure memory, libgcrypt guard. */
#ifndef LIBVOL_INTERNAL_H
#define LIBVOL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "libvol.h"

/* Send a formatted message to the application's log callback. */
void vol_log(enum vol_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Silence messages on this thread while probing (1) and restore (0). */
void vol_set_log_suppressed(int on);

#define vol_err(...) vol_log(VOL_LOG_ERROR, __VA_ARGS__)
#define vol_warn(...) vol_log(VOL_LOG_WARN, __VA_ARGS__)
#define vol_info(...) vol_log(VOL_LOG_INFO, __VA_ARGS__)
#define vol_dbg(...) vol_log(VOL_LOG_DEBUG, __VA_ARGS__)

/* 0 when the application has finished initialising libgcrypt, else -EINVAL. */
int vol_require_gcrypt(void);

/* Zeroed allocation from libgcrypt's locked secure memory (NULL on failure). */
void *vol_secure_alloc(size_t n);
/* Wipe @n bytes and release memory from vol_secure_alloc (NULL allowed). */
void vol_secure_free(void *p, size_t n);
/* Wipe memory in a way the compiler cannot elide. */
void vol_wipe(void *p, size_t n);
/* Fill @buf with strong random bytes (GCRY_VERY_STRONG_RANDOM for keys). */
void vol_random_key_bytes(void *buf, size_t n);
void vol_random_nonce(void *buf, size_t n);

/* The volume key: bytes live in secure memory. */
struct vol_key {
	size_t len;
	uint8_t *bytes;
};

/* Allocate a key of @len bytes (uninitialised but zeroed). */
struct vol_key *vol_key_alloc(size_t len);

/* Monotonic time in milliseconds, for KDF calibration and benchmarks. */
double vol_now_ms(void);

#endif
