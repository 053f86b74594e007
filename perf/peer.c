/*
 * perf/peer.c - the other nodes of a run: a peer is a child process
 * running "aemp-perf --child node", a node with one perf port per shard.
 * (--global 1: it also runs the global service, for the "db" scenario.)
 * It says "ready NODEID ADDRESS PORT..." on its control socket, then
 * takes commands:
 *   flow SID SIZE WARMUP SECONDS COUNT BATCH SHARD TARGET   (add a sender)
 *   go             start the senders; answers "run" when all of them are
 *                  measuring, then "done MSGS T0 T1 GAPS REORDERS WIRE"
 * and stops when the socket closes.  Any failure is one line "fail TEXT".
 *
 * Threads: main thread of the parent and of the child.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perf/perf.h"

#define CTL_FD 3
#define READY_MS 20000

void
perf_node_free(aemp_node *node)
{
	if (node == NULL)
		return;
	aemp_node_stop(node);
	aemp_node_wait(node);
	perf_ports_free(node);
	perf_tasks_reap(node);
	aemp_node_free(node);
}

/* ---- parent side ---------------------------------------------------- */

static int
parse_ready(struct perf_peer *p, char *line)
{
	char *save = NULL, *tok;

	tok = strtok_r(line, " ", &save);
	if (tok == NULL || strcmp(tok, "ready") != 0)
		return -EPROTO;
	tok = strtok_r(NULL, " ", &save);
	if (tok == NULL || strlen(tok) >= sizeof(p->id.s))
		return -EPROTO;
	strcpy(p->id.s, tok);
	tok = strtok_r(NULL, " ", &save);
	if (tok == NULL || strlen(tok) >= sizeof(p->addr))
		return -EPROTO;
	strcpy(p->addr, tok);
	p->nports = 0;
	while ((tok = strtok_r(NULL, " ", &save)) != NULL &&
	       p->nports < PERF_PORTS_MAX) {
		if (strlen(tok) >= sizeof(p->ports[0].s))
			return -EPROTO;
		strcpy(p->ports[p->nports++].s, tok);
	}
	return p->nports > 0 ? 0 : -EPROTO;
}

/* perf_peer_line - the next line; a "fail" line or a lost child is
 * reported (one line) and gives PERF_EFAIL. */
int
perf_peer_line(struct perf_peer *p, char *buf, size_t cap, int timeout_ms)
{
	int rc = perf_child_line(&p->c, buf, cap, timeout_ms);

	if (rc >= 0 && strncmp(buf, "fail ", 5) == 0)
		return perf_err(PERF_EFAIL, "%s", buf + 5);
	if (rc == -ETIMEDOUT)
		return perf_err(PERF_EFAIL, "node %s does not answer",
		                p->id.s[0] ? p->id.s : "child");
	if (rc < 0)
		return perf_err(PERF_EFAIL, "node %s is gone (%s)",
		                p->id.s[0] ? p->id.s : "child",
		                aemp_strerror(rc));
	return 0;
}

static int
peer_start(struct perf_peer *p, const struct perf_opts *o, const char *framing,
           const char *nodeid, const char *seed, int global)
{
	char shards[16], queue[32], spin[16], line[1024];
	char *argv[24] = {"aemp-perf",     "--child",      "node",
	                  "--nodeid",      (char *)nodeid, "--framing",
	                  (char *)framing, "--shards",     shards,
	                  "--max-queue",   queue};
	int rc, i = 11;

	memset(p, 0, sizeof(*p));
	snprintf(shards, sizeof(shards), "%d", o->shards);
	snprintf(queue, sizeof(queue), "%llu",
	         (unsigned long long)o->max_queue);
	if (seed != NULL) {
		argv[i++] = "--seed";
		argv[i++] = (char *)seed;
	}
	if (global) {
		argv[i++] = "--global";
		argv[i++] = "1";
	}
	if (o->busy_poll_us > 0) {
		snprintf(spin, sizeof(spin), "%d", o->busy_poll_us);
		argv[i++] = "--busy-poll";
		argv[i++] = spin;
	}
	if (o->fragment_size != NULL) {
		argv[i++] = "--fragment-size";
		argv[i++] = (char *)o->fragment_size;
	}
	if (o->socket_buffer != NULL) {
		argv[i++] = "--socket-buffer";
		argv[i++] = (char *)o->socket_buffer;
	}
	argv[i] = NULL;
	rc = perf_child_spawn(&p->c, argv, perf_secret(o), perf_cert(o));
	if (rc < 0)
		return perf_err(PERF_EFAIL, "cannot start a child: %s",
		                aemp_strerror(rc));
	rc = perf_peer_line(p, line, sizeof(line), READY_MS);
	if (rc == 0 && parse_ready(p, line) < 0)
		rc = perf_err(PERF_EFAIL, "child node: bad ready line");
	if (rc != 0)
		perf_peer_stop(p);
	return rc;
}

int
perf_peer_start(struct perf_peer *p, const struct perf_opts *o,
                const char *framing, const char *nodeid, const char *seed)
{
	return peer_start(p, o, framing, nodeid, seed, 0);
}

int
perf_peer_start_global(struct perf_peer *p, const struct perf_opts *o,
                       const char *framing, const char *nodeid)
{
	return peer_start(p, o, framing, nodeid, NULL, 1);
}

void
perf_peer_stop(struct perf_peer *p)
{
	int st = perf_child_stop(&p->c);

	/* A status below 128 is the child's own failure, already reported
	 * on its control socket (or the end of a run we broke off). */
	if (st > 128) {
		perf_err(0, "node %s died of signal %d", p->id.s, st - 128);
		perf_set_status(PERF_EFAIL);
	}
}

/* ---- child side ----------------------------------------------------- */

struct child {
	struct perf_child ctl; /* pid 0: the socket to the parent */
	aemp_node *node;
	struct perf_flow flows[PERF_SENDERS_MAX];
	int nflows;
};

static int
add_flow(struct child *ch, const char *args)
{
	struct perf_flow *f;
	unsigned long long count;
	long long sid;

	if (ch->nflows == PERF_SENDERS_MAX)
		return -ENOSPC;
	f = &ch->flows[ch->nflows];
	memset(f, 0, sizeof(*f));
	if (sscanf(args, "%lld %zu %lf %lf %llu %u %d %255s", &sid, &f->size,
	           &f->warmup_s, &f->seconds, &count, &f->batch, &f->shard,
	           f->target) != 8)
		return -EINVAL;
	f->sid = sid;
	f->count = count;
	if (f->shard < 0 || f->shard >= aemp_node_shards(ch->node))
		f->shard = 0;
	ch->nflows++;
	return 0;
}

static int
run_flows(struct child *ch)
{
	struct perf_opts o = {.quiet = 1,
	                      .warmup = ch->flows[0].warmup_s,
	                      .seconds = ch->flows[0].seconds};
	struct perf_task *t[PERF_SENDERS_MAX];
	struct perf_result r;
	int i, rc = 0;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < ch->nflows && rc == 0; i++)
		rc = perf_sender_start(ch->node, &ch->flows[i], &t[i]);
	if (rc < 0)
		return perf_err(PERF_EFAIL, "cannot start senders: %s",
		                aemp_strerror(rc));
	rc = perf_tasks_wait_run(&o, aemp_node_id(ch->node), t, i);
	if (rc == 0)
		rc = perf_child_say(&ch->ctl, "run") < 0 ? PERF_EFAIL : 0;
	if (rc == 0)
		rc = perf_tasks_wait_done(&o, aemp_node_id(ch->node), t, i, &r);
	if (rc != 0)
		return rc;
	perf_child_say(&ch->ctl,
	               "done %" PRIu64 " %" PRId64 " %" PRId64 " %" PRId64
	               " %" PRId64 " %" PRIu64,
	               r.msgs, r.t0_ns, r.t1_ns, r.gaps, r.reorders,
	               r.wire_bytes);
	ch->nflows = 0;
	return 0;
}

static int
child_args(int argc, char **argv, struct perf_nodecfg *cfg)
{
	int i;

	for (i = 0; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--nodeid") == 0)
			cfg->nodeid = argv[i + 1];
		else if (strcmp(argv[i], "--framing") == 0)
			cfg->framing = argv[i + 1];
		else if (strcmp(argv[i], "--shards") == 0)
			cfg->shards = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--seed") == 0)
			cfg->seed = argv[i + 1];
		else if (strcmp(argv[i], "--max-queue") == 0)
			cfg->max_queue = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--global") == 0)
			cfg->global = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--busy-poll") == 0)
			cfg->busy_poll_us = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--fragment-size") == 0)
			cfg->fragment_size = argv[i + 1];
		else if (strcmp(argv[i], "--socket-buffer") == 0)
			cfg->socket_buffer = argv[i + 1];
		else
			return -EINVAL;
	}
	return i == argc && cfg->nodeid != NULL && cfg->shards > 0 ? 0
	                                                           : -EINVAL;
}

static int
say_ready(struct child *ch)
{
	char line[4096], addr[128];
	aemp_id port;
	size_t len;
	int i, rc;

	rc = perf_node_addr(ch->node, addr, sizeof(addr));
	if (rc < 0)
		return perf_err(PERF_EFAIL, "child node has no listener");
	len = (size_t)snprintf(line, sizeof(line), "ready %s %s",
	                       aemp_node_id(ch->node), addr);
	for (i = 0; i < aemp_node_shards(ch->node); i++) {
		rc = perf_port_new(ch->node, i, NULL, &port);
		if (rc < 0)
			return perf_err(PERF_EFAIL, "cannot create port: %s",
			                aemp_strerror(rc));
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s",
		                        port.s);
		if (len >= sizeof(line))
			return perf_err(PERF_EFAIL, "too many ports");
	}
	return perf_child_say(&ch->ctl, "%s", line) < 0 ? PERF_EFAIL : 0;
}

/* command - "flow ARGS" adds a flow, "go" runs them. */
static int
command(void *arg, struct perf_child *ctl, const char *line)
{
	struct child *ch = arg;
	int rc;

	(void)ctl; /* ch->ctl */
	if (strncmp(line, "flow ", 5) == 0)
		rc = add_flow(ch, line + 5);
	else if (strcmp(line, "go") == 0 && ch->nflows > 0)
		rc = run_flows(ch);
	else
		rc = -EINVAL;
	if (rc < 0)
		rc = perf_err(PERF_EFAIL, "bad command '%s'", line);
	return rc;
}

int
perf_child_node(int argc, char **argv)
{
	struct perf_nodecfg cfg = {.framing = "cbor", .shards = 1};
	struct child *ch;
	int rc;

	perf_err_to_fd(CTL_FD);
	perf_watch_parent(CTL_FD);
	cfg.secret = getenv("AEMP_PERF_SECRET");
	cfg.cert = getenv("AEMP_PERF_CERT");
	if (child_args(argc, argv, &cfg) < 0)
		return perf_err(PERF_EUSAGE, "--child node: bad arguments");
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return perf_err(PERF_EFAIL, "out of memory");
	ch->ctl.ctl = CTL_FD;
	ch->node = perf_node_new(&cfg);
	rc = ch->node != NULL ? say_ready(ch) : PERF_EFAIL;
	if (rc == 0)
		rc = perf_child_serve(&ch->ctl, command, ch);
	perf_node_free(ch->node);
	free(ch);
	return rc;
}

/* ---- two nodes: ours and a peer (child, or --connect) --------------- */

/* A node of this process with d's peer as its seed; the time from its
 * start (its shards run, it dials) to seeing the peer up into *ms. */
static int
duo_dial(struct perf_duo *d, const struct perf_opts *o, const char *framing,
         const char *me, aemp_node **out, double *ms)
{
	struct perf_nodecfg cfg = {.framing = framing, .shards = o->shards};
	int64_t t0 = 0;

	cfg.nodeid = me;
	cfg.max_queue = o->max_queue;
	cfg.busy_poll_us = o->busy_poll_us;
	cfg.fragment_size = o->fragment_size;
	cfg.socket_buffer = o->socket_buffer;
	cfg.secret = perf_secret(o);
	cfg.cert = perf_cert(o);
	cfg.seed = d->peer.addr;
	cfg.start_ns = &t0;
	*out = perf_node_new(&cfg);
	if (*out == NULL)
		return PERF_EFAIL;
	if (perf_node_wait_up(*out, d->peer.id.s, 10) < 0)
		return perf_err(PERF_EFAIL, "node %s did not connect to %s", me,
		                d->peer.id.s);
	*ms = (double)(perf_now_ns() - t0) / 1e6;
	return 0;
}

static int
duo_local(struct perf_duo *d, const struct perf_opts *o, const char *framing)
{
	char me[64], peer[64];
	int i, rc;

	snprintf(me, sizeof(me), "perf%d-a", (int)getpid());
	snprintf(peer, sizeof(peer), "perf%d-b", (int)getpid());
	rc = perf_peer_start(&d->peer, o, framing, peer, NULL);
	if (rc != 0)
		return rc;
	d->pids[d->npids++] = d->peer.c.pid;
	rc = duo_dial(d, o, framing, me, &d->node, &d->setup_ms);
	if (rc != 0)
		return rc;
	d->remote = d->peer.id;
	for (i = 0; i < d->peer.nports; i++)
		d->targets[i] = d->peer.ports[i];
	d->ntargets = d->peer.nports;
	return 0;
}

int
perf_duo_setup(struct perf_duo *d, const struct perf_opts *o,
               const char *framing, int i, double *ms)
{
	aemp_node *node = NULL;
	char me[64];
	int rc;

	if (d->peer.c.pid <= 0)
		return perf_err(PERF_EFAIL, "set-up: no local peer node");
	snprintf(me, sizeof(me), "perf%d-s%d", (int)getpid(), i);
	rc = duo_dial(d, o, framing, me, &node, ms);
	perf_node_free(node);
	return rc;
}

/* A port that does not exist drops every message silently; a monitor
 * says so within a round trip (and a port that exists never fires). */
struct probe {
	atomic_int fired;
	char reason[256];
};

static void
probe_fired(aemp_node *node, const aemp_val *reason, size_t n, void *arg)
{
	struct probe *p = arg;
	aemp_val all = aemp_array(reason, n);

	(void)node;
	if (aemp_json_format(&all, p->reason, sizeof(p->reason)) < 0)
		snprintf(p->reason, sizeof(p->reason), "(unprintable)");
	atomic_store(&p->fired, 1);
}

static int
probe_port(aemp_node *node, const char *port)
{
	static struct probe p; /* the monitor may still fire later */
	int64_t end = perf_now_ns() + 1000000000;
	aemp_guard g;
	int rc;

	memset(p.reason, 0, sizeof(p.reason));
	atomic_store(&p.fired, 0);
	rc = aemp_mon(node, port, probe_fired, &p, &g);
	if (rc < 0)
		return perf_err(PERF_EFAIL, "port %s: %s", port,
		                aemp_strerror(rc));
	while (!atomic_load(&p.fired) && perf_now_ns() < end)
		perf_sleep_ms(2);
	aemp_guard_cancel(node, &g);
	if (atomic_load(&p.fired))
		return perf_err(PERF_EFAIL, "port %s: %s", port, p.reason);
	return 0;
}

/* The --port of a --connect run: NODEID#NAME as is; NAME at the seed;
 * none (or "NODEID#"): the node port. */
static int
duo_remote(struct perf_duo *d, const struct perf_opts *o, const char *framing)
{
	struct perf_nodecfg cfg = {.framing = framing, .shards = o->shards};
	const char *port = o->port != NULL ? o->port : "";
	char me[64];
	int rc;

	snprintf(me, sizeof(me), "perf%d", (int)getpid());
	cfg.nodeid = me;
	cfg.max_queue = o->max_queue;
	cfg.busy_poll_us = o->busy_poll_us;
	cfg.fragment_size = o->fragment_size;
	cfg.socket_buffer = o->socket_buffer;
	cfg.secret = o->secret;
	cfg.cert = perf_cert(o);
	cfg.seed = o->connect;
	cfg.bind = "";
	d->node = perf_node_new(&cfg);
	if (d->node == NULL)
		return PERF_EFAIL;
	rc = perf_node_first_up(d->node, &d->remote, 10);
	if (rc < 0)
		return perf_err(PERF_EFAIL,
		                "no connection to %s within 10 s "
		                "(address, secret, TLS?)",
		                o->connect);
	if (strchr(port, '#') != NULL)
		snprintf(d->targets[0].s, sizeof(d->targets[0].s), "%s", port);
	else if (port[0] != '\0')
		snprintf(d->targets[0].s, sizeof(d->targets[0].s), "%s#%s",
		         d->remote.s, port);
	else
		snprintf(d->targets[0].s, sizeof(d->targets[0].s), "%s",
		         d->remote.s);
	d->ntargets = 1;
	d->cpu_partial = 1;
	return perf_is_node_port(d->targets[0].s)
	               ? 0
	               : probe_port(d->node, d->targets[0].s);
}

/* perf_transport - what the connection to peer negotiated, waiting a
 * little for the engine's log line; with --tls, anything but TLS is an
 * error (the run would measure the wrong thing). */
int
perf_transport(const struct perf_opts *o, const char *peer, char *out,
               size_t cap)
{
	int64_t end = perf_now_ns() + 2 * (int64_t)1000000000;
	char framing[8];

	while (perf_conn_info(peer, out, cap, framing, sizeof(framing)) < 0) {
		if (perf_now_ns() > end) {
			out[0] = '\0';
			break;
		}
		perf_sleep_ms(2);
	}
	if (o->tls && strncmp(out, "TLS", 3) != 0)
		return perf_err(PERF_EFAIL, "--tls: the connection to %s is %s",
		                peer, out[0] ? out : "of unknown transport");
	return 0;
}

int
perf_duo_start(struct perf_duo *d, const struct perf_opts *o,
               const char *framing)
{
	int rc;

	memset(d, 0, sizeof(*d));
	rc = o->connect != NULL ? duo_remote(d, o, framing)
	                        : duo_local(d, o, framing);
	if (rc == 0)
		rc = perf_transport(o, d->remote.s, d->transport,
		                    sizeof(d->transport));
	if (rc != 0)
		perf_duo_stop(d);
	return rc;
}

void
perf_duo_stop(struct perf_duo *d)
{
	perf_node_free(d->node);
	d->node = NULL;
	if (d->peer.c.pid > 0)
		perf_peer_stop(&d->peer);
	d->npids = 0;
}
