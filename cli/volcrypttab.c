/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parser of /etc/volcrypttab (format: docs/volcrypttab.5). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "volcrypttab.h"

#define FIELDS_MAX 4
#define STR_(x) #x
#define VOL_STRINGIFY(x) STR_(x)
#define BLANKS " \t\r\n"

/* "none" and "-" both say: no key file, ask for the passphrase. */
static bool is_none(const char *word)
{
	return !strcmp(word, "none") || !strcmp(word, "-");
}

static int bad(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The reason in @why; returns -EINVAL. */
static int bad(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_tries(const char *value, unsigned int *tries)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)value[0]))
		return -EINVAL;
	errno = 0;
	n = strtoul(value, &end, 10);
	if (errno || *end || n < 1 || n > VOLCRYPTTAB_TRIES_MAX)
		return -EINVAL;
	*tries = (unsigned int)n;
	return 0;
}

/* One option of the comma-separated list. */
static int parse_option(char *opt, struct tab_entry *e, char *why, size_t why_len)
{
	char *value = strchr(opt, '=');

	if (value)
		*value++ = '\0';
	if (!value && (!strcmp(opt, "read-only") || !strcmp(opt, "readonly")))
		e->read_only = true;
	else if (!value && !strcmp(opt, "discard"))
		e->discard = true;
	else if (!value && !strcmp(opt, "initramfs"))
		e->initramfs = true;
	else if (!value && !strcmp(opt, "noauto"))
		e->noauto = true;
	else if (!value && !strcmp(opt, "nofail"))
		e->nofail = true;
	else if (value && !strcmp(opt, "backend")) {
		if (vol_backend_parse(value, &e->backend))
			return bad(why, why_len, "unknown backend '%s' (auto, volcrypt, dm-crypt or "
				   "fuse)", value);
	} else if (value && !strcmp(opt, "tries")) {
		if (parse_tries(value, &e->tries))
			return bad(why, why_len, "tries=%s: expected a number from 1 to "
				   VOL_STRINGIFY(VOLCRYPTTAB_TRIES_MAX), value);
	} else if (!strcmp(opt, "backend") || !strcmp(opt, "tries")) {
		return bad(why, why_len, "option '%s' needs a value", opt);
	} else {
		if (value)
			value[-1] = '=';
		return bad(why, why_len, "unknown option '%s'", opt);
	}
	return 0;
}

static int parse_options(char *list, struct tab_entry *e, char *why, size_t why_len)
{
	char *save = NULL, *opt;
	int r;

	if (is_none(list) || !strcmp(list, "defaults"))
		return 0;
	if (list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,"))
		return bad(why, why_len, "empty option in '%s'", list);
	for (opt = strtok_r(list, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		r = parse_option(opt, e, why, why_len);
		if (r)
			return r;
	}
	return 0;
}

/* Splits @buf into at most FIELDS_MAX words; -E2BIG if there are more. */
static int split_fields(char *buf, char *field[FIELDS_MAX], int *n)
{
	char *save = NULL, *word;

	*n = 0;
	for (word = strtok_r(buf, BLANKS, &save); word; word = strtok_r(NULL, BLANKS, &save)) {
		if (*n == FIELDS_MAX)
			return -E2BIG;
		field[(*n)++] = word;
	}
	return 0;
}

static int check_fields(char *field[FIELDS_MAX], int n, char *why, size_t why_len)
{
	const char *dev;

	if (!vol_name_valid(field[0]))
		return bad(why, why_len, "invalid name '%s' (1 to " VOL_STRINGIFY(VOL_NAME_MAX)
			   " characters, no '/', blanks or leading '-')", field[0]);
	if (n < 2)
		return bad(why, why_len, "%s: missing DEVICE (a path or UUID=...)", field[0]);
	dev = field[1];
	if (!strncmp(dev, "UUID=", 5)) {
		if (!vol_uuid_valid(dev + 5))
			return bad(why, why_len, "'%s' is not a UUID (8-4-4-4-12 hexadecimal "
				   "digits)", dev + 5);
	} else if (dev[0] != '/') {
		return bad(why, why_len, "device '%s' is neither an absolute path nor UUID=...",
			   dev);
	}
	if (n > 2 && !is_none(field[2]) && field[2][0] != '/')
		return bad(why, why_len, "key file '%s' is not an absolute path (or none)",
			   field[2]);
	return 0;
}

int tab_parse_line(const char *line, struct tab_entry *e, char *why, size_t why_len)
{
	struct tab_entry t = { .backend = VOL_BACKEND_AUTO, .tries = VOLCRYPTTAB_TRIES_DEFAULT };
	char buf[VOLCRYPTTAB_LINE_MAX], *field[FIELDS_MAX] = { 0 };
	int n, r;

	line += strspn(line, BLANKS);
	if (!*line || *line == '#')
		return 0;
	if ((size_t)snprintf(buf, sizeof(buf), "%s", line) >= sizeof(buf))
		return bad(why, why_len, "%s", "line too long");
	if (split_fields(buf, field, &n))
		return bad(why, why_len, "%s", "too many fields (expected NAME DEVICE "
			   "[KEY-FILE [OPTIONS]])");
	r = check_fields(field, n, why, why_len);
	if (!r && n > 3)
		r = parse_options(field[3], &t, why, why_len);
	if (r)
		return r;
	t.name = strdup(field[0]);
	t.device = strdup(field[1]);
	t.key_file = n > 2 && !is_none(field[2]) ? strdup(field[2]) : NULL;
	if (!t.name || !t.device || (n > 2 && !is_none(field[2]) && !t.key_file)) {
		free(t.name);
		free(t.device);
		free(t.key_file);
		return bad(why, why_len, "%s", strerror(ENOMEM));
	}
	*e = t;
	return 1;
}

static void entry_free(struct tab_entry *e)
{
	free(e->name);
	free(e->device);
	free(e->key_file);
}

static int tab_add(struct volcrypttab *tab, const struct tab_entry *e)
{
	struct tab_entry *grown = realloc(tab->entries, (tab->count + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	tab->entries = grown;
	tab->entries[tab->count++] = *e;
	return 0;
}

/* Reads @f line by line; the first problem ends it with its line number. */
static int tab_read(FILE *f, const char *path, struct volcrypttab *tab)
{
	char line[VOLCRYPTTAB_LINE_MAX + 2], why[512], where[4200];
	struct tab_entry e;
	unsigned int no = 0;
	int r;

	while (fgets(line, sizeof(line), f)) {
		snprintf(where, sizeof(where), "%s:%u", path, ++no);
		if (!strchr(line, '\n') && !feof(f))
			return report_error(-EINVAL, where, "line too long");
		r = tab_parse_line(line, &e, why, sizeof(why));
		if (r < 0)
			return report_error(-EINVAL, where, "%s", why);
		if (r == 0)
			continue;
		e.line = no;
		if (tab_find(tab, e.name)) {
			r = report_error(-EINVAL, where, "name '%s' already used on line %u",
					 e.name, tab_find(tab, e.name)->line);
			entry_free(&e);
			return r;
		}
		if (tab_add(tab, &e)) {
			entry_free(&e);
			return report_sys_error(-ENOMEM, path);
		}
	}
	return ferror(f) ? report_sys_error(-EIO, path) : 0;
}

int tab_load(const char *path, struct volcrypttab *tab)
{
	FILE *f = fopen(path, "re");
	int status;

	tab->entries = NULL;
	tab->count = 0;
	if (!f)
		return report_sys_error(-errno, path);
	status = tab_read(f, path, tab);
	fclose(f);
	if (status)
		tab_free(tab);
	return status;
}

const struct tab_entry *tab_find(const struct volcrypttab *tab, const char *name)
{
	for (size_t i = 0; i < tab->count; i++)
		if (!strcmp(tab->entries[i].name, name))
			return &tab->entries[i];
	return NULL;
}

void tab_options_string(const struct tab_entry *e, char *buf, size_t len)
{
	size_t n = 0;

#define ADD(...) (n += (size_t)snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__))
	buf[0] = '\0';
	if (e->backend != VOL_BACKEND_AUTO)
		ADD("%sbackend=%s", n ? "," : "", vol_backend_name(e->backend));
	if (e->read_only)
		ADD("%sread-only", n ? "," : "");
	if (e->discard)
		ADD("%sdiscard", n ? "," : "");
	if (e->initramfs)
		ADD("%sinitramfs", n ? "," : "");
	if (e->noauto)
		ADD("%snoauto", n ? "," : "");
	if (e->nofail)
		ADD("%snofail", n ? "," : "");
	if (e->tries != VOLCRYPTTAB_TRIES_DEFAULT)
		ADD("%stries=%u", n ? "," : "", e->tries);
#undef ADD
	if (!n)
		snprintf(buf, len, "-");
}

void tab_free(struct volcrypttab *tab)
{
	for (size_t i = 0; i < tab->count; i++)
		entry_free(&tab->entries[i]);
	free(tab->entries);
	tab->entries = NULL;
	tab->count = 0;
}
