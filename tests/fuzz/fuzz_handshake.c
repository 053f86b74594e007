/*
 * tests/fuzz/fuzz_handshake.c - libFuzzer target for the handshake state
 * machine (engine/net/hs.c).
 *
 * Byte 0 picks the setup: bits 0-1 the mode, bit 2 our framings (json
 * only, or cbor,json), bits 3-7 seed the sizes of the input pieces.
 *   mode 0  raw peer bytes; we have a secret, no certificate
 *   mode 1  raw peer bytes; certificate, no secret
 *   mode 2  raw peer bytes; certificate and secret
 *   mode 3  the input is the peer's line 1 LF line 2 LF, then one
 *           selector byte (bits 0-1 method: hmac, cleartext,
 *           tls_sha3_512, tls_anon; bit 2 framing cbor/json; bit 3 CR LF;
 *           bit 4 we have a certificate) and the first data bytes.  A
 *           correct auth line is computed for the peer, so the handshake
 *           must finish exactly when the method is usable, and the data
 *           must come out of eng_hs_take_rest unchanged.
 * TLS is simulated as the identity: bytes left over at HS_TLS are fed
 * back as plaintext.  Every result is checked against the contract of
 * engine/net/hs.h; a violation aborts.
 *
 * Seeds in tests/fuzz/corpus/fuzz_handshake/ come from the recorded
 * transcripts.  Build: make FLAVOR=fuzz fuzz-build.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "engine/net/hs.h"

#define SECRET "geheim"

static char *const offer[] = {"tls_sha3_512", "hmac_sha3_512", "tls_anon"};
static char *const accept_all[] = {"tls_sha3_512", "hmac_sha3_512", "tls_anon",
                                   "cleartext"};
static const uint8_t fr_json[] = {COD_JSON};
static const uint8_t fr_both[] = {COD_CBOR, COD_JSON};

struct run {
	struct eng_hs hs;
	struct eng_hs_cfg cfg;
	uint32_t rnd; /* piece sizes */
	int rc;
	uint8_t got[1 << 16]; /* data taken after HS_DONE */
	size_t gotlen;
	const uint8_t *input; /* the whole fuzz input */
	size_t inputlen;
};

static struct run R;

#define REQUIRE(x)                                                             \
	do {                                                                   \
		if (!(x))                                                      \
			abort();                                               \
	} while (0)

static size_t
piece(struct run *r)
{
	r->rnd = r->rnd * 1103515245u + 12345u;
	return 1 + (r->rnd >> 16) % 97;
}

static void
setup(struct run *r, uint8_t b0, const char *secret, int cert)
{
	static const uint8_t nonce[ENG_HS_NONCE_BYTES] = {1, 2, 3};

	memset(&r->cfg, 0, sizeof(r->cfg));
	r->cfg.nodeid = "me";
	r->cfg.idlen = 2;
	r->cfg.secret = secret;
	r->cfg.secret_len = secret ? strlen(secret) : 0;
	r->cfg.have_cert = cert;
	r->cfg.framings = b0 & 4 ? fr_json : fr_both;
	r->cfg.nframings = b0 & 4 ? 1 : 2;
	r->cfg.auth_offer = offer;
	r->cfg.noffer = 3;
	r->cfg.auth_accept = accept_all;
	r->cfg.naccept = 4;
	r->rnd = b0 >> 3;
	r->rc = HS_NEED_MORE;
	r->gotlen = 0;
	REQUIRE(eng_hs_init(&r->hs, &r->cfg, "127.0.0.1:1", nonce) == 0);
}

static void
check_error(struct run *r)
{
	const char *e = eng_hs_error(&r->hs);

	REQUIRE(r->rc == AEMP_EHANDSHAKE || r->rc == AEMP_EAUTH ||
	        r->rc == AEMP_EOVERFLOW);
	REQUIRE(e[0] != '\0' && strlen(e) < sizeof(r->hs.err));
	/* peer text is quoted (bounded): the secret may show only if the
	 * peer itself sent it */
	REQUIRE(strstr(e, SECRET) == NULL ||
	        memmem(r->input, r->inputlen, SECRET, strlen(SECRET)) != NULL);
	REQUIRE(eng_hs_step(&r->hs) == r->rc);
}

/* Step until more input is needed or the end; invariants after each. */
static void
pump(struct run *r)
{
	uint8_t buf[ENG_HS_BUF_MAX];
	size_t n;

	for (;;) {
		r->rc = eng_hs_step(&r->hs);
		REQUIRE(r->hs.inlen <= ENG_HS_BUF_MAX);
		eng_hs_output(&r->hs, &n);
		REQUIRE(eng_hs_output_plain(&r->hs) <= n);
		eng_hs_output_done(&r->hs, n);
		if (r->rc == HS_PEER_ID) {
			REQUIRE(r->hs.peer_idlen > 0 &&
			        r->hs.peer_idlen < AEMP_ID_MAX);
			REQUIRE(memchr(r->hs.peer_id, '#', r->hs.peer_idlen) ==
			        NULL);
			continue;
		}
		if (r->rc != HS_TLS)
			break;
		REQUIRE(r->hs.tls && r->cfg.have_cert && r->hs.peer_tls);
		n = eng_hs_take_rest(&r->hs, buf, sizeof(buf));
		REQUIRE(eng_hs_feed(&r->hs, buf, n) == 0);
	}
	if (r->rc == HS_DONE) {
		REQUIRE(r->hs.recv_framing == COD_JSON ||
		        r->hs.recv_framing == COD_CBOR);
		n = eng_hs_take_rest(&r->hs, r->got + r->gotlen,
		                     sizeof(r->got) - r->gotlen);
		r->gotlen += n;
	} else if (r->rc < 0) {
		check_error(r);
	} else {
		REQUIRE(r->rc == HS_NEED_MORE);
	}
}

/* Feed p[0..n) in pieces, stepping in between. */
static void
feed_all(struct run *r, const uint8_t *p, size_t n)
{
	while (n > 0 && r->rc >= 0) {
		size_t k = piece(r);

		k = k < n ? k : n;
		if (eng_hs_room(&r->hs) > 0 && k > eng_hs_room(&r->hs))
			k = eng_hs_room(&r->hs);
		if (eng_hs_feed(&r->hs, p, k) < 0) {
			REQUIRE(k > eng_hs_room(&r->hs));
			r->rc = AEMP_EOVERFLOW;
			check_error(r);
			return;
		}
		p += k;
		n -= k;
		pump(r);
	}
}

/* The peer's auth line for selector s, or 0 if none can be made. */
static size_t
peer_auth(struct run *r, uint8_t s, char *line, size_t cap)
{
	static const enum cry_auth m[] = {
	        CRY_AUTH_HMAC_SHA3_512, CRY_AUTH_CLEARTEXT,
	        CRY_AUTH_TLS_SHA3_512, CRY_AUTH_TLS_ANON};
	struct eng_hs *h = &r->hs;
	struct iovec v[4] = {{h->r1, h->r1len},
	                     {h->r2, h->r2len},
	                     {h->l1, h->l1len},
	                     {h->l2, h->l2len}};
	char tok[CRY_TOKEN_HEX_MAX];
	enum cry_auth a = m[s & 3];
	int n;

	n = cry_auth_token(a, SECRET, strlen(SECRET), v, tok, sizeof(tok));
	REQUIRE(n >= 0);
	n = snprintf(line, cap, "%s;%s;%s%s", cry_auth_name(a), tok,
	             s & 4 ? "json" : "cbor", s & 8 ? "\r\n" : "\n");
	REQUIRE(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

static void
mode_auth(struct run *r, uint8_t b0, const uint8_t *p, size_t n)
{
	const uint8_t *lf = memchr(p, '\n', n), *end = p + n;
	char line[256];
	uint8_t s;
	size_t len;
	int usable;

	if (lf != NULL)
		lf = memchr(lf + 1, '\n', (size_t)(end - lf - 1));
	if (lf == NULL || lf + 1 == end)
		return;
	s = lf[1];
	setup(r, b0, SECRET, s & 16);
	feed_all(r, p, (size_t)(lf + 1 - p));
	if (r->rc != HS_NEED_MORE || r->hs.send_auth == CRY_AUTH_NONE)
		return; /* refused, or lines our machine saw differently */
	len = peer_auth(r, s, line, sizeof(line));
	usable = (s & 3) < 2 || r->hs.tls;
	feed_all(r, (const uint8_t *)line, len);
	REQUIRE(r->rc == (usable ? HS_DONE : AEMP_EAUTH));
	if (!usable)
		return;
	REQUIRE(r->hs.recv_framing == (s & 4 ? COD_JSON : COD_CBOR));
	feed_all(r, lf + 2, (size_t)(end - lf - 2));
	REQUIRE(r->rc == HS_DONE);
	REQUIRE(r->gotlen == (size_t)(end - lf - 2));
	REQUIRE(memcmp(r->got, lf + 2, r->gotlen) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run *r = &R;

	if (size < 1 || size > sizeof(r->got))
		return 0;
	r->input = data;
	r->inputlen = size;
	switch (data[0] & 3) {
	case 0:
		setup(r, data[0], SECRET, 0);
		break;
	case 1:
		setup(r, data[0], NULL, 1);
		break;
	case 2:
		setup(r, data[0], SECRET, 1);
		break;
	default:
		mode_auth(r, data[0], data + 1, size - 1);
		return 0;
	}
	feed_all(r, data + 1, size - 1);
	return 0;
}
