/*
 * tests/integ/spawn_order.c - a message sent right after a spawn request
 * reaches the spawned port (aemp-protocol.md §4.5: packets on a connection
 * are ordered, so whatever follows AnyEvent::MP::_spawn finds the port).
 *
 * A scripted peer (tests/integ/peer.h) writes its auth line and, in the
 * same write, for each of NPORT names ["", "AnyEvent::MP::_spawn", NAME,
 * "Test::echo"] followed by [NAME, "PEER#r", I].  Every echo port must
 * send ["r", I] back.  The names are picked so that ports land on the
 * connection's shard and on the other one; one and two shards, JSON and
 * CBOR framing, several peers (so the connection sits on either shard).
 * A second batch goes after the connection is up, the ordinary path.
 *
 * This test found a bug (see docs/reliability.md, "Spawn, then send"): the
 * node-up event that the authentication queues on the connection's own
 * shard made the spawn request wait behind it in that shard's own queue,
 * while the message for a port of the other shard went straight to that
 * shard, arrived before the port existed and was dropped; a Perl client
 * doing `snd spawn(...)` lost 2-4% of its first messages, and over TLS
 * (whose first packets come with the auth line) a third.
 *
 * With AEMP_PERL_CLIENT (path of /tmp/perl-aemp/examples/perl_client.pl,
 * PERL5LIB set), the real Perl client does the same against a two-shard
 * node 20 times; skipped with a line saying so otherwise.
 *
 * aemp-test-timeout: 90
 */
#include "engine/net/netint.h"
#include "tests/integ/peer.h"
#include "tests/integ/procs.h"

#define SECRET "geheim"
#define NPORT 8

static int
h_echo(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char to[AEMP_ID_MAX];

	(void)arg;
	if (cnt < 1 || msg[0].type != AEMP_STR || msg[0].len >= sizeof(to))
		return aemp_fail(n, "echo: no port ID");
	memcpy(to, msg[0].u.s, msg[0].len);
	to[msg[0].len] = '\0';
	return aemp_snd(n, to, msg + 1, cnt - 1);
}

static int
echo_init(aemp_node *n, const aemp_val *args, size_t cnt, void *arg)
{
	(void)args;
	(void)cnt;
	(void)arg;
	return aemp_rcv(n, aemp_self(n), h_echo, NULL);
}

static aemp_node *
mknode(const char *shards)
{
	char conf[256];
	aemp_node *n;

	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"" SECRET
	         "\",\"shards\":%s}",
	         shards);
	n = tu_node_json("spawnee", conf);
	CHECK_OK(aemp_register(n, "Test::echo", echo_init, NULL));
	tu_start(n);
	return n;
}

/* pick_names - NPORT port names "TAGkX", half of them (as far as there
 * are several shards) on the shard of the connection from peer id. */
static void
pick_names(aemp_node *n, const char *id, const char *tag,
           char names[NPORT][32])
{
	uint32_t hash;
	int own = eng_node_owner(n, id, strlen(id), &hash), k, i = 0;
	int want_own = n->nshards > 1 ? NPORT / 2 : NPORT, got_own = 0;

	for (k = 0; i < NPORT; k++) {
		char name[32];
		int sh;

		snprintf(name, sizeof(name), "%s%dX", tag, k);
		sh = eng_shard_of_hash(n, eng_hash(name, strlen(name)));
		if ((sh == own) != (got_own < want_own))
			continue;
		got_own += sh == own;
		memcpy(names[i++], name, sizeof(name));
	}
}

/* batch - the spawn requests and messages for names as a JSON array of
 * packets into buf. */
static void
batch(char *buf, size_t cap, const char *id, char names[NPORT][32])
{
	size_t len = 0;
	int i;

	len += (size_t)snprintf(buf + len, cap - len, "[");
	for (i = 0; i < NPORT; i++)
		len += (size_t)snprintf(
		        buf + len, cap - len,
		        "%s[\"\",\"AnyEvent::MP::_spawn\",\"%s\",\"Test::echo\"],"
		        "[\"%s\",\"%s#r\",%d]",
		        i ? "," : "", names[i], names[i], id, i);
	snprintf(buf + len, cap - len, "]");
}

/* echoes - how many distinct ["r", I] (I < NPORT) come back in time. */
static int
echoes(struct peer *p)
{
	int seen[NPORT] = {0}, got = 0;
	char *pkt;
	int i;

	while (got < NPORT && (pkt = peer_recv(p, 5)) != NULL) {
		if (sscanf(pkt, "[\"r\",%d]", &i) == 1 && i >= 0 &&
		    i < NPORT && !seen[i]) {
			seen[i] = 1;
			got++;
		} else if (getenv("AEMP_TEST_LOG")) {
			printf("# other packet: %.120s\n", pkt);
		}
		free(pkt);
	}
	return got;
}

static void
one_peer(aemp_node *n, const char *addr, const char *id, int cbor)
{
	static uint8_t out[8192];
	char names[NPORT][32], pkts[4096], tag[40];
	struct peer p;
	ssize_t len;
	int got;

	/* names of its own: a port spawned for an earlier peer would take
	 * a message that overtook its spawn request */
	snprintf(tag, sizeof(tag), "%sw", id);
	pick_names(n, id, tag, names);
	batch(pkts, sizeof(pkts), id, names);
	memset(&p, 0, sizeof(p));
	p.cbor = cbor;
	p.with_auth = pkts;
	p.with_auth_many = 1;
	CHECK(peer_connect_opts(&p, addr, id, SECRET) == 0);
	got = echoes(&p);
	if (got != NPORT)
		DIAG("%s: %d of %d echoes behind the auth line", id, got,
		     NPORT);
	CHECK_EQ(got, NPORT);
	/* the same once the connection is up */
	snprintf(tag, sizeof(tag), "%su", id);
	pick_names(n, id, tag, names);
	batch(pkts, sizeof(pkts), id, names);
	len = peer_encode_json(&p, pkts, 1, out, sizeof(out));
	CHECK(len > 0);
	CHECK_OK(peer_write(&p, out, (size_t)len));
	CHECK_EQ(echoes(&p), NPORT);
	peer_close(&p);
}

static void
wire_peers(const char *shards, int cbor)
{
	aemp_node *n = mknode(shards);
	aemp_val *lst = NULL;
	char addr[256], id[32];
	int k, npeer = 0, on[ENG_MAX_SHARDS] = {0};
	uint32_t hash;

	aemp_node_listeners(n, addr, sizeof(addr));
	CHECK(aemp_json_parse(addr, strlen(addr), &lst) == 0 && lst->len > 0);
	/* three peers whose connections sit on each shard */
	for (k = 0; npeer < 3 * n->nshards; k++) {
		int sh;

		snprintf(id, sizeof(id), "perlish%s%d", cbor ? "C" : "J", k);
		sh = eng_node_owner(n, id, strlen(id), &hash);
		if (on[sh] == 3)
			continue;
		on[sh]++;
		npeer++;
		one_peer(n, lst->u.a[0].u.s, id, cbor);
	}
	DIAG("%s shard(s), %s framing: %d peers", shards,
	     cbor ? "CBOR" : "JSON", npeer);
	aemp_val_free(lst);
	aemp_node_free(n);
}

/* perl_client - the real Perl client's `echo` mode, N runs. */
static void
perl_client(void)
{
	const char *client = getenv("AEMP_PERL_CLIENT");
	char addr[256], cmd[1024];
	aemp_val *lst = NULL;
	aemp_node *n;
	int i, fails = 0;

	if (client == NULL || *client == '\0') {
		printf("# skip: the real Perl client (set AEMP_PERL_CLIENT to "
		       "perl_client.pl, with PERL5LIB for AnyEvent::MP)\n");
		return;
	}
	n = mknode("2");
	aemp_node_listeners(n, addr, sizeof(addr));
	CHECK(aemp_json_parse(addr, strlen(addr), &lst) == 0 && lst->len > 0);
	for (i = 0; i < 20; i++) {
		snprintf(cmd, sizeof(cmd),
		         "test \"$(perl '%s' --seeds %s --secret " SECRET
		         " --timeout 5 echo spawnee 1 2 2>&1)\" = "
		         "\"$(printf '[1]\\n[2]')\"",
		         client, lst->u.a[0].u.s);
		fails += proc_sh("%s", cmd) != 0;
	}
	DIAG("real Perl client: %d of %d runs without both echoes", fails,
	     i);
	CHECK_EQ(fails, 0);
	aemp_val_free(lst);
	aemp_node_free(n);
}

int
main(void)
{
	procs_init();
	alarm(85);
	wire_peers("1", 0);
	wire_peers("1", 1);
	wire_peers("2", 0);
	wire_peers("2", 1);
	perl_client();
	return tap_done();
}
