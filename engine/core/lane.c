/*
 * engine/core/lane.c - lanes from application threads to shards, and the
 * futex application threads wait on for room (engine/core/lane.h has the
 * design: order, bounds, back pressure, lifetime).
 *
 * Records in a lane:
 *   LREC_MSG   struct lane_msghdr, the destination node ID padded to 8
 *              bytes (remote ports only), then the flat packet
 *              [name, elements...] (engine/core/flat.h)
 *   LREC_BIG   a struct lane_big pointer: an LREC_MSG payload too large
 *              for the ring, allocated by the thread, freed by the shard
 *   LREC_CALL  a struct eng_call pointer (eng_post from the thread)
 *
 * Threads: the producer half (eng_lane_snd, eng_lane_call, the
 * thread-local lane table and its destructor) runs on application
 * threads; the consumer half (eng_lanes_*) on the lane's shard.  They
 * share the SPSC ring, `held` (bytes out of line), the reference count
 * and the two flags thread_gone and retired.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine/core/flat.h"
#include "engine/core/lane.h"
#include "engine/core/seam.h"
#include "ring/alloc.h"

enum lane_kind {
	LREC_MSG = 1,
	LREC_BIG = 2,
	LREC_CALL = 3,
};

struct lane_msghdr {
	uint16_t nodelen; /* 0: a port of this node */
	uint16_t fixed;   /* eng_flat_read ran: a retry must not run it again */
	uint16_t pad[2];
};

/* An LREC_MSG payload held out of line. */
struct lane_big {
	size_t len; /* payload bytes (also what `held` counts) */
	uint8_t data[];
};

#define PAD8(n) (((n) + 7u) & ~(size_t)7u)

struct eng_lane {
	struct ring_spsc *q; /* freed by the shard side (lane_retire) */
	struct eng_shard *sh;
	atomic_int refs;        /* the thread's table + the shard's list */
	atomic_int thread_gone; /* the thread exited */
	atomic_int retired;     /* the shard let go (node freed) */
	/* shard only */
	int stalled; /* the head record waits for room */
	/* ... in a record queue (a local port, or a call), which the next
	 * turn drains: the lane stays pending.  Otherwise it waits for a
	 * connection, whose write completions end a turn of this shard. */
	int stall_turn;
	uint64_t drops;
	struct eng_lane *next;
	/* both: bytes held out of line (big messages, calls) */
	_Alignas(AEMP_CACHELINE) atomic_size_t held;
};

/* One application thread's lanes into one node. */
struct eng_fth {
	struct aemp_node *node;
	uint64_t serial;
	struct eng_fth *next;
	struct eng_lane *lane[ENG_MAX_SHARDS];
};

static _Thread_local struct eng_fth *fth_list; /* most recent first */
static pthread_key_t fth_key;
static pthread_once_t fth_once = PTHREAD_ONCE_INIT;
static int fth_key_err;

/* ---- lifetime -------------------------------------------------------- */

static void
lane_rele(struct eng_lane *l)
{
	if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) == 1)
		ring_free_aligned(l, AEMP_CACHELINE, sizeof(*l));
}

static void
fth_free(struct eng_fth *f)
{
	struct eng_lane *l;
	int i;

	for (i = 0; i < ENG_MAX_SHARDS; i++) {
		if ((l = f->lane[i]) == NULL)
			continue;
		/* release: every record pushed is visible before the flag */
		atomic_store_explicit(&l->thread_gone, 1, memory_order_release);
		lane_rele(l);
	}
	ring_free(f, sizeof(*f));
}

/* The thread exits: its lanes are the shards' to finish and free. */
static void
fth_exit(void *arg)
{
	struct eng_fth *f = arg, *next;

	for (; f != NULL; f = next) {
		next = f->next;
		fth_free(f);
	}
	fth_list = NULL;
}

static void
fth_key_init(void)
{
	fth_key_err = pthread_key_create(&fth_key, fth_exit);
}

static void
fth_set_head(struct eng_fth *f)
{
	fth_list = f;
	(void)pthread_setspecific(fth_key, f);
}

/* A thread's entry for a freed node: its shards retired every lane. */
static int
fth_stale(const struct eng_fth *f)
{
	int i;

	for (i = 0; i < ENG_MAX_SHARDS; i++) {
		if (f->lane[i] != NULL &&
		    atomic_load_explicit(&f->lane[i]->retired,
		                         memory_order_acquire))
			return 1;
	}
	return 0;
}

/* fth_find - this thread's entry for node (moved to the front), dropping
 * entries of freed nodes on the way; NULL if none. */
static struct eng_fth *
fth_find(struct aemp_node *node)
{
	struct eng_fth **pp = &fth_list, *f;

	while ((f = *pp) != NULL) {
		if (fth_stale(f)) {
			*pp = f->next;
			fth_free(f);
			continue;
		}
		if (f->node == node && f->serial == node->serial)
			break;
		pp = &f->next;
	}
	if (f != NULL && f != fth_list) {
		*pp = f->next;
		f->next = fth_list;
	}
	fth_set_head(f != NULL ? f : fth_list);
	return f;
}

/* lane_new - a lane towards shard dst, registered with it. */
static int
lane_new(struct aemp_node *node, int dst, struct eng_lane **out)
{
	struct eng_shard *sh = node->shards[dst];
	struct eng_lane *l;
	int rc;

	l = ring_alloc_aligned(AEMP_CACHELINE, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	memset(l, 0, sizeof(*l));
	rc = ring_spsc_new(&l->q, node->lane_cap);
	if (rc < 0) {
		ring_free_aligned(l, AEMP_CACHELINE, sizeof(*l));
		return rc;
	}
	l->sh = sh;
	atomic_init(&l->refs, 2);
	pthread_mutex_lock(&sh->fmu);
	if (sh->closed) {
		pthread_mutex_unlock(&sh->fmu);
		ring_spsc_free(l->q);
		ring_free_aligned(l, AEMP_CACHELINE, sizeof(*l));
		return AEMP_ESTATE;
	}
	l->next = sh->lanes_new;
	sh->lanes_new = l;
	atomic_store_explicit(&sh->lanes_added, 1, memory_order_release);
	pthread_mutex_unlock(&sh->fmu);
	*out = l;
	return 0;
}

static int
lane_get_slow(struct aemp_node *node, int dst, struct eng_lane **out)
{
	struct eng_fth *f;
	int rc, fresh = 0;

	if (pthread_once(&fth_once, fth_key_init) != 0 || fth_key_err != 0)
		return -ENOMEM;
	f = fth_find(node);
	if (f == NULL) {
		f = ring_zalloc(sizeof(*f));
		if (f == NULL)
			return -ENOMEM;
		f->node = node;
		f->serial = node->serial;
		fresh = 1;
	}
	if (f->lane[dst] == NULL) {
		rc = lane_new(node, dst, &f->lane[dst]);
		if (rc < 0) {
			if (fresh)
				ring_free(f, sizeof(*f));
			return rc;
		}
	}
	if (fresh) {
		f->next = fth_list;
		fth_set_head(f);
	}
	*out = f->lane[dst];
	return 0;
}

/* lane_get - the calling thread's lane to shard dst of node. */
static inline int
lane_get(struct aemp_node *node, int dst, struct eng_lane **out)
{
	struct eng_fth *f = fth_list;

	if (AEMP_LIKELY(f != NULL && f->node == node &&
	                f->serial == node->serial && f->lane[dst] != NULL)) {
		*out = f->lane[dst];
		return 0;
	}
	return lane_get_slow(node, dst, out);
}

/* ---- producer ------------------------------------------------------- */

/* lane_hold - count n bytes held out of line; at least one item always
 * fits.  Only the producer adds, so the check cannot go stale upwards. */
static int
lane_hold(struct eng_lane *l, size_t n, size_t cap)
{
	size_t held = atomic_load_explicit(&l->held, memory_order_acquire);

	if (held > 0 && held + n > cap)
		return -EAGAIN;
	atomic_fetch_add_explicit(&l->held, n, memory_order_relaxed);
	return 0;
}

static void
lane_unhold(struct eng_lane *l, size_t n)
{
	atomic_fetch_sub_explicit(&l->held, n, memory_order_release);
}

static int
lane_push_ptr(struct eng_lane *l, uint32_t kind, const void *ptr)
{
	void *p = ring_spsc_reserve(l->q, kind, sizeof(ptr));

	if (p == NULL)
		return -EAGAIN;
	memcpy(p, &ptr, sizeof(ptr));
	ring_spsc_commit(l->q, sizeof(ptr));
	return 0;
}

/* lane_publish - make the records visible and wake the shard if it
 * sleeps (the only system call of the path, and only then). */
static void
lane_publish(struct eng_lane *l)
{
	ring_spsc_publish(l->q);
	ring_wake_foreign(&l->sh->loop);
}

static void
msg_write(uint8_t *out, const struct eng_pid *pid,
          const struct eng_flat_plan *plan, const struct cod_seg *segs,
          size_t nsegs)
{
	struct lane_msghdr h = {0, 0, {0, 0}};
	size_t hlen = sizeof(h);

	if (!pid->local) {
		h.nodelen = (uint16_t)pid->nodelen;
		memcpy(out + hlen, pid->node, pid->nodelen);
		memset(out + hlen + pid->nodelen, 0,
		       PAD8(pid->nodelen) - pid->nodelen);
		hlen += PAD8(pid->nodelen);
	}
	memcpy(out, &h, sizeof(h));
	eng_flat_write(out + hlen, plan, pid->name, pid->namelen, segs, nsegs);
}

/* big_post - a message too large for the ring, held out of line. */
static int
big_post(struct aemp_node *node, struct eng_lane *l, size_t len,
         const struct eng_pid *pid, const struct eng_flat_plan *plan,
         const struct cod_seg *segs, size_t nsegs)
{
	struct lane_big *b;
	int rc;

	rc = lane_hold(l, len, node->lane_cap);
	if (rc < 0)
		return rc;
	b = ring_alloc(sizeof(*b) + len);
	if (b == NULL) {
		lane_unhold(l, len);
		return -ENOMEM;
	}
	b->len = len;
	msg_write(b->data, pid, plan, segs, nsegs);
	rc = lane_push_ptr(l, LREC_BIG, b);
	if (rc < 0) {
		ring_free(b, sizeof(*b) + len);
		lane_unhold(l, len);
	}
	return rc;
}

int
eng_lane_snd(struct aemp_node *node, int dst, const struct eng_pid *pid,
             const struct cod_seg *segs, size_t nsegs)
{
	struct eng_flat_plan plan;
	struct eng_lane *l;
	size_t len;
	uint8_t *p;
	int rc;

	if (!pid->local) {
		if (AEMP_UNLIKELY(pid->nodelen == 0))
			return 0; /* the empty node ID: nowhere (as on a shard) */
		rc = eng_seam(node)->remote_room(
		        node, eng_hash(pid->node, pid->nodelen));
		if (rc < 0)
			return rc;
	}
	rc = eng_flat_plan(pid->namelen, segs, nsegs, &plan);
	if (AEMP_UNLIKELY(rc < 0))
		return rc;
	rc = lane_get(node, dst, &l);
	if (AEMP_UNLIKELY(rc < 0))
		return rc;
	if (AEMP_UNLIKELY(
	            atomic_load_explicit(&node->stop, memory_order_relaxed)))
		return AEMP_ESTATE;
	len = sizeof(struct lane_msghdr) + plan.size +
	      (pid->local ? 0 : PAD8(pid->nodelen));
	if (AEMP_UNLIKELY(len > ring_spsc_max_payload(l->q))) {
		rc = big_post(node, l, len, pid, &plan, segs, nsegs);
		if (rc < 0)
			return rc;
	} else {
		p = ring_spsc_reserve(l->q, LREC_MSG, len);
		if (p == NULL)
			return -EAGAIN;
		msg_write(p, pid, &plan, segs, nsegs);
		ring_spsc_commit(l->q, len);
	}
	lane_publish(l);
	return 0;
}

/* call_cost - what a posted call holds in memory, near enough. */
static size_t
call_cost(const struct eng_call *c)
{
	struct eng_flat_plan plan;
	size_t cost = sizeof(*c);
	int i;

	for (i = 0; i < 3; i++)
		cost += c->s[i] != NULL ? strlen(c->s[i]) + 1 : 0;
	if (c->msg != NULL) {
		struct cod_seg seg = {c->msg, 1};

		if (eng_flat_plan(0, &seg, 1, &plan) == 0)
			cost += plan.size;
	}
	return cost;
}

/* call_push - a sync call is pushed under fmu after checking `closed`,
 * so the shard's last sweep (eng_lanes_close) is sure to answer it. */
static int
call_push(struct aemp_node *node, struct eng_lane *l, struct eng_call *c)
{
	struct eng_shard *sh = l->sh;
	int rc = 0;

	if (c->sync)
		pthread_mutex_lock(&sh->fmu);
	if ((c->sync && sh->closed) ||
	    atomic_load_explicit(&node->stop, memory_order_relaxed))
		rc = AEMP_ESTATE;
	if (rc == 0)
		rc = lane_push_ptr(l, LREC_CALL, c);
	if (rc == 0)
		ring_spsc_publish(l->q);
	if (c->sync)
		pthread_mutex_unlock(&sh->fmu);
	return rc;
}

int
eng_lane_call(struct aemp_node *node, int dst, struct eng_call *c)
{
	struct eng_lane *l;
	int rc, sync = c->sync;

	rc = lane_get(node, dst, &l);
	if (rc < 0)
		goto out;
	c->cost = call_cost(c);
	rc = lane_hold(l, c->cost, node->lane_cap);
	if (rc < 0)
		goto out;
	rc = call_push(node, l, c);
	if (rc < 0) {
		lane_unhold(l, c->cost);
		goto out;
	}
	ring_wake_foreign(&l->sh->loop);
	if (!sync)
		return 0; /* c may already be freed by the shard */
	while (sem_wait(&c->done) < 0 && errno == EINTR)
		;
	return c->rc;
out:
	if (!sync)
		eng_call_free(c);
	return rc;
}

/* ---- consumer: running records -------------------------------------- */

static void
msg_dropped(struct eng_shard *sh, struct eng_lane *l, const struct eng_pid *pid,
            int rc)
{
	/* Logged, not silent; 1st, 2nd, 4th, 8th... of a lane, so a thread
	 * that keeps sending bad messages cannot flood the log. */
	l->drops++;
	if ((l->drops & (l->drops - 1)) != 0)
		return;
	eng_log(sh->node, AEMP_LOG_ERROR,
	        "message from an application thread to %.*s#%.*s dropped "
	        "(%llu so far from that thread): %s",
	        (int)pid->nodelen, pid->node, (int)pid->namelen, pid->name,
	        (unsigned long long)l->drops, aemp_strerror(rc));
}

/* msg_run - an LREC_MSG payload, sent as a send on this shard would be.
 * Returns -EAGAIN (no room: the record stays and runs again) or 0. */
static int
msg_run(struct eng_shard *sh, struct eng_lane *l, uint8_t *p, size_t len)
{
	struct lane_msghdr h;
	struct eng_pid pid;
	struct cod_seg seg;
	const aemp_val *pkt;
	size_t hlen, n;
	int rc;

	memcpy(&h, p, sizeof(h));
	hlen = sizeof(h) + PAD8(h.nodelen);
	AEMP_ASSERT_HOT(len >= hlen);
	if (h.fixed) {
		pkt = eng_flat_again(p + hlen, &n); /* a retry after -EAGAIN */
	} else {
		pkt = eng_flat_read(p + hlen, len - hlen, &n);
		h.fixed = 1;
		memcpy(p, &h, sizeof(h));
	}
	pid.name = pkt[0].u.s;
	pid.namelen = pkt[0].len;
	pid.local = h.nodelen == 0;
	pid.node = pid.local ? sh->node->id : (const char *)p + sizeof(h);
	pid.nodelen = pid.local ? sh->node->idlen : h.nodelen;
	seg.v = pkt + 1;
	seg.n = n - 1;
	rc = eng_snd_pid(sh, &pid, &seg, 1, 0);
	if (rc == -EAGAIN && pid.local)
		l->stall_turn = 1;
	if (AEMP_UNLIKELY(rc < 0 && rc != -EAGAIN)) {
		msg_dropped(sh, l, &pid, rc);
		rc = 0;
	}
	return rc;
}

static int
call_run(struct eng_shard *sh, struct eng_lane *l, const uint8_t *p)
{
	struct eng_call *c;
	size_t cost;

	memcpy(&c, p, sizeof(c));
	cost = c->cost;
	c->fn(sh, c);
	if (!c->sync && c->rc == -EAGAIN) {
		l->stall_turn = 1; /* rare: retried every turn */
		return -EAGAIN;    /* nothing was done: again later */
	}
	lane_unhold(l, cost);
	if (!c->sync && AEMP_UNLIKELY(c->rc < 0)) /* not silent */
		eng_log(sh->node, AEMP_LOG_ERROR,
		        "a call queued by an application thread failed: %s",
		        aemp_strerror(c->rc));
	if (c->sync)
		sem_post(&c->done); /* the poster frees c */
	else
		eng_call_free(c);
	return 0;
}

static int
lane_run(struct eng_shard *sh, struct eng_lane *l, uint32_t kind, uint8_t *p,
         size_t len)
{
	struct lane_big *b;
	int rc;

	switch (kind) {
	case LREC_MSG:
		return msg_run(sh, l, p, len);
	case LREC_BIG:
		memcpy(&b, p, sizeof(b));
		rc = msg_run(sh, l, b->data, b->len);
		if (rc == 0) {
			lane_unhold(l, b->len);
			ring_free(b, sizeof(*b) + b->len);
		}
		return rc;
	case LREC_CALL:
		return call_run(sh, l, p);
	default:
		AEMP_ASSERT(0 && "unknown lane record");
		return 0;
	}
}

static unsigned
lane_drain(struct eng_shard *sh, struct eng_lane *l)
{
	const void *p;
	uint32_t kind;
	size_t len;
	unsigned n = 0;

	l->stalled = 0;
	l->stall_turn = 0;
	while (n < ENG_LANE_MAX && (p = ring_spsc_front(l->q, &kind, &len))) {
		/* the consumer owns the record until it pops it */
		if (lane_run(sh, l, kind, (uint8_t *)(uintptr_t)p, len) < 0) {
			l->stalled = 1;
			break;
		}
		ring_spsc_pop(l->q);
		n++;
	}
	if (n > 0)
		ring_spsc_release(l->q);
	return n;
}

/* lane_discard - drop every record: calls answered with rc (sync) or
 * freed, large messages freed. */
static void
lane_discard(struct eng_lane *l, int rc)
{
	struct eng_call *c;
	struct lane_big *b;
	const void *p;
	uint32_t kind;
	size_t len;

	while ((p = ring_spsc_front(l->q, &kind, &len)) != NULL) {
		if (kind == LREC_BIG) {
			memcpy(&b, p, sizeof(b));
			lane_unhold(l, b->len);
			ring_free(b, sizeof(*b) + b->len);
		} else if (kind == LREC_CALL) {
			memcpy(&c, p, sizeof(c));
			lane_unhold(l, c->cost);
			c->rc = rc;
			if (c->sync)
				sem_post(&c->done);
			else
				eng_call_free(c);
		}
		ring_spsc_pop(l->q);
	}
	ring_spsc_release(l->q);
}

/* lane_retire - the shard lets go: frees the ring, and the lane itself
 * unless the thread still holds it. */
static void
lane_retire(struct eng_lane *l)
{
	lane_discard(l, AEMP_ESTATE);
	ring_spsc_free(l->q);
	l->q = NULL;
	atomic_store_explicit(&l->retired, 1, memory_order_release);
	lane_rele(l);
}

/* lanes_adopt - move newly registered lanes onto the shard's list. */
static void
lanes_adopt(struct eng_shard *sh)
{
	struct eng_lane *l, *next;

	if (!atomic_load_explicit(&sh->lanes_added, memory_order_acquire))
		return;
	pthread_mutex_lock(&sh->fmu);
	l = sh->lanes_new;
	sh->lanes_new = NULL;
	atomic_store_explicit(&sh->lanes_added, 0, memory_order_relaxed);
	pthread_mutex_unlock(&sh->fmu);
	for (; l != NULL; l = next) {
		next = l->next;
		l->next = sh->lanes;
		sh->lanes = l;
	}
}

unsigned
eng_lanes_drain(struct eng_shard *sh)
{
	struct eng_lane **pp, *l;
	unsigned n = 0;

	lanes_adopt(sh);
	for (pp = &sh->lanes; (l = *pp) != NULL;) {
		n += lane_drain(sh, l);
		/* thread_gone first (acquire): then the ring shows all */
		if (atomic_load_explicit(&l->thread_gone,
		                         memory_order_acquire) &&
		    ring_spsc_empty(l->q)) {
			*pp = l->next;
			lane_retire(l);
			continue;
		}
		pp = &l->next;
	}
	if (n > 0)
		eng_room_signal(sh->node);
	return n;
}

int
eng_lanes_pending(struct eng_shard *sh)
{
	struct eng_lane *l;

	if (atomic_load_explicit(&sh->lanes_added, memory_order_relaxed))
		return 1;
	for (l = sh->lanes; l != NULL; l = l->next) {
		if ((!l->stalled || l->stall_turn) && !ring_spsc_empty(l->q))
			return 1;
	}
	return 0;
}

void
eng_lanes_close(struct eng_shard *sh)
{
	struct eng_lane *l;

	lanes_adopt(sh);
	for (l = sh->lanes; l != NULL; l = l->next)
		lane_discard(l, AEMP_ESTATE);
}

void
eng_lanes_free(struct eng_shard *sh)
{
	struct eng_lane *l, *next;

	lanes_adopt(sh);
	for (l = sh->lanes; l != NULL; l = next) {
		next = l->next;
		lane_retire(l);
	}
	sh->lanes = NULL;
}

/* ---- waiting for room ----------------------------------------------- */

static long
futex(atomic_uint *addr, int op, unsigned val, const struct timespec *ts)
{
	return syscall(SYS_futex, (unsigned *)(void *)addr, op, val, ts, NULL,
	               0);
}

void
eng_room_signal(struct aemp_node *node)
{
	int saved;

	/* Pairs with the fence in eng_room_enter: either the waiter's
	 * attempt sees the room, or we see it waiting. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&node->room_waiters, memory_order_relaxed) ==
	    0)
		return;
	saved = errno;
	atomic_fetch_add_explicit(&node->room_seq, 1, memory_order_release);
	(void)futex(&node->room_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	errno = saved;
}

unsigned
eng_room_enter(struct aemp_node *node)
{
	atomic_fetch_add_explicit(&node->room_waiters, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	return eng_room_seq(node);
}

unsigned
eng_room_seq(struct aemp_node *node)
{
	return atomic_load_explicit(&node->room_seq, memory_order_acquire);
}

void
eng_room_leave(struct aemp_node *node)
{
	atomic_fetch_sub_explicit(&node->room_waiters, 1, memory_order_relaxed);
}

int
eng_room_wait(struct aemp_node *node, unsigned seq, uint64_t deadline_ns)
{
	struct timespec ts, *tsp = NULL;
	uint64_t now;

	if (deadline_ns != 0) {
		now = ring_now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		ts.tv_sec = (time_t)((deadline_ns - now) / 1000000000u);
		ts.tv_nsec = (long)((deadline_ns - now) % 1000000000u);
		tsp = &ts;
	}
	if (futex(&node->room_seq, FUTEX_WAIT_PRIVATE, seq, tsp) < 0 &&
	    errno == ETIMEDOUT)
		return -ETIMEDOUT;
	return 0; /* woken, moved on already (EAGAIN), or EINTR */
}
