/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command line options shared by the volcrypt commands: one table of
 * options, parsed with getopt_long, from which each command accepts the
 * groups it names and from which its --help text is generated.
 */
#ifndef VOLCRYPT_OPTIONS_H
#define VOLCRYPT_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "libvol.h"
#include "passphrase.h"

struct command;

/* Option groups a command may accept; --batch, --json, --debug, --help always. */
enum option_set {
	OPTSET_KEY_FILE = 1u << 0,	/* --key-file */
	OPTSET_NEW_KEY_FILE = 1u << 1,	/* --new-key-file */
	OPTSET_SLOT = 1u << 2,		/* --slot */
	OPTSET_FORCE = 1u << 3,		/* --force */
	OPTSET_KDF = 1u << 4,		/* --pbkdf, --iter-time, --pbkdf-* */
	OPTSET_FORMAT = 1u << 5,	/* --size, --label, --sector-size, --uuid */
	OPTSET_VOLUME_KEY = 1u << 6,	/* --volume-key */
	OPTSET_MAP = 1u << 7,		/* --backend, --read-only, --allow-discards */
	OPTSET_REKEY = 1u << 8,		/* --keep-key-file, --resume, --chunk-size */
	OPTSET_HOME = 1u << 9,		/* --user, --volume, --layer, --home */
	OPTSET_CONVERT = 1u << 10,	/* --to-luks2, --from-luks2 (and --keep-key-file) */
	OPTSET_TAB = 1u << 11,		/* --tab, --initramfs */
};

#define SLOT_ANY (-1)

struct cli_opts {
	const struct command *command;
	const char *target;		/* first argument */
	const char *file;		/* second argument (backup FILE, open's NAME) */

	bool batch;
	bool json;
	bool debug;
	bool force;
	bool volume_key;

	const char *key_file;
	const char *new_key_file;
	int slot;			/* SLOT_ANY when not given */

	bool size_given;
	uint64_t size;
	const char *label;
	const char *uuid;
	uint32_t sector_size;		/* 0: library default */

	struct vol_kdf_params kdf;	/* zero fields: library defaults */

	enum vol_backend backend;	/* VOL_BACKEND_AUTO when not given */
	bool read_only;
	bool allow_discards;

	const char *keep_key_file[KEPT_PASSPHRASES_MAX];
	int keep_key_files;
	bool resume;
	uint64_t chunk_size;		/* 0: library default */

	const char *user;
	const char *volume;
	enum vol_home_layer layer;	/* 0 when not given */
	const char *home;

	bool to_luks2;
	bool from_luks2;
	const char *tab;		/* volcrypttab path (default /etc/volcrypttab) */
	bool initramfs;			/* tab list: the initramfs entries only */
};

enum parse_result {
	PARSE_RUN,		/* run the command with the options */
	PARSE_HELP_SHOWN,	/* --help printed the usage: exit 0 */
	PARSE_FAILED,		/* error line printed: exit 1 */
};

/*
 * Parses the options and arguments of @cmd; @argv[0] is the command name.
 * Options may follow the arguments.
 */
enum parse_result options_parse(const struct command *cmd, int argc, char **argv,
				struct cli_opts *opts);

/* The usage text of @cmd, its options included. */
void options_print_usage(const struct command *cmd, FILE *out);

/* Name of a KDF as volcrypt prints it ("argon2id", "pbkdf2-sha256"). */
const char *kdf_type_name(enum vol_kdf_type type);

/*
 * Parses a byte count with an optional K, M, G or T suffix (powers of
 * 1024).  Returns 0 or -EINVAL (also for zero and overflow).
 */
int parse_size(const char *text, uint64_t *bytes);

#endif /* VOLCRYPT_OPTIONS_H */
