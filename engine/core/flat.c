/*
 * engine/core/flat.c - the "flat" form of a message between shards of one
 * process: the packet [dst, elements...] as an array of aemp_val followed
 * by every nested array and every string byte, with pointers stored as
 * offsets from the start of the record.  Writing is one pass of copies;
 * reading turns the offsets back into pointers in place.  No parsing:
 * both sides are this process, so the record is trusted (asserted in
 * debug builds only).
 *
 * Layout: struct flat_hdr, then nvals aemp_val (the top-level packet
 * first), then the string bytes.
 *
 * Threads: written by the producing shard, fixed up and read by the
 * consuming shard (which owns the record until it pops it).
 */
#include <errno.h>
#include <string.h>

#include "engine/core/eng.h"
#include "engine/core/flat.h"

struct flat_hdr {
	uint32_t nvals; /* aemp_val entries after the header */
	uint32_t top;   /* elements of the packet (first entries) */
	uint32_t strbytes;
	uint32_t pad;
};

_Static_assert(sizeof(struct flat_hdr) % 16 == 0, "flat header alignment");

/* Count values and string bytes under v (depth-limited). */
static int
count_val(const aemp_val *v, size_t *nvals, size_t *sbytes, int depth)
{
	size_t i, n;

	if (v->type == AEMP_STR) {
		*sbytes += v->len;
		return 0;
	}
	if (!cod_is_container(v->type))
		return 0;
	if (depth >= AEMP_MAX_DEPTH)
		return AEMP_EDEPTH;
	n = cod_nkids(v);
	*nvals += n;
	for (i = 0; i < n; i++) {
		int rc = count_val(&v->u.a[i], nvals, sbytes, depth + 1);

		if (rc < 0)
			return rc;
	}
	return 0;
}

int
eng_flat_plan(size_t dlen, const struct cod_seg *segs, size_t nsegs,
              struct eng_flat_plan *plan)
{
	size_t nvals = 1, sbytes = dlen, i, j;
	int rc;

	for (i = 0; i < nsegs; i++) {
		nvals += segs[i].n;
		for (j = 0; j < segs[i].n; j++) {
			rc = count_val(&segs[i].v[j], &nvals, &sbytes, 1);
			if (rc < 0)
				return rc;
		}
	}
	if (nvals > UINT32_MAX || sbytes > UINT32_MAX)
		return AEMP_ETOOBIG;
	plan->nvals = nvals;
	plan->sbytes = sbytes;
	plan->size =
	        sizeof(struct flat_hdr) + nvals * sizeof(aemp_val) + sbytes;
	return 0;
}

struct flat_w {
	uint8_t *base;
	aemp_val *vals; /* next free value slot */
	char *str;      /* next free string byte */
};

/* put - copy v into slot *dst, relocating what it points to. */
static void
put(struct flat_w *w, aemp_val *dst, const aemp_val *v)
{
	size_t i, n;
	aemp_val *kids;

	*dst = *v;
	if (v->type == AEMP_STR) {
		memcpy(w->str, v->u.s, v->len);
		dst->u.i = (int64_t)(w->str - (char *)w->base);
		w->str += v->len;
		return;
	}
	if (!cod_is_container(v->type))
		return;
	n = cod_nkids(v);
	kids = w->vals;
	w->vals += n;
	dst->u.i = (int64_t)((uint8_t *)kids - w->base);
	for (i = 0; i < n; i++)
		put(w, &kids[i], &v->u.a[i]);
}

void
eng_flat_write(uint8_t *out, const struct eng_flat_plan *plan, const char *dst,
               size_t dlen, const struct cod_seg *segs, size_t nsegs)
{
	struct flat_hdr *h = (struct flat_hdr *)(void *)out;
	aemp_val *top = (aemp_val *)(void *)(out + sizeof(*h));
	aemp_val name = aemp_strn(dst, dlen);
	struct flat_w w;
	size_t i, j, k = 1;

	h->top = 1;
	for (i = 0; i < nsegs; i++)
		h->top += (uint32_t)segs[i].n;
	h->nvals = (uint32_t)plan->nvals;
	h->strbytes = (uint32_t)plan->sbytes;
	h->pad = 0;
	w.base = out;
	w.vals = top + h->top;
	w.str = (char *)(top + h->nvals);
	put(&w, &top[0], &name);
	for (i = 0; i < nsegs; i++)
		for (j = 0; j < segs[i].n; j++)
			put(&w, &top[k++], &segs[i].v[j]);
	AEMP_ASSERT_HOT((size_t)(w.str - (char *)out) == plan->size);
}

/* fix - offsets back to pointers, recursively. */
static void
fix(uint8_t *base, aemp_val *v)
{
	size_t i, n;

	if (v->type == AEMP_STR) {
		v->u.s = (const char *)base + v->u.i;
		return;
	}
	if (!cod_is_container(v->type))
		return;
	v->u.a = (const aemp_val *)(const void *)(base + v->u.i);
	n = cod_nkids(v);
	for (i = 0; i < n; i++)
		fix(base, (aemp_val *)&v->u.a[i]);
}

const aemp_val *
eng_flat_read(uint8_t *rec, size_t len, size_t *n)
{
	struct flat_hdr *h = (struct flat_hdr *)(void *)rec;
	aemp_val *top = (aemp_val *)(void *)(rec + sizeof(*h));
	uint32_t i;

	(void)len;
	AEMP_ASSERT_HOT(len >=
	                sizeof(*h) + (size_t)h->nvals * sizeof(aemp_val));
	for (i = 0; i < h->top; i++)
		fix(rec, &top[i]);
	*n = h->top;
	return top;
}

const aemp_val *
eng_flat_again(uint8_t *rec, size_t *n)
{
	const struct flat_hdr *h = (const struct flat_hdr *)(void *)rec;

	*n = h->top;
	return (const aemp_val *)(const void *)(rec + sizeof(*h));
}
