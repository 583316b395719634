/* SPDX-License-Identifier: GPL-2.0-or-later */
/* volcrypt benchmark: KDF calibration and sector engine throughput. */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "command.h"
#include "json_out.h"
#include "options.h"
#include "report.h"

/* Enough data per run to hide thread start-up, little enough to be quick. */
#define CIPHER_BENCH_BYTES (256u << 20)
#define CIPHER_NAME "aes-xts"
#define CIPHER_KEY_BITS (VOL_VOLUME_KEY_BYTES * 8)

static const uint32_t sector_sizes[] = { 512, 4096 };
#define N_SECTOR_SIZES (sizeof(sector_sizes) / sizeof(sector_sizes[0]))
/* One thread and all online CPUs. */
#define MAX_CIPHER_RUNS (N_SECTOR_SIZES * 2)

struct kdf_result {
	struct vol_keyslot_info chosen;
	double ms;
};

struct cipher_result {
	uint32_t sector_size;
	unsigned int threads;
	double encrypt_mbps;
	double decrypt_mbps;
};

static unsigned int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 1 ? (unsigned int)n : 1;
}

/* One run per sector size and thread count; *n_runs says how many. */
static int measure_ciphers(struct cipher_result *runs, int *n_runs)
{
	unsigned int thread_counts[2] = { 1, online_cpus() };
	size_t n_counts = thread_counts[1] > 1 ? 2 : 1;
	struct cipher_result *run = runs;
	size_t s, t;
	int err;

	for (s = 0; s < N_SECTOR_SIZES; s++) {
		for (t = 0; t < n_counts; t++, run++) {
			run->sector_size = sector_sizes[s];
			run->threads = thread_counts[t];
			err = vol_benchmark_cipher(run->sector_size, run->threads,
						   CIPHER_BENCH_BYTES, &run->encrypt_mbps,
						   &run->decrypt_mbps);
			if (err)
				return report_lib_error(err, "benchmark");
		}
	}
	*n_runs = (int)(run - runs);
	return 0;
}

static void print_kdf_human(const struct kdf_result *kdf)
{
	const struct vol_keyslot_info *c = &kdf->chosen;

	if (c->kdf == VOL_KDF_PBKDF2_SHA256)
		printf("KDF %s: %" PRIu32 " iterations: %.1f ms\n", kdf_type_name(c->kdf),
		       c->iterations, kdf->ms);
	else
		printf("KDF %s: time cost %" PRIu32 ", memory %" PRIu32 " KiB, %" PRIu32
		       " lanes: %.1f ms\n", kdf_type_name(c->kdf), c->iterations,
		       c->memory_kib, c->parallel, kdf->ms);
}

static void print_human(const struct kdf_result *kdf, const struct cipher_result *runs,
			int n_runs)
{
	int i;

	print_kdf_human(kdf);
	printf("\n%-8s %8s %7s %8s %14s %14s\n", "Cipher", "Key bits", "Sector", "Threads",
	       "Encrypt", "Decrypt");
	for (i = 0; i < n_runs; i++)
		printf("%-8s %8d %7" PRIu32 " %8u %9.1f MB/s %9.1f MB/s\n", CIPHER_NAME,
		       CIPHER_KEY_BITS, runs[i].sector_size, runs[i].threads,
		       runs[i].encrypt_mbps, runs[i].decrypt_mbps);
}

static struct json_object *kdf_json(const struct kdf_result *kdf)
{
	struct json_object *obj = json_out_object();

	json_out_set_string(obj, "type", kdf_type_name(kdf->chosen.kdf));
	json_out_set_u64(obj, "iterations", kdf->chosen.iterations);
	json_out_set_u64(obj, "memory_kib", kdf->chosen.memory_kib);
	json_out_set_u64(obj, "parallel", kdf->chosen.parallel);
	json_out_set_double(obj, "ms", kdf->ms);
	return obj;
}

static struct json_object *cipher_json(const struct cipher_result *run)
{
	struct json_object *obj = json_out_object();

	json_out_set_string(obj, "cipher", CIPHER_NAME);
	json_out_set_int(obj, "key_bits", CIPHER_KEY_BITS);
	json_out_set_u64(obj, "sector_size", run->sector_size);
	json_out_set_u64(obj, "threads", run->threads);
	json_out_set_double(obj, "encrypt_mbps", run->encrypt_mbps);
	json_out_set_double(obj, "decrypt_mbps", run->decrypt_mbps);
	return obj;
}

static int print_json(const struct kdf_result *kdf, const struct cipher_result *runs,
		      int n_runs)
{
	struct json_object *out = json_out_object();
	struct json_object *ciphers = json_out_array();
	int i;

	json_out_set(out, "kdf", kdf_json(kdf));
	for (i = 0; i < n_runs; i++)
		json_out_append(ciphers, cipher_json(&runs[i]));
	json_out_set(out, "cipher", ciphers);
	return json_out_print(out, JSON_OUT_PLAIN);
}

int cmd_benchmark(const struct cli_opts *opts)
{
	struct cipher_result runs[MAX_CIPHER_RUNS];
	struct kdf_result kdf;
	int n_runs = 0, err, status;

	err = vol_benchmark_kdf(&opts->kdf, &kdf.chosen, &kdf.ms);
	if (err)
		return report_lib_error(err, "benchmark");
	status = measure_ciphers(runs, &n_runs);
	if (status)
		return status;
	if (opts->json)
		return print_json(&kdf, runs, n_runs);
	print_human(&kdf, runs, n_runs);
	return 0;
}
