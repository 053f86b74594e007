/*
 * tests/integ/node_gc.c - records of departed nodes are freed: a global
 * node G and a service node S run for the whole test; short-lived
 * listener-less client nodes, a batch at a time, each seed G, find S
 * through it (g_find), do one cal to a port of S and leave.  Afterwards
 * the remote-node record counts (aemp_stats.remote_nodes) of G and S are
 * back to their baseline and nothing of the clients stays allocated: the
 * heap in use (jemalloc's count, release builds) is at most 1 MiB above
 * where it was after a warm-up round, and the process's resident memory
 * within a bound of it (docs/perf.md).  The clients cal with a timeout,
 * so the cal leaves no monitor proxy on the service; but every other
 * client also monitors the service's port and leaves without cancelling
 * it: the service frees that proxy when the client's connection ends
 * (aemp_stats.monitors back to its baseline).
 *
 * Threads: the main thread drives; handlers and reply callbacks run on
 * shard threads and only touch atomics.
 *
 * AEMP_GC_NODES sets the number of clients (default 300 in make test;
 * `make soak-gc` runs 20,000), AEMP_GC_BATCH how many run at once.
 *
 * aemp-test-timeout: 300
 */
#include "tests/engine_util.h"

#define GC_DELAY "0.2" /* node_gc_delay of G and S, seconds */

/* OK(cond, fmt, ...): a TAP check with a message on failure. */
#define OK(cond, ...)                                                          \
	tap_result(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)

static aemp_id svc_port;
static char seed_addr[256];
static atomic_int replies, failures;

static aemp_node *
mknode(const char *id, int listen)
{
	char conf[1024];

	snprintf(conf, sizeof(conf),
	         "{\"binds\":%s,\"secret\":\"geheim\",\"shards\":1,"
	         "\"connect_interval\":1,\"node_gc_delay\":" GC_DELAY
	         ",\"seeds\":%s}",
	         listen ? "[\"127.0.0.1:0\"]" : "[]",
	         seed_addr[0] ? seed_addr : "[]");
	return tu_node_json(id, conf);
}

/* The service: ["ping", N, REPLYPORT] -> ["pong", N]. */
static int
h_ping(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	char to[AEMP_ID_MAX];

	(void)arg;
	if (n != 3 || msg[2].type != AEMP_STR || msg[2].len >= sizeof(to))
		return aemp_fail(node, "bad request");
	snprintf(to, sizeof(to), "%.*s", (int)msg[2].len, msg[2].u.s);
	return aemp_snd(node, to, AEMP_MSG(aemp_str("pong"), msg[1]));
}

static void
on_mon(aemp_node *node, const aemp_val *reason, size_t n, void *arg)
{
	(void)node;
	(void)reason;
	(void)n;
	(void)arg;
}

static void
on_reply(aemp_node *node, int status, const aemp_val *reply, size_t n,
         void *arg)
{
	(void)node;
	(void)reply;
	(void)arg;
	if (status == 0 && n == 2)
		atomic_fetch_add(&replies, 1);
	else
		atomic_fetch_add(&failures, 1);
}

static uint64_t
records(aemp_node *n)
{
	aemp_stats st;

	aemp_stats_get(n, &st);
	return st.remote_nodes;
}

static uint64_t
monitors(aemp_node *n)
{
	aemp_stats st;

	aemp_stats_get(n, &st);
	return st.monitors;
}

/* jemalloc's control interface, present in release builds only: dirty
 * pages it keeps for reuse would otherwise count as growth. */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
                   size_t newlen) __attribute__((weak));

/* heap_kib - bytes the allocator has handed out and not got back (KiB),
 * or -1 without jemalloc. */
static long
heap_kib(void)
{
	uint64_t epoch = 1;
	size_t allocated = 0, sz = sizeof(allocated);

	if (mallctl == NULL ||
	    mallctl("epoch", NULL, NULL, &epoch, sizeof(epoch)) != 0 ||
	    mallctl("stats.allocated", &allocated, &sz, NULL, 0) != 0)
		return -1;
	return (long)(allocated / 1024);
}

/* rss_kib - the process's resident set (VmRSS), KiB, after returning the
 * allocator's unused dirty pages. */
static long
rss_kib(void)
{
	FILE *f;
	char line[256];
	long kib = -1;

	if (mallctl != NULL)
		mallctl("arena.4096.purge", NULL, NULL, NULL, 0); /* all */
	f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

/* One batch: start `batch` clients, each cals S once; wait for the answers
 * (bounded), then free them all.  Returns the clients that got no reply. */
static int
run_batch(int first, int batch)
{
	aemp_node *c[64];
	char id[64];
	int i, want = atomic_load(&replies) + atomic_load(&failures) + batch;

	for (i = 0; i < batch; i++) {
		snprintf(id, sizeof(id), "gcc%d", first + i);
		c[i] = mknode(id, 0);
		tu_start(c[i]);
	}
	for (i = 0; i < batch; i++) {
		/* before the cal, so its mon1 reaches S before the request */
		if ((first + i) % 2 == 0 &&
		    aemp_mon(c[i], svc_port.s, on_mon, NULL, NULL) < 0)
			atomic_fetch_add(&failures, 1);
		if (aemp_cal(c[i], svc_port.s,
		             AEMP_MSG(aemp_str("ping"), aemp_int(first + i)),
		             on_reply, NULL, 10.0, NULL) < 0)
			atomic_fetch_add(&failures, 1);
	}
	TU_WAIT(atomic_load(&replies) + atomic_load(&failures) >= want, 30);
	for (i = 0; i < batch; i++)
		aemp_node_free(c[i]);
	return want - atomic_load(&replies) - atomic_load(&failures);
}

static int
run_clients(int first, int total, int batch)
{
	int done = 0, lost = 0, b;

	while (done < total) {
		b = AEMP_MIN(batch, total - done);
		lost += run_batch(first + done, b);
		done += b;
	}
	return lost;
}

static int
env_int(const char *name, int def, int max)
{
	const char *v = getenv(name);
	int x = v != NULL ? atoi(v) : def;

	return x < 1 ? def : AEMP_MIN(x, max);
}

int
main(void)
{
	aemp_node *g, *s;
	int total = env_int("AEMP_GC_NODES", 300, 1000000);
	int batch = env_int("AEMP_GC_BATCH", 16, 64), warm = batch * 4, lost;
	uint64_t g0, s0, m0;
	long rss0, rss1, heap0, heap1;
	double t0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	g = mknode("gcglobal", 1);
	aemp_node_listeners(g, seed_addr, sizeof(seed_addr));
	s = mknode("gcsvc", 1);
	CHECK_OK(aemp_port(s, h_ping, NULL, &svc_port));
	tu_start(g);
	tu_start(s);
	OK(TU_WAIT(aemp_node_is_up(s, "gcglobal") == 1 &&
	                   aemp_node_is_global(g) == 1 &&
	                   aemp_node_is_up(g, "gcsvc") == 1,
	           20),
	   "service node is up at the global");
	g0 = records(g);
	s0 = records(s);
	m0 = monitors(s);
	printf("# baseline records: global %llu, service %llu; service's "
	       "monitors %llu\n",
	       (unsigned long long)g0, (unsigned long long)s0,
	       (unsigned long long)m0);

	/* warm-up: pools, tables and the allocator reach their working size */
	lost = run_clients(0, warm, batch);
	TU_WAIT(records(g) == g0 && records(s) == s0, 20);
	rss0 = rss_kib();
	heap0 = heap_kib();

	t0 = tu_now();
	lost += run_clients(warm, total, batch);
	printf("# %d clients in %.1f s; records now: global %llu, service "
	       "%llu\n",
	       total, tu_now() - t0, (unsigned long long)records(g),
	       (unsigned long long)records(s));
	OK(lost == 0 && atomic_load(&failures) == 0 &&
	           atomic_load(&replies) == warm + total,
	   "every client got its reply (%d replies, %d failures, %d lost)",
	   atomic_load(&replies), atomic_load(&failures), lost);
	OK(TU_WAIT(records(g) == g0, 30),
	   "global's records back to %llu "
	   "(now %llu)",
	   (unsigned long long)g0, (unsigned long long)records(g));
	OK(TU_WAIT(records(s) == s0, 30),
	   "service's records back to %llu "
	   "(now %llu)",
	   (unsigned long long)s0, (unsigned long long)records(s));
	OK(TU_WAIT(monitors(s) == m0, 30),
	   "service's monitors back to %llu (now %llu): the proxies of the "
	   "departed clients' monitors are freed",
	   (unsigned long long)m0, (unsigned long long)monitors(s));
	OK(aemp_node_is_up(s, "gcc0") == AEMP_ENONODE &&
	           aemp_node_is_up(g, "gcc0") == AEMP_ENONODE,
	   "a departed client is unknown again");
	rss1 = rss_kib();
	heap1 = heap_kib();
	printf("# resident: %ld KiB after warm-up, %ld KiB after %d clients "
	       "(+%ld KiB); heap in use %ld -> %ld KiB\n",
	       rss0, rss1, total, rss1 - rss0, heap0, heap1);
	/* Nothing of the clients stays allocated: the heap in use is not
	 * larger than after the warm-up (1 MiB slack for pools that grew). */
	OK(heap0 < 0 || heap1 <= heap0 + 1024,
	   "heap in use grew from %ld to %ld KiB", heap0, heap1);
	/* The resident bound (docs/perf.md): 16 MiB, whatever the number of
	 * clients; it covers the allocator's own growth from running 20,000
	 * nodes in this one process (measured: +0.6 MiB for 300 clients,
	 * about +9 MiB for 20,000). */
	if (mallctl != NULL)
		OK(rss1 - rss0 < 16384,
		   "resident memory grew by %ld KiB (>= 16 MiB)", rss1 - rss0);
	else /* sanitizer builds: the quarantine holds freed memory */
		DIAG("no resident bound without jemalloc");
	aemp_node_free(s);
	aemp_node_free(g);
	return tap_done();
}
