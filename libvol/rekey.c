/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Rekey: re-encrypt the data area under a fresh volume key, chunk by
 * chunk, so that a crash at any moment leaves a volume that opens and
 * whose rekey can be resumed (docs/FORMAT.md, "Rekey").
 *
 * For every chunk, in this order, each step durable before the next:
 *   1. the journal entry: a fingerprint of each sector's old ciphertext;
 *   2. the chunk rewritten under the new key (by libvol, or by the kernel
 *      target while I/O to the chunk waits);
 *   3. now and then, the boundary in the header (the journal already
 *      implies it: an entry is only written once the chunk before it is
 *      done).
 * Recovery takes the newest journal entry: everything before its chunk
 * is under the new key, everything after it under the old one, and the
 * fingerprints sort out the chunk itself, sector by sector.
 *
 * The end: the boundary reaches the end of the data area (committed), the
 * old key's slots are wiped in both copies, then one commit makes the new
 * key the volume key and adds the rekey to the history.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chunk_writer.h"
#include "device.h"
#include "internal.h"
#include "keyslot.h"
#include "rekey.h"
#include "rekey_journal.h"
#include "sector_engine.h"
#include "volume.h"

/* Progress reaches the header at most this often (the journal is exact). */
#define COMMIT_INTERVAL_MS 1000.0
/* A chunk the backend keeps seeing written to: give up after this many tries. */
#define MAX_RETRIES 1000

static int rekey_running(const struct vol_volume *vol)
{
	return vol->md.rekey.state == VOL_REKEY_RUNNING;
}

int vol_get_rekey_info(const struct vol_volume *vol, struct vol_rekey_info *info)
{
	const struct vol_metadata *md;

	if (!vol || !info)
		return -EINVAL;
	md = &vol->md;
	memset(info, 0, sizeof(*info));
	info->running = rekey_running(vol);
	info->data_size = md->data_size;
	if (info->running) {
		info->boundary = md->rekey.boundary;
		info->chunk_size = md->rekey.chunk_size;
		info->started = md->rekey.started;
		memcpy(info->new_digest, md->digest[1].value, sizeof(info->new_digest));
	}
	info->count = md->rekey_count;
	for (int i = 0; i < VOL_REKEY_HISTORY && md->history[i].started; i++) {
		info->history[i].started = md->history[i].started;
		info->history[i].finished = md->history[i].finished;
		info->history[i].bytes = md->history[i].bytes;
		info->history[i].online = !!(md->history[i].flags & VOL_HISTORY_ONLINE);
		info->history_len = i + 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ start */

static int check_chunk_size(const struct vol_metadata *md, uint64_t chunk)
{
	if (vol_rekey_chunk_valid(chunk, md->sector_size))
		return 0;
	vol_err("rekey chunk size must be a multiple of 4096 bytes, at most %llu",
		(unsigned long long)vol_rekey_chunk_max(md->sector_size));
	return -EINVAL;
}

/* A passphrase to carry over, and the slot (on the old key) it opened. */
struct carried {
	const char *pass;
	size_t len;
	int slot;
};

/* Which slots the passphrases open; each slot is carried over once. */
static int find_carried(struct vol_volume *vol, const char *const *pass, const size_t *len,
			int n, struct carried *out, int *nout)
{
	*nout = 0;
	for (int i = 0; i < n; i++) {
		int slot, dup = 0, r;

		r = vol_unlock_digest(vol, 0, -1, pass[i], len[i], &slot, NULL);
		if (r == -EPERM)
			vol_err(i ? "passphrase to keep number %d opens no keyslot" :
				    "no key available with this passphrase", i);
		if (r)
			return r;
		for (int j = 0; j < *nout; j++)
			dup |= out[j].slot == slot;
		if (!dup)
			out[(*nout)++] = (struct carried){ pass[i], len[i], slot };
	}
	return 0;
}

/* Seal @key for @c into the free slot @s (material durable, metadata in memory). */
static int seal_carried(struct vol_volume *vol, const struct carried *c, int s,
			const struct vol_key *key, uint8_t *material)
{
	const struct vol_keyslot *old = &vol->md.slot[c->slot];
	struct vol_kdf_spec spec = { .type = old->kdf, .iterations = old->iterations,
				     .memory_kib = old->memory_kib, .parallel = old->parallel };
	struct vol_keyslot sealed;
	int r;

	/* Same KDF cost as the slot it replaces: the owner chose it once. */
	r = vol_keyslot_seal(&sealed, &spec, key, c->pass, c->len, material);
	for (int copy = 0; !r && copy < VOL_COPIES; copy++)
		r = vol_material_write(vol->dev, copy, s, material);
	if (r)
		return r;
	sealed.digest_index = 1;
	vol->md.slot[s] = sealed;
	vol->material_state[s][0] = vol->material_state[s][1] = VOL_COPY_OK;
	return 0;
}

static int new_key_slots(struct vol_volume *vol, const struct carried *c, int n,
			 const struct vol_key *key)
{
	uint8_t *material = malloc(VOL_MATERIAL_STRIDE);
	int r = 0, s = 0;

	if (!material)
		return -ENOMEM;
	for (int i = 0; i < n && !r; i++, s++) {
		while (s < VOL_KEYSLOTS && vol->md.slot[s].active)
			s++;
		r = s < VOL_KEYSLOTS ? seal_carried(vol, &c[i], s, key, material) : -ENOSPC;
	}
	vol_wipe(material, VOL_MATERIAL_STRIDE);
	free(material);
	return r;
}

static int free_slots(const struct vol_volume *vol)
{
	int n = 0;

	for (int s = 0; s < VOL_KEYSLOTS; s++)
		n += !vol->md.slot[s].active;
	return n;
}

static int begin(struct vol_volume *vol, const struct carried *c, int n, uint64_t chunk,
		 const struct vol_key *new_key)
{
	struct vol_metadata *md = &vol->md;
	int r;

	r = vol_digest_create(&md->digest[1], new_key, md->digest[0].iterations);
	if (!r)
		r = new_key_slots(vol, c, n, new_key);
	if (r)
		return r;
	md->rekey = (struct vol_rekey_record){
		.state = VOL_REKEY_RUNNING,
		.resilience = VOL_REKEY_RESILIENCE_FINGERPRINT,
		.journal_offset = VOL_JOURNAL_OFFSET,
		.journal_size = VOL_JOURNAL_SIZE,
		.chunk_size = chunk,
		.started = (uint64_t)time(NULL),
	};
	while (!md->rekey.id)
		vol_random_nonce(&md->rekey.id, sizeof(md->rekey.id));
	md->incompat_features |= VOL_INCOMPAT_REKEY;
	md->version = 2; /* the rekey record is a version 2 feature */
	/* Entries of an earlier rekey carry another id; zero them anyway. */
	r = vol_journal_clear(vol->dev, &md->rekey);
	return r ? r : vol_header_commit(vol);
}

int vol_rekey_start(struct vol_volume *vol, const char *pass, size_t pass_len,
		    const char *const *keep, const size_t *keep_len, int nkeep,
		    uint64_t chunk, struct vol_key **old_key, struct vol_key **new_key)
{
	const char *passes[VOL_KEYSLOTS];
	size_t lens[VOL_KEYSLOTS];
	struct carried c[VOL_KEYSLOTS];
	struct vol_metadata saved;
	struct vol_key *old = NULL, *fresh = NULL;
	int n, r;

	if (!vol || !pass || nkeep < 0 || nkeep >= VOL_KEYSLOTS || (nkeep && (!keep || !keep_len)))
		return -EINVAL;
	r = vol_require_writable(vol);
	if (r)
		return r;
	if (rekey_running(vol)) {
		vol_err("a rekey of this volume is already in progress (resume it)");
		return -EALREADY;
	}
	chunk = chunk ? chunk : VOL_REKEY_CHUNK_DEFAULT;
	r = check_chunk_size(&vol->md, chunk);
	if (r)
		return r;
	passes[0] = pass;
	lens[0] = pass_len;
	for (int i = 0; i < nkeep; i++) {
		passes[i + 1] = keep[i];
		lens[i + 1] = keep_len[i];
	}
	r = find_carried(vol, passes, lens, nkeep + 1, c, &n);
	if (r)
		return r;
	if (free_slots(vol) < n) {
		vol_err("a rekey needs %d free keyslots for the passphrases it keeps, %d are free",
			n, free_slots(vol));
		return -ENOSPC;
	}
	r = vol_unlock_digest(vol, 0, c[0].slot, pass, pass_len, NULL, &old);
	fresh = r ? NULL : vol_key_alloc(vol->md.key_bytes);
	if (!r && !fresh)
		r = -ENOMEM;
	if (r)
		goto fail;
	vol_random_key_bytes(fresh->bytes, fresh->len);
	saved = vol->md;
	r = begin(vol, c, n, chunk, fresh);
	if (r) {
		/* Nothing committed: the slots sealed so far are wiped by the next tidy. */
		vol->md = saved;
		goto fail;
	}
	*old_key = old;
	*new_key = fresh;
	return 0;
fail:
	vol_key_free(old);
	vol_key_free(fresh);
	return r;
}

int vol_rekey_unlock(struct vol_volume *vol, const char *pass, size_t pass_len,
		     struct vol_key **old_key, struct vol_key **new_key)
{
	struct vol_key *old = NULL, *fresh = NULL;
	int r;

	if (!vol || !pass || !old_key || !new_key)
		return -EINVAL;
	if (!rekey_running(vol)) {
		vol_err("no rekey is in progress on this volume");
		return -EINVAL;
	}
	r = vol_unlock_digest(vol, 1, -1, pass, pass_len, NULL, &fresh);
	if (!r && vol->md.rekey.boundary < vol->md.data_size)
		r = vol_unlock_digest(vol, 0, -1, pass, pass_len, NULL, &old);
	if (r) {
		if (r == -EPERM)
			vol_err("no key available with this passphrase for both keys of the rekey");
		vol_key_free(old);
		vol_key_free(fresh);
		return r;
	}
	*old_key = old;
	*new_key = fresh;
	return 0;
}

int vol_rekey_key_verify(const struct vol_volume *vol, const struct vol_key *new_key)
{
	if (!vol || !new_key)
		return -EINVAL;
	if (!rekey_running(vol))
		return 0;
	return vol_digest_verify(&vol->md.digest[1], new_key);
}

/* ------------------------------------------------------------------ chunks */

/*
 * Where a chunk's bytes are while it is rewritten: our buffer (read, then
 * written back), or, for an image file, the page cache itself through a
 * shared mapping -- no copy either way, which is most of what a rekey
 * costs besides the cipher when the image sits in memory.
 */
struct chunk_view {
	uint8_t *data;
	void *map;
	size_t len;
};

struct rekey_run {
	struct vol_volume *vol;
	const struct vol_rekey_ops *ops;
	struct vol_engine *old_eng, *new_eng;
	struct vol_device data;      /* the data area: vol's fd, or an O_DIRECT one */
	int direct;                  /* data.fd is our own, opened O_DIRECT */
	uint8_t *bufs[2];            /* chunk_size bytes each, page aligned: step n uses n % 2 */
	int map_ok;                  /* an image file: chunks are rewritten in a shared mapping */
	struct prefetch *next;       /* offline: the next chunk, mapped and fingerprinted */
	struct chunk_view retired;   /* offline: a stored chunk the next prefetch unmaps */
	uint8_t *journal;            /* half the journal: one entry */
	struct vol_rekey_progress progress;
	double start_ms, last_commit_ms;
};

static int data_read(struct rekey_run *rr, uint64_t off, uint8_t *buf, size_t len)
{
	return vol_device_read(&rr->data, rr->vol->md.data_offset + off, buf, len);
}

static int data_write(struct rekey_run *rr, uint64_t off, const uint8_t *buf, size_t len)
{
	return vol_device_write(&rr->data, rr->vol->md.data_offset + off, buf, len);
}

/*
 * The old key's ciphertext of [off, off + len) in @buf becomes the new
 * key's, a piece at a time so that the plaintext is still in the caches
 * when it is encrypted again (each piece is spread over the engine's
 * threads: half a MiB per core fits a core's L2).
 */
#define RECRYPT_PIECE (1u << 20)

static int recrypt(struct rekey_run *rr, uint64_t off, uint8_t *buf, size_t len)
{
	int r = 0;

	for (size_t done = 0; !r && done < len; done += RECRYPT_PIECE) {
		size_t n = len - done < RECRYPT_PIECE ? len - done : RECRYPT_PIECE;
		uint64_t iv = (off + done) / 512;

		r = vol_engine_decrypt(rr->old_eng, iv, buf + done, n);
		if (!r)
			r = vol_engine_encrypt(rr->new_eng, iv, buf + done, n);
	}
	return r;
}

/* A read-only view of the chunk in the page cache: reading it costs no copy. */
static int map_chunk(struct rekey_run *rr, uint64_t off, size_t len, struct chunk_view *v)
{
	off_t pos = (off_t)(rr->vol->md.data_offset + off);
	void *map = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, rr->data.fd, pos);

	if (map == MAP_FAILED)
		return -EOPNOTSUPP;
	*v = (struct chunk_view){ .data = map, .map = map, .len = len };
	return 0;
}

/* The chunk's old ciphertext: mapped, or read into @buf. */
static int chunk_read(struct rekey_run *rr, uint64_t off, size_t len, uint8_t *buf,
		      struct chunk_view *v)
{
	if (rr->map_ok && map_chunk(rr, off, len, v) == 0)
		return 0;
	*v = (struct chunk_view){ .data = buf, .len = len };
	return data_read(rr, off, buf, len);
}

/*
 * Writes that bypass the page cache (O_DIRECT) go out from a thread of
 * their own in requests this large: one MiB at a time, a disk spends
 * more time waiting between requests than writing.  Through the page
 * cache a write is a copy, which this thread makes a piece at a time
 * right behind the cipher (another thread would only contend for CPUs).
 */
#define DIRECT_WRITE_BYTES (4u << 20)

static size_t piece_len(size_t len, size_t k)
{
	size_t at = k * RECRYPT_PIECE;

	return len - at < RECRYPT_PIECE ? len - at : RECRYPT_PIECE;
}

/*
 * Re-encrypt a chunk and write it back, a piece at a time, pipelined: the
 * engine's workers decrypt the next piece while this thread encrypts, and
 * the pieces finished are written behind (chunk_writer.h).
 * From a mapping, the first pass reads it into our buffer: the mapping is
 * never written to, so a sector goes from the old key's ciphertext to the
 * new key's without ever being plaintext in the page cache, and a write
 * cut short by a kill stops at a page boundary (pwrite), never inside a
 * sector.  The writer only takes pieces already read from the mapping.
 */
static int recrypt_store(struct rekey_run *rr, uint64_t off, struct chunk_view *v, uint8_t *buf)
{
	const size_t len = v->len, pieces = (len + RECRYPT_PIECE - 1) / RECRYPT_PIECE;
	struct vol_engine_job *dec = NULL, *enc = NULL;
	struct chunk_writer w;
	int r = 0, r2;

	chunk_writer_start(&w, &rr->data, rr->vol->md.data_offset + off, buf, len,
			   rr->direct ? DIRECT_WRITE_BYTES : RECRYPT_PIECE, rr->direct);
	/* From a mapping the first pass reads it and writes our buffer: no copy. */
	r = vol_engine_submit_from(rr->old_eng, 0, off / 512, buf, v->map ? v->data : NULL,
				   piece_len(len, 0), &dec);
	for (size_t k = 0; !r && k < pieces; k++) {
		uint8_t *p = buf + k * RECRYPT_PIECE;

		r = vol_engine_wait(dec);
		dec = NULL;
		if (!r)
			r = vol_engine_submit(rr->new_eng, 1, (off + k * RECRYPT_PIECE) / 512, p,
					      piece_len(len, k), &enc);
		r2 = enc ? vol_engine_wait(enc) : 0;
		enc = NULL;
		r = r ? r : r2;
		if (!r && k + 1 < pieces)
			r = vol_engine_submit_from(rr->old_eng, 0, (off + (k + 1) * RECRYPT_PIECE) / 512,
						   buf + (k + 1) * RECRYPT_PIECE,
						   v->map ? v->data + (k + 1) * RECRYPT_PIECE : NULL,
						   piece_len(len, k + 1), &dec);
		if (!r)
			chunk_writer_ready(&w, k * RECRYPT_PIECE + piece_len(len, k));
	}
	/* An error leaves no job behind: the buffer must not be freed under one. */
	if (dec)
		vol_engine_wait(dec);
	r2 = chunk_writer_finish(&w);
	return r ? r : r2;
}

static void chunk_close(struct chunk_view *v)
{
	if (v->map)
		munmap(v->map, v->len);
	v->map = NULL;
}

/*
 * Offline, nothing else writes the volume: the next chunk can be mapped
 * and fingerprinted by a helper thread while the engine re-encrypts this
 * one (the journal entry itself still waits for this chunk to be durable).
 */
struct prefetch {
	pthread_t thread;
	struct rekey_run *rr;
	uint64_t off;
	size_t len;
	uint8_t *scratch;            /* journal entry buffer: fingerprints at +96 */
	uint8_t *buf;                /* where the chunk is read unless mapped */
	struct chunk_view view;
	struct chunk_view retired;   /* unmapped here, off the critical path */
	int r;
};

static void *prefetch_main(void *arg)
{
	struct prefetch *p = arg;

	chunk_close(&p->retired);
	p->r = chunk_read(p->rr, p->off, p->len, p->buf, &p->view);
	if (!p->r)
		vol_fingerprint_chunk(p->view.data, p->len, p->rr->vol->md.sector_size,
				      p->scratch + VOL_JOURNAL_ENTRY_HEADER);
	return NULL;
}

static void prefetch_start(struct rekey_run *rr, uint64_t off, size_t len, uint8_t *scratch,
			   uint8_t *buf)
{
	struct prefetch *p = calloc(1, sizeof(*p));

	if (!p)
		return; /* the next chunk is simply read when its turn comes */
	*p = (struct prefetch){ .rr = rr, .off = off, .len = len, .scratch = scratch,
				.buf = buf, .retired = rr->retired };
	if (pthread_create(&p->thread, NULL, prefetch_main, p)) {
		free(p);
		return;
	}
	rr->retired = (struct chunk_view){ 0 };
	rr->next = p;
}

/* 1 and the view if the chunk at @off was prefetched (0: do it now). */
static int prefetch_take(struct rekey_run *rr, uint64_t off, struct chunk_view *v)
{
	struct prefetch *p = rr->next;
	int got;

	if (!p)
		return 0;
	pthread_join(p->thread, NULL);
	rr->next = NULL;
	got = p->off == off && !p->r;
	if (got)
		*v = p->view;
	else
		chunk_close(&p->view);
	free(p);
	return got;
}

/*
 * The chunk of entry @e after a crash: sectors that still match their
 * fingerprint are under the old key and are rewritten; the others were
 * rewritten already (or written through the new key since).  A sector
 * that matches at one end only was torn: it is counted, and left.
 */
static int resolve_chunk(struct rekey_run *rr, const struct vol_journal_entry *e)
{
	uint32_t ss = e->sector_size;
	int r, rewrote = 0;

	r = data_read(rr, e->offset, rr->bufs[0], e->length);
	for (uint32_t i = 0; !r && i < e->count; i++) {
		uint8_t *sector = rr->bufs[0] + (size_t)i * ss;
		int m = vol_fingerprint_match(sector, ss, e->fingerprints +
							   (size_t)i * VOL_FINGERPRINT_BYTES);
		uint64_t off = e->offset + (uint64_t)i * ss;

		if (m < 0)
			rr->progress.torn_sectors++;
		if (m != 1)
			continue;
		r = recrypt(rr, off, sector, ss);
		if (!r)
			r = data_write(rr, off, sector, ss);
		rewrote++;
	}
	if (!r && rewrote)
		r = vol_device_sync(&rr->data);
	if (rr->progress.torn_sectors)
		vol_err("%s: %d sectors were torn by the crash during the rekey; their data is lost",
			rr->vol->dev->path, rr->progress.torn_sectors);
	return r;
}

static int commit_boundary(struct rekey_run *rr, uint64_t boundary)
{
	struct vol_volume *vol = rr->vol;

	rr->last_commit_ms = vol_now_ms();
	if (vol->md.rekey.boundary == boundary)
		return 0;
	vol->md.rekey.boundary = boundary;
	return vol_header_commit(vol);
}

/* Where the rekey stands after a crash, with the interrupted chunk finished. */
static int recover(struct rekey_run *rr, uint64_t *boundary)
{
	const struct vol_metadata *md = &rr->vol->md;
	struct vol_journal_entry e;
	int r;

	r = vol_journal_newest(rr->vol->dev, md, rr->journal, &e);
	/*
	 * Once a chunk is done its entry stays until a later one replaces it,
	 * so inside the data area the newest entry ends at the boundary or
	 * beyond.  Without one, chunks past the boundary might be re-encrypted
	 * a second time: refuse instead (only a damaged journal does that).
	 */
	if (r == -ENOENT && md->rekey.boundary && md->rekey.boundary < md->data_size) {
		vol_err("%s: the re-encryption journal is damaged: the rekey cannot be resumed "
			"safely", rr->vol->dev->path);
		return -EBADMSG;
	}
	if (r == -ENOENT || (!r && md->rekey.boundary == md->data_size)) {
		*boundary = md->rekey.boundary;
		return 0;
	}
	if (r)
		return r;
	if (e.offset + e.length < md->rekey.boundary) {
		vol_err("%s: the re-encryption journal is behind the header", rr->vol->dev->path);
		return -EBADMSG;
	}
	if (e.offset + e.length == md->rekey.boundary) {
		*boundary = md->rekey.boundary;
		return 0;
	}
	if (!rr->vol->dev->writable) {
		vol_err("%s: a rekey step was interrupted; finishing it needs write access",
			rr->vol->dev->path);
		return -EROFS;
	}
	r = resolve_chunk(rr, &e);
	*boundary = e.offset + e.length;
	return r;
}

static int chunk_step(struct rekey_run *rr, uint64_t off, uint64_t len)
{
	const struct vol_metadata *md = &rr->vol->md;
	const struct vol_rekey_ops *ops = rr->ops;
	const uint64_t seq = off / md->rekey.chunk_size, rest = md->data_size - off - len;
	const size_t half = VOL_JOURNAL_SIZE / 2;
	/* Entry buffers alternate, so the next one can be filled meanwhile. */
	uint8_t *scratch = rr->journal + (seq % 2) * half;
	uint8_t *next_scratch = rr->journal + ((seq + 1) % 2) * half;
	uint8_t *buf = rr->bufs[seq % 2], *next_buf = rr->bufs[(seq + 1) % 2];
	size_t next_len = rest < md->rekey.chunk_size ? (size_t)rest : md->rekey.chunk_size;
	struct vol_journal_entry e = {
		.id = md->rekey.id, .sequence = seq, .offset = off,
		.length = len, .sector_size = md->sector_size,
		.count = (uint32_t)(len / md->sector_size),
		.fingerprints = scratch + VOL_JOURNAL_ENTRY_HEADER,
	};
	int r = -EAGAIN;

	for (int tries = 0; r == -EAGAIN && tries < MAX_RETRIES; tries++) {
		struct chunk_view v = { 0 };

		r = ops && ops->hold ? ops->hold(ops->ctx, off, len) : 0;
		if (r)
			return r;
		if (prefetch_take(rr, off, &v)) {
			r = 0;
		} else {
			r = chunk_read(rr, off, len, buf, &v);
			if (!r)
				vol_fingerprint_chunk(v.data, len, md->sector_size,
						      scratch + VOL_JOURNAL_ENTRY_HEADER);
		}
		if (!r)
			r = vol_journal_write(rr->vol->dev, &md->rekey, &e, scratch);
		if (!r && !ops && off + len < md->data_size)
			prefetch_start(rr, off + len, next_len, next_scratch, next_buf);
		if (!r && ops && ops->rewrite)
			r = ops->rewrite(ops->ctx, off, len, v.data);
		else if (!r)
			r = recrypt_store(rr, off, &v, buf);
		if (!r && !(ops && ops->rewrite))
			r = vol_device_sync(&rr->data);
		if (!r && rr->next && v.map)
			rr->retired = v; /* the next prefetch unmaps it */
		else
			chunk_close(&v);
		if (ops && ops->release)
			ops->release(ops->ctx, off, len, !r);
	}
	if (r == -EAGAIN)
		vol_err("the chunk at %llu keeps being written to; giving up for now",
			(unsigned long long)off);
	return r;
}

/* ------------------------------------------------------------------ finish */

static void push_history(struct vol_metadata *md, int online)
{
	memmove(&md->history[1], &md->history[0],
		(VOL_REKEY_HISTORY - 1) * sizeof(md->history[0]));
	md->history[0] = (struct vol_rekey_history){
		.started = md->rekey.started,
		.finished = (uint64_t)time(NULL),
		.bytes = md->data_size,
		.flags = online ? VOL_HISTORY_ONLINE : 0,
	};
	if (md->history[0].finished < md->history[0].started) /* clock went back */
		md->history[0].finished = md->history[0].started;
	md->rekey_count++;
}

/*
 * Every chunk is under the new key (and the header says so).  Wipe the
 * old key's slots first, so that no crash can leave them behind, then
 * make the new key the only one.
 */
static int finalize(struct vol_volume *vol, int online)
{
	struct vol_metadata *md = &vol->md;
	uint8_t *zero = calloc(1, VOL_MATERIAL_STRIDE);
	int r = 0;

	if (!zero)
		return -ENOMEM;
	for (int s = 0; s < VOL_KEYSLOTS && !r; s++) {
		if (!md->slot[s].active || md->slot[s].digest_index != 0)
			continue;
		for (int c = 0; c < VOL_COPIES && !r; c++)
			r = vol_material_write(vol->dev, c, s, zero);
	}
	free(zero);
	if (r)
		return r;
	for (int s = 0; s < VOL_KEYSLOTS; s++) {
		if (md->slot[s].active && md->slot[s].digest_index == 0)
			memset(&md->slot[s], 0, sizeof(md->slot[s]));
		md->slot[s].digest_index = 0;
	}
	md->digest[0] = md->digest[1];
	memset(&md->digest[1], 0, sizeof(md->digest[1]));
	push_history(md, online);
	{
		struct vol_rekey_record rec = md->rekey;

		memset(&md->rekey, 0, sizeof(md->rekey));
		md->incompat_features &= ~VOL_INCOMPAT_REKEY;
		r = vol_header_commit(vol);
		/* The fingerprints are old ciphertext: nothing secret, but nothing needed. */
		if (!r)
			r = vol_journal_clear(vol->dev, &rec);
	}
	return r;
}

/* ------------------------------------------------------------------ run */

static int run_open(struct rekey_run *rr, struct vol_volume *vol, const struct vol_key *old_key,
		    const struct vol_key *new_key, const struct vol_rekey_ops *ops)
{
	size_t half = VOL_JOURNAL_SIZE / 2;
	int r;

	memset(rr, 0, sizeof(*rr));
	rr->vol = vol;
	rr->ops = ops;
	rr->data = *vol->dev;
	rr->data.fd = -1;
	/*
	 * O_DIRECT when the kernel target writes behind the page cache, and
	 * offline on a block device: each byte is then copied once (by the
	 * driver) instead of through the page cache both ways.
	 */
	if (ops ? ops->direct : vol->dev->is_block) {
		rr->data.fd = open(vol->dev->path, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (rr->data.fd < 0)
			return -errno;
		rr->direct = 1;
	}
	if (posix_memalign((void **)&rr->bufs[0], 4096, vol->md.rekey.chunk_size) ||
	    posix_memalign((void **)&rr->bufs[1], 4096, vol->md.rekey.chunk_size) ||
	    posix_memalign((void **)&rr->journal, 4096, 2 * half))
		return -ENOMEM;
	if (rr->data.fd < 0)
		rr->data.fd = vol->dev->fd;
	rr->map_ok = !vol->dev->is_block && !(ops && (ops->direct || ops->rewrite));
	r = old_key ? vol_engine_new(old_key, vol->md.sector_size, 0, &rr->old_eng) : 0;
	if (!r)
		r = vol_engine_new(new_key, vol->md.sector_size, 0, &rr->new_eng);
	/* Bulk work beside the prefetch thread: idle workers sleep at once. */
	if (!r && rr->old_eng) {
		vol_engine_set_spin(rr->old_eng, 0);
		vol_engine_set_spin(rr->new_eng, 0);
	}
	rr->start_ms = rr->last_commit_ms = vol_now_ms();
	rr->progress.total = vol->md.data_size;
	return r;
}

static void run_close(struct rekey_run *rr)
{
	struct chunk_view v;

	/* A chunk prefetched for a step that never came (error, pause). */
	if (rr->next && prefetch_take(rr, rr->next->off, &v))
		chunk_close(&v);
	chunk_close(&rr->retired);
	/* The chunk buffer held plaintext between the two keys. */
	for (int i = 0; i < 2; i++) {
		if (rr->bufs[i])
			vol_wipe(rr->bufs[i], rr->vol->md.rekey.chunk_size);
		free(rr->bufs[i]);
	}
	free(rr->journal);
	if (rr->data.fd >= 0 && rr->data.fd != rr->vol->dev->fd)
		close(rr->data.fd);
	vol_engine_free(rr->old_eng);
	vol_engine_free(rr->new_eng);
}

/* Both keys must be the ones the header names. */
static int check_keys(const struct vol_volume *vol, const struct vol_key *old_key,
		      const struct vol_key *new_key)
{
	int r = vol_digest_verify(&vol->md.digest[1], new_key);

	if (r == 1 && old_key)
		r = vol_digest_verify(&vol->md.digest[0], old_key);
	if (r == 1 && !old_key && vol->md.rekey.boundary < vol->md.data_size)
		r = 0;
	if (r == 1)
		return 0;
	if (!r)
		vol_err("the keys do not match the rekey in progress");
	return r ? r : -EPERM;
}

static int start_boundary(struct rekey_run *rr, uint64_t *boundary)
{
	const struct vol_rekey_ops *ops = rr->ops;
	int r;

	if (ops && ops->boundary) {
		r = ops->boundary(ops->ctx, boundary);
		if (!r && (*boundary % rr->vol->md.rekey.chunk_size &&
			   *boundary != rr->vol->md.data_size)) {
			vol_err("the backend's rekey boundary is not at a chunk boundary");
			r = -EPROTO;
		}
		return r;
	}
	return recover(rr, boundary);
}

int vol_rekey_run_ops(struct vol_volume *vol, const struct vol_key *old_key,
		      const struct vol_key *new_key, const struct vol_rekey_ops *ops,
		      vol_rekey_progress_fn progress, void *progress_ctx)
{
	uint64_t size, chunk, boundary = 0;
	struct rekey_run rr;
	int r;

	if (!vol || !new_key)
		return -EINVAL;
	r = vol_require_writable(vol);
	if (r)
		return r;
	if (!rekey_running(vol)) {
		vol_err("no rekey is in progress on this volume");
		return -EINVAL;
	}
	r = check_keys(vol, old_key, new_key);
	if (r)
		return r;
	size = vol->md.data_size;
	chunk = vol->md.rekey.chunk_size;
	r = run_open(&rr, vol, old_key, new_key, ops);
	if (!r)
		r = start_boundary(&rr, &boundary);
	if (!r && boundary < size && !old_key) {
		vol_err("the old key is needed to continue this rekey");
		r = -EINVAL;
	}
	rr.progress.done = boundary;
	while (!r && boundary < size) {
		uint64_t len = size - boundary < chunk ? size - boundary : chunk;

		r = chunk_step(&rr, boundary, len);
		if (r)
			break;
		boundary += len;
		rr.progress.done = boundary;
		rr.progress.this_run += len;
		rr.progress.elapsed_ms = vol_now_ms() - rr.start_ms;
		if (vol_now_ms() - rr.last_commit_ms >= COMMIT_INTERVAL_MS)
			r = commit_boundary(&rr, boundary);
		if (!r && progress && progress(&rr.progress, progress_ctx) && boundary < size) {
			r = commit_boundary(&rr, boundary);
			if (!r)
				r = -EINTR;
		}
	}
	if (!r)
		r = commit_boundary(&rr, size);
	if (!r && ops && ops->finish)
		r = ops->finish(ops->ctx);
	if (!r)
		r = finalize(vol, ops && ops->online);
	/* A run with nothing left but the finish reports once, at its end. */
	if (!r && progress && !rr.progress.this_run) {
		rr.progress.elapsed_ms = vol_now_ms() - rr.start_ms;
		progress(&rr.progress, progress_ctx);
	}
	run_close(&rr);
	return r;
}

int vol_rekey_run(struct vol_volume *vol, const struct vol_key *old_key,
		  const struct vol_key *new_key, vol_rekey_progress_fn progress, void *ctx)
{
	return vol_rekey_run_ops(vol, old_key, new_key, NULL, progress, ctx);
}

int vol_rekey_recover(struct vol_volume *vol, const struct vol_key *old_key,
		      const struct vol_key *new_key, int *torn)
{
	uint64_t boundary = 0;
	struct rekey_run rr;
	int r;

	if (torn)
		*torn = 0;
	if (!vol || !new_key)
		return -EINVAL;
	if (!rekey_running(vol))
		return 0;
	r = check_keys(vol, old_key, new_key);
	if (r)
		return r;
	/* Read-only is fine as long as no step was interrupted. */
	r = run_open(&rr, vol, old_key, new_key, NULL);
	if (!r)
		r = recover(&rr, &boundary);
	if (!r && vol->dev->writable)
		r = commit_boundary(&rr, boundary);
	if (torn)
		*torn = rr.progress.torn_sectors;
	run_close(&rr);
	return r;
}
