/*
 * tests/integ/fault_reset.c - connections reset under traffic.
 *
 * In a network namespace of its own (root needed; exit 77 otherwise),
 * the driver's node "drv" (global, the seed, two listeners A and B)
 * exchanges sequence-checked streams with node "p" (a child process,
 * seed A, listener P) in both directions, and pings node "o" (seed B).
 * Five times, `ss -K` destroys p's end of every connection between p and
 * drv (local abort at p, a real RST at drv).  Each time:
 *  - both sides' monitors fire with a transport error;
 *  - both streams resume (measured: time from the reset until each
 *    consumer receives again), every hole covered by a mark (no message
 *    delivered after a loss before the sender's monitor fired);
 *  - o is served throughout (no failed ping).
 *
 * aemp-test-timeout: 60
 */
#include "tests/integ/procs.h"

static struct seq_rx rx;
static struct seq_tx tx;
static struct pinger ping;

struct addrs {
	char a[64], b[64];
	int port_a;
};

static void
listeners(aemp_node *n, struct addrs *ad)
{
	char lst[256];
	aemp_val *v = NULL;

	aemp_node_listeners(n, lst, sizeof(lst));
	if (aemp_json_parse(lst, strlen(lst), &v) < 0 || v->len < 2) {
		printf("# listeners: %s\n", lst);
		exit(1);
	}
	snprintf(ad->a, sizeof(ad->a), "%.*s", (int)v->u.a[0].len,
	         v->u.a[0].u.s);
	snprintf(ad->b, sizeof(ad->b), "%.*s", (int)v->u.a[1].len,
	         v->u.a[1].u.s);
	ad->port_a = atoi(strrchr(ad->a, ':') + 1);
	aemp_val_free(v);
}

static int
spawn(const char *id, const char *seed, const char **extra, char *addr,
      size_t cap)
{
	char conf[512];
	const char *argv[12] = {"node", id, conf};
	int i, k = 3;

	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"geheim\","
	         "\"shards\":2,\"seeds\":[\"%s\"],\"monitor_timeout\":5,"
	         "\"connect_interval\":1}",
	         seed);
	while (*extra != NULL && k < 11)
		argv[k++] = *extra++;
	argv[k] = NULL;
	i = proc_spawn(argv);
	if (i < 0 || proc_line(i, "addr ", addr, cap, 15) < 0)
		return -1;
	return i;
}

static long
p_recv(int p)
{
	char stat[2048];

	return proc_latest(p, "stat ", stat, sizeof(stat), 1) == 0
	               ? stat_get(stat, "rx0.recv")
	               : -1;
}

/* One reset; returns 0 if everything recovered. */
static int
reset_once(int p, int port_a, int port_p, double *t_fire, double *t_drv,
           double *t_p)
{
	long fires0 = atomic_load(&tx.fires), p0 = p_recv(p);
	long marks0 = atomic_load(&rx.marks), at_mark = -1;
	double t0 = tu_now();

	*t_fire = *t_drv = *t_p = -1;
	if (proc_sh("ss -K -t '( dport = :%d or sport = :%d )'", port_a,
	            port_p) != 0)
		return -1;
	while (tu_now() - t0 < 10 && (*t_fire < 0 || *t_drv < 0 || *t_p < 0)) {
		pinger_tick(&ping);
		if (*t_fire < 0 && atomic_load(&tx.fires) > fires0)
			*t_fire = tu_now() - t0;
		/* p's producer marks after its monitor fired; data after */
		if (at_mark < 0 && atomic_load(&rx.marks) > marks0)
			at_mark = atomic_load(&rx.recv);
		if (*t_drv < 0 && at_mark >= 0 &&
		    atomic_load(&rx.recv) > at_mark)
			*t_drv = tu_now() - t0;
		if (*t_p < 0 && p_recv(p) > p0 + 1000)
			*t_p = tu_now() - t0;
		usleep(2000);
	}
	return *t_fire >= 0 && *t_drv >= 0 && *t_p >= 0 ? 0 : -1;
}

static void
resets(int p, int port_a, int port_p)
{
	double f, d, q, max_f = 0, max_d = 0, max_q = 0, end;
	int i, ok = 1;

	for (i = 0; i < 5; i++) {
		for (end = tu_now() + 0.8; tu_now() < end; usleep(2000))
			pinger_tick(&ping);
		tx.reason[0] = '\0';
		if (reset_once(p, port_a, port_p, &f, &d, &q) < 0)
			ok = 0;
		DIAG("reset %d: drv's monitor fired after %.3f s (%s); streams "
		     "resumed at drv after %.3f s, at p after %.3f s (+-0.1)",
		     i + 1, f, tx.reason, d, q);
		max_f = f > max_f ? f : max_f;
		max_d = d > max_d ? d : max_d;
		max_q = q > max_q ? q : max_q;
	}
	CHECK(ok);
	/* A reset is seen at the next read (0.02-0.4 s on an idle machine);
	 * the bound only has to stay below monitor_timeout (5 s), which is
	 * what detection without the reset would take: a loaded machine
	 * (load 8 on 2 CPUs) took 1.2 s once in 13 runs. */
	CHECK(max_f < 2.5);
	CHECK(max_d < 3.0 && max_q < 3.0);
	CHECK(strncmp(tx.reason, "[\"transport_error\",\"p\",", 23) == 0);
}

int
main(int argc, char **argv)
{
	const char *px[] = {"rx", "rx", "tx", "drv#rx", "200000", NULL};
	const char *ox[] = {"echo", "echo", NULL};
	char why[256], paddr[64], oaddr[64], stat[2048];
	struct addrs ad;
	aemp_node *drv;
	int p, o;

	if (argc > 2 && strcmp(argv[1], "--role") == 0) {
		procs_child_init();
		return proc_role_node(argv + 3);
	}
	if (procs_netns_private(why, sizeof(why)) < 0)
		TAP_SKIP_ALL("%s", why);
	if (proc_sh("ss -V") != 0)
		TAP_SKIP_ALL("ss (iproute2) not installed");
	procs_init();
	alarm(55);
	drv = tu_node_json("drv",
	                   "{\"binds\":[\"127.0.0.1:0\",\"127.0.0.2:0\"],"
	                   "\"secret\":\"geheim\",\"shards\":2,"
	                   "\"services\":[\"AnyEvent::MP::Global::\"],"
	                   "\"monitor_timeout\":5,"
	                   "\"connect_interval\":1}");
	CHECK_OK(seq_rx_open(drv, "drv#rx", &rx));
	tu_start(drv);
	listeners(drv, &ad);
	p = spawn("p", ad.a, px, paddr, sizeof(paddr));
	o = spawn("o", ad.b, ox, oaddr, sizeof(oaddr));
	CHECK(p >= 0 && o >= 0);
	if (p < 0 || o < 0)
		return tap_done();
	CHECK(TU_WAIT(aemp_node_is_up(drv, "p") == 1 &&
	                      aemp_node_is_up(drv, "o") == 1,
	              10));
	ping.node = drv;
	snprintf(ping.port, sizeof(ping.port), "o#echo");
	CHECK_OK(seq_tx_start(drv, &tx, "p#rx", 200000));
	CHECK(TU_WAIT(atomic_load(&rx.recv) > 1000, 10));
	resets(p, ad.port_a, atoi(strrchr(paddr, ':') + 1));
	CHECK(proc_latest(p, "stat ", stat, sizeof(stat), 2) == 0);
	DIAG("p received %ld (%ld lost in %ld holes, all after a mark); drv "
	     "received %ld (%ld lost in %ld holes); pings: %ld ok, %ld failed, "
	     "slowest %ld us",
	     stat_get(stat, "rx0.recv"), stat_get(stat, "rx0.lost"),
	     stat_get(stat, "rx0.gaps"), atomic_load(&rx.recv),
	     atomic_load(&rx.lost), atomic_load(&rx.gaps),
	     atomic_load(&ping.ok), atomic_load(&ping.failed),
	     atomic_load(&ping.max_us));
	CHECK_EQ(stat_get(stat, "rx0.viol"), 0);
	CHECK_EQ(atomic_load(&rx.violations), 0);
	if (atomic_load(&rx.violations))
		DIAG("at drv: %s", rx.first_violation);
	CHECK_EQ(atomic_load(&ping.failed), 0);
	CHECK(stat_get(stat, "tx0.fires") >= 5);
	atomic_store(&tx.stopped, 1);
	aemp_node_free(drv);
	return tap_done();
}
