/* SPDX-License-Identifier: GPL-2.0-or-later */
/* getopt_long parsing of the options shared by all commands. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "options.h"
#include "report.h"

/* Accepted by every command. */
#define OPTSET_COMMON (1u << 31)

/* getopt_long values: the short letter where there is one. */
enum option_id {
	OPT_BATCH = 'q',
	OPT_HELP = 'h',
	OPT_JSON = 256,
	OPT_DEBUG,
	OPT_FORCE,
	OPT_KEY_FILE,
	OPT_NEW_KEY_FILE,
	OPT_SLOT,
	OPT_SIZE,
	OPT_LABEL,
	OPT_SECTOR_SIZE,
	OPT_UUID,
	OPT_VOLUME_KEY,
	OPT_PBKDF,
	OPT_ITER_TIME,
	OPT_PBKDF_MEMORY,
	OPT_PBKDF_PARALLEL,
	OPT_PBKDF_FORCE_ITERATIONS,
	OPT_BACKEND,
	OPT_READ_ONLY,
	OPT_ALLOW_DISCARDS,
	OPT_KEEP_KEY_FILE,
	OPT_RESUME,
	OPT_CHUNK_SIZE,
	OPT_USER,
	OPT_VOLUME,
	OPT_LAYER,
	OPT_HOME,
	OPT_TO_LUKS2,
	OPT_FROM_LUKS2,
	OPT_TAB,
	OPT_INITRAMFS,
};

struct option_spec {
	const char *name;
	enum option_id id;
	unsigned int set;
	const char *arg;	/* NULL: the option takes no argument */
	const char *help;
};

/* In the order --help lists them. */
static const struct option_spec option_table[] = {
	{ "size", OPT_SIZE, OPTSET_FORMAT, "SIZE",
	  "create or grow the image file to SIZE (suffix K, M, G, T)" },
	{ "label", OPT_LABEL, OPTSET_FORMAT, "LABEL", "volume label" },
	{ "sector-size", OPT_SECTOR_SIZE, OPTSET_FORMAT, "BYTES",
	  "encryption sector size: 512 or 4096" },
	{ "uuid", OPT_UUID, OPTSET_FORMAT, "UUID", "use UUID instead of a random one" },
	{ "volume-key", OPT_VOLUME_KEY, OPTSET_VOLUME_KEY, NULL,
	  "also print the volume key (asks for a passphrase)" },
	{ "key-file", OPT_KEY_FILE, OPTSET_KEY_FILE, "FILE",
	  "read the passphrase from FILE ('-' = all of stdin)" },
	{ "new-key-file", OPT_NEW_KEY_FILE, OPTSET_NEW_KEY_FILE, "FILE",
	  "read the new passphrase from FILE ('-' = all of stdin)" },
	{ "slot", OPT_SLOT, OPTSET_SLOT, "N", "keyslot to use (0-7)" },
	{ "pbkdf", OPT_PBKDF, OPTSET_KDF, "TYPE", "key derivation: argon2id or pbkdf2" },
	{ "iter-time", OPT_ITER_TIME, OPTSET_KDF, "MS",
	  "calibrate the KDF to take MS milliseconds" },
	{ "pbkdf-memory", OPT_PBKDF_MEMORY, OPTSET_KDF, "KIB", "Argon2id memory cost in KiB" },
	{ "pbkdf-parallel", OPT_PBKDF_PARALLEL, OPTSET_KDF, "N", "Argon2id lanes" },
	{ "pbkdf-force-iterations", OPT_PBKDF_FORCE_ITERATIONS, OPTSET_KDF, "N",
	  "skip calibration: iterations (time cost)" },
	{ "backend", OPT_BACKEND, OPTSET_MAP, "NAME",
	  "auto (default), volcrypt, dm-crypt or fuse" },
	{ "read-only", OPT_READ_ONLY, OPTSET_MAP, NULL, "map the volume read-only" },
	{ "allow-discards", OPT_ALLOW_DISCARDS, OPTSET_MAP, NULL,
	  "pass discards (TRIM) to the device; reveals unused blocks" },
	{ "to-luks2", OPT_TO_LUKS2, OPTSET_CONVERT, NULL,
	  "make the volcrypt volume a LUKS2 volume (in place, same volume key)" },
	{ "from-luks2", OPT_FROM_LUKS2, OPTSET_CONVERT, NULL,
	  "make the LUKS2 volume a volcrypt volume (in place, same volume key)" },
	{ "keep-key-file", OPT_KEEP_KEY_FILE, OPTSET_REKEY | OPTSET_CONVERT, "FILE",
	  "another passphrase to carry over (repeatable)" },
	{ "resume", OPT_RESUME, OPTSET_REKEY, NULL, "continue an interrupted rekey" },
	{ "chunk-size", OPT_CHUNK_SIZE, OPTSET_REKEY, "SIZE",
	  "bytes re-encrypted per durable step (default 16M offline, 1M online)" },
	{ "user", OPT_USER, OPTSET_HOME, "USER", "the user whose home directory it is" },
	{ "volume", OPT_VOLUME, OPTSET_HOME, "NAME|TARGET",
	  "the open volume whose filesystem holds the home (setup, migrate)" },
	{ "layer", OPT_LAYER, OPTSET_HOME, "LAYER", "per-file layer: fscrypt (default) or ecryptfs" },
	{ "home", OPT_HOME, OPTSET_HOME, "DIR",
	  "the home directory (default: the user's, from the passwd database)" },
	{ "tab", OPT_TAB, OPTSET_TAB, "FILE", "the table to read (default /etc/volcrypttab)" },
	{ "initramfs", OPT_INITRAMFS, OPTSET_TAB, NULL,
	  "list: only the entries the initramfs opens" },
	{ "force", OPT_FORCE, OPTSET_FORCE, NULL, "override the safety check" },
	{ "batch", OPT_BATCH, OPTSET_COMMON, NULL, "never ask for confirmation" },
	{ "json", OPT_JSON, OPTSET_COMMON, NULL, "machine-readable output on stdout" },
	{ "debug", OPT_DEBUG, OPTSET_COMMON, NULL, "show library debug messages" },
	{ "help", OPT_HELP, OPTSET_COMMON, NULL, "show this help" },
};

#define N_OPTIONS (sizeof(option_table) / sizeof(option_table[0]))

static const struct {
	const char *name;
	enum vol_kdf_type type;
} kdf_names[] = {
	/* The first name of a type is the one printed. */
	{ "argon2id", VOL_KDF_ARGON2ID },
	{ "pbkdf2-sha256", VOL_KDF_PBKDF2_SHA256 },
	{ "pbkdf2", VOL_KDF_PBKDF2_SHA256 },
};

#define N_KDF_NAMES (sizeof(kdf_names) / sizeof(kdf_names[0]))

const char *kdf_type_name(enum vol_kdf_type type)
{
	size_t i;

	if (type == VOL_KDF_DEFAULT)
		type = VOL_KDF_ARGON2ID;
	for (i = 0; i < N_KDF_NAMES; i++)
		if (kdf_names[i].type == type)
			return kdf_names[i].name;
	return "unknown";
}

static bool accepts(const struct command *cmd, const struct option_spec *spec)
{
	return (spec->set & (cmd->options | OPTSET_COMMON)) != 0;
}

static bool is_short(enum option_id id)
{
	return id < 256;
}

/* ---------------------------------------------------------------- values */

static int parse_u64(const char *text, uint64_t *value, const char **rest)
{
	char *end;

	/* strtoull() would accept blanks and a sign; a count has neither. */
	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;
	errno = 0;
	*value = strtoull(text, &end, 10);
	if (errno)
		return -EINVAL;
	*rest = end;
	return 0;
}

int parse_size(const char *text, uint64_t *bytes)
{
	static const char suffixes[] = "KMGT";
	const char *rest, *unit;
	uint64_t value;
	unsigned int shift = 0;

	if (parse_u64(text, &value, &rest))
		return -EINVAL;
	if (*rest) {
		unit = strchr(suffixes, toupper((unsigned char)*rest));
		if (!unit || rest[1])
			return -EINVAL;
		shift = 10 * (unsigned int)(unit - suffixes + 1);
	}
	if (!value || value > (UINT64_MAX >> shift))
		return -EINVAL;
	*bytes = value << shift;
	return 0;
}

static int parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
	const char *rest;
	uint64_t value;

	if (parse_u64(text, &value, &rest) || *rest || value < min || value > max)
		return -EINVAL;
	*out = (uint32_t)value;
	return 0;
}

static int parse_kdf_type(const char *text, enum vol_kdf_type *type)
{
	size_t i;

	for (i = 0; i < N_KDF_NAMES; i++) {
		if (!strcmp(text, kdf_names[i].name)) {
			*type = kdf_names[i].type;
			return 0;
		}
	}
	return -EINVAL;
}

/* A numeric option value; zero means "default" to libvol, so it is refused. */
static int option_u32(const char *name, const char *arg, uint32_t *out)
{
	if (parse_u32(arg, 1, UINT32_MAX, out)) {
		report_error(-EINVAL, name, "invalid value '%s' (expected a positive number)",
			     arg);
		return -EINVAL;
	}
	return 0;
}

static int option_slot(const char *arg, int *slot)
{
	uint32_t value;

	if (parse_u32(arg, 0, VOL_KEYSLOTS - 1, &value)) {
		report_error(-EINVAL, "--slot", "invalid keyslot '%s' (expected 0-%d)",
			     arg, VOL_KEYSLOTS - 1);
		return -EINVAL;
	}
	*slot = (int)value;
	return 0;
}

static int option_size(const char *arg, struct cli_opts *opts)
{
	if (parse_size(arg, &opts->size)) {
		report_error(-EINVAL, "--size", "invalid size '%s'", arg);
		return -EINVAL;
	}
	opts->size_given = true;
	return 0;
}

static int option_kdf_type(const char *arg, enum vol_kdf_type *type)
{
	if (parse_kdf_type(arg, type)) {
		report_error(-EINVAL, "--pbkdf", "unknown KDF '%s' (expected argon2id or pbkdf2)",
			     arg);
		return -EINVAL;
	}
	return 0;
}

static int option_keep_key_file(const char *arg, struct cli_opts *opts)
{
	if (opts->keep_key_files == KEPT_PASSPHRASES_MAX)
		return report_error(-EINVAL, "--keep-key-file", "at most %d passphrases to keep",
				    KEPT_PASSPHRASES_MAX);
	opts->keep_key_file[opts->keep_key_files++] = arg;
	return 0;
}

static int option_chunk_size(const char *arg, struct cli_opts *opts)
{
	if (parse_size(arg, &opts->chunk_size))
		return report_error(-EINVAL, "--chunk-size", "invalid size '%s'", arg);
	return 0;
}

static int option_layer(const char *arg, enum vol_home_layer *layer)
{
	if (vol_home_layer_parse(arg, layer) == 0)
		return 0;
	return report_error(-EINVAL, "--layer", "unknown layer '%s' (fscrypt or ecryptfs)", arg);
}

/* Stores one parsed option in @opts.  Returns 0 or -EINVAL (reported). */
static int option_backend(const char *arg, enum vol_backend *backend)
{
	if (vol_backend_parse(arg, backend) == 0)
		return 0;
	return report_error(-EINVAL, "--backend",
			    "unknown backend '%s' (auto, volcrypt, dm-crypt or fuse)", arg);
}

static int apply_option(enum option_id id, const char *arg, struct cli_opts *opts)
{
	struct vol_kdf_params *kdf = &opts->kdf;

	switch (id) {
	case OPT_BATCH:		opts->batch = true; return 0;
	case OPT_JSON:		opts->json = true; return 0;
	case OPT_DEBUG:		opts->debug = true; return 0;
	case OPT_FORCE:		opts->force = true; return 0;
	case OPT_VOLUME_KEY:	opts->volume_key = true; return 0;
	case OPT_KEY_FILE:	opts->key_file = arg; return 0;
	case OPT_NEW_KEY_FILE:	opts->new_key_file = arg; return 0;
	case OPT_LABEL:		opts->label = arg; return 0;
	case OPT_UUID:		opts->uuid = arg; return 0;
	case OPT_SLOT:		return option_slot(arg, &opts->slot);
	case OPT_SIZE:		return option_size(arg, opts);
	case OPT_SECTOR_SIZE:
		return option_u32("--sector-size", arg, &opts->sector_size);
	case OPT_PBKDF:		return option_kdf_type(arg, &kdf->type);
	case OPT_BACKEND:	return option_backend(arg, &opts->backend);
	case OPT_READ_ONLY:	opts->read_only = true; return 0;
	case OPT_ALLOW_DISCARDS:	opts->allow_discards = true; return 0;
	case OPT_KEEP_KEY_FILE:	return option_keep_key_file(arg, opts);
	case OPT_RESUME:	opts->resume = true; return 0;
	case OPT_CHUNK_SIZE:	return option_chunk_size(arg, opts);
	case OPT_USER:		opts->user = arg; return 0;
	case OPT_VOLUME:	opts->volume = arg; return 0;
	case OPT_LAYER:		return option_layer(arg, &opts->layer);
	case OPT_HOME:		opts->home = arg; return 0;
	case OPT_TO_LUKS2:	opts->to_luks2 = true; return 0;
	case OPT_FROM_LUKS2:	opts->from_luks2 = true; return 0;
	case OPT_TAB:		opts->tab = arg; return 0;
	case OPT_INITRAMFS:	opts->initramfs = true; return 0;
	case OPT_ITER_TIME:
		return option_u32("--iter-time", arg, &kdf->iter_time_ms);
	case OPT_PBKDF_MEMORY:
		return option_u32("--pbkdf-memory", arg, &kdf->memory_kib);
	case OPT_PBKDF_PARALLEL:
		return option_u32("--pbkdf-parallel", arg, &kdf->parallel);
	case OPT_PBKDF_FORCE_ITERATIONS:
		return option_u32("--pbkdf-force-iterations", arg, &kdf->force_iterations);
	case OPT_HELP:
		break;
	}
	return -EINVAL;
}

/* --------------------------------------------------------------- getopt */

/* The getopt_long table of the options @cmd accepts. */
static void build_longopts(const struct command *cmd, struct option *longopts)
{
	size_t i, n = 0;

	for (i = 0; i < N_OPTIONS; i++) {
		if (!accepts(cmd, &option_table[i]))
			continue;
		longopts[n].name = option_table[i].name;
		longopts[n].has_arg = option_table[i].arg ? required_argument : no_argument;
		longopts[n].flag = NULL;
		longopts[n].val = (int)option_table[i].id;
		n++;
	}
	memset(&longopts[n], 0, sizeof(longopts[n]));
}

/* getopt_long was told to stay quiet; say what was wrong in our format. */
static void report_bad_option(const struct command *cmd, int result, char **argv)
{
	const char *word = argv[optind - 1];

	if (result == ':')
		report_error(-EINVAL, cmd->name, "option '%s' requires an argument", word);
	else if (optopt > 0 && optopt < 256)
		report_error(-EINVAL, cmd->name, "unrecognized option '-%c'", optopt);
	else if (optopt >= 256)
		report_error(-EINVAL, cmd->name, "option '%.*s' takes no argument",
			     (int)strcspn(word, "="), word);
	else
		report_error(-EINVAL, cmd->name, "unrecognized option '%s'", word);
}

static void init_opts(const struct command *cmd, struct cli_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->command = cmd;
	opts->slot = SLOT_ANY;
}

/* The positional arguments: TARGET and, for the header commands, FILE. */
#define MAX_ARGS 2

/* The words of @cmd->args from the @given-th on: what is still missing. */
static const char *missing_args(const struct command *cmd, unsigned int given)
{
	const char *words = cmd->args;

	while (given--)
		words = strchr(words, ' ') + 1;
	return words;
}

static enum parse_result take_arguments(const struct command *cmd, int argc, char **argv,
					struct cli_opts *opts)
{
	const char *positional[MAX_ARGS] = { NULL, NULL };
	unsigned int n = 0;
	int i;

	for (i = optind; i < argc; i++) {
		if (n == cmd->nargs + cmd->optional_args || n == MAX_ARGS) {
			report_error(-EINVAL, cmd->name, "unexpected argument '%s'", argv[i]);
			return PARSE_FAILED;
		}
		positional[n++] = argv[i];
	}
	if (n < cmd->nargs) {
		report_error(-EINVAL, cmd->name, "missing %s (see 'volcrypt %s --help')",
			     missing_args(cmd, n), cmd->name);
		return PARSE_FAILED;
	}
	opts->target = positional[0];
	opts->file = positional[1];
	return PARSE_RUN;
}

/* Both passphrases cannot be "all of stdin". */
static enum parse_result check_combinations(const struct command *cmd,
					    const struct cli_opts *opts)
{
	if (opts->key_file && opts->new_key_file && !strcmp(opts->key_file, "-") &&
	    !strcmp(opts->new_key_file, "-")) {
		report_error(-EINVAL, cmd->name,
			     "--key-file and --new-key-file cannot both be '-'");
		return PARSE_FAILED;
	}
	return PARSE_RUN;
}

enum parse_result options_parse(const struct command *cmd, int argc, char **argv,
				struct cli_opts *opts)
{
	struct option longopts[N_OPTIONS + 1];
	int c;

	init_opts(cmd, opts);
	build_longopts(cmd, longopts);
	opterr = 0;
	optind = 0;	/* full re-initialisation of GNU getopt */

	/* ':' first: a missing argument is reported apart from an unknown option. */
	while ((c = getopt_long(argc, argv, ":hq", longopts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			report_bad_option(cmd, c, argv);
			return PARSE_FAILED;
		}
		if (c == OPT_HELP) {
			options_print_usage(cmd, stdout);
			return PARSE_HELP_SHOWN;
		}
		if (apply_option((enum option_id)c, optarg, opts))
			return PARSE_FAILED;
	}
	if (take_arguments(cmd, argc, argv, opts) != PARSE_RUN)
		return PARSE_FAILED;
	return check_combinations(cmd, opts);
}

/* ---------------------------------------------------------------- usage */

static void print_option_help(const struct option_spec *spec, FILE *out)
{
	char left[64], letter[8] = "    ";

	if (is_short(spec->id))
		snprintf(letter, sizeof(letter), "-%c, ", (char)spec->id);
	snprintf(left, sizeof(left), "%s--%s%s%s", letter, spec->name,
		 spec->arg ? " " : "", spec->arg ? spec->arg : "");
	fprintf(out, "  %-32s %s\n", left, spec->help);
}

void options_print_usage(const struct command *cmd, FILE *out)
{
	size_t i;

	fprintf(out, "Usage: volcrypt %s%s%s [OPTIONS]\n\n%s\n\nOptions:\n", cmd->name,
		cmd->args[0] ? " " : "", cmd->args, cmd->summary);
	for (i = 0; i < N_OPTIONS; i++)
		if (accepts(cmd, &option_table[i]))
			print_option_help(&option_table[i], out);
	fputs("\nSee volcrypt(8) for details.\n", out);
}
