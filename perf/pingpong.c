/*
 * perf/pingpong.c - the "pingpong" scenario: round-trip latency between
 * two node processes over loopback (or to a node started elsewhere).
 * One message is in flight per pinger (--senders N runs N of them); the
 * figures come from a histogram of every measured round trip, and the
 * median is compared with the raw TCP ping-pong of the same size.
 *
 * With --connect and no --port, the pings go to the remote node port as
 * ["snd", REPLYPORT, ...], which every AEMP node relays back.
 *
 * Threads: main thread; the pingers run on this node's shards.
 */
#include <stdio.h>

#include "perf/perf.h"

static int
pingpong_one(const struct perf_opts *o, struct perf_duo *d, const char *framing,
             size_t size)
{
	struct perf_flow f;
	struct perf_task *t[PERF_SENDERS_MAX];
	struct perf_result r;
	double raw = perf_raw_rtt(o, size);
	char label[64];
	int i, rc = 0;

	perf_result_init(&r, "pingpong", size, framing);
	snprintf(r.variant, sizeof(r.variant), "%d pinger%s%s", o->senders,
	         o->senders == 1 ? "" : "s", o->tls ? " tls" : "");
	r.tls = o->tls;
	for (i = 0; i < o->senders && rc == 0; i++) {
		perf_flow_init(&f, o, size, i % o->shards,
		               d->targets[i % d->ntargets].s);
		f.peers = d->pids;
		f.npeers = d->npids;
		rc = perf_pinger_start(d->node, &f, &t[i]);
	}
	if (rc < 0)
		return perf_err(PERF_EFAIL, "pingpong: cannot start: %s",
		                aemp_strerror(rc));
	snprintf(label, sizeof(label), "pingpong %zu B %s", size, framing);
	rc = perf_tasks_run(o, label, t, i, &r);
	if (rc != 0)
		return rc;
	if (raw > 0 && r.has_rtt)
		r.ratio = r.rtt_us[RTT_P50] / raw;
	r.cpu_partial = d->cpu_partial;
	snprintf(r.transport, sizeof(r.transport), "%s", d->transport);
	perf_report(o, &r);
	return 0;
}

int
perf_pingpong(const struct perf_opts *o)
{
	struct perf_duo d;
	int fi, si, rc = 0;

	for (fi = 0; fi < o->nframings && rc == 0; fi++) {
		rc = perf_duo_start(&d, o, o->framings[fi]);
		for (si = 0; si < o->nsizes && rc == 0; si++)
			rc = pingpong_one(o, &d, o->framings[fi], o->sizes[si]);
		perf_duo_stop(&d);
	}
	return rc;
}
