/* SPDX-License-Identifier: GPL-2.0-or-later */
/* volcrypt open TARGET NAME, volcrypt close NAME. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "json_out.h"
#include "mapping_out.h"
#include "options.h"
#include "passphrase.h"
#include "progress.h"
#include "report.h"
#include "tty.h"
#include "volume.h"

/* volcrypt-fused is installed next to volcrypt; libvol finds it there. */
static int activate(struct vol_volume *vol, const struct vol_key *key,
		    const struct vol_key *new_key, const struct cli_opts *opts,
		    struct vol_mapping_info *m)
{
	struct vol_activate_params p = {
		.backend = opts->backend,
		.read_only = opts->read_only,
		.allow_discards = opts->allow_discards,
		.new_key = new_key,
	};
	int r = vol_activate(vol, key, opts->file, &p, m);

	return r ? report_lib_error(r, opts->file) : 0;
}

/* The keys of the volume: one, or both while a rekey is in progress. */
struct open_keys {
	struct vol_key *key;
	struct vol_key *new_key;
	struct vol_rekey_info rekey;
};

/*
 * A volume in the middle of a rekey: both keys; a step a crash
 * interrupted is finished first (read-write), and a rekey whose chunks
 * are all done is finished outright, so that the mapping sees one
 * consistent boundary.
 */
static int unlock_rekeying(const struct cli_opts *opts, struct vol_volume **vol,
			   struct open_keys *k)
{
	struct secret pass = SECRET_INIT;
	int status, err, torn = 0;

	if (!opts->read_only) {
		vol_free(*vol);
		*vol = NULL;
		status = volume_open(opts, 0, vol);
		if (status)
			return status;
	}
	status = passphrase_get(opts->key_file, opts->target, PASSPHRASE_EXISTING, &pass);
	if (status)
		goto out;
	err = vol_rekey_unlock(*vol, pass.data, pass.len, &k->key, &k->new_key);
	if (!err)
		err = vol_rekey_recover(*vol, k->key, k->new_key, &torn);
	if (!err && !k->key) /* every chunk is under the new key */
		err = vol_rekey_run(*vol, NULL, k->new_key, NULL, NULL);
	if (!err && !k->key) {
		k->key = k->new_key;
		k->new_key = NULL;
	}
	if (err)
		status = report_lib_error(err, opts->target);
	else if (torn)
		report_warning("%d sectors were torn by a crash during the rekey", torn);
	vol_get_rekey_info(*vol, &k->rekey);
out:
	secret_free(&pass);
	/* The mapping must be able to claim the device: drop our write handle. */
	if (!status && !opts->read_only) {
		vol_free(*vol);
		*vol = NULL;
		status = volume_open(opts, VOL_LOAD_READONLY, vol);
	}
	return status;
}

static int unlock_keys(const struct cli_opts *opts, struct vol_volume **vol,
		       struct open_keys *k)
{
	vol_get_rekey_info(*vol, &k->rekey);
	if (k->rekey.running)
		return unlock_rekeying(opts, vol, k);
	return volume_unlock(*vol, opts, opts->slot, NULL, &k->key);
}

static int on_progress(const struct vol_rekey_progress *p, void *ctx)
{
	progress_update(ctx, p->done, p->total, p->this_run, p->elapsed_ms);
	return 0;
}

/* The rekey continued online through the mapping just made. */
static int resume_now(const struct cli_opts *opts, const struct open_keys *k)
{
	struct vol_volume *vol = NULL;
	struct progress bar;
	int err;

	err = vol_load(opts->target, VOL_LOAD_ONLINE, &vol);
	if (!err) {
		progress_init(&bar, "rekey", false);
		err = vol_rekey_run_mapping(vol, opts->file, k->key, k->new_key, on_progress, &bar);
		progress_end(&bar);
	}
	vol_free(vol);
	if (err)
		return report_lib_error(err, opts->target);
	fprintf(stderr, "volcrypt: the rekey of %s is finished\n", opts->target);
	return 0;
}

/*
 * A rekey in progress: offered on a terminal (it may take long, and the
 * volume is usable meanwhile), mentioned otherwise -- a script decides
 * itself when to run `rekey --resume`.
 */
static int offer_resume(const struct cli_opts *opts, const struct open_keys *k,
			const struct vol_mapping_info *m)
{
	double pct = progress_percent(k->rekey.boundary, k->rekey.data_size);
	struct secret answer = SECRET_INIT;
	char prompt[256];
	int yes;

	if (!k->rekey.running || opts->json)
		return 0;
	/* dm-crypt cannot continue it online: only the hint (rekey says why). */
	if (opts->batch || !tty_interactive() || m->backend == VOL_BACKEND_DMCRYPT) {
		fprintf(stderr, "volcrypt: a rekey of %s is %.1f%% done; continue it with "
			"'volcrypt rekey --resume %s'\n", opts->target, pct, opts->file);
		return 0;
	}
	snprintf(prompt, sizeof(prompt), "A rekey of %s is %.1f%% done. Resume it now "
		 "(the volume stays usable)? [y/N] ", opts->target, pct);
	yes = !tty_ask(prompt, true, &answer) && answer.len &&
	      (answer.data[0] == 'y' || answer.data[0] == 'Y');
	secret_free(&answer);
	if (yes)
		return resume_now(opts, k);
	fprintf(stderr, "volcrypt: continue it later with 'volcrypt rekey --resume %s'\n",
		opts->file);
	return 0;
}

int cmd_open(const struct cli_opts *opts)
{
	struct open_keys k = { 0 };
	struct vol_volume *vol = NULL;
	struct vol_mapping_info m;
	int status;

	/* A bad NAME is a usage error: say so before asking for a passphrase. */
	if (vol_name_check(opts->file))
		return report_lib_error(-EINVAL, opts->file);
	/* A LUKS2 volume maps like ours: same data layout, key from libcryptsetup. */
	status = volume_open(opts, VOL_LOAD_READONLY | VOL_LOAD_LUKS2, &vol);
	if (!status)
		status = unlock_keys(opts, &vol, &k);
	if (!status)
		status = activate(vol, k.key, k.new_key, opts, &m);
	vol_free(vol);
	/* The device exists whatever the answer: its path is printed below. */
	if (!status)
		offer_resume(opts, &k, &m);
	vol_key_free(k.key);
	vol_key_free(k.new_key);
	if (status)
		return status;
	if (opts->json)
		return json_out_print(mapping_json(&m, NULL), JSON_OUT_PLAIN);
	if (opts->backend == VOL_BACKEND_AUTO)
		fprintf(stderr, "volcrypt: %s opened with the %s backend\n", m.name,
			vol_backend_name(m.backend));
	printf("%s\n", m.device);
	return 0;
}

int cmd_close(const struct cli_opts *opts)
{
	struct json_object *o;
	int r = vol_deactivate(opts->target);

	if (r)
		return report_lib_error(r, opts->target);
	o = json_out_object();
	json_out_set_string(o, "name", opts->target);
	json_out_set(o, "closed", json_object_new_boolean(1));
	return json_out_result(opts->json, o, "%s", "");
}
