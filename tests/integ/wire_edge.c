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
 *     other seeds (§5.9: each seed is resolved on its own).
 *
 * aemp-test-timeout: 60
 */
#include "tests/integ/peer.h"

#define SECRET "geheim"

static aemp_node *
mknode(const char *id, const char *seeds, int global)
{
	aemp_conf *c = NULL;
	aemp_node *n = NULL;

	CHECK(aemp_conf_new(&c) == 0);
	aemp_conf_set_json(c, "norc", "true");
	aemp_conf_set_str(c, "nodeid", id);
	aemp_conf_set_json(c, "binds", "[\"127.0.0.1:0\"]");
	aemp_conf_set_str(c, "secret", SECRET);
	aemp_conf_set_json(c, "shards", "1");
	aemp_conf_set_json(c, "log_level", getenv("AEMP_TEST_LOG") ? "9" : "2");
	if (seeds != NULL)
		aemp_conf_set_json(c, "seeds", seeds);
	if (global)
		aemp_conf_set_json(c, "services",
		                   "[\"AnyEvent::MP::Global::\"]");
	if (aemp_node_new(c, &n) < 0) {
		printf("# %s: %s\n", id, aemp_errmsg());
		exit(1);
	}
	aemp_conf_free(c);
	return n;
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

int
main(void)
{
	g_global_first();
	dead_seed_name();
	return tap_done();
}
