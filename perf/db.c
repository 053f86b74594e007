/*
 * perf/db.c - the "db" scenario: the distributed database through one
 * global node, between node processes over loopback.  A global node (a
 * child process; or the node at --connect), a writer node (this process)
 * and M monitoring nodes (--monitors M[,M...], one child process each,
 * perf/dbmon.c), all seeded with the global node, every node one shard.
 * The writer sets updates with aemp_db_set as fast as every monitor
 * acknowledges them (perf/dbwriter.c); each monitor mirrors the family
 * with aemp_db_mon and checks and times every update.
 *
 * A result: updates/s = the measured updates every monitor has seen, over
 * the window from the first measured aemp_db_set to the acknowledgement
 * of the last one by the last monitor; the latency from aemp_db_set on the
 * writer to the db_mon callback on a monitor (one sample per update and
 * monitor); gaps and reorders as the monitors count them.  Every M gets a
 * fresh set of nodes and a family of its own.
 *
 * Threads: main thread; the writer runs on shard 0 of this node.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perf/perf.h"

#define READY_MS 30000
#define REPORT_MS 10000

struct db {
	aemp_node *node; /* the writer's */
	struct perf_task *writer;
	aemp_id ack_port;
	struct perf_peer global; /* c.pid 0: --connect */
	struct perf_peer mons[PERF_MONITORS_MAX];
	int nmons;
	pid_t pids[PERF_MONITORS_MAX + 1];
	int npids;
	aemp_id global_id;
	char family[AEMP_ID_MAX];
	char transport[96];
	atomic_int master_known;
};

static int
db_seq(void)
{
	static int n;

	return n++;
}

static void
keys_answered(aemp_node *node, const char *family, const aemp_val *result,
              void *arg)
{
	struct db *d = arg;

	(void)node;
	(void)family;
	(void)result;
	atomic_store(&d->master_known, 1);
}

/* wait_master - a query answered means the writer has a master: its
 * first update goes straight there (before, the node would send all its
 * updates at once when it finds one). */
static int
wait_master(struct db *d)
{
	int64_t end = perf_now_ns() + 10 * (int64_t)1000000000;
	int rc = aemp_db_keys(d->node, d->family, keys_answered, d);

	if (rc < 0)
		return perf_err(PERF_EFAIL, "db: aemp_db_keys: %s",
		                aemp_strerror(rc));
	while (!atomic_load(&d->master_known)) {
		if (perf_now_ns() > end)
			return perf_err(PERF_EFAIL,
			                "db: the writer found no global node "
			                "within 10 s");
		perf_sleep_ms(2);
	}
	return 0;
}

/* start_writer - the global node (unless --connect), the writer node,
 * its master, its task; the seed address into seed. */
static int
start_writer(struct db *d, const struct perf_opts *o, const char *framing,
             int k, int nmon, char *seed, size_t cap)
{
	struct perf_nodecfg cfg = {.framing = framing, .shards = 1};
	char id[64];
	int rc;

	snprintf(id, sizeof(id), "perf%d-%dg", (int)getpid(), k);
	if (o->connect == NULL) {
		rc = perf_peer_start_global(&d->global, o, framing, id);
		if (rc != 0)
			return rc;
		d->pids[d->npids++] = d->global.c.pid;
		d->global_id = d->global.id;
	}
	snprintf(seed, cap, "%s", o->connect ? o->connect : d->global.addr);
	snprintf(id, sizeof(id), "perf%d-%dw", (int)getpid(), k);
	cfg.nodeid = id;
	cfg.max_queue = o->max_queue;
	cfg.secret = o->connect ? o->secret : perf_secret(o);
	cfg.cert = perf_cert(o);
	cfg.seed = seed;
	d->node = perf_node_new(&cfg);
	if (d->node == NULL)
		return PERF_EFAIL;
	if (o->connect != NULL)
		rc = perf_node_first_up(d->node, &d->global_id, 10);
	else
		rc = perf_node_wait_up(d->node, d->global_id.s, 10);
	if (rc < 0)
		return perf_err(PERF_EFAIL,
		                "db: no connection to the global node %s "
		                "within 10 s%s",
		                o->connect ? o->connect : d->global_id.s,
		                o->connect ? " (address, secret, TLS?)" : "");
	rc = perf_transport(o, d->global_id.s, d->transport,
	                    sizeof(d->transport));
	if (rc == 0)
		rc = wait_master(d);
	if (rc == 0 && (rc = perf_db_writer_new(d->node, nmon, &d->ack_port,
	                                        &d->writer)) < 0)
		rc = perf_err(PERF_EFAIL, "db: cannot start the writer: %s",
		              aemp_strerror(rc));
	return rc;
}

static int
spawn_monitor(struct db *d, const struct perf_opts *o, const char *framing,
              int k, int i, const char *seed)
{
	struct perf_peer *p = &d->mons[i];
	char id[64], index[16], queue[32], window[16];
	char *argv[] = {"aemp-perf",     "--child", "dbmon",
	                "--nodeid",      id,        "--framing",
	                (char *)framing, "--seed",  (char *)seed,
	                "--family",      d->family, "--ack",
	                d->ack_port.s,   "--index", index,
	                "--max-queue",   queue,     "--window",
	                window,          NULL};
	int rc;

	snprintf(id, sizeof(id), "perf%d-%dm%d", (int)getpid(), k, i);
	snprintf(index, sizeof(index), "%d", i);
	snprintf(window, sizeof(window), "%d", o->window);
	snprintf(queue, sizeof(queue), "%llu",
	         (unsigned long long)o->max_queue);
	memset(p, 0, sizeof(*p));
	snprintf(p->id.s, sizeof(p->id.s), "%s", id);
	rc = perf_child_spawn(&p->c, argv,
	                      o->connect ? o->secret : perf_secret(o),
	                      perf_cert(o));
	if (rc < 0)
		return perf_err(PERF_EFAIL, "cannot start a child: %s",
		                aemp_strerror(rc));
	d->nmons++;
	d->pids[d->npids++] = p->c.pid;
	return 0;
}

static int
watch(struct db *d, const char *nodeid)
{
	int rc = perf_db_writer_watch(d->writer, nodeid);

	return rc < 0 ? perf_err(PERF_EFAIL, "db: cannot watch node %s: %s",
	                         nodeid, aemp_strerror(rc))
	              : 0;
}

static void
db_stop(struct db *d)
{
	int i;

	/* every monitor starts leaving at once; then wait for each */
	for (i = 0; i < d->nmons; i++) {
		if (d->mons[i].c.ctl >= 0)
			close(d->mons[i].c.ctl);
		d->mons[i].c.ctl = -1;
	}
	perf_node_free(d->node);
	d->node = NULL;
	for (i = 0; i < d->nmons; i++)
		perf_peer_stop(&d->mons[i]);
	d->nmons = 0;
	if (d->global.c.pid > 0)
		perf_peer_stop(&d->global);
	d->npids = 0;
}

static int
db_start(struct db *d, const struct perf_opts *o, const char *framing, int nmon)
{
	int k = db_seq(), i, rc;
	char seed[128], line[256];

	memset(d, 0, sizeof(*d));
	d->global.c.ctl = -1;
	snprintf(d->family, sizeof(d->family), "perf%dx%d", (int)getpid(), k);
	rc = start_writer(d, o, framing, k, nmon, seed, sizeof(seed));
	for (i = 0; i < nmon && rc == 0; i++)
		rc = spawn_monitor(d, o, framing, k, i, seed);
	for (i = 0; i < d->nmons && rc == 0; i++) {
		rc = perf_peer_line(&d->mons[i], line, sizeof(line), READY_MS);
		if (rc == 0 && strncmp(line, "ready ", 6) != 0)
			rc = perf_err(PERF_EFAIL, "db: monitor %s said '%s'",
			              d->mons[i].id.s, line);
		if (rc == 0)
			rc = watch(d, d->mons[i].id.s);
	}
	if (rc == 0)
		rc = watch(d, d->global_id.s);
	if (rc != 0)
		db_stop(d);
	return rc;
}

/* collect - every monitor's report: its histogram into h, its counts
 * into r. */
static int
collect(struct db *d, struct perf_hist *h, struct perf_result *r)
{
	char line[1024];
	long long gaps, reord;
	int i, rc = 0;

	for (i = 0; i < d->nmons && rc == 0; i++) {
		if (perf_child_say(&d->mons[i].c, "report") < 0)
			return perf_err(PERF_EFAIL, "db: monitor %s is gone",
			                d->mons[i].id.s);
		for (;;) {
			rc = perf_peer_line(&d->mons[i], line, sizeof(line),
			                    REPORT_MS);
			if (rc != 0 || strncmp(line, "hist ", 5) != 0)
				break;
			if (perf_hist_add_text(h, line + 5) < 0)
				return perf_err(PERF_EFAIL,
				                "db: bad report '%s'", line);
		}
		if (rc == 0 &&
		    sscanf(line, "done %lld %lld", &gaps, &reord) != 2)
			rc = perf_err(PERF_EFAIL, "db: bad report '%s'", line);
		if (rc == 0) {
			r->gaps += gaps;
			r->reorders += reord;
		}
	}
	return rc;
}

static int
db_one(struct db *d, const struct perf_opts *o, const char *framing,
       size_t size)
{
	struct perf_db_flow f = {.size = size,
	                         .warmup_s = o->warmup,
	                         .seconds = o->seconds,
	                         .count = o->count,
	                         .window = o->window,
	                         .peers = d->pids,
	                         .npeers = d->npids};
	struct perf_hist *h = perf_hist_new();
	struct perf_result r;
	char label[64];
	int rc;

	if (h == NULL)
		return perf_err(PERF_EFAIL, "out of memory");
	snprintf(f.family, sizeof(f.family), "%s", d->family);
	perf_result_init(&r, "db", size, framing);
	if (o->window == PERF_DB_WINDOW)
		snprintf(r.variant, sizeof(r.variant), "%d monitor%s%s",
		         d->nmons, d->nmons == 1 ? "" : "s",
		         o->tls ? " tls" : "");
	else
		snprintf(r.variant, sizeof(r.variant), "%d mon w%d%s", d->nmons,
		         o->window, o->tls ? " tls" : "");
	snprintf(label, sizeof(label), "db %d mon %zu B %s", d->nmons, size,
	         framing);
	rc = perf_db_writer_run(d->writer, &f);
	if (rc < 0)
		rc = perf_err(PERF_EFAIL, "db: cannot start the writer: %s",
		              aemp_strerror(rc));
	if (rc == 0)
		rc = perf_tasks_run(o, label, &d->writer, 1, &r);
	if (rc == 0)
		rc = collect(d, h, &r);
	if (rc == 0) {
		perf_hist_fill(h, &r);
		r.oneway = 1;
		r.tls = o->tls;
		r.cpu_partial = o->connect != NULL;
		/* the writer's socket bytes include the acknowledgements:
		 * not a figure of the database */
		r.wire_bytes = 0;
		snprintf(r.transport, sizeof(r.transport), "%s", d->transport);
		perf_report(o, &r);
	}
	perf_hist_free(h);
	return rc;
}

int
perf_db(const struct perf_opts *o)
{
	struct db *d = malloc(sizeof(*d)); /* 0.5 MiB: not on the stack */
	int fi, mi, si, rc = 0;

	if (d == NULL)
		return perf_err(PERF_EFAIL, "out of memory");
	for (fi = 0; fi < o->nframings && rc == 0; fi++) {
		for (mi = 0; mi < o->nmonitors && rc == 0; mi++) {
			rc = db_start(d, o, o->framings[fi], o->monitors[mi]);
			for (si = 0; si < o->nsizes && rc == 0; si++)
				rc = db_one(d, o, o->framings[fi],
				            o->sizes[si]);
			db_stop(d); /* again after a failed start: a no-op */
		}
	}
	free(d);
	return rc;
}
