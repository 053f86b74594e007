/*
 * codec/cbor_enc.c - CBOR encoding of packets and values, producing what
 * Perl nodes (CBOR::XS) produce: shortest integer heads, definite lengths,
 * floats as single precision when that is lossless (2.5 -> fa40200000)
 * else double, no tags, never `undefined`.  Strings are text strings
 * unless they carry AEMP_VF_BYTES or are not valid UTF-8 (then byte
 * strings, which Perl decodes to the same bytes).
 *
 * Invariants: nothing nested deeper than AEMP_MAX_DEPTH is written
 * (AEMP_EDEPTH); map keys are strings (else AEMP_EMALFORMED).  Output goes
 * through struct cod_wr, so a too small buffer only costs a second call.
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

static void
cbor_put_float(struct cod_wr *w, double f)
{
	uint8_t h[9];
	uint64_t u64;
	uint32_t u32;
	float g;
	int i;

	/* float32 when exact; the range test keeps the conversion defined. */
	if (isinf(f) || (fabs(f) <= FLT_MAX && (double)(float)f == f)) {
		g = (float)f;
		memcpy(&u32, &g, sizeof(u32));
		h[0] = 0xfa;
		for (i = 1; i < 5; i++)
			h[i] = (uint8_t)(u32 >> (8 * (4 - i)));
		cod_wr_mem(w, h, 5);
		return;
	}
	memcpy(&u64, &f, sizeof(u64));
	h[0] = 0xfb;
	for (i = 1; i < 9; i++)
		h[i] = (uint8_t)(u64 >> (8 * (8 - i)));
	cod_wr_mem(w, h, 9);
}

static void
cbor_put_str(struct cod_wr *w, const char *s, size_t len, uint8_t flags)
{
	int text = !(flags & AEMP_VF_BYTES) &&
	           cod_utf8_valid((const uint8_t *)s, len);

	cbor_put_head(w, text ? 3 : 2, len);
	cod_wr_mem(w, s, len);
}

static int cbor_put_val(struct cod_wr *w, const aemp_val *v, uint32_t depth);

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

			if (k->type != AEMP_STR)
				return AEMP_EMALFORMED;
			cbor_put_str(w, k->u.s, k->len, k->flags);
			rc = cbor_put_val(w, &v->u.a[2 * i + 1], depth + 1);
		} else {
			rc = cbor_put_val(w, &v->u.a[i], depth + 1);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Writes v; depth = containers around it. */
static int
cbor_put_val(struct cod_wr *w, const aemp_val *v, uint32_t depth)
{
	switch (v->type) {
	case AEMP_NULL:
		cod_wr_byte(w, 0xf6);
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
	case AEMP_FLOAT:
		cbor_put_float(w, v->u.f);
		return 0;
	case AEMP_STR:
		cbor_put_str(w, v->u.s, v->len, v->flags);
		return 0;
	case AEMP_ARRAY:
	case AEMP_MAP:
		return cbor_put_kids(w, v, depth);
	default:
		return AEMP_EMALFORMED;
	}
}

ssize_t
cod_cbor_encode_packet(uint8_t *buf, size_t cap, const char *dst, size_t dlen,
                       const struct cod_seg *segs, size_t nsegs)
{
	struct cod_wr w = {buf, cap, 0};
	size_t i, j, n = 1;
	int rc;

	for (i = 0; i < nsegs; i++)
		n += segs[i].n;
	if (n > UINT32_MAX)
		return AEMP_ETOOBIG;
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
