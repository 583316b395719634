/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vm_ecryptfs_probe: libvol's eCryptfs layer from the command line, for
 * t_ecryptfs_glue.sh.  The master key is read from a file (64 bytes).
 *
 *   vm_ecryptfs_probe sigs MKFILE               prints "FEKEK_SIG FNEK_SIG"
 *   vm_ecryptfs_probe mount MKFILE LOWER MNT    vol_ecryptfs_mount()
 *   vm_ecryptfs_probe umount MNT                vol_ecryptfs_umount()
 *   vm_ecryptfs_probe is-mounted MNT            prints 1 or 0
 *
 * Exit status 0, or the errno of the failure (EEXIST 17, EBUSY 16, ...),
 * or 125 for usage errors.  libvol's log goes to stderr.
 */
#include <errno.h>
#include <gcrypt.h>
#include <stdio.h>
#include <string.h>

#include "libvol.h"

static void log_cb(enum vol_log_level level, const char *msg, void *data)
{
	(void)level;
	(void)data;
	fprintf(stderr, "libvol: %s\n", msg);
}

static int read_mk(const char *file, uint8_t mk[VOL_HOME_MK_BYTES])
{
	FILE *f = fopen(file, "re");
	size_t n;
	int extra;

	if (!f)
		return -errno;
	n = fread(mk, 1, VOL_HOME_MK_BYTES, f);
	extra = fgetc(f);
	fclose(f);
	return n == VOL_HOME_MK_BYTES && extra == EOF ? 0 : -EINVAL;
}

static int run(int argc, char **argv)
{
	char s1[VOL_ECRYPTFS_SIG_LEN + 1], s2[VOL_ECRYPTFS_SIG_LEN + 1];
	uint8_t mk[VOL_HOME_MK_BYTES];
	const char *cmd = argv[1];
	int r;

	if (!strcmp(cmd, "sigs") && argc == 3) {
		r = read_mk(argv[2], mk);
		if (!r)
			r = vol_ecryptfs_sigs(mk, sizeof(mk), s1, s2);
		if (!r)
			printf("%s %s\n", s1, s2);
	} else if (!strcmp(cmd, "mount") && argc == 5) {
		r = read_mk(argv[2], mk);
		if (!r)
			r = vol_ecryptfs_mount(mk, sizeof(mk), argv[3], argv[4]);
	} else if (!strcmp(cmd, "umount") && argc == 3) {
		r = vol_ecryptfs_umount(argv[2]);
	} else if (!strcmp(cmd, "is-mounted") && argc == 3) {
		r = vol_ecryptfs_is_mounted(argv[2]);
		if (r >= 0) {
			printf("%d\n", r);
			r = 0;
		}
	} else {
		fprintf(stderr, "usage: %s sigs MKFILE | mount MKFILE LOWER MNT | "
			"umount MNT | is-mounted MNT\n", argv[0]);
		return 125;
	}
	memset(mk, 0, sizeof(mk));
	if (r) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], cmd, strerror(-r));
		return -r > 124 ? 124 : -r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s sigs|mount|umount|is-mounted ...\n", argv[0]);
		return 125;
	}
	if (!gcry_check_version(GCRYPT_VERSION))
		return 125;
	gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
	gcry_control(GCRYCTL_INIT_SECMEM, 1 << 20, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	vol_set_log(log_cb, NULL);
	return run(argc, argv);
}
