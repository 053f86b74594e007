/*
 * ring/bufring.c - a provided-buffer ring for receives.
 *
 * Memory: one page-aligned array of nbufs struct io_uring_buf entries
 * shared with the kernel (the ring), and one block of nbufs buffers of
 * `stride` bytes each: buf_size bytes the kernel may fill, then at least
 * RING_BUF_PADDING bytes it never touches, so parsers may over-read.
 * Buffer bid lives at mem + bid * stride for the lifetime of the ring.
 *
 * Invariants: every buffer is in exactly one place: in the ring (kernel's),
 * held by the shard (`out` counts them), or recycled-but-unflushed
 * (`pending` counts them; they sit in ring slots past the tail).  So
 * pending <= out-before-recycle and pending + ring contents <= nbufs,
 * which is why a recycled buffer can always be written past the tail.
 *
 * Threads: the owning shard only (the kernel reads the ring entries up to
 * the tail published with a store-release in io_uring_buf_ring_advance).
 */
#include <errno.h>
#include <string.h>

#include "ring/alloc.h"
#include "ring/bufring.h"

#define RING_PAGE 4096u

static size_t
ring_bytes(uint16_t nbufs)
{
	size_t n = (size_t)nbufs * sizeof(struct io_uring_buf);

	return (n + RING_PAGE - 1) & ~(size_t)(RING_PAGE - 1);
}

static inline uint8_t *
buf_addr(const struct ring_bufring *b, uint16_t bid)
{
	return b->mem + (size_t)bid * b->stride;
}

static void
bufring_free(struct ring_bufring *b)
{
	ring_free_aligned(b->br, RING_PAGE, ring_bytes(b->nbufs));
	ring_free_aligned(b->mem, RING_PAGE, (size_t)b->nbufs * b->stride);
	b->br = NULL;
	b->mem = NULL;
}

/* Allocate and fill: every buffer starts in the ring. */
static int
bufring_alloc(struct ring_bufring *b)
{
	uint16_t i;
	int mask = io_uring_buf_ring_mask(b->nbufs);

	b->br = ring_alloc_aligned(RING_PAGE, ring_bytes(b->nbufs));
	b->mem = ring_alloc_aligned(RING_PAGE, (size_t)b->nbufs * b->stride);
	if (b->br == NULL || b->mem == NULL)
		return -ENOMEM;
	memset(b->br, 0, ring_bytes(b->nbufs));
	/* Defined bytes in the padding, so over-reads are deterministic. */
	memset(b->mem, 0, (size_t)b->nbufs * b->stride);
	io_uring_buf_ring_init(b->br);
	for (i = 0; i < b->nbufs; i++)
		io_uring_buf_ring_add(b->br, buf_addr(b, i), b->buf_size, i,
		                      mask, i);
	io_uring_buf_ring_advance(b->br, b->nbufs);
	return 0;
}

int
ring_bufring_init(struct ring_loop *l, struct ring_bufring *b, uint16_t bgid,
                  uint16_t nbufs, uint32_t buf_size)
{
	struct io_uring_buf_reg reg;
	int rc;

	memset(b, 0, sizeof(*b));
	if (nbufs == 0 || (nbufs & (nbufs - 1)) != 0 || nbufs > 32768 ||
	    buf_size == 0 || buf_size > (1u << 30))
		return AEMP_SET_ERR(-EINVAL, "bufring: bad geometry %u x %u",
		                    (unsigned)nbufs, (unsigned)buf_size);
	b->nbufs = nbufs;
	b->bgid = bgid;
	b->buf_size = buf_size;
	b->stride = ((size_t)buf_size + RING_BUF_PADDING + AEMP_CACHELINE - 1) &
	            ~(size_t)(AEMP_CACHELINE - 1);
	if ((rc = bufring_alloc(b)) < 0) {
		rc = AEMP_SET_ERR(rc, "bufring: out of memory");
		goto out;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)b->br;
	reg.ring_entries = nbufs;
	reg.bgid = bgid;
	rc = io_uring_register_buf_ring(&l->ring, &reg, 0);
	if (rc < 0) {
		rc = AEMP_SET_ERR(rc, "io_uring_register_buf_ring: %s%s",
		                  strerror(-rc),
		                  rc == -EINVAL ? " (kernel < 5.19?)" : "");
		goto out;
	}
	return 0;
out:
	bufring_free(b);
	return rc;
}

void
ring_bufring_fini(struct ring_loop *l, struct ring_bufring *b)
{
	if (b->br != NULL)
		(void)io_uring_unregister_buf_ring(&l->ring, b->bgid);
	bufring_free(b);
}

uint8_t *
ring_bufring_take(struct ring_bufring *b, uint32_t cqe_flags, uint16_t *bid)
{
	uint16_t id = (uint16_t)(cqe_flags >> IORING_CQE_BUFFER_SHIFT);

	AEMP_ASSERT_HOT((cqe_flags & IORING_CQE_F_BUFFER) != 0);
	AEMP_ASSERT_HOT(id < b->nbufs);
	b->out++;
	*bid = id;
	return buf_addr(b, id);
}

void
ring_bufring_recycle(struct ring_bufring *b, uint16_t bid)
{
	AEMP_ASSERT_HOT(bid < b->nbufs);
	AEMP_ASSERT_HOT(b->out > 0);
	/* Written past the tail: invisible to the kernel until the flush. */
	io_uring_buf_ring_add(b->br, buf_addr(b, bid), b->buf_size, bid,
	                      io_uring_buf_ring_mask(b->nbufs), b->pending);
	b->pending++;
	b->out--;
}

void
ring_bufring_flush(struct ring_bufring *b)
{
	if (b->pending == 0)
		return;
	io_uring_buf_ring_advance(b->br, b->pending);
	b->pending = 0;
}
