/*
 * perf/clusnode.c - one node of the "cluster" scenario, in a child process
 * ("aemp-perf --child clusnode ..."): a node with one shard and a
 * listener on 127.0.0.1, seeded with the run's global nodes (or, with
 * --global 1, a global node itself), that mirrors the families 'l (the
 * nodes with listeners) and "clus" (a key per writer) with aemp_db_mon.
 *
 * Control socket (one line each; times are CLOCK_MONOTONIC nanoseconds,
 * which every process of the machine shares):
 *   to the parent   "ready NODEID ADDR" the node runs, listening on ADDR
 *                   "all T"             'l holds --expect nodes and the
 *                                       "clus" mirror is primed (once)
 *                   "upd SEQ LAT T"     a key of "clus" became [SEQ, SENT]
 *                                       at T, SEQ above all seen before;
 *                                       LAT = T - SENT
 *                   "watching"          the answer to "gone"
 *                   "gone T"            the watched node left 'l (once)
 *                   "master ID"         the answer to "master" ("-": none)
 *                   "fail TEXT"
 *   from the parent "set SEQ"           aemp_db_set("clus", NODEID, [SEQ,
 *                                       now])
 *                   "gone NODEID"       watch 'l for NODEID's departure
 *                   "master"            which global is this node's master
 * The node leaves when the socket closes.
 *
 * Threads: the main thread reads commands; the db_mon callbacks run on
 * shard 0 and own the watch state (the main thread sets the watch through
 * perf_on_shard).  Lines are written under a mutex, from either thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf.h"

#define CTL_FD 3

struct cn {
	aemp_node *node;
	struct perf_child ctl;
	pthread_mutex_t mu; /* one line at a time on ctl */
	size_t expect;      /* 'l entries that make the full view */
	/* shard 0 only: */
	int primed; /* "clus" had its first callback */
	int all_sent;
	size_t lsize; /* 'l entries, as of the last callback */
	char watch[AEMP_ID_MAX];
	int watching, gone_sent;
	int64_t last_seq;
	/* for the main thread's perf_on_shard calls */
	const char *arg;
};

static int say(struct cn *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* say - one line to the parent, from either thread. */
static int
say(struct cn *c, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&c->mu);
	rc = perf_child_say(&c->ctl, "%s", line);
	pthread_mutex_unlock(&c->mu);
	return rc < 0 ? PERF_EFAIL : 0;
}

static void
check_all(struct cn *c)
{
	if (c->all_sent || !c->primed || c->lsize < c->expect)
		return;
	c->all_sent = 1;
	say(c, "all %lld", (long long)perf_now_ns());
}

static void
on_l(aemp_node *node, const char *family, const aemp_dbmirror *mirror,
     const aemp_val *added, const aemp_val *changed, const aemp_val *deleted,
     void *arg)
{
	struct cn *c = arg;

	(void)node, (void)family, (void)added, (void)changed, (void)deleted;
	c->lsize = aemp_dbmirror_len(mirror);
	check_all(c);
	if (c->watching && !c->gone_sent &&
	    aemp_dbmirror_get(mirror, c->watch, strlen(c->watch)) == NULL) {
		c->gone_sent = 1;
		say(c, "gone %lld", (long long)perf_now_ns());
	}
}

/* upd_key - a key of "clus" that was added or changed: [SEQ, SENT]. */
static void
upd_key(struct cn *c, const aemp_dbmirror *mirror, const aemp_val *key,
        int64_t now)
{
	const aemp_val *v =
	        key && key->type == AEMP_STR
	                ? aemp_dbmirror_get(mirror, key->u.s, key->len)
	                : NULL;
	const aemp_val *seq = aemp_at(v, 0), *sent = aemp_at(v, 1);

	if (seq == NULL || sent == NULL || seq->type != AEMP_INT ||
	    sent->type != AEMP_INT || seq->u.i <= c->last_seq)
		return;
	c->last_seq = seq->u.i;
	say(c, "upd %lld %lld %lld", (long long)seq->u.i,
	    (long long)(now - sent->u.i), (long long)now);
}

static void
on_clus(aemp_node *node, const char *family, const aemp_dbmirror *mirror,
        const aemp_val *added, const aemp_val *changed, const aemp_val *deleted,
        void *arg)
{
	struct cn *c = arg;
	int64_t now = perf_now_ns();
	size_t i;

	(void)node, (void)family, (void)deleted;
	if (!c->primed) {
		c->primed = 1;
		check_all(c);
	}
	for (i = 0; i < added->len; i++)
		upd_key(c, mirror, aemp_at(added, i), now);
	for (i = 0; i < changed->len; i++)
		upd_key(c, mirror, aemp_at(changed, i), now);
}

static int
begin(aemp_node *node, void *arg)
{
	struct cn *c = arg;
	int rc = aemp_db_mon(node, "'l", on_l, c, NULL);

	return rc < 0 ? rc : aemp_db_mon(node, "clus", on_clus, c, NULL);
}

static int
set_watch(aemp_node *node, void *arg)
{
	struct cn *c = arg;

	(void)node;
	snprintf(c->watch, sizeof(c->watch), "%s", c->arg);
	c->watching = 1;
	c->gone_sent = 0;
	return 0;
}

static int
command(void *arg, struct perf_child *ctl, const char *line)
{
	struct cn *c = arg;
	char id[AEMP_ID_MAX];
	long long seq;
	int rc;

	(void)ctl; /* c->ctl, under c->mu: say() */
	if (sscanf(line, "set %lld", &seq) == 1) {
		aemp_val v = AEMP_ARR(aemp_int(seq), aemp_int(perf_now_ns()));

		/* every writer its own key, as services register: one key
		 * set by several nodes has any one of their values (§6.6) */
		rc = aemp_db_set(c->node, "clus", aemp_node_id(c->node), &v,
		                 NULL);
		return rc < 0 ? perf_err(PERF_EFAIL, "aemp_db_set: %s",
		                         aemp_strerror(rc))
		              : 0;
	}
	if (strncmp(line, "gone ", 5) == 0 && strlen(line + 5) < AEMP_ID_MAX) {
		c->arg = line + 5;
		rc = perf_on_shard(c->node, 0, set_watch, c);
		return rc < 0 ? PERF_EFAIL : say(c, "watching");
	}
	if (strcmp(line, "master") == 0) {
		rc = aemp_node_master(c->node, id, sizeof(id));
		return say(c, "master %s", rc > 0 ? id : "-");
	}
	return perf_err(PERF_EFAIL, "bad command '%s'", line);
}

static int
cn_args(int argc, char **argv, struct perf_nodecfg *cfg, struct cn *c)
{
	int i;

	for (i = 0; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--nodeid") == 0)
			cfg->nodeid = argv[i + 1];
		else if (strcmp(argv[i], "--framing") == 0)
			cfg->framing = argv[i + 1];
		else if (strcmp(argv[i], "--seeds") == 0)
			cfg->seed = argv[i + 1];
		else if (strcmp(argv[i], "--global") == 0)
			cfg->global = atoi(argv[i + 1]) != 0;
		else if (strcmp(argv[i], "--expect") == 0)
			c->expect = strtoul(argv[i + 1], NULL, 10);
		else
			return -EINVAL;
	}
	return i == argc && cfg->nodeid != NULL && c->expect > 0 ? 0 : -EINVAL;
}

int
perf_child_clusnode(int argc, char **argv)
{
	struct perf_nodecfg cfg = {.framing = "cbor", .shards = 1};
	struct cn *c = calloc(1, sizeof(*c));
	char addr[128];
	int rc;

	perf_err_to_fd(CTL_FD);
	if (c == NULL)
		return perf_err(PERF_EFAIL, "out of memory");
	c->ctl.ctl = CTL_FD;
	pthread_mutex_init(&c->mu, NULL);
	cfg.secret = getenv("AEMP_PERF_SECRET");
	cfg.cert = getenv("AEMP_PERF_CERT");
	rc = cn_args(argc, argv, &cfg, c) < 0
	             ? perf_err(PERF_EUSAGE, "--child clusnode: bad arguments")
	             : 0;
	if (rc == 0 && (c->node = perf_node_new(&cfg)) == NULL)
		rc = PERF_EFAIL;
	if (rc == 0 && (rc = perf_on_shard(c->node, 0, begin, c)) < 0)
		rc = perf_err(PERF_EFAIL, "%s: aemp_db_mon: %s", cfg.nodeid,
		              aemp_strerror(rc));
	if (rc == 0 && perf_node_addr(c->node, addr, sizeof(addr)) < 0)
		rc = perf_err(PERF_EFAIL, "%s: no listener address",
		              cfg.nodeid);
	if (rc == 0) {
		rc = say(c, "ready %s %s", aemp_node_id(c->node), addr);
		if (rc == 0)
			rc = perf_child_serve(&c->ctl, command, c);
	}
	if (c->node != NULL) {
		aemp_node_stop(c->node);
		aemp_node_wait(c->node);
		aemp_node_free(c->node);
	}
	pthread_mutex_destroy(&c->mu);
	free(c);
	return rc;
}
