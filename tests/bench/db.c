/*
 * tests/bench/db.c - the distributed database through one global node:
 * updates per second (a writer node's db_set until every monitoring node
 * has seen the last one), and the time from db_set on the writer to the
 * db_mon callback on each monitoring node (median, p99), with 1, 10 and
 * 50 monitoring nodes, all in one process over loopback; then the cost of
 * one change to a db_mon subscriber of a family of 1,000 and of 100,000
 * keys (10,000 single-key changes each): with incremental mirrors the two
 * should cost the same per change.
 *
 *   build/release/tests/bench/db [family]      (family: only the second)
 */
#include <stdio.h>
#include <time.h>

#include "tests/engine_util.h"

#define SAMPLES 200
#define MAXMON 50

static double t_set[SAMPLES];
static double lat[SAMPLES * MAXMON];
static atomic_int nlat;
static atomic_long seen_last;
static long want_last;

static aemp_node *
mk(const char *id, aemp_node *seed, int global)
{
	aemp_conf *c = NULL;
	aemp_node *n = NULL;
	char addr[256];

	aemp_conf_new(&c);
	aemp_conf_set_json(c, "norc", "true");
	aemp_conf_set_str(c, "nodeid", id);
	aemp_conf_set_json(c, "binds", global ? "[\"127.0.0.1:0\"]" : "[]");
	aemp_conf_set_str(c, "secret", "bench");
	aemp_conf_set_json(c, "shards", "1");
	aemp_conf_set_json(c, "log_level", "2");
	if (seed != NULL) {
		aemp_node_listeners(seed, addr, sizeof(addr));
		aemp_conf_set_json(c, "seeds", addr);
	}
	if (global)
		aemp_conf_set_json(c, "services",
		                   "[\"AnyEvent::MP::Global::\"]");
	if (aemp_node_new(c, &n) < 0) {
		fprintf(stderr, "%s: %s\n", id, aemp_errmsg());
		exit(1);
	}
	aemp_conf_free(c);
	return n;
}

static void
on_change(aemp_node *n, const char *family, const aemp_dbmirror *mirror,
          const aemp_val *added, const aemp_val *changed,
          const aemp_val *deleted, void *arg)
{
	const aemp_val *v = aemp_dbmirror_get(mirror, "k", 1);
	int64_t seq = -1;
	double now = tu_now();
	int i;

	(void)n;
	(void)family;
	(void)added;
	(void)deleted;
	(void)arg;
	if (v == NULL || aemp_get_int(v, &seq) < 0 || changed->len == 0)
		return;
	if (seq >= 0 && seq < SAMPLES) {
		i = atomic_fetch_add(&nlat, 1);
		if (i < SAMPLES * MAXMON)
			lat[i] = now - t_set[seq];
	}
	if (seq == want_last)
		atomic_fetch_add(&seen_last, 1);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
run(int nmon)
{
	aemp_node *g = mk("g", NULL, 1), *w, *m[MAXMON];
	long k, updates = 20000;
	char id[32];
	double t0, rate;
	int i, n;

	tu_start(g);
	w = mk("writer", g, 0);
	tu_start(w);
	for (i = 0; i < nmon; i++) {
		snprintf(id, sizeof(id), "mon%d", i);
		m[i] = mk(id, g, 0);
		aemp_db_mon(m[i], "bench", on_change, NULL, NULL);
		tu_start(m[i]);
	}
	TU_WAIT(aemp_node_is_up(w, "g") == 1, 10);
	for (i = 0; i < nmon; i++)
		TU_WAIT(aemp_node_is_up(m[i], "g") == 1, 10);
	usleep(300000);
	/* latency: one update at a time */
	atomic_store(&nlat, 0);
	for (k = 0; k < SAMPLES; k++) {
		atomic_store(&seen_last, 0);
		want_last = k;
		t_set[k] = tu_now();
		aemp_db_set(w, "bench", "k",
		            &(aemp_val){.type = AEMP_INT, .u.i = k}, NULL);
		TU_WAIT(atomic_load(&seen_last) >= nmon, 5);
	}
	n = AEMP_MIN(atomic_load(&nlat), SAMPLES * MAXMON);
	qsort(lat, (size_t)n, sizeof(lat[0]), cmp);
	/* throughput: a burst of updates until all have seen the last */
	atomic_store(&seen_last, 0);
	want_last = SAMPLES + updates - 1;
	t0 = tu_now();
	for (k = SAMPLES; k < SAMPLES + updates; k++)
		aemp_db_set(w, "bench", "k",
		            &(aemp_val){.type = AEMP_INT, .u.i = k}, NULL);
	TU_WAIT(atomic_load(&seen_last) >= nmon, 120);
	rate = (double)updates / (tu_now() - t0);
	printf("  %3d monitors: %9.0f updates/s   db_set -> db_mon median "
	       "%7.1f us  p99 %7.1f us  (%d samples)\n",
	       nmon, rate, n ? lat[n / 2] * 1e6 : 0,
	       n ? lat[(n * 99) / 100] * 1e6 : 0, n);
	for (i = 0; i < nmon; i++)
		aemp_node_free(m[i]);
	aemp_node_free(w);
	aemp_node_free(g);
}

/* ---- one change in a large family ----------------------------------- */

/* What the monitor saw of one family. */
struct fam {
	const char *name;
	long nkeys;
	atomic_long end; /* value of key "end" the monitor saw */
	atomic_long len; /* keys in its mirror */
};

static void
on_fam(aemp_node *n, const char *family, const aemp_dbmirror *mirror,
       const aemp_val *added, const aemp_val *changed, const aemp_val *deleted,
       void *arg)
{
	struct fam *f = arg;
	const aemp_val *v = aemp_dbmirror_get(mirror, "end", 3);
	int64_t end = -1;

	(void)n;
	(void)family;
	(void)added;
	(void)changed;
	(void)deleted;
	atomic_store(&f->len, (long)aemp_dbmirror_len(mirror));
	if (v != NULL && aemp_get_int(v, &end) == 0)
		atomic_store(&f->end, (long)end);
}

/* set - db_set, waiting while the path to the global pushes back. */
static void
set(aemp_node *w, const char *family, const char *key, int64_t v)
{
	while (aemp_db_set(w, family, key,
	                   &(aemp_val){.type = AEMP_INT, .u.i = v},
	                   NULL) == -EAGAIN)
		usleep(100);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define FAMILY_ROUNDS 7
#define FAMILY_CHANGES 10000

/* fam_fill - nkeys keys and "end" = 0, until the monitor has them all. */
static void
fam_fill(aemp_node *w, struct fam *f)
{
	char key[32];
	long k;

	for (k = 0; k < f->nkeys; k++) {
		snprintf(key, sizeof(key), "k%ld", k);
		set(w, f->name, key, 0);
	}
	set(w, f->name, "end", 0);
	if (!TU_WAIT(atomic_load(&f->end) == 0 &&
	                     atomic_load(&f->len) == f->nkeys + 1,
	             120)) {
		fprintf(stderr, "family of %ld keys: mirror incomplete (%ld)\n",
		        f->nkeys, atomic_load(&f->len));
		exit(1);
	}
}

/* fam_round - FAMILY_CHANGES single-key changes to f, spread over its
 * keys, then "end" = round + 1 once the monitor has seen them: seconds
 * per change, wall clock (CPU of the process, all three nodes, in
 * *cpu). */
static double
fam_round(aemp_node *w, struct fam *f, long round, double *cpu)
{
	double t0 = tu_now(), c0 = tu_cpu_now();
	char key[32];
	long k;

	for (k = 1; k <= FAMILY_CHANGES; k++) {
		/* a different part of the family every round: each round
		 * meets keys the previous ones left out of the cache */
		snprintf(key, sizeof(key), "k%ld",
		         ((round * FAMILY_CHANGES + k) * 7919) % f->nkeys);
		set(w, f->name, key, round * FAMILY_CHANGES + k);
	}
	set(w, f->name, "end", round + 1);
	if (!TU_WAIT(atomic_load(&f->end) == round + 1, 120)) {
		fprintf(stderr, "family of %ld keys: changes not seen\n",
		        f->nkeys);
		exit(1);
	}
	*cpu = (tu_cpu_now() - c0) / (double)(FAMILY_CHANGES + 1);
	return (tu_now() - t0) / (double)(FAMILY_CHANGES + 1);
}

static void
fam_report(const struct fam *f, double *per, double *pcpu)
{
	int r;

	printf("  family of %6ld keys, %d rounds: us per change", f->nkeys,
	       FAMILY_ROUNDS);
	for (r = 0; r < FAMILY_ROUNDS; r++)
		printf(" %.2f", per[r] * 1e6);
	printf(", CPU");
	for (r = 0; r < FAMILY_ROUNDS; r++)
		printf(" %.2f", pcpu[r] * 1e6);
	qsort(per, FAMILY_ROUNDS, sizeof(double), cmp_double);
	qsort(pcpu, FAMILY_ROUNDS, sizeof(double), cmp_double);
	printf(" (medians %.2f, CPU %.2f)\n", per[FAMILY_ROUNDS / 2] * 1e6,
	       pcpu[FAMILY_ROUNDS / 2] * 1e6);
}

/*
 * family_cmp - one writer, one monitor, one global; families of 1,000 and
 * 100,000 keys side by side in the same nodes, their rounds alternating
 * (small, large, small, ...) so that a noisy moment of the shared machine
 * falls on both sizes alike; the median of FAMILY_ROUNDS rounds each.
 */
static void
family_cmp(void)
{
	static struct fam small = {.name = "small", .nkeys = 1000};
	static struct fam large = {.name = "big", .nkeys = 100000};
	double ps[FAMILY_ROUNDS], cs[FAMILY_ROUNDS];
	double pl[FAMILY_ROUNDS], cl[FAMILY_ROUNDS];
	aemp_node *g = mk("g", NULL, 1), *w, *m;
	long r;

	atomic_store(&small.end, -1);
	atomic_store(&large.end, -1);
	tu_start(g);
	w = mk("writer", g, 0);
	m = mk("mon", g, 0);
	tu_start(w);
	tu_start(m);
	TU_WAIT(aemp_node_is_up(w, "g") == 1, 10);
	TU_WAIT(aemp_node_is_up(m, "g") == 1, 10);
	aemp_db_mon(m, small.name, on_fam, &small, NULL);
	aemp_db_mon(m, large.name, on_fam, &large, NULL);
	fam_fill(w, &small);
	fam_fill(w, &large);
	/* one unmeasured round each: the tail of the filling */
	fam_round(w, &small, 0, &cs[0]);
	fam_round(w, &large, 0, &cl[0]);
	for (r = 0; r < FAMILY_ROUNDS; r++) {
		ps[r] = fam_round(w, &small, r + 1, &cs[r]);
		pl[r] = fam_round(w, &large, r + 1, &cl[r]);
	}
	printf("  %d changes a round, rounds alternating\n", FAMILY_CHANGES);
	fam_report(&small, ps, cs);
	fam_report(&large, pl, cl);
	printf("  per-change time (medians), 100,000 / 1,000 keys: %.2fx (CPU "
	       "%.2fx)\n",
	       pl[FAMILY_ROUNDS / 2] / ps[FAMILY_ROUNDS / 2],
	       cl[FAMILY_ROUNDS / 2] / cs[FAMILY_ROUNDS / 2]);
	aemp_node_free(m);
	aemp_node_free(w);
	aemp_node_free(g);
}

int
main(int argc, char **argv)
{
	(void)argv;
	if (argc < 2) {
		printf("database through one global node (all nodes in one "
		       "process, 1 shard each)\n");
		run(1);
		run(10);
		run(50);
	}
	printf("db_mon of a large family (one writer, one monitor, one "
	       "global)\n");
	family_cmp();
	return 0;
}
