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

static atomic_long fam_end = -1; /* value of key "end" the monitor saw */
static atomic_long fam_len;      /* keys in its mirror */

static void
on_fam(aemp_node *n, const char *family, const aemp_dbmirror *mirror,
       const aemp_val *added, const aemp_val *changed, const aemp_val *deleted,
       void *arg)
{
	const aemp_val *v = aemp_dbmirror_get(mirror, "end", 3);
	int64_t end = -1;

	(void)n;
	(void)family;
	(void)added;
	(void)changed;
	(void)deleted;
	(void)arg;
	atomic_store(&fam_len, (long)aemp_dbmirror_len(mirror));
	if (v != NULL && aemp_get_int(v, &end) == 0)
		atomic_store(&fam_end, (long)end);
}

/* set - db_set, waiting while the path to the global pushes back. */
static void
set(aemp_node *w, const char *key, int64_t v)
{
	while (aemp_db_set(w, "big", key,
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

#define FAMILY_ROUNDS 5

/* family_run - seconds per change (wall clock; CPU of the process, all
 * three nodes, into *cpu), for one monitor of a family of nkeys: the
 * median of FAMILY_ROUNDS rounds of `changes` changes each (one round
 * lasts 10-40 ms, so single rounds vary with the scheduler; the first
 * also pays for the tail of filling the family) */
static double
family_run(long nkeys, long changes, double *cpu)
{
	aemp_node *g = mk("g", NULL, 1), *w, *m;
	double t0, c0, per[FAMILY_ROUNDS], pcpu[FAMILY_ROUNDS];
	char key[32];
	long k, round;

	tu_start(g);
	w = mk("writer", g, 0);
	m = mk("mon", g, 0);
	tu_start(w);
	tu_start(m);
	TU_WAIT(aemp_node_is_up(w, "g") == 1, 10);
	TU_WAIT(aemp_node_is_up(m, "g") == 1, 10);
	atomic_store(&fam_end, -1);
	for (k = 0; k < nkeys; k++) {
		snprintf(key, sizeof(key), "k%ld", k);
		set(w, key, 0);
	}
	set(w, "end", 0);
	aemp_db_mon(m, "big", on_fam, NULL, NULL);
	if (!TU_WAIT(atomic_load(&fam_end) == 0, 120)) {
		fprintf(stderr, "family of %ld keys: mirror incomplete (%ld)\n",
		        nkeys, atomic_load(&fam_len));
		exit(1);
	}
	for (round = 0; round < FAMILY_ROUNDS; round++) {
		t0 = tu_now();
		c0 = tu_cpu_now();
		for (k = 1; k <= changes; k++) {
			snprintf(key, sizeof(key), "k%ld", (k * 7919) % nkeys);
			set(w, key, round * changes + k);
		}
		set(w, "end", round + 1);
		if (!TU_WAIT(atomic_load(&fam_end) == round + 1, 120)) {
			fprintf(stderr,
			        "family of %ld keys: changes not seen\n",
			        nkeys);
			exit(1);
		}
		per[round] = (tu_now() - t0) / (double)(changes + 1);
		pcpu[round] = (tu_cpu_now() - c0) / (double)(changes + 1);
	}
	printf("  family of %6ld keys, %d rounds: us per change", nkeys,
	       FAMILY_ROUNDS);
	for (round = 0; round < FAMILY_ROUNDS; round++)
		printf(" %.2f", per[round] * 1e6);
	printf(", CPU");
	for (round = 0; round < FAMILY_ROUNDS; round++)
		printf(" %.2f", pcpu[round] * 1e6);
	qsort(per, FAMILY_ROUNDS, sizeof(double), cmp_double);
	qsort(pcpu, FAMILY_ROUNDS, sizeof(double), cmp_double);
	*cpu = pcpu[FAMILY_ROUNDS / 2];
	printf(" (%ld changes a round, mirror %ld keys; medians %.2f, CPU "
	       "%.2f)\n",
	       changes, atomic_load(&fam_len), per[FAMILY_ROUNDS / 2] * 1e6,
	       *cpu * 1e6);
	aemp_node_free(m);
	aemp_node_free(w);
	aemp_node_free(g);
	return per[FAMILY_ROUNDS / 2];
}

int
main(int argc, char **argv)
{
	double small, large, small_cpu, large_cpu;

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
	small = family_run(1000, 10000, &small_cpu);
	large = family_run(100000, 10000, &large_cpu);
	printf("  per-change time (medians), 100,000 / 1,000 keys: %.2fx (CPU "
	       "%.2fx)\n",
	       large / small, large_cpu / small_cpu);
	return 0;
}
