/*
 * ring/bufq.c - chunked outgoing byte queue (a connection's send chain).
 *
 * A chunk is a header plus `cap` data bytes; [rd, wr) holds committed
 * bytes not yet consumed.  Chunks are singly linked head (oldest) to tail
 * (newest).  Pooled chunks have cap == bp->chunk_size; a reservation
 * larger than that gets a dedicated chunk of exactly its size from
 * ring_alloc (a large packet costs one allocation, never a copy through
 * several chunks).
 *
 * Invariants:
 *   - q->bytes == sum over chunks of (wr - rd).
 *   - Only the tail chunk may have free room that is still written to;
 *     chunks before it are never written again.
 *   - Every chunk except the tail holds unconsumed bytes, save an empty
 *     one left behind by a reservation that was never committed.
 *     ring_bufq_consume frees drained and empty chunks at the front at
 *     once, the tail included (an idle connection holds no chunk), so no
 *     reservation may be held open across a consume.
 *   - Data never moves, so iovecs from ring_bufq_iov stay valid while a
 *     send is in flight, as long as those bytes are not consumed, cleared
 *     or the queue finied.
 *
 * Threads: the connection's shard only.
 */
#include <errno.h>
#include <string.h>

#include "ring/alloc.h"
#include "ring/base.h"
#include "ring/bufq.h"

struct ring_bufq_chunk {
	struct ring_bufq_chunk *next;
	size_t cap;         /* data bytes */
	size_t rd;          /* first unconsumed byte */
	size_t wr;          /* end of committed bytes */
	const uint8_t *ext; /* NULL, or the bytes (not owned, full: no room) */
	_Alignas(16) uint8_t data[];
};

static inline const uint8_t *
chunk_bytes(const struct ring_bufq_chunk *c)
{
	return c->ext != NULL ? c->ext : c->data;
}

/* Slabs of about this many bytes, and never fewer than 4 chunks. */
#define RING_BUFQ_SLAB_BYTES (256u * 1024u)

void
ring_bufq_pool_init(struct ring_bufq_pool *bp, size_t chunk_size)
{
	size_t obj = sizeof(struct ring_bufq_chunk) + chunk_size;

	AEMP_ASSERT(chunk_size > 0);
	bp->chunk_size = chunk_size;
	bp->loop = NULL;
	ring_timer_init(&bp->trim, NULL);
	ring_pool_init(&bp->pool, obj, AEMP_MAX(RING_BUFQ_SLAB_BYTES / obj, 4));
}

void
ring_bufq_pool_fini(struct ring_bufq_pool *bp)
{
	ring_bufq_pool_detach(bp);
	ring_pool_fini(&bp->pool);
}

static void
arm_trim(struct ring_bufq_pool *bp)
{
	if (bp->loop != NULL && !ring_timer_armed(&bp->trim))
		(void)ring_timer_start(&bp->loop->timers, &bp->trim,
		                       bp->loop->now_ns + RING_BUFQ_TRIM_NS);
}

static void
trim_tick(struct ring_timer *t)
{
	struct ring_bufq_pool *bp =
	        AEMP_CONTAINER_OF(t, struct ring_bufq_pool, trim);

	if (ring_bufq_pool_trim(bp) == 0 && bp->pool.slab_count > 0)
		arm_trim(bp); /* chunks still in use: look again later */
}

void
ring_bufq_pool_attach(struct ring_bufq_pool *bp, struct ring_loop *l)
{
	bp->loop = l;
	ring_timer_init(&bp->trim, trim_tick);
	if (bp->pool.slab_count > 0)
		arm_trim(bp);
}

void
ring_bufq_pool_detach(struct ring_bufq_pool *bp)
{
	if (bp->loop != NULL)
		ring_timer_stop(&bp->loop->timers, &bp->trim);
	bp->loop = NULL;
}

size_t
ring_bufq_pool_trim(struct ring_bufq_pool *bp)
{
	size_t bytes = ring_pool_bytes(&bp->pool);

	if (bp->pool.live > 0)
		return 0;
	ring_pool_fini(&bp->pool); /* stays usable: slabs come back on use */
	if (bytes > 0)
		ring_alloc_release(); /* the allocator would keep the pages */
	return bytes;
}

void
ring_bufq_init(struct ring_bufq *q, struct ring_bufq_pool *bp)
{
	q->bp = bp;
	q->head = NULL;
	q->tail = NULL;
	q->bytes = 0;
}

static struct ring_bufq_chunk *
chunk_new(struct ring_bufq_pool *bp, size_t min)
{
	struct ring_bufq_chunk *c;
	size_t cap = bp->chunk_size;

	if (min <= cap) {
		size_t slabs = bp->pool.slab_count;

		c = ring_pool_get(&bp->pool);
		if (AEMP_UNLIKELY(bp->pool.slab_count != slabs))
			arm_trim(bp); /* grew: give back once unused */
	} else {
		cap = min;
		c = ring_alloc(sizeof(*c) + cap);
	}
	if (AEMP_UNLIKELY(c == NULL))
		return NULL;
	c->next = NULL;
	c->cap = cap;
	c->rd = 0;
	c->wr = 0;
	c->ext = NULL;
	return c;
}

static void
chunk_free(struct ring_bufq_pool *bp, struct ring_bufq_chunk *c)
{
	if (c->ext != NULL)
		ring_free(c, sizeof(*c));
	else if (c->cap == bp->chunk_size)
		ring_pool_put(&bp->pool, c);
	else
		ring_free(c, sizeof(*c) + c->cap);
}

void
ring_bufq_clear(struct ring_bufq *q)
{
	struct ring_bufq_chunk *c = q->head;

	while (c != NULL) {
		struct ring_bufq_chunk *next = c->next;

		chunk_free(q->bp, c);
		c = next;
	}
	q->head = NULL;
	q->tail = NULL;
	q->bytes = 0;
}

void
ring_bufq_fini(struct ring_bufq *q)
{
	ring_bufq_clear(q);
}

/* Link chunk c at the end; drops an empty tail (left by a reservation
 * that was never committed) first. */
static void
bufq_link(struct ring_bufq *q, struct ring_bufq_chunk *c)
{
	if (q->tail != NULL && q->tail->wr == q->tail->rd &&
	    q->tail == q->head) {
		chunk_free(q->bp, q->tail);
		q->head = q->tail = NULL;
	}
	if (q->tail != NULL)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
}

/* Append a new empty chunk with room for min bytes. */
static struct ring_bufq_chunk *
bufq_grow(struct ring_bufq *q, size_t min)
{
	struct ring_bufq_chunk *c = chunk_new(q->bp, min);

	if (AEMP_UNLIKELY(c == NULL))
		return NULL;
	bufq_link(q, c);
	return c;
}

uint8_t *
ring_bufq_reserve(struct ring_bufq *q, size_t min, size_t *room)
{
	struct ring_bufq_chunk *c = q->tail;

	if (min == 0)
		min = 1;
	if (c == NULL || c->cap - c->wr < min) {
		c = bufq_grow(q, min);
		if (AEMP_UNLIKELY(c == NULL))
			return NULL;
	}
	*room = c->cap - c->wr;
	return c->data + c->wr;
}

void
ring_bufq_commit(struct ring_bufq *q, size_t n)
{
	struct ring_bufq_chunk *c = q->tail;

	AEMP_ASSERT_HOT(n == 0 || (c != NULL && n <= c->cap - c->wr));
	if (n == 0)
		return;
	c->wr += n;
	q->bytes += n;
}

int
ring_bufq_append(struct ring_bufq *q, const void *p, size_t n)
{
	struct ring_bufq_chunk *c = q->tail;
	size_t first = 0;
	uint8_t *dst;
	size_t room;

	/* Fill what is left of the tail, then one chunk (dedicated if the
	 * rest is larger than a pooled one) takes the rest, so a failure can
	 * be undone and the queue never holds a partial append. */
	if (c != NULL && c->wr < c->cap) {
		first = AEMP_MIN(n, c->cap - c->wr);
		memcpy(c->data + c->wr, p, first);
		c->wr += first;
		q->bytes += first;
	}
	if (first == n)
		return 0;
	dst = ring_bufq_reserve(q, n - first, &room);
	if (AEMP_UNLIKELY(dst == NULL)) {
		if (first != 0) {
			c->wr -= first;
			q->bytes -= first;
		}
		return -ENOMEM;
	}
	memcpy(dst, (const uint8_t *)p + first, n - first);
	ring_bufq_commit(q, n - first);
	return 0;
}

int
ring_bufq_append_ext(struct ring_bufq *q, const void *p, size_t n)
{
	struct ring_bufq_chunk *c;

	if (n == 0)
		return 0;
	c = ring_alloc(sizeof(*c));
	if (AEMP_UNLIKELY(c == NULL))
		return -ENOMEM;
	c->next = NULL;
	c->cap = n;
	c->rd = 0;
	c->wr = n;
	c->ext = p;
	bufq_link(q, c);
	q->bytes += n;
	return 0;
}

int
ring_bufq_iov(const struct ring_bufq *q, struct iovec *iov, int max,
              size_t max_bytes)
{
	const struct ring_bufq_chunk *c;
	int n = 0;

	for (c = q->head; c != NULL && n < max && max_bytes > 0; c = c->next) {
		size_t len = AEMP_MIN(c->wr - c->rd, max_bytes);

		if (len == 0)
			continue;
		iov[n].iov_base = (void *)(uintptr_t)(chunk_bytes(c) + c->rd);
		iov[n].iov_len = len;
		max_bytes -= len;
		n++;
	}
	return n;
}

void
ring_bufq_consume(struct ring_bufq *q, size_t n)
{
	AEMP_ASSERT_HOT(n <= q->bytes);
	q->bytes -= n;
	/* Free every drained chunk at the front, and empty ones left by an
	 * uncommitted reservation; stop at the first with bytes left. */
	while (q->head != NULL) {
		struct ring_bufq_chunk *c = q->head;
		size_t take = AEMP_MIN(n, c->wr - c->rd);

		c->rd += take;
		n -= take;
		if (c->rd != c->wr)
			break;
		q->head = c->next;
		if (q->head == NULL)
			q->tail = NULL;
		chunk_free(q->bp, c);
	}
	AEMP_ASSERT_HOT(n == 0);
}
