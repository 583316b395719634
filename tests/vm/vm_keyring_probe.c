/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vm_keyring_probe TARGET NAME PASSFILE
 *
 * Maps TARGET as NAME with the dm-crypt backend from inside this process,
 * then looks, from the same thread, for the volume key in the kernel
 * keyrings.  The CLI cannot show this: its thread keyring dies with it,
 * so a key the library forgot to drop would vanish anyway -- but not in a
 * long-lived program using libvol.  The mapping stays; the caller closes it.
 *
 * Output: one line.  Exit 0 if no live "volcrypt:" logon key is visible
 * (neither to request_key() nor in /proc/keys), 1 if one is, 2 on errors.
 */
#include <errno.h>
#include <gcrypt.h>
#include <keyutils.h>
#include <stdio.h>
#include <string.h>

#include "libvol.h"

static int read_pass(const char *file, char *buf, size_t len, size_t *out)
{
	FILE *f = fopen(file, "re");

	if (!f)
		return -errno;
	*out = fread(buf, 1, len, f);
	fclose(f);
	return 0;
}

static int map_volume(const char *target, const char *name, const char *passfile)
{
	struct vol_activate_params p = { .backend = VOL_BACKEND_DMCRYPT };
	struct vol_volume *vol = NULL;
	struct vol_key *key = NULL;
	char pass[512];
	size_t pass_len = 0;
	int r;

	r = read_pass(passfile, pass, sizeof(pass), &pass_len);
	if (!r)
		r = vol_load(target, VOL_LOAD_READONLY, &vol);
	if (!r)
		r = vol_unlock(vol, -1, pass, pass_len, NULL, &key);
	if (!r)
		r = vol_activate(vol, key, name, &p, NULL);
	vol_key_free(key);
	vol_free(vol);
	memset(pass, 0, sizeof(pass));
	return r;
}

/* A /proc/keys line of a live logon key whose description starts "volcrypt:". */
static int live_volcrypt_key(const char *line)
{
	char flags[16], type[64], desc[256];

	/* serial flags usage timeout perm uid gid type description: summary */
	if (sscanf(line, "%*x %15s %*s %*s %*s %*s %*s %63s %255s", flags, type, desc) != 3)
		return 0;
	if (strcmp(type, "logon") || strncmp(desc, "volcrypt:", 9))
		return 0;
	/* R revoked, D dead, i invalidated: unusable, on its way out. */
	return !strpbrk(flags, "RDi");
}

static int proc_keys_clean(void)
{
	char line[512];
	FILE *f = fopen("/proc/keys", "re");
	int clean = 1;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (live_volcrypt_key(line)) {
			printf("live key in /proc/keys: %s", line);
			clean = 0;
		}
	}
	fclose(f);
	return clean;
}

int main(int argc, char **argv)
{
	struct vol_mapping_info m;
	char desc[512];
	long id;
	int r, err;

	if (argc != 4) {
		fprintf(stderr, "usage: %s TARGET NAME PASSFILE\n", argv[0]);
		return 2;
	}
	if (!gcry_check_version(GCRYPT_VERSION))
		return 2;
	/* As the CLI: the anti-forensic split needs room in secure memory. */
	gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
	gcry_control(GCRYCTL_INIT_SECMEM, 4 << 20, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);

	r = map_volume(argv[1], argv[2], argv[3]);
	if (r) {
		printf("cannot map %s: %s\n", argv[1], vol_strerror(r));
		return 2;
	}
	/* The description dm_crypt.c uses; the /proc/keys scan catches any other. */
	if (vol_mapping_get(argv[2], &m) == 0)
		snprintf(desc, sizeof(desc), "volcrypt:%s:%s", m.uuid, argv[2]);
	else
		snprintf(desc, sizeof(desc), "volcrypt:?:%s", argv[2]);
	id = request_key("logon", desc, NULL, 0);
	err = errno;
	if (id >= 0) {
		printf("request_key found the volume key (%ld)\n", id);
		return 1;
	}
	r = proc_keys_clean();
	if (r < 0) {
		printf("/proc/keys: %s\n", strerror(-r));
		return 2;
	}
	if (!r)
		return 1;
	printf("keyring clean: request_key: %s; no live volcrypt key in /proc/keys\n",
	       strerror(err));
	return 0;
}
