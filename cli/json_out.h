/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Building and printing --json output with json-c.  The setters never
 * fail visibly: an allocation failure is remembered and turns the final
 * json_out_print() into an out-of-memory error, so that command code
 * stays a plain list of fields.
 */
#ifndef VOLCRYPT_JSON_OUT_H
#define VOLCRYPT_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct json_object *json_out_object(void);
struct json_object *json_out_array(void);

/* Adds @value to @obj under @key (takes ownership; NULL = failed allocation). */
void json_out_set(struct json_object *obj, const char *key, struct json_object *value);
/* Appends @value to the array @arr (takes ownership). */
void json_out_append(struct json_object *arr, struct json_object *value);

void json_out_set_string(struct json_object *obj, const char *key, const char *value);
void json_out_set_int(struct json_object *obj, const char *key, int64_t value);
void json_out_set_u64(struct json_object *obj, const char *key, uint64_t value);
/* A measurement, printed with one decimal. */
void json_out_set_double(struct json_object *obj, const char *key, double value);
void json_out_set_hex(struct json_object *obj, const char *key, const uint8_t *bytes,
		      size_t len);

enum json_out_flags {
	JSON_OUT_PLAIN = 0,
	/* The tree holds a secret: wipe its strings and the text after use. */
	JSON_OUT_WIPE = 1 << 0,
	/* On one line (JSON Lines), for a stream of events. */
	JSON_OUT_LINE = 1 << 1,
};

/*
 * Prints @root on stdout followed by a newline and releases it.
 * Returns 0, or an exit status after the error line.
 */
int json_out_print(struct json_object *root, enum json_out_flags flags);

/*
 * The result of a command: @obj as JSON with --json, else the sentence
 * @fmt.  @obj is released either way.  Returns 0 or an exit status.
 */
int json_out_result(bool json, struct json_object *obj, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Releases @root unprinted, after an error elsewhere. */
void json_out_discard(struct json_object *root);

#endif /* VOLCRYPT_JSON_OUT_H */
