/*
 * tests/integ/fault_slowloris.c - unauthenticated connections that are
 * not idle but never finish the handshake ("slowloris") must not hold
 * the max_handshakes slots for ever.
 *
 * Node "n" (max_handshakes 8, monitor_timeout 1) gets 8 connections that
 * each send one byte of a greeting every 0.5 s: never silent for
 * monitor_timeout, never done (a greeting line may be 4 KiB, so at this
 * pace a slot is held for more than half an hour).  A legitimate peer
 * that comes 3 s later (3 x monitor_timeout) must get in: the handshake
 * has a deadline, not only an inactivity timeout.
 *
 * This test found an engine bug, fixed in bb732d5 (an absolute handshake
 * deadline of 2 x monitor_timeout): engine/net/connrx.c re-armed the
 * handshake timer on every received chunk, so a handshake never timed
 * out while bytes trickled in, and listen.c closed every new connection
 * while the slots were taken.
 *
 * aemp-test-timeout: 30
 */
#include "tests/integ/peer.h"
#include "tests/integ/procs.h"

#define SLOW 8

int
main(void)
{
	static const char greeting[] = "aemp;1;slow;hmac_sha3_512;json";
	struct sockaddr_in sa;
	char addr[128];
	int fds[SLOW], i, k, ok;
	struct peer pr;
	aemp_node *n;
	double t0;

	procs_init();
	alarm(25);
	n = tu_node_json("n", "{\"binds\":[\"127.0.0.1:0\"],\"secret\":"
	                      "\"geheim\",\"shards\":1,\"max_handshakes\":8,"
	                      "\"monitor_timeout\":1}");
	tu_start(n);
	proc_first_addr(n, addr, sizeof(addr));
	CHECK_OK(peer_parse_addr(addr, &sa));
	for (i = 0; i < SLOW; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK_OK(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)));
	}
	t0 = tu_now();
	for (k = 0; tu_now() - t0 < 3.0; k++) {
		for (i = 0; i < SLOW; i++)
			(void)send(fds[i],
			           &greeting[k % (sizeof(greeting) - 1)], 1,
			           MSG_NOSIGNAL);
		usleep(500000);
	}
	ok = peer_connect(&pr, addr, "late", "geheim") == 0;
	DIAG("a legitimate peer %s after %.1f s of slow greetings",
	     ok ? "got in" : "was refused", tu_now() - t0);
	CHECK(ok);
	peer_close(&pr);
	for (i = 0; i < SLOW; i++)
		close(fds[i]);
	aemp_node_free(n);
	return tap_done();
}
