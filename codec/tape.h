/*
 * codec/tape.h - building aemp_val trees in a struct cod_tape; shared by
 * the CBOR decoder (C) and the JSON decoder (C++, codec/json.cc).
 *
 * A decode appends values to two growable arrays of the tape:
 *  - t->stk holds values whose container is still open, in order;
 *  - t->v holds finished values: the children of each closed container,
 *    contiguous, copied there from t->stk when the container closes (or
 *    reserved there directly when the count is known in advance, CBOR).
 * A container points at its children in t->v right away; when t->v moves
 * while growing, cod_tape_grow_v rebases every container pointer of the
 * decode (in t->v and t->stk), so growth stays amortised and a finished
 * packet needs no fix-up pass.  Strings copied into t->s (CBOR indefinite
 * strings and integer keys only) record their offset in u.i with pad =
 * COD_PAD_SCRATCH, and cod_tape_finish points them into t->s.  Empty
 * containers have u.a = NULL.
 *
 * Threads: a tape belongs to one thread.
 */
#ifndef CODEC_TAPE_H
#define CODEC_TAPE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Marks a string value whose bytes are at offset u.i of t->s (build time
 * only; cod_tape_finish clears it). */
#define COD_PAD_SCRATCH 1

/* cod_tape_reset - forget the previous decode (capacity is kept). */
static inline void
cod_tape_reset(struct cod_tape *t)
{
	t->vlen = 0;
	t->stklen = 0;
	t->slen = 0;
}

/* Slow paths: grow an array so that `more` entries fit.  0 or -ENOMEM. */
int cod_tape_grow_v(struct cod_tape *t, size_t more);
int cod_tape_grow_stk(struct cod_tape *t, size_t more);
int cod_tape_grow_s(struct cod_tape *t, size_t more);

/* cod_tape_push - append v to the open values.  0 or -ENOMEM. */
static inline int
cod_tape_push(struct cod_tape *t, aemp_val v)
{
	if (t->stklen == t->stkcap && cod_tape_grow_stk(t, 1) < 0)
		return -ENOMEM;
	t->stk[t->stklen++] = v;
	return 0;
}

/* cod_tape_slot - the next open-value slot, to be filled in place and
 * then kept with t->stklen++ (or dropped).  NULL when out of memory.
 * Filling in place matters: a value built in a temporary and copied as
 * 16 bytes stalls on store forwarding, the main cost of a small packet. */
static inline aemp_val *
cod_tape_slot(struct cod_tape *t)
{
	if (t->stklen == t->stkcap && cod_tape_grow_stk(t, 1) < 0)
		return NULL;
	return &t->stk[t->stklen];
}

/* cod_tape_reserve - n consecutive slots at the end of t->v; returns the
 * index of the first, or -ENOMEM.  t->v may move (see above). */
static inline int64_t
cod_tape_reserve(struct cod_tape *t, size_t n)
{
	size_t at = t->vlen;

	if (t->vcap - t->vlen < n && cod_tape_grow_v(t, n) < 0)
		return -ENOMEM;
	t->vlen += n;
	return (int64_t)at;
}

/* cod_tape_kids - the pointer a container of n children reserved at
 * index `at` keeps (NULL when empty: t->v may not exist yet). */
static inline const aemp_val *
cod_tape_kids(const struct cod_tape *t, int64_t at, size_t n)
{
	return n > 0 ? t->v + at : NULL;
}

/* cod_tape_close - close the container opened when stklen was `mark`:
 * its children (stk[mark..]) move to t->v and the container value of
 * `type` (AEMP_ARRAY or AEMP_MAP; a map has an even number of children)
 * takes their place in stk.  0, -ENOMEM or AEMP_ETOOBIG (> 2^32-1). */
int cod_tape_close(struct cod_tape *t, size_t mark, uint8_t type);

/* cod_tape_str_scratch - a string value for n bytes copied into t->s. */
int cod_tape_str_scratch(struct cod_tape *t, const void *p, size_t n,
                         uint8_t flags, aemp_val *out);

/* cod_tape_finish - the root is the last value on t->stk: move it to the
 * end of t->v, point scratch strings into t->s and return the root
 * (borrowed from t), or NULL when out of memory. */
const aemp_val *cod_tape_finish(struct cod_tape *t);

/* cod_tape_fix_scratch - point the scratch strings of t->v into t->s (a
 * decode that built its root in t->v itself; cod_tape_finish does it). */
void cod_tape_fix_scratch(struct cod_tape *t);

#ifdef __cplusplus
}
#endif

#endif /* CODEC_TAPE_H */
