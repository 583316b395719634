/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine's decrypt+encrypt bound of a rekey: how fast the sector
 * engine turns the old key's ciphertext of N MiB into the new key's, in
 * memory, with every CPU, a piece at a time as libvol/rekey.c does it --
 * everything a rekey must do except the I/O.  tests/bench/rekey_offline.sh
 * measures the rekey against it.
 *
 *   bench_recrypt [SECTOR_SIZE [MIB]]     (default 512, 1024)
 *
 * Prints "recrypt bound: <MB/s> MB/s (...)" (10^6 bytes per second).
 */
#include <gcrypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libvol.h"
#include "sector_engine.h"

#define PIECE (1u << 20)  /* as RECRYPT_PIECE in libvol/rekey.c */
#define REPS 3

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct vol_engine *engine(uint32_t sector_size)
{
	uint8_t key[64];
	struct vol_engine *eng = NULL;

	gcry_randomize(key, sizeof(key), GCRY_STRONG_RANDOM);
	if (vol_engine_new_raw(key, sizeof(key), sector_size, 0, &eng))
		return NULL;
	return eng;
}

int main(int argc, char **argv)
{
	uint32_t ss = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 512;
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 1024;
	size_t len = mib << 20;
	struct vol_engine *old_eng, *new_eng;
	double best = 0, sum = 0;
	uint8_t *buf;

	gcry_check_version(NULL);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	old_eng = engine(ss);
	new_eng = engine(ss);
	buf = malloc(len);
	if (!old_eng || !new_eng || !buf || (ss != 512 && ss != 4096)) {
		fprintf(stderr, "bench_recrypt: cannot set up (sector size %u, %zu MiB)\n", ss, mib);
		return 1;
	}
	memset(buf, 0x5a, len); /* every page touched before the clock starts */
	for (int rep = 0; rep < REPS; rep++) {
		double t0 = now_s(), mbps;

		for (size_t off = 0; off < len; off += PIECE) {
			size_t n = len - off < PIECE ? len - off : PIECE;

			if (vol_engine_decrypt(old_eng, off / 512, buf + off, n) ||
			    vol_engine_encrypt(new_eng, off / 512, buf + off, n)) {
				fprintf(stderr, "bench_recrypt: engine failed\n");
				return 1;
			}
		}
		mbps = (double)len / (now_s() - t0) / 1e6;
		sum += mbps;
		best = mbps > best ? mbps : best;
	}
	printf("recrypt bound: %.0f MB/s (%u-byte sectors, %zu MiB in memory, mean of %d; best %.0f)\n",
	       sum / REPS, ss, mib, REPS, best);
	vol_engine_free(old_eng);
	vol_engine_free(new_eng);
	free(buf);
	return 0;
}
