// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dm-volcrypt online rekey: the volume moves from its current key to a new
 * one chunk by chunk, in the kernel, while it stays in use.
 *
 * State: the new key (keys[cur ^ 1]), the boundary below which it applies,
 * and at most one armed range [arm_start, arm_start + arm_len), which
 * always starts at the boundary.  User space drives it with messages
 * (vc_target_message() parses them and serializes them with msg_lock):
 *
 *   rekey_start <key_ref>    load the new key, boundary 0
 *   rekey_arm <start> <len>  arm the next chunk; writes to it set arm_dirty
 *   rekey_chunk <start> <len> re-encrypt the armed chunk, move the boundary
 *   rekey_finish             the new key becomes the current one
 *
 * Why arm and dirty: user space records the chunk's old ciphertext (its
 * crash journal) between arm and chunk.  A write in between makes that
 * record stale, so the chunk is refused with EAGAIN and armed again.
 *
 * The map side, per data bio (vc_rekey_admit()):
 *
 *  1. Enter the current in-flight epoch (a percpu_ref: no shared cache
 *     line).  The reference is dropped when the bio completes.
 *  2. Read the state through the seqlock, cut the bio at the boundary and
 *     at the armed range's edges (dm_accept_partial_bio; dm core maps the
 *     rest as a new bio), so that one key applies to all of it and it
 *     lies wholly inside or outside the armed range.
 *  3. Inside the armed range: a write or discard sets arm_dirty; while
 *     the chunk is being re-encrypted the bio is parked (and leaves its
 *     epoch, so that nothing waits for it); after a failed re-encryption
 *     it fails with EIO.
 *  4. The key: the new one below the boundary, the current one above.
 *
 * A message that needs every bio mapped before it to be finished (arm:
 * so that no unnoticed write is still on its way; chunk: so that nothing
 * touches the range while it is rewritten; finish: before the old key is
 * freed) publishes its state change, flips the epoch and waits for the
 * old epoch to drain (vc_rekey_drain()).  Bios entering the new epoch see
 * the change; bios of the old one are finished when the wait ends.  This
 * is why a bio cannot pick a key and see the boundary move under it: the
 * boundary only moves over a locked range, after the drain, and every bio
 * in that range is then either finished or parked.  (6.1 has no
 * srcu_down_read(), whose read side may end in another context.)
 *
 * Parked bios are admitted again by the chunk message itself, in process
 * context, before it returns and before msg_lock lets another message
 * re-arm a range with other edges: a parked bio was cut to the locked
 * range's edges and must be admitted before those edges mean anything
 * else.  A suspend while a chunk is locked simply waits: parked bios are
 * in flight for dm, and the message that releases them runs to its end
 * without needing the device (its I/O goes to the device below).  So a
 * target is never destroyed with bios parked.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <crypto/skcipher.h>

#include "volcrypt.h"

#define VC_REKEY_PIECE_SECTORS	((VC_REKEY_PIECE_PAGES << PAGE_SHIFT) >> SECTOR_SHIFT)

/* The state as one bio sees it, read in one go. */
struct vc_rekey_view {
	sector_t boundary;
	sector_t arm_start;
	sector_t arm_end;
	unsigned int cur;
	bool armed;
	bool locked;
	bool failed;
};

/* ------------------------------------------------------------ epochs */

static void vc_rekey_drained(struct percpu_ref *ref)
{
	complete(&container_of(ref, struct vc_epoch, ref)->drained);
}

int vc_rekey_init(struct vc_target *vc)
{
	int i, r;

	for (i = 0; i < ARRAY_SIZE(vc->epochs); i++) {
		init_completion(&vc->epochs[i].drained);
		r = percpu_ref_init(&vc->epochs[i].ref, vc_rekey_drained,
				    PERCPU_REF_ALLOW_REINIT, GFP_KERNEL);
		if (r)
			return r;
	}
	return 0;
}

static void vc_rekey_free_pages(struct vc_target *vc)
{
	int i;

	for (i = 0; i < VC_REKEY_PIECE_PAGES; i++) {
		if (vc->rekey_pages[i])
			__free_page(vc->rekey_pages[i]);
		vc->rekey_pages[i] = NULL;
	}
}

/* Also for a half-built target: percpu_ref_exit() copes with a zeroed ref. */
void vc_rekey_exit(struct vc_target *vc)
{
	int i;

	WARN_ON(!bio_list_empty(&vc->parked));
	vc_rekey_free_pages(vc);
	for (i = 0; i < ARRAY_SIZE(vc->epochs); i++)
		percpu_ref_exit(&vc->epochs[i].ref);
}

/* Enters the current epoch; returns its index. */
static unsigned int vc_rekey_enter(struct vc_target *vc)
{
	unsigned int e;

	for (;;) {
		e = smp_load_acquire(&vc->epoch);
		if (likely(percpu_ref_tryget_live(&vc->epochs[e].ref))) {
			/*
			 * A stale index may name an epoch that was drained and
			 * brought back to life since: only the current one is
			 * waited for, so check that it still is.
			 */
			smp_rmb();
			if (likely(smp_load_acquire(&vc->epoch) == e))
				return e;
			percpu_ref_put(&vc->epochs[e].ref);
		}
		/* Between the flip and the kill: the next read sees the new epoch. */
		cpu_relax();
	}
}

void vc_rekey_leave(struct vc_io *io)
{
	if (io->in_epoch) {
		io->in_epoch = false;
		percpu_ref_put(&io->vc->epochs[io->epoch].ref);
	}
}

/*
 * Waits until every bio that entered before the call has completed.  New
 * bios are not held up: they enter the other epoch.  Under msg_lock.
 */
static void vc_rekey_drain(struct vc_target *vc)
{
	unsigned int old = vc->epoch;
	struct vc_epoch *ep = &vc->epochs[old];

	reinit_completion(&ep->drained);
	/* Release: a bio that enters the new epoch sees the state set before. */
	smp_store_release(&vc->epoch, old ^ 1);
	percpu_ref_kill(&ep->ref);
	wait_for_completion(&ep->drained);
	percpu_ref_reinit(&ep->ref);
}

/* ------------------------------------------------------------ map side */

static void vc_rekey_view(struct vc_target *vc, struct vc_rekey_view *v)
{
	unsigned int seq;

	do {
		seq = read_seqbegin(&vc->rekey_lock);
		v->boundary = vc->rekey_boundary;
		v->arm_start = vc->arm_start;
		v->arm_end = vc->arm_start + vc->arm_len;
		v->armed = vc->arm_len != 0;
		v->cur = vc->cur;
		v->locked = vc->arm_locked;
		v->failed = vc->arm_failed;
	} while (read_seqretry(&vc->rekey_lock, seq));
}

static sector_t vc_rekey_cut(sector_t cut, sector_t start, sector_t edge)
{
	return edge > start && edge < cut ? edge : cut;
}

/*
 * Cuts a read or write at the first rekey edge inside it.  Discards are
 * never cut (dm core does not support it for them, and they use no key):
 * one that overlaps the armed range is handled whole.
 */
static void vc_rekey_split(struct bio *bio, sector_t start, const struct vc_rekey_view *v)
{
	sector_t end = start + bio_sectors(bio), cut = end;

	if (bio_op(bio) == REQ_OP_DISCARD)
		return;
	cut = vc_rekey_cut(cut, start, v->boundary);
	if (v->armed) {
		cut = vc_rekey_cut(cut, start, v->arm_start);
		cut = vc_rekey_cut(cut, start, v->arm_end);
	}
	if (cut < end)
		dm_accept_partial_bio(bio, cut - start);
}

/*
 * Parks @io if its range is still locked (the view may be stale); it then
 * leaves its epoch, so that the chunk's drain does not wait for it.
 */
static bool vc_rekey_park(struct vc_target *vc, struct vc_io *io)
{
	unsigned long flags;
	bool parked;

	read_seqlock_excl_irqsave(&vc->rekey_lock, flags);
	parked = vc->arm_locked && !vc->arm_failed;
	if (parked)
		bio_list_add(&vc->parked, io->bio);
	read_sequnlock_excl_irqrestore(&vc->rekey_lock, flags);
	if (parked)
		vc_rekey_leave(io);
	return parked;
}

/*
 * Picks the key of a data bio (io->bio, io->sector set), entering the
 * current epoch.  @may_split: called from map, which may cut the bio.
 */
enum vc_admit vc_rekey_admit(struct vc_io *io, bool may_split)
{
	struct vc_target *vc = io->vc;
	struct bio *bio = io->bio;
	sector_t start = io->sector, end;
	struct vc_rekey_view v;

	io->epoch = vc_rekey_enter(vc);
	io->in_epoch = true;
	for (;;) {
		vc_rekey_view(vc, &v);
		if (may_split)
			vc_rekey_split(bio, start, &v);
		end = start + bio_sectors(bio);
		if (likely(!v.armed || end <= v.arm_start || start >= v.arm_end))
			break;
		if (v.failed) {
			vc_rekey_leave(io);
			return VC_ADMIT_FAILED;
		}
		if (!v.locked) {
			if (op_is_write(bio_op(bio)))
				WRITE_ONCE(vc->arm_dirty, true);
			break;
		}
		if (vc_rekey_park(vc, io))
			return VC_ADMIT_PARKED;
		/*
		 * Unlocked meanwhile.  Holding our epoch, no new range can be
		 * armed: the fresh view has the same edges or none.
		 */
	}
	io->key = &vc->keys[start < v.boundary ? v.cur ^ 1 : v.cur];
	return VC_ADMIT_GO;
}

/* Ends the lock of the armed range and admits the bios parked on it. */
static void vc_rekey_unlock(struct vc_target *vc, bool failed, sector_t boundary)
{
	struct bio_list parked;
	unsigned long flags;
	struct bio *bio;

	write_seqlock_irqsave(&vc->rekey_lock, flags);
	if (failed) {
		/* Locked for good: map fails what overlaps the range. */
		vc->arm_failed = true;
	} else {
		vc->rekey_boundary = boundary;
		vc->arm_len = 0;
		vc->arm_locked = false;
	}
	parked = vc->parked;
	bio_list_init(&vc->parked);
	write_sequnlock_irqrestore(&vc->rekey_lock, flags);

	while ((bio = bio_list_pop(&parked)))
		vc_io_dispatch(dm_per_bio_data(bio, vc->per_bio_size), false);
}

/* ------------------------------------------------------------ re-encryption */

/* One unit through one transform, in place, waiting for an asynchronous one. */
static int vc_rekey_crypt_unit(struct vc_target *vc, struct vc_req *vreq,
			       struct crypto_skcipher *tfm, bool encrypt,
			       struct page *page, unsigned int offset, sector_t iv_sector)
{
	DECLARE_CRYPTO_WAIT(wait);
	struct skcipher_request *req = &vreq->req;

	sg_init_table(vreq->src, 1);
	sg_set_page(vreq->src, page, vc->sector_size, offset);
	vc_iv_plain64(vreq->iv, iv_sector);
	skcipher_request_set_tfm(req, tfm);
	skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG | CRYPTO_TFM_REQ_MAY_SLEEP,
				      crypto_req_done, &wait);
	skcipher_request_set_crypt(req, vreq->src, vreq->src, vc->sector_size, (u8 *)vreq->iv);
	return crypto_wait_req(encrypt ? crypto_skcipher_encrypt(req) :
					 crypto_skcipher_decrypt(req), &wait);
}

/* The piece's units: decrypted with the current key, encrypted with the new one. */
static int vc_rekey_crypt_piece(struct vc_target *vc, struct vc_req *vreq,
				sector_t pos, unsigned int bytes)
{
	struct crypto_skcipher *old = vc->keys[vc->cur].tfm;
	struct crypto_skcipher *new = vc->keys[vc->cur ^ 1].tfm;
	unsigned int off;
	struct page *page;
	sector_t iv;
	int r;

	for (off = 0; off < bytes; off += vc->sector_size) {
		page = vc->rekey_pages[off >> PAGE_SHIFT];
		iv = pos + (off >> SECTOR_SHIFT);
		r = vc_rekey_crypt_unit(vc, vreq, old, false, page, offset_in_page(off), iv);
		if (!r)
			r = vc_rekey_crypt_unit(vc, vreq, new, true, page, offset_in_page(off), iv);
		if (r)
			return r;
		cond_resched();
	}
	return 0;
}

/* Reads or writes the piece at target sector @pos through the buffer pages. */
static int vc_rekey_piece_io(struct vc_target *vc, sector_t pos, unsigned int bytes,
			     blk_opf_t opf)
{
	unsigned int nr = DIV_ROUND_UP(bytes, PAGE_SIZE), i, len;
	struct bio *bio;
	int r;

	bio = bio_alloc(vc->dev->bdev, nr, opf | REQ_SYNC, GFP_NOIO);
	bio->bi_iter.bi_sector = vc->data_offset + pos;
	for (i = 0; i < nr; i++) {
		len = min_t(unsigned int, bytes - (i << PAGE_SHIFT), PAGE_SIZE);
		__bio_add_page(bio, vc->rekey_pages[i], len, 0);
	}
	r = submit_bio_wait(bio);
	bio_put(bio);
	return r;
}

/*
 * Re-encrypts [start, start + len) on the device below, piece by piece,
 * and flushes it.  Nothing else touches the range meanwhile (locked and
 * drained).  The crypto request comes from the data path's pool: it fits
 * both transforms (checked when the new key was loaded).
 */
static int vc_rekey_reencrypt(struct vc_target *vc, sector_t start, sector_t len)
{
	struct vc_req *vreq = mempool_alloc(&vc->req_pool, GFP_NOIO);
	sector_t pos, end = start + len;
	unsigned int bytes;
	int r = 0;

	for (pos = start; pos < end && !r; pos += bytes >> SECTOR_SHIFT) {
		bytes = min_t(sector_t, end - pos, VC_REKEY_PIECE_SECTORS) << SECTOR_SHIFT;
		r = vc_rekey_piece_io(vc, pos, bytes, REQ_OP_READ);
		if (!r)
			r = vc_rekey_crypt_piece(vc, vreq, pos, bytes);
		if (!r)
			r = vc_rekey_piece_io(vc, pos, bytes, REQ_OP_WRITE);
	}
	/* Durable before the boundary moves: user space records it next. */
	if (!r)
		r = blkdev_issue_flush(vc->dev->bdev);
	mempool_free(vreq, &vc->req_pool);
	return r;
}

/* ------------------------------------------------------------ messages */

static bool vc_rekey_active(struct vc_target *vc)
{
	return vc->nr_keys == VC_NR_KEYS;
}

/*
 * Loads the new key and sets the boundary: from a rekey table (@boundary
 * from it) or rekey_start (0).  On failure *error says why and nothing
 * changed.
 */
int vc_rekey_begin(struct vc_target *vc, const char *ref, sector_t boundary, char **error)
{
	struct vc_key *key = &vc->keys[vc->cur ^ 1];
	unsigned long flags;
	int i, r;

	r = vc_key_load(key, ref, error);
	if (r)
		goto bad;
	/* The data path's requests were sized when the table was loaded. */
	if (vc->req_size && vc_io_req_size(key->tfm) > vc->req_size) {
		*error = "The new key's transform needs larger requests than the table's";
		r = -EINVAL;
		goto bad;
	}
	for (i = 0; i < VC_REKEY_PIECE_PAGES; i++) {
		vc->rekey_pages[i] = alloc_page(GFP_KERNEL);
		if (!vc->rekey_pages[i]) {
			*error = "Cannot allocate the rekey buffer";
			r = -ENOMEM;
			goto bad;
		}
	}

	write_seqlock_irqsave(&vc->rekey_lock, flags);
	vc->nr_keys = VC_NR_KEYS;
	vc->rekey_boundary = boundary;
	vc->arm_len = 0;
	write_sequnlock_irqrestore(&vc->rekey_lock, flags);
	return 0;

bad:
	vc_rekey_free_pages(vc);
	vc_key_free(key);
	return r;
}

int vc_rekey_start(struct vc_target *vc, const char *ref)
{
	char *error = NULL;
	int r;

	if (vc_rekey_active(vc)) {
		DMWARN("rekey_start: a rekey is already in progress");
		return -EBUSY;
	}
	r = vc_rekey_begin(vc, ref, 0, &error);
	if (r)
		DMWARN("rekey_start: %s", error);
	return r;
}

/* The checks rekey_arm and rekey_chunk share: a rekey that can go on. */
static int vc_rekey_check_active(struct vc_target *vc, const char *verb)
{
	if (!vc_rekey_active(vc)) {
		DMWARN("%s: no rekey in progress", verb);
		return -EINVAL;
	}
	if (vc->arm_failed) {
		DMWARN("%s: the last chunk failed; reload the table", verb);
		return -EIO;
	}
	return 0;
}

int vc_rekey_arm(struct dm_target *ti, sector_t start, sector_t len)
{
	struct vc_target *vc = ti->private;
	sector_t unit_mask = (1U << vc->sector_shift) - 1;
	unsigned long flags;
	int r;

	r = vc_rekey_check_active(vc, "rekey_arm");
	if (r)
		return r;
	if (start != vc->rekey_boundary || !len || (len & unit_mask) ||
	    len > VC_REKEY_MAX_CHUNK || start + len > ti->len) {
		DMWARN("rekey_arm: want <boundary %llu> <len>: len a multiple of %u, at most %u, within %llu sectors",
		       (unsigned long long)vc->rekey_boundary, vc->sector_size >> SECTOR_SHIFT,
		       VC_REKEY_MAX_CHUNK, (unsigned long long)ti->len);
		return -EINVAL;
	}

	write_seqlock_irqsave(&vc->rekey_lock, flags);
	vc->arm_start = start;
	vc->arm_len = len;
	WRITE_ONCE(vc->arm_dirty, false);
	write_sequnlock_irqrestore(&vc->rekey_lock, flags);
	/* A write mapped before the arm did not set dirty: let it land first. */
	vc_rekey_drain(vc);
	return 0;
}

int vc_rekey_chunk(struct dm_target *ti, sector_t start, sector_t len)
{
	struct vc_target *vc = ti->private;
	unsigned long flags;
	int r;

	r = vc_rekey_check_active(vc, "rekey_chunk");
	if (r)
		return r;
	if (!vc->arm_len || start != vc->arm_start || len != vc->arm_len) {
		DMWARN("rekey_chunk: the range must be the armed one");
		return -EINVAL;
	}
	if (!(dm_table_get_mode(ti->table) & FMODE_WRITE)) {
		DMWARN("rekey_chunk: read-only table");
		return -EROFS;
	}

	write_seqlock_irqsave(&vc->rekey_lock, flags);
	vc->arm_locked = true;
	write_sequnlock_irqrestore(&vc->rekey_lock, flags);
	/* Every bio that could touch the range without seeing the lock is done. */
	vc_rekey_drain(vc);

	if (READ_ONCE(vc->arm_dirty)) {
		/* User space's record of the old ciphertext is stale: re-arm. */
		vc_rekey_unlock(vc, false, vc->rekey_boundary);
		return -EAGAIN;
	}
	r = vc_rekey_reencrypt(vc, start, len);
	if (r)
		DMERR("rekey_chunk %llu+%llu failed (%d): I/O to it fails until the table is reloaded",
		      (unsigned long long)start, (unsigned long long)len, r);
	vc_rekey_unlock(vc, r, start + len);
	return r ? -EIO : 0;
}

int vc_rekey_finish(struct dm_target *ti)
{
	struct vc_target *vc = ti->private;
	unsigned long flags;
	unsigned int old;
	int r;

	r = vc_rekey_check_active(vc, "rekey_finish");
	if (r)
		return r;
	if (vc->rekey_boundary != ti->len) {
		DMWARN("rekey_finish: the boundary (%llu) has not reached the end (%llu)",
		       (unsigned long long)vc->rekey_boundary, (unsigned long long)ti->len);
		return -EINVAL;
	}

	/*
	 * Every sector is below the boundary, so every bio already takes
	 * keys[cur ^ 1]; flipping cur with the boundary at 0 keeps that.
	 */
	old = vc->cur;
	write_seqlock_irqsave(&vc->rekey_lock, flags);
	vc->cur = old ^ 1;
	vc->nr_keys = 1;
	vc->rekey_boundary = 0;
	write_sequnlock_irqrestore(&vc->rekey_lock, flags);
	/* Nothing can hold the old key now; make sure before it goes. */
	vc_rekey_drain(vc);
	vc_key_free(&vc->keys[old]);
	vc_rekey_free_pages(vc);
	return 0;
}
