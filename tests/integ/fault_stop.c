/*
 * tests/integ/fault_stop.c - a peer that hangs (SIGSTOP: the kernel keeps
 * the TCP connection open and ACKs, but nobody reads, so no RST and no
 * error ever reaches the sender).
 *
 * The driver's node "drv" (global, the seed) streams sequence-numbered
 * messages to consumer "c" (a child process) as fast as it may, and
 * pings a third node "o" all the time.  Then:
 *  1. c is stopped for 3 s: drv's sends run into back pressure (-EAGAIN
 *     at max_queue), drv's memory stays within max_queue plus slack, o
 *     keeps answering pings promptly, no monitor fires (c is alive);
 *  2. c continues (SIGCONT): the stream resumes where it stopped, without
 *     a hole (measured: time until c receives again);
 *  3. c is stopped again and then SIGKILLed while stopped: drv's monitor
 *     of c's port fires with a transport error (measured: detection
 *     time), and drv still serves o.
 *
 * aemp-test-timeout: 90
 */
#include "tests/engine_util.h"
#include "tests/integ/procs.h"

#define MAX_QUEUE (1 << 20)

static const char *const drv_conf =
        "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"geheim\",\"shards\":2,"
        "\"services\":[\"AnyEvent::MP::Global::\"],\"max_packet\":65536,\"max_"
        "queue\":1048576,"
        "\"monitor_timeout\":5,"
        "\"connect_interval\":1}";

static struct seq_tx tx;
static struct pinger ping;

static int
spawn_child(const char *id, const char *seed, const char *kind,
            const char *port)
{
	char conf[512], addr[128];
	const char *argv[] = {"node", id, conf, kind, port, NULL};
	int i;

	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"geheim\","
	         "\"shards\":2,\"seeds\":[\"%s\"],\"monitor_timeout\":5,"
	         "\"connect_interval\":1}",
	         seed);
	i = proc_spawn(argv);
	if (i < 0 || proc_line(i, "addr ", addr, sizeof(addr), 15) < 0)
		return -1;
	return i;
}

/* Wait up to secs, pinging o; returns the stat line of child c. */
static void
run_for(double secs, int c, char *stat, size_t cap)
{
	double end = tu_now() + secs;

	while (tu_now() < end) {
		pinger_tick(&ping);
		usleep(5000);
	}
	if (c >= 0 && proc_latest(c, "stat ", stat, cap, 2) < 0)
		snprintf(stat, cap, "stat none");
}

static double
wait_recv_above(int c, long above, double timeout)
{
	double t0 = tu_now();
	char stat[2048];

	while (tu_now() - t0 < timeout) {
		pinger_tick(&ping);
		if (proc_latest(c, "stat ", stat, sizeof(stat), 0.2) == 0 &&
		    stat_get(stat, "rx0.recv") > above)
			return tu_now() - t0;
	}
	return -1;
}

static void
stop_and_resume(aemp_node *drv, int c)
{
	char stat[2048];
	long recv0, sent0, eagain0, rss0, rss_max = 0;
	double t_resume, end;

	run_for(1.0, c, stat, sizeof(stat));
	rss0 = proc_rss_kb(0);
	recv0 = stat_get(stat, "rx0.recv");
	DIAG("before the stop: c received %ld, drv rss %ld KiB", recv0, rss0);
	CHECK(recv0 > 1000);
	proc_kill(c, SIGSTOP);
	usleep(500000); /* let the socket buffers fill */
	sent0 = atomic_load(&tx.sent);
	eagain0 = atomic_load(&tx.eagain);
	atomic_store(&ping.max_us, 0);
	for (end = tu_now() + 3; tu_now() < end;) {
		long rss = proc_rss_kb(0);

		rss_max = rss > rss_max ? rss : rss_max;
		pinger_tick(&ping);
		usleep(5000);
	}
	DIAG("while c is stopped (3 s): %ld more sent, %ld more -EAGAIN, "
	     "drv rss max %ld KiB (+%ld), slowest ping to o %ld us",
	     atomic_load(&tx.sent) - sent0, atomic_load(&tx.eagain) - eagain0,
	     rss_max, rss_max - rss0, atomic_load(&ping.max_us));
	CHECK(atomic_load(&tx.eagain) > eagain0);
	CHECK(atomic_load(&tx.sent) - sent0 < 2 * MAX_QUEUE);
	CHECK(rss_max - rss0 < RSS_MAX(3 * MAX_QUEUE / 1024 + 16384));
	CHECK(atomic_load(&ping.max_us) < 500000);
	CHECK_EQ(atomic_load(&tx.fires), 0);
	CHECK(aemp_node_is_up(drv, "c") == 1);
	proc_kill(c, SIGCONT);
	t_resume = wait_recv_above(c, stat_get(stat, "rx0.recv") + 1000, 10);
	DIAG("after SIGCONT c receives again within %.3f s", t_resume);
	CHECK(t_resume >= 0 && t_resume < 2);
	run_for(0.5, c, stat, sizeof(stat));
	CHECK_EQ(stat_get(stat, "rx0.viol"), 0);
	CHECK_EQ(stat_get(stat, "rx0.gaps"), 0);
	CHECK_EQ(atomic_load(&tx.fires), 0);
}

static void
kill_while_stopped(aemp_node *drv, int c)
{
	char stat[2048];
	double t0, dt;
	long fires0 = atomic_load(&tx.fires);

	run_for(1.0, c, stat, sizeof(stat));
	CHECK_EQ(stat_get(stat, "rx0.viol"), 0);
	proc_kill(c, SIGSTOP);
	run_for(1.0, -1, NULL, 0);
	tx.reason[0] = '\0';
	t0 = tu_now();
	proc_kill(c, SIGKILL);
	while (atomic_load(&tx.fires) == fires0 && tu_now() - t0 < 20)
		usleep(1000);
	dt = tu_now() - t0;
	DIAG("c killed while stopped: drv's monitor fired after %.3f s: %s", dt,
	     tx.reason);
	CHECK(atomic_load(&tx.fires) > fires0);
	CHECK(strncmp(tx.reason, "[\"transport_error\",\"c\",", 23) == 0);
	CHECK(dt < 2);
	atomic_store(&ping.max_us, 0);
	run_for(1.0, -1, NULL, 0);
	CHECK(TU_WAIT(aemp_node_is_up(drv, "c") != 1, 5));
	DIAG("drv still serves o: %ld pings, slowest %ld us",
	     atomic_load(&ping.ok), atomic_load(&ping.max_us));
	CHECK(atomic_load(&ping.max_us) > 0 &&
	      atomic_load(&ping.max_us) < 500000);
}

int
main(int argc, char **argv)
{
	aemp_node *drv;
	char seed[128];
	int c, o;

	if (argc > 2 && strcmp(argv[1], "--role") == 0) {
		procs_child_init();
		return proc_role_node(argv + 3);
	}
	procs_init();
	alarm(80);
	drv = tu_node_json("drv", drv_conf);
	tu_start(drv);
	proc_first_addr(drv, seed, sizeof(seed));
	c = spawn_child("c", seed, "rx", "rx");
	o = spawn_child("o", seed, "echo", "echo");
	CHECK(c >= 0 && o >= 0);
	if (c < 0 || o < 0)
		return tap_done();
	CHECK(TU_WAIT(aemp_node_is_up(drv, "c") == 1 &&
	                      aemp_node_is_up(drv, "o") == 1,
	              10));
	ping.node = drv;
	snprintf(ping.port, sizeof(ping.port), "o#echo");
	CHECK_OK(seq_tx_start(drv, &tx, "c#rx", 0));
	stop_and_resume(drv, c);
	kill_while_stopped(drv, c);
	atomic_store(&tx.stopped, 1);
	usleep(10000);
	aemp_node_free(drv);
	(void)o;
	return tap_done();
}
