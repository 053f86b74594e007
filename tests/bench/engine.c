/*
 * tests/bench/engine.c - the node engine without network: messages per
 * second between two ports on one shard and on two shards, the port
 * create+kill rate, and resident bytes per idle port; a memcpy of the
 * same message bytes is measured in the same run as a baseline.
 *
 *   build/release/tests/bench/engine [seconds]
 */
#include <stdio.h>
#include <sys/resource.h>

#include "tests/engine_util.h"

static aemp_node *node;
static atomic_long received;
static aemp_id rx_port;

static int
h_count(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	(void)n;
	(void)msg;
	(void)cnt;
	(void)arg;
	atomic_store_explicit(
	        &received,
	        atomic_load_explicit(&received, memory_order_relaxed) + 1,
	        memory_order_relaxed);
	return 0;
}

static void
make_rx(aemp_node *n, void *arg)
{
	(void)arg;
	aemp_port(n, h_count, NULL, &rx_port);
}

struct sender {
	aemp_ref ref;
	long target;
	long sent;
	double t0, t1;
	atomic_int done;
};

static void
send_loop(aemp_node *n, void *arg)
{
	struct sender *s = arg;
	long i;

	for (i = 0; i < 65536 && s->sent < s->target; i++) {
		if (aemp_snd_ref(n, s->ref,
		                 AEMP_MSG(aemp_str("tag"), aemp_int(12345),
		                          aemp_str("x"))) < 0)
			break; /* queue to the other shard is full */
		s->sent++;
	}
	if (s->sent < s->target)
		aemp_after(n, 0, send_loop, s, NULL);
	else
		atomic_store(&s->done, 1);
}

static double
run_rate(int rx_shard, long count)
{
	static struct sender s;
	double t0;

	atomic_store(&received, 0);
	tu_run(node, rx_shard, make_rx, NULL);
	memset(&s, 0, sizeof(s));
	aemp_ref_new(node, rx_port.s, &s.ref);
	s.target = count;
	t0 = tu_now();
	aemp_exec(node, 0, send_loop, &s);
	TU_WAIT(atomic_load(&received) >= count, 120);
	t0 = tu_now() - t0;
	aemp_ref_free(node, s.ref);
	aemp_kil(node, rx_port.s, NULL, 0);
	return (double)count / t0;
}

static double
memcpy_rate(long count)
{
	/* the CBOR bytes of ["rx","tag",12345,"x"] */
	static const uint8_t pkt[] = {0x84, 0x62, 'r',  'x',  0x63, 't', 'a',
	                              'g',  0x19, 0x30, 0x39, 0x61, 'x'};
	static uint8_t buf[1 << 16];
	volatile uint8_t sink = 0;
	size_t off = 0;
	double t0 = tu_now();
	long i;

	for (i = 0; i < count; i++) {
		memcpy(buf + off, pkt, sizeof(pkt));
		off = (off + sizeof(pkt)) & (sizeof(buf) - 64);
		sink ^= buf[off];
	}
	(void)sink;
	return (double)count / (tu_now() - t0);
}

struct churn {
	long count;
	double secs;
};

static void
churn(aemp_node *n, void *arg)
{
	struct churn *c = arg;
	aemp_id id;
	double t0 = tu_now();
	long i;

	for (i = 0; i < c->count; i++) {
		aemp_port(n, NULL, NULL, &id);
		aemp_kil(n, id.s, NULL, 0);
	}
	c->secs = tu_now() - t0;
}

static long
rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

static void
make_idle(aemp_node *n, void *arg)
{
	long i, count = *(long *)arg;
	aemp_id id;

	for (i = 0; i < count; i++)
		aemp_port(n, NULL, NULL, &id);
}

int
main(int argc, char **argv)
{
	long count = 20000000, idle = 1000000;
	struct churn ch = {2000000, 0};
	double same, cross, base;
	long before, after;

	if (argc > 1)
		count = atol(argv[1]);
	node = tu_node("bench", 2);
	tu_start(node);
	same = run_rate(0, count);
	cross = aemp_node_shards(node) > 1 ? run_rate(1, count / 4) : 0;
	base = memcpy_rate(count);
	tu_run(node, 0, churn, &ch);
	before = rss_bytes();
	tu_run(node, 0, make_idle, &idle);
	usleep(100000);
	after = rss_bytes();
	printf("engine benchmark (2 shards, allocator %s)\n",
	       ring_alloc_name());
	printf("  %-38s %12.1f M msgs/s\n", "two ports, one shard", same / 1e6);
	printf("  %-38s %12.1f M msgs/s\n", "two ports, two shards",
	       cross / 1e6);
	printf("  %-38s %12.1f M copies/s\n", "memcpy of the 13-byte packet",
	       base / 1e6);
	printf("  %-38s %12.2f M ports/s\n", "port create + kill (one shard)",
	       (double)ch.count / ch.secs / 1e6);
	printf("  %-38s %12.1f bytes\n", "resident memory per idle port",
	       (double)(after - before) / (double)idle);
	aemp_node_free(node);
	return 0;
}
