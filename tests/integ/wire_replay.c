/*
 * tests/integ/wire_replay.c - the recorded Perl conversations replayed
 * against aemp nodes on the wire (tests/vectors/):
 *
 *  1. raw_client_hmac_full.txt: a scripted client plays "pyclient"
 *     against an aemp global node set up like the recorded Perl "seedA"
 *     (test families, ports recv/victim, TestFuncs::init); every answer
 *     must be the packet the Perl node sent, except where aemp differs on
 *     purpose (eval is refused: "eval not supported").
 *  2. fake_seed_json.txt: a scripted fake seed receives an aemp node
 *     "slaveC" that joins it, and must see what the Perl slaveC sent:
 *     g_slave, g_slave with the local database, the queued g_mon1 and
 *     g_db_* requests, g_upd with set and delete, mon1, time; and the
 *     node must react to g_chg1, g_reply, kil0 and replies as Perl did.
 *
 * aemp-test-timeout: 120
 */
#include "tests/integ/peer.h"

static aemp_node *
mknode(const char *id, const char *seeds, int global)
{
	char conf[512];

	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"geheim\","
	         "\"shards\":2%s%s%s}",
	         seeds ? ",\"seeds\":" : "", seeds ? seeds : "",
	         global ? ",\"services\":[\"AnyEvent::MP::Global::\"]" : "");
	return tu_node_json(id, conf);
}

static void
strval(const aemp_val *v, char *buf, size_t cap)
{
	snprintf(buf, cap, "%.*s", v && v->type == AEMP_STR ? (int)v->len : 0,
	         v && v->type == AEMP_STR ? v->u.s : "");
}

/* recv: ["hello", REPLYPORT, TAG] -> REPLYPORT "ack", NODE, TAG */
static int
h_recv(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char to[AEMP_ID_MAX];

	(void)arg;
	if (cnt < 3)
		return 0;
	strval(&msg[1], to, sizeof(to));
	return aemp_snd(
	        n, to,
	        AEMP_MSG(aemp_str("ack"), aemp_str(aemp_node_id(n)), msg[2]));
}

/* victim: "die" -> kil $SELF, killed_on_request => "bye" */
static int
h_victim(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	(void)arg;
	if (cnt > 0 && aemp_str_eq(&msg[0], "die"))
		aemp_kil(n, aemp_self(n),
		         AEMP_MSG(aemp_str("killed_on_request"),
		                  aemp_str("bye")));
	return 0;
}

/* the spawned port: ping N -> REPLY "pong", NODE, SELF, "N" */
static int
h_spawned(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char to[AEMP_ID_MAX], num[32];
	int64_t k = 0;

	strval(arg, to, sizeof(to));
	if (cnt < 2 || !aemp_str_eq(&msg[0], "ping"))
		return 0;
	aemp_get_int(&msg[1], &k);
	snprintf(num, sizeof(num), "%lld", (long long)k);
	return aemp_snd(n, to,
	                AEMP_MSG(aemp_str("pong"), aemp_str(aemp_node_id(n)),
	                         aemp_str(aemp_self(n)), aemp_str(num)));
}

static int
testfuncs_init(aemp_node *n, const aemp_val *args, size_t cnt, void *arg)
{
	char to[AEMP_ID_MAX];
	static aemp_val reply; /* the init argument, kept for the handler */
	static char replybuf[AEMP_ID_MAX];

	(void)arg;
	if (cnt < 1)
		return aemp_fail(n, "no reply port");
	strval(&args[0], to, sizeof(to));
	memcpy(replybuf, to, sizeof(replybuf));
	reply = aemp_str(replybuf);
	aemp_rcv(n, aemp_self(n), h_spawned, &reply);
	aemp_mon_kill(n, to, NULL, NULL);
	return aemp_snd(n, to,
	                AEMP_MSG(aemp_str("spawned"), aemp_str(aemp_node_id(n)),
	                         aemp_str(aemp_self(n))));
}

static void
step(struct peer *p, const char *send, const char *want)
{
	if (send != NULL)
		CHECK_OK(peer_send(p, send));
	if (want != NULL && !peer_expect(p, want, 5)) {
		tap_result(0, __FILE__, __LINE__, want, "not received");
	} else if (want != NULL) {
		tap_result(1, __FILE__, __LINE__, want, NULL);
	}
}

static void
replay_raw_client(void)
{
	aemp_node *a = mknode("seedA", NULL, 1);
	char addr[256], want[512], *got;
	struct peer p;
	aemp_val *lst = NULL;

	CHECK_OK(aemp_register(a, "TestFuncs::init", testfuncs_init, NULL));
	CHECK_OK(aemp_rcv(a, "seedA#tu95nRFG1b", h_recv, NULL));
	CHECK_OK(aemp_rcv(a, "seedA#tu95nRFG1c", h_victim, NULL));
	CHECK_OK(aemp_db_set(a, "test_family", "keyA",
	                     AEMP_ARR(aemp_str("valueA")).u.a, NULL));
	tu_start(a);
	CHECK(TU_WAIT(aemp_node_is_global(a), 5));
	aemp_node_listeners(a, addr, sizeof(addr));
	CHECK_OK(aemp_json_parse(addr, strlen(addr), &lst));
	if (lst == NULL || lst->len < 1 ||
	    peer_connect(&p, lst->u.a[0].u.s, "pyclient", "geheim") < 0) {
		CHECK(!"connected as pyclient");
		aemp_val_free(lst);
		aemp_node_free(a);
		return;
	}
	usleep(200000);
	step(&p, NULL, "[\"\",\"g_global\"]");
	step(&p, "[\"\",\"g_slave\",{\"'l\":{\"pyclient\":[]}}]", NULL);
	step(&p, "[\"\",\"g_db_family\",\"test_family\",\"q1\"]",
	     "[\"\",\"g_reply\",\"q1\",{\"keyA\":\"valueA\"}]");
	step(&p, "[\"\",\"g_db_keys\",\"test_family\",\"q2\"]",
	     "[\"\",\"g_reply\",\"q2\",[\"keyA\"]]");
	step(&p, "[\"\",\"g_db_values\",\"test_family\",\"q3\"]",
	     "[\"\",\"g_reply\",\"q3\",[\"valueA\"]]");
	snprintf(want, sizeof(want), "[\"\",\"g_found\",\"seedA\",%s]", addr);
	step(&p, "[\"\",\"g_find\",\"seedA\"]", want);
	step(&p, "[\"\",\"g_mon1\",\"test_family\"]",
	     "[\"\",\"g_chg1\",\"test_family\",{\"keyA\":\"valueA\"}]");
	step(&p,
	     "[\"\",\"g_upd\",\"test_family\",{\"keyPy\":\"from-python\"},[]]",
	     "[\"\",\"g_chg2\",\"test_family\",{\"keyPy\":\"from-python\"},[]"
	     "]");
	CHECK_OK(peer_send(&p, "[\"\",\"time\",\"pyclient#t1\"]"));
	got = peer_recv(&p, 5);
	CHECK(got != NULL && strncmp(got, "[\"t1\",1", 7) == 0);
	free(got);
	/* aemp refuses eval with an error string (aemp-protocol.md §9) */
	step(&p, "[\"\",\"eval\",\"1+1\",\"pyclient#e1\"]",
	     "[\"e1\",\"eval not supported\"]");
	step(&p, "[\"\",\"can\",\"g_db_keys\",\"pyclient#c1\"]", "[\"c1\",1]");
	step(&p, "[\"tu95nRFG1b\",\"hello\",\"pyclient#p1\",\"raw-1\"]",
	     "[\"p1\",\"ack\",\"seedA\",\"raw-1\"]");
	step(&p, "[\"\",\"mon1\",\"tu95nRFG1c\"]", NULL);
	step(&p, "[\"tu95nRFG1c\",\"die\"]",
	     "[\"\",\"kil0\",\"tu95nRFG1c\",\"killed_on_request\",\"bye\"]");
	step(&p, "[\"\",\"mon1\",\"nonexistent\"]",
	     "[\"\",\"kil0\",\"nonexistent\",\"no_such_port\",\"cannot monitor "
	     "nonexistent port\",\"seedA#nonexistent\"]");
	step(&p,
	     "[\"\",\"AnyEvent::MP::_spawn\",\"PySpawn1\",\"TestFuncs::init\","
	     "\"pyclient#s1\"]",
	     "[\"\",\"mon1\",\"s1\"]");
	step(&p, NULL, "[\"s1\",\"spawned\",\"seedA\",\"seedA#PySpawn1\"]");
	step(&p, "[\"PySpawn1\",\"ping\",7]",
	     "[\"s1\",\"pong\",\"seedA\",\"seedA#PySpawn1\",\"7\"]");
	step(&p, "[\"\",\"mon1\",\"PySpawn1\"]", NULL);
	step(&p, "[\"\",\"kil1\",\"PySpawn1\",\"bye\",\"from python\"]",
	     "[\"\",\"kil0\",\"PySpawn1\",\"bye\",\"from python\"]");
	step(&p, "[\"\",\"g_upd\",\"test_family\",null,[\"keyPy\"]]",
	     "[\"\",\"g_chg2\",\"test_family\",{},[\"keyPy\"]]");
	step(&p, "[\"\",\"g_mon0\",\"test_family\"]", NULL);
	step(&p, "[]", NULL);
	step(&p, "[\"\",\"devnull\"]", NULL);
	/* still alive and answering */
	step(&p, "[\"\",\"can\",\"devnull\",\"pyclient#c2\"]", "[\"c2\",1]");
	peer_close(&p);
	aemp_val_free(lst);
	aemp_node_free(a);
}

static void
dbmon_log(aemp_node *n, const char *family, const aemp_dbmirror *mirror,
          const aemp_val *added, const aemp_val *changed,
          const aemp_val *deleted, void *arg)
{
	char m[512], a[256], c[256], d[256];
	aemp_val *map = aemp_dbmirror_map(mirror);

	(void)n;
	(void)arg;
	tu_logf("mon %s now=%s a=%s c=%s d=%s", family,
	        tu_json(map, m, sizeof(m)), tu_json(added, a, sizeof(a)),
	        tu_json(changed, c, sizeof(c)), tu_json(deleted, d, sizeof(d)));
	aemp_val_free(map);
}

static void
db_log(aemp_node *n, const char *family, const aemp_val *res, void *arg)
{
	char buf[512];

	(void)n;
	tu_logf("%s %s = %s", (const char *)arg, family,
	        tu_json(res, buf, sizeof(buf)));
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

/* Find the next packet whose JSON starts with prefix; its text. */
static char *
recv_prefix(struct peer *p, const char *prefix, double timeout)
{
	double end = tu_now() + timeout;
	char *got;

	while ((got = peer_recv(p, end - tu_now())) != NULL) {
		if (strncmp(got, prefix, strlen(prefix)) == 0)
			return got;
		free(got);
	}
	return NULL;
}

static void
replay_fake_seed(void)
{
	char seedaddr[64], seeds[80], lst[256], want[600], *got, id[16];
	aemp_node *c;
	struct peer p;
	int lfd = peer_listen(seedaddr, sizeof(seedaddr));
	aemp_val *v = NULL;

	tu_log_reset();
	snprintf(seeds, sizeof(seeds), "[\"%s\"]", seedaddr);
	c = mknode("slaveC", seeds, 0);
	CHECK_OK(aemp_db_set(c, "slave_family", "k2",
	                     AEMP_ARR(AEMP_ARR(aemp_str("a"))).u.a, NULL));
	CHECK_OK(aemp_db_mon(c, "slave_family", dbmon_log, NULL, NULL));
	CHECK_OK(aemp_db_keys(c, "slave_family", db_log, "keys"));
	tu_start(c);
	aemp_node_listeners(c, lst, sizeof(lst));
	if (peer_accept(&p, lfd, "fakeseed", "geheim", 10) < 0) {
		CHECK(!"slaveC joined the fake seed");
		close(lfd);
		aemp_node_free(c);
		return;
	}
	step(&p, "[\"\",\"g_global\"]", "[\"\",\"g_slave\"]");
	snprintf(want, sizeof(want),
	         "[\"\",\"g_slave\",{\"'l\":{\"slaveC\":%s},"
	         "\"slave_family\":{\"k2\":[\"a\"]}}]",
	         lst);
	step(&p, NULL, want);
	got = recv_prefix(&p, "[\"\",\"g_db_keys\",\"slave_family\",", 5);
	CHECK(got != NULL);
	if (got != NULL && aemp_json_parse(got, strlen(got), &v) == 0)
		strval(&v->u.a[3], id, sizeof(id));
	free(got);
	aemp_val_free(v);
	CHECK_OK(peer_send(&p, "[\"\",\"g_chg1\",\"slave_family\","
	                       "{\"fake_key\":\"fake_value\"}]"));
	CHECK(TU_WAIT(
	        tu_has("mon slave_family now={\"fake_key\":\"fake_value\"} "
	               "a=[\"fake_key\"] c=[] d=[]"),
	        5));
	snprintf(want, sizeof(want), "[\"\",\"g_reply\",\"%s\",[]]", id);
	CHECK_OK(peer_send(&p, want));
	CHECK(TU_WAIT(tu_has("keys slave_family = []"), 5));
	/* a monitor and a call towards the (fake) seed, as slaveC did */
	CHECK_OK(aemp_mon(c, "fakeseed#p2", mon_log, "p2", NULL));
	step(&p, NULL, "[\"\",\"mon1\",\"p2\"]");
	CHECK_OK(peer_send(&p,
	                   "[\"\",\"kil0\",\"p2\",\"fake_reason\",\"port p2 "
	                   "died in the fake seed\"]"));
	CHECK(TU_WAIT(tu_has("p2 fired [\"fake_reason\",\"port p2 died in the "
	                     "fake seed\"]"),
	              5));
	CHECK_OK(aemp_cal(c, "fakeseed", AEMP_MSG(aemp_str("time")), cal_cb,
	                  "time", 5, NULL));
	got = recv_prefix(&p, "[\"\",\"time\",\"slaveC#", 5);
	CHECK(got != NULL);
	if (got != NULL && aemp_json_parse(got, strlen(got), &v) == 0) {
		strval(&v->u.a[2], want, sizeof(want));
		snprintf(lst, sizeof(lst), "[\"%s\",1795354112.63496]",
		         strchr(want, '#') + 1);
		CHECK_OK(peer_send(&p, lst));
		aemp_val_free(v);
	}
	free(got);
	CHECK(TU_WAIT(tu_has("cal time status=0 [1795354112.63496]"), 5));
	/* database changes: set, then delete in the Perl form */
	CHECK_OK(aemp_db_set(c, "slave_family", "k3", NULL, NULL));
	step(&p, NULL, "[\"\",\"g_upd\",\"slave_family\",{\"k3\":null}]");
	CHECK_OK(aemp_db_del(c, "slave_family", "k2"));
	step(&p, NULL, "[\"\",\"g_upd\",\"slave_family\",null,[\"k2\"]]");
	peer_close(&p);
	close(lfd);
	aemp_node_free(c);
	if (tap_failed)
		tu_log_dump();
}

/*
 * 3. perl_perl_global_global_json.txt: a scripted Perl global ("seedD")
 *    meets an aemp global ("seedA"); aemp must send what the Perl seedA
 *    sent: g_global, g_upd 'g adding seedD, g_set with its merged
 *    database, and g_upd 'l mirroring seedD's listeners.
 */
static void
replay_global_global(void)
{
	aemp_node *a = mknode("seedA", NULL, 1);
	char addr[256], want[512], *got;
	aemp_val *lst = NULL, *v = NULL;
	struct peer p;

	CHECK_OK(aemp_db_set(a, "test_family", "keyA",
	                     AEMP_ARR(aemp_str("valueA")).u.a, NULL));
	tu_start(a);
	CHECK(TU_WAIT(aemp_node_is_global(a), 5));
	aemp_node_listeners(a, addr, sizeof(addr));
	CHECK_OK(aemp_json_parse(addr, strlen(addr), &lst));
	if (lst == NULL || lst->len < 1 ||
	    peer_connect(&p, lst->u.a[0].u.s, "seedD", "geheim") < 0) {
		CHECK(!"connected as seedD");
		aemp_val_free(lst);
		aemp_node_free(a);
		return;
	}
	step(&p, "[\"\",\"g_slave\"]", "[\"\",\"g_global\"]");
	step(&p, "[\"\",\"g_global\"]",
	     "[\"\",\"g_upd\",\"'g\",{\"seedD\":null},[]]");
	CHECK_OK(peer_send(&p, "[\"\",\"g_upd\",\"'g\",{\"seedA\":null},[]]"));
	CHECK_OK(peer_send(&p, "[\"\",\"g_set\",{\"test_family\":{\"keyA\":"
	                       "\"valueA\"},\"'g\":{\"seedD\":null,\"seedA\":"
	                       "null},\"'l\":{\"seedD\":[\"127.0.0.1:14132\"]},"
	                       "\"test_reg\":{\"seedD#2BjaSTx3Sb\":"
	                       "\"registered-by-D\"}}]"));
	got = peer_recv(&p, 5);
	while (got != NULL && strncmp(got, "[\"\",\"g_set\",", 12) != 0) {
		if (getenv("AEMP_TEST_LOG"))
			printf("# skipped %s\n", got);
		free(got);
		got = peer_recv(&p, 5);
	}
	CHECK(got != NULL);
	if (got != NULL && aemp_json_parse(got, strlen(got), &v) == 0) {
		const aemp_val *db = &v->u.a[2];

		CHECK(aemp_str_eq(
		        aemp_map_get(aemp_map_get(db, "test_family"), "keyA"),
		        "valueA"));
		CHECK(aemp_map_get(aemp_map_get(db, "'g"), "seedA") != NULL);
		CHECK(aemp_map_get(aemp_map_get(db, "'g"), "seedD") != NULL);
		snprintf(want, sizeof(want), "%.*s", (int)lst->u.a[0].len,
		         lst->u.a[0].u.s);
		CHECK(aemp_str_eq(
		        &aemp_map_get(aemp_map_get(db, "'l"), "seedA")->u.a[0],
		        want));
	}
	free(got);
	aemp_val_free(v);
	step(&p, NULL,
	     "[\"\",\"g_upd\",\"'l\",{\"seedD\":[\"127.0.0.1:14132\"]},"
	     "[]]");
	/* seedD's registration is now answered by seedA */
	step(&p, "[\"\",\"g_db_family\",\"test_reg\",\"r1\"]",
	     "[\"\",\"g_reply\",\"r1\",{\"seedD#2BjaSTx3Sb\":"
	     "\"registered-by-D\"}]");
	peer_close(&p);
	aemp_val_free(lst);
	aemp_node_free(a);
}

int
main(void)
{
	alarm(110);
	replay_raw_client();
	replay_fake_seed();
	replay_global_global();
	return tap_done();
}
