/*
 * codec/json_enc.c - JSON encoding of packets and values as Perl nodes
 * (JSON::XS in utf8 mode) write them: compact, no whitespace; strings
 * escape only '"', '\\' and control characters (\b \f \n \r \t, others as
 * \u00XX); integers in decimal; doubles in the shortest form that reads
 * back to the same double, with ".0" added when that form looks like an
 * integer (so a double stays a double through JSON); NaN and infinities
 * as null.
 *
 * Strings that are not valid UTF-8, and strings flagged AEMP_VF_BYTES,
 * are written the way JSON::XS writes a Perl byte string: every byte
 * 0x80..0xff as the UTF-8 form of U+0080..U+00FF.  Valid UTF-8 text is
 * copied as is.
 *
 * Integers are written exactly over aemp's whole range (-2^64 .. 2^64-1,
 * AEMP_UINT included), as JSON::XS writes IVs and UVs.  JSON has no CBOR
 * tags (see json_put_tag) nor `undefined` (null).
 *
 * Invariants: nothing nested deeper than AEMP_MAX_DEPTH is written (tags
 * count); map keys are strings or tags around keys (else
 * AEMP_EMALFORMED).
 *
 * Threads: no shared state.
 */
#include <math.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "codec/json.h"
#include "codec/utf8.h"
#include "codec/wr.h"
#include "ring/base.h"

#define SWAR_ONES 0x0101010101010101ull
#define SWAR_HIGH 0x8080808080808080ull

/* Nonzero if a byte of x is below 0x20, '"' or '\\' (bytes >= 0x80 are
 * never reported: the subtraction tricks are exact for them). */
static uint64_t
json_swar_special(uint64_t x)
{
	uint64_t q = x ^ (SWAR_ONES * '"'), b = x ^ (SWAR_ONES * '\\');

	return ((x - SWAR_ONES * 0x20) | (q - SWAR_ONES) | (b - SWAR_ONES)) &
	       ~x & SWAR_HIGH;
}

/* Length of the prefix of s[0..n) that is copied unchanged: no special
 * ASCII byte, and no byte >= 0x80 unless raw8 (valid UTF-8 text). */
static size_t
json_plain(const uint8_t *s, size_t n, int raw8)
{
	uint64_t x, hi = raw8 ? 0 : SWAR_HIGH;
	size_t i = 0;

#if defined(__SSE2__)
	const __m128i c1f = _mm_set1_epi8(0x1f), q = _mm_set1_epi8('"');
	const __m128i bs = _mm_set1_epi8('\\');

	while (n - i >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(s + i));
		__m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v);
		unsigned m = (unsigned)_mm_movemask_epi8(
		        _mm_or_si128(ctl, _mm_or_si128(_mm_cmpeq_epi8(v, q),
		                                       _mm_cmpeq_epi8(v, bs))));

		if (!raw8)
			m |= (unsigned)_mm_movemask_epi8(v);
		if (m != 0)
			return i + (size_t)__builtin_ctz(m);
		i += 16;
	}
#endif

	while (n - i >= 8) {
		memcpy(&x, s + i, 8);
		if ((json_swar_special(x) | (x & hi)) != 0)
			break;
		i += 8;
	}
	while (i < n) {
		uint8_t c = s[i];

		if (c < 0x20 || c == '"' || c == '\\' || (c >= 0x80 && !raw8))
			break;
		i++;
	}
	return i;
}

static void
json_put_special(struct cod_wr *w, uint8_t c)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t e[6] = {'\\', 0, 0, 0, 0, 0};

	switch (c) {
	case '"':
	case '\\':
		e[1] = c;
		break;
	case '\b':
		e[1] = 'b';
		break;
	case '\f':
		e[1] = 'f';
		break;
	case '\n':
		e[1] = 'n';
		break;
	case '\r':
		e[1] = 'r';
		break;
	case '\t':
		e[1] = 't';
		break;
	default:
		if (c >= 0x80) { /* a byte of a byte string: U+0080..U+00FF */
			e[0] = (uint8_t)(0xc0 | c >> 6);
			e[1] = (uint8_t)(0x80 | (c & 0x3f));
			cod_wr_mem(w, e, 2);
			return;
		}
		memcpy(e + 1, "u00", 3);
		e[4] = (uint8_t)hex[c >> 4];
		e[5] = (uint8_t)hex[c & 15];
		cod_wr_mem(w, e, 6);
		return;
	}
	cod_wr_mem(w, e, 2);
}

static void
json_put_str(struct cod_wr *w, const char *str, size_t n, uint8_t flags)
{
	const uint8_t *s = (const uint8_t *)str;
	int raw8 = !(flags & AEMP_VF_BYTES) && cod_utf8_valid(s, n);
	size_t i = 0, k = json_plain(s, n, raw8);

	cod_wr_byte(w, '"');
	for (;;) {
		cod_wr_mem(w, s + i, k);
		i += k;
		if (i == n)
			break;
		json_put_special(w, s[i++]);
		k = json_plain(s + i, n - i, raw8);
	}
	cod_wr_byte(w, '"');
}

/* Writes x in decimal, with a '-' in front if neg. */
static void
json_put_dec(struct cod_wr *w, uint64_t x, int neg)
{
	char tmp[24], *q = tmp + sizeof(tmp);

	do {
		*--q = (char)('0' + x % 10);
		x /= 10;
	} while (x != 0);
	if (neg)
		*--q = '-';
	cod_wr_mem(w, q, (size_t)(tmp + sizeof(tmp) - q));
}

static void
json_put_int(struct cod_wr *w, int64_t v)
{
	json_put_dec(w, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

/* AEMP_UINT: u, or -1 - u with AEMP_VF_NEG. */
static void
json_put_uint(struct cod_wr *w, const aemp_val *v)
{
	if (!(v->flags & AEMP_VF_NEG))
		json_put_dec(w, v->u.u, 0);
	else if (v->u.u == UINT64_MAX) /* -2^64: beyond uint64 */
		cod_wr_mem(w, "-18446744073709551616", 21);
	else
		json_put_dec(w, v->u.u + 1, 1);
}

static void
json_put_float(struct cod_wr *w, double f)
{
	char tmp[40];
	size_t n;

	if (!isfinite(f)) {
		cod_wr_mem(w, "null", 4);
		return;
	}
	n = cod_json_dtoa(f, tmp);
	if (memchr(tmp, '.', n) == NULL && memchr(tmp, 'e', n) == NULL) {
		memcpy(tmp + n, ".0", 2);
		n += 2;
	}
	cod_wr_mem(w, tmp, n);
}

static int json_put_val(struct cod_wr *w, const aemp_val *v, uint32_t depth);

/* JSON has no tags: the tagged value stands alone, except that tag 22098
 * (a Perl scalar reference) around 1 or 0 is true or false, which is what
 * JSON::XS writes for \1 and \0.  depth = containers and tags around
 * v. */
static int
json_put_tag(struct cod_wr *w, const aemp_val *v, uint32_t depth)
{
	const aemp_val *x;

	if (depth >= AEMP_MAX_DEPTH)
		return AEMP_EDEPTH;
	if (v->len != 2)
		return AEMP_EMALFORMED;
	x = &v->u.a[1];
	if (aemp_tag_num(v) == 22098 && x->type == AEMP_INT &&
	    (x->u.i == 0 || x->u.i == 1)) {
		if (x->u.i)
			cod_wr_mem(w, "true", 4);
		else
			cod_wr_mem(w, "false", 5);
		return 0;
	}
	return json_put_val(w, x, depth + 1);
}

/* A map key: a string, or (from CBOR) tags around a string or an
 * integer, which is written as its decimal text. */
static int
json_put_key(struct cod_wr *w, const aemp_val *k, uint32_t depth)
{
	const aemp_val *x = k;

	for (; x->type == AEMP_TAG; x = &x->u.a[1], depth++) {
		if (depth >= AEMP_MAX_DEPTH)
			return AEMP_EDEPTH;
		if (x->len != 2)
			return AEMP_EMALFORMED;
	}
	if (x->type == AEMP_STR) {
		json_put_str(w, x->u.s, x->len, x->flags);
		return 0;
	}
	if (x == k || (x->type != AEMP_INT && x->type != AEMP_UINT))
		return AEMP_EMALFORMED;
	cod_wr_byte(w, '"');
	json_put_val(w, x, depth);
	cod_wr_byte(w, '"');
	return 0;
}

static int
json_put_kids(struct cod_wr *w, const aemp_val *v, uint32_t depth)
{
	int map = v->type == AEMP_MAP, rc;
	const aemp_val *k;
	size_t i;

	if (depth >= AEMP_MAX_DEPTH)
		return AEMP_EDEPTH;
	cod_wr_byte(w, map ? '{' : '[');
	for (i = 0; i < v->len; i++) {
		if (i > 0)
			cod_wr_byte(w, ',');
		if (map) {
			k = &v->u.a[2 * i];
			if (k->type == AEMP_STR)
				json_put_str(w, k->u.s, k->len, k->flags);
			else if ((rc = json_put_key(w, k, depth + 1)) < 0)
				return rc;
			cod_wr_byte(w, ':');
		}
		rc = json_put_val(w, &v->u.a[map ? 2 * i + 1 : i], depth + 1);
		if (rc < 0)
			return rc;
	}
	cod_wr_byte(w, map ? '}' : ']');
	return 0;
}

/* Writes v; depth = containers around it. */
static int
json_put_val(struct cod_wr *w, const aemp_val *v, uint32_t depth)
{
	switch (v->type) {
	case AEMP_NULL:
		cod_wr_mem(w, "null", 4);
		return 0;
	case AEMP_BOOL:
		if (v->u.i)
			cod_wr_mem(w, "true", 4);
		else
			cod_wr_mem(w, "false", 5);
		return 0;
	case AEMP_INT:
		json_put_int(w, v->u.i);
		return 0;
	case AEMP_UINT:
		json_put_uint(w, v);
		return 0;
	case AEMP_FLOAT:
		json_put_float(w, v->u.f);
		return 0;
	case AEMP_STR:
		json_put_str(w, v->u.s, v->len, v->flags);
		return 0;
	case AEMP_ARRAY:
	case AEMP_MAP:
		return json_put_kids(w, v, depth);
	case AEMP_TAG:
		return json_put_tag(w, v, depth);
	default:
		return AEMP_EMALFORMED;
	}
}

ssize_t
cod_json_encode_packet(uint8_t *buf, size_t cap, const char *dst, size_t dlen,
                       const struct cod_seg *segs, size_t nsegs)
{
	struct cod_wr w = {buf, cap, 0};
	size_t i, j;
	int rc;

	cod_wr_byte(&w, '[');
	json_put_str(&w, dst, dlen, 0);
	for (i = 0; i < nsegs; i++) {
		for (j = 0; j < segs[i].n; j++) {
			cod_wr_byte(&w, ',');
			if ((rc = json_put_val(&w, &segs[i].v[j], 1)) < 0)
				return rc;
		}
	}
	cod_wr_byte(&w, ']');
	return (ssize_t)w.n;
}

ssize_t
cod_json_encode_value(uint8_t *buf, size_t cap, const aemp_val *v)
{
	struct cod_wr w = {buf, cap, 0};
	int rc;

	if ((rc = json_put_val(&w, v, 0)) < 0)
		return rc;
	return (ssize_t)w.n;
}
