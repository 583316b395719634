/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LUKS2 headers through libcryptsetup (see luks2.h).  libcryptsetup owns
 * the LUKS2 format: this file never parses or writes LUKS2 bytes itself.
 * Its messages are passed on at debug level; what a caller needs to know
 * is said here, in volcrypt's words.
 */
#include <errno.h>
#include <libcryptsetup.h>
#include <stdio.h>
#include <string.h>

#include "luks2.h"

static void cryptsetup_log(int level, const char *msg, void *usrptr)
{
	size_t n = strlen(msg);

	(void)level;
	(void)usrptr;
	while (n && msg[n - 1] == '\n')
		n--;
	vol_dbg("libcryptsetup: %.*s", (int)n, msg);
}

/* crypt_init + crypt_load of @type; -EBADMSG if there is no such header. */
static int load(const char *path, const char *type, struct crypt_device **cd)
{
	int r = crypt_init(cd, path);

	if (r < 0)
		return r == -ENOTBLK ? -ENODEV : r;
	crypt_set_log_callback(*cd, cryptsetup_log, NULL);
	r = crypt_load(*cd, type, NULL);
	if (r < 0) {
		crypt_free(*cd);
		*cd = NULL;
		return r == -EINVAL ? -EBADMSG : r;
	}
	return 0;
}

void vol_luks2_locking_off(void)
{
	crypt_metadata_locking(NULL, 0);
}

int vol_luks_version(const char *path)
{
	struct crypt_device *cd = NULL;

	if (!load(path, CRYPT_LUKS2, &cd)) {
		crypt_free(cd);
		return 2;
	}
	if (!load(path, CRYPT_LUKS1, &cd)) {
		crypt_free(cd);
		return 1;
	}
	return 0;
}

/* A layout volcrypt cannot take over: say which part, and why. */
#define REFUSE(...) (vol_err(__VA_ARGS__), -EPROTONOSUPPORT)

static int check_cipher(struct crypt_device *cd, const char *path)
{
	const char *cipher = crypt_get_cipher(cd), *mode = crypt_get_cipher_mode(cd);
	int key_bytes = crypt_get_volume_key_size(cd);
	uint32_t ss = (uint32_t)crypt_get_sector_size(cd);

	if (!cipher || !mode || strcmp(cipher, "aes") || strcmp(mode, "xts-plain64"))
		return REFUSE("%s: cipher %s-%s: volcrypt uses aes-xts-plain64 only", path,
			      cipher ? cipher : "?", mode ? mode : "?");
	if (key_bytes != VOL_VOLUME_KEY_BYTES)
		return REFUSE("%s: %d-bit key: volcrypt uses 512-bit keys (AES-256-XTS) only",
			      path, key_bytes * 8);
	if (ss != 512 && ss != 4096)
		return REFUSE("%s: sector size %u: volcrypt uses 512 or 4096", path, ss);
	return 0;
}

static int check_features(struct crypt_device *cd, const char *path)
{
	struct crypt_params_integrity ip;
	uint32_t req = 0;

	memset(&ip, 0, sizeof(ip));
	if (!crypt_get_integrity_info(cd, &ip) && ip.integrity)
		return REFUSE("%s: integrity protection (%s): volcrypt has none", path,
			      ip.integrity);
	if (crypt_persistent_flags_get(cd, CRYPT_FLAGS_REQUIREMENTS, &req))
		return REFUSE("%s: unreadable LUKS2 requirements", path);
	if (req)
		return REFUSE("%s: %s", path,
			      req & (CRYPT_REQUIREMENT_OFFLINE_REENCRYPT |
				     CRYPT_REQUIREMENT_ONLINE_REENCRYPT) ?
			      "a LUKS2 reencryption is in progress; finish it first" :
			      "the LUKS2 header needs a feature volcrypt does not know");
	/* A token is another way to unlock (TPM2, FIDO2, ...) that would silently vanish. */
	for (int t = 0; t < crypt_token_max(CRYPT_LUKS2); t++) {
		const char *type = NULL;
		crypt_token_info ti = crypt_token_status(cd, t, &type);

		if (ti != CRYPT_TOKEN_INACTIVE && ti != CRYPT_TOKEN_INVALID)
			return REFUSE("%s: LUKS2 token %d (%s) would be lost: volcrypt has no "
				      "tokens; remove it first (cryptsetup token remove --token-id %d)",
				      path, t, type ? type : "unknown", t);
	}
	return 0;
}

static int check_geometry(struct crypt_device *cd, const char *path,
			  struct vol_luks2_geometry *g)
{
	uint64_t mds = 0, kss = 0;
	const char *uuid = crypt_get_uuid(cd), *label = crypt_get_label(cd);

	g->sector_size = (uint32_t)crypt_get_sector_size(cd);
	g->data_offset = crypt_get_data_offset(cd) * 512;
	if (g->data_offset < VOL_DEFAULT_DATA_OFFSET || g->data_offset % (1 << 20))
		return REFUSE("%s: data offset %llu bytes: volcrypt needs a multiple of 1 MiB, "
			      "at least 16 MiB (its header area)", path,
			      (unsigned long long)g->data_offset);
	if (crypt_get_metadata_size(cd, &mds, &kss))
		return REFUSE("%s: unreadable LUKS2 metadata size", path);
	g->metadata_end = 2 * mds;
	g->keyslots_end = 2 * mds + kss;
	if (!uuid || strlen(uuid) + 1 != sizeof(g->uuid))
		return REFUSE("%s: LUKS2 UUID '%s' is not of the form 8-4-4-4-12", path,
			      uuid ? uuid : "");
	memcpy(g->uuid, uuid, sizeof(g->uuid));
	snprintf(g->label, sizeof(g->label), "%s", label ? label : "");
	return 0;
}

int vol_luks2_inspect(const char *path, struct vol_luks2_geometry *g)
{
	struct crypt_device *cd = NULL;
	int r;

	memset(g, 0, sizeof(*g));
	r = load(path, CRYPT_LUKS2, &cd);
	if (r == -EBADMSG && vol_luks_version(path) == 1)
		return REFUSE("%s: LUKS1: convert it to LUKS2 first (cryptsetup convert "
			      "--type luks2); its data offset must then be at least 16 MiB", path);
	if (r)
		return r;
	r = check_cipher(cd, path);
	if (!r)
		r = check_features(cd, path);
	if (!r)
		r = check_geometry(cd, path, g);
	crypt_free(cd);
	return r;
}

int vol_luks2_unlock(const char *path, int slot, const char *pass, size_t pass_len,
		     struct vol_luks2_slot *where, struct vol_key **key_out)
{
	struct crypt_device *cd = NULL;
	struct vol_key *key;
	size_t len = VOL_VOLUME_KEY_BYTES;
	int r;

	r = load(path, CRYPT_LUKS2, &cd);
	if (r)
		return r;
	key = vol_key_alloc(VOL_VOLUME_KEY_BYTES);
	if (!key) {
		crypt_free(cd);
		return -ENOMEM;
	}
	r = crypt_volume_key_get(cd, slot < 0 ? CRYPT_ANY_SLOT : slot, (char *)key->bytes,
				 &len, pass, pass_len);
	if (r >= 0 && len != VOL_VOLUME_KEY_BYTES)
		r = -EPROTONOSUPPORT;
	if (r >= 0 && where) {
		where->slot = r;
		r = crypt_keyslot_area(cd, r, &where->area_offset, &where->area_length);
	}
	crypt_free(cd);
	if (r < 0) {
		vol_key_free(key);
		/* libcryptsetup says -ENOENT for "no usable keyslot" too. */
		return r == -ENOENT ? -EPERM : r;
	}
	if (key_out)
		*key_out = key;
	else
		vol_key_free(key);
	return 0;
}

int vol_luks2_key_verify(const char *path, const struct vol_key *key)
{
	struct crypt_device *cd = NULL;
	int r = load(path, CRYPT_LUKS2, &cd);

	if (r)
		return r;
	r = crypt_volume_key_verify(cd, (const char *)key->bytes, key->len);
	crypt_free(cd);
	return r == 0 ? 1 : (r == -EPERM ? 0 : r);
}

/*
 * libcryptsetup's LUKS2 defaults (Argon2id, 2 s, up to 1 GiB capped at
 * half of RAM, 4 lanes capped at the CPUs) with the caller's overrides:
 * the same meaning as volcrypt's own KDF options.
 */
static int pbkdf_of(const struct vol_kdf_params *k, struct crypt_pbkdf_type *p)
{
	const struct crypt_pbkdf_type *def = crypt_get_pbkdf_default(CRYPT_LUKS2);

	if (!def)
		return -EINVAL;
	*p = *def;
	if (k->type == VOL_KDF_PBKDF2_SHA256) {
		p->type = CRYPT_KDF_PBKDF2;
		p->max_memory_kb = 0;
		p->parallel_threads = 0;
	} else {
		p->type = CRYPT_KDF_ARGON2ID;
		if (k->memory_kib)
			p->max_memory_kb = k->memory_kib;
		if (k->parallel)
			p->parallel_threads = k->parallel;
	}
	if (k->iter_time_ms)
		p->time_ms = k->iter_time_ms;
	if (k->force_iterations) {
		p->iterations = k->force_iterations;
		p->flags |= CRYPT_PBKDF_NO_BENCHMARK;
	}
	return 0;
}

static int format_header(struct crypt_device *cd, const struct vol_luks2_build *b,
			 const struct vol_key *key, struct crypt_pbkdf_type *pbkdf)
{
	struct crypt_params_luks2 p = {
		.pbkdf = pbkdf,
		.sector_size = b->sector_size,
		.label = b->label && *b->label ? b->label : NULL,
	};
	int r;

	r = crypt_set_metadata_size(cd, VOL_LUKS2_METADATA_SIZE, VOL_LUKS2_KEYSLOTS_SIZE);
	if (!r)
		r = crypt_set_data_offset(cd, b->data_offset / 512);
	if (!r)
		r = crypt_set_pbkdf_type(cd, pbkdf);
	if (!r)
		r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", b->uuid,
				 (const char *)key->bytes, key->len, &p);
	for (int i = 0; i < b->npass && r >= 0; i++) {
		r = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, (const char *)key->bytes,
						    key->len, b->pass[i], b->pass_len[i]);
		if (r >= 0)
			vol_dbg("passphrase %d in LUKS2 keyslot %d", i, r);
	}
	return r < 0 ? r : 0;
}

int vol_luks2_build_header(const char *header, const char *data_device,
			   const struct vol_luks2_build *b, const struct vol_key *key)
{
	struct crypt_pbkdf_type pbkdf;
	struct crypt_device *cd = NULL;
	int r;

	r = pbkdf_of(b->kdf, &pbkdf);
	if (!r)
		r = crypt_init_data_device(&cd, header, data_device);
	if (r < 0) {
		vol_err("libcryptsetup cannot use %s: %s", data_device, vol_strerror(r));
		return r;
	}
	crypt_set_log_callback(cd, cryptsetup_log, NULL);
	r = format_header(cd, b, key, &pbkdf);
	crypt_free(cd);
	if (r < 0)
		vol_err("building the LUKS2 header failed: %s (--debug shows libcryptsetup's "
			"messages)", vol_strerror(r));
	return r;
}
