/*
 * tests/unit/crypto_tls.c - the sans-I/O TLS layer (crypto/tls.h): two
 * sessions in one process, ciphertext moved between them by hand.
 *
 * Covered: handshakes with generated RSA and EC certificates, TLS 1.3 and
 * TLS 1.2, TLS 1.1 refused; the suite order (AES-GCM first only on
 * AES-NI) and every suite of the list alone; data both ways, small and > 1 MiB, whole and
 * one byte at a time, read buffers smaller than a record; a TLS 1.3 key
 * update (a read that has to write); certificates checked in both roles
 * (unrelated certificates, a peer trusted only through the CA of the
 * blob, a client without a certificate); corrupted records; close_notify;
 * the input bound; garbage instead of TLS; the engine's data path
 * (ciphertext through a sink, received ciphertext lent in place).
 *
 * The session internals are reached by including crypto/tls.c
 * (STYLE.md §12), for the key update and the protocol version pinning.
 */
#include <errno.h>

#include "crypto/crypto.h"
#include "crypto/tls.c"
#include "ring/alloc.h"
#include "tests/tap.h"
#include "tests/unit/test_certs.h"

struct peer {
	struct cry_tls *t;
	int done;     /* handshake complete */
	size_t rcap;  /* read buffer size for cry_tls_read */
	uint8_t *got; /* plaintext received */
	size_t got_len, got_cap;
};

static void
peer_init(struct peer *p, struct cry_tls_ctx *ctx, int is_client)
{
	memset(p, 0, sizeof(*p));
	p->rcap = 16384;
	if (cry_tls_new(&p->t, ctx, is_client) < 0)
		abort();
}

static void
peer_fini(struct peer *p)
{
	cry_tls_free(p->t);
	free(p->got);
	memset(p, 0, sizeof(*p));
}

static void
peer_keep(struct peer *p, const uint8_t *b, size_t n)
{
	if (p->got_len + n > p->got_cap) {
		p->got_cap = (p->got_len + n) * 2;
		p->got = realloc(p->got, p->got_cap);
		if (p->got == NULL)
			abort();
	}
	memcpy(p->got + p->got_len, b, n);
	p->got_len += n;
}

/* Advance after input: the handshake, then read all there is. */
static int
peer_step(struct peer *p)
{
	uint8_t buf[65536];
	ssize_t n;

	if (!p->done) {
		int rc = cry_tls_handshake(p->t);

		if (rc <= 0)
			return rc;
		p->done = 1;
	}
	while ((n = cry_tls_read(p->t, buf, AEMP_MIN(p->rcap, sizeof(buf)))) >
	       0)
		peer_keep(p, buf, (size_t)n);
	return (int)n;
}

/* Moves a's pending output to b, chunk bytes per feed (0: 64 KiB), and
 * lets b process each piece. */
static int
xfer(struct peer *a, struct peer *b, size_t chunk)
{
	const uint8_t *p;
	size_t n;
	int rc;

	while ((n = cry_tls_pending(a->t, &p)) > 0) {
		size_t k = AEMP_MIN(n, chunk != 0 ? chunk : 65536);

		rc = cry_tls_feed(b->t, p, k);
		cry_tls_consume(a->t, k);
		if (rc < 0 || (rc = peer_step(b)) < 0)
			return rc;
	}
	return 0;
}

/* Runs the handshake between client c and server s to its end; returns
 * 0, or the first error either side reported. */
static int
handshake(struct peer *c, struct peer *s, size_t chunk)
{
	int rc;

	for (int i = 0; i < 64 && !(c->done && s->done); i++) {
		if ((rc = peer_step(c)) < 0 || (rc = xfer(c, s, chunk)) < 0 ||
		    (rc = xfer(s, c, chunk)) < 0)
			return rc;
	}
	return c->done && s->done ? 0 : -ETIMEDOUT;
}

/* After a failure: deliver what is still queued (alerts) both ways, so
 * that each side has seen everything the other said. */
static void
drain(struct peer *c, struct peer *s)
{
	for (int i = 0; i < 4; i++) {
		xfer(c, s, 0);
		xfer(s, c, 0);
	}
}

static struct cry_tls_ctx *
ctx_of(const char *pem)
{
	struct cry_tls_ctx *ctx = NULL;
	int rc = cry_tls_ctx_new(&ctx, pem, strlen(pem));

	if (rc < 0)
		DIAG("cry_tls_ctx_new: %s: %s", aemp_strerror(rc),
		     aemp_errmsg());
	return ctx;
}

static struct cry_tls_ctx *
ctx_generated(int kind)
{
	struct cry_tls_ctx *ctx;
	char *pem = NULL;

	if (aemp_gencert(kind, &pem) < 0)
		abort();
	ctx = ctx_of(pem);
	ring_free(pem, 0);
	return ctx;
}

/* Writes msg on a, moves it to b (chunked), checks b got exactly it. */
static void
check_data(struct peer *a, struct peer *b, const uint8_t *msg, size_t n,
           size_t chunk)
{
	b->got_len = 0;
	CHECK_EQ(cry_tls_write(a->t, msg, n), n);
	CHECK_OK(xfer(a, b, chunk));
	CHECK_MEMEQ(b->got, b->got_len, msg, n);
}

static void
test_generated(int kind, const char *name)
{
	struct cry_tls_ctx *ctx = ctx_generated(kind);
	struct peer c, s;

	DIAG("handshake with a generated %s certificate", name);
	CHECK(ctx != NULL);
	if (ctx == NULL)
		return;
	peer_init(&c, ctx, 1);
	peer_init(&s, ctx, 0);
	CHECK_STREQ(cry_tls_version(c.t), "");
	CHECK_OK(handshake(&c, &s, 0));
	CHECK_STREQ(cry_tls_version(c.t), "TLSv1.3");
	CHECK_STREQ(cry_tls_version(s.t), "TLSv1.3");
	CHECK_STREQ(cry_tls_error(c.t), "");
	CHECK_EQ(cry_tls_handshake(c.t), 1); /* done stays done */
	check_data(&c, &s, (const uint8_t *)"ping", 4, 0);
	check_data(&s, &c, (const uint8_t *)"pong", 4, 0);
	CHECK_EQ(cry_tls_write(c.t, (const uint8_t *)"", 0), 0);
	peer_fini(&c);
	peer_fini(&s);
	cry_tls_ctx_free(ctx);
}

/* Handshake and data fed one byte at a time, and read through a buffer
 * of 7 bytes (records come out in pieces). */
static void
test_bytewise(struct cry_tls_ctx *ctx)
{
	uint8_t msg[3000];
	struct peer c, s;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	peer_init(&c, ctx, 1);
	peer_init(&s, ctx, 0);
	c.rcap = s.rcap = 7;
	CHECK_OK(handshake(&c, &s, 1));
	check_data(&c, &s, msg, sizeof(msg), 1);
	check_data(&s, &c, msg, sizeof(msg), 1);
	peer_fini(&c);
	peer_fini(&s);
}

/* More than 1 MiB each way, in one write, in feeds of 65536 and 1000. */
static void
test_large(struct cry_tls_ctx *ctx)
{
	size_t n = (1u << 20) + 12345;
	uint8_t *a = malloc(n), *b = malloc(n);
	struct peer c, s;

	CHECK_OK(cry_random(a, n));
	CHECK_OK(cry_random(b, n));
	peer_init(&c, ctx, 1);
	peer_init(&s, ctx, 0);
	CHECK_OK(handshake(&c, &s, 0));
	check_data(&c, &s, a, n, 0);
	check_data(&s, &c, b, n, 1000);
	/* Both directions in flight at once. */
	c.got_len = s.got_len = 0;
	CHECK_EQ(cry_tls_write(c.t, a, n), n);
	CHECK_EQ(cry_tls_write(s.t, b, n), n);
	CHECK_OK(xfer(&c, &s, 4096));
	CHECK_OK(xfer(&s, &c, 0));
	CHECK_MEMEQ(s.got, s.got_len, a, n);
	CHECK_MEMEQ(c.got, c.got_len, b, n);
	/* The output buffers shrank back once sent. */
	CHECK(c.t->out.cap <= TLS_BUF_KEEP);
	CHECK(s.t->in.cap <= TLS_BUF_KEEP);
	peer_fini(&c);
	peer_fini(&s);
	free(a);
	free(b);
}

/* A sink that collects ciphertext; fails (as out of memory) when told. */
struct sink {
	uint8_t *p;
	size_t len, cap;
	int fail;
};

static int
sink_put(void *arg, const uint8_t *p, size_t n)
{
	struct sink *k = arg;

	if (k->fail)
		return -ENOMEM;
	if (k->len + n > k->cap) {
		k->cap = (k->len + n) * 2;
		if ((k->p = realloc(k->p, k->cap)) == NULL)
			abort();
	}
	memcpy(k->p + k->len, p, n);
	k->len += n;
	return 0;
}

/* Lends k's ciphertext to b in pieces of `piece` bytes, reading after
 * each loan only every other time (the rest must be kept by the session
 * when the loan ends), then empties k. */
static void
lend_all(struct sink *k, struct peer *b, size_t piece)
{
	uint8_t buf[16384];
	ssize_t n = 0;
	int i = 0;

	for (size_t off = 0; off < k->len; off += piece, i++) {
		size_t m = AEMP_MIN(piece, k->len - off);

		cry_tls_lend(b->t, k->p + off, m);
		while (i % 2 == 0 && (n = cry_tls_read(b->t, buf, 1000)) > 0)
			peer_keep(b, buf, (size_t)n);
		CHECK(n >= 0);
		CHECK_OK(cry_tls_unlend(b->t));
	}
	cry_tls_lend(b->t, NULL, 0);
	while ((n = cry_tls_read(b->t, buf, sizeof(buf))) > 0)
		peer_keep(b, buf, (size_t)n);
	CHECK_OK(cry_tls_unlend(b->t));
	k->len = 0;
}

/* The engine's data path: ciphertext through a sink (nothing pending,
 * the output buffer never allocated), received ciphertext lent in place
 * in pieces, with unread rests kept across loans; a sink that fails
 * fails the session with -ENOMEM; a loan too large to keep overflows. */
static void
test_sink_lend(struct cry_tls_ctx *ctx)
{
	size_t n = 300000;
	uint8_t *a = malloc(n);
	struct sink k = {0};
	struct peer c, s;
	const uint8_t *p;

	CHECK_OK(cry_random(a, n));
	peer_init(&c, ctx, 1);
	peer_init(&s, ctx, 0);
	CHECK_OK(handshake(&c, &s, 0));
	CHECK_EQ(cry_tls_write(c.t, a, 100), 100);
	CHECK_OK(cry_tls_set_sink(c.t, sink_put, &k)); /* takes the pending */
	CHECK_EQ(cry_tls_pending(c.t, &p), 0);
	CHECK_EQ(cry_tls_write(c.t, a + 100, n - 100), n - 100);
	CHECK_EQ(cry_tls_pending(c.t, &p), 0);
	CHECK(c.t->out.cap == 0 || c.t->out.cap <= TLS_BUF_MIN);
	lend_all(&k, &s, 7001);
	CHECK_MEMEQ(s.got, s.got_len, a, n);
	CHECK(s.t->in.cap <= TLS_BUF_KEEP);

	k.fail = 1;
	CHECK_ERR(cry_tls_write(c.t, a, 10), -ENOMEM);
	DIAG("sink refused: %s", cry_tls_error(c.t));
	peer_fini(&c);
	peer_fini(&s);

	/* More than the input bound left unread in a loan. */
	peer_init(&s, ctx, 0);
	cry_tls_lend(s.t, a, CRY_TLS_IN_MAX + 1);
	CHECK_ERR(cry_tls_unlend(s.t), AEMP_EOVERFLOW);
	peer_fini(&s);
	free(k.p);
	free(a);
}

/* The client offers at most `version`; the server takes what the context
 * allows (1.2 and 1.3). */
static int
handshake_max(struct cry_tls_ctx *ctx, int version, struct peer *c,
              struct peer *s)
{
	peer_init(c, ctx, 1);
	peer_init(s, ctx, 0);
	CHECK_EQ(wolfSSL_set_max_proto_version(c->t->ssl, version),
	         WOLFSSL_SUCCESS);
	return handshake(c, s, 0);
}

static void
test_versions(struct cry_tls_ctx *ctx)
{
	struct peer c, s;

	CHECK_OK(handshake_max(ctx, TLS1_2_VERSION, &c, &s));
	CHECK_STREQ(cry_tls_version(c.t), "TLSv1.2");
	CHECK_STREQ(cry_tls_version(s.t), "TLSv1.2");
	check_data(&c, &s, (const uint8_t *)"tls12", 5, 0);
	check_data(&s, &c, (const uint8_t *)"tls12 reply", 11, 1);
	peer_fini(&c);
	peer_fini(&s);

	CHECK_ERR(handshake_max(ctx, TLS1_1_VERSION, &c, &s), AEMP_ETLS);
	drain(&c, &s);
	DIAG("TLS 1.1 client: %s / server: %s", cry_tls_error(c.t),
	     cry_tls_error(s.t));
	peer_fini(&c);
	peer_fini(&s);
}

/* The suite two aemp nodes agree on follows the hardware (AES-GCM first
 * only where the library runs it on AES-NI), and every suite of the list
 * stays available to a peer that offers only that one, as an OpenSSL
 * peer with its own preferences may (RSA suites need an RSA key: the EC
 * context checks the ECDSA ones). */
static void
test_suites(struct cry_tls_ctx *ctx)
{
	static const char *const offer[][2] = {
	        {"TLS13-AES128-GCM-SHA256", "TLSv1.3"},
	        {"TLS13-AES256-GCM-SHA384", "TLSv1.3"},
	        {"TLS13-CHACHA20-POLY1305-SHA256", "TLSv1.3"},
	        {"ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2"},
	        {"ECDHE-ECDSA-AES256-GCM-SHA384", "TLSv1.2"},
	        {"ECDHE-ECDSA-CHACHA20-POLY1305", "TLSv1.2"},
	};
	const char *want = cry_wolf_aes_fast()
	                           ? "TLS13-AES128-GCM-SHA256"
	                           : "TLS13-CHACHA20-POLY1305-SHA256";
	char what[160];
	struct peer c, s;

	DIAG("%s", cry_wolf_describe(what, sizeof(what)));
	peer_init(&c, ctx, 1);
	peer_init(&s, ctx, 0);
	CHECK_OK(handshake(&c, &s, 0));
	CHECK_STREQ(cry_tls_cipher(c.t), want);
	CHECK_STREQ(cry_tls_cipher(s.t), want);
	peer_fini(&c);
	peer_fini(&s);
	want = cry_wolf_aes_fast() ? "ECDHE-ECDSA-AES128-GCM-SHA256"
	                           : "ECDHE-ECDSA-CHACHA20-POLY1305";
	CHECK_OK(handshake_max(ctx, TLS1_2_VERSION, &c, &s));
	CHECK_STREQ(cry_tls_cipher(s.t), want);
	peer_fini(&c);
	peer_fini(&s);

	for (size_t i = 0; i < sizeof(offer) / sizeof(offer[0]); i++) {
		peer_init(&c, ctx, 1);
		peer_init(&s, ctx, 0);
		CHECK_EQ(wolfSSL_set_cipher_list(c.t->ssl, offer[i][0]),
		         WOLFSSL_SUCCESS);
		if (strcmp(offer[i][1], "TLSv1.2") == 0)
			CHECK_EQ(wolfSSL_set_max_proto_version(c.t->ssl,
			                                       TLS1_2_VERSION),
			         WOLFSSL_SUCCESS);
		CHECK_OK(handshake(&c, &s, 0));
		CHECK_STREQ(cry_tls_cipher(s.t), offer[i][0]);
		CHECK_STREQ(cry_tls_version(s.t), offer[i][1]);
		check_data(&c, &s, (const uint8_t *)"suite", 5, 0);
		peer_fini(&c);
		peer_fini(&s);
	}
}

/* A TLS 1.3 KeyUpdate asks the peer to update too: the peer's read has
 * to write, and the data keeps flowing both ways afterwards. */
static void
test_key_update(struct cry_tls_ctx *ctx)
{
	const uint8_t *p;
	struct peer c, s;

	peer_init(&c, ctx, 1);
	peer_init(&s, ctx, 0);
	CHECK_OK(handshake(&c, &s, 0));
	CHECK_EQ(wolfSSL_update_keys(c.t->ssl), WOLFSSL_SUCCESS);
	CHECK(cry_tls_pending(c.t, &p) > 0);
	CHECK(cry_tls_pending(s.t, &p) == 0);
	CHECK_OK(xfer(&c, &s, 0));
	CHECK(cry_tls_pending(s.t, &p) > 0); /* the server's own KeyUpdate */
	CHECK_OK(xfer(&s, &c, 0));
	check_data(&c, &s, (const uint8_t *)"after update", 12, 0);
	check_data(&s, &c, (const uint8_t *)"after update too", 16, 3);
	peer_fini(&c);
	peer_fini(&s);
}

static int
errs_contain(const struct peer *c, const struct peer *s, const char *text)
{
	return strstr(cry_tls_error(c->t), text) != NULL ||
	       strstr(cry_tls_error(s->t), text) != NULL;
}

/* Client with blob cb, server with blob sb: the handshake result. */
static int
pair_result(const char *cb, const char *sb, struct peer *c, struct peer *s)
{
	struct cry_tls_ctx *cc = ctx_of(cb), *sc = ctx_of(sb);
	int rc;

	if (cc == NULL || sc == NULL)
		abort();
	peer_init(c, cc, 1);
	peer_init(s, sc, 0);
	rc = handshake(c, s, 0);
	drain(c, s);
	DIAG("client: \"%s\" / server: \"%s\"", cry_tls_error(c->t),
	     cry_tls_error(s->t));
	/* Sessions hold their own reference to the wolfSSL contexts. */
	cry_tls_ctx_free(cc);
	cry_tls_ctx_free(sc);
	return rc;
}

static char *
cat3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
	char *s = malloc(n);

	if (s == NULL)
		abort();
	snprintf(s, n, "%s%s%s", a, b, c);
	return s;
}

static void
test_verification(void)
{
	char *leaf_ca = cat3(fx_leaf_crt, fx_leaf_key, fx_ca_crt);
	char *leaf2_ca = cat3(fx_leaf2_key, fx_leaf2_crt, fx_ca_crt);
	char *leaf2 = cat3(fx_leaf2_crt, fx_leaf2_key, "");
	char *g1 = NULL, *g2 = NULL;
	struct peer c, s;

	/* Different leaves, the same CA in both blobs: accepted. */
	CHECK_OK(pair_result(leaf_ca, leaf2_ca, &c, &s));
	check_data(&c, &s, (const uint8_t *)"via CA", 6, 0);
	peer_fini(&c);
	peer_fini(&s);

	/* The server trusts only its own leaf2: it refuses the client. */
	CHECK_ERR(pair_result(leaf_ca, leaf2, &c, &s), AEMP_ETLS);
	CHECK(strstr(cry_tls_error(s.t), "peer certificate not signed") !=
	      NULL);
	CHECK(strstr(cry_tls_error(c.t), "peer sent alert") != NULL);
	peer_fini(&c);
	peer_fini(&s);

	/* The client trusts only leaf2: it refuses the server. */
	CHECK_ERR(pair_result(leaf2, leaf_ca, &c, &s), AEMP_ETLS);
	CHECK(strstr(cry_tls_error(c.t), "peer certificate not signed") !=
	      NULL);
	CHECK_ERR(cry_tls_handshake(c.t), AEMP_ETLS); /* sticky */
	peer_fini(&c);
	peer_fini(&s);

	/* Two unrelated generated certificates. */
	CHECK_OK(aemp_gencert(AEMP_CERT_EC256, &g1));
	CHECK_OK(aemp_gencert(AEMP_CERT_EC256, &g2));
	CHECK_ERR(pair_result(g1, g2, &c, &s), AEMP_ETLS);
	CHECK(errs_contain(&c, &s, "peer certificate is self-signed"));
	CHECK(errs_contain(&c, &s, "peer sent alert"));
	peer_fini(&c);
	peer_fini(&s);
	ring_free(g1, 0);
	ring_free(g2, 0);
	free(leaf_ca);
	free(leaf2_ca);
	free(leaf2);
}

/* A client that sends no certificate is refused by the server. */
static void
test_no_client_cert(void)
{
	struct cry_tls_ctx *sc = ctx_of(fx_leaf2_crt), *full;
	char *blob = cat3(fx_leaf2_crt, fx_leaf2_key, "");
	struct cry_tls_ctx bare = {0};
	struct peer c, s;

	CHECK(sc == NULL); /* a certificate alone is not enough */
	CHECK(strstr(aemp_errmsg(), "no private key") != NULL);
	full = ctx_of(blob);
	bare.client = wolfSSL_CTX_new(wolfSSLv23_client_method());
	wolfSSL_CTX_load_verify_buffer(
	        bare.client, (const uint8_t *)fx_leaf2_crt,
	        (long)strlen(fx_leaf2_crt), WOLFSSL_FILETYPE_PEM);
	peer_init(&c, &bare, 1);
	peer_init(&s, full, 0);
	CHECK_ERR(handshake(&c, &s, 0), AEMP_ETLS);
	DIAG("server: %s", cry_tls_error(s.t));
	CHECK(strstr(cry_tls_error(s.t), "peer sent no certificate") != NULL);
	peer_fini(&c);
	peer_fini(&s);
	wolfSSL_CTX_free(bare.client);
	cry_tls_ctx_free(full);
	free(blob);
}

static void
test_corrupt_record(struct cry_tls_ctx *ctx)
{
	static const char msg[] = "a record that will not survive the trip";
	uint8_t buf[256];
	const uint8_t *p;
	struct peer c, s;
	size_t n;

	peer_init(&c, ctx, 1);
	peer_init(&s, ctx, 0);
	CHECK_OK(handshake(&c, &s, 0));
	CHECK_EQ(cry_tls_write(c.t, (const uint8_t *)msg, sizeof(msg)),
	         sizeof(msg));
	n = cry_tls_pending(c.t, &p);
	CHECK(n > sizeof(msg));
	memcpy(buf, p, n);
	cry_tls_consume(c.t, n);
	buf[n / 2] ^= 0x20;
	CHECK_OK(cry_tls_feed(s.t, buf, n));
	CHECK_ERR(cry_tls_read(s.t, buf, sizeof(buf)), AEMP_ETLS);
	DIAG("corrupted record: %s", cry_tls_error(s.t));
	CHECK(strstr(cry_tls_error(s.t), "TLS read") != NULL);
	CHECK_ERR(cry_tls_read(s.t, buf, sizeof(buf)), AEMP_ETLS);
	CHECK_ERR(cry_tls_write(s.t, buf, 1), AEMP_ETLS);
	/* The server told the client why (a fatal alert). */
	CHECK(cry_tls_pending(s.t, &p) > 0);
	CHECK_ERR(xfer(&s, &c, 0), AEMP_ETLS);
	peer_fini(&c);
	peer_fini(&s);
}

static void
test_close_notify(struct cry_tls_ctx *ctx)
{
	uint8_t buf[64];
	struct peer c, s;

	peer_init(&c, ctx, 1);
	peer_init(&s, ctx, 0);
	CHECK_OK(handshake(&c, &s, 0));
	CHECK_EQ(cry_tls_write(c.t, (const uint8_t *)"last words", 10), 10);
	CHECK_OK(cry_tls_shutdown(c.t));
	/* The data before the close_notify arrives, then -EPIPE. */
	CHECK_ERR(xfer(&c, &s, 0), -EPIPE);
	CHECK_MEMEQ(s.got, s.got_len, "last words", 10);
	CHECK_ERR(cry_tls_read(s.t, buf, sizeof(buf)), -EPIPE);
	CHECK_ERR(cry_tls_write(s.t, buf, 1), -EPIPE);
	CHECK_STREQ(cry_tls_error(s.t), "peer closed the TLS session");
	peer_fini(&c);
	peer_fini(&s);
}

static void
test_input_bound(struct cry_tls_ctx *ctx)
{
	uint8_t *junk = calloc(1, CRY_TLS_IN_MAX + 1);
	struct peer s;

	peer_init(&s, ctx, 0);
	CHECK_ERR(cry_tls_feed(s.t, junk, CRY_TLS_IN_MAX + 1), AEMP_EOVERFLOW);
	CHECK_OK(cry_tls_feed(s.t, junk, CRY_TLS_IN_MAX - 1));
	CHECK_OK(cry_tls_feed(s.t, junk, 1));
	CHECK_ERR(cry_tls_feed(s.t, junk, 1), AEMP_EOVERFLOW);
	CHECK_OK(cry_tls_feed(s.t, junk, 0));
	/* Zero bytes are not a TLS record. */
	CHECK_ERR(cry_tls_handshake(s.t), AEMP_ETLS);
	peer_fini(&s);

	/* An AEMP greeting where TLS was expected. */
	peer_init(&s, ctx, 0);
	memcpy(junk, "aemp;1;x;hmac_sha3_512;json\n", 28);
	CHECK_OK(cry_tls_feed(s.t, junk, 28));
	CHECK_ERR(cry_tls_handshake(s.t), AEMP_ETLS);
	DIAG("greeting instead of TLS: %s", cry_tls_error(s.t));
	peer_fini(&s);
	free(junk);
}

int
main(void)
{
	struct cry_tls_ctx *ec;

	test_generated(AEMP_CERT_EC256, "EC P-256");
	test_generated(AEMP_CERT_RSA2048, "RSA-2048");
	ec = ctx_generated(AEMP_CERT_EC256);
	if (ec == NULL)
		return tap_done();
	test_bytewise(ec);
	test_large(ec);
	test_sink_lend(ec);
	test_versions(ec);
	test_suites(ec);
	test_key_update(ec);
	test_verification();
	test_no_client_cert();
	test_corrupt_record(ec);
	test_close_notify(ec);
	test_input_bound(ec);
	cry_tls_ctx_free(ec);
	return tap_done();
}
