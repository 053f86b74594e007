/*
 * perf/serve.c - the "serve" scenario: a node that other aemp-perf runs
 * measure with --connect, e.g. from another machine.  It binds --bind
 * (default 127.0.0.1:4040), hosts the perf port "perf" (data, sync and
 * echo, see perf/perf.h) and runs until SIGINT or SIGTERM, then prints
 * how many messages it received.
 *
 * Threads: the main thread waits for the signal (blocked in every thread
 * and taken with sigwait); the perf port runs on a shard.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "perf/perf.h"

int
perf_serve(const struct perf_opts *o)
{
	struct perf_nodecfg cfg = {.framing = o->framings[0],
	                           .shards = o->shards};
	sigset_t set, old;
	char addr[128], id[64];
	aemp_node *node;
	aemp_id port;
	uint64_t msgs;
	int sig = 0, rc;

	snprintf(id, sizeof(id), "perf%d", (int)getpid());
	cfg.nodeid = o->nodeid != NULL ? o->nodeid : id;
	cfg.max_queue = o->max_queue;
	cfg.secret = o->secret;
	cfg.cert = perf_cert(o);
	cfg.bind = o->bind != NULL ? o->bind : "127.0.0.1:4040";
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	node = perf_node_new(&cfg);
	if (node == NULL)
		return PERF_EFAIL;
	rc = perf_port_new(node, 0, "perf", &port);
	if (rc < 0 || perf_node_addr(node, addr, sizeof(addr)) < 0) {
		perf_node_free(node);
		return perf_err(PERF_EFAIL, "serve: cannot create port: %s",
		                aemp_strerror(rc));
	}
	printf("serving %s on %s (%d shard%s); measure with:\n"
	       "  aemp-perf pair --connect %s --port perf --secret ...\n",
	       port.s, addr, aemp_node_shards(node),
	       aemp_node_shards(node) == 1 ? "" : "s", addr);
	fflush(stdout);
	sigwait(&set, &sig);
	perf_port_totals(&msgs);
	perf_node_free(node);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	printf("received %llu messages\n", (unsigned long long)msgs);
	return 0;
}
