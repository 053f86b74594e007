/*
 * engine/net/connrx.c - the receiving side of a connection: driving the
 * handshake (engine/net/hs.c) and TLS (crypto/tls.c), then the data phase:
 * multishot receives into provided buffers, framing and decoding in place
 * (codec/), and dispatch to the node port, to ports of this shard, or as
 * raw packets to the shard owning the destination port.
 *
 * Back pressure: when records spilled towards other shards exceed
 * NET_PAUSE_BYTES, a connection stops processing, keeps the buffers it
 * has received and cancels its receive (pause_rx): what follows waits in
 * the socket (bounded by the kernel, or by socket_buffer), then TCP flow
 * control reaches the peer.  Kept small, it bounds the time a message
 * waits behind the ones already read (docs/config.md "Socket buffers and
 * latency").
 *
 * Threads: the connection's shard.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "engine/net/connint.h"
#include "engine/net/frag.h"
#include "ring/alloc.h"

static void hs_progress(struct eng_conn *c);
static void arm_data_recv(struct eng_conn *c);

/* ---- handshake ------------------------------------------------------ */

static uint64_t
secs_ns(double s)
{
	return (uint64_t)(s * 1e9);
}

/*
 * hs_due - when c's handshake times out, and which limit that is
 * (docs/config.md, "Handshakes under attack"): monitor_timeout without
 * input (§2.2); handshake_timeout after it began, so a peer that trickles
 * bytes cannot hold a slot for ever; and for accepted connections,
 * first_byte_timeout until the peer's first byte, greeting_timeout until
 * both its greeting lines (a real peer sends them at once, §2.1).
 */
static uint64_t
hs_due(const struct eng_conn *c, const char **key, double *secs)
{
	const struct eng_config *cfg = &c->sh->node->cfg;
	uint64_t due = c->hs_rx_ns + secs_ns(cfg->monitor_timeout), d;
	double stage = 0;

	*key = "monitor_timeout";
	*secs = cfg->monitor_timeout;
	d = c->hs_t0_ns + secs_ns(cfg->handshake_timeout);
	if (d < due) {
		due = d;
		*key = "handshake_timeout";
		*secs = cfg->handshake_timeout;
	}
	if (c->outgoing || (c->hs != NULL && eng_hs_greeted(c->hs)))
		return due;
	stage = c->hs == NULL ? cfg->first_byte_timeout : cfg->greeting_timeout;
	d = c->hs_t0_ns + secs_ns(stage);
	if (d < due) {
		due = d;
		*key = c->hs == NULL ? "first_byte_timeout"
		                     : "greeting_timeout";
		*secs = stage;
	}
	return due;
}

/* hs_timer_arm - (re)arm the handshake timer for hs_due. */
static void
hs_timer_arm(struct eng_conn *c)
{
	const char *key;
	double secs;

	ring_timer_start(&c->sh->loop.timers, &c->hs_timer,
	                 hs_due(c, &key, &secs));
}

/* tls_queue_out - queue what the TLS session produced and make sure the
 * connection is flushed.  Returns 0, or -1 if c failed. */
static int
tls_queue_out(struct eng_conn *c)
{
	if (eng_conn_tls_out(c) < 0) {
		eng_conn_fail(c, "out of memory");
		return -1;
	}
	eng_conn_mark_dirty(c);
	return 0;
}

/*
 * hs_output - hand the handshake's pending bytes to the transport.
 * Without TLS everything goes in the clear.  After HS_TLS the output may
 * still start with the tail of our greeting (eng_hs_output_plain), which
 * goes in the clear ahead of the first TLS record; the auth line behind
 * it waits for the TLS handshake and then travels inside TLS (§2.7).
 * Returns 0, or -1 if c failed.
 */
static int
hs_output(struct eng_conn *c)
{
	const uint8_t *p;
	size_t n, plain;
	ssize_t k;

	p = eng_hs_output(c->hs, &n);
	plain = c->hs->tls ? eng_hs_output_plain(c->hs) : n;
	if (plain > 0) {
		if (ring_bufq_append(&c->tx, p, plain) < 0) {
			eng_conn_fail(c, "out of memory");
			return -1;
		}
		eng_hs_output_done(c->hs, plain);
		eng_conn_mark_dirty(c);
		p = eng_hs_output(c->hs, &n);
	}
	if (n == 0 || !c->tls_up)
		return 0;
	k = cry_tls_write(c->tls, p, n);
	if (k < 0 && k != -EAGAIN) {
		eng_conn_fail_tls(c, k);
		return -1;
	}
	if (k > 0)
		eng_hs_output_done(c->hs, (size_t)k);
	return tls_queue_out(c);
}

static void hs_recv_done(struct ring_op *op, int res, uint32_t flags);

static void
arm_hs_recv(struct eng_conn *c)
{
	struct io_uring_sqe *sqe = ring_sqe(&c->sh->loop);
	/* In the clear, never more than the handshake can still take: the
	 * limit is on unconsumed input (§2.2), so a line split across reads
	 * followed by a burst of packets is not an overflow.  Under TLS the
	 * records go to wolfSSL, which takes whole records. */
	size_t want =
	        c->state == CS_TLS_HS ? ENG_HS_BUF_MAX : eng_hs_room(c->hs);

	c->recv_op.op.fn = hs_recv_done;
	io_uring_prep_recv(sqe, c->fd, c->hsbuf, want, 0);
	ring_sqe_op(sqe, &c->recv_op.op);
	c->ops++;
}

/* hs_alloc - the handshake state and receive buffer of c; returns 0, or
 * -1 if c failed. */
static int
hs_alloc(struct eng_conn *c)
{
	struct eng_net *net = eng_net(c->sh->node);
	int rc;

	c->hs = ring_alloc(sizeof(*c->hs));
	c->hsbuf = ring_alloc(ENG_HS_BUF_MAX);
	if (c->hs == NULL || c->hsbuf == NULL) {
		eng_conn_fail(c, "out of memory");
		return -1;
	}
	rc = eng_hs_init(c->hs, &net->hs_cfg, c->addr.text,
	                 c->outgoing ? NULL : c->nonce);
	if (rc < 0) {
		eng_conn_fail(c, "handshake: %s", aemp_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * greet - send our greeting on c, just accepted, without the handshake
 * state: the lines are built in the shard's scratch handshake, and only
 * the nonce stays with c (hs_alloc rebuilds the same lines from it).
 * Rule zero: a send(2) outside the ring, so an idle connection owns no
 * buffer; a fresh socket's send buffer takes the whole greeting (at most
 * 4 KiB + 90 bytes), and what it does not take is queued as usual.
 * Returns 0 or a negative errno / AEMP code.
 */
static int
greet(struct eng_conn *c)
{
	struct eng_snet *sn = eng_snet(c->sh);
	const uint8_t *p;
	size_t n;
	ssize_t k;
	int rc;

	if (sn->greeter == NULL &&
	    (sn->greeter = ring_alloc(sizeof(*sn->greeter))) == NULL)
		return -ENOMEM;
	if ((rc = cry_random(c->nonce, sizeof(c->nonce))) < 0 ||
	    (rc = eng_hs_init(sn->greeter, &eng_net(c->sh->node)->hs_cfg,
	                      c->addr.text, c->nonce)) < 0)
		return rc;
	p = eng_hs_output(sn->greeter, &n);
	k = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		return -errno;
	k = k < 0 ? 0 : k;
	if ((size_t)k < n) {
		if (ring_bufq_append(&c->tx, p + k, n - (size_t)k) < 0)
			return -ENOMEM;
		eng_conn_mark_dirty(c);
	}
	return 0;
}

static void first_input(struct ring_op *op, int res, uint32_t flags);

/* arm_first_poll - wait for c's first byte without a buffer. */
static void
arm_first_poll(struct eng_conn *c)
{
	struct io_uring_sqe *sqe = ring_sqe(&c->sh->loop);

	c->recv_op.op.fn = first_input;
	io_uring_prep_poll_add(sqe, c->fd, POLLIN | POLLRDHUP);
	ring_sqe_op(sqe, &c->recv_op.op);
	c->ops++;
}

/* at_eof - after a poll reported POLLRDHUP with POLLIN: 1 if nothing but
 * the end of the stream is waiting.  Rule zero: one recv(2) outside the
 * ring, on a path only a closing peer takes, so that a flood closing its
 * sockets costs no handshake state. */
static int
at_eof(int fd)
{
	uint8_t b;

	return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* first_input - c's peer sent its first bytes, or closed. */
static void
first_input(struct ring_op *op, int res, uint32_t flags)
{
	struct eng_conn *c = ((struct net_op *)(void *)op)->conn;
	size_t n;

	(void)flags;
	c->ops--;
	c->recv_op.op.fn = NULL;
	if (c->state == CS_CLOSED) {
		eng_conn_maybe_reap(c);
		return;
	}
	if (res < 0) {
		eng_conn_fail(c, "%s", strerror(-res));
		return;
	}
	if ((res & (POLLERR | POLLHUP)) ||
	    ((res & POLLRDHUP) && at_eof(c->fd))) {
		eng_conn_fail(c, "closed before sending anything");
		return;
	}
	if (hs_alloc(c) < 0)
		return;
	(void)eng_hs_output(c->hs, &n);
	eng_hs_output_done(c->hs, n); /* greet sent them already */
	eng_hsq_progress(c, HSQ_TALKING);
	arm_hs_recv(c);
}

void
eng_connrx_hs_start(struct eng_conn *c)
{
	int rc;

	c->hs_t0_ns = c->hs_rx_ns = ring_now_ns();
	c->state = CS_HS;
	if (!c->outgoing) {
		if ((rc = greet(c)) < 0) {
			eng_conn_fail(c, "greeting: %s", aemp_strerror(rc));
			return;
		}
		hs_timer_arm(c);
		arm_first_poll(c);
		return;
	}
	if (hs_alloc(c) < 0)
		return;
	hs_timer_arm(c);
	if (hs_output(c) < 0)
		return;
	arm_hs_recv(c);
}

static void
notify_seed(struct eng_conn *c, const char *id, size_t idlen)
{
	struct {
		struct eng_addr addr;
		uint16_t idlen;
		char id[AEMP_ID_MAX];
	} r;

	r.addr = c->addr;
	r.idlen = (uint16_t)idlen;
	memcpy(r.id, id, idlen);
	eng_net_send_rec(c->sh, 0, NET_PEERID, &r,
	                 offsetof(__typeof__(r), id) + idlen);
}

void
eng_connrx_seed_failed(struct eng_conn *c)
{
	if (c->seed) {
		c->seed = 0;
		notify_seed(c, "", 0);
	}
}

/* peer_checks - after the remote line 1 (§2.5): returns 0 to go on, 1 if
 * the connection moves to another shard, -1 if it failed. */
static int
peer_checks(struct eng_conn *c)
{
	struct eng_shard *sh = c->sh;
	struct eng_rnode *rn;
	uint32_t hash;
	int owner;

	c->peerlen = c->hs->peer_idlen;
	memcpy(c->peer, c->hs->peer_id, c->peerlen);
	c->peer[c->peerlen] = '\0';
	if (c->hs->dataconn) {
		/* AnyEvent::MP::DataConn streams (§2.14, §7.13) are not
		 * offered by aemp; 2.x cannot complete them remotely either */
		c->hs_why = ENG_HSF_PROTOCOL + 1;
		eng_conn_fail(c, "aemp-dataconn connections are not supported");
		return -1;
	}
	if (c->seed) {
		notify_seed(c, c->peer, c->peerlen);
		c->seed = 0;
	}
	/* greeted with another ID: no longer a trial of that node (before
	 * a hand-over: the record stays on this shard) */
	if (c->trial_of != NULL &&
	    (c->trial_of->idlen != c->peerlen ||
	     memcmp(c->trial_of->id, c->peer, c->peerlen) != 0))
		eng_conn_untrial(c);
	owner = eng_node_owner(sh->node, c->peer, c->peerlen, &hash);
	if (owner != sh->idx) {
		c->handover = 1;
		c->handover_to = owner;
		return 1;
	}
	rn = eng_rnode_find(sh, c->peer, c->peerlen, hash);
	if (rn != NULL && rn->state == RN_UP) {
		c->hs_why = ENG_HSF_DUPLICATE + 1;
		eng_conn_fail(c, "%s already connected, not connecting again",
		              c->peer);
		return -1;
	}
	return 0;
}

static void tls_drive(struct eng_conn *c);
static void hs_done(struct eng_conn *c);

/*
 * hs_advance - step the handshake and send what it produced; deals with
 * HS_PEER_ID itself.  Returns the event to act on (HS_NEED_MORE, HS_TLS,
 * HS_DONE), or -1 if c failed or is moving to another shard.
 */
static int
hs_advance(struct eng_conn *c)
{
	int ev;

	for (;;) {
		ev = eng_hs_step(c->hs);
		if (hs_output(c) < 0)
			return -1;
		if (ev == HS_PEER_ID) {
			eng_hsq_progress(c, HSQ_NAMED);
			if (peer_checks(c) == 0)
				continue;
			if (c->handover)
				eng_conn_try_handover(c);
			return -1;
		}
		if (ev < 0) {
			eng_conn_fail(c, "%s", eng_hs_error(c->hs));
			return -1;
		}
		return ev;
	}
}

/*
 * start_tls - both sides have certificates (HS_TLS): the role follows the
 * nonce lines, and the bytes that came after the peer's line 2 are the
 * start of its TLS stream (§2.7).  The greeting's tail, if unsent, is
 * already in tx: the flush sends it before any TLS record.
 */
static void
start_tls(struct eng_conn *c)
{
	struct eng_net *net = eng_net(c->sh->node);
	uint8_t *rest = eng_snet(c->sh)->plain;
	size_t n;
	int rc;

	AEMP_ASSERT(net->tls != NULL);
	rc = cry_tls_new(&c->tls, net->tls, eng_hs_tls_client(c->hs));
	if (rc < 0) {
		c->tls = NULL;
		eng_conn_fail(c, "TLS: cannot create a session: %s",
		              aemp_strerror(rc));
		return;
	}
	(void)cry_tls_set_sink(c->tls, eng_conn_tls_sink, c); /* none yet */
	c->state = CS_TLS_HS;
	/* ENG_HS_BUF_MAX bytes at most: one call takes them all */
	n = eng_hs_take_rest(c->hs, rest, NET_RXBUF_SIZE);
	if (n > 0 && cry_tls_feed(c->tls, rest, n) < 0) {
		eng_conn_fail(c, "TLS: input overflow");
		return;
	}
	tls_drive(c);
}

static void
hs_progress(struct eng_conn *c)
{
	switch (hs_advance(c)) {
	case HS_NEED_MORE:
		if (eng_hs_room(c->hs) == 0) {
			c->hs_why = ENG_HSF_PROTOCOL + 1;
			eng_conn_fail(c, "handshake input above %d bytes",
			              ENG_HS_BUF_MAX);
			return;
		}
		arm_hs_recv(c);
		return;
	case HS_TLS:
		start_tls(c);
		return;
	case HS_DONE:
		hs_done(c);
		return;
	default:
		return; /* failed, or moving to another shard */
	}
}

/*
 * tls_auth_input - TLS is up; the peer's auth line arrives as plaintext.
 * Read no more than the handshake takes (§2.2: ENG_HS_BUF_MAX), step
 * after each piece, and stop at HS_DONE: the packets behind the auth line
 * stay in the session, in order, for the data phase.  Returns the event
 * (HS_NEED_MORE, HS_DONE) or -1 if c failed.
 */
static int
tls_auth_input(struct eng_conn *c)
{
	uint8_t *buf = eng_snet(c->sh)->plain;
	size_t room;
	ssize_t n;
	int ev;

	for (;;) {
		if ((ev = hs_advance(c)) != HS_NEED_MORE)
			return ev;
		if ((room = eng_hs_room(c->hs)) == 0) {
			c->hs_why = ENG_HSF_PROTOCOL + 1;
			eng_conn_fail(c, "handshake input above %d bytes",
			              ENG_HS_BUF_MAX);
			return -1;
		}
		n = cry_tls_read(c->tls, buf, room);
		if (n == 0)
			return HS_NEED_MORE;
		if (n < 0) {
			eng_conn_fail_tls(c, n);
			return -1;
		}
		(void)eng_hs_feed(c->hs, buf, (size_t)n); /* n <= room */
	}
}

/* tls_drive - after TLS input arrived: advance the TLS handshake; once it
 * is complete, send our auth line inside TLS and look for the peer's. */
static void
tls_drive(struct eng_conn *c)
{
	int rc, ev;

	if (!c->tls_up) {
		rc = cry_tls_handshake(c->tls);
		if (rc < 0) {
			eng_conn_fail_tls(c, rc);
			return;
		}
		if (tls_queue_out(c) < 0)
			return;
		if (rc == 0) {
			arm_hs_recv(c);
			return;
		}
		c->tls_up = 1;
		eng_log(c->sh->node, AEMP_LOG_DEBUG,
		        "connection %s to %s: %s as TLS %s", c->addr.text,
		        c->peer, cry_tls_version(c->tls),
		        eng_hs_tls_client(c->hs) ? "client" : "server");
		if (hs_output(c) < 0) /* the auth line */
			return;
	}
	ev = tls_auth_input(c);
	if (ev == HS_NEED_MORE)
		arm_hs_recv(c);
	else if (ev == HS_DONE)
		hs_done(c);
}

static void
hs_recv_done(struct ring_op *op, int res, uint32_t flags)
{
	struct eng_conn *c = ((struct net_op *)(void *)op)->conn;

	(void)flags;
	c->ops--;
	c->recv_op.op.fn = NULL;
	if (c->state == CS_CLOSED) {
		eng_conn_maybe_reap(c);
		return;
	}
	if (res <= 0) {
		eng_conn_fail(c, "%s",
		              res == 0 ? "Unexpected end-of-file"
		                       : strerror(-res));
		return;
	}
	/* Re-armed before the input is processed, which may end the
	 * handshake or move c; a stage reached meanwhile only makes the
	 * deadline later, and the timeout re-checks (hs_timeout). */
	c->hs_rx_ns = ring_now_ns();
	hs_timer_arm(c);
	if (c->state == CS_TLS_HS) {
		if (cry_tls_feed(c->tls, c->hsbuf, (size_t)res) < 0) {
			eng_conn_fail(c, "TLS: input overflow");
			return;
		}
		tls_drive(c);
		return;
	}
	if (eng_hs_feed(c->hs, c->hsbuf, (size_t)res) < 0) {
		c->hs_why = ENG_HSF_PROTOCOL + 1;
		eng_conn_fail(c, "handshake input above %d bytes",
		              ENG_HS_BUF_MAX);
		return;
	}
	hs_progress(c);
}

void
eng_connrx_adopted(struct eng_conn *c)
{
	hs_timer_arm(c);
	if (peer_checks(c) == 0)
		hs_progress(c);
	else if (c->handover)
		eng_conn_try_handover(c); /* cannot happen: we are the owner */
}

void
eng_connrx_hs_timeout(struct ring_timer *t)
{
	struct eng_conn *c = AEMP_CONTAINER_OF(t, struct eng_conn, hs_timer);
	const char *key;
	uint64_t due;
	double secs;

	if (c->state == CS_DATA) {
		/* the warm-up after authentication ended (§2.10); later the
		 * timer gives back idle spare buffers */
		if (c->warm) {
			c->warm = 0;
			eng_conn_mark_dirty(c);
		}
		eng_frag_spare_expire(c);
		return;
	}
	if (c->state == CS_CLOSED)
		return;
	if (c->state == CS_CONNECTING) {
		c->hs_why = ENG_HSF_TIMEOUT + 1;
		eng_conn_fail(c, "connect timeout");
		return;
	}
	due = hs_due(c, &key, &secs);
	if (due > ring_now_ns()) { /* a later stage was reached */
		ring_timer_start(&c->sh->loop.timers, &c->hs_timer, due);
		return;
	}
	c->hs_why = ENG_HSF_TIMEOUT + 1;
	if (strcmp(key, "monitor_timeout") == 0)
		eng_conn_fail(c,
		              "handshake timeout: nothing received for %g s "
		              "(monitor_timeout)",
		              secs);
	else if (c->hs == NULL)
		eng_conn_fail(c, "sent nothing within %g s (%s)", secs, key);
	else
		eng_conn_fail(c, "%s not complete within %g s (%s)",
		              eng_hs_greeted(c->hs) ? "handshake" : "greeting",
		              secs, key);
}

void
eng_connrx_ka_timeout(struct ring_timer *t)
{
	struct eng_conn *c = AEMP_CONTAINER_OF(t, struct eng_conn, ka_timer);
	uint64_t iv = (uint64_t)(c->sh->node->cfg.monitor_timeout * 1e9);
	aemp_val noop = aemp_str("");
	struct cod_seg seg = {&noop, 1};

	if (c->state != CS_DATA)
		return;
	/* Listener-less nodes keep TCP probing dead paths (§5.11). */
	if (c->sh->loop.now_ns - c->last_tx_ns >= iv)
		eng_conn_encode(c, "", 0, &seg, 1);
	ring_timer_start(&c->sh->loop.timers, &c->ka_timer,
	                 c->sh->loop.now_ns + iv);
}

/* ---- data phase ----------------------------------------------------- */

static int rx_packet(void *arg, const aemp_val *pkt, const uint8_t *raw,
                     size_t rawlen);

/* frag_failed - a fragment of stream sid broke the rules (rc). */
static int
frag_failed(struct eng_conn *c, uint64_t sid, int rc)
{
	eng_conn_fail(c, "fragment of stream %llu: %s", (unsigned long long)sid,
	              rc == AEMP_EOVERFLOW ? "reassembly above the limits "
	                                     "(8 streams, max_queue bytes)"
	                                   : aemp_strerror(rc));
	return 1;
}

/*
 * frag_done - the packet of stream sid is complete in buf: decode it (into
 * the shard's ftape: the last fragment's own values may be in sh->tape,
 * in use by the stream) and dispatch it as if it had come whole.  A
 * fragment inside a reassembled packet is refused.  Returns as rx_packet.
 */
static int
frag_done(struct eng_conn *c, struct eng_frag_rx *r, uint64_t sid, uint8_t *buf,
          size_t len, size_t cap)
{
	struct eng_frag_piece inner;
	const aemp_val *pkt;
	int rc;

	rc = cod_decode(c->rx.framing, &eng_snet(c->sh)->ftape, buf, len, &pkt);
	if (rc == 0 && eng_frag_parse(pkt, &inner) != 0)
		rc = AEMP_EMALFORMED;
	if (rc < 0) {
		eng_frag_rx_release(r, buf, len, cap);
		eng_conn_fail(c, "reassembled packet of stream %llu: %s",
		              (unsigned long long)sid, aemp_strerror(rc));
		return 1;
	}
	rc = rx_packet(c, pkt, buf, len);
	eng_frag_rx_release(r, buf, len, cap);
	eng_frag_spare_touch(c);
	return rc;
}

/* rx_fragment - fragment f arrived whole on c.  Returns as rx_packet. */
static int
rx_fragment(struct eng_conn *c, const struct eng_frag_piece *f)
{
	struct eng_frag_rx *r = eng_frag_conn_rx(c);
	uint8_t *buf;
	size_t len, cap;
	int rc;

	if (r == NULL) {
		eng_conn_fail(c, "out of memory (fragments)");
		return 1;
	}
	rc = eng_frag_rx_piece(r, f, &buf, &len, &cap);
	if (rc == 0)
		return 0;
	if (rc < 0)
		return frag_failed(c, f->sid, rc);
	return frag_done(c, r, f->sid, buf, len, cap);
}

/*
 * rx_keep - the stream's cod_keep_fn (CBOR, fragments offered): a packet
 * that does not end in this receive buffer.  If it is a fragment whose
 * head is here, its piece goes straight into the reassembly, now and from
 * the next buffers (rx_feed, frag_left), instead of being copied into the
 * stream's buffer first: a 64 KiB piece nearly always straddles two
 * receive buffers.  Anything else is left to the stream.  The checks are
 * those of the general path (rx_packet, eng_frag_parse, rx_fragment).
 */
static int
rx_keep(void *arg, const uint8_t *p, size_t n, size_t *taken)
{
	struct eng_conn *c = arg;
	struct eng_frag_piece f;
	struct eng_frag_rx *r;
	size_t hdr, have;
	uint8_t *buf;
	size_t len, cap;
	int rc;

	if (eng_frag_cbor_head(p, n, &f, &hdr) != 1)
		return 0;
	have = n - hdr;
	if (have >= f.n || hdr > c->rx.max_packet ||
	    f.n > c->rx.max_packet - hdr)
		return 0; /* not partial after all, or too big: the stream's */
	if ((r = eng_frag_conn_rx(c)) == NULL) {
		eng_conn_fail(c, "out of memory (fragments)");
		return 1;
	}
	if (AEMP_UNLIKELY(c->warm)) {
		c->warm = 0; /* as rx_packet */
		eng_conn_mark_dirty(c);
	}
	if ((rc = eng_frag_rx_begin(r, &f)) < 0)
		return frag_failed(c, f.sid, rc);
	rc = eng_frag_rx_write(r, p + hdr, have, &buf, &len, &cap);
	AEMP_ASSERT(rc == 0); /* have < f.n */
	(void)buf;
	(void)len;
	(void)cap;
	c->frag_left = f.n - have;
	c->frag_rx_sid = f.sid;
	*taken = n;
	return 0;
}

/* rx_forward - pass a received packet on to shard dst (see rx_packet);
 * out of memory fails the connection: the stream cannot skip a packet
 * without losing it silently, and the monitors of the peer's ports must
 * hear of the loss.  Returns 0, or 1 (c failed). */
static int
rx_forward(struct eng_conn *c, int dst, const uint8_t *raw, size_t rawlen)
{
	if (eng_rec_forward(c->sh, dst, c->rx.framing, c->peer, c->peerlen, raw,
	                    rawlen) == 0)
		return 0;
	eng_conn_fail(c, "out of memory passing a packet to shard %d", dst);
	return 1;
}

static int
rx_packet(void *arg, const aemp_val *pkt, const uint8_t *raw, size_t rawlen)
{
	struct eng_conn *c = arg;
	struct eng_shard *sh = c->sh;
	const aemp_val *name;
	struct eng_port *p;
	uint32_t h;
	int dst;

	ENG_STAT_ADD(sh->st.remote_in, 1);
	if (AEMP_UNLIKELY(c->warm)) {
		c->warm = 0; /* the peer talks: it has verified our auth */
		eng_conn_mark_dirty(c);
	}
	if (pkt->len == 0)
		return 0; /* [] is a no-op (§3.1) */
	name = &pkt->u.a[0];
	if (AEMP_UNLIKELY(name->type != AEMP_STR))
		return 0;
	if (name->len == 0) {
		struct eng_frag_piece f;
		int k;

		if (c->frag_rx_on && (k = eng_frag_parse(pkt, &f)) != 0) {
			/* the packet counts once, when complete */
			ENG_STAT_ADD(sh->st.remote_in, -1);
			if (k > 0)
				return rx_fragment(c, &f);
			eng_conn_fail(c, "malformed fragment");
			return 1;
		}
		/* Behind this shard's own pending records: among them may be
		 * the event that this node came up (or that its previous
		 * connection went down), which the request must not overtake
		 * (e.g. a g_global answered before ours was sent). */
		if (eng_self_busy(sh)) {
			c->np_behind = 1;
			return rx_forward(c, sh->idx, raw, rawlen);
		}
		eng_nodeport(sh, pkt->u.a + 1, pkt->len - 1, c->peer,
		             c->peerlen);
		return c->state == CS_CLOSED;
	}
	h = eng_hash(name->u.s, name->len);
	dst = eng_shard_of_hash(sh->node, h);
	/* Behind this shard's own pending records when the port is ours,
	 * or when a node-port request of this connection waits among them
	 * (e.g. a spawn queued behind the node-up event): straight to the
	 * owner, a message would overtake the record that spawn makes for
	 * its port (§4.5).  eng_msg_record passes it on to the owner.  An
	 * empty queue means the request has run. */
	if (dst == sh->idx || AEMP_UNLIKELY(c->np_behind)) {
		if (eng_self_busy(sh))
			return rx_forward(c, sh->idx, raw, rawlen);
		c->np_behind = 0;
	}
	if (dst != sh->idx)
		return rx_forward(c, dst, raw, rawlen);
	p = eng_port_find(sh, name->u.s, name->len, h);
	if (p != NULL)
		eng_deliver(sh, p, pkt->u.a + 1, pkt->len - 1, c->peer,
		            c->peerlen);
	return c->state == CS_CLOSED;
}

static size_t
spilled(struct eng_shard *sh)
{
	size_t n = 0;
	int i;

	for (i = 0; i < sh->node->nshards; i++)
		n += sh->ovf[i].bytes;
	return n;
}

static void pause_cancel_done(struct ring_op *op, int res, uint32_t flags);

/* cancel_rx - cancel c's multishot receive (pause_rx). */
static void
cancel_rx(struct eng_conn *c)
{
	struct io_uring_sqe *sqe = ring_sqe(&c->sh->loop);

	io_uring_prep_cancel(sqe, &c->recv_op.op, 0);
	c->pause_op.op.fn = pause_cancel_done;
	ring_sqe_op(sqe, &c->pause_op.op);
	c->ops++;
	c->pause_cancel = 1;
}

static void
pause_cancel_done(struct ring_op *op, int res, uint32_t flags)
{
	struct eng_conn *c = ((struct net_op *)(void *)op)->conn;

	(void)res; /* -ENOENT: the receive had ended already */
	(void)flags;
	c->ops--;
	c->pause_cancel = 0;
	if (c->state == CS_CLOSED) {
		eng_conn_maybe_reap(c);
		return;
	}
	/* Paused again while this one was under way (pause_rx skipped its
	 * own cancel), and a receive is running that this one missed (it
	 * found the old one ended and a new one was armed since): cancel
	 * that too, or it fills the stash while the connection is paused. */
	if (c->paused && c->recv_multi)
		cancel_rx(c);
}

/*
 * pause_rx - stop processing c's input: the records this shard spilled
 * towards others passed NET_PAUSE_BYTES.  The multishot receive is
 * cancelled too, so what the peer sends next waits in the kernel (the
 * socket buffer, then TCP flow control) instead of filling the shard's
 * receive buffers: everything received is in front of whatever the peer
 * sends next, a ping included.  eng_connrx_unpause re-arms it.
 */
static void
pause_rx(struct eng_conn *c)
{
	c->paused = 1;
	eng_snet(c->sh)->npaused++;
	/* no receive yet: arm_data_recv does not arm a paused connection;
	 * a cancel under way: pause_cancel_done looks again */
	if (c->recv_multi && !c->pause_cancel)
		cancel_rx(c);
}

/* rx_piece_rest - the next bytes of a piece rx_keep began go straight
 * into the reassembly.  Returns the bytes taken, or -1 if c failed. */
static ssize_t
rx_piece_rest(struct eng_conn *c, const uint8_t *p, size_t n)
{
	struct eng_frag_rx *r = c->frx;
	size_t k = AEMP_MIN(n, c->frag_left), len, cap;
	uint8_t *buf;
	int rc;

	c->frag_left -= k;
	rc = eng_frag_rx_write(r, p, k, &buf, &len, &cap);
	if (rc == 1 && frag_done(c, r, c->frag_rx_sid, buf, len, cap) != 0)
		return -1;
	return c->state == CS_CLOSED ? -1 : (ssize_t)k;
}

static int
rx_feed(struct eng_conn *c, const uint8_t *p, size_t n)
{
	int rc = 0;

	if (AEMP_UNLIKELY(c->frag_left > 0)) {
		ssize_t k = rx_piece_rest(c, p, n);

		if (k < 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	if (n > 0)
		rc = cod_stream_feed(&c->rx, &c->sh->tape, p, n, rx_packet, c);
	if (AEMP_UNLIKELY(rc < 0)) {
		eng_conn_fail(c, "%s framing: %s",
		              cod_framing_name(c->rx.framing),
		              aemp_strerror(rc));
		return -1;
	}
	if (rc > 0 || c->state == CS_CLOSED)
		return -1;
	if (AEMP_UNLIKELY(spilled(c->sh) > NET_PAUSE_BYTES) && !c->paused)
		pause_rx(c);
	return 0;
}

/* tls_data - ciphertext received in the data phase: lent to the session
 * from the receive buffer (no copy), decrypted into the shard's padded
 * scratch buffer and decoded from there; what the session did not take
 * (reading stopped early) is kept by it.  Returns 0, or -1 if c failed
 * or stopped. */
static int
tls_data(struct eng_conn *c, const uint8_t *p, size_t n)
{
	uint8_t *buf = eng_snet(c->sh)->plain;
	size_t out = ring_bufq_bytes(&c->ctx);
	ssize_t k;
	int stop = 0;

	cry_tls_lend(c->tls, p, n);
	while ((k = cry_tls_read(c->tls, buf, NET_RXBUF_SIZE)) > 0)
		if ((stop = rx_feed(c, buf, (size_t)k)) < 0)
			break;
	if (cry_tls_unlend(c->tls) < 0 && c->state != CS_CLOSED) {
		eng_conn_fail(c, "TLS: input overflow");
		return -1;
	}
	if (stop < 0)
		return -1;
	if (AEMP_UNLIKELY(k < 0)) {
		eng_conn_fail_tls(c, k);
		return -1;
	}
	if (ring_bufq_bytes(&c->ctx) != out || /* e.g. a key update reply */
	    cry_tls_pending(c->tls, &(const uint8_t *){NULL}) > 0)
		return tls_queue_out(c);
	return 0;
}

static int
process(struct eng_conn *c, const uint8_t *p, size_t n)
{
	if (c->tls != NULL)
		return tls_data(c, p, n);
	return rx_feed(c, p, n);
}

/* log_auth - which method, transport and framings a connection ended up
 * with (once per connection). */
static void
log_auth(const struct eng_conn *c)
{
	const struct eng_hs *hs = c->hs;

	eng_log(c->sh->node, AEMP_LOG_INFO,
	        "connection %s to %s: authenticated over %s%s%s%s; auth sent "
	        "%s, received %s; framing sent %s, received %s",
	        c->addr.text, c->peer,
	        c->tls != NULL ? cry_tls_version(c->tls) : "plain TCP",
	        c->tls != NULL ? " (" : "",
	        c->tls != NULL ? cry_tls_cipher(c->tls) : "",
	        c->tls != NULL ? ")" : "", cry_auth_name(hs->send_auth),
	        cry_auth_name(hs->recv_auth),
	        cod_framing_name(hs->send_framing),
	        cod_framing_name(hs->recv_framing));
}

static void
hs_done(struct eng_conn *c)
{
	struct eng_shard *sh = c->sh;
	uint8_t *rest = eng_snet(sh)->plain;
	struct eng_rnode *rn;
	size_t n;

	n = eng_hs_take_rest(c->hs, rest, NET_RXBUF_SIZE);
	log_auth(c);
	c->send_framing = c->hs->send_framing;
	c->frag_rx_on = sh->node->cfg.fragment_size > 0;
	c->frag_size = c->frag_rx_on && c->hs->peer_frag
	                       ? sh->node->cfg.fragment_size
	                       : 0;
	cod_stream_init(&c->rx, c->hs->recv_framing, sh->node->cfg.max_packet);
	if (c->frag_rx_on && c->rx.framing == COD_CBOR) {
		c->rx.keep = rx_keep;
		c->rx.keep_arg = c;
	}
	ring_free(c->hs, sizeof(*c->hs));
	c->hs = NULL;
	eng_conn_hs_uncount(c);
	eng_hsq_del(c);
	c->state = CS_DATA;
	c->warm = 1;
	ring_timer_stop(&sh->loop.timers, &c->hs_timer);
	ring_timer_start(&sh->loop.timers, &c->hs_timer,
	                 ring_now_ns() + NET_WARMUP_NS);
	if (eng_net(sh->node)->nlst == 0)
		ring_timer_start(
		        &sh->loop.timers, &c->ka_timer,
		        ring_now_ns() +
		                (uint64_t)(sh->node->cfg.monitor_timeout *
		                           1e9));
	rn = eng_rnode_get(sh, c->peer, c->peerlen,
	                   eng_hash(c->peer, c->peerlen));
	if (rn == NULL) {
		eng_conn_fail(c, "out of memory");
		return;
	}
	eng_rnode_up(sh, rn, c);
	if (c->state != CS_DATA)
		return;
	if (n > 0 && rx_feed(c, rest, n) < 0)
		return;
	if (c->tls != NULL && tls_data(c, NULL, 0) < 0)
		return;
	if (c->state == CS_DATA)
		arm_data_recv(c);
}

static void data_recv_done(struct ring_op *op, int res, uint32_t flags);

/* rearm_clear - c no longer waits for buffers to receive again. */
static void
rearm_clear(struct eng_conn *c)
{
	if (c->need_rearm) {
		c->need_rearm = 0;
		eng_snet(c->sh)->nrearm--;
	}
}

/* arm_data_recv - start c's multishot receive, unless one runs, c is not
 * in the data phase, or c is paused (eng_connrx_unpause arms it). */
static void
arm_data_recv(struct eng_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->recv_multi || c->state != CS_DATA || c->paused)
		return;
	sqe = ring_sqe(&c->sh->loop);
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = eng_snet(c->sh)->rxbufs.bgid;
	c->recv_op.op.fn = data_recv_done;
	ring_sqe_op(sqe, &c->recv_op.op);
	c->ops++;
	c->recv_multi = 1;
	rearm_clear(c);
}

static void
stash(struct eng_conn *c, uint16_t bid, size_t len)
{
	AEMP_ASSERT(c->nstash < NET_STASH_MAX);
	c->stash[c->nstash] = bid;
	c->stash_len[c->nstash] = (uint32_t)len;
	c->nstash++;
}

static void
data_recv_done(struct ring_op *op, int res, uint32_t flags)
{
	struct eng_conn *c = ((struct net_op *)(void *)op)->conn;
	struct eng_snet *sn = eng_snet(c->sh);
	uint16_t bid;
	uint8_t *buf = NULL;

	if (!(flags & IORING_CQE_F_MORE)) {
		c->ops--;
		c->recv_multi = 0;
	}
	if (flags & IORING_CQE_F_BUFFER)
		buf = ring_bufring_take(&sn->rxbufs, flags, &bid);
	if (c->state == CS_CLOSED) {
		if (buf != NULL)
			ring_bufring_recycle(&sn->rxbufs, bid);
		eng_conn_maybe_reap(c);
		return;
	}
	if (res == -ECANCELED && buf == NULL) {
		/* pause_rx's cancel; unpaused meanwhile: receive again (as
		 * eng_connrx_unpause would have, had this ended first) */
		if (c->nstash == 0)
			arm_data_recv(c);
		return;
	}
	if (res == -ENOBUFS) {
		/* buffers come back at the end of the turn */
		if (!c->need_rearm) {
			c->need_rearm = 1;
			sn->nrearm++;
		}
		return;
	}
	if (res <= 0) {
		if (buf != NULL)
			ring_bufring_recycle(&sn->rxbufs, bid);
		eng_conn_fail(c, "%s",
		              res == 0 ? "Unexpected end-of-file"
		                       : strerror(-res));
		return;
	}
	AEMP_ASSERT(buf != NULL);
	ENG_STAT_ADD(c->sh->st.bytes_in, (uint64_t)res);
	if (c->paused || c->nstash > 0) {
		stash(c, bid, (size_t)res);
	} else {
		process(c, buf, (size_t)res);
		ring_bufring_recycle(&sn->rxbufs, bid);
	}
	arm_data_recv(c);
}

void
eng_connrx_release_stash(struct eng_conn *c)
{
	struct eng_snet *sn = eng_snet(c->sh);
	unsigned i;

	for (i = 0; i < c->nstash; i++)
		ring_bufring_recycle(&sn->rxbufs, c->stash[i]);
	c->nstash = 0;
	if (c->paused) {
		c->paused = 0;
		sn->npaused--;
	}
	rearm_clear(c); /* so unpausing stops looking at every conn */
}

static void
drain_stash(struct eng_conn *c)
{
	struct eng_snet *sn = eng_snet(c->sh);
	unsigned i = 0;

	while (i < c->nstash && c->state == CS_DATA && !c->paused) {
		process(c,
		        sn->rxbufs.mem +
		                (size_t)c->stash[i] * sn->rxbufs.stride,
		        c->stash_len[i]);
		ring_bufring_recycle(&sn->rxbufs, c->stash[i]);
		i++;
	}
	/* Off the stash first: the buffers before i are back in the ring,
	 * and if c failed meanwhile, releasing them again would hand one
	 * buffer to the kernel twice (two receives into it, one of them
	 * on any connection of the shard, overwriting the other's data). */
	memmove(c->stash, c->stash + i, (c->nstash - i) * sizeof(c->stash[0]));
	memmove(c->stash_len, c->stash_len + i,
	        (c->nstash - i) * sizeof(c->stash_len[0]));
	c->nstash -= i;
	if (c->state != CS_DATA)
		eng_connrx_release_stash(c); /* the rest, and the pause */
}

void
eng_connrx_unpause(struct eng_shard *sh)
{
	struct eng_snet *sn = eng_snet(sh);
	struct eng_conn *c;

	if (sn->have_bufring)
		ring_bufring_flush(&sn->rxbufs);
	if ((sn->npaused == 0 && sn->nrearm == 0) ||
	    spilled(sh) > NET_PAUSE_BYTES / 2)
		return;
	for (c = sn->conns; c != NULL; c = c->next) {
		if (c->paused) {
			c->paused = 0;
			sn->npaused--;
			drain_stash(c);
		}
		rearm_clear(c);
		if (c->nstash == 0)
			arm_data_recv(c);
	}
}
