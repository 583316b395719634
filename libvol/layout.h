/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Byte positions of the header area (docs/FORMAT.md, "Header area").
 * Two mirrored halves, each a metadata copy followed by the key material of
 * every keyslot; the second half starts at 4 MiB so that zeroing the first
 * MiB of the device (the classic wrong-dd accident) leaves one complete half.
 */
#ifndef LIBVOL_LAYOUT_H
#define LIBVOL_LAYOUT_H

#include <stdint.h>

#define VOL_MAGIC "VOLCRYPT"
#define VOL_MAGIC_LEN 8
/* Version written by format; readers accept VOL_FORMAT_VERSION_MIN and up. */
#define VOL_FORMAT_VERSION 2
#define VOL_FORMAT_VERSION_MIN 1

#define VOL_META_SIZE 4096u
#define VOL_COPIES 2
#define VOL_COPY_BASE(c) ((uint64_t)(c) * (4ULL << 20))          /* 0, 4 MiB */
#define VOL_MATERIAL_AREA_OFFSET (64ULL << 10)                    /* in a half */
#define VOL_MATERIAL_STRIDE (256ULL << 10)
#define VOL_MATERIAL_OFFSET(c, slot) \
	(VOL_COPY_BASE(c) + VOL_MATERIAL_AREA_OFFSET + (uint64_t)(slot) * VOL_MATERIAL_STRIDE)
#define VOL_JOURNAL_OFFSET (8ULL << 20)   /* re-encryption journal (v2) */
#define VOL_JOURNAL_SIZE (8ULL << 20)
#define VOL_HEADER_AREA_SIZE (16ULL << 20)

/*
 * Re-encryption journal entry (docs/FORMAT.md, "Re-encryption journal"):
 * a 96-byte header, then one fingerprint per sector of the chunk (the
 * first and last 16 bytes of its old ciphertext).
 */
#define VOL_JOURNAL_MAGIC "VCJOURNL"
#define VOL_JOURNAL_ENTRY_HEADER 96u
#define VOL_FINGERPRINT_BYTES 32u

#define VOL_DIGESTS 2           /* digest 1 reserved for re-encryption */
#define VOL_SALT_BYTES 32
#define VOL_SHA256_BYTES 32
#define VOL_CIPHER_SPEC "aes-xts-plain64"

/* Key material of one slot: the AF-split volume key, encrypted. */
#define VOL_AF_STRIPES_V1 4000u
#define VOL_MATERIAL_BYTES(key_bytes, stripes) ((uint64_t)(key_bytes) * (stripes))

_Static_assert(VOL_MATERIAL_BYTES(64, VOL_AF_STRIPES_V1) <= VOL_MATERIAL_STRIDE,
	       "keyslot material must fit its area");
_Static_assert(VOL_MATERIAL_OFFSET(0, 7) + VOL_MATERIAL_STRIDE <= VOL_COPY_BASE(1),
	       "first half must end before the second");
_Static_assert(VOL_MATERIAL_OFFSET(1, 7) + VOL_MATERIAL_STRIDE <= VOL_JOURNAL_OFFSET,
	       "second half must end before the journal");
_Static_assert(VOL_JOURNAL_OFFSET + VOL_JOURNAL_SIZE == VOL_HEADER_AREA_SIZE,
	       "journal ends the header area");
_Static_assert(VOL_COPY_BASE(1) >= (1ULL << 20), "second half outside the first MiB");

#endif
