/*
 * tests/integ/peer.h - a scripted AEMP peer for wire-level tests: a
 * blocking socket that does the real handshake (engine/net/hs.c), then sends
 * packets given as JSON text in its send framing and returns received
 * packets as JSON text, so a test can play the Perl side of a recorded
 * transcript against an aemp node and compare packet by packet.
 *
 * For hostile-peer tests there are raw helpers too: peer_dial (TCP only,
 * no handshake), peer_read_line, and peer_closed (does the node close the
 * connection within a time).
 *
 * Threads: one test thread; every wait is bounded by a timeout.
 */
#ifndef TESTS_INTEG_PEER_H
#define TESTS_INTEG_PEER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec/codec.h"
#include "engine/net/hs.h"
#include "tests/engine_util.h"

#define PEER_QMAX 64

struct peer {
	int fd;
	struct eng_hs hs;
	struct eng_hs_cfg cfg;
	uint8_t framings[2];
	char *offer[1];
	char *accept[2];
	struct cod_stream rx;
	struct cod_tape tape;
	enum cod_framing send_f;
	char *q[PEER_QMAX]; /* received packets as JSON */
	int qn;
	/* if set: a packet (JSON text) sent in the same write as our auth
	 * line, as a busy Perl node may (peer_connect_with) */
	const char *with_auth;
	/* with with_auth: write only this many bytes of the auth line first,
	 * the rest and the packet 0.1 s later (a line split across reads) */
	size_t split_auth;
	/* with_auth is a JSON array of packets, all sent behind the line */
	int with_auth_many;
	/* if set: offer cbor (then json) like a default Perl node, instead of
	 * json only like the recorded minimal clients */
	int cbor;
	uint8_t buf[65536 + COD_PADDING];
};

static inline int
peer_parse_addr(const char *hostport, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(hostport, ':');

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
		return -1;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static inline int
peer_write(struct peer *p, const void *buf, size_t n)
{
	const uint8_t *b = buf;

	while (n > 0) {
		ssize_t w = write(p->fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* peer_read - up to n bytes within timeout seconds: count, 0 on EOF,
 * -1 on timeout or error. */
static inline ssize_t
peer_read(struct peer *p, uint8_t *buf, size_t n, double timeout)
{
	struct pollfd pfd = {p->fd, POLLIN, 0};

	if (poll(&pfd, 1, (int)(timeout * 1000)) <= 0)
		return -1;
	return read(p->fd, buf, n);
}

static int
peer_on_packet(void *arg, const aemp_val *pkt, const uint8_t *raw,
               size_t rawlen)
{
	struct peer *p = arg;
	char json[16384];

	(void)raw;
	(void)rawlen;
	if (aemp_json_format(pkt, json, sizeof(json)) < 0 || p->qn >= PEER_QMAX)
		return -1;
	p->q[p->qn++] = strdup(json);
	return 0;
}

/* peer_encode_one - packet v (an array starting with the port name) in
 * p's send framing into out; its length, or -1. */
static inline ssize_t
peer_encode_one(struct peer *p, const aemp_val *v, uint8_t *out, size_t cap)
{
	struct cod_seg seg;
	ssize_t m;

	if (v->type != AEMP_ARRAY || v->len < 1 || v->u.a[0].type != AEMP_STR)
		return -1;
	seg.v = v->u.a + 1;
	seg.n = v->len - 1;
	m = cod_encode_packet(p->send_f, out, cap, v->u.a[0].u.s, v->u.a[0].len,
	                      &seg, 1);
	return m < 0 || (size_t)m > cap ? -1 : m;
}

/* peer_encode_json - the packet json (many: a JSON array of packets) in
 * p's send framing into out; the length written, or -1. */
static inline ssize_t
peer_encode_json(struct peer *p, const char *json, int many, uint8_t *out,
                 size_t cap)
{
	aemp_val *v = NULL;
	ssize_t m = -1, done = 0;
	uint32_t i;

	if (aemp_json_parse(json, strlen(json), &v) < 0)
		goto out;
	if (!many) {
		done = m = peer_encode_one(p, v, out, cap);
		goto out;
	}
	for (i = 0; v->type == AEMP_ARRAY && i < v->len; i++) {
		m = peer_encode_one(p, &v->u.a[i], out + done,
		                    cap - (size_t)done);
		if (m < 0)
			goto out;
		done += m;
	}
	m = v->type == AEMP_ARRAY ? done : -1;
out:
	aemp_val_free(v);
	return m < 0 ? -1 : done;
}

/* peer_handshake - do the AEMP handshake on p->fd as node id. */
static inline int
peer_handshake(struct peer *p, const char *id, const char *secret,
               const char *peeraddr)
{
	const uint8_t *out;
	uint8_t held[16384];
	size_t n, nheld = 0;
	ssize_t r;
	int ev, greeted = 0;

	memset(&p->cfg, 0, sizeof(p->cfg));
	p->framings[0] = p->cbor ? COD_CBOR : COD_JSON;
	p->framings[1] = p->cbor ? COD_JSON : COD_CBOR;
	p->offer[0] = "hmac_sha3_512";
	p->accept[0] = "hmac_sha3_512";
	p->accept[1] = "cleartext";
	p->cfg.nodeid = id;
	p->cfg.idlen = strlen(id);
	p->cfg.secret = secret;
	p->cfg.secret_len = strlen(secret);
	p->cfg.framings = p->framings;
	p->cfg.nframings = p->cbor ? 2 : 1; /* minimal clients: json */
	p->cfg.auth_offer = p->offer;
	p->cfg.noffer = 1;
	p->cfg.auth_accept = p->accept;
	p->cfg.naccept = 2;
	p->cfg.provider = "aemp-test-peer";
	if (eng_hs_init(&p->hs, &p->cfg, peeraddr, NULL) < 0)
		return -1;
	for (;;) {
		out = eng_hs_output(&p->hs, &n);
		if (n > 0 && p->with_auth != NULL && greeted) {
			if (nheld + n > sizeof(held))
				return -1;
			memcpy(held + nheld, out, n);
			nheld += n;
			eng_hs_output_done(&p->hs, n);
		} else if (n > 0) {
			if (peer_write(p, out, n) < 0)
				return -1;
			eng_hs_output_done(&p->hs, n);
			greeted = 1;
		}
		ev = eng_hs_step(&p->hs);
		if (ev == HS_DONE)
			break;
		if (ev < 0) {
			printf("# peer handshake: %s\n", eng_hs_error(&p->hs));
			return -1;
		}
		if (ev == HS_PEER_ID)
			continue;
		r = peer_read(p, p->buf, eng_hs_room(&p->hs), 5);
		if (r <= 0 || eng_hs_feed(&p->hs, p->buf, (size_t)r) < 0)
			return -1;
	}
	out = eng_hs_output(&p->hs, &n);
	p->send_f = p->hs.send_framing;
	if (p->with_auth != NULL) {
		ssize_t m;

		if (nheld + n > sizeof(held))
			return -1;
		memcpy(held + nheld, out, n);
		nheld += n;
		m = peer_encode_json(p, p->with_auth, p->with_auth_many,
		                     held + nheld, sizeof(held) - nheld);
		if (m < 0)
			return -1;
		nheld += (size_t)m;
		out = held;
		n = nheld;
		if (p->split_auth > 0 && p->split_auth < n) {
			if (peer_write(p, out, p->split_auth) < 0)
				return -1;
			usleep(100000);
			out += p->split_auth;
			n -= p->split_auth;
		}
	}
	if (n > 0 && peer_write(p, out, n) < 0)
		return -1;
	cod_tape_init(&p->tape);
	cod_stream_init(&p->rx, p->hs.recv_framing, 1u << 24);
	n = eng_hs_take_rest(&p->hs, p->buf, sizeof(p->buf) - COD_PADDING);
	if (n > 0 && cod_stream_feed(&p->rx, &p->tape, p->buf, n,
	                             peer_on_packet, p) != 0)
		return -1;
	return 0;
}

/* peer_connect - dial hostport and handshake. */
static inline int
peer_connect(struct peer *p, const char *hostport, const char *id,
             const char *secret)
{
	struct sockaddr_in sa;

	memset(p, 0, sizeof(*p));
	if (peer_parse_addr(hostport, &sa) < 0)
		return -1;
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return peer_handshake(p, id, secret, hostport);
}

/* peer_connect_opts - dial and handshake with the options already set in
 * p (with_auth, split_auth, cbor; the rest of p zeroed by the caller).
 * peer_connect_with - peer_connect, sending packet pkt (JSON text) in the
 * same write as the auth line. */
static inline int
peer_connect_opts(struct peer *p, const char *hostport, const char *id,
                  const char *secret)
{
	struct sockaddr_in sa;

	if (peer_parse_addr(hostport, &sa) < 0)
		return -1;
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return peer_handshake(p, id, secret, hostport);
}

static inline int
peer_connect_with(struct peer *p, const char *hostport, const char *id,
                  const char *secret, const char *pkt)
{
	memset(p, 0, sizeof(*p));
	p->with_auth = pkt;
	return peer_connect_opts(p, hostport, id, secret);
}

/* peer_listen - a listener on 127.0.0.1 with a free port; its address
 * goes to addr ("127.0.0.1:PORT"). */
static inline int
peer_listen(char *addr, size_t cap)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	snprintf(addr, cap, "127.0.0.1:%u", ntohs(sa.sin_port));
	return fd;
}

/* peer_accept - accept one connection on lfd within timeout, handshake. */
static inline int
peer_accept(struct peer *p, int lfd, const char *id, const char *secret,
            double timeout)
{
	struct pollfd pfd = {lfd, POLLIN, 0};

	memset(p, 0, sizeof(*p));
	if (poll(&pfd, 1, (int)(timeout * 1000)) <= 0)
		return -1;
	p->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (p->fd < 0)
		return -1;
	return peer_handshake(p, id, secret, NULL);
}

/* peer_send - one packet given as JSON text. */
static inline int
peer_send(struct peer *p, const char *json)
{
	aemp_val *v = NULL;
	uint8_t out[65536];
	struct cod_seg seg;
	ssize_t n;

	if (aemp_json_parse(json, strlen(json), &v) < 0 ||
	    v->type != AEMP_ARRAY)
		return -1;
	seg.v = v->u.a + 1;
	seg.n = v->len > 0 ? v->len - 1 : 0;
	n = cod_encode_packet(p->send_f, out, sizeof(out),
	                      v->len ? v->u.a[0].u.s : "",
	                      v->len ? v->u.a[0].len : 0, &seg, 1);
	aemp_val_free(v);
	if (n < 0 || (size_t)n > sizeof(out))
		return -1;
	return peer_write(p, out, (size_t)n);
}

/* peer_recv - the next packet as JSON text (new, free()), or NULL after
 * timeout seconds / EOF. */
static inline char *
peer_recv(struct peer *p, double timeout)
{
	double end = tu_now() + timeout;
	char *first;
	ssize_t r;

	while (p->qn == 0) {
		if (tu_now() >= end)
			return NULL;
		r = peer_read(p, p->buf, sizeof(p->buf) - COD_PADDING,
		              end - tu_now());
		if (r <= 0)
			return NULL;
		if (cod_stream_feed(&p->rx, &p->tape, p->buf, (size_t)r,
		                    peer_on_packet, p) != 0)
			return NULL;
	}
	first = p->q[0];
	memmove(p->q, p->q + 1, (size_t)(--p->qn) * sizeof(p->q[0]));
	return first;
}

/* peer_expect - receive packets until one equals want (as values; map key
 * order ignored), skipping others; 1 if found within timeout. */
static inline int
peer_expect(struct peer *p, const char *want, double timeout)
{
	aemp_val *w = NULL, *g;
	double end = tu_now() + timeout;
	char *got;
	int ok = 0;

	if (aemp_json_parse(want, strlen(want), &w) < 0)
		return 0;
	while (!ok && (got = peer_recv(p, end - tu_now())) != NULL) {
		g = NULL;
		if (aemp_json_parse(got, strlen(got), &g) == 0)
			ok = aemp_val_eq(g, w);
		if (!ok && getenv("AEMP_TEST_LOG"))
			printf("# peer skipped %s\n", got);
		aemp_val_free(g);
		free(got);
	}
	aemp_val_free(w);
	return ok;
}

static inline void
peer_close(struct peer *p)
{
	int i;

	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	for (i = 0; i < p->qn; i++)
		free(p->q[i]);
	p->qn = 0;
	cod_stream_fini(&p->rx);
	cod_tape_fini(&p->tape);
}

/* peer_dial - a plain TCP connection to hostport in p->fd (no handshake;
 * peer_close works on it).  Returns 0 or -1. */
static inline int
peer_dial(struct peer *p, const char *hostport)
{
	struct sockaddr_in sa;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (peer_parse_addr(hostport, &sa) < 0)
		return -1;
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return 0;
}

/* peer_read_line - one line (without LF) from a raw connection into out,
 * byte by byte so nothing after it is consumed.  Returns its length, or
 * -1 on EOF, error or timeout. */
static inline int
peer_read_line(struct peer *p, char *out, size_t cap, double timeout)
{
	double end = tu_now() + timeout;
	size_t n = 0;
	uint8_t c;

	while (n + 1 < cap && tu_now() < end) {
		if (peer_read(p, &c, 1, end - tu_now()) != 1)
			return -1;
		if (c == '\n') {
			out[n] = '\0';
			return (int)n;
		}
		out[n++] = (char)c;
	}
	return -1;
}

/* peer_closed - 1 if the other end closes the connection (EOF or reset)
 * within timeout seconds, reading and dropping whatever arrives first;
 * 0 if it is still open then. */
static inline int
peer_closed(struct peer *p, double timeout)
{
	double end = tu_now() + timeout;
	struct pollfd pfd = {p->fd, POLLIN, 0};
	ssize_t r;

	while (tu_now() < end) {
		if (poll(&pfd, 1, (int)((end - tu_now()) * 1000) + 1) <= 0)
			continue;
		r = read(p->fd, p->buf, sizeof(p->buf) - COD_PADDING);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return 1;
	}
	return 0;
}

#endif /* TESTS_INTEG_PEER_H */
