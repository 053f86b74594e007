/*
 * tests/integ/frag_kill.c - a peer killed in the middle of a fragmented
 * packet (docs/protocol.md "Fragments"): a child node streams 3 MiB
 * messages in 4 KiB fragments to the driver, interleaved with small
 * ones; the driver kills it with SIGKILL while a large message is under
 * way.  The driver's monitor of a port on the child fires, every message
 * delivered is whole (size and checksum), and nothing arrives after the
 * monitor fired: the partial packet is dropped whole.  The driver has one
 * shard, so connection, port and monitor share it and "after" is exact
 * (with more shards, packets received before the loss may still be on
 * their way to the port's shard when the monitor runs elsewhere).
 *
 * aemp-test-timeout: 120
 */
#include "tests/engine_util.h"
#include "tests/integ/procs.h"

#define BIG (3u << 20)

/* ---- the child: sender ---------------------------------------------- */

static int
h_none(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	(void)n;
	(void)msg;
	(void)cnt;
	(void)arg;
	return 0;
}

static int
role_sender(const char *seed, const char *port)
{
	char conf[512];
	uint8_t *buf = malloc(BIG);
	aemp_node *n;
	long seq;
	size_t i, size;

	procs_child_init();
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[],\"secret\":\"frag-kill\",\"seeds\":[\"%s\"],"
	         "\"fragment_size\":4096,\"shards\":1}",
	         seed);
	n = tu_node_json("fksnd", conf);
	aemp_rcv(n, "fksnd#alive", h_none, NULL);
	tu_start(n);
	for (i = 0; i < BIG; i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 9));
	printf("started\n");
	for (seq = 0;; seq++) {
		size = seq % 2 ? 100 + (size_t)seq % 50 : BIG - (size_t)seq;
		buf[0] = (uint8_t)seq;
		if (aemp_snd_wait(n, port,
		                  AEMP_MSG(aemp_int(seq), aemp_bytes(buf, size),
		                           aemp_int(tu_fnv(buf, size))),
		                  60) < 0)
			usleep(10000);
	}
	return 0;
}

/* ---- the driver: receiver ------------------------------------------- */

static atomic_long got, bad, after;
static atomic_int fired;

static int
h_rx(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	int64_t seq = -1, sum = -1;

	(void)n;
	(void)arg;
	if (atomic_load(&fired))
		atomic_fetch_add(&after, 1);
	if (cnt != 3 || msg[1].type != AEMP_STR ||
	    aemp_get_int(&msg[0], &seq) < 0 ||
	    aemp_get_int(&msg[2], &sum) < 0 ||
	    (uint32_t)sum != tu_fnv((const uint8_t *)msg[1].u.s, msg[1].len) ||
	    msg[1].len != (seq % 2 ? 100 + (uint64_t)seq % 50
	                           : BIG - (uint64_t)seq) ||
	    seq != atomic_load(&got))
		atomic_fetch_add(&bad, 1);
	atomic_fetch_add(&got, 1);
	return 0;
}

static void
mon_fired(aemp_node *n, const aemp_val *reason, size_t cnt, void *arg)
{
	char buf[512];
	aemp_val a = aemp_array(reason, cnt);

	(void)n;
	(void)arg;
	tu_logf("monitor fired %s after %ld messages",
	        tu_json(&a, buf, sizeof(buf)), atomic_load(&got));
	atomic_store(&fired, 1);
}

int
main(int argc, char **argv)
{
	char addr[64], port[AEMP_ID_MAX];
	const char *args[5];
	aemp_node *n;
	aemp_id p;
	long at;
	int c;

	if (argc == 5 && strcmp(argv[1], "--role") == 0 &&
	    strcmp(argv[2], "sender") == 0)
		return role_sender(argv[3], argv[4]);
	procs_init();
	alarm(110);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", free_port());
	snprintf(port, sizeof(port),
	         "{\"binds\":[\"%s\"],\"secret\":\"frag-kill\","
	         "\"shards\":1}",
	         addr);
	n = tu_node_json("fkrcv", port);
	CHECK_OK(aemp_port(n, h_rx, NULL, &p));
	tu_start(n);
	args[0] = "sender";
	args[1] = addr;
	args[2] = p.s;
	args[3] = NULL;
	c = proc_spawn(args);
	CHECK(c >= 0);
	CHECK(proc_line(c, "started", port, sizeof(port), 30) == 0);
	CHECK(TU_WAIT(aemp_node_is_up(n, "fksnd") == 1, 30));
	CHECK_OK(aemp_mon(n, "fksnd#alive", mon_fired, NULL, NULL));
	/* a few messages, then kill while the next large one is on its
	 * way: after an even count (seq 0 is large) the large one is next */
	CHECK(TU_WAIT(atomic_load(&got) >= 5, 60));
	CHECK(TU_WAIT(atomic_load(&got) % 2 == 0, 30));
	at = atomic_load(&got);
	proc_kill(c, SIGKILL);
	CHECK(TU_WAIT(atomic_load(&fired) == 1, 30));
	CHECK(strstr(tu_log.buf, "monitor fired [\"transport_error\"") != NULL);
	usleep(200000);
	CHECK_EQ(atomic_load(&bad), 0);
	CHECK_EQ(atomic_load(&after), 0);
	DIAG("killed after %ld messages (%ld delivered in all, the next one "
	     "%s), all whole, none after the monitor fired",
	     at, atomic_load(&got),
	     atomic_load(&got) % 2 ? "small" : "large: cut off in fragments");
	aemp_node_free(n);
	if (tap_failed)
		tu_log_dump();
	return tap_done();
}
