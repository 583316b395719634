/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Lower-case hexadecimal text of binary values (digests, keys). */
#ifndef VOLCRYPT_HEX_H
#define VOLCRYPT_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2 * @len digits and a NUL to @text, which must hold them. */
void hex_encode(const uint8_t *bytes, size_t len, char *text);

#endif /* VOLCRYPT_HEX_H */
