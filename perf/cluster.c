/*
 * perf/cluster.c - the "cluster" scenario: G global nodes (--globals,
 * default 3) and N node processes (--nodes, default 20) on loopback, one
 * shard each, every one a child process (perf/clusnode.c).  The globals
 * start one after another, each seeded with those before it; then all N
 * nodes start at once, seeded with every global.  Measured:
 *
 *   view      from the first node's start until every process (globals
 *             included) sees all N + G nodes in 'l;
 *   db        R rounds (--count, default 20), one at a time: a node (in
 *             turn) sets "clus"/NODEID = [SEQ, SENT]; the time from SENT to
 *             the db_mon callback on every process (p50, p99 over all);
 *   recovery  the global that most nodes use as master is killed
 *             (SIGKILL); then a node that used it sets its key again.
 *             Departure: until every other process's 'l has lost the
 *             global; database: until every other process saw the set;
 *   memory    resident memory (VmRSS) of the nodes and of the globals,
 *             after the db rounds.
 *
 * Every wait is bounded; a missing answer names the processes it waited
 * for.  Threads: the main thread only.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "perf/perf.h"

#define GLOBAL_READY_MS 30000
#define ROUND_MS 20000
#define RECOVER_MS 90000

struct cmember {
	struct perf_child c;
	aemp_id id;
	char addr[128];
	int global, dead, ready, watching;
	int64_t all_t, gone_t;
	int64_t upd_seq, upd_lat, upd_t;
	char master[AEMP_ID_MAX];
};

struct cluster {
	struct cmember *m; /* globals first, then nodes */
	struct perf_child **cs;
	int n; /* processes started */
	int g; /* of which globals */
	int total;
	char seeds[2048]; /* the globals' addresses, comma-separated */
	char framing[8];
};

/* ---- the children --------------------------------------------------- */

static int
spawn(struct cluster *cl, const struct perf_opts *o, int global,
      const char *seeds)
{
	struct cmember *m = &cl->m[cl->n];
	char expect[16];
	char *argv[16] = {"aemp-perf", "--child",         "clusnode",
	                  "--nodeid",  m->id.s,           "--framing",
	                  cl->framing, "--expect",        expect,
	                  "--global",  global ? "1" : "0"};
	int rc, i = 11;

	snprintf(m->id.s, sizeof(m->id.s), "c%d-%s%d", (int)getpid(),
	         global ? "g" : "n", global ? cl->n : cl->n - cl->g);
	snprintf(expect, sizeof(expect), "%d", cl->total);
	if (seeds[0] != '\0') {
		argv[i++] = "--seeds";
		argv[i++] = (char *)seeds;
	}
	argv[i] = NULL;
	rc = perf_child_spawn(&m->c, argv, perf_secret(o), perf_cert(o));
	if (rc < 0)
		return perf_err(PERF_EFAIL, "cannot start a child: %s",
		                aemp_strerror(rc));
	m->global = global;
	cl->cs[cl->n++] = &m->c;
	return 0;
}

/* on_line - what child i said. */
static int
on_line(struct cluster *cl, int i, const char *line)
{
	struct cmember *m = &cl->m[i];
	long long a, b, t;

	if (strncmp(line, "fail ", 5) == 0)
		return perf_err(PERF_EFAIL, "%s: %s", m->id.s, line + 5);
	if (sscanf(line, "ready %*s %127s", m->addr) == 1)
		m->ready = 1;
	else if (sscanf(line, "all %lld", &t) == 1)
		m->all_t = t;
	else if (sscanf(line, "upd %lld %lld %lld", &a, &b, &t) == 3) {
		m->upd_seq = a;
		m->upd_lat = b;
		m->upd_t = t;
	} else if (strcmp(line, "watching") == 0)
		m->watching = 1;
	else if (sscanf(line, "gone %lld", &t) == 1)
		m->gone_t = t;
	else if (sscanf(line, "master %255s", m->master) != 1)
		return perf_err(PERF_EFAIL, "%s: unexpected '%s'", m->id.s,
		                line);
	return 0;
}

/* pump - handle the lines that come within timeout_ms (at least one, or
 * the timeout). */
static int
pump(struct cluster *cl, int timeout_ms)
{
	char line[512];
	int i, rc;

	rc = perf_child_any(cl->cs, cl->n, &i, line, sizeof(line), timeout_ms);
	if (rc == -ETIMEDOUT)
		return 0;
	if (rc < 0 && rc != -ENOMEM)
		return perf_err(PERF_EFAIL, "%s is gone (%s)", cl->m[i].id.s,
		                aemp_strerror(rc));
	if (rc < 0)
		return perf_err(PERF_EFAIL, "out of memory");
	return on_line(cl, i, line);
}

typedef int (*cl_pred)(const struct cmember *m, int64_t arg);

/* missed - name the processes that did not get there in time. */
static int
missed(struct cluster *cl, cl_pred pred, int64_t arg, const char *what, int ms)
{
	char names[512] = "";
	size_t len = 0;
	int i, count = 0;

	for (i = 0; i < cl->n; i++) {
		if (cl->m[i].dead || pred(&cl->m[i], arg))
			continue;
		if (count++ < 8 && len < sizeof(names))
			len += (size_t)snprintf(
			        names + len, sizeof(names) - len, "%s%s%s%s%s",
			        count > 1 ? ", " : "", cl->m[i].id.s,
			        cl->m[i].master[0] ? " (master " : "",
			        cl->m[i].master, cl->m[i].master[0] ? ")" : "");
	}
	return perf_err(PERF_EFAIL,
	                "cluster: %d processes did not %s within "
	                "%d s: %s%s",
	                count, what, ms / 1000, names,
	                count > 8 ? ", ..." : "");
}

/* wait_all - until pred holds for every live process, within ms. */
static int
wait_all(struct cluster *cl, cl_pred pred, int64_t arg, int ms,
         const char *what)
{
	int64_t end = perf_now_ns() + (int64_t)ms * 1000000;
	int i, missing, rc;

	for (;;) {
		missing = -1;
		for (i = 0; i < cl->n && missing < 0; i++)
			if (!cl->m[i].dead && !pred(&cl->m[i], arg))
				missing = i;
		if (missing < 0)
			return 0;
		if (perf_now_ns() > end)
			return missed(cl, pred, arg, what, ms);
		rc = pump(cl, 100);
		if (rc != 0)
			return rc;
	}
}

static int
is_ready(const struct cmember *m, int64_t arg)
{
	(void)arg;
	return m->ready;
}
static int
has_all(const struct cmember *m, int64_t arg)
{
	(void)arg;
	return m->all_t != 0;
}
static int
has_upd(const struct cmember *m, int64_t seq)
{
	return m->upd_seq >= seq;
}
static int
is_watching(const struct cmember *m, int64_t arg)
{
	(void)arg;
	return m->watching;
}
static int
saw_gone(const struct cmember *m, int64_t arg)
{
	(void)arg;
	return m->gone_t != 0;
}
static int
has_master(const struct cmember *m, int64_t arg)
{
	(void)arg;
	return m->global || m->master[0] != '\0';
}

static void
cluster_stop(struct cluster *cl)
{
	int i, st;

	/* every child leaves when its socket closes: close all, then reap */
	for (i = 0; i < cl->n; i++) {
		if (cl->m[i].c.ctl >= 0)
			close(cl->m[i].c.ctl);
		cl->m[i].c.ctl = -1;
	}
	for (i = 0; i < cl->n; i++) {
		st = perf_child_stop(&cl->m[i].c);
		if (st > 128) {
			perf_err(0, "%s died of signal %d", cl->m[i].id.s,
			         st - 128);
			perf_set_status(PERF_EFAIL);
		}
	}
	free(cl->m);
	free(cl->cs);
}
/* ---- the phases ----------------------------------------------------- */

static int
start_globals(struct cluster *cl, const struct perf_opts *o)
{
	char seeds[sizeof(cl->seeds)];
	int i, rc;
	size_t len;

	for (i = 0; i < cl->g; i++) {
		snprintf(seeds, sizeof(seeds), "%s", cl->seeds);
		rc = spawn(cl, o, 1, seeds);
		if (rc == 0)
			rc = wait_all(cl, is_ready, 0, GLOBAL_READY_MS,
			              "start");
		if (rc != 0)
			return rc;
		len = strlen(cl->seeds);
		if (len + strlen(cl->m[i].addr) + 2 > sizeof(cl->seeds))
			return perf_err(PERF_EFAIL, "cluster: seed list too "
			                            "long");
		snprintf(cl->seeds + len, sizeof(cl->seeds) - len, "%s%s",
		         len ? "," : "", cl->m[i].addr);
	}
	return 0;
}

/* start_nodes - all nodes at once; the time until every process sees
 * every node in 'l into *view_s. */
static int
start_nodes(struct cluster *cl, const struct perf_opts *o, double *ready_s,
            double *view_s)
{
	int64_t t0 = perf_now_ns(), last = 0;
	int i, rc = 0;

	for (i = 0; i < o->nodes && rc == 0; i++)
		rc = spawn(cl, o, 0, cl->seeds);
	if (rc == 0)
		rc = wait_all(cl, is_ready, 0, 60000 + 200 * o->nodes, "start");
	*ready_s = (double)(perf_now_ns() - t0) / 1e9;
	if (rc == 0)
		rc = wait_all(cl, has_all, 0, 60000 + 200 * o->nodes,
		              "see every node in 'l");
	for (i = 0; i < cl->n; i++)
		last = cl->m[i].all_t > last ? cl->m[i].all_t : last;
	*view_s = (double)(last - t0) / 1e9;
	return rc;
}

/* db_rounds - R sets, one at a time, each seen by every process. */
static int
db_rounds(struct cluster *cl, int rounds, struct perf_hist *h)
{
	int r, i, rc = 0;
	struct cmember *w;

	for (r = 1; r <= rounds && rc == 0; r++) {
		w = &cl->m[cl->g + (r - 1) % (cl->n - cl->g)];
		rc = perf_child_say(&w->c, "set %d", r) < 0
		             ? perf_err(PERF_EFAIL, "%s: cannot send", w->id.s)
		             : wait_all(cl, has_upd, r, ROUND_MS,
		                        "see a db_set");
		for (i = 0; i < cl->n && rc == 0; i++)
			perf_hist_add(h, cl->m[i].upd_lat);
	}
	return rc;
}

static long
rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

struct cl_figs {
	double ready_s, view_s, p50_ms, p99_ms, depart_s, recover_s;
	uint64_t samples;
	double rss_avg, rss_max, rss_gmax; /* MiB */
	char killed[AEMP_ID_MAX];
	int users; /* nodes that had the killed global as master */
};

static void
measure_rss(struct cluster *cl, struct cl_figs *f)
{
	double sum = 0, v;
	int i;

	for (i = 0; i < cl->n; i++) {
		v = (double)rss_kib(cl->m[i].c.pid) / 1024;
		if (cl->m[i].global) {
			f->rss_gmax = v > f->rss_gmax ? v : f->rss_gmax;
			continue;
		}
		sum += v;
		f->rss_max = v > f->rss_max ? v : f->rss_max;
	}
	f->rss_avg = sum / (cl->n - cl->g);
}

/* busiest - the global most nodes use as master; its index, or -1. */
static int
busiest(struct cluster *cl, int *users)
{
	int i, j, best = -1, count;

	*users = 0;
	for (j = 0; j < cl->g; j++) {
		for (i = cl->g, count = 0; i < cl->n; i++)
			count += strcmp(cl->m[i].master, cl->m[j].id.s) == 0;
		if (count > *users) {
			*users = count;
			best = j;
		}
	}
	return best;
}

static int64_t
latest(struct cluster *cl, int gone)
{
	int64_t t = 0, v;
	int i;

	for (i = 0; i < cl->n; i++) {
		if (cl->m[i].dead)
			continue;
		v = gone ? cl->m[i].gone_t : cl->m[i].upd_t;
		t = v > t ? v : t;
	}
	return t;
}

/* recover - kill the busiest global; time departure and database. */
static int
recover(struct cluster *cl, int seq, struct cl_figs *f)
{
	struct cmember *k, *w = NULL;
	int64_t t_kill;
	int i, rc = 0;

	for (i = 0; i < cl->n && rc == 0; i++)
		rc = perf_child_say(&cl->m[i].c, "master");
	if (rc == 0)
		rc = wait_all(cl, has_master, 0, ROUND_MS, "name a master");
	i = rc == 0 ? busiest(cl, &f->users) : -1;
	if (rc == 0 && i < 0)
		return perf_err(PERF_EFAIL, "cluster: no node names a global "
		                            "of this run as its master");
	if (rc != 0)
		return rc;
	k = &cl->m[i];
	snprintf(f->killed, sizeof(f->killed), "%s", k->id.s);
	for (i = 0; i < cl->n && rc == 0; i++)
		if (&cl->m[i] != k)
			rc = perf_child_say(&cl->m[i].c, "gone %s", k->id.s);
	k->dead = 1; /* no longer waited for */
	if (rc == 0)
		rc = wait_all(cl, is_watching, 0, ROUND_MS, "watch");
	for (i = cl->g; i < cl->n && w == NULL; i++)
		if (strcmp(cl->m[i].master, k->id.s) == 0)
			w = &cl->m[i];
	if (rc != 0)
		return rc;
	t_kill = perf_now_ns();
	kill(k->c.pid, SIGKILL);
	(void)perf_child_stop(&k->c); /* reaped; pump no longer reads it */
	if (perf_child_say(&w->c, "set %d", seq) < 0)
		return perf_err(PERF_EFAIL, "%s: cannot send", w->id.s);
	rc = wait_all(cl, saw_gone, 0, RECOVER_MS, "see the global leave");
	if (rc == 0)
		rc = wait_all(cl, has_upd, seq, RECOVER_MS,
		              "see a db_set after the kill");
	f->depart_s = (double)(latest(cl, 1) - t_kill) / 1e9;
	f->recover_s = (double)(latest(cl, 0) - t_kill) / 1e9;
	return rc;
}

/* ---- output --------------------------------------------------------- */

static void
report(const struct perf_opts *o, const struct cl_figs *f)
{
	if (o->json) {
		printf("{\"scenario\":\"cluster\",\"nodes\":%d,\"globals\":%d,"
		       "\"framing\":\"%s\",\"tls\":%s,\"ready_s\":%.3f,"
		       "\"view_s\":%.3f,\"db_samples\":%llu,"
		       "\"db_p50_ms\":%.3f,\"db_p99_ms\":%.3f,"
		       "\"killed\":\"%s\",\"killed_users\":%d,"
		       "\"departure_s\":%.3f,\"db_recovery_s\":%.3f,"
		       "\"rss_node_mib_avg\":%.1f,\"rss_node_mib_max\":%.1f,"
		       "\"rss_global_mib_max\":%.1f}\n",
		       o->nodes, o->globals, o->framings[0],
		       o->tls ? "true" : "false", f->ready_s, f->view_s,
		       (unsigned long long)f->samples, f->p50_ms, f->p99_ms,
		       f->killed, f->users, f->depart_s, f->recover_s,
		       f->rss_avg, f->rss_max, f->rss_gmax);
		return;
	}
	printf("cluster: %d nodes, %d globals, %s%s\n", o->nodes, o->globals,
	       o->framings[0], o->tls ? ", TLS" : "");
	printf("  all nodes started          %8.3f s\n", f->ready_s);
	printf("  full view in 'l            %8.3f s\n", f->view_s);
	printf("  db_set -> every db_mon     p50 %.3f ms  p99 %.3f ms  "
	       "(%llu samples)\n",
	       f->p50_ms, f->p99_ms, (unsigned long long)f->samples);
	if (f->killed[0] == '\0') {
		printf("  recovery: not measured (needs --globals 2 or "
		       "more)\n");
	} else {
		printf("  killed %s (master of %d nodes):\n", f->killed,
		       f->users);
		printf("    departure seen by all    %8.3f s\n", f->depart_s);
		printf("    database works again     %8.3f s\n", f->recover_s);
	}
	printf("  resident memory: node avg %.1f MiB, max %.1f MiB; "
	       "global max %.1f MiB\n",
	       f->rss_avg, f->rss_max, f->rss_gmax);
}

/* more_files - children inherit the limit: a global holds a socket per
 * node. */
static void
more_files(int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max &&
	    rl.rlim_cur < (rlim_t)need) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
perf_cluster(const struct perf_opts *o)
{
	struct cluster cl = {.g = o->globals};
	struct cl_figs f = {0};
	struct perf_hist *h = perf_hist_new();
	int rc = 0, rounds = o->count ? (int)o->count : 20;

	cl.total = o->nodes + o->globals;
	cl.m = calloc((size_t)cl.total, sizeof(*cl.m));
	cl.cs = calloc((size_t)cl.total, sizeof(*cl.cs));
	snprintf(cl.framing, sizeof(cl.framing), "%s", o->framings[0]);
	if (cl.m == NULL || cl.cs == NULL || h == NULL)
		rc = perf_err(PERF_EFAIL, "out of memory");
	if (rc == 0 && o->tls && !perf_cert_ok(o))
		rc = PERF_EFAIL;
	more_files(4 * cl.total + 64);
	if (rc == 0)
		rc = start_globals(&cl, o);
	if (rc == 0)
		rc = start_nodes(&cl, o, &f.ready_s, &f.view_s);
	if (rc == 0)
		rc = db_rounds(&cl, rounds, h);
	if (rc == 0) {
		f.samples = perf_hist_count(h);
		f.p50_ms = (double)perf_hist_quantile(h, 0.5) / 1e6;
		f.p99_ms = (double)perf_hist_quantile(h, 0.99) / 1e6;
		measure_rss(&cl, &f);
		rc = cl.g > 1 ? recover(&cl, rounds + 1, &f) : 0;
	}
	if (rc == 0)
		report(o, &f);
	cluster_stop(&cl);
	perf_hist_free(h);
	return rc;
}
