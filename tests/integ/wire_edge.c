/*
 * tests/integ/wire_edge.c - wire-level edge cases a Perl AnyEvent::MP node
 * can produce, found by reading the protocol against the engine:
 *  1. a global node's peer sends its auth line and ["","g_global"] in one
 *     write (a busy Perl global does): the node's own g_global must still
 *     go out before the g_set / g_upd it answers with (aemp-protocol.md
 *     §6.2 step 5, §6.4, §6.7: a Perl global that receives our g_global
 *     after our g_set clears the shard it just stored).  One shard, so
 *     the connection is on the control shard itself;
 *  2. a seed list with a host name that does not resolve still dials the
 *     other seeds (§5.9: each seed is resolved on its own);
 *  3. a peer that sends AnyEvent::MP::_spawn and at once mon1 for the new
 *     port (Perl's `mon spawn ...`) must get a monitor on the port, not
 *     no_such_port (§4.5: packets on a connection are ordered), with one
 *     and with two shards (spawned ports on the connection's shard and
 *     on the other); mon1 of an empty name gets no_such_port too; a
 *     second mon1 of the same port replaces the first (one kil0);
 *  4. the auth line split across two reads, its second half followed at
 *     once by more than 4 KiB of packets: the 4 KiB limit is on
 *     unconsumed handshake input (§2.2), so the node must accept it.
 *
 * aemp-test-timeout: 60
 */
#include "tests/integ/peer.h"

#define SECRET "geheim"

static aemp_node *
mknode_sh(const char *id, const char *seeds, int global, const char *shards)
{
	char conf[512];

	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"" SECRET "\","
	         "\"shards\":%s%s%s%s}",
	         shards, seeds ? ",\"seeds\":" : "", seeds ? seeds : "",
	         global ? ",\"services\":[\"AnyEvent::MP::Global::\"]" : "");
	return tu_node_json(id, conf);
}

static aemp_node *
mknode(const char *id, const char *seeds, int global)
{
	return mknode_sh(id, seeds, global, "1");
}

static int
starts(const char *pkt, const char *prefix)
{
	return strncmp(pkt, prefix, strlen(prefix)) == 0;
}

static void
g_global_first(void)
{
	aemp_node *a = mknode("seedA", NULL, 1);
	aemp_val *lst = NULL;
	char addr[256], *got;
	int i, round, pos_global, pos_answer;
	struct peer p;

	tu_start(a);
	TU_WAIT(aemp_node_is_global(a) == 1, 5);
	CHECK(aemp_node_is_global(a) == 1);
	aemp_node_listeners(a, addr, sizeof(addr));
	CHECK(aemp_json_parse(addr, strlen(addr), &lst) == 0 && lst->len > 0);
	/* Several rounds: the race depended on one read holding both. */
	for (round = 0; round < 5; round++) {
		CHECK(peer_connect_with(&p, lst->u.a[0].u.s, "seedD", SECRET,
		                        "[\"\",\"g_global\"]") == 0);
		pos_global = pos_answer = -1;
		for (i = 0; i < 8 && (got = peer_recv(&p, 2)) != NULL; i++) {
			if (getenv("AEMP_TEST_LOG"))
				printf("# seedA -> seedD: %.120s\n", got);
			if (starts(got, "[\"\",\"g_global\"]") &&
			    pos_global < 0)
				pos_global = i;
			if ((starts(got, "[\"\",\"g_set\"") ||
			     starts(got, "[\"\",\"g_upd\"")) &&
			    pos_answer < 0)
				pos_answer = i;
			free(got);
			if (pos_global >= 0 && pos_answer >= 0)
				break;
		}
		printf("# round %d: g_global at %d, first g_set/g_upd at %d\n",
		       round, pos_global, pos_answer);
		CHECK(pos_global >= 0);
		CHECK(pos_answer >= 0);
		CHECK(pos_global < pos_answer);
		peer_close(&p);
		/* wait until seedA saw seedD go, so the next round is fresh */
		TU_WAIT(aemp_node_is_up(a, "seedD") != 1, 5);
		CHECK(aemp_node_is_up(a, "seedD") != 1);
	}
	aemp_val_free(lst);
	aemp_node_free(a);
}

static void
dead_seed_name(void)
{
	char addr[64], seeds[256];
	struct peer p;
	aemp_node *n;
	int lfd = peer_listen(addr, sizeof(addr));

	CHECK(lfd >= 0);
	snprintf(seeds, sizeof(seeds),
	         "[\"no-such-host.invalid:4040\", \"%s\"]", addr);
	n = mknode("slaveC", seeds, 0);
	tu_start(n);
	/* the fake seed must be dialled and get through the handshake */
	CHECK(peer_accept(&p, lfd, "fakeseed", SECRET, 10) == 0);
	peer_close(&p);
	close(lfd);
	aemp_node_free(n);
}

static int
h_idle(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	(void)n;
	(void)msg;
	(void)cnt;
	(void)arg;
	return 0;
}

static int
idle_init(aemp_node *n, const aemp_val *args, size_t cnt, void *arg)
{
	(void)args;
	(void)cnt;
	(void)arg;
	return aemp_rcv(n, aemp_self(n), h_idle, NULL);
}

#define NSPAWN 24

static void
spawn_then_mon(const char *shards)
{
	aemp_node *a = mknode_sh("spawnee", NULL, 0, shards);
	aemp_val *lst = NULL;
	char addr[256], pkt[256], *got;
	int i, kil0_bye = 0, nosuch = 0;
	struct peer p;

	CHECK_OK(aemp_register(a, "Test::idle", idle_init, NULL));
	tu_start(a);
	aemp_node_listeners(a, addr, sizeof(addr));
	CHECK(aemp_json_parse(addr, strlen(addr), &lst) == 0 && lst->len > 0);
	CHECK(peer_connect(&p, lst->u.a[0].u.s, "perlish", SECRET) == 0);
	for (i = 0; i < NSPAWN; i++) {
		snprintf(pkt, sizeof(pkt),
		         "[\"\",\"AnyEvent::MP::_spawn\",\"sp%dX\","
		         "\"Test::idle\"]",
		         i);
		CHECK_OK(peer_send(&p, pkt));
		snprintf(pkt, sizeof(pkt), "[\"\",\"mon1\",\"sp%dX\"]", i);
		CHECK_OK(peer_send(&p, pkt));
	}
	/* every port is there and monitored: killing it reports the reason */
	for (i = 0; i < NSPAWN; i++) {
		snprintf(pkt, sizeof(pkt), "[\"\",\"kil1\",\"sp%dX\",\"bye\"]",
		         i);
		CHECK_OK(peer_send(&p, pkt));
	}
	while (kil0_bye + nosuch < NSPAWN && (got = peer_recv(&p, 5)) != NULL) {
		if (strstr(got, "\"kil0\"") && strstr(got, "\"bye\""))
			kil0_bye++;
		else if (strstr(got, "no_such_port"))
			nosuch++;
		if (getenv("AEMP_TEST_LOG"))
			printf("# spawnee -> perlish: %.120s\n", got);
		free(got);
	}
	printf("# %s shard(s): %d kil0 bye, %d no_such_port of %d\n", shards,
	       kil0_bye, nosuch, NSPAWN);
	CHECK_EQ(nosuch, 0);
	CHECK_EQ(kil0_bye, NSPAWN);
	/* one proxy per node and port (Perl's rmon{PORT}): a second mon1
	 * replaces the first, so the death is reported once */
	CHECK_OK(peer_send(&p, "[\"\",\"AnyEvent::MP::_spawn\",\"dupX\","
	                       "\"Test::idle\"]"));
	CHECK_OK(peer_send(&p, "[\"\",\"mon1\",\"dupX\"]"));
	CHECK_OK(peer_send(&p, "[\"\",\"mon1\",\"dupX\"]"));
	CHECK_OK(peer_send(&p, "[\"\",\"kil1\",\"dupX\",\"once\"]"));
	for (i = 0; (got = peer_recv(&p, i == 0 ? 5 : 0.5)) != NULL;) {
		if (strstr(got, "\"dupX\""))
			i++;
		free(got);
	}
	CHECK_EQ(i, 1);
	/* a name no port can have is answered like a missing port */
	CHECK_OK(peer_send(&p, "[\"\",\"mon1\",\"\"]"));
	CHECK(peer_expect(&p,
	                  "[\"\",\"kil0\",\"\",\"no_such_port\",\"cannot "
	                  "monitor nonexistent port\",\"spawnee#\"]",
	                  5));
	peer_close(&p);
	aemp_val_free(lst);
	aemp_node_free(a);
}

static atomic_int big_got;

static int
h_big(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	(void)n;
	(void)arg;
	if (cnt == 2 && aemp_str_eq(&msg[0], "big") && msg[1].len == 6000)
		atomic_fetch_add(&big_got, 1);
	return 0;
}

static void
split_auth_burst(void)
{
	aemp_node *a = mknode("splitter", NULL, 0);
	static char pkt[6100];
	aemp_val *lst = NULL;
	char addr[256];
	struct peer p;

	CHECK_OK(aemp_rcv(a, "splitter#big", h_big, NULL));
	tu_start(a);
	aemp_node_listeners(a, addr, sizeof(addr));
	CHECK(aemp_json_parse(addr, strlen(addr), &lst) == 0 && lst->len > 0);
	snprintf(pkt, sizeof(pkt), "[\"big\",\"big\",\"%06000d\"]", 7);
	memset(&p, 0, sizeof(p));
	p.with_auth = pkt;
	p.split_auth = 40;
	CHECK(peer_connect_opts(&p, lst->u.a[0].u.s, "burster", SECRET) == 0);
	TU_WAIT(atomic_load(&big_got) == 1, 5);
	CHECK_EQ(atomic_load(&big_got), 1);
	CHECK(aemp_node_is_up(a, "burster") == 1);
	peer_close(&p);
	aemp_val_free(lst);
	aemp_node_free(a);
}

int
main(void)
{
	g_global_first();
	dead_seed_name();
	spawn_then_mon("1");
	spawn_then_mon("2");
	split_auth_burst();
	return tap_done();
}
