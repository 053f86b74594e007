/*
 * tests/integ/fault_net.c - packet loss and a blackhole between two
 * nodes, with iptables in a network namespace of the test's own (root
 * and iptables needed; exit 77 otherwise).  The namespace disappears with
 * the test's processes, rules and settings included.
 *
 * The driver's node "drv" (global, the seed, listeners A and B) and node
 * "p" (a child, seed A, listener P) exchange sequence-checked streams of
 * 50k messages/s each way; "o" (seed B) answers drv's pings.  The rules
 * match the ports A and P only, so o's traffic is never touched.
 *  1. 10% of the packets between drv and p dropped for 4 s: the streams
 *     slow down but go on without a hole (TCP retransmits), o is served;
 *  2. every packet between drv and p dropped (a blackhole: no RST, no
 *     error): the busy connection dies of TCP's retransmission timeout
 *     (net.ipv4.tcp_retries2, set to 3 in the namespace: about 3 s;
 *     the kernel default of 15 takes about 15 minutes), both monitors
 *     fire, drv's memory stays bounded by max_queue, o is served;
 *  3. the blackhole is lifted: the nodes reconnect (measured) and both
 *     streams resume, every hole covered by a mark.
 *
 * aemp-test-timeout: 90
 */
#include "tests/integ/procs.h"

#define RATE "50000"

static struct seq_rx rx;
static struct seq_tx tx;
static struct pinger ping;
static int port_a, port_p;

/* rules - add (op 'A') or delete (op 'D') the rules for drv <-> p. */
static int
rules(char op, const char *match)
{
	int rc = 0;

	rc |= proc_sh("iptables -%c INPUT -p tcp --dport %d %s -j DROP", op,
	              port_a, match);
	rc |= proc_sh("iptables -%c INPUT -p tcp --sport %d %s -j DROP", op,
	              port_a, match);
	rc |= proc_sh("iptables -%c INPUT -p tcp --dport %d %s -j DROP", op,
	              port_p, match);
	rc |= proc_sh("iptables -%c INPUT -p tcp --sport %d %s -j DROP", op,
	              port_p, match);
	return rc;
}

static void
serve(double secs)
{
	double end = tu_now() + secs;

	while (tu_now() < end) {
		pinger_tick(&ping);
		usleep(2000);
	}
}

static long
p_stat(int p, const char *key)
{
	char stat[2048];

	return proc_latest(p, "stat ", stat, sizeof(stat), 1) == 0
	               ? stat_get(stat, key)
	               : -1;
}

static void
loss(int p)
{
	long d0 = atomic_load(&rx.recv), p0 = p_stat(p, "rx0.recv"), d1, p1;
	double t0 = tu_now();

	CHECK_OK(rules('A', "-m statistic --mode random --probability 0.1"));
	serve(4);
	d1 = atomic_load(&rx.recv);
	p1 = p_stat(p, "rx0.recv");
	CHECK_OK(rules('D', "-m statistic --mode random --probability 0.1"));
	DIAG("10%% loss for %.1f s: drv received %.0f msgs/s, p %.0f msgs/s "
	     "(offered " RATE "); monitor firings %ld; slowest ping to o %ld "
	     "us",
	     tu_now() - t0, (double)(d1 - d0) / (tu_now() - t0),
	     (double)(p1 - p0) / (tu_now() - t0), atomic_load(&tx.fires),
	     atomic_load(&ping.max_us));
	CHECK(d1 > d0 && p1 > p0);
	CHECK_EQ(atomic_load(&rx.violations), 0);
	CHECK_EQ(p_stat(p, "rx0.viol"), 0);
	CHECK_EQ(atomic_load(&ping.failed), 0);
}

static void
blackhole(int p)
{
	long fires0 = atomic_load(&tx.fires), rss0 = proc_rss_kb(0), rss = 0;
	long p_fires0 = p_stat(p, "tx0.fires"), recv_heal, p_heal;
	double t0, t_fire = -1, t_p = -1, t_heal, t_drv = -1, t_pr = -1;

	tx.reason[0] = '\0';
	atomic_store(&ping.max_us, 0);
	CHECK_OK(rules('A', ""));
	for (t0 = tu_now(); tu_now() - t0 < 40 && (t_fire < 0 || t_p < 0);) {
		serve(0.05);
		rss = proc_rss_kb(0) > rss ? proc_rss_kb(0) : rss;
		if (t_fire < 0 && atomic_load(&tx.fires) > fires0)
			t_fire = tu_now() - t0;
		if (t_p < 0 && p_stat(p, "tx0.fires") > p_fires0)
			t_p = tu_now() - t0;
	}
	DIAG("blackhole: drv's monitor fired after %.2f s (%s), p's after "
	     "%.2f s; drv rss %+ld KiB; slowest ping to o %ld us",
	     t_fire, tx.reason, t_p, rss - rss0, atomic_load(&ping.max_us));
	CHECK(t_fire > 0 && t_fire < 15);
	CHECK(t_p > 0 && t_p < 15);
	CHECK(rss - rss0 < RSS_MAX(16 * 1024));
	CHECK(atomic_load(&ping.max_us) < 500000);
	serve(1);
	recv_heal = atomic_load(&rx.recv);
	p_heal = p_stat(p, "rx0.recv");
	CHECK_OK(rules('D', ""));
	for (t_heal = tu_now();
	     tu_now() - t_heal < 20 && (t_drv < 0 || t_pr < 0);) {
		serve(0.05);
		if (t_drv < 0 && atomic_load(&rx.recv) > recv_heal + 1000)
			t_drv = tu_now() - t_heal;
		if (t_pr < 0 && p_stat(p, "rx0.recv") > p_heal + 1000)
			t_pr = tu_now() - t_heal;
	}
	DIAG("blackhole lifted: streams resumed at drv after %.2f s, at p "
	     "after %.2f s (+-0.1)",
	     t_drv, t_pr);
	CHECK(t_drv >= 0 && t_drv < 12);
	CHECK(t_pr >= 0 && t_pr < 12);
}

static void
summary(int p)
{
	char stat[2048];

	CHECK(proc_latest(p, "stat ", stat, sizeof(stat), 2) == 0);
	DIAG("p received %ld (%ld lost in %ld holes after marks); drv received "
	     "%ld (%ld lost in %ld holes); pings %ld ok, %ld failed",
	     stat_get(stat, "rx0.recv"), stat_get(stat, "rx0.lost"),
	     stat_get(stat, "rx0.gaps"), atomic_load(&rx.recv),
	     atomic_load(&rx.lost), atomic_load(&rx.gaps),
	     atomic_load(&ping.ok), atomic_load(&ping.failed));
	CHECK_EQ(stat_get(stat, "rx0.viol"), 0);
	CHECK_EQ(atomic_load(&rx.violations), 0);
	CHECK_EQ(atomic_load(&ping.failed), 0);
}

int
main(int argc, char **argv)
{
	const char *px[] = {"rx", "rx", "tx", "drv#rx", RATE, NULL};
	const char *ox[] = {"echo", "echo", NULL};
	char why[256], a[64], b[64], paddr[64], oaddr[64], conf[512];
	aemp_node *drv;
	FILE *f;
	int p, o;

	if (argc > 2 && strcmp(argv[1], "--role") == 0) {
		procs_child_init();
		return proc_role_node(argv + 3);
	}
	if (procs_netns_private(why, sizeof(why)) < 0)
		TAP_SKIP_ALL("%s", why);
	if (proc_sh("iptables -L INPUT") != 0)
		TAP_SKIP_ALL("iptables not usable (tools/deps.sh installs it)");
	if ((f = fopen("/proc/sys/net/ipv4/tcp_retries2", "w")) == NULL ||
	    fprintf(f, "3\n") < 0 || fclose(f) != 0)
		TAP_SKIP_ALL("cannot set net.ipv4.tcp_retries2");
	procs_init();
	alarm(85);
	drv = tu_node_json("drv",
	                   "{\"binds\":[\"127.0.0.1:0\",\"127.0.0.2:0\"],"
	                   "\"secret\":\"geheim\",\"shards\":2,"
	                   "\"services\":[\"AnyEvent::MP::Global::\"],"
	                   "\"max_packet\":65536,\"max_queue\":1048576,"
	                   "\"monitor_timeout\":3,"
	                   "\"connect_interval\":1}");
	CHECK_OK(seq_rx_open(drv, "drv#rx", &rx));
	tu_start(drv);
	port_a = proc_listener(drv, 0, a, sizeof(a));
	proc_listener(drv, 1, b, sizeof(b));
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"geheim\","
	         "\"shards\":2,\"seeds\":[\"%s\"],\"monitor_timeout\":3,"
	         "\"connect_interval\":1}",
	         a);
	p = proc_spawn_node("p", conf, px, paddr, sizeof(paddr));
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"geheim\","
	         "\"shards\":1,\"seeds\":[\"%s\"],\"monitor_timeout\":3}",
	         b);
	o = proc_spawn_node("o", conf, ox, oaddr, sizeof(oaddr));
	CHECK(p >= 0 && o >= 0);
	if (p < 0 || o < 0)
		return tap_done();
	port_p = atoi(strrchr(paddr, ':') + 1);
	CHECK(TU_WAIT(aemp_node_is_up(drv, "p") == 1 &&
	                      aemp_node_is_up(drv, "o") == 1,
	              10));
	ping.node = drv;
	snprintf(ping.port, sizeof(ping.port), "o#echo");
	CHECK_OK(seq_tx_start(drv, &tx, "p#rx", atof(RATE)));
	serve(1);
	loss(p);
	blackhole(p);
	serve(0.5);
	summary(p);
	atomic_store(&tx.stopped, 1);
	aemp_node_free(drv);
	return tap_done();
}
