/*
 * codec/cbor.c - CBOR decoding (aemp-protocol.md §3.4, RFC 8949): the
 * packet decoder.  The resumable scanner for partial packets, which must
 * accept and refuse exactly what this decoder does, is codec/cbor_scan.c.
 *
 * What is accepted, and why (Perl CBOR::XS is the peer):
 *  - strings of major type 2 (byte) and 3 (text), definite or indefinite,
 *    everywhere; byte strings get AEMP_VF_BYTES.  Text is not checked for
 *    UTF-8, as CBOR::XS does not check it by default;
 *  - integers over the full 64-bit ranges of majors 0 and 1; values
 *    outside int64 become AEMP_FLOAT (as JSON numbers outside int64 do),
 *    exact up to 2^53 and rounded beyond;
 *  - half, single and double floats; false, true, null, and `undefined`
 *    (23) as null; any other simple value is malformed;
 *  - tags of any number, skipped: the value is the tagged item;
 *  - map keys that are strings, or integers which become decimal strings
 *    (Perl stringifies hash keys); any other key kind is malformed.
 *
 * Invariants: the decoder walks a (p, end) cursor and checks the length
 * before every read; a count or length larger than the bytes left can only
 * be a truncated packet (every item takes at least one byte), so nothing is
 * reserved before the input proves it.  Recursion depth is bounded by
 * AEMP_MAX_DEPTH.
 *
 * Threads: no shared state.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "codec/cbor.h"
#include "codec/tape.h"
#include "ring/base.h"

struct cbor_dec {
	const uint8_t *p;
	const uint8_t *end;
	struct cod_tape *t;
};

static int cbor_item(struct cbor_dec *d, uint32_t depth, int64_t at);

static size_t
cbor_left(const struct cbor_dec *d)
{
	return (size_t)(d->end - d->p);
}

/* Big-endian argument of 1, 2, 4 or 8 bytes at p. */
static uint64_t
cbor_be(const uint8_t *p, unsigned n)
{
	uint64_t x = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		x = x << 8 | p[i];
	return x;
}

/* Reads one head: major type, additional info, argument (0 for ai 31). */
static int
cbor_head(struct cbor_dec *d, unsigned *mt, unsigned *ai, uint64_t *arg)
{
	unsigned b, n;

	if (d->p == d->end)
		return COD_EMORE;
	b = *d->p++;
	*mt = b >> 5;
	*ai = b & 31;
	if (*ai < 24 || *ai == 31) {
		*arg = *ai < 24 ? *ai : 0;
		return 0;
	}
	if (*ai > 27)
		return AEMP_EMALFORMED;
	n = 1u << (*ai - 24);
	if (cbor_left(d) < n)
		return COD_EMORE;
	*arg = cbor_be(d->p, n);
	d->p += n;
	return 0;
}

static double
cbor_half(uint16_t h)
{
	int e = (h >> 10) & 0x1f, m = h & 0x3ff;
	double v;

	if (e == 0)
		v = ldexp(m, -24);
	else if (e != 31)
		v = ldexp(m + 1024, e - 25);
	else
		v = m == 0 ? INFINITY : NAN;
	return (h & 0x8000) ? -v : v;
}

static int
cbor_simple(unsigned ai, uint64_t arg, aemp_val *out)
{
	uint32_t u32;
	float f32;
	double f64;

	switch (ai) {
	case 20:
	case 21:
		*out = aemp_bool(ai == 21);
		return 0;
	case 22:
	case 23: /* undefined: Perl would make an error object; null is safe */
		*out = aemp_null();
		return 0;
	case 25:
		*out = aemp_float(cbor_half((uint16_t)arg));
		return 0;
	case 26:
		u32 = (uint32_t)arg;
		memcpy(&f32, &u32, sizeof(f32));
		*out = aemp_float(f32);
		return 0;
	case 27:
		memcpy(&f64, &arg, sizeof(f64));
		*out = aemp_float(f64);
		return 0;
	default:
		return AEMP_EMALFORMED;
	}
}

/* Major 0 (neg == 0) or 1 (neg == 1) with argument arg. */
static aemp_val
cbor_int(int neg, uint64_t arg)
{
	if (arg <= (uint64_t)INT64_MAX)
		return aemp_int(neg ? -1 - (int64_t)arg : (int64_t)arg);
	return aemp_float(neg ? -1.0 - (double)arg : (double)arg);
}

/* Indefinite string: definite chunks of the same major type, then 0xff. */
static int
cbor_indef_str(struct cbor_dec *d, unsigned mt, aemp_val *out)
{
	struct cod_tape *t = d->t;
	size_t start = t->slen;
	unsigned cmt, ai;
	uint64_t n;
	int rc;

	for (;;) {
		if (d->p == d->end)
			return COD_EMORE;
		if (*d->p == 0xff)
			break;
		/* Judged on the first byte, as the scanner does. */
		if ((*d->p >> 5) != mt || (*d->p & 31) == 31)
			return AEMP_EMALFORMED;
		if ((rc = cbor_head(d, &cmt, &ai, &n)) < 0)
			return rc;
		if (n > cbor_left(d))
			return COD_EMORE;
		if (n > UINT32_MAX - (t->slen - start))
			return AEMP_ETOOBIG;
		if (t->scap - t->slen < n && cod_tape_grow_s(t, n) < 0)
			return -ENOMEM;
		if (n > 0) /* t->s may still be NULL */
			memcpy(t->s + t->slen, d->p, n);
		t->slen += n;
		d->p += n;
	}
	d->p++;
	if (t->slen == start) { /* empty: no scratch (see codec/tape.h) */
		*out = aemp_strn("", 0);
		out->flags = mt == 2 ? AEMP_VF_BYTES : 0;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	out->type = AEMP_STR;
	out->flags = mt == 2 ? AEMP_VF_BYTES : 0;
	out->pad = COD_PAD_SCRATCH;
	out->len = (uint32_t)(t->slen - start);
	out->u.i = (int64_t)start;
	return 0;
}

static int
cbor_str(struct cbor_dec *d, unsigned mt, unsigned ai, uint64_t n,
         aemp_val *out)
{
	if (ai == 31)
		return cbor_indef_str(d, mt, out);
	if (n > cbor_left(d))
		return COD_EMORE;
	if (n > UINT32_MAX)
		return AEMP_ETOOBIG;
	*out = aemp_strn((const char *)d->p, (size_t)n);
	out->flags = mt == 2 ? AEMP_VF_BYTES : 0;
	d->p += n;
	return 0;
}

/* Writes the decimal form of the integer key (neg, arg) to scratch. */
static int
cbor_int_key(struct cbor_dec *d, int neg, uint64_t arg, aemp_val *out)
{
	char tmp[24], *q = tmp + sizeof(tmp);
	uint64_t x = neg ? arg + 1 : arg;

	if (neg && arg == UINT64_MAX) /* -2^64: one more than uint64 holds */
		return cod_tape_str_scratch(d->t, "-18446744073709551616", 21,
		                            0, out);
	do {
		*--q = (char)('0' + x % 10);
		x /= 10;
	} while (x != 0);
	if (neg)
		*--q = '-';
	return cod_tape_str_scratch(d->t, q, (size_t)(tmp + sizeof(tmp) - q), 0,
	                            out);
}

/* Skips tags in front of an item; leaves p on the item's head. */
static int
cbor_skip_tags(struct cbor_dec *d)
{
	unsigned mt, ai;
	uint64_t arg;
	int rc;

	while (d->p < d->end && (*d->p >> 5) == 6) {
		if ((rc = cbor_head(d, &mt, &ai, &arg)) < 0)
			return rc;
		if (ai == 31)
			return AEMP_EMALFORMED;
	}
	return d->p < d->end ? 0 : COD_EMORE;
}

/*
 * Where a decoded item goes: slot `at` of t->v, reserved by its definite
 * container, or (at == CBOR_PUSH) a new open value on t->stk.  The slot is
 * looked up right before it is written, after any growth of t->v, and
 * written field by field: a value built in a temporary and copied as 16
 * bytes stalls on store forwarding, which was half of a small packet's
 * decode time.
 */
#define CBOR_PUSH (-1)

static aemp_val *
cbor_dst(struct cbor_dec *d, int64_t at)
{
	return at >= 0 ? &d->t->v[at] : cod_tape_slot(d->t);
}

/* Keeps what was written at cbor_dst(d, at) after a result rc. */
static int
cbor_commit(struct cbor_dec *d, int64_t at, int rc)
{
	if (rc == 0 && at < 0)
		d->t->stklen++;
	return rc;
}

static int
cbor_key(struct cbor_dec *d, int64_t at)
{
	unsigned mt, ai;
	uint64_t arg;
	aemp_val *o;
	int rc;

	if ((rc = cbor_skip_tags(d)) < 0)
		return rc;
	mt = *d->p >> 5;
	if (mt == 2 || mt == 3)
		return cbor_item(d, 0, at);
	if (mt > 1)
		return AEMP_EMALFORMED;
	if ((rc = cbor_head(d, &mt, &ai, &arg)) < 0)
		return rc;
	if (ai == 31)
		return AEMP_EMALFORMED;
	if ((o = cbor_dst(d, at)) == NULL)
		return -ENOMEM;
	return cbor_commit(d, at, cbor_int_key(d, (int)mt, arg, o));
}

/* Indefinite array or map: children go through t->stk until the break. */
static int
cbor_indef(struct cbor_dec *d, uint32_t depth, uint8_t type, int64_t at)
{
	struct cod_tape *t = d->t;
	size_t mark = t->stklen;
	int rc;

	for (;;) {
		if (d->p == d->end)
			return COD_EMORE;
		if (*d->p == 0xff)
			break;
		if (type == AEMP_MAP && (rc = cbor_key(d, CBOR_PUSH)) < 0)
			return rc;
		if ((rc = cbor_item(d, depth + 1, CBOR_PUSH)) < 0)
			return rc;
	}
	d->p++;
	if ((rc = cod_tape_close(t, mark, type)) < 0)
		return rc;
	if (at >= 0) /* the container went to t->stk: move it (rare) */
		t->v[at] = t->stk[--t->stklen];
	return 0;
}

/* Definite array (n elements) or map (n pairs): slots reserved at once. */
static int
cbor_def(struct cbor_dec *d, uint32_t depth, uint8_t type, uint64_t n,
         int64_t at)
{
	uint64_t kids = type == AEMP_MAP ? 2 * n : n, i;
	int64_t first;
	aemp_val *o;
	int rc;

	if (n > cbor_left(d) || kids > cbor_left(d))
		return COD_EMORE;
	if (n > UINT32_MAX)
		return AEMP_ETOOBIG;
	if ((first = cod_tape_reserve(d->t, (size_t)kids)) < 0)
		return (int)first;
	for (i = 0; i < kids; i++) {
		if (type == AEMP_MAP && i % 2 == 0)
			rc = cbor_key(d, first + (int64_t)i);
		else
			rc = cbor_item(d, depth + 1, first + (int64_t)i);
		if (rc < 0)
			return rc;
	}
	if ((o = cbor_dst(d, at)) == NULL)
		return -ENOMEM;
	o->type = type;
	o->flags = 0;
	o->pad = 0;
	o->len = (uint32_t)n;
	o->u.a = cod_tape_kids(d->t, first, (size_t)kids);
	return cbor_commit(d, at, 0);
}

/* Decodes the item at d->p into cbor_dst(d, at); depth = containers
 * around it. */
static int
cbor_item(struct cbor_dec *d, uint32_t depth, int64_t at)
{
	unsigned mt, ai;
	uint64_t arg;
	aemp_val *o;
	int rc;

	do {
		if ((rc = cbor_head(d, &mt, &ai, &arg)) < 0)
			return rc;
		if (ai == 31 && (mt < 2 || mt == 6))
			return AEMP_EMALFORMED;
	} while (mt == 6);
	if (mt == 4 || mt == 5) {
		if (depth >= AEMP_MAX_DEPTH)
			return AEMP_EDEPTH;
		if (ai == 31)
			return cbor_indef(d, depth,
			                  mt == 4 ? AEMP_ARRAY : AEMP_MAP, at);
		return cbor_def(d, depth, mt == 4 ? AEMP_ARRAY : AEMP_MAP, arg,
		                at);
	}
	if ((o = cbor_dst(d, at)) == NULL)
		return -ENOMEM;
	if (mt < 2) {
		*o = cbor_int((int)mt, arg);
		rc = 0;
	} else if (mt < 4) {
		rc = cbor_str(d, mt, ai, arg, o);
	} else {
		rc = cbor_simple(ai, arg, o);
	}
	return cbor_commit(d, at, rc);
}

static int
cbor_top(struct cbor_dec *d, int want_array, const aemp_val **out)
{
	int rc;

	cod_tape_reset(d->t);
	if ((rc = cbor_skip_tags(d)) < 0)
		return rc;
	if (want_array && (*d->p >> 5) != 4)
		return AEMP_EMALFORMED;
	if ((rc = cbor_item(d, 0, CBOR_PUSH)) < 0)
		return rc;
	if ((*out = cod_tape_finish(d->t)) == NULL)
		return -ENOMEM;
	return 0;
}

int
cod_cbor_decode(struct cod_tape *t, const uint8_t *p, size_t len,
                int want_array, const aemp_val **out)
{
	struct cbor_dec d = {p, p + len, t};
	int rc;

	rc = cbor_top(&d, want_array, out);
	if (rc == COD_EMORE || (rc == 0 && d.p != d.end))
		return AEMP_EMALFORMED;
	return rc;
}

ssize_t
cod_cbor_decode_prefix(struct cod_tape *t, const uint8_t *p, size_t len,
                       const aemp_val **out)
{
	struct cbor_dec d = {p, p + len, t};
	int rc;

	if ((rc = cbor_top(&d, 1, out)) < 0)
		return rc;
	return d.p - p;
}
