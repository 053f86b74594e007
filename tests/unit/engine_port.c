/*
 * tests/unit/engine_port.c - ports on one node: creation on shards, local
 * and cross-shard delivery, tagged handlers, $SELF and SRCNODE, unhandled
 * messages and failing handlers, ports created by rcv, the node port,
 * and calls from a foreign thread.
 */
#include "tests/engine_util.h"

static aemp_node *node;
static aemp_id p0, p1, plain, failing, named_mon;

static int
h_log(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char buf[512];
	aemp_val a = aemp_array(msg, cnt);
	const char *self = aemp_self(n), *src = aemp_srcnode(n);

	tu_logf("%s got %s self=%s src=%s", (const char *)arg,
	        tu_json(&a, buf, sizeof(buf)), self ? self : "-",
	        src ? src : "-");
	return 0;
}

static void
mon_log(aemp_node *n, const aemp_val *reason, size_t cnt, void *arg)
{
	char buf[512];
	aemp_val a = aemp_array(reason, cnt);

	(void)n;
	tu_logf("%s died %s", (const char *)arg, tu_json(&a, buf, sizeof(buf)));
}

static int
h_fail(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	(void)msg;
	(void)cnt;
	(void)arg;
	return aemp_fail(n, "bad request %d", 7);
}

static void
make_p0(aemp_node *n, void *arg)
{
	(void)arg;
	aemp_port(n, h_log, "P0", &p0);
	aemp_port(n, NULL, NULL, &plain);
	aemp_mon(n, plain.s, mon_log, "plain", NULL);
	aemp_port(n, h_fail, NULL, &failing);
	aemp_mon(n, failing.s, mon_log, "failing", NULL);
}

static void
make_p1(aemp_node *n, void *arg)
{
	(void)arg;
	aemp_port(n, h_log, "P1", &p1);
}

static void
send_from_shard0(aemp_node *n, void *arg)
{
	(void)arg;
	aemp_snd(n, p0.s, AEMP_MSG(aemp_str("local"), aemp_int(1)));
	tu_logf("after local snd");
	aemp_snd(n, p1.s, AEMP_MSG(aemp_str("cross"), aemp_int(2)));
	tu_logf("after cross snd");
}

static int
h_tagged(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char buf[256];
	aemp_val a = aemp_array(msg, cnt);

	(void)n;
	tu_logf("tag %s: %s", (const char *)arg, tu_json(&a, buf, sizeof(buf)));
	return 0;
}

static void
test_delivery(void)
{
	char line[512];

	CHECK_OK(tu_run(node, 0, make_p0, NULL));
	CHECK_OK(tu_run(node, node->nshards > 1 ? 1 : 0, make_p1, NULL));
	CHECK(aemp_port_is_local(node, p0.s));
	CHECK_EQ(aemp_node_of(p0.s), strlen("t1"));
	CHECK(strncmp(p0.s, "t1#", 3) == 0);
	CHECK_OK(tu_run(node, 0, send_from_shard0, NULL));
	/* Same shard: delivered before aemp_snd returned. */
	snprintf(line, sizeof(line), "P0 got [\"local\",1] self=%s src=t1",
	         p0.s);
	CHECK(TU_WAIT(tu_has(line), 5));
	snprintf(line, sizeof(line), "P1 got [\"cross\",2] self=%s src=t1",
	         p1.s);
	CHECK(TU_WAIT(tu_has(line), 5));
	{
		char *a = strstr(tu_log.buf, "P0 got [\"local\"");
		char *b = strstr(tu_log.buf, "after local snd");
		CHECK(a != NULL && b != NULL && a < b);
	}
	/* From the main thread (foreign path). */
	CHECK_OK(aemp_snd(node, p1.s, AEMP_MSG(aemp_str("foreign"))));
	snprintf(line, sizeof(line), "P1 got [\"foreign\"] self=%s src=t1",
	         p1.s);
	CHECK(TU_WAIT(tu_has(line), 5));
	/* Outside handlers there is no port context. */
	CHECK(aemp_self(node) == NULL);
	CHECK(aemp_srcnode(node) == NULL);
	/* Messages to missing ports vanish without error. */
	CHECK_OK(aemp_snd(node, "t1#nosuchport", AEMP_MSG(aemp_int(1))));
}

static void
test_unhandled_and_die(void)
{
	CHECK_OK(aemp_snd(node, plain.s,
	                  AEMP_MSG(aemp_str("zap\001"), aemp_int(3))));
	CHECK(TU_WAIT(tu_has("plain died [\"unhandled_message\",\"no callback "
	                     "found for message 'zap.'\"]"),
	              5));
	CHECK_OK(aemp_snd(node, failing.s, AEMP_MSG(aemp_str("x"))));
	CHECK(TU_WAIT(tu_has("failing died [\"die\",\"bad request 7\"]"), 5));
}

static void
test_tags(void)
{
	char name[AEMP_ID_MAX];

	snprintf(name, sizeof(name), "%s", "t1#svc");
	/* rcv creates the port (foreign path: waits for it). */
	CHECK_OK(aemp_rcv(node, name, h_tagged, "default"));
	CHECK_OK(aemp_rcv_tag(node, name, "ping", h_tagged, "ping"));
	CHECK_OK(aemp_snd(node, name, AEMP_MSG(aemp_str("ping"), aemp_int(5))));
	CHECK(TU_WAIT(tu_has("tag ping: [5]"), 5));
	CHECK_OK(aemp_snd(node, name, AEMP_MSG(aemp_str("pong"), aemp_int(6))));
	CHECK(TU_WAIT(tu_has("tag default: [\"pong\",6]"), 5));
	CHECK_OK(aemp_rcv_tag(node, name, "ping", NULL, NULL));
	CHECK_OK(aemp_snd(node, name, AEMP_MSG(aemp_str("ping"), aemp_int(7))));
	CHECK(TU_WAIT(tu_has("tag default: [\"ping\",7]"), 5));
	/* rcv on a remote or node port is refused. */
	CHECK_ERR(aemp_rcv(node, "other#x", h_tagged, NULL), AEMP_ENOPORT);
	CHECK_ERR(aemp_rcv(node, "t1", h_tagged, NULL), AEMP_ENOPORT);
	/* kil of a node port is refused. */
	CHECK_ERR(aemp_kil(node, "t1", NULL, 0), AEMP_ESTATE);
	CHECK_ERR(aemp_kil(node, "t1#", NULL, 0), AEMP_ESTATE);
	snprintf(named_mon.s, sizeof(named_mon.s), "%s", name);
	CHECK_OK(aemp_mon(node, name, mon_log, "svc", NULL));
	CHECK_OK(aemp_kil(node, name, AEMP_MSG(aemp_str("bye"))));
	CHECK(TU_WAIT(tu_has("svc died [\"bye\"]"), 5));
}

static void
test_node_port(void)
{
	char line[512];

	/* time: the reply goes to the reply address, with extra elements. */
	CHECK_OK(aemp_snd(
	        node, "t1",
	        AEMP_MSG(aemp_str("time"), aemp_str(p0.s), aemp_str("clock"))));
	CHECK(TU_WAIT(strstr(tu_log.buf, "P0 got [\"clock\",1") != NULL, 5));
	CHECK_OK(aemp_snd(node, "t1#",
	                  AEMP_MSG(aemp_str("can"), aemp_str("mon1"),
	                           aemp_str(p0.s), aemp_str("can1"))));
	snprintf(line, sizeof(line), "P0 got [\"can1\",1] self=%s src=t1",
	         p0.s);
	CHECK(TU_WAIT(tu_has(line), 5));
	CHECK_OK(aemp_snd(node, "t1",
	                  AEMP_MSG(aemp_str("can"), aemp_str("eval"),
	                           aemp_str(p0.s), aemp_str("can2"))));
	snprintf(line, sizeof(line), "P0 got [\"can2\",false] self=%s src=t1",
	         p0.s);
	CHECK(TU_WAIT(tu_has(line), 5));
	/* eval is refused with an error string when a reply address is given. */
	CHECK_OK(aemp_snd(node, "t1",
	                  AEMP_MSG(aemp_str("eval"), aemp_str("1+1"),
	                           aemp_str(p0.s), aemp_str("ev"))));
	snprintf(line, sizeof(line),
	         "P0 got [\"ev\",\"eval not supported\"] self=%s src=t1", p0.s);
	CHECK(TU_WAIT(tu_has(line), 5));
	/* relay through snd */
	CHECK_OK(aemp_snd(node, "t1",
	                  AEMP_MSG(aemp_str("snd"), aemp_str(p0.s),
	                           aemp_str("relayed"))));
	snprintf(line, sizeof(line), "P0 got [\"relayed\"] self=%s src=t1",
	         p0.s);
	CHECK(TU_WAIT(tu_has(line), 5));
	/* keepalives and junk are ignored without harm */
	CHECK_OK(aemp_snd(node, "t1", AEMP_MSG(aemp_str(""))));
	CHECK_OK(aemp_snd(node, "t1", NULL, 0));
	CHECK_OK(aemp_snd(node, "t1",
	                  AEMP_MSG(aemp_str("devnull"), aemp_int(1))));
	CHECK_OK(aemp_snd(node, "t1", AEMP_MSG(aemp_str("No::Such::func"))));
}

int
main(void)
{
	alarm(60);
	node = tu_node("t1", 2);
	tu_start(node);
	test_delivery();
	test_unhandled_and_die();
	test_tags();
	test_node_port();
	if (tap_failed)
		tu_log_dump();
	aemp_node_free(node);
	return tap_done();
}
