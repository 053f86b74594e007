/*
 * tests/unit/ring_bufq.c - the chunked send queue: reserve/commit and
 * append across many chunk boundaries, appends by reference (no copy),
 * oversized reservations, bounded
 * iovec gathering, partial consumes, abandoned reservations, and chunks
 * going back to the pool.
 *
 * A model of the stream (byte i of the stream is pat(i)) checks that the
 * gathered iovecs always show exactly the unconsumed bytes, in order.
 */
#include <errno.h>
#include <stdlib.h>

#include "ring/bufq.h"
#include "tests/tap.h"

#define CHUNK 256

static uint64_t rng = 88172645463325252u;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static inline uint8_t
pat(uint64_t i)
{
	return (uint8_t)(i * 2654435761u >> 13);
}

/* Stream positions: written = committed so far, sent = consumed so far. */
static uint64_t written, sent;

static void
fill(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = pat(written + i);
	written += n;
}

/* Gather up to max iovecs / max_bytes and compare against the model. */
static int
gather_ok(struct ring_bufq *q, int max, size_t max_bytes, size_t *got)
{
	struct iovec iov[64];
	uint64_t pos = sent;
	size_t total = 0;
	int n, i;
	size_t j;

	n = ring_bufq_iov(q, iov, max, max_bytes);
	if (n < 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		const uint8_t *b = iov[i].iov_base;

		if (iov[i].iov_len == 0)
			return 0;
		for (j = 0; j < iov[i].iov_len; j++)
			if (b[j] != pat(pos++))
				return 0;
		total += iov[i].iov_len;
	}
	*got = total;
	return total <= max_bytes && total <= ring_bufq_bytes(q) &&
	       (n == max || total == max_bytes || total == ring_bufq_bytes(q));
}

/* Bytes appended by reference (ring_bufq_append_ext): each stays
 * allocated until the stream has been consumed past its end. */
#define EXT_MAX 4096
static struct {
	uint8_t *p;
	uint64_t end;
} ext[EXT_MAX];
static size_t ext_head, ext_tail; /* FIFO: [head, tail) live */

static void
ext_release(void)
{
	while (ext_head < ext_tail && ext[ext_head % EXT_MAX].end <= sent) {
		free(ext[ext_head % EXT_MAX].p);
		ext_head++;
	}
}

static int
write_ext(struct ring_bufq *q)
{
	size_t want = 1 + rnd() % (3 * CHUNK), n;
	uint8_t *p;

	if (ext_tail - ext_head == EXT_MAX)
		return 1;
	p = malloc(want);
	if (p == NULL)
		return 0;
	for (n = 0; n < want; n++)
		p[n] = pat(written + n);
	if (ring_bufq_append_ext(q, p, want) != 0) {
		free(p);
		return 0;
	}
	written += want;
	ext[ext_tail % EXT_MAX].p = p;
	ext[ext_tail % EXT_MAX].end = written;
	ext_tail++;
	return 1;
}

static int
write_some(struct ring_bufq *q)
{
	size_t want, room, n;
	uint8_t *p, tmp[3 * CHUNK];

	switch (rnd() % 9) {
	case 8: /* by reference: a chunk of its own, no room after it */
		return write_ext(q);
	case 0: /* oversized: dedicated chunk */
		want = CHUNK + 1 + rnd() % (2 * CHUNK);
		break;
	case 1:
	case 2: /* append, may span two chunks */
		want = rnd() % (2 * CHUNK);
		for (n = 0; n < want; n++)
			tmp[n] = pat(written + n);
		if (ring_bufq_append(q, tmp, want) != 0)
			return 0;
		written += want;
		return 1;
	default:
		want = 1 + rnd() % 100;
		break;
	}
	p = ring_bufq_reserve(q, want, &room);
	if (p == NULL || room < want)
		return 0;
	n = want - rnd() % (want / 2 + 1); /* commit may be shorter */
	fill(p, n);
	ring_bufq_commit(q, n);
	return 1;
}

static void
test_stream(void)
{
	struct ring_bufq_pool bp;
	struct ring_bufq q;
	int i, bad_w = 0, bad_g = 0, bad_b = 0;
	size_t got;

	ring_bufq_pool_init(&bp, CHUNK);
	ring_bufq_init(&q, &bp);
	CHECK_EQ(ring_bufq_iov(&q, NULL, 0, 100), 0);
	for (i = 0; i < 20000; i++) {
		int k, nw = (int)(rnd() % 4);

		for (k = 0; k < nw; k++)
			bad_w += !write_some(&q);
		if (ring_bufq_bytes(&q) != written - sent)
			bad_b++;
		if (!gather_ok(&q, 1 + (int)(rnd() % 8),
		               1 + rnd() % (4 * CHUNK), &got))
			bad_g++;
		/* The kernel may take less than offered. */
		got -= rnd() % (got / 3 + 1);
		ring_bufq_consume(&q, got);
		sent += got;
		ext_release();
	}
	CHECK_EQ(bad_w, 0);
	CHECK_EQ(bad_g, 0);
	CHECK_EQ(bad_b, 0);
	DIAG("%llu bytes through the queue, %zu chunk slabs",
	     (unsigned long long)written, bp.pool.slab_count);
	/* Drain completely: every chunk goes back. */
	while (ring_bufq_bytes(&q) > 0) {
		CHECK_ERR(gather_ok(&q, 64, SIZE_MAX, &got), 1);
		ring_bufq_consume(&q, got);
		sent += got;
	}
	CHECK(q.head == NULL && q.tail == NULL);
	CHECK_EQ(bp.pool.live, 0);
	ext_release();
	CHECK_EQ(ext_tail - ext_head, 0);
	DIAG("%zu appends by reference", ext_tail);
	ring_bufq_fini(&q);
	ring_bufq_pool_fini(&bp);
}

static void
test_edges(void)
{
	struct ring_bufq_pool bp;
	struct ring_bufq q;
	struct iovec iov[4];
	size_t room;
	uint8_t *p, big[1000];

	ring_bufq_pool_init(&bp, CHUNK);
	ring_bufq_init(&q, &bp);
	/* An abandoned small reservation, then an oversized one. */
	p = ring_bufq_reserve(&q, 10, &room);
	CHECK(p != NULL);
	CHECK_EQ(room, CHUNK);
	p = ring_bufq_reserve(&q, 1000, &room);
	CHECK(p != NULL);
	CHECK_EQ(room, 1000);
	CHECK_EQ(bp.pool.live, 0); /* the empty pooled chunk was dropped */
	memset(p, 'x', 1000);
	ring_bufq_commit(&q, 1000);
	/* A full dedicated chunk: the next reservation opens a pooled one. */
	p = ring_bufq_reserve(&q, 1, &room);
	CHECK_EQ(room, CHUNK);
	ring_bufq_commit(&q, 0);
	/* ...which an uncommitted reservation leaves empty: iov skips it. */
	CHECK_EQ(ring_bufq_iov(&q, iov, 4, SIZE_MAX), 1);
	CHECK_EQ(iov[0].iov_len, 1000);
	CHECK_EQ(ring_bufq_iov(&q, iov, 4, 300), 1);
	CHECK_EQ(iov[0].iov_len, 300);
	memset(big, 'y', sizeof(big));
	CHECK_OK(ring_bufq_append(&q, big, 600));
	CHECK_EQ(ring_bufq_bytes(&q), 1600);
	/* 600 = 256 (pooled, the empty one) + 344 (dedicated). */
	CHECK_EQ(ring_bufq_iov(&q, iov, 4, SIZE_MAX), 3);
	CHECK_EQ(iov[1].iov_len, CHUNK);
	CHECK_EQ(iov[2].iov_len, 600 - CHUNK);
	CHECK_EQ(ring_bufq_iov(&q, iov, 2, SIZE_MAX), 2);
	ring_bufq_consume(&q, 1000 + 10);
	CHECK_EQ(ring_bufq_iov(&q, iov, 4, SIZE_MAX), 2);
	CHECK_EQ(iov[0].iov_len, CHUNK - 10);
	CHECK_EQ(((uint8_t *)iov[0].iov_base)[0], 'y');
	ring_bufq_clear(&q);
	CHECK_EQ(ring_bufq_bytes(&q), 0);
	CHECK_EQ(bp.pool.live, 0);
	/* Still usable after clear. */
	CHECK_OK(ring_bufq_append(&q, big, 10));
	CHECK_OK(ring_bufq_append(&q, big, 0));
	CHECK_EQ(ring_bufq_bytes(&q), 10);
	ring_bufq_fini(&q);
	CHECK_EQ(bp.pool.live, 0);
	ring_bufq_pool_fini(&bp);
}

/* Slabs are given back only when no chunk is in use; the pool stays
 * usable.  (ASan builds pass chunks straight to the allocator.) */
static void
test_trim(void)
{
	struct ring_bufq_pool bp;
	struct ring_bufq q;
	uint8_t big[3 * CHUNK];

	memset(big, 'z', sizeof(big));
	ring_bufq_pool_init(&bp, CHUNK);
	ring_bufq_init(&q, &bp);
	CHECK_OK(ring_bufq_append(&q, big, sizeof(big)));
	CHECK_EQ(ring_bufq_pool_trim(&bp), 0); /* in use */
	ring_bufq_consume(&q, sizeof(big));
	CHECK_EQ(bp.pool.live, 0);
	if (bp.pool.slab_count > 0)
		CHECK(ring_bufq_pool_trim(&bp) >= 3 * CHUNK);
	CHECK_EQ(bp.pool.slab_count, 0);
	CHECK_EQ(ring_pool_bytes(&bp.pool), 0);
	CHECK_OK(ring_bufq_append(&q, big, 10));
	CHECK_EQ(ring_bufq_bytes(&q), 10);
	ring_bufq_fini(&q);
	ring_bufq_pool_fini(&bp);
}

int
main(void)
{
	test_stream();
	test_edges();
	test_trim();
	return tap_done();
}
