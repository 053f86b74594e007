/*
 * ring/timer.c - per-shard timers as an intrusive binary min-heap.
 *
 * The heap is an array of pointers to ring_timer structs owned by their
 * users; each timer records its own position (heap_idx = index + 1, 0 when
 * not armed), so stop and re-arm are O(log n) without a search.
 *
 * Invariants: for every armed timer t, heap[t->heap_idx - 1] == t, and a
 * parent's deadline is <= its children's.  Ties keep no particular order.
 * The array grows by doubling (control-plane allocation, rare) and never
 * shrinks until ring_timers_fini.
 *
 * Threads: one shard only.
 */
#include <errno.h>

#include "ring/alloc.h"
#include "ring/timer.h"
#include "ring/base.h"

#define RING_TIMERS_CAP0 64u

void
ring_timers_init(struct ring_timers *ts)
{
	ts->heap = NULL;
	ts->len = 0;
	ts->cap = 0;
}

void
ring_timers_fini(struct ring_timers *ts)
{
	uint32_t i;

	/* Leave the timers still armed in a consistent "not armed" state so
	 * their owners may free or re-init them freely. */
	for (i = 0; i < ts->len; i++)
		ts->heap[i]->heap_idx = 0;
	ring_free(ts->heap, (size_t)ts->cap * sizeof(*ts->heap));
	ts->heap = NULL;
	ts->len = 0;
	ts->cap = 0;
}

static inline void
heap_place(struct ring_timers *ts, uint32_t i, struct ring_timer *t)
{
	ts->heap[i] = t;
	t->heap_idx = i + 1;
}

/* Move t up from slot i until its parent is not later; returns its slot. */
static uint32_t
heap_up(struct ring_timers *ts, uint32_t i, struct ring_timer *t)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (ts->heap[parent]->deadline_ns <= t->deadline_ns)
			break;
		heap_place(ts, i, ts->heap[parent]);
		i = parent;
	}
	heap_place(ts, i, t);
	return i;
}

/* Move t down from slot i until no child is earlier. */
static void
heap_down(struct ring_timers *ts, uint32_t i, struct ring_timer *t)
{
	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= ts->len)
			break;
		if (c + 1 < ts->len &&
		    ts->heap[c + 1]->deadline_ns < ts->heap[c]->deadline_ns)
			c++;
		if (t->deadline_ns <= ts->heap[c]->deadline_ns)
			break;
		heap_place(ts, i, ts->heap[c]);
		i = c;
	}
	heap_place(ts, i, t);
}

/* Put t into slot i (which is free) and restore heap order around it. */
static void
heap_fix(struct ring_timers *ts, uint32_t i, struct ring_timer *t)
{
	if (heap_up(ts, i, t) == i)
		heap_down(ts, i, t);
}

static int
heap_grow(struct ring_timers *ts)
{
	uint32_t cap = ts->cap ? ts->cap * 2 : RING_TIMERS_CAP0;
	struct ring_timer **h;

	if (AEMP_UNLIKELY(cap < ts->cap))
		return -ENOMEM;
	h = ring_realloc(ts->heap, (size_t)cap * sizeof(*h));
	if (AEMP_UNLIKELY(h == NULL))
		return -ENOMEM;
	ts->heap = h;
	ts->cap = cap;
	return 0;
}

int
ring_timer_start(struct ring_timers *ts, struct ring_timer *t,
                 uint64_t deadline_ns)
{
	int rc;

	t->deadline_ns = deadline_ns;
	if (ring_timer_armed(t)) {
		AEMP_ASSERT_HOT(ts->heap[t->heap_idx - 1] == t);
		heap_fix(ts, t->heap_idx - 1, t);
		return 0;
	}
	if (AEMP_UNLIKELY(ts->len == ts->cap) && (rc = heap_grow(ts)) < 0)
		return rc;
	ts->len++;
	heap_up(ts, ts->len - 1, t);
	return 0;
}

void
ring_timer_stop(struct ring_timers *ts, struct ring_timer *t)
{
	uint32_t i;
	struct ring_timer *last;

	if (!ring_timer_armed(t))
		return;
	i = t->heap_idx - 1;
	AEMP_ASSERT_HOT(i < ts->len && ts->heap[i] == t);
	t->heap_idx = 0;
	last = ts->heap[--ts->len];
	if (last != t)
		heap_fix(ts, i, last);
}

uint64_t
ring_timers_next(const struct ring_timers *ts)
{
	return ts->len ? ts->heap[0]->deadline_ns : UINT64_MAX;
}

unsigned
ring_timers_run(struct ring_timers *ts, uint64_t now_ns, unsigned max)
{
	unsigned n = 0;

	while (n < max && ts->len > 0 && ts->heap[0]->deadline_ns <= now_ns) {
		struct ring_timer *t = ts->heap[0];

		ring_timer_stop(ts, t);
		n++;
		/* The callback may re-arm t or touch any other timer: the heap
		 * is consistent here. */
		t->fn(t);
	}
	return n;
}
