/*
 * ring/loop.h - one io_uring per shard: submission, completion dispatch,
 * timers, and wake-ups between threads.
 *
 * Every SQE carries a struct ring_op pointer as user_data; on completion the
 * loop calls op->fn(op, res, flags).  The owner of an op keeps it (and any
 * memory the SQE refers to) alive until its last CQE arrives, also after a
 * cancel (STYLE.md §6).  Small user_data values below RING_UD_RESERVED are
 * the loop's own (wake-ups, ignored completions).
 *
 * Threads: a loop is created, driven and destroyed by one thread (its shard).
 * ring_wake() is called by another shard's thread (from its own loop);
 * ring_wake_foreign() by any thread.  The `sleeping` flag is the only field
 * other threads touch.
 *
 * Sleeping protocol (no lost wake-ups): the owner calls
 * ring_loop_sleep_prepare(), re-checks every inbound queue, and only if all
 * are empty calls ring_loop_run(l, 1); otherwise ring_loop_sleep_cancel().
 * A producer publishes its items first, then calls ring_wake(), which sends
 * an IORING_OP_MSG_RING (or eventfd write for foreign threads) only when it
 * takes the target's `sleeping` flag from 1 to 0.
 */
#ifndef RING_LOOP_H
#define RING_LOOP_H

#include <liburing.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ring/base.h"
#include "ring/timer.h"

#define RING_UD_RESERVED 4096u
#define RING_UD_IGNORE 1u /* completions nobody waits for */
#define RING_UD_WAKE 2u   /* MSG_RING wake-up from another shard */

struct ring_op;
typedef void (*ring_op_fn)(struct ring_op *op, int res, uint32_t cqe_flags);

struct ring_op {
	ring_op_fn fn;
};

struct ring_loop {
	struct io_uring ring;
	int ring_fd;          /* target of MSG_RING */
	unsigned setup_flags; /* IORING_SETUP_* actually in use */
	int efd;              /* eventfd for foreign-thread wake-ups */
	uint64_t efd_buf;
	struct ring_op efd_op;
	uint64_t now_ns; /* CLOCK_MONOTONIC, refreshed each turn */
	struct ring_timers timers;
	uint64_t cqes;    /* completions reaped (statistics) */
	uint64_t submits; /* io_uring_enter calls (statistics) */
	_Alignas(AEMP_CACHELINE) atomic_uint sleeping; /* touched by others */
	char pad_[AEMP_CACHELINE - sizeof(atomic_uint)];
};

/*
 * ring_loop_init - create the ring (entries SQEs, rounded up to a power of
 * two) on the calling thread, with IORING_SETUP_SINGLE_ISSUER |
 * IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN where the kernel
 * offers them (falling back flag by flag), plus the eventfd.  Returns 0 or
 * a negated errno (-ENOSYS / -EPERM when io_uring is unavailable; message
 * in aemp_errmsg).
 */
int ring_loop_init(struct ring_loop *l, unsigned entries);

/* ring_loop_fini - close the ring and eventfd.  Pending ops are abandoned:
 * call only when nothing is in flight or the process is exiting. */
void ring_loop_fini(struct ring_loop *l);

/* ring_sqe - a fresh SQE, submitting queued ones first if the SQ is full.
 * Never returns NULL (asserts if the kernel keeps the SQ full). */
struct io_uring_sqe *ring_sqe(struct ring_loop *l);

/* ring_sqe_op - attach op as the SQE's completion target. */
static inline void
ring_sqe_op(struct io_uring_sqe *sqe, struct ring_op *op)
{
	io_uring_sqe_set_data(sqe, op);
}

/*
 * ring_loop_run - one pass: submit queued SQEs; if may_block, wait until at
 * least one completion, a wake-up or the earliest timer (whichever first);
 * then dispatch every available CQE (one CQ advance per batch) and run due
 * timers.  Refreshes now_ns.  Returns the number of CQEs and timers
 * handled, or a negated errno from io_uring_enter other than -EINTR /
 * -ETIME / -EAGAIN / -EBUSY.
 */
int ring_loop_run(struct ring_loop *l, int may_block);

/* Sleeping protocol, see the top of this file. */
void ring_loop_sleep_prepare(struct ring_loop *l);
void ring_loop_sleep_cancel(struct ring_loop *l);

/* ring_wake - from the loop `from` (the caller's own), wake `to` if it
 * sleeps: an IORING_OP_MSG_RING SQE on from's ring, submitted at from's
 * next ring_loop_run. */
void ring_wake(struct ring_loop *from, struct ring_loop *to);

/* ring_wake_foreign - wake `to` from a thread without a loop (eventfd).
 * Async-signal-safe. */
void ring_wake_foreign(struct ring_loop *to);

/* ring_cpu_relax - tell the CPU we are spinning (x86 PAUSE, Arm YIELD):
 * cheaper for the sibling hyperthread and for the spin-loop exit. */
static inline void
ring_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* ring_now_ns - CLOCK_MONOTONIC in nanoseconds (a system call-free vDSO
 * read); ring_loop_run caches it in l->now_ns. */
uint64_t ring_now_ns(void);

#endif /* RING_LOOP_H */
