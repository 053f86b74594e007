/*
 * tests/integ/spawn_order.c - messages sent right after a spawn request
 * reach the spawned port, all of them and in order (aemp-protocol.md
 * §4.5: packets on a connection are ordered, so whatever follows
 * AnyEvent::MP::_spawn finds the port).
 *
 * A scripted peer (tests/integ/peer.h) writes its auth line and, in the
 * same write, for each of NPORT names ["", "AnyEvent::MP::_spawn", NAME,
 * "Test::echo"] followed by NMSG messages [NAME, "PEER#r", I, J].  Every
 * echo port must send each ["r", I, J] back, J in order.  The names are
 * picked so that ports land on the connection's shard and on the other
 * one; one and two shards, JSON and CBOR framing, several peers (so the
 * connection sits on either shard).  A second batch goes after the
 * connection is up, the ordinary path.
 *
 * The bug it found (docs/reliability.md, "Spawn, then send"): the node-up
 * event that authentication queues on the connection's own shard made the
 * spawn request wait behind it in that shard's own queue, while a message
 * for a port of another shard went straight to that shard, arrived before
 * the port existed and was dropped.  A Perl client doing `snd spawn(...)`
 * lost 2-3% of its first messages; here it failed every time.
 *
 * With AEMP_PERL_AEMP (the wrapper /tmp/perl-aemp/bin/aemp-perl of a real
 * Perl AnyEvent::MP 2.02; its lib/ is ../lib from there), the real Perl
 * node does the same (tests/integ/spawn_order.pl) against a two-shard
 * node, PERL_RUNS times; skipped with a line saying so otherwise.
 *
 * aemp-test-timeout: 120
 */
#include "engine/net/netint.h"
#include "tests/integ/peer.h"
#include "tests/integ/procs.h"

#define SECRET "geheim"
#define NPORT 8
#define NMSG 4
#define PERL_RUNS 20

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
pick_names(aemp_node *n, const char *id, const char *tag, char names[NPORT][32])
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

/* batch - the spawn requests and NMSG messages each for names as a JSON
 * array of packets into buf. */
static void
batch(char *buf, size_t cap, const char *id, char names[NPORT][32])
{
	size_t len = 0;
	int i, j;

	len += (size_t)snprintf(buf + len, cap - len, "[");
	for (i = 0; i < NPORT; i++) {
		len += (size_t)snprintf(buf + len, cap - len,
		                        "%s[\"\",%s,\"%s\",%s]", i ? "," : "",
		                        "\"AnyEvent::MP::_spawn\"", names[i],
		                        "\"Test::echo\"");
		for (j = 0; j < NMSG; j++)
			len += (size_t)snprintf(buf + len, cap - len,
			                        ",[\"%s\",\"%s#r\",%d,%d]",
			                        names[i], id, i, j);
	}
	snprintf(buf + len, cap - len, "]");
	CHECK(len + 2 < cap);
}

/* echoes - how many ["r", I, J] come back in time, each port's J in
 * order; a gap or a repeat is reported and counted as missing. */
static int
echoes(struct peer *p, const char *id)
{
	int next[NPORT] = {0}, got = 0, bad = 0;
	char *pkt;
	int i, j;

	while (got + bad < NPORT * NMSG && (pkt = peer_recv(p, 5)) != NULL) {
		if (sscanf(pkt, "[\"r\",%d,%d]", &i, &j) == 2 && i >= 0 &&
		    i < NPORT) {
			if (j == next[i])
				got++;
			else {
				DIAG("%s: port %d echoed %d where %d was due",
				     id, i, j, next[i]);
				bad++;
			}
			next[i] = j + 1;
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
	static uint8_t out[16384];
	char names[NPORT][32], pkts[8192], tag[40];
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
	got = echoes(&p, id);
	if (got != NPORT * NMSG)
		DIAG("%s: %d of %d echoes behind the auth line", id, got,
		     NPORT * NMSG);
	CHECK_EQ(got, NPORT * NMSG);
	/* the same once the connection is up */
	snprintf(tag, sizeof(tag), "%su", id);
	pick_names(n, id, tag, names);
	batch(pkts, sizeof(pkts), id, names);
	len = peer_encode_json(&p, pkts, 1, out, sizeof(out));
	CHECK(len > 0);
	CHECK_OK(peer_write(&p, out, (size_t)len));
	CHECK_EQ(echoes(&p, id), NPORT * NMSG);
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

/* perl_here - 1 if AEMP_PERL_AEMP is set; else the line saying so. */
static int
perl_here(void)
{
	const char *w = getenv("AEMP_PERL_AEMP");

	if (w != NULL && *w != '\0')
		return 1;
	printf("# skip: the real Perl peer (set AEMP_PERL_AEMP to the "
	       "aemp-perl wrapper of AnyEvent::MP 2.02, e.g. "
	       "/tmp/perl-aemp/bin/aemp-perl)\n");
	return 0;
}

/* perl_run - one run of spawn_order.pl, with the lib/ next to the
 * wrapper's bin/; 0 if it said "ok". */
static int
perl_run(const char *addr)
{
	const char *src = getenv("AEMP_SRC");
	char cmd[1024], line[256];
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd),
	         "PERL5LIB=\"$(dirname \"$(dirname "
	         "\"$AEMP_PERL_AEMP\")\")/lib\" "
	         "timeout 20 perl '%s/tests/integ/spawn_order.pl' %s " SECRET
	         " spawnee %d %d 2>&1",
	         src ? src : ".", addr, NPORT, NMSG);
	f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strcmp(line, "ok\n") != 0)
			printf("#   perl: %s", line);
	st = pclose(f);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* perl_peer - the real Perl node spawns and sends, PERL_RUNS times. */
static void
perl_peer(void)
{
	char addr[256];
	aemp_val *lst = NULL;
	aemp_node *n;
	int i, fails = 0;

	if (!perl_here())
		return;
	n = mknode("2");
	aemp_node_listeners(n, addr, sizeof(addr));
	CHECK(aemp_json_parse(addr, strlen(addr), &lst) == 0 && lst->len > 0);
	for (i = 0; i < PERL_RUNS; i++)
		fails += perl_run(lst->u.a[0].u.s) != 0;
	DIAG("real Perl peer: %d of %d runs lost or reordered echoes", fails,
	     PERL_RUNS);
	CHECK_EQ(fails, 0);
	aemp_val_free(lst);
	aemp_node_free(n);
}

int
main(void)
{
	procs_init();
	alarm(115);
	wire_peers("1", 0);
	wire_peers("1", 1);
	wire_peers("2", 0);
	wire_peers("2", 1);
	perl_peer();
	return tap_done();
}
