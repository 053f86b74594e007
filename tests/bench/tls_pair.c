/*
 * tests/bench/tls_pair.c - TLS next to plaintext between two nodes in one
 * process over loopback, one shard each, CBOR framing:
 *
 *   1. one-way throughput: a pump on alpha's shard sends [PAYLOAD] to a
 *      port on beta, 256 messages per loop turn (fewer on back pressure),
 *      for a fixed time; the rate is messages sent / time until beta has
 *      received the last one;
 *   2. latency: ping-pong between a port on alpha and an echo port on
 *      beta, one message in flight; median and p99 of the round trip;
 *   3. connection set-up: from starting beta (which dials alpha, its
 *      seed) until both see each other up - handshake and TLS included.
 *
 * Payloads of 16 bytes and 1 KiB.  "plain" authenticates with
 * hmac_sha3_512 and sends in the clear; "TLS" shares one aemp_gencert EC
 * certificate (TLS 1.3, AES-GCM records, tls_sha3_512).  The two modes
 * alternate within the run, each case 5 times with fresh nodes, and the
 * median is shown (-v: every run), so both see the same machine load.
 *
 * Usage: tls_pair [-v] [seconds-per-throughput-run] [round-trips]
 *        (defaults 0.5 and 2000)
 *
 * Threads: the pump and the ping-pong run on the nodes' shards; the main
 * thread starts them and polls atomics.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aemp.h"

#define REPS 5
#define BATCH 256

static double run_s = 0.5;
static int rtts_n = 2000;
static char *cert;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static aemp_node *
mknode(const char *id, int tls, aemp_node *seed_of)
{
	aemp_conf *c = NULL;
	aemp_node *n = NULL;
	char addr[256];

	if (aemp_conf_new(&c) < 0)
		exit(1);
	aemp_conf_set_json(c, "norc", "true");
	aemp_conf_set_str(c, "nodeid", id);
	aemp_conf_set_json(c, "binds", "[\"127.0.0.1:0\"]");
	aemp_conf_set_str(c, "secret", "bench-secret");
	if (tls)
		aemp_conf_set_str(c, "cert", cert);
	aemp_conf_set_json(c, "framing_format", "[\"cbor\"]");
	aemp_conf_set_json(c, "shards", "1");
	aemp_conf_set_json(c, "log_level", "3");
	if (seed_of != NULL) {
		aemp_node_listeners(seed_of, addr, sizeof(addr));
		aemp_conf_set_json(c, "seeds", addr);
	}
	if (aemp_node_new(c, &n) < 0 || aemp_node_start(n) < 0) {
		fprintf(stderr, "node %s: %s\n", id, aemp_errmsg());
		exit(1);
	}
	aemp_conf_free(c);
	return n;
}

/* ---- throughput -------------------------------------------------------- */

struct pump {
	aemp_node *node;
	aemp_ref dst;
	aemp_val msg;
	uint64_t deadline_ns;
	uint64_t sent;
	atomic_ullong final; /* UINT64_MAX while sending */
};

static atomic_ullong received;

static int
h_count(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	(void)n;
	(void)msg;
	(void)cnt;
	(void)arg;
	atomic_fetch_add_explicit(&received, 1, memory_order_relaxed);
	return 0;
}

/* tick - one batch on alpha's shard, then again next loop turn. */
static void
tick(aemp_node *node, void *arg)
{
	struct pump *p = arg;
	int i;

	for (i = 0; i < BATCH; i++) {
		if (aemp_snd_ref(node, p->dst, &p->msg, 1) < 0)
			break; /* -EAGAIN: the connection's queue is full */
		p->sent++;
	}
	if (now_ns() >= p->deadline_ns) {
		atomic_store(&p->final, p->sent);
		return;
	}
	if (aemp_after(node, 0, tick, p, NULL) < 0)
		atomic_store(&p->final, p->sent);
}

/* throughput - messages per second of `size`-byte payloads. */
static double
throughput(aemp_node *a, const char *dst, const char *payload, size_t size)
{
	struct pump p = {.node = a, .msg = aemp_strn(payload, size)};
	uint64_t t0, t1, final;

	atomic_store(&received, 0);
	atomic_store(&p.final, UINT64_MAX);
	if (aemp_ref_new(a, dst, &p.dst) < 0)
		exit(1);
	t0 = now_ns();
	p.deadline_ns = t0 + (uint64_t)(run_s * 1e9);
	if (aemp_exec(a, 0, tick, &p) < 0)
		exit(1);
	while ((final = atomic_load(&p.final)) == UINT64_MAX ||
	       atomic_load(&received) < final)
		usleep(100);
	t1 = now_ns();
	aemp_ref_free(a, p.dst);
	return (double) final / ((double)(t1 - t0) / 1e9);
}

/* ---- latency ------------------------------------------------------------ */

struct pingpong {
	aemp_id self; /* alpha's port */
	aemp_ref echo;
	aemp_val payload;
	uint64_t sent_ns;
	uint64_t *rtt;
	int n;
	atomic_int done;
};

static int
h_echo(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char to[AEMP_ID_MAX];

	(void)arg;
	if (cnt != 2 || msg[1].type != AEMP_STR)
		return 0;
	snprintf(to, sizeof(to), "%.*s", (int)msg[1].len, msg[1].u.s);
	return aemp_snd(n, to, msg, 1);
}

static void
ping(aemp_node *n, struct pingpong *pp)
{
	pp->sent_ns = now_ns();
	if (aemp_snd_ref(n, pp->echo,
	                 AEMP_MSG(pp->payload, aemp_str(pp->self.s))) < 0)
		atomic_store(&pp->done, -1);
}

static int
h_pong(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	struct pingpong *pp = arg;

	(void)msg;
	(void)cnt;
	pp->rtt[pp->n++] = now_ns() - pp->sent_ns;
	if (pp->n < rtts_n)
		ping(n, pp);
	else
		atomic_store(&pp->done, 1);
	return 0;
}

static void
start_ping(aemp_node *n, void *arg)
{
	ping(n, arg);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* latency - median and p99 round trip (µs) of `size`-byte payloads. */
static void
latency(aemp_node *a, const char *echo, const char *payload, size_t size,
        double out[2])
{
	struct pingpong pp = {.payload = aemp_strn(payload, size)};

	pp.rtt = calloc((size_t)rtts_n, sizeof(*pp.rtt));
	if (pp.rtt == NULL || aemp_ref_new(a, echo, &pp.echo) < 0 ||
	    aemp_port(a, h_pong, &pp, &pp.self) < 0 ||
	    aemp_exec(a, 0, start_ping, &pp) < 0)
		exit(1);
	while (atomic_load(&pp.done) == 0)
		usleep(1000);
	if (atomic_load(&pp.done) < 0)
		exit(1);
	aemp_kil(a, pp.self.s, NULL, 0);
	aemp_ref_free(a, pp.echo);
	qsort(pp.rtt, (size_t)rtts_n, sizeof(*pp.rtt), cmp_u64);
	out[0] = (double)pp.rtt[rtts_n / 2] / 1e3;
	out[1] = (double)pp.rtt[rtts_n * 99 / 100] / 1e3;
	free(pp.rtt);
}

/* ---- one mode ------------------------------------------------------------ */

struct figures {
	double tput[2][REPS];   /* [size][rep] msgs/s */
	double lat[2][REPS][2]; /* [size][rep][median, p99] µs */
	double up_ms[REPS];     /* beta started -> both see each other up */
};

static const size_t sizes[2] = {16, 1024};

/* run_mode - one repetition of every case with fresh nodes. */
static void
run_mode(int tls, int rep, struct figures *f, const char *payload)
{
	aemp_node *a = mknode("alpha", tls, NULL), *b;
	uint64_t t0 = now_ns();
	aemp_id sink, echo;
	int s, tries = 0;

	b = mknode("beta", tls, a);
	while ((aemp_node_is_up(a, "beta") != 1 ||
	        aemp_node_is_up(b, "alpha") != 1) &&
	       tries++ < 100000)
		usleep(100);
	f->up_ms[rep] = (double)(now_ns() - t0) / 1e6;
	if (aemp_node_is_up(a, "beta") != 1 ||
	    aemp_port(b, h_count, NULL, &sink) < 0 ||
	    aemp_port(b, h_echo, NULL, &echo) < 0) {
		fprintf(stderr, "nodes did not connect\n");
		exit(1);
	}
	/* warm-up: the connection leaves its first-send limit (§2.10) */
	run_s /= 10;
	throughput(a, sink.s, payload, 16);
	run_s *= 10;
	for (s = 0; s < 2; s++) {
		f->tput[s][rep] = throughput(a, sink.s, payload, sizes[s]);
		latency(a, echo.s, payload, sizes[s], f->lat[s][rep]);
	}
	aemp_node_free(b);
	aemp_node_free(a);
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* median - of REPS values taken every `stride` doubles from v. */
static double
median(const double *v, size_t stride)
{
	double w[REPS];
	int i;

	for (i = 0; i < REPS; i++)
		w[i] = v[(size_t)i * stride];
	qsort(w, REPS, sizeof(w[0]), cmp_dbl);
	return w[REPS / 2];
}

static void
report(const struct figures *f)
{
	static const char *mode[2] = {"plain", "TLS"};
	double t[2], m[2], p[2];
	int s, k;

	printf("%-8s %-6s %14s %12s %12s %12s\n", "payload", "mode", "msgs/s",
	       "payload MB/s", "RTT median", "RTT p99");
	for (s = 0; s < 2; s++) {
		for (k = 0; k < 2; k++) {
			t[k] = median(f[k].tput[s], 1);
			m[k] = median(&f[k].lat[s][0][0], 2);
			p[k] = median(&f[k].lat[s][0][1], 2);
			printf("%-8zu %-6s %14.0f %12.1f %9.1f us %9.1f us\n",
			       sizes[s], mode[k], t[k],
			       t[k] * (double)sizes[s] / 1e6, m[k], p[k]);
		}
		printf("%-8zu %-6s %14.2f %12s %12.2f %12.2f\n", sizes[s],
		       "TLS/pl", t[1] / t[0], "", m[1] / m[0], p[1] / p[0]);
	}
	printf("connection up (start of beta to both up): plain %.1f ms, "
	       "TLS %.1f ms\n",
	       median(f[0].up_ms, 1), median(f[1].up_ms, 1));
}

/* verbose_run - one line per run (-v). */
static void
verbose_run(int tls, int rep, const struct figures *f)
{
	const char *mode = tls ? "TLS" : "plain";
	int s;

	printf("# run %d %-5s up in %.1f ms\n", rep + 1, mode, f->up_ms[rep]);
	for (s = 0; s < 2; s++)
		printf("# run %d %-5s %4zu B: %10.0f msgs/s, RTT median %.1f "
		       "us, "
		       "p99 %.1f us\n",
		       rep + 1, mode, sizes[s], f->tput[s][rep],
		       f->lat[s][rep][0], f->lat[s][rep][1]);
}

int
main(int argc, char **argv)
{
	static struct figures f[2];
	char payload[1024];
	int rep, tls, verbose = 0, a = 1;

	if (argc > a && strcmp(argv[a], "-v") == 0) {
		verbose = 1;
		a++;
	}
	if (argc > a)
		run_s = atof(argv[a]);
	if (argc > a + 1)
		rtts_n = atoi(argv[a + 1]);
	if (run_s <= 0 || rtts_n < 100) {
		fprintf(stderr,
		        "usage: %s [-v] [seconds > 0] [round-trips >= 100]\n",
		        argv[0]);
		return 2;
	}
	memset(payload, 'p', sizeof(payload));
	if (aemp_gencert(AEMP_CERT_EC256, &cert) < 0)
		return 1;
	for (rep = 0; rep < REPS; rep++) {
		for (tls = 0; tls < 2; tls++) {
			run_mode(tls, rep, &f[tls], payload);
			if (verbose)
				verbose_run(tls, rep, &f[tls]);
		}
	}
	printf("tls_pair: %.2f s per throughput run, %d round trips, "
	       "median of %d runs\n",
	       run_s, rtts_n, REPS);
	report(f);
	aemp_free(cert);
	return 0;
}
