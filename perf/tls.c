/*
 * perf/tls.c - the tls scenario: what TLS costs, against plaintext in the
 * same run.  Two node pairs over loopback side by side, one in the clear
 * (hmac_sha3_512) and one over TLS (the run's certificate), per framing:
 *
 *   pair      one-way msgs/s per size: plaintext, then TLS right after,
 *             three times over with a third of --seconds (or all of
 *             --count) each; the median of each mode counts
 *   pingpong  median round trip per size, the same way
 *   set-up    SETUP_RUNS fresh nodes dial each pair's peer, alternating;
 *             the median time from the node's start (aemp_node_start
 *             returned: its shards run and it dials its seed) to seeing
 *             the peer up: TCP connect, greetings, with TLS the full
 *             handshake, and the authentication
 *
 * The result rows come first (the usual table, or JSON lines); then one
 * line per figure with both values and the ratio TLS / plaintext, which
 * is what docs/perf.md reports: on a shared machine ratios of one run
 * hold, absolute figures do not.  No raw TCP baseline is run.
 *
 * Threads: main thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf.h"

#define SETUP_RUNS 5
#define TLS_ALT 3 /* plaintext / TLS alternations per figure */
#define CMP_MAX (2 * (2 * PERF_SIZES_MAX + 1))

struct tls_run {
	struct perf_opts plain, tls; /* the options of each pair */
	struct perf_duo dp, dt;      /* the plaintext pair, the TLS pair */
	struct perf_cmp cmp[CMP_MAX];
	int ncmp;
};

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The figure of a result: msgs/s, or the median round trip. */
static double
fig(const struct perf_result *r, int pingpong)
{
	return pingpong ? r->rtt_us[RTT_P50] : (double)r->msgs / r->secs;
}

/* The index of the median of n (odd) results by their figure. */
static int
median_of(const struct perf_result *r, int n, int pingpong)
{
	int i, j, below;

	for (i = 0; i < n; i++) {
		for (below = 0, j = 0; j < n; j++)
			below +=
			        fig(&r[j], pingpong) < fig(&r[i], pingpong) ||
			        (fig(&r[j], pingpong) == fig(&r[i], pingpong) &&
			         j < i);
		if (below == n / 2)
			return i;
	}
	return 0;
}

/* One figure both ways, TLS_ALT times alternately with a third of the
 * time each (a shared machine's load shifts within seconds: alternating
 * exposes both modes to it alike); the median of each is reported: the
 * two result rows now, the comparison later. */
static int
tls_one(struct tls_run *t, int pingpong, const char *framing, size_t size)
{
	struct perf_result rp[TLS_ALT], rt[TLS_ALT];
	struct perf_opts po = t->plain, pt = t->tls;
	struct perf_cmp *c = &t->cmp[t->ncmp];
	int i, mp, mt, rc = 0;

	if (po.count == 0)
		po.seconds = pt.seconds = t->tls.seconds / TLS_ALT;
	for (i = 0; i < TLS_ALT && rc == 0; i++) {
		rc = perf_duo_result(&po, pingpong, &t->dp, framing, size,
		                     &rp[i]);
		if (rc == 0)
			rc = perf_duo_result(&pt, pingpong, &t->dt, framing,
			                     size, &rt[i]);
		po.warmup = pt.warmup = t->tls.warmup / TLS_ALT;
	}
	if (rc != 0)
		return rc;
	mp = median_of(rp, TLS_ALT, pingpong);
	mt = median_of(rt, TLS_ALT, pingpong);
	perf_report(&t->tls, &rp[mp]);
	perf_report(&t->tls, &rt[mt]);
	memset(c, 0, sizeof(*c));
	c->scenario = rp[mp].scenario;
	c->measure = pingpong ? "p50us" : "msgs/s";
	c->size = size;
	c->framing = framing;
	c->plain = fig(&rp[mp], pingpong);
	c->tls = fig(&rt[mt], pingpong);
	c->cpu_plain = rp[mp].cpu_partial ? -1 : perf_cpu_per_m(&rp[mp]);
	c->cpu_tls = rt[mt].cpu_partial ? -1 : perf_cpu_per_m(&rt[mt]);
	c->transport = t->dt.transport;
	t->ncmp++;
	return 0;
}

static int
tls_setup(struct tls_run *t, const char *framing)
{
	double p[SETUP_RUNS], s[SETUP_RUNS];
	struct perf_cmp *c = &t->cmp[t->ncmp];
	int i, rc = 0;

	for (i = 0; i < SETUP_RUNS && rc == 0; i++) {
		rc = perf_duo_setup(&t->dp, &t->plain, framing, 2 * i, &p[i]);
		if (rc == 0)
			rc = perf_duo_setup(&t->dt, &t->tls, framing, 2 * i + 1,
			                    &s[i]);
	}
	if (rc != 0)
		return rc;
	qsort(p, SETUP_RUNS, sizeof(p[0]), cmp_double);
	qsort(s, SETUP_RUNS, sizeof(s[0]), cmp_double);
	memset(c, 0, sizeof(*c));
	c->scenario = "set-up";
	c->measure = "ms";
	c->framing = framing;
	c->plain = p[SETUP_RUNS / 2];
	c->tls = s[SETUP_RUNS / 2];
	c->cpu_plain = c->cpu_tls = -1;
	c->transport = t->dt.transport;
	t->ncmp++;
	return 0;
}

static int
tls_framing(struct tls_run *t, const char *framing)
{
	int kind, si, rc;

	rc = perf_duo_start(&t->dp, &t->plain, framing);
	if (rc != 0)
		return rc;
	rc = perf_duo_start(&t->dt, &t->tls, framing);
	for (kind = 0; kind < 2 && rc == 0; kind++)
		for (si = 0; si < t->tls.nsizes && rc == 0; si++)
			rc = tls_one(t, kind, framing, t->tls.sizes[si]);
	if (rc == 0)
		rc = tls_setup(t, framing);
	perf_duo_stop(&t->dt);
	perf_duo_stop(&t->dp);
	return rc;
}

int
perf_tls(const struct perf_opts *o)
{
	struct tls_run *t = calloc(1, sizeof(*t));
	int fi, i, rc = 0;

	if (t == NULL)
		return perf_err(PERF_EFAIL, "out of memory");
	t->tls = *o;
	t->tls.tls = 1;
	t->tls.no_raw = 1;
	t->plain = t->tls;
	t->plain.tls = 0;
	for (fi = 0; fi < o->nframings && rc == 0; fi++)
		rc = tls_framing(t, o->framings[fi]);
	if (!o->json && t->ncmp > 0)
		printf("\n");
	for (i = 0; i < t->ncmp; i++)
		perf_report_cmp(o, &t->cmp[i]);
	free(t);
	return rc;
}
