/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The volume handle and the crash-safe header update protocol. */
#ifndef LIBVOL_VOLUME_H
#define LIBVOL_VOLUME_H

#include "device.h"
#include "header_codec.h"
#include "libvol.h"

struct vol_volume {
	struct vol_device *dev;
	struct vol_metadata md;                      /* newest valid copy */
	enum vol_copy_state copy_state[VOL_COPIES];
	enum vol_copy_state material_state[VOL_KEYSLOTS][VOL_COPIES];
	/*
	 * A LUKS2 device loaded with VOL_LOAD_LUKS2: @md holds its geometry
	 * only (no digest, no keyslots); unlocking and key checks go through
	 * libcryptsetup (luks2.c), and every update is refused.
	 */
	int luks2;
};

/*
 * Internal vol_load() flag: another process (the `volcrypt rekey` that
 * asked a fuse daemon to do the work) holds the update lock for us.
 */
#define VOL_LOAD_LOCK_HELD 0x100

/* Read and decode metadata copy @copy of @dev: -EBADMSG if it is not a valid one. */
int vol_header_read_copy(struct vol_device *dev, int copy, struct vol_metadata *md);

/*
 * Read both metadata copies of @dev and pick the newest valid one.
 * -EBADMSG when neither verifies, -EPROTONOSUPPORT when the best one is
 * from a newer format.
 */
int vol_header_read(struct vol_device *dev, struct vol_metadata *md,
		    enum vol_copy_state state[VOL_COPIES]);

/* Checksum state of each copy of each active slot's key material. */
int vol_material_scan(struct vol_device *dev, const struct vol_metadata *md,
		      enum vol_copy_state state[VOL_KEYSLOTS][VOL_COPIES]);

int vol_material_read(struct vol_device *dev, int copy, int slot, uint8_t *buf);
/* Write one copy of a slot's material area and make it durable. */
int vol_material_write(struct vol_device *dev, int copy, int slot, const uint8_t *buf);

/*
 * Which copy to overwrite first so that a valid one survives a crash:
 * never the only valid copy.
 */
int vol_first_copy_to_write(const enum vol_copy_state state[VOL_COPIES]);

/*
 * Publish vol->md: sequence + 1, written to the copy that is not the sole
 * valid one first, each followed by fdatasync.  A crash at any point leaves
 * either the old or the new metadata valid.
 */
int vol_header_commit(struct vol_volume *vol);

/*
 * After a commit: rewrite damaged material copies of active slots from the
 * valid copy, and wipe the material areas of inactive slots (left over by
 * removals or interrupted updates).
 */
int vol_header_tidy(struct vol_volume *vol);

/*
 * vol_unlock() restricted to the slots of digest entry @digest (0: the
 * current volume key, 1: the new key of a rekey).  Logs nothing on -EPERM.
 */
int vol_unlock_digest(struct vol_volume *vol, int digest, int slot, const char *pass,
		      size_t pass_len, int *slot_out, struct vol_key **key_out);

/* Fail with -EROFS unless the handle was loaded for writing. */
int vol_require_writable(const struct vol_volume *vol);
/*
 * Fail with -EBUSY while a rekey is in progress: keyslots then belong to
 * two keys, and a header backup would capture a state that only the
 * journal of that moment makes sense of.
 */
int vol_require_no_rekey(const struct vol_volume *vol);
/* Both of the above: what adding, removing or changing a keyslot needs. */
int vol_require_keyslot_update(const struct vol_volume *vol);

#endif
