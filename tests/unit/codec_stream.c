/* tests/unit/codec_stream.c - packet streams (codec/stream.c): the same
 * packets come out however the bytes are split, and every bound holds.
 * aemp-test-timeout: 120 */
#include <time.h>

#include "codec/codec.h"
#include "ring/base.h"
#include "tests/tap.h"
#include "tests/unit/codec_util.h"

#define MAXPKT 64

struct coll {
	aemp_val *v[MAXPKT];
	uint8_t *raw[MAXPKT];
	size_t rawlen[MAXPKT];
	size_t n;
	int stop_at;  /* return 7 from this callback (1-based), 0: never */
	int zerocopy; /* strings of directly decoded packets lie in raw */
};

static struct cod_tape tape;

static int
collect(void *arg, const aemp_val *pkt, const uint8_t *raw, size_t rawlen)
{
	struct coll *c = arg;

	if (c->n == MAXPKT)
		return -1;
	c->v[c->n] = aemp_val_dup(pkt);
	c->raw[c->n] = cu_pad(raw, rawlen);
	c->rawlen[c->n] = rawlen;
	if (pkt->len > 1 && pkt->u.a[1].type == AEMP_STR &&
	    pkt->u.a[1].len > 0 &&
	    (pkt->u.a[1].u.s < (const char *)raw ||
	     pkt->u.a[1].u.s >= (const char *)raw + rawlen))
		c->zerocopy = 0;
	c->n++;
	return c->stop_at == (int)c->n ? 7 : 0;
}

static void
coll_free(struct coll *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		aemp_val_free(c->v[i]);
		free(c->raw[i]);
	}
	memset(c, 0, sizeof(*c));
}

/* 1 if two collections hold the same packets with the same bytes. */
static int
coll_same(const struct coll *a, const struct coll *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++) {
		if (!aemp_val_eq(a->v[i], b->v[i]) ||
		    a->rawlen[i] != b->rawlen[i] ||
		    memcmp(a->raw[i], b->raw[i], a->rawlen[i]) != 0)
			return 0;
	}
	return 1;
}

/* Feeds p[0..n) as pieces starting at the offsets cut[0..ncut) (sorted,
 * cut[0] == 0); each piece is a padded copy whose padding is hostile. */
static int
feed_cuts(struct cod_stream *s, const uint8_t *p, size_t n, const size_t *cut,
          size_t ncut, struct coll *c)
{
	size_t i, a, b;
	uint8_t *piece;
	int rc = 0;

	for (i = 0; i < ncut && rc == 0; i++) {
		a = cut[i];
		b = i + 1 < ncut ? cut[i + 1] : n;
		piece = malloc(b - a + COD_PADDING);
		memcpy(piece, p + a, b - a);
		memset(piece + (b - a), ']', COD_PADDING);
		piece[b - a] = '"';
		rc = cod_stream_feed(s, &tape, piece, b - a, collect, c);
		free(piece);
	}
	return rc;
}

static int
feed_all(enum cod_framing f, size_t max, const uint8_t *p, size_t n,
         struct coll *c)
{
	struct cod_stream s;
	size_t cut = 0;
	int rc;

	cod_stream_init(&s, f, max);
	rc = feed_cuts(&s, p, n, &cut, 1, c);
	cod_stream_fini(&s);
	return rc;
}

static size_t
test_packets(aemp_val *out)
{
	static char big[3000];
	static aemp_val kv[] = {{AEMP_STR, 0, 0, 1, {.s = "k"}},
	                        {AEMP_INT, 0, 0, 0, {.i = -70000}},
	                        {AEMP_STR, 0, 0, 5, {.s = "nest\""}},
	                        {AEMP_NULL, 0, 0, 0, {0}}};
	static aemp_val e[][4] = {
	        {{AEMP_STR, 0, 0, 4, {.s = "ping"}},
	         {AEMP_INT, 0, 0, 0, {.i = 7}}},
	        {{AEMP_STR, 0, 0, 0, {.s = ""}},
	         {AEMP_STR, 0, 0, 1, {.s = "x"}}},
	        {{AEMP_STR, 0, 0, 3, {.s = "a]["}},
	         {AEMP_FLOAT, 0, 0, 0, {.f = 2.5}},
	         {AEMP_MAP, 0, 0, 2, {.a = kv}},
	         {AEMP_BOOL, 0, 0, 0, {.i = 1}}},
	        {{AEMP_STR, 0, 0, 6, {.s = "q\\\"}{"}},
	         {AEMP_STR, 0, 0, sizeof(big), {.s = big}}},
	};
	size_t i = 0;

	memset(big, 'b', sizeof(big));
	out[i++] = aemp_array(e[0], 2);
	out[i++] = aemp_array(NULL, 0);
	out[i++] = aemp_array(e[1], 2);
	out[i++] = aemp_array(e[2], 4);
	out[i++] = aemp_array(e[3], 2);
	out[i++] = aemp_array(e[0], 2);
	return i;
}

/* The test stream: every test packet, JSON with whitespace between. */
static uint8_t *
test_stream(enum cod_framing f, size_t *len)
{
	static const char *ws[] = {"", "\n", " \r\n\t ", "", "  ", ""};
	aemp_val pk[8];
	size_t n = test_packets(pk), i, at = 0;
	uint8_t *b = malloc(1 << 16);
	ssize_t r;

	for (i = 0; i < n; i++) {
		if (f == COD_JSON) {
			memcpy(b + at, ws[i], strlen(ws[i]));
			at += strlen(ws[i]);
		}
		r = cod_encode_value(f, b + at, (1 << 16) - at, &pk[i]);
		if (r < 0)
			abort();
		at += (size_t)r;
	}
	*len = at;
	return b;
}

static void
test_splits(enum cod_framing f)
{
	struct coll ref = {0}, c = {0};
	aemp_val pk[8];
	size_t n, np = test_packets(pk), k, cuts[2] = {0, 0}, *ones, i;
	uint8_t *b = test_stream(f, &n);
	struct cod_stream s;
	int ok = 1, rc;

	ref.zerocopy = 1;
	CHECK_OK(feed_all(f, 1 << 20, b, n, &ref));
	CHECK_EQ(ref.n, np);
	CHECK_EQ(ref.zerocopy, 1);
	for (i = 0; i < ref.n && i < np; i++)
		CHECK_EQ(aemp_val_eq(ref.v[i], &pk[i]), 1);
	for (k = 1; k < n && ok; k++) {
		cuts[1] = k;
		cod_stream_init(&s, f, 1 << 20);
		rc = feed_cuts(&s, b, n, cuts, 2, &c);
		ok = rc == 0 && coll_same(&ref, &c) &&
		     cod_stream_pending(&s) == 0;
		if (!ok)
			DIAG("split at %zu of %zu: rc %d, %zu packets", k, n,
			     rc, c.n);
		cod_stream_fini(&s);
		coll_free(&c);
	}
	CHECK(ok);
	ones = calloc(n + 1, sizeof(*ones));
	for (i = 0; i < n; i++)
		ones[i] = i;
	cod_stream_init(&s, f, 1 << 20);
	CHECK_OK(feed_cuts(&s, b, n, ones, n, &c));
	CHECK(coll_same(&ref, &c));
	cod_stream_fini(&s);
	coll_free(&c);
	/* pieces of pseudo-random sizes 1..97 */
	k = 0;
	i = 0;
	while (i < n) {
		ones[k++] = i;
		i += 1 + (i * 7919 + 13) % 97;
	}
	cod_stream_init(&s, f, 1 << 20);
	CHECK_OK(feed_cuts(&s, b, n, ones, k, &c));
	CHECK(coll_same(&ref, &c));
	cod_stream_fini(&s);
	coll_free(&c);
	coll_free(&ref);
	free(ones);
	free(b);
}

/* ---- cod_keep_fn: a partial packet taken over by its consumer ------- */

/* The consumer of one kind of packet (those starting with `head`), as
 * engine/net/connrx.c is of fragments: it takes such a packet's start
 * from the stream, then its remaining bytes straight from the pieces
 * (`left`), and hands the packet on when complete, in stream order. */
struct keeper {
	const uint8_t *head; /* the taken packets start with these 8 bytes */
	size_t plen;         /* ... and are this long */
	uint8_t buf[1 << 13];
	size_t got, left;
	int taken; /* packets taken over */
	struct coll *c;
};

static void
keeper_done(struct keeper *k)
{
	const aemp_val *pkt;
	uint8_t *p = cu_pad(k->buf, k->got);

	if (cod_decode(COD_CBOR, &tape, p, k->got, &pkt) == 0)
		collect(k->c, pkt, p, k->got);
	free(p);
	k->taken++;
}

static int
keeper_keep(void *arg, const uint8_t *p, size_t n, size_t *taken)
{
	struct keeper *k = arg;

	if (n < 8 || memcmp(p, k->head, 8) != 0 || n >= k->plen)
		return 0;
	memcpy(k->buf, p, n);
	k->got = n;
	k->left = k->plen - n;
	*taken = n;
	return 0;
}

/* As feed_cuts, with the keeper's bytes going to it first. */
static int
feed_cuts_keep(struct cod_stream *s, struct keeper *k, const uint8_t *p,
               size_t n, const size_t *cut, size_t ncut)
{
	size_t i, a, b, m;
	uint8_t *piece;
	int rc = 0;

	for (i = 0; i < ncut && rc == 0; i++) {
		a = cut[i];
		b = i + 1 < ncut ? cut[i + 1] : n;
		m = AEMP_MIN(k->left, b - a);
		memcpy(k->buf + k->got, p + a, m);
		k->got += m;
		k->left -= m;
		if (m > 0 && k->left == 0)
			keeper_done(k);
		a += m;
		if (a == b)
			continue;
		piece = malloc(b - a + COD_PADDING);
		memcpy(piece, p + a, b - a);
		memset(piece + (b - a), ']', COD_PADDING);
		rc = cod_stream_feed(s, &tape, piece, b - a, collect, k->c);
		free(piece);
	}
	return rc;
}

/* Split anywhere: the packets come out the same and in order, the big
 * one through the keeper whenever it does not end in its piece, through
 * the stream when it does. */
static void
test_keep(void)
{
	struct coll ref = {0}, c = {0};
	struct keeper k;
	size_t n, kk, cuts[2] = {0, 0}, i, at = 0, big = 0;
	uint8_t *b = test_stream(COD_CBOR, &n);
	struct cod_stream s;
	int ok = 1, rc, takes = 0;

	CHECK_OK(feed_all(COD_CBOR, 1 << 20, b, n, &ref));
	for (i = 0; i < ref.n; i++) { /* the biggest packet is the kept kind */
		if (ref.rawlen[i] > ref.rawlen[big])
			big = i;
	}
	for (i = 0; i < big; i++)
		at += ref.rawlen[i];
	for (kk = 1; kk < n && ok; kk++) {
		memset(&k, 0, sizeof(k));
		k.head = b + at;
		k.plen = ref.rawlen[big];
		k.c = &c;
		cuts[1] = kk;
		cod_stream_init(&s, COD_CBOR, 1 << 20);
		s.keep = keeper_keep;
		s.keep_arg = &k;
		rc = feed_cuts_keep(&s, &k, b, n, cuts, 2);
		ok = rc == 0 && coll_same(&ref, &c) &&
		     cod_stream_pending(&s) == 0 && k.left == 0;
		takes += k.taken;
		if (!ok)
			DIAG("keep, split at %zu of %zu: rc %d, %zu packets, "
			     "%d taken",
			     kk, n, rc, c.n, k.taken);
		cod_stream_fini(&s);
		coll_free(&c);
	}
	CHECK(ok);
	/* taken whenever the split falls inside it, its first 8 bytes in */
	CHECK_EQ((size_t)takes, ref.rawlen[big] - 8);
	coll_free(&ref);
	free(b);
}

/* Feeds text 1 byte at a time; returns the first non-zero result, and
 * the number of bytes fed until then in *at. */
static int
feed_bytes(enum cod_framing f, size_t max, const uint8_t *p, size_t n,
           size_t *at, size_t *maxpend)
{
	struct cod_stream s;
	struct coll c = {0};
	size_t i, cut;
	int rc = 0;

	*maxpend = 0;
	cod_stream_init(&s, f, max);
	for (i = 0; i < n && rc == 0; i++) {
		cut = 0;
		rc = feed_cuts(&s, p + i, 1, &cut, 1, &c);
		*maxpend = AEMP_MAX(*maxpend, cod_stream_pending(&s));
	}
	*at = i;
	cod_stream_fini(&s);
	coll_free(&c);
	return rc;
}

/* Whole-piece and byte-by-byte results of feeding text. */
static void
check_err(enum cod_framing f, size_t max, const void *p, size_t n, int err,
          size_t ngood)
{
	struct coll c = {0};
	size_t at, pend;

	CHECK_ERR(feed_all(f, max, p, n, &c), err);
	CHECK_EQ(c.n, ngood); /* the packets in front still came out */
	coll_free(&c);
	CHECK_ERR(feed_bytes(f, max, p, n, &at, &pend), err);
	CHECK(pend <= max);
}

static void
test_json_errors(void)
{
	char *b = malloc(4 * AEMP_MAX_DEPTH + 16);
	size_t i, at, pend;

	check_err(COD_JSON, 1000, "[1] [2]\nx", 9, AEMP_EMALFORMED, 2);
	check_err(COD_JSON, 1000, "[1]{}", 5, AEMP_EMALFORMED, 1);
	check_err(COD_JSON, 1000, "\"a\"", 3, AEMP_EMALFORMED, 0);
	check_err(COD_JSON, 1000, "[1,]", 4, AEMP_EMALFORMED, 0);
	check_err(COD_JSON, 1000, "[1][2,][3]", 10, AEMP_EMALFORMED, 1);
	check_err(COD_JSON, 1000, "[\"\xff\"]", 5, AEMP_EMALFORMED, 0);
	check_err(COD_JSON, 1000, "[1]]", 4, AEMP_EMALFORMED, 1);
	/* found by fuzzing: malformed packets inside a run of good ones,
	 * and scanners that must agree on where a bad packet ends */
	check_err(COD_JSON, 1000, "[1][2][\"x\"}[1]", 14, AEMP_EMALFORMED, 2);
	check_err(COD_JSON, 1000, "[1]\n[\"\",\"a\"2.5,{}]]", 19,
	          AEMP_EMALFORMED, 1);
	check_err(COD_JSON, 1000, "[1][{]}][2]", 11, AEMP_EMALFORMED, 1);
	/* a bad last packet of a run followed by ',' or ']' */
	check_err(COD_JSON, 1000, "[1]\n[\"g_,\"22,,3],\"x\":1}]]", 25,
	          AEMP_EMALFORMED, 1);
	check_err(COD_JSON, 1000, "[1][2][1,,2],", 13, AEMP_EMALFORMED, 2);
	check_err(COD_JSON, 1000, "[1][2][1 2]]", 12, AEMP_EMALFORMED, 2);
	/* a backslash escapes the next byte even outside strings: here the
	 * packet after [1] is still open */
	check_err(COD_JSON, 1000, "[1][\\][2]", 9, 0, 1);
	check_err(COD_JSON, 1000, "[1][\"\xd7\x38\"][2]", 12, AEMP_EMALFORMED,
	          1);
	check_err(COD_JSON, 1000, "[1][\\\"]\"]", 9, AEMP_EMALFORMED, 1);
	/* 512 levels pass, 513 do not, whole or byte by byte */
	for (i = 0; i < AEMP_MAX_DEPTH; i++) {
		b[i] = '[';
		b[2 * AEMP_MAX_DEPTH - 1 - i] = ']';
	}
	check_err(COD_JSON, 4096, b, 2 * AEMP_MAX_DEPTH, 0, 1);
	for (i = 0; i <= AEMP_MAX_DEPTH; i++) {
		b[i] = '[';
		b[2 * AEMP_MAX_DEPTH + 1 - i] = ']';
	}
	check_err(COD_JSON, 4096, b, 2 * AEMP_MAX_DEPTH + 2, AEMP_EDEPTH, 0);
	/* a packet of exactly max bytes passes, one more byte does not */
	memset(b, ' ', 70);
	memcpy(b, "[\"", 2);
	memcpy(b + 62, "\"]", 2);
	check_err(COD_JSON, 64, b, 64, 0, 1);
	memcpy(b + 62, " \"]", 3);
	check_err(COD_JSON, 64, b, 65, AEMP_ETOOBIG, 0);
	/* refused as the 65th byte arrives, with 64 buffered at most */
	CHECK_ERR(feed_bytes(COD_JSON, 64, (uint8_t *)b, 70, &at, &pend),
	          AEMP_ETOOBIG);
	CHECK_EQ(at, 65);
	CHECK_EQ(pend, 64);
	free(b);
}

static void
test_cbor_errors(void)
{
	uint8_t b[AEMP_MAX_DEPTH + 8];
	size_t at, pend;

	check_err(COD_CBOR, 1000, "\x81\x01\x81\x02\x01", 5, AEMP_EMALFORMED,
	          2);
	check_err(COD_CBOR, 1000, "\x81\x01\xa0", 3, AEMP_EMALFORMED, 1);
	check_err(COD_CBOR, 1000, "\x81\x1c", 2, AEMP_EMALFORMED, 0);
	check_err(COD_CBOR, 1000, "\x81\xff", 2, AEMP_EMALFORMED, 0);
	check_err(COD_CBOR, 1000, "\x9f\x01\xf0\xff", 4, AEMP_EMALFORMED, 0);
	check_err(COD_CBOR, 1000, "\x81\x5f\x61\x61\xff", 5, AEMP_EMALFORMED,
	          0);
	/* found by fuzzing: the scanner must refuse what the decoder does */
	check_err(COD_CBOR, 1000, "\x81\x01\x81\x5f\x66\x62\x63", 7,
	          AEMP_EMALFORMED, 1); /* text chunk in a byte string */
	check_err(COD_CBOR, 1000, "\x81\x01\x81\x9f\xc1\xff\x01", 7,
	          AEMP_EMALFORMED, 1); /* break right after a tag */
	check_err(COD_CBOR, 1000, "\x81\x01\x81\xa1\x80\x01\x01", 7,
	          AEMP_EMALFORMED, 1); /* array as map key */
	check_err(COD_CBOR, 1000, "\x81\x01\x81\xbf\x61\x61\xff", 7,
	          AEMP_EMALFORMED, 1); /* break between key and value */
	check_err(COD_CBOR, 1000, "\x81\x01\xce\xcf\x7b\x00\x00", 7,
	          AEMP_EMALFORMED, 1); /* tagged text as a packet */
	check_err(COD_CBOR, 1000, "\x81\x01\x81\x5f\x7b\x00", 6,
	          AEMP_EMALFORMED, 1); /* chunk kind, first byte */
	memset(b, 0x81, sizeof(b));
	b[AEMP_MAX_DEPTH - 1] = 0x80;
	check_err(COD_CBOR, 4096, b, AEMP_MAX_DEPTH, 0, 1);
	b[AEMP_MAX_DEPTH - 1] = 0x81;
	b[AEMP_MAX_DEPTH] = 0x80;
	check_err(COD_CBOR, 4096, b, AEMP_MAX_DEPTH + 1, AEMP_EDEPTH, 0);
	/* exactly 64 bytes: [ "" , 60-byte text ] = 1 + 1 + 2 + 60 */
	memset(b, 'a', 100);
	memcpy(b, "\x82\x60\x78\x3c", 4);
	check_err(COD_CBOR, 64, b, 64, 0, 1);
	b[3] = 0x3d;
	check_err(COD_CBOR, 64, b, 65, AEMP_ETOOBIG, 0);
	CHECK_ERR(feed_bytes(COD_CBOR, 64, b, 100, &at, &pend), AEMP_ETOOBIG);
	CHECK_EQ(at, 4); /* the length alone is too big: refused at once */
	/* a declared 1000-byte string, or 2^32 elements, never buffered */
	check_err(COD_CBOR, 64, "\x82\x60\x79\x03\xe8", 5, AEMP_ETOOBIG, 0);
	check_err(COD_CBOR, 64, "\x9b\x00\x00\x00\x01\x00\x00\x00\x00", 9,
	          AEMP_ETOOBIG, 0);
	check_err(COD_CBOR, 64, "\x81\xbb\x00\x00\x00\x00\x00\x00\x00\x20", 10,
	          AEMP_ETOOBIG, 0);
	memset(b, 0x01, 100);
	b[0] = 0x98; /* 70 elements cannot fit in 64 bytes */
	b[1] = 70;
	CHECK_ERR(feed_bytes(COD_CBOR, 64, b, 100, &at, &pend), AEMP_ETOOBIG);
	CHECK_EQ(at, 2);
	b[0] = 0x9f; /* no declared size: refused as the 65th byte comes */
	CHECK_ERR(feed_bytes(COD_CBOR, 64, b, 100, &at, &pend), AEMP_ETOOBIG);
	CHECK_EQ(at, 65);
	CHECK_EQ(pend, 64);
}

static void
test_misc(enum cod_framing f)
{
	uint8_t *b;
	size_t n, cut = 0;
	struct coll c = {0};
	struct cod_stream s;

	b = test_stream(f, &n);
	c.stop_at = 2; /* a callback's non-zero result stops the feed */
	cod_stream_init(&s, f, 1 << 20);
	CHECK_ERR(feed_cuts(&s, b, n, &cut, 1, &c), 7);
	CHECK_EQ(c.n, 2);
	cod_stream_fini(&s);
	coll_free(&c);
	/* a partial packet is kept and counted */
	cod_stream_init(&s, f, 1 << 20);
	CHECK_OK(feed_cuts(&s, b, 5, &cut, 1, &c));
	CHECK(cod_stream_pending(&s) > 0);
	cod_stream_fini(&s);
	coll_free(&c);
	free(b);
	if (f == COD_JSON) { /* whitespace alone is no packet */
		cod_stream_init(&s, f, 10);
		CHECK_OK(feed_cuts(&s, (const uint8_t *)" \n\r\t ", 5, &cut, 1,
		                   &c));
		CHECK_EQ(cod_stream_pending(&s), 0);
		CHECK_EQ(c.n, 0);
		cod_stream_fini(&s);
	}
}

/* A 16 MiB packet in 1-byte pieces: linear work, bounded buffer. */
static void
test_big_bytewise(enum cod_framing f)
{
	size_t n = 16u << 20, i, pend = 0;
	uint8_t *b = malloc(n + COD_PADDING);
	struct coll c = {0};
	struct cod_stream s;
	struct timespec t0, t1;
	int rc = 0;

	memset(b, 'z', n + COD_PADDING);
	if (f == COD_JSON) {
		memcpy(b, "[\"\",\"", 5);
		memcpy(b + n - 2, "\"]", 2);
	} else {
		memcpy(b, "\x82\x60\x7a", 3); /* text of n - 7 bytes */
		b[3] = (uint8_t)((n - 7) >> 24);
		b[4] = (uint8_t)((n - 7) >> 16);
		b[5] = (uint8_t)((n - 7) >> 8);
		b[6] = (uint8_t)(n - 7);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cod_stream_init(&s, f, n);
	for (i = 0; i < n && rc == 0; i++) {
		rc = cod_stream_feed(&s, &tape, b + i, 1, collect, &c);
		pend = AEMP_MAX(pend, cod_stream_pending(&s));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_OK(rc);
	CHECK_EQ(c.n, 1);
	CHECK(c.n == 1 && c.v[0]->len == 2 &&
	      c.v[0]->u.a[1].len == n - (f == COD_JSON ? 7 : 7));
	CHECK_EQ(pend, n - 1);
	DIAG("%s: 16 MiB in 1-byte pieces: %.2f s", cod_framing_name(f),
	     (double)(t1.tv_sec - t0.tv_sec) +
	             (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	cod_stream_fini(&s);
	coll_free(&c);
	free(b);
}

int
main(void)
{
	cod_tape_init(&tape);
	test_splits(COD_JSON);
	test_splits(COD_CBOR);
	test_keep();
	test_json_errors();
	test_cbor_errors();
	test_misc(COD_JSON);
	test_misc(COD_CBOR);
	test_big_bytewise(COD_JSON);
	test_big_bytewise(COD_CBOR);
	cod_tape_fini(&tape);
	return tap_done();
}
