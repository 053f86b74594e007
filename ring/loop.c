/*
 * ring/loop.c - the per-shard io_uring loop: ring setup with feature
 * fallback, SQE supply, one bounded pass of submit / wait / reap / timers,
 * and the wake-up paths between threads.
 *
 * Invariants:
 *   - Every CQE's user_data is either a struct ring_op pointer
 *     (>= RING_UD_RESERVED) or one of the loop's own small values.
 *   - The eventfd always has exactly one read in flight (efd_op) while the
 *     loop lives, so a foreign write completes it and wakes the ring.
 *   - `sleeping` is 1 only between ring_loop_sleep_prepare() and the end of
 *     the following blocking wait (or ring_loop_sleep_cancel()), unless a
 *     waker took it to 0 first; whoever takes it 1 -> 0 owes the wake-up.
 *
 * Threads: the owner thread does everything except ring_wake (another
 * shard's thread, which touches only `sleeping` and `ring_fd` of the
 * target) and ring_wake_foreign (any thread or signal handler: `sleeping`
 * and `efd`).
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ring/loop.h"

/* Bounds of one pass (STYLE.md §7): timers run per ring_loop_run.  The CQE
 * batch is bounded by the CQ size. */
#define RING_LOOP_TIMERS_MAX 1024u

/* The flags asked for first; dropped one step at a time on -EINVAL, newest
 * kernel feature first.  COOP_TASKRUN and TASKRUN_FLAG came together
 * (5.19) and TASKRUN_FLAG needs COOP or DEFER, so they go as one step. */
#define RING_SETUP_WANT                                                        \
	(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |             \
	 IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG)

static const unsigned ring_setup_drop[] = {
        IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_SINGLE_ISSUER,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
};

static void loop_efd_arm(struct ring_loop *l);

uint64_t
ring_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
loop_setup_err(int rc)
{
	switch (rc) {
	case -ENOSYS:
		return AEMP_SET_ERR(rc, "io_uring_setup: io_uring is not "
		                        "available in this kernel (ENOSYS)");
	case -EPERM:
	case -EACCES:
		return AEMP_SET_ERR(-EPERM,
		                    "io_uring_setup: not permitted (seccomp "
		                    "filter, container policy or "
		                    "kernel.io_uring_disabled)");
	case -ENOMEM:
		return AEMP_SET_ERR(rc, "io_uring_setup: out of memory "
		                        "(RLIMIT_MEMLOCK too low?)");
	default:
		return AEMP_SET_ERR(rc, "io_uring_setup: %s", strerror(-rc));
	}
}

/* Create the ring with the best flag set the kernel accepts. */
static int
loop_setup(struct ring_loop *l, unsigned entries)
{
	unsigned flags = RING_SETUP_WANT;
	size_t i = 0;
	int rc;

	for (;;) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		p.flags = flags;
		rc = io_uring_queue_init_params(entries, &l->ring, &p);
		if (rc != -EINVAL || i == AEMP_ARRAY_LEN(ring_setup_drop))
			break;
		flags &= ~ring_setup_drop[i++];
	}
	if (rc < 0)
		return loop_setup_err(rc);
	l->setup_flags = flags;
	return 0;
}

static void
loop_efd_done(struct ring_op *op, int res, uint32_t cqe_flags)
{
	struct ring_loop *l = AEMP_CONTAINER_OF(op, struct ring_loop, efd_op);

	(void)cqe_flags;
	/* Any other error means the eventfd is gone (loop shutting down);
	 * re-arming would spin on the same error. */
	if (res >= 0 || res == -EINTR || res == -EAGAIN)
		loop_efd_arm(l);
}

static void
loop_efd_arm(struct ring_loop *l)
{
	struct io_uring_sqe *sqe = ring_sqe(l);

	io_uring_prep_read(sqe, l->efd, &l->efd_buf, sizeof(l->efd_buf), 0);
	ring_sqe_op(sqe, &l->efd_op);
}

int
ring_loop_init(struct ring_loop *l, unsigned entries)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->efd = -1;
	l->ring_fd = -1;
	atomic_init(&l->sleeping, 0);
	ring_timers_init(&l->timers);
	if ((rc = loop_setup(l, entries)) < 0)
		return rc;
	l->ring_fd = l->ring.ring_fd;
	/* Registered ring fd: io_uring_enter skips the fd table lookup.
	 * Optional; MSG_RING senders still use the real ring_fd. */
	(void)io_uring_register_ring_fd(&l->ring);
	/* Blocking eventfd: io_uring polls it, and a writer never blocks
	 * short of 2^64 - 2 pending wake-ups. */
	l->efd = eventfd(0, EFD_CLOEXEC);
	if (l->efd < 0) {
		rc = AEMP_SET_ERR(-errno, "eventfd: %s", strerror(errno));
		goto out;
	}
	l->efd_op.fn = loop_efd_done;
	loop_efd_arm(l);
	l->now_ns = ring_now_ns();
	return 0;
out:
	ring_loop_fini(l);
	return rc;
}

void
ring_loop_fini(struct ring_loop *l)
{
	if (l->ring_fd >= 0)
		io_uring_queue_exit(&l->ring);
	l->ring_fd = -1;
	if (l->efd >= 0)
		close(l->efd);
	l->efd = -1;
	ring_timers_fini(&l->timers);
}

/* Slow path of ring_sqe: the SQ is full, so push it to the kernel. */
static struct io_uring_sqe *
loop_sqe_slow(struct ring_loop *l)
{
	struct io_uring_sqe *sqe = NULL;
	int i;

	for (i = 0; i < 8 && sqe == NULL; i++) {
		l->submits++;
		(void)io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
	}
	AEMP_ASSERT(sqe != NULL);
	return sqe;
}

struct io_uring_sqe *
ring_sqe(struct ring_loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (AEMP_UNLIKELY(sqe == NULL))
		sqe = loop_sqe_slow(l);
	return sqe;
}

/* The owner is running: clear the flag, skipping the store (and the
 * cache-line write) when no one needs to see it. */
static inline void
loop_awake(struct ring_loop *l)
{
	if (atomic_load_explicit(&l->sleeping, memory_order_relaxed) != 0)
		atomic_store_explicit(&l->sleeping, 0, memory_order_relaxed);
}

/* Non-blocking pass: does the kernel have anything for us?  With
 * TASKRUN_FLAG the kernel flags pending task work (and with DEFER_TASKRUN
 * completions appear only after an enter); without COOP/DEFER completions
 * show up on their own. */
static inline int
loop_needs_enter(struct ring_loop *l)
{
	unsigned kf;

	if (io_uring_sq_ready(&l->ring) != 0)
		return 1;
	kf = __atomic_load_n(l->ring.sq.kflags, __ATOMIC_RELAXED);
	return (kf & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) != 0;
}

static inline int
loop_enter_result(int rc)
{
	if (rc >= 0 || rc == -EINTR || rc == -ETIME || rc == -EAGAIN ||
	    rc == -EBUSY)
		return 0;
	return rc;
}

/* Phase 4: submit, and if asked wait for a completion, a wake-up or the
 * earliest timer. */
static int
loop_enter(struct ring_loop *l, int may_block)
{
	struct __kernel_timespec ts, *tsp = NULL;
	struct io_uring_cqe *cqe;
	uint64_t now, next;
	int rc;

	next = ring_timers_next(&l->timers);
	now = may_block ? ring_now_ns() : 0;
	if (!may_block || next <= now) {
		loop_awake(l);
		if (!loop_needs_enter(l))
			return 0;
		l->submits++;
		return loop_enter_result(
		        io_uring_submit_and_get_events(&l->ring));
	}
	if (next != UINT64_MAX) {
		ts.tv_sec = (long long)((next - now) / 1000000000u);
		ts.tv_nsec = (long long)((next - now) % 1000000000u);
		tsp = &ts;
	}
	l->submits++;
	rc = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, tsp, NULL);
	loop_awake(l);
	return loop_enter_result(rc);
}

/* Phase 5: dispatch every available CQE (at most one CQ's worth), then
 * advance the CQ once. */
static unsigned
loop_reap(struct ring_loop *l)
{
	unsigned head, n = 0, max = l->ring.cq.ring_entries;
	struct io_uring_cqe *cqe;

	io_uring_for_each_cqe(&l->ring, head, cqe)
	{
		uint64_t ud = cqe->user_data;

		if (ud >= RING_UD_RESERVED) {
			struct ring_op *op = (struct ring_op *)(uintptr_t)ud;

			op->fn(op, cqe->res, cqe->flags);
		}
		if (++n == max)
			break;
	}
	if (n != 0)
		io_uring_cq_advance(&l->ring, n);
	l->cqes += n;
	return n;
}

int
ring_loop_run(struct ring_loop *l, int may_block)
{
	unsigned n;
	int rc;

	if ((rc = loop_enter(l, may_block)) < 0)
		return rc;
	n = loop_reap(l);
	l->now_ns = ring_now_ns();
	n += ring_timers_run(&l->timers, l->now_ns, RING_LOOP_TIMERS_MAX);
	return (int)n;
}

void
ring_loop_sleep_prepare(struct ring_loop *l)
{
	atomic_store_explicit(&l->sleeping, 1, memory_order_relaxed);
	/* Pairs with the fence in loop_take_sleeping: either the waker sees
	 * sleeping == 1, or our re-check of the queues sees its items. */
	atomic_thread_fence(memory_order_seq_cst);
}

void
ring_loop_sleep_cancel(struct ring_loop *l)
{
	loop_awake(l);
}

/* 1 if the caller took `to` from sleeping to awake and so owes it the
 * wake-up.  Lock-free atomics only: async-signal-safe. */
static inline int
loop_take_sleeping(struct ring_loop *to)
{
	/* Orders the caller's publish of its items before the flag read. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&to->sleeping, memory_order_relaxed) == 0)
		return 0;
	return atomic_exchange_explicit(&to->sleeping, 0,
	                                memory_order_acq_rel) != 0;
}

void
ring_wake(struct ring_loop *from, struct ring_loop *to)
{
	struct io_uring_sqe *sqe;

	if (!loop_take_sleeping(to))
		return;
	sqe = ring_sqe(from);
	/* MSG_RING posts a CQE {user_data RING_UD_WAKE, res 0} on `to`.
	 * IORING_MSG_RING_CQE_SKIP would suppress that target CQE (and is
	 * only valid for IORING_MSG_SEND_FD); the sender's own CQE is what we
	 * drop, with IOSQE_CQE_SKIP_SUCCESS where the kernel has it. */
	io_uring_prep_msg_ring(sqe, to->ring_fd, 0, RING_UD_WAKE, 0);
	io_uring_sqe_set_data64(sqe, RING_UD_IGNORE);
	if (from->ring.features & IORING_FEAT_CQE_SKIP)
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

void
ring_wake_foreign(struct ring_loop *to)
{
	uint64_t one = 1;
	int saved = errno;
	ssize_t r;

	if (!loop_take_sleeping(to))
		return;
	do {
		r = write(to->efd, &one, sizeof(one));
	} while (r < 0 && errno == EINTR);
	errno = saved;
}
