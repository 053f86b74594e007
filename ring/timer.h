/*
 * ring/timer.h - per-shard timers: an intrusive binary min-heap of
 * deadlines (CLOCK_MONOTONIC nanoseconds).
 *
 * Threads: owned by one shard; never touched by others.
 */
#ifndef RING_TIMER_H
#define RING_TIMER_H

#include <stddef.h>
#include <stdint.h>

struct ring_timer;
typedef void (*ring_timer_fn)(struct ring_timer *t);

struct ring_timer {
	uint64_t deadline_ns;
	uint32_t heap_idx; /* 0: not armed; else index + 1 */
	ring_timer_fn fn;
};

struct ring_timers {
	struct ring_timer **heap;
	uint32_t len;
	uint32_t cap;
};

void ring_timers_init(struct ring_timers *ts);
void ring_timers_fini(struct ring_timers *ts);

/* ring_timer_init - prepare t (not armed) with its callback. */
static inline void
ring_timer_init(struct ring_timer *t, ring_timer_fn fn)
{
	t->deadline_ns = 0;
	t->heap_idx = 0;
	t->fn = fn;
}

static inline int
ring_timer_armed(const struct ring_timer *t)
{
	return t->heap_idx != 0;
}

/* ring_timer_start - arm (or re-arm) t for deadline_ns.  Returns 0 or
 * -ENOMEM (heap growth). */
int ring_timer_start(struct ring_timers *ts, struct ring_timer *t,
                     uint64_t deadline_ns);

/* ring_timer_stop - disarm t if armed. */
void ring_timer_stop(struct ring_timers *ts, struct ring_timer *t);

/* ring_timers_next - earliest deadline, or UINT64_MAX if none armed. */
uint64_t ring_timers_next(const struct ring_timers *ts);

/* ring_timers_run - disarm and call every timer due at now_ns, earliest
 * first; callbacks may start or stop timers.  At most max timers run per
 * call (bounded phase).  Returns the number run. */
unsigned ring_timers_run(struct ring_timers *ts, uint64_t now_ns, unsigned max);

#endif /* RING_TIMER_H */
