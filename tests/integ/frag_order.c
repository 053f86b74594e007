/*
 * tests/integ/frag_order.c - fragments between two aemp nodes in one
 * process (docs/protocol.md "Fragments"): in both framings, interleaved
 * large and small messages to two ports arrive complete (checksums) and
 * in order per port (sequence numbers); a small message sent after a
 * large one to another port overtakes it when the receiver offers the
 * extension and does not when it does not (then nothing is sent in
 * fragments: the large message arrives whole, before the small one);
 * a fragmented packet above the receiver's max_packet closes the
 * connection, monitors fire and nothing of it is delivered.
 *
 * aemp-test-timeout: 180
 */
#include "tests/engine_util.h"

#define ROUNDS 24

struct rx {
	atomic_long next[2];  /* expected sequence number per port */
	atomic_long got[2];   /* messages received per port */
	atomic_long bad;      /* order or checksum errors */
	atomic_long bytes;    /* payload bytes received */
	atomic_long order;    /* arrival counter over both ports */
	atomic_long big_at;   /* arrival number of the marker big message */
	atomic_long small_at; /* ... and of the marker small one */
};

static struct rx rx;

/* Payload of message seq, n bytes.  CBOR: every byte value.  JSON
 * carries text only (binary strings come back as Latin-1 text), so
 * there: UTF-8 of 1 to 4 bytes per character, with the characters JSON
 * escapes ('"', '\\', control characters) among them. */
static int text_mode;

static void
fill(uint8_t *p, size_t n, long seq)
{
	static const char *const chars[] = {
	        "a",    "\"",       "\\",           "\n",
	        "\x01", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
	        "z",    "/"};
	uint64_t x = (uint64_t)seq * 0x9e3779b97f4a7c15ull + 1;
	size_t i = 0, k;

	while (i < n) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (!text_mode) {
			p[i++] = (uint8_t)x;
			continue;
		}
		k = strlen(chars[x % 10]);
		if (k > n - i)
			k = 1, p[i] = 'x';
		else
			memcpy(p + i, chars[x % 10], k);
		i += k;
	}
}

/* [SEQ, DATA, FNV(DATA), MARK] to port (arg) 0 or 1. */
static int
h_rx(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	int port = (int)(intptr_t)arg;
	int64_t seq = -1, sum = -1, mark = 0;
	long at = atomic_fetch_add(&rx.order, 1);

	(void)n;
	if (cnt != 4 || msg[1].type != AEMP_STR ||
	    aemp_get_int(&msg[0], &seq) < 0 ||
	    aemp_get_int(&msg[2], &sum) < 0 ||
	    aemp_get_int(&msg[3], &mark) < 0) {
		atomic_fetch_add(&rx.bad, 1);
		return 0;
	}
	if (mark == 3) /* resent until it arrives: no sequence */
		seq = atomic_load(&rx.next[port]);
	if (seq != atomic_load(&rx.next[port]) ||
	    (uint32_t)sum != tu_fnv((const uint8_t *)msg[1].u.s, msg[1].len)) {
		tu_logf("port %d: seq %lld (expected %ld), %u bytes, sum %s",
		        port, (long long)seq, atomic_load(&rx.next[port]),
		        msg[1].len,
		        (uint32_t)sum == tu_fnv((const uint8_t *)msg[1].u.s,
		                                msg[1].len)
		                ? "ok"
		                : "BAD");
		atomic_fetch_add(&rx.bad, 1);
	}
	atomic_store(&rx.next[port], seq + 1);
	atomic_fetch_add(&rx.got[port], 1);
	atomic_fetch_add(&rx.bytes, (long)msg[1].len);
	if (mark == 1)
		atomic_store(&rx.big_at, at);
	if (mark == 2)
		atomic_store(&rx.small_at, at);
	return 0;
}

static long seqs[2];

static int
send_one(aemp_node *a, const char *port, int which, size_t size, int mark)
{
	long seq = seqs[which]++;
	uint8_t *buf = malloc(size ? size : 1);
	int rc;

	fill(buf, size, seq);
	rc = aemp_snd_wait(a, port,
	                   AEMP_MSG(aemp_int(seq),
	                            text_mode ? aemp_strn((char *)buf, size)
	                                      : aemp_bytes(buf, size),
	                            aemp_int(tu_fnv(buf, size)),
	                            aemp_int(mark)),
	                   30);
	free(buf);
	return rc;
}

static void
mon_log(aemp_node *n, const aemp_val *reason, size_t cnt, void *arg)
{
	char buf[512];
	aemp_val a = aemp_array(reason, cnt);

	(void)n;
	tu_logf("%s fired %s", (const char *)arg,
	        tu_json(&a, buf, sizeof(buf)));
}

static aemp_node *
mknode(const char *id, const char *framing, long frag, long max_packet,
       aemp_node *seed)
{
	char conf[1024], addr[256] = "[]";

	if (seed != NULL)
		aemp_node_listeners(seed, addr, sizeof(addr));
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"frag-test\","
	         "\"framing_format\":%s,\"shards\":2,\"seeds\":%s,"
	         "\"fragment_size\":%ld,\"max_packet\":%ld}",
	         framing, addr, frag, max_packet);
	return tu_node_json(id, conf);
}

/*
 * run - sender "fa" (fragment_size 4096) and receiver "fb" (fragment
 * size rfrag: 0 means it does not offer the extension).
 */
static void
run(const char *framing, long rfrag)
{
	aemp_node *a, *b;
	aemp_id p0, p1;
	long want0 = 0, want1 = 0, bytes = 0;
	int i, ok = 1;

	memset(&rx, 0, sizeof(rx));
	text_mode = strstr(framing, "json") != NULL;
	atomic_store(&rx.big_at, -1);
	atomic_store(&rx.small_at, -1);
	seqs[0] = seqs[1] = 0;
	tu_log_reset();
	a = mknode("fa", framing, 4096, 16 << 20, NULL);
	b = mknode("fb", framing, rfrag, 16 << 20, a);
	tu_start(a);
	tu_start(b);
	CHECK(TU_WAIT(aemp_node_is_up(a, "fb") == 1, 20));
	CHECK_OK(aemp_port(b, h_rx, (void *)(intptr_t)0, &p0));
	CHECK_OK(aemp_port(b, h_rx, (void *)(intptr_t)1, &p1));

	/* large and small to port 0, small to port 1, sizes crossing the
	 * fragment size and the 64 KiB receive buffers */
	for (i = 0; i < ROUNDS && ok; i++) {
		size_t big = 4000 + (size_t)i * 45000;

		ok = send_one(a, p0.s, 0, big, 0) == 0 &&
		     send_one(a, p1.s, 1, (size_t)i * 7, 0) == 0 &&
		     send_one(a, p0.s, 0, 100 + (size_t)i, 0) == 0;
		want0 += 2;
		want1 += 1;
		bytes += (long)(big + (size_t)i * 7 + 100 + (size_t)i);
	}
	CHECK(ok);
	CHECK(TU_WAIT(atomic_load(&rx.got[0]) == want0 &&
	                      atomic_load(&rx.got[1]) == want1,
	              60));
	CHECK_EQ(atomic_load(&rx.bad), 0);
	CHECK_EQ(atomic_load(&rx.bytes), bytes);
	DIAG("%s, receiver fragment_size %ld: %ld + %ld messages, %ld bytes, "
	     "in order and intact",
	     framing, rfrag, want0, want1, bytes);

	/* 6 MiB to port 0, then a small message to port 1 */
	CHECK_OK(send_one(a, p0.s, 0, 6u << 20, 1));
	CHECK_OK(send_one(a, p1.s, 1, 10, 2));
	CHECK(TU_WAIT(atomic_load(&rx.big_at) >= 0 &&
	                      atomic_load(&rx.small_at) >= 0,
	              60));
	if (rfrag > 0) {
		CHECK(atomic_load(&rx.small_at) < atomic_load(&rx.big_at));
		DIAG("%s: the small message overtook the 6 MiB one", framing);
	} else {
		CHECK(atomic_load(&rx.small_at) > atomic_load(&rx.big_at));
		DIAG("%s: no fragments to a peer without the extension: the "
		     "6 MiB message came first",
		     framing);
	}
	CHECK_EQ(atomic_load(&rx.bad), 0);
	aemp_node_free(b);
	aemp_node_free(a);
	if (tap_failed)
		tu_log_dump();
}

/* A fragmented packet above the receiver's max_packet (1 MiB): the
 * receiver closes the connection at the first fragment, the sender's
 * monitor of the receiving port fires, nothing of it is delivered, and
 * the next connection works. */
static void
too_big(const char *framing)
{
	aemp_node *a, *b;
	aemp_id p0, p1;
	int i;

	memset(&rx, 0, sizeof(rx));
	text_mode = strstr(framing, "json") != NULL;
	seqs[0] = seqs[1] = 0;
	tu_log_reset();
	a = mknode("fa", framing, 4096, 16 << 20, NULL);
	b = mknode("fb", framing, 65536, 1 << 20, a);
	tu_start(a);
	tu_start(b);
	CHECK(TU_WAIT(aemp_node_is_up(a, "fb") == 1, 20));
	CHECK_OK(aemp_port(b, h_rx, (void *)(intptr_t)0, &p0));
	CHECK_OK(aemp_port(b, h_rx, (void *)(intptr_t)1, &p1));
	CHECK_OK(aemp_mon(a, p0.s, mon_log, "fa-mon-p0", NULL));
	CHECK_OK(send_one(a, p1.s, 1, 100, 0));
	CHECK(TU_WAIT(atomic_load(&rx.got[1]) == 1, 20));
	CHECK_OK(send_one(a, p0.s, 0, 2u << 20, 0));
	CHECK(TU_WAIT(strstr(tu_log.buf,
	                     "fa-mon-p0 fired [\"transport_error\"") != NULL,
	              30));
	CHECK_EQ(atomic_load(&rx.got[0]), 0);
	/* a new connection carries messages again (the node may be down a
	 * while: a message sent then is dropped, so resend until one
	 * arrives) */
	for (i = 0; i < 30 && atomic_load(&rx.got[0]) == 0; i++) {
		seqs[0] = 0;
		CHECK_OK(send_one(a, p0.s, 0, 500000, 3));
		TU_WAIT(atomic_load(&rx.got[0]) > 0, 2);
	}
	CHECK(atomic_load(&rx.got[0]) > 0);
	CHECK_EQ(atomic_load(&rx.bad), 0);
	DIAG("%s: 2 MiB in fragments to a 1 MiB max_packet: refused, monitor "
	     "fired, 500000 bytes fine after",
	     framing);
	aemp_node_free(b);
	aemp_node_free(a);
	if (tap_failed)
		tu_log_dump();
}

int
main(void)
{
	alarm(170);
	run("[\"cbor\"]", 65536);
	run("[\"json\"]", 65536);
	run("[\"cbor\"]", 0);
	run("[\"json\"]", 0);
	too_big("[\"cbor\"]");
	too_big("[\"json\"]");
	return tap_done();
}
