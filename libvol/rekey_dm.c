/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Online rekey through the volcrypt kernel target (docs/dm-target.md,
 * "Online rekey"): libvol writes the journal entry of a chunk, then asks
 * the target to re-encrypt the chunk while I/O to it waits.
 *
 *   rekey_start <key_ref>     the target takes the new key (boundary 0)
 *   rekey_arm <start> <len>   the target notes writes to the chunk from now
 *   (libvol reads the chunk's old ciphertext, O_DIRECT, and journals it)
 *   rekey_chunk <start> <len> the target re-encrypts the chunk, durably, and
 *                             moves its boundary; EAGAIN if the chunk was
 *                             written since rekey_arm (the fingerprints are
 *                             stale: arm again)
 *   rekey_finish              the new key becomes the only one
 *
 * The target's boundary is the truth while it runs; after a crash the
 * journal is (the table of the next open carries the recovered boundary).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "dm_ioctl.h"
#include "rekey.h"
#include "volume.h"

struct dm_rekey {
	const char *name;
};

/* "<op> <start> <length>" of a chunk, in 512-byte sectors. */
static int message(const struct dm_rekey *d, const char *op, uint64_t off, uint64_t len)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "%s %" PRIu64 " %" PRIu64, op, off / 512, len / 512);
	return vol_dm_message(d->name, msg);
}

/* "... <#features> [feature...]" with "rekey <boundary>" among the features. */
static int kernel_boundary(const char *name, int *active, uint64_t *boundary)
{
	char status[512], *tok, *save = NULL;
	int r = vol_dm_status(name, status, sizeof(status));

	*active = 0;
	if (r)
		return r;
	for (tok = strtok_r(status, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (strcmp(tok, "rekey"))
			continue;
		tok = strtok_r(NULL, " ", &save);
		if (!tok)
			return -EPROTO;
		*boundary = strtoull(tok, NULL, 10) * 512;
		*active = 1;
	}
	return 0;
}

static int op_boundary(void *ctx, uint64_t *boundary)
{
	const struct dm_rekey *d = ctx;
	int active, r = kernel_boundary(d->name, &active, boundary);

	if (!r && !active) {
		vol_err("%s: the target has no rekey in progress", d->name);
		r = -EPROTO;
	}
	return r;
}

static int op_hold(void *ctx, uint64_t off, uint64_t len)
{
	return message(ctx, "rekey_arm", off, len);
}

static int op_rewrite(void *ctx, uint64_t off, uint64_t len, uint8_t *buf)
{
	(void)buf; /* the kernel reads the chunk itself, behind the I/O it holds */
	return message(ctx, "rekey_chunk", off, len);
}

static int op_finish(void *ctx)
{
	const struct dm_rekey *d = ctx;

	return vol_dm_message(d->name, "rekey_finish");
}

/* The target must know the new key; a table loaded mid-rekey already does. */
static int start_in_kernel(struct vol_volume *vol, const char *name,
			   const struct vol_key *new_key)
{
	char desc[VOL_DM_NAME_LEN + VOL_UUID_STRLEN + 32], msg[sizeof(desc) + 32];
	struct vol_info info;
	uint64_t boundary = 0;
	int32_t serial;
	int active, r;

	r = kernel_boundary(name, &active, &boundary);
	if (r || active)
		return r;
	if (vol->md.rekey.boundary) {
		vol_err("%s: the target does not know the rekey in progress; close and reopen it",
			name);
		return -EPROTO;
	}
	vol_get_info(vol, &info);
	vol_dm_key_description(desc, sizeof(desc), info.uuid, name, 1);
	snprintf(msg, sizeof(msg), "rekey_start :%zu:logon:%s", new_key->len, desc);
	serial = vol_dm_key_add(desc, new_key->bytes, new_key->len);
	if (serial < 0)
		return serial;
	r = vol_dm_message(name, msg);
	vol_dm_key_drop(serial);
	if (r == -EINVAL)
		vol_err("%s: the volcrypt target refused to start a rekey (dm-volcrypt 1.1.0 or "
			"newer needed; the kernel log may say more)", name);
	return r;
}

int vol_dm_rekey(struct vol_volume *vol, const char *name, const struct vol_key *old_key,
		 const struct vol_key *new_key, vol_rekey_progress_fn progress, void *ctx)
{
	struct dm_rekey d = { .name = name };
	const struct vol_rekey_ops ops = {
		.boundary = op_boundary,
		.hold = op_hold,
		.rewrite = op_rewrite,
		.finish = op_finish,
		.ctx = &d,
		.direct = 1,
		.online = 1,
	};
	int r;

	/* Every chunk is done already: the target drops the old key, the header follows. */
	if (!old_key) {
		r = vol_dm_message(name, "rekey_finish");
		return r ? r : vol_rekey_run(vol, NULL, new_key, progress, ctx);
	}
	r = start_in_kernel(vol, name, new_key);
	return r ? r : vol_rekey_run_ops(vol, old_key, new_key, &ops, progress, ctx);
}
