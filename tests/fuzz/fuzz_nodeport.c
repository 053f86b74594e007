/*
 * tests/fuzz/fuzz_nodeport.c - libFuzzer target for what an authenticated
 * peer can send after the handshake: node-port requests (engine/core/nodeport.c:
 * the node protocol of aemp-protocol.md §4.3, mon1/mon0/kil0, function-name
 * requests and spawn) and the global protocol (§6: g_slave, g_set, g_upd,
 * g_find, g_db_*, g_mon1/0, g_global, g_reply, g_found, g_chg1/2, run
 * through the update algorithm of §6.6 and departure cleanup of §6.8).
 *
 * Two nodes are created and started once, one shard each, no listeners:
 *   "fz_global"  services ["AnyEvent::MP::Global::"] (a global node);
 *   "fz_secure"  secure mode, not global until a g_slave makes it so.
 * Both register "Fuzz::func" and "Fuzz::init" and have a port "fz".
 *
 * Input: byte 0 selects the setup, the rest is a packet stream.
 *   bit 0  framing of the stream: 0 JSON, 1 CBOR
 *   bit 1  node: 0 fz_global, 1 fz_secure
 *   bit 2  source node: 0 "fuzzpeer", 1 "fuzzpeer2"
 * On the node's shard 0, as the receive path does for a connection: the
 * source comes up (node event), every packet of the stream goes to the
 * node port (empty port name) or to a local port, then the source goes
 * down (departure cleanup on the global node).  The harness then lets
 * the shard run two more loop turns, so deferred work of this input runs
 * before the next one.
 *
 * Checked on every input (a violation aborts):
 *  - the secret never appears in a log message (unless an input carried
 *    it);
 *  - the secure node never runs a registered function or spawn init;
 *  - sanitizers: no memory error, no undefined behaviour, no leak.
 *
 * The nodes may try to dial addresses the input names (g_found, 'l
 * entries of globals in 'g): the target moves itself into a new, empty
 * network namespace first, so every dial fails at once and nothing
 * leaves the machine.  Without the privilege for that it says so and
 * runs anyway.
 *
 * Seeds in tests/fuzz/corpus/fuzz_nodeport/: every node-port and global
 * packet of the transcripts in tests/vectors (tests/fuzz/nodeport_corpus.sh).
 * Build: make FLAVOR=fuzz fuzz-build.
 *
 * Threads: libFuzzer's thread posts each input to the node's shard and
 * waits on a semaphore; the log sink runs on shard threads.
 */
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/core/eng.h"
#include "engine/global/global.h"
#include "engine/net/netint.h"

#define FZ_SECRET "fz-secret-Qx81LmZp0Kc"
#define FZ_MAX_PACKETS 256

enum { FZ_GLOBAL = 0, FZ_SECURE = 1, FZ_NODES = 2 };

static const char *const fz_ids[FZ_NODES] = {"fz_global", "fz_secure"};
static const char *const fz_srcs[2] = {"fuzzpeer", "fuzzpeer2"};

static aemp_node *fz_node[FZ_NODES];
static sem_t fz_done;
static atomic_int fz_secret_seen; /* an input carried the secret */

#define FZ_REQUIRE(x)                                                          \
	do {                                                                   \
		if (!(x)) {                                                    \
			fprintf(stderr, "fuzz_nodeport: %s failed\n", #x);     \
			abort();                                               \
		}                                                              \
	} while (0)

/* One input on its way through a node's shard. */
struct fz_input {
	aemp_node *node;
	enum cod_framing framing;
	const char *src;
	const uint8_t *data; /* padded copy */
	size_t len;
	int npackets;
	struct cod_tape tape;
};

/*
 * fz_has_secret - 1 if (p, n) contains the secret.  A byte loop on
 * purpose: strstr/memmem with the secret as needle would hand it to
 * libFuzzer's comparison dictionary, inputs would soon carry it, and that
 * switches the check off.
 */
static int
fz_has_secret(const uint8_t *p, size_t n)
{
	static const char s[] = FZ_SECRET;
	size_t i, j, k = sizeof(s) - 1;

	for (i = 0; i + k <= n; i++) {
		for (j = 0; j < k && p[i + j] == (uint8_t)s[j]; j++)
			;
		if (j == k)
			return 1;
	}
	return 0;
}

static void
fz_log(int level, const char *nodeid, const char *msg, void *arg)
{
	(void)level;
	(void)nodeid;
	(void)arg;
	if (fz_has_secret((const uint8_t *)msg, strlen(msg)) &&
	    !atomic_load(&fz_secret_seen)) {
		fprintf(stderr, "secret in log: %s\n", msg);
		abort();
	}
}

static int
fz_port(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	(void)node;
	(void)msg;
	(void)n;
	(void)arg;
	return 0;
}

/* Fuzz::func and Fuzz::init: never reachable on the secure node. */
static int
fz_func(aemp_node *node, const aemp_val *args, size_t n, void *arg)
{
	(void)args;
	(void)n;
	(void)arg;
	FZ_REQUIRE(node != fz_node[FZ_SECURE]);
	return 0;
}

static int
fz_init(aemp_node *node, const aemp_val *args, size_t n, void *arg)
{
	const char *self = aemp_self(node);

	(void)args;
	(void)n;
	(void)arg;
	FZ_REQUIRE(node != fz_node[FZ_SECURE]);
	return self != NULL ? aemp_rcv(node, self, fz_port, NULL) : 0;
}

/* The receive path of engine/net/connrx.c for one packet from in->src. */
static int
fz_packet(void *arg, const aemp_val *pkt, const uint8_t *raw, size_t rawlen)
{
	struct fz_input *in = arg;
	struct eng_shard *sh = in->node->shards[0];
	const aemp_val *name;
	struct eng_port *p;
	uint32_t h;

	if (++in->npackets > FZ_MAX_PACKETS)
		return 1;
	if (pkt->len == 0 || pkt->u.a[0].type != AEMP_STR)
		return 0;
	name = &pkt->u.a[0];
	if (name->len == 0) {
		eng_nodeport(sh, pkt->u.a + 1, pkt->len - 1, in->src,
		             strlen(in->src));
		return 0;
	}
	if (eng_self_busy(sh)) {
		eng_rec_forward(sh, sh->idx, in->framing, in->src,
		                strlen(in->src), raw, rawlen);
		return 0;
	}
	h = eng_hash(name->u.s, name->len);
	p = eng_port_find(sh, name->u.s, name->len, h);
	if (p != NULL)
		eng_deliver(sh, p, pkt->u.a + 1, pkt->len - 1, in->src,
		            strlen(in->src));
	return 0;
}

static void
fz_run(aemp_node *node, void *arg)
{
	struct fz_input *in = arg;
	struct eng_shard *sh = node->shards[0];
	struct cod_stream s;
	char port[64];

	snprintf(port, sizeof(port), "%s#fz", aemp_node_id(node));
	FZ_REQUIRE(aemp_rcv(node, port, fz_port, NULL) == 0);
	eng_global_nodeev(sh, in->src, strlen(in->src), 1, 0);
	cod_stream_init(&s, in->framing, node->cfg.max_packet);
	(void)cod_stream_feed(&s, &in->tape, in->data, in->len, fz_packet, in);
	cod_stream_fini(&s);
	eng_global_nodeev(sh, in->src, strlen(in->src), 0, 1);
	sem_post(&fz_done);
}

static void
fz_turn(aemp_node *node, void *arg)
{
	(void)node;
	(void)arg;
	sem_post(&fz_done);
}

static void
fz_exec(aemp_node *node, void (*fn)(aemp_node *, void *), void *arg)
{
	FZ_REQUIRE(aemp_exec(node, 0, fn, arg) == 0);
	while (sem_wait(&fz_done) != 0)
		;
}

static aemp_node *
fz_make(int which)
{
	aemp_conf *c = NULL;
	aemp_node *n = NULL;

	FZ_REQUIRE(aemp_conf_new(&c) == 0);
	aemp_conf_set_json(c, "norc", "true");
	aemp_conf_set_str(c, "nodeid", fz_ids[which]);
	aemp_conf_set_json(c, "binds", "[]");
	aemp_conf_set_json(c, "shards", "1");
	aemp_conf_set_str(c, "secret", FZ_SECRET);
	if (which == FZ_GLOBAL)
		aemp_conf_set_json(c, "services",
		                   "[\"AnyEvent::MP::Global::\"]");
	else
		aemp_conf_set_json(c, "secure", "true");
	if (aemp_node_new(c, &n) < 0) {
		fprintf(stderr, "fuzz_nodeport: node: %s\n", aemp_errmsg());
		abort();
	}
	aemp_conf_free(c);
	FZ_REQUIRE(aemp_set_log(n, AEMP_LOG_TRACE, fz_log, NULL) == 0);
	FZ_REQUIRE(aemp_register(n, "Fuzz::func", fz_func, NULL) == 0);
	FZ_REQUIRE(aemp_register(n, "Fuzz::init", fz_init, NULL) == 0);
	if (aemp_node_start(n) < 0) {
		fprintf(stderr, "fuzz_nodeport: start: %s\n", aemp_errmsg());
		abort();
	}
	return n;
}

static void
fz_cleanup(void)
{
	int i;

	for (i = 0; i < FZ_NODES; i++) {
		aemp_node_free(fz_node[i]);
		fz_node[i] = NULL;
	}
}

/* Leave the machine's network: dials the inputs ask for fail at once. */
static void
fz_isolate(void)
{
	if (unshare(CLONE_NEWNET) == 0 ||
	    unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0)
		return;
	fprintf(stderr, "fuzz_nodeport: note: cannot enter a new network "
	                "namespace; dials named by inputs may leave the "
	                "process\n");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int i;

	(void)argc;
	(void)argv;
	fz_isolate();
	FZ_REQUIRE(sem_init(&fz_done, 0, 0) == 0);
	for (i = 0; i < FZ_NODES; i++)
		fz_node[i] = fz_make(i);
	atexit(fz_cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_input in;
	uint8_t *buf;

	if (size < 1)
		return 0;
	if (fz_has_secret(data, size))
		atomic_store(&fz_secret_seen, 1);
	cod_tape_init(&in.tape); /* per input: runs do not depend on order */
	buf = malloc(size - 1 + COD_PADDING);
	FZ_REQUIRE(buf != NULL);
	memcpy(buf, data + 1, size - 1);
	memset(buf + size - 1, 0, COD_PADDING);
	in.node = fz_node[(data[0] >> 1) & 1];
	in.framing = data[0] & 1 ? COD_CBOR : COD_JSON;
	in.src = fz_srcs[(data[0] >> 2) & 1];
	in.data = buf;
	in.len = size - 1;
	in.npackets = 0;
	fz_exec(in.node, fz_run, &in);
	fz_exec(in.node, fz_turn, NULL);
	fz_exec(in.node, fz_turn, NULL);
	cod_tape_fini(&in.tape);
	free(buf);
	return 0;
}
