/*
 * perf/pair.c - the "pair" scenario: one-way throughput between two node
 * processes over loopback (or to a node started elsewhere, --connect).
 * --senders N sending ports spread over this node's shards send to the
 * peer's perf ports (one per shard, round robin).  Each result is
 * compared with the raw TCP stream of the same size.
 *
 * Threads: main thread; the senders run on this node's shards.
 */
#include <stdio.h>
#include <string.h>

#include "perf/perf.h"

static int
pair_one(const struct perf_opts *o, struct perf_duo *d, const char *framing,
         size_t size)
{
	struct perf_flow f;
	struct perf_task *t[PERF_SENDERS_MAX];
	struct perf_result r;
	double raw = perf_raw_tput(o, size);
	char label[64];
	int i, rc = 0;

	perf_result_init(&r, "pair", size, framing);
	snprintf(r.variant, sizeof(r.variant), "%d sender%s%s", o->senders,
	         o->senders == 1 ? "" : "s", o->tls ? " tls" : "");
	r.tls = o->tls;
	for (i = 0; i < o->senders && rc == 0; i++) {
		perf_flow_init(&f, o, size, i % o->shards,
		               d->targets[i % d->ntargets].s);
		f.peers = d->pids;
		f.npeers = d->npids;
		rc = perf_sender_start(d->node, &f, &t[i]);
	}
	if (rc < 0)
		return perf_err(PERF_EFAIL, "pair: cannot start senders: %s",
		                aemp_strerror(rc));
	snprintf(label, sizeof(label), "pair %zu B %s", size, framing);
	rc = perf_tasks_run(o, label, t, i, &r);
	if (rc != 0)
		return rc;
	if (raw > 0 && r.secs > 0)
		r.ratio = (double)r.msgs / r.secs / raw;
	r.cpu_partial = d->cpu_partial;
	snprintf(r.transport, sizeof(r.transport), "%s", d->transport);
	perf_report(o, &r);
	return 0;
}

int
perf_pair(const struct perf_opts *o)
{
	struct perf_duo d;
	int fi, si, rc = 0;

	for (fi = 0; fi < o->nframings && rc == 0; fi++) {
		rc = perf_duo_start(&d, o, o->framings[fi]);
		for (si = 0; si < o->nsizes && rc == 0; si++)
			rc = pair_one(o, &d, o->framings[fi], o->sizes[si]);
		perf_duo_stop(&d);
	}
	return rc;
}
