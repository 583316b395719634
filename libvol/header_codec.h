/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Encoder/decoder of one metadata copy (docs/FORMAT.md, "Metadata copy"). */
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
	uint8_t digest_index;   /* 0, or 1 for the new key during a rekey */
	uint32_t key_bytes;
	uint32_t stripes;
	uint32_t iterations;
	uint32_t memory_kib;
	uint32_t parallel;
	uint8_t salt[VOL_SALT_BYTES];
	uint8_t material_sha256[VOL_SHA256_BYTES];
};

enum vol_rekey_state { VOL_REKEY_NONE = 0, VOL_REKEY_RUNNING = 1 };
/* How an interrupted chunk is resolved: per-sector fingerprints (the only one). */
enum { VOL_REKEY_RESILIENCE_FINGERPRINT = 1 };

/*
 * Re-encryption record (v2): while state is RUNNING, data below
 * @boundary (bytes into the data area) is under the key of digest 1 and
 * the rest under digest 0; the journal may know a later boundary.
 */
struct vol_rekey_record {
	uint32_t state;
	uint32_t resilience;
	uint64_t boundary;
	uint64_t journal_offset;
	uint64_t journal_size;
	uint64_t chunk_size;
	uint64_t id;            /* random, nonzero; journal entries carry it */
	uint64_t started;       /* unix time */
};

/* One finished rekey, newest first in the header (v2). */
#define VOL_REKEY_HISTORY 16
#define VOL_HISTORY_ONLINE 0x1u
struct vol_rekey_history {
	uint64_t started;       /* unix time; an all-zero entry is unused */
	uint64_t finished;
	uint64_t bytes;         /* data re-encrypted */
	uint32_t flags;         /* VOL_HISTORY_ONLINE */
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
	uint64_t rekey_count;   /* finished rekeys: the key generation */
	struct vol_rekey_history history[VOL_REKEY_HISTORY];
};

/* Incompatible feature bits (v2): set while a rekey is in progress. */
#define VOL_INCOMPAT_REKEY 0x1ULL
#define VOL_INCOMPAT_SUPPORTED VOL_INCOMPAT_REKEY

/*
 * Rekey chunk sizes: a multiple of 4096 bytes and of the sector size,
 * whose fingerprints fit one of the two journal slots.
 */
uint64_t vol_rekey_chunk_max(uint32_t sector_size);
int vol_rekey_chunk_valid(uint64_t chunk, uint32_t sector_size);

/* Does @md use anything that version 1 cannot express? */
int vol_metadata_needs_v2(const struct vol_metadata *md);

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
