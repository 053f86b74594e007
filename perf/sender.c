/*
 * perf/sender.c - one-way throughput: a sender is a port on one shard
 * that sends [SID, SEQ, PAYLOAD] to its target in batches, one batch per
 * loop turn (aemp_after with no delay), and stops a batch early on
 * -EAGAIN: the connection's queue is full, and the next turn comes after
 * the shard has flushed it.  The shard thread always returns to its loop
 * between batches.
 *
 * Phases: warm-up (sent, not measured), a sync that drains the path, the
 * measured phase (seconds or count), and a final sync whose reply marks
 * the end of the measurement: everything sent before it was delivered, so
 * the rate is messages / (reply time - start of the measured phase).  The
 * final sync's reply also carries the receiver's delivery check.
 *
 * With --foreign (pair) the port still lives on its shard (it receives
 * the sync replies there), but the messages and syncs are sent by an
 * application thread of the sender's own, blocking in aemp_snd_ref_wait
 * while the path is full: the rate an application's worker thread gets.
 *
 * Threads: a sender's state belongs to its shard once started, or, with
 * a foreign thread, to that thread while the phase is PH_WARM/PH_RUN and
 * to the shard while a sync is out (the sync message and the phase's
 * release/acquire order the hand-overs); the main thread reads only the
 * perf_task fields (phase, counter, and the results after PH_DONE,
 * published with release/acquire).
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf.h"

struct perf_sender {
	struct perf_task t; /* first: the main thread's view */
	aemp_node *node;
	struct perf_flow f;
	int node_port; /* target is a node port: "devnull" and "time" */
	aemp_ref dst;
	int has_dst;
	aemp_id self;
	aemp_val msg[4];
	size_t nmsg;
	aemp_val (*mmsg)[4]; /* f.many copies of msg, for aemp_snd_many */
	aemp_msgv *mv;
	size_t seq_at;    /* index of SEQ in msg */
	uint64_t seq;     /* next sequence number: messages sent so far */
	uint64_t base;    /* seq when the measured phase started */
	int64_t deadline; /* end of the current phase (ns) */
	int sync_due;     /* the phase is over; its sync is not sent yet */
	uint64_t skip;    /* test hook: never send this sequence number */
	pthread_t th;     /* the application thread (f.foreign) */
	int has_th;
	atomic_int quit; /* the thread stops (sender_free) */
};

/* ---- payloads and task helpers --------------------------------------- */

static char *payload_buf;
static size_t payload_cap;

const char *
perf_payload(size_t size)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t i;
	char *p;

	if (size + 1 <= payload_cap)
		return payload_buf;
	p = realloc(payload_buf, size + 1);
	if (p == NULL)
		return NULL;
	for (i = 0; i < size; i++)
		p[i] = abc[i % (sizeof(abc) - 1)];
	p[size] = '\0';
	payload_buf = p;
	payload_cap = size + 1;
	return p;
}

void
perf_payload_free(void)
{
	free(payload_buf);
	payload_buf = NULL;
	payload_cap = 0;
}

void
perf_flow_init(struct perf_flow *f, const struct perf_opts *o, size_t size,
               int shard, const char *target)
{
	memset(f, 0, sizeof(*f));
	f->sid = perf_sid_next();
	f->size = size;
	f->warmup_s = o->warmup;
	f->seconds = o->seconds;
	f->count = o->count;
	f->batch = o->batch;
	f->shard = shard;
	f->cal = o->cal;
	f->backoff_s = perf_backoff_s(o->max_queue);
	snprintf(f->target, sizeof(f->target), "%s", target);
}

double
perf_backoff_s(uint64_t max_queue)
{
	/* 0: the engine's default max_queue, 64 MiB */
	double q = max_queue != 0 ? (double)max_queue : 64.0 * 1048576;

	return q / 4e9 < PERF_BACKOFF_MAX_S ? q / 4e9 : PERF_BACKOFF_MAX_S;
}

int
perf_is_node_port(const char *id)
{
	const char *h = strchr(id, '#');

	return h == NULL || h[1] == '\0';
}

void
perf_task_set(struct perf_task *t, int phase)
{
	atomic_store_explicit(&t->phase, phase, memory_order_release);
}

void
perf_task_fail(struct perf_task *t, int rc, const char *what)
{
	snprintf(t->err, sizeof(t->err), "%s: %s", what, aemp_strerror(rc));
	perf_task_set(t, PH_FAILED);
}

/* ---- the sending loop (shard thread) -------------------------------- */

static void tick(aemp_node *node, void *arg);

static void
reschedule(struct perf_sender *s, double delay_s)
{
	int rc = aemp_after(s->node, delay_s, tick, s, NULL);

	if (rc < 0)
		perf_task_fail(&s->t, rc, "aemp_after");
}

/* send_batch - up to batch messages; stops early on back pressure or at
 * the measured count.  Returns 0 or a negative error (-EAGAIN too). */
/* send_many - messages seq..end-1 with aemp_snd_many calls of up to
 * f.many messages.  Returns 0 or a negative error (-EAGAIN too). */
static int
send_many(struct perf_sender *s, uint64_t end)
{
	size_t i, k;
	int rc = 0;

	while (s->seq < end) {
		k = end - s->seq < (uint64_t)s->f.many ? (size_t)(end - s->seq)
		                                       : (size_t)s->f.many;
		for (i = 0; i < k; i++)
			s->mmsg[i][s->seq_at] = aemp_int((int64_t)(s->seq + i));
		rc = aemp_snd_many(s->node, s->dst, s->mv, k);
		if (rc < 0)
			break;
		s->seq += (uint64_t)rc;
		if ((size_t)rc < k) {
			rc = -EAGAIN;
			break;
		}
		rc = 0;
	}
	return rc;
}

static int
send_batch(struct perf_sender *s, int ph)
{
	uint64_t end = s->seq + s->f.batch;
	int rc = 0;

	if (ph == PH_RUN && s->f.count != 0 && end > s->base + s->f.count)
		end = s->base + s->f.count;
	if (s->mv != NULL)
		rc = send_many(s, end);
	while (s->mv == NULL && s->seq < end) {
		s->msg[s->seq_at] = aemp_int((int64_t)s->seq);
		if (s->f.foreign)
			rc = aemp_snd_ref_wait(s->node, s->dst, s->msg, s->nmsg,
			                       0.05);
		else
			rc = aemp_snd_ref(s->node, s->dst, s->msg, s->nmsg);
		if (rc < 0)
			break;
		if (++s->seq == s->skip)
			s->seq++;
	}
	if (ph == PH_RUN)
		atomic_store_explicit(&s->t.measured, s->seq - s->base,
		                      memory_order_relaxed);
	return rc;
}

static int
phase_over(const struct perf_sender *s, int ph)
{
	if (ph == PH_RUN && s->f.count != 0)
		return s->seq - s->base >= s->f.count;
	return perf_now_ns() >= s->deadline;
}

static int
send_sync(struct perf_sender *s)
{
	if (s->node_port)
		return aemp_snd_ref(
		        s->node, s->dst,
		        AEMP_MSG(aemp_str("time"), aemp_str(s->self.s)));
	return aemp_snd_ref(s->node, s->dst,
	                    AEMP_MSG(aemp_str("sync"), aemp_int(s->f.sid),
	                             aemp_int((int64_t)s->seq),
	                             aemp_str(s->self.s)));
}

static void
tick(aemp_node *node, void *arg)
{
	struct perf_sender *s = arg;
	int ph = atomic_load_explicit(&s->t.phase, memory_order_relaxed);
	int rc;

	(void)node;
	if (ph != PH_WARM && ph != PH_RUN)
		return;
	if (!s->sync_due) {
		rc = send_batch(s, ph);
		if (rc < 0 && rc != -EAGAIN) {
			perf_task_fail(&s->t, rc, "send");
			return;
		}
		s->sync_due = phase_over(s, ph);
		if (rc == -EAGAIN && !s->sync_due) {
			/* back pressure: pause instead of spinning */
			reschedule(s, s->f.backoff_s);
			return;
		}
	}
	if (s->sync_due) {
		/* The reply may come at once (a port on this shard). */
		perf_task_set(&s->t, ph == PH_WARM ? PH_WSYNC : PH_SYNC);
		rc = send_sync(s);
		if (rc == 0) {
			s->sync_due = 0;
			return;
		}
		perf_task_set(&s->t, ph);
		if (rc != -EAGAIN) {
			perf_task_fail(&s->t, rc, "sync");
			return;
		}
	}
	reschedule(s, 0);
}

/* ---- the sending loop (application thread, --foreign) --------------- */

/* foreign_sync - the phase is over: announce the sync, then send it. */
static int
foreign_sync(struct perf_sender *s, int ph)
{
	int rc;

	perf_task_set(&s->t, ph == PH_WARM ? PH_WSYNC : PH_SYNC);
	while ((rc = send_sync(s)) == -EAGAIN && !atomic_load(&s->quit))
		usleep(100);
	if (rc < 0 && !atomic_load(&s->quit))
		perf_task_fail(&s->t, rc, "sync");
	return rc;
}

static void *
foreign_main(void *arg)
{
	struct perf_sender *s = arg;
	int ph, rc;

	while (!atomic_load(&s->quit)) {
		ph = atomic_load_explicit(&s->t.phase, memory_order_acquire);
		if (ph == PH_WSYNC || ph == PH_SYNC) {
			usleep(100); /* the shard answers the sync */
			continue;
		}
		if (ph != PH_WARM && ph != PH_RUN)
			break;
		rc = send_batch(s, ph);
		if (rc < 0 && rc != -EAGAIN && rc != -ETIMEDOUT) {
			perf_task_fail(&s->t, rc, "send");
			break;
		}
		if (phase_over(s, ph) && foreign_sync(s, ph) < 0)
			break;
	}
	return NULL;
}

/* The final sync's reply: ["synced", SID, RECEIVED, GAPS, REORDERS], or
 * any reply of a node port's "time" request (no delivery check). */
static void
final_sync(struct perf_sender *s, const aemp_val *msg, size_t n)
{
	int64_t got = 0, gaps = 0, reord = 0;

	s->t.t1 = perf_now_ns();
	perf_task_mark(&s->t, 1);
	s->t.gaps = s->t.reorders = -1;
	if (!s->node_port) {
		if (n < 5 || !aemp_str_eq(&msg[0], "synced") ||
		    aemp_get_int(&msg[2], &got) < 0 ||
		    aemp_get_int(&msg[3], &gaps) < 0 ||
		    aemp_get_int(&msg[4], &reord) < 0) {
			snprintf(s->t.err, sizeof(s->t.err),
			         "unexpected sync reply from %s", s->f.target);
			perf_task_set(&s->t, PH_FAILED);
			return;
		}
		s->t.gaps = gaps;
		s->t.reorders = reord;
		/* more received than sent: duplicates */
		if (got > (int64_t)s->seq)
			s->t.reorders += got - (int64_t)s->seq;
	}
	perf_task_set(&s->t, PH_DONE);
}

static int
sender_rcv(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	struct perf_sender *s = arg;
	int ph = atomic_load_explicit(&s->t.phase, memory_order_relaxed);

	(void)node;
	if (ph == PH_WSYNC) {
		perf_task_mark(&s->t, 0);
		s->t.t0 = perf_now_ns();
		s->base = s->seq;
		s->deadline = s->t.t0 + (int64_t)(s->f.seconds * 1e9);
		perf_task_set(&s->t, PH_RUN);
		if (!s->f.foreign)
			reschedule(s, 0);
	} else if (ph == PH_SYNC) {
		final_sync(s, msg, n);
	}
	return 0;
}

/* ---- start and results ---------------------------------------------- */

static int
sender_begin(aemp_node *node, void *arg)
{
	struct perf_sender *s = arg;
	int rc;

	rc = aemp_port(node, sender_rcv, s, &s->self);
	if (rc == 0)
		rc = aemp_ref_new(node, s->f.target, &s->dst);
	if (rc < 0)
		return rc;
	s->has_dst = 1;
	s->deadline = perf_now_ns() + (int64_t)(s->f.warmup_s * 1e9);
	perf_task_set(&s->t, PH_WARM);
	if (!s->f.foreign) {
		tick(node, s);
		return 0;
	}
	rc = pthread_create(&s->th, NULL, foreign_main, s);
	if (rc != 0)
		return -rc;
	s->has_th = 1;
	return 0;
}

static void
build_msg(struct perf_sender *s, const char *payload)
{
	size_t i = 0;

	if (s->node_port)
		s->msg[i++] = aemp_str("devnull");
	s->msg[i++] = aemp_int(s->f.sid);
	s->seq_at = i;
	s->msg[i++] = aemp_int(0);
	s->msg[i++] = aemp_strn(payload, s->f.size);
	s->nmsg = i;
}

static void
sender_free(aemp_node *node, struct perf_task *t)
{
	struct perf_sender *s = (struct perf_sender *)t;

	if (s->has_th) {
		atomic_store(&s->quit, 1);
		pthread_join(s->th, NULL);
	}
	if (s->has_dst)
		aemp_ref_free(node, s->dst);
	free(s->mmsg);
	free(s->mv);
	free(s);
}

int
perf_sender_start(aemp_node *node, const struct perf_flow *f,
                  struct perf_task **out)
{
	struct perf_sender *s;
	const char *payload = perf_payload(f->size);
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL || payload == NULL) {
		free(s);
		return -ENOMEM;
	}
	s->node = node;
	s->t.node = node;
	s->t.peers = f->peers;
	s->t.npeers = f->npeers;
	s->f = *f;
	s->node_port = perf_is_node_port(f->target);
	/* Fault injection for the delivery check's own test
	 * (tests/cli/perf_check.sh): a message that is never sent. */
	s->skip = getenv("AEMP_PERF_SKIP_SEQ")
	                  ? strtoull(getenv("AEMP_PERF_SKIP_SEQ"), NULL, 10)
	                  : UINT64_MAX;
	build_msg(s, payload);
	/* The skip hook needs single sends. */
	if (f->many > 0 && s->skip == UINT64_MAX) {
		size_t i;

		s->mmsg = calloc((size_t)f->many, sizeof(*s->mmsg));
		s->mv = calloc((size_t)f->many, sizeof(*s->mv));
		if (s->mmsg == NULL || s->mv == NULL) {
			free(s->mmsg);
			free(s->mv);
			free(s);
			return -ENOMEM;
		}
		for (i = 0; i < (size_t)f->many; i++) {
			memcpy(s->mmsg[i], s->msg, sizeof(s->msg));
			s->mv[i].msg = s->mmsg[i];
			s->mv[i].n = s->nmsg;
		}
	}
	perf_task_keep(&s->t);
	*out = &s->t;
	s->t.free_fn = sender_free;
	rc = perf_on_shard(node, f->shard, sender_begin, s);
	if (rc < 0)
		perf_task_fail(&s->t, rc, "cannot start sender");
	return 0;
}
