/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Table-driven rather than snprintf("%02x"): the volume key passes through
 * here and must not leave copies in stdio's buffers.
 */
#include "hex.h"

void hex_encode(const uint8_t *bytes, size_t len, char *text)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		text[2 * i] = digits[bytes[i] >> 4];
		text[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	text[2 * len] = '\0';
}
