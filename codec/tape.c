/*
 * codec/tape.c - the decoder's output space (struct cod_tape) and the
 * framing dispatch of cod_decode, cod_decode_value and the encoders.
 *
 * Invariants: see codec/tape.h.  Growth is amortised (doubling), so a
 * shard that decodes packets of similar size stops allocating after the
 * first few.  The tape never shrinks until cod_tape_fini.
 *
 * Threads: a tape belongs to one thread.
 */
#include <errno.h>
#include <string.h>

#include "codec/cbor.h"
#include "codec/json.h"
#include "codec/tape.h"
#include "ring/alloc.h"
#include "ring/base.h"

#define TAPE_MIN_VALS 64
#define TAPE_MIN_BYTES 1024

void
cod_tape_init(struct cod_tape *t)
{
	memset(t, 0, sizeof(*t));
}

void
cod_tape_fini(struct cod_tape *t)
{
	ring_free(t->v, t->vcap * sizeof(aemp_val));
	ring_free(t->stk, t->stkcap * sizeof(aemp_val));
	ring_free(t->s, t->scap);
	cod_json_free(t->json);
	memset(t, 0, sizeof(*t));
}

/* Grows *arr (cap elements of size sz) so that len + more fit. */
static int
tape_grow(void **arr, size_t *cap, size_t len, size_t more, size_t sz,
          size_t min)
{
	size_t ncap = *cap ? *cap : min;
	void *p;

	if (more > SIZE_MAX / sz - len)
		return -ENOMEM;
	while (ncap < len + more) {
		if (ncap > SIZE_MAX / 2 / sz)
			return -ENOMEM;
		ncap *= 2;
	}
	if ((p = ring_realloc(*arr, ncap * sz)) == NULL)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Container pointers of this decode into the old t->v (at address old,
 * ocap values, now freed: only the numbers are used) follow it to nv.
 * Reserved slots not yet written may hold anything: pointers outside the
 * old block are left alone (the slot is overwritten later anyway). */
static void
tape_rebase(aemp_val *x, size_t n, uintptr_t old, size_t ocap,
            const aemp_val *nv)
{
	uintptr_t a;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!cod_is_container(x[i].type))
			continue;
		a = (uintptr_t)x[i].u.a;
		if (a >= old && a - old <= ocap * sizeof(aemp_val))
			x[i].u.a = nv + (a - old) / sizeof(aemp_val);
	}
}

int
cod_tape_grow_v(struct cod_tape *t, size_t more)
{
	uintptr_t old = (uintptr_t)t->v;
	size_t ocap = t->vcap;
	int rc;

	rc = tape_grow((void **)&t->v, &t->vcap, t->vlen, more,
	               sizeof(aemp_val), TAPE_MIN_VALS);
	if (rc == 0 && old != 0 && (uintptr_t)t->v != old) {
		tape_rebase(t->v, t->vlen, old, ocap, t->v);
		tape_rebase(t->stk, t->stklen, old, ocap, t->v);
	}
	return rc;
}

int
cod_tape_grow_stk(struct cod_tape *t, size_t more)
{
	return tape_grow((void **)&t->stk, &t->stkcap, t->stklen, more,
	                 sizeof(aemp_val), TAPE_MIN_VALS);
}

int
cod_tape_grow_s(struct cod_tape *t, size_t more)
{
	return tape_grow((void **)&t->s, &t->scap, t->slen, more, 1,
	                 TAPE_MIN_BYTES);
}

/* Most containers are short: a loop beats a memcpy call for them. */
static inline void
tape_copy(aemp_val *dst, const aemp_val *src, size_t n)
{
	size_t i;

	if (n > 8) {
		memcpy(dst, src, n * sizeof(aemp_val));
		return;
	}
	for (i = 0; i < n; i++)
		dst[i] = src[i];
}

int
cod_tape_close(struct cod_tape *t, size_t mark, uint8_t type)
{
	size_t n = t->stklen - mark;
	aemp_val *c;
	int64_t at;

	AEMP_ASSERT_HOT(mark <= t->stklen);
	AEMP_ASSERT_HOT(type == AEMP_ARRAY || n % 2 == 0);
	if (AEMP_UNLIKELY(n > UINT32_MAX))
		return AEMP_ETOOBIG;
	if ((at = cod_tape_reserve(t, n)) < 0)
		return (int)at;
	if (n > 0) /* t->v may still be NULL for an empty first container */
		tape_copy(&t->v[at], &t->stk[mark], n);
	t->stklen = mark;
	if ((c = cod_tape_slot(t)) == NULL)
		return -ENOMEM;
	c->type = type;
	c->flags = 0;
	c->pad = 0;
	c->len = (uint32_t)(type == AEMP_MAP ? n / 2 : n);
	c->u.a = cod_tape_kids(t, at, n);
	t->stklen++;
	return 0;
}

int
cod_tape_str_scratch(struct cod_tape *t, const void *p, size_t n, uint8_t flags,
                     aemp_val *out)
{
	if (AEMP_UNLIKELY(n > UINT32_MAX))
		return AEMP_ETOOBIG;
	if (n == 0) { /* no scratch: COD_PAD_SCRATCH implies t->slen > 0 */
		*out = aemp_strn("", 0);
		out->flags = flags;
		return 0;
	}
	if (t->scap - t->slen < n && cod_tape_grow_s(t, n) < 0)
		return -ENOMEM;
	memcpy(t->s + t->slen, p, n);
	memset(out, 0, sizeof(*out));
	out->type = AEMP_STR;
	out->flags = flags;
	out->pad = COD_PAD_SCRATCH;
	out->len = (uint32_t)n;
	out->u.i = (int64_t)t->slen;
	t->slen += n;
	return 0;
}

void
cod_tape_fix_scratch(struct cod_tape *t)
{
	aemp_val *x;
	size_t i;

	for (i = 0; i < t->vlen; i++) {
		x = &t->v[i];
		if (x->type == AEMP_STR && x->pad == COD_PAD_SCRATCH) {
			x->u.s = t->s + x->u.i;
			x->pad = 0;
		}
	}
}

const aemp_val *
cod_tape_finish(struct cod_tape *t)
{
	int64_t at;

	AEMP_ASSERT_HOT(t->stklen == 1);
	if ((at = cod_tape_reserve(t, 1)) < 0)
		return NULL;
	t->v[at] = t->stk[--t->stklen];
	if (t->slen > 0)
		cod_tape_fix_scratch(t);
	return &t->v[at];
}

const char *
cod_framing_name(enum cod_framing f)
{
	switch (f) {
	case COD_JSON:
		return "json";
	case COD_CBOR:
		return "cbor";
	default:
		return NULL;
	}
}

enum cod_framing
cod_framing_parse(const char *s, size_t n)
{
	if (n == 4 && memcmp(s, "json", 4) == 0)
		return COD_JSON;
	if (n == 4 && memcmp(s, "cbor", 4) == 0)
		return COD_CBOR;
	return COD_NONE;
}

int
cod_decode(enum cod_framing f, struct cod_tape *t, const uint8_t *p, size_t len,
           const aemp_val **out)
{
	switch (f) {
	case COD_CBOR:
		return cod_cbor_decode(t, p, len, 1, out);
	case COD_JSON:
		return cod_json_decode(t, p, len, 1, out);
	default:
		return -EINVAL;
	}
}

int
cod_decode_value(enum cod_framing f, struct cod_tape *t, const uint8_t *p,
                 size_t len, const aemp_val **out)
{
	switch (f) {
	case COD_CBOR:
		return cod_cbor_decode(t, p, len, 0, out);
	case COD_JSON:
		return cod_json_decode(t, p, len, 0, out);
	default:
		return -EINVAL;
	}
}

ssize_t
cod_encode_packet(enum cod_framing f, uint8_t *buf, size_t cap, const char *dst,
                  size_t dlen, const struct cod_seg *segs, size_t nsegs)
{
	switch (f) {
	case COD_CBOR:
		return cod_cbor_encode_packet(buf, cap, dst, dlen, segs, nsegs);
	case COD_JSON:
		return cod_json_encode_packet(buf, cap, dst, dlen, segs, nsegs);
	default:
		return -EINVAL;
	}
}

ssize_t
cod_encode_value(enum cod_framing f, uint8_t *buf, size_t cap,
                 const aemp_val *v)
{
	switch (f) {
	case COD_CBOR:
		return cod_cbor_encode_value(buf, cap, v);
	case COD_JSON:
		return cod_json_encode_value(buf, cap, v);
	default:
		return -EINVAL;
	}
}
