/*
 * tests/codec_corpus.h - a corpus of values as Perl nodes (CBOR::XS)
 * write them, for the value-fidelity tests: every case is canonical CBOR
 * (shortest heads, definite lengths, string keys), which aemp must decode
 * and write back byte for byte, and the JSON text aemp writes for it.
 * Generated cases (large arrays, nesting at the depth limit) come from
 * the cc_gen_* functions.  Used by tests/unit/codec_fidelity.c and
 * tests/integ/db_fidelity.c.
 *
 * Threads: read-only data; the generators allocate per call.
 */
#ifndef TESTS_CODEC_CORPUS_H
#define TESTS_CODEC_CORPUS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aemp.h"

struct cc_case {
	const char *name;
	const char *cbor; /* hex */
	const char *json; /* what aemp writes in JSON */
};

/* clang-format off */
static const struct cc_case cc_corpus[] = {
	/* integers over the whole 64-bit range of both major types */
	{"0", "00", "0"},
	{"23", "17", "23"},
	{"24", "1818", "24"},
	{"65536", "1a00010000", "65536"},
	{"2^32", "1b0000000100000000", "4294967296"},
	{"int64 max", "1b7fffffffffffffff", "9223372036854775807"},
	{"2^63", "1b8000000000000000", "9223372036854775808"},
	{"2^64-1", "1bffffffffffffffff", "18446744073709551615"},
	{"-1", "20", "-1"},
	{"-25", "3818", "-25"},
	{"int64 min", "3b7fffffffffffffff", "-9223372036854775808"},
	{"-2^63-1", "3b8000000000000000", "-9223372036854775809"},
	{"-2^64", "3bffffffffffffffff", "-18446744073709551616"},
	/* floats in every width, signed zeros, infinities, NaNs */
	{"half 1.0", "f93c00", "1.0"},
	{"half 65504", "f97bff", "65504.0"},
	{"half subnormal", "f90001", "5.960464477539063e-08"},
	{"half -0.0", "f98000", "-0.0"},
	{"half inf", "f97c00", "null"},
	{"half -inf", "f9fc00", "null"},
	{"half NaN", "f97e00", "null"},
	{"half NaN payload", "f97c01", "null"},
	{"single 2.5", "fa40200000", "2.5"},
	{"single -0.0", "fa80000000", "-0.0"},
	{"single subnormal", "fa00000001", "1.401298464324817e-45"},
	{"single max", "fa7f7fffff", "3.4028234663852886e+38"},
	{"single inf", "fa7f800000", "null"},
	{"single NaN", "fa7fc00000", "null"},
	{"single sNaN", "fa7f800001", "null"},
	{"double 0.1", "fb3fb999999999999a", "0.1"},
	{"double -0.0", "fb8000000000000000", "-0.0"},
	{"double 1.5 (not shortest)", "fb3ff8000000000000", "1.5"},
	{"double -inf", "fbfff0000000000000", "null"},
	{"double NaN", "fb7ff8000000000000", "null"},
	{"double NaN payload", "fbfff0000000000001", "null"},
	{"double time", "fb41dac0bb82308036", "1795354120.7578254"},
	/* simple values */
	{"null", "f6", "null"},
	{"undefined", "f7", "null"},
	{"true", "f5", "true"},
	{"false", "f4", "false"},
	/* strings: NUL inside, bytes, text that is not UTF-8 */
	{"text with NUL", "63610062", "\"a\\u0000b\""},
	{"bytes with NUL", "43000100", "\"\\u0000\\u0001\\u0000\""},
	{"empty text", "60", "\"\""},
	{"empty bytes", "40", "\"\""},
	{"bytes high", "42c3a9", "\"\xc3\x83\xc2\xa9\""},
	{"text UTF-8", "62c3a9", "\"\xc3\xa9\""},
	{"text surrogate (Perl)", "63eda080", "\"\xc3\xad\xc2\xa0\xc2\x80\""},
	/* maps with binary keys, byte and text keys side by side */
	{"binary key", "a14300ff0101", "{\"\\u0000\xc3\xbf\\u0001\":1}"},
	{"empty byte key", "a140f6", "{\"\":null}"},
	{"byte and text key", "a2416101616102", "{\"a\":1,\"a\":2}"},
	/* tags: scalar refs, objects, shared values, string refs, magic */
	{"\\1", "d9565201", "true"},
	{"\\0", "d9565200", "false"},
	{"\\\"abc\"", "d9565263616263", "\"abc\""},
	{"\\\\1", "d95652d9565201", "true"},
	{"object 26", "d81a8263436c738101", "[\"Cls\",[1]]"},
	{"object 27", "d81b8263436c73a0", "[\"Cls\",{}]"},
	{"shared 28/29", "82d81c816178d81d00", "[[\"x\"],0]"},
	{"stringref 256/25", "d9010083646c6f6e67646c6f6e67d81900",
	 "[\"long\",\"long\",0]"},
	{"stringref key", "d90100a2646c6f6e6701d8190002",
	 "{\"long\":1,\"0\":2}"},
	{"self-describe inside", "81d9d9f78101", "[[1]]"},
	{"tag 2^64-1", "dbffffffffffffffff40", "\"\""},
	{"bignum tag 2", "c249010000000000000000", "\"\\u0001\\u0000\\u0000"
	 "\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\""},
	{"datetime tag 0", "c074323031392d30312d30325430303a30313a30325a",
	 "\"2019-01-02T00:01:02Z\""},
	{"tagged float", "c1fb41dac0bb82308036", "1795354120.7578254"},
	/* a mix, as a Perl application would send it */
	{"mixed", "a4646e616d656361626363696473821bffffffffffffffff20"
	          "63726566d95652f5646e756d73f7",
	 "{\"name\":\"abc\",\"ids\":[18446744073709551615,-1],"
	 "\"ref\":true,\"nums\":null}"},
};
/* clang-format on */

#define CC_NCORPUS (sizeof(cc_corpus) / sizeof(cc_corpus[0]))

/* cc_unhex - hex text to new bytes (64 zero bytes of padding after). */
static inline uint8_t *
cc_unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2, i;
	uint8_t *b = malloc(n + 64);
	unsigned x;

	if (b == NULL)
		abort();
	for (i = 0; i < n; i++) {
		x = 0;
		sscanf(hex + 2 * i, "%2x", &x);
		b[i] = (uint8_t)x;
	}
	memset(b + n, 0, 64);
	*len = n;
	return b;
}

/* A head of major type mt with argument arg, shortest form, at p. */
static inline size_t
cc_put_head(uint8_t *p, unsigned mt, uint64_t arg)
{
	unsigned n = arg < 24             ? 0
	             : arg <= 0xff        ? 1
	             : arg <= 0xffff      ? 2
	             : arg <= 0xffffffffu ? 4
	                                  : 8;
	unsigned i;

	p[0] = (uint8_t)(mt << 5 | (n == 0   ? arg
	                            : n == 1 ? 24
	                            : n == 2 ? 25
	                            : n == 4 ? 26
	                                     : 27));
	for (i = 0; i < n; i++)
		p[1 + i] = (uint8_t)(arg >> (8 * (n - 1 - i)));
	return 1 + n;
}

/* cc_gen_array - canonical CBOR of an array of n values (integers of
 * every head width, strings, tags, floats in turn); new bytes, 64 spare. */
static inline uint8_t *
cc_gen_array(size_t n, size_t *len)
{
	uint8_t *b = malloc(16 + n * 12 + 64), *p = b;
	size_t i;

	if (b == NULL)
		abort();
	p += cc_put_head(p, 4, n);
	for (i = 0; i < n; i++) {
		switch (i % 4) {
		case 0:
			p += cc_put_head(p, i % 8 ? 0 : 1, (uint64_t)i * i * i);
			break;
		case 1:
			p += cc_put_head(p, 3, 2);
			*p++ = (uint8_t)('a' + i % 26);
			*p++ = 0;
			break;
		case 2:
			p += cc_put_head(p, 6, 22098);
			p += cc_put_head(p, 0, i % 2);
			break;
		default:
			*p++ = 0xf9;
			*p++ = (uint8_t)(i >> 8);
			*p++ = (uint8_t)i;
			break;
		}
	}
	memset(p, 0, 64);
	*len = (size_t)(p - b);
	return b;
}

/* cc_gen_map - canonical CBOR of a map of n pairs with binary keys. */
static inline uint8_t *
cc_gen_map(size_t n, size_t *len)
{
	uint8_t *b = malloc(16 + n * 24 + 64), *p = b;
	size_t i;

	if (b == NULL)
		abort();
	p += cc_put_head(p, 5, n);
	for (i = 0; i < n; i++) {
		p += cc_put_head(p, 2, 8);
		memcpy(p, &i, 8);
		p += 8;
		p += cc_put_head(p, 1, (uint64_t)i << 40);
	}
	memset(p, 0, 64);
	*len = (size_t)(p - b);
	return b;
}

/* cc_gen_deep - canonical CBOR nested exactly `levels` deep (arrays and,
 * if tags, every other level a tag), around the integer 1. */
static inline uint8_t *
cc_gen_deep(size_t levels, int tags, size_t *len)
{
	uint8_t *b = malloc(3 * levels + 1 + 64), *p = b;
	size_t i;

	if (b == NULL)
		abort();
	for (i = 0; i < levels; i++) {
		if (tags && i % 2 == 1)
			p += cc_put_head(p, 6, 22098 + i);
		else
			*p++ = 0x81;
	}
	*p++ = 0x01;
	memset(p, 0, 64);
	*len = (size_t)(p - b);
	return b;
}

#endif /* TESTS_CODEC_CORPUS_H */
