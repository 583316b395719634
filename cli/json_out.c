/* SPDX-License-Identifier: GPL-2.0-or-later */
/* json-c helpers for the machine-readable output of every command. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdio.h"
#include "hex.h"
#include "json_out.h"
#include "report.h"

#define JSON_FLAGS \
	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

/* One object per line: for streams of events (progress). */
#define JSON_LINE_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Set by any failed allocation while the output tree is built. */
static bool json_out_failed;

static struct json_object *checked(struct json_object *obj)
{
	if (!obj)
		json_out_failed = true;
	return obj;
}

struct json_object *json_out_object(void)
{
	return checked(json_object_new_object());
}

struct json_object *json_out_array(void)
{
	return checked(json_object_new_array());
}

void json_out_set(struct json_object *obj, const char *key, struct json_object *value)
{
	if (!obj || !value || json_object_object_add(obj, key, value)) {
		json_object_put(value);
		json_out_failed = true;
	}
}

void json_out_append(struct json_object *arr, struct json_object *value)
{
	if (!arr || !value || json_object_array_add(arr, value)) {
		json_object_put(value);
		json_out_failed = true;
	}
}

void json_out_set_string(struct json_object *obj, const char *key, const char *value)
{
	json_out_set(obj, key, json_object_new_string(value));
}

void json_out_set_int(struct json_object *obj, const char *key, int64_t value)
{
	json_out_set(obj, key, json_object_new_int64(value));
}

void json_out_set_u64(struct json_object *obj, const char *key, uint64_t value)
{
	json_out_set(obj, key, json_object_new_uint64(value));
}

void json_out_set_double(struct json_object *obj, const char *key, double value)
{
	char text[64];

	snprintf(text, sizeof(text), "%.1f", value);
	json_out_set(obj, key, json_object_new_double_s(value, text));
}

void json_out_set_hex(struct json_object *obj, const char *key, const uint8_t *bytes,
		      size_t len)
{
	char *text = malloc(2 * len + 1);

	if (!text) {
		json_out_failed = true;
		return;
	}
	hex_encode(bytes, len, text);
	json_out_set_string(obj, key, text);
	free(text);
}

/*
 * json-c keeps string values and the serialised text in its own heap
 * buffers, which it frees without clearing; overwrite them while they
 * are still ours.  Casting away const is deliberate: the object is about
 * to be released and nobody reads these bytes again.
 */
static void wipe_strings(struct json_object *obj)
{
	size_t i;

	switch (json_object_get_type(obj)) {
	case json_type_string:
		explicit_bzero((char *)json_object_get_string(obj),
			       (size_t)json_object_get_string_len(obj));
		break;
	case json_type_array:
		for (i = 0; i < json_object_array_length(obj); i++)
			wipe_strings(json_object_array_get_idx(obj, i));
		break;
	case json_type_object: {
		json_object_object_foreach(obj, key, value) {
			(void)key;
			wipe_strings(value);
		}
		break;
	}
	default:
		break;
	}
}

int json_out_print(struct json_object *root, enum json_out_flags flags)
{
	const char *text = NULL;
	size_t len = 0;
	int err, status = 0;

	if (root && !json_out_failed)
		text = json_object_to_json_string_length(root, (flags & JSON_OUT_LINE) ?
							 JSON_LINE_FLAGS : JSON_FLAGS, &len);
	if (text && (flags & JSON_OUT_WIPE)) {
		/* Not through stdio: its buffer would keep a copy of the secret. */
		err = stdout_write_unbuffered(text, len);
		if (!err)
			err = stdout_write_unbuffered("\n", 1);
		explicit_bzero((char *)text, len);
		if (err)
			status = report_sys_error(err, "standard output");
	} else if (text) {
		fwrite(text, 1, len, stdout);
		fputc('\n', stdout);
	} else {
		status = report_sys_error(-ENOMEM, "json");
	}
	if (root && (flags & JSON_OUT_WIPE))
		wipe_strings(root);
	json_object_put(root);
	json_out_failed = false;
	return status;
}

void json_out_discard(struct json_object *root)
{
	json_object_put(root);
	json_out_failed = false;
}

int json_out_result(bool json, struct json_object *obj, const char *fmt, ...)
{
	va_list ap;

	if (json)
		return json_out_print(obj, JSON_OUT_PLAIN);
	json_out_discard(obj);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	return 0;
}
