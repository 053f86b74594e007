/*
 * tests/integ/spin_mode.c - low-latency mode (busy_poll_us) end to end:
 * two nodes over loopback, both spinning, one of them with its shard
 * pinned (cpus).  Messages flow (a ping-pong chain between the nodes, one
 * between two shards of one node, and a chain of cals), an idle spinning
 * node goes back to sleep after its budget (its CPU time over 2 idle
 * seconds stays small), and both nodes stop.  No timing is asserted but
 * the idle CPU time, with a wide margin: a shard that kept spinning would
 * use about 2 s of CPU per shard there, a sleeping one about nothing.
 *
 * aemp-test-timeout: 60
 */
#include <aemp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/tap.h"

#define CHAIN 300 /* round trips per ping-pong chain */
#define CALS 100  /* cals in the cal chain */
#define SPIN_US "1000"
#define IDLE_CPU_MAX_S 0.3

/* One ping-pong chain: a driver port that sends ["ping", I, SELF] to the
 * echo port and the next ping on each ["pong", I]. */
struct chain {
	aemp_id driver, echo;
	atomic_long last; /* last pong number, -1 on error */
	atomic_int done;
};

static int
echo(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	char reply[AEMP_ID_MAX];
	const aemp_val *to = &msg[n - 1];

	(void)arg;
	if (n != 3 || !aemp_str_eq(&msg[0], "ping") || to->type != AEMP_STR)
		return aemp_fail(node, "bad request");
	snprintf(reply, sizeof(reply), "%.*s", (int)to->len, to->u.s);
	return aemp_snd(node, reply, AEMP_MSG(aemp_str("pong"), msg[1]));
}

static int
driver(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	struct chain *c = arg;
	int64_t i = -1;

	if (n != 2 || aemp_get_int(&msg[1], &i) < 0 ||
	    i != atomic_load(&c->last) + 1) {
		atomic_store(&c->last, -1);
		atomic_store(&c->done, 1);
		return 0;
	}
	atomic_store(&c->last, (long)i);
	if (i + 1 == CHAIN) {
		atomic_store(&c->done, 1);
		return 0;
	}
	return aemp_snd(node, c->echo.s,
	                AEMP_MSG(aemp_str("ping"), aemp_int(i + 1),
	                         aemp_str(c->driver.s)));
}

static aemp_node *
make_node(const char *id, const char *shards, const char *cpus,
          const char *seeds)
{
	aemp_conf *conf;
	aemp_node *node = NULL;

	aemp_conf_new(&conf);
	aemp_conf_set_json(conf, "norc", "true");
	aemp_conf_set_str(conf, "nodeid", id);
	aemp_conf_set_str(conf, "secret", "spin");
	aemp_conf_set_json(conf, "binds", "[\"127.0.0.1:0\"]");
	aemp_conf_set_json(conf, "shards", shards);
	aemp_conf_set_json(conf, "busy_poll_us", SPIN_US);
	if (cpus != NULL)
		aemp_conf_set_json(conf, "cpus", cpus);
	if (seeds != NULL)
		aemp_conf_set_json(conf, "seeds", seeds);
	if (aemp_node_new(conf, &node) < 0)
		printf("# %s: %s\n", id, aemp_errmsg());
	aemp_conf_free(conf);
	return node;
}

/* Wait up to 20 s for *flag; 1 if it was set. */
static int
wait_flag(atomic_int *flag)
{
	int i;

	for (i = 0; i < 2000 && atomic_load(flag) == 0; i++)
		usleep(10000);
	return atomic_load(flag) != 0;
}

static void
run_chain(aemp_node *from, struct chain *c, const char *what)
{
	atomic_store(&c->last, -1);
	atomic_store(&c->done, 0);
	CHECK_OK(aemp_snd(from, c->echo.s,
	                  AEMP_MSG(aemp_str("ping"), aemp_int(0),
	                           aemp_str(c->driver.s))));
	CHECK(wait_flag(&c->done));
	if (atomic_load(&c->last) != CHAIN - 1)
		DIAG("%s: chain stopped at %ld", what, atomic_load(&c->last));
	CHECK_EQ(atomic_load(&c->last), CHAIN - 1);
}

/* ---- cal chain ---------------------------------------------------------- */

static aemp_id cal_target;
static atomic_int cals_done, cals_ok;

static void
on_reply(aemp_node *node, int status, const aemp_val *reply, size_t n,
         void *arg)
{
	int64_t i = (int64_t)(intptr_t)arg, got = -1;

	if (status != 0 || n != 2 || aemp_get_int(&reply[1], &got) < 0 ||
	    got != i) {
		atomic_store(&cals_done, 1);
		return;
	}
	atomic_store(&cals_ok, (int)i + 1);
	if (i + 1 == CALS) {
		atomic_store(&cals_done, 1);
		return;
	}
	if (aemp_cal(node, cal_target.s,
	             AEMP_MSG(aemp_str("ping"), aemp_int(i + 1)), on_reply,
	             (void *)(intptr_t)(i + 1), 10.0, NULL) < 0)
		atomic_store(&cals_done, 1);
}

static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
make_on_shard1(aemp_node *node, void *arg)
{
	struct chain *c = arg;

	if (aemp_port(node, driver, c, &c->driver) < 0)
		c->driver.s[0] = '\0';
	atomic_store(&c->done, 1);
}

int
main(void)
{
	struct chain net = {0}, local = {0};
	char addr[256], seeds[300];
	aemp_node *a, *b;
	double c0, c1, t0;

	a = make_node("spin-a", "2", NULL, NULL);
	if (a == NULL)
		return 1;
	aemp_node_listeners(a, addr, sizeof(addr));
	snprintf(seeds, sizeof(seeds), "%s", addr);
	b = make_node("spin-b", "1", "[0]", seeds); /* pinned to CPU 0 */
	if (b == NULL)
		return 1;
	CHECK_OK(aemp_port(a, echo, NULL, &net.echo)); /* a's shard 0 */
	local.echo = net.echo;
	cal_target = net.echo;
	CHECK_OK(aemp_port(b, driver, &net, &net.driver));
	CHECK_OK(aemp_node_start(a));
	CHECK_OK(aemp_node_start(b));

	/* between the nodes (b's first send also connects them) */
	run_chain(b, &net, "between nodes");
	/* between a's shards: driver on shard 1, echo on shard 0 */
	CHECK_OK(aemp_exec(a, 1, make_on_shard1, &local));
	CHECK(wait_flag(&local.done));
	CHECK(local.driver.s[0] != '\0');
	run_chain(a, &local, "between shards");
	/* cals from b to a */
	CHECK_OK(aemp_cal(b, cal_target.s,
	                  AEMP_MSG(aemp_str("ping"), aemp_int(0)), on_reply,
	                  (void *)(intptr_t)0, 10.0, NULL));
	CHECK(wait_flag(&cals_done));
	CHECK_EQ(atomic_load(&cals_ok), CALS);

	/* Idle: every shard is asleep long after its 1 ms budget. */
	usleep(300000);
	c0 = cpu_s();
	sleep(2);
	c1 = cpu_s();
	DIAG("CPU time over 2 idle seconds: %.3f s (3 spinning shards)",
	     c1 - c0);
	CHECK(c1 - c0 < IDLE_CPU_MAX_S);

	/* and they wake up again */
	run_chain(b, &net, "after idle");

	t0 = (double)time(NULL);
	aemp_node_stop(a);
	aemp_node_stop(b);
	CHECK_OK(aemp_node_wait(a));
	CHECK_OK(aemp_node_wait(b));
	DIAG("both nodes stopped within %.0f s", (double)time(NULL) - t0);
	aemp_node_free(b);
	aemp_node_free(a);
	return tap_done();
}
