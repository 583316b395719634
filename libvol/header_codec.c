/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One metadata copy <-> struct vol_metadata.  Every field is written at a
 * fixed offset in little-endian order; everything not described in
 * docs/FORMAT.md must be zero, so a reader rejects what it does not fully
 * understand instead of guessing.  Version 1 copies must not use what
 * version 2 added (the rekey record, digest 1, the rekey history).
 */
#include <errno.h>
#include <gcrypt.h>
#include <stdio.h>
#include <string.h>

#include "le_bytes.h"
#include "header_codec.h"
#include "kdf.h"

/* Field offsets of a metadata copy (see docs/FORMAT.md). */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 8,
	OFF_COPY = 10,
	OFF_SIZE = 12,
	OFF_INCOMPAT = 16,
	OFF_COMPAT = 24,
	OFF_SEQUENCE = 32,
	OFF_UUID = 40,
	OFF_LABEL = 56,
	LABEL_FIELD = 64,
	OFF_CIPHER = 120,
	CIPHER_FIELD = 32,
	OFF_KEY_BYTES = 152,
	OFF_SECTOR_SIZE = 156,
	OFF_DATA_OFFSET = 160,
	OFF_DATA_SIZE = 168,
	OFF_DIGESTS = 192,
	DIGEST_SIZE = 96,
	OFF_KEYSLOTS = OFF_DIGESTS + VOL_DIGESTS * DIGEST_SIZE,       /* 384 */
	KEYSLOT_SIZE = 128,
	OFF_REKEY = OFF_KEYSLOTS + VOL_KEYSLOTS * KEYSLOT_SIZE,       /* 1408 */
	REKEY_SIZE = 64,
	OFF_HISTORY = OFF_REKEY + REKEY_SIZE,                         /* 1472 */
	HISTORY_ENTRY_SIZE = 32,
	OFF_HISTORY_ENTRIES = OFF_HISTORY + 16,                       /* 1488 */
	OFF_RESERVED = OFF_HISTORY_ENTRIES + VOL_REKEY_HISTORY * HISTORY_ENTRY_SIZE, /* 2000 */
	OFF_CHECKSUM = 4064,
};

_Static_assert(OFF_KEYSLOTS == 384, "digest table size");
_Static_assert(OFF_REKEY == 1408, "keyslot table size");
_Static_assert(OFF_RESERVED == 2000, "history size");
_Static_assert(OFF_RESERVED <= OFF_CHECKSUM, "fields overlap the checksum");
_Static_assert(OFF_CHECKSUM + VOL_SHA256_BYTES == VOL_META_SIZE, "checksum ends the copy");
_Static_assert(OFF_LABEL + LABEL_FIELD <= OFF_CIPHER, "label overlaps cipher");
_Static_assert(VOL_LABEL_MAX + 1 == LABEL_FIELD, "label field holds the NUL");

/* Digest entry offsets. */
enum { D_TYPE = 0, D_ITER = 4, D_SALT = 16, D_VALUE = 48, D_END = 80 };
/* Keyslot entry offsets. */
enum {
	K_ACTIVE = 0, K_KDF = 1, K_DIGEST = 2, K_KEY_BYTES = 4, K_STRIPES = 8,
	K_ITER = 12, K_MEMORY = 16, K_PARALLEL = 20, K_SALT = 32, K_SHA = 64,
	K_END = 96,
};
/* Re-encryption record offsets. */
enum {
	R_STATE = 0, R_RESILIENCE = 4, R_BOUNDARY = 8, R_JOURNAL_OFF = 16, R_JOURNAL_SIZE = 24,
	R_CHUNK = 32, R_ID = 40, R_STARTED = 48, R_END = 56,
};
/* History entry offsets. */
enum { H_STARTED = 0, H_FINISHED = 8, H_BYTES = 16, H_FLAGS = 24, H_END = 28 };
_Static_assert((int)R_END <= (int)REKEY_SIZE && (int)H_END <= (int)HISTORY_ENTRY_SIZE,
	       "record sizes");
_Static_assert((int)D_END <= (int)DIGEST_SIZE && (int)K_END <= (int)KEYSLOT_SIZE, "entry sizes");

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void encode_digest(const struct vol_digest *d, uint8_t *p)
{
	put_le32(p + D_TYPE, d->type);
	put_le32(p + D_ITER, d->iterations);
	memcpy(p + D_SALT, d->salt, VOL_SALT_BYTES);
	memcpy(p + D_VALUE, d->value, VOL_SHA256_BYTES);
}

static void encode_keyslot(const struct vol_keyslot *k, uint8_t *p)
{
	if (!k->active)
		return; /* an inactive slot is all zero on disk */
	p[K_ACTIVE] = 1;
	p[K_KDF] = k->kdf;
	p[K_DIGEST] = k->digest_index;
	put_le32(p + K_KEY_BYTES, k->key_bytes);
	put_le32(p + K_STRIPES, k->stripes);
	put_le32(p + K_ITER, k->iterations);
	put_le32(p + K_MEMORY, k->memory_kib);
	put_le32(p + K_PARALLEL, k->parallel);
	memcpy(p + K_SALT, k->salt, VOL_SALT_BYTES);
	memcpy(p + K_SHA, k->material_sha256, VOL_SHA256_BYTES);
}

static void encode_rekey(const struct vol_rekey_record *r, uint8_t *p)
{
	put_le32(p + R_STATE, r->state);
	put_le32(p + R_RESILIENCE, r->resilience);
	put_le64(p + R_BOUNDARY, r->boundary);
	put_le64(p + R_JOURNAL_OFF, r->journal_offset);
	put_le64(p + R_JOURNAL_SIZE, r->journal_size);
	put_le64(p + R_CHUNK, r->chunk_size);
	put_le64(p + R_ID, r->id);
	put_le64(p + R_STARTED, r->started);
}

static void encode_history(const struct vol_metadata *md, uint8_t *p)
{
	put_le64(p, md->rekey_count);
	for (int i = 0; i < VOL_REKEY_HISTORY; i++) {
		const struct vol_rekey_history *h = &md->history[i];
		uint8_t *e = p + (OFF_HISTORY_ENTRIES - OFF_HISTORY) + i * HISTORY_ENTRY_SIZE;

		put_le64(e + H_STARTED, h->started);
		put_le64(e + H_FINISHED, h->finished);
		put_le64(e + H_BYTES, h->bytes);
		put_le32(e + H_FLAGS, h->flags);
	}
}

void vol_metadata_encode(const struct vol_metadata *md, int copy, uint8_t *buf)
{
	memset(buf, 0, VOL_META_SIZE);
	memcpy(buf + OFF_MAGIC, VOL_MAGIC, VOL_MAGIC_LEN);
	put_le16(buf + OFF_VERSION, md->version);
	put_le16(buf + OFF_COPY, (uint16_t)copy);
	put_le32(buf + OFF_SIZE, VOL_META_SIZE);
	put_le64(buf + OFF_INCOMPAT, md->incompat_features);
	put_le64(buf + OFF_COMPAT, md->compat_features);
	put_le64(buf + OFF_SEQUENCE, md->sequence);
	memcpy(buf + OFF_UUID, md->uuid, 16);
	memcpy(buf + OFF_LABEL, md->label, strnlen(md->label, LABEL_FIELD - 1));
	memcpy(buf + OFF_CIPHER, md->cipher, strnlen(md->cipher, CIPHER_FIELD - 1));
	put_le32(buf + OFF_KEY_BYTES, md->key_bytes);
	put_le32(buf + OFF_SECTOR_SIZE, md->sector_size);
	put_le64(buf + OFF_DATA_OFFSET, md->data_offset);
	put_le64(buf + OFF_DATA_SIZE, md->data_size);
	for (int i = 0; i < VOL_DIGESTS; i++)
		encode_digest(&md->digest[i], buf + OFF_DIGESTS + i * DIGEST_SIZE);
	for (int i = 0; i < VOL_KEYSLOTS; i++)
		encode_keyslot(&md->slot[i], buf + OFF_KEYSLOTS + i * KEYSLOT_SIZE);
	encode_rekey(&md->rekey, buf + OFF_REKEY);
	encode_history(md, buf + OFF_HISTORY);
	gcry_md_hash_buffer(GCRY_MD_SHA256, buf + OFF_CHECKSUM, buf, OFF_CHECKSUM);
}

/* A NUL-padded text field: at least one NUL, nothing but NULs after it. */
static int decode_text(const uint8_t *p, size_t field, char *out)
{
	size_t len = strnlen((const char *)p, field);

	if (len == field || !all_zero(p + len, field - len))
		return -EBADMSG;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

int vol_label_printable(const char *label)
{
	for (const unsigned char *p = (const unsigned char *)label; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int decode_digest(const uint8_t *p, struct vol_digest *d)
{
	d->type = get_le32(p + D_TYPE);
	d->iterations = get_le32(p + D_ITER);
	memcpy(d->salt, p + D_SALT, VOL_SALT_BYTES);
	memcpy(d->value, p + D_VALUE, VOL_SHA256_BYTES);
	if (!all_zero(p + 8, D_SALT - 8) || !all_zero(p + D_END, DIGEST_SIZE - D_END))
		return -EBADMSG;
	if (d->type == VOL_DIGEST_NONE) /* unused: all zero */
		return all_zero(p, DIGEST_SIZE) ? 0 : -EBADMSG;
	return d->type == VOL_DIGEST_PBKDF2_SHA256 &&
	       d->iterations >= VOL_PBKDF2_MIN_ITER ? 0 : -EBADMSG;
}

static int decode_keyslot(const uint8_t *p, uint32_t key_bytes, struct vol_keyslot *k)
{
	struct vol_kdf_spec spec;

	memset(k, 0, sizeof(*k));
	if (p[K_ACTIVE] == 0)
		return all_zero(p, KEYSLOT_SIZE) ? 0 : -EBADMSG;
	if (p[K_ACTIVE] != 1 || p[K_DIGEST] >= VOL_DIGESTS || p[3] ||
	    !all_zero(p + 24, K_SALT - 24) || !all_zero(p + K_END, KEYSLOT_SIZE - K_END))
		return -EBADMSG;
	k->active = 1;
	k->kdf = p[K_KDF];
	k->digest_index = p[K_DIGEST];
	k->key_bytes = get_le32(p + K_KEY_BYTES);
	k->stripes = get_le32(p + K_STRIPES);
	k->iterations = get_le32(p + K_ITER);
	k->memory_kib = get_le32(p + K_MEMORY);
	k->parallel = get_le32(p + K_PARALLEL);
	memcpy(k->salt, p + K_SALT, VOL_SALT_BYTES);
	memcpy(k->material_sha256, p + K_SHA, VOL_SHA256_BYTES);
	if (k->key_bytes != key_bytes || k->stripes != VOL_AF_STRIPES_V1)
		return -EBADMSG;
	spec = (struct vol_kdf_spec){ .type = k->kdf, .iterations = k->iterations,
				      .memory_kib = k->memory_kib, .parallel = k->parallel };
	return vol_kdf_spec_valid(&spec) ? -EBADMSG : 0;
}

static int decode_rekey(const uint8_t *p, struct vol_rekey_record *r)
{
	r->state = get_le32(p + R_STATE);
	r->resilience = get_le32(p + R_RESILIENCE);
	r->boundary = get_le64(p + R_BOUNDARY);
	r->journal_offset = get_le64(p + R_JOURNAL_OFF);
	r->journal_size = get_le64(p + R_JOURNAL_SIZE);
	r->chunk_size = get_le64(p + R_CHUNK);
	r->id = get_le64(p + R_ID);
	r->started = get_le64(p + R_STARTED);
	if (r->state == VOL_REKEY_NONE)
		return all_zero(p, REKEY_SIZE) ? 0 : -EBADMSG;
	return r->state == VOL_REKEY_RUNNING && all_zero(p + R_END, REKEY_SIZE - R_END) ?
	       0 : -EBADMSG;
}

/* Entries newest first: as many used ones as rekeys counted (up to 16), then zeros. */
static int decode_history(const uint8_t *p, struct vol_metadata *md)
{
	uint64_t used;

	md->rekey_count = get_le64(p);
	if (!all_zero(p + 8, OFF_HISTORY_ENTRIES - OFF_HISTORY - 8))
		return -EBADMSG;
	used = md->rekey_count < VOL_REKEY_HISTORY ? md->rekey_count : VOL_REKEY_HISTORY;
	for (uint64_t i = 0; i < VOL_REKEY_HISTORY; i++) {
		const uint8_t *e = p + (OFF_HISTORY_ENTRIES - OFF_HISTORY) + i * HISTORY_ENTRY_SIZE;
		struct vol_rekey_history *h = &md->history[i];

		h->started = get_le64(e + H_STARTED);
		h->finished = get_le64(e + H_FINISHED);
		h->bytes = get_le64(e + H_BYTES);
		h->flags = get_le32(e + H_FLAGS);
		if (i >= used) {
			if (!all_zero(e, HISTORY_ENTRY_SIZE))
				return -EBADMSG;
		} else if (!h->started || h->finished < h->started ||
			   (h->flags & ~VOL_HISTORY_ONLINE) ||
			   !all_zero(e + H_END, HISTORY_ENTRY_SIZE - H_END)) {
			return -EBADMSG;
		}
	}
	return 0;
}

int vol_metadata_needs_v2(const struct vol_metadata *md)
{
	int new_key_slots = 0;

	for (int i = 0; i < VOL_KEYSLOTS; i++)
		new_key_slots |= md->slot[i].active && md->slot[i].digest_index;
	return md->rekey.state || md->rekey_count || md->incompat_features ||
	       md->digest[1].type || new_key_slots;
}

uint64_t vol_rekey_chunk_max(uint32_t sector_size)
{
	uint64_t sectors = (VOL_JOURNAL_SIZE / 2 - VOL_JOURNAL_ENTRY_HEADER) / VOL_FINGERPRINT_BYTES;

	return sectors * sector_size / 4096 * 4096;
}

int vol_rekey_chunk_valid(uint64_t chunk, uint32_t sector_size)
{
	return chunk && !(chunk % 4096) && !(chunk % sector_size) &&
	       chunk <= vol_rekey_chunk_max(sector_size);
}

/*
 * A rekey in progress: the incompatible bit says so, digest 1 names the
 * new key, and the record describes a journal this reader can use.  Not
 * in progress: nothing of it may be there.
 */
static int check_rekey_consistency(const struct vol_metadata *md)
{
	const struct vol_rekey_record *r = &md->rekey;
	int running = r->state == VOL_REKEY_RUNNING;

	if (!!(md->incompat_features & VOL_INCOMPAT_REKEY) != running)
		return -EBADMSG;
	if (md->digest[0].type != VOL_DIGEST_PBKDF2_SHA256)
		return -EBADMSG;
	if (!running) {
		for (int i = 0; i < VOL_KEYSLOTS; i++)
			if (md->slot[i].active && md->slot[i].digest_index)
				return -EBADMSG;
		return md->digest[1].type == VOL_DIGEST_NONE ? 0 : -EBADMSG;
	}
	if (md->digest[1].type != VOL_DIGEST_PBKDF2_SHA256 ||
	    r->resilience != VOL_REKEY_RESILIENCE_FINGERPRINT || !r->id || !r->started ||
	    r->journal_offset != VOL_JOURNAL_OFFSET || r->journal_size != VOL_JOURNAL_SIZE)
		return -EBADMSG;
	/* The journal's size is the constant checked above. */
	if (!vol_rekey_chunk_valid(r->chunk_size, md->sector_size))
		return -EBADMSG;
	if (r->boundary > md->data_size ||
	    (r->boundary % r->chunk_size && r->boundary != md->data_size))
		return -EBADMSG;
	return 0;
}

static int decode_geometry(const uint8_t *buf, struct vol_metadata *md)
{
	md->key_bytes = get_le32(buf + OFF_KEY_BYTES);
	md->sector_size = get_le32(buf + OFF_SECTOR_SIZE);
	md->data_offset = get_le64(buf + OFF_DATA_OFFSET);
	md->data_size = get_le64(buf + OFF_DATA_SIZE);
	if (strcmp(md->cipher, VOL_CIPHER_SPEC) || md->key_bytes != VOL_VOLUME_KEY_BYTES)
		return -EBADMSG;
	if (md->sector_size != 512 && md->sector_size != 4096)
		return -EBADMSG;
	if (md->data_offset < VOL_HEADER_AREA_SIZE || md->data_offset % (1 << 20))
		return -EBADMSG;
	if (md->data_size == 0 || md->data_size % md->sector_size ||
	    md->data_offset + md->data_size < md->data_offset)
		return -EBADMSG;
	return 0;
}

/* Structure checks that only make sense once the checksum is known good. */
static int decode_fields(const uint8_t *buf, int copy, struct vol_metadata *md)
{
	int r;

	if (get_le32(buf + OFF_SIZE) != VOL_META_SIZE || get_le16(buf + OFF_COPY) != copy)
		return -EBADMSG;
	md->version = get_le16(buf + OFF_VERSION);
	md->incompat_features = get_le64(buf + OFF_INCOMPAT);
	md->compat_features = get_le64(buf + OFF_COMPAT);
	if (md->version < VOL_FORMAT_VERSION_MIN || md->version > VOL_FORMAT_VERSION ||
	    (md->incompat_features & ~VOL_INCOMPAT_SUPPORTED))
		return -EPROTONOSUPPORT;
	md->sequence = get_le64(buf + OFF_SEQUENCE);
	memcpy(md->uuid, buf + OFF_UUID, 16);
	if (decode_text(buf + OFF_LABEL, LABEL_FIELD, md->label) ||
	    !vol_label_printable(md->label) ||
	    decode_text(buf + OFF_CIPHER, CIPHER_FIELD, md->cipher) ||
	    !all_zero(buf + 176, OFF_DIGESTS - 176))
		return -EBADMSG;
	r = decode_geometry(buf, md);
	for (int i = 0; !r && i < VOL_DIGESTS; i++)
		r = decode_digest(buf + OFF_DIGESTS + i * DIGEST_SIZE, &md->digest[i]);
	for (int i = 0; !r && i < VOL_KEYSLOTS; i++)
		r = decode_keyslot(buf + OFF_KEYSLOTS + i * KEYSLOT_SIZE, md->key_bytes,
				   &md->slot[i]);
	if (!r)
		r = decode_rekey(buf + OFF_REKEY, &md->rekey);
	if (!r)
		r = decode_history(buf + OFF_HISTORY, md);
	if (!r && !all_zero(buf + OFF_RESERVED, OFF_CHECKSUM - OFF_RESERVED))
		r = -EBADMSG;
	if (!r)
		r = check_rekey_consistency(md);
	/* Version 1 has none of what version 2 added: those bytes were reserved. */
	if (!r && md->version == 1 && vol_metadata_needs_v2(md))
		r = -EBADMSG;
	return r;
}

int vol_metadata_decode(const uint8_t *buf, int copy, struct vol_metadata *md)
{
	uint8_t sum[VOL_SHA256_BYTES];
	int r;

	memset(md, 0, sizeof(*md));
	if (memcmp(buf + OFF_MAGIC, VOL_MAGIC, VOL_MAGIC_LEN))
		return -EBADMSG;
	gcry_md_hash_buffer(GCRY_MD_SHA256, sum, buf, OFF_CHECKSUM);
	if (memcmp(sum, buf + OFF_CHECKSUM, sizeof(sum)))
		return -EBADMSG;
	r = decode_fields(buf, copy, md);
	if (r)
		memset(md, 0, sizeof(*md));
	return r;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vol_uuid_valid(const char *text)
{
	uint8_t uuid[16];

	return text && vol_uuid_parse(text, uuid) == 0;
}

int vol_uuid_parse(const char *text, uint8_t uuid[16])
{
	int n = 0;

	if (strlen(text) != VOL_UUID_STRLEN - 1)
		return -EINVAL;
	for (int i = 0; text[i]; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return -EINVAL;
			continue;
		}
		hi = hex_value(text[i]);
		lo = hex_value(text[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		uuid[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return n == 16 ? 0 : -EINVAL;
}

void vol_uuid_format(const uint8_t u[16], char text[VOL_UUID_STRLEN])
{
	snprintf(text, VOL_UUID_STRLEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
		 u[11], u[12], u[13], u[14], u[15]);
}
