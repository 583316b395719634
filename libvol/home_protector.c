/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Protector files (docs/FORMAT.md section 13).  A protector is a keyslot
 * of its own, stored in a file instead of a header:
 *
 *   MK_u     = random(64)
 *   kek      = KDF(login passphrase, salt)
 *   material = AES-256-XTS_kek(AF-split(MK_u, 4000 stripes))
 *   digest   = PBKDF2-SHA256(MK_u, digest salt, iterations, 32)
 *
 * so the analysis of FORMAT.md section 4 applies unchanged, and keyslot.c
 * does the work.  The fixed part is covered by a SHA-256 checksum.
 */
#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "home_protector.h"
#include "internal.h"
#include "keyslot.h"
#include "le_bytes.h"
#include "layout.h"

static const uint8_t protector_magic[8] = { 'V', 'C', 'H', 'O', 'M', 'E', 'P', 0 };

#define PROTECTOR_VERSION 1u
#define PROTECTOR_FIXED_BYTES 256u
#define PROTECTOR_SUM_OFFSET 224u
#define PROTECTOR_KEY_BYTES VOL_HOME_MK_BYTES

/* Byte offsets of the fixed part (FORMAT.md section 13). */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 8,
	OFF_LAYER = 10,
	OFF_KDF = 11,
	OFF_UID = 12,
	OFF_KEY_BYTES = 16,
	OFF_STRIPES = 20,
	OFF_ITERATIONS = 24,
	OFF_MEMORY = 28,
	OFF_PARALLEL = 32,
	OFF_DIGEST_ITER = 36,
	OFF_CREATED = 40,
	OFF_SALT = 48,
	OFF_DIGEST_SALT = 80,
	OFF_DIGEST = 112,
	OFF_MATERIAL_SUM = 144,
	OFF_RESERVED = 176,	/* ..223, zero */
};

struct protector {
	uint32_t version;
	uint8_t layer;
	uint32_t uid;
	uint64_t created;
	struct vol_keyslot slot;
	struct vol_digest digest;
};

static size_t protector_file_bytes(const struct protector *p)
{
	return PROTECTOR_FIXED_BYTES + vol_keyslot_material_bytes(&p->slot);
}

static void encode(const struct protector *p, uint8_t *buf)
{
	memset(buf, 0, PROTECTOR_FIXED_BYTES);
	memcpy(buf + OFF_MAGIC, protector_magic, sizeof(protector_magic));
	put_le16(buf + OFF_VERSION, (uint16_t)p->version);
	buf[OFF_LAYER] = p->layer;
	buf[OFF_KDF] = p->slot.kdf;
	put_le32(buf + OFF_UID, p->uid);
	put_le32(buf + OFF_KEY_BYTES, p->slot.key_bytes);
	put_le32(buf + OFF_STRIPES, p->slot.stripes);
	put_le32(buf + OFF_ITERATIONS, p->slot.iterations);
	put_le32(buf + OFF_MEMORY, p->slot.memory_kib);
	put_le32(buf + OFF_PARALLEL, p->slot.parallel);
	put_le32(buf + OFF_DIGEST_ITER, p->digest.iterations);
	put_le64(buf + OFF_CREATED, p->created);
	memcpy(buf + OFF_SALT, p->slot.salt, VOL_SALT_BYTES);
	memcpy(buf + OFF_DIGEST_SALT, p->digest.salt, VOL_SALT_BYTES);
	memcpy(buf + OFF_DIGEST, p->digest.value, VOL_SHA256_BYTES);
	memcpy(buf + OFF_MATERIAL_SUM, p->slot.material_sha256, VOL_SHA256_BYTES);
	gcry_md_hash_buffer(GCRY_MD_SHA256, buf + PROTECTOR_SUM_OFFSET, buf, PROTECTOR_SUM_OFFSET);
}

static int decode(const uint8_t *buf, struct protector *p)
{
	uint8_t sum[VOL_SHA256_BYTES];
	struct vol_kdf_spec spec;

	if (memcmp(buf + OFF_MAGIC, protector_magic, sizeof(protector_magic)))
		return -EBADMSG;
	gcry_md_hash_buffer(GCRY_MD_SHA256, sum, buf, PROTECTOR_SUM_OFFSET);
	if (memcmp(sum, buf + PROTECTOR_SUM_OFFSET, sizeof(sum)))
		return -EBADMSG;
	for (unsigned i = OFF_RESERVED; i < PROTECTOR_SUM_OFFSET; i++)
		if (buf[i])
			return -EBADMSG; /* reserved: never guessed at */
	memset(p, 0, sizeof(*p));
	p->version = get_le16(buf + OFF_VERSION);
	if (p->version != PROTECTOR_VERSION)
		return -EPROTONOSUPPORT;
	p->layer = buf[OFF_LAYER];
	p->uid = get_le32(buf + OFF_UID);
	p->created = get_le64(buf + OFF_CREATED);
	p->slot.active = 1;
	p->slot.kdf = buf[OFF_KDF];
	p->slot.key_bytes = get_le32(buf + OFF_KEY_BYTES);
	p->slot.stripes = get_le32(buf + OFF_STRIPES);
	p->slot.iterations = get_le32(buf + OFF_ITERATIONS);
	p->slot.memory_kib = get_le32(buf + OFF_MEMORY);
	p->slot.parallel = get_le32(buf + OFF_PARALLEL);
	memcpy(p->slot.salt, buf + OFF_SALT, VOL_SALT_BYTES);
	memcpy(p->slot.material_sha256, buf + OFF_MATERIAL_SUM, VOL_SHA256_BYTES);
	p->digest.type = VOL_DIGEST_PBKDF2_SHA256;
	p->digest.iterations = get_le32(buf + OFF_DIGEST_ITER);
	memcpy(p->digest.salt, buf + OFF_DIGEST_SALT, VOL_SALT_BYTES);
	memcpy(p->digest.value, buf + OFF_DIGEST, VOL_SHA256_BYTES);

	spec.type = p->slot.kdf;
	spec.iterations = p->slot.iterations;
	spec.memory_kib = p->slot.memory_kib;
	spec.parallel = p->slot.parallel;
	if ((p->layer != VOL_HOME_FSCRYPT && p->layer != VOL_HOME_ECRYPTFS) ||
	    p->slot.key_bytes != PROTECTOR_KEY_BYTES || p->slot.stripes != VOL_AF_STRIPES_V1 ||
	    p->digest.iterations < VOL_PBKDF2_MIN_ITER || vol_kdf_spec_valid(&spec))
		return -EBADMSG;
	return 0;
}

static void fill_info(const struct protector *p, struct vol_home_protector_info *info)
{
	memset(info, 0, sizeof(*info));
	info->version = p->version;
	info->layer = p->layer;
	info->uid = p->uid;
	info->kdf = p->slot.kdf;
	info->iterations = p->slot.iterations;
	info->memory_kib = p->slot.memory_kib;
	info->parallel = p->slot.parallel;
	info->created = p->created;
}

/* Reads the whole file: fixed part decoded, material (if @material) copied. */
static int load(const char *path, struct protector *p, uint8_t **material)
{
	uint8_t fixed[PROTECTOR_FIXED_BYTES];
	struct stat st;
	size_t len;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = pread(fd, fixed, sizeof(fixed), 0);
	r = n < 0 ? -errno : n != (ssize_t)sizeof(fixed) ? -EBADMSG : decode(fixed, p);
	if (!r && (fstat(fd, &st) || (uint64_t)st.st_size != protector_file_bytes(p)))
		r = -EBADMSG; /* truncated or grown: not a file this version wrote */
	if (!r && material) {
		len = vol_keyslot_material_bytes(&p->slot);
		*material = malloc(VOL_MATERIAL_STRIDE);
		if (!*material) {
			r = -ENOMEM;
		} else {
			n = pread(fd, *material, len, PROTECTOR_FIXED_BYTES);
			r = n < 0 ? -errno : n != (ssize_t)len ? -EBADMSG : 0;
			if (!r && !vol_keyslot_material_ok(&p->slot, *material))
				r = -EBADMSG;
			if (r) {
				free(*material);
				*material = NULL;
			}
		}
	}
	close(fd);
	return r;
}

int vol_protector_read_info(const char *path, struct vol_home_protector_info *info)
{
	struct protector p;
	int r = load(path, &p, NULL);

	if (!r)
		fill_info(&p, info);
	return r;
}

static int write_full(int fd, const uint8_t *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int fsync_parent(const char *path)
{
	char *copy = strdup(path);
	int fd, r = -ENOMEM;

	if (copy) {
		fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = fd < 0 ? -errno : fsync(fd) ? -errno : 0;
		if (fd >= 0)
			close(fd);
	}
	free(copy);
	return r;
}

/*
 * Written to PATH.new, synced, then linked to PATH (link fails if PATH
 * exists) and PATH.new removed: a crash leaves either no protector or a
 * complete one, never a torn one under the real name.
 */
static int store(const char *path, const struct protector *p, const uint8_t *material)
{
	uint8_t fixed[PROTECTOR_FIXED_BYTES];
	char tmp[4096];
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (!access(path, F_OK))
		return -EEXIST;
	unlink(tmp); /* left by a crash before the link */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	encode(p, fixed);
	r = write_full(fd, fixed, sizeof(fixed), 0);
	if (!r)
		r = write_full(fd, material, vol_keyslot_material_bytes(&p->slot),
			       PROTECTOR_FIXED_BYTES);
	if (!r && fsync(fd))
		r = -errno;
	close(fd);
	if (!r && link(tmp, path))
		r = -errno;
	unlink(tmp);
	if (!r)
		r = fsync_parent(path);
	return r;
}

int vol_protector_create(const char *path, uint32_t uid, enum vol_home_layer layer,
			 const struct vol_kdf_params *kdf, const char *pass, size_t pass_len,
			 struct vol_key **mk)
{
	struct vol_kdf_spec spec;
	struct protector p = { .version = PROTECTOR_VERSION, .layer = (uint8_t)layer, .uid = uid };
	struct vol_key *key;
	uint8_t *material;
	int r;

	*mk = NULL;
	r = vol_require_gcrypt();
	if (r)
		return r;
	r = vol_kdf_calibrate(kdf, VOL_VOLUME_KEY_BYTES, &spec);
	if (r)
		return r;
	key = vol_key_alloc(PROTECTOR_KEY_BYTES);
	material = malloc(VOL_MATERIAL_STRIDE);
	if (!key || !material) {
		r = -ENOMEM;
		goto out;
	}
	vol_random_key_bytes(key->bytes, key->len);
	p.created = (uint64_t)time(NULL);
	r = vol_keyslot_seal(&p.slot, &spec, key, pass, pass_len, material);
	if (!r)
		r = vol_digest_create(&p.digest, key, vol_digest_iterations(kdf));
	if (!r)
		r = store(path, &p, material);
out:
	free(material);
	if (r)
		vol_key_free(key);
	else
		*mk = key;
	return r;
}

int vol_protector_unlock(const char *path, const char *pass, size_t pass_len,
			 struct vol_key **mk, struct vol_home_protector_info *info)
{
	uint8_t *material = NULL, *kek = NULL;
	struct vol_key *key = NULL;
	struct protector p;
	int r;

	*mk = NULL;
	r = vol_require_gcrypt();
	if (!r)
		r = load(path, &p, &material);
	if (r)
		return r;
	kek = vol_secure_alloc(VOL_VOLUME_KEY_BYTES);
	key = vol_key_alloc(p.slot.key_bytes);
	r = kek && key ? vol_keyslot_derive(&p.slot, pass, pass_len, kek) : -ENOMEM;
	if (!r)
		r = vol_keyslot_unseal(&p.slot, kek, material, key);
	if (!r) {
		r = vol_digest_verify(&p.digest, key);
		r = r == 1 ? 0 : r == 0 ? -EPERM : r;
	}
	vol_secure_free(kek, VOL_VOLUME_KEY_BYTES);
	free(material);
	if (r) {
		vol_key_free(key);
		return r;
	}
	if (info)
		fill_info(&p, info);
	*mk = key;
	return 0;
}
