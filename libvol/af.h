/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Anti-forensic information splitter (TKS1, as used by LUKS). */
#ifndef LIBVOL_AF_H
#define LIBVOL_AF_H

#include <stddef.h>
#include <stdint.h>

#define VOL_AF_STRIPES 4000u

/*
 * Split @key (@len bytes) into @stripes * @len bytes at @dst so that every
 * stripe is needed to recover it:
 *   d = 0; for i in 0..stripes-2: s_i = random; d = H(d ^ s_i)
 *   s_{stripes-1} = d ^ key
 * where H is the LUKS diffuser built on SHA-256.  @dst should be secure memory.
 */
int vol_af_split(const uint8_t *key, size_t len, unsigned stripes, uint8_t *dst);

/* Inverse of vol_af_split: recover @len bytes of key from @src. */
int vol_af_merge(const uint8_t *src, size_t len, unsigned stripes, uint8_t *key);

#endif
