/*
 * perf/dbmon.c - a monitoring node of the "db" scenario, in a child
 * process ("aemp-perf --child dbmon ..."): one node (one shard) seeded
 * with the global node, aemp_db_mon on the run's family, and a check of
 * every update it reports.  On its control socket it says
 * "ready NODEID" once its mirror is primed and the writer is reachable,
 * then answers each "report" with lines "hist TEXT" (perf_hist_text) and
 * "done GAPS REORDERS", and starts counting afresh.  It leaves when the
 * socket closes.  Any failure is one line "fail TEXT".
 *
 * The check (the updates are [SEQ, SENT_NS, FLAGS, PAYLOAD], one key per
 * SEQ % W; perf/perf.h): the keys of one report are taken in
 * the order of their numbers; a key reported with the number it already
 * had is not an update (the API may report a change that is none); a
 * number above the next expected one counts the numbers skipped as gaps,
 * a number below it counts one reorder.  Latency is now - SENT_NS at the
 * start of the callback, for updates flagged as measured.
 *
 * Threads: the main thread reads commands; the callback, the
 * acknowledgements and the counters belong to shard 0 of the node, and
 * the main thread reaches them through perf_on_shard only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf.h"

#define CTL_FD 3
#define READY_S 20
#define HIST_LINE 900

struct mon {
	aemp_node *node;
	int64_t index;
	const char *family;
	const char *ack_to; /* the writer's port */
	aemp_ref ack;
	int has_ack;
	atomic_int primed;
	int ack_retry; /* a retry timer is pending */
	int ack_err;   /* an acknowledgement failed (not back pressure) */
	int64_t next;  /* next expected number */
	int64_t acked; /* highest number acknowledged */
	int window;    /* W: keys, and the writer's window */
	int ack_every;
	int64_t key_seq[PERF_DB_WINDOW_MAX];
	int64_t gaps, reorders; /* since the last report */
	struct perf_hist *hist; /* since the last report */
};

struct upd {
	int64_t seq, sent, flags;
	int key;
};

static void send_ack(struct mon *m);

static void
ack_retry(aemp_node *node, void *arg)
{
	struct mon *m = arg;

	(void)node;
	m->ack_retry = 0;
	send_ack(m);
}

/* send_ack - the highest number seen, to the writer; back pressure
 * retries after 1 ms. */
static void
send_ack(struct mon *m)
{
	int64_t high = m->next - 1;
	int rc;

	rc = aemp_snd_ref(
	        m->node, m->ack,
	        AEMP_MSG(aemp_str("ack"), aemp_int(m->index), aemp_int(high)));
	if (rc == 0) {
		m->acked = high;
	} else if (rc != -EAGAIN) {
		m->ack_err = rc;
	} else if (!m->ack_retry) {
		m->ack_retry = 1;
		if (aemp_after(m->node, 0.001, ack_retry, m, NULL) < 0)
			m->ack_err = -ENOMEM;
	}
}

/* parse - one reported key: its update.  Returns 0, or -1 if it is not
 * one of the writer's. */
static int
parse(const struct mon *m, const aemp_dbmirror *mirror, const aemp_val *key,
      struct upd *u)
{
	char name[16];
	const aemp_val *v, *seq, *sent, *flags;
	int k;

	if (key->type != AEMP_STR || key->len >= sizeof(name))
		return -1;
	memcpy(name, key->u.s, key->len);
	name[key->len] = '\0';
	if (sscanf(name, "k%d", &k) != 1 || k < 0 || k >= m->window)
		return -1;
	v = aemp_dbmirror_get(mirror, key->u.s, key->len);
	seq = aemp_at(v, 0);
	sent = aemp_at(v, 1);
	flags = aemp_at(v, 2);
	if (flags == NULL || aemp_get_int(seq, &u->seq) < 0 ||
	    aemp_get_int(sent, &u->sent) < 0 ||
	    aemp_get_int(flags, &u->flags) < 0 || u->seq < 0)
		return -1;
	u->key = k;
	return 0;
}

/* collect - the updates of one report, in the order of their numbers. */
static size_t
collect(struct mon *m, const aemp_dbmirror *mirror, const aemp_val *keys,
        struct upd *u, size_t n, size_t cap)
{
	struct upd x;
	size_t i, j;

	for (i = 0; i < keys->len && n < cap; i++) {
		if (parse(m, mirror, &keys->u.a[i], &x) < 0 ||
		    x.seq == m->key_seq[x.key])
			continue;
		for (j = n; j > 0 && u[j - 1].seq > x.seq; j--)
			u[j] = u[j - 1];
		u[j] = x;
		n++;
	}
	return n;
}

static int
check(struct mon *m, const struct upd *u, int64_t now)
{
	m->key_seq[u->key] = u->seq;
	if (u->seq == m->next) {
		m->next++;
	} else if (u->seq > m->next) {
		m->gaps += u->seq - m->next;
		m->next = u->seq + 1;
	} else {
		m->reorders++;
	}
	if (u->flags & PERF_DB_F_MEASURED)
		perf_hist_add(m->hist, now - u->sent);
	return (u->flags & PERF_DB_F_ACK) != 0;
}

static void
on_change(aemp_node *node, const char *family, const aemp_dbmirror *mirror,
          const aemp_val *added, const aemp_val *changed,
          const aemp_val *deleted, void *arg)
{
	struct mon *m = arg;
	struct upd u[2 * PERF_DB_WINDOW_MAX];
	int64_t now = perf_now_ns();
	size_t n = 0, i;
	int ack_now = 0;

	(void)node;
	(void)family;
	(void)deleted;
	n = collect(m, mirror, added, u, n, 2 * PERF_DB_WINDOW_MAX);
	n = collect(m, mirror, changed, u, n, 2 * PERF_DB_WINDOW_MAX);
	for (i = 0; i < n; i++)
		ack_now |= check(m, &u[i], now);
	if (ack_now || m->next / m->ack_every > (m->acked + 1) / m->ack_every)
		send_ack(m);
	atomic_store_explicit(&m->primed, 1, memory_order_release);
}

/* ---- the main thread's side ----------------------------------------- */

static int
mon_begin(aemp_node *node, void *arg)
{
	struct mon *m = arg;
	int i, rc;

	m->next = 0;
	m->acked = -1;
	for (i = 0; i < PERF_DB_WINDOW_MAX; i++)
		m->key_seq[i] = -1;
	rc = aemp_ref_new(node, m->ack_to, &m->ack);
	if (rc < 0)
		return rc;
	m->has_ack = 1;
	/* the connection to the writer, before the run: acknowledging
	 * nothing yet (the writer ignores numbers it has seen) */
	send_ack(m);
	return aemp_db_mon(node, m->family, on_change, m, NULL);
}

static int
wait_ready(struct mon *m)
{
	int64_t end = perf_now_ns() + (int64_t)READY_S * 1000000000;
	char writer[AEMP_ID_MAX];
	size_t len = aemp_node_of(m->ack_to);

	memcpy(writer, m->ack_to, len);
	writer[len] = '\0';
	while (!atomic_load_explicit(&m->primed, memory_order_acquire) ||
	       aemp_node_is_up(m->node, writer) != 1) {
		if (perf_now_ns() > end)
			return perf_err(PERF_EFAIL,
			                "monitor %s: %s within %d s",
			                aemp_node_id(m->node),
			                atomic_load(&m->primed)
			                        ? "no connection to the writer"
			                        : "no database mirror",
			                READY_S);
		perf_sleep_ms(2);
	}
	return 0;
}

/* What a report takes from the shard. */
struct snap {
	struct mon *m;
	struct perf_hist *hist;
	int64_t gaps, reorders;
	int err;
};

static int
take_snap(aemp_node *node, void *arg)
{
	struct snap *s = arg;
	struct mon *m = s->m;
	struct perf_hist *h = m->hist;

	(void)node;
	m->hist = s->hist; /* a fresh one */
	s->hist = h;
	s->gaps = m->gaps;
	s->reorders = m->reorders;
	s->err = m->ack_err;
	m->gaps = m->reorders = 0;
	return 0;
}

static int
report(struct mon *m, struct perf_child *ctl)
{
	struct snap s = {m, perf_hist_new(), 0, 0, 0};
	char line[HIST_LINE];
	int bucket = 0, rc;

	if (s.hist == NULL)
		return perf_err(PERF_EFAIL, "out of memory");
	rc = perf_on_shard(m->node, 0, take_snap, &s);
	if (rc == -ETIMEDOUT)
		return perf_err(PERF_EFAIL, "monitor %s does not answer",
		                aemp_node_id(m->node));
	if (rc == 0 && s.err < 0)
		rc = perf_err(PERF_EFAIL, "monitor %s: acknowledgement: %s",
		              aemp_node_id(m->node), aemp_strerror(s.err));
	while (rc == 0 && !perf_hist_done(bucket)) {
		perf_hist_text(s.hist, &bucket, line, sizeof(line));
		rc = perf_child_say(ctl, "hist %s", line) < 0 ? PERF_EFAIL : 0;
	}
	if (rc == 0)
		rc = perf_child_say(ctl, "done %lld %lld", (long long)s.gaps,
		                    (long long)s.reorders) < 0
		             ? PERF_EFAIL
		             : 0;
	perf_hist_free(s.hist);
	return rc;
}

/* command - the one command: "report". */
static int
command(void *arg, struct perf_child *ctl, const char *line)
{
	if (strcmp(line, "report") != 0)
		return perf_err(PERF_EFAIL, "bad command '%s'", line);
	return report(arg, ctl);
}

static int
mon_args(int argc, char **argv, struct perf_nodecfg *cfg, struct mon *m)
{
	int i;

	for (i = 0; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--nodeid") == 0)
			cfg->nodeid = argv[i + 1];
		else if (strcmp(argv[i], "--framing") == 0)
			cfg->framing = argv[i + 1];
		else if (strcmp(argv[i], "--seed") == 0)
			cfg->seed = argv[i + 1];
		else if (strcmp(argv[i], "--max-queue") == 0)
			cfg->max_queue = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--family") == 0)
			m->family = argv[i + 1];
		else if (strcmp(argv[i], "--ack") == 0)
			m->ack_to = argv[i + 1];
		else if (strcmp(argv[i], "--index") == 0)
			m->index = strtoll(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--window") == 0)
			m->window = atoi(argv[i + 1]);
		else
			return -EINVAL;
	}
	return i == argc && cfg->nodeid != NULL && cfg->seed != NULL &&
	                       m->family != NULL && m->ack_to != NULL &&
	                       strlen(m->ack_to) < AEMP_ID_MAX &&
	                       m->index >= 0 && m->index < PERF_MONITORS_MAX &&
	                       m->window >= 1 && m->window <= PERF_DB_WINDOW_MAX
	               ? 0
	               : -EINVAL;
}

static void
mon_free(struct mon *m)
{
	/* after the node has stopped: nothing runs on its shard any more */
	perf_hist_free(m->hist);
	free(m);
}

int
perf_child_dbmon(int argc, char **argv)
{
	struct perf_nodecfg cfg = {.framing = "cbor", .shards = 1};
	struct perf_child ctl = {.ctl = CTL_FD};
	struct mon *m;
	int rc;

	perf_err_to_fd(CTL_FD);
	cfg.secret = getenv("AEMP_PERF_SECRET");
	cfg.cert = getenv("AEMP_PERF_CERT");
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return perf_err(PERF_EFAIL, "out of memory");
	m->index = -1;
	if (mon_args(argc, argv, &cfg, m) < 0) {
		mon_free(m);
		return perf_err(PERF_EUSAGE, "--child dbmon: bad arguments");
	}
	m->ack_every = perf_db_ack_every(m->window);
	m->hist = perf_hist_new();
	m->node = m->hist != NULL ? perf_node_new(&cfg) : NULL;
	rc = m->node != NULL ? 0 : PERF_EFAIL;
	if (rc == 0 && (rc = perf_on_shard(m->node, 0, mon_begin, m)) < 0)
		rc = perf_err(PERF_EFAIL, "monitor %s: %s", cfg.nodeid,
		              aemp_strerror(rc));
	if (rc == 0)
		rc = wait_ready(m);
	if (rc == 0)
		rc = perf_child_say(&ctl, "ready %s", aemp_node_id(m->node)) < 0
		             ? PERF_EFAIL
		             : 0;
	if (rc == 0)
		rc = perf_child_serve(&ctl, command, m);
	if (m->node != NULL) {
		aemp_node_stop(m->node);
		aemp_node_wait(m->node);
		if (m->has_ack)
			aemp_ref_free(m->node, m->ack);
		aemp_node_free(m->node);
	}
	mon_free(m);
	return rc;
}
