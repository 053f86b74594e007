/*
 * ring/spsc.c - single-producer/single-consumer queue of variable-length
 * records (see ring/spsc.h for the API).
 *
 * Positions (tail, head and their local/cached copies) are 64-bit byte
 * counters that never wrap in practice; the byte offset in buf is
 * pos & mask.  Each record is an 8-byte header {len, kind} followed by the
 * payload padded to 8 bytes, so every header is 8-aligned and a header
 * never straddles the end of buf.  A record that would cross the end is
 * preceded by a filler record (kind 0) covering the rest of the buffer;
 * records are therefore always contiguous in memory.
 *
 * Invariants:
 *   head <= head_local <= tail_cache <= tail <= tail_local   (consumer view)
 *   tail_local - head <= cap                                 (no overrun)
 *   head_cache <= head                                       (stale is safe)
 * The producer writes record bytes with plain stores, then publishes with a
 * store-release of tail; the consumer reads tail with load-acquire before
 * reading those bytes.  Symmetrically the consumer frees space with a
 * store-release of head, read with load-acquire by the producer before it
 * overwrites the space.
 *
 * Threads: producer fields are written by the producer thread only,
 * consumer fields by the consumer thread only; each side reads the other's
 * published index (tail / head) only when its cached copy runs out.  The
 * published indices sit on lines of their own: when they shared a line
 * with tail_local / head_local, a consumer polling tail pulled away the
 * line the producer writes on every commit, and throughput through a
 * closely trailing consumer fell by a third to a half (docs/ring.md).
 */
#include <errno.h>
#include <string.h>

#include "ring/alloc.h"
#include "ring/spsc.h"

#define REC_HDR 8u

/* One line per role: the shared index a side publishes must not share a
 * line with what that side writes per record (see spsc.h). */
_Static_assert(offsetof(struct ring_spsc, tail) == 0, "spsc: tail line");
_Static_assert(offsetof(struct ring_spsc, tail_local) == AEMP_CACHELINE,
               "spsc: producer-private line");
_Static_assert(offsetof(struct ring_spsc, head) == 2 * AEMP_CACHELINE,
               "spsc: head line");
_Static_assert(offsetof(struct ring_spsc, head_local) == 3 * AEMP_CACHELINE,
               "spsc: consumer-private line");
_Static_assert(offsetof(struct ring_spsc, buf) == 4 * AEMP_CACHELINE,
               "spsc: read-only line");
_Static_assert(sizeof(struct ring_spsc) == 5 * AEMP_CACHELINE, "spsc layout");
_Static_assert(sizeof(atomic_uint_fast64_t) == 8, "spsc: 64-bit positions");

struct rec_hdr {
	uint32_t len;  /* payload bytes (filler: bytes skipped after header) */
	uint32_t kind; /* 0: filler */
};
_Static_assert(sizeof(struct rec_hdr) == REC_HDR, "spsc record header");

static inline uint64_t
rec_size(uint64_t len)
{
	return REC_HDR + ((len + 7) & ~(uint64_t)7);
}

static inline struct rec_hdr *
rec_at(const struct ring_spsc *q, uint64_t pos)
{
	return (struct rec_hdr *)(void *)(q->buf + (pos & q->mask));
}

int
ring_spsc_init(struct ring_spsc *q, size_t cap)
{
	AEMP_ASSERT(((uintptr_t)q & (AEMP_CACHELINE - 1)) == 0);
	if (cap < 4096 || (cap & (cap - 1)) != 0 || (uint64_t)cap > UINT32_MAX)
		return -EINVAL;
	/* Padding after the buffer: a record at the very end may be JSON
	 * that simdjson parses in place, reading up to 64 bytes beyond it. */
	q->buf = ring_alloc_aligned(AEMP_CACHELINE, cap + RING_SPSC_PADDING);
	if (q->buf == NULL)
		return -ENOMEM;
	q->cap = cap;
	q->mask = cap - 1;
	atomic_init(&q->tail, 0);
	q->tail_local = 0;
	q->head_cache = 0;
	q->reserved = 0;
	atomic_init(&q->head, 0);
	q->head_local = 0;
	q->tail_cache = 0;
	return 0;
}

void
ring_spsc_fini(struct ring_spsc *q)
{
	ring_free_aligned(q->buf, AEMP_CACHELINE, q->cap + RING_SPSC_PADDING);
	q->buf = NULL;
}

int
ring_spsc_new(struct ring_spsc **out, size_t cap)
{
	struct ring_spsc *q = ring_alloc_aligned(AEMP_CACHELINE, sizeof(*q));
	int rc;

	if (q == NULL)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	if ((rc = ring_spsc_init(q, cap)) < 0) {
		ring_free_aligned(q, AEMP_CACHELINE, sizeof(*q));
		return rc;
	}
	*out = q;
	return 0;
}

void
ring_spsc_free(struct ring_spsc *q)
{
	if (q == NULL)
		return;
	ring_spsc_fini(q);
	ring_free_aligned(q, AEMP_CACHELINE, sizeof(*q));
}

/* 1 if `bytes` more bytes after tail_local fit in the free space; refreshes
 * the cached head only when the stale copy says no. */
static inline int
spsc_fits(struct ring_spsc *q, uint64_t bytes)
{
	if (q->tail_local + bytes - q->head_cache <= q->cap)
		return 1;
	q->head_cache = atomic_load_explicit(&q->head, memory_order_acquire);
	return q->tail_local + bytes - q->head_cache <= q->cap;
}

void *
ring_spsc_reserve(struct ring_spsc *q, uint32_t kind, size_t len)
{
	uint64_t need = rec_size(len);
	uint64_t to_end = q->cap - (q->tail_local & q->mask);
	uint64_t pad = need > to_end ? to_end : 0;
	struct rec_hdr *h;

	AEMP_ASSERT_HOT(kind != 0);
	AEMP_ASSERT_HOT(len <= ring_spsc_max_payload(q));
	AEMP_ASSERT_HOT(q->reserved == 0);
	if (!spsc_fits(q, pad + need))
		return NULL; /* back pressure */
	if (pad != 0) {
		/* Unpublished until the record after it is published. */
		h = rec_at(q, q->tail_local);
		h->len = (uint32_t)(pad - REC_HDR);
		h->kind = 0;
		q->tail_local += pad;
	}
	h = rec_at(q, q->tail_local);
	h->len = (uint32_t)len;
	h->kind = kind;
	q->reserved = need;
	return h + 1;
}

void
ring_spsc_commit(struct ring_spsc *q, size_t len)
{
	struct rec_hdr *h = rec_at(q, q->tail_local);

	AEMP_ASSERT_HOT(q->reserved != 0);
	AEMP_ASSERT_HOT(len <= h->len);
	h->len = (uint32_t)len;
	q->tail_local += rec_size(len);
	q->reserved = 0;
}

int
ring_spsc_publish(struct ring_spsc *q)
{
	/* Only this thread writes tail, so a relaxed read of it is exact. */
	if (q->tail_local ==
	    atomic_load_explicit(&q->tail, memory_order_relaxed))
		return 0;
	atomic_store_explicit(&q->tail, q->tail_local, memory_order_release);
	return 1;
}

const void *
ring_spsc_front(struct ring_spsc *q, uint32_t *kind, size_t *len)
{
	const struct rec_hdr *h;

	if (q->head_local == q->tail_cache) {
		q->tail_cache =
		        atomic_load_explicit(&q->tail, memory_order_acquire);
		if (q->head_local == q->tail_cache)
			return NULL;
	}
	h = rec_at(q, q->head_local);
	if (h->kind == 0) {
		/* Filler: skip to the start of buf.  Usually a record
		 * follows in the same publish, but not if the producer
		 * published between reserve and commit. */
		q->head_local += REC_HDR + h->len;
		if (q->head_local == q->tail_cache)
			return NULL;
		h = rec_at(q, q->head_local);
	}
	AEMP_ASSERT_HOT(h->kind != 0);
	*kind = h->kind;
	*len = h->len;
	return h + 1;
}

void
ring_spsc_pop(struct ring_spsc *q)
{
	const struct rec_hdr *h = rec_at(q, q->head_local);

	AEMP_ASSERT_HOT(q->head_local != q->tail_cache);
	AEMP_ASSERT_HOT(h->kind != 0);
	q->head_local += rec_size(h->len);
}

void
ring_spsc_release(struct ring_spsc *q)
{
	/* Only this thread writes head. */
	if (q->head_local ==
	    atomic_load_explicit(&q->head, memory_order_relaxed))
		return;
	atomic_store_explicit(&q->head, q->head_local, memory_order_release);
}
