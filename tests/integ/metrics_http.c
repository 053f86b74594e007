/*
 * tests/integ/metrics_http.c - the metrics endpoint (docs/metrics.md) over
 * 127.0.0.1 with a free port: the exposition's format (every sample's
 * family has # HELP and # TYPE first; promtool when installed), counters
 * moving under traffic between two nodes, per-peer families, answers to
 * bad requests (405, 404, oversized, garbage), the connection cap,
 * configuration errors (bad address, address in use), the same figures
 * in aemp_stats_get, and
 * aemp_metrics_text / aemp_metrics_addr.  Every read has a timeout.
 *
 * aemp-test-timeout: 60
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "tests/engine_util.h"

static char maddr[64]; /* "127.0.0.1:PORT" of node a's endpoint */

static int
tcp_connect(const char *addr)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {5, 0};
	const char *colon = strrchr(addr, ':');
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send req (len bytes), read the answer until EOF or the 5 s timeout
 * into buf.  Returns the HTTP status, 0 if the server closed without
 * answering, -1 on a connect error. */
static int
http(const char *req, size_t len, char *buf, size_t cap)
{
	int fd = tcp_connect(maddr), code = 0;
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	(void)send(fd, req, len, MSG_NOSIGNAL);
	while (got + 1 < cap && (n = recv(fd, buf + got, cap - 1 - got, 0)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
		code = 0;
	return code;
}

static char resp[1 << 20];

static int
get_metrics(void)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n"
	                          "Connection: close\r\n\r\n";

	return http(req, sizeof(req) - 1, resp, sizeof(resp));
}

/* Sum of every sample of family name in the last response. */
static double
sum_of(const char *name)
{
	const char *p = strstr(resp, "\r\n\r\n");
	size_t n = strlen(name);
	double sum = 0, v;

	for (; p != NULL; p = strchr(p, '\n')) {
		p++;
		if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '{')) {
			const char *sp = strchr(p, ' ');

			if (sp != NULL && sscanf(sp, " %lf", &v) == 1)
				sum += v;
		}
	}
	return sum;
}

/* The family of a histogram's sample name (name_bucket, _sum, _count
 * of a family announced as histogram): fam cut to it in place. */
static void
hist_base(char *fam)
{
	static const char *const sfx[] = {"_bucket", "_sum", "_count"};
	char type[200];
	size_t i, n = strlen(fam), k;

	for (i = 0; i < 3; i++) {
		k = strlen(sfx[i]);
		if (n <= k || strcmp(fam + n - k, sfx[i]) != 0)
			continue;
		snprintf(type, sizeof(type), "# TYPE %.*s histogram\n",
		         (int)(n - k), fam);
		if (strstr(resp, type) != NULL)
			fam[n - k] = '\0';
		return;
	}
}

/* Every sample line's family was announced by # HELP and # TYPE. */
static int
format_ok(void)
{
	char fam[128], help[160], type[160];
	const char *p = strstr(resp, "\r\n\r\n"), *e;
	size_t n;

	if (p == NULL)
		return 0;
	for (p += 4; *p != '\0'; p = e + 1) {
		if ((e = strchr(p, '\n')) == NULL)
			return 0; /* every line ends with \n */
		if (*p == '#')
			continue;
		n = strcspn(p, "{ ");
		if (n == 0 || n >= sizeof(fam))
			return 0;
		memcpy(fam, p, n);
		fam[n] = '\0';
		hist_base(fam);
		snprintf(help, sizeof(help), "# HELP %s ", fam);
		snprintf(type, sizeof(type), "# TYPE %s ", fam);
		if (strstr(resp, help) == NULL || strstr(resp, type) == NULL) {
			DIAG("no HELP/TYPE for %s", fam);
			return 0;
		}
	}
	return 1;
}

static void
promtool(void)
{
	char cmd[256], path[] = "/tmp/aemp-metrics-XXXXXX";
	const char *body = strstr(resp, "\r\n\r\n");
	int fd = mkstemp(path), rc;

	if (fd < 0 || body == NULL)
		return;
	(void)!write(fd, body + 4, strlen(body + 4));
	close(fd);
	if (system("command -v promtool >/dev/null 2>&1") != 0) {
		DIAG("promtool not installed (Debian: prometheus): "
		     "format checked by this test only");
	} else {
		snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
		rc = system(cmd);
		CHECK_EQ(rc, 0);
	}
	unlink(path);
}

static int
h_count(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	(void)n;
	(void)msg;
	(void)cnt;
	atomic_fetch_add((atomic_int *)arg, 1);
	return 0;
}

static aemp_node *
mknode(const char *id, const char *extra, aemp_node *seed_of)
{
	char conf[1024], addr[256] = "[]";

	if (seed_of != NULL)
		aemp_node_listeners(seed_of, addr, sizeof(addr));
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"m-secret\","
	         "\"shards\":2,\"seeds\":%s%s}",
	         addr, extra);
	return tu_node_json(id, conf);
}

/* Counters move under traffic from b to a port on a. */
static void
traffic(aemp_node *a, aemp_node *b)
{
	static atomic_int got;
	double before, bytes;
	aemp_id p;
	int i;

	CHECK_EQ(get_metrics(), 200);
	before = sum_of("aemp_messages_delivered_total");
	CHECK_OK(aemp_port(a, h_count, &got, &p));
	for (i = 0; i < 100; i++)
		CHECK_OK(aemp_snd(b, p.s, AEMP_MSG(aemp_int(i))));
	CHECK(TU_WAIT(atomic_load(&got) == 100, 10));
	CHECK_EQ(get_metrics(), 200);
	CHECK(sum_of("aemp_messages_delivered_total") >= before + 100);
	CHECK(sum_of("aemp_packets_received_total") >= 100);
	bytes = sum_of("aemp_received_bytes_total");
	CHECK(bytes > 0);
	CHECK(sum_of("aemp_ports") >= 1);
	CHECK(sum_of("aemp_connections") >= 1);
	CHECK(strstr(resp, "aemp_peer_up{peer=\"b\"} 1\n") != NULL);
	/* at least once (a simultaneous connect may count twice) */
	CHECK(sum_of("aemp_peer_connections_up_total") >= 1);
	CHECK(strstr(resp, "aemp_peer_connections_up_total{peer=\"b\"} ") !=
	      NULL);
	CHECK(sum_of("process_resident_memory_bytes") > 1e6);
	/* issue 20 leftovers: handler times (one run in 64 sampled: metrics_sample), busy
	 * time, queue bytes per peer, TLS connections (none here) */
	CHECK(sum_of("aemp_handler_seconds_count") >= 1);
	CHECK(sum_of("aemp_handler_seconds_bucket") >= 1);
	CHECK(strstr(resp, "aemp_handler_seconds_bucket{shard=\"0\","
	                   "le=\"+Inf\"} ") != NULL);
	CHECK(sum_of("aemp_shard_busy_seconds_total") > 0);
	CHECK(strstr(resp, "aemp_peer_send_queue_bytes{peer=\"b\"} ") != NULL);
	CHECK(strstr(resp, "aemp_tls_connections{shard=\"0\"} 0\n") != NULL);
	/* aemp::stats carries the same figures */
	{
		aemp_stats st;

		CHECK(TU_WAIT(aemp_stats_get(a, &st) == 0 && st.peers_up == 1 &&
		                      st.peers_down == 0,
		              10));
		CHECK(st.resident_bytes > 1000000);
		CHECK(st.busy_ns > 0);
		CHECK_EQ(st.tls_connections, 0);
	}
}

static void
mon_cb(aemp_node *n, const aemp_val *reason, size_t cnt, void *arg)
{
	(void)n;
	(void)reason;
	(void)cnt;
	(void)arg;
}

/* A sample of the newest scrape (after scraping until cond holds). */
static int
scrape_until(const char *fam, double min)
{
	return get_metrics() == 200 && sum_of(fam) >= min;
}

/* The value of sample `line` (name{labels}) in the last response, or
 * -1 when absent. */
static double
sample_of(const char *line)
{
	const char *p = strstr(resp, line);
	double v;

	if (p == NULL || sscanf(p + strlen(line), " %lf", &v) != 1)
		return -1;
	return v;
}

/* a's queue to b while a burst of 64 KiB messages goes out, then back
 * at 0 once it has drained (the value is published per flush and per
 * completed send, so it must come back to 0). */
static void
queue_bytes(aemp_node *a, aemp_node *b)
{
	static const char line[] = "aemp_peer_send_queue_bytes{peer=\"b\"}";
	static atomic_int got;
	static char blob[65536];
	double max = 0, v;
	aemp_id p;
	int i, sent = 0;

	CHECK_OK(aemp_port(b, h_count, &got, &p));
	for (i = 0; i < 200; i++)
		sent += aemp_snd(a, p.s,
		                 AEMP_MSG(aemp_bytes(blob, sizeof(blob)))) == 0;
	for (i = 0; i < 50 && atomic_load(&got) < sent; i++) {
		if (get_metrics() == 200 && (v = sample_of(line)) > max)
			max = v;
	}
	DIAG("%d of 200 64 KiB messages sent; queue to b seen at most %.0f "
	     "bytes",
	     sent, max);
	CHECK(sent > 0);
	CHECK(TU_WAIT(atomic_load(&got) == sent, 20));
	CHECK(TU_WAIT(get_metrics() == 200 && sample_of(line) == 0, 10));
}

/* Monitors, database sizes, a failed handshake by reason. */
static void
more_families(aemp_node *a, aemp_node *b)
{
	char lst[256];
	aemp_guard g = {0};
	aemp_stats st;
	aemp_id p;
	aemp_val v = aemp_int(1);
	double mons, failed;
	int fd;

	/* a monitor of a port of a, made on a */
	CHECK_EQ(get_metrics(), 200);
	mons = sum_of("aemp_monitors");
	CHECK_OK(aemp_port(a, h_count, NULL, &p));
	CHECK_OK(aemp_mon(a, p.s, mon_cb, NULL, &g));
	CHECK(TU_WAIT(scrape_until("aemp_monitors", mons + 1), 10));
	CHECK(TU_WAIT(aemp_stats_get(a, &st) == 0 && st.monitors >= 1, 10));
	aemp_guard_cancel(a, &g);
	/* a is global (b's seed): b's registration lands in its database */
	CHECK(TU_WAIT(aemp_node_is_global(a) == 1, 10));
	CHECK_OK(aemp_db_set(b, "mfam", "k1", &v, NULL));
	CHECK(TU_WAIT(scrape_until("aemp_db_keys", 1), 10));
	CHECK(strstr(resp, "aemp_db_families{db=\"global\"} ") != NULL);
	CHECK(TU_WAIT(aemp_stats_get(a, &st) == 0 && st.db_keys >= 1 &&
	                      st.db_families >= 1,
	              10));
	CHECK(TU_WAIT(aemp_stats_get(b, &st) == 0 && st.db_local_keys >= 1,
	              10));
	/* an HTTP request to the node's listener: a failed greeting */
	failed = sum_of("aemp_handshakes_failed_total");
	aemp_node_listeners(a, lst, sizeof(lst));
	fd = tcp_connect(lst);
	CHECK(fd >= 0);
	if (fd >= 0) {
		(void)send(fd, "GET / HTTP/1.0\r\n\r\n", 18, MSG_NOSIGNAL);
		CHECK(TU_WAIT(scrape_until("aemp_handshakes_failed_total",
		                           failed + 1),
		              10));
		CHECK(strstr(resp, "aemp_handshakes_failed_total{reason=\""
		                   "protocol\"} 1\n") != NULL);
		close(fd);
	}
	CHECK(TU_WAIT(aemp_stats_get(a, &st) == 0 && st.hs_failed_protocol >= 1,
	              10));
}

static void
bad_requests(void)
{
	static char big[40000];
	static const char post[] = "POST /metrics HTTP/1.1\r\nHost: x\r\n"
	                           "Content-Length: 3\r\nConnection: close"
	                           "\r\n\r\nabc";
	static const char nf[] = "GET /nope HTTP/1.1\r\nHost: x\r\n"
	                         "Connection: close\r\n\r\n";
	static const char garbage[] = "\x01\x02 \xff\xfe /metrics\r\n\r\n";
	int code;

	CHECK_EQ(http(post, sizeof(post) - 1, resp, sizeof(resp)), 405);
	CHECK(strstr(resp, "Allow: GET, HEAD\r\n") != NULL);
	CHECK_EQ(http(nf, sizeof(nf) - 1, resp, sizeof(resp)), 404);
	/* a 40 KB header line: over the 16 KiB request limit */
	snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\nX-Big: ");
	memset(big + strlen(big), 'a', sizeof(big) - strlen(big) - 5);
	memcpy(big + sizeof(big) - 5, "\r\n\r\n", 4);
	code = http(big, sizeof(big) - 1, resp, sizeof(resp));
	DIAG("oversized request: status %d", code);
	CHECK(code == 431 || code == 414 || code == 413 || code == 0);
	code = http(garbage, sizeof(garbage) - 1, resp, sizeof(resp));
	DIAG("garbage request: status %d", code);
	CHECK(code == 400 || code == 0);
	/* still serving */
	CHECK_EQ(get_metrics(), 200);
}

/* At most 16 connections at once: further ones wait in the listen
 * backlog unanswered, and are served once the idle ones are gone. */
static void
conn_cap(void)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n"
	                          "Connection: close\r\n\r\n";
	struct timeval tv = {1, 0};
	int fds[16], i, fd;
	char c;

	for (i = 0; i < 16; i++)
		fds[i] = tcp_connect(maddr);
	fd = tcp_connect(maddr);
	CHECK(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL);
	CHECK(recv(fd, &c, 1, 0) < 0); /* no answer while 16 are open */
	for (i = 0; i < 16; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	tv.tv_sec = 5;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHECK(recv(fd, &c, 1, 0) == 1 && c == 'H'); /* then served */
	close(fd);
	CHECK_EQ(get_metrics(), 200);
}

static void
config_errors(void)
{
	aemp_conf *c = NULL;
	aemp_node *n = NULL;
	char buf[64];

	CHECK_OK(aemp_conf_new(&c));
	aemp_conf_set_json(c, "norc", "true");
	aemp_conf_set_str(c, "binds", "127.0.0.1:0");
	aemp_conf_set_str(c, "metrics", "localhost:http");
	CHECK_ERR(aemp_node_new(c, &n), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "metrics: expected IP:PORT") != NULL);
	DIAG("%s", aemp_errmsg());
	aemp_conf_set_str(c, "metrics", maddr); /* a's, in use */
	CHECK_ERR(aemp_node_new(c, &n), -EADDRINUSE);
	CHECK(strstr(aemp_errmsg(), "metrics: cannot listen on") != NULL);
	DIAG("%s", aemp_errmsg());
	aemp_conf_free(c);
	/* metrics_sample: bounded; 0 keeps the histogram empty */
	CHECK_OK(aemp_conf_new(&c));
	aemp_conf_set_json(c, "norc", "true");
	CHECK_ERR(aemp_conf_set_json(c, "metrics_sample", "65537"),
	          AEMP_ECONFIG);
	DIAG("%s", aemp_errmsg());
	aemp_conf_free(c);
	{
		static atomic_int got;
		static char text[1 << 16];
		aemp_id p;
		int i;

		n = mknode("nosample",
		           ",\"metrics\":\"127.0.0.1:0\",\"metrics_sample\":0",
		           NULL);
		tu_start(n);
		CHECK_OK(aemp_port(n, h_count, &got, &p));
		for (i = 0; i < 300; i++)
			if (aemp_snd(n, p.s, AEMP_MSG(aemp_int(i))) < 0)
				break;
		CHECK_EQ(i, 300);
		CHECK(TU_WAIT(atomic_load(&got) == 300, 10));
		CHECK(aemp_metrics_text(n, text, sizeof(text)) > 0);
		CHECK(strstr(text,
		             "aemp_handler_seconds_count{shard=\"0\"} 0\n") !=
		      NULL);
		CHECK(strstr(text,
		             "aemp_handler_seconds_count{shard=\"1\"} 0\n") !=
		      NULL);
		aemp_node_free(n);
	}
	/* off by default */
	n = mknode("plain", "", NULL);
	CHECK_EQ(aemp_metrics_addr(n, buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "");
	CHECK(aemp_metrics_text(n, NULL, 0) > 100);
	aemp_node_free(n);
}

int
main(void)
{
	aemp_node *a, *b;
	char small[16];
	int len;

	alarm(55);
	a = mknode("a", ",\"metrics\":\"127.0.0.1:0\",\"metrics_sample\":64",
	           NULL);
	b = mknode("b", "", a);
	CHECK(aemp_metrics_addr(a, maddr, sizeof(maddr)) > 10);
	CHECK(strncmp(maddr, "127.0.0.1:", 10) == 0 &&
	      strcmp(maddr, "127.0.0.1:0") != 0);
	CHECK_ERR(aemp_metrics_addr(a, small, 4), AEMP_ETOOBIG);
	tu_start(a);
	tu_start(b);
	CHECK(TU_WAIT(aemp_node_is_up(b, "a") == 1, 10));
	CHECK_EQ(get_metrics(), 200);
	CHECK(strstr(resp, "Content-Type: text/plain; version=0.0.4") != NULL);
	CHECK(format_ok());
	CHECK(strstr(resp, "aemp_node_info{node=\"a\",version=\"") != NULL);
	promtool();
	traffic(a, b);
	more_families(a, b);
	queue_bytes(a, b);
	promtool(); /* with the histogram filled in */
	bad_requests();
	conn_cap();
	config_errors();
	len = aemp_metrics_text(a, small, sizeof(small));
	CHECK(len > (int)sizeof(small) && strlen(small) == sizeof(small) - 1);
	aemp_node_free(b);
	aemp_node_free(a);
	return tap_done();
}
