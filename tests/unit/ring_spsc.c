/*
 * tests/unit/ring_spsc.c - the SPSC record queue: argument checks, batched
 * visibility (publish/release), back pressure that changes nothing, filler
 * records at the wrap, short commits, and a two-thread stress of millions
 * of variable-size records, each sequence-checked and byte-compared, with
 * a running checksum on both sides.
 *
 * aemp-test-timeout: 120
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "ring/spsc.h"
#include "tests/tap.h"

static void
test_init(void)
{
	struct ring_spsc q, *h = NULL;

	CHECK_ERR(ring_spsc_init(&q, 2048), -EINVAL);
	CHECK_ERR(ring_spsc_init(&q, 5000), -EINVAL);
	CHECK_OK(ring_spsc_init(&q, 4096));
	CHECK_EQ(ring_spsc_max_payload(&q), 1024);
	CHECK(ring_spsc_empty(&q));
	ring_spsc_fini(&q);

	CHECK_ERR(ring_spsc_new(&h, 1000), -EINVAL);
	CHECK_OK(ring_spsc_new(&h, 8192));
	CHECK_EQ((uintptr_t)h % AEMP_CACHELINE, 0);
	CHECK_EQ(ring_spsc_max_payload(h), 2048);
	CHECK(ring_spsc_empty(h));
	ring_spsc_free(h);
	ring_spsc_free(NULL);
}

static void
test_visibility(void)
{
	struct ring_spsc q;
	uint32_t kind = 0;
	size_t len = 99;
	uint8_t *p;
	const uint8_t *r;

	ring_spsc_init(&q, 4096);
	p = ring_spsc_reserve(&q, 7, 40);
	CHECK(p != NULL);
	memcpy(p, "hello", 5);
	ring_spsc_commit(&q, 5); /* shorter than reserved */
	CHECK(ring_spsc_unpublished(&q));
	CHECK(ring_spsc_front(&q, &kind, &len) == NULL);
	CHECK(ring_spsc_empty(&q));
	CHECK_EQ(ring_spsc_publish(&q), 1);
	CHECK_EQ(ring_spsc_publish(&q), 0);
	CHECK(!ring_spsc_unpublished(&q));
	CHECK(!ring_spsc_empty(&q));
	/* A zero-length record. */
	ring_spsc_reserve(&q, 9, 0);
	ring_spsc_commit(&q, 0);
	ring_spsc_publish(&q);
	r = ring_spsc_front(&q, &kind, &len);
	CHECK(r != NULL);
	CHECK_EQ(kind, 7);
	CHECK_EQ(len, 5);
	CHECK_MEMEQ(r, len, "hello", 5);
	ring_spsc_pop(&q);
	r = ring_spsc_front(&q, &kind, &len);
	CHECK(r != NULL);
	CHECK_EQ(kind, 9);
	CHECK_EQ(len, 0);
	ring_spsc_pop(&q);
	CHECK(ring_spsc_front(&q, &kind, &len) == NULL);
	CHECK(ring_spsc_empty(&q));
	ring_spsc_release(&q);
	CHECK_EQ(atomic_load(&q.head), q.tail_local);
	ring_spsc_fini(&q);
}

/* Drain everything published; returns the number of records. */
static int
drain(struct ring_spsc *q, uint32_t last_kind, char last_byte)
{
	const uint8_t *r, *prev = NULL;
	uint32_t kind = 0;
	size_t len = 0;
	int n = 0;

	while ((r = ring_spsc_front(q, &kind, &len)) != NULL) {
		prev = r;
		ring_spsc_pop(q);
		n++;
	}
	ring_spsc_release(q);
	if (n > 0 && (kind != last_kind || len == 0 ||
	              prev[len - 1] != (uint8_t)last_byte))
		return -1;
	return n;
}

static void
test_full(void)
{
	struct ring_spsc q;
	uint64_t tail;
	uint32_t kind;
	size_t len;
	int n = 0;
	uint8_t *p;

	ring_spsc_init(&q, 4096);
	/* 112-byte records: 36 fit (4032 bytes), the 37th does not. */
	while ((p = ring_spsc_reserve(&q, 1, 100)) != NULL) {
		memset(p, n, 100);
		ring_spsc_commit(&q, 100);
		n++;
	}
	CHECK_EQ(n, 36);
	tail = q.tail_local;
	CHECK(ring_spsc_reserve(&q, 1, 100) == NULL); /* back pressure... */
	CHECK_EQ(q.tail_local, tail);                 /* ...changes nothing */
	CHECK_EQ(q.reserved, 0);
	ring_spsc_publish(&q);
	/* Popped but not released: the producer still sees a full queue. */
	CHECK(ring_spsc_front(&q, &kind, &len) != NULL);
	ring_spsc_pop(&q);
	CHECK(ring_spsc_reserve(&q, 1, 100) == NULL);
	ring_spsc_release(&q);
	/* Free now: 64 bytes at the end, 112 at the front.  The record gets
	 * a 64-byte filler and starts at offset 0; the queue is then full. */
	p = ring_spsc_reserve(&q, 2, 100);
	CHECK(p == q.buf + 8);
	memset(p, 'w', 100);
	ring_spsc_commit(&q, 100);
	CHECK_EQ(q.tail_local, 4096 + 112);
	CHECK(ring_spsc_reserve(&q, 1, 0) == NULL);
	ring_spsc_publish(&q);
	CHECK_EQ(drain(&q, 2, 'w'), 36); /* the filler is never seen */
	CHECK(ring_spsc_empty(&q));
	ring_spsc_fini(&q);
}

static void
test_wrap_offsets(void)
{
	struct ring_spsc q;
	uint64_t tail;
	int n;
	uint8_t *p;

	ring_spsc_init(&q, 4096);
	/* Start at offset 112: one 112-byte record through. */
	p = ring_spsc_reserve(&q, 1, 104);
	memset(p, 'q', 104);
	ring_spsc_commit(&q, 104);
	ring_spsc_publish(&q);
	CHECK_EQ(drain(&q, 1, 'q'), 1);
	CHECK_EQ(q.tail_local, 112);

	/* At offset 112: one 16-byte record, then 3 of the largest payload
	 * (1032 bytes each) end at offset 3224; the 4th needs a filler of
	 * 872 bytes and starts at offset 0. */
	ring_spsc_reserve(&q, 3, 8);
	ring_spsc_commit(&q, 8);
	for (n = 0; n < 3; n++) {
		p = ring_spsc_reserve(&q, 4, 1024);
		CHECK(p != NULL);
		memset(p, 'a' + n, 1024);
		ring_spsc_commit(&q, 1024);
	}
	ring_spsc_publish(&q);
	CHECK_EQ(drain(&q, 4, 'c'), 4);
	p = ring_spsc_reserve(&q, 4, 1024);
	CHECK(p == q.buf + 8);
	memset(p, 'd', 1024);
	ring_spsc_commit(&q, 1024);
	ring_spsc_publish(&q);
	CHECK_EQ(drain(&q, 4, 'd'), 1);
	/* From offset 1032: 1032 + 1032 + 1000 bytes end exactly at the end
	 * of the buffer (no filler), and the next record starts at 0. */
	tail = q.tail_local;
	ring_spsc_reserve(&q, 5, 1024);
	ring_spsc_commit(&q, 1024);
	ring_spsc_reserve(&q, 5, 1024);
	ring_spsc_commit(&q, 1024);
	p = ring_spsc_reserve(&q, 5, 992);
	CHECK(p == q.buf + 4096 - 992);
	ring_spsc_commit(&q, 992);
	p = ring_spsc_reserve(&q, 6, 1);
	CHECK(p == q.buf + 8);
	*p = 'e';
	ring_spsc_commit(&q, 1);
	CHECK_EQ(q.tail_local - tail, 3064 + 16);
	ring_spsc_publish(&q);
	CHECK_EQ(drain(&q, 6, 'e'), 4);
	CHECK(ring_spsc_empty(&q));
	ring_spsc_fini(&q);
}

/* ---- two-thread stress ------------------------------------------------ */

#define STRESS_CAP (64 * 1024)
#define STRESS_RECORDS (3u * 1000 * 1000)
#define STRESS_BATCH 16

struct stress {
	struct ring_spsc q;
	uint64_t prod_sum, prod_full;
	uint64_t cons_sum, cons_bad_seq, cons_bad_len, cons_bad_data;
	uint64_t cons_empty;
};

static inline uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdu;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53u;
	x ^= x >> 33;
	return x;
}

/* Mostly small records; 1 in 128 up to the largest payload allowed. */
static size_t
rec_len(uint64_t seq, size_t maxp)
{
	uint64_t h = mix(seq);

	if ((h & 127) == 0)
		return 8 + (h >> 8) % (maxp - 8 + 1);
	return 8 + (h >> 8) % 121;
}

/* Payload: the sequence number, then words derived from it. */
static void
rec_fill(uint8_t *p, uint64_t seq, size_t len)
{
	uint64_t w = seq;
	size_t i;

	memcpy(p, &w, 8);
	for (i = 8; i + 8 <= len; i += 8) {
		w = mix(seq + i);
		memcpy(p + i, &w, 8);
	}
	w = mix(seq + i);
	memcpy(p + i, &w, len - i);
}

static uint64_t
rec_sum(const uint8_t *p, size_t len)
{
	uint64_t s = len, w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		s = (s ^ w) * 0x100000001b3u;
	}
	return s + p[len - 1];
}

static void *
stress_producer(void *arg)
{
	struct stress *s = arg;
	size_t maxp = ring_spsc_max_payload(&s->q);
	uint64_t seq;
	unsigned batch = 0;

	for (seq = 0; seq < STRESS_RECORDS; seq++) {
		size_t len = rec_len(seq, maxp);
		size_t extra = AEMP_MIN((seq % 3) * 8, maxp - len);
		uint8_t *p;

		while ((p = ring_spsc_reserve(&s->q, 1 + seq % 5,
		                              len + extra)) == NULL) {
			ring_spsc_publish(&s->q);
			s->prod_full++;
			sched_yield();
		}
		rec_fill(p, seq, len);
		s->prod_sum += rec_sum(p, len);
		ring_spsc_commit(&s->q, len);
		if (++batch == STRESS_BATCH) {
			ring_spsc_publish(&s->q);
			batch = 0;
		}
	}
	ring_spsc_publish(&s->q);
	return NULL;
}

static void
stress_check(struct stress *s, const uint8_t *r, uint32_t kind, size_t len,
             uint64_t seq, uint8_t *expect)
{
	uint64_t got;

	memcpy(&got, r, 8);
	if (got != seq || kind != 1 + seq % 5)
		s->cons_bad_seq++;
	if (len != rec_len(seq, ring_spsc_max_payload(&s->q))) {
		s->cons_bad_len++;
		return;
	}
	rec_fill(expect, seq, len);
	if (memcmp(expect, r, len) != 0)
		s->cons_bad_data++;
	s->cons_sum += rec_sum(r, len);
}

static void *
stress_consumer(void *arg)
{
	struct stress *s = arg;
	uint8_t *expect = malloc(ring_spsc_max_payload(&s->q));
	uint64_t seq = 0;
	unsigned batch = 0;

	while (seq < STRESS_RECORDS) {
		uint32_t kind;
		size_t len;
		const uint8_t *r = ring_spsc_front(&s->q, &kind, &len);

		if (r == NULL) {
			ring_spsc_release(&s->q);
			s->cons_empty++;
			sched_yield();
			continue;
		}
		stress_check(s, r, kind, len, seq, expect);
		ring_spsc_pop(&s->q);
		seq++;
		if (++batch == STRESS_BATCH) {
			ring_spsc_release(&s->q);
			batch = 0;
		}
	}
	ring_spsc_release(&s->q);
	free(expect);
	return NULL;
}

static void
test_stress(void)
{
	static struct stress s;
	pthread_t pt, ct;

	CHECK_OK(ring_spsc_init(&s.q, STRESS_CAP));
	pthread_create(&ct, NULL, stress_consumer, &s);
	pthread_create(&pt, NULL, stress_producer, &s);
	pthread_join(pt, NULL);
	pthread_join(ct, NULL);
	CHECK_EQ(s.cons_bad_seq, 0);
	CHECK_EQ(s.cons_bad_len, 0);
	CHECK_EQ(s.cons_bad_data, 0);
	CHECK(s.prod_sum == s.cons_sum);
	CHECK(ring_spsc_empty(&s.q));
	CHECK(s.prod_full > 0);                    /* back pressure hit */
	CHECK(s.q.tail_local / STRESS_CAP > 1000); /* wrapped many times */
	DIAG("%u records, %llu MB, %llu wraps, %llu full, %llu empty",
	     STRESS_RECORDS, (unsigned long long)(s.q.tail_local >> 20),
	     (unsigned long long)(s.q.tail_local / STRESS_CAP),
	     (unsigned long long)s.prod_full, (unsigned long long)s.cons_empty);
	ring_spsc_fini(&s.q);
}

int
main(void)
{
	alarm(100);
	test_init();
	test_visibility();
	test_full();
	test_wrap_offsets();
	test_stress();
	return tap_done();
}
