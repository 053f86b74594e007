/*
 * tests/codec_check.h - the two judges of the codec round-trip property,
 * shared by the unit tests, the fuzz targets and the integration tests:
 *
 *  - cc_identical: two value trees are the same in every detail the
 *    encoders look at (kind, flags, length, integer and float bits, string
 *    bytes, tag numbers, map order), stricter than aemp_val_eq;
 *  - cc_cbor_canonical: CBOR bytes are in the form aemp writes back byte
 *    for byte after decoding them (and CBOR::XS writes): shortest heads,
 *    definite lengths, map keys that are strings or tags (an untagged
 *    integer key turns into a string), for a packet no tag in front.
 *
 * The property: decode then encode gives the input back for every
 * canonical input, and decode, encode, decode gives an identical tree for
 * every input, in both framings.
 *
 * Threads: pure functions.
 */
#ifndef TESTS_CODEC_CHECK_H
#define TESTS_CODEC_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec/codec.h"

static int
cc_identical_at(const aemp_val *a, const aemp_val *b, unsigned depth)
{
	size_t i, n;

	if (a->type != b->type || a->flags != b->flags || depth > 1100)
		return 0;
	switch (a->type) {
	case AEMP_NULL:
		return 1;
	case AEMP_BOOL:
	case AEMP_INT:
	case AEMP_UINT:
	case AEMP_FLOAT: /* all bits: -0.0, NaN payloads */
		return memcmp(&a->u, &b->u, sizeof(a->u)) == 0;
	case AEMP_STR:
		return a->len == b->len &&
		       (a->len == 0 || memcmp(a->u.s, b->u.s, a->len) == 0);
	case AEMP_ARRAY:
	case AEMP_MAP:
	case AEMP_TAG:
		if (a->len != b->len)
			return 0;
		n = cod_nkids(a);
		for (i = 0; i < n; i++) {
			if (!cc_identical_at(&a->u.a[i], &b->u.a[i], depth + 1))
				return 0;
		}
		return 1;
	default:
		return 0;
	}
}

/* cc_identical - 1 if a and b are the same tree in every detail. */
static inline int
cc_identical(const aemp_val *a, const aemp_val *b)
{
	return cc_identical_at(a, b, 0);
}

struct cc_cur {
	const uint8_t *p;
	const uint8_t *end;
};

/* One shortest head; *mt, *arg.  0 if truncated, reserved, indefinite
 * or longer than needed. */
static int
cc_head(struct cc_cur *c, unsigned *mt, uint64_t *arg)
{
	unsigned ai, n, i;

	if (c->p == c->end)
		return 0;
	*mt = *c->p >> 5;
	ai = *c->p++ & 31;
	if (*mt == 7) { /* simple values and floats: any bits */
		n = ai == 25 ? 2 : ai == 26 ? 4 : ai == 27 ? 8 : 0;
		if ((ai < 20 || ai > 23) && n == 0)
			return 0;
		if ((size_t)(c->end - c->p) < n)
			return 0;
		c->p += n;
		*arg = ai;
		return 1;
	}
	if (ai < 24) {
		*arg = ai;
		return 1;
	}
	if (ai > 27)
		return 0;
	n = 1u << (ai - 24);
	if ((size_t)(c->end - c->p) < n)
		return 0;
	for (*arg = 0, i = 0; i < n; i++)
		*arg = *arg << 8 | c->p[i];
	c->p += n;
	/* shortest: the argument needs all n bytes */
	return ai == 24 ? *arg >= 24 : *arg >= ((uint64_t)1 << (4 * n));
}

static int cc_item(struct cc_cur *c, int key, unsigned depth);

/* The item after a head of major type mt with argument arg. */
static int
cc_body(struct cc_cur *c, unsigned mt, uint64_t arg, int key, unsigned depth)
{
	uint64_t i;

	if (key == 1 && mt != 2 && mt != 3 && mt != 6)
		return 0; /* untagged keys: strings (or tags) only */
	if (key == 2 && mt != 0 && mt != 1 && mt != 2 && mt != 3 && mt != 6)
		return 0; /* inside a tagged key: integers too */
	switch (mt) {
	case 2:
	case 3:
		if (arg > (uint64_t)(c->end - c->p))
			return 0;
		c->p += arg;
		return 1;
	case 4:
	case 5:
		for (i = 0; i < arg; i++) {
			if (mt == 5 && !cc_item(c, 1, depth + 1))
				return 0;
			if (!cc_item(c, 0, depth + 1))
				return 0;
		}
		return 1;
	case 6:
		return cc_item(c, key ? 2 : 0, depth + 1);
	default:
		return 1;
	}
}

/* key: 0 a value, 1 a map key, 2 the item of a tagged map key. */
static int
cc_item(struct cc_cur *c, int key, unsigned depth)
{
	uint64_t arg;
	unsigned mt;

	if (depth > 1100 || !cc_head(c, &mt, &arg))
		return 0;
	return cc_body(c, mt, arg, key, depth);
}

/*
 * cc_cbor_canonical - 1 if p[0..n) is exactly one CBOR item that aemp
 * re-encodes to the same bytes (packet: an array with no tag in front).
 */
static inline int
cc_cbor_canonical(const uint8_t *p, size_t n, int packet)
{
	struct cc_cur c = {p, p + n};

	if (packet && (n == 0 || (p[0] >> 5) != 4))
		return 0;
	return cc_item(&c, 0, 0) && c.p == c.end;
}

#endif /* TESTS_CODEC_CHECK_H */
