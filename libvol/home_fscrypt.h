/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fscrypt ioctls of the per-file layer (ext4 native encryption,
 * policy v2).  Every function takes a descriptor of a directory on the
 * filesystem; keys go to that filesystem's keyring.
 */
#ifndef LIBVOL_HOME_FSCRYPT_H
#define LIBVOL_HOME_FSCRYPT_H

#include <stddef.h>
#include <stdint.h>

#define VOL_FSCRYPT_ID_BYTES 16

/* Adds the master key; the kernel returns its identifier (HKDF of the key) in @id. */
int vol_fscrypt_add_key(int fd, const uint8_t *key, size_t len, uint8_t id[VOL_FSCRYPT_ID_BYTES]);

/*
 * Removes the key @id; root removes every user's claim.  -EBUSY when
 * files that use it are still open (the kernel finishes the removal when
 * they are closed, or at the next lock).
 */
int vol_fscrypt_remove_key(int fd, const uint8_t id[VOL_FSCRYPT_ID_BYTES]);

enum vol_fscrypt_key_status {
	VOL_FSCRYPT_KEY_ABSENT = 1,
	VOL_FSCRYPT_KEY_PRESENT = 2,
	VOL_FSCRYPT_KEY_REMOVING = 3,	/* removed, files still open */
};

int vol_fscrypt_key_status(int fd, const uint8_t id[VOL_FSCRYPT_ID_BYTES],
			   enum vol_fscrypt_key_status *status);

/* Sets the v2 policy of the empty directory @fd: AES-256-XTS, AES-256-CTS, padding 32. */
int vol_fscrypt_set_policy(int fd, const uint8_t id[VOL_FSCRYPT_ID_BYTES]);

/* The key identifier of @fd's v2 policy; -ENODATA if unencrypted, -EPROTO for v1. */
int vol_fscrypt_get_policy(int fd, uint8_t id[VOL_FSCRYPT_ID_BYTES]);

#endif
