/*
 * ring/spsc.h - a lock-free single-producer/single-consumer queue of
 * variable-length records, one per ordered pair of shards.
 *
 * Records are copied in (reserve, write, commit) and read in place by the
 * consumer (front, use, pop).  Visibility is batched: committed records
 * become visible to the consumer only at ring_spsc_publish(), and freed
 * space becomes visible to the producer only at ring_spsc_release(), so
 * each side touches the shared cache lines once per batch (STYLE.md §8).
 *
 * Layout: each published index (tail, head) has a cache line to itself,
 * apart from its side's private fields, so the other side polling it
 * steals that line at most once per batch and never the line written on
 * every record; read-only fields have their own line too.  Each side
 * caches the other's index.
 * Record format: 8-byte header (payload length, kind) then the payload,
 * padded to 8 bytes; a record never wraps (a filler record pads to the
 * end of the buffer).  Largest payload: cap / 4 bytes.
 *
 * Threads: exactly one producer thread and one consumer thread.
 */
#ifndef RING_SPSC_H
#define RING_SPSC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ring/base.h"

/* Readable bytes after the buffer, for decoders that read past the data
 * (codec/codec.h COD_PADDING). */
#define RING_SPSC_PADDING 64

struct ring_spsc {
	/* shared index, written by the producer once per publish */
	_Alignas(AEMP_CACHELINE) atomic_uint_fast64_t tail; /* published */
	/* producer-private: written on every reserve/commit */
	_Alignas(AEMP_CACHELINE) uint64_t tail_local; /* not yet published */
	uint64_t head_cache; /* producer's stale view of head */
	uint64_t reserved;   /* bytes reserved by the open reserve */
	/* shared index, written by the consumer once per release */
	_Alignas(AEMP_CACHELINE) atomic_uint_fast64_t head; /* released */
	/* consumer-private: written on every front/pop */
	_Alignas(AEMP_CACHELINE) uint64_t head_local; /* not yet released */
	uint64_t tail_cache; /* consumer's stale view of tail */
	/* read-only after init */
	_Alignas(AEMP_CACHELINE) uint8_t *buf;
	uint64_t cap; /* bytes, power of two */
	uint64_t mask;
};

/* ring_spsc_init - cap bytes (power of two, >= 4096).  Returns 0, -EINVAL,
 * -ENOMEM.  q must be AEMP_CACHELINE-aligned (the struct's own alignment:
 * static storage or ring_alloc_aligned; plain malloc is not enough), which
 * is asserted. */
int ring_spsc_init(struct ring_spsc *q, size_t cap);
void ring_spsc_fini(struct ring_spsc *q);

/* ring_spsc_new - allocate (cache-line aligned) and init a queue of cap
 * bytes.  Returns 0 and *out (new, free with ring_spsc_free), -EINVAL or
 * -ENOMEM.  Control plane: allocates. */
int ring_spsc_new(struct ring_spsc **out, size_t cap);

/* ring_spsc_free - fini and free a queue from ring_spsc_new (NULL: no-op). */
void ring_spsc_free(struct ring_spsc *q);

/* ring_spsc_max_payload - the largest payload a record may carry. */
static inline size_t
ring_spsc_max_payload(const struct ring_spsc *q)
{
	return (size_t)(q->cap / 4);
}

/*
 * Producer.  ring_spsc_reserve returns room for a payload of len bytes
 * (kind != 0), or NULL when the queue is full (back pressure: nothing
 * changed).  Write the payload, then ring_spsc_commit with the actual
 * length (<= len).  Only one reservation may be open at a time.
 */
void *ring_spsc_reserve(struct ring_spsc *q, uint32_t kind, size_t len);
void ring_spsc_commit(struct ring_spsc *q, size_t len);

/* ring_spsc_abandon - drop the open reservation (nothing was committed;
 * a filler record it may have placed stays and is skipped). */
static inline void
ring_spsc_abandon(struct ring_spsc *q)
{
	q->reserved = 0;
}

/* ring_spsc_publish - make committed records visible (store-release).
 * Returns 1 if anything new was published, else 0. */
int ring_spsc_publish(struct ring_spsc *q);

/* ring_spsc_unpublished - records committed but not yet published. */
static inline int
ring_spsc_unpublished(const struct ring_spsc *q)
{
	return q->tail_local !=
	       atomic_load_explicit(&q->tail, memory_order_relaxed);
}

/*
 * Consumer.  ring_spsc_front returns the next record's payload (borrowed
 * until ring_spsc_pop) and sets *kind and *len, or NULL if empty.
 * ring_spsc_pop moves past it; ring_spsc_release hands the freed space back
 * to the producer (call once per batch).
 */
const void *ring_spsc_front(struct ring_spsc *q, uint32_t *kind, size_t *len);
void ring_spsc_pop(struct ring_spsc *q);
void ring_spsc_release(struct ring_spsc *q);

/* ring_spsc_empty - 1 if the consumer would find nothing (acquire load).
 * Inline: shards ask it of their own queue for every received packet. */
static inline int
ring_spsc_empty(struct ring_spsc *q)
{
	if (q->head_local != q->tail_cache)
		return 0;
	q->tail_cache = atomic_load_explicit(&q->tail, memory_order_acquire);
	return q->head_local == q->tail_cache;
}

#endif /* RING_SPSC_H */
