/*
 * perf/pinger.c - round-trip latency: a pinger is a port on one shard
 * that keeps exactly one message in flight.  It sends [SELF, SID, SEQ,
 * PAYLOAD] to an echo target (a perf port; or ["snd", SELF, SID, SEQ,
 * PAYLOAD] to a node port, which any AEMP node relays back) and, when
 * [SID, SEQ, PAYLOAD] comes back, records the time since the send and
 * sends the next one from inside the handler.
 *
 * With --cal each round trip is an aemp_cal of ["cal", SID, SEQ, PAYLOAD]
 * (the engine appends a fresh reply port per call; 30 s timeout, as Perl's
 * cal) and the reply [SID, SEQ, PAYLOAD] arrives in the cal callback.
 *
 * Warm-up round trips are not recorded.  A reply with another sequence
 * number than the one in flight counts as a gap (a later number) or a
 * reorder (an earlier one).
 *
 * Threads: as perf/sender.c: the shard owns the pinger once started; the
 * main thread reads its perf_task, and the histogram after PH_DONE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf.h"

struct perf_pinger {
	struct perf_task t; /* first: the main thread's view */
	aemp_node *node;
	struct perf_flow f;
	const char *payload;
	aemp_ref dst;
	int has_dst;
	aemp_id self;
	aemp_val msg[5];
	size_t nmsg;
	size_t seq_at;
	uint64_t seq; /* sequence number in flight */
	uint64_t base;
	int64_t sent_at;
	int64_t deadline;
};

static void ping(aemp_node *node, void *arg);
static void pinger_reply(aemp_node *node, int status, const aemp_val *reply,
                         size_t n, void *arg);

static void
ping_later(struct perf_pinger *p)
{
	int rc = aemp_after(p->node, 0, ping, p, NULL);

	if (rc < 0)
		perf_task_fail(&p->t, rc, "aemp_after");
}

static void
ping(aemp_node *node, void *arg)
{
	struct perf_pinger *p = arg;
	int rc;

	p->msg[p->seq_at] = aemp_int((int64_t)p->seq);
	p->sent_at = perf_now_ns();
	if (p->f.cal)
		rc = aemp_cal(node, p->f.target, p->msg, p->nmsg, pinger_reply,
		              p, 30.0, NULL);
	else
		rc = aemp_snd_ref(node, p->dst, p->msg, p->nmsg);
	if (rc == -EAGAIN)
		ping_later(p);
	else if (rc < 0)
		perf_task_fail(&p->t, rc, "send");
}

static void
check_seq(struct perf_pinger *p, const aemp_val *msg, size_t n)
{
	int64_t sid = -1, seq = -1;

	if (n < 3 || aemp_get_int(&msg[0], &sid) < 0 ||
	    aemp_get_int(&msg[1], &seq) < 0 || sid != p->f.sid ||
	    msg[2].type != AEMP_STR || msg[2].len != p->f.size) {
		p->t.gaps++;
		return;
	}
	if (seq > (int64_t)p->seq)
		p->t.gaps += seq - (int64_t)p->seq;
	else if (seq < (int64_t)p->seq)
		p->t.reorders++;
}

/* next_phase - after a round trip: returns 0 to go on, 1 when done. */
static int
next_phase(struct perf_pinger *p, int ph, int64_t now)
{
	if (ph == PH_WARM && now >= p->deadline) {
		perf_task_mark(&p->t, 0);
		p->t.t0 = now;
		p->base = p->seq;
		p->deadline = now + (int64_t)(p->f.seconds * 1e9);
		perf_task_set(&p->t, PH_RUN);
	} else if (ph == PH_RUN) {
		atomic_store_explicit(&p->t.measured, p->seq - p->base,
		                      memory_order_relaxed);
		if (p->f.count ? p->seq - p->base >= p->f.count
		               : now >= p->deadline) {
			p->t.t1 = now;
			perf_task_mark(&p->t, 1);
			perf_task_set(&p->t, PH_DONE);
			return 1;
		}
	}
	return 0;
}

static int
pinger_rcv(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	struct perf_pinger *p = arg;
	int ph = atomic_load_explicit(&p->t.phase, memory_order_relaxed);
	int64_t now = perf_now_ns();

	if (ph != PH_WARM && ph != PH_RUN)
		return 0;
	check_seq(p, msg, n);
	if (ph == PH_RUN)
		perf_hist_add(p->t.hist, now - p->sent_at);
	p->seq++;
	if (next_phase(p, ph, now) == 0)
		ping(node, p);
	return 0;
}

static void
pinger_reply(aemp_node *node, int status, const aemp_val *reply, size_t n,
             void *arg)
{
	struct perf_pinger *p = arg;

	if (status != 0) {
		perf_task_fail(&p->t, status, "cal");
		return;
	}
	(void)pinger_rcv(node, reply, n, p);
}

/* build_msg - the ping, once the pinger's own port ID is known. */
static void
build_msg(struct perf_pinger *p)
{
	size_t i = 0;

	if (p->f.cal) {
		p->msg[i++] = aemp_str("cal");
	} else {
		if (perf_is_node_port(p->f.target))
			p->msg[i++] = aemp_str("snd");
		p->msg[i++] = aemp_str(p->self.s);
	}
	p->msg[i++] = aemp_int(p->f.sid);
	p->seq_at = i;
	p->msg[i++] = aemp_int(0);
	p->msg[i++] = aemp_strn(p->payload, p->f.size);
	p->nmsg = i;
}

static int
pinger_begin(aemp_node *node, void *arg)
{
	struct perf_pinger *p = arg;
	int rc;

	rc = aemp_port(node, pinger_rcv, p, &p->self);
	if (rc == 0)
		rc = aemp_ref_new(node, p->f.target, &p->dst);
	if (rc < 0)
		return rc;
	p->has_dst = 1;
	build_msg(p);
	p->deadline = perf_now_ns() + (int64_t)(p->f.warmup_s * 1e9);
	perf_task_set(&p->t, PH_WARM);
	ping(node, p);
	return 0;
}

static void
pinger_free(aemp_node *node, struct perf_task *t)
{
	struct perf_pinger *p = (struct perf_pinger *)t;

	if (p->has_dst)
		aemp_ref_free(node, p->dst);
	perf_hist_free(p->t.hist);
	free(p);
}

int
perf_pinger_start(aemp_node *node, const struct perf_flow *f,
                  struct perf_task **out)
{
	struct perf_pinger *p;
	const char *payload = perf_payload(f->size);
	int rc;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL || payload == NULL) {
		free(p);
		return -ENOMEM;
	}
	p->t.hist = perf_hist_new();
	if (p->t.hist == NULL) {
		free(p);
		return -ENOMEM;
	}
	p->node = node;
	p->t.node = node;
	p->t.peers = f->peers;
	p->t.npeers = f->npeers;
	p->f = *f;
	p->payload = payload;
	p->t.free_fn = pinger_free;
	perf_task_keep(&p->t);
	*out = &p->t;
	rc = perf_on_shard(node, f->shard, pinger_begin, p);
	if (rc < 0)
		perf_task_fail(&p->t, rc, "cannot start pinger");
	return 0;
}
