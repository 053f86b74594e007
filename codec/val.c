/*
 * codec/val.c - the public value functions of aemp.h: lenient accessors
 * (Perl scalar typing), structural equality, deep copies, and JSON text
 * in and out (aemp_json_parse, aemp_json_format).
 *
 * Deep copies (aemp_val_dup, aemp_msg_dup, and aemp_json_parse which ends
 * in a dup) are one allocation: a small header recording the size, the
 * root value, every nested value in pre-order, then the string bytes.  Each
 * copied string is followed by a NUL (not counted in len), so callers may
 * use copied strings as C strings when they hold no NUL themselves.
 *
 * Invariants: a copy never holds containers nested deeper than
 * AEMP_MAX_DEPTH (the top-level array or map is depth 1); the copy
 * functions refuse deeper input, so recursion here is bounded.
 *
 * Threads: no state; any thread.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"
#include "ring/alloc.h"
#include "ring/base.h"

/* Sits in front of the root of every deep copy; 16 bytes so the values
 * after it keep their natural alignment. */
struct val_blk {
	size_t size;
	size_t nvals;
};
_Static_assert(sizeof(struct val_blk) % _Alignof(aemp_val) == 0,
               "values after the block header stay aligned");

/* ---- numbers from strings ---------------------------------------------- */

/* Parses an optionally signed run of decimal digits filling all of (s, n).
 * Returns 0 or AEMP_EMALFORMED (syntax or int64 overflow). */
static int
val_parse_int(const char *s, size_t n, int64_t *out)
{
	uint64_t acc = 0, lim = (uint64_t)INT64_MAX;
	size_t i = 0;
	int neg = 0;

	if (n > 0 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return AEMP_EMALFORMED;
	if (neg)
		lim += 1; /* |INT64_MIN| */
	for (; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || acc > (lim - d) / 10)
			return AEMP_EMALFORMED;
		acc = acc * 10 + d;
	}
	*out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return 0;
}

/* Parses an optionally '+'-signed run of decimal digits filling all of
 * (s, n) as a uint64.  Returns 0 or AEMP_EMALFORMED. */
static int
val_parse_uint(const char *s, size_t n, uint64_t *out)
{
	uint64_t acc = 0;
	size_t i = n > 0 && s[0] == '+';

	if (i == n)
		return AEMP_EMALFORMED;
	for (; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || acc > (UINT64_MAX - d) / 10)
			return AEMP_EMALFORMED;
		acc = acc * 10 + d;
	}
	*out = acc;
	return 0;
}

/* Length of a run of decimal digits at s[i..n). */
static size_t
val_digits(const char *s, size_t i, size_t n)
{
	size_t j = i;

	while (j < n && s[j] >= '0' && s[j] <= '9')
		j++;
	return j - i;
}

/* 1 if (s, n) is a decimal number: [+-]digits[.digits][(e|E)[+-]digits],
 * with digits on at least one side of the point. */
static int
val_is_decimal(const char *s, size_t n)
{
	size_t i = 0, a, b = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	a = val_digits(s, i, n);
	i += a;
	if (i < n && s[i] == '.') {
		b = val_digits(s, i + 1, n);
		i += 1 + b;
	}
	if (a == 0 && b == 0)
		return 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		a = val_digits(s, i, n);
		if (a == 0)
			return 0;
		i += a;
	}
	return i == n;
}

static int
val_parse_float(const char *s, size_t n, double *out)
{
	char tmp[128];

	/* Longer numeric strings are not worth a heap copy. */
	if (n >= sizeof(tmp) || !val_is_decimal(s, n))
		return AEMP_EMALFORMED;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*out = strtod(tmp, NULL);
	return 0;
}

/* ---- accessors ---------------------------------------------------------- */

AEMP_API int
aemp_get_int(const aemp_val *v, int64_t *out)
{
	if (v == NULL)
		return AEMP_EMALFORMED;
	switch (v->type) {
	case AEMP_INT:
	case AEMP_BOOL:
		*out = v->u.i;
		return 0;
	case AEMP_FLOAT:
		/* -2^63 is exact in a double, 2^63 is the first value out. */
		if (!(v->u.f >= -9223372036854775808.0 &&
		      v->u.f < 9223372036854775808.0) ||
		    v->u.f != trunc(v->u.f))
			return AEMP_EMALFORMED;
		*out = (int64_t)v->u.f;
		return 0;
	case AEMP_STR:
		return val_parse_int(v->u.s, v->len, out);
	default:
		return AEMP_EMALFORMED;
	}
}

AEMP_API int
aemp_get_uint(const aemp_val *v, uint64_t *out)
{
	if (v == NULL)
		return AEMP_EMALFORMED;
	switch (v->type) {
	case AEMP_INT:
	case AEMP_BOOL:
		if (v->u.i < 0)
			return AEMP_EMALFORMED;
		*out = (uint64_t)v->u.i;
		return 0;
	case AEMP_UINT:
		if (v->flags & AEMP_VF_NEG)
			return AEMP_EMALFORMED;
		*out = v->u.u;
		return 0;
	case AEMP_FLOAT:
		/* 2^64 is the first value out; -0.0 is 0. */
		if (!(v->u.f >= 0 && v->u.f < 18446744073709551616.0) ||
		    v->u.f != trunc(v->u.f))
			return AEMP_EMALFORMED;
		*out = (uint64_t)v->u.f;
		return 0;
	case AEMP_STR:
		return val_parse_uint(v->u.s, v->len, out);
	default:
		return AEMP_EMALFORMED;
	}
}

AEMP_API int
aemp_get_float(const aemp_val *v, double *out)
{
	if (v == NULL)
		return AEMP_EMALFORMED;
	switch (v->type) {
	case AEMP_INT:
	case AEMP_BOOL:
		*out = (double)v->u.i;
		return 0;
	case AEMP_UINT:
		*out = v->flags & AEMP_VF_NEG ? -1.0 - (double)v->u.u
		                              : (double)v->u.u;
		return 0;
	case AEMP_FLOAT:
		*out = v->u.f;
		return 0;
	case AEMP_STR:
		return val_parse_float(v->u.s, v->len, out);
	default:
		return AEMP_EMALFORMED;
	}
}

AEMP_API int
aemp_truthy(const aemp_val *v)
{
	if (v == NULL)
		return 0;
	switch (v->type) {
	case AEMP_NULL:
		return 0;
	case AEMP_BOOL:
	case AEMP_INT:
		return v->u.i != 0;
	case AEMP_FLOAT:
		return v->u.f != 0.0; /* NaN is true, as in Perl */
	case AEMP_STR:
		return !(v->len == 0 || (v->len == 1 && v->u.s[0] == '0'));
	default:
		return 1;
	}
}

AEMP_API const aemp_val *
aemp_map_get(const aemp_val *v, const char *key)
{
	size_t i;

	if (v == NULL || v->type != AEMP_MAP || key == NULL)
		return NULL;
	for (i = 0; i < v->len; i++) {
		if (aemp_str_eq(&v->u.a[2 * i], key))
			return &v->u.a[2 * i + 1];
	}
	return NULL;
}

/* ---- equality ----------------------------------------------------------- */

static int val_eq(const aemp_val *a, const aemp_val *b, uint32_t depth);

static int
val_str_eq(const aemp_val *a, const aemp_val *b)
{
	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->u.s, b->u.s, a->len) == 0);
}

static int
val_is_num(uint8_t type)
{
	return type == AEMP_INT || type == AEMP_UINT || type == AEMP_FLOAT;
}

/* An integer value (INT or UINT) as (neg, n): it is n, or -1 - n if neg.
 * Every integer has one such pair, whatever its kind. */
static void
val_int_parts(const aemp_val *v, int *neg, uint64_t *n)
{
	if (v->type == AEMP_INT) {
		*neg = v->u.i < 0;
		*n = *neg ? ~(uint64_t)v->u.i : (uint64_t)v->u.i;
	} else {
		*neg = (v->flags & AEMP_VF_NEG) != 0;
		*n = v->u.u;
	}
}

/* 1 if the double f is exactly the integer (neg, n). */
static int
val_float_is_int(double f, int neg, uint64_t n)
{
	const double two64 = 18446744073709551616.0;

	if (f != trunc(f)) /* fractions and NaN */
		return 0;
	if (!neg)
		return f >= 0 && f < two64 && (uint64_t)f == n;
	if (!(f < 0 && f >= -two64))
		return 0;
	if (f == -two64) /* -2^64: n is 2^64-1, (uint64_t)2^64 undefined */
		return n == UINT64_MAX;
	return (uint64_t)-f - 1 == n;
}

/* Numbers: integers by value, against doubles exactly. */
static int
val_num_eq(const aemp_val *a, const aemp_val *b)
{
	uint64_t na, nb;
	int ga, gb;

	if (a->type == AEMP_FLOAT && b->type == AEMP_FLOAT)
		/* Two NaNs are the same value for a structural comparison. */
		return a->u.f == b->u.f || (isnan(a->u.f) && isnan(b->u.f));
	if (a->type == AEMP_FLOAT || b->type == AEMP_FLOAT) {
		const aemp_val *i = a->type == AEMP_FLOAT ? b : a;

		val_int_parts(i, &ga, &na);
		return val_float_is_int(a->type == AEMP_FLOAT ? a->u.f : b->u.f,
		                        ga, na);
	}
	val_int_parts(a, &ga, &na);
	val_int_parts(b, &gb, &nb);
	return ga == gb && na == nb;
}

/* Map keys: strings by bytes, tagged keys structurally. */
static int
val_key_eq(const aemp_val *a, const aemp_val *b, uint32_t depth)
{
	if (a->type == AEMP_STR && b->type == AEMP_STR)
		return val_str_eq(a, b);
	return val_eq(a, b, depth);
}

static int
val_map_eq(const aemp_val *a, const aemp_val *b, uint32_t depth)
{
	size_t i, j, n = a->len;
	const aemp_val *ka = a->u.a, *kb = b->u.a;

	for (i = 0; i < n; i++) {
		/* Same position first: copies and round trips keep order. */
		if (val_key_eq(&ka[2 * i], &kb[2 * i], depth)) {
			j = i;
		} else {
			for (j = 0; j < n; j++) {
				if (val_key_eq(&ka[2 * i], &kb[2 * j], depth))
					break;
			}
			if (j == n)
				return 0;
		}
		if (!val_eq(&ka[2 * i + 1], &kb[2 * j + 1], depth))
			return 0;
	}
	return 1;
}

static int
val_eq(const aemp_val *a, const aemp_val *b, uint32_t depth)
{
	size_t i;

	if (val_is_num(a->type) && val_is_num(b->type))
		return val_num_eq(a, b);
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case AEMP_NULL:
		return (a->flags & AEMP_VF_UNDEF) == (b->flags & AEMP_VF_UNDEF);
	case AEMP_BOOL:
		return a->u.i == b->u.i;
	case AEMP_STR:
		return val_str_eq(a, b);
	case AEMP_ARRAY:
	case AEMP_MAP:
	case AEMP_TAG:
		if (a->len != b->len || depth >= AEMP_MAX_DEPTH)
			return 0;
		if (a->type == AEMP_MAP)
			return val_map_eq(a, b, depth + 1);
		for (i = 0; i < a->len; i++) {
			if (!val_eq(&a->u.a[i], &b->u.a[i], depth + 1))
				return 0;
		}
		return 1;
	default:
		return 0;
	}
}

AEMP_API int
aemp_val_eq(const aemp_val *a, const aemp_val *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return val_eq(a, b, 0);
}

/* ---- deep copies -------------------------------------------------------- */

struct val_size {
	size_t nvals;  /* values below the root */
	size_t nbytes; /* string bytes, NULs included */
};

/* Adds what the copy of v's subtree needs to *sz.  depth is the number of
 * containers above v.  Returns 0, AEMP_EDEPTH or AEMP_EMALFORMED. */
static int
val_measure(const aemp_val *v, uint32_t depth, struct val_size *sz)
{
	size_t i, n;
	int rc;

	if (v->type == AEMP_STR) {
		sz->nbytes += (size_t)v->len + 1;
		return 0;
	}
	if (!cod_is_container(v->type))
		return v->type <= AEMP_FLOAT || v->type == AEMP_UINT
		               ? 0
		               : AEMP_EMALFORMED;
	if (depth >= AEMP_MAX_DEPTH)
		return AEMP_EDEPTH;
	if (v->type == AEMP_TAG && v->len != 2)
		return AEMP_EMALFORMED;
	n = cod_nkids(v);
	sz->nvals += n;
	for (i = 0; i < n; i++) {
		if ((rc = val_measure(&v->u.a[i], depth + 1, sz)) < 0)
			return rc;
	}
	return 0;
}

struct val_cur {
	aemp_val *vals; /* next free value slot */
	char *str;      /* next free string byte */
};

/* Copies src into *dst, taking room for its subtree from c. */
static void
val_copy(aemp_val *dst, const aemp_val *src, struct val_cur *c)
{
	aemp_val *kids;
	size_t i, n;

	*dst = *src;
	dst->pad = 0;
	if (src->type == AEMP_STR) {
		if (src->len > 0)
			memcpy(c->str, src->u.s, src->len);
		c->str[src->len] = '\0';
		dst->u.s = c->str;
		c->str += (size_t)src->len + 1;
		return;
	}
	if (!cod_is_container(src->type))
		return;
	n = cod_nkids(src);
	kids = c->vals;
	c->vals += n;
	dst->u.a = kids;
	for (i = 0; i < n; i++)
		val_copy(&kids[i], &src->u.a[i], c);
}

AEMP_API aemp_val *
aemp_val_dup(const aemp_val *v)
{
	struct val_size sz = {0, 0};
	struct val_blk *blk;
	struct val_cur c;
	aemp_val *root;
	size_t size;

	if (v == NULL || val_measure(v, 0, &sz) < 0)
		return NULL;
	size = sizeof(*blk) + (1 + sz.nvals) * sizeof(aemp_val) + sz.nbytes;
	if ((blk = ring_alloc(size)) == NULL)
		return NULL;
	blk->size = size;
	blk->nvals = 1 + sz.nvals;
	root = (aemp_val *)(blk + 1);
	c.vals = root + 1;
	c.str = (char *)(root + blk->nvals);
	val_copy(root, v, &c);
	AEMP_ASSERT(c.vals == root + blk->nvals);
	AEMP_ASSERT(c.str == (char *)blk + size);
	return root;
}

AEMP_API aemp_val *
aemp_msg_dup(const aemp_val *msg, size_t n)
{
	aemp_val arr;

	if (n > UINT32_MAX || (n > 0 && msg == NULL))
		return NULL;
	arr = aemp_array(msg, n);
	return aemp_val_dup(&arr);
}

AEMP_API void
aemp_val_free(aemp_val *v)
{
	struct val_blk *blk;

	if (v == NULL)
		return;
	blk = (struct val_blk *)v - 1;
	ring_free(blk, blk->size);
}

/* ---- JSON text ---------------------------------------------------------- */

AEMP_API int
aemp_json_parse(const char *text, size_t len, aemp_val **out)
{
	struct cod_tape t;
	const aemp_val *v;
	uint8_t *buf;
	int rc;

	*out = NULL;
	if ((buf = ring_alloc(len + COD_PADDING)) == NULL)
		return -ENOMEM;
	if (len > 0)
		memcpy(buf, text, len);
	memset(buf + len, 0, COD_PADDING); /* simdjson reads the padding */
	cod_tape_init(&t);
	rc = cod_json_decode(&t, buf, len, 0, &v);
	if (rc == 0 && (*out = aemp_val_dup(v)) == NULL)
		rc = -ENOMEM;
	cod_tape_fini(&t);
	ring_free(buf, len + COD_PADDING);
	return rc;
}

AEMP_API int
aemp_json_format(const aemp_val *v, char *buf, size_t cap)
{
	ssize_t n = cod_json_encode_value((uint8_t *)buf, cap ? cap - 1 : 0, v);
	uint8_t *tmp;

	if (n < 0)
		return (int)n;
	if (n > INT_MAX)
		return AEMP_ETOOBIG;
	if (cap == 0)
		return (int)n;
	if ((size_t)n < cap) {
		buf[n] = '\0';
		return (int)n;
	}
	/* Truncated like snprintf: the encoder wrote only whole pieces, so
	 * produce the full text once more and cut it. */
	if ((tmp = ring_alloc((size_t)n)) == NULL)
		return -ENOMEM;
	cod_json_encode_value(tmp, (size_t)n, v);
	memcpy(buf, tmp, cap - 1);
	buf[cap - 1] = '\0';
	ring_free(tmp, (size_t)n);
	return (int)n;
}
