/*
 * codec/cbor.c - CBOR decoding (aemp-protocol.md §3.4, RFC 8949): the
 * packet decoder.  The resumable scanner for partial packets, which must
 * accept and refuse exactly what this decoder does, is codec/cbor_scan.c.
 *
 * What is accepted, and why (Perl CBOR::XS is the peer, and a node in the
 * middle must hand on what it got: every flag set here makes the encoder,
 * codec/cbor_enc.c, write the item back byte for byte when it came in its
 * shortest form):
 *  - strings of major type 2 (byte) and 3 (text), definite or indefinite,
 *    everywhere; byte strings get AEMP_VF_BYTES, text strings
 *    AEMP_VF_TEXT.  Text is not checked for UTF-8, as CBOR::XS does not
 *    check it by default;
 *  - integers over the full ranges of majors 0 and 1, exactly: AEMP_INT
 *    inside int64, else AEMP_UINT (with AEMP_VF_NEG for major 1);
 *  - half, single and double floats, with their width (AEMP_VF_F16/32/64)
 *    and their exact bits, NaN payloads included; false, true, null, and
 *    `undefined` (23) as null with AEMP_VF_UNDEF; any other simple value
 *    is malformed (CBOR::XS refuses them too);
 *  - tags of any number, kept as AEMP_TAG values (one nesting level each),
 *    except in front of a packet, where they are skipped (a packet is an
 *    array);
 *  - map keys that are strings, or integers which become decimal strings
 *    (Perl stringifies hash keys), or tags around such keys, where
 *    integers stay integers (CBOR::XS's packed strings put tag 25 around
 *    an index there); any other key kind is malformed.
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

/* A NaN of a narrower width as the double NaN with the same sign and
 * payload (mantissa bits aligned at the top), built bit by bit: the FPU
 * would set the quiet bit of a signalling NaN, and the encoder could not
 * give back the bits that came in. */
static double
cbor_nan(uint64_t sign, uint64_t mant, unsigned shift)
{
	uint64_t b = sign << 63 | (uint64_t)0x7ff << 52 | mant << shift;
	double d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

static double
cbor_half(uint16_t h)
{
	int e = (h >> 10) & 0x1f, m = h & 0x3ff;
	double v;

	if (e == 31 && m != 0)
		return cbor_nan(h >> 15, (uint64_t)m, 42);
	if (e == 0)
		v = ldexp(m, -24);
	else if (e != 31)
		v = ldexp(m + 1024, e - 25);
	else
		v = INFINITY;
	return (h & 0x8000) ? -v : v;
}

static double
cbor_single(uint32_t u32)
{
	float f32;

	if ((u32 & 0x7f800000) == 0x7f800000 && (u32 & 0x7fffff) != 0)
		return cbor_nan(u32 >> 31, u32 & 0x7fffff, 29);
	memcpy(&f32, &u32, sizeof(f32));
	return f32;
}

static int
cbor_simple(unsigned ai, uint64_t arg, aemp_val *out)
{
	double f64;

	switch (ai) {
	case 20:
	case 21:
		*out = aemp_bool(ai == 21);
		return 0;
	case 22:
		*out = aemp_null();
		return 0;
	case 23: /* undefined: CBOR::XS's error object, handed on as such */
		*out = aemp_null();
		out->flags = AEMP_VF_UNDEF;
		return 0;
	case 25:
		*out = aemp_float(cbor_half((uint16_t)arg));
		out->flags = AEMP_VF_F16;
		return 0;
	case 26:
		*out = aemp_float(cbor_single((uint32_t)arg));
		out->flags = AEMP_VF_F32;
		return 0;
	case 27:
		memcpy(&f64, &arg, sizeof(f64));
		*out = aemp_float(f64);
		out->flags = AEMP_VF_F64;
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
	return neg ? aemp_negint(arg) : aemp_uint(arg);
}

/* The flags of a string of major type mt (2 or 3). */
#define CBOR_STR_FLAGS(mt) ((mt) == 2 ? AEMP_VF_BYTES : AEMP_VF_TEXT)

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
		out->flags = CBOR_STR_FLAGS(mt);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	out->type = AEMP_STR;
	out->flags = CBOR_STR_FLAGS(mt);
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
	out->flags = CBOR_STR_FLAGS(mt);
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
		                            AEMP_VF_TEXT, out);
	do {
		*--q = (char)('0' + x % 10);
		x /= 10;
	} while (x != 0);
	if (neg)
		*--q = '-';
	return cod_tape_str_scratch(d->t, q, (size_t)(tmp + sizeof(tmp) - q),
	                            AEMP_VF_TEXT, out);
}

/* Skips tags in front of a packet; leaves p on the packet's head. */
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

static int cbor_key(struct cbor_dec *d, uint32_t depth, int64_t at, int tagged);

/*
 * A tag with number num; the tagged item follows at d->p.  The AEMP_TAG
 * value goes to cbor_dst(d, at), its two children (number, item) to two
 * slots reserved in t->v.  key: the tag sits where a map key goes, so the
 * item is a key too.  depth = containers and tags around the tag.
 */
static int
cbor_tag(struct cbor_dec *d, uint32_t depth, uint64_t num, int64_t at, int key)
{
	int64_t first;
	aemp_val *o;
	int rc;

	if (depth >= AEMP_MAX_DEPTH)
		return AEMP_EDEPTH;
	if ((first = cod_tape_reserve(d->t, 2)) < 0)
		return (int)first;
	d->t->v[first] = aemp_uint(num);
	rc = key ? cbor_key(d, depth + 1, first + 1, 1)
	         : cbor_item(d, depth + 1, first + 1);
	if (rc < 0)
		return rc;
	if ((o = cbor_dst(d, at)) == NULL)
		return -ENOMEM;
	o->type = AEMP_TAG;
	o->flags = 0;
	o->pad = 0;
	o->len = 2;
	o->u.a = d->t->v + first;
	return cbor_commit(d, at, 0);
}

/* A map key: a string; an integer, which becomes its decimal text unless
 * tagged (inside a tag it stays an integer); or a tag around a key. */
static int
cbor_key(struct cbor_dec *d, uint32_t depth, int64_t at, int tagged)
{
	unsigned mt, ai;
	uint64_t arg;
	aemp_val *o;
	int rc;

	if (d->p == d->end)
		return COD_EMORE;
	mt = *d->p >> 5;
	if (mt == 2 || mt == 3)
		return cbor_item(d, depth, at);
	if (mt > 1 && mt != 6)
		return AEMP_EMALFORMED;
	if ((rc = cbor_head(d, &mt, &ai, &arg)) < 0)
		return rc;
	if (ai == 31)
		return AEMP_EMALFORMED;
	if (mt == 6)
		return cbor_tag(d, depth, arg, at, 1);
	if ((o = cbor_dst(d, at)) == NULL)
		return -ENOMEM;
	if (tagged) {
		*o = cbor_int((int)mt, arg);
		return cbor_commit(d, at, 0);
	}
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
		if (type == AEMP_MAP &&
		    (rc = cbor_key(d, depth + 1, CBOR_PUSH, 0)) < 0)
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
			rc = cbor_key(d, depth + 1, first + (int64_t)i, 0);
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

	if ((rc = cbor_head(d, &mt, &ai, &arg)) < 0)
		return rc;
	if (ai == 31 && (mt < 2 || mt == 6))
		return AEMP_EMALFORMED;
	if (mt == 6)
		return cbor_tag(d, depth, arg, at, 0);
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

/*
 * The common packet shape without the general item dispatch: a definite
 * array of fewer than 24 elements (every packet with a short message),
 * whose elements are mostly integers and definite strings.  An element
 * that is complete in the input and of one of these kinds is written here
 * directly; anything else (containers, floats, tags, indefinite or
 * truncated items) goes through cbor_item, so what is accepted, refused
 * and produced is exactly what the general path does.  The root goes to
 * t->v first, its elements after it, and the scratch fix-up of
 * cod_tape_finish runs only when a string went to scratch.
 */

/* fast_head - the argument of a head at p (ai < 28) with *hn = its size,
 * when the head and what it needs are in [p, end); -1 when not. */
static inline int
fast_head(const uint8_t *p, const uint8_t *end, uint64_t *arg, unsigned *hn)
{
	unsigned ai = p[0] & 31, n;

	if (ai < 24) {
		*arg = ai;
		*hn = 1;
		return 0;
	}
	if (ai > 27)
		return -1;
	n = 1u << (ai - 24);
	if ((size_t)(end - p) < 1 + n)
		return -1;
	*arg = cbor_be(p + 1, n);
	*hn = 1 + n;
	return 0;
}

/* fast_scalar - an integer or definite string at d->p into o; 0, or -1
 * (nothing consumed) when it is of another kind or incomplete. */
static inline int
fast_scalar(struct cbor_dec *d, aemp_val *o)
{
	unsigned mt = d->p[0] >> 5, hn;
	uint64_t arg;

	if (mt > 3 || fast_head(d->p, d->end, &arg, &hn) < 0)
		return -1;
	if (mt < 2) {
		if (arg > (uint64_t)INT64_MAX)
			return -1;
		o->type = AEMP_INT;
		o->flags = 0;
		o->pad = 0;
		o->len = 0;
		o->u.i = mt ? -1 - (int64_t)arg : (int64_t)arg;
		d->p += hn;
		return 0;
	}
	if (arg > (uint64_t)(d->end - d->p) - hn || arg > UINT32_MAX)
		return -1;
	o->type = AEMP_STR;
	o->flags = CBOR_STR_FLAGS(mt);
	o->pad = 0;
	o->len = (uint32_t)arg;
	o->u.s = (const char *)d->p + hn;
	d->p += hn + arg;
	return 0;
}

/* fast_packet - the short definite array at d->p (checked by the caller)
 * into *out. */
static int
fast_packet(struct cbor_dec *d, const aemp_val **out)
{
	struct cod_tape *t = d->t;
	unsigned n = *d->p & 31, i;
	int64_t first;
	aemp_val *root;
	int rc;

	d->p++;
	if (n > cbor_left(d))
		return COD_EMORE;
	if ((first = cod_tape_reserve(t, (size_t)n + 1)) < 0)
		return (int)first;
	for (i = 0; i < n; i++) {
		if (d->p < d->end && fast_scalar(d, &t->v[first + 1 + i]) == 0)
			continue;
		if ((rc = cbor_item(d, 1, first + 1 + (int64_t)i)) < 0)
			return rc;
	}
	root = &t->v[first];
	root->type = AEMP_ARRAY;
	root->flags = 0;
	root->pad = 0;
	root->len = n;
	root->u.a = cod_tape_kids(t, first + 1, n);
	if (t->slen > 0)
		cod_tape_fix_scratch(t);
	*out = root;
	return 0;
}

static int
cbor_top(struct cbor_dec *d, int want_array, const aemp_val **out)
{
	int rc;

	cod_tape_reset(d->t);
	if (want_array && (rc = cbor_skip_tags(d)) < 0)
		return rc;
	if (want_array && (*d->p >> 5) != 4)
		return AEMP_EMALFORMED;
	if (want_array && (*d->p & 31) < 24)
		return fast_packet(d, out);
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
