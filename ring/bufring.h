/*
 * ring/bufring.h - a provided-buffer ring (IORING_REGISTER_PBUF_RING) for
 * receives: the kernel picks a free buffer per completion; the shard
 * parses in place and hands the buffer back.
 *
 * Every buffer has COD_PADDING (64) readable spare bytes after its
 * registered length, so decoders (simdjson) may read past the data.
 * Recycled buffers are handed back to the kernel in batches (one tail
 * update per ring_bufring_flush).
 *
 * Memory (docs/perf.md, "Memory of an idle node"): the buffer block is
 * reserved, not touched, so pages become resident only when the kernel
 * writes into them.  Only RING_BUFRING_MIN buffers circulate at first;
 * when the ring runs low (a quarter of the circulating buffers left) the
 * circulation doubles, up to nbufs.  A timer halves it again every
 * RING_BUFRING_TRIM_NS in which it did not have to grow; buffers leaving
 * circulation are parked when they come back from the shard, and their
 * pages are given back to the system (MADV_DONTNEED) at the next tick.
 * After a quiet period (fewer receives than circulating buffers), the
 * pages of the buffers waiting in the ring that were written since the
 * last give-back are dropped too (they hold no data; only with
 * IORING_SETUP_DEFER_TASKRUN, where the kernel fills buffers only inside
 * this thread's io_uring_enter, and a kernel that reports the ring's head).
 *
 * Threads: owned by one shard.
 */
#ifndef RING_BUFRING_H
#define RING_BUFRING_H

#include <stdint.h>

#include "ring/loop.h"

#define RING_BUF_PADDING 64
#define RING_BUFRING_MIN 16                /* buffers circulating at least */
#define RING_BUFRING_TRIM_NS 2000000000ull /* shrink period, 2 s */

struct ring_bufring {
	struct io_uring_buf_ring *br;
	uint8_t *mem;      /* nbufs * stride bytes */
	size_t stride;     /* buf_size + padding, 64-aligned */
	uint32_t buf_size; /* registered length of each buffer */
	uint16_t nbufs;    /* power of two */
	uint16_t bgid;
	uint16_t pending; /* recycled, not yet made visible */
	uint32_t out;     /* buffers currently held by the shard */
	uint16_t circ;    /* in circulation: in the ring, held or pending */
	uint16_t target;  /* circulation wanted */
	uint16_t fresh;   /* buffers fresh .. nbufs - 1 were never used */
	uint16_t nparked; /* parked[]: out of circulation, ... */
	uint16_t nclean;  /* ... of which parked[0 .. nclean) given back */
	uint8_t grew;     /* grew since the last trim */
	uint32_t takes;   /* receives since the last trim */
	uint32_t ndirty;  /* bits set in dirty[] */
	uint16_t *parked;
	uint64_t *dirty; /* written since their pages were last given back */
	struct ring_loop *loop;
	struct ring_timer trim; /* armed while above the minimum or dirty */
};

/* ring_bufring_init - register a ring for nbufs (power of two, <= 32768)
 * buffers of buf_size bytes as group bgid on l's ring, with
 * min(nbufs, RING_BUFRING_MIN) of them in circulation.  Returns 0 or a
 * negated errno (-EINVAL on kernels without buffer rings). */
int ring_bufring_init(struct ring_loop *l, struct ring_bufring *b,
                      uint16_t bgid, uint16_t nbufs, uint32_t buf_size);

/* ring_bufring_fini - unregister and free. */
void ring_bufring_fini(struct ring_loop *l, struct ring_bufring *b);

/* ring_bufring_take - the buffer a CQE with IORING_CQE_F_BUFFER selected
 * (counts it as held by the shard; grows the circulation when the ring
 * runs low, visible at the next flush). */
uint8_t *ring_bufring_take(struct ring_bufring *b, uint32_t cqe_flags,
                           uint16_t *bid);

/* ring_bufring_recycle - give buffer bid back (visible at the next flush),
 * or park it when the circulation is above its target. */
void ring_bufring_recycle(struct ring_bufring *b, uint16_t bid);

/* ring_bufring_flush - make recycled buffers visible to the kernel. */
void ring_bufring_flush(struct ring_bufring *b);

/* ring_bufring_trim - one shrink step (the timer's work, callable
 * directly): halve the target unless the ring grew since the last step,
 * give the parked buffers' pages back.  Returns the bytes given back. */
size_t ring_bufring_trim(struct ring_bufring *b);

#endif /* RING_BUFRING_H */
