/*
 * perf/duo.c - the two-node scenarios, between this node and a peer node
 * process over loopback (or a node started elsewhere, --connect):
 *
 *   pair      one-way throughput: --senders N sending ports spread over
 *             this node's shards send to the peer's perf ports (one per
 *             shard, round robin); compared with the raw TCP stream of the
 *             same size.
 *   pingpong  round-trip latency: one message in flight per pinger
 *             (--senders N runs N of them); the figures come from a
 *             histogram of every measured round trip, and the median is
 *             compared with the raw TCP ping-pong of the same size.  With
 *             --connect and no --port, the pings go to the remote node port
 *             as ["snd", REPLYPORT, ...], which every AEMP node relays back.
 *
 * Both run a result per framing and size, with one node pair per framing.
 * pair --many N runs each result a second time with the senders sending
 * through aemp_snd_many, N messages per call.  pair compares with the
 * ZeroMQ PUSH/PULL baseline too (perf/zmq.c, "xzmq").
 * pair --foreign runs each result a second time with the senders sending
 * from application threads of their own (aemp_snd_ref_wait), not from
 * the shard, reported next to the shard-thread result.
 * With --busy-poll US both nodes spin (busy_poll_us) and the raw baseline
 * is measured twice, blocking and spinning; "x raw" is then the ratio to
 * the spinning one and "x blk" the ratio to the blocking one.
 *
 * Threads: main thread; the senders and pingers run on this node's shards.
 */
#include <stdio.h>
#include <string.h>

#include "perf/perf.h"

/* What distinguishes the two scenarios. */
struct duo_kind {
	const char *scenario;
	const char *task; /* what one --senders task is called */
	int (*start)(aemp_node *node, const struct perf_flow *f,
	             struct perf_task **out);
	double (*raw)(const struct perf_opts *o, size_t size, int spin);
	int by_rtt; /* ratio of median round trips, else of msgs/s */
};

static const struct duo_kind pair_kind = {"pair", "sender", perf_sender_start,
                                          perf_raw_tput, 0};
static const struct duo_kind pingpong_kind = {
        "pingpong", "pinger", perf_pinger_start, perf_raw_rtt, 1};

/* r's ratio to a raw baseline value (< 0: none). */
static double
duo_ratio(const struct duo_kind *k, const struct perf_result *r, double raw)
{
	if (k->by_rtt && raw > 0 && r->has_rtt)
		return r->rtt_us[RTT_P50] / raw;
	if (!k->by_rtt && raw > 0 && r->secs > 0)
		return (double)r->msgs / r->secs / raw;
	return -1;
}

/* duo_result - one result into r; foreign: the senders send from
 * application threads (pair --foreign); many: with aemp_snd_many calls of
 * o->many messages (pair --many). */
static int
duo_result(const struct perf_opts *o, const struct duo_kind *k,
           struct perf_duo *d, const char *framing, size_t size, int foreign,
           int many, struct perf_result *r)
{
	struct perf_flow f;
	struct perf_task *t[PERF_SENDERS_MAX];
	int spin = o->busy_poll_us > 0;
	/* With --busy-poll: the blocking baseline, then the spinning one. */
	double block = spin ? k->raw(o, size, 0) : -1;
	double raw = k->raw(o, size, spin);
	/* ZeroMQ: for pair and the default run (not tls's comparison) */
	int want_zmq = !k->by_rtt && (strcmp(o->scenario, "pair") == 0 ||
	                              strcmp(o->scenario, "default") == 0);
	double zmq = want_zmq ? perf_zmq_tput(o, size) : -1;
	char label[96], manys[16] = "";
	int i, rc = 0;

	perf_result_init(r, k->scenario, size, framing);
	if (many)
		snprintf(manys, sizeof(manys), " many%d", o->many);
	snprintf(r->variant, sizeof(r->variant), "%d %s%s%s%s%s", o->senders,
	         o->cal ? "cal" : k->task, o->senders == 1 || o->cal ? "" : "s",
	         o->tls ? " tls" : "", spin ? " spin" : "",
	         foreign ? " foreign" : "");
	/* --many and --foreign exclude each other: this fits */
	strncat(r->variant, manys, sizeof(r->variant) - strlen(r->variant) - 1);
	r->tls = o->tls;
	for (i = 0; i < o->senders && rc == 0; i++) {
		perf_flow_init(&f, o, size, i % o->shards,
		               d->targets[i % d->ntargets].s);
		f.peers = d->pids;
		f.npeers = d->npids;
		f.foreign = foreign;
		f.many = many ? o->many : 0;
		rc = k->start(d->node, &f, &t[i]);
	}
	if (rc < 0)
		return perf_err(PERF_EFAIL, "%s: cannot start %ss: %s",
		                k->scenario, k->task, aemp_strerror(rc));
	snprintf(label, sizeof(label), "%s %zu B %s%s%s%s", k->scenario, size,
	         framing, o->tls ? " tls" : "", foreign ? " foreign" : "",
	         manys);
	rc = perf_tasks_run(o, label, t, i, r);
	if (rc != 0)
		return rc;
	r->ratio = duo_ratio(k, r, raw);
	r->ratio_block = duo_ratio(k, r, block);
	r->ratio_zmq = duo_ratio(k, r, zmq);
	r->cpu_partial = d->cpu_partial;
	snprintf(r->transport, sizeof(r->transport), "%s", d->transport);
	return 0;
}

int
perf_duo_result(const struct perf_opts *o, int pingpong, struct perf_duo *d,
                const char *framing, size_t size, struct perf_result *r)
{
	return duo_result(o, pingpong ? &pingpong_kind : &pair_kind, d, framing,
	                  size, 0, 0, r);
}

static int
duo_one(const struct perf_opts *o, const struct duo_kind *k, struct perf_duo *d,
        const char *framing, size_t size, int foreign, int many)
{
	struct perf_result r;
	int rc = duo_result(o, k, d, framing, size, foreign, many, &r);

	if (rc == 0)
		perf_report(o, &r);
	return rc;
}

static int
duo_run(const struct perf_opts *o, const struct duo_kind *k)
{
	struct perf_duo d;
	int fi, si, rc = 0;

	for (fi = 0; fi < o->nframings && rc == 0; fi++) {
		rc = perf_duo_start(&d, o, o->framings[fi]);
		for (si = 0; si < o->nsizes && rc == 0; si++) {
			rc = duo_one(o, k, &d, o->framings[fi], o->sizes[si], 0,
			             0);
			if (rc == 0 && o->foreign)
				rc = duo_one(o, k, &d, o->framings[fi],
				             o->sizes[si], 1, 0);
			if (rc == 0 && o->many > 0 && !k->by_rtt)
				rc = duo_one(o, k, &d, o->framings[fi],
				             o->sizes[si], 0, 1);
		}
		perf_duo_stop(&d);
	}
	return rc;
}

int
perf_pair(const struct perf_opts *o)
{
	return duo_run(o, &pair_kind);
}

int
perf_pingpong(const struct perf_opts *o)
{
	return duo_run(o, &pingpong_kind);
}
