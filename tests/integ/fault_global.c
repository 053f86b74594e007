/*
 * tests/integ/fault_global.c - the global node restarting.
 *
 * "g" (a child process, the only seed and global node, fixed port)
 * serves the database to "a" (a child that registers a#w in family
 * "workers" and consumes a stream on a#rx) and to "m" (the driver's node,
 * which mirrors "workers" with db_mon, monitors node g, and streams to
 * a#rx over the direct connection it found through g).  Twice, g is
 * SIGKILLed and restarted on the same port:
 *  - m's monitor of g fires with a transport error (measured);
 *  - the stream m -> a goes on while g is away: no monitor firing, no
 *    hole (global nodes are not on the data path);
 *  - after the restart, m reconnects to g (measured; the seed retry
 *    delay doubles up to monitor_timeout, 2 s here) and its mirror shows
 *    a#w again (measured): a re-registered with the new g, m re-sent its
 *    g_mon1 and resynchronised;
 *  - a database query answers a#w again.
 *
 * aemp-test-timeout: 90
 */
#include "tests/integ/procs.h"

static struct seq_tx tx;
static atomic_int g_fired, mirror_has_w, mirror_calls, keys_has_w, keys_busy;
static char g_reason[256];

static void
dbmon(aemp_node *n, const char *family, const aemp_dbmirror *mirror,
      const aemp_val *added, const aemp_val *changed, const aemp_val *deleted,
      void *arg)
{
	(void)n;
	(void)family;
	(void)added;
	(void)changed;
	(void)deleted;
	(void)arg;
	atomic_store(&mirror_has_w,
	             aemp_dbmirror_get(mirror, "a#w", 3) != NULL);
	atomic_fetch_add(&mirror_calls, 1);
}

static void
keys_cb(aemp_node *n, const char *family, const aemp_val *result, void *arg)
{
	uint32_t i;

	(void)n;
	(void)family;
	(void)arg;
	for (i = 0; result->type == AEMP_ARRAY && i < result->len; i++)
		if (aemp_str_eq(&result->u.a[i], "a#w"))
			atomic_store(&keys_has_w, 1);
	atomic_store(&keys_busy, 0);
}

static void
g_died(aemp_node *n, const aemp_val *reason, size_t cnt, void *arg)
{
	aemp_val a = aemp_array(reason, cnt);

	(void)n;
	(void)arg;
	aemp_json_format(&a, g_reason, sizeof(g_reason));
	atomic_store(&g_fired, 1);
}

static int
start_g(const char *gconf)
{
	char addr[64];
	const char *none[] = {NULL};

	return proc_spawn_node("g", gconf, none, addr, sizeof(addr));
}

static long
a_recv(int a)
{
	char stat[2048];

	return proc_latest(a, "stat ", stat, sizeof(stat), 1) == 0
	               ? stat_get(stat, "rx0.recv")
	               : -1;
}

static void
restart(aemp_node *m, int *g, int a, const char *gconf, int round)
{
	double t0, t_fire, t_up = -1, t_mirror = -1, t_keys = -1;
	long fires0 = atomic_load(&tx.fires), recv0;
	int calls0;

	atomic_store(&g_fired, 0);
	CHECK_OK(aemp_mon(m, "g", g_died, NULL, NULL));
	t0 = tu_now();
	proc_kill(*g, SIGKILL);
	CHECK(TU_WAIT(atomic_load(&g_fired), 10));
	t_fire = tu_now() - t0;
	recv0 = a_recv(a);
	usleep(1500000); /* g stays away for 1.5 s */
	CHECK(a_recv(a) > recv0 + 10000);
	CHECK_EQ(atomic_load(&tx.fires), fires0);
	calls0 = atomic_load(&mirror_calls);
	atomic_store(&keys_has_w, 0);
	t0 = tu_now();
	*g = start_g(gconf);
	CHECK(*g >= 0);
	while (tu_now() - t0 < 20 && (t_up < 0 || t_mirror < 0 || t_keys < 0)) {
		if (t_up < 0 && aemp_node_is_up(m, "g") == 1)
			t_up = tu_now() - t0;
		/* ask until the answer has a#w (a may register after m) */
		if (t_up >= 0 && !atomic_load(&keys_has_w) &&
		    !atomic_exchange(&keys_busy, 1))
			aemp_db_keys(m, "workers", keys_cb, NULL);
		if (t_mirror < 0 && atomic_load(&mirror_calls) > calls0 &&
		    atomic_load(&mirror_has_w))
			t_mirror = tu_now() - t0;
		if (t_keys < 0 && atomic_load(&keys_has_w))
			t_keys = tu_now() - t0;
		usleep(2000);
	}
	DIAG("round %d: m's monitor of g fired %.3f s after the kill (%s); "
	     "after the restart m reconnected in %.2f s, its mirror had a#w "
	     "again after %.2f s, a query after %.2f s",
	     round, t_fire, g_reason, t_up, t_mirror, t_keys);
	CHECK(strncmp(g_reason, "[\"transport_error\",\"g\",", 23) == 0);
	CHECK(t_fire < 1);
	CHECK(t_up >= 0 && t_up < 6);
	CHECK(t_mirror >= 0 && t_mirror < 8);
	CHECK(t_keys >= 0 && t_keys < 8);
}

int
main(int argc, char **argv)
{
	const char *ax[] = {"rx", "rx", "reg", "workers", "w", NULL};
	char gconf[256], conf[256], addr[64];
	int g, a, port = free_port(), round;
	aemp_node *m;

	if (argc > 2 && strcmp(argv[1], "--role") == 0) {
		procs_child_init();
		return proc_role_node(argv + 3);
	}
	procs_init();
	alarm(85);
	snprintf(gconf, sizeof(gconf),
	         "{\"binds\":[\"127.0.0.1:%d\"],\"secret\":\"geheim\","
	         "\"shards\":1,\"services\":[\"AnyEvent::MP::Global::\"],"
	         "\"monitor_timeout\":2,\"connect_interval\":1}",
	         port);
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"geheim\","
	         "\"shards\":2,\"seeds\":[\"127.0.0.1:%d\"],"
	         "\"monitor_timeout\":2,\"connect_interval\":1}",
	         port);
	g = start_g(gconf);
	a = proc_spawn_node("a", conf, ax, addr, sizeof(addr));
	CHECK(g >= 0 && a >= 0);
	if (g < 0 || a < 0)
		return tap_done();
	m = tu_node_json("m", conf);
	CHECK_OK(aemp_db_mon(m, "workers", dbmon, NULL, NULL));
	tu_start(m);
	CHECK(TU_WAIT(atomic_load(&mirror_has_w), 10));
	CHECK_OK(seq_tx_start(m, &tx, "a#rx", 50000));
	CHECK(TU_WAIT(a_recv(a) > 10000, 10));
	CHECK(aemp_node_is_up(m, "a") == 1);
	for (round = 1; round <= 2; round++)
		restart(m, &g, a, gconf, round);
	atomic_store(&tx.stopped, 1);
	usleep(200000);
	{
		char stat[2048];

		CHECK(proc_latest(a, "stat ", stat, sizeof(stat), 2) == 0);
		DIAG("a received %ld from m, %ld holes, %ld violations; m's "
		     "stream monitor fired %ld times",
		     stat_get(stat, "rx0.recv"), stat_get(stat, "rx0.gaps"),
		     stat_get(stat, "rx0.viol"), atomic_load(&tx.fires));
		CHECK_EQ(stat_get(stat, "rx0.viol"), 0);
		CHECK_EQ(stat_get(stat, "rx0.gaps"), 0);
	}
	aemp_node_free(m);
	return tap_done();
}
