/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * volcrypt home setup|unlock|lock|status|migrate: a user's home directory
 * with a per-file layer (fscrypt or eCryptfs) under the user's own
 * passphrase, on the filesystem of an open volcrypt volume
 * (docs/layering.md).  migrate lives in home_migrate.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "confirm.h"
#include "home_migrate.h"
#include "home_target.h"
#include "json_out.h"
#include "options.h"
#include "passphrase.h"
#include "report.h"
#include "run_program.h"

/* fscrypt needs ext4 with the `encrypt` feature: turn it on with consent. */
static int check_filesystem(const struct cli_opts *opts, const struct home_target *t,
			    enum vol_home_layer layer)
{
	char *tune2fs[] = { "tune2fs", "-O", "encrypt", (char *)t->mapping.device, NULL };
	int r = vol_home_fs_check(t->fs_root, layer);

	if (r == -EMEDIUMTYPE)
		return report_error(r, t->fs_root, "the filesystem is not ext4");
	if (r != -EOPNOTSUPP)
		return r ? report_sys_error(r, t->fs_root) : 0;
	r = confirm(opts->batch,
		    "The ext4 filesystem on %s lacks the 'encrypt' feature that fscrypt needs.\n"
		    "It will be enabled (tune2fs -O encrypt %s); Linux older than 4.1 then "
		    "cannot mount it.", t->mapping.device, t->mapping.device);
	if (!r)
		r = run_program(tune2fs);
	if (r)
		return r;
	r = vol_home_fs_check(t->fs_root, layer);
	return r ? report_error(r, t->fs_root, "the 'encrypt' feature is still off") : 0;
}

/* The result line, or with --json {"user", "home", "state"}. */
static int result(const struct cli_opts *opts, const struct home_target *t,
		  const char *state, const char *message)
{
	struct json_object *obj = json_out_object();

	json_out_set_string(obj, "user", t->user);
	json_out_set_string(obj, "home", t->dir);
	json_out_set_string(obj, "state", state);
	return json_out_result(opts->json, obj, "%s %s.\n", t->dir, message);
}

static int not_set_up(const struct home_target *t)
{
	return report_error(-ENOENT, t->user, "no layered home directory on %s "
			    "('volcrypt home setup' first)", t->fs_root);
}

/* Resolves the home and reads its state; with @need_set_up, a user without one is an error. */
static int load_home(const struct cli_opts *opts, bool need_set_up, struct home_target *t,
		     struct vol_home_status *st)
{
	int status = home_target_resolve(opts, false, t), r;

	if (status)
		return status;
	r = vol_home_status(&t->home, st);
	if (r)
		return report_lib_error(r, t->dir);
	return need_set_up && !st->set_up ? not_set_up(t) : 0;
}

static int home_setup(const struct cli_opts *opts)
{
	enum vol_home_layer layer = opts->layer ? opts->layer : VOL_HOME_FSCRYPT;
	struct secret pass = SECRET_INIT;
	struct vol_home_status st;
	struct home_target t;
	char message[600];
	int status, r;

	status = home_target_resolve(opts, true, &t);
	if (!status)
		status = check_filesystem(opts, &t, layer);
	if (status)
		return status;
	r = vol_home_status(&t.home, &st);
	if (r)
		return report_lib_error(r, t.dir);
	if (st.set_up)
		return report_error(-EEXIST, t.user, "already set up on %s (%s)", t.fs_root,
				    vol_home_layer_name(st.protector.layer));
	status = home_passphrase_get(opts, &t, PASSPHRASE_INITIAL, &pass);
	if (!status) {
		r = vol_home_setup(&t.home, layer, &opts->kdf, pass.data, pass.len);
		if (r == -ENOTEMPTY)
			status = report_error(-EEXIST, t.dir, "holds files already: move them in "
					      "with 'volcrypt home migrate'");
		else if (r)
			status = report_lib_error(r, t.dir);
	}
	secret_free(&pass);
	if (status)
		return status;
	snprintf(message, sizeof(message), "is set up for %s (%s on volume %s) and unlocked",
		 t.user, vol_home_layer_name(layer), t.mapping.name);
	return result(opts, &t, "unlocked", message);
}

static int home_unlock(const struct cli_opts *opts)
{
	struct secret pass = SECRET_INIT;
	struct vol_home_status st;
	struct home_target t;
	int status, r;

	status = load_home(opts, true, &t, &st);
	if (status)
		return status;
	if (st.unlocked)
		return result(opts, &t, "unlocked", "is already unlocked");
	status = home_passphrase_get(opts, &t, PASSPHRASE_EXISTING, &pass);
	if (!status) {
		r = vol_home_unlock(&t.home, pass.data, pass.len);
		if (r == -EPERM)
			status = report_error(r, t.user, "wrong passphrase");
		else if (r == -EKEYREJECTED)
			status = report_error(r, t.dir, "the protector of %s is not the key of "
					      "this directory", t.user);
		else if (r)
			status = report_lib_error(r, t.dir);
	}
	secret_free(&pass);
	return status ? status : result(opts, &t, "unlocked", "is unlocked");
}

static int home_lock(const struct cli_opts *opts)
{
	struct vol_home_status st;
	struct home_target t;
	int status, r;

	status = load_home(opts, true, &t, &st);
	if (status)
		return status;
	if (!st.unlocked && !st.removing)
		return result(opts, &t, "locked", "is already locked");
	r = vol_home_lock(&t.home);
	if (r == -EBUSY)
		return report_error(r, t.dir, st.protector.layer == VOL_HOME_FSCRYPT ?
				    "files are still open: the key is gone, but they stay readable "
				    "until they are closed; run lock again then" :
				    "in use: close the files under it first");
	if (r)
		return report_lib_error(r, t.dir);
	return result(opts, &t, "locked", "is locked");
}

static const char *state_name(const struct vol_home_status *st)
{
	if (!st->set_up)
		return "not set up";
	if (st->removing)
		return "locking (files still open)";
	return st->unlocked ? "unlocked" : "locked";
}

static int home_status(const struct cli_opts *opts)
{
	struct json_object *obj, *vol;
	struct vol_home_status st;
	struct home_target t;
	int status;

	status = load_home(opts, false, &t, &st);
	if (status)
		return status;
	obj = json_out_object();
	vol = json_out_object();
	json_out_set_string(obj, "user", t.user);
	json_out_set_u64(obj, "uid", t.home.uid);
	json_out_set_string(obj, "home", t.dir);
	json_out_set_string(obj, "filesystem", t.fs_root);
	json_out_set_string(vol, "name", t.mapping.name);
	json_out_set_string(vol, "backend", vol_backend_name(t.mapping.backend));
	json_out_set_string(vol, "device", t.mapping.device);
	json_out_set_string(vol, "target", t.mapping.target);
	json_out_set(obj, "volume", vol);
	json_out_set_string(obj, "state", state_name(&st));
	if (st.set_up)
		json_out_set_string(obj, "layer", vol_home_layer_name(st.protector.layer));
	return json_out_result(opts->json, obj,
			       "user:      %s (uid %u)\n"
			       "home:      %s\n"
			       "volume:    %s (%s backend, %s), filesystem %s\n"
			       "per-file:  %s%s%s\n",
			       t.user, t.home.uid, t.dir, t.mapping.name,
			       vol_backend_name(t.mapping.backend), t.mapping.device, t.fs_root,
			       st.set_up ? vol_home_layer_name(st.protector.layer) : "",
			       st.set_up ? ", " : "", state_name(&st));
}

static const struct {
	const char *name;
	int (*run)(const struct cli_opts *opts);
} actions[] = {
	{ "setup", home_setup },
	{ "unlock", home_unlock },
	{ "lock", home_lock },
	{ "status", home_status },
	{ "migrate", home_migrate },
};

int cmd_home(const struct cli_opts *opts)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(opts->target, actions[i].name))
			return actions[i].run(opts);
	return report_error(-EINVAL, opts->target, "unknown action (setup, unlock, lock, "
			    "status or migrate)");
}
