/*
 * tests/integ/frag_hostile.c - hostile fragments (docs/protocol.md
 * "Extension: large packets in fragments", docs/wire.md "Fragments") from
 * a scripted raw peer (tests/integ/peer.h: the real handshake, then bytes
 * built here) against one aemp node "fh" (2 shards, max_packet and
 * max_queue 1 MiB) whose port "fh#target" compares every message it gets
 * byte for byte with what was sent.  In CBOR and in JSON framing:
 *  1. well-formed: a packet in 4 pieces, each its own write, between two
 *     small packets to the same port; the same with the writes cut inside
 *     a fragment's header, 1 byte into its PIECE and 1 byte before its
 *     end; two streams interleaved (one reusing a finished stream's
 *     number); 8 streams open at once and a ninth once one completed; in
 *     CBOR a packet of exactly max_packet bytes: each arrives once,
 *     intact, in the order it was completed;
 *  2-9. hostile: OFF with a gap, going back, not 0 at a stream's start;
 *     TOTAL changing, a PIECE past TOTAL, an empty PIECE, OFF = TOTAL;
 *     TOTAL above max_packet (and 2^64-1); a ninth stream; open streams
 *     above the held-bytes bound (max_queue); a reassembled packet that
 *     is a fragment, is truncated, has trailing bytes, is not an array;
 *     SID negative or a string, OFF negative, TOTAL a string, 5 and 7
 *     elements, PIECE an integer.  Each: the node closes the connection,
 *     logs the reason, its monitor of the peer fires with
 *     transport_error and that reason, nothing of the packets in flight
 *     nor the message behind the violation (same write) is delivered,
 *     and a fresh peer's packet in 3 pieces then arrives intact;
 *  10. a peer that goes away in the middle of a stream (close, reset,
 *     inside a fragment's bytes): nothing delivered, monitor fired, the
 *     node serves the next peer.
 *
 * aemp-test-timeout: 60
 */
#include <netinet/tcp.h>
#include <signal.h>

#include "tests/integ/peer.h"
#include "tests/integ/procs.h"

#define SECRET "frag-hostile-Kq7vW"
#define MAXP (1u << 20) /* the node's max_packet and max_queue */
#define NSEQ 4096
#define WAIT 10 /* seconds, every bounded wait */

static aemp_node *node;
static char addr[64];
static enum cod_framing fr; /* the framing of the current run */
static int nseq = 1;        /* the next message number */

/* What the target port got, per message number. */
static struct {
	atomic_size_t len[NSEQ]; /* payload bytes sent */
	atomic_int text[NSEQ];   /* payload is text (JSON) */
	atomic_int got[NSEQ];    /* deliveries */
	atomic_int order[NSEQ];  /* message numbers in arrival order */
	atomic_int norder;
	atomic_int bad;
} rx;

/* The payload of message seq: every byte value, or (JSON) ASCII text
 * with the characters JSON escapes among it. */
static void
payload(uint8_t *p, size_t n, int seq, int text)
{
	static const char chars[] = "ab\"\\/\n\x01 zZ09{}[],:";
	uint64_t x = (uint64_t)seq * 0x9e3779b97f4a7c15ull + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = text ? (uint8_t)chars[x % (sizeof(chars) - 1)]
		            : (uint8_t)x;
	}
}

/* The target: [SEQ, DATA, FNV(DATA)], DATA compared byte for byte. */
static int
h_target(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	int64_t seq = -1, sum = -1;
	uint8_t *want;
	size_t len;
	int ok, at;

	(void)n;
	(void)arg;
	if (cnt != 3 || msg[1].type != AEMP_STR ||
	    aemp_get_int(&msg[0], &seq) < 0 || seq <= 0 || seq >= NSEQ ||
	    aemp_get_int(&msg[2], &sum) < 0) {
		tu_logf("target: a message of %zu elements, not ours", cnt);
		atomic_fetch_add(&rx.bad, 1);
		return 0;
	}
	len = atomic_load(&rx.len[seq]);
	want = malloc(len + 1);
	payload(want, len, (int)seq, atomic_load(&rx.text[seq]));
	ok = msg[1].len == len && memcmp(msg[1].u.s, want, len) == 0 &&
	     (uint32_t)sum == tu_fnv(want, len);
	free(want);
	if (!ok) {
		tu_logf("target: message %lld: %u bytes (sent %zu), %s",
		        (long long)seq, msg[1].len, len,
		        msg[1].len == len ? "bytes differ" : "length differs");
		atomic_fetch_add(&rx.bad, 1);
	}
	atomic_fetch_add(&rx.got[seq], 1);
	at = atomic_fetch_add(&rx.norder, 1);
	if (at < NSEQ)
		atomic_store(&rx.order[at], (int)seq);
	return 0;
}

/* ---- building bytes --------------------------------------------------- */

struct wbuf {
	uint8_t *b;
	size_t n, cap;
};

static uint8_t *
wb_room(struct wbuf *w, size_t n)
{
	if (w->n + n > w->cap) {
		w->cap = 2 * (w->n + n) + 4096;
		w->b = realloc(w->b, w->cap);
		AEMP_ASSERT(w->b != NULL);
	}
	return w->b + w->n;
}

static void
wb_put(struct wbuf *w, const void *p, size_t n)
{
	memcpy(wb_room(w, n), p, n);
	w->n += n;
}

/* wb_enc - the packet [name, v[0..nv)] in framing fr appended to w;
 * returns its length. */
static size_t
wb_enc(struct wbuf *w, const char *name, const aemp_val *v, size_t nv)
{
	struct cod_seg seg = {v, nv};
	ssize_t m = cod_encode_packet(fr, NULL, 0, name, strlen(name), &seg, 1);

	AEMP_ASSERT(m > 0);
	m = cod_encode_packet(fr, wb_room(w, (size_t)m), (size_t)m, name,
	                      strlen(name), &seg, 1);
	AEMP_ASSERT(m > 0);
	w->n += (size_t)m;
	return (size_t)m;
}

/* msg - a new message of n payload bytes for the target: its packet in
 * w (appended), its number in *seq (if not NULL); returns the packet's
 * length. */
static size_t
msg(struct wbuf *w, size_t n, int *seq)
{
	int s = nseq++;
	uint8_t *data = malloc(n + 1);
	int text = fr == COD_JSON;
	aemp_val v[3];
	size_t len;

	AEMP_ASSERT(s < NSEQ);
	payload(data, n, s, text);
	atomic_store(&rx.len[s], n);
	atomic_store(&rx.text[s], text);
	v[0] = aemp_int(s);
	v[1] = text ? aemp_strn((const char *)data, n) : aemp_bytes(data, n);
	v[2] = aemp_int(tu_fnv(data, n));
	len = wb_enc(w, "target", v, 3);
	free(data);
	if (seq != NULL)
		*seq = s;
	return len;
}

static aemp_val
piece_val(const uint8_t *p, size_t n)
{
	return fr == COD_CBOR ? aemp_bytes(p, n)
	                      : aemp_strn((const char *)p, n);
}

/* frag - the fragment ["", "aemp_frag", sid, off, total, p[0..n)]
 * appended to w; returns its length. */
static size_t
frag(struct wbuf *w, uint64_t sid, uint64_t off, uint64_t total,
     const uint8_t *p, size_t n)
{
	aemp_val v[5] = {aemp_str("aemp_frag"), aemp_uint(sid), aemp_uint(off),
	                 aemp_uint(total), piece_val(p, n)};

	return wb_enc(w, "", v, 5);
}

/* frag_v - ["", "aemp_frag", v[0..nv)] appended to w (any kinds). */
static void
frag_v(struct wbuf *w, const aemp_val *v, size_t nv)
{
	aemp_val a[8];

	AEMP_ASSERT(nv < 8);
	a[0] = aemp_str("aemp_frag");
	memcpy(a + 1, v, nv * sizeof(*v));
	wb_enc(w, "", a, nv + 1);
}

/* piece_at - where a fragment's PIECE bytes start in its encoding of len
 * bytes (n PIECE bytes): CBOR copies them at the end; JSON text starts
 * after the string's quote (as with an empty PIECE, `""]`). */
static size_t
piece_at(uint64_t sid, uint64_t off, uint64_t total, size_t n, size_t len)
{
	struct wbuf t = {0};
	size_t k;

	if (fr == COD_CBOR)
		return len - n;
	k = frag(&t, sid, off, total, (const uint8_t *)"", 0) - 2;
	free(t.b);
	return k;
}

/* pieces - fragments of the packet pkt (n bytes), stream sid, cut at
 * cuts[0..k) (ascending, inside the packet), appended to w; the start of
 * each fragment in w into at[] (k + 2 entries: the last is the end). */
static void
pieces(struct wbuf *w, uint64_t sid, const uint8_t *pkt, size_t n,
       const size_t *cuts, int k, size_t *at)
{
	size_t from = 0, to;
	int i;

	for (i = 0; i <= k; i++) {
		to = i < k ? cuts[i] : n;
		if (at != NULL)
			at[i] = w->n;
		frag(w, sid, from, n, pkt + from, to - from);
		from = to;
	}
	if (at != NULL)
		at[k + 1] = w->n;
}

/* ---- peers ------------------------------------------------------------ */

static int
connect_peer(struct peer *p, const char *id)
{
	int one = 1;

	memset(p, 0, sizeof(*p));
	p->cbor = fr == COD_CBOR;
	if (peer_connect_opts(p, addr, id, SECRET) < 0)
		return -1;
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return p->send_f == fr ? 0 : -1;
}

/* send_cut - w's bytes in separate writes, cut at cuts[0..k), a pause
 * between them so they tend to arrive in separate reads. */
static int
send_cut(struct peer *p, const struct wbuf *w, const size_t *cuts, int k)
{
	size_t from = 0, to;
	int i;

	for (i = 0; i <= k; i++) {
		to = i < k ? cuts[i] : w->n;
		if (to > from && peer_write(p, w->b + from, to - from) < 0)
			return -1;
		if (i < k)
			usleep(20000);
		from = to;
	}
	return 0;
}

static int
all_got(const int *seqs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (atomic_load(&rx.got[seqs[i]]) == 0)
			return 0;
	return 1;
}

/* arrived - 1 once messages seqs[0..n) have each come once, in this
 * order relative to each other (all go to one port), within WAIT. */
static int
arrived(const int *seqs, int n)
{
	int i, j, last = -1;

	if (!TU_WAIT(all_got(seqs, n), WAIT))
		return 0;
	for (i = 0; i < n; i++) {
		if (atomic_load(&rx.got[seqs[i]]) != 1)
			return 0;
		for (j = 0; j < atomic_load(&rx.norder) && j < NSEQ; j++)
			if (atomic_load(&rx.order[j]) == seqs[i])
				break;
		if (j <= last) {
			printf("# message %d arrived before message %d\n",
			       seqs[i], seqs[i - 1]);
			return 0;
		}
		last = j;
	}
	return 1;
}

static const char *
fname(void)
{
	return fr == COD_CBOR ? "cbor" : "json";
}

/* good_peer - a fresh well-behaved peer: a packet of 150000 bytes in
 * three pieces, each its own write, arrives intact. */
static void
good_peer(void)
{
	static int ng;
	size_t cuts[2] = {40000, 100000}, at[4];
	struct wbuf pkt = {0}, w = {0};
	struct peer p;
	char id[32];
	int seq;

	snprintf(id, sizeof(id), "good%d%s", ng++, fname());
	if (connect_peer(&p, id) < 0) {
		CHECK(!"a fresh peer connects");
		peer_close(&p);
		return;
	}
	msg(&pkt, 150000, &seq);
	pieces(&w, 0, pkt.b, pkt.n, cuts, 2, at);
	CHECK_OK(send_cut(&p, &w, at + 1, 2));
	CHECK(arrived(&seq, 1));
	peer_close(&p);
	free(pkt.b);
	free(w.b);
}

/* ---- 1. well-formed ----------------------------------------------------- */

static void
well_formed(void)
{
	struct wbuf w = {0}, big = {0}, b2 = {0};
	size_t cuts[16], at[18];
	int s[12], i;
	struct peer p;
	char id[32];

	snprintf(id, sizeof(id), "well%s", fname());
	if (connect_peer(&p, id) < 0) {
		CHECK(!"the well-formed peer connects");
		peer_close(&p);
		return;
	}
	/* small, 4 pieces (one of 1 byte) in writes of their own, small */
	msg(&w, 10, &s[0]);
	msg(&big, 300000, &s[1]);
	cuts[0] = w.n;
	cuts[1] = 70000;
	cuts[2] = 70001;
	cuts[3] = 200000;
	pieces(&w, 5, big.b, big.n, cuts + 1, 3, at);
	for (i = 0; i < 4; i++)
		cuts[i + 1] = at[i + 1];
	msg(&w, 20, &s[2]);
	CHECK_OK(send_cut(&p, &w, cuts, 5));
	CHECK(arrived(s, 3));
	DIAG("%s: small, 300000 bytes in 4 pieces, small: in order, intact",
	     fname());

	/* awkward cuts: inside a header, 1 byte into a PIECE, 1 byte before
	 * a fragment's end; stream 2^64-1 */
	w.n = big.n = 0;
	msg(&w, 30, &s[0]);
	msg(&big, 200000, &s[1]);
	cuts[0] = 65536;
	cuts[1] = 131072;
	pieces(&w, UINT64_MAX, big.b, big.n, cuts, 2, at);
	msg(&w, 40, &s[2]);
	cuts[0] = at[0] + 3;
	cuts[1] = at[1] +
	          piece_at(UINT64_MAX, 65536, big.n, 65536, at[2] - at[1]) + 1;
	cuts[2] = at[3] - 1;
	CHECK_OK(send_cut(&p, &w, cuts, 3));
	CHECK(arrived(s, 3));
	DIAG("%s: writes cut inside a header, 1 byte into a PIECE, 1 byte "
	     "before a fragment's end: in order, intact",
	     fname());

	/* two streams interleaved, stream 5 used again: A0 B0 A1 B1 A2 B2 */
	w.n = big.n = 0;
	msg(&big, 90000, &s[0]);
	msg(&b2, 120000, &s[1]);
	for (i = 0; i < 3; i++) {
		frag(&w, 5, (size_t)i * 30000, big.n, big.b + i * 30000,
		     i < 2 ? 30000 : big.n - 60000);
		frag(&w, 6, (size_t)i * 40000, b2.n, b2.b + i * 40000,
		     i < 2 ? 40000 : b2.n - 80000);
	}
	CHECK_OK(peer_write(&p, w.b, w.n));
	CHECK(arrived(s, 2));

	/* 8 streams open at once; the first completes, a ninth opens, the
	 * rest complete last to first, the ninth last */
	{
		struct wbuf m[9] = {{0}};
		int want[9];

		w.n = 0;
		for (i = 0; i < 9; i++)
			msg(&m[i], 5000 + (size_t)i, &s[i]);
		for (i = 0; i < 8; i++)
			frag(&w, 10 + (uint64_t)i, 0, m[i].n, m[i].b, 1000);
		frag(&w, 10, 1000, m[0].n, m[0].b + 1000, m[0].n - 1000);
		frag(&w, 18, 0, m[8].n, m[8].b, 1000);
		for (i = 7; i >= 1; i--)
			frag(&w, 10 + (uint64_t)i, 1000, m[i].n, m[i].b + 1000,
			     m[i].n - 1000);
		frag(&w, 18, 1000, m[8].n, m[8].b + 1000, m[8].n - 1000);
		CHECK_OK(peer_write(&p, w.b, w.n));
		want[0] = s[0];
		for (i = 1; i < 8; i++)
			want[i] = s[8 - i];
		want[8] = s[8];
		CHECK(arrived(want, 9));
		for (i = 0; i < 9; i++)
			free(m[i].b);
	}
	DIAG("%s: two streams interleaved, 8 open at once and a ninth "
	     "after one completed: all intact, in completion order",
	     fname());

	/* exactly max_packet bytes (CBOR: no escapes, the size is exact) */
	if (fr == COD_CBOR) {
		size_t n = MAXP - 64;

		/* the lengths of SEQ and FNV vary: a few rounds */
		for (i = 0; i < 8 && big.n != MAXP; i++) {
			big.n = 0;
			msg(&big, n, &s[0]);
			n = n + MAXP - big.n;
			if (big.n != MAXP)
				nseq--;
		}
		CHECK_EQ(big.n, (size_t)MAXP);
		for (i = 0; i < 15; i++)
			cuts[i] = (size_t)(i + 1) * 65536;
		w.n = 0;
		pieces(&w, 7, big.b, big.n, cuts, 15, NULL);
		CHECK_OK(peer_write(&p, w.b, w.n));
		CHECK(arrived(s, 1));
		DIAG("cbor: a packet of exactly max_packet (%u) bytes in 16 "
		     "pieces: intact",
		     MAXP);
	}
	peer_close(&p);
	free(w.b);
	free(big.b);
	free(b2.b);
}

/* ---- 2-9. hostile ----------------------------------------------------- */

/* victim - a message of n bytes for the target (it must never arrive):
 * its packet into v (reset first). */
static void
victim(struct wbuf *v, size_t n)
{
	v->n = 0;
	msg(v, n, NULL);
}

static void
c_gap(struct wbuf *w, struct wbuf *v)
{
	victim(v, 30000);
	frag(w, 1, 0, v->n, v->b, 10000);
	frag(w, 1, 10001, v->n, v->b + 10001, 10000);
}

static void
c_back(struct wbuf *w, struct wbuf *v)
{
	victim(v, 30000);
	frag(w, 1, 0, v->n, v->b, 10000);
	frag(w, 1, 10000, v->n, v->b + 10000, 10000);
	frag(w, 1, 15000, v->n, v->b + 15000, v->n - 15000);
}

static void
c_first_off(struct wbuf *w, struct wbuf *v)
{
	victim(v, 30000);
	frag(w, 1, 100, v->n, v->b + 100, 1000);
}

static void
c_total_change(struct wbuf *w, struct wbuf *v)
{
	victim(v, 30000);
	frag(w, 1, 0, v->n, v->b, 10000);
	frag(w, 1, 10000, v->n + 1, v->b + 10000, 10000);
}

static void
c_piece_long(struct wbuf *w, struct wbuf *v)
{
	victim(v, 30000);
	frag(w, 1, 0, v->n, v->b, 10000);
	wb_room(v, 1)[0] = 'x';
	frag(w, 1, 10000, v->n, v->b + 10000, v->n - 10000 + 1);
}

static void
c_piece_empty(struct wbuf *w, struct wbuf *v)
{
	victim(v, 30000);
	frag(w, 1, 0, v->n, v->b, 10000);
	frag(w, 1, 10000, v->n, v->b + 10000, 0);
}

static void
c_off_total(struct wbuf *w, struct wbuf *v)
{
	victim(v, 30000);
	frag(w, 1, 0, v->n, v->b, 10000);
	frag(w, 1, v->n, v->n, v->b + 10000, 1);
}

static void
c_too_big(struct wbuf *w, struct wbuf *v)
{
	victim(v, 30000);
	frag(w, 1, 0, MAXP + 1, v->b, 10000);
}

static void
c_too_big_max(struct wbuf *w, struct wbuf *v)
{
	victim(v, 30000);
	frag(w, 1, 0, UINT64_MAX, v->b, 10000);
}

static void
c_nine(struct wbuf *w, struct wbuf *v)
{
	int i;

	for (i = 0; i < 9; i++) {
		victim(v, 3000);
		frag(w, 20 + (uint64_t)i, 0, v->n, v->b, 500);
	}
}

static void
c_held(struct wbuf *w, struct wbuf *v)
{
	victim(v, 600000);
	frag(w, 30, 0, v->n, v->b, 1000);
	victim(v, 600000);
	frag(w, 31, 0, v->n, v->b, 1000);
}

/* a fragment in a fragment: the inner one complete, carrying a message */
static void
c_nested(struct wbuf *w, struct wbuf *v)
{
	struct wbuf in = {0};

	victim(v, 1000);
	frag(&in, 9, 0, v->n, v->b, v->n);
	frag(w, 2, 0, in.n, in.b, in.n / 2);
	frag(w, 2, in.n / 2, in.n, in.b + in.n / 2, in.n - in.n / 2);
	free(in.b);
}

static void
c_truncated(struct wbuf *w, struct wbuf *v)
{
	victim(v, 20000);
	frag(w, 3, 0, v->n - 1, v->b, 10000);
	frag(w, 3, 10000, v->n - 1, v->b + 10000, v->n - 1 - 10000);
}

static void
c_trailing(struct wbuf *w, struct wbuf *v)
{
	victim(v, 20000);
	wb_put(v, fr == COD_CBOR ? "\x80" : "[]", fr == COD_CBOR ? 1 : 2);
	frag(w, 3, 0, v->n, v->b, 10000);
	frag(w, 3, 10000, v->n, v->b + 10000, v->n - 10000);
}

static void
c_not_array(struct wbuf *w, struct wbuf *v)
{
	/* CBOR: the text string "aaaa"; JSON: a number */
	v->n = 0;
	wb_put(v,
	       fr == COD_CBOR ? "\x64"
	                        "aaaa"
	                      : "12345",
	       5);
	frag(w, 3, 0, 5, v->b, 2);
	frag(w, 3, 2, 5, v->b + 2, 3);
}

/* wrong kinds: a valid first piece of stream 1, then the bad one */
static void
kinds(struct wbuf *w, struct wbuf *v, const aemp_val *bad, size_t n)
{
	victim(v, 30000);
	frag(w, 1, 0, v->n, v->b, 10000);
	frag_v(w, bad, n);
}

#define KIND(name, ...)                                                        \
	static void name(struct wbuf *w, struct wbuf *v)                       \
	{                                                                      \
		const aemp_val k_[] = {__VA_ARGS__};                           \
		kinds(w, v, k_, AEMP_ARRAY_LEN(k_));                           \
	}

KIND(c_sid_neg, aemp_int(-1), aemp_int(0), aemp_int(100), aemp_strn("abcd", 4))
KIND(c_sid_str, aemp_str("1"), aemp_int(0), aemp_int(100), aemp_strn("abcd", 4))
KIND(c_off_neg, aemp_int(4), aemp_int(-10), aemp_int(100), aemp_strn("abcd", 4))
KIND(c_total_str, aemp_int(4), aemp_int(0), aemp_str("100"),
     aemp_strn("abcd", 4))
KIND(c_seven, aemp_int(4), aemp_int(0), aemp_int(100), aemp_strn("abcd", 4),
     aemp_int(0))
KIND(c_five, aemp_int(4), aemp_int(0), aemp_int(100))
KIND(c_piece_int, aemp_int(4), aemp_int(0), aemp_int(100), aemp_int(1234))

#define MALF "malformed packet or value"

static const struct hcase {
	const char *what;
	void (*script)(struct wbuf *w, struct wbuf *v);
	const char *why; /* in the log line and the monitor's reason */
} cases[] = {
        {"OFF skips a byte", c_gap, "fragment of stream 1: " MALF},
        {"OFF goes back", c_back, "fragment of stream 1: " MALF},
        {"first OFF not 0", c_first_off, "fragment of stream 1: " MALF},
        {"TOTAL changes", c_total_change, "fragment of stream 1: " MALF},
        {"PIECE past TOTAL", c_piece_long, "malformed fragment"},
        {"empty PIECE", c_piece_empty, "malformed fragment"},
        {"OFF = TOTAL", c_off_total, "malformed fragment"},
        {"TOTAL max_packet + 1", c_too_big,
         "fragment of stream 1: packet or value too large"},
        {"TOTAL 2^64-1", c_too_big_max,
         "fragment of stream 1: packet or value too large"},
        {"nine streams", c_nine,
         "fragment of stream 28: reassembly above the limits"},
        {"2 x 600000 bytes open", c_held,
         "fragment of stream 31: reassembly above the limits"},
        {"a fragment in a fragment", c_nested,
         "reassembled packet of stream 2: " MALF},
        {"reassembled truncated", c_truncated,
         "reassembled packet of stream 3: " MALF},
        {"reassembled with trailing bytes", c_trailing,
         "reassembled packet of stream 3: " MALF},
        {"reassembled not an array", c_not_array,
         "reassembled packet of stream 3: " MALF},
        {"SID -1", c_sid_neg, "malformed fragment"},
        {"SID a string", c_sid_str, "malformed fragment"},
        {"OFF -10", c_off_neg, "malformed fragment"},
        {"TOTAL a string", c_total_str, "malformed fragment"},
        {"7 elements", c_seven, "malformed fragment"},
        {"5 elements", c_five, "malformed fragment"},
        {"PIECE an integer", c_piece_int, "malformed fragment"},
};

static struct mon {
	atomic_int fired;
	char why[1024];
} mons[2 * AEMP_ARRAY_LEN(cases) + 8];
static int nmon;

static void
on_mon(aemp_node *n, const aemp_val *reason, size_t cnt, void *arg)
{
	struct mon *m = arg;
	aemp_val a = aemp_array(reason, cnt);

	(void)n;
	if (aemp_json_format(&a, m->why, sizeof(m->why)) < 0)
		snprintf(m->why, sizeof(m->why), "<unformattable>");
	atomic_fetch_add(&m->fired, 1);
}

static void
noop(aemp_node *n, void *arg)
{
	(void)n;
	(void)arg;
}

/* watch - a monitor of peer id on the node, in place when this returns
 * (one thread's calls to a shard run in order: a no-op on every shard
 * behind it). */
static struct mon *
watch(const char *id)
{
	struct mon *m = &mons[nmon++];

	AEMP_ASSERT(nmon <= (int)AEMP_ARRAY_LEN(mons));
	CHECK(TU_WAIT(aemp_node_is_up(node, id) == 1, WAIT));
	CHECK_OK(aemp_mon(node, id, on_mon, m, NULL));
	for (int i = 0; i < 2; i++)
		CHECK_OK(tu_run(node, i, noop, NULL));
	return m;
}

/* hostile - peer "h<N>": a message that arrives, then in one write the
 * case's bytes and a message behind them. */
static void
hostile(const struct hcase *hc)
{
	static int nh;
	struct wbuf w = {0}, v = {0};
	struct peer p;
	struct mon *m;
	char id[32], line[600];
	int sent, s0, s1, i, leaked = 0;

	snprintf(id, sizeof(id), "h%d%s", nh++, fname());
	if (connect_peer(&p, id) < 0) {
		CHECK(!"the hostile peer connects");
		peer_close(&p);
		return;
	}
	m = watch(id);
	msg(&w, 100, &sent);
	CHECK_OK(peer_write(&p, w.b, w.n));
	CHECK(arrived(&sent, 1));
	w.n = 0;
	s0 = nseq;
	hc->script(&w, &v);
	msg(&w, 50, NULL); /* behind the violation */
	s1 = nseq;
	(void)peer_write(&p, w.b, w.n); /* may fail: the node closed */
	CHECK(peer_closed(&p, WAIT));
	CHECK(TU_WAIT(atomic_load(&m->fired) == 1, WAIT));
	snprintf(line, sizeof(line), " to %s: %s", id, hc->why);
	CHECK(TU_WAIT(tu_capture_has(line), WAIT));
	CHECK(strstr(m->why, "transport_error") != NULL &&
	      strstr(m->why, hc->why) != NULL);
	if (strstr(m->why, hc->why) == NULL)
		DIAG("monitor reason %s", m->why);
	peer_close(&p);
	good_peer();
	for (i = s0; i < s1; i++)
		leaked += atomic_load(&rx.got[i]);
	CHECK_EQ(leaked, 0);
	CHECK_EQ(atomic_load(&rx.bad), 0);
	DIAG("%s: %s: closed (\"%s\"), none of %d messages delivered", fname(),
	     hc->what, hc->why, s1 - s0);
	free(w.b);
	free(v.b);
}

/* ---- 10. a peer gone in the middle of a stream ----------------------- */

/* how: 0 close, 1 reset, 2 close inside a fragment's bytes */
static void
gone(int how)
{
	static const char *const hows[] = {"closes", "resets",
	                                   "closes inside a fragment"};
	struct wbuf w = {0}, big = {0};
	struct peer p;
	struct mon *m;
	char id[32];
	int seq, probe;

	snprintf(id, sizeof(id), "gone%d%s", how, fname());
	if (connect_peer(&p, id) < 0) {
		CHECK(!"the vanishing peer connects");
		peer_close(&p);
		return;
	}
	m = watch(id);
	msg(&big, 200000, &seq);
	frag(&w, 4, 0, big.n, big.b, 60000);
	CHECK_OK(peer_write(&p, w.b, w.n));
	w.n = 0;
	frag(&w, 4, 60000, big.n, big.b + 60000, 60000);
	msg(&w, 10, &probe); /* arrives: the node has the pieces */
	CHECK_OK(peer_write(&p, w.b, w.n));
	CHECK(arrived(&probe, 1));
	if (how == 2) {
		w.n = 0;
		frag(&w, 4, 120000, big.n, big.b + 120000, big.n - 120000);
		CHECK_OK(peer_write(&p, w.b, w.n / 2));
	}
	if (how == 1) {
		struct linger lg = {1, 0};

		setsockopt(p.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	peer_close(&p);
	CHECK(TU_WAIT(atomic_load(&m->fired) == 1, WAIT));
	CHECK(strstr(m->why, "transport_error") != NULL);
	good_peer();
	CHECK_EQ(atomic_load(&rx.got[seq]), 0);
	CHECK_EQ(atomic_load(&rx.bad), 0);
	DIAG("%s: a peer that %s after 2 of 3 pieces: nothing delivered, "
	     "monitor fired %s",
	     fname(), hows[how], m->why);
	free(w.b);
	free(big.b);
}

int
main(void)
{
	char conf[512];
	size_t i;

	alarm(55);
	signal(SIGPIPE, SIG_IGN);
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"" SECRET "\","
	         "\"shards\":2,\"max_packet\":%u,\"max_queue\":%u,"
	         "\"fragment_size\":65536}",
	         MAXP, MAXP);
	node = tu_node_json("fh", conf);
	CHECK_OK(aemp_set_log(node, AEMP_LOG_NOTE, tu_capture_sink, NULL));
	CHECK_OK(aemp_rcv(node, "fh#target", h_target, NULL));
	tu_start(node);
	proc_first_addr(node, addr, sizeof(addr));
	for (int f = 0; f < 2; f++) {
		fr = f == 0 ? COD_CBOR : COD_JSON;
		well_formed();
		for (i = 0; i < AEMP_ARRAY_LEN(cases); i++)
			hostile(&cases[i]);
		for (int how = 0; how < 3; how++)
			gone(how);
	}
	aemp_node_free(node);
	if (tap_failed) {
		printf("# node log:\n%s", tu_capture.buf);
		tu_log_dump();
	}
	return tap_done();
}
