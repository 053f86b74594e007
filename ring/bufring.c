/*
 * ring/bufring.c - a provided-buffer ring for receives.
 *
 * Memory: one page-aligned array of nbufs struct io_uring_buf entries
 * shared with the kernel (the ring), and one mapping of nbufs buffers of
 * `stride` bytes each: buf_size bytes the kernel may fill, then at least
 * RING_BUF_PADDING bytes it never touches, so parsers may over-read (they
 * read zeroes: fresh anonymous pages).  Buffer bid lives at
 * mem + bid * stride for the lifetime of the ring.  The mapping is not
 * touched here: a page becomes resident when the kernel first writes it.
 *
 * Invariants: every buffer bid < fresh is in exactly one place: in the
 * ring (kernel's), held by the shard (`out` counts them), recycled but
 * unflushed (`pending` counts them; they sit in ring slots past the tail)
 * or parked (parked[], out of circulation).  circ counts all but the
 * parked ones and never exceeds nbufs, the ring's size, which is why a
 * recycled or added buffer can always be written past the tail.  Parked
 * buffers never were in the ring since they came back to the shard, so
 * giving their pages back cannot race with the kernel writing into them.
 *
 * Threads: the owning shard only (the kernel reads the ring entries up to
 * the tail published with a store-release in io_uring_buf_ring_advance).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

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

static size_t
mem_bytes(const struct ring_bufring *b)
{
	return (size_t)b->nbufs * b->stride;
}

static size_t
dirty_bytes(const struct ring_bufring *b)
{
	return ((size_t)b->nbufs + 63) / 64 * sizeof(uint64_t);
}

static void
bufring_free(struct ring_bufring *b)
{
	ring_free_aligned(b->br, RING_PAGE, ring_bytes(b->nbufs));
	if (b->mem != NULL)
		munmap(b->mem, mem_bytes(b));
	ring_free(b->parked, (size_t)b->nbufs * sizeof(uint16_t));
	ring_free(b->dirty, dirty_bytes(b));
	b->br = NULL;
	b->mem = NULL;
	b->parked = NULL;
	b->dirty = NULL;
}

/* add - put bid into circulation behind the pending ones. */
static void
add(struct ring_bufring *b, uint16_t bid)
{
	io_uring_buf_ring_add(b->br, buf_addr(b, bid), b->buf_size, bid,
	                      io_uring_buf_ring_mask(b->nbufs), b->pending);
	b->pending++;
	b->circ++;
}

/* grow - raise the circulation to target: parked buffers first (the most
 * recently parked, whose pages may still be resident), then fresh ones. */
static void
grow(struct ring_bufring *b, uint16_t target)
{
	b->target = target;
	while (b->circ < b->target) {
		if (b->nparked > 0) {
			b->nparked--;
			if (b->nclean > b->nparked)
				b->nclean = b->nparked;
			add(b, b->parked[b->nparked]);
		} else {
			AEMP_ASSERT(b->fresh < b->nbufs);
			add(b, b->fresh++);
		}
	}
}

/* Reserve the memory; the first buffers start in the ring. */
static int
bufring_alloc(struct ring_bufring *b)
{
	void *m;

	b->br = ring_alloc_aligned(RING_PAGE, ring_bytes(b->nbufs));
	b->parked = ring_alloc((size_t)b->nbufs * sizeof(uint16_t));
	b->dirty = ring_zalloc(dirty_bytes(b));
	m = mmap(NULL, mem_bytes(b), PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	b->mem = m == MAP_FAILED ? NULL : m;
	if (b->br == NULL || b->mem == NULL || b->parked == NULL ||
	    b->dirty == NULL)
		return -ENOMEM;
	memset(b->br, 0, ring_bytes(b->nbufs));
	io_uring_buf_ring_init(b->br);
	grow(b, AEMP_MIN(b->nbufs, RING_BUFRING_MIN));
	ring_bufring_flush(b);
	return 0;
}

static void
trim_tick(struct ring_timer *t)
{
	struct ring_bufring *b =
	        AEMP_CONTAINER_OF(t, struct ring_bufring, trim);

	ring_bufring_trim(b);
}

/* arm_trim - the timer runs while there is something to give back. */
static void
arm_trim(struct ring_bufring *b)
{
	if (b->loop != NULL && !ring_timer_armed(&b->trim))
		(void)ring_timer_start(&b->loop->timers, &b->trim,
		                       b->loop->now_ns + RING_BUFRING_TRIM_NS);
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
	ring_timer_init(&b->trim, trim_tick);
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
	b->loop = l;
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
	ring_timer_stop(&l->timers, &b->trim);
	b->loop = NULL;
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
	b->takes++;
	if (!(b->dirty[id / 64] & (1ull << (id % 64)))) {
		b->dirty[id / 64] |= 1ull << (id % 64);
		b->ndirty++;
		arm_trim(b);
	}
	/* a quarter left in the ring: double before the kernel runs out */
	if (AEMP_UNLIKELY(b->circ - b->out <= b->circ / 4u) &&
	    b->circ < b->nbufs) {
		grow(b, (uint16_t)AEMP_MIN(2u * b->circ, b->nbufs));
		b->grew = 1;
		arm_trim(b);
	}
	return buf_addr(b, id);
}

void
ring_bufring_recycle(struct ring_bufring *b, uint16_t bid)
{
	AEMP_ASSERT_HOT(bid < b->nbufs);
	AEMP_ASSERT_HOT(b->out > 0);
	b->out--;
	if (AEMP_UNLIKELY(b->circ > b->target)) {
		b->circ--;
		b->parked[b->nparked++] = bid; /* pages given back by trim */
		arm_trim(b);
		return;
	}
	/* Written past the tail: invisible to the kernel until the flush. */
	b->circ--; /* add counts it again */
	add(b, bid);
}

void
ring_bufring_flush(struct ring_bufring *b)
{
	if (b->pending == 0)
		return;
	io_uring_buf_ring_advance(b->br, b->pending);
	b->pending = 0;
}

/* give_back - drop the pages lying wholly inside buffer bid. */
static size_t
give_back(struct ring_bufring *b, uint16_t bid)
{
	uintptr_t lo = (uintptr_t)buf_addr(b, bid);
	uintptr_t hi = lo + b->stride;

	if (!(b->dirty[bid / 64] & (1ull << (bid % 64))))
		return 0; /* untouched since the last time */
	b->dirty[bid / 64] &= ~(1ull << (bid % 64));
	b->ndirty--;
	lo = (lo + RING_PAGE - 1) & ~(uintptr_t)(RING_PAGE - 1);
	hi &= ~(uintptr_t)(RING_PAGE - 1);
	if (hi <= lo || madvise((void *)lo, hi - lo, MADV_DONTNEED) < 0)
		return 0;
	return hi - lo;
}

/* IORING_REGISTER_PBUF_STATUS (Linux 6.8), not in every liburing. */
#define BUFRING_PBUF_STATUS 26
struct bufring_status {
	uint32_t buf_group;
	uint32_t head;
	uint32_t resv[8];
};

/* give_back_ring - the buffers between the kernel's head and the tail
 * hold no data: drop their pages.  Safe only where the kernel fills
 * buffers inside this thread's io_uring_enter (DEFER_TASKRUN). */
static size_t
give_back_ring(struct ring_bufring *b)
{
	struct bufring_status st;
	uint16_t slot, tail = b->br->tail;
	uint16_t mask = (uint16_t)io_uring_buf_ring_mask(b->nbufs);
	size_t bytes = 0;

	if (b->loop == NULL ||
	    !(b->loop->setup_flags & IORING_SETUP_DEFER_TASKRUN))
		return 0;
	memset(&st, 0, sizeof(st));
	st.buf_group = b->bgid;
	if (syscall(__NR_io_uring_register, b->loop->ring.ring_fd,
	            BUFRING_PBUF_STATUS, &st, 1) < 0)
		return 0; /* older kernel: parked buffers only */
	for (slot = (uint16_t)st.head; slot != tail; slot++)
		bytes += give_back(b, b->br->bufs[slot & mask].bid);
	return bytes;
}

size_t
ring_bufring_trim(struct ring_bufring *b)
{
	uint16_t floor = (uint16_t)AEMP_MIN(b->nbufs, RING_BUFRING_MIN);
	int quiet = b->takes < b->circ;
	size_t bytes = 0;

	if (!b->grew && b->target > floor)
		b->target = (uint16_t)AEMP_MAX(b->target / 2u, floor);
	b->grew = 0;
	b->takes = 0;
	for (; b->nclean < b->nparked; b->nclean++)
		bytes += give_back(b, b->parked[b->nclean]);
	if (quiet && b->ndirty > 0)
		bytes += give_back_ring(b);
	if (b->target > floor || b->ndirty > 0)
		arm_trim(b); /* parking and receiving arm it again */
	return bytes;
}
