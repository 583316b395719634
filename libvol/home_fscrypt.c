/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fscrypt glue: the kernel does the cryptography (per-file keys are
 * HKDF-SHA512(MK_u, nonce) inside the kernel); this file only passes the
 * master key and the policy through the ioctls of <linux/fscrypt.h>.
 */
#include <errno.h>
#include <linux/fscrypt.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "home_fscrypt.h"
#include "internal.h"

_Static_assert(VOL_FSCRYPT_ID_BYTES == FSCRYPT_KEY_IDENTIFIER_SIZE, "identifier size");

static void spec_for(struct fscrypt_key_specifier *spec, const uint8_t *id)
{
	memset(spec, 0, sizeof(*spec));
	spec->type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	memcpy(spec->u.identifier, id, FSCRYPT_KEY_IDENTIFIER_SIZE);
}

int vol_fscrypt_add_key(int fd, const uint8_t *key, size_t len, uint8_t id[VOL_FSCRYPT_ID_BYTES])
{
	size_t size = sizeof(struct fscrypt_add_key_arg) + len;
	struct fscrypt_add_key_arg *arg;
	int r;

	if (len > FSCRYPT_MAX_KEY_SIZE)
		return -EINVAL;
	arg = vol_secure_alloc(size); /* holds the raw key */
	if (!arg)
		return -ENOMEM;
	arg->key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	arg->raw_size = (uint32_t)len;
	memcpy(arg->raw, key, len);
	r = ioctl(fd, FS_IOC_ADD_ENCRYPTION_KEY, arg) ? -errno : 0;
	if (!r)
		memcpy(id, arg->key_spec.u.identifier, FSCRYPT_KEY_IDENTIFIER_SIZE);
	vol_secure_free(arg, size);
	return r;
}

int vol_fscrypt_remove_key(int fd, const uint8_t id[VOL_FSCRYPT_ID_BYTES])
{
	struct fscrypt_remove_key_arg arg;
	unsigned long req = geteuid() ? FS_IOC_REMOVE_ENCRYPTION_KEY
				      : FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS;

	memset(&arg, 0, sizeof(arg));
	spec_for(&arg.key_spec, id);
	if (ioctl(fd, req, &arg))
		return -errno;
	if (arg.removal_status_flags & FSCRYPT_KEY_REMOVAL_STATUS_FLAG_FILES_BUSY)
		return -EBUSY;
	return 0;
}

int vol_fscrypt_key_status(int fd, const uint8_t id[VOL_FSCRYPT_ID_BYTES],
			   enum vol_fscrypt_key_status *status)
{
	struct fscrypt_get_key_status_arg arg;

	memset(&arg, 0, sizeof(arg));
	spec_for(&arg.key_spec, id);
	if (ioctl(fd, FS_IOC_GET_ENCRYPTION_KEY_STATUS, &arg))
		return -errno;
	switch (arg.status) {
	case FSCRYPT_KEY_STATUS_PRESENT:
		*status = VOL_FSCRYPT_KEY_PRESENT;
		break;
	case FSCRYPT_KEY_STATUS_INCOMPLETELY_REMOVED:
		*status = VOL_FSCRYPT_KEY_REMOVING;
		break;
	default:
		*status = VOL_FSCRYPT_KEY_ABSENT;
	}
	return 0;
}

int vol_fscrypt_set_policy(int fd, const uint8_t id[VOL_FSCRYPT_ID_BYTES])
{
	struct fscrypt_policy_v2 policy;

	memset(&policy, 0, sizeof(policy));
	policy.version = FSCRYPT_POLICY_V2;
	policy.contents_encryption_mode = FSCRYPT_MODE_AES_256_XTS;
	policy.filenames_encryption_mode = FSCRYPT_MODE_AES_256_CTS;
	policy.flags = FSCRYPT_POLICY_FLAGS_PAD_32;
	memcpy(policy.master_key_identifier, id, FSCRYPT_KEY_IDENTIFIER_SIZE);
	return ioctl(fd, FS_IOC_SET_ENCRYPTION_POLICY, &policy) ? -errno : 0;
}

int vol_fscrypt_get_policy(int fd, uint8_t id[VOL_FSCRYPT_ID_BYTES])
{
	struct fscrypt_get_policy_ex_arg arg;

	memset(&arg, 0, sizeof(arg));
	arg.policy_size = sizeof(arg.policy);
	if (ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &arg))
		return -errno;
	if (arg.policy.version != FSCRYPT_POLICY_V2)
		return -EPROTO;
	memcpy(id, arg.policy.v2.master_key_identifier, FSCRYPT_KEY_IDENTIFIER_SIZE);
	return 0;
}
