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
 * Threads: owned by one shard.
 */
#ifndef RING_BUFRING_H
#define RING_BUFRING_H

#include <stdint.h>

#include "ring/loop.h"

#define RING_BUF_PADDING 64

struct ring_bufring {
	struct io_uring_buf_ring *br;
	uint8_t *mem;      /* nbufs * stride bytes */
	size_t stride;     /* buf_size + padding, 64-aligned */
	uint32_t buf_size; /* registered length of each buffer */
	uint16_t nbufs;    /* power of two */
	uint16_t bgid;
	uint16_t pending; /* recycled, not yet made visible */
	uint32_t out;     /* buffers currently held by the shard */
};

/* ring_bufring_init - register nbufs (power of two, <= 32768) buffers of
 * buf_size bytes as group bgid on l's ring.  Returns 0 or a negated errno
 * (-EINVAL on kernels without buffer rings). */
int ring_bufring_init(struct ring_loop *l, struct ring_bufring *b,
                      uint16_t bgid, uint16_t nbufs, uint32_t buf_size);

/* ring_bufring_fini - unregister and free. */
void ring_bufring_fini(struct ring_loop *l, struct ring_bufring *b);

/* ring_bufring_take - the buffer a CQE with IORING_CQE_F_BUFFER selected
 * (counts it as held by the shard). */
uint8_t *ring_bufring_take(struct ring_bufring *b, uint32_t cqe_flags,
                           uint16_t *bid);

/* ring_bufring_recycle - give buffer bid back (visible at the next flush). */
void ring_bufring_recycle(struct ring_bufring *b, uint16_t bid);

/* ring_bufring_flush - make recycled buffers visible to the kernel. */
void ring_bufring_flush(struct ring_bufring *b);

#endif /* RING_BUFRING_H */
