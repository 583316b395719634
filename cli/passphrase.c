/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Passphrase acquisition: key file, terminal prompt or stdin line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "passphrase.h"
#include "report.h"
#include "tty.h"

#define STDIN_NAME "standard input"

/* Why reading a source failed, as the single error line. */
static int source_failed(int err, const char *what)
{
	if (err == -EFBIG)
		return report_error(-EINVAL, what, "passphrase larger than %d MiB",
				    SECRET_MAX_BYTES >> 20);
	return report_sys_error(err, what);
}

/* The file's bytes verbatim: no newline stripping, NULs allowed. */
static int read_key_file(const char *path, struct secret *out)
{
	bool use_stdin = !strcmp(path, "-");
	char what[64 + 4096];
	int fd, err;

	snprintf(what, sizeof(what), "key file %s", use_stdin ? STDIN_NAME : path);
	fd = use_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return report_sys_error(-errno, what);
	err = secret_read_fd(out, fd, SECRET_READ_TO_EOF);
	if (!use_stdin)
		close(fd);
	if (err)
		return source_failed(err, what);
	if (!out->len)
		return report_error(-EINVAL, what, "file is empty");
	return 0;
}

static int read_stdin_line(struct secret *out)
{
	int err = secret_read_fd(out, STDIN_FILENO, SECRET_READ_LINE);

	return err ? source_failed(err, STDIN_NAME) : 0;
}

static int ask_hidden(const char *prompt, struct secret *out)
{
	int err = tty_ask(prompt, false, out);

	return err ? source_failed(err, "/dev/tty") : 0;
}

/* A passphrase that is being created is typed twice to catch typos. */
static int verify_typed(const char *target, const struct secret *first)
{
	struct secret again = SECRET_INIT;
	int status;

	status = ask_hidden("Verify passphrase: ", &again);
	if (!status && !secret_equal(first, &again))
		status = report_error(-EPERM, target, "passphrases do not match");
	secret_free(&again);
	return status;
}

static int prompt_terminal(const char *target, enum passphrase_purpose purpose,
			   struct secret *out)
{
	char *prompt;
	int status;

	if (asprintf(&prompt, "Enter %spassphrase for %s: ",
		     purpose == PASSPHRASE_NEW ? "new " : "", target) < 0)
		return report_sys_error(-ENOMEM, target);
	status = ask_hidden(prompt, out);
	free(prompt);
	if (!status && out->len && purpose != PASSPHRASE_EXISTING)
		status = verify_typed(target, out);
	return status;
}

int passphrase_get(const char *key_file, const char *target,
		   enum passphrase_purpose purpose, struct secret *out)
{
	int status;

	if (key_file)
		return read_key_file(key_file, out);
	if (tty_interactive())
		status = prompt_terminal(target, purpose, out);
	else
		status = read_stdin_line(out);
	if (!status && !out->len)
		status = report_error(-EINVAL, target, "empty passphrase");
	return status;
}

int passphrase_get_kept(const char *const *files, int n, const char *target,
			struct kept_passphrases *out)
{
	int status = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n && !status; i++) {
		if (!strcmp(files[i], "-"))
			return report_error(-EINVAL, "--keep-key-file",
					    "must name a file (stdin is for the unlocking passphrase)");
		status = passphrase_get(files[i], target, PASSPHRASE_EXISTING, &out->secret[i]);
		out->data[i] = out->secret[i].data;
		out->len[i] = out->secret[i].len;
		out->n = i + 1;
	}
	return status;
}

void passphrases_kept_free(struct kept_passphrases *kept)
{
	for (int i = 0; i < KEPT_PASSPHRASES_MAX; i++)
		secret_free(&kept->secret[i]);
	memset(kept, 0, sizeof(*kept));
}
