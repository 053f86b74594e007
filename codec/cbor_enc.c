/*
 * codec/cbor_enc.c - CBOR encoding of packets and values, producing what
 * Perl nodes (CBOR::XS) produce: shortest integer heads, definite lengths,
 * floats as single precision when that is lossless (2.5 -> fa40200000)
 * else double.  Strings are text strings unless they carry AEMP_VF_BYTES
 * or are not valid UTF-8 (then byte strings, which Perl decodes to the
 * same bytes).
 *
 * What the decoder recorded is written back as it came, so an item in its
 * shortest form re-encodes to the same bytes: AEMP_VF_TEXT strings stay
 * text strings without a UTF-8 check, floats keep their width
 * (AEMP_VF_F16/32/64) and NaN payload, AEMP_TAG values their tags,
 * AEMP_VF_UNDEF nulls are `undefined`, AEMP_UINT the full 64-bit range of
 * majors 0 and 1.  C code that sets none of these gets what CBOR::XS
 * writes for the same Perl value.
 *
 * Invariants: nothing nested deeper than AEMP_MAX_DEPTH is written
 * (AEMP_EDEPTH, tags count); map keys are strings or tags around keys
 * (else AEMP_EMALFORMED).  Output goes through struct cod_wr, so a too
 * small buffer only costs a second call.
 *
 * Threads: no shared state.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "codec/cbor.h"
#include "codec/utf8.h"
#include "codec/wr.h"
#include "ring/base.h"

static void
cbor_put_head(struct cod_wr *w, unsigned mt, uint64_t arg)
{
	uint8_t *q, h[9];
	size_t n;

	if (arg < 24) {
		h[0] = (uint8_t)(mt << 5 | arg);
		n = 1;
	} else if (arg <= 0xff) {
		h[0] = (uint8_t)(mt << 5 | 24);
		h[1] = (uint8_t)arg;
		n = 2;
	} else if (arg <= 0xffff) {
		h[0] = (uint8_t)(mt << 5 | 25);
		h[1] = (uint8_t)(arg >> 8);
		h[2] = (uint8_t)arg;
		n = 3;
	} else if (arg <= 0xffffffff) {
		h[0] = (uint8_t)(mt << 5 | 26);
		for (n = 1; n < 5; n++)
			h[n] = (uint8_t)(arg >> (8 * (4 - n)));
	} else {
		h[0] = (uint8_t)(mt << 5 | 27);
		for (n = 1; n < 9; n++)
			h[n] = (uint8_t)(arg >> (8 * (8 - n)));
	}
	if ((q = cod_wr_room(w, n)) != NULL)
		memcpy(q, h, n);
	cod_wr_skip(w, n);
}

/* Puts the n-byte big-endian form of bits after the head byte h0. */
static void
cbor_put_bits(struct cod_wr *w, uint8_t h0, uint64_t bits, unsigned n)
{
	uint8_t h[9];
	unsigned i;

	h[0] = h0;
	for (i = 1; i <= n; i++)
		h[i] = (uint8_t)(bits >> (8 * (n - i)));
	cod_wr_mem(w, h, n + 1);
}

/* The half-precision bits of f when f is exactly a half (NaN: when its
 * payload fits in 10 bits), else -1. */
static int32_t
cbor_to_half(double f)
{
	uint64_t b, mant;
	uint32_t sign;
	double a = fabs(f), m;
	int e;

	memcpy(&b, &f, sizeof(b));
	sign = (uint32_t)(b >> 48) & 0x8000;
	mant = b & (((uint64_t)1 << 52) - 1);
	if (isnan(f))
		return (mant & (((uint64_t)1 << 42) - 1)) == 0
		               ? (int32_t)(sign | 0x7c00 | (mant >> 42))
		               : -1;
	if (isinf(f))
		return (int32_t)(sign | 0x7c00);
	if (a > 65504.0)
		return -1;
	if (a < 0x1p-14) { /* zero or subnormal: m * 2^-24 */
		m = a * 0x1p24;
		return m == trunc(m) ? (int32_t)(sign | (uint32_t)m) : -1;
	}
	frexp(a, &e); /* a = 1.x * 2^(e-1), e - 1 in -14..15 */
	m = ldexp(a, 11 - e);
	if (m != trunc(m))
		return -1;
	return (int32_t)(sign | (uint32_t)(e + 14) << 10 |
	                 ((uint32_t)m - 1024));
}

/* The single-precision bits of f when f is exactly a single (NaN: when
 * its payload fits in 23 bits), else -1. */
static int64_t
cbor_to_single(double f)
{
	uint64_t b, mant;
	uint32_t u32;
	float g;

	if (isnan(f)) {
		memcpy(&b, &f, sizeof(b));
		mant = b & (((uint64_t)1 << 52) - 1);
		if ((mant & (((uint64_t)1 << 29) - 1)) != 0)
			return -1;
		return (int64_t)((b >> 63) << 31 | 0x7f800000 | mant >> 29);
	}
	/* The range test keeps the conversion defined. */
	if (!isinf(f) && !(fabs(f) <= FLT_MAX && (double)(float)f == f))
		return -1;
	g = (float)f;
	memcpy(&u32, &g, sizeof(u32));
	return u32;
}

/*
 * A double in the width it came in (width: AEMP_VF_F16/32/64), when it
 * fits there exactly; otherwise, and for values without a width, single
 * precision when that is exact and the value is no NaN, else double
 * (what CBOR::XS writes: 2.5 is fa40200000).
 */
static void
cbor_put_float(struct cod_wr *w, double f, uint8_t width)
{
	uint64_t u64;
	int64_t u32;
	int32_t h;

	if (width == AEMP_VF_F16 && (h = cbor_to_half(f)) >= 0) {
		cbor_put_bits(w, 0xf9, (uint64_t)h, 2);
		return;
	}
	if (width != AEMP_VF_F64 && (width == AEMP_VF_F32 || !isnan(f)) &&
	    (u32 = cbor_to_single(f)) >= 0) {
		cbor_put_bits(w, 0xfa, (uint64_t)u32, 4);
		return;
	}
	memcpy(&u64, &f, sizeof(u64));
	cbor_put_bits(w, 0xfb, u64, 8);
}

/* Text when flagged so, or (unflagged) when valid UTF-8; else bytes. */
static void
cbor_put_str(struct cod_wr *w, const char *s, size_t len, uint8_t flags)
{
	int text;

	if (flags & (AEMP_VF_BYTES | AEMP_VF_TEXT))
		text = !(flags & AEMP_VF_BYTES);
	else if (w->n > w->cap || len > w->cap - w->n)
		text = 1; /* the bytes do not fit: the packet is only being
		           * sized (its caller encodes again into a buffer of
		           * the size returned), and the head's length does not
		           * depend on the kind, so no validation pass here */
	else
		text = cod_utf8_valid((const uint8_t *)s, len);
	cbor_put_head(w, text ? 3 : 2, len);
	cod_wr_mem(w, s, len);
}

static int cbor_put_val(struct cod_wr *w, const aemp_val *v, uint32_t depth);
static int cbor_put_key(struct cod_wr *w, const aemp_val *k, uint32_t depth,
                        int tagged);

/* A tag (map key: key != 0); depth = containers and tags around it. */
static int
cbor_put_tag(struct cod_wr *w, const aemp_val *v, uint32_t depth, int key)
{
	const aemp_val *n = v->len == 2 ? &v->u.a[0] : NULL;

	if (depth >= AEMP_MAX_DEPTH)
		return AEMP_EDEPTH;
	if (n == NULL || !((n->type == AEMP_INT && n->u.i >= 0) ||
	                   (n->type == AEMP_UINT && !(n->flags & AEMP_VF_NEG))))
		return AEMP_EMALFORMED;
	cbor_put_head(w, 6, aemp_tag_num(v));
	if (key)
		return cbor_put_key(w, &v->u.a[1], depth + 1, 1);
	return cbor_put_val(w, &v->u.a[1], depth + 1);
}

/* A map key: a string, or a tag around a key, where (tagged) integers
 * may stand too. */
static int
cbor_put_key(struct cod_wr *w, const aemp_val *k, uint32_t depth, int tagged)
{
	switch (k->type) {
	case AEMP_STR:
		cbor_put_str(w, k->u.s, k->len, k->flags);
		return 0;
	case AEMP_TAG:
		return cbor_put_tag(w, k, depth, 1);
	case AEMP_INT:
	case AEMP_UINT:
		return tagged ? cbor_put_val(w, k, depth) : AEMP_EMALFORMED;
	default:
		return AEMP_EMALFORMED;
	}
}

static int
cbor_put_kids(struct cod_wr *w, const aemp_val *v, uint32_t depth)
{
	size_t i;
	int rc;

	if (depth >= AEMP_MAX_DEPTH)
		return AEMP_EDEPTH;
	cbor_put_head(w, v->type == AEMP_MAP ? 5 : 4, v->len);
	for (i = 0; i < v->len; i++) {
		if (v->type == AEMP_MAP) {
			const aemp_val *k = &v->u.a[2 * i];

			if (k->type == AEMP_STR)
				cbor_put_str(w, k->u.s, k->len, k->flags);
			else if ((rc = cbor_put_key(w, k, depth + 1, 0)) < 0)
				return rc;
			rc = cbor_put_val(w, &v->u.a[2 * i + 1], depth + 1);
		} else {
			rc = cbor_put_val(w, &v->u.a[i], depth + 1);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Writes v; depth = containers and tags around it. */
static int
cbor_put_val(struct cod_wr *w, const aemp_val *v, uint32_t depth)
{
	switch (v->type) {
	case AEMP_NULL:
		cod_wr_byte(w, v->flags & AEMP_VF_UNDEF ? 0xf7 : 0xf6);
		return 0;
	case AEMP_BOOL:
		cod_wr_byte(w, v->u.i ? 0xf5 : 0xf4);
		return 0;
	case AEMP_INT:
		if (v->u.i >= 0)
			cbor_put_head(w, 0, (uint64_t)v->u.i);
		else
			cbor_put_head(w, 1, ~(uint64_t)v->u.i); /* -1 - i */
		return 0;
	case AEMP_UINT:
		cbor_put_head(w, v->flags & AEMP_VF_NEG ? 1 : 0, v->u.u);
		return 0;
	case AEMP_FLOAT:
		cbor_put_float(w, v->u.f, v->flags & AEMP_VF_WIDTH);
		return 0;
	case AEMP_STR:
		cbor_put_str(w, v->u.s, v->len, v->flags);
		return 0;
	case AEMP_ARRAY:
	case AEMP_MAP:
		return cbor_put_kids(w, v, depth);
	case AEMP_TAG:
		return cbor_put_tag(w, v, depth, 0);
	default:
		return AEMP_EMALFORMED;
	}
}

/*
 * The common packet shape without the general dispatch: integers and
 * strings only, written straight into buf while the room lasts.  It
 * writes exactly what cbor_put_val writes for them (the same heads, the
 * same text-or-bytes rule); on any other value, or when buf is too small,
 * it gives up (-1) and the general encoder writes the packet from the
 * start.
 */

/* fast_head - the shortest head of major type mt (shifted: mt << 5) for
 * arg at q, which has room for 9 bytes; returns its size. */
static inline size_t
fast_head(uint8_t *q, uint8_t mt, uint64_t arg)
{
	if (arg < 24) {
		q[0] = (uint8_t)(mt | arg);
		return 1;
	}
	if (arg <= 0xff) {
		q[0] = (uint8_t)(mt | 24);
		q[1] = (uint8_t)arg;
		return 2;
	}
	if (arg <= 0xffff) {
		q[0] = (uint8_t)(mt | 25);
		q[1] = (uint8_t)(arg >> 8);
		q[2] = (uint8_t)arg;
		return 3;
	}
	if (arg <= 0xffffffff) {
		uint32_t be = __builtin_bswap32((uint32_t)arg);

		q[0] = (uint8_t)(mt | 26);
		memcpy(q + 1, &be, 4);
		return 5;
	} else {
		uint64_t be = __builtin_bswap64(arg);

		q[0] = (uint8_t)(mt | 27);
		memcpy(q + 1, &be, 8);
		return 9;
	}
}

/* fast_ascii - no byte of the string s (len <= 16) has the top bit set:
 * two overlapping loads, no loop. */
static inline int
fast_ascii(const char *s, size_t len)
{
	uint64_t a, b;
	uint32_t c, d;

	if (len >= 8) {
		memcpy(&a, s, 8);
		memcpy(&b, s + len - 8, 8);
		return ((a | b) & 0x8080808080808080ull) == 0;
	}
	if (len >= 4) {
		memcpy(&c, s, 4);
		memcpy(&d, s + len - 4, 4);
		return ((c | d) & 0x80808080u) == 0;
	}
	if (len == 0)
		return 1;
	return ((uint8_t)s[0] | (uint8_t)s[len >> 1] | (uint8_t)s[len - 1]) <
	       0x80;
}

/* fast_str - a string head and bytes at buf + *at; 0 or -1 (no room). */
static inline int
fast_str(uint8_t *buf, size_t cap, size_t *at, const char *s, size_t len,
         uint8_t flags)
{
	int text;

	if (cap - *at < 9 || len > cap - *at - 9)
		return -1;
	if (flags & (AEMP_VF_BYTES | AEMP_VF_TEXT))
		text = !(flags & AEMP_VF_BYTES);
	else if (len <= 16 && fast_ascii(s, len))
		text = 1; /* ASCII is valid UTF-8: no call for short names */
	else
		text = cod_utf8_valid((const uint8_t *)s, len);
	*at += fast_head(buf + *at, text ? 0x60 : 0x40, len);
	memcpy(buf + *at, s, len);
	*at += len;
	return 0;
}

static ssize_t
fast_packet(uint8_t *buf, size_t cap, const char *dst, size_t dlen,
            const struct cod_seg *segs, size_t nsegs, size_t n)
{
	const aemp_val *v;
	size_t at, i, j;

	if (cap < 9)
		return -1;
	at = fast_head(buf, 0x80, n);
	if (fast_str(buf, cap, &at, dst, dlen, 0) < 0)
		return -1;
	for (i = 0; i < nsegs; i++) {
		for (j = 0; j < segs[i].n; j++) {
			v = &segs[i].v[j];
			if (v->type == AEMP_STR) {
				if (fast_str(buf, cap, &at, v->u.s, v->len,
				             v->flags) < 0)
					return -1;
				continue;
			}
			if (v->type != AEMP_INT || cap - at < 9)
				return -1;
			if (v->u.i >= 0)
				at += fast_head(buf + at, 0x00,
				                (uint64_t)v->u.i);
			else
				at += fast_head(buf + at, 0x20,
				                ~(uint64_t)v->u.i);
		}
	}
	return (ssize_t)at;
}

ssize_t
cod_cbor_encode_packet(uint8_t *buf, size_t cap, const char *dst, size_t dlen,
                       const struct cod_seg *segs, size_t nsegs)
{
	struct cod_wr w = {buf, cap, 0};
	size_t i, j, n = 1;
	ssize_t fast;
	int rc;

	for (i = 0; i < nsegs; i++)
		n += segs[i].n;
	if (n > UINT32_MAX)
		return AEMP_ETOOBIG;
	if ((fast = fast_packet(buf, cap, dst, dlen, segs, nsegs, n)) >= 0)
		return fast;
	cbor_put_head(&w, 4, n);
	cbor_put_str(&w, dst, dlen, 0);
	for (i = 0; i < nsegs; i++) {
		for (j = 0; j < segs[i].n; j++) {
			if ((rc = cbor_put_val(&w, &segs[i].v[j], 1)) < 0)
				return rc;
		}
	}
	return (ssize_t)w.n;
}

ssize_t
cod_cbor_encode_value(uint8_t *buf, size_t cap, const aemp_val *v)
{
	struct cod_wr w = {buf, cap, 0};
	int rc;

	if ((rc = cbor_put_val(&w, v, 0)) < 0)
		return rc;
	return (ssize_t)w.n;
}
