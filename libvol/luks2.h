/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LUKS2 through libcryptsetup: the only file that talks to libcryptsetup
 * (luks2.c).  It reads a LUKS2 header's geometry, says whether volcrypt's
 * data layout can take it over, unlocks and verifies its volume key, and
 * builds a LUKS2 header for a volcrypt volume in a separate file (never on
 * the target: libcryptsetup's format wipes everything below the data
 * offset, volcrypt's second header half included).
 */
#ifndef LIBVOL_LUKS2_H
#define LIBVOL_LUKS2_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "libvol.h"

/* LUKS2 header area that a conversion writes: both binary headers + JSON
 * (2 x 16 KiB) and a keyslots area that ends where volcrypt's second
 * header half begins (docs/FORMAT.md section 14). */
#define VOL_LUKS2_METADATA_SIZE (16ULL << 10)
#define VOL_LUKS2_AREA_END (4ULL << 20)
#define VOL_LUKS2_KEYSLOTS_SIZE (VOL_LUKS2_AREA_END - 2 * VOL_LUKS2_METADATA_SIZE)
/* LUKS2 labels are 48 bytes with their NUL. */
#define VOL_LUKS2_LABEL_MAX 47

/* What volcrypt needs to know of a LUKS2 header (no secrets). */
struct vol_luks2_geometry {
	char uuid[VOL_UUID_STRLEN];
	char label[VOL_LABEL_MAX + 1];
	uint32_t sector_size;
	uint64_t data_offset;      /* bytes */
	uint64_t metadata_end;     /* end of both binary headers with their JSON */
	uint64_t keyslots_end;     /* end of the keyslots area */
};

/* A keyslot that a passphrase opened, and where its material lies. */
struct vol_luks2_slot {
	int slot;
	uint64_t area_offset;      /* bytes from the start of the device */
	uint64_t area_length;
};

/*
 * Which LUKS version @path holds: 2, 1, or 0 for none (nothing is
 * logged; libcryptsetup's own messages go to the debug level).
 */
int vol_luks_version(const char *path);

/*
 * Load the LUKS2 header of @path and check that volcrypt's data layout
 * is the same: aes-xts-plain64, 512-bit key, sector 512 or 4096, one
 * plain data segment at a multiple of 1 MiB, >= 16 MiB, no integrity, no
 * reencryption, no tokens.  -EPROTONOSUPPORT with the reason logged;
 * -EBADMSG if there is no LUKS2 header.
 */
int vol_luks2_inspect(const char *path, struct vol_luks2_geometry *g);

/*
 * The volume key of @path from @pass (keyslot @slot, or any when < 0);
 * -EPERM if no keyslot opens.  *where (if non-NULL) says which slot and
 * its area.  Logs nothing on -EPERM.
 */
int vol_luks2_unlock(const char *path, int slot, const char *pass, size_t pass_len,
		     struct vol_luks2_slot *where, struct vol_key **key_out);

/* 1 if @key is the volume key of the LUKS2 header on @path, 0 if not, -errno. */
int vol_luks2_key_verify(const char *path, const struct vol_key *key);

/*
 * For the rest of the process, libcryptsetup takes no locks of its own:
 * a conversion holds volcrypt's exclusive lock on the device (flock on an
 * image file, O_EXCL on a block device), and libcryptsetup's shared flock
 * of an image file would wait for it forever.
 */
void vol_luks2_locking_off(void);

/* What a new LUKS2 header describes. */
struct vol_luks2_build {
	const char *uuid;
	const char *label;            /* NULL or "" for none */
	uint32_t sector_size;
	uint64_t data_offset;         /* bytes */
	const struct vol_kdf_params *kdf;
	const char *const *pass;      /* each gets a keyslot, in order */
	const size_t *pass_len;
	int npass;
};

/*
 * Write a complete LUKS2 header for @key to the file @header (a detached
 * header of @data_device, which is only read): metadata 2 x 16 KiB,
 * keyslots area up to 4 MiB.  Its first VOL_LUKS2_AREA_END bytes are what
 * the conversion copies to the device.
 */
int vol_luks2_build_header(const char *header, const char *data_device,
			   const struct vol_luks2_build *b, const struct vol_key *key);

#endif
