/*
 * perf/dbwriter.c - the writer of the "db" scenario: a task on shard 0
 * (the control shard, where every database call runs) that sets
 * family/"k" + SEQ % W to [SEQ, SENT_NS, FLAGS, PAYLOAD] with aemp_db_set,
 * as fast as the monitoring nodes acknowledge: at most W (the window)
 * updates beyond the highest number every monitor has acknowledged
 * (perf/perf.h, "the database scenario").  The database has
 * no back pressure of its own (aemp_db_set queues to the global node
 * without a limit), so the window is what keeps the queues bounded.
 *
 * Phases, as a sender's: warm-up; its last update flagged for an
 * acknowledgement at once, and a drain until every monitor has seen it;
 * the measured phase (seconds or count), whose last update is flagged the
 * same way; the window ends when every monitor has acknowledged it.
 * measured = updates of the measured phase that every monitor has seen.
 *
 * Threads: the writer belongs to shard 0 of its node once started; the
 * main thread reads only its perf_task (as perf/sender.c) and starts a
 * result while none runs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf.h"

struct db_writer;

/* A node the writer depends on: a monitor or the global node. */
struct db_watch {
	struct db_writer *w;
	aemp_id id;
};

struct db_writer {
	struct perf_task t; /* first: the main thread's view */
	aemp_node *node;
	aemp_id self; /* the acknowledgement port */
	int nmon;
	/* across results */
	int64_t acked[PERF_MONITORS_MAX]; /* highest number seen, per monitor */
	int64_t seen_all;                 /* the lowest of acked */
	int64_t seq;                      /* next sequence number */
	int64_t skip; /* test hook: never set this sequence number */
	struct db_watch watches[PERF_MONITORS_MAX + 1];
	int nwatches;
	char gone[320]; /* a watched node went down ("": none) */
	char keys[PERF_DB_WINDOW_MAX][16]; /* "k0", "k1", ... */
	/* this result */
	struct perf_db_flow f;
	const char *payload;
	int64_t base;     /* first number of the measured phase */
	int64_t last;     /* last number of the phase (-1: still setting) */
	int64_t deadline; /* end of the current phase (ns) */
};

static const char *
key_of(const struct db_writer *w, int64_t seq)
{
	return w->keys[seq % w->f.window];
}

static int
phase_over(const struct db_writer *w, int ph)
{
	if (ph == PH_RUN && w->f.count != 0)
		return w->seq + 1 - w->base >= (int64_t)w->f.count;
	return perf_now_ns() >= w->deadline;
}

/* set_one - the next update; the last of its phase when the phase is
 * over.  Returns as aemp_db_set. */
static int
set_one(struct db_writer *w, int ph)
{
	int last = phase_over(w, ph);
	int flags = (ph == PH_RUN ? PERF_DB_F_MEASURED : 0) |
	            (last ? PERF_DB_F_ACK : 0);
	aemp_val v =
	        AEMP_ARR(aemp_int(w->seq), aemp_int(perf_now_ns()),
	                 aemp_int(flags), aemp_strn(w->payload, w->f.size));
	int rc = aemp_db_set(w->node, w->f.family, key_of(w, w->seq), &v, NULL);

	if (rc < 0)
		return rc;
	if (last) {
		w->last = w->seq;
		perf_task_set(&w->t, ph == PH_WARM ? PH_WSYNC : PH_SYNC);
	}
	if (++w->seq == w->skip)
		w->seq++;
	return 0;
}

/* fill - set updates until the window is full or the phase is over. */
static void
fill(struct db_writer *w)
{
	int ph = atomic_load_explicit(&w->t.phase, memory_order_relaxed);
	int rc;

	while ((ph == PH_WARM || ph == PH_RUN) && w->last < 0 &&
	       w->seq - (w->seen_all + 1) < w->f.window) {
		rc = set_one(w, ph);
		if (rc < 0) {
			perf_task_fail(&w->t, rc, "aemp_db_set");
			return;
		}
	}
}

static void
start_measuring(struct db_writer *w)
{
	perf_task_mark(&w->t, 0);
	w->t.t0 = perf_now_ns();
	w->base = w->seq;
	w->last = -1;
	w->deadline = w->t.t0 + (int64_t)(w->f.seconds * 1e9);
	perf_task_set(&w->t, PH_RUN);
	fill(w);
}

static void
finish(struct db_writer *w)
{
	w->t.t1 = perf_now_ns();
	perf_task_mark(&w->t, 1);
	atomic_store_explicit(&w->t.measured, (uint64_t)(w->seq - w->base),
	                      memory_order_relaxed);
	/* the monitors count gaps and reorders (perf/dbmon.c) */
	w->t.gaps = w->t.reorders = 0;
	perf_task_set(&w->t, PH_DONE);
}

static void
on_seen(struct db_writer *w)
{
	int ph = atomic_load_explicit(&w->t.phase, memory_order_relaxed);

	if (ph == PH_RUN || ph == PH_SYNC)
		atomic_store_explicit(
		        &w->t.measured,
		        (uint64_t)(w->seen_all + 1 > w->base
		                           ? w->seen_all + 1 - w->base
		                           : 0),
		        memory_order_relaxed);
	if (ph == PH_WSYNC && w->seen_all >= w->last)
		start_measuring(w);
	else if (ph == PH_SYNC && w->seen_all >= w->last)
		finish(w);
	else
		fill(w);
}

/* ["ack", INDEX, HIGHEST] from a monitoring node */
static int
writer_rcv(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	struct db_writer *w = arg;
	int64_t idx, high, min;
	int i;

	(void)node;
	if (n < 3 || !aemp_str_eq(&msg[0], "ack") ||
	    aemp_get_int(&msg[1], &idx) < 0 ||
	    aemp_get_int(&msg[2], &high) < 0 || idx < 0 || idx >= w->nmon)
		return 0;
	if (high <= w->acked[idx])
		return 0;
	w->acked[idx] = high;
	min = high;
	for (i = 0; i < w->nmon; i++)
		min = w->acked[i] < min ? w->acked[i] : min;
	w->seen_all = min;
	on_seen(w);
	return 0;
}

static int
writer_begin(aemp_node *node, void *arg)
{
	struct db_writer *w = arg;

	(void)node;
	if (w->gone[0] != '\0') {
		snprintf(w->t.err, sizeof(w->t.err), "%s", w->gone);
		perf_task_set(&w->t, PH_FAILED);
		return 0;
	}
	w->t.t0 = w->t.t1 = 0;
	w->last = -1;
	w->base = w->seq;
	w->deadline = perf_now_ns() + (int64_t)(w->f.warmup_s * 1e9);
	atomic_store_explicit(&w->t.measured, 0, memory_order_relaxed);
	perf_task_set(&w->t, PH_WARM);
	fill(w);
	return 0;
}

int
perf_db_writer_run(struct perf_task *t, const struct perf_db_flow *f)
{
	struct db_writer *w = (struct db_writer *)t;
	int rc;

	if (f->window < 1 || f->window > PERF_DB_WINDOW_MAX)
		return -EINVAL;
	w->payload = perf_payload(f->size);
	if (w->payload == NULL)
		return -ENOMEM;
	w->f = *f;
	w->t.peers = f->peers;
	w->t.npeers = f->npeers;
	perf_task_set(&w->t, PH_INIT);
	rc = perf_on_shard(w->node, 0, writer_begin, w);
	if (rc < 0)
		perf_task_fail(&w->t, rc, "cannot start the writer");
	return rc;
}

/* A watched node went down: the run cannot finish (its acknowledgements
 * or the global node's notifications will never come). */
static void
node_down(aemp_node *node, const aemp_val *reason, size_t n, void *arg)
{
	struct db_watch *x = arg;
	struct db_writer *w = x->w;
	aemp_val all = aemp_array(reason, n);
	char text[160];
	int ph = atomic_load_explicit(&w->t.phase, memory_order_relaxed);

	(void)node;
	if (w->gone[0] != '\0')
		return;
	if (aemp_json_format(&all, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "(unprintable)");
	snprintf(w->gone, sizeof(w->gone), "node %.120s is gone: %.160s",
	         x->id.s, text);
	if (ph >= PH_WARM && ph <= PH_SYNC) {
		snprintf(w->t.err, sizeof(w->t.err), "%s", w->gone);
		perf_task_set(&w->t, PH_FAILED);
	}
}

static int
watch_begin(aemp_node *node, void *arg)
{
	struct db_watch *x = arg;

	return aemp_mon(node, x->id.s, node_down, x, NULL);
}

int
perf_db_writer_watch(struct perf_task *t, const char *nodeid)
{
	struct db_writer *w = (struct db_writer *)t;
	struct db_watch *x;

	if (w->nwatches == PERF_MONITORS_MAX + 1 ||
	    strlen(nodeid) >= sizeof(x->id.s))
		return -ENOSPC;
	x = &w->watches[w->nwatches++];
	x->w = w;
	snprintf(x->id.s, sizeof(x->id.s), "%s", nodeid);
	return perf_on_shard(w->node, 0, watch_begin, x);
}

static int
port_make(aemp_node *node, void *arg)
{
	struct db_writer *w = arg;

	return aemp_port(node, writer_rcv, w, &w->self);
}

static void
writer_free(aemp_node *node, struct perf_task *t)
{
	(void)node;
	free(t);
}

int
perf_db_writer_new(aemp_node *node, int nmon, aemp_id *port,
                   struct perf_task **out)
{
	struct db_writer *w = calloc(1, sizeof(*w));
	int i, rc;

	if (w == NULL)
		return -ENOMEM;
	w->node = node;
	w->t.node = node;
	w->t.free_fn = writer_free;
	w->nmon = nmon;
	w->seen_all = -1;
	/* The delivery check's own test (tests/cli/perf_db.sh), as for
	 * senders: a number that is never set. */
	w->skip = getenv("AEMP_PERF_SKIP_SEQ")
	                  ? strtoll(getenv("AEMP_PERF_SKIP_SEQ"), NULL, 10)
	                  : -1;
	for (i = 0; i < PERF_MONITORS_MAX; i++)
		w->acked[i] = -1;
	for (i = 0; i < PERF_DB_WINDOW_MAX; i++)
		snprintf(w->keys[i], sizeof(w->keys[i]), "k%d", i);
	rc = perf_on_shard(node, 0, port_make, w);
	if (rc == -ETIMEDOUT)
		return rc; /* w leaks: the shard may still use it */
	if (rc < 0) {
		free(w);
		return rc;
	}
	perf_task_keep(&w->t);
	*port = w->self;
	*out = &w->t;
	return 0;
}
