/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * volcrypt: command line front end of libvol.  This file sets up the
 * process (hardening, libgcrypt, logging) and dispatches to a command;
 * the commands live in cmd_*.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <gcrypt.h>

#include "command.h"
#include "exit_codes.h"
#include "options.h"
#include "report.h"
#include "target.h"

#ifndef VOLCRYPT_VERSION
#define VOLCRYPT_VERSION "unknown"
#endif

/* Passphrases and derivations share it; libgcrypt grows it if needed. */
#define SECURE_MEMORY_BYTES (4u << 20)

static const struct command commands[] = {
	{ "format", "TARGET", 1,
	  OPTSET_FORMAT | OPTSET_KDF | OPTSET_FORCE | OPTSET_KEY_FILE,
	  "Write a new volcrypt header to TARGET; its passphrase goes to keyslot 0.",
	  cmd_format, 0 },
	{ "dump", "TARGET", 1, OPTSET_VOLUME_KEY | OPTSET_KEY_FILE,
	  "Show the header of TARGET.", cmd_dump, 0 },
	{ "add-key", "TARGET", 1, OPTSET_KEY_FILE | OPTSET_NEW_KEY_FILE | OPTSET_SLOT | OPTSET_KDF,
	  "Add a passphrase in a free keyslot.", cmd_add_key, 0 },
	{ "remove-key", "TARGET", 1, OPTSET_KEY_FILE | OPTSET_SLOT | OPTSET_FORCE,
	  "Remove the keyslot a passphrase opens, or the one given with --slot.",
	  cmd_remove_key, 0 },
	{ "passwd", "TARGET", 1, OPTSET_KEY_FILE | OPTSET_NEW_KEY_FILE | OPTSET_SLOT | OPTSET_KDF,
	  "Change a passphrase.", cmd_passwd, 0 },
	{ "test-key", "TARGET", 1, OPTSET_KEY_FILE | OPTSET_SLOT,
	  "Check whether a passphrase opens TARGET (exit status 0 or 2).", cmd_test_key, 0 },
	{ "header-backup", "TARGET FILE", 2, 0,
	  "Save the header area of TARGET to the new file FILE.", cmd_header_backup, 0 },
	{ "header-restore", "TARGET FILE", 2, OPTSET_FORCE,
	  "Replace the header area of TARGET with the backup in FILE.", cmd_header_restore, 0 },
	{ "benchmark", "", 0, OPTSET_KDF,
	  "Show the KDF parameters calibration picks and the cipher speed.", cmd_benchmark, 0 },
	{ "open", "TARGET NAME", 2, OPTSET_KEY_FILE | OPTSET_SLOT | OPTSET_MAP,
	  "Unlock TARGET and map it as a block device called NAME; prints its path.",
	  cmd_open, 0 },
	{ "close", "NAME", 1, 0, "Remove the mapping NAME (refused while it is in use).",
	  cmd_close, 0 },
	{ "status", "[NAME]", 0, 0, "Show mapping NAME, or every volcrypt mapping.",
	  cmd_status, 1 },
	{ "rekey", "TARGET|NAME", 1, OPTSET_KEY_FILE | OPTSET_REKEY,
	  "Re-encrypt the volume under a new volume key (online if it is open).",
	  cmd_rekey, 0 },
	{ "home", "ACTION", 1, OPTSET_HOME | OPTSET_KEY_FILE | OPTSET_KDF,
	  "Layered home directories: setup, unlock, lock, status or migrate.",
	  cmd_home, 0 },
	{ "convert", "TARGET", 1, OPTSET_CONVERT | OPTSET_KEY_FILE | OPTSET_KDF,
	  "Turn TARGET into a LUKS2 volume or back, in place (--to-luks2, --from-luks2).",
	  cmd_convert, 0 },
	{ "tab", "ACTION [NAME|DIR]", 1, OPTSET_TAB | OPTSET_KEY_FILE | OPTSET_MAP,
	  "/etc/volcrypttab: list, device NAME, open NAME, close NAME, generate DIR.",
	  cmd_tab, 1 },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/*
 * Passphrases and the volume key pass through this process: keep them
 * out of core files, and out of reach of ptrace by other processes of
 * the same user (a non-dumpable process cannot be attached to).
 */
static void harden_process(void)
{
	const struct rlimit no_core = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		report_warning("cannot disable core dumps: %s", strerror(errno));
	if (setrlimit(RLIMIT_CORE, &no_core))
		report_warning("cannot limit core file size: %s", strerror(errno));
}

/* libvol requires the application to initialise libgcrypt. */
static int init_gcrypt(void)
{
	if (!gcry_check_version(GCRYPT_VERSION))
		return report_error(-EPROTONOSUPPORT, "libgcrypt",
				    "version %s or newer required, found %s",
				    GCRYPT_VERSION, gcry_check_version(NULL));
	/* Without mlock rights the memory is still wiped; no need to warn. */
	gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
	if (gcry_control(GCRYCTL_INIT_SECMEM, SECURE_MEMORY_BYTES, 0))
		return report_error(-ENOMEM, "libgcrypt", "cannot set up secure memory");
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	return 0;
}

static void print_overview(FILE *out)
{
	char left[64];
	size_t i;

	fputs("Usage: volcrypt [--version] [--help] COMMAND [OPTIONS] ARGS...\n\n"
	      "Commands:\n", out);
	for (i = 0; i < N_COMMANDS; i++) {
		snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].args);
		fprintf(out, "  %-27s %s\n", left, commands[i].summary);
	}
	fputs("\nRun 'volcrypt COMMAND --help' for the options of a command.\n"
	      "See volcrypt(8) for details.\n", out);
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* Options before the command: only --version and --help exist there. */
static int run_global_option(const char *arg)
{
	if (!strcmp(arg, "--version")) {
		printf("volcrypt %s\n", VOLCRYPT_VERSION);
		return EXIT_STATUS_OK;
	}
	if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
		print_overview(stdout);
		return EXIT_STATUS_OK;
	}
	return report_error(-EINVAL, NULL, "unrecognized option '%s' (see 'volcrypt --help')",
			    arg);
}

/*
 * A TARGET may name a volume by its UUID ("UUID=..."): every command that
 * takes one sees the device path instead (and records it, e.g. as a
 * mapping's target).  NAME arguments are never resolved.
 */
static int resolve_target(const struct command *cmd, struct cli_opts *opts,
			  char path[PATH_MAX])
{
	int status;

	if (!opts->target || strncmp(cmd->args, "TARGET", 6))
		return 0;
	status = target_resolve(opts->target, path, PATH_MAX);
	if (!status)
		opts->target = path;
	return status;
}

static int dispatch(int argc, char **argv)
{
	static char target[PATH_MAX];
	const struct command *cmd;
	struct cli_opts opts;
	int status;

	if (argc < 2)
		return report_error(-EINVAL, NULL, "missing COMMAND (see 'volcrypt --help')");
	if (argv[1][0] == '-')
		return run_global_option(argv[1]);
	cmd = find_command(argv[1]);
	if (!cmd)
		return report_error(-EINVAL, NULL, "unknown command '%s' (see 'volcrypt --help')",
				    argv[1]);
	switch (options_parse(cmd, argc - 1, argv + 1, &opts)) {
	case PARSE_HELP_SHOWN:
		return EXIT_STATUS_OK;
	case PARSE_FAILED:
		return EXIT_STATUS_USAGE;
	case PARSE_RUN:
		break;
	}
	report_set_debug(opts.debug);
	status = resolve_target(cmd, &opts, target);
	return status ? status : cmd->run(&opts);
}

/*
 * A full disk or closed pipe on stdout must not pass for success; it is
 * an I/O error whatever errno says (ENOSPC would read as "no free slot").
 */
static int flush_stdout(int status)
{
	if ((fflush(stdout) || ferror(stdout)) && !status)
		status = report_error(-EIO, "standard output", "%s",
				      strerror(errno ? errno : EIO));
	return status;
}

int main(int argc, char **argv)
{
	int status;

	harden_process();
	status = init_gcrypt();
	if (status)
		return status;
	vol_set_log(report_log, NULL);
	status = dispatch(argc, argv);
	return flush_stdout(status);
}
