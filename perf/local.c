/*
 * perf/local.c - the "local" scenario: throughput between ports of one
 * node, without the network: "same shard" (a send runs the receiving
 * handler at once, inside aemp_snd) and "cross shard" (each message
 * crosses a shard-to-shard queue).  Senders and perf ports are spread
 * over the shards; with --senders N, sender i runs on shard i % shards.
 *
 * Threads: main thread; senders and perf ports run on the node's shards.
 */
#include <stdio.h>
#include <unistd.h>

#include "perf/perf.h"

#define LOCAL_SHARDS_MAX 64

static int
local_one(const struct perf_opts *o, aemp_node *node, const aemp_id *ports,
          int shift, size_t size, const char *framing)
{
	int nshards = aemp_node_shards(node);
	struct perf_task *t[PERF_SENDERS_MAX];
	struct perf_result r;
	struct perf_flow f;
	char label[64];
	int i, rc = 0;

	perf_result_init(&r, "local", size, framing);
	snprintf(r.transport, sizeof(r.transport), "none (one node)");
	snprintf(r.variant, sizeof(r.variant), "%s",
	         shift ? "cross shard" : "same shard");
	for (i = 0; i < o->senders && rc == 0; i++) {
		perf_flow_init(&f, o, size, i % nshards,
		               ports[(i + shift) % nshards].s);
		rc = perf_sender_start(node, &f, &t[i]);
	}
	if (rc < 0)
		return perf_err(PERF_EFAIL, "local: cannot start senders: %s",
		                aemp_strerror(rc));
	snprintf(label, sizeof(label), "local %s %zu B", r.variant, size);
	rc = perf_tasks_run(o, label, t, i, &r);
	if (rc == 0)
		perf_report(o, &r);
	return rc;
}

static int
local_node(const struct perf_opts *o, const char *framing)
{
	struct perf_nodecfg cfg = {.framing = framing, .shards = o->shards};
	aemp_id ports[LOCAL_SHARDS_MAX];
	aemp_node *node;
	char id[64];
	int i, si, rc = 0, n = o->shards;

	snprintf(id, sizeof(id), "perf%d-l", (int)getpid());
	cfg.nodeid = id;
	cfg.max_queue = o->max_queue;
	cfg.secret = perf_secret(o);
	cfg.bind = "";
	node = perf_node_new(&cfg);
	if (node == NULL)
		return PERF_EFAIL;
	for (i = 0; i < n && rc == 0; i++)
		rc = perf_port_new(node, i, NULL, &ports[i]);
	if (rc < 0)
		rc = perf_err(PERF_EFAIL, "local: cannot create ports: %s",
		              aemp_strerror(rc));
	for (si = 0; si < o->nsizes && rc == 0; si++) {
		rc = local_one(o, node, ports, 0, o->sizes[si], framing);
		if (rc == 0 && n > 1)
			rc = local_one(o, node, ports, 1, o->sizes[si],
			               framing);
	}
	perf_node_free(node);
	return rc;
}

int
perf_local(const struct perf_opts *o)
{
	/* Local messages are never encoded: one framing is enough. */
	if (o->shards > LOCAL_SHARDS_MAX)
		return perf_err(PERF_EUSAGE, "local: at most %d shards",
		                LOCAL_SHARDS_MAX);
	return local_node(o, "-");
}
