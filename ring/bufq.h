/*
 * ring/bufq.h - an outgoing byte queue made of chunks: the connection's
 * send buffer chain.  Encoders write packets straight into it
 * (reserve/commit); the sender gathers the committed bytes into an iovec
 * for one large sendmsg per loop turn and consumes what the kernel took.
 *
 * Chunks come from a per-shard ring_bufq_pool (all chunks of a shard have
 * the same size); a reservation larger than a chunk gets a dedicated
 * chunk of that size.
 *
 * Memory: a pool attached to a loop gives its slabs back once no chunk is
 * in use (every queue of the shard drained) at a check RING_BUFQ_TRIM_NS
 * after the pool last grew, and every RING_BUFQ_TRIM_NS after that until
 * it could (docs/perf.md, "Memory of an idle node").
 *
 * Threads: owned by one shard (the connection's).
 */
#ifndef RING_BUFQ_H
#define RING_BUFQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ring/loop.h"
#include "ring/pool.h"

#define RING_BUFQ_TRIM_NS 2000000000ull /* 2 s */

struct ring_bufq_chunk;

struct ring_bufq_pool {
	struct ring_pool pool;  /* chunks of chunk_size */
	size_t chunk_size;      /* payload bytes per pooled chunk */
	struct ring_loop *loop; /* attached: slabs given back when unused */
	struct ring_timer trim;
};

void ring_bufq_pool_init(struct ring_bufq_pool *bp, size_t chunk_size);
void ring_bufq_pool_fini(struct ring_bufq_pool *bp);

/* ring_bufq_pool_attach - give slabs back when unused, checked by a timer
 * on l (the pool's shard); detach before l goes away. */
void ring_bufq_pool_attach(struct ring_bufq_pool *bp, struct ring_loop *l);
void ring_bufq_pool_detach(struct ring_bufq_pool *bp);

/* ring_bufq_pool_trim - free every slab if no chunk is in use (the timer's
 * work).  Returns the bytes given back. */
size_t ring_bufq_pool_trim(struct ring_bufq_pool *bp);

struct ring_bufq {
	struct ring_bufq_pool *bp;
	struct ring_bufq_chunk *head; /* oldest: sending from here */
	struct ring_bufq_chunk *tail; /* newest: writing here */
	size_t bytes;                 /* committed, not yet consumed */
};

void ring_bufq_init(struct ring_bufq *q, struct ring_bufq_pool *bp);

/* ring_bufq_fini - drop all data and chunks. */
void ring_bufq_fini(struct ring_bufq *q);

/* ring_bufq_clear - drop all data (queue stays usable). */
void ring_bufq_clear(struct ring_bufq *q);

/*
 * ring_bufq_reserve - contiguous room of at least min bytes at the end of
 * the queue; *room receives the actual contiguous room (>= min).  Returns
 * NULL on out of memory.  Nothing is visible until ring_bufq_commit.
 */
uint8_t *ring_bufq_reserve(struct ring_bufq *q, size_t min, size_t *room);

/* ring_bufq_commit - n bytes of the last reservation were written. */
void ring_bufq_commit(struct ring_bufq *q, size_t n);

/* ring_bufq_append - copy n bytes in.  Returns 0 or -ENOMEM. */
int ring_bufq_append(struct ring_bufq *q, const void *p, size_t n);

/*
 * ring_bufq_append_ext - n bytes at p join the queue by reference (no
 * copy): the caller keeps them valid and unchanged until they are consumed
 * or the queue is cleared (for a connection: until its send completed).
 * Later reservations start a new chunk.  Returns 0 or -ENOMEM.
 */
int ring_bufq_append_ext(struct ring_bufq *q, const void *p, size_t n);

/* ring_bufq_iov - up to max iovecs covering the committed bytes from the
 * front, at most max_bytes in total.  Returns the count. */
int ring_bufq_iov(const struct ring_bufq *q, struct iovec *iov, int max,
                  size_t max_bytes);

/* ring_bufq_consume - drop n bytes from the front (after they were sent). */
void ring_bufq_consume(struct ring_bufq *q, size_t n);

static inline size_t
ring_bufq_bytes(const struct ring_bufq *q)
{
	return q->bytes;
}

#endif /* RING_BUFQ_H */
