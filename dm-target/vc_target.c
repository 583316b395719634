// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dm-volcrypt: the "volcrypt" device-mapper target.  Table parsing,
 * constructor and destructor, status, queue limits, module glue.
 *
 * The ciphertext is byte-identical to dm-crypt's aes-xts-plain64 (without
 * iv_large_sectors) and to libvol's userspace engine for the same key:
 * docs/FORMAT.md section 7.  docs/dm-target.md describes the table, the
 * status line, the messages and the design, including the online rekey.
 */
#include <linux/blkdev.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "volcrypt.h"

#define VC_VERSION_MAJOR 1
#define VC_VERSION_MINOR 1
#define VC_VERSION_PATCH 0

#define VC_MIN_ARGS 4

/* ------------------------------------------------------------ destructor */

/*
 * Also the unwinding of a constructor that failed half-way: every field
 * is either set up or still zero from kzalloc, and each step checks.
 */
static void vc_target_dtr(struct dm_target *ti)
{
	struct vc_target *vc = ti->private;
	unsigned int i;

	if (!vc)
		return;
	ti->private = NULL;

	/* No I/O is left when dm calls us: this only waits for idle workers. */
	if (vc->crypt_wq)
		destroy_workqueue(vc->crypt_wq);
	if (vc->io_wq)
		destroy_workqueue(vc->io_wq);
	bioset_exit(&vc->bs);
	mempool_exit(&vc->req_pool);
	vc_io_page_pool_exit(vc);
	vc_rekey_exit(vc);
	for (i = 0; i < VC_NR_KEYS; i++)
		vc_key_free(&vc->keys[i]);
	free_percpu(vc->stats);
	if (vc->dev)
		dm_put_device(ti, vc->dev);
	if (vc->counted)
		vc_io_clients_changed(-1);
	mutex_destroy(&vc->msg_lock);
	mutex_destroy(&vc->page_alloc_lock);
	kfree_sensitive(vc);
}

/* ------------------------------------------------------------ arguments */

static int vc_target_parse_sector_size(struct dm_target *ti, struct vc_target *vc,
				       const char *arg)
{
	unsigned int ss;

	if (kstrtouint(arg, 10, &ss)) {
		ti->error = "Invalid sector_size: not a number";
		return -EINVAL;
	}
	if (ss != 512 && ss != 4096) {
		ti->error = "Invalid sector_size: must be 512 or 4096";
		return -EINVAL;
	}
	vc->sector_size = ss;
	vc->sector_shift = __ffs(ss) - SECTOR_SHIFT;
	if (ti->len & ((ss >> SECTOR_SHIFT) - 1)) {
		ti->error = "Target length is not a multiple of sector_size";
		return -EINVAL;
	}
	return 0;
}

static int vc_target_parse_offset(struct dm_target *ti, struct vc_target *vc,
				  const char *arg)
{
	unsigned long long off;

	if (kstrtoull(arg, 10, &off) || off != (sector_t)off) {
		ti->error = "Invalid data_offset: not a number of 512-byte sectors";
		return -EINVAL;
	}
	if (off & ((vc->sector_size >> SECTOR_SHIFT) - 1)) {
		ti->error = "Invalid data_offset: not a multiple of sector_size";
		return -EINVAL;
	}
	vc->data_offset = off;
	return 0;
}

/*
 * "rekey <key_ref> <boundary>": a volume whose online rekey is under way.
 * Only the syntax here; the key is loaded once the device is checked.
 */
static int vc_target_parse_rekey(struct dm_target *ti, struct vc_target *vc,
				 struct dm_arg_set *as, const char **rekey_ref)
{
	unsigned long long boundary;
	const char *ref, *arg;
	int r;

	if (*rekey_ref) {
		ti->error = "Optional argument rekey given twice";
		return -EINVAL;
	}
	if (as->argc < 2) {
		ti->error = "Optional argument rekey needs <key_ref> <boundary>";
		return -EINVAL;
	}
	ref = dm_shift_arg(as);
	arg = dm_shift_arg(as);
	r = vc_key_parse_ref(ref, &ti->error);
	if (r)
		return r;
	if (kstrtoull(arg, 10, &boundary)) {
		ti->error = "Invalid rekey boundary: not a number of 512-byte sectors";
		return -EINVAL;
	}
	if (boundary > ti->len) {
		ti->error = "Invalid rekey boundary: beyond the end of the target";
		return -EINVAL;
	}
	if (boundary & ((vc->sector_size >> SECTOR_SHIFT) - 1)) {
		ti->error = "Invalid rekey boundary: not a multiple of sector_size";
		return -EINVAL;
	}
	*rekey_ref = ref;
	vc->rekey_boundary = boundary;
	return 0;
}

static int vc_target_parse_optional(struct dm_target *ti, struct vc_target *vc,
				    unsigned int argc, char **argv, const char **rekey_ref)
{
	struct dm_arg_set as;
	unsigned int nr_opts;
	const char *opt;
	int r;

	if (kstrtouint(argv[0], 10, &nr_opts)) {
		ti->error = "Invalid #opt_args: not a number";
		return -EINVAL;
	}
	if (nr_opts != argc - 1) {
		ti->error = "#opt_args does not match the number of optional arguments given";
		return -EINVAL;
	}
	as.argc = nr_opts;
	as.argv = argv + 1;
	while (as.argc) {
		opt = dm_shift_arg(&as);
		if (!strcasecmp(opt, "allow_discards")) {
			if (vc->allow_discards) {
				ti->error = "Optional argument allow_discards given twice";
				return -EINVAL;
			}
			vc->allow_discards = true;
		} else if (!strcasecmp(opt, "rekey")) {
			r = vc_target_parse_rekey(ti, vc, &as, rekey_ref);
			if (r)
				return r;
		} else {
			ti->error = "Unknown optional argument (known: allow_discards, rekey)";
			return -EINVAL;
		}
	}
	return 0;
}

static int vc_target_check_device(struct dm_target *ti, struct vc_target *vc)
{
	struct block_device *bdev = vc->dev->bdev;

	if (vc->data_offset + ti->len < vc->data_offset ||
	    vc->data_offset + ti->len > bdev_nr_sectors(bdev)) {
		ti->error = "Device too small: data_offset + target length exceed it";
		return -EINVAL;
	}
	if (bdev_logical_block_size(bdev) > vc->sector_size) {
		ti->error = "sector_size is smaller than the device's logical block size";
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------ resources */

static int vc_target_alloc_io(struct dm_target *ti, struct vc_target *vc)
{
	const char *devname = dm_table_device_name(ti->table);
	int r;

	unsigned int i;

	/* Both keys' transforms during a rekey; rekey_start checks its own. */
	for (i = 0; i < VC_NR_KEYS; i++)
		if (vc->keys[i].tfm)
			vc->req_size = max(vc->req_size, vc_io_req_size(vc->keys[i].tfm));
	vc->per_bio_size = vc_io_per_bio_size(vc->req_size);
	ti->per_io_data_size = vc->per_bio_size;

	vc->stats = alloc_percpu(struct vc_stats);
	if (!vc->stats) {
		ti->error = "Cannot allocate statistics";
		return -ENOMEM;
	}
	vc_io_clients_changed(1);
	vc->counted = true;
	r = vc_rekey_init(vc);
	if (r) {
		ti->error = "Cannot allocate the in-flight counters";
		return r;
	}
	r = vc_io_page_pool_init(vc);
	if (r) {
		ti->error = "Cannot allocate bounce page mempool";
		return r;
	}
	r = mempool_init_kmalloc_pool(&vc->req_pool, VC_MIN_REQS, vc->req_size);
	if (r) {
		ti->error = "Cannot allocate crypto request mempool";
		return r;
	}
	r = bioset_init(&vc->bs, VC_MIN_BIOS, 0, BIOSET_NEED_BVECS);
	if (r) {
		ti->error = "Cannot allocate bioset";
		return r;
	}
	/*
	 * Unbound: a bio's crypto runs on whichever CPU is free, not on the
	 * one that submitted it.  MEM_RECLAIM: writeback under memory
	 * pressure goes through here.  HIGHPRI: I/O latency.
	 */
	vc->crypt_wq = alloc_workqueue("kvolcryptd/%s",
				       WQ_UNBOUND | WQ_CPU_INTENSIVE | WQ_MEM_RECLAIM | WQ_HIGHPRI,
				       num_online_cpus(), devname);
	if (!vc->crypt_wq) {
		ti->error = "Cannot allocate crypto workqueue";
		return -ENOMEM;
	}
	/* Only submits bios, never waits for our memory: one CPU-bound queue. */
	vc->io_wq = alloc_workqueue("kvolcrypt_io/%s", WQ_MEM_RECLAIM | WQ_HIGHPRI, 1, devname);
	if (!vc->io_wq) {
		ti->error = "Cannot allocate I/O workqueue";
		return -ENOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------ constructor */

/*
 * Construct a volcrypt mapping:
 *
 *   <key_ref> <dev_path> <data_offset> <sector_size> [<#opt_args> <opt_arg>...]
 *
 * key_ref      :64:logon:<description>
 *              A "logon" key of 64 bytes (AES-256-XTS) in a keyring of the
 *              process loading the table.  Hex keys are refused: the key
 *              never appears in a table or a status line.
 * dev_path     The device holding the volume: a path or major:minor.
 * data_offset  Start of the data area on dev_path, in 512-byte sectors;
 *              a multiple of sector_size / 512.
 * sector_size  Encryption unit in bytes, 512 or 4096; also the mapped
 *              device's logical block size.  The target length must be a
 *              multiple of it.
 *
 * Optional arguments (#opt_args counts words):
 *   allow_discards             Pass discards down.  Reveals which blocks
 *                              are unused; refused (EOPNOTSUPP) without it.
 *   rekey <key_ref> <boundary> An online rekey under way: sectors below
 *                              <boundary> (512-byte, from the target start,
 *                              a multiple of sector_size / 512) are under
 *                              this new key, the rest under <key_ref>.
 *
 * The IV of every unit is plain64 of its offset from the target start in
 * 512-byte sectors: dm-crypt's "aes-xts-plain64 <key> 0 <dev_path>
 * <data_offset> [1 sector_size:4096]" maps the same data.
 */
static int vc_target_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	const char *rekey_ref = NULL;
	struct vc_target *vc;
	int r;

	if (argc < VC_MIN_ARGS) {
		ti->error = "Not enough arguments: <key_ref> <dev_path> <data_offset> <sector_size> [<#opt_args> <opt_arg>...]";
		return -EINVAL;
	}

	vc = kzalloc(sizeof(*vc), GFP_KERNEL);
	if (!vc) {
		ti->error = "Cannot allocate volcrypt context";
		return -ENOMEM;
	}
	mutex_init(&vc->page_alloc_lock);
	mutex_init(&vc->msg_lock);
	seqlock_init(&vc->rekey_lock);
	bio_list_init(&vc->parked);
	ti->private = vc;

	/* Syntax first (the key reference, then the numbers), then resources. */
	r = vc_key_parse_ref(argv[0], &ti->error);
	if (r)
		goto bad;
	r = vc_target_parse_sector_size(ti, vc, argv[3]);
	if (r)
		goto bad;
	r = vc_target_parse_offset(ti, vc, argv[2]);
	if (r)
		goto bad;
	if (argc > VC_MIN_ARGS) {
		r = vc_target_parse_optional(ti, vc, argc - VC_MIN_ARGS, argv + VC_MIN_ARGS,
					     &rekey_ref);
		if (r)
			goto bad;
	}

	r = dm_get_device(ti, argv[1], dm_table_get_mode(ti->table), &vc->dev);
	if (r) {
		ti->error = "Device lookup failed";
		goto bad;
	}
	r = vc_target_check_device(ti, vc);
	if (r)
		goto bad;

	r = vc_key_load(&vc->keys[vc->cur], argv[0], &ti->error);
	if (r)
		goto bad;
	vc->nr_keys = 1;
	if (rekey_ref) {
		r = vc_rekey_begin(vc, rekey_ref, vc->rekey_boundary, &ti->error);
		if (r)
			goto bad;
	}

	r = vc_target_alloc_io(ti, vc);
	if (r)
		goto bad;

	ti->num_flush_bios = 1;
	ti->num_discard_bios = vc->allow_discards ? 1 : 0;
	/* Writes need memory: bound what swap can have in flight, as dm-crypt. */
	ti->limit_swap_bios = true;
	return 0;

bad:
	vc_target_dtr(ti);
	return r;
}

/* ------------------------------------------------------------ status */

static void vc_target_sum_stats(struct vc_target *vc, struct vc_stats *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct vc_stats *s = per_cpu_ptr(vc->stats, cpu);

		sum->sectors_read += READ_ONCE(s->sectors_read);
		sum->sectors_written += READ_ONCE(s->sectors_written);
		sum->io_errors += READ_ONCE(s->io_errors);
		sum->crypt_errors += READ_ONCE(s->crypt_errors);
		sum->rejected += READ_ONCE(s->rejected);
	}
}

/*
 * INFO:  <sectors_read> <sectors_written> <io_errors> <crypt_errors>
 *        <rejected_bios> <cipher_driver> <sector_size> <#features> [features]
 *        features: allow_discards, rekey <boundary>
 * TABLE: the constructor's arguments, the keys as their references only;
 *        during a rekey with the current boundary, so that loading it
 *        again reproduces the state.
 * IMA:   key=value pairs for the measurement log, no key material either.
 *
 * The rekey state is read under its lock: rekey_finish frees the old
 * key's reference once it has set nr_keys to 1 under it.
 */
static void vc_target_status(struct dm_target *ti, status_type_t type,
			     unsigned int status_flags, char *result, unsigned int maxlen)
{
	struct vc_target *vc = ti->private;
	unsigned int sz = 0, nr_opts;
	unsigned long flags;
	struct vc_stats st;
	bool rekey;

	read_seqlock_excl_irqsave(&vc->rekey_lock, flags);
	rekey = vc->nr_keys == VC_NR_KEYS;
	nr_opts = (vc->allow_discards ? 1 : 0) + (rekey ? 2 : 0);
	switch (type) {
	case STATUSTYPE_INFO:
		vc_target_sum_stats(vc, &st);
		DMEMIT("%llu %llu %llu %llu %llu %s %u %u",
		       st.sectors_read, st.sectors_written, st.io_errors,
		       st.crypt_errors, st.rejected,
		       vc_key_driver(&vc->keys[vc->cur]), vc->sector_size, nr_opts);
		if (vc->allow_discards)
			DMEMIT(" allow_discards");
		if (rekey)
			DMEMIT(" rekey %llu", (unsigned long long)vc->rekey_boundary);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %s %llu %u", vc->keys[vc->cur].ref, vc->dev->name,
		       (unsigned long long)vc->data_offset, vc->sector_size);
		/* As a table option, rekey has three words. */
		nr_opts += rekey ? 1 : 0;
		if (nr_opts)
			DMEMIT(" %u", nr_opts);
		if (vc->allow_discards)
			DMEMIT(" allow_discards");
		if (rekey)
			DMEMIT(" rekey %s %llu", vc->keys[vc->cur ^ 1].ref,
			       (unsigned long long)vc->rekey_boundary);
		break;
	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",cipher=aes-xts-plain64,key_type=logon,key_size=%u", VC_KEY_BYTES);
		DMEMIT(",keys=%u,sector_size=%u,data_offset=%llu,allow_discards=%c;",
		       vc->nr_keys, vc->sector_size, (unsigned long long)vc->data_offset,
		       vc->allow_discards ? 'y' : 'n');
		break;
	}
	read_sequnlock_excl_irqrestore(&vc->rekey_lock, flags);
}

/* ------------------------------------------------------------ messages */

/* "<start> <len>" of rekey_arm and rekey_chunk, in 512-byte sectors. */
static int vc_target_parse_range(char **argv, sector_t *start, sector_t *len)
{
	unsigned long long s, l;

	if (kstrtoull(argv[0], 10, &s) || kstrtoull(argv[1], 10, &l) ||
	    s != (sector_t)s || l != (sector_t)l || s + l < s) {
		DMWARN("rekey: want <start> <len> in 512-byte sectors");
		return -EINVAL;
	}
	*start = s;
	*len = l;
	return 0;
}

/*
 * Messages (dmsetup message <dev> 0 <words>), the online rekey's steps:
 *
 *   rekey_start <key_ref>       load the new key; the boundary is 0
 *   rekey_arm <start> <len>     arm [start, start + len): start is the
 *                               boundary, len at most VC_REKEY_MAX_CHUNK
 *   rekey_chunk <start> <len>   re-encrypt the armed range; EAGAIN if it
 *                               was written since the arm
 *   rekey_finish                the new key becomes the current one
 *
 * A refusal is a negative errno, which the ioctl returns; the reason goes
 * to the kernel log.  dm runs messages of one device concurrently (its
 * ioctls take no per-device lock), hence msg_lock.  See vc_rekey.c.
 */
static int vc_target_message(struct dm_target *ti, unsigned int argc, char **argv,
			     char *result, unsigned int maxlen)
{
	struct vc_target *vc = ti->private;
	sector_t start, len;
	int r = -EINVAL;

	mutex_lock(&vc->msg_lock);
	if (argc == 2 && !strcasecmp(argv[0], "rekey_start")) {
		r = vc_rekey_start(vc, argv[1]);
	} else if (argc == 3 && !strcasecmp(argv[0], "rekey_arm")) {
		r = vc_target_parse_range(argv + 1, &start, &len);
		if (!r)
			r = vc_rekey_arm(ti, start, len);
	} else if (argc == 3 && !strcasecmp(argv[0], "rekey_chunk")) {
		r = vc_target_parse_range(argv + 1, &start, &len);
		if (!r)
			r = vc_rekey_chunk(ti, start, len);
	} else if (argc == 1 && !strcasecmp(argv[0], "rekey_finish")) {
		r = vc_rekey_finish(ti);
	} else {
		DMWARN("unrecognised message (known: rekey_start <key_ref>, rekey_arm <start> <len>, rekey_chunk <start> <len>, rekey_finish)");
	}
	mutex_unlock(&vc->msg_lock);
	return r;
}

static int vc_target_iterate_devices(struct dm_target *ti,
				     iterate_devices_callout_fn fn, void *data)
{
	struct vc_target *vc = ti->private;

	return fn(ti, vc->dev, vc->data_offset, ti->len, data);
}

static void vc_target_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct vc_target *vc = ti->private;

	/* The constructor refused a device whose blocks are larger. */
	limits->logical_block_size = vc->sector_size;
	limits->physical_block_size = max(limits->physical_block_size, vc->sector_size);
	limits->io_min = max(limits->io_min, vc->sector_size);
	/* Direct I/O buffers aligned to a unit: no unit straddles two pages. */
	limits->dma_alignment = vc->sector_size - 1;
	/*
	 * A write's bounce bio has one page per segment, however large the
	 * caller's segments were: keep it within the device's max_segments.
	 */
	limits->max_segment_size = PAGE_SIZE;
}

static struct target_type vc_target_type = {
	.name = "volcrypt",
	.version = { VC_VERSION_MAJOR, VC_VERSION_MINOR, VC_VERSION_PATCH },
	.module = THIS_MODULE,
	.ctr = vc_target_ctr,
	.dtr = vc_target_dtr,
	.map = vc_io_map,
	.end_io = vc_io_end_io,
	.status = vc_target_status,
	.message = vc_target_message,
	.iterate_devices = vc_target_iterate_devices,
	.io_hints = vc_target_io_hints,
};

static int __init vc_target_init(void)
{
	int r;

	r = dm_register_target(&vc_target_type);
	if (r < 0)
		DMERR("register failed %d", r);
	return r;
}

static void __exit vc_target_exit(void)
{
	dm_unregister_target(&vc_target_type);
}

module_init(vc_target_init);
module_exit(vc_target_exit);

MODULE_DESCRIPTION(DM_NAME " target for volcrypt volumes (AES-256-XTS, keyring keys)");
MODULE_LICENSE("GPL");
MODULE_VERSION("1.1.0");
MODULE_SOFTDEP("pre: xts");
