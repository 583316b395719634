/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Keyslot commands: add-key, remove-key, passwd, test-key. */
#include <errno.h>
#include <stdio.h>

#include "command.h"
#include "confirm.h"
#include "json_out.h"
#include "options.h"
#include "passphrase.h"
#include "report.h"
#include "volume.h"

/* Every keyslot command reports one slot: {"keyslot":N} with --json. */
static struct json_object *slot_json(int slot)
{
	struct json_object *obj = json_out_object();

	json_out_set_int(obj, "keyslot", slot);
	return obj;
}

/*
 * add-key and passwd share their steps; they differ in what --slot means.
 * add-key: any passphrase unlocks, --slot is where the new one goes.
 * passwd (@replace): --slot is the passphrase to change, and the new one
 * replaces whichever slot was unlocked.
 */
static int store_new_passphrase(const struct cli_opts *opts, struct vol_volume *vol,
				const struct vol_key *key, int unlocked, bool replace,
				const struct secret *pass, int *slot_out)
{
	if (replace)
		return vol_keyslot_change(vol, key, unlocked, pass->data, pass->len,
					  &opts->kdf, slot_out);
	return vol_keyslot_add(vol, key, opts->slot, pass->data, pass->len, &opts->kdf,
			       slot_out);
}

/* Unlock, ask the new passphrase, store it; *slot_out is where it went. */
static int set_new_passphrase(const struct cli_opts *opts, bool replace, int *slot_out)
{
	struct secret new_pass = SECRET_INIT;
	struct vol_volume *vol = NULL;
	struct vol_key *key = NULL;
	int unlocked = SLOT_ANY, err, status;

	status = volume_open(opts, 0, &vol);
	if (!status)
		status = volume_unlock(vol, opts, replace ? opts->slot : SLOT_ANY, &unlocked,
				       &key);
	if (!status)
		status = passphrase_get(opts->new_key_file, opts->target, PASSPHRASE_NEW,
					&new_pass);
	if (!status) {
		err = store_new_passphrase(opts, vol, key, unlocked, replace, &new_pass,
					   slot_out);
		if (err)
			status = report_lib_error(err, opts->target);
	}
	secret_free(&new_pass);
	vol_key_free(key);
	vol_free(vol);
	return status;
}

int cmd_add_key(const struct cli_opts *opts)
{
	int slot, status;

	status = set_new_passphrase(opts, false, &slot);
	if (status)
		return status;
	return json_out_result(opts->json, slot_json(slot),
			       "Key added to keyslot %d.\n", slot);
}

int cmd_passwd(const struct cli_opts *opts)
{
	int slot, status;

	status = set_new_passphrase(opts, true, &slot);
	if (status)
		return status;
	return json_out_result(opts->json, slot_json(slot),
			       "Passphrase changed (keyslot %d).\n", slot);
}

/* --slot N: no passphrase needed, so the user confirms instead. */
static int choose_slot_to_remove(const struct cli_opts *opts, struct vol_volume *vol,
				 int *slot)
{
	if (opts->slot == SLOT_ANY)
		return volume_unlock(vol, opts, SLOT_ANY, slot, NULL);
	*slot = opts->slot;
	return confirm(opts->batch,
		       "Keyslot %d of %s will be removed; its passphrase will no longer "
		       "open the volume.", opts->slot, opts->target);
}

int cmd_remove_key(const struct cli_opts *opts)
{
	struct vol_volume *vol = NULL;
	int slot = SLOT_ANY, err, status;

	if (opts->slot != SLOT_ANY && opts->key_file)
		return report_error(-EINVAL, "remove-key",
				    "--slot and --key-file exclude each other");
	status = volume_open(opts, 0, &vol);
	if (!status)
		status = choose_slot_to_remove(opts, vol, &slot);
	if (!status) {
		/* libvol refuses the last keyslot itself unless allowed. */
		err = vol_keyslot_remove(vol, slot, opts->force);
		if (err)
			status = report_lib_error(err, opts->target);
	}
	vol_free(vol);
	if (status)
		return status;
	return json_out_result(opts->json, slot_json(slot),
			       "Keyslot %d removed.\n", slot);
}

int cmd_test_key(const struct cli_opts *opts)
{
	struct vol_volume *vol = NULL;
	int slot = SLOT_ANY, status;

	status = volume_open(opts, VOL_LOAD_READONLY, &vol);
	if (!status)
		status = volume_unlock(vol, opts, opts->slot, &slot, NULL);
	vol_free(vol);
	if (status)
		return status;
	return json_out_result(opts->json, slot_json(slot),
			       "Keyslot %d opens the volume.\n", slot);
}
