/*
 * tests/unit/ring_timer.c - the per-shard timer heap: random deadlines,
 * stop and restart in random order, firing order, the per-call bound,
 * callbacks that re-arm, and fini of armed timers.
 */
#include <errno.h>

#include "ring/base.h"
#include "ring/timer.h"
#include "tests/tap.h"

#define NT 2000

struct tt {
	struct ring_timer t;
	int fired;
	int stopped;
	int id;
};

static struct tt tts[NT];
static uint64_t last_deadline;
static int order_ok = 1;
static int fired_total;

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
on_fire(struct ring_timer *t)
{
	struct tt *x = AEMP_CONTAINER_OF(t, struct tt, t);

	if (t->deadline_ns < last_deadline || ring_timer_armed(t))
		order_ok = 0;
	last_deadline = t->deadline_ns;
	x->fired++;
	fired_total++;
}

/* Every armed timer is where its index says and no child is earlier than
 * its parent. */
static int
heap_valid(const struct ring_timers *ts)
{
	uint32_t i;

	for (i = 0; i < ts->len; i++) {
		if (ts->heap[i]->heap_idx != i + 1)
			return 0;
		if (i > 0 && ts->heap[(i - 1) / 2]->deadline_ns >
		                     ts->heap[i]->deadline_ns)
			return 0;
	}
	return 1;
}

static void
test_random_order(void)
{
	struct ring_timers ts;
	int i, errs = 0, stray = 0;
	uint64_t now;

	ring_timers_init(&ts);
	CHECK_EQ(ring_timers_next(&ts), UINT64_MAX);
	for (i = 0; i < NT; i++) {
		ring_timer_init(&tts[i].t, on_fire);
		tts[i].id = i;
		errs += ring_timer_start(&ts, &tts[i].t, rnd() % 1000000) != 0;
	}
	CHECK_EQ(errs, 0);
	CHECK_EQ(ts.len, NT);
	CHECK(heap_valid(&ts));
	/* Stop a quarter, restart another quarter (some earlier, some later,
	 * some restarted after being stopped), all in random order. */
	for (i = 0; i < NT; i++) {
		struct tt *x = &tts[rnd() % NT];

		switch (rnd() % 4) {
		case 0:
			ring_timer_stop(&ts, &x->t);
			x->stopped = 1;
			break;
		case 1:
			errs += ring_timer_start(&ts, &x->t, rnd() % 1000000);
			x->stopped = 0;
			break;
		default:
			break;
		}
	}
	CHECK_EQ(errs, 0);
	CHECK(heap_valid(&ts));
	ring_timer_stop(&ts, &tts[0].t); /* twice is fine */
	ring_timer_stop(&ts, &tts[0].t);
	tts[0].stopped = 1;
	CHECK(heap_valid(&ts));
	/* Run in steps of time; each step fires exactly what is due. */
	for (now = 0; now <= 1000000; now += 50000) {
		ring_timers_run(&ts, now, UINT32_MAX);
		if (ring_timers_next(&ts) <= now)
			errs++;
	}
	CHECK_EQ(errs, 0);
	CHECK(order_ok);
	CHECK_EQ(ts.len, 0);
	for (i = 0; i < NT; i++) {
		if (tts[i].fired != !tts[i].stopped)
			stray++;
		if (ring_timer_armed(&tts[i].t))
			stray++;
	}
	CHECK_EQ(stray, 0);
	DIAG("%d timers fired, %d stopped", fired_total, NT - fired_total);
	ring_timers_fini(&ts);
}

static struct ring_timers *self_ts;
static int self_count;

static void
on_self_rearm(struct ring_timer *t)
{
	self_count++;
	/* Due again at once: the run bound must stop the loop. */
	ring_timer_start(self_ts, t, t->deadline_ns);
}

static void
on_count(struct ring_timer *t)
{
	(void)t;
	self_count++;
}

static void
test_bounds(void)
{
	struct ring_timers ts;
	struct ring_timer t[10], r;
	int i;

	ring_timers_init(&ts);
	for (i = 0; i < 10; i++) {
		ring_timer_init(&t[i], on_count);
		ring_timer_start(&ts, &t[i], 100 + (uint64_t)i);
	}
	CHECK_EQ(ring_timers_next(&ts), 100);
	CHECK_EQ(ring_timers_run(&ts, 99, 100), 0);
	CHECK_EQ(ring_timers_run(&ts, 1000, 3), 3);
	CHECK_EQ(ring_timers_next(&ts), 103);
	CHECK_EQ(ring_timers_run(&ts, 104, 100), 2);
	CHECK_EQ(self_count, 5);
	/* Re-arm an armed timer later, then earlier. */
	ring_timer_start(&ts, &t[9], 5000);
	CHECK_EQ(ring_timers_next(&ts), 105);
	ring_timer_start(&ts, &t[9], 1);
	CHECK_EQ(ring_timers_next(&ts), 1);
	CHECK(heap_valid(&ts));

	self_ts = &ts;
	self_count = 0;
	ring_timer_init(&r, on_self_rearm);
	ring_timer_start(&ts, &r, 0);
	for (i = 0; i < 10; i++)
		ring_timer_stop(&ts, &t[i]);
	CHECK_EQ(ring_timers_run(&ts, 10, 7), 7);
	CHECK_EQ(self_count, 7);
	CHECK(ring_timer_armed(&r));
	/* fini leaves armed timers disarmed. */
	ring_timers_fini(&ts);
	CHECK(!ring_timer_armed(&r));
	CHECK_EQ(ring_timers_next(&ts), UINT64_MAX);
}

int
main(void)
{
	test_random_order();
	test_bounds();
	return tap_done();
}
