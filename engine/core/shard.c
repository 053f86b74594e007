/*
 * engine/core/shard.c - a shard: its thread, its loop turn, the record queues
 * towards other shards (with overflow spill) and the foreign-call queue.
 *
 * Loop turn (STYLE.md §7), each phase bounded:
 *   1. drain inbound record queues (ENG_DRAIN_MAX each) and foreign calls
 *   2. (records run ports: deliveries, kills, spawns, monitor firing)
 *   3. flush: move overflow into queues, publish batches, wake consumers;
 *      network layer flushes its connections
 *   4-6. ring_loop_run: submit, wait if idle, reap CQEs, run timers
 *        (with busy_poll_us: poll without waiting until that long after
 *        the last work, yielding every SHARD_YIELD_EVERY polls)
 *   7. the network layer reaps closed connections
 *
 * Threads: everything here runs on the shard's own thread, except
 * eng_post (any thread) and the foreign queue it fills (mutex) for other
 * shards; application threads post through their lanes (lane.c).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/core/lane.h"
#include "engine/core/seam.h"
#include "ring/alloc.h"

_Thread_local struct eng_shard *eng_cur;

int
eng_shard_new(struct aemp_node *node, int idx, struct eng_shard **out)
{
	struct eng_shard *sh;

	sh = ring_alloc_aligned(AEMP_CACHELINE, sizeof(*sh));
	if (sh == NULL)
		return -ENOMEM;
	memset(sh, 0, sizeof(*sh));
	sh->node = node;
	sh->idx = idx;
	sh->next_id = 1;
	cod_tape_init(&sh->tape);
	eng_htab_init(&sh->ports);
	eng_htab_init(&sh->objs);
	ring_pool_init(&sh->port64, 64, 1024);
	ring_pool_init(&sh->port96, 96, 512);
	ring_pool_init(&sh->mons, sizeof(struct eng_mon), 256);
	ring_timers_init(&sh->loop.timers);
	pthread_mutex_init(&sh->fmu, NULL);
	*out = sh;
	return 0;
}

/* ---- handler run times and busy time (docs/metrics.md) -------------- */

/* Powers of 4 from 1 us to ~1 s; the last bucket is +Inf. */
const uint64_t eng_htime_le_ns[ENG_HTIME_BUCKETS - 1] = {
        1000,    4000,     16000,    64000,     256000,     1024000,
        4096000, 16384000, 65536000, 262144000, 1048576000,
};

uint64_t
eng_htime_sample(struct eng_stats *st)
{
	if (st->htime_every == 0) {
		st->htime_cd = UINT32_MAX;
		return 0;
	}
	st->htime_cd = st->htime_every;
	return ring_now_ns();
}

void
eng_htime_done(struct eng_stats *st, uint64_t t0)
{
	uint64_t d = ring_now_ns() - t0;
	int i = 0;

	while (i < ENG_HTIME_BUCKETS - 1 && d > eng_htime_le_ns[i])
		i++;
	ENG_STAT_ADD(st->htime[i], 1);
	ENG_STAT_ADD(st->htime_sum_ns, d);
}

/* shard_cpu_ns - the calling thread's CPU time. */
static uint64_t
shard_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
eng_shard_busy_ns(const struct eng_shard *sh)
{
	int tid = atomic_load(&sh->st.tid);
	struct timespec ts;
	clockid_t clk;

	/* The per-thread CPU clock of a thread of this process, as
	 * pthread_getcpuclockid makes it, but by kernel thread ID: safe
	 * when the thread has just ended (EINVAL), unlike a pthread_t. */
	clk = (clockid_t)((~(unsigned)tid << 3) | 6u);
	if (tid != 0 && clock_gettime(clk, &ts) == 0)
		return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return atomic_load(&sh->st.cpu_ns);
}

static void open_drop(struct eng_ovfq *oq);

static void
free_ovf(struct eng_shard *sh, struct eng_ovfq *oq)
{
	struct eng_ovf *o, *next;

	for (o = oq->head; o != NULL; o = next) {
		next = o->next;
		eng_rec_discard(sh->node, o->kind, o->data, o->len);
		ring_free(o, sizeof(*o) + o->cap);
	}
	oq->head = oq->tail = NULL;
	oq->bytes = 0;
}

static void
free_calls(struct eng_shard *sh)
{
	struct eng_call *c, *next;

	for (c = sh->fhead; c != NULL; c = next) {
		next = c->next;
		if (c->sync) {
			c->rc = AEMP_ESTATE;
			sem_post(&c->done);
		} else {
			eng_call_free(c);
		}
	}
	sh->fhead = sh->ftail = NULL;
}

void
eng_shard_free(struct eng_shard *sh)
{
	int i;

	if (sh == NULL)
		return;
	/* Timers first: the heap points into objects freed below.  Guard
	 * objects before the network state, which owns node monitors. */
	ring_timers_fini(&sh->loop.timers);
	eng_objs_free_all(sh);
	eng_seam(sh->node)->shard_free(sh);
	eng_ports_free_all(sh);
	for (i = 0; i < ENG_MAX_SHARDS; i++) {
		open_drop(&sh->ovf[i]);
		free_ovf(sh, &sh->ovf[i]);
	}
	free_calls(sh);
	eng_lanes_free(sh);
	eng_htab_fini(&sh->ports);
	eng_htab_fini(&sh->objs);
	ring_pool_fini(&sh->port64);
	ring_pool_fini(&sh->port96);
	ring_pool_fini(&sh->mons);
	cod_tape_fini(&sh->tape);
	ring_free(sh->scratch, sh->scratch_cap);
	pthread_mutex_destroy(&sh->fmu);
	ring_free_aligned(sh, AEMP_CACHELINE, sizeof(*sh));
}

uint8_t *
eng_scratch(struct eng_shard *sh, size_t n)
{
	uint8_t *p;
	size_t cap = sh->scratch_cap ? sh->scratch_cap : 4096;

	if (n <= sh->scratch_cap)
		return sh->scratch;
	while (cap < n)
		cap *= 2;
	p = ring_realloc(sh->scratch, cap);
	if (p == NULL)
		return NULL;
	sh->scratch = p;
	sh->scratch_cap = cap;
	return p;
}

/* ---- record queues -------------------------------------------------- */

static struct ring_spsc *
queue_get(struct aemp_node *node, int src, int dst)
{
	struct ring_spsc *q, *nq;

	q = atomic_load_explicit(&node->q[src][dst], memory_order_acquire);
	if (AEMP_LIKELY(q != NULL))
		return q;
	/* Created lazily; only the producer (src) creates its queue. */
	if (ring_spsc_new(&nq, node->qcap) < 0)
		return NULL;
	atomic_store_explicit(&node->q[src][dst], nq, memory_order_release);
	return nq;
}

/* Largest total of out-of-line payload a shard keeps towards one other
 * shard before back pressure applies to optional sends. */
#define ENG_BIG_LIMIT (64u << 20)

static void
open_drop(struct eng_ovfq *oq)
{
	if (oq->open_kind == OPEN_OVF) {
		struct eng_ovf *o = oq->open;
		ring_free(o, sizeof(*o) + o->cap);
	} else if (oq->open_kind == OPEN_BIG) {
		struct eng_big *b = oq->open;
		ring_free(b, sizeof(*b) + b->cap);
	}
	oq->open = NULL;
	oq->open_kind = OPEN_NONE;
}

static void *
open_alloc(struct eng_ovfq *oq, uint32_t kind, size_t len, int big)
{
	if (big) {
		struct eng_big *b = ring_alloc(sizeof(*b) + len);
		if (b == NULL)
			return NULL;
		b->kind = kind;
		b->len = b->cap = (uint32_t)len;
		oq->open = b;
		oq->open_kind = OPEN_BIG;
		return b->data;
	} else {
		struct eng_ovf *o = ring_alloc(sizeof(*o) + len);
		if (o == NULL)
			return NULL;
		o->next = NULL;
		o->kind = kind;
		o->len = o->cap = (uint32_t)len;
		oq->open = o;
		oq->open_kind = OPEN_OVF;
		return o->data;
	}
}

void *
eng_rec_reserve(struct eng_shard *sh, int dst, uint32_t kind, size_t len,
                int must)
{
	struct eng_ovfq *oq = &sh->ovf[dst];
	struct ring_spsc *q;
	void *p = NULL;

	q = queue_get(sh->node, sh->idx, dst);
	if (AEMP_UNLIKELY(q == NULL || len > UINT32_MAX))
		return NULL;
	if (oq->open_kind == OPEN_SPSC)
		ring_spsc_abandon(
		        q); /* reserving again: the first is dropped */
	open_drop(oq);
	if (AEMP_UNLIKELY(len > ring_spsc_max_payload(q))) {
		if (!must && oq->big_bytes + len > ENG_BIG_LIMIT)
			return NULL;
		return open_alloc(oq, kind, len, 1);
	}
	if (AEMP_LIKELY(oq->head == NULL))
		p = ring_spsc_reserve(q, kind, len);
	if (AEMP_LIKELY(p != NULL)) {
		oq->open_kind = OPEN_SPSC;
		return p;
	}
	if (!must)
		return NULL;
	return open_alloc(oq, kind, len, 0);
}

static void
ovf_append(struct eng_shard *sh, int dst, struct eng_ovf *o)
{
	struct eng_ovfq *oq = &sh->ovf[dst];

	if (oq->tail != NULL)
		oq->tail->next = o;
	else
		oq->head = o;
	oq->tail = o;
	oq->bytes += o->len;
}

static void
publish_batch(struct eng_shard *sh, int dst, struct ring_spsc *q)
{
	struct eng_ovfq *oq = &sh->ovf[dst];

	sh->dirty |= 1ull << dst;
	if (++oq->unpublished >= ENG_BATCH && dst != sh->idx &&
	    oq->head == NULL) {
		ring_spsc_publish(q);
		oq->unpublished = 0;
		ring_wake(&sh->loop, &sh->node->shards[dst]->loop);
	}
}

void
eng_rec_commit(struct eng_shard *sh, int dst, size_t len)
{
	struct eng_ovfq *oq = &sh->ovf[dst];
	struct ring_spsc *q = atomic_load_explicit(&sh->node->q[sh->idx][dst],
	                                           memory_order_relaxed);
	uint8_t kind = oq->open_kind;
	void *open = oq->open;

	oq->open = NULL;
	oq->open_kind = OPEN_NONE;
	if (AEMP_LIKELY(kind == OPEN_SPSC)) {
		ring_spsc_commit(q, len);
		publish_batch(sh, dst, q);
	} else if (kind == OPEN_OVF) {
		struct eng_ovf *o = open;
		AEMP_ASSERT(len <= o->len);
		o->len = (uint32_t)len;
		ovf_append(sh, dst, o);
		sh->dirty |= 1ull << dst;
	} else {
		struct eng_big *b = open;
		AEMP_ASSERT(kind == OPEN_BIG && len <= b->len);
		b->len = (uint32_t)len;
		oq->big_bytes += len;
		/* The pointer itself must not fail: it may spill. */
		(void)eng_rec_send(sh, dst, REC_BIG, &b, sizeof(b), 1);
	}
}

int
eng_rec_packet(struct eng_shard *sh, int dst, uint32_t kind, const void *hdr,
               size_t hlen, const char *name, size_t namelen,
               const struct cod_seg *segs, size_t nsegs, int must)
{
	size_t cap = 240;
	ssize_t blen;
	uint8_t *r;

	for (;;) {
		r = eng_rec_reserve(sh, dst, kind, hlen + cap, must);
		if (r == NULL)
			return must ? -ENOMEM : -EAGAIN;
		blen = cod_encode_packet(COD_CBOR, r + hlen, cap, name, namelen,
		                         segs, nsegs);
		if (AEMP_UNLIKELY(blen < 0)) {
			struct ring_spsc *q =
			        atomic_load_explicit(&sh->node->q[sh->idx][dst],
			                             memory_order_relaxed);

			if (sh->ovf[dst].open_kind == OPEN_SPSC)
				ring_spsc_abandon(q);
			open_drop(&sh->ovf[dst]);
			return (int)blen;
		}
		if ((size_t)blen <= cap)
			break;
		cap = (size_t)blen;
	}
	if (hlen > 0)
		memcpy(r, hdr, hlen);
	eng_rec_commit(sh, dst, hlen + (size_t)blen);
	return 0;
}

int
eng_rec_send(struct eng_shard *sh, int dst, uint32_t kind, const void *p,
             size_t len, int must)
{
	void *r;

	r = eng_rec_reserve(sh, dst, kind, len, must);
	if (r == NULL)
		return must ? -ENOMEM : -EAGAIN;
	memcpy(r, p, len);
	eng_rec_commit(sh, dst, len);
	return 0;
}

/* ovf_drain - move overflowed records into the queue while they fit. */
static void
ovf_drain(struct eng_shard *sh, int dst, struct ring_spsc *q)
{
	struct eng_ovfq *oq = &sh->ovf[dst];
	struct eng_ovf *o;
	void *p;

	while ((o = oq->head) != NULL) {
		if (o->len > ring_spsc_max_payload(q)) {
			/* Cannot ever fit: a bug in the caller's sizing. */
			eng_log(sh->node, AEMP_LOG_CRIT,
			        "record of %u bytes dropped: above queue limit",
			        o->len);
		} else {
			p = ring_spsc_reserve(q, o->kind, o->len);
			if (p == NULL)
				return;
			memcpy(p, o->data, o->len);
			ring_spsc_commit(q, o->len);
		}
		oq->head = o->next;
		if (oq->head == NULL)
			oq->tail = NULL;
		oq->bytes -= o->len;
		ring_free(o, sizeof(*o) + o->cap);
	}
}

void
eng_shard_flush(struct eng_shard *sh)
{
	uint64_t dirty = sh->dirty, still = 0;
	struct ring_spsc *q;
	int dst;

	while (dirty != 0) {
		dst = __builtin_ctzll(dirty);
		dirty &= dirty - 1;
		q = atomic_load_explicit(&sh->node->q[sh->idx][dst],
		                         memory_order_relaxed);
		if (q == NULL)
			continue;
		if (sh->ovf[dst].head != NULL) {
			ovf_drain(sh, dst, q);
			if (sh->ovf[dst].head != NULL)
				still |= 1ull << dst;
		}
		sh->ovf[dst].unpublished = 0;
		if (ring_spsc_publish(q) && dst != sh->idx)
			ring_wake(&sh->loop, &sh->node->shards[dst]->loop);
	}
	sh->dirty = still;
}

/* ---- draining ------------------------------------------------------- */

static void run_record(struct eng_shard *sh, uint32_t kind, const uint8_t *p,
                       size_t len);

/* run_big - an out-of-line record: run it, then send the buffer back to
 * the shard that allocated it (its src is recorded by the queue we drain:
 * the pointer travels back on the reverse queue). */
static void
run_big(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	struct eng_big *b;

	AEMP_ASSERT(len == sizeof(b));
	memcpy(&b, p, sizeof(b));
	run_record(sh, b->kind, b->data, b->len);
	if (sh->big_src == sh->idx) {
		sh->ovf[sh->idx].big_bytes -= b->len;
		ring_free(b, sizeof(*b) + b->cap);
		return;
	}
	(void)eng_rec_send(sh, sh->big_src, REC_FREE, &b, sizeof(b), 1);
}

static void
run_record(struct eng_shard *sh, uint32_t kind, const uint8_t *p, size_t len)
{
	switch (kind) {
	case REC_MSG:
		eng_msg_record(sh, p, len);
		break;
	case REC_KIL:
	case REC_MONREG:
	case REC_UNMON:
	case REC_FIRE:
	case REC_RCV:
		eng_mon_record(sh, kind, p, len);
		break;
	case REC_CALL: {
		struct eng_call *c;

		memcpy(&c, p, sizeof(c));
		c->fn(sh, c);
		if (c->sync)
			sem_post(&c->done);
		else
			eng_call_free(c);
		break;
	}
	case REC_SPAWN:
		eng_spawn_record(sh, p, len);
		break;
	case REC_BIG:
		run_big(sh, p, len);
		break;
	case REC_FREE: {
		struct eng_big *b;

		memcpy(&b, p, sizeof(b));
		sh->ovf[sh->big_src].big_bytes -= b->len;
		ring_free(b, sizeof(*b) + b->cap);
		break;
	}
	case REC_REMOTE:
	case REC_NODE:
	case REC_NET:
		eng_seam_record(sh, kind, p, len);
		break;
	default:
		eng_log(sh->node, AEMP_LOG_CRIT, "unknown record kind %u",
		        kind);
		break;
	}
}

static unsigned
drain_queue(struct eng_shard *sh, struct ring_spsc *q, int src)
{
	const void *p;
	uint32_t kind;
	size_t len;
	unsigned n = 0;

	sh->big_src = src;
	while (n < ENG_DRAIN_MAX && (p = ring_spsc_front(q, &kind, &len))) {
		run_record(sh, kind, p, len);
		ring_spsc_pop(q);
		n++;
	}
	if (n > 0)
		ring_spsc_release(q);
	return n;
}

static unsigned
drain_foreign(struct eng_shard *sh)
{
	struct eng_call *c, *next;
	unsigned n = 0;

	if (atomic_load_explicit(&sh->fpending, memory_order_acquire) == 0)
		return 0;
	pthread_mutex_lock(&sh->fmu);
	c = sh->fhead;
	sh->fhead = sh->ftail = NULL;
	atomic_store_explicit(&sh->fpending, 0, memory_order_relaxed);
	pthread_mutex_unlock(&sh->fmu);
	for (; c != NULL; c = next) {
		next = c->next;
		c->fn(sh, c);
		if (c->sync)
			sem_post(&c->done);
		else
			eng_call_free(c);
		n++;
	}
	return n;
}

static unsigned
shard_drain(struct eng_shard *sh)
{
	struct aemp_node *node = sh->node;
	struct ring_spsc *q;
	unsigned n = 0;
	int src;

	n += drain_foreign(sh);
	n += eng_lanes_drain(sh);
	for (src = 0; src < node->nshards; src++) {
		q = atomic_load_explicit(&node->q[src][sh->idx],
		                         memory_order_acquire);
		if (q == NULL)
			continue;
		if (src == sh->idx)
			ring_spsc_publish(q); /* own deferrals */
		n += drain_queue(sh, q, src);
	}
	return n;
}

static int
shard_has_input(struct eng_shard *sh)
{
	struct aemp_node *node = sh->node;
	struct ring_spsc *q;
	int src;

	if (atomic_load(&sh->fpending) != 0 || atomic_load(&node->stop) ||
	    eng_lanes_pending(sh))
		return 1;
	for (src = 0; src < node->nshards; src++) {
		q = atomic_load_explicit(&node->q[src][sh->idx],
		                         memory_order_acquire);
		if (q != NULL && !ring_spsc_empty(q))
			return 1;
	}
	return sh->dirty != 0 || eng_seam(node)->has_work(sh);
}

/* A spinning shard yields its CPU every SHARD_YIELD_EVERY idle polls
 * (rule zero: a system call, but on the idle path only).  Without it, on a
 * machine with more runnable threads than cores, a spinner burns its
 * whole time slice while the thread it waits for sits in the run queue:
 * docs/perf.md measured ms medians.  Power of two. */
#define SHARD_YIELD_EVERY 16u

/* Low-latency mode: an idle shard keeps polling (never sleeping) until
 * busy_poll_us after its last piece of work.  Never with the key at 0. */
static inline int
shard_spins(const struct eng_shard *sh)
{
	return sh->spin_ns != 0 && sh->loop.now_ns < sh->spin_until_ns;
}

/* Nothing to do: sleep in the kernel, unless an inbound queue filled up
 * between the drain and the sleeping flag (see ring/loop.h). */
static int
shard_idle(struct eng_shard *sh)
{
	if (shard_spins(sh)) {
		/* Spinning: `sleeping` stays 0, so producers skip the wake-up
		 * and we see their records on the next drain. */
		ring_cpu_relax();
		if (AEMP_UNLIKELY(++sh->spin_idle % SHARD_YIELD_EVERY == 0))
			sched_yield();
		return ring_loop_run(&sh->loop, 0);
	}
	ring_loop_sleep_prepare(&sh->loop);
	if (shard_has_input(sh)) {
		ring_loop_sleep_cancel(&sh->loop);
		return ring_loop_run(&sh->loop, 0);
	}
	return ring_loop_run(&sh->loop, 1);
}

/* Pages of freed large blocks go back to the system this long after the
 * last one was freed (ring/alloc_je.c keeps them while they flow). */
#define SHARD_BIG_PURGE_NS 2000000000ull

static void
big_purge(struct ring_timer *t)
{
	(void)t;
	ring_alloc_big_purge();
}

static void
shard_turn(struct eng_shard *sh)
{
	unsigned long big = ring_alloc_big_frees();
	unsigned work;
	int rc;

	if (AEMP_UNLIKELY(big != sh->big_seen)) {
		sh->big_seen = big;
		ring_timer_start(&sh->loop.timers, &sh->big_timer,
		                 sh->loop.now_ns + SHARD_BIG_PURGE_NS);
	}
	work = shard_drain(sh);
	eng_shard_flush(sh);
	work += eng_seam(sh->node)->flush(sh);
	if (work == 0 && sh->dirty == 0)
		rc = shard_idle(sh);
	else
		rc = ring_loop_run(&sh->loop, 0);
	if (AEMP_UNLIKELY(rc < 0))
		eng_log(sh->node, AEMP_LOG_CRIT, "shard %d: io_uring: %s",
		        sh->idx, aemp_strerror(rc));
	else if (sh->spin_ns != 0 && work + (unsigned)rc != 0)
		sh->spin_until_ns = sh->loop.now_ns + sh->spin_ns;
	eng_seam(sh->node)->reap(sh);
}

/* shard_close - refuse further posts and answer the ones left over. */
static void
shard_close(struct eng_shard *sh)
{
	pthread_mutex_lock(&sh->fmu);
	sh->closed = 1;
	pthread_mutex_unlock(&sh->fmu);
	free_calls(sh);
	eng_lanes_close(sh);
}

static void
shard_started(struct eng_shard *sh, int rc)
{
	struct aemp_node *node = sh->node;

	pthread_mutex_lock(&node->smu);
	if (rc < 0 && node->start_err == 0)
		node->start_err = rc;
	atomic_fetch_add(&node->started_shards, 1);
	pthread_cond_broadcast(&node->scond);
	pthread_mutex_unlock(&node->smu);
}

/* Bytes of a CPU set big enough for ENG_CPU_LIMIT CPUs. */
#define SHARD_CPUSET_BYTES CPU_ALLOC_SIZE(ENG_CPU_LIMIT)

int
eng_shard_cpus_check(const struct eng_config *cfg)
{
	cpu_set_t *set;
	long online = sysconf(_SC_NPROCESSORS_CONF);
	int i, bad = -1;

	if (cfg->ncpus == 0)
		return 0;
	set = CPU_ALLOC(ENG_CPU_LIMIT);
	if (set == NULL)
		return -ENOMEM;
	CPU_ZERO_S(SHARD_CPUSET_BYTES, set);
	if (sched_getaffinity(0, SHARD_CPUSET_BYTES, set) < 0)
		CPU_ZERO_S(SHARD_CPUSET_BYTES, set);
	for (i = 0; i < cfg->ncpus && bad < 0; i++)
		if (!CPU_ISSET_S(cfg->cpus[i], SHARD_CPUSET_BYTES, set))
			bad = cfg->cpus[i];
	CPU_FREE(set);
	if (bad < 0)
		return 0;
	if (online > 0 && bad >= online)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "cpus: CPU %d does not exist (this machine "
		                    "has CPUs 0..%ld)",
		                    bad, online - 1);
	return AEMP_SET_ERR(AEMP_ECONFIG,
	                    "cpus: CPU %d is offline or not in this "
	                    "process's affinity mask (see taskset, cgroup "
	                    "cpusets)",
	                    bad);
}

/* shard_pin - run this thread on the shard's CPU of `cpus`, if any. */
static int
shard_pin(struct eng_shard *sh)
{
	const struct eng_config *cfg = &sh->node->cfg;
	cpu_set_t *set;
	int rc;

	if (sh->idx >= cfg->ncpus)
		return 0;
	set = CPU_ALLOC(ENG_CPU_LIMIT);
	if (set == NULL)
		return -ENOMEM;
	CPU_ZERO_S(SHARD_CPUSET_BYTES, set);
	CPU_SET_S(cfg->cpus[sh->idx], SHARD_CPUSET_BYTES, set);
	rc = -pthread_setaffinity_np(pthread_self(), SHARD_CPUSET_BYTES, set);
	CPU_FREE(set);
	if (rc < 0)
		eng_log(sh->node, AEMP_LOG_CRIT,
		        "shard %d: cannot pin to CPU %d: %s", sh->idx,
		        cfg->cpus[sh->idx], strerror(-rc));
	return rc;
}

void *
eng_shard_main(void *arg)
{
	struct eng_shard *sh = arg;
	struct aemp_node *node = sh->node;
	struct ring_timers saved;
	int rc;

	eng_cur = sh;
	/* Timers armed before start (aemp_after from the creating thread)
	 * must survive ring_loop_init, which sets up a fresh timer heap. */
	saved = sh->loop.timers;
	rc = shard_pin(sh); /* first: the ring's memory then is local */
	if (rc == 0) {
		rc = ring_loop_init(&sh->loop, 1024);
		ring_timers_fini(&sh->loop.timers);
	}
	sh->loop.timers = saved;
	sh->spin_ns = (uint64_t)node->cfg.busy_poll_us * 1000u;
	ring_timer_init(&sh->big_timer, big_purge);
	sh->big_seen = ring_alloc_big_frees();
	if (rc == 0)
		rc = eng_seam(node)->shard_start(sh);
	shard_started(sh, rc);
	if (rc < 0) {
		shard_close(sh);
		return NULL;
	}
	sh->running = 1;
	atomic_store(&sh->st.tid, (int)gettid()); /* busy time: metrics */
	while (!atomic_load_explicit(&node->stop, memory_order_acquire))
		shard_turn(sh);
	eng_seam(node)->shard_stop(sh);
	/* Last drain so sync foreign calls are answered, then leave. */
	shard_drain(sh);
	eng_shard_flush(sh);
	shard_close(sh);
	ring_timer_stop(&sh->loop.timers, &sh->big_timer);
	sh->running = 0;
	atomic_store(&sh->st.cpu_ns, shard_cpu_ns());
	atomic_store(&sh->st.tid, 0);
	/* Keep the timer heap for eng_shard_free (objects own the timers). */
	saved = sh->loop.timers;
	ring_timers_init(&sh->loop.timers);
	ring_loop_fini(&sh->loop);
	sh->loop.timers = saved;
	eng_cur = NULL;
	return NULL;
}

/* ---- foreign calls -------------------------------------------------- */

int
eng_post_try(struct eng_shard *sh, int idx, struct eng_call *c)
{
	int rc;

	AEMP_ASSERT(!c->sync);
	rc = eng_rec_send(sh, idx, REC_CALL, &c, sizeof(c), 0);
	if (rc < 0)
		eng_call_free(c);
	return rc;
}

struct eng_call *
eng_call_new(void (*fn)(struct eng_shard *, struct eng_call *), int sync)
{
	struct eng_call *c;

	c = ring_zalloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	c->fn = fn;
	c->sync = sync;
	if (sync)
		sem_init(&c->done, 0, 0);
	return c;
}

void
eng_call_free(struct eng_call *c)
{
	int i;

	if (c == NULL)
		return;
	if (c->sync)
		sem_destroy(&c->done);
	aemp_val_free(c->msg);
	for (i = 0; i < 3; i++)
		eng_strfree(c->s[i]);
	ring_free(c, sizeof(*c));
}

static int
run_inline(struct aemp_node *node, int idx, struct eng_call *c)
{
	struct eng_shard *prev = eng_cur;
	int rc;

	eng_cur = node->shards[idx];
	c->fn(node->shards[idx], c);
	eng_cur = prev;
	rc = c->rc;
	if (!c->sync)
		eng_call_free(c);
	return rc;
}

int
eng_post(struct aemp_node *node, int idx, struct eng_call *c)
{
	struct eng_shard *sh = node->shards[idx];
	int st = atomic_load(&node->state), rc, sync = c->sync;

	if (st == NODE_CREATED)
		return run_inline(node, idx, c);
	if (st != NODE_RUNNING) {
		rc = AEMP_ESTATE;
		if (!c->sync)
			eng_call_free(c);
		return rc;
	}
	if (eng_here(node) == NULL)
		return eng_lane_call(node, idx, c);
	pthread_mutex_lock(&sh->fmu);
	if (sh->closed) {
		pthread_mutex_unlock(&sh->fmu);
		if (!c->sync)
			eng_call_free(c);
		return AEMP_ESTATE;
	}
	if (sh->ftail != NULL)
		sh->ftail->next = c;
	else
		sh->fhead = c;
	sh->ftail = c;
	atomic_store_explicit(&sh->fpending, 1, memory_order_release);
	pthread_mutex_unlock(&sh->fmu);
	ring_wake_foreign(&sh->loop);
	if (!sync)
		return 0; /* c may already be freed by the shard */
	while (sem_wait(&c->done) < 0 && errno == EINTR)
		;
	return c->rc;
}
