/*
 * tests/integ/fault_hostile.c - hostile peers on the wire (issue 9, item
 * 4), against node "n" (max_packet 4096) and node "sec" (secure mode),
 * both with a registered function Test::func, spawn init Test::init and
 * a port "victim" that counts messages and is monitored:
 *  1. nothing is dispatched before authentication: packets after a wrong
 *     HMAC token, after a wrong cleartext secret, instead of an auth line,
 *     and instead of a greeting, all in one write with the handshake;
 *     the same packets after a correct cleartext auth do arrive;
 *  2. a peer with the wrong secret is refused; an echoed greeting is
 *     refused (the node sends no auth line);
 *  3. only registered functions are reachable: system, exit, eval and
 *     other names do nothing (eval answers "eval not supported"),
 *     Test::func runs; in secure mode neither function-name requests nor
 *     spawn run, and `can` says so;
 *  4. limits: a greeting above 4 KiB, a packet above max_packet and a CBOR
 *     string header claiming 2^63 bytes close the connection (the node's
 *     monitor of that peer fires, memory does not move, other peers are
 *     served);
 *  5. neither the secret nor its hex form (the cleartext token) nor any
 *     line of a TLS private key appears in any log line of any node, at
 *     log level 9 (trace);
 *  6. a node freed while a connection is still in its handshake (the
 *     peer has read the node's greeting and said nothing) frees cleanly.
 *
 * aemp-test-timeout: 60
 */
#include "tests/integ/peer.h"
#include "tests/integ/procs.h"

#define SECRET "hostile-secret-Zq0c81LmQX"
#define NONCE                                                                  \
	"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5" \
	"ejAxMjM0NTY3ODkrLw=="

static atomic_int victim_msgs, victim_died, func_calls[2], init_calls[2];
static aemp_node *nodes[2];
static char hex_secret[2 * sizeof(SECRET)];

static int
which(aemp_node *n)
{
	return n == nodes[1];
}

static int
h_victim(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	(void)n;
	(void)msg;
	(void)cnt;
	(void)arg;
	atomic_fetch_add(&victim_msgs, 1);
	return 0;
}

static int
f_func(aemp_node *n, const aemp_val *args, size_t cnt, void *arg)
{
	(void)args;
	(void)cnt;
	(void)arg;
	atomic_fetch_add(&func_calls[which(n)], 1);
	return 0;
}

static int
f_init(aemp_node *n, const aemp_val *args, size_t cnt, void *arg)
{
	(void)args;
	(void)cnt;
	(void)arg;
	atomic_fetch_add(&init_calls[which(n)], 1);
	return aemp_rcv(n, aemp_self(n), h_victim, NULL);
}

static void
on_death(aemp_node *n, const aemp_val *reason, size_t cnt, void *arg)
{
	(void)n;
	(void)reason;
	(void)cnt;
	atomic_fetch_add((atomic_int *)arg, 1);
}

static aemp_node *
mknode(const char *id, const char *extra)
{
	char conf[512], port[64];
	aemp_node *n;

	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"" SECRET "\","
	         "\"shards\":2,\"monitor_timeout\":3%s}",
	         extra);
	n = tu_node_json(id, conf);
	CHECK_OK(aemp_set_log(n, AEMP_LOG_TRACE, tu_capture_sink, NULL));
	CHECK_OK(aemp_register(n, "Test::func", f_func, NULL));
	CHECK_OK(aemp_register(n, "Test::init", f_init, NULL));
	snprintf(port, sizeof(port), "%s#victim", id);
	CHECK_OK(aemp_rcv(n, port, h_victim, NULL));
	CHECK_OK(aemp_mon(n, port, on_death, &victim_died, NULL));
	tu_start(n);
	return n;
}

/* raw - dial addr, send text, and report whether the node closed the
 * connection within 2 s; the node's lines read meanwhile go to seen. */
static int
raw(const char *addr, const char *text, size_t len, char *seen, size_t cap)
{
	struct peer p;
	int closed = -1;
	size_t n = 0;
	char line[4200];

	if (peer_dial(&p, addr) == 0 && peer_write(&p, text, len) == 0) {
		while (n < cap &&
		       peer_read_line(&p, line, sizeof(line), 0.5) >= 0)
			n += (size_t)snprintf(seen + n, cap - n, "%s\n", line);
		closed = peer_closed(&p, 2);
	}
	peer_close(&p);
	return closed;
}

#define PACKETS                                                                \
	"[\"victim\",\"before auth\"][\"\",\"kil1\",\"victim\",\"x\"]"         \
	"[\"\",\"Test::func\"][\"\",\"AnyEvent::MP::_spawn\",\"Xs\","          \
	"\"Test::init\"]\n"
#define GREETING "aemp;1;evil;hmac_sha3_512,cleartext;json\n" NONCE "\n"

static void
before_auth(const char *addr)
{
	static const char *const bad[] = {
	        GREETING "hmac_sha3_512;00ff;json\n" PACKETS,
	        GREETING "cleartext;6e6f7065;json\n" PACKETS,
	        GREETING PACKETS,
	        PACKETS GREETING,
	};
	char text[1024], seen[8192];
	size_t i;

	for (i = 0; i < AEMP_ARRAY_LEN(bad); i++) {
		CHECK_EQ(raw(addr, bad[i], strlen(bad[i]), seen, sizeof(seen)),
		         1);
	}
	usleep(200000);
	CHECK_EQ(atomic_load(&victim_msgs), 0);
	CHECK_EQ(atomic_load(&victim_died), 0);
	CHECK_EQ(atomic_load(&func_calls[0]), 0);
	CHECK_EQ(atomic_load(&init_calls[0]), 0);
	/* the same bytes after a correct cleartext auth line do arrive */
	snprintf(text, sizeof(text), GREETING "cleartext;%s;json\n%s",
	         hex_secret,
	         "[\"victim\",\"after auth\"][\"\",\"Test::func\"]");
	raw(addr, text, strlen(text), seen, sizeof(seen));
	CHECK(TU_WAIT(atomic_load(&victim_msgs) == 1 &&
	                      atomic_load(&func_calls[0]) == 1,
	              5));
	DIAG("4 unauthenticated attempts dispatched nothing; the control "
	     "after a cleartext auth got through");
}

static void
refusals(const char *addr)
{
	char seen[8192], text[8192];
	struct peer p;
	int n;

	CHECK(peer_connect(&p, addr, "wrongsecret", "not-the-secret") < 0);
	peer_close(&p);
	CHECK(TU_WAIT(tu_capture_has("authentication failure"), 5));
	/* echo: the node's own two lines back to it */
	CHECK_OK(peer_dial(&p, addr));
	n = snprintf(text, sizeof(text), "%s", "");
	for (int i = 0; i < 2; i++) {
		CHECK(peer_read_line(&p, seen, sizeof(seen), 2) > 0);
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%s\n", seen);
	}
	CHECK_OK(peer_write(&p, text, (size_t)n));
	n = peer_read_line(&p, seen, sizeof(seen), 2);
	CHECK(n < 0); /* no auth line: closed */
	CHECK(peer_closed(&p, 2));
	peer_close(&p);
	DIAG("wrong secret and echoed greeting refused");
}

static void
functions(const char *addr)
{
	static const char *const reqs[] = {
	        "[\"\",\"system\",\"echo pwned\"]",
	        "[\"\",\"exit\",0]",
	        "[\"\",\"AnyEvent::MP::Kernel::eval\",\"die\"]",
	        "[\"\",\"aemp_node_stop\"]",
	        "[\"\",\"::main\"]",
	        "[\"\",\"Test::func\",42]",
	        "[\"\",\"eval\",\"1+1\",\"evil3#e\"]",
	        "[\"\",\"time\",\"evil3#t\",\"alive\"]",
	};
	struct peer p;
	size_t i;
	int f0 = atomic_load(&func_calls[0]);

	CHECK_OK(peer_connect(&p, addr, "evil3", SECRET));
	for (i = 0; i < AEMP_ARRAY_LEN(reqs); i++)
		CHECK_OK(peer_send(&p, reqs[i]));
	CHECK(peer_expect(&p, "[\"e\",\"eval not supported\"]", 5));
	CHECK(TU_WAIT(atomic_load(&func_calls[0]) == f0 + 1, 5));
	{
		char *t = peer_recv(&p, 5);

		CHECK(t != NULL && strncmp(t, "[\"t\",\"alive\",", 13) == 0);
		free(t);
	}
	peer_close(&p);
}

/* expect_all - receive packets until each of the n wanted ones (JSON) has
 * come, in any order, skipping others; 1 if all came within timeout.
 * Replies to requests about different ports come from different shards,
 * and nothing orders them against each other. */
static int
expect_all(struct peer *p, const char *const *want, int n, double timeout)
{
	double end = tu_now() + timeout;
	aemp_val *w[8] = {NULL}, *g;
	int seen[8] = {0}, left = n, i;
	char *got;

	AEMP_ASSERT(n <= 8);
	for (i = 0; i < n; i++) {
		if (aemp_json_parse(want[i], strlen(want[i]), &w[i]) < 0)
			left = -1;
	}
	while (left > 0 && (got = peer_recv(p, end - tu_now())) != NULL) {
		g = NULL;
		if (aemp_json_parse(got, strlen(got), &g) == 0) {
			for (i = 0; i < n; i++) {
				if (!seen[i] && aemp_val_eq(g, w[i])) {
					seen[i] = 1;
					left--;
					break;
				}
			}
		}
		aemp_val_free(g);
		free(got);
	}
	for (i = 0; i < n; i++)
		aemp_val_free(w[i]);
	return left == 0;
}

static void
secure(const char *addr)
{
	static const char *const replies[] = {
	        "[\"\",\"kil0\",\"Xsp\",\"no_such_port\",\"cannot "
	        "monitor nonexistent port\",\"sec#Xsp\"]",
	        "[\"c\",false]",
	        "[\"e\",\"eval not supported\"]",
	};
	struct peer p;

	CHECK_OK(peer_connect(&p, addr, "evil4", SECRET));
	CHECK_OK(peer_send(&p, "[\"\",\"Test::func\",1]"));
	CHECK_OK(peer_send(&p, "[\"\",\"AnyEvent::MP::_spawn\",\"Xsp\","
	                       "\"Test::init\"]"));
	CHECK_OK(peer_send(&p, "[\"\",\"mon1\",\"Xsp\"]"));
	CHECK_OK(peer_send(&p, "[\"\",\"can\",\"Test::func\",\"evil4#c\"]"));
	CHECK_OK(peer_send(&p, "[\"\",\"eval\",\"1\",\"evil4#e\"]"));
	CHECK(expect_all(&p, replies, 3, 10));
	peer_close(&p);
	CHECK_EQ(atomic_load(&func_calls[1]), 0);
	CHECK_EQ(atomic_load(&init_calls[1]), 0);
	CHECK(tu_capture_has("secure mode: refused request 'Test::func'"));
	DIAG("secure mode: no function ran, no port was spawned");
}

/* One oversized input; 1 if the node closed the connection. */
static int
oversized(const char *addr, const char *id, int cbor)
{
	static char big[10000];
	char text[512];
	struct peer p;
	int closed;

	if (!cbor) {
		if (peer_connect(&p, addr, id, SECRET) < 0)
			return 0;
		memset(big, 'x', sizeof(big));
		memcpy(big, "[\"victim\",\"", 11);
		memcpy(big + sizeof(big) - 3, "\"]", 3);
		peer_write(&p, big, sizeof(big) - 1);
	} else {
		/* cleartext auth, CBOR framing, then [bytes(2^63 - 1)] */
		static const uint8_t hdr[] = {0x81, 0x5b, 0x7f, 0xff, 0xff,
		                              0xff, 0xff, 0xff, 0xff, 0xff};
		char line[256];

		if (peer_dial(&p, addr) < 0)
			return 0;
		snprintf(text, sizeof(text),
		         "aemp;1;%s;hmac_sha3_512,cleartext;cbor\n" NONCE
		         "\ncleartext;%s;cbor\n",
		         id, hex_secret);
		peer_write(&p, text, strlen(text));
		for (int i = 0; i < 3; i++)
			peer_read_line(&p, line, sizeof(line), 2);
		peer_write(&p, hdr, sizeof(hdr));
	}
	closed = peer_closed(&p, 3);
	peer_close(&p);
	return closed;
}

static void
limits(const char *addr)
{
	static char greeting[5000];
	atomic_int fired = 0;
	long rss0 = proc_rss_kb(0);
	char seen[512];
	struct peer p;

	memset(greeting, 'a', sizeof(greeting));
	CHECK_EQ(raw(addr, greeting, sizeof(greeting), seen, sizeof(seen)), 1);
	CHECK(tu_capture_has("4096"));
	CHECK_OK(aemp_mon(nodes[0], "big1", on_death, &fired, NULL));
	CHECK(oversized(addr, "big1", 0));
	CHECK(TU_WAIT(atomic_load(&fired) == 1, 5));
	CHECK(oversized(addr, "big2", 1));
	CHECK(proc_rss_kb(0) - rss0 < RSS_MAX(16 * 1024));
	/* and the node still serves others */
	CHECK_OK(peer_connect(&p, addr, "after", SECRET));
	CHECK_OK(peer_send(&p, "[\"\",\"time\",\"after#t\"]"));
	{
		char *t = peer_recv(&p, 5);

		CHECK(t != NULL);
		free(t);
	}
	peer_close(&p);
	DIAG("greeting of 5000 bytes, a 10000-byte JSON packet (max_packet "
	     "4096) and a CBOR header of 2^63 bytes: each connection closed, "
	     "rss %+ld KiB",
	     proc_rss_kb(0) - rss0);
}

/* tls_keys - two nodes over TLS with a fresh key; its lines are never
 * logged.  Returns the number of key lines checked. */
static int
tls_keys(void)
{
	char *pem = NULL, conf[8192], esc[6000], seed[64], line[128];
	const char *k, *end, *p;
	aemp_node *t1, *t2;
	size_t i, j = 0;
	int lines = 0;

	CHECK_OK(aemp_gencert(AEMP_CERT_EC256, &pem));
	for (i = 0; pem[i] != '\0' && j + 3 < sizeof(esc); i++) {
		if (pem[i] == '\n') {
			esc[j++] = '\\';
			esc[j++] = 'n';
		} else {
			esc[j++] = pem[i];
		}
	}
	esc[j] = '\0';
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"" SECRET
	         "\",\"shards\":1,\"cert\":\"%s\"}",
	         esc);
	t1 = tu_node_json("t1", conf);
	aemp_set_log(t1, AEMP_LOG_TRACE, tu_capture_sink, NULL);
	tu_start(t1);
	proc_first_addr(t1, seed, sizeof(seed));
	snprintf(conf + strlen(conf) - 1, sizeof(conf) - strlen(conf) + 1,
	         ",\"seeds\":[\"%s\"]}", seed);
	t2 = tu_node_json("t2", conf);
	aemp_set_log(t2, AEMP_LOG_TRACE, tu_capture_sink, NULL);
	tu_start(t2);
	CHECK(TU_WAIT(aemp_node_is_up(t1, "t2") == 1, 10));
	CHECK(tu_capture_has("TLS"));
	aemp_node_free(t2);
	aemp_node_free(t1);
	k = strstr(pem, "PRIVATE KEY-----\n");
	end = k != NULL ? strstr(k + 17, "-----END") : NULL;
	for (p = k != NULL ? k + 17 : NULL; p != NULL && p < end;) {
		const char *nl = strchr(p, '\n');

		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		if (strlen(line) >= 16) {
			CHECK(!tu_capture_has(line));
			lines++;
		}
		p = nl + 1;
	}
	aemp_free(pem);
	return lines;
}

/* half_open_at_free - leave a connection in its handshake: the node has
 * accepted it (its greeting arrived) when main frees the node. */
static void
half_open_at_free(const char *addr)
{
	static struct peer p; /* stays open past aemp_node_free */
	char line[512];

	CHECK(peer_dial(&p, addr) == 0);
	CHECK(peer_read_line(&p, line, sizeof(line), 10) > 0);
}

int
main(void)
{
	char addr[64], addr_sec[64];
	size_t i;
	int keylines;

	alarm(55);
	for (i = 0; i < strlen(SECRET); i++)
		snprintf(hex_secret + 2 * i, 3, "%02x", (uint8_t)SECRET[i]);
	nodes[0] = mknode("n", ",\"max_packet\":4096");
	nodes[1] = mknode("sec", ",\"secure\":true");
	proc_first_addr(nodes[0], addr, sizeof(addr));
	proc_first_addr(nodes[1], addr_sec, sizeof(addr_sec));
	before_auth(addr);
	refusals(addr);
	functions(addr);
	secure(addr_sec);
	limits(addr);
	keylines = tls_keys();
	half_open_at_free(addr_sec);
	aemp_node_free(nodes[1]);
	aemp_node_free(nodes[0]);
	CHECK(keylines >= 2);
	CHECK(!tu_capture_has(SECRET));
	CHECK(!tu_capture_has(hex_secret));
	DIAG("%zu bytes of log at level 9 from 4 nodes: no secret, no "
	     "cleartext token, none of %d private key lines",
	     tu_capture.len, keylines);
	if (tap_failed && getenv("AEMP_TEST_LOG"))
		printf("%s", tu_capture.buf);
	return tap_done();
}
