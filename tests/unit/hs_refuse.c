/*
 * tests/unit/hs_refuse.c - every refusal of aemp-protocol.md §2.11 that
 * the handshake state machine detects, with its reason text, and the
 * parsing rules around them: the 4096-byte input bound, CR LF, key=value
 * fields (unknown keys, order, duplicates, the tls value), numeric
 * versions, protocol upgrades, node IDs, extra auth-line fields.  No error
 * text may contain the secret or a token.
 *
 * Threads: single-threaded.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "engine/net/hs.h"
#include "tests/tap.h"

#define OK_L2 "cGVlci1ub25jZQ=="
#define PEER "aemp;1;peer;tls_sha3_512,hmac_sha3_512,tls_anon,cleartext;"

static char *const offer_def[] = {"tls_sha3_512", "hmac_sha3_512"};
static char *const offer_tls[] = {"tls_sha3_512"};
static char *const offer_odd[] = {"cleartext", "hmac_md6_64_256"};
static char *const accept_def[] = {"tls_sha3_512", "hmac_sha3_512", "tls_anon",
                                   "cleartext"};
static const uint8_t fr_def[] = {COD_CBOR, COD_JSON};
static const uint8_t fr_json[] = {COD_JSON};

static struct eng_hs *hs;
static struct eng_hs_cfg cfg;

static void
cfg_set(const char *secret, int cert)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.nodeid = "me";
	cfg.idlen = 2;
	cfg.secret = secret;
	cfg.secret_len = secret ? strlen(secret) : 0;
	cfg.have_cert = cert;
	cfg.framings = fr_def;
	cfg.nframings = 2;
	cfg.auth_offer = offer_def;
	cfg.noffer = 2;
	cfg.auth_accept = accept_def;
	cfg.naccept = 4;
}

static void
start(void)
{
	size_t n;

	CHECK_OK(eng_hs_init(hs, &cfg, NULL, NULL));
	eng_hs_output(hs, &n);
	eng_hs_output_done(hs, n);
}

static int
feed(const char *s)
{
	return eng_hs_feed(hs, (const uint8_t *)s, strlen(s));
}

/* Fresh machine, feed l1 LF; the result of stepping once. */
static int
line1(const char *l1)
{
	start();
	feed(l1);
	feed("\n");
	return eng_hs_step(hs);
}

/* Fresh machine, feed both lines; step past HS_PEER_ID. */
static int
greet(const char *l1, const char *l2)
{
	int rc = line1(l1);

	if (rc != HS_PEER_ID)
		return rc;
	feed(l2);
	feed("\n");
	return eng_hs_step(hs);
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

#define CHECK_REFUSED(call, code, text)                                        \
	do {                                                                   \
		CHECK_ERR((call), (code));                                     \
		CHECK_STREQ(eng_hs_error(hs), (text));                         \
	} while (0)

/* The token the peer must send with method m (peer lines first). */
static void
peer_token(enum cry_auth m, const char *secret, char *out, size_t cap)
{
	struct iovec v[4] = {{hs->r1, hs->r1len},
	                     {hs->r2, hs->r2len},
	                     {hs->l1, hs->l1len},
	                     {hs->l2, hs->l2len}};

	CHECK(cry_auth_token(m, secret, secret ? strlen(secret) : 0, v, out,
	                     cap) >= 0);
}

/* Feed "head TOKEN tail" LF and step; the error text never shows the
 * token or the secret. */
static int
auth(const char *head, const char *tok, const char *tail)
{
	char line[600];
	int rc;

	snprintf(line, sizeof(line), "%s%s%s\n", head, tok, tail);
	feed(line);
	rc = eng_hs_step(hs);
	CHECK(tok[0] == '\0' || strstr(eng_hs_error(hs), tok) == NULL);
	CHECK(strstr(eng_hs_error(hs), "geheim") == NULL);
	CHECK(strstr(eng_hs_error(hs), "67656865696d") == NULL);
	return rc;
}

/* ---- after line 1 ------------------------------------------------------ */

static void
protocols(void)
{
	static const char *const bad[] = {
	        "foo;1;peer;hmac_sha3_512;json", "AEMP;1;peer;x;json",
	        "aemp-;1;peer;x;json",           "aemp-data conn;1;peer;x;json",
	        "aemp-\xc3\xa9;1;peer;x;json",   ";1;peer;x;json",
	        "aemp ;1;peer;x;json",           "",
	};
	static const char dc[] = "aemp-dataconn;1;me;hmac_sha3_512;json";

	DIAG("protocol field");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_ERR(line1(bad[i]), AEMP_EHANDSHAKE);
		CHECK(starts(eng_hs_error(hs),
		             "unparsable greeting, expected 'aemp', got '"));
	}
	line1("\x01x'y;1;peer;x;json");
	CHECK_STREQ(eng_hs_error(hs), "unparsable greeting, expected "
	                              "'aemp', got '?x?y'");
	CHECK_ERR(line1("aemp-x_9;1;peer;x;json"), HS_PEER_ID);
	CHECK_MEMEQ(hs->proto, hs->protolen, "aemp-x_9", 8);
	CHECK_EQ(hs->dataconn, 0);
	CHECK_ERR(line1("aemp-dataconn;1;me;x;json;dataconn_id"), HS_PEER_ID);
	CHECK_EQ(hs->dataconn, 1);
	CHECK(hs->dataconn_id == NULL);
	/* our protocol is aemp-dataconn: "aemp" is fine, another is not */
	CHECK_OK(eng_hs_init_lines(hs, &cfg, dc, strlen(dc), NULL));
	feed("aemp;1;peer;hmac_sha3_512;json\n");
	CHECK_ERR(eng_hs_step(hs), HS_PEER_ID);
	CHECK_MEMEQ(hs->proto, hs->protolen, "aemp-dataconn", 13);
	CHECK_OK(eng_hs_init_lines(hs, &cfg, dc, strlen(dc), NULL));
	feed("aemp-other;1;peer;hmac_sha3_512;json\n");
	CHECK_REFUSED(eng_hs_step(hs), AEMP_EHANDSHAKE,
	              "unparsable greeting, expected 'aemp-dataconn', got "
	              "'aemp-other'");
}

static void
versions(void)
{
	static const char *const good[] = {
	        "1",    "1.0",  " 1", "01",  "+1",    "1e0",    "10e-1",
	        ".1e1", "1abc", "1.", "\t1", "1.000", "0.01E2", "1e",
	};
	static const char *const bad[] = {
	        "2",  "0",   "",    "0x1", "1.5", "-1",           "abc", "+2",
	        "10", "0.1", "1e1", ".",   "e1",  "1.0000000001", "- 1",
	};
	char l1[64];

	DIAG("version compared numerically");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(l1, sizeof(l1), "aemp;%s;peer;x;json", good[i]);
		CHECK_ERR(line1(l1), HS_PEER_ID);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(l1, sizeof(l1), "aemp;%s;peer;x;json", bad[i]);
		CHECK_ERR(line1(l1), AEMP_EHANDSHAKE);
		CHECK(starts(eng_hs_error(hs), "version mismatch"));
	}
	CHECK_REFUSED(line1("aemp"), AEMP_EHANDSHAKE,
	              "version mismatch (we 1, they '')");
	CHECK_REFUSED(line1("aemp;2.0;peer"), AEMP_EHANDSHAKE,
	              "version mismatch (we 1, they '2.0')");
}

static void
node_ids(void)
{
	char l1[400];

	DIAG("node IDs");
	CHECK_REFUSED(line1("aemp;1;me;hmac_sha3_512;json"), AEMP_EHANDSHAKE,
	              "I refuse to talk to myself");
	CHECK_REFUSED(line1("aemp;1;;hmac_sha3_512;json"), AEMP_EHANDSHAKE,
	              "invalid node ID (empty)");
	CHECK_REFUSED(line1("aemp;1"), AEMP_EHANDSHAKE,
	              "invalid node ID (empty)");
	CHECK_REFUSED(line1("aemp;1;a#b;hmac_sha3_512;json"), AEMP_EHANDSHAKE,
	              "invalid node ID (contains '#')");
	snprintf(l1, sizeof(l1), "aemp;1;%0256d;x;json", 0);
	CHECK_REFUSED(line1(l1), AEMP_EHANDSHAKE,
	              "invalid node ID (256 bytes, limit 255)");
	snprintf(l1, sizeof(l1), "aemp;1;%0255d;x;json", 0);
	CHECK_ERR(line1(l1), HS_PEER_ID);
	CHECK_EQ(hs->peer_idlen, 255);
	CHECK_ERR(line1("aemp;1;anon/8fK2pQ0xZr;x;json"), HS_PEER_ID);
	CHECK_MEMEQ(hs->peer_id, hs->peer_idlen, "anon/8fK2pQ0xZr", 15);
	/* "me" is our ID but the protocol check comes first (§2.5) */
	CHECK_ERR(line1("aemp;3;me;x;json"), AEMP_EHANDSHAKE);
	CHECK(starts(eng_hs_error(hs), "version mismatch"));
}

static void
key_values(void)
{
	static const char *const on[] = {
	        "tls=1.0",
	        "tls=1",
	        "tls=1.9",
	        "tls=1abc",
	        "tls= 1",
	        "provider=x;tls=1.0",
	        "tls=1.0;provider=x",
	        "tls=0;tls=1",
	        "zzz=1;;novalue;=empty;a=b=c;tls=1.0;",
	};
	static const char *const off[] = {
	        "tls=2",         "tls=0",     "tls=0.9", "tls=",
	        "tls=abc",       "tls=-1",    "tls",     "TLS=1",
	        "tls=1.0;tls=0", "tls=1;tls", "xtls=1",
	};
	char l1[200];

	DIAG("key=value fields and the tls key");
	cfg_set("geheim", 1);
	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		snprintf(l1, sizeof(l1), PEER "json;%s", on[i]);
		CHECK_ERR(line1(l1), HS_PEER_ID);
		CHECK_EQ(hs->peer_tls, 1);
	}
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		snprintf(l1, sizeof(l1), PEER "json;%s", off[i]);
		CHECK_ERR(line1(l1), HS_PEER_ID);
		CHECK_EQ(hs->peer_tls, 0);
	}
	CHECK_ERR(greet(PEER "cbor;mproto=9;tls=1.0;x=y", OK_L2), HS_TLS);
	CHECK_ERR(greet(PEER "cbor;mproto=9;x=y", OK_L2), HS_NEED_MORE);
	CHECK_EQ(hs->send_auth, CRY_AUTH_HMAC_SHA3_512);
	cfg_set("geheim", 0);
	CHECK_ERR(greet(PEER "cbor;tls=1.0", OK_L2), HS_NEED_MORE);
	CHECK_EQ(hs->tls, 0);
	CHECK_ERR(line1("aemp-dataconn;1;p;x;json;dataconn_id=a=b;"),
	          HS_PEER_ID);
	CHECK_MEMEQ(hs->dataconn_id, hs->dataconn_idlen, "a=b", 3);
}

/* ---- after line 2 ------------------------------------------------------ */

static void
echo(void)
{
	static const char dc[] = "aemp-dataconn;1;me;hmac_sha3_512;json";
	uint8_t mine[300];
	const uint8_t *o;
	size_t n;

	DIAG("echo attack");
	CHECK_OK(eng_hs_init_lines(hs, &cfg, dc, strlen(dc), NULL));
	o = eng_hs_output(hs, &n);
	memcpy(mine, o, n);
	CHECK_OK(eng_hs_feed(hs, mine, n));
	CHECK_ERR(eng_hs_step(hs), HS_PEER_ID);
	CHECK_REFUSED(eng_hs_step(hs), AEMP_EHANDSHAKE,
	              "authentication error, echo attack?");
	/* same line 1, other nonce: no echo */
	CHECK_OK(eng_hs_init_lines(hs, &cfg, dc, strlen(dc), NULL));
	feed(dc);
	feed("\nAAAA\n");
	CHECK_ERR(eng_hs_step(hs), HS_PEER_ID);
	CHECK_ERR(eng_hs_step(hs), HS_NEED_MORE);
	/* with the node protocol, a reflection is "myself" already */
	start();
	o = eng_hs_output(hs, &n);
	CHECK_EQ(n, 0);
	memcpy(mine, hs->l1, hs->l1len);
	mine[hs->l1len] = '\n';
	CHECK_OK(eng_hs_feed(hs, mine, hs->l1len + 1));
	CHECK_REFUSED(eng_hs_step(hs), AEMP_EHANDSHAKE,
	              "I refuse to talk to myself");
}

static void
negotiation(void)
{
	DIAG("negotiation refusals");
	cfg_set("geheim", 0);
	CHECK_REFUSED(greet("aemp;1;peer;foo,bar,,;json", OK_L2),
	              AEMP_EHANDSHAKE, "no common auth type supported");
	CHECK_REFUSED(greet("aemp;1;peer;tls_sha3_512,tls_anon;json", OK_L2),
	              AEMP_EHANDSHAKE, "no common auth type supported");
	CHECK_REFUSED(greet("aemp;1;peer;;json", OK_L2), AEMP_EHANDSHAKE,
	              "no common auth type supported");
	CHECK_REFUSED(greet("aemp;1;peer", OK_L2), AEMP_EHANDSHAKE,
	              "no common auth type supported");
	cfg.auth_offer = offer_tls;
	cfg.noffer = 1;
	CHECK_REFUSED(greet(PEER "json", OK_L2), AEMP_EHANDSHAKE,
	              "no common auth type supported");
	cfg_set("geheim", 0);
	CHECK_REFUSED(greet(PEER "storable", OK_L2), AEMP_EHANDSHAKE,
	              "no common framing method supported");
	CHECK_REFUSED(greet(PEER "JSON,json ,", OK_L2), AEMP_EHANDSHAKE,
	              "no common framing method supported");
	CHECK_REFUSED(greet(PEER, OK_L2), AEMP_EHANDSHAKE,
	              "no common framing method supported");
	cfg.framings = fr_json;
	cfg.nframings = 1;
	CHECK_REFUSED(greet(PEER "cbor,storable", OK_L2), AEMP_EHANDSHAKE,
	              "no common framing method supported");
	CHECK_ERR(greet(PEER "storable,cbor,json", OK_L2), HS_NEED_MORE);
	CHECK_EQ(hs->send_framing, COD_JSON);
}

static void
send_methods(void)
{
	DIAG("what we may send");
	cfg_set(NULL, 0);
	CHECK_REFUSED(greet(PEER "json", OK_L2), AEMP_EHANDSHAKE,
	              "unable to handshake TLS and no shared secret "
	              "configured");
	cfg_set("", 0);
	CHECK_REFUSED(greet(PEER "json", OK_L2), AEMP_EHANDSHAKE,
	              "unable to handshake TLS and no shared secret "
	              "configured");
	cfg_set("geheim", 1);
	CHECK_REFUSED(greet("aemp;1;peer;hmac_sha3_512,tls_sha3_512;json;"
	                    "tls=1.0",
	                    OK_L2),
	              AEMP_EHANDSHAKE,
	              "fatal, selected unsupported snd auth method");
	cfg_set("geheim", 0);
	cfg.auth_offer = offer_odd;
	cfg.noffer = 2;
	CHECK_REFUSED(greet(PEER "json", OK_L2), AEMP_EHANDSHAKE,
	              "fatal, selected unsupported snd auth method");
	CHECK_REFUSED(greet("aemp;1;peer;hmac_md6_64_256;json", OK_L2),
	              AEMP_EHANDSHAKE,
	              "fatal, selected unsupported snd auth method");
}

/* ---- the peer's auth line --------------------------------------------- */

/* Greet freshly (cfg as set), then feed head TOKEN tail where TOKEN is
 * the correct token of method m, mangled by how. */
enum mangle { M_NONE, M_FLIP, M_UPPER, M_SHORT, M_SPACE, M_OURS };

static int
auth_case(const char *l1, enum cry_auth m, enum mangle how, const char *head,
          const char *tail)
{
	char tok[CRY_TOKEN_HEX_MAX + 2];
	int rc = greet(l1, OK_L2);
	size_t n;

	if (rc != HS_NEED_MORE && rc != HS_TLS)
		return rc;
	peer_token(m, cfg.secret, tok, sizeof(tok));
	n = strlen(tok);
	if (how == M_FLIP)
		tok[n / 2] = tok[n / 2] == '0' ? '1' : '0';
	for (size_t i = 0; how == M_UPPER && i < n; i++)
		tok[i] = tok[i] >= 'a' && tok[i] <= 'f' ? tok[i] - 32 : tok[i];
	if (how == M_SHORT)
		tok[n - 1] = '\0';
	if (how == M_SPACE)
		strcat(tok, " ");
	if (how == M_OURS) { /* our own token reflected back */
		const uint8_t *o = eng_hs_output(hs, &n);

		n = strcspn((const char *)o + 14, ";");
		memcpy(tok, o + 14, n);
		tok[n] = '\0';
	}
	return auth(head, tok, tail);
}

#define HMAC CRY_AUTH_HMAC_SHA3_512
#define MISMATCH "authentication failure/shared secret mismatch"

static void
auth_unknown(void)
{
	static const char *const unknown[] = {
	        "hmac_md6_64_256;x;json", "", "HMAC_SHA3_512;x;json", ";;",
	        "hmac_sha3_512 ;x;json",
	};

	DIAG("unknown methods in the auth line");
	cfg_set("geheim", 0);
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		CHECK_ERR(greet(PEER "json", OK_L2), HS_NEED_MORE);
		CHECK_REFUSED(auth(unknown[i], "", ""), AEMP_EHANDSHAKE,
		              "fatal, selected unsupported rcv auth method");
	}
}

static void
auth_hmac(void)
{
	static const char h[] = "hmac_sha3_512;";
	static const enum mangle bad[] = {M_FLIP, M_UPPER, M_SHORT, M_SPACE,
	                                  M_OURS};

	DIAG("hmac_sha3_512 and cleartext tokens");
	cfg_set("geheim", 0);
	CHECK_ERR(auth_case(PEER "json", HMAC, M_NONE, h, ";json"), HS_DONE);
	CHECK_EQ(hs->recv_framing, COD_JSON);
	CHECK_EQ(hs->recv_auth, HMAC);
	CHECK_ERR(auth_case(PEER "json", HMAC, M_NONE, h, ";cbor;x;y"),
	          HS_DONE);
	CHECK_EQ(hs->recv_framing, COD_CBOR);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_REFUSED(auth_case(PEER "json", HMAC, bad[i], h, ";json"),
		              AEMP_EAUTH, MISMATCH);
	CHECK_ERR(greet(PEER "json", OK_L2), HS_NEED_MORE);
	CHECK_REFUSED(auth("hmac_sha3_512", "", ""), AEMP_EAUTH, MISMATCH);
	CHECK_ERR(greet(PEER "json", OK_L2), HS_NEED_MORE);
	CHECK_REFUSED(auth("hmac_sha3_512;;json", "", ""), AEMP_EAUTH,
	              MISMATCH);
	CHECK_ERR(greet(PEER "json", OK_L2), HS_NEED_MORE);
	CHECK_ERR(auth("cleartext;", "67656865696d", ";json"), HS_DONE);
	CHECK_EQ(hs->recv_auth, CRY_AUTH_CLEARTEXT);
	CHECK_ERR(greet(PEER "json", OK_L2), HS_NEED_MORE);
	CHECK_REFUSED(auth("cleartext;", "67656865696D", ";json"), AEMP_EAUTH,
	              MISMATCH);
	CHECK_ERR(greet(PEER "json", OK_L2), HS_NEED_MORE);
	CHECK_REFUSED(auth("cleartext;;json", "", ""), AEMP_EAUTH, MISMATCH);
	/* the token is checked before the framing */
	CHECK_REFUSED(auth_case(PEER "json", HMAC, M_FLIP, h, ";storable"),
	              AEMP_EAUTH, MISMATCH);
	CHECK_REFUSED(auth_case(PEER "json", HMAC, M_NONE, h, ";storable"),
	              AEMP_EHANDSHAKE, "unusable remote framing");
	CHECK_REFUSED(auth_case(PEER "json", HMAC, M_NONE, h, ""),
	              AEMP_EHANDSHAKE, "unusable remote framing");
	CHECK_REFUSED(auth_case(PEER "json", HMAC, M_NONE, h, ";JSON"),
	              AEMP_EHANDSHAKE, "unusable remote framing");
	/* tls_* never match without TLS */
	CHECK_REFUSED(auth_case(PEER "json", CRY_AUTH_TLS_SHA3_512, M_NONE,
	                        "tls_sha3_512;", ";json"),
	              AEMP_EAUTH, MISMATCH);
	CHECK_ERR(greet(PEER "json", OK_L2), HS_NEED_MORE);
	CHECK_REFUSED(auth("tls_anon;;json", "", ""), AEMP_EAUTH, MISMATCH);
}

static void
auth_tls(void)
{
	static const char t[] = PEER "json;tls=1.0";

	DIAG("auth lines inside TLS");
	cfg_set("geheim", 1);
	CHECK_ERR(auth_case(t, CRY_AUTH_TLS_SHA3_512, M_NONE, "tls_sha3_512;",
	                    ";json"),
	          HS_DONE);
	CHECK_EQ(hs->recv_auth, CRY_AUTH_TLS_SHA3_512);
	CHECK_REFUSED(auth_case(t, CRY_AUTH_TLS_SHA3_512, M_FLIP,
	                        "tls_sha3_512;", ";json"),
	              AEMP_EAUTH, MISMATCH);
	CHECK_ERR(auth_case(t, HMAC, M_NONE, "hmac_sha3_512;", ";json"),
	          HS_DONE);
	CHECK_ERR(greet(t, OK_L2), HS_TLS);
	CHECK_ERR(auth("tls_anon;;cbor", "", ""), HS_DONE);
	CHECK_EQ(hs->recv_auth, CRY_AUTH_TLS_ANON);
	CHECK_ERR(greet(t, OK_L2), HS_TLS);
	CHECK_REFUSED(auth("tls_anon;x;cbor", "", ""), AEMP_EAUTH, MISMATCH);
	/* no secret: secret-based methods can never match */
	cfg_set(NULL, 1);
	CHECK_ERR(greet(t, OK_L2), HS_TLS);
	CHECK_REFUSED(auth("cleartext;;json", "", ""), AEMP_EAUTH, MISMATCH);
	CHECK_ERR(greet(t, OK_L2), HS_TLS);
	CHECK_REFUSED(auth("hmac_sha3_512;", "00", ";json"), AEMP_EAUTH,
	              MISMATCH);
}

/* ---- input handling --------------------------------------------------- */

static void
overflow(void)
{
	static const char want[] = "read buffer overflow (more than 4096 "
	                           "bytes unconsumed during the handshake)";
	uint8_t *big = malloc(8192);
	char *l1 = malloc(8192);
	size_t n;

	DIAG("the 4096-byte bound");
	cfg_set("geheim", 0);
	memset(big, 'x', 8192);
	start();
	CHECK_EQ(eng_hs_room(hs), 4096);
	CHECK_OK(eng_hs_feed(hs, big, 4096));
	CHECK_EQ(eng_hs_room(hs), 0);
	CHECK_ERR(eng_hs_step(hs), HS_NEED_MORE);
	CHECK_REFUSED(eng_hs_feed(hs, big, 1), AEMP_EOVERFLOW, want);
	CHECK_ERR(eng_hs_step(hs), AEMP_EOVERFLOW);
	CHECK_ERR(eng_hs_feed(hs, big, 0), AEMP_EOVERFLOW);
	start();
	CHECK_ERR(eng_hs_feed(hs, big, 4097), AEMP_EOVERFLOW);
	/* a 4095-byte line 1 plus LF fits exactly */
	n = (size_t)snprintf(l1, 8192, PEER "json;pad=");
	memset(l1 + n, 'p', 4095 - n);
	l1[4095] = '\n';
	start();
	CHECK_OK(eng_hs_feed(hs, (const uint8_t *)l1, 4096));
	CHECK_ERR(eng_hs_step(hs), HS_PEER_ID);
	CHECK_EQ(hs->r1len, 4095);
	start();
	l1[4095] = 'p';
	l1[4096] = '\n';
	CHECK_ERR(eng_hs_feed(hs, (const uint8_t *)l1, 4097), AEMP_EOVERFLOW);
	/* while waiting for the auth line */
	CHECK_ERR(greet(PEER "json", OK_L2), HS_NEED_MORE);
	CHECK_OK(eng_hs_feed(hs, big, 4096));
	CHECK_ERR(eng_hs_step(hs), HS_NEED_MORE);
	CHECK_ERR(eng_hs_feed(hs, big, 1), AEMP_EOVERFLOW);
	free(big);
	free(l1);
}

static void
line_endings(void)
{
	char tok[CRY_TOKEN_HEX_MAX];

	DIAG("CR LF and other line endings");
	cfg_set("geheim", 0);
	start();
	feed(PEER "json;x=a\rb\r\n" OK_L2 "\r\r\n");
	CHECK_ERR(eng_hs_step(hs), HS_PEER_ID);
	CHECK_EQ(hs->r1[hs->r1len - 1], 'b');
	CHECK_ERR(eng_hs_step(hs), HS_NEED_MORE);
	CHECK_EQ(hs->r2len, strlen(OK_L2) + 1);
	CHECK_EQ(hs->r2[hs->r2len - 1], '\r');
	peer_token(HMAC, "geheim", tok, sizeof(tok));
	CHECK_ERR(auth("hmac_sha3_512;", tok, ";json\r"), HS_DONE);
	CHECK_EQ(hs->recv_framing, COD_JSON);
	/* a bare CR ends nothing */
	start();
	feed(PEER "json\r" OK_L2 "\r");
	CHECK_ERR(eng_hs_step(hs), HS_NEED_MORE);
	/* an empty line 2 is a nonce like any other */
	CHECK_ERR(greet(PEER "json", ""), HS_NEED_MORE);
}

static void
sticky(void)
{
	uint8_t rest[64];
	char tok[CRY_TOKEN_HEX_MAX];
	size_t n;

	DIAG("final states");
	CHECK_ERR(line1("foo;1;x;y;z"), AEMP_EHANDSHAKE);
	CHECK_ERR(eng_hs_step(hs), AEMP_EHANDSHAKE);
	CHECK_ERR(feed("aemp;1;x\n"), AEMP_EHANDSHAKE);
	CHECK(starts(eng_hs_error(hs), "unparsable greeting"));
	CHECK_ERR(greet(PEER "json", OK_L2), HS_NEED_MORE);
	CHECK_STREQ(eng_hs_error(hs), "");
	peer_token(HMAC, "geheim", tok, sizeof(tok));
	CHECK_ERR(auth("hmac_sha3_512;", tok, ";json\n[1]"), HS_DONE);
	CHECK_OK(feed("[2]"));
	CHECK_ERR(eng_hs_step(hs), HS_DONE);
	n = eng_hs_take_rest(hs, rest, sizeof(rest));
	CHECK_MEMEQ(rest, n, "[1]\n[2]", 7);
	CHECK_EQ(eng_hs_take_rest(hs, rest, sizeof(rest)), 0);
}

int
main(void)
{
	hs = calloc(1, sizeof(*hs));
	cfg_set("geheim", 0);
	protocols();
	versions();
	node_ids();
	key_values();
	cfg_set("geheim", 0);
	echo();
	negotiation();
	send_methods();
	auth_unknown();
	auth_hmac();
	auth_tls();
	overflow();
	line_endings();
	sticky();
	free(hs);
	return tap_done();
}
