/*
 * tests/integ/snd_many_mixed.c - aemp_snd_many on the shard that owns the
 * connection, where a batch is encoded into one reservation of the
 * connection's queue (eng_conn_encode_many): batches that mix small
 * messages with messages large enough to go in fragments, under back
 * pressure (a small max_queue, so batches end short), in both framings,
 * with fragments on and off.  Every message must arrive once, in order,
 * with its payload intact.
 *
 * aemp-test-timeout: 120
 */
#include <limits.h>

#include "tests/engine_util.h"

#define TOTAL 20000
#define BATCH 50
#define BIG 3000 /* above 1.5 x the fragment size: sent in pieces */
#define SMALL 16
#define BIG_EVERY 7

static aemp_node *
mknode(const char *id, const char *framing, long frag, aemp_node *seed_of)
{
	char conf[1024], addr[256] = "[]";

	if (seed_of != NULL)
		aemp_node_listeners(seed_of, addr, sizeof(addr));
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"mixed-secret\","
	         "\"framing_format\":%s,\"shards\":1,\"max_queue\":65536,"
	         "\"max_packet\":65536,\"fragment_size\":%ld,\"seeds\":%s}",
	         framing, frag, addr);
	return tu_node_json(id, conf);
}

/* The payload of message seq: its size and bytes follow from seq. */
static size_t
payload_size(int64_t seq)
{
	return seq % BIG_EVERY == 3 ? BIG : SMALL;
}

static void
payload_fill(char *p, int64_t seq)
{
	size_t i, n = payload_size(seq);

	for (i = 0; i < n; i++)
		p[i] = (char)('a' + (seq + (int64_t)i) % 26);
}

/* ---- receiving ------------------------------------------------------- */

static atomic_long got, bad;

static int
h_sink(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char want[BIG];
	int64_t seq = -1;

	(void)n;
	(void)arg;
	if (cnt != 2 || aemp_get_int(&msg[0], &seq) < 0 ||
	    seq != atomic_load(&got) || msg[1].type != AEMP_STR ||
	    msg[1].len != payload_size(seq)) {
		atomic_fetch_add(&bad, 1);
		if (seq >= 0)
			atomic_store(&got, seq + 1);
		return 0;
	}
	payload_fill(want, seq);
	if (memcmp(msg[1].u.s, want, msg[1].len) != 0)
		atomic_fetch_add(&bad, 1);
	atomic_store(&got, seq + 1);
	return 0;
}

/* ---- sending (on the node's only shard, which owns the connection) -- */

struct sender {
	aemp_ref to;
	int64_t seq;
	char pay[BATCH][BIG];
	aemp_val msgs[BATCH][2];
	aemp_msgv mv[BATCH];
	long shorts, errs;
	atomic_int done;
};

static struct sender snd;

static int
sender_turn(aemp_node *n, struct sender *s)
{
	size_t i, k;
	int rc;

	while (s->seq < TOTAL) {
		k = (size_t)(TOTAL - s->seq);
		k = k > BATCH ? BATCH : k;
		for (i = 0; i < k; i++) {
			int64_t q = s->seq + (int64_t)i;

			payload_fill(s->pay[i], q);
			s->msgs[i][0] = aemp_int(q);
			s->msgs[i][1] = aemp_strn(s->pay[i], payload_size(q));
			s->mv[i].msg = s->msgs[i];
			s->mv[i].n = 2;
		}
		rc = aemp_snd_many(n, s->to, s->mv, k);
		if (rc == -EAGAIN)
			return 0;
		if (rc <= 0 || (size_t)rc > k) {
			s->errs++;
			return 1;
		}
		s->seq += rc;
		if ((size_t)rc < k) {
			s->shorts++;
			return 0;
		}
	}
	return 1;
}

static void
sender_tick(aemp_node *n, void *arg)
{
	struct sender *s = arg;

	if (sender_turn(n, s)) {
		atomic_store(&s->done, 1);
		return;
	}
	if (aemp_after(n, 0.0002, sender_tick, s, NULL) < 0)
		atomic_store(&s->done, 1);
}

static void
run(const char *framing, long frag)
{
	aemp_node *a, *b;

	atomic_store(&got, 0);
	atomic_store(&bad, 0);
	memset(&snd, 0, sizeof(snd));
	a = mknode("alpha", framing, frag, NULL);
	b = mknode("beta", framing, frag, a);
	CHECK_OK(aemp_rcv(b, "beta#sink", h_sink, NULL));
	tu_start(a);
	tu_start(b);
	CHECK(TU_WAIT(aemp_node_is_up(a, "beta") == 1, 20));
	CHECK_OK(aemp_ref_new(a, "beta#sink", &snd.to));
	CHECK_OK(aemp_exec(a, 0, sender_tick, &snd));
	CHECK(TU_WAIT(atomic_load(&snd.done), 60));
	CHECK(TU_WAIT(atomic_load(&got) == TOTAL, 60));
	CHECK_EQ(atomic_load(&bad), 0);
	CHECK_EQ(snd.errs, 0);
	CHECK(snd.shorts > 0); /* back pressure ended some batches early */
	DIAG("%s, fragment_size %ld: %ld received, %ld short batches", framing,
	     frag, atomic_load(&got), snd.shorts);
	aemp_ref_free(a, snd.to);
	aemp_node_free(a);
	aemp_node_free(b);
}

int
main(void)
{
	alarm(110);
	run("[\"cbor\"]", 1024);
	run("[\"json\"]", 1024);
	run("[\"cbor\"]", 0);
	run("[\"json\"]", 0);
	return tap_done();
}
