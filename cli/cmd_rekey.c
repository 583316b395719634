/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rekey: re-encrypt a volume under a new volume key.  Offline when the
 * volume is closed; online through the mapping that holds it when it is
 * open (volcrypt kernel target or fuse daemon).  SIGINT/SIGTERM pause
 * after the current chunk; --resume continues.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "json_out.h"
#include "options.h"
#include "passphrase.h"
#include "progress.h"
#include "report.h"
#include "volume.h"

static volatile sig_atomic_t pause_requested;

static void on_pause_signal(int sig)
{
	(void)sig;
	pause_requested = 1;
}

static void catch_pause_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_pause_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

struct rekey_job {
	const struct cli_opts *opts;
	char name[VOL_NAME_MAX + 1];    /* mapping holding the volume, "" offline */
	char target[4096];
	struct progress progress;
	struct vol_rekey_progress last;
};

static int on_progress(const struct vol_rekey_progress *p, void *ctx)
{
	struct rekey_job *job = ctx;

	job->last = *p;
	progress_update(&job->progress, p->done, p->total, p->this_run, p->elapsed_ms);
	return pause_requested;
}

/* TARGET|NAME: a mapping name, or a device/image (mapped or not). */
static int resolve(const struct cli_opts *opts, struct rekey_job *job)
{
	struct vol_mapping_info m;
	int r;

	if (!strchr(opts->target, '/') && !vol_mapping_get(opts->target, &m)) {
		if (m.stale)
			return report_error(-EBUSY, opts->target,
					    "the mapping is stale (its backend died): "
					    "'volcrypt close %s' first", opts->target);
		snprintf(job->name, sizeof(job->name), "%s", m.name);
		snprintf(job->target, sizeof(job->target), "%s", m.target);
		return 0;
	}
	snprintf(job->target, sizeof(job->target), "%s", opts->target);
	r = vol_mapping_find(opts->target, job->name, sizeof(job->name));
	return r < 0 ? report_lib_error(r, opts->target) : 0;
}

static int start_keys(const struct cli_opts *opts, struct vol_volume *vol,
		      const struct secret *pass, struct vol_key **old_key,
		      struct vol_key **new_key, uint64_t chunk)
{
	struct kept_passphrases keep;
	int status, err;

	status = passphrase_get_kept(opts->keep_key_file, opts->keep_key_files, opts->target,
				     &keep);
	if (!status) {
		err = vol_rekey_start(vol, pass->data, pass->len, keep.data, keep.len, keep.n,
				      chunk, old_key, new_key);
		if (err)
			status = report_lib_error(err, opts->target);
	}
	passphrases_kept_free(&keep);
	return status;
}

/* Refusals that need no passphrase: what the header already says. */
static int check_state(const struct cli_opts *opts, struct vol_volume *vol)
{
	struct vol_rekey_info info;

	vol_get_rekey_info(vol, &info);
	if (info.running && !opts->resume)
		return report_error(-EALREADY, opts->target,
				    "a rekey is already in progress (%.1f%% done); "
				    "continue it with --resume",
				    progress_percent(info.boundary, info.data_size));
	if (!info.running && opts->resume)
		return report_error(-EINVAL, opts->target, "no rekey is in progress to resume");
	if (opts->resume && (opts->keep_key_files || opts->chunk_size))
		return report_error(-EINVAL, opts->target,
				    "--keep-key-file and --chunk-size only apply to a new rekey");
	return 0;
}

static int unlock_and_run(struct rekey_job *job, struct vol_volume *vol)
{
	const struct cli_opts *opts = job->opts;
	uint64_t chunk = opts->chunk_size;
	struct secret pass = SECRET_INIT;
	struct vol_key *old_key = NULL, *new_key = NULL;
	int status, err;

	if (!chunk && job->name[0])
		chunk = VOL_REKEY_CHUNK_ONLINE; /* a short wait for I/O to a chunk */
	status = passphrase_get(opts->key_file, opts->target, PASSPHRASE_EXISTING, &pass);
	if (!status && opts->resume) {
		err = vol_rekey_unlock(vol, pass.data, pass.len, &old_key, &new_key);
		status = err ? report_lib_error(err, opts->target) : 0;
	} else if (!status) {
		status = start_keys(opts, vol, &pass, &old_key, &new_key, chunk);
	}
	secret_free(&pass);
	if (status)
		return status;
	catch_pause_signals();
	progress_init(&job->progress, "rekey", opts->json);
	if (job->name[0])
		err = vol_rekey_run_mapping(vol, job->name, old_key, new_key, on_progress, job);
	else
		err = vol_rekey_run(vol, old_key, new_key, on_progress, job);
	progress_end(&job->progress);
	vol_key_free(old_key);
	vol_key_free(new_key);
	if (!err && job->last.torn_sectors)
		report_warning("%d sectors were torn by a crash during the rekey; their data is lost",
			       job->last.torn_sectors);
	if (err == -EINTR)
		return report_error(err, opts->target,
				    "rekey paused at %.1f%%; continue it with --resume",
				    progress_percent(job->last.done, job->last.total));
	return err ? report_lib_error(err, opts->target) : 0;
}

static int report_done(const struct rekey_job *job, struct vol_volume *vol)
{
	struct json_object *obj = json_out_object();
	struct vol_info info;
	double secs = job->last.elapsed_ms / 1e3;

	vol_get_info(vol, &info);
	json_out_set_string(obj, "event", "done");
	json_out_set_string(obj, "mode", job->name[0] ? "online" : "offline");
	if (job->name[0])
		json_out_set_string(obj, "name", job->name);
	json_out_set_u64(obj, "bytes", job->last.this_run);
	json_out_set_double(obj, "seconds", secs);
	json_out_set_u64(obj, "ms", (uint64_t)(job->last.elapsed_ms + 0.5));
	json_out_set_hex(obj, "digest", info.digest, sizeof(info.digest));
	json_out_set_int(obj, "torn_sectors", job->last.torn_sectors);
	/* The last line of the --json stream of events. */
	if (job->opts->json)
		return json_out_print(obj, JSON_OUT_LINE);
	return json_out_result(false, obj,
			       "Rekey of %s finished (%s): %.1f MiB re-encrypted in %.1f s.\n",
			       job->target, job->name[0] ? "online" : "offline",
			       (double)job->last.this_run / (1 << 20), secs);
}

int cmd_rekey(const struct cli_opts *opts)
{
	struct rekey_job job = { .opts = opts };
	struct vol_volume *vol = NULL;
	int status, err;

	status = resolve(opts, &job);
	if (status)
		return status;
	err = vol_load(job.target, job.name[0] ? VOL_LOAD_ONLINE : 0, &vol);
	if (err)
		return report_lib_error(err, job.target);
	status = check_state(opts, vol);
	if (!status)
		status = unlock_and_run(&job, vol);
	if (!status)
		status = report_done(&job, vol);
	vol_free(vol);
	return status;
}
