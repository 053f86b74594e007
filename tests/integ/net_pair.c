/*
 * tests/integ/net_pair.c - two nodes in one process over loopback: join
 * through a seed, messages both ways in every framing combination, remote
 * monitors, kil, spawn, cal, no_such_port, node events, and transport
 * errors when a node goes away.
 *
 * aemp-test-timeout: 120
 */
#include "tests/engine_util.h"

static aemp_node *
mknode(const char *id, const char *framing, const char *seed_of)
{
	char conf[1024], addr[256] = "[]";

	if (seed_of != NULL)
		aemp_node_listeners((aemp_node *)seed_of, addr, sizeof(addr));
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"s3cr3t-example\","
	         "\"framing_format\":%s,\"shards\":2,\"seeds\":%s}",
	         framing, addr);
	return tu_node_json(id, conf);
}

static int
h_log(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char buf[512];
	aemp_val a = aemp_array(msg, cnt);

	tu_logf("%s got %s from %s", (const char *)arg,
	        tu_json(&a, buf, sizeof(buf)), aemp_srcnode(n));
	return 0;
}

/* Replies to the port ID in element 0 with "re" and element 1. */
static int
h_echo(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char to[AEMP_ID_MAX];

	(void)arg;
	if (cnt < 2 || msg[0].type != AEMP_STR)
		return 0;
	snprintf(to, sizeof(to), "%.*s", (int)msg[0].len, msg[0].u.s);
	return aemp_snd(n, to, AEMP_MSG(aemp_str("re"), msg[1]));
}

/* cal server: reply to the last element. */
static int
h_adder(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	int64_t a = 0, b = 0;
	char to[AEMP_ID_MAX];

	(void)arg;
	aemp_get_int(&msg[1], &a);
	aemp_get_int(&msg[2], &b);
	snprintf(to, sizeof(to), "%.*s", (int)msg[cnt - 1].len,
	         msg[cnt - 1].u.s);
	return aemp_snd(n, to, AEMP_MSG(aemp_int(a + b)));
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

static void
cal_cb(aemp_node *n, int status, const aemp_val *reply, size_t cnt, void *arg)
{
	char buf[256];
	aemp_val a = aemp_array(reply, cnt);

	(void)n;
	tu_logf("cal %s status=%d %s", (const char *)arg, status,
	        reply ? tu_json(&a, buf, sizeof(buf)) : "none");
}

static void
node_ev(aemp_node *n, const char *id, int up, const aemp_val *reason,
        size_t cnt, void *arg)
{
	char buf[256];
	aemp_val a = aemp_array(reason, cnt);

	(void)n;
	tu_logf("%s sees %s %s %s", (const char *)arg, id, up ? "up" : "down",
	        tu_json(&a, buf, sizeof(buf)));
}

static int
init_worker(aemp_node *n, const aemp_val *args, size_t cnt, void *arg)
{
	(void)args;
	(void)cnt;
	(void)arg;
	return aemp_rcv(n, aemp_self(n), h_log, "worker");
}

static void
run_pair(const char *fa, const char *fb)
{
	aemp_node *a, *b;
	aemp_id pa, pb, adder, worker;
	char line[600];

	tu_log_reset();
	a = mknode("alpha", fa, NULL);
	b = mknode("beta", fb, (const char *)a);
	CHECK_OK(aemp_register(a, "Test::init", init_worker, NULL));
	CHECK_OK(aemp_mon_nodes(a, node_ev, "alpha", NULL)); /* before start */
	tu_start(a);
	tu_start(b);
	CHECK(TU_WAIT(aemp_node_is_up(b, "alpha") == 1, 10));
	CHECK(TU_WAIT(aemp_node_is_up(a, "beta") == 1, 10));
	DIAG("framings %s / %s: connected", fa, fb);

	CHECK_OK(aemp_port(a, h_echo, NULL, &pa));
	CHECK_OK(aemp_port(b, h_log, "pb", &pb));
	CHECK_OK(
	        aemp_snd(b, pa.s, AEMP_MSG(aemp_str(pb.s), aemp_str("hello"))));
	CHECK(TU_WAIT(tu_has("pb got [\"re\",\"hello\"] from alpha"), 10));
	/* alpha talks back over the connection beta opened */
	CHECK_OK(aemp_snd(a, pb.s,
	                  AEMP_MSG(aemp_float(2.5), aemp_int(-7), aemp_bool(1),
	                           aemp_null())));
	CHECK(TU_WAIT(tu_has("pb got [2.5,-7,true,null] from alpha"), 10));

	/* remote monitor fires with the kill reason */
	CHECK_OK(aemp_mon(b, pa.s, mon_log, "b-mon-pa", NULL));
	usleep(100000);
	CHECK_OK(aemp_kil(
	        a, pa.s,
	        AEMP_MSG(aemp_str("killed_on_request"), aemp_str("bye"))));
	CHECK(TU_WAIT(tu_has("b-mon-pa fired [\"killed_on_request\",\"bye\"]"),
	              10));
	/* monitoring a port that does not exist over there */
	CHECK_OK(aemp_mon(b, "alpha#nonexistent", mon_log, "b-mon-none", NULL));
	CHECK(TU_WAIT(
	        tu_has("b-mon-none fired [\"no_such_port\",\"cannot "
	               "monitor nonexistent port\",\"alpha#nonexistent\"]"),
	        10));
	/* remote kil of a port monitored locally */
	CHECK_OK(aemp_port(a, h_log, "victim", &pa));
	CHECK_OK(aemp_mon(a, pa.s, mon_log, "a-mon-victim", NULL));
	CHECK_OK(aemp_kil(
	        b, pa.s,
	        AEMP_MSG(aemp_str("testing"), aemp_str("remote kil"))));
	CHECK(TU_WAIT(tu_has("a-mon-victim fired [\"testing\",\"remote kil\"]"),
	              10));
	/* remote spawn, then messages to the new port in order */
	CHECK_OK(aemp_spawn(b, "alpha", "Test::init", NULL, 0, &worker));
	CHECK_OK(
	        aemp_snd(b, worker.s, AEMP_MSG(aemp_str("job"), aemp_int(17))));
	CHECK(TU_WAIT(tu_has("worker got [\"job\",17] from beta"), 10));
	/* cal to a remote port */
	CHECK_OK(aemp_port(a, h_adder, NULL, &adder));
	CHECK_OK(aemp_cal(b, adder.s,
	                  AEMP_MSG(aemp_str("add"), aemp_int(2), aemp_int(40)),
	                  cal_cb, "add", 5, NULL));
	CHECK(TU_WAIT(tu_has("cal add status=0 [42]"), 10));
	/* the node port: time */
	CHECK_OK(aemp_cal(b, "alpha", AEMP_MSG(aemp_str("time")), cal_cb,
	                  "time", 5, NULL));
	CHECK(TU_WAIT(strstr(tu_log.buf, "cal time status=0 [1") != NULL, 10));

	/* alpha goes away: beta's monitors fire with a transport error */
	CHECK_OK(aemp_port(a, h_log, "last", &pa));
	CHECK_OK(aemp_mon(b, pa.s, mon_log, "b-mon-last", NULL));
	CHECK_OK(aemp_mon(b, "alpha", mon_log, "b-mon-node", NULL));
	usleep(100000);
	aemp_node_free(a);
	snprintf(line, sizeof(line),
	         "b-mon-last fired [\"transport_error\","
	         "\"alpha\",\"Unexpected end-of-file\"]");
	CHECK(TU_WAIT(tu_has(line), 10));
	CHECK(TU_WAIT(tu_has("b-mon-node fired [\"transport_error\",\"alpha\","
	                     "\"Unexpected end-of-file\"]"),
	              10));
	CHECK(tu_has("alpha sees beta up []"));
	CHECK(TU_WAIT(aemp_node_is_up(b, "alpha") == 0, 10));
	aemp_node_free(b);
	if (tap_failed)
		tu_log_dump();
}

/* A node nobody can find (no seeds, no master to ask): a monitor of one of
 * its ports fires when the attempt runs into its deadline, connect_interval
 * (aemp-protocol.md §5.5). */
static void
unknown_node(void)
{
	aemp_node *n = tu_node("lonely", 2);

	tu_log_reset();
	CHECK_OK(aemp_node_start(n));
	CHECK_OK(aemp_mon(n, "elsewhere#p", mon_log, "remote", NULL));
	CHECK(TU_WAIT(tu_has("remote fired [\"transport_error\",\"elsewhere\","
	                     "\"connect timeout\"]"),
	              5));
	aemp_node_free(n);
	if (tap_failed)
		tu_log_dump();
}

int
main(void)
{
	alarm(110);
	unknown_node();
	run_pair("[\"cbor\",\"json\"]", "[\"cbor\",\"json\"]");
	run_pair("[\"json\"]", "[\"json\"]");
	/* each side sends what the other prefers: alpha cbor, beta json */
	run_pair("[\"json\",\"cbor\"]", "[\"cbor\",\"json\"]");
	run_pair("[\"json\",\"cbor\"]", "[\"cbor\"]");
	return tap_done();
}
