/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The eCryptfs layer of `volcrypt home`: internals.  The public functions
 * (vol_ecryptfs_mount() and friends) are declared in libvol.h.
 *
 * eCryptfs takes its keys as "user" keys whose description is the key's
 * signature and whose payload is the kernel's struct ecryptfs_auth_tok
 * (include/linux/ecryptfs.h), password type.  The layout is kernel ABI;
 * it is mirrored here rather than taken from libecryptfs (GPL-2+, and it
 * would pull NSS into libvol for a 740-byte structure).
 */
#ifndef LIBVOL_HOME_ECRYPTFS_H
#define LIBVOL_HOME_ECRYPTFS_H

#include <stddef.h>
#include <stdint.h>

#include "libvol.h"

/* Kernel ABI constants (include/linux/ecryptfs.h, fs/ecryptfs/). */
#define ECFS_VERSION 0x0004              /* major 0x00, minor 0x04 */
#define ECFS_PASSWORD 0                  /* enum ecryptfs_token_types */
#define ECFS_MAX_KEY_BYTES 64
#define ECFS_MAX_ENCRYPTED_KEY_BYTES 512
#define ECFS_SALT_SIZE 8
#define ECFS_SIG_SIZE_HEX 16
#define ECFS_MAX_KEY_MOD_NAME_BYTES 16
#define ECFS_SESSION_KEY_ENCRYPTION_KEY_SET 0x02
#define ECFS_PGP_DIGEST_ALGO_SHA512 10
#define ECFS_HASH_ITERATIONS 65536       /* what ecryptfs-utils records */

struct ecfs_session_key {
	uint32_t flags;
	uint32_t encrypted_key_size;
	uint32_t decrypted_key_size;
	uint8_t encrypted_key[ECFS_MAX_ENCRYPTED_KEY_BYTES];
	uint8_t decrypted_key[ECFS_MAX_KEY_BYTES];
};

struct ecfs_password {
	int32_t password_bytes;
	int32_t hash_algo;
	int32_t hash_iterations;
	int32_t session_key_encryption_key_bytes;
	uint32_t flags;
	uint8_t session_key_encryption_key[ECFS_MAX_KEY_BYTES];
	uint8_t signature[ECFS_SIG_SIZE_HEX + 1];
	uint8_t salt[ECFS_SALT_SIZE];
};

/* Only its size matters: it shapes the union. */
struct ecfs_private_key {
	uint32_t key_size;
	uint32_t data_len;
	uint8_t signature[ECFS_SIG_SIZE_HEX + 1];
	char key_mod_alias[ECFS_MAX_KEY_MOD_NAME_BYTES + 1];
};

struct ecfs_auth_tok {
	uint16_t version;
	uint16_t token_type;
	uint32_t flags;
	struct ecfs_session_key session_key;
	uint8_t reserved[32];
	union {
		struct ecfs_password password;
		struct ecfs_private_key private_key;
	} token;
} __attribute__((packed));

/* Checked against ecryptfs-utils 111's <ecryptfs.h> and the kernel's. */
_Static_assert(sizeof(struct ecfs_auth_tok) == 740, "ecryptfs_auth_tok layout");
_Static_assert(offsetof(struct ecfs_auth_tok, token) == 628, "ecryptfs_auth_tok layout");

/* Labels of the HMAC-SHA512 derivations from the home master key. */
#define VOL_ECRYPTFS_FEKEK_LABEL "volcrypt-home ecryptfs fekek"
#define VOL_ECRYPTFS_FNEK_LABEL "volcrypt-home ecryptfs fnek"

/* HMAC-SHA512(@mk, @label) into @out (64 bytes). */
int vol_ecryptfs_derive(const uint8_t *mk, size_t mk_len, const char *label,
			uint8_t out[ECFS_MAX_KEY_BYTES]);

/* eCryptfs's signature of @key: hex of the first 8 bytes of SHA-512(@key). */
void vol_ecryptfs_key_sig(const uint8_t key[ECFS_MAX_KEY_BYTES],
			  char sig[VOL_ECRYPTFS_SIG_LEN + 1]);

/* The auth token eCryptfs expects for @key known as @sig. */
void vol_ecryptfs_fill_token(struct ecfs_auth_tok *tok,
			     const uint8_t key[ECFS_MAX_KEY_BYTES], const char *sig);

#define VOL_ECRYPTFS_MAX_SIGS 8

/* What a /proc/self/mountinfo line says about one mount. */
struct vol_mountinfo_entry {
	char mount_point[4096];      /* unescaped */
	char fstype[64];
	unsigned nsigs;              /* ecryptfs_sig= and ecryptfs_fnek_sig= values */
	char sigs[VOL_ECRYPTFS_MAX_SIGS][VOL_ECRYPTFS_SIG_LEN + 1];
};

/* Parses one mountinfo line; 0, or -EINVAL if it is malformed. */
int vol_mountinfo_parse(const char *line, struct vol_mountinfo_entry *e);

#endif
