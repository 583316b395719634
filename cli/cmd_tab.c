/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * volcrypt tab list|device|open|close|generate: /etc/volcrypttab driven
 * from scripts (the initramfs, systemd units).  One entry per call, so
 * that each caller sees one exit status per volume and decides itself
 * (panic, rescue shell, nofail) -- the same contract as `open`.
 */
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "command.h"
#include "exit_codes.h"
#include "json_out.h"
#include "options.h"
#include "report.h"
#include "tab_units.h"
#include "target.h"
#include "tty.h"
#include "volcrypttab.h"

static const char *tab_path(const struct cli_opts *opts)
{
	return opts->tab ? opts->tab : VOLCRYPTTAB_DEFAULT;
}

static struct json_object *entry_json(const struct tab_entry *e)
{
	struct json_object *o = json_out_object();

	json_out_set_string(o, "name", e->name);
	json_out_set_string(o, "device", e->device);
	if (e->key_file)
		json_out_set_string(o, "key_file", e->key_file);
	else if (o)
		json_object_object_add(o, "key_file", NULL); /* none: JSON null */
	json_out_set_string(o, "backend", vol_backend_name(e->backend));
	json_out_set(o, "read_only", json_object_new_boolean(e->read_only));
	json_out_set(o, "discard", json_object_new_boolean(e->discard));
	json_out_set(o, "initramfs", json_object_new_boolean(e->initramfs));
	json_out_set(o, "noauto", json_object_new_boolean(e->noauto));
	json_out_set(o, "nofail", json_object_new_boolean(e->nofail));
	json_out_set_int(o, "tries", e->tries);
	json_out_set_int(o, "line", e->line);
	return o;
}

/* One line an entry, "NAME DEVICE KEY-FILE OPTIONS": easy to `read` in sh. */
static int tab_list(const struct cli_opts *opts, const struct volcrypttab *tab)
{
	struct json_object *arr = json_out_array();
	char options[256];

	for (size_t i = 0; i < tab->count; i++) {
		const struct tab_entry *e = &tab->entries[i];

		if (opts->initramfs && !e->initramfs)
			continue;
		if (opts->json) {
			json_out_append(arr, entry_json(e));
			continue;
		}
		tab_options_string(e, options, sizeof(options));
		printf("%s %s %s %s\n", e->name, e->device, e->key_file ? e->key_file : "none",
		       options);
	}
	if (opts->json)
		return json_out_print(arr, JSON_OUT_PLAIN);
	json_out_discard(arr);
	return 0;
}

static int find_entry(const struct cli_opts *opts, const struct volcrypttab *tab,
		      const struct tab_entry **e)
{
	if (!opts->file)
		return report_error(-EINVAL, "tab", "%s needs the NAME of an entry", opts->target);
	*e = tab_find(tab, opts->file);
	if (!*e)
		return report_error(-EINVAL, tab_path(opts), "no entry called '%s'", opts->file);
	return 0;
}

/* The block device of the entry (UUID= resolved); exit 4 while it is absent. */
static int tab_device(const struct tab_entry *e)
{
	char path[PATH_MAX];
	int status = target_resolve(e->device, path, sizeof(path));

	if (!status)
		printf("%s\n", path);
	return status;
}

/*
 * `open` with the entry's device, name, key file and options.  On a
 * terminal without a key file a wrong passphrase is asked again, up to
 * the entry's tries; then exit 2 with a line that says it gave up.
 */
static int tab_open(const struct cli_opts *opts, const struct tab_entry *e)
{
	struct cli_opts o = *opts;
	char path[PATH_MAX];
	unsigned int tries = 1, t;
	int status = target_resolve(e->device, path, sizeof(path));

	if (status)
		return status;
	o.target = path;
	o.file = e->name;
	if (!o.key_file)
		o.key_file = e->key_file;
	if (o.backend == VOL_BACKEND_AUTO)
		o.backend = e->backend;
	o.read_only = o.read_only || e->read_only;
	o.allow_discards = o.allow_discards || e->discard;
	if (!o.key_file && tty_interactive())
		tries = e->tries;
	for (t = 1; t <= tries; t++) {
		status = cmd_open(&o);
		if (status != EXIT_STATUS_AUTH)
			return status;
		if (t < tries)
			fprintf(stderr, "volcrypt: %s: %u of %u tries left\n", e->name,
				tries - t, tries);
	}
	if (tries > 1)
		fprintf(stderr, "volcrypt: %s: giving up after %u wrong passphrases\n", e->name,
			tries);
	return status;
}

static int tab_close(const struct cli_opts *opts, const struct tab_entry *e)
{
	struct cli_opts o = *opts;

	o.target = e->name;
	return cmd_close(&o);
}

/* The program the units run: this one (resolved, since PATH is not theirs). */
static int self_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n < 0)
		return report_sys_error(-errno, "/proc/self/exe");
	buf[n] = '\0';
	return 0;
}

static int tab_generate(const struct cli_opts *opts, const struct volcrypttab *tab)
{
	char self[PATH_MAX];
	int status;

	if (!opts->file)
		return report_error(-EINVAL, "tab", "generate needs the output DIR (systemd passes "
				    "it to the generator)");
	status = self_path(self, sizeof(self));
	return status ? status : tab_units_write(tab, tab_path(opts), opts->file, self);
}

enum tab_action { TAB_LIST, TAB_DEVICE, TAB_OPEN, TAB_CLOSE, TAB_GENERATE, TAB_ACTIONS };

static const char *const action_names[TAB_ACTIONS] = {
	[TAB_LIST] = "list", [TAB_DEVICE] = "device", [TAB_OPEN] = "open",
	[TAB_CLOSE] = "close", [TAB_GENERATE] = "generate",
};

static bool takes_entry(enum tab_action a)
{
	return a == TAB_DEVICE || a == TAB_OPEN || a == TAB_CLOSE;
}

static int run_action(enum tab_action a, const struct cli_opts *opts,
		      const struct volcrypttab *tab)
{
	const struct tab_entry *e = NULL;
	int status = takes_entry(a) ? find_entry(opts, tab, &e) : 0;

	if (status)
		return status;
	switch (a) {
	case TAB_LIST:		return tab_list(opts, tab);
	case TAB_DEVICE:	return tab_device(e);
	case TAB_OPEN:		return tab_open(opts, e);
	case TAB_CLOSE:		return tab_close(opts, e);
	case TAB_GENERATE:	return tab_generate(opts, tab);
	case TAB_ACTIONS:	break;
	}
	return report_error(-EINVAL, "tab", "internal error: action %d", (int)a);
}

int cmd_tab(const struct cli_opts *opts)
{
	struct volcrypttab tab;
	enum tab_action a;
	int status;

	for (a = 0; a < TAB_ACTIONS; a++)
		if (!strcmp(opts->target, action_names[a]))
			break;
	if (a == TAB_ACTIONS)
		return report_error(-EINVAL, "tab", "unknown action '%s' (list, device, open, "
				    "close or generate)", opts->target);
	if ((a == TAB_LIST && opts->file) || (a != TAB_LIST && opts->initramfs))
		return report_error(-EINVAL, "tab", "usage: tab list [--initramfs] | tab "
				    "device|open|close NAME | tab generate DIR");
	/* No table: nothing for the generator to do (systemd runs it on every boot). */
	if (a == TAB_GENERATE && !opts->tab && access(VOLCRYPTTAB_DEFAULT, F_OK) &&
	    errno == ENOENT)
		return 0;
	status = tab_load(tab_path(opts), &tab);
	if (status)
		return status;
	status = run_action(a, opts, &tab);
	tab_free(&tab);
	return status;
}
