/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The eCryptfs layer of `volcrypt home` (docs/layering.md, "eCryptfs layer:
 * keys and mount"): two keys derived from the user's master key, handed to
 * the kernel as auth tokens for the length of one mount(2) call, and the
 * unmount that takes them away again.
 */
#include <errno.h>
#include <gcrypt.h>
#include <keyutils.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "home_ecryptfs.h"
#include "internal.h"

/* Kernel mount options; see docs/layering.md for why each is there. */
#define ECFS_OPTIONS "ecryptfs_sig=%s,ecryptfs_fnek_sig=%s,ecryptfs_cipher=aes," \
	"ecryptfs_key_bytes=32,ecryptfs_unlink_sigs,ecryptfs_mount_auth_tok_only"

/* Copies of a signature to look for in the caller's keyrings at unmount. */
#define ECFS_PURGE_MAX 16

int vol_ecryptfs_derive(const uint8_t *mk, size_t mk_len, const char *label,
			uint8_t out[ECFS_MAX_KEY_BYTES])
{
	gcry_mac_hd_t h;
	size_t len = ECFS_MAX_KEY_BYTES;
	gcry_error_t e;

	e = gcry_mac_open(&h, GCRY_MAC_HMAC_SHA512, GCRY_MAC_FLAG_SECURE, NULL);
	if (e)
		return -ENOMEM;
	e = gcry_mac_setkey(h, mk, mk_len);
	if (!e)
		e = gcry_mac_write(h, label, strlen(label));
	if (!e)
		e = gcry_mac_read(h, out, &len);
	gcry_mac_close(h);
	if (e || len != ECFS_MAX_KEY_BYTES) {
		vol_wipe(out, ECFS_MAX_KEY_BYTES);
		return -EIO;
	}
	return 0;
}

void vol_ecryptfs_key_sig(const uint8_t key[ECFS_MAX_KEY_BYTES],
			  char sig[VOL_ECRYPTFS_SIG_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t digest[64];

	gcry_md_hash_buffer(GCRY_MD_SHA512, digest, key, ECFS_MAX_KEY_BYTES);
	for (int i = 0; i < VOL_ECRYPTFS_SIG_LEN / 2; i++) {
		sig[2 * i] = hex[digest[i] >> 4];
		sig[2 * i + 1] = hex[digest[i] & 15];
	}
	sig[VOL_ECRYPTFS_SIG_LEN] = '\0';
	vol_wipe(digest, sizeof(digest));
}

void vol_ecryptfs_fill_token(struct ecfs_auth_tok *tok,
			     const uint8_t key[ECFS_MAX_KEY_BYTES], const char *sig)
{
	memset(tok, 0, sizeof(*tok));
	tok->version = ECFS_VERSION;
	tok->token_type = ECFS_PASSWORD;
	tok->token.password.hash_algo = ECFS_PGP_DIGEST_ALGO_SHA512;
	tok->token.password.hash_iterations = ECFS_HASH_ITERATIONS;
	tok->token.password.session_key_encryption_key_bytes = ECFS_MAX_KEY_BYTES;
	tok->token.password.flags = ECFS_SESSION_KEY_ENCRYPTION_KEY_SET;
	memcpy(tok->token.password.session_key_encryption_key, key, ECFS_MAX_KEY_BYTES);
	memcpy(tok->token.password.signature, sig, ECFS_SIG_SIZE_HEX);
	/* The salt is recorded in file headers but never used with a set key. */
}

/* The FEKEK (@which 0) or FNEK (1) and its signature, in secure memory. */
static int derive_key(const uint8_t *mk, size_t mk_len, int which, uint8_t **key,
		      char sig[VOL_ECRYPTFS_SIG_LEN + 1])
{
	int r;

	*key = vol_secure_alloc(ECFS_MAX_KEY_BYTES);
	if (!*key)
		return -ENOMEM;
	r = vol_ecryptfs_derive(mk, mk_len,
				which ? VOL_ECRYPTFS_FNEK_LABEL : VOL_ECRYPTFS_FEKEK_LABEL, *key);
	if (r) {
		vol_secure_free(*key, ECFS_MAX_KEY_BYTES);
		*key = NULL;
		return r;
	}
	vol_ecryptfs_key_sig(*key, sig);
	return 0;
}

int vol_ecryptfs_sigs(const uint8_t *mk, size_t mk_len,
		      char fekek_sig[VOL_ECRYPTFS_SIG_LEN + 1],
		      char fnek_sig[VOL_ECRYPTFS_SIG_LEN + 1])
{
	char *sigs[2] = { fekek_sig, fnek_sig };
	uint8_t *key;
	int r;

	r = vol_require_gcrypt();
	if (r)
		return r;
	if (!mk || mk_len != VOL_HOME_MK_BYTES || !fekek_sig || !fnek_sig)
		return -EINVAL;
	for (int i = 0; i < 2; i++) {
		r = derive_key(mk, mk_len, i, &key, sigs[i]);
		if (r)
			return r;
		vol_secure_free(key, ECFS_MAX_KEY_BYTES);
	}
	return 0;
}

/* ------------------------------------------------------------ mountinfo */

/* Undoes the kernel's octal escapes (\040 for a space) of @src into @dst. */
static int unescape(const char *src, size_t len, char *dst, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '\\' && i + 3 < len &&
		    src[i + 1] >= '0' && src[i + 1] <= '3' &&
		    src[i + 2] >= '0' && src[i + 2] <= '7' &&
		    src[i + 3] >= '0' && src[i + 3] <= '7') {
			c = (char)((src[i + 1] - '0') * 64 + (src[i + 2] - '0') * 8 +
				   (src[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= size)
			return -EINVAL;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

/* Next space-separated field of *@p: its start, length in *@len; NULL at the end. */
static const char *next_field(const char **p, size_t *len)
{
	const char *s = *p, *e;

	while (*s == ' ')
		s++;
	if (!*s || *s == '\n')
		return NULL;
	e = s + strcspn(s, " \n");
	*len = (size_t)(e - s);
	*p = e;
	return s;
}

static void add_sigs(struct vol_mountinfo_entry *e, const char *opts, size_t len)
{
	static const char *const keys[] = { "ecryptfs_sig=", "ecryptfs_fnek_sig=" };
	const char *p = opts, *end = opts + len;

	while (p < end) {
		const char *q = memchr(p, ',', (size_t)(end - p));
		size_t n = q ? (size_t)(q - p) : (size_t)(end - p);

		for (size_t k = 0; k < 2; k++) {
			size_t kl = strlen(keys[k]);

			if (n == kl + VOL_ECRYPTFS_SIG_LEN && !strncmp(p, keys[k], kl) &&
			    e->nsigs < VOL_ECRYPTFS_MAX_SIGS) {
				memcpy(e->sigs[e->nsigs], p + kl, VOL_ECRYPTFS_SIG_LEN);
				e->sigs[e->nsigs++][VOL_ECRYPTFS_SIG_LEN] = '\0';
			}
		}
		p += n + 1;
	}
}

int vol_mountinfo_parse(const char *line, struct vol_mountinfo_entry *e)
{
	const char *p = line, *f;
	size_t len = 0;
	int i;

	memset(e, 0, sizeof(*e));
	/* id parent maj:min root mount-point options [optional...] - type source super */
	for (i = 0; i < 5; i++) {
		f = next_field(&p, &len);
		if (!f)
			return -EINVAL;
	}
	if (unescape(f, len, e->mount_point, sizeof(e->mount_point)))
		return -EINVAL;
	do {
		f = next_field(&p, &len);
		if (!f)
			return -EINVAL;
	} while (!(len == 1 && *f == '-'));
	f = next_field(&p, &len);
	if (!f || len >= sizeof(e->fstype))
		return -EINVAL;
	memcpy(e->fstype, f, len);
	if (!next_field(&p, &len))      /* source */
		return -EINVAL;
	f = next_field(&p, &len);
	if (f && !strcmp(e->fstype, "ecryptfs"))
		add_sigs(e, f, len);
	return 0;
}

/*
 * Scans /proc/self/mountinfo: the topmost mount on @mount_point (canonical)
 * goes to @top (fstype "" if none); @others counts the eCryptfs mounts that
 * use @sig (if non-NULL).
 */
static int scan_mounts(const char *mount_point, struct vol_mountinfo_entry *top,
		       const char *sig, int *others)
{
	struct vol_mountinfo_entry *e;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int r = 0;

	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f) {
		r = -errno;
		free(e);
		return r;
	}
	memset(top, 0, sizeof(*top));
	if (others)
		*others = 0;
	while (getline(&line, &cap, f) > 0) {
		if (vol_mountinfo_parse(line, e))
			continue;
		if (!strcmp(e->mount_point, mount_point))
			*top = *e;       /* later lines are mounted on top */
		for (unsigned i = 0; sig && others && i < e->nsigs; i++)
			if (!strcmp(e->sigs[i], sig))
				(*others)++;
	}
	if (ferror(f))
		r = -EIO;
	free(line);
	fclose(f);
	free(e);
	return r;
}

static int canonical_dir(const char *path, char out[PATH_MAX])
{
	struct stat st;

	if (!path || !*path)
		return -EINVAL;
	if (!realpath(path, out))
		return -errno;
	if (stat(out, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int top_mount(const char *mount_point, char canon[PATH_MAX],
		     struct vol_mountinfo_entry **top)
{
	int r;

	*top = NULL;
	r = canonical_dir(mount_point, canon);
	if (r)
		return r;
	*top = malloc(sizeof(**top));
	if (!*top)
		return -ENOMEM;
	r = scan_mounts(canon, *top, NULL, NULL);
	if (r) {
		free(*top);
		*top = NULL;
	}
	return r;
}

int vol_ecryptfs_is_mounted(const char *mount_point)
{
	struct vol_mountinfo_entry *top;
	char canon[PATH_MAX];
	int r;

	r = top_mount(mount_point, canon, &top);
	if (r)
		return r;
	r = !strcmp(top->fstype, "ecryptfs");
	free(top);
	return r;
}

/* ---------------------------------------------------------------- keys */

/*
 * Adds @key as the auth token @sig to this thread's keyring, readable by
 * nobody (the kernel reads the payload directly).  Returns the serial or -errno.
 */
static key_serial_t load_token(const uint8_t *key, const char *sig)
{
	struct ecfs_auth_tok *tok;
	key_serial_t id;
	int err;

	tok = vol_secure_alloc(sizeof(*tok));
	if (!tok)
		return -ENOMEM;
	vol_ecryptfs_fill_token(tok, key, sig);
	id = add_key("user", sig, tok, sizeof(*tok), KEY_SPEC_THREAD_KEYRING);
	err = errno;
	vol_secure_free(tok, sizeof(*tok));
	if (id < 0) {
		vol_err("ecryptfs: cannot add key %s to the thread keyring: %s", sig,
			strerror(err));
		return -err;
	}
	/* Possessor: view, search (request_key); owner: view.  No read. */
	if (keyctl_setperm(id, KEY_POS_VIEW | KEY_POS_SEARCH | KEY_USR_VIEW))
		vol_warn("ecryptfs: cannot restrict key %s: %s", sig, strerror(errno));
	return id;
}

/*
 * After mount(2): unlink the key (the mount holds its own reference) or,
 * if the mount failed, invalidate it so that it is gone at once.
 */
static void drop_token(key_serial_t id, int mounted)
{
	if (id <= 0)
		return;
	if (!mounted && keyctl_invalidate(id) && keyctl_revoke(id))
		vol_warn("ecryptfs: cannot invalidate key %d: %s", id, strerror(errno));
	keyctl_unlink(id, KEY_SPEC_THREAD_KEYRING);
}

int vol_ecryptfs_mount(const uint8_t *mk, size_t mk_len, const char *lower_dir,
		       const char *mount_point)
{
	char sigs[2][VOL_ECRYPTFS_SIG_LEN + 1];
	char lower[PATH_MAX], target[PATH_MAX];
	char opts[sizeof(ECFS_OPTIONS) + 2 * VOL_ECRYPTFS_SIG_LEN];
	key_serial_t ids[2] = { 0, 0 };
	uint8_t *key;
	int r, mounted = 0;

	r = vol_require_gcrypt();
	if (r)
		return r;
	if (!mk || mk_len != VOL_HOME_MK_BYTES)
		return -EINVAL;
	r = canonical_dir(lower_dir, lower);
	if (r) {
		vol_err("ecryptfs: %s: %s", lower_dir ? lower_dir : "(null)", strerror(-r));
		return r;
	}
	r = canonical_dir(mount_point, target);
	if (r) {
		vol_err("ecryptfs: %s: %s", mount_point ? mount_point : "(null)", strerror(-r));
		return r;
	}
	r = vol_ecryptfs_is_mounted(target);
	if (r < 0)
		return r;
	if (r) {
		vol_err("ecryptfs: %s is already an eCryptfs mount", target);
		return -EEXIST;
	}
	for (int i = 0; i < 2; i++) {
		r = derive_key(mk, mk_len, i, &key, sigs[i]);
		if (r)
			goto out;
		ids[i] = load_token(key, sigs[i]);
		vol_secure_free(key, ECFS_MAX_KEY_BYTES);
		if (ids[i] < 0) {
			r = ids[i];
			ids[i] = 0;
			goto out;
		}
	}
	snprintf(opts, sizeof(opts), ECFS_OPTIONS, sigs[0], sigs[1]);
	if (mount(lower, target, "ecryptfs", MS_NOSUID | MS_NODEV, opts)) {
		r = -errno;
		vol_err("ecryptfs: cannot mount %s on %s: %s%s", lower, target, strerror(-r),
			r == -ENODEV ? " (is the ecryptfs module loaded?)" : "");
		goto out;
	}
	mounted = 1;
	vol_dbg("ecryptfs: %s on %s, keys %s (contents) %s (names)", lower, target,
		sigs[0], sigs[1]);
out:
	for (int i = 0; i < 2; i++)
		drop_token(ids[i], mounted);
	return r;
}

/* Invalidates copies of @sig left in the caller's keyrings; returns how many. */
static int purge_sig(const char *sig)
{
	static const key_serial_t rings[] = {
		KEY_SPEC_THREAD_KEYRING, KEY_SPEC_PROCESS_KEYRING,
		KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING,
	};
	int n = 0;

	for (size_t i = 0; i < sizeof(rings) / sizeof(rings[0]); i++) {
		for (int tries = 0; tries < ECFS_PURGE_MAX; tries++) {
			long id = keyctl_search(rings[i], "user", sig, 0);

			if (id < 0)
				break;
			if (keyctl_invalidate((key_serial_t)id) &&
			    keyctl_revoke((key_serial_t)id)) {
				vol_warn("ecryptfs: cannot invalidate key %ld (%s): %s", id, sig,
					 strerror(errno));
				break;
			}
			keyctl_unlink((key_serial_t)id, rings[i]);
			n++;
		}
	}
	return n;
}

int vol_ecryptfs_umount(const char *mount_point)
{
	struct vol_mountinfo_entry *top, *other;
	char canon[PATH_MAX];
	int r, users;

	r = top_mount(mount_point, canon, &top);
	if (r)
		return r;
	if (strcmp(top->fstype, "ecryptfs")) {
		vol_err("ecryptfs: no eCryptfs mount on %s", canon);
		free(top);
		return -ENOENT;
	}
	if (umount2(canon, UMOUNT_NOFOLLOW)) {
		r = -errno;
		vol_err("ecryptfs: cannot unmount %s: %s", canon, strerror(-r));
		free(top);
		return r;
	}
	other = malloc(sizeof(*other));
	for (unsigned i = 0; other && i < top->nsigs; i++) {
		/* Another mount with the same key would lose it too. */
		if (scan_mounts(canon, other, top->sigs[i], &users) || users) {
			vol_dbg("ecryptfs: key %s still in use, left alone", top->sigs[i]);
			continue;
		}
		if (purge_sig(top->sigs[i]))
			vol_dbg("ecryptfs: invalidated keyring copies of %s", top->sigs[i]);
	}
	free(other);
	free(top);
	return 0;
}
