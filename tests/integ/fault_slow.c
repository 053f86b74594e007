/*
 * tests/integ/fault_slow.c - a consumer slower than its producer.
 *
 * The driver's node "drv" streams to two ports of node "c" (a child
 * process, two shards) as fast as it may; each message costs c's handler
 * 5 us of CPU, so c can take at most ~200k messages/s per port while drv
 * could send millions.  One port lives on the shard that owns c's
 * connection to drv (the receive loop itself slows down, TCP pushes
 * back), the other on the other shard (messages cross shards; the
 * receiver pauses when they pile up, §"Received data" in
 * docs/threading.md).  Checked over 5 s:
 *  - back pressure reaches the producer (-EAGAIN), nothing is lost, no
 *    hole, no monitor fires;
 *  - drv's resident memory stays flat, c's grows at most by its receive
 *    bounds (1 MiB of records waiting for the slow shard, and what was
 *    received before the receive stopped, at most the 16 MiB of receive
 *    buffers; measured: about +6 MiB; +12-16 MiB when the pause bound
 *    was 16 MiB and the receive went on while paused);
 *  - drv keeps answering another node ("o") promptly.
 *
 * aemp-test-timeout: 150
 */
#include "tests/engine_util.h"
#include "tests/integ/procs.h"

#define WORK_NS "5000"

static const char *const drv_conf =
        "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"geheim\",\"shards\":2,"
        "\"services\":[\"AnyEvent::MP::Global::\"],\"max_packet\":65536,"
        "\"max_queue\":1048576,\"monitor_timeout\":5,"
        "\"connect_interval\":1}";

static struct seq_tx tx[2];
static struct pinger ping;

/* A port name of node "c" (2 shards) on shard `want`. */
static void
port_on_shard(int want, char *out, size_t cap)
{
	static struct aemp_node fake; /* only nshards is read */
	int i;

	fake.nshards = 2;
	for (i = 0;; i++) {
		snprintf(out, cap, "s%d", i);
		if (eng_shard_of_hash(&fake, eng_hash(out, strlen(out))) ==
		    want)
			return;
	}
}

static int
spawn_child(const char *seed, const char *id, const char *p0, const char *p1)
{
	char conf[512], addr[128];
	const char *rx[] = {"node",  id,     conf, "slow",  p0,
	                    WORK_NS, "slow", p1,   WORK_NS, NULL};
	const char *echo[] = {"node", id, conf, "echo", "echo", NULL};
	int i;

	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"geheim\","
	         "\"shards\":2,\"seeds\":[\"%s\"],\"monitor_timeout\":5,"
	         "\"connect_interval\":1}",
	         seed);
	i = proc_spawn(p0 != NULL ? rx : echo);
	if (i < 0 || proc_line(i, "addr ", addr, sizeof(addr), 15) < 0)
		return -1;
	return i;
}

struct sample {
	long rss_drv, rss_c, recv0, recv1;
};

static void
sample(int c, struct sample *s)
{
	char stat[2048];

	if (proc_latest(c, "stat ", stat, sizeof(stat), 2) < 0)
		stat[0] = '\0';
	s->rss_drv = proc_rss_kb(0);
	s->rss_c = stat_get(stat, "rss");
	s->recv0 = stat_get(stat, "rx0.recv");
	s->recv1 = stat_get(stat, "rx1.recv");
	CHECK_EQ(stat_get(stat, "rx0.viol") + stat_get(stat, "rx1.viol"), 0);
}

/* Bound on c's growth: the receive pause threshold (1 MiB of spilled
 * records, NET_PAUSE_BYTES) plus the provided receive buffers (16 MiB)
 * plus slack. */
#define C_GROWTH_MAX_KB (48 * 1024)

static void
drain(int c)
{
	char stat[2048] = "";
	double end, stall;
	long got, last = -1;

	atomic_store(&tx[0].stopped, 1);
	atomic_store(&tx[1].stopped, 1);
	/* The slow consumer takes its time, more so on a loaded machine:
	 * wait while it makes progress (10 s without any is a failure),
	 * within the test's own bound. */
	for (end = tu_now() + 100, stall = tu_now() + 10;
	     tu_now() < end && tu_now() < stall;) {
		if (proc_latest(c, "stat ", stat, sizeof(stat), 1) != 0)
			continue;
		if (stat_get(stat, "rx0.recv") == atomic_load(&tx[0].sent) &&
		    stat_get(stat, "rx1.recv") == atomic_load(&tx[1].sent))
			break;
		got = stat_get(stat, "rx0.recv") + stat_get(stat, "rx1.recv");
		if (got > last)
			stall = tu_now() + 10;
		last = got;
	}
	DIAG("drained: c received %ld + %ld of %ld + %ld",
	     stat_get(stat, "rx0.recv"), stat_get(stat, "rx1.recv"),
	     atomic_load(&tx[0].sent), atomic_load(&tx[1].sent));
	CHECK_EQ(stat_get(stat, "rx0.recv"), atomic_load(&tx[0].sent));
	CHECK_EQ(stat_get(stat, "rx1.recv"), atomic_load(&tx[1].sent));
	CHECK_EQ(stat_get(stat, "rx0.gaps") + stat_get(stat, "rx1.gaps"), 0);
}

/* 8 samples, 0.5 s apart; max of the first and the second half. */
static void
run(int c, const struct sample *idle)
{
	struct sample s0, s;
	long drv_max = 0, c_max[2] = {0, 0};
	double end, t0 = tu_now();
	int i;

	sample(c, &s0);
	atomic_store(&ping.max_us, 0);
	for (i = 0; i < 8; i++) {
		for (end = tu_now() + 0.5; tu_now() < end; usleep(5000))
			pinger_tick(&ping);
		sample(c, &s);
		drv_max = s.rss_drv > drv_max ? s.rss_drv : drv_max;
		if (s.rss_c > c_max[i / 4])
			c_max[i / 4] = s.rss_c;
	}
	DIAG("c took %.0f + %.0f msgs/s (cost " WORK_NS " ns each); drv sent "
	     "%ld + %ld, -EAGAIN %ld + %ld times",
	     (double)(s.recv0 - s0.recv0) / (tu_now() - t0),
	     (double)(s.recv1 - s0.recv1) / (tu_now() - t0),
	     atomic_load(&tx[0].sent), atomic_load(&tx[1].sent),
	     atomic_load(&tx[0].eagain), atomic_load(&tx[1].eagain));
	DIAG("rss idle / max in 0-2 s / max in 2-4 s: drv %ld / %ld KiB, c %ld "
	     "/ %ld / %ld KiB; slowest ping to o %ld us",
	     idle->rss_drv, drv_max, idle->rss_c, c_max[0], c_max[1],
	     atomic_load(&ping.max_us));
	CHECK(s.recv0 > s0.recv0 && s.recv1 > s0.recv1);
	CHECK(atomic_load(&tx[0].eagain) > 0 && atomic_load(&tx[1].eagain) > 0);
	CHECK(drv_max - idle->rss_drv < RSS_MAX(8192));
	CHECK(c_max[0] - idle->rss_c < RSS_MAX(C_GROWTH_MAX_KB));
	CHECK(c_max[1] - idle->rss_c < RSS_MAX(C_GROWTH_MAX_KB));
	CHECK_EQ(atomic_load(&tx[0].fires) + atomic_load(&tx[1].fires), 0);
	CHECK(atomic_load(&ping.max_us) < 500000);
}

int
main(int argc, char **argv)
{
	char seed[128], p0[16], p1[16], dest[64];
	struct sample idle;
	aemp_node *drv;
	int c, o;

	if (argc > 2 && strcmp(argv[1], "--role") == 0) {
		procs_child_init();
		return proc_role_node(argv + 3);
	}
	procs_init();
	alarm(55);
	drv = tu_node_json("drv", drv_conf);
	tu_start(drv);
	proc_first_addr(drv, seed, sizeof(seed));
	port_on_shard(0, p0, sizeof(p0));
	port_on_shard(1, p1, sizeof(p1));
	c = spawn_child(seed, "c", p0, p1);
	o = spawn_child(seed, "o", NULL, NULL);
	CHECK(c >= 0 && o >= 0);
	if (c < 0 || o < 0)
		return tap_done();
	CHECK(TU_WAIT(aemp_node_is_up(drv, "c") == 1 &&
	                      aemp_node_is_up(drv, "o") == 1,
	              10));
	ping.node = drv;
	snprintf(ping.port, sizeof(ping.port), "o#echo");
	sample(c, &idle);
	snprintf(dest, sizeof(dest), "c#%s", p0);
	CHECK_OK(seq_tx_start(drv, &tx[0], dest, 0));
	snprintf(dest, sizeof(dest), "c#%s", p1);
	CHECK_OK(seq_tx_start(drv, &tx[1], dest, 0));
	run(c, &idle);
	drain(c);
	aemp_node_free(drv);
	return tap_done();
}
