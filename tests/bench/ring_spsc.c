/*
 * tests/bench/ring_spsc.c - ring/ micro-benchmarks:
 *
 *   1. records/s and bytes/s through one SPSC queue between two threads,
 *      16- and 64-byte payloads, publish/release every 16 records and
 *      (for contrast) after every record;
 *   2. a memcpy baseline in the same run: one thread copying the same
 *      records (header + payload) into a ring buffer of the same size;
 *   3. wake-up round trip between two sleeping loops: MSG_RING
 *      (ring_wake) and, for contrast, the eventfd path (ring_wake_foreign).
 *
 * Usage: ring_spsc [seconds-per-run]   (default 0.25; 3 runs per case,
 *        the median is shown)
 * Threads are pinned to CPUs 0 and 1 when there are two.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring/alloc.h"
#include "ring/loop.h"
#include "ring/spsc.h"

#define QCAP (1u << 20)
#define KIND_DATA 1u
#define KIND_END 2u

/* Spinning sides re-read the other side's index; pausing keeps them from
 * stealing that cache line back on every iteration. */
#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#else
#define CPU_RELAX() atomic_signal_fence(memory_order_seq_cst)
#endif

static double case_s = 0.25;
static int ncpu;

static void
pin(int cpu)
{
	cpu_set_t set;

	if (ncpu < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu % ncpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* ---- SPSC throughput --------------------------------------------------- */

struct tput {
	struct ring_spsc q;
	size_t payload;
	unsigned batch;
	atomic_int go;
	uint64_t sent, received, sink;
	uint64_t t0, t1;
};

static void *
tput_producer(void *arg)
{
	struct tput *t = arg;
	uint64_t end, n = 0;
	unsigned b = 0;
	uint8_t *p, src[64];

	memset(src, 1, sizeof(src));
	pin(0);
	while (!atomic_load(&t->go))
		;
	t->t0 = ring_now_ns();
	end = t->t0 + (uint64_t)(case_s * 1e9);
	for (;;) {
		if ((n & 4095) == 0 && ring_now_ns() >= end)
			break;
		while ((p = ring_spsc_reserve(&t->q, KIND_DATA, t->payload)) ==
		       NULL) {
			ring_spsc_publish(&t->q);
			CPU_RELAX();
		}
		memcpy(src, &n, sizeof(n));
		memcpy(p, src, t->payload); /* records are copied in */
		ring_spsc_commit(&t->q, t->payload);
		n++;
		if (++b == t->batch) {
			ring_spsc_publish(&t->q);
			b = 0;
		}
	}
	while (ring_spsc_reserve(&t->q, KIND_END, 0) == NULL)
		ring_spsc_publish(&t->q);
	ring_spsc_commit(&t->q, 0);
	ring_spsc_publish(&t->q);
	t->sent = n;
	return NULL;
}

static void *
tput_consumer(void *arg)
{
	struct tput *t = arg;
	uint64_t n = 0, sum = 0, v;
	unsigned b = 0;
	uint32_t kind = 0;
	size_t len;
	const uint8_t *p;

	pin(1);
	while (!atomic_load(&t->go))
		;
	for (;;) {
		if ((p = ring_spsc_front(&t->q, &kind, &len)) == NULL) {
			ring_spsc_release(&t->q);
			CPU_RELAX();
			continue;
		}
		if (kind == KIND_END)
			break;
		memcpy(&v, p, sizeof(v)); /* touch the payload */
		sum += v;
		ring_spsc_pop(&t->q);
		n++;
		if (++b == t->batch) {
			ring_spsc_release(&t->q);
			b = 0;
		}
	}
	ring_spsc_pop(&t->q);
	ring_spsc_release(&t->q);
	t->t1 = ring_now_ns();
	t->received = n;
	t->sink = sum;
	return NULL;
}

#define REPS 3

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One table row from REPS measured rates (records/s): the median, and
 * the range to show how steady the machine was. */
static void
print_rate(const char *what, size_t payload, const char *batch, double *r)
{
	double med;

	qsort(r, REPS, sizeof(r[0]), cmp_dbl);
	med = r[REPS / 2];
	printf("  %-7s %4zu B  %5s  %7.1f M  %5.1f-%-5.1f  %7.0f MB/s  %6.2f "
	       "ns\n",
	       what, payload, batch, med / 1e6, r[0] / 1e6, r[REPS - 1] / 1e6,
	       med * (double)payload / 1e6, 1e9 / med);
}

/* One run; returns records/s, or -1 on lost or corrupted records. */
static double
run_spsc(size_t payload, unsigned batch)
{
	static struct tput t;
	pthread_t pt, ct;

	memset(&t, 0, sizeof(t));
	if (ring_spsc_init(&t.q, QCAP) < 0)
		return -1;
	t.payload = payload;
	t.batch = batch;
	pthread_create(&ct, NULL, tput_consumer, &t);
	pthread_create(&pt, NULL, tput_producer, &t);
	atomic_store(&t.go, 1);
	pthread_join(pt, NULL);
	pthread_join(ct, NULL);
	ring_spsc_fini(&t.q);
	if (t.sent != t.received || t.sink != t.sent * (t.sent - 1) / 2) {
		fprintf(stderr, "spsc: lost or corrupted records\n");
		return -1;
	}
	return (double)t.received * 1e9 / (double)(t.t1 - t.t0);
}

static int
bench_spsc(size_t payload, unsigned batch)
{
	double r[REPS];
	char b[16];
	int i;

	for (i = 0; i < REPS; i++)
		if ((r[i] = run_spsc(payload, batch)) < 0)
			return -1;
	snprintf(b, sizeof(b), "%u", batch);
	print_rate("spsc", payload, b, r);
	return 0;
}

/* The same records, copied by one thread into a ring buffer of the same
 * size: the cost of the bytes alone, with no second core involved. */
static double
run_memcpy(size_t payload)
{
	uint8_t *buf = ring_alloc_aligned(64, QCAP);
	uint8_t src[64 + 8];
	size_t rec = 8 + ((payload + 7) & ~(size_t)7), off = 0;
	uint64_t n = 0, t0, end;
	volatile uint8_t sink;

	memset(src, 1, sizeof(src));
	t0 = ring_now_ns();
	end = t0 + (uint64_t)(case_s * 1e9);
	for (;;) {
		if ((n & 4095) == 0 && ring_now_ns() >= end)
			break;
		if (off + rec > QCAP)
			off = 0;
		memcpy(&src[0], &n, sizeof(n));
		memcpy(buf + off, src, 8 + payload);
		off += rec;
		n++;
	}
	sink = buf[off / 2];
	(void)sink;
	ring_free_aligned(buf, 64, QCAP);
	return (double)n * 1e9 / (double)(ring_now_ns() - t0);
}

static void
bench_memcpy(size_t payload)
{
	double r[REPS];
	int i;

	for (i = 0; i < REPS; i++)
		r[i] = run_memcpy(payload);
	print_rate("memcpy", payload, "-", r);
}

/* ---- wake-up round trip ------------------------------------------------ */

#define RT_MAX 200000

struct rt_side {
	struct ring_loop l;
	struct rt_side *peer;
	atomic_int *token; /* in: the peer sets it to 1 and wakes us */
	atomic_int *out;
	int foreign;
	int starter;
	int rounds;
	uint64_t *lat;
	atomic_int ready;
	int rc;
};

static atomic_int rt_go;

static void
rt_wait(struct rt_side *s)
{
	while (!atomic_load_explicit(s->token, memory_order_acquire)) {
		ring_loop_sleep_prepare(&s->l);
		if (atomic_load_explicit(s->token, memory_order_acquire)) {
			ring_loop_sleep_cancel(&s->l);
			break;
		}
		ring_loop_run(&s->l, 1);
	}
	atomic_store_explicit(s->token, 0, memory_order_relaxed);
}

static void
rt_send(struct rt_side *s)
{
	atomic_store_explicit(s->out, 1, memory_order_release);
	if (s->foreign) {
		ring_wake_foreign(&s->peer->l);
	} else {
		ring_wake(&s->l, &s->peer->l);
		ring_loop_run(&s->l, 0); /* submit the MSG_RING now */
	}
}

static void *
rt_main(void *arg)
{
	struct rt_side *s = arg;
	int i;

	pin(s->starter ? 0 : 1);
	s->rc = ring_loop_init(&s->l, 64);
	atomic_store(&s->ready, 1);
	if (s->rc < 0)
		return NULL;
	while (!atomic_load(&rt_go))
		;
	for (i = 0; i < s->rounds; i++) {
		uint64_t t0 = ring_now_ns();

		if (s->starter) {
			rt_send(s);
			rt_wait(s);
			s->lat[i] = ring_now_ns() - t0;
		} else {
			rt_wait(s);
			rt_send(s);
		}
	}
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
bench_wake(int foreign, int rounds)
{
	static struct rt_side a, b;
	static atomic_int ab, ba;
	static uint64_t lat[RT_MAX];
	pthread_t ta, tb;
	double sum = 0;
	int i;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	atomic_store(&rt_go, 0);
	a.peer = &b, b.peer = &a;
	a.out = b.token = &ab;
	b.out = a.token = &ba;
	a.foreign = b.foreign = foreign;
	a.starter = 1;
	a.rounds = b.rounds = rounds;
	a.lat = lat;
	pthread_create(&ta, NULL, rt_main, &a);
	pthread_create(&tb, NULL, rt_main, &b);
	while (!atomic_load(&a.ready) || !atomic_load(&b.ready))
		usleep(1000);
	if (a.rc < 0 || b.rc < 0) {
		atomic_store(&rt_go, 1);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		return -1;
	}
	atomic_store(&rt_go, 1);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	for (i = 0; i < rounds; i++)
		sum += (double)lat[i];
	qsort(lat, (size_t)rounds, sizeof(lat[0]), cmp_u64);
	printf("  %-9s %8d  %7.2f  %7.2f  %7.2f  %8.2f\n",
	       foreign ? "eventfd" : "MSG_RING", rounds, sum / rounds / 1e3,
	       (double)lat[rounds / 2] / 1e3,
	       (double)lat[rounds * 99 / 100] / 1e3,
	       (double)lat[rounds - 1] / 1e3);
	ring_loop_fini(&a.l);
	ring_loop_fini(&b.l);
	return 0;
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = {16, 64};
	int rounds, rc = 0;
	size_t i;

	if (argc > 1)
		case_s = atof(argv[1]);
	if (case_s <= 0 || case_s > 60)
		case_s = 0.25;
	ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	rounds = (int)AEMP_MIN(RT_MAX, 80000 * case_s);
	printf("aemp ring benchmarks: %d x %.2f s per case, %d CPUs, "
	       "allocator %s\n\n",
	       REPS, case_s, ncpu, ring_alloc_name());
	printf("one SPSC queue (%u KiB) between two threads, vs memcpy in one "
	       "thread\n",
	       QCAP >> 10);
	printf("  %-7s %7s  %5s  %9s  %11s  %12s  %9s\n", "what", "payload",
	       "batch", "records/s", "(min-max)", "payload B/s", "per rec");
	for (i = 0; i < AEMP_ARRAY_LEN(sizes); i++) {
		rc |= bench_spsc(sizes[i], 16);
		rc |= bench_spsc(sizes[i], 1);
		bench_memcpy(sizes[i]);
	}
	printf("\nwake-up round trip between two sleeping loops (us)\n");
	printf("  %-9s %8s  %7s  %7s  %7s  %8s\n", "mechanism", "trips", "mean",
	       "p50", "p99", "max");
	if (bench_wake(0, rounds) < 0 || bench_wake(1, rounds) < 0)
		printf("  io_uring unavailable: %s\n", aemp_errmsg());
	return rc ? 1 : 0;
}
