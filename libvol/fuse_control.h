/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fuse daemon's control socket (/run/volcrypt/NAME/ctl): how
 * `volcrypt rekey` hands an online rekey to the daemon that serves the
 * volume.  One SOCK_SEQPACKET message each way per step; the client must
 * be root or the daemon's own user.
 *
 *   client -> daemon  struct vol_ctl_request  (both keys)
 *   daemon -> client  struct vol_ctl_reply    (progress..., then done)
 *
 * The client holds the volume's update lock for the daemon while the
 * rekey runs; if the client goes away, the daemon pauses the rekey after
 * the chunk it is on (the next progress message cannot be delivered).
 */
#ifndef LIBVOL_FUSE_CONTROL_H
#define LIBVOL_FUSE_CONTROL_H

#include <stdint.h>

#include "libvol.h"
#include "rekey.h"

#define VOL_CTL_MAGIC 0x566c4374u /* "VlCt" */
#define VOL_CTL_SOCKET "ctl"

enum vol_ctl_command { VOL_CTL_REKEY = 1 };
enum vol_ctl_reply_type { VOL_CTL_PROGRESS = 1, VOL_CTL_DONE = 2 };

struct vol_ctl_request {
	uint32_t magic;
	uint32_t command;
	uint8_t old_key[VOL_VOLUME_KEY_BYTES];
	uint8_t new_key[VOL_VOLUME_KEY_BYTES];
};

struct vol_ctl_reply {
	uint32_t magic;
	uint32_t type;
	int32_t result;         /* VOL_CTL_DONE: 0 or -errno */
	int32_t torn_sectors;
	uint64_t done, total, this_run;
	double elapsed_ms;
};

/* What the daemon lends the control thread. */
struct vol_fuse_rekey_hooks {
	/* Start serving with the new key below boundary 0 (no-op if already). */
	int (*install)(void *ctx, const struct vol_key *new_key);
	struct vol_rekey_ops ops;
};

struct vol_fuse_control;

/* Listen on @path and serve requests for the volume @target in a thread. */
int vol_fuse_control_start(const char *path, const char *target,
			   const struct vol_fuse_rekey_hooks *hooks,
			   struct vol_fuse_control **out);
/* Stop listening; a rekey in progress pauses after its chunk.  NULL allowed. */
void vol_fuse_control_stop(struct vol_fuse_control *c);

#endif
