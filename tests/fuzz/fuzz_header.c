/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the metadata copy decoder (which contains the
 * keyslot, digest and re-encryption record decoders).  Each input is
 * decoded twice: as found, and with its checksum fixed up so the fuzzer
 * gets past the SHA-256 and exercises every field check.  Whatever
 * decodes must re-encode to a copy that decodes to the same structure.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "header_codec.h"

static void check_round_trip(const struct vol_metadata *md, int copy)
{
	uint8_t again[VOL_META_SIZE];
	struct vol_metadata md2;

	vol_metadata_encode(md, copy, again);
	if (vol_metadata_decode(again, copy, &md2) || memcmp(md, &md2, sizeof(md2)))
		abort();
}

static void decode_both_positions(const uint8_t *buf)
{
	struct vol_metadata md;

	for (int copy = 0; copy < VOL_COPIES; copy++)
		if (vol_metadata_decode(buf, copy, &md) == 0)
			check_round_trip(&md, copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[VOL_META_SIZE] = { 0 };

	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	decode_both_positions(buf);
	gcry_md_hash_buffer(GCRY_MD_SHA256, buf + VOL_META_SIZE - 32, buf, VOL_META_SIZE - 32);
	decode_both_positions(buf);
	return 0;
}
