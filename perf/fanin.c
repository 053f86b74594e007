/*
 * perf/fanin.c - the "fanin" scenario: several sender nodes (--nodes K,
 * child processes, --senders N sending ports each) to one receiving node
 * (this process, one perf port per shard).  The children measure their
 * own senders and report; the result adds the messages of all of them
 * over the union of their measured windows.  Compared with one raw TCP
 * stream of the same size.
 *
 * Threads: main thread; perf ports run on this node's shards, senders in
 * the children.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "perf/perf.h"

/* Beyond the planned time; children fail on their own after a stall. */
#define SLACK_MS 30000

struct fanin {
	aemp_node *node;
	char transport[96];
	aemp_id ports[PERF_PORTS_MAX];
	int nports;
	struct perf_peer peers[PERF_NODES_MAX];
	pid_t pids[PERF_NODES_MAX];
	int npeers;
};

static int
fanin_start(struct fanin *fi, const struct perf_opts *o, const char *framing)
{
	struct perf_nodecfg cfg = {.framing = framing, .shards = o->shards};
	char id[64], addr[128];
	int i, rc = 0;

	snprintf(id, sizeof(id), "perf%d-r", (int)getpid());
	cfg.nodeid = id;
	cfg.max_queue = o->max_queue;
	cfg.secret = perf_secret(o);
	cfg.cert = perf_cert(o);
	fi->node = perf_node_new(&cfg);
	if (fi->node == NULL || perf_node_addr(fi->node, addr, sizeof(addr)))
		return perf_err(PERF_EFAIL, "fanin: no receiving node");
	for (i = 0; i < o->shards && rc == 0; i++)
		rc = perf_port_new(fi->node, i, NULL, &fi->ports[fi->nports++]);
	if (rc < 0)
		return perf_err(PERF_EFAIL, "fanin: cannot create ports: %s",
		                aemp_strerror(rc));
	for (i = 0; i < o->nodes && rc == 0; i++) {
		snprintf(id, sizeof(id), "perf%d-s%d", (int)getpid(), i);
		rc = perf_peer_start(&fi->peers[i], o, framing, id, addr);
		if (rc == 0)
			fi->pids[fi->npeers++] = fi->peers[i].c.pid;
	}
	for (i = 0; i < fi->npeers && rc == 0; i++) {
		if (perf_node_wait_up(fi->node, fi->peers[i].id.s, 10) < 0)
			rc = perf_err(PERF_EFAIL,
			              "fanin: node %s did not connect",
			              fi->peers[i].id.s);
		else
			rc = perf_transport(o, fi->peers[i].id.s, fi->transport,
			                    sizeof(fi->transport));
	}
	return rc;
}

static void
fanin_stop(struct fanin *fi)
{
	int i;

	perf_node_free(fi->node);
	fi->node = NULL;
	for (i = 0; i < fi->npeers; i++)
		perf_peer_stop(&fi->peers[i]);
	fi->npeers = 0;
}

/* Tell every child its flows, then "go". */
static int
fanin_go(struct fanin *fi, const struct perf_opts *o, size_t size)
{
	struct perf_flow f;
	int k, i, n = 0, rc = 0;

	for (k = 0; k < fi->npeers && rc == 0; k++) {
		for (i = 0; i < o->senders && rc == 0; i++, n++) {
			perf_flow_init(&f, o, size, i % o->shards,
			               fi->ports[n % fi->nports].s);
			rc = perf_child_say(&fi->peers[k].c,
			                    "flow %" PRId64 " %zu %.6f %.6f "
			                    "%" PRIu64 " %u %d %s",
			                    f.sid, f.size, f.warmup_s,
			                    f.seconds, f.count, f.batch,
			                    f.shard, f.target);
		}
		if (rc == 0)
			rc = perf_child_say(&fi->peers[k].c, "go");
	}
	return rc < 0 ? perf_err(PERF_EFAIL, "fanin: %s", aemp_strerror(rc))
	              : 0;
}

/* expect - the line `word` from every child. */
static int
expect(struct fanin *fi, const char *word, char lines[][256], int wait_ms)
{
	int k, rc;

	for (k = 0; k < fi->npeers; k++) {
		rc = perf_peer_line(&fi->peers[k], lines[k], 256, wait_ms);
		if (rc != 0)
			return rc;
		if (strncmp(lines[k], word, strlen(word)) != 0)
			return perf_err(PERF_EFAIL, "fanin: node %s said '%s'",
			                fi->peers[k].id.s, lines[k]);
	}
	return 0;
}

static int
add_up(struct fanin *fi, char lines[][256], struct perf_result *r)
{
	int64_t t0 = INT64_MAX, t1 = 0, a, b, gaps, reord;
	uint64_t msgs, wire;
	int k;

	for (k = 0; k < fi->npeers; k++) {
		if (sscanf(lines[k],
		           "done %" SCNu64 " %" SCNd64 " %" SCNd64 " %" SCNd64
		           " %" SCNd64 " %" SCNu64,
		           &msgs, &a, &b, &gaps, &reord, &wire) != 6)
			return perf_err(PERF_EFAIL, "fanin: bad report '%s'",
			                lines[k]);
		r->msgs += msgs;
		r->wire_bytes += wire;
		r->gaps += gaps;
		r->reorders += reord;
		t0 = a < t0 ? a : t0;
		t1 = b > t1 ? b : t1;
	}
	r->secs = (double)(t1 - t0) / 1e9;
	return 0;
}

static int
fanin_one(struct fanin *fi, const struct perf_opts *o, const char *framing,
          size_t size)
{
	char lines[PERF_NODES_MAX][256];
	double raw = perf_raw_tput(o, size, 0);
	struct perf_result r;
	int64_t cpu0;
	int rc, run_ms, done_ms;

	run_ms = (int)(o->warmup * 1000) + SLACK_MS;
	done_ms = o->count ? 3600000 : (int)(o->seconds * 1000) + SLACK_MS;

	perf_result_init(&r, "fanin", size, framing);
	snprintf(r.variant, sizeof(r.variant), "%dx%d senders%s", fi->npeers,
	         o->senders, o->tls ? " tls" : "");
	r.tls = o->tls;
	snprintf(r.transport, sizeof(r.transport), "%s", fi->transport);
	rc = fanin_go(fi, o, size);
	if (rc == 0)
		rc = expect(fi, "run", lines, run_ms);
	/* CPU between the last "run" and the last "done" (the children's
	 * windows differ a little); socket bytes as the senders count them */
	cpu0 = perf_cpu_sum(fi->pids, fi->npeers);
	if (rc == 0)
		rc = expect(fi, "done ", lines, done_ms);
	r.cpu_s = (double)(perf_cpu_sum(fi->pids, fi->npeers) - cpu0) / 1e9;
	if (rc == 0)
		rc = add_up(fi, lines, &r);
	if (rc != 0)
		return rc;
	if (raw > 0 && r.secs > 0)
		r.ratio = (double)r.msgs / r.secs / raw;
	perf_report(o, &r);
	return 0;
}

int
perf_fanin(const struct perf_opts *o)
{
	struct fanin fi;
	int f, si, rc = 0;

	if (o->connect != NULL)
		return perf_err(PERF_EUSAGE, "fanin: --connect is not "
		                             "supported (the senders are local "
		                             "child processes)");
	for (f = 0; f < o->nframings && rc == 0; f++) {
		memset(&fi, 0, sizeof(fi));
		rc = fanin_start(&fi, o, o->framings[f]);
		for (si = 0; si < o->nsizes && rc == 0; si++)
			rc = fanin_one(&fi, o, o->framings[f], o->sizes[si]);
		fanin_stop(&fi);
	}
	return rc;
}
