/*
 * tests/integ/wire_client.c - aemp in the client role of the recorded
 * Perl 2.02 conversation (../shared/aemp-vectors/perl_perl_json.txt,
 * "C>A" packets): the test plays seedA (a scripted peer, JSON framing),
 * an aemp node "clientB" seeded with it does what clientB did there, and
 * every packet it sends must have the transcript's shape:
 *
 *   snd            ["zobtOrr30b","hello","clientB#R","msg-1"]   (msg 7)
 *   cal time       ["","time","clientB#R"]                      (msg 12)
 *   spawn          ["","AnyEvent::MP::_spawn",NAME,"TestFuncs::init",
 *                   "clientB#R"]                                (msg 14)
 *   mon            ["","mon1",NAME]                             (msg 16)
 *   kil + reason   ["","kil1",NAME,"testing","remote kil"]      (msg 17)
 *   a port seedA monitors dies normally: ["","kil0",R]          (msg 19)
 *
 * and the replies seedA sent (msg 4, 8, 13) reach the right callbacks.
 *
 * aemp-test-timeout: 60
 */
#include "tests/integ/peer.h"

#define SECRET "geheim"

static atomic_int acks, syncs, kil_fired;
static _Atomic double time_reply = -1;
static char kil_reason[256];

static int
h_reply(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	(void)n;
	(void)arg;
	if (cnt == 1 && aemp_str_eq(&msg[0], "sync"))
		atomic_fetch_add(&syncs, 1);
	if (cnt == 3 && aemp_str_eq(&msg[0], "ack") &&
	    aemp_str_eq(&msg[1], "seedA") && aemp_str_eq(&msg[2], "msg-1"))
		atomic_fetch_add(&acks, 1);
	return 0;
}

static void
on_time(aemp_node *n, int status, const aemp_val *reply, size_t cnt, void *arg)
{
	double t = 0;

	(void)n;
	(void)arg;
	if (status == 0 && cnt == 1 && aemp_get_float(&reply[0], &t) == 0)
		atomic_store(&time_reply, t);
}

static void
on_kil(aemp_node *n, const aemp_val *reason, size_t cnt, void *arg)
{
	aemp_val arr = aemp_array(reason, cnt);

	(void)n;
	(void)arg;
	aemp_json_format(&arr, kil_reason, sizeof(kil_reason));
	atomic_fetch_add(&kil_fired, 1);
}

int
main(void)
{
	char addr[64], conf[256], want[1024];
	const char *name, *rname;
	aemp_id reply, spawned, rp;
	aemp_node *n;
	struct peer p;
	int lfd = peer_listen(addr, sizeof(addr));

	CHECK(lfd >= 0);
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[],\"secret\":\"" SECRET "\",\"seeds\":[\"%s\"],"
	         "\"shards\":2}",
	         addr);
	n = tu_node_json("clientB", conf);
	tu_start(n);
	CHECK(peer_accept(&p, lfd, "seedA", SECRET, 10) == 0);
	TU_WAIT(aemp_node_is_up(n, "seedA") == 1, 5);

	/* msg 7 and the reply msg 4 */
	CHECK_OK(aemp_port(n, h_reply, NULL, &reply));
	CHECK_OK(aemp_snd(n, "seedA#zobtOrr30b",
	                  AEMP_MSG(aemp_str("hello"), aemp_str(reply.s),
	                           aemp_str("msg-1"))));
	snprintf(want, sizeof(want),
	         "[\"zobtOrr30b\",\"hello\",\"%s\",\"msg-1\"]", reply.s);
	CHECK(peer_expect(&p, want, 5));
	rname = strchr(reply.s, '#') + 1;
	snprintf(want, sizeof(want), "[\"%s\",\"ack\",\"seedA\",\"msg-1\"]",
	         rname);
	CHECK_OK(peer_send(&p, want));
	TU_WAIT(atomic_load(&acks) == 1, 5);
	CHECK_EQ(atomic_load(&acks), 1);

	/* msg 12 and the reply msg 8 */
	CHECK_OK(aemp_cal(n, "seedA", AEMP_MSG(aemp_str("time")), on_time, NULL,
	                  5, &rp));
	snprintf(want, sizeof(want), "[\"\",\"time\",\"%s\"]", rp.s);
	CHECK(peer_expect(&p, want, 5));
	snprintf(want, sizeof(want), "[\"%s\",1795354126.93819]",
	         strchr(rp.s, '#') + 1);
	CHECK_OK(peer_send(&p, want));
	TU_WAIT(atomic_load(&time_reply) > 0, 5);
	CHECK(atomic_load(&time_reply) == 1795354126.93819);

	/* msg 14: spawn, and seedA's spawned port links to the argument (A>C
	 * msg 10 ["","mon1",R]); R then dies normally: msg 19 */
	CHECK_OK(aemp_port(n, h_reply, NULL, &reply));
	rname = strchr(reply.s, '#') + 1;
	CHECK_OK(aemp_spawn(n, "seedA", "TestFuncs::init",
	                    AEMP_ARR(aemp_str(reply.s)).u.a, 1, &spawned));
	CHECK(strncmp(spawned.s, "seedA#", 6) == 0);
	name = spawned.s + 6;
	snprintf(want, sizeof(want),
	         "[\"\",\"AnyEvent::MP::_spawn\",\"%s\",\"TestFuncs::init\","
	         "\"%s\"]",
	         name, reply.s);
	CHECK(peer_expect(&p, want, 5));
	snprintf(want, sizeof(want), "[\"\",\"mon1\",\"%s\"]", rname);
	CHECK_OK(peer_send(&p, want));
	/* The mon1 must be registered before the kill.  Its registration
	 * reaches R's shard ahead of anything the connection sends R later,
	 * so once R has handled a message sent after the mon1, the monitor is
	 * in place (a round trip to another port would prove nothing: it
	 * may run on another shard). */
	snprintf(want, sizeof(want), "[\"%s\",\"sync\"]", rname);
	CHECK_OK(peer_send(&p, want));
	TU_WAIT(atomic_load(&syncs) == 1, 5);
	CHECK_EQ(atomic_load(&syncs), 1);
	CHECK_OK(aemp_kil(n, reply.s, NULL, 0));
	snprintf(want, sizeof(want), "[\"\",\"kil0\",\"%s\"]", rname);
	CHECK(peer_expect(&p, want, 5));

	/* msg 16, 17 and seedA's answer msg 13 */
	CHECK_OK(aemp_mon(n, spawned.s, on_kil, NULL, NULL));
	snprintf(want, sizeof(want), "[\"\",\"mon1\",\"%s\"]", name);
	CHECK(peer_expect(&p, want, 5));
	CHECK_OK(aemp_kil(
	        n, spawned.s,
	        AEMP_ARR(aemp_str("testing"), aemp_str("remote kil")).u.a, 2));
	snprintf(want, sizeof(want),
	         "[\"\",\"kil1\",\"%s\",\"testing\",\"remote kil\"]", name);
	CHECK(peer_expect(&p, want, 5));
	snprintf(want, sizeof(want),
	         "[\"\",\"kil0\",\"%s\",\"testing\",\"remote kil\"]", name);
	CHECK_OK(peer_send(&p, want));
	TU_WAIT(atomic_load(&kil_fired) == 1, 5);
	CHECK_EQ(atomic_load(&kil_fired), 1);
	CHECK_STREQ(kil_reason, "[\"testing\",\"remote kil\"]");

	peer_close(&p);
	close(lfd);
	aemp_node_free(n);
	return tap_done();
}
