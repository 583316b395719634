/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vm_fscrypt_probe: fscrypt without volcrypt, for b_layering.sh (the
 * "fscrypt only" configuration: `volcrypt home` refuses a filesystem that
 * is not on a volcrypt volume).  Test-only: the key is random and thrown
 * away, so the directory is unreadable once the filesystem is unmounted.
 *
 *   vm_fscrypt_probe setup DIR    adds a random 64-byte key to DIR's
 *                                 filesystem (FS_IOC_ADD_ENCRYPTION_KEY) and
 *                                 sets a v2 policy on the empty directory DIR:
 *                                 AES-256-XTS contents, AES-256-CTS names,
 *                                 padding 32 (what `volcrypt home` sets);
 *                                 prints the key identifier in hex
 *   vm_fscrypt_probe policy PATH  prints PATH's policy as
 *                                 "v2 CONTENTS_MODE NAMES_MODE FLAGS"
 *                                 (decimal modes, hex flags), e.g. "v2 1 4 0x02"
 *
 * Exit status 0, or the errno of the failing call (at most 124), 125 for
 * usage errors.  Builds against the kernel's UAPI header only.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fscrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#define KEY_BYTES 64

static int fail(const char *what, const char *path)
{
	int e = errno ? errno : EIO;

	fprintf(stderr, "vm_fscrypt_probe: %s %s: %s\n", what, path, strerror(e));
	return e > 124 ? 124 : e;
}

static int setup(const char *dir)
{
	struct fscrypt_policy_v2 pol;
	struct fscrypt_add_key_arg *arg;
	int fd, r = 0, i;

	arg = calloc(1, sizeof(*arg) + KEY_BYTES);
	if (!arg)
		return fail("calloc for", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = fail("open", dir);
		goto out;
	}
	arg->key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	arg->raw_size = KEY_BYTES;
	if (getrandom(arg->raw, KEY_BYTES, 0) != KEY_BYTES) {
		r = fail("getrandom for", dir);
		goto out;
	}
	if (ioctl(fd, FS_IOC_ADD_ENCRYPTION_KEY, arg)) {
		r = fail("FS_IOC_ADD_ENCRYPTION_KEY on", dir);
		goto out;
	}
	memset(&pol, 0, sizeof(pol));
	pol.version = FSCRYPT_POLICY_V2;
	pol.contents_encryption_mode = FSCRYPT_MODE_AES_256_XTS;
	pol.filenames_encryption_mode = FSCRYPT_MODE_AES_256_CTS;
	pol.flags = FSCRYPT_POLICY_FLAGS_PAD_32;
	memcpy(pol.master_key_identifier, arg->key_spec.u.identifier,
	       FSCRYPT_KEY_IDENTIFIER_SIZE);
	if (ioctl(fd, FS_IOC_SET_ENCRYPTION_POLICY, &pol)) {
		r = fail("FS_IOC_SET_ENCRYPTION_POLICY on", dir);
		goto out;
	}
	for (i = 0; i < FSCRYPT_KEY_IDENTIFIER_SIZE; i++)
		printf("%02x", pol.master_key_identifier[i]);
	printf("\n");
out:
	explicit_bzero(arg->raw, KEY_BYTES);
	free(arg);
	if (fd >= 0)
		close(fd);
	return r;
}

static int policy(const char *path)
{
	struct fscrypt_get_policy_ex_arg arg;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open", path);
	memset(&arg, 0, sizeof(arg));
	arg.policy_size = sizeof(arg.policy);
	if (ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &arg)) {
		r = fail("FS_IOC_GET_ENCRYPTION_POLICY_EX on", path);
	} else if (arg.policy.version != FSCRYPT_POLICY_V2) {
		printf("v%d\n", arg.policy.version == FSCRYPT_POLICY_V1 ? 1 : arg.policy.version);
	} else {
		printf("v2 %u %u 0x%02x\n", arg.policy.v2.contents_encryption_mode,
		       arg.policy.v2.filenames_encryption_mode, arg.policy.v2.flags);
	}
	close(fd);
	return r;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "setup"))
		return setup(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "policy"))
		return policy(argv[2]);
	fprintf(stderr, "usage: %s setup DIR | policy PATH\n", argv[0]);
	return 125;
}
