/*
 * tests/integ/tls_fail.c - TLS failures against a real node (alpha), from
 * a peer driven by hand in the test thread: the handshake machine of
 * engine/net/hs.h and a session of crypto/tls.h over a blocking socket.  The
 * fake peer picks its nonce, and with it the TLS role (§2.7: the smaller
 * nonce line is the client; "+++..." is the smallest Base64 line, "zzz..."
 * the largest).
 *
 * Covered (issue 6, item 3): a peer that announces tls=1.0 and then
 * speaks plaintext; unknown CA detected by alpha as TLS server (after the
 * client finished) and as TLS client, with the alert reaching the peer;
 * alpha as a client whose certificate the peer refuses (the alert arrives
 * while alpha waits for the auth line); a corrupted record after the
 * handshake, which fires alpha's monitors and closes only that
 * connection; more than 4096 bytes before the auth line; and the auth
 * line followed by a large packet in the same TLS write.  Then the
 * failures as counted for the metrics (aemp_stats_get).
 *
 * aemp-test-timeout: 120
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "crypto/tls.h"
#include "engine/net/hs.h"
#include "tests/engine_util.h"

#define SECRET "s3cr3t"

enum role { AS_CLIENT, AS_SERVER };

struct fake {
	int fd;
	struct eng_hs hs;
	struct eng_hs_cfg cfg;
	struct cry_tls_ctx *ctx;
	struct cry_tls *t;
};

static const uint8_t fake_framings[] = {COD_JSON};
static char *const fake_methods[] = {"tls_sha3_512", "hmac_sha3_512"};

static void
log_sink(int level, const char *nodeid, const char *msg, void *arg)
{
	(void)arg;
	tu_logf("[%s] %d %s", nodeid, level, msg);
}

static int
log_has(const char *sub)
{
	int found;

	pthread_mutex_lock(&tu_log.mu);
	found = strstr(tu_log.buf, sub) != NULL;
	pthread_mutex_unlock(&tu_log.mu);
	return found;
}

/* log_line - the rest of the first log line that contains sub, from
 * sub on (static buffer, main thread). */
static const char *
log_line(const char *sub)
{
	static char line[512];
	const char *p, *e;

	pthread_mutex_lock(&tu_log.mu);
	p = strstr(tu_log.buf, sub);
	e = p != NULL ? strchr(p, '\n') : NULL;
	snprintf(line, sizeof(line), "%.*s", e ? (int)(e - p) : 0, p ? p : "");
	pthread_mutex_unlock(&tu_log.mu);
	return line;
}

/* log_level_of - the level of the first log line holding sub ("[id] N
 * text"), or -1. */
static int
log_level_of(const char *sub)
{
	const char *p, *b;
	int level = -1;

	pthread_mutex_lock(&tu_log.mu);
	p = strstr(tu_log.buf, sub);
	for (b = p; b != NULL && b > tu_log.buf && b[-1] != '\n'; b--)
		;
	if (b != NULL && (b = strstr(b, "] ")) != NULL && b < p)
		level = atoi(b + 2);
	pthread_mutex_unlock(&tu_log.mu);
	return level;
}

/* log_count - how many times sub occurs in the log. */
static int
log_count(const char *sub)
{
	const char *p;
	int n = 0;

	pthread_mutex_lock(&tu_log.mu);
	for (p = tu_log.buf; (p = strstr(p, sub)) != NULL; p++)
		n++;
	pthread_mutex_unlock(&tu_log.mu);
	return n;
}

static aemp_node *
mknode(const char *id, const char *cert, aemp_node *seed_of)
{
	aemp_conf *c = NULL;
	aemp_node *n = NULL;
	char addr[256];

	CHECK_OK(aemp_conf_new(&c));
	aemp_conf_set_json(c, "norc", "true");
	aemp_conf_set_str(c, "nodeid", id);
	aemp_conf_set_json(c, "binds", "[\"127.0.0.1:0\"]");
	aemp_conf_set_str(c, "secret", SECRET);
	aemp_conf_set_str(c, "cert", cert);
	aemp_conf_set_json(c, "shards", "2");
	aemp_conf_set_json(c, "monitor_timeout", "5");
	if (seed_of != NULL) {
		aemp_node_listeners(seed_of, addr, sizeof(addr));
		aemp_conf_set_json(c, "seeds", addr);
	}
	if (aemp_node_new(c, &n) < 0) {
		printf("# node %s: %s\n", id, aemp_errmsg());
		exit(1);
	}
	aemp_conf_free(c);
	CHECK_OK(aemp_set_log(n, getenv("AEMP_TEST_LOG") ? 9 : AEMP_LOG_INFO,
	                      log_sink, NULL));
	tu_start(n);
	return n;
}

static int
h_log(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char buf[512];
	aemp_val a = aemp_array(msg, cnt);

	if (cnt == 1 && msg[0].type == AEMP_STR && msg[0].len > 1000) {
		tu_logf("%s got big %u from %s", (const char *)arg, msg[0].len,
		        aemp_srcnode(n));
		return 0;
	}
	tu_logf("%s got %s from %s", (const char *)arg,
	        tu_json(&a, buf, sizeof(buf)), aemp_srcnode(n));
	return 0;
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

/* ---- the fake peer ------------------------------------------------- */

static int
send_all(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;
	ssize_t k;

	while (n > 0) {
		if ((k = send(fd, q, n, MSG_NOSIGNAL)) <= 0)
			return -1;
		q += k;
		n -= (size_t)k;
	}
	return 0;
}

/* fake_flush - send the session's pending ciphertext. */
static int
fake_flush(struct fake *f)
{
	const uint8_t *p;
	size_t n;

	while ((n = cry_tls_pending(f->t, &p)) > 0) {
		if (send_all(f->fd, p, n) < 0)
			return -1;
		cry_tls_consume(f->t, n);
	}
	return 0;
}

/* fake_recv - one read from the socket into the session; 0 on EOF. */
static ssize_t
fake_recv(struct fake *f)
{
	uint8_t buf[16384];
	ssize_t n = recv(f->fd, buf, sizeof(buf), 0);

	if (n > 0 && cry_tls_feed(f->t, buf, (size_t)n) < 0)
		return -1;
	return n;
}

/* fake_open - connect to node's listener and send the greeting; pem:
 * the peer's certificate blob (tls=1.0), NULL for none. */
static void
fake_open(struct fake *f, aemp_node *node, const char *id, const char *pem,
          enum role role)
{
	static const uint8_t plus[3] = {0xfb, 0xef, 0xbe},
	                     zed[3] = {0xcf, 0x3c, 0xf3};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {10, 0};
	uint8_t nonce[ENG_HS_NONCE_BYTES];
	char addr[256];
	const uint8_t *p;
	size_t n, i;

	memset(f, 0, sizeof(*f));
	aemp_node_listeners(node, addr, sizeof(addr));
	sa.sin_port = htons((uint16_t)atoi(strrchr(addr, ':') + 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHECK_OK(connect(f->fd, (struct sockaddr *)&sa, sizeof(sa)));
	for (i = 0; i < sizeof(nonce); i++)
		nonce[i] = (role == AS_CLIENT ? plus : zed)[i % 3];
	f->cfg = (struct eng_hs_cfg){
	        .nodeid = id,
	        .idlen = strlen(id),
	        .secret = SECRET,
	        .secret_len = strlen(SECRET),
	        .have_cert = pem != NULL,
	        .framings = fake_framings,
	        .nframings = 1,
	        .auth_offer = fake_methods,
	        .noffer = 2,
	        .auth_accept = fake_methods,
	        .naccept = 2,
	        .provider = "fake-peer",
	};
	CHECK_OK(eng_hs_init(&f->hs, &f->cfg, addr, nonce));
	if (pem != NULL)
		CHECK_OK(cry_tls_ctx_new(&f->ctx, pem, strlen(pem)));
	p = eng_hs_output(&f->hs, &n);
	CHECK_OK(send_all(f->fd, p, n));
	eng_hs_output_done(&f->hs, n);
}

static void
fake_close(struct fake *f)
{
	close(f->fd);
	cry_tls_free(f->t);
	cry_tls_ctx_free(f->ctx);
	f->t = NULL;
	f->ctx = NULL;
}

/* fake_greet - read the node's greeting up to the TLS decision.  Returns
 * the event (HS_TLS expected) or a negative code. */
static int
fake_greet(struct fake *f)
{
	uint8_t buf[ENG_HS_BUF_MAX];
	ssize_t n;
	int ev;

	for (;;) {
		ev = eng_hs_step(&f->hs);
		if (ev != HS_NEED_MORE && ev != HS_PEER_ID)
			return ev;
		if (ev == HS_PEER_ID)
			continue;
		n = recv(f->fd, buf, eng_hs_room(&f->hs), 0);
		if (n <= 0)
			return -EPIPE;
		CHECK_OK(eng_hs_feed(&f->hs, buf, (size_t)n));
	}
}

/* fake_tls - the TLS handshake.  Returns 1 when complete, or the
 * session's error (< 0). */
static int
fake_tls(struct fake *f)
{
	uint8_t rest[ENG_HS_BUF_MAX];
	size_t n;
	int rc;

	CHECK_OK(cry_tls_new(&f->t, f->ctx, eng_hs_tls_client(&f->hs)));
	n = eng_hs_take_rest(&f->hs, rest, sizeof(rest));
	CHECK_OK(cry_tls_feed(f->t, rest, n));
	while ((rc = cry_tls_handshake(f->t)) == 0) {
		if (fake_flush(f) < 0 || fake_recv(f) <= 0)
			return -EPIPE;
	}
	fake_flush(f);
	return rc;
}

/* fake_auth - send our auth line (plus `extra`, in the same TLS write)
 * and read the node's.  Returns HS_DONE or a negative code. */
static int
fake_auth(struct fake *f, const char *extra)
{
	uint8_t buf[ENG_HS_BUF_MAX + 65536];
	const uint8_t *p;
	ssize_t k;
	size_t n;
	int ev;

	p = eng_hs_output(&f->hs, &n);
	memcpy(buf, p, n);
	memcpy(buf + n, extra, strlen(extra));
	CHECK_EQ(cry_tls_write(f->t, buf, n + strlen(extra)),
	         n + strlen(extra));
	eng_hs_output_done(&f->hs, n);
	fake_flush(f);
	while ((ev = eng_hs_step(&f->hs)) == HS_NEED_MORE) {
		k = cry_tls_read(f->t, buf, eng_hs_room(&f->hs));
		if (k < 0)
			return (int)k;
		if (k > 0)
			CHECK_OK(eng_hs_feed(&f->hs, buf, (size_t)k));
		else if (fake_recv(f) <= 0)
			return -EPIPE;
	}
	return ev;
}

/* fake_tls_error - read until the session fails (the node's alert) or
 * the socket ends; returns the session's text. */
static const char *
fake_tls_error(struct fake *f, int handshake)
{
	uint8_t buf[16384];
	ssize_t k;

	for (;;) {
		k = handshake ? cry_tls_handshake(f->t)
		              : cry_tls_read(f->t, buf, sizeof(buf));
		fake_flush(f);
		if (k < 0)
			return cry_tls_error(f->t);
		if (k > 0 && !handshake)
			continue; /* drain what the session holds first */
		if (fake_recv(f) <= 0)
			return "(end of stream without an alert)";
	}
}

/* A JSON packet for port `to` holding one string of n characters. */
static char *
json_packet(const char *to, size_t n)
{
	size_t len = strlen(to) + n + 16;
	char *s = malloc(len);
	int k = snprintf(s, len, "[\"%s\",\"", to);

	memset(s + k, 'y', n);
	snprintf(s + k + n, len - (size_t)k - n, "\"]");
	return s;
}

/* ---- cases ----------------------------------------------------------- */

/* cert_only - the leading certificate block of an aemp_gencert text. */
static const char *
cert_only(const char *pem, char *buf, size_t cap)
{
	static const char end[] = "-----END CERTIFICATE-----\n";
	size_t n = (size_t)(strstr(pem, end) - pem) + strlen(end);

	snprintf(buf, cap, "%.*s", (int)n, pem);
	return buf;
}

static char *
concat(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	char *s = malloc(n + m + 1);

	memcpy(s, a, n);
	memcpy(s + n, b, m + 1);
	return s;
}

/* plaintext after tls=1.0 on both sides, in each role */
static void
no_tls(aemp_node *a, const char *pem)
{
	static const char *label[] = {"client", "server"};
	struct fake f;
	const uint8_t *p;
	size_t n;
	int r;

	for (r = AS_CLIENT; r <= AS_SERVER; r++) {
		tu_log_reset();
		fake_open(&f, a, "fake", pem, (enum role)r);
		CHECK_EQ(fake_greet(&f), HS_TLS);
		CHECK_EQ(eng_hs_tls_client(&f.hs), r == AS_CLIENT);
		p = eng_hs_output(&f.hs, &n);
		CHECK_OK(send_all(f.fd, p, n)); /* the auth line, in clear */
		CHECK(TU_WAIT(log_has("to fake: TLS handshake: peer does not "
		                      "speak TLS: "),
		              10));
		DIAG("plaintext instead of TLS, peer as %s: %s", label[r],
		     log_line("to fake: "));
		fake_close(&f);
	}
}

/* Alpha is the TLS server and refuses the client's certificate after
 * the client has finished (TLS 1.3); then alpha as TLS client refuses
 * the server's certificate.  Each time the peer gets the alert. */
static void
unknown_ca(aemp_node *a, const char *foreign_trusting_a)
{
	struct fake f;
	int r;

	for (r = AS_CLIENT; r <= AS_SERVER; r++) {
		tu_log_reset();
		fake_open(&f, a, "fake", foreign_trusting_a, (enum role)r);
		CHECK_EQ(fake_greet(&f), HS_TLS);
		if (r == AS_CLIENT) {
			CHECK_EQ(fake_tls(&f), 1);
			CHECK_EQ(fake_auth(&f, ""), AEMP_ETLS);
		} else {
			CHECK_EQ(fake_tls(&f), AEMP_ETLS);
		}
		DIAG("peer as %s got: %s", r == AS_CLIENT ? "client" : "server",
		     cry_tls_error(f.t));
		CHECK(strstr(cry_tls_error(f.t), "peer sent alert") != NULL);
		CHECK(TU_WAIT(log_has("to fake: TLS handshake: unknown CA"),
		              10));
		/* a warning: seen at the default log level */
		CHECK_EQ(log_level_of("to fake: TLS handshake: unknown CA"),
		         AEMP_LOG_WARN);
		fake_close(&f);
	}
}

/* The peer (TLS server) refuses alpha's certificate: alpha, a TLS 1.3
 * client, has finished and waits for the auth line when the alert comes. */
static void
refused_client(aemp_node *a, const char *foreign_alone)
{
	struct fake f;

	tu_log_reset();
	fake_open(&f, a, "fake", foreign_alone, AS_SERVER);
	CHECK_EQ(fake_greet(&f), HS_TLS);
	CHECK_EQ(fake_tls(&f), AEMP_ETLS);
	CHECK(strstr(cry_tls_error(f.t), "unknown CA") != NULL);
	CHECK(TU_WAIT(log_has("to fake: TLS read: peer sent alert"), 10));
	DIAG("alpha: %s", log_line("to fake: "));
	fake_close(&f);
}

/* Over 4096 bytes of plaintext without the auth line. */
static void
flood(aemp_node *a, const char *pem)
{
	static char junk[5000];
	struct fake f;

	tu_log_reset();
	memset(junk, 'j', sizeof(junk));
	fake_open(&f, a, "fake", pem, AS_CLIENT);
	CHECK_EQ(fake_greet(&f), HS_TLS);
	CHECK_EQ(fake_tls(&f), 1);
	CHECK_EQ(cry_tls_write(f.t, (const uint8_t *)junk, sizeof(junk)),
	         sizeof(junk));
	fake_flush(&f);
	CHECK(TU_WAIT(log_has("to fake: handshake input above 4096 bytes"),
	              10));
	fake_close(&f);
}

/* port_name - the name part of a port ID ("node#name"). */
static const char *
port_name(const aemp_id *id)
{
	return strchr(id->s, '#') + 1;
}

/*
 * corrupt - the auth line and a large packet in one TLS write (alpha must
 * keep what follows the auth line for the data phase), a small packet,
 * then a record with one flipped bit: alpha logs the reason, fires its
 * monitors of the peer, closes that connection and sends the alert.
 */
static void
corrupt(aemp_node *a, const char *pem, enum role r)
{
	char *big, *small, line[300];
	const uint8_t *p;
	uint8_t *copy;
	struct fake f;
	aemp_id pa;
	size_t n;

	tu_log_reset();
	CHECK_OK(aemp_port(a, h_log, "pa", &pa));
	big = json_packet(port_name(&pa), 20000);
	small = json_packet(port_name(&pa), 5);
	fake_open(&f, a, "fake", pem, r);
	CHECK_EQ(fake_greet(&f), HS_TLS);
	CHECK_EQ(fake_tls(&f), 1);
	CHECK_EQ(fake_auth(&f, big), HS_DONE);
	CHECK(TU_WAIT(tu_has("pa got big 20000 from fake"), 10));
	CHECK_OK(aemp_mon(a, "fake", mon_log, "a-mon-fake", NULL));
	CHECK_OK(aemp_mon(a, "fake#p1", mon_log, "a-mon-fake-p1", NULL));
	CHECK_EQ(cry_tls_write(f.t, (const uint8_t *)small, strlen(small)),
	         strlen(small));
	fake_flush(&f);
	CHECK(TU_WAIT(tu_has("pa got [\"yyyyy\"] from fake"), 10));
	usleep(50000); /* the monitors reach the connection's shard */
	CHECK_EQ(cry_tls_write(f.t, (const uint8_t *)small, strlen(small)),
	         strlen(small));
	n = cry_tls_pending(f.t, &p);
	copy = malloc(n);
	memcpy(copy, p, n);
	copy[n - 3] ^= 0x10; /* in the AEAD tag */
	CHECK_OK(send_all(f.fd, copy, n));
	cry_tls_consume(f.t, n);
	CHECK(TU_WAIT(log_has("to fake: TLS read: corrupted record"), 10));
	DIAG("alpha: %s", log_line("to fake: TLS"));
	snprintf(line, sizeof(line),
	         "a-mon-fake fired [\"transport_error\","
	         "\"fake\",\"TLS read: ");
	CHECK(TU_WAIT(log_has(line), 10));
	snprintf(line, sizeof(line),
	         "a-mon-fake-p1 fired [\"transport_error\","
	         "\"fake\",\"TLS read: ");
	CHECK(TU_WAIT(log_has(line), 10));
	CHECK(strstr(fake_tls_error(&f, 0), "peer sent alert") != NULL);
	DIAG("peer got: %s", cry_tls_error(f.t));
	/* the corrupted packet was not delivered */
	CHECK_EQ(log_count("pa got [\"yyyyy\"] from fake"), 1);
	CHECK(TU_WAIT(aemp_node_is_up(a, "fake") != 1, 10));
	fake_close(&f);
	free(big);
	free(small);
	free(copy);
}

/* beta's connection to alpha survived all of the above */
static void
still_up(aemp_node *a, aemp_node *b)
{
	aemp_id pb;

	CHECK(aemp_node_is_up(a, "beta") == 1);
	CHECK_OK(aemp_port(b, h_log, "pb", &pb));
	CHECK_OK(aemp_snd(a, pb.s, AEMP_MSG(aemp_str("still there"))));
	CHECK(TU_WAIT(tu_has("pb got [\"still there\"] from alpha"), 10));
}

int
main(void)
{
	char *ec = NULL, *foreign = NULL, *stranger = NULL, *alpha_pem,
	     *trusting;
	static char certbuf[8192];
	aemp_node *a, *b;

	alarm(110);
	CHECK_OK(aemp_gencert(AEMP_CERT_EC256, &ec));
	CHECK_OK(aemp_gencert(AEMP_CERT_EC256, &foreign));
	CHECK_OK(aemp_gencert(AEMP_CERT_EC256, &stranger));
	if (ec == NULL || foreign == NULL || stranger == NULL)
		return 1;
	/* alpha also trusts `foreign`, which does not trust alpha; a
	 * `stranger` that trusts alpha is not trusted by alpha */
	alpha_pem = concat(ec, cert_only(foreign, certbuf, sizeof(certbuf)));
	trusting = concat(stranger, cert_only(ec, certbuf, sizeof(certbuf)));
	a = mknode("alpha", alpha_pem, NULL);
	b = mknode("beta", ec, a);
	CHECK(TU_WAIT(aemp_node_is_up(a, "beta") == 1, 10));

	DIAG("a peer that announces TLS and speaks plaintext");
	no_tls(a, ec);
	DIAG("unknown CA, alpha as TLS server and as TLS client");
	unknown_ca(a, trusting);
	DIAG("alpha's certificate refused by the peer");
	refused_client(a, foreign);
	DIAG("more than 4096 bytes before the auth line");
	flood(a, ec);
	DIAG("a corrupted record after the handshake, peer as TLS client");
	corrupt(a, ec, AS_CLIENT);
	DIAG("a corrupted record after the handshake, peer as TLS server");
	corrupt(a, ec, AS_SERVER);
	still_up(a, b);
	{
		/* the metrics' figures (docs/metrics.md): beta's connection
		 * uses TLS; the failures above were counted by reason */
		aemp_stats st;

		CHECK_OK(aemp_stats_get(a, &st));
		DIAG("alpha: %llu TLS connections, handshakes failed: tls "
		     "%llu, protocol %llu, io %llu",
		     (unsigned long long)st.tls_connections,
		     (unsigned long long)st.hs_failed_tls,
		     (unsigned long long)st.hs_failed_protocol,
		     (unsigned long long)st.hs_failed_io);
		CHECK_EQ(st.tls_connections, 1);
		CHECK(st.hs_failed_tls >= 4);      /* no_tls, unknown_ca */
		CHECK(st.hs_failed_protocol >= 1); /* flood */
	}
	aemp_node_free(b);
	aemp_node_free(a);
	if (tap_failed || getenv("AEMP_TEST_LOG"))
		tu_log_dump();
	aemp_free(ec);
	aemp_free(foreign);
	aemp_free(stranger);
	free(alpha_pem);
	free(trusting);
	return tap_done();
}
