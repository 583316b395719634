/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A volcrypt command: its name, arguments, accepted options and the
 * function that runs it.  The table of commands is in main.c.
 */
#ifndef VOLCRYPT_COMMAND_H
#define VOLCRYPT_COMMAND_H

struct cli_opts;

struct command {
	const char *name;
	const char *args;	/* positional arguments for the usage line */
	unsigned int nargs;	/* how many of them are required */
	unsigned int options;	/* enum option_set bits beyond the common ones */
	const char *summary;	/* one line for --help */
	/* Returns the exit status; errors are reported before returning. */
	int (*run)(const struct cli_opts *opts);
	unsigned int optional_args;	/* how many may follow the required ones */
};

int cmd_format(const struct cli_opts *opts);
int cmd_dump(const struct cli_opts *opts);
int cmd_rekey(const struct cli_opts *opts);
int cmd_add_key(const struct cli_opts *opts);
int cmd_remove_key(const struct cli_opts *opts);
int cmd_passwd(const struct cli_opts *opts);
int cmd_test_key(const struct cli_opts *opts);
int cmd_header_backup(const struct cli_opts *opts);
int cmd_header_restore(const struct cli_opts *opts);
int cmd_benchmark(const struct cli_opts *opts);
int cmd_open(const struct cli_opts *opts);
int cmd_close(const struct cli_opts *opts);
int cmd_status(const struct cli_opts *opts);
int cmd_home(const struct cli_opts *opts);
int cmd_convert(const struct cli_opts *opts);
int cmd_tab(const struct cli_opts *opts);

#endif /* VOLCRYPT_COMMAND_H */
