/*
 * perf/bulk.c - the bulk scenario: do large messages hold up small ones?
 * (docs/perf.md, "Large messages beside small ones").
 *
 * Between this node and a peer node process (two perf ports, one per
 * shard, --shards 2 by default), per framing, with fragments off
 * (fragment_size 0 on both nodes) and on (--fragment-size, default
 * 65536):
 *   1. idle: a pinger (one 64-byte round trip at a time) to perf port 1;
 *   2. loaded: the same pinger while a bulk stream sends --size bytes
 *      (4 MiB) messages to perf port 0 over the same connection.
 * The bulk stream keeps BULK_WINDOW messages in flight: each data
 * message is followed by a sync, and each sync's reply releases the next
 * message.  So it never fills max_queue (which would make every sender
 * to the peer wait, the pinger too), and it runs at what the connection
 * carries.  Reported: ping p50/p99/max idle and under load, the bulk
 * rate (MB/s) over the loaded pinger's run, and the ratios p99 loaded /
 * idle and bulk rate on / off.
 *
 * Threads: main thread; the bulk stream and the pinger run on shard 0 of
 * this node (the bulk stream's port handler sends the next message).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf.h"

#define BULK_WINDOW 4
#define PING_SIZE 64

struct bulk {
	aemp_node *node;
	aemp_id self;
	char target[AEMP_ID_MAX];
	size_t size;
	int64_t sid;
	uint64_t seq;
	atomic_int quit;
	atomic_int failed;
	_Atomic uint64_t acked; /* messages the peer has confirmed */
};

static int
bulk_send_one(struct bulk *b)
{
	const char *payload = perf_payload(b->size);
	int rc;

	rc = aemp_snd(b->node, b->target,
	              AEMP_MSG(aemp_int(b->sid), aemp_int((int64_t)b->seq),
	                       aemp_bytes(payload, b->size)));
	if (rc == 0)
		rc = aemp_snd(b->node, b->target,
		              AEMP_MSG(aemp_str("sync"), aemp_int(b->sid),
		                       aemp_int((int64_t)b->seq + 1),
		                       aemp_str(b->self.s)));
	if (rc == 0)
		b->seq++;
	else
		atomic_store(&b->failed, rc);
	return rc;
}

/* ["synced", SID, RECEIVED, GAPS, REORDERS]: one more message arrived. */
static int
bulk_reply(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	struct bulk *b = arg;

	(void)n;
	(void)msg;
	(void)cnt;
	atomic_fetch_add(&b->acked, 1);
	if (!atomic_load(&b->quit) && atomic_load(&b->failed) == 0)
		bulk_send_one(b);
	return 0;
}

static int
bulk_start_on_shard(aemp_node *n, void *arg)
{
	struct bulk *b = arg;
	int i, rc;

	rc = aemp_port(n, bulk_reply, b, &b->self);
	for (i = 0; i < BULK_WINDOW && rc == 0; i++)
		rc = bulk_send_one(b);
	return rc;
}

static int
bulk_stop_on_shard(aemp_node *n, void *arg)
{
	struct bulk *b = arg;

	atomic_store(&b->quit, 1);
	return aemp_kil(n, b->self.s, NULL, 0);
}

/* One pinger run of o->seconds to target into r. */
static int
ping_run(const struct perf_opts *o, struct perf_duo *d, const char *framing,
         const char *target, const char *label, struct perf_result *r)
{
	struct perf_task *t;
	struct perf_flow f;
	int rc;

	perf_result_init(r, "bulk", PING_SIZE, framing);
	perf_flow_init(&f, o, PING_SIZE, 0, target);
	f.peers = d->pids;
	f.npeers = d->npids;
	if ((rc = perf_pinger_start(d->node, &f, &t)) < 0)
		return perf_err(PERF_EFAIL, "bulk: cannot start a pinger: %s",
		                aemp_strerror(rc));
	return perf_tasks_run(o, label, &t, 1, r);
}

struct bulk_figs {
	double idle[5], load[5]; /* round trips, us */
	double mbps;             /* bulk rate, MB/s */
};

static int
bulk_mode(const struct perf_opts *o, const char *framing, const char *frag,
          struct bulk_figs *fg)
{
	struct perf_opts oo = *o;
	struct perf_result r;
	struct perf_duo d;
	struct bulk *b;
	int64_t t0, t1;
	uint64_t a0, a1;
	char label[96];
	int rc;

	oo.fragment_size = frag;
	if ((rc = perf_duo_start(&d, &oo, framing)) != 0)
		return rc;
	if (d.ntargets < 2) {
		perf_duo_stop(&d);
		return perf_err(PERF_EFAIL, "bulk: the peer needs 2 perf ports "
		                            "(--shards 2 or more)");
	}
	snprintf(label, sizeof(label), "bulk %s frag %s: idle ping", framing,
	         frag);
	rc = ping_run(&oo, &d, framing, d.targets[1].s, label, &r);
	if (rc == 0) {
		memcpy(fg->idle, r.rtt_us, sizeof(fg->idle));
		snprintf(r.variant, sizeof(r.variant), "ping idle frag %s",
		         frag);
		perf_report(&oo, &r);
	}
	b = calloc(1, sizeof(*b));
	if (rc == 0 && b == NULL)
		rc = perf_err(PERF_EFAIL, "bulk: out of memory");
	if (rc == 0) {
		b->node = d.node;
		b->size = o->sizes[0];
		b->sid = perf_sid_next();
		snprintf(b->target, sizeof(b->target), "%s", d.targets[0].s);
		rc = perf_on_shard(d.node, 0, bulk_start_on_shard, b);
		if (rc < 0)
			rc = perf_err(PERF_EFAIL, "bulk: cannot start: %s",
			              aemp_strerror(rc));
	}
	if (rc == 0) {
		perf_sleep_ms((int)(oo.warmup * 1000));
		t0 = perf_now_ns();
		a0 = atomic_load(&b->acked);
		snprintf(label, sizeof(label),
		         "bulk %s frag %s: ping beside %zu B messages", framing,
		         frag, b->size);
		rc = ping_run(&oo, &d, framing, d.targets[1].s, label, &r);
		t1 = perf_now_ns();
		a1 = atomic_load(&b->acked);
		if (atomic_load(&b->failed) != 0)
			rc = perf_err(PERF_EFAIL, "bulk: sending failed: %s",
			              aemp_strerror(atomic_load(&b->failed)));
	}
	if (rc == 0) {
		memcpy(fg->load, r.rtt_us, sizeof(fg->load));
		snprintf(r.variant, sizeof(r.variant), "ping+bulk frag %s",
		         frag);
		perf_report(&oo, &r);
		fg->mbps = (double)(a1 - a0) * (double)b->size /
		           ((double)(t1 - t0) / 1e9) / 1e6;
	}
	if (b != NULL && b->self.s[0] != '\0')
		(void)perf_on_shard(d.node, 0, bulk_stop_on_shard, b);
	perf_duo_stop(&d); /* its node's handlers are gone after this */
	free(b);
	return rc;
}

int
perf_bulk(const struct perf_opts *o)
{
	const char *on = o->fragment_size != NULL ? o->fragment_size : "65536";
	struct bulk_figs off, fon;
	int fi, rc = 0;

	if (strcmp(on, "0") == 0)
		return perf_err(PERF_EUSAGE, "bulk: --fragment-size is the "
		                             "\"on\" size, not 0");
	for (fi = 0; fi < o->nframings && rc == 0; fi++) {
		const char *fr = o->framings[fi];

		rc = bulk_mode(o, fr, "0", &off);
		if (rc == 0)
			rc = bulk_mode(o, fr, on, &fon);
		if (rc != 0)
			break;
		if (o->json) {
			printf("{\"scenario\":\"bulk\",\"framing\":\"%s\","
			       "\"size\":%zu,\"fragment_size\":%s,"
			       "\"off\":{\"idle_p50_us\":%.1f,"
			       "\"idle_p99_us\":%.1f,\"idle_max_us\":%.1f,"
			       "\"load_p50_us\":%.1f,\"load_p99_us\":%.1f,"
			       "\"load_max_us\":%.1f,\"bulk_mbps\":%.1f},"
			       "\"on\":{\"idle_p50_us\":%.1f,"
			       "\"idle_p99_us\":%.1f,\"idle_max_us\":%.1f,"
			       "\"load_p50_us\":%.1f,\"load_p99_us\":%.1f,"
			       "\"load_max_us\":%.1f,\"bulk_mbps\":%.1f}}\n",
			       fr, o->sizes[0], on, off.idle[RTT_P50],
			       off.idle[RTT_P99], off.idle[RTT_MAX],
			       off.load[RTT_P50], off.load[RTT_P99],
			       off.load[RTT_MAX], off.mbps, fon.idle[RTT_P50],
			       fon.idle[RTT_P99], fon.idle[RTT_MAX],
			       fon.load[RTT_P50], fon.load[RTT_P99],
			       fon.load[RTT_MAX], fon.mbps);
			continue;
		}
		printf("\nbulk %s, %zu B messages beside 64 B pings "
		       "(round trips in us: p50 / p99 / max):\n",
		       fr, o->sizes[0]);
		printf("  fragments off:  idle %.0f / %.0f / %.0f   loaded "
		       "%.0f / %.0f / %.0f   bulk %.0f MB/s\n",
		       off.idle[RTT_P50], off.idle[RTT_P99], off.idle[RTT_MAX],
		       off.load[RTT_P50], off.load[RTT_P99], off.load[RTT_MAX],
		       off.mbps);
		printf("  fragments %-5s idle %.0f / %.0f / %.0f   loaded "
		       "%.0f / %.0f / %.0f   bulk %.0f MB/s\n",
		       on, fon.idle[RTT_P50], fon.idle[RTT_P99],
		       fon.idle[RTT_MAX], fon.load[RTT_P50], fon.load[RTT_P99],
		       fon.load[RTT_MAX], fon.mbps);
		printf("  p99 loaded / idle: off %.1fx, on %.1fx; bulk rate on "
		       "/ off: %.2fx\n",
		       off.load[RTT_P99] / off.idle[RTT_P99],
		       fon.load[RTT_P99] / fon.idle[RTT_P99],
		       off.mbps > 0 ? fon.mbps / off.mbps : 0);
	}
	return rc;
}
