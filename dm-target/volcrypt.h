/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dm-volcrypt: the volcrypt device-mapper target.
 *
 * Shared between the three parts of the module, one prefix each:
 *
 *   vc_target.c  vc_target_*  table parsing, constructor/destructor, status,
 *                             queue limits, module init
 *   vc_key.c     vc_key_*     keyring references, AES-256-XTS transforms
 *   vc_io.c      vc_io_*      the data path: map, decrypt-in-place reads,
 *                             bounce-page writes, crypto requests
 *   vc_rekey.c   vc_rekey_*   the online rekey: key choice and parking in
 *                             map, the in-flight epochs, the messages'
 *                             state changes, re-encryption of a chunk
 *
 * The data layout is docs/FORMAT.md section 7: AES-256-XTS with a 64-byte
 * key in units of sector_size bytes; the IV of a unit is plain64 of the
 * index of its first byte in 512-byte sectors counted from the start of
 * the target (no iv_large_sectors), i.e. dm-crypt aes-xts-plain64 with
 * iv_offset 0.
 */
#ifndef DM_VOLCRYPT_H
#define DM_VOLCRYPT_H

#include <linux/bio.h>
#include <linux/blk_types.h>
#include <linux/completion.h>
#include <linux/device-mapper.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/percpu_counter.h>
#include <linux/percpu-refcount.h>
#include <linux/seqlock.h>
#include <linux/scatterlist.h>
#include <linux/types.h>
#include <linux/version.h>
#include <linux/workqueue.h>
#include <crypto/skcipher.h>

#define DM_MSG_PREFIX "volcrypt"

#define VC_KEY_BYTES	64	/* AES-256-XTS: two 256-bit keys */
#define VC_IV_BYTES	16
#define VC_CIPHER	"xts(aes)"

/*
 * Scatterlist entries for one sector.  The queue's dma_alignment is
 * sector_size - 1, so a sector never straddles a page in practice; a few
 * more entries keep odd bvec layouts from in-kernel submitters working.
 */
#define VC_MAX_SG	4

/* Crypto requests kept in reserve for drivers that complete asynchronously. */
#define VC_MIN_REQS	64
/* Bios kept in reserve for the bounce (ciphertext) clones of writes. */
#define VC_MIN_BIOS	64
/* A write bio is at most this many bounce pages (1 MiB with 4 KiB pages). */
#define VC_MAX_WRITE_PAGES	BIO_MAX_VECS

/* Key slots: the current key, and the new one during an online rekey. */
#define VC_NR_KEYS	2

/* The largest chunk one rekey_arm / rekey_chunk covers (64 MiB). */
#define VC_REKEY_MAX_CHUNK	131072
/* A chunk is re-encrypted through a buffer of this many pages (256 KiB). */
#define VC_REKEY_PIECE_PAGES	64

/*
 * One key, known by its keyring reference.  The key bytes live only
 * inside the transform (whose memory the crypto API frees with
 * kfree_sensitive); the reference is what the table shows.
 */
struct vc_key {
	struct crypto_skcipher *tfm;
	char *ref;		/* ":64:logon:<description>", for the table */
};

/*
 * One of the two in-flight epochs of the online rekey (vc_rekey.c): every
 * data bio holds a reference on the epoch current when it was mapped,
 * until it completes.  A message that must wait for the bios mapped
 * before it flips the epoch and kills the old one's reference.
 */
struct vc_epoch {
	struct percpu_ref ref;
	struct completion drained;	/* the last reference went */
};

/* Counters for status, per CPU: the hot path touches no shared line. */
struct vc_stats {
	u64 sectors_read;
	u64 sectors_written;
	u64 io_errors;		/* failures reported by the device below */
	u64 crypt_errors;	/* failures of the crypto transform */
	u64 rejected;		/* misaligned or unsupported bios refused */
};

struct vc_target {
	struct dm_dev *dev;
	sector_t data_offset;		/* on dev, 512-byte sectors */
	unsigned int sector_size;	/* 512 or 4096 */
	unsigned int sector_shift;	/* log2(sector_size / 512) */
	bool allow_discards;

	struct vc_key keys[VC_NR_KEYS];
	/*
	 * keys[cur] is the current key; during a rekey keys[cur ^ 1] is the
	 * new one.  rekey_finish flips cur instead of moving the key, so a
	 * bio mapped just before it keeps a valid key pointer.
	 */
	unsigned int cur;
	unsigned int nr_keys;
	/*
	 * Rekey boundary (512-byte sectors from the target start): sectors
	 * below it use the new key, the rest the current one.  Without a
	 * rekey it is 0 and only the current key is loaded.
	 */
	sector_t rekey_boundary;

	/*
	 * Online rekey state (docs/dm-target.md, "Online rekey").  The
	 * seqlock covers cur, nr_keys, the boundary and the armed range:
	 * map reads them locklessly; messages change them under its lock,
	 * which also guards the list of parked bios.
	 */
	seqlock_t rekey_lock;
	sector_t arm_start;		/* the armed range; arm_len 0: none */
	sector_t arm_len;
	bool arm_locked;		/* re-encryption running: park its bios */
	bool arm_failed;		/* re-encryption failed: fail its bios */
	bool arm_dirty;			/* written since armed; set without the lock */
	struct bio_list parked;
	struct mutex msg_lock;		/* one message at a time: dm does not serialize them */
	struct vc_epoch epochs[2];
	unsigned int epoch;		/* the one new bios enter */
	struct page *rekey_pages[VC_REKEY_PIECE_PAGES];

	/* Crypto on every CPU: an unbound, CPU-intensive, reclaim-safe queue. */
	struct workqueue_struct *crypt_wq;
	/*
	 * Submission of writes whose encryption finished asynchronously.  Not
	 * crypt_wq: its workers may all be waiting for bounce pages that only
	 * these writes, once submitted and completed, give back.
	 */
	struct workqueue_struct *io_wq;

	/*
	 * Size of one crypto request: struct vc_req (the driver's context
	 * at its tail) for the larger of the transforms in use.
	 */
	unsigned int req_size;
	unsigned int per_bio_size;
	mempool_t req_pool;

	/* Bounce pages for writes; the allocator is capped per target. */
	mempool_t page_pool;
	struct percpu_counter nr_pages;
	struct mutex page_alloc_lock;
	struct bio_set bs;

	struct vc_stats __percpu *stats;

	/* What ctr managed to set up, for the destructor of a half-built one. */
	bool nr_pages_ready:1;
	bool counted:1;
};

/*
 * One crypto request: where the data is, the IV, the bio it belongs to
 * and the driver's request (with its variable-size context) last.
 */
struct vc_req {
	struct vc_io *io;
	struct scatterlist src[VC_MAX_SG];
	struct scatterlist dst[VC_MAX_SG];
	__le64 iv[VC_IV_BYTES / sizeof(__le64)];
	struct skcipher_request req CRYPTO_MINALIGN_ATTR;
	/* crypto_skcipher_reqsize() bytes of driver context follow */
};

/*
 * Per-bio state, in the front pad dm core allocates with its clone of
 * every bio (ti->per_io_data_size): no allocation on the read path, and
 * the first crypto request of every bio is embedded here.
 */
struct vc_io {
	struct vc_target *vc;
	struct bio *bio;		/* dm's clone of the caller's bio */
	struct vc_key *key;
	sector_t sector;		/* target-relative: the IV of the first unit */
	struct bvec_iter iter;		/* the data, saved before submission */
	struct bio *bounce;		/* writes: the ciphertext clone */

	bio_end_io_t *orig_end_io;	/* reads: dm's completion, restored */
	void *orig_private;

	u8 epoch;			/* vc->epochs[] index, if in_epoch */
	bool in_epoch;			/* holds an epoch reference */

	struct work_struct work;
	struct completion restart;	/* a backlogged request was accepted */
	atomic_t pending;		/* crypto requests in flight + 1 */
	blk_status_t status;
	/* the embedded struct vc_req follows, aligned for the crypto API */
};

/* vc_key.c */
int vc_key_parse_ref(const char *ref, char **error);
int vc_key_load(struct vc_key *key, const char *ref, char **error);
void vc_key_free(struct vc_key *key);
const char *vc_key_driver(const struct vc_key *key);

/* The IV of the unit starting at 512-byte sector @sector: plain64. */
static inline void vc_iv_plain64(__le64 *iv, sector_t sector)
{
	iv[0] = cpu_to_le64(sector);
	iv[1] = 0;
}

/* vc_io.c */
int vc_io_map(struct dm_target *ti, struct bio *bio);
int vc_io_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error);
void vc_io_dispatch(struct vc_io *io, bool in_map);
size_t vc_io_per_bio_size(unsigned int req_size);
unsigned int vc_io_req_size(struct crypto_skcipher *tfm);
int vc_io_page_pool_init(struct vc_target *vc);
void vc_io_page_pool_exit(struct vc_target *vc);
void vc_io_clients_changed(int delta);

/* vc_rekey.c */
enum vc_admit {
	VC_ADMIT_GO,		/* io->key is set: start the bio */
	VC_ADMIT_PARKED,	/* held until the chunk under re-encryption is done */
	VC_ADMIT_FAILED,	/* in a chunk whose re-encryption failed: EIO */
};

int vc_rekey_init(struct vc_target *vc);
void vc_rekey_exit(struct vc_target *vc);
int vc_rekey_begin(struct vc_target *vc, const char *ref, sector_t boundary, char **error);
enum vc_admit vc_rekey_admit(struct vc_io *io, bool may_split);
void vc_rekey_leave(struct vc_io *io);
int vc_rekey_start(struct vc_target *vc, const char *ref);
int vc_rekey_arm(struct dm_target *ti, sector_t start, sector_t len);
int vc_rekey_chunk(struct dm_target *ti, sector_t start, sector_t len);
int vc_rekey_finish(struct dm_target *ti);

/* Adds to a status counter of this CPU; safe in any context. */
#define vc_count(vc, field, n) this_cpu_add((vc)->stats->field, (n))

#endif /* DM_VOLCRYPT_H */
