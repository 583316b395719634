/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Encoder/decoder of one v1 metadata copy (docs/FORMAT.md, "Metadata copy"). */
#ifndef LIBVOL_HEADER_CODEC_H
#define LIBVOL_HEADER_CODEC_H

#include <stdint.h>

#include "layout.h"
#include "libvol.h"

enum vol_digest_type { VOL_DIGEST_NONE = 0, VOL_DIGEST_PBKDF2_SHA256 = 1 };

/* Volume key check value: PBKDF2-SHA256(volume key, salt, iterations, 32). */
struct vol_digest {
	uint32_t type;          /* enum vol_digest_type; NONE = unused entry */
	uint32_t iterations;
	uint8_t salt[VOL_SALT_BYTES];
	uint8_t value[VOL_SHA256_BYTES];
};

struct vol_keyslot {
	uint8_t active;
	uint8_t kdf;            /* enum vol_kdf_type (1 or 2) */
	uint8_t digest_index;   /* v1: always 0 */
	uint32_t key_bytes;
	uint32_t stripes;
	uint32_t iterations;
	uint32_t memory_kib;
	uint32_t parallel;
	uint8_t salt[VOL_SALT_BYTES];
	uint8_t material_sha256[VOL_SHA256_BYTES];
};

/* Re-encryption record: reserved in v1, must be all zero. */
struct vol_rekey_record {
	uint32_t state;
	uint32_t flags;
	uint64_t boundary;
	uint64_t journal_offset;
	uint64_t journal_size;
	uint64_t chunk_size;
};

/* In-memory form of one metadata copy (the copy index is positional). */
struct vol_metadata {
	uint16_t version;
	uint64_t incompat_features;
	uint64_t compat_features;
	uint64_t sequence;
	uint8_t uuid[16];
	char label[VOL_LABEL_MAX + 1];
	char cipher[32];
	uint32_t key_bytes;
	uint32_t sector_size;
	uint64_t data_offset;
	uint64_t data_size;
	struct vol_digest digest[VOL_DIGESTS];
	struct vol_keyslot slot[VOL_KEYSLOTS];
	struct vol_rekey_record rekey;
};

/* Incompatible features a v1 reader understands: none yet. */
#define VOL_INCOMPAT_SUPPORTED 0ULL

/* Encode @md as copy number @copy into exactly VOL_META_SIZE bytes. */
void vol_metadata_encode(const struct vol_metadata *md, int copy, uint8_t *buf);

/*
 * Decode and fully validate one copy found at position @copy.
 * Returns 0, -EBADMSG (not a valid copy: magic, checksum, structure,
 * reserved bytes, copy index) or -EPROTONOSUPPORT (valid checksum but a
 * newer version or unknown incompatible feature).
 */
int vol_metadata_decode(const uint8_t *buf, int copy, struct vol_metadata *md);

/* 1 if @label has no control characters (bytes below 0x20, or 0x7f). */
int vol_label_printable(const char *label);

/* UUID helpers: text form is 8-4-4-4-12 lower-case hex. */
int vol_uuid_parse(const char *text, uint8_t uuid[16]);
void vol_uuid_format(const uint8_t uuid[16], char text[VOL_UUID_STRLEN]);

#endif
