/*
 * tests/integ/fault_order.c - the loss guarantee when a connection breaks
 * under a sender that keeps sending (aemp-protocol.md §4.6.7, rule 3:
 * the queue is discarded and all monitors fire *before* any further
 * packet for that node can be queued or sent).
 *
 * Node "a" streams sequence-numbered messages to port b#rx as fast as it
 * may (seq_tx: it monitors b#rx, and after every firing re-monitors and
 * sends a mark before going on).  Ten times, "a" also sends b#rx one
 * message larger than b's max_packet: b closes the connection, a sees
 * it fail, a's monitor fires, the stream goes on over a new connection.
 * Every hole that b sees must come after a mark.  Both nodes in this
 * process, one shard each, loopback, no privileges.
 *
 * This test found an engine bug, fixed in 3b7470c: the lmon registrations
 * of a failing node fired through a REC_FIRE record (engine/core/mon.c), also
 * on the node's own owner shard, so the monitor action ran a loop turn
 * later; in between, the same turn's timers and handlers could still send
 * to the node, eng_rnode_send queued the packets for the next connection,
 * and they arrived after the lost ones and before anything the monitor
 * action sent.  (Across shards the same window opened when NET_NODEEV and
 * REC_FIRE were drained in different turns.)
 *
 * aemp-test-timeout: 60
 */
#include "tests/integ/procs.h"

static struct seq_rx rx;
static struct seq_tx tx;

static void
send_big(aemp_node *a, void *arg)
{
	static char big[4096];

	(void)arg;
	memset(big, 'x', sizeof(big));
	aemp_snd(a, "b#rx", AEMP_MSG(aemp_strn(big, sizeof(big))));
}

int
main(void)
{
	char seed[128], conf[512];
	aemp_node *a, *b;
	long fires;
	int i;

	procs_init();
	alarm(55);
	a = tu_node_json("a", "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"g\","
	                      "\"shards\":1,\"services\":"
	                      "[\"AnyEvent::MP::Global::\"],"
	                      "\"connect_interval\":1}");
	tu_start(a);
	proc_first_addr(a, seed, sizeof(seed));
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"g\",\"shards\":1,"
	         "\"seeds\":[\"%s\"],\"max_packet\":1024,"
	         "\"connect_interval\":1}",
	         seed);
	b = tu_node_json("b", conf);
	CHECK_OK(seq_rx_open(b, "b#rx", &rx));
	tu_start(b);
	CHECK(TU_WAIT(aemp_node_is_up(a, "b") == 1, 10));
	CHECK_OK(seq_tx_start(a, &tx, "b#rx", 0));
	for (i = 0; i < 10; i++) {
		long recv0;

		usleep(200000);
		recv0 = atomic_load(&rx.recv);
		fires = atomic_load(&tx.fires);
		CHECK_OK(aemp_exec(a, 0, send_big, NULL));
		TU_WAIT(atomic_load(&tx.fires) > fires &&
		                atomic_load(&rx.recv) > recv0 + 1000,
		        10);
	}
	atomic_store(&tx.stopped, 1);
	usleep(100000);
	DIAG("b received %ld, %ld holes after a mark (%ld lost), %ld "
	     "violations%s%s; a's monitor fired %ld times",
	     atomic_load(&rx.recv), atomic_load(&rx.gaps),
	     atomic_load(&rx.lost), atomic_load(&rx.violations),
	     atomic_load(&rx.violations) ? ", first: " : "", rx.first_violation,
	     atomic_load(&tx.fires));
	CHECK(atomic_load(&tx.fires) >= 10);
	CHECK_EQ(atomic_load(&rx.violations), 0);
	aemp_node_free(b);
	aemp_node_free(a);
	return tap_done();
}
