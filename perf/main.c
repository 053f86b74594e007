/*
 * perf/main.c - aemp-perf: the throughput and latency benchmark of aemp.
 *
 *   aemp-perf [SCENARIO] [OPTION...]
 *
 * Scenarios (one file each; pair and pingpong share perf/duo.c): local,
 * pair, pingpong, fanin, raw, serve, db, tls, bulk.
 * No scenario (or "default") runs the short comparison: pair and pingpong
 * with their raw baselines; "tls" runs pair, pingpong and connection
 * set-up in the clear and over TLS, with the ratios (perf/tls.c).  See
 * docs/perf.md, "aemp-perf".
 *
 * Exit status: 0; 1 if a run failed or the delivery check found gaps or
 * reorders; 2 for a bad command line.
 *
 * Internal modes (the other processes of a run):
 *   aemp-perf --child node ...   a node with perf ports (perf/peer.c)
 *   aemp-perf --child raw        the raw TCP receiver (perf/raw.c)
 *   aemp-perf --child zmq        the ZeroMQ PULL receiver (perf/zmq.c)
 *   aemp-perf --child dbmon ...  a db monitoring node (perf/dbmon.c)
 *
 * Threads: main thread; see perf/perf.h for the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perf/perf.h"

static int status;

void
perf_set_status(int rc)
{
	if (rc > status)
		status = rc;
}

const char *
perf_secret(const struct perf_opts *o)
{
	static char secret[48];

	if (o->secret != NULL)
		return o->secret;
	if (secret[0] == '\0' && aemp_gensecret(secret, 40) < 0)
		snprintf(secret, sizeof(secret), "aemp-perf-%d", (int)getpid());
	return secret;
}

const char *
perf_cert(const struct perf_opts *o)
{
	static char *pem;
	static int failed;
	int rc;

	if (!o->tls || failed)
		return NULL;
	/* ECDSA P-256: the handshake costs little; the bulk cipher is what
	 * the figures are about. */
	if (pem == NULL && (rc = aemp_gencert(AEMP_CERT_EC256, &pem)) < 0) {
		failed = 1;
		perf_err(0, "tls: cannot make a certificate: %s (%s)",
		         aemp_strerror(rc), aemp_errmsg());
	}
	return pem;
}

int
perf_cert_ok(const struct perf_opts *o)
{
	return !o->tls || perf_cert(o) != NULL;
}

int64_t
perf_sid_next(void)
{
	static int64_t next;

	/* Distinct per process, so that runs against one serve node from
	 * several clients rarely share a sender ID slot. */
	if (next == 0)
		next = ((int64_t)getpid() % 64) * 64 + 1;
	return next++;
}

static int
run_default(const struct perf_opts *o)
{
	int rc = perf_pair(o);

	if (rc == 0)
		rc = perf_pingpong(o);
	return rc;
}

static const struct scenario {
	const char *name;
	int (*run)(const struct perf_opts *o);
	const char *what;
} scenarios[] = {
        {"default", run_default,
         "pair and pingpong with raw baselines (~15 s)"},
        {"local", perf_local, "ports of one node: same shard, cross shard"},
        {"pair", perf_pair, "one-way throughput between two node processes"},
        {"pingpong", perf_pingpong, "round-trip latency between two nodes"},
        {"fanin", perf_fanin, "several sender nodes to one receiver"},
        {"raw", perf_raw, "plain TCP stream and ping-pong (the baseline)"},
        {"serve", perf_serve, "a node for --connect runs; until SIGINT"},
        {"tls", perf_tls,
         "plaintext against TLS side by side: pair, pingpong, set-up"},
        {"db", perf_db,
         "database: aemp_db_set through a global node to "
         "aemp_db_mon"},
        {"bulk", perf_bulk,
         "ping round trips alone and beside a bulk stream, fragments "
         "on/off"},
        {"cluster", perf_cluster,
         "N node processes and G globals: view, db, recovery, memory"},
};

#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static void
usage(void)
{
	size_t i;

	printf("usage: aemp-perf [SCENARIO] [OPTION...]\n\nscenarios:\n");
	for (i = 0; i < NSCENARIOS; i++)
		printf("  %-9s %s\n", scenarios[i].name, scenarios[i].what);
	printf("\noptions:\n"
	       "  --size N[,N...]    payload bytes (16; default run 16,1024)\n"
	       "  --framing F[,F]    json, cbor or json,cbor (cbor)\n"
	       "  --shards N         shards per node (1; local 2; db: 1)\n"
	       "  --senders N        sending ports or pingers (1)\n"
	       "  --nodes K          fanin: sender nodes, 1..16 (2);\n"
	       "                     cluster: node processes, 1..1000 (20)\n"
	       "  --globals G        cluster: global nodes, 1..16 (3)\n"
	       "  --monitors M[,M]   db: monitoring nodes, 1..64 (1)\n"
	       "  --window W         db: updates in flight, 1..256 (32)\n"
	       "  --seconds S        measured time per result (2; default "
	       "run 1.5)\n"
	       "  --count N          measured messages instead of a time\n"
	       "                     (cluster: db_set rounds, 20)\n"
	       "  --warmup S         unmeasured time first (0.5; default "
	       "run 0.3)\n"
	       "  --batch N          messages per sender loop turn (1024)\n"
	       "  --many N           pair: each result twice, the second "
	       "with\n"
	       "                     aemp_snd_many, N messages per call "
	       "(1..1024)\n"
	       "  --foreign          pair: each result twice, sending from "
	       "the shard\n"
	       "                     and from an application thread\n"
	       "  --max-queue BYTES  the nodes' per-connection queue limit\n"
	       "  --fragment-size N  the nodes' fragment_size (bulk: the "
	       "\"on\" size;\n"
	       "                     default 65536; 0 turns fragments off)\n"
	       "  --socket-buffer N  the nodes' socket_buffer (bytes their "
	       "sockets hold\n"
	       "                     each way; 0: the kernel's sizing)\n"
	       "  --json             one JSON object per result\n"
	       "  --no-raw           skip the raw and zmq baselines (no "
	       "ratios)\n"
	       "  --no-zmq           skip the ZeroMQ PUSH/PULL baseline "
	       "(pair)\n"
	       "  --cal              pingpong: round trips are aemp_cal calls\n"
	       "  --busy-poll US     pingpong, pair: nodes spin up to US µs "
	       "before\n"
	       "                     sleeping (busy_poll_us); the raw "
	       "baseline is\n"
	       "                     measured blocking and spinning\n"
	       "  -q, --quiet        no progress line\n"
	       "  --tls              TLS between the nodes (certificate made "
	       "per run)\n"
	       "  --connect H:P      measure a node started elsewhere\n"
	       "  --secret S         its secret (default: configuration "
	       "file)\n"
	       "  --port P           its perf port: NAME or NODEID#NAME "
	       "(default:\n"
	       "                     its node port, any AEMP node)\n"
	       "  --bind H:P         serve: listener (127.0.0.1:4040)\n"
	       "  --nodeid ID        serve: node ID\n");
}

static int
child_main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[2], "node") == 0)
		return perf_child_node(argc - 3, argv + 3);
	if (argc >= 3 && strcmp(argv[2], "raw") == 0)
		return perf_child_raw(argc - 3, argv + 3);
	if (argc >= 3 && strcmp(argv[2], "zmq") == 0)
		return perf_child_zmq(argc - 3, argv + 3);
	if (argc >= 3 && strcmp(argv[2], "dbmon") == 0)
		return perf_child_dbmon(argc - 3, argv + 3);
	if (argc >= 3 && strcmp(argv[2], "clusnode") == 0)
		return perf_child_clusnode(argc - 3, argv + 3);
	return perf_err(PERF_EUSAGE, "--child: unknown role");
}

static size_t
max_size(const struct perf_opts *o)
{
	size_t m = 0;
	int i;

	for (i = 0; i < o->nsizes; i++)
		m = o->sizes[i] > m ? o->sizes[i] : m;
	return m;
}

int
main(int argc, char **argv)
{
	struct perf_opts o;
	size_t i;
	int rc;

	perf_proc_init();
	if (argc >= 2 && strcmp(argv[1], "--child") == 0)
		return child_main(argc, argv);
	rc = perf_opts_parse(&o, argc, argv);
	if (rc != 0)
		return rc;
	if (o.help) {
		usage();
		return 0;
	}
	for (i = 0; i < NSCENARIOS; i++) {
		if (strcmp(o.scenario, scenarios[i].name) == 0)
			break;
	}
	if (i == NSCENARIOS)
		return perf_err(PERF_EUSAGE,
		                "unknown scenario '%s' (see aemp-perf --help)",
		                o.scenario);
	if (perf_payload(max_size(&o)) == NULL)
		return perf_err(PERF_EFAIL, "out of memory");
	if (!perf_cert_ok(&o))
		return PERF_EFAIL;
	rc = scenarios[i].run(&o);
	perf_payload_free();
	perf_set_status(rc);
	return status;
}
