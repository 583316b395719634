/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Anti-forensic information splitter (TKS1, Fruhwirth 2005), the scheme
 * LUKS uses to spread a keyslot key over many stripes so that destroying
 * any part of the stored material destroys the key.
 *
 * The diffuser is the LUKS1 one with SHA-256: the buffer is cut into
 * 32-byte blocks and block i is replaced by
 *	H(be32(i) || block_i)
 * where the last, partial block is hashed as it is and the digest
 * truncated to its length.  libgcrypt computes the hashes; the context is
 * opened with GCRY_MD_FLAG_SECURE so the intermediate digests, which are
 * key-dependent, stay in secure memory like our own work buffer.
 */
#include <errno.h>
#include <gcrypt.h>
#include <string.h>

#include "af.h"
#include "internal.h"

#define AF_HASH GCRY_MD_SHA256
#define AF_DIGEST_LEN 32u

static void xor_into(uint8_t *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] ^= src[i];
}

/* buf = diffuse(buf): each block i becomes H(be32(i) || block_i). */
static void diffuse(gcry_md_hd_t md, uint8_t *buf, size_t len)
{
	uint32_t i = 0;

	for (size_t off = 0; off < len; off += AF_DIGEST_LEN, i++) {
		size_t n = len - off < AF_DIGEST_LEN ? len - off : AF_DIGEST_LEN;
		uint8_t be[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16),
				   (uint8_t)(i >> 8), (uint8_t)i };

		gcry_md_reset(md);
		gcry_md_write(md, be, sizeof(be));
		gcry_md_write(md, buf + off, n);
		memcpy(buf + off, gcry_md_read(md, AF_HASH), n);
	}
}

/* Common checks; *total receives stripes * len. */
static int af_args(const void *a, const void *b, size_t len,
		   unsigned stripes, size_t *total)
{
	if (!a || !b || !len || !stripes)
		return -EINVAL;
	/* Block indices are 32 bits in the diffuser. */
	if (len / AF_DIGEST_LEN >= UINT32_MAX || len > SIZE_MAX / stripes)
		return -EINVAL;
	*total = len * stripes;
	return 0;
}

/*
 * Run the chain d_0 = 0, d_{i+1} = diffuse(d_i ^ s_i) over the first
 * stripes - 1 stripes of @material and leave d in @d.
 */
static int af_chain(const uint8_t *material, size_t len, unsigned stripes,
		    uint8_t *d)
{
	gcry_md_hd_t md;
	gcry_error_t err;

	err = gcry_md_open(&md, AF_HASH, GCRY_MD_FLAG_SECURE);
	if (err) {
		vol_err("AF: cannot open SHA-256: %s", gcry_strerror(err));
		return gcry_err_code(err) == GPG_ERR_ENOMEM ? -ENOMEM : -EINVAL;
	}
	memset(d, 0, len);
	for (unsigned i = 0; i + 1 < stripes; i++) {
		xor_into(d, material + (size_t)i * len, len);
		diffuse(md, d, len);
	}
	gcry_md_close(md);
	return 0;
}

int vol_af_split(const uint8_t *key, size_t len, unsigned stripes,
		 uint8_t *dst)
{
	size_t total, last;
	uint8_t *d;
	int r;

	r = af_args(key, dst, len, stripes, &total);
	if (r)
		return r;
	last = total - len;
	d = vol_secure_alloc(len);
	if (!d)
		return -ENOMEM;
	/* s_0 .. s_{n-2} are random; only their combination hides the key. */
	gcry_randomize(dst, last, GCRY_STRONG_RANDOM);
	r = af_chain(dst, len, stripes, d);
	if (!r) {
		/* s_{n-1} = d ^ key */
		memcpy(dst + last, d, len);
		xor_into(dst + last, key, len);
	} else {
		vol_wipe(dst, total);
	}
	vol_secure_free(d, len);
	return r;
}

int vol_af_merge(const uint8_t *src, size_t len, unsigned stripes,
		 uint8_t *key)
{
	size_t total;
	uint8_t *d;
	int r;

	r = af_args(src, key, len, stripes, &total);
	if (r)
		return r;
	d = vol_secure_alloc(len);
	if (!d)
		return -ENOMEM;
	r = af_chain(src, len, stripes, d);
	if (!r) {
		/* key = d ^ s_{n-1} */
		memcpy(key, d, len);
		xor_into(key, src + total - len, len);
	}
	vol_secure_free(d, len);
	return r;
}
