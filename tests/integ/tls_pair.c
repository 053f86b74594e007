/*
 * tests/integ/tls_pair.c - TLS between two nodes in one process over
 * loopback (aemp-protocol.md §2.6-§2.8): nodes sharing a generated
 * certificate talk TLS with tls_sha3_512 in every framing combination
 * (small, large and queued-before-connect messages, remote monitors, the
 * transport error when a node goes away); a node with a certificate and
 * one with only a secret fall back to hmac_sha3_512; unrelated
 * certificates are refused with "unknown CA" on one side and the alert
 * seen on the other; a certificate without a secret cannot talk to a
 * node without one.  The tls_sha3_512 tokens of §2.12 are checked in
 * tests/unit/crypto_auth.c and tests/unit/hs_vectors.c.
 *
 * aemp-test-timeout: 150
 */
#include "engine/net/netint.h"
#include "tests/engine_util.h"

/* What a node is given: framings (JSON list), certificate, secret. */
struct spec {
	const char *id;
	const char *framing;
	const char *cert;   /* NULL: none */
	const char *secret; /* NULL: none */
};

static void
log_sink(int level, const char *nodeid, const char *msg, void *arg)
{
	(void)arg;
	tu_logf("[%s] %d %s", nodeid, level, msg);
}

/* log_line - the first log line that contains sub, from sub on (static
 * buffer, main thread). */
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

/* log_has - 1 if some log line contains sub. */
static int
log_has(const char *sub)
{
	int found;

	pthread_mutex_lock(&tu_log.mu);
	found = strstr(tu_log.buf, sub) != NULL;
	pthread_mutex_unlock(&tu_log.mu);
	return found;
}

static aemp_node *
mknode(const struct spec *s, aemp_node *seed_of)
{
	aemp_conf *c = NULL;
	aemp_node *n = NULL;
	char addr[256];
	int rc;

	CHECK_OK(aemp_conf_new(&c));
	aemp_conf_set_json(c, "norc", "true");
	aemp_conf_set_str(c, "nodeid", s->id);
	aemp_conf_set_json(c, "binds", "[\"127.0.0.1:0\"]");
	if (s->secret != NULL)
		aemp_conf_set_str(c, "secret", s->secret);
	if (s->cert != NULL)
		aemp_conf_set_str(c, "cert", s->cert);
	aemp_conf_set_json(c, "framing_format", s->framing);
	aemp_conf_set_json(c, "shards", "2");
	aemp_conf_set_json(c, "monitor_timeout", "5");
	if (seed_of != NULL) {
		aemp_node_listeners(seed_of, addr, sizeof(addr));
		aemp_conf_set_json(c, "seeds", addr);
	}
	rc = aemp_node_new(c, &n);
	aemp_conf_free(c);
	if (rc < 0) {
		printf("# node %s: %s (%s)\n", s->id, aemp_strerror(rc),
		       aemp_errmsg());
		exit(1);
	}
	CHECK_OK(aemp_set_log(n, getenv("AEMP_TEST_LOG") ? 9 : AEMP_LOG_INFO,
	                      log_sink, NULL));
	return n;
}

static int
h_log(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char buf[512];
	aemp_val a = aemp_array(msg, cnt);

	if (cnt == 2 && msg[1].type == AEMP_STR && msg[1].len > 1000) {
		tu_logf("%s got big %u from %s", (const char *)arg, msg[1].len,
		        aemp_srcnode(n));
		return 0;
	}
	tu_logf("%s got %s from %s", (const char *)arg,
	        tu_json(&a, buf, sizeof(buf)), aemp_srcnode(n));
	return 0;
}

/* Replies to the port ID in element 0 with "re" and element 1. */
static int
h_echo(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char to[AEMP_ID_MAX];

	(void)arg;
	if (cnt < 2 || msg[0].type != AEMP_STR)
		return 0;
	snprintf(to, sizeof(to), "%.*s", (int)msg[0].len, msg[0].u.s);
	return aemp_snd(n, to, AEMP_MSG(aemp_str("re"), msg[1]));
}

/* Counts a burst; logs once when the last one arrives in order. */
static atomic_int burst_next;

static int
h_burst(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	int64_t i = -1;

	(void)n;
	(void)arg;
	if (cnt == 1 && aemp_get_int(&msg[0], &i) == 0 &&
	    i == atomic_load(&burst_next))
		atomic_fetch_add(&burst_next, 1);
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

static void
cal_cb(aemp_node *n, int status, const aemp_val *reply, size_t cnt, void *arg)
{
	char buf[256];
	aemp_val a = aemp_array(reply, cnt);

	(void)n;
	tu_logf("cal %s status=%d %s", (const char *)arg, status,
	        reply ? tu_json(&a, buf, sizeof(buf)) : "none");
}

/* exchange - messages both ways over an established connection. */
static void
exchange(aemp_node *a, aemp_node *b)
{
	static char big[300000];
	aemp_id pa, pb, pc;
	int i, rc, bad = 0;

	CHECK_OK(aemp_port(a, h_echo, NULL, &pa));
	CHECK_OK(aemp_port(b, h_log, "pb", &pb));
	CHECK_OK(
	        aemp_snd(b, pa.s, AEMP_MSG(aemp_str(pb.s), aemp_str("hello"))));
	CHECK(TU_WAIT(tu_has("pb got [\"re\",\"hello\"] from alpha"), 10));
	CHECK_OK(aemp_snd(a, pb.s,
	                  AEMP_MSG(aemp_float(2.5), aemp_int(-7), aemp_bool(1),
	                           aemp_null())));
	CHECK(TU_WAIT(tu_has("pb got [2.5,-7,true,null] from alpha"), 10));
	/* larger than a TLS record, and than a receive buffer */
	memset(big, 'x', sizeof(big) - 1);
	CHECK_OK(aemp_snd(b, pa.s, AEMP_MSG(aemp_str(pb.s), aemp_str(big))));
	CHECK(TU_WAIT(tu_has("pb got big 299999 from alpha"), 10));
	/* a burst, in order */
	atomic_store(&burst_next, 0);
	CHECK_OK(aemp_port(a, h_burst, NULL, &pc));
	for (i = 0; i < 20000; i++) {
		while ((rc = aemp_snd(b, pc.s, AEMP_MSG(aemp_int(i)))) ==
		       -EAGAIN)
			usleep(1000);
		bad += rc != 0;
	}
	CHECK_EQ(bad, 0);
	CHECK(TU_WAIT(atomic_load(&burst_next) == 20000, 20));
	CHECK_EQ(atomic_load(&burst_next), 20000);
}

/* run_pair - alpha and beta (beta seeds from alpha); both must log
 * "authenticated over <over>" and `auth`.  (The cipher suite depends on
 * the wolfSSL build: ChaCha20 without AES-NI, AES-GCM with it.) */
static void
run_pair(const struct spec *sa, const struct spec *sb, const char *over,
         const char *auth)
{
	aemp_node *a, *b;
	aemp_id pa;
	char line[600];

	tu_log_reset();
	a = mknode(sa, NULL);
	b = mknode(sb, a);
	tu_start(a);
	tu_start(b);
	/* queued before the connection is up: the first packets travel
	 * right behind the auth line, often in the same TLS record read */
	CHECK_OK(aemp_cal(b, "alpha", AEMP_MSG(aemp_str("time")), cal_cb,
	                  "early", 10, NULL));
	CHECK(TU_WAIT(aemp_node_is_up(b, "alpha") == 1, 10));
	CHECK(TU_WAIT(aemp_node_is_up(a, "beta") == 1, 10));
	DIAG("%s / %s: connected", sa->framing, sb->framing);
	CHECK(TU_WAIT(strstr(tu_log.buf, "cal early status=0 [1") != NULL, 10));
	snprintf(line, sizeof(line), "to beta: authenticated over %s", over);
	CHECK(log_has(line));
	snprintf(line, sizeof(line), "to alpha: authenticated over %s", over);
	CHECK(log_has(line));
	CHECK(log_has(auth));
	DIAG("%s", log_line("authenticated over"));
	exchange(a, b);

	/* alpha goes away: beta's monitors fire with a transport error */
	CHECK_OK(aemp_port(a, h_log, "last", &pa));
	CHECK_OK(aemp_mon(b, pa.s, mon_log, "b-mon-last", NULL));
	usleep(100000);
	aemp_node_free(a);
	CHECK(TU_WAIT(strstr(tu_log.buf,
	                     "b-mon-last fired "
	                     "[\"transport_error\",\"alpha\",") != NULL,
	              10));
	CHECK(TU_WAIT(aemp_node_is_up(b, "alpha") == 0, 10));
	aemp_node_free(b);
	if (tap_failed || getenv("AEMP_TEST_LOG"))
		tu_log_dump();
}

/*
 * quiet - wait until neither node has a connection in its handshake, so
 * freeing the nodes does not interrupt a refusal being logged.  (Freeing
 * a node while a connection moves between shards is safe: the node frees
 * the hand-over records nobody read.)
 */
static void
quiet(aemp_node *a, aemp_node *b)
{
	CHECK(TU_WAIT(atomic_load(&eng_net(a)->handshakes) == 0 &&
	                      atomic_load(&eng_net(b)->handshakes) == 0,
	              10));
}

/* run_refused - alpha and beta never come up; both texts are logged. */
static void
run_refused(const struct spec *sa, const struct spec *sb, const char *why1,
            const char *why2)
{
	aemp_node *a, *b;

	tu_log_reset();
	a = mknode(sa, NULL);
	b = mknode(sb, a);
	tu_start(a);
	tu_start(b);
	CHECK(TU_WAIT(log_has(why1), 10));
	if (why2 != NULL)
		CHECK(TU_WAIT(log_has(why2), 10));
	CHECK(aemp_node_is_up(b, "alpha") != 1);
	CHECK(aemp_node_is_up(a, "beta") != 1);
	CHECK(!log_has("authenticated over"));
	quiet(a, b);
	aemp_node_free(b);
	aemp_node_free(a);
	if (tap_failed || getenv("AEMP_TEST_LOG"))
		tu_log_dump();
}

static char *
gencert(int kind)
{
	char *pem = NULL;

	CHECK_OK(aemp_gencert(kind, &pem));
	if (pem == NULL)
		exit(1);
	return pem;
}

int
main(void)
{
	static const char *fr[][2] = {
	        {"[\"cbor\",\"json\"]", "[\"cbor\",\"json\"]"},
	        {"[\"json\"]", "[\"json\"]"},
	        {"[\"json\",\"cbor\"]", "[\"cbor\",\"json\"]"},
	        {"[\"json\",\"cbor\"]", "[\"cbor\"]"},
	};
	char *rsa = gencert(AEMP_CERT_RSA2048), *ec = gencert(AEMP_CERT_EC256);
	char *ec2 = gencert(AEMP_CERT_EC256);
	struct spec a, b;
	size_t i;

	alarm(140);
	DIAG("shared certificate and secret: TLS, tls_sha3_512");
	for (i = 0; i < sizeof(fr) / sizeof(fr[0]); i++) {
		a = (struct spec){"alpha", fr[i][0], i % 2 ? ec : rsa,
		                  "s3cr3t"};
		b = (struct spec){"beta", fr[i][1], i % 2 ? ec : rsa, "s3cr3t"};
		run_pair(&a, &b, "TLSv1.3 (TLS13-",
		         "auth sent tls_sha3_512, received tls_sha3_512");
	}
	DIAG("shared certificate, no secret: TLS alone authenticates");
	a = (struct spec){"alpha", fr[0][0], ec, NULL};
	b = (struct spec){"beta", fr[0][1], ec, NULL};
	run_pair(&a, &b, "TLSv1.3 (TLS13-",
	         "auth sent tls_sha3_512, received tls_sha3_512");
	DIAG("certificate on one side only: hmac_sha3_512 in the clear");
	a = (struct spec){"alpha", fr[0][0], ec, "s3cr3t"};
	b = (struct spec){"beta", fr[0][1], NULL, "s3cr3t"};
	run_pair(&a, &b, "plain TCP;",
	         "auth sent hmac_sha3_512, received hmac_sha3_512");

	DIAG("unrelated certificates: unknown CA, and the peer sees the alert");
	a = (struct spec){"alpha", fr[0][0], ec, "s3cr3t"};
	b = (struct spec){"beta", fr[0][1], ec2, "s3cr3t"};
	run_refused(&a, &b, "TLS handshake: unknown CA: peer certificate",
	            "peer sent alert");
	DIAG("certificate without secret against a secret without certificate");
	a = (struct spec){"alpha", fr[0][0], ec, NULL};
	b = (struct spec){"beta", fr[0][1], NULL, "s3cr3t"};
	run_refused(&a, &b,
	            "unable to handshake TLS and no shared secret "
	            "configured",
	            NULL);
	aemp_free(rsa);
	aemp_free(ec);
	aemp_free(ec2);
	return tap_done();
}
