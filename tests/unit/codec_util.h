/*
 * tests/unit/codec_util.h - helpers shared by the codec test programs:
 * hex conversion, padded copies of inputs, encode-to-buffer wrappers.
 * Single-threaded test code; every helper aborts the test on misuse.
 */
#ifndef TESTS_UNIT_CODEC_UTIL_H
#define TESTS_UNIT_CODEC_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"

/* A padded heap copy of (p, n), as the decoders require. */
static inline uint8_t *
cu_pad(const void *p, size_t n)
{
	uint8_t *b = malloc(n + COD_PADDING);

	if (b == NULL)
		abort();
	if (p != NULL && n > 0)
		memcpy(b, p, n);
	else if (n > 0)
		memset(b, 0, n);
	memset(b + n, 0, COD_PADDING);
	return b;
}

/* Decodes hex text (even length, no spaces) into a padded buffer. */
static inline uint8_t *
cu_unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2, i;
	uint8_t *b = malloc(n + COD_PADDING);
	unsigned x;

	if (b == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (sscanf(hex + 2 * i, "%2x", &x) != 1)
			abort();
		b[i] = (uint8_t)x;
	}
	memset(b + n, 0, COD_PADDING);
	*len = n;
	return b;
}

/* Encodes v in framing f into a new buffer; *len = bytes or error. */
static inline uint8_t *
cu_encode(enum cod_framing f, const aemp_val *v, ssize_t *len)
{
	ssize_t n = cod_encode_value(f, NULL, 0, v);
	uint8_t *b;

	*len = n;
	if (n < 0)
		return NULL;
	b = cu_pad(NULL, (size_t)n);
	if (cod_encode_value(f, b, (size_t)n, v) != n)
		abort();
	return b;
}

#endif /* TESTS_UNIT_CODEC_UTIL_H */
