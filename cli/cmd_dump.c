/* SPDX-License-Identifier: GPL-2.0-or-later */
/* volcrypt dump: the public header fields, optionally the volume key. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "command.h"
#include "confirm.h"
#include "fdio.h"
#include "hex.h"
#include "json_out.h"
#include "options.h"
#include "progress.h"
#include "report.h"
#include "secret.h"
#include "volume.h"

/* libvol only offers one volume key digest type. */
#define DIGEST_TYPE "pbkdf2-sha256"

static const char *copy_state_name(enum vol_copy_state state)
{
	switch (state) {
	case VOL_COPY_OK:
		return "ok";
	case VOL_COPY_STALE:
		return "stale";
	case VOL_COPY_DAMAGED:
		return "damaged";
	}
	return "unknown";
}

/* ------------------------------------------------------------ volume key */

/*
 * The volume key as hex text in @hex (secure memory).  Order as the spec
 * wants it: passphrase check, warning, confirmation, then the export.
 */
static int reveal_volume_key(const struct cli_opts *opts, struct vol_volume *vol,
			     struct secret *hex)
{
	struct secret raw = SECRET_INIT;
	struct vol_key *key = NULL;
	int len = 0, status;

	status = volume_unlock(vol, opts, SLOT_ANY, NULL, &key);
	if (!status) {
		report_warning("the volume key opens %s without any passphrase; "
			       "whoever sees it can read the data", opts->target);
		status = confirm(opts->batch, "The volume key of %s will be printed in clear.",
				 opts->target);
	}
	if (!status && secret_reserve(&raw, VOL_VOLUME_KEY_BYTES))
		status = report_sys_error(-ENOMEM, opts->target);
	if (!status) {
		len = vol_key_export(key, (uint8_t *)raw.data, raw.cap);
		if (len < 0)
			status = report_lib_error(len, opts->target);
	}
	if (!status && secret_reserve(hex, 2 * (size_t)len + 1))
		status = report_sys_error(-ENOMEM, opts->target);
	if (!status) {
		hex_encode((const uint8_t *)raw.data, (size_t)len, hex->data);
		hex->len = 2 * (size_t)len;
	}
	vol_key_free(key);
	secret_free(&raw);
	return status;
}

/* ------------------------------------------------------------ human form */

/* Column layout of the human form: header fields, then keyslot fields. */
#define FIELD "%-20s"
#define SLOT_FIELD "      %-14s"

/* "ok, stale": the state of both copies of something. */
static const char *copies_text(const enum vol_copy_state state[2], char *buf, size_t size)
{
	snprintf(buf, size, "%s, %s", copy_state_name(state[0]), copy_state_name(state[1]));
	return buf;
}

static void print_keyslot_human(int slot, const struct vol_keyslot_info *ks)
{
	char copies[32];

	printf("  %d: %s\n", slot, kdf_type_name(ks->kdf));
	if (ks->kdf == VOL_KDF_PBKDF2_SHA256) {
		printf(SLOT_FIELD "%" PRIu32 "\n", "Iterations:", ks->iterations);
	} else {
		printf(SLOT_FIELD "%" PRIu32 "\n", "Time cost:", ks->iterations);
		printf(SLOT_FIELD "%" PRIu32 " KiB\n", "Memory:", ks->memory_kib);
		printf(SLOT_FIELD "%" PRIu32 "\n", "Lanes:", ks->parallel);
	}
	printf(SLOT_FIELD "%" PRIu32 "\n", "Stripes:", ks->stripes);
	if (ks->digest_index)
		printf(SLOT_FIELD "%s\n", "Key:", "new (rekey in progress)");
	printf(SLOT_FIELD "%s\n", "Material:",
	       copies_text(ks->material_state, copies, sizeof(copies)));
}

static void print_info_human(const char *target, const struct vol_info *info)
{
	char digest[2 * sizeof(info->digest) + 1];
	char copies[32];

	hex_encode(info->digest, sizeof(info->digest), digest);
	printf("volcrypt header of %s\n\n", target);
	printf(FIELD "%" PRIu16 "\n", "Version:", info->version);
	printf(FIELD "%s\n", "UUID:", info->uuid);
	printf(FIELD "%s\n", "Label:", info->label[0] ? info->label : "(none)");
	printf(FIELD "%s\n", "Cipher:", info->cipher);
	printf(FIELD "%" PRIu32 "\n", "Key bits:", info->key_bytes * 8);
	printf(FIELD "%" PRIu32 "\n", "Sector size:", info->sector_size);
	printf(FIELD "%" PRIu64 " bytes\n", "Data offset:", info->data_offset);
	printf(FIELD "%" PRIu64 " bytes\n", "Data size:", info->data_size);
	printf(FIELD "%" PRIu64 "\n", "Sequence:", info->sequence);
	printf(FIELD "0x%" PRIx64 "\n", "Incompat features:", info->incompat_features);
	printf(FIELD "0x%" PRIx64 "\n", "Compat features:", info->compat_features);
	printf(FIELD "%s\n", "Metadata copies:",
	       copies_text(info->copy_state, copies, sizeof(copies)));
	printf(FIELD "%s, %" PRIu32 " iterations\n", "Digest:", DIGEST_TYPE,
	       info->digest_iterations);
	printf(FIELD "%s\n", "", digest);
}

static void format_time(uint64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "%" PRIu64, t);
}

/* The rekey in progress and the finished ones (docs/FORMAT.md, section 5). */
static void print_rekey_human(const struct vol_rekey_info *rk)
{
	char digest[2 * sizeof(rk->new_digest) + 1], when[64], until[64];

	if (rk->running) {
		hex_encode(rk->new_digest, sizeof(rk->new_digest), digest);
		format_time(rk->started, when, sizeof(when));
		printf(FIELD "in progress since %s: %.1f%% (%" PRIu64 " of %" PRIu64
		       " bytes), %" PRIu64 "-byte chunks\n", "Rekey:", when,
		       progress_percent(rk->boundary, rk->data_size), rk->boundary,
		       rk->data_size, rk->chunk_size);
		printf(FIELD "%s\n", "New key digest:", digest);
	}
	printf(FIELD "%" PRIu64 "\n", "Rekeys done:", rk->count);
	for (int i = 0; i < rk->history_len; i++) {
		format_time(rk->history[i].started, when, sizeof(when));
		format_time(rk->history[i].finished, until, sizeof(until));
		printf(FIELD "%s .. %s, %" PRIu64 " sectors, %s\n", i ? "" : "Rekey history:",
		       when, until, rk->history[i].bytes / 512,
		       rk->history[i].online ? "online" : "offline");
	}
}

static int dump_human(const struct cli_opts *opts, const struct vol_volume *vol,
		      const struct vol_info *info, const struct secret *key_hex)
{
	struct vol_keyslot_info ks;
	int slot, err;

	struct vol_rekey_info rk;

	print_info_human(opts->target, info);
	vol_get_rekey_info(vol, &rk);
	print_rekey_human(&rk);
	printf("Keyslots:\n");
	for (slot = 0; slot < VOL_KEYSLOTS; slot++) {
		err = vol_get_keyslot(vol, slot, &ks);
		if (err)
			return report_lib_error(err, opts->target);
		if (ks.active)
			print_keyslot_human(slot, &ks);
	}
	if (!key_hex->len)
		return 0;
	printf("\nVolume key: ");
	err = stdout_write_unbuffered(key_hex->data, key_hex->len);
	if (!err)
		err = stdout_write_unbuffered("\n", 1);
	return err ? report_sys_error(err, "standard output") : 0;
}

/* ------------------------------------------------------------- JSON form */

static struct json_object *copies_json(const enum vol_copy_state state[2])
{
	struct json_object *arr = json_out_array();

	json_out_append(arr, json_object_new_string(copy_state_name(state[0])));
	json_out_append(arr, json_object_new_string(copy_state_name(state[1])));
	return arr;
}

static struct json_object *keyslot_json(int slot, const struct vol_keyslot_info *ks)
{
	struct json_object *obj = json_out_object();

	json_out_set_int(obj, "slot", slot);
	json_out_set_string(obj, "kdf", kdf_type_name(ks->kdf));
	json_out_set_u64(obj, "iterations", ks->iterations);
	json_out_set_u64(obj, "memory_kib", ks->memory_kib);
	json_out_set_u64(obj, "parallel", ks->parallel);
	json_out_set_u64(obj, "stripes", ks->stripes);
	json_out_set(obj, "material", copies_json(ks->material_state));
	json_out_set_string(obj, "key", ks->digest_index ? "new" : "current");
	return obj;
}

static int keyslots_json(const struct cli_opts *opts, const struct vol_volume *vol,
			 struct json_object *arr)
{
	struct vol_keyslot_info ks;
	int slot, err;

	for (slot = 0; slot < VOL_KEYSLOTS; slot++) {
		err = vol_get_keyslot(vol, slot, &ks);
		if (err)
			return report_lib_error(err, opts->target);
		if (ks.active)
			json_out_append(arr, keyslot_json(slot, &ks));
	}
	return 0;
}

static struct json_object *info_json(const struct vol_info *info)
{
	struct json_object *obj = json_out_object();
	struct json_object *digest = json_out_object();

	json_out_set_u64(obj, "version", info->version);
	json_out_set_string(obj, "uuid", info->uuid);
	json_out_set_string(obj, "label", info->label);
	json_out_set_string(obj, "cipher", info->cipher);
	json_out_set_u64(obj, "key_bits", (uint64_t)info->key_bytes * 8);
	json_out_set_u64(obj, "sector_size", info->sector_size);
	json_out_set_u64(obj, "data_offset", info->data_offset);
	json_out_set_u64(obj, "data_size", info->data_size);
	json_out_set_u64(obj, "sequence", info->sequence);
	json_out_set_u64(obj, "incompat_features", info->incompat_features);
	json_out_set_u64(obj, "compat_features", info->compat_features);
	json_out_set(obj, "metadata_copies", copies_json(info->copy_state));
	json_out_set_string(digest, "type", DIGEST_TYPE);
	json_out_set_u64(digest, "iterations", info->digest_iterations);
	json_out_set_hex(digest, "value", info->digest, sizeof(info->digest));
	json_out_set(obj, "digest", digest);
	return obj;
}

static struct json_object *rekey_json(const struct vol_rekey_info *rk)
{
	struct json_object *obj = json_out_object();
	struct json_object *history = json_out_array();

	json_out_set(obj, "in_progress", json_object_new_boolean(rk->running));
	if (rk->running) {
		json_out_set_u64(obj, "boundary", rk->boundary);
		json_out_set_u64(obj, "total", rk->data_size);
		json_out_set_u64(obj, "chunk_size", rk->chunk_size);
		json_out_set_u64(obj, "started", rk->started);
		json_out_set_hex(obj, "new_digest", rk->new_digest, sizeof(rk->new_digest));
	}
	json_out_set_u64(obj, "count", rk->count);
	for (int i = 0; i < rk->history_len; i++) {
		struct json_object *h = json_out_object();

		json_out_set_u64(h, "started", rk->history[i].started);
		json_out_set_u64(h, "finished", rk->history[i].finished);
		json_out_set_u64(h, "sectors", rk->history[i].bytes / 512);
		json_out_set_string(h, "mode", rk->history[i].online ? "online" : "offline");
		json_out_append(history, h);
	}
	json_out_set(obj, "history", history);
	return obj;
}

static int dump_json(const struct cli_opts *opts, const struct vol_volume *vol,
		     const struct vol_info *info, const struct secret *key_hex)
{
	struct json_object *out = info_json(info);
	struct json_object *keyslots = json_out_array();
	struct vol_rekey_info rk;
	int status;

	vol_get_rekey_info(vol, &rk);
	json_out_set(out, "rekey", rekey_json(&rk));
	json_out_set(out, "keyslots", keyslots);
	status = keyslots_json(opts, vol, keyslots);
	if (status) {
		json_out_discard(out);
		return status;
	}
	if (!key_hex->len)
		return json_out_print(out, JSON_OUT_PLAIN);
	json_out_set(out, "volume_key",
		     json_object_new_string_len(key_hex->data, (int)key_hex->len));
	return json_out_print(out, JSON_OUT_WIPE);
}

int cmd_dump(const struct cli_opts *opts)
{
	struct secret key_hex = SECRET_INIT;
	struct vol_volume *vol = NULL;
	struct vol_info info;
	int err, status;

	if (opts->key_file && !opts->volume_key)
		return report_error(-EINVAL, "dump", "--key-file is only used with --volume-key");
	status = volume_open(opts, VOL_LOAD_READONLY, &vol);
	if (!status) {
		err = vol_get_info(vol, &info);
		if (err)
			status = report_lib_error(err, opts->target);
	}
	if (!status && opts->volume_key)
		status = reveal_volume_key(opts, vol, &key_hex);
	if (!status)
		status = opts->json ? dump_json(opts, vol, &info, &key_hex)
				    : dump_human(opts, vol, &info, &key_hex);
	secret_free(&key_hex);
	vol_free(vol);
	return status;
}
