/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvol - the volcrypt volume library.
 *
 * libvol owns the volcrypt on-disk format (docs/FORMAT.md): the redundant
 * metadata copies, the keyslots, the volume key and the userspace sector
 * engine.  Conventions shared by every function:
 *
 *  - Functions return 0 on success or a negative errno value.  The values
 *    callers can rely on are listed with enum vol_error below.
 *  - The library never prints.  Human-readable detail goes to the log
 *    callback installed with vol_set_log().
 *  - libgcrypt must be initialised by the application (version check,
 *    secure memory, GCRYCTL_INITIALIZATION_FINISHED) before any call;
 *    otherwise functions fail with -EINVAL.
 *  - Secrets (passphrases, keys) passed in are never retained; secrets
 *    handed out (struct vol_key) live in libgcrypt secure memory and are
 *    wiped by vol_key_free().
 */
#ifndef LIBVOL_H
#define LIBVOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Number of keyslots in a v1 header. */
#define VOL_KEYSLOTS 8
/** Volume key size in bytes (AES-256-XTS uses two 256-bit keys). */
#define VOL_VOLUME_KEY_BYTES 64
/** Length of a textual UUID including the terminating NUL. */
#define VOL_UUID_STRLEN 37
/** Maximum label length in bytes, excluding the terminating NUL. */
#define VOL_LABEL_MAX 63
/** Default data offset: 16 MiB, the size of the reserved header area. */
#define VOL_DEFAULT_DATA_OFFSET (16ULL << 20)

/**
 * enum vol_error - how the negative errno values returned map to causes.
 *
 * -EINVAL  invalid argument or option combination
 * -EPERM   no keyslot accepted the passphrase (or the slot given)
 * -EACCES, -EROFS  no permission to read or write the target
 * -ENOMEM  out of memory (including secure memory)
 * -ENOENT  target does not exist
 * -ENODEV  target is not a regular file or block device, or is too small
 * -EBADMSG no valid volcrypt metadata copy (corrupt or not volcrypt)
 * -EPROTONOSUPPORT  newer format version or unknown incompatible feature
 * -EEXIST  target holds a foreign signature (filesystem, partition table,
 *          LUKS, ...) and force was not given; or UUID mismatch on restore
 * -EBUSY   target in use
 * -ENOSPC  no free keyslot
 * -EIO     I/O error
 */
enum vol_error { VOL_OK = 0 };

/** Returns a static English description of a negative errno from libvol. */
const char *vol_strerror(int err);

/* ------------------------------------------------------------------ */
/* Logging                                                             */

enum vol_log_level { VOL_LOG_DEBUG = 0, VOL_LOG_INFO, VOL_LOG_WARN, VOL_LOG_ERROR };

/**
 * vol_log_fn - receives one message (no trailing newline).
 * Messages never contain secrets.
 */
typedef void (*vol_log_fn)(enum vol_log_level level, const char *msg, void *ctx);

/** Installs the process-wide log callback (NULL discards messages). */
void vol_set_log(vol_log_fn fn, void *ctx);

/* ------------------------------------------------------------------ */
/* Key derivation parameters                                           */

enum vol_kdf_type {
	VOL_KDF_DEFAULT = 0,       /**< Argon2id */
	VOL_KDF_PBKDF2_SHA256 = 1,
	VOL_KDF_ARGON2ID = 2,
};

/**
 * struct vol_kdf_params - what the caller asks for; zero fields mean
 * "default".  Defaults follow LUKS2: Argon2id calibrated to 2000 ms,
 * memory up to 1 GiB but at most half of RAM, lanes up to 4 but at most
 * the number of online CPUs.
 *
 * @type:             KDF algorithm.
 * @iter_time_ms:     benchmark target (default 2000).
 * @memory_kib:       Argon2id memory cost upper bound (or exact value when
 *                    @force_iterations is set).
 * @parallel:         Argon2id lanes.
 * @force_iterations: skip the benchmark: PBKDF2 iterations or Argon2id
 *                    time cost.
 */
struct vol_kdf_params {
	enum vol_kdf_type type;
	uint32_t iter_time_ms;
	uint32_t memory_kib;
	uint32_t parallel;
	uint32_t force_iterations;
};

/* ------------------------------------------------------------------ */
/* Volumes                                                             */

/** Opaque handle on a volume's header (metadata + keyslots). */
struct vol_volume;
/** Opaque volume key held in secure memory. */
struct vol_key;

/**
 * struct vol_format_params - options for vol_format(); zero means default.
 * @label:       NULL or up to VOL_LABEL_MAX bytes.
 * @uuid:        NULL (random) or a textual UUID.
 * @sector_size: 512 (default) or 4096.
 * @data_offset: bytes, multiple of 1 MiB, at least 16 MiB (default).
 * @force:       overwrite foreign signatures found by libblkid.
 * @kdf:         parameters of keyslot 0.
 */
struct vol_format_params {
	const char *label;
	const char *uuid;
	uint32_t sector_size;
	uint64_t data_offset;
	int force;
	struct vol_kdf_params kdf;
};

/**
 * vol_format() - writes a new volcrypt header to @path with a fresh random
 * volume key and the passphrase in keyslot 0.
 *
 * @path must exist (a block device or a regular file) and be larger than
 * the data offset plus one sector.  Before anything is written the target
 * is probed with libblkid: -EEXIST if a signature is found and !force;
 * otherwise the signatures are wiped.  On success *out (if non-NULL)
 * receives a handle on the new volume.
 */
int vol_format(const char *path, const struct vol_format_params *params,
	       const char *pass, size_t pass_len, struct vol_volume **out);

/** Flags for vol_load(). */
#define VOL_LOAD_READONLY 0x1
/**
 * The volume is mapped and the rekey updates it through the mapping:
 * open a block device for writing without O_EXCL (the mapping holds it);
 * the update lock still keeps out other writers.
 */
#define VOL_LOAD_ONLINE 0x2
/**
 * Accept a LUKS2 device too (only together with VOL_LOAD_READONLY, else
 * -EINVAL): when @path holds no valid volcrypt header but a LUKS2 header
 * whose layout is volcrypt's (the conditions of vol_convert_from_luks2()),
 * the handle describes it through libcryptsetup.  vol_get_info() gives its
 * geometry (version 0, no keyslots, no digest), vol_unlock(),
 * vol_key_verify() and vol_activate() work with every backend (the data
 * layout is the same), and every update fails with -EPROTONOSUPPORT.  A
 * LUKS2 layout volcrypt cannot use: -EPROTONOSUPPORT, the reason logged.
 */
#define VOL_LOAD_LUKS2 0x4

/**
 * vol_load() - reads and verifies the header of @path.  The newest metadata
 * copy whose checksum verifies is used; a damaged or stale copy is
 * reported by vol_get_info() and rewritten by the next update.
 */
int vol_load(const char *path, unsigned flags, struct vol_volume **out);

/** Releases a handle (NULL is allowed). */
void vol_free(struct vol_volume *vol);

/** Per-copy state reported by vol_get_info(). */
enum vol_copy_state {
	VOL_COPY_OK = 0,        /**< valid and current */
	VOL_COPY_STALE = 1,     /**< valid, older sequence number */
	VOL_COPY_DAMAGED = 2,   /**< checksum or structure invalid */
};

/** struct vol_info - public header fields (no secrets). */
struct vol_info {
	uint16_t version;
	char uuid[VOL_UUID_STRLEN];
	char label[VOL_LABEL_MAX + 1];
	char cipher[32];
	uint32_t key_bytes;
	uint32_t sector_size;
	uint64_t data_offset;   /**< bytes from the start of the target */
	uint64_t data_size;     /**< bytes of the data area */
	uint64_t sequence;
	uint64_t incompat_features;
	uint64_t compat_features;
	enum vol_copy_state copy_state[2];
	uint32_t digest_iterations;
	uint8_t digest[32];     /**< volume key digest (public, not secret) */
	int active_keyslots;
};

int vol_get_info(const struct vol_volume *vol, struct vol_info *info);

/** struct vol_keyslot_info - public keyslot fields. */
struct vol_keyslot_info {
	int active;
	enum vol_kdf_type kdf;
	uint32_t iterations;    /**< PBKDF2 iterations or Argon2id time cost */
	uint32_t memory_kib;    /**< Argon2id only */
	uint32_t parallel;      /**< Argon2id only */
	uint32_t stripes;       /**< anti-forensic stripes */
	uint32_t digest_index;  /**< which volume key digest it belongs to */
	enum vol_copy_state material_state[2];
};

int vol_get_keyslot(const struct vol_volume *vol, int slot,
		    struct vol_keyslot_info *info);

/* ------------------------------------------------------------------ */
/* Keys                                                                */

/**
 * vol_unlock() - tries @pass on every active keyslot (or only on @slot
 * when @slot >= 0).  On success returns 0, stores the slot that matched
 * in *slot_out (if non-NULL) and the volume key in *key_out (if
 * non-NULL; free it with vol_key_free()).  -EPERM if nothing matched.
 */
int vol_unlock(struct vol_volume *vol, int slot, const char *pass,
	       size_t pass_len, int *slot_out, struct vol_key **key_out);

/**
 * vol_keyslot_add() - stores @key under a new passphrase in @slot (or the
 * first free slot when @slot < 0).  Crash-safe: the header names the new
 * slot only after its key material is on disk.
 */
int vol_keyslot_add(struct vol_volume *vol, const struct vol_key *key,
		    int slot, const char *pass, size_t pass_len,
		    const struct vol_kdf_params *kdf, int *slot_out);

/**
 * vol_keyslot_remove() - deactivates @slot and wipes every copy of its
 * key material.  Refuses (-EINVAL) to remove the last active slot unless
 * @allow_last.
 */
int vol_keyslot_remove(struct vol_volume *vol, int slot, int allow_last);

/**
 * vol_keyslot_change() - replaces the passphrase of @old_slot in place.
 * One material copy is rewritten under the new passphrase, the header
 * switches to it in one update, then the other copy is rewritten: the old
 * passphrase opens the volume until the switch, the new one after it, and
 * no material of the old passphrase remains.  *new_slot receives the slot
 * now holding the passphrase (always @old_slot).
 */
int vol_keyslot_change(struct vol_volume *vol, const struct vol_key *key,
		       int old_slot, const char *new_pass, size_t new_pass_len,
		       const struct vol_kdf_params *kdf, int *new_slot);

/** Copies the raw volume key to @buf (@len >= key length); returns its length. */
int vol_key_export(const struct vol_key *key, uint8_t *buf, size_t len);

/** Wipes and frees a key (NULL is allowed). */
void vol_key_free(struct vol_key *key);

/**
 * Compares @n bytes in a time that depends on @n only (for secrets, such
 * as a passphrase typed twice): 1 if equal, 0 otherwise.
 */
int vol_ct_equal(const void *a, const void *b, size_t n);

/* ------------------------------------------------------------------ */
/* Rekey: re-encryption under a new volume key                         */

/** Default chunk sizes: offline (few syncs), online (short waits for I/O to a chunk). */
#define VOL_REKEY_CHUNK_DEFAULT (16ULL << 20)
#define VOL_REKEY_CHUNK_ONLINE (1ULL << 20)

/**
 * struct vol_rekey_info - the rekey record and history (no secrets).
 * @running:   a rekey is in progress: data below @boundary is under the
 *             new key, the rest under the old one.
 * @count:     finished rekeys; @history holds the newest (up to 16).
 */
struct vol_rekey_info {
	int running;
	uint64_t boundary;
	uint64_t data_size;
	uint64_t chunk_size;
	uint64_t started;         /**< unix time */
	uint8_t new_digest[32];   /**< digest of the new key while running */
	uint64_t count;
	int history_len;
	struct {
		uint64_t started, finished, bytes;
		int online;
	} history[16];
};

int vol_get_rekey_info(const struct vol_volume *vol, struct vol_rekey_info *info);

/**
 * vol_rekey_start() - begins re-encrypting @vol under a fresh random key.
 * @pass unlocks the current key; it and each of the @nkeep passphrases in
 * @keep (which must open this volume too) get a new keyslot for the new
 * key, with the KDF parameters of the slot they opened.  Slots not
 * carried over are wiped when the rekey finishes.  One header update
 * records the new key's digest, the new slots and the rekey record
 * (@chunk_size bytes per step; 0 = VOL_REKEY_CHUNK_DEFAULT).  Returns both
 * keys.  -EALREADY if a rekey is already in progress, -ENOSPC without
 * enough free keyslots, -EPERM for a passphrase that opens nothing.
 */
int vol_rekey_start(struct vol_volume *vol, const char *pass, size_t pass_len,
		    const char *const *keep, const size_t *keep_len, int nkeep,
		    uint64_t chunk_size, struct vol_key **old_key, struct vol_key **new_key);

/**
 * vol_rekey_unlock() - the keys of a volume whose rekey is in progress:
 * @pass must open a slot of each key that is still needed (the old key is
 * not needed once every chunk is rewritten: *old_key is then NULL).
 */
int vol_rekey_unlock(struct vol_volume *vol, const char *pass, size_t pass_len,
		     struct vol_key **old_key, struct vol_key **new_key);

/** 1 if @new_key is the new key of the rekey in progress, 0 if not, or -errno. */
int vol_rekey_key_verify(const struct vol_volume *vol, const struct vol_key *new_key);

/** struct vol_rekey_progress - reported after every chunk. */
struct vol_rekey_progress {
	uint64_t done;            /**< bytes under the new key */
	uint64_t total;           /**< data area bytes */
	uint64_t this_run;        /**< bytes re-encrypted by this call */
	double elapsed_ms;        /**< since this call began */
	int torn_sectors;         /**< found while recovering a crash (data lost) */
};

/** Progress callback: return nonzero to pause (the rekey stays resumable). */
typedef int (*vol_rekey_progress_fn)(const struct vol_rekey_progress *p, void *ctx);

/**
 * vol_rekey_run() - re-encrypts @vol (closed: no mapping uses it) from
 * where its rekey stands to the end, recovering a chunk a crash
 * interrupted, then finishes: the old key's slots are wiped, the new key
 * becomes the volume key and the rekey joins the history.  Returns 0 when
 * finished, -EINTR when @progress asked to pause.
 */
int vol_rekey_run(struct vol_volume *vol, const struct vol_key *old_key,
		  const struct vol_key *new_key, vol_rekey_progress_fn progress, void *ctx);

/**
 * vol_rekey_run_mapping() - vol_rekey_run() for a volume that mapping
 * @name holds open (@vol loaded with VOL_LOAD_ONLINE): the volcrypt kernel
 * target re-encrypts each chunk while I/O to it waits; a fuse daemon
 * stops its I/O to the chunk while libvol rewrites it.  The dm-crypt
 * backend cannot (-EOPNOTSUPP, with the reason logged).
 */
int vol_rekey_run_mapping(struct vol_volume *vol, const char *name,
			  const struct vol_key *old_key, const struct vol_key *new_key,
			  vol_rekey_progress_fn progress, void *ctx);

/**
 * vol_rekey_recover() - makes a volume whose rekey was interrupted by a
 * crash consistent again (the chunk being rewritten is finished from the
 * journal) so that it can be mapped with the boundary of the record.
 * Nothing to do (0) without a rekey.  *torn (if non-NULL) receives the
 * number of sectors found torn.  A handle loaded read-only succeeds only
 * when no step was interrupted (-EROFS otherwise).
 */
int vol_rekey_recover(struct vol_volume *vol, const struct vol_key *old_key,
		      const struct vol_key *new_key, int *torn);

/* ------------------------------------------------------------------ */
/* LUKS2 interoperability (docs/FORMAT.md section 14)                  */

/** What vol_get_header_format() returns. */
enum vol_header_format { VOL_HEADER_VOLCRYPT = 1, VOL_HEADER_LUKS2 = 2 };

/** The on-disk format behind a handle (LUKS2 only with VOL_LOAD_LUKS2), or -EINVAL. */
int vol_get_header_format(const struct vol_volume *vol);

/**
 * struct vol_convert_params - options of the conversions.
 * @keep, @keep_len, @nkeep: further passphrases (at most 7) that must open
 *             the volume in its present format and get a keyslot in the
 *             new one, after the unlocking passphrase (which gets the
 *             first).  Every other passphrase stops working.
 * @kdf:       KDF of the new keyslots, as for vol_format(); zero fields are
 *             the defaults (calibrated Argon2id, 2 s).
 */
struct vol_convert_params {
	const char *const *keep;
	const size_t *keep_len;
	int nkeep;
	struct vol_kdf_params kdf;
};

/**
 * vol_convert_to_luks2() - turns the volcrypt volume on @path into a LUKS2
 * volume in place: same volume key, UUID, label, sector size and data
 * offset; the data area is not touched.  The header area is rewritten in
 * an order that leaves a volume that opens with @pass after a crash at
 * any point (docs/FORMAT.md section 14); running it again after a crash
 * finishes the job.  The LUKS2 header has 2 x 16 KiB of metadata and a
 * keyslots area ending at 4 MiB.
 *
 * -EPERM: @pass (or a passphrase to keep) opens no keyslot; -EBUSY: the
 * volume is mapped, in use, or in the middle of a rekey; -EALREADY: it is
 * already a LUKS2 volume made by a conversion; -EPROTONOSUPPORT: LUKS2
 * cannot express it (a label of more than 47 bytes).  Nothing is written
 * before every check has passed.
 */
int vol_convert_to_luks2(const char *path, const char *pass, size_t pass_len,
			 const struct vol_convert_params *params);

/**
 * vol_convert_from_luks2() - the reverse: the LUKS2 volume on @path
 * becomes a volcrypt volume (format version 2) with the same volume key,
 * UUID, label, sector size and data offset, and a data area that is the
 * rest of the device.  Refused (-EPROTONOSUPPORT, reason logged, nothing
 * written) unless the LUKS2 layout is volcrypt's: aes-xts-plain64 with a
 * 512-bit key, sector size 512 or 4096, data offset a multiple of 1 MiB
 * and at least 16 MiB, no integrity, no reencryption, no tokens, and the
 * keyslot @pass opens lying below 4 MiB.  LUKS1: -EPROTONOSUPPORT.
 * Other errors as vol_convert_to_luks2(); -EALREADY if it is already a
 * complete volcrypt volume.
 */
int vol_convert_from_luks2(const char *path, const char *pass, size_t pass_len,
			   const struct vol_convert_params *params);

/* ------------------------------------------------------------------ */
/* Header backup                                                       */

/**
 * vol_header_backup() - writes a consistent image of the header area
 * (both metadata copies and all keyslot material, taken from the best
 * copies) to a new file @file (-EEXIST if it exists).
 */
int vol_header_backup(const struct vol_volume *vol, const char *file);

/**
 * vol_header_restore() - replaces the header area of @path with the
 * backup in @file.  -EBADMSG if @file is not a complete volcrypt header
 * backup; -EEXIST if @path holds a volcrypt header with a different UUID
 * and !force; -ENODEV if the target is too small for the backup's data area.
 */
int vol_header_restore(const char *path, const char *file, int force);

/* ------------------------------------------------------------------ */
/* Sector engine                                                       */

/** Opaque AES-256-XTS sector engine. */
struct vol_engine;

/**
 * vol_engine_new() - creates an engine for the data area of a volume.
 * @sector_size: 512 or 4096 (encryption unit).
 * @threads:     worker threads for large runs; 0 = number of online CPUs.
 */
int vol_engine_new(const struct vol_key *key, uint32_t sector_size,
		   unsigned threads, struct vol_engine **out);

/**
 * vol_engine_encrypt() / vol_engine_decrypt() - transform @len bytes in
 * place.  @iv_sector is the index, in 512-byte units from the start of
 * the data area, of the first byte of @buf; it must be a multiple of
 * sector_size/512 and @len a multiple of sector_size.  Each encryption
 * unit uses the plain64 IV of its own 512-byte index, exactly as
 * dm-crypt's aes-xts-plain64 does.  Thread-safe.
 */
int vol_engine_encrypt(struct vol_engine *eng, uint64_t iv_sector,
		       void *buf, size_t len);
int vol_engine_decrypt(struct vol_engine *eng, uint64_t iv_sector,
		       void *buf, size_t len);

/** Wipes the expanded keys and frees the engine (NULL is allowed). */
void vol_engine_free(struct vol_engine *eng);

/* ------------------------------------------------------------------ */
/* Mappings: an unlocked volume as a block device                      */

/** Longest mapping name (no '/', no whitespace or control characters). */
#define VOL_NAME_MAX 63

enum vol_backend {
	VOL_BACKEND_AUTO = 0,     /**< volcrypt target, else dm-crypt, else fuse */
	VOL_BACKEND_VOLCRYPT = 1, /**< our kernel target (dm-volcrypt.ko) */
	VOL_BACKEND_DMCRYPT = 2,  /**< stock dm-crypt through libdevmapper */
	VOL_BACKEND_FUSE = 3,     /**< userspace daemon + loop device */
};

/** "auto", "volcrypt", "dm-crypt" or "fuse"; NULL for an unknown value. */
const char *vol_backend_name(enum vol_backend backend);
/** Inverse of vol_backend_name(); -EINVAL for an unknown name. */
int vol_backend_parse(const char *name, enum vol_backend *backend);

/**
 * struct vol_activate_params - options of vol_activate().
 * @backend:        which backend; AUTO picks the best available one.
 * @read_only:      map read-only.
 * @allow_discards: pass discards down to the target (off by default:
 *                  discards reveal which blocks are unused).
 * @fuse_helper:    path of the volcrypt-fused program (fuse backend);
 *                  NULL = next to the running program, else SBINDIR.
 * @new_key:        during a rekey: the new key (vol_rekey_unlock()); the
 *                  mapping uses it below the boundary and the key given to
 *                  vol_activate() above it.  Recover the volume first
 *                  (vol_rekey_recover()).
 */
struct vol_activate_params {
	enum vol_backend backend;
	int read_only;
	int allow_discards;
	const char *fuse_helper;
	const struct vol_key *new_key;
};

/** struct vol_mapping_info - what vol_mapping_get() reports (no secrets). */
struct vol_mapping_info {
	char name[VOL_NAME_MAX + 1];
	enum vol_backend backend;
	char device[256];        /**< block device to use: /dev/loopN, /dev/mapper/NAME */
	char target[4096];       /**< device or image file holding the volume */
	char uuid[VOL_UUID_STRLEN];
	uint64_t size;           /**< bytes */
	uint32_t sector_size;
	int read_only;
	int pid;                 /**< fuse daemon pid, else 0 */
	int stale;               /**< the backend is gone (daemon died, device vanished) */
};

/** 0 if @name is a valid mapping name, else -EINVAL (reason logged). */
int vol_name_check(const char *name);

/** 1 if @name is a valid mapping name, else 0; nothing logged (parsers say why themselves). */
int vol_name_valid(const char *name);

/** 1 if @text is a UUID (8-4-4-4-12 hexadecimal digits, either case), else 0. */
int vol_uuid_valid(const char *text);

/**
 * vol_find_uuid() - the block device that holds the volume @uuid.
 * @uuid:     textual UUID (8-4-4-4-12 hex digits, either case).
 * @path:     receives "/dev/NAME".
 *
 * libblkid does not know the volcrypt format, so this scans every block
 * device in /sys/class/block (read-only, no lock) for a metadata copy
 * that decodes and names @uuid.  Returns 0, -EINVAL (not a UUID),
 * -ENOENT (no such volume), -ENOTUNIQ (two devices hold it: a copied
 * disk), -ERANGE (@path_len too small) or another -errno; the reason is
 * logged.
 */
int vol_find_uuid(const char *uuid, char *path, size_t path_len);

/**
 * vol_activate() - maps the data area of @vol, unlocked with @key, as a
 * block device called @name.  -EEXIST if @name is in use, -EBUSY if the
 * volume is already mapped, -ENODEV if the requested backend is not
 * available here.  On success *info (if non-NULL) describes the mapping.
 */
int vol_activate(struct vol_volume *vol, const struct vol_key *key, const char *name,
		 const struct vol_activate_params *params, struct vol_mapping_info *info);

/**
 * vol_deactivate() - removes mapping @name.  -ENOENT if there is none,
 * -EBUSY while its block device is in use (mounted, open).  A stale
 * mapping (daemon died) is cleaned up.
 */
int vol_deactivate(const char *name);

/**
 * vol_mapping_find() - 1 and the mapping's name in @name if @what is the
 * name of a mapping or a device/image that a mapping holds, 0 if neither.
 * Logs nothing.
 */
int vol_mapping_find(const char *what, char *name, size_t len);

/** Describes mapping @name; -ENOENT if there is none. */
int vol_mapping_get(const char *name, struct vol_mapping_info *info);

/**
 * vol_mapping_list() - names of all volcrypt mappings, sorted.  *names is
 * an array of *count strings; free it with vol_mapping_list_free().
 */
int vol_mapping_list(char ***names, size_t *count);
void vol_mapping_list_free(char **names, size_t count);

/** Makes a key from raw bytes (copied into secure memory). */
int vol_key_import(const uint8_t *bytes, size_t len, struct vol_key **out);

/** 1 if @key is @vol's volume key (constant-time digest check), 0 if not, or -errno. */
int vol_key_verify(const struct vol_volume *vol, const struct vol_key *key);

/**
 * struct vol_fuse_config - what the fuse daemon serves.
 * @target:      device or image file holding the volume.
 * @mountpoint:  existing empty directory; the volume appears there as the
 *               single file "volume" (data_size bytes).
 * @threads:     sizes the FUSE worker pool (4 workers per thread, 8 to 64;
 *               0 = CPUs); each worker encrypts its own requests.
 */
struct vol_fuse_config {
	const char *target;
	const char *mountpoint;
	uint64_t data_offset;
	uint64_t data_size;
	uint32_t sector_size;
	int read_only;
	unsigned threads;
	/* A rekey in progress: the new key applies below the boundary (bytes). */
	const struct vol_key *new_key;
	uint64_t rekey_boundary;
	/* Unix socket on which `volcrypt rekey` asks for an online rekey; NULL: none. */
	const char *control;
};

/**
 * vol_fuse_serve() - the body of the volcrypt-fused daemon: mounts
 * @cfg->mountpoint, writes one byte to @ready_fd (then closes it) once the
 * file can be used, and serves until unmounted or SIGTERM/SIGINT/SIGHUP.
 * Returns 0 after a clean shutdown, else -errno.
 */
int vol_fuse_serve(const struct vol_fuse_config *cfg, const struct vol_key *key,
		   int ready_fd);

/* ------------------------------------------------------------------ */
/* Benchmarks                                                          */

/**
 * vol_benchmark_cipher() - measures the engine on a random key.
 * Returns MB/s (10^6 bytes per second) for encryption and decryption of
 * @total_bytes in @sector_size units with @threads workers.
 */
int vol_benchmark_cipher(uint32_t sector_size, unsigned threads,
			 size_t total_bytes, double *enc_mbps, double *dec_mbps);

/**
 * vol_benchmark_kdf() - calibrates @req as vol_format() would and reports
 * the parameters chosen and the measured time of one derivation.
 */
int vol_benchmark_kdf(const struct vol_kdf_params *req,
		      struct vol_keyslot_info *chosen, double *ms);

/* ------------------------------------------------------------------ */
/* Layered home directories (docs/layering.md)                         */

/** The per-file layer stacked on the volume's filesystem. */
enum vol_home_layer {
	VOL_HOME_FSCRYPT = 1,   /**< ext4 native encryption, policy v2 */
	VOL_HOME_ECRYPTFS = 2,  /**< an eCryptfs mount over a lower directory */
};

const char *vol_home_layer_name(enum vol_home_layer layer);
/** "fscrypt" or "ecryptfs"; -EINVAL otherwise. */
int vol_home_layer_parse(const char *name, enum vol_home_layer *layer);

/** What a protector file says without a passphrase. */
struct vol_home_protector_info {
	uint32_t version;
	enum vol_home_layer layer;
	uint32_t uid;
	enum vol_kdf_type kdf;
	uint32_t iterations;
	uint32_t memory_kib;
	uint32_t parallel;
	uint64_t created;        /**< seconds since the epoch */
};

/** A user's home directory on a filesystem held by a volcrypt volume. */
struct vol_home {
	const char *fs_root;     /**< mount point of the filesystem holding @dir */
	const char *dir;         /**< the home directory (on that filesystem) */
	uint32_t uid;
	uint32_t gid;
};

struct vol_home_status {
	int set_up;              /**< the user has a protector on this filesystem */
	struct vol_home_protector_info protector;
	int unlocked;            /**< fscrypt key present / eCryptfs mounted */
	int removing;            /**< fscrypt: locked, but files still open use the key */
};

/** Where the protector of @uid lives: FS_ROOT/.volcrypt-home/UID.protector */
int vol_home_protector_path(const char *fs_root, uint32_t uid, char *buf, size_t len);

/**
 * vol_home_fs_check() - can @fs_root carry @layer?  -EMEDIUMTYPE if it
 * is not ext4; fscrypt: -EOPNOTSUPP if the `encrypt` feature is off
 * (`tune2fs -O encrypt DEVICE` turns it on, mounted or not).
 */
int vol_home_fs_check(const char *fs_root, enum vol_home_layer layer);

/**
 * vol_home_setup() - makes @h->dir (absent or an empty directory) the
 * encrypted home of @h->uid with @layer, under a new master key wrapped
 * by @pass in a new protector; leaves it unlocked.  -EEXIST if the user
 * already has a protector here, -ENOTEMPTY if @h->dir holds files
 * (migrate them instead), -EOPNOTSUPP if the filesystem lacks the
 * `encrypt` feature (fscrypt).  On failure nothing is left behind.
 */
int vol_home_setup(const struct vol_home *h, enum vol_home_layer layer,
		   const struct vol_kdf_params *kdf, const char *pass, size_t pass_len);

/** vol_home_unlock() - unwraps the master key (-EPERM: wrong passphrase) and gives it to the layer. */
int vol_home_unlock(const struct vol_home *h, const char *pass, size_t pass_len);

/** vol_home_check_passphrase() - 0 if @pass opens the user's protector, -EPERM if not. */
int vol_home_check_passphrase(const struct vol_home *h, const char *pass, size_t pass_len);

/**
 * vol_home_lock() - takes the key away: fscrypt removes it from the
 * filesystem keyring (-EBUSY if open files still use it; the removal
 * completes when they close), eCryptfs unmounts (-EBUSY while in use).
 */
int vol_home_lock(const struct vol_home *h);

int vol_home_status(const struct vol_home *h, struct vol_home_status *st);

/* ------------------------------------------------------------------ */
/* Home directories: the eCryptfs layer (docs/layering.md)             */

/** Size of a user's home master key (MK_u) in bytes. */
#define VOL_HOME_MK_BYTES 64
/** Length of an eCryptfs key signature: 16 hex digits (plus a NUL). */
#define VOL_ECRYPTFS_SIG_LEN 16

/**
 * vol_ecryptfs_sigs() - the signatures under which the two keys derived
 * from @mk (VOL_HOME_MK_BYTES) are known to eCryptfs: the FEKEK's
 * (ecryptfs_sig) and the FNEK's (ecryptfs_fnek_sig), each written as 16
 * lowercase hex digits and a NUL.  They reveal nothing of @mk.
 */
int vol_ecryptfs_sigs(const uint8_t *mk, size_t mk_len,
		      char fekek_sig[VOL_ECRYPTFS_SIG_LEN + 1],
		      char fnek_sig[VOL_ECRYPTFS_SIG_LEN + 1]);

/**
 * vol_ecryptfs_mount() - mounts @lower_dir on @mount_point as eCryptfs
 * (AES-256 contents, encrypted file names, no plaintext passthrough,
 * nosuid, nodev) with the FEKEK and FNEK derived from @mk.  Needs
 * CAP_SYS_ADMIN and the ecryptfs module.
 *
 * The keys reach the kernel as "user" keys in this thread's keyring for
 * the mount(2) call only; the mount keeps its own references to them and
 * they are unlinked from every keyring before this returns.  So the mount
 * keeps working after the calling process exits, no other process can
 * find the keys, and they die with the mount (vol_ecryptfs_umount()).
 *
 * Returns 0; -EEXIST if an eCryptfs mount is already on @mount_point;
 * -ENOTDIR if a path is not a directory; -EINVAL if @mk_len is not
 * VOL_HOME_MK_BYTES; -ENODEV without eCryptfs in the kernel; else -errno.
 */
int vol_ecryptfs_mount(const uint8_t *mk, size_t mk_len, const char *lower_dir,
		       const char *mount_point);

/**
 * vol_ecryptfs_umount() - unmounts the eCryptfs mount on @mount_point
 * (never lazily) and makes sure its keys are gone: the signatures are
 * read from the mount's options, so no key or passphrase is needed.  Any
 * copy of those keys in the caller's thread, process, session or user
 * keyring (put there by other tools) is invalidated too, unless another
 * eCryptfs mount still uses the signature.
 *
 * Returns 0; -ENOENT if no eCryptfs mount is on @mount_point; -EBUSY if
 * it is in use (open files, working directories): nothing changes then.
 */
int vol_ecryptfs_umount(const char *mount_point);

/**
 * vol_ecryptfs_is_mounted() - 1 if the topmost mount on @mount_point is
 * eCryptfs, 0 if not, -errno (-ENOENT: no such path) on errors.
 */
int vol_ecryptfs_is_mounted(const char *mount_point);

#ifdef __cplusplus
}
#endif
#endif /* LIBVOL_H */
