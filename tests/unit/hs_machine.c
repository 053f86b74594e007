/*
 * tests/unit/hs_machine.c - two handshake state machines talking to each
 * other in memory (aemp-protocol.md §2): framing preferences (json, cbor,
 * mixed directions), hmac_sha3_512, TLS with tls_sha3_512 and tls_anon
 * (TLS itself is simulated as the identity: what HS_TLS leaves over is fed
 * back as plaintext), the aemp-dataconn upgrade, the §2.13 minimal client
 * with cleartext, and the greeting we send.
 *
 * Every conversation is then replayed against a fresh machine with the
 * same nonce, the peer's bytes (plus the first data bytes) split at every
 * offset and fed one byte at a time: the result, our output and the rest
 * must not depend on how the input was cut.
 *
 * Threads: single-threaded.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "engine/net/hs.h"
#include "tests/tap.h"

#define STREAM_MAX 8192

static char *const offer_def[] = {"tls_sha3_512", "hmac_sha3_512"};
static char *const offer_anon[] = {"tls_anon"};
static char *const accept_def[] = {"tls_sha3_512", "hmac_sha3_512", "tls_anon",
                                   "cleartext"};
static const uint8_t fr_json[] = {COD_JSON};
static const uint8_t fr_cbor_json[] = {COD_CBOR, COD_JSON};
static const uint8_t fr_json_cbor[] = {COD_JSON, COD_CBOR};
static const uint8_t fr_cbor[] = {COD_CBOR};

/* the first data bytes a peer sends right after its auth line */
static const char data[] = "[\"\",\"g_slave\"]\x82\x60\x60";

struct end {
	struct eng_hs *hs;
	struct eng_hs_cfg cfg;
	const char *l1; /* NULL: built from cfg */
	uint8_t nonce[ENG_HS_NONCE_BYTES];
	uint8_t sent[STREAM_MAX]; /* all output, greeting included */
	size_t sentlen;
	uint8_t rest[STREAM_MAX]; /* input left after HS_DONE */
	size_t restlen;
	int rc;       /* last result of pump */
	int ntls;     /* HS_TLS seen */
	size_t extra; /* data bytes appended to sent (not ours) */
};

static void
cfg_init(struct eng_hs_cfg *c, const char *id, const char *secret, int cert,
         const uint8_t *fr, size_t nfr)
{
	memset(c, 0, sizeof(*c));
	c->nodeid = id;
	c->idlen = strlen(id);
	c->secret = secret;
	c->secret_len = secret ? strlen(secret) : 0;
	c->have_cert = cert;
	c->framings = fr;
	c->nframings = nfr;
	c->auth_offer = offer_def;
	c->noffer = 2;
	c->auth_accept = accept_def;
	c->naccept = 4;
	c->provider = "aemp-test";
}

static void
end_start(struct end *e, uint8_t first)
{
	int rc;

	e->hs = calloc(1, sizeof(*e->hs));
	for (int i = 0; i < ENG_HS_NONCE_BYTES; i++)
		e->nonce[i] = (uint8_t)(first + 7 * i);
	if (e->l1 != NULL)
		rc = eng_hs_init_lines(e->hs, &e->cfg, e->l1, strlen(e->l1),
		                       e->nonce);
	else
		rc = eng_hs_init(e->hs, &e->cfg, "192.0.2.1:4040", e->nonce);
	if (rc != 0) /* quiet when fine: replays start thousands */
		CHECK_OK(rc);
	e->sentlen = e->restlen = e->extra = 0;
	e->ntls = 0;
	e->rc = HS_NEED_MORE;
}

static void
end_drain(struct end *e)
{
	size_t n;
	const uint8_t *o = eng_hs_output(e->hs, &n);

	if (e->sentlen + n <= STREAM_MAX) {
		memcpy(e->sent + e->sentlen, o, n);
		e->sentlen += n;
	}
	eng_hs_output_done(e->hs, n);
}

/* Step until input runs out or the handshake ends; identity "TLS". */
static int
pump(struct end *e)
{
	uint8_t buf[ENG_HS_BUF_MAX];
	size_t n;
	int rc;

	for (;;) {
		rc = eng_hs_step(e->hs);
		end_drain(e);
		if (rc == HS_PEER_ID)
			continue;
		if (rc != HS_TLS)
			break;
		e->ntls++;
		n = eng_hs_take_rest(e->hs, buf, sizeof(buf));
		if (eng_hs_feed(e->hs, buf, n) < 0)
			return eng_hs_step(e->hs);
	}
	if (rc == HS_DONE) {
		n = eng_hs_take_rest(e->hs, e->rest + e->restlen,
		                     STREAM_MAX - e->restlen);
		e->restlen += n;
	}
	return rc;
}

static int
feed_pump(struct end *e, const uint8_t *p, size_t n)
{
	int rc = eng_hs_feed(e->hs, p, n);

	return rc < 0 ? rc : pump(e);
}

/* Run a and b against each other until both stop; b's data bytes follow
 * once b is done (a keeps taking them as rest). */
static void
converse(struct end *a, struct end *b)
{
	size_t ao = 0, bo = 0;
	end_start(a, 0x11);
	end_start(b, 0x92);
	end_drain(a);
	end_drain(b);
	for (int round = 0; round < 6; round++) {
		if (b->rc == HS_DONE && b->extra == 0) {
			b->extra = sizeof(data) - 1;
			memcpy(b->sent + b->sentlen, data, b->extra);
			b->sentlen += b->extra;
		}
		if (a->rc >= 0 && bo < b->sentlen)
			a->rc = feed_pump(a, b->sent + bo, b->sentlen - bo);
		bo = b->sentlen;
		if (b->rc >= 0 && ao < a->sentlen)
			b->rc = feed_pump(b, a->sent + ao, a->sentlen - ao);
		ao = a->sentlen;
	}
}

/* Replay a against b's recorded stream cut at offset k (k == 0: one byte
 * at a time).  Returns 1 if the outcome equals the conversation's. */
static int
replay_one(struct end *a, const struct end *b, size_t k, int want_rc)
{
	struct end *r = calloc(1, sizeof(*r));
	int ok;

	r->cfg = a->cfg;
	r->l1 = a->l1;
	end_start(r, a->nonce[0]);
	end_drain(r);
	for (size_t i = 0; i < b->sentlen && r->rc >= 0;) {
		size_t n = k == 0 ? 1 : i == 0 ? k : b->sentlen - i;

		r->rc = feed_pump(r, b->sent + i, n);
		i += n;
	}
	ok = r->rc == want_rc && r->sentlen == a->sentlen - a->extra &&
	     memcmp(r->sent, a->sent, r->sentlen) == 0 &&
	     r->restlen == a->restlen &&
	     memcmp(r->rest, a->rest, a->restlen) == 0;
	if (!ok && getenv("HS_DEBUG"))
		DIAG("k=%zu rc %d/%d sent %zu/%zu rest %zu/%zu", k, r->rc,
		     want_rc, r->sentlen, a->sentlen - a->extra, r->restlen,
		     a->restlen);
	free(r->hs);
	free(r);
	return ok;
}

static void
replay_splits(struct end *a, const struct end *b)
{
	size_t bad = 0, first_bad = 0;

	for (size_t k = 0; k < b->sentlen; k++) {
		if (!replay_one(a, b, k, a->rc) && bad++ == 0)
			first_bad = k;
	}
	tap_result(bad == 0, __FILE__, __LINE__, "every split of the input",
	           "%zu of %zu splits differ, first at %zu", bad, b->sentlen,
	           first_bad);
}

static void
end_free(struct end *e)
{
	free(e->hs);
	e->hs = NULL;
}

/* A full conversation that must succeed, then its replays. */
static void
pair_ok(struct end *a, struct end *b, enum cry_auth a_auth,
        enum cry_auth b_auth, enum cod_framing a_fr, enum cod_framing b_fr,
        int tls)
{
	converse(a, b);
	CHECK_ERR(a->rc, HS_DONE);
	CHECK_ERR(b->rc, HS_DONE);
	CHECK_EQ(a->hs->send_auth, a_auth);
	CHECK_EQ(b->hs->recv_auth, a_auth);
	CHECK_EQ(b->hs->send_auth, b_auth);
	CHECK_EQ(a->hs->recv_auth, b_auth);
	CHECK_EQ(a->hs->send_framing, a_fr);
	CHECK_EQ(b->hs->recv_framing, a_fr);
	CHECK_EQ(b->hs->send_framing, b_fr);
	CHECK_EQ(a->hs->recv_framing, b_fr);
	CHECK_EQ(a->ntls, tls);
	CHECK_EQ(b->ntls, tls);
	CHECK_EQ(a->hs->tls, tls);
	if (tls)
		CHECK_EQ(eng_hs_tls_client(a->hs) + eng_hs_tls_client(b->hs),
		         1);
	CHECK_MEMEQ(a->rest, a->restlen, data, sizeof(data) - 1);
	CHECK_EQ(b->restlen, 0);
	replay_splits(a, b);
	replay_splits(b, a);
	end_free(a);
	end_free(b);
}

static void
framings(void)
{
	struct end *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	DIAG("json both ways");
	cfg_init(&a->cfg, "na", "geheim", 0, fr_json, 1);
	cfg_init(&b->cfg, "nb", "geheim", 0, fr_json, 1);
	pair_ok(a, b, CRY_AUTH_HMAC_SHA3_512, CRY_AUTH_HMAC_SHA3_512, COD_JSON,
	        COD_JSON, 0);
	DIAG("cbor both ways");
	cfg_init(&a->cfg, "na", "geheim", 0, fr_cbor_json, 2);
	cfg_init(&b->cfg, "nb", "geheim", 0, fr_cbor, 1);
	pair_ok(a, b, CRY_AUTH_HMAC_SHA3_512, CRY_AUTH_HMAC_SHA3_512, COD_CBOR,
	        COD_CBOR, 0);
	DIAG("mixed: each side sends what the other prefers");
	cfg_init(&a->cfg, "na", "geheim", 0, fr_json_cbor, 2);
	cfg_init(&b->cfg, "nb", "geheim", 0, fr_cbor_json, 2);
	pair_ok(a, b, CRY_AUTH_HMAC_SHA3_512, CRY_AUTH_HMAC_SHA3_512, COD_CBOR,
	        COD_JSON, 0);
	DIAG("json-only side is sent json");
	cfg_init(&a->cfg, "na", "geheim", 0, fr_cbor_json, 2);
	cfg_init(&b->cfg, "nb", "geheim", 0, fr_json, 1);
	pair_ok(a, b, CRY_AUTH_HMAC_SHA3_512, CRY_AUTH_HMAC_SHA3_512, COD_JSON,
	        COD_JSON, 0);
	DIAG("one certificate only: no TLS, hmac");
	cfg_init(&a->cfg, "na", "geheim", 1, fr_cbor_json, 2);
	cfg_init(&b->cfg, "nb", "geheim", 0, fr_cbor_json, 2);
	pair_ok(a, b, CRY_AUTH_HMAC_SHA3_512, CRY_AUTH_HMAC_SHA3_512, COD_CBOR,
	        COD_CBOR, 0);
	free(a);
	free(b);
}

static void
tls(void)
{
	struct end *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	DIAG("TLS with a secret: tls_sha3_512");
	cfg_init(&a->cfg, "na", "geheim", 1, fr_cbor_json, 2);
	cfg_init(&b->cfg, "nb", "geheim", 1, fr_json, 1);
	pair_ok(a, b, CRY_AUTH_TLS_SHA3_512, CRY_AUTH_TLS_SHA3_512, COD_JSON,
	        COD_JSON, 1);
	DIAG("TLS without a secret");
	cfg_init(&a->cfg, "na", NULL, 1, fr_cbor_json, 2);
	cfg_init(&b->cfg, "nb", NULL, 1, fr_cbor_json, 2);
	pair_ok(a, b, CRY_AUTH_TLS_SHA3_512, CRY_AUTH_TLS_SHA3_512, COD_CBOR,
	        COD_CBOR, 1);
	DIAG("TLS, one side offers tls_anon only");
	cfg_init(&a->cfg, "na", NULL, 1, fr_cbor_json, 2);
	a->cfg.auth_offer = offer_anon;
	a->cfg.noffer = 1;
	cfg_init(&b->cfg, "nb", NULL, 1, fr_cbor_json, 2);
	pair_ok(a, b, CRY_AUTH_TLS_ANON, CRY_AUTH_TLS_SHA3_512, COD_CBOR,
	        COD_CBOR, 1);
	free(a);
	free(b);
}

static void
dataconn(void)
{
	struct end *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	DIAG("aemp-dataconn: the listener upgrades; same node ID allowed");
	cfg_init(&a->cfg, "same", "geheim", 0, fr_cbor_json, 2);
	cfg_init(&b->cfg, "same", "geheim", 0, fr_cbor_json, 2);
	b->l1 = "aemp-dataconn;1;same;hmac_sha3_512;json;provider=x;"
	        "dataconn_id=dc-42";
	converse(a, b);
	CHECK_ERR(a->rc, HS_DONE);
	CHECK_ERR(b->rc, HS_DONE);
	CHECK_EQ(a->hs->dataconn, 1);
	CHECK_EQ(b->hs->dataconn, 1);
	CHECK_MEMEQ(a->hs->proto, a->hs->protolen, "aemp-dataconn", 13);
	CHECK_MEMEQ(a->hs->dataconn_id, a->hs->dataconn_idlen, "dc-42", 5);
	CHECK(b->hs->dataconn_id == NULL);
	CHECK_EQ(a->hs->send_framing, COD_JSON);
	CHECK_EQ(b->hs->send_framing, COD_CBOR);
	replay_splits(a, b);
	replay_splits(b, a);
	end_free(a);
	end_free(b);
	free(a);
	free(b);
}

static void
feed_str(struct eng_hs *hs, const char *s)
{
	CHECK_OK(eng_hs_feed(hs, (const uint8_t *)s, strlen(s)));
}

/* §2.13: a foreign client sends cleartext; we answer with hmac. */
static void
minimal_client(void)
{
	static const char r1[] = "aemp;1;mini;hmac_sha3_512;json";
	static const char r2[] = "any-nonce-line-will-do";
	struct eng_hs *hs = calloc(1, sizeof(*hs));
	struct eng_hs_cfg c;
	char tok[CRY_TOKEN_HEX_MAX], want[200];
	struct iovec v[4];
	const uint8_t *o;
	uint8_t rest[64];
	size_t len;

	DIAG("§2.13 minimal client");
	cfg_init(&c, "seed", "geheim", 0, fr_cbor_json, 2);
	CHECK_OK(eng_hs_init(hs, &c, NULL, NULL));
	eng_hs_output(hs, &len);
	eng_hs_output_done(hs, len);
	feed_str(hs,
	         "aemp;1;mini;hmac_sha3_512;json\nany-nonce-line-will-do\n");
	CHECK_ERR(eng_hs_step(hs), HS_PEER_ID);
	CHECK_ERR(eng_hs_step(hs), HS_NEED_MORE);
	v[0] = (struct iovec){hs->l1, hs->l1len};
	v[1] = (struct iovec){hs->l2, hs->l2len};
	v[2] = (struct iovec){(void *)r1, strlen(r1)};
	v[3] = (struct iovec){(void *)r2, strlen(r2)};
	CHECK_EQ(cry_auth_token(CRY_AUTH_HMAC_SHA3_512, "geheim", 6, v, tok,
	                        sizeof(tok)),
	         128);
	snprintf(want, sizeof(want), "hmac_sha3_512;%s;json\n", tok);
	o = eng_hs_output(hs, &len);
	CHECK_MEMEQ(o, len, want, strlen(want));
	feed_str(hs, "cleartext;67656865696d;json\n[\"\",\"x\"]");
	CHECK_ERR(eng_hs_step(hs), HS_DONE);
	CHECK_EQ(hs->recv_auth, CRY_AUTH_CLEARTEXT);
	CHECK_EQ(hs->recv_framing, COD_JSON);
	len = eng_hs_take_rest(hs, rest, sizeof(rest));
	CHECK_MEMEQ(rest, len, "[\"\",\"x\"]", 8);
	CHECK_ERR(eng_hs_step(hs), HS_DONE); /* repeats */
	free(hs);
}

static void
greeting_exact(void)
{
	static const char want1[] =
	        "aemp;1;me;tls_sha3_512,hmac_sha3_512,tls_anon,cleartext;cbor,"
	        "json;provider=aemp-test;peeraddr=192.0.2.1:4040;tls=1.0;"
	        "mproto=1;gproto=1\n";
	static const char want2[] =
	        "aemp;1;me;tls_sha3_512,hmac_sha3_512,tls_anon,cleartext;json;"
	        "provider=aemp-" AEMP_VERSION_STRING ";mproto=1;gproto=1\n";
	struct eng_hs *hs = calloc(1, sizeof(*hs));
	struct eng_hs_cfg c;
	uint8_t nonce[ENG_HS_NONCE_BYTES] = {0xfb, 0xff};
	const uint8_t *o;
	size_t len;

	DIAG("greeting lines");
	cfg_init(&c, "me", "geheim", 1, fr_cbor_json, 2);
	CHECK_OK(eng_hs_init(hs, &c, "192.0.2.1:4040", nonce));
	o = eng_hs_output(hs, &len);
	CHECK_EQ(len, strlen(want1) + 89);
	CHECK_MEMEQ(o, strlen(want1), want1, strlen(want1));
	CHECK_MEMEQ(
	        o + strlen(want1), 89,
	        "+/8AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
	        89);
	cfg_init(&c, "me", NULL, 0, fr_json, 1);
	c.provider = NULL;
	CHECK_OK(eng_hs_init(hs, &c, NULL, nonce));
	o = eng_hs_output(hs, &len);
	CHECK_MEMEQ(o, strlen(want2), want2, strlen(want2));
	free(hs);
}

static void
greeting_nonce(void)
{
	struct eng_hs *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct eng_hs_cfg c;
	uint8_t raw[80];

	cfg_init(&c, "me", "geheim", 0, fr_json, 1);
	CHECK_OK(eng_hs_init(a, &c, NULL, NULL));
	CHECK_OK(eng_hs_init(b, &c, NULL, NULL));
	CHECK_EQ(a->l2len, 88);
	CHECK(a->l2len != b->l2len || memcmp(a->l2, b->l2, a->l2len) != 0);
	CHECK_EQ(cry_base64_decode(a->l2, a->l2len, raw, sizeof(raw)), 66);
	free(a);
	free(b);
}

static void
greeting_errors(void)
{
	struct eng_hs *hs = calloc(1, sizeof(*hs));
	struct eng_hs_cfg c;
	char *big = calloc(1, 5000);

	memset(big, 'p', 4999);
	cfg_init(&c, "bad;id", "geheim", 0, fr_json, 1);
	CHECK_ERR(eng_hs_init(hs, &c, NULL, NULL), AEMP_ECONFIG);
	cfg_init(&c, "me", "geheim", 0, fr_json, 1);
	c.provider = "two\nlines";
	CHECK_ERR(eng_hs_init(hs, &c, NULL, NULL), AEMP_ECONFIG);
	c.provider = big;
	CHECK_ERR(eng_hs_init(hs, &c, NULL, NULL), AEMP_ECONFIG);
	c.provider = NULL;
	CHECK_ERR(eng_hs_init(hs, &c, "\r", NULL), AEMP_ECONFIG);
	CHECK_ERR(eng_hs_init_lines(hs, &c, "", 0, NULL), AEMP_ECONFIG);
	CHECK_ERR(eng_hs_init_lines(hs, &c, big, 4096, NULL), AEMP_ECONFIG);
	CHECK_OK(eng_hs_init_lines(hs, &c, big, 4095, NULL));
	CHECK_ERR(eng_hs_init_lines(hs, &c, "a\rb", 3, NULL), AEMP_ECONFIG);
	free(big);
	free(hs);
}

/* Greeting not yet handed over at HS_TLS: it leads the output in
 * plaintext; the bytes after the peer's line 2 are the TLS stream. */
static void
tls_edges(void)
{
	static const char tlsbytes[] = "\x16\x03\x01\x00\x05hello\nworld";
	struct end *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	size_t glen, len, n;
	uint8_t buf[64];
	const uint8_t *o;

	DIAG("TLS: plaintext greeting left in the output, TLS bytes kept");
	cfg_init(&a->cfg, "na", NULL, 1, fr_json, 1);
	cfg_init(&b->cfg, "nb", NULL, 1, fr_json, 1);
	end_start(a, 1);
	end_start(b, 2);
	eng_hs_output(a->hs, &glen);
	o = eng_hs_output(b->hs, &len);
	CHECK_OK(eng_hs_feed(a->hs, o, len));
	CHECK_OK(eng_hs_feed(a->hs, (const uint8_t *)tlsbytes,
	                     sizeof(tlsbytes) - 1));
	CHECK_ERR(eng_hs_step(a->hs), HS_PEER_ID);
	CHECK_ERR(eng_hs_step(a->hs), HS_TLS);
	CHECK_EQ(eng_hs_output_plain(a->hs), glen);
	o = eng_hs_output(a->hs, &len);
	CHECK(len > glen + 13 && memcmp(o + glen, "tls_sha3_512;", 13) == 0);
	eng_hs_output_done(a->hs, 10);
	CHECK_EQ(eng_hs_output_plain(a->hs), glen - 10);
	eng_hs_output_done(a->hs, glen - 10);
	CHECK_EQ(eng_hs_output_plain(a->hs), 0);
	CHECK_EQ(a->hs->rest_owed, 1);
	n = eng_hs_take_rest(a->hs, buf, 4);
	CHECK_EQ(a->hs->rest_owed, 1);
	n += eng_hs_take_rest(a->hs, buf + n, sizeof(buf) - n);
	CHECK_MEMEQ(buf, n, tlsbytes, sizeof(tlsbytes) - 1);
	CHECK_EQ(a->hs->rest_owed, 0);
	CHECK_ERR(eng_hs_step(a->hs), HS_NEED_MORE);
	end_free(a);
	end_free(b);
	free(a);
	free(b);
}

int
main(void)
{
	framings();
	tls();
	dataconn();
	minimal_client();
	greeting_exact();
	greeting_nonce();
	greeting_errors();
	tls_edges();
	return tap_done();
}
