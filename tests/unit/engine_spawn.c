/*
 * tests/unit/engine_spawn.c - spawn and the function registry, function
 * name requests to the node port, secure mode, timers (after), cal with
 * and without timeout, peval, and per-sender order across shards with
 * deferral after deep nesting.
 */
#include "tests/engine_util.h"

static aemp_node *node;

static int
h_log(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char buf[512];
	aemp_val a = aemp_array(msg, cnt);

	(void)n;
	tu_logf("%s got %s", (const char *)arg, tu_json(&a, buf, sizeof(buf)));
	return 0;
}

static void
mon_log(aemp_node *n, const aemp_val *reason, size_t cnt, void *arg)
{
	char buf[512];
	aemp_val a = aemp_array(reason, cnt);

	(void)n;
	tu_logf("%s fired %s", (const char *)arg,
	        tu_json(&a, buf, sizeof(buf)));
}

/* ---- spawn ---------------------------------------------------------- */

static atomic_int init_runs;

static int
worker_init(aemp_node *n, const aemp_val *args, size_t cnt, void *arg)
{
	char buf[256];
	aemp_val a = aemp_array(args, cnt);

	(void)arg;
	atomic_fetch_add(&init_runs, 1);
	tu_logf("init %s", tu_json(&a, buf, sizeof(buf)));
	if (cnt > 0 && aemp_str_eq(&args[0], "fail"))
		return aemp_fail(n, "init refused");
	return aemp_rcv(n, aemp_self(n), h_log, "worker");
}

static int
service_fn(aemp_node *n, const aemp_val *args, size_t cnt, void *arg)
{
	char buf[256];
	aemp_val a = aemp_array(args, cnt);

	tu_logf("service %s self=%s src=%s", tu_json(&a, buf, sizeof(buf)),
	        aemp_self(n) ? "yes" : "no", aemp_srcnode(n));
	(void)arg;
	return 0;
}

static aemp_id spawned;
static int runs_at_return = -1;

static void
do_spawn(aemp_node *n, void *arg)
{
	(void)arg;
	aemp_spawn(n, aemp_node_id(n), "Test::Worker::init",
	           AEMP_MSG(aemp_str("x"), aemp_int(1)), &spawned);
	runs_at_return = atomic_load(&init_runs);
	aemp_snd(n, spawned.s, AEMP_MSG(aemp_str("first")));
}

static void
test_spawn(void)
{
	aemp_id bad, unknown;

	CHECK_OK(tu_run(node, 0, do_spawn, NULL));
	CHECK_EQ(runs_at_return, 0); /* init runs in a later loop turn */
	CHECK(TU_WAIT(tu_has("init [\"x\",1]"), 5));
	CHECK(TU_WAIT(tu_has("worker got [\"first\"]"), 5));
	/* spawned names: 10 RUNIQ characters, then the counter */
	CHECK(strlen(spawned.s + aemp_node_of(spawned.s) + 1) >= 11);
	/* failing init: the port dies with ("die", text) */
	CHECK_OK(aemp_spawn(node, "t3", "Test::Worker::init",
	                    AEMP_MSG(aemp_str("fail")), &bad));
	CHECK_OK(aemp_mon(node, bad.s, mon_log, "bad", NULL));
	CHECK(TU_WAIT(tu_has("bad fired [\"die\",\"init refused\"]") ||
	                      strstr(tu_log.buf,
	                             "bad fired [\"no_such_port\"") != NULL,
	              5));
	/* unknown function: ignored, the port never exists */
	CHECK_OK(aemp_spawn(node, "t3", "No::Such::init", NULL, 0, &unknown));
	usleep(50000);
	CHECK_OK(aemp_mon(node, unknown.s, mon_log, "unknown", NULL));
	CHECK(TU_WAIT(strstr(tu_log.buf, "unknown fired [\"no_such_port\"") !=
	                      NULL,
	              5));
	/* registry rules */
	CHECK_ERR(aemp_register(node, "late::fn", worker_init, NULL),
	          AEMP_ESTATE);
}

static void
test_function_requests(void)
{
	/* a function-name request through the node port (snd_to_func) */
	CHECK_OK(aemp_snd_to_func(node, "t3", "Test::service",
	                          AEMP_MSG(aemp_int(9))));
	CHECK(TU_WAIT(tu_has("service [9] self=no src=t3"), 5));
	/* AnyEvent::MP::_spawn as a remote node would send it */
	CHECK_OK(aemp_snd(node, "t3",
	                  AEMP_MSG(aemp_str("AnyEvent::MP::_spawn"),
	                           aemp_str("PySpawn1"),
	                           aemp_str("Test::Worker::init"),
	                           aemp_str("via-request"))));
	CHECK(TU_WAIT(tu_has("init [\"via-request\"]"), 5));
	CHECK_OK(aemp_snd(node, "t3#PySpawn1", AEMP_MSG(aemp_str("ping"))));
	CHECK(TU_WAIT(tu_has("worker got [\"ping\"]"), 5));
}

/* ---- after, cal, peval ---------------------------------------------- */

static void
after_cb(aemp_node *n, void *arg)
{
	(void)n;
	tu_logf("after %s", (const char *)arg);
}

static int
h_echo_last(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char reply[AEMP_ID_MAX];
	const aemp_val *last = &msg[cnt - 1];

	(void)arg;
	if (aemp_str_eq(&msg[0], "ignore"))
		return 0;
	snprintf(reply, sizeof(reply), "%.*s", (int)last->len, last->u.s);
	return aemp_snd(n, reply, AEMP_MSG(aemp_str("re"), msg[0]));
}

static void
cal_cb(aemp_node *n, int status, const aemp_val *reply, size_t cnt, void *arg)
{
	char buf[256];
	aemp_val a = aemp_array(reply, cnt);

	(void)n;
	tu_logf("cal %s status=%d reply=%s", (const char *)arg, status,
	        reply ? tu_json(&a, buf, sizeof(buf)) : "none");
}

static int
peval_fn(aemp_node *n, void *arg)
{
	tu_logf("peval self=%s", aemp_self(n) ? "set" : "unset");
	return arg ? aemp_fail(n, "peval failed") : 0;
}

static void
test_timers_and_cal(void)
{
	aemp_guard g = {0};
	aemp_id server, sink;
	double t0 = tu_now();

	CHECK_OK(aemp_after(node, 0.05, after_cb, "fired", NULL));
	CHECK_OK(aemp_after(node, 0.05, after_cb, "cancelled", &g));
	CHECK_OK(aemp_guard_cancel(node, &g));
	CHECK(TU_WAIT(tu_has("after fired"), 5));
	CHECK(tu_now() - t0 >= 0.045);
	CHECK_ERR(aemp_after(node, -1, after_cb, NULL, NULL), -EINVAL);
	CHECK_OK(aemp_port(node, h_log, "sink", &sink));
	CHECK_OK(aemp_after_snd(node, 0.01, sink.s, AEMP_MSG(aemp_str("tick")),
	                        NULL));
	CHECK(TU_WAIT(tu_has("sink got [\"tick\"]"), 5));
	CHECK(!tu_has("after cancelled"));

	CHECK_OK(aemp_port(node, h_echo_last, NULL, &server));
	CHECK_OK(aemp_cal(node, server.s, AEMP_MSG(aemp_str("q1")), cal_cb,
	                  "plain", 0, NULL));
	CHECK(TU_WAIT(tu_has("cal plain status=0 reply=[\"re\",\"q1\"]"), 5));
	CHECK_OK(aemp_cal(node, server.s, AEMP_MSG(aemp_str("ignore")), cal_cb,
	                  "timeout", 0.05, NULL));
	CHECK(TU_WAIT(tu_has("cal timeout status=-110 reply=none"), 5));
	/* without timeout the callee's death ends the call... */
	CHECK_OK(aemp_cal(node, server.s, AEMP_MSG(aemp_str("ignore")), cal_cb,
	                  "death", 0, NULL));
	/* ...and a replied call's monitor is cancelled: no second callback */
	CHECK_OK(aemp_kil(node, server.s, AEMP_MSG(aemp_str("gone"))));
	CHECK(TU_WAIT(tu_has("cal death status=-5001 reply=[\"gone\"]"), 5));
	usleep(50000);
	CHECK(strstr(strstr(tu_log.buf, "cal plain") + 1, "cal plain") == NULL);

	CHECK_OK(aemp_peval(node, sink.s, peval_fn, NULL));
	CHECK(TU_WAIT(tu_has("peval self=set"), 5));
	CHECK_OK(aemp_mon(node, sink.s, mon_log, "sink", NULL));
	CHECK_OK(aemp_peval(node, sink.s, peval_fn, "fail"));
	CHECK(TU_WAIT(tu_has("sink fired [\"die\",\"peval failed\"]"), 5));
	CHECK_ERR(aemp_peval(node, "other#x", peval_fn, NULL), AEMP_ENOPORT);
}

/* ---- order ---------------------------------------------------------- */

#define SENDERS 4
#define PER_SENDER 20000

static atomic_long next_seq[SENDERS];
static atomic_int order_errors, order_done;
static aemp_id order_rx[2];

static int
h_order(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	int64_t s = msg[0].u.i, q = msg[1].u.i;

	(void)n;
	(void)cnt;
	(void)arg;
	if (q != atomic_load(&next_seq[s]))
		atomic_fetch_add(&order_errors, 1);
	atomic_store(&next_seq[s], q + 1);
	if (q + 1 == PER_SENDER)
		atomic_fetch_add(&order_done, 1);
	return 0;
}

static void
make_rx(aemp_node *n, void *arg)
{
	aemp_port(n, h_order, NULL, &order_rx[(intptr_t)arg]);
}

struct sender {
	int id;
	int target;
	int64_t sent;
};

static void
send_some(aemp_node *n, void *arg)
{
	struct sender *s = arg;
	int rc;

	while (s->sent < PER_SENDER) {
		rc = aemp_snd(n, order_rx[s->target].s,
		              AEMP_MSG(aemp_int(s->id), aemp_int(s->sent)));
		if (rc == -EAGAIN)
			break; /* back pressure: continue in a later turn */
		s->sent++;
	}
	if (s->sent < PER_SENDER)
		aemp_exec(n, aemp_node_shards(n) > 1 ? s->id % 2 : 0, send_some,
		          s);
}

/* Ping-pong on one shard: 200 nested round trips must defer, not recurse
 * without bound. */
static aemp_id ping, pong;
static atomic_int bounces;

static int
h_bounce(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	int64_t k = msg[0].u.i;

	(void)cnt;
	atomic_fetch_add(&bounces, 1);
	if (k > 0)
		aemp_snd(n, arg == NULL ? pong.s : ping.s,
		         AEMP_MSG(aemp_int(k - 1)));
	return 0;
}

static void
make_bounce(aemp_node *n, void *arg)
{
	(void)arg;
	aemp_port(n, h_bounce, NULL, &ping);
	aemp_port(n, h_bounce, "pong", &pong);
	aemp_snd(n, ping.s, AEMP_MSG(aemp_int(400)));
}

static void
test_order(void)
{
	static struct sender s[SENDERS];
	int i;

	CHECK_OK(tu_run(node, 0, make_rx, (void *)0));
	CHECK_OK(tu_run(node, node->nshards - 1, make_rx, (void *)1));
	for (i = 0; i < SENDERS; i++) {
		s[i].id = i;
		s[i].target = i % 2 ? 0 : 1;
		aemp_exec(node, node->nshards > 1 ? i % 2 : 0, send_some,
		          &s[i]);
	}
	CHECK(TU_WAIT(atomic_load(&order_done) == SENDERS, 30));
	CHECK_EQ(atomic_load(&order_errors), 0);
	CHECK_OK(tu_run(node, 0, make_bounce, NULL));
	CHECK(TU_WAIT(atomic_load(&bounces) == 401, 10));
}

int
main(void)
{
	alarm(90);
	node = tu_node("t3", 2);
	CHECK_OK(aemp_register(node, "Test::Worker::init", worker_init, NULL));
	CHECK_OK(aemp_register(node, "Test::service", service_fn, NULL));
	CHECK_ERR(aemp_register(node, "Test::service", service_fn, NULL),
	          -EEXIST);
	CHECK_ERR(aemp_register(node, "noColons", service_fn, NULL), -EINVAL);
	tu_start(node);
	test_spawn();
	test_function_requests();
	test_timers_and_cal();
	test_order();
	if (tap_failed)
		tu_log_dump();
	aemp_node_free(node);
	return tap_done();
}
