// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dm-volcrypt data path.
 *
 * Reads:  map remaps dm's clone of the bio to the device below and hooks
 *         its completion; when the ciphertext has arrived, a crypto worker
 *         decrypts it in place (the pages are the caller's) and completes
 *         the bio.  Nothing is allocated on this path.
 *
 * Writes: map hands the bio to a crypto worker, which takes bounce pages
 *         from the target's mempool, encrypts into them and submits the
 *         bounce bio itself (no hop through a submission thread).  Its
 *         completion returns the pages and completes the caller's bio.
 *
 * Flushes and (with allow_discards) discards are remapped as they are.
 *
 * Every data bio first goes through vc_rekey_admit(), which picks its key
 * (two during an online rekey), may cut it at a rekey edge, and may park
 * it while its chunk is re-encrypted; see vc_rekey.c.
 *
 * Crypto runs on an unbound, CPU-intensive workqueue, so bios spread over
 * every CPU; nothing on the path takes a lock shared by all I/O.  One
 * bio's units are processed in order with one crypto request, embedded in
 * the per-bio data and reused while the transform completes synchronously
 * (AES-NI in a worker does).  A transform that goes asynchronous keeps the
 * request and the next unit gets a fresh one from a mempool, so a hardware
 * engine has many units in flight; the last completion finishes the bio.
 *
 * Memory is bounded: per-bio state is dm's front pad, crypto requests and
 * bounce pages come from mempools (pages also capped per target), and a
 * write takes at most VC_MAX_WRITE_PAGES pages (larger bios are split by
 * dm core through dm_accept_partial_bio).  Allocations use GFP_NOIO from
 * mempools and wait rather than fail: no write is lost to memory pressure.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "volcrypt.h"

/* The bounce-page budget: 2% of low memory shared by all targets. */
#define VC_MEMORY_PERCENT	2
#define VC_MIN_PAGES_PER_CLIENT	(BIO_MAX_VECS * 16)

static DEFINE_SPINLOCK(vc_clients_lock);
static unsigned int vc_clients;
static unsigned long vc_pages_per_client = VC_MIN_PAGES_PER_CLIENT;

/*
 * An explicit budget, in pages per target, replacing the automatic one.
 * Below the mempool reserve (VC_MAX_WRITE_PAGES) every write draws on the
 * reserve alone: the slowest path, which must still never fail or hang.
 */
static unsigned int vc_bounce_page_limit;
module_param_named(bounce_page_limit, vc_bounce_page_limit, uint, 0644);
MODULE_PARM_DESC(bounce_page_limit,
		 "bounce pages per target beyond which writes wait (0: 2% of RAM shared by all targets)");

/*
 * The crypto completion callback takes the request's data pointer since
 * 6.3; 6.1 passes the crypto_async_request whose ->data it is.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define VC_CRYPTO_CALLBACK(name)	void name(void *data, int err)
#define VC_CRYPTO_DATA()		(data)
#else
#define VC_CRYPTO_CALLBACK(name)	void name(struct crypto_async_request *areq, int err)
#define VC_CRYPTO_DATA()		(areq->data)
#endif

static void vc_io_crypt_finish(struct vc_io *io, bool in_worker);

/* ------------------------------------------------------------ sizes */

static size_t vc_io_req_offset(void)
{
	return ALIGN(sizeof(struct vc_io), __alignof__(struct vc_req));
}

unsigned int vc_io_req_size(struct crypto_skcipher *tfm)
{
	return ALIGN(sizeof(struct vc_req) + crypto_skcipher_reqsize(tfm),
		     __alignof__(struct vc_req));
}

size_t vc_io_per_bio_size(unsigned int req_size)
{
	return ALIGN(vc_io_req_offset() + req_size, ARCH_KMALLOC_MINALIGN);
}

static struct vc_req *vc_io_embedded_req(struct vc_io *io)
{
	return (struct vc_req *)((u8 *)io + vc_io_req_offset());
}

/* ------------------------------------------------------------ bounce pages */

/* Recomputes every target's page budget when one comes or goes. */
void vc_io_clients_changed(int delta)
{
	unsigned long pages;

	spin_lock(&vc_clients_lock);
	vc_clients += delta;
	if (vc_clients) {
		pages = (totalram_pages() - totalhigh_pages()) * VC_MEMORY_PERCENT / 100;
		pages /= vc_clients;
		WRITE_ONCE(vc_pages_per_client, max_t(unsigned long, pages, VC_MIN_PAGES_PER_CLIENT));
	}
	spin_unlock(&vc_clients_lock);
}

/*
 * The pool's allocator.  mempool_alloc() always calls it with
 * __GFP_NORETRY: over budget it fails, and the caller waits for a page
 * of the reserve to come back from a completed write.
 */
static void *vc_io_page_alloc(gfp_t gfp, void *data)
{
	struct vc_target *vc = data;
	unsigned long limit = READ_ONCE(vc_bounce_page_limit) ?: READ_ONCE(vc_pages_per_client);
	struct page *page;

	if (unlikely(percpu_counter_compare(&vc->nr_pages, limit) >= 0) &&
	    likely(gfp & __GFP_NORETRY))
		return NULL;
	page = alloc_page(gfp);
	if (likely(page))
		percpu_counter_add(&vc->nr_pages, 1);
	return page;
}

static void vc_io_page_free(void *page, void *data)
{
	struct vc_target *vc = data;

	__free_page(page);
	percpu_counter_sub(&vc->nr_pages, 1);
}

int vc_io_page_pool_init(struct vc_target *vc)
{
	int r;

	r = percpu_counter_init(&vc->nr_pages, 0, GFP_KERNEL);
	if (r)
		return r;
	vc->nr_pages_ready = true;
	/* The reserve holds the largest write: one bio can always proceed. */
	return mempool_init(&vc->page_pool, VC_MAX_WRITE_PAGES, vc_io_page_alloc,
			    vc_io_page_free, vc);
}

void vc_io_page_pool_exit(struct vc_target *vc)
{
	mempool_exit(&vc->page_pool);
	if (vc->nr_pages_ready) {
		WARN_ON(percpu_counter_sum(&vc->nr_pages) != 0);
		percpu_counter_destroy(&vc->nr_pages);
		vc->nr_pages_ready = false;
	}
}

static void vc_io_free_bounce(struct vc_target *vc, struct bio *bounce)
{
	struct bvec_iter_all iter_all;
	struct bio_vec *bv;

	bio_for_each_segment_all(bv, bounce, iter_all)
		mempool_free(bv->bv_page, &vc->page_pool);
	bio_put(bounce);
}

/* Adds @size bytes of pool pages to @bounce; on failure gives them back. */
static bool vc_io_fill_bounce(struct vc_target *vc, struct bio *bounce,
			      unsigned int size, gfp_t gfp)
{
	struct bvec_iter_all iter_all;
	struct bio_vec *bv;
	struct page *page;
	unsigned int len;

	while (size) {
		page = mempool_alloc(&vc->page_pool, gfp);
		if (!page) {
			bio_for_each_segment_all(bv, bounce, iter_all)
				mempool_free(bv->bv_page, &vc->page_pool);
			return false;
		}
		len = min_t(unsigned int, size, PAGE_SIZE);
		__bio_add_page(bounce, page, len, 0);
		size -= len;
	}
	return true;
}

/*
 * The ciphertext bio of a write, with its pages.  The pages are first
 * taken without waiting; if the pool runs dry the attempt is undone and
 * repeated with GFP_NOIO under a mutex, so that two writers each holding
 * half of the reserve cannot wait for each other forever.  The reserve
 * holds a whole bio, so the waiting writer always finishes.
 */
static struct bio *vc_io_alloc_bounce(struct vc_io *io)
{
	struct vc_target *vc = io->vc;
	unsigned int size = io->iter.bi_size;
	unsigned short nr_pages = DIV_ROUND_UP(size, PAGE_SIZE);
	gfp_t gfp = GFP_NOWAIT | __GFP_HIGHMEM;
	struct bio *bounce;
	bool ok;

	for (;;) {
		bool locked = gfp & __GFP_DIRECT_RECLAIM;

		if (locked)
			mutex_lock(&vc->page_alloc_lock);
		/*
		 * From the bioset's reserve: GFP_NOIO never fails.  Not polled:
		 * dm core polls its own clone, which this bio replaces.
		 */
		bounce = bio_alloc_bioset(vc->dev->bdev, nr_pages,
					  io->bio->bi_opf & ~REQ_POLLED, GFP_NOIO, &vc->bs);
		ok = vc_io_fill_bounce(vc, bounce, size, gfp);
		if (locked)
			mutex_unlock(&vc->page_alloc_lock);
		if (ok)
			break;
		bio_put(bounce);
		gfp = GFP_NOIO | __GFP_HIGHMEM;
	}
	bounce->bi_iter.bi_sector = vc->data_offset + io->sector;
	bounce->bi_ioprio = io->bio->bi_ioprio;
	bounce->bi_private = io;
	return bounce;
}

/* ------------------------------------------------------------ completion */

/* A read's end: dm's completion gets the bio back, decrypted or failed. */
static void vc_io_end_read(struct vc_io *io)
{
	struct vc_target *vc = io->vc;
	struct bio *bio = io->bio;

	/* The last touch of @vc: after bio_endio() the target may go. */
	if (likely(!io->status))
		vc_count(vc, sectors_read, io->iter.bi_size >> SECTOR_SHIFT);
	bio->bi_end_io = io->orig_end_io;
	bio->bi_private = io->orig_private;
	bio->bi_status = io->status;
	bio_endio(bio);
}

static void vc_io_end_write(struct vc_io *io)
{
	struct vc_target *vc = io->vc;
	struct bio *bio = io->bio;

	if (io->bounce) {
		vc_io_free_bounce(vc, io->bounce);
		io->bounce = NULL;
	}
	if (likely(!io->status))
		vc_count(vc, sectors_written, io->iter.bi_size >> SECTOR_SHIFT);
	bio->bi_status = io->status;
	bio_endio(bio);
}

/* The ciphertext is on the device (or not): the caller's write is done. */
static void vc_io_write_endio(struct bio *bounce)
{
	struct vc_io *io = bounce->bi_private;

	if (unlikely(bounce->bi_status)) {
		io->status = bounce->bi_status;
		vc_count(io->vc, io_errors, 1);
	}
	vc_io_end_write(io);
}

static void vc_io_submit_write(struct vc_io *io)
{
	io->bounce->bi_end_io = vc_io_write_endio;
	submit_bio_noacct(io->bounce);
}

static void vc_io_submit_write_work(struct work_struct *work)
{
	vc_io_submit_write(container_of(work, struct vc_io, work));
}

/*
 * Every unit of the bio is through the cipher.  @in_worker: called by
 * the crypto worker itself, not from an asynchronous driver's callback
 * (which may run in softirq context, where bios are not submitted): the
 * callback hands the write to io_wq, never to crypt_wq, whose workers
 * may be waiting for the very pages this write will give back.
 */
static void vc_io_crypt_finish(struct vc_io *io, bool in_worker)
{
	if (bio_data_dir(io->bio) == READ) {
		vc_io_end_read(io);
		return;
	}
	if (unlikely(io->status)) {
		vc_io_end_write(io);
		return;
	}
	if (in_worker) {
		vc_io_submit_write(io);
		return;
	}
	INIT_WORK(&io->work, vc_io_submit_write_work);
	queue_work(io->vc->io_wq, &io->work);
}

static void vc_io_crypt_failed(struct vc_io *io, int err)
{
	DMERR_LIMIT("%s of sector %llu failed: %d",
		    bio_data_dir(io->bio) == READ ? "decryption" : "encryption",
		    (unsigned long long)io->sector, err);
	io->status = BLK_STS_IOERR;
	vc_count(io->vc, crypt_errors, 1);
}

/* An asynchronous transform finished one unit (or accepted a backlogged one). */
static VC_CRYPTO_CALLBACK(vc_io_crypt_done)
{
	struct vc_req *vreq = VC_CRYPTO_DATA();
	struct vc_io *io = vreq->io;

	if (err == -EINPROGRESS) {
		complete(&io->restart);
		return;
	}
	if (unlikely(err))
		vc_io_crypt_failed(io, err);
	if (vreq != vc_io_embedded_req(io))
		mempool_free(vreq, &io->vc->req_pool);
	if (atomic_dec_and_test(&io->pending))
		vc_io_crypt_finish(io, false);
}

/* ------------------------------------------------------------ crypto */

/*
 * Sets up @vreq for the unit at @iter: the source is the caller's pages
 * (a unit normally lies in one page; a few fragments are accepted), the
 * destination the same pages for a read (in place) or the bounce page at
 * byte @out for a write.  @iter is advanced past the unit.
 */
static int vc_io_prepare(struct vc_io *io, struct vc_req *vreq, struct bvec_iter *iter,
			 unsigned int out, sector_t iv_sector, bool write)
{
	unsigned int ss = io->vc->sector_size, left = ss, n = 0, len;
	struct scatterlist *dst = vreq->src;
	struct bio_vec bv;

	sg_init_table(vreq->src, VC_MAX_SG);
	while (left) {
		if (unlikely(n == VC_MAX_SG || !iter->bi_size))
			return -EIO;
		bv = bio_iter_iovec(io->bio, *iter);
		len = min(bv.bv_len, left);
		sg_set_page(&vreq->src[n++], bv.bv_page, len, bv.bv_offset);
		bio_advance_iter_single(io->bio, iter, len);
		left -= len;
	}
	sg_mark_end(&vreq->src[n - 1]);

	if (write) {
		struct page *page = io->bounce->bi_io_vec[out >> PAGE_SHIFT].bv_page;

		sg_init_table(vreq->dst, 1);
		sg_set_page(vreq->dst, page, ss, offset_in_page(out));
		dst = vreq->dst;
	}

	vc_iv_plain64(vreq->iv, iv_sector);
	vreq->io = io;
	skcipher_request_set_tfm(&vreq->req, io->key->tfm);
	skcipher_request_set_callback(&vreq->req,
				      CRYPTO_TFM_REQ_MAY_BACKLOG | CRYPTO_TFM_REQ_MAY_SLEEP,
				      vc_io_crypt_done, vreq);
	skcipher_request_set_crypt(&vreq->req, vreq->src, dst, ss, (u8 *)vreq->iv);
	return 0;
}

/*
 * Runs every unit of the bio through the cipher, in a crypto worker.
 * io->pending counts the requests in flight plus one for this loop; who
 * drops it to zero finishes the bio.
 */
static void vc_io_crypt(struct vc_io *io, bool write)
{
	struct vc_target *vc = io->vc;
	struct vc_req *embedded = vc_io_embedded_req(io);
	struct vc_req *vreq = embedded;
	struct bvec_iter iter = io->iter;
	sector_t iv_sector = io->sector;
	unsigned int out = 0;
	int r;

	atomic_set(&io->pending, 1);
	while (iter.bi_size) {
		if (!vreq)
			vreq = mempool_alloc(&vc->req_pool, GFP_NOIO);
		r = vc_io_prepare(io, vreq, &iter, out, iv_sector, write);
		if (unlikely(r)) {
			vc_io_crypt_failed(io, r);
			break;
		}
		atomic_inc(&io->pending);
		r = write ? crypto_skcipher_encrypt(&vreq->req) :
			    crypto_skcipher_decrypt(&vreq->req);
		switch (r) {
		case 0:
			/* Done synchronously: reuse the request for the next unit. */
			atomic_dec(&io->pending);
			break;
		case -EBUSY:
			/* Backlogged: wait until the driver accepts it. */
			wait_for_completion(&io->restart);
			reinit_completion(&io->restart);
			fallthrough;
		case -EINPROGRESS:
			/* The driver owns the request now; its callback frees it. */
			vreq = NULL;
			break;
		default:
			atomic_dec(&io->pending);
			vc_io_crypt_failed(io, r);
			goto out;
		}
		out += vc->sector_size;
		iv_sector += vc->sector_size >> SECTOR_SHIFT;
		cond_resched();
	}
out:
	if (vreq && vreq != embedded)
		mempool_free(vreq, &vc->req_pool);
	if (atomic_dec_and_test(&io->pending))
		vc_io_crypt_finish(io, true);
}

static void vc_io_read_work(struct work_struct *work)
{
	vc_io_crypt(container_of(work, struct vc_io, work), false);
}

static void vc_io_write_work(struct work_struct *work)
{
	struct vc_io *io = container_of(work, struct vc_io, work);

	io->bounce = vc_io_alloc_bounce(io);
	vc_io_crypt(io, true);
}

/* ------------------------------------------------------------ map */

/* Reads up to this size may be decrypted by the task that completes them. */
#define VC_INLINE_READ_MAX (16 << 10)

/*
 * The ciphertext of a read is in the caller's pages: decrypt it in a
 * worker, or right here when a small read completes in a context that may
 * sleep (a synchronous device such as brd, a driver completing in its
 * submitter): the workqueue hop would double a 4 KiB read's latency.
 * Interrupt context and large reads, which gain from spreading over the
 * CPUs, always go to the worker (dm-crypt's no_read_workqueue, limited).
 */
static void vc_io_read_endio(struct bio *bio)
{
	struct vc_io *io = bio->bi_private;

	if (unlikely(bio->bi_status)) {
		io->status = bio->bi_status;
		vc_count(io->vc, io_errors, 1);
		vc_io_end_read(io);
		return;
	}
	if (in_task() && preemptible() && io->iter.bi_size <= VC_INLINE_READ_MAX) {
		vc_io_crypt(io, false);
		return;
	}
	INIT_WORK(&io->work, vc_io_read_work);
	queue_work(io->vc->crypt_wq, &io->work);
}

static void vc_io_submit_read(struct vc_io *io)
{
	struct vc_target *vc = io->vc;
	struct bio *bio = io->bio;

	/* The bvec table is immutable: the saved iterator walks it afterwards. */
	io->orig_end_io = bio->bi_end_io;
	io->orig_private = bio->bi_private;
	bio->bi_end_io = vc_io_read_endio;
	bio->bi_private = io;
	bio_set_dev(bio, vc->dev->bdev);
	bio->bi_iter.bi_sector = vc->data_offset + io->sector;
	submit_bio_noacct(bio);
}

static int vc_io_reject(struct vc_target *vc, struct bio *bio, blk_status_t status)
{
	vc_count(vc, rejected, 1);
	bio->bi_status = status;
	bio_endio(bio);
	return DM_MAPIO_SUBMITTED;
}

static int vc_io_remap(struct dm_target *ti, struct bio *bio)
{
	struct vc_target *vc = ti->private;

	bio_set_dev(bio, vc->dev->bdev);
	if (bio_sectors(bio))
		bio->bi_iter.bi_sector = vc->data_offset +
					 dm_target_offset(ti, bio->bi_iter.bi_sector);
	return DM_MAPIO_REMAPPED;
}

/* An admitted bio, its key chosen: on its way to the device or the cipher. */
static void vc_io_start(struct vc_io *io)
{
	struct vc_target *vc = io->vc;
	struct bio *bio = io->bio;

	io->iter = bio->bi_iter;
	io->bounce = NULL;
	io->status = BLK_STS_OK;
	init_completion(&io->restart);

	switch (bio_op(bio)) {
	case REQ_OP_READ:
		vc_io_submit_read(io);
		break;
	case REQ_OP_DISCARD:
		/* Submitted here, not remapped: a parked discard comes back this way. */
		bio_set_dev(bio, vc->dev->bdev);
		bio->bi_iter.bi_sector = vc->data_offset + io->sector;
		submit_bio_noacct(bio);
		break;
	default:
		INIT_WORK(&io->work, vc_io_write_work);
		queue_work(vc->crypt_wq, &io->work);
		break;
	}
}

/*
 * Admits a data bio under the rekey state and starts it, fails it, or
 * leaves it parked.  @in_map: called by map, which alone may cut the bio
 * (dm_accept_partial_bio); a parked bio comes back here from the rekey
 * message once its chunk is done, already cut to fit.
 */
void vc_io_dispatch(struct vc_io *io, bool in_map)
{
	switch (vc_rekey_admit(io, in_map)) {
	case VC_ADMIT_GO:
		vc_io_start(io);
		break;
	case VC_ADMIT_FAILED:
		vc_io_reject(io->vc, io->bio, BLK_STS_IOERR);
		break;
	case VC_ADMIT_PARKED:
		break;
	}
}

int vc_io_map(struct dm_target *ti, struct bio *bio)
{
	struct vc_target *vc = ti->private;
	struct vc_io *io = dm_per_bio_data(bio, vc->per_bio_size);
	sector_t unit_mask = (1U << vc->sector_shift) - 1;
	enum req_op op = bio_op(bio);

	/* vc_io_end_io() looks at it for every bio, admitted or not. */
	io->in_epoch = false;

	/*
	 * Flushes arrive empty (dm core sends the data of a REQ_PREFLUSH bio
	 * separately, once the flush is done): nothing to encrypt, no range,
	 * so nothing the rekey has to wait for or cut.
	 */
	if (unlikely(bio->bi_opf & REQ_PREFLUSH) && !bio_sectors(bio))
		return vc_io_remap(ti, bio);

	if (unlikely((bio->bi_iter.bi_sector & unit_mask) ||
		     (bio->bi_iter.bi_size & (vc->sector_size - 1)))) {
		DMERR_LIMIT("rejecting misaligned %s bio: sector %llu, %u bytes (sector_size %u)",
			    blk_op_str(op), (unsigned long long)bio->bi_iter.bi_sector,
			    bio->bi_iter.bi_size, vc->sector_size);
		return vc_io_reject(vc, bio, BLK_STS_IOERR);
	}

	if (unlikely(op == REQ_OP_DISCARD)) {
		if (!vc->allow_discards)
			return vc_io_reject(vc, bio, BLK_STS_NOTSUPP);
	} else if (unlikely((op != REQ_OP_READ && op != REQ_OP_WRITE) || !bio_sectors(bio))) {
		/* Write zeroes, secure erase, zones: would bypass the cipher. */
		return vc_io_reject(vc, bio, BLK_STS_NOTSUPP);
	}

	/* A write needs a bounce page per page of data: at most a pool's reserve. */
	if (op == REQ_OP_WRITE &&
	    unlikely(bio->bi_iter.bi_size > (VC_MAX_WRITE_PAGES << PAGE_SHIFT)))
		dm_accept_partial_bio(bio, (VC_MAX_WRITE_PAGES << PAGE_SHIFT) >> SECTOR_SHIFT);

	io->vc = vc;
	io->bio = bio;
	io->sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	vc_io_dispatch(io, true);
	return DM_MAPIO_SUBMITTED;
}

/*
 * Every bio that went through map ends here, whoever completed it: the
 * rekey's wait for bios in flight ends when the last of them has.
 */
int vc_io_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
{
	struct vc_target *vc = ti->private;

	vc_rekey_leave(dm_per_bio_data(bio, vc->per_bio_size));
	return DM_ENDIO_DONE;
}
