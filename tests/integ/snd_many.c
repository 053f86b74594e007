/*
 * tests/integ/snd_many.c - aemp_snd_many (the batch send): two nodes in
 * one process over loopback.  Streams of [SID, SEQ] go to a port of the
 * other node and to a local port, in batches mixed with single
 * aemp_snd_ref calls, from both shards (one owns the connection, the
 * other hands its packets over) and from an application thread; every
 * stream must arrive complete and in order.  Also: count 0, a short count
 * under back pressure (a small max_queue), and the results' meaning (a
 * short count is followed by the error of the next message).
 *
 * aemp-test-timeout: 120
 */
#include <limits.h>

#include "tests/engine_util.h"

#define NSTREAMS 6
#define PER_STREAM 60000
#define BATCH 100

static aemp_node *
mknode(const char *id, aemp_node *seed_of)
{
	char conf[1024], addr[256] = "[]";

	if (seed_of != NULL)
		aemp_node_listeners(seed_of, addr, sizeof(addr));
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"many-secret\","
	         "\"shards\":2,\"max_queue\":65536,\"max_packet\":4096,"
	         "\"seeds\":%s}",
	         addr);
	return tu_node_json(id, conf);
}

/* ---- receiving ------------------------------------------------------- */

static atomic_long got[NSTREAMS], bad[NSTREAMS];

static int
h_sink(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	int64_t sid = -1, seq = -1;

	(void)n;
	(void)arg;
	if (cnt != 3 || aemp_get_int(&msg[0], &sid) < 0 ||
	    aemp_get_int(&msg[1], &seq) < 0 || sid < 0 || sid >= NSTREAMS ||
	    !aemp_str_eq(&msg[2], "payload-16-bytes")) {
		atomic_fetch_add(&bad[0], 1);
		return 0;
	}
	if (seq != atomic_load(&got[sid]))
		atomic_fetch_add(&bad[sid], 1);
	atomic_store(&got[sid], seq + 1);
	return 0;
}

/* ---- sending --------------------------------------------------------- */

struct stream {
	aemp_ref to;
	int64_t sid, seq;
	aemp_val msgs[BATCH][3];
	aemp_msgv mv[BATCH];
	long shorts; /* short counts seen (back pressure) */
	long errs;   /* results other than a count or -EAGAIN */
	atomic_int done;
};

static struct stream streams[NSTREAMS];

/* One turn: a batch, then a single send, until PER_STREAM are out.
 * Returns 1 when done, 0 to go on. */
static int
stream_turn(aemp_node *n, struct stream *s)
{
	size_t i, k;
	int rc;

	while (s->seq < PER_STREAM) {
		k = (size_t)(PER_STREAM - s->seq);
		k = k > BATCH ? BATCH : k;
		for (i = 0; i < k; i++) {
			s->msgs[i][0] = aemp_int(s->sid);
			s->msgs[i][1] = aemp_int(s->seq + (int64_t)i);
			s->msgs[i][2] = aemp_str("payload-16-bytes");
			s->mv[i].msg = s->msgs[i];
			s->mv[i].n = 3;
		}
		rc = aemp_snd_many(n, s->to, s->mv, k);
		if (rc == -EAGAIN)
			return 0;
		if (rc < 0 || (size_t)rc > k) {
			s->errs++;
			return 1;
		}
		s->seq += rc;
		if ((size_t)rc < k) {
			s->shorts++;
			/* the next message's error is back pressure */
			rc = aemp_snd_many(n, s->to, s->mv + rc,
			                   k - (size_t)rc);
			if (rc > 0)
				s->seq += rc; /* room came meanwhile */
			else if (rc != -EAGAIN)
				s->errs++;
			return 0;
		}
		if (s->seq < PER_STREAM) {
			s->msgs[0][1] = aemp_int(s->seq);
			rc = aemp_snd_ref(n, s->to, s->msgs[0], 3);
			if (rc == -EAGAIN)
				return 0;
			if (rc < 0) {
				s->errs++;
				return 1;
			}
			s->seq++;
		}
	}
	return 1;
}

static void
stream_tick(aemp_node *n, void *arg)
{
	struct stream *s = arg;

	if (stream_turn(n, s)) {
		atomic_store(&s->done, 1);
		return;
	}
	if (aemp_after(n, 0, stream_tick, s, NULL) < 0)
		atomic_store(&s->done, 1);
}

static void
stream_init(aemp_node *n, int sid, const char *to)
{
	struct stream *s = &streams[sid];

	s->sid = sid;
	CHECK_OK(aemp_ref_new(n, to, &s->to));
}

/* An application thread's stream: retry on -EAGAIN. */
static void
foreign_stream(aemp_node *n, struct stream *s)
{
	double end = tu_now() + 60;

	while (!stream_turn(n, s) && tu_now() < end)
		usleep(200);
	atomic_store(&s->done, 1);
}

static void
edge_cases(aemp_node *a)
{
	aemp_ref r;
	aemp_msgv one = {AEMP_MSG(aemp_int(0), aemp_int(0),
	                          aemp_str("payload-16-bytes"))};

	CHECK_OK(aemp_ref_new(a, "beta#sink", &r));
	CHECK_EQ(aemp_snd_many(a, r, NULL, 0), 0);
	CHECK_EQ(aemp_snd_many(a, r, &one, (size_t)INT_MAX + 1), -EINVAL);
	aemp_ref_free(a, r);
}

int
main(void)
{
	aemp_node *a, *b;
	int i;

	alarm(110);
	a = mknode("alpha", NULL);
	b = mknode("beta", a);
	CHECK_OK(aemp_rcv(b, "beta#sink", h_sink, NULL));
	CHECK_OK(aemp_rcv(a, "alpha#lsink", h_sink, NULL));
	tu_start(a);
	tu_start(b);
	CHECK(TU_WAIT(aemp_node_is_up(a, "beta") == 1, 20));
	edge_cases(a);
	/* 0, 1: remote from shards 0 and 1; 2: remote from this thread;
	 * 3, 4: local from shards 0 and 1; 5: local from this thread */
	for (i = 0; i < NSTREAMS; i++)
		stream_init(a, i, i < 3 ? "beta#sink" : "alpha#lsink");
	CHECK_OK(aemp_exec(a, 0, stream_tick, &streams[0]));
	CHECK_OK(aemp_exec(a, 1, stream_tick, &streams[1]));
	CHECK_OK(aemp_exec(a, 0, stream_tick, &streams[3]));
	CHECK_OK(aemp_exec(a, 1, stream_tick, &streams[4]));
	foreign_stream(a, &streams[2]);
	foreign_stream(a, &streams[5]);
	for (i = 0; i < NSTREAMS; i++) {
		CHECK(TU_WAIT(atomic_load(&streams[i].done), 60));
		CHECK(TU_WAIT(atomic_load(&got[i]) == PER_STREAM, 60));
		CHECK_EQ(atomic_load(&bad[i]), 0);
		CHECK_EQ(streams[i].errs, 0);
		DIAG("stream %d: %ld received, %ld short counts", i,
		     atomic_load(&got[i]), streams[i].shorts);
	}
	for (i = 0; i < NSTREAMS; i++)
		aemp_ref_free(a, streams[i].to);
	aemp_node_free(a);
	aemp_node_free(b);
	return tap_done();
}
