/*
 * engine/net/conn.c - one TCP connection on io_uring: creation, dialling,
 * sending (packets encoded straight into a chunk queue, one sendmsg per
 * connection per loop turn), closing and reaping, and the move of a
 * connection to another shard.  The handshake and the data phase are in
 * engine/net/connrx.c.
 *
 * Invariants:
 *  - At most one send and one receive in flight per socket (the receive
 *    may be multishot).  `ops` counts operations in flight; a closed
 *    connection is freed by the reap step once ops is 0 (STYLE.md §6).
 *  - A connection changes shards only with ops == 0 and an empty send
 *    queue (chunk pools are per shard).
 *
 * Threads: the owning shard only.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/net/connint.h"
#include "ring/alloc.h"

/* How long a connection closed after a TLS failure waits for its alert to
 * go out before the socket is shut regardless. */
#define CONN_LINGER_NS (1000ull * 1000 * 1000)

/* Plaintext per cry_tls_write: one full TLS record. */
#define CONN_RECORD_MAX 16384

/* ---- creation ------------------------------------------------------- */

static void
list_add(struct eng_snet *sn, struct eng_conn *c)
{
	c->prev = NULL;
	c->next = sn->conns;
	if (sn->conns != NULL)
		sn->conns->prev = c;
	sn->conns = c;
}

static void
list_del(struct eng_snet *sn, struct eng_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		sn->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

struct eng_conn *
eng_conn_new(struct eng_shard *sh, int fd, int outgoing,
             const struct eng_addr *addr)
{
	struct eng_snet *sn = eng_snet(sh);
	struct eng_conn *c = ring_zalloc(sizeof(*c));

	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->sh = sh;
	c->fd = fd;
	c->outgoing = (uint8_t)outgoing;
	if (addr != NULL)
		c->addr = *addr;
	c->recv_op.conn = c->send_op.conn = c->conn_op.conn = c;
	c->cancel_op.conn = c->pause_op.conn = c;
	ring_bufq_init(&c->tx, &sn->chunks);
	ring_bufq_init(&c->ctx, &sn->chunks);
	ring_timer_init(&c->hs_timer, eng_connrx_hs_timeout);
	ring_timer_init(&c->ka_timer, eng_connrx_ka_timeout);
	list_add(sn, c);
	atomic_fetch_add(&eng_net(sh->node)->handshakes, 1);
	c->hs_counted = 1;
	return c;
}

void
eng_conn_hs_uncount(struct eng_conn *c)
{
	if (c->hs_counted) {
		c->hs_counted = 0;
		atomic_fetch_sub(&eng_net(c->sh->node)->handshakes, 1);
	}
}

/*
 * set_sockopts - keepalive, TCP_NODELAY, and with socket_buffer set the
 * bytes the socket may hold (docs/config.md "Socket buffers and
 * latency"): SO_RCVBUF caps what the peer may have in flight towards us,
 * TCP_NOTSENT_LOWAT what waits unsent on our side.  Without them the
 * kernel grows both to megabytes, and a message queued behind a stream of
 * small ones waits until the receiver has worked through all of it.
 */
static void
set_sockopts(struct eng_conn *c)
{
	const struct eng_config *cfg = &c->sh->node->cfg;
	int one = 1, v;

	/* Failures here only cost latency or liveness detection. */
	(void)setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (cfg->nodelay)
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
		                 sizeof(one));
	if (cfg->socket_buffer > 0) {
		v = (int)cfg->socket_buffer; /* <= 2^30: validated */
		(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v,
		                 sizeof(v));
	}
}

static void
conn_connected(struct ring_op *op, int res, uint32_t flags)
{
	struct eng_conn *c = ((struct net_op *)(void *)op)->conn;

	(void)flags;
	c->ops--;
	if (c->state == CS_CLOSED) {
		eng_conn_maybe_reap(c);
		return;
	}
	if (res < 0) {
		eng_conn_fail(c, "connect to %s: %s", c->addr.text,
		              strerror(-res));
		return;
	}
	eng_conn_start(c);
}

int
eng_conn_dial(struct eng_shard *sh, const struct eng_addr *addr,
              struct eng_rnode *rn, int seed)
{
	struct io_uring_sqe *sqe;
	struct eng_conn *c;
	int fd;

	fd = socket(addr->ss.ss_family,
	            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		eng_log(sh->node, AEMP_LOG_ERROR, "socket for %s: %s",
		        addr->text, strerror(errno));
		return -errno;
	}
	c = eng_conn_new(sh, fd, 1, addr);
	if (c == NULL)
		return -ENOMEM;
	c->trial_of = rn;
	if (rn != NULL)
		rn->ntrials++;
	c->seed = (uint8_t)seed;
	c->state = CS_CONNECTING;
	c->conn_op.op.fn = conn_connected;
	sqe = ring_sqe(&sh->loop);
	io_uring_prep_connect(sqe, fd, (const struct sockaddr *)&c->addr.ss,
	                      c->addr.len);
	ring_sqe_op(sqe, &c->conn_op.op);
	c->ops++;
	/* the handshake timeout also bounds the TCP connect */
	ring_timer_start(
	        &sh->loop.timers, &c->hs_timer,
	        ring_now_ns() +
	                (uint64_t)(sh->node->cfg.monitor_timeout * 1e9));
	return 0;
}

void
eng_conn_start(struct eng_conn *c)
{
	set_sockopts(c);
	eng_connrx_hs_start(c);
}

/* ---- sending -------------------------------------------------------- */

int
eng_bufq_encode(struct ring_bufq *q, enum cod_framing f, const char *name,
                size_t namelen, const struct cod_seg *segs, size_t nsegs)
{
	size_t room;
	uint8_t *p;
	ssize_t n;

	p = ring_bufq_reserve(q, 64, &room);
	if (AEMP_UNLIKELY(p == NULL))
		return -ENOMEM;
	n = cod_encode_packet(f, p, room, name, namelen, segs, nsegs);
	if (AEMP_UNLIKELY(n > (ssize_t)room)) {
		p = ring_bufq_reserve(q, (size_t)n, &room);
		if (p == NULL)
			return -ENOMEM;
		n = cod_encode_packet(f, p, room, name, namelen, segs, nsegs);
	}
	if (AEMP_UNLIKELY(n < 0))
		return (int)n;
	ring_bufq_commit(q, (size_t)n);
	return 0;
}

void
eng_conn_mark_dirty(struct eng_conn *c)
{
	struct eng_snet *sn;

	if (c->in_dirty || c->state == CS_CLOSED)
		return;
	sn = eng_snet(c->sh);
	c->in_dirty = 1;
	c->dirty_next = sn->dirty;
	sn->dirty = c;
}

int
eng_conn_encode(struct eng_conn *c, const char *name, size_t namelen,
                const struct cod_seg *segs, size_t nsegs)
{
	int rc;

	if (AEMP_LIKELY(c->frag_size == 0))
		rc = eng_bufq_encode(&c->tx, c->send_framing, name, namelen,
		                     segs, nsegs);
	else
		rc = eng_frag_encode(c, name, namelen, segs, nsegs);
	if (AEMP_LIKELY(rc == 0)) {
		ENG_STAT_ADD(c->sh->st.remote_out, 1);
		eng_conn_mark_dirty(c);
	}
	return rc;
}

/*
 * The batch: each packet is encoded right after the one before it, into
 * the room left by one reservation, and the lot committed at once; the
 * counters and the dirty mark are touched once.  A packet that does not
 * fit in what is left, or that may have to go in pieces (above
 * frag_size), commits what is there and takes eng_conn_encode; so does
 * every packet while large ones wait (must_hold decides there).  The
 * bytes are those of as many eng_conn_encode calls.
 */
int
eng_conn_encode_many(struct eng_conn *c, const char *name, size_t namelen,
                     const struct cod_seg *msgs, size_t count, size_t lim)
{
	enum cod_framing f = c->send_framing;
	size_t i, nb = 0, room = 0, used = 0, queued = eng_conn_queued(c);
	uint8_t *p = NULL;
	ssize_t n;
	int rc = 0;

	for (i = 0; i < count; i++) {
		if (queued + used > lim)
			break;
		if (c->bulk_head == NULL) { /* else large packets wait */
			if (room - used < 64) {
				ring_bufq_commit(&c->tx, used);
				queued += used;
				used = 0;
				p = ring_bufq_reserve(&c->tx, 64, &room);
				if (AEMP_UNLIKELY(p == NULL)) {
					rc = -ENOMEM;
					break;
				}
			}
			n = cod_encode_packet(f, p + used, room - used, name,
			                      namelen, &msgs[i], 1);
			if (AEMP_UNLIKELY(n < 0)) {
				rc = (int)n;
				break;
			}
			if (AEMP_LIKELY((size_t)n <= room - used &&
			                (c->frag_size == 0 ||
			                 (size_t)n <= c->frag_size))) {
				used += (size_t)n;
				nb++;
				continue;
			}
		}
		/* the single path, after what is here */
		ring_bufq_commit(&c->tx, used);
		used = room = 0;
		if ((rc = eng_conn_encode(c, name, namelen, &msgs[i], 1)) < 0)
			break;
		queued = eng_conn_queued(c);
	}
	ring_bufq_commit(&c->tx, used);
	if (nb > 0) { /* eng_conn_encode counted the others */
		ENG_STAT_ADD(c->sh->st.remote_out, nb);
		eng_conn_mark_dirty(c);
	}
	return i > 0 ? (int)i : rc;
}

int
eng_conn_append_cbor(struct eng_conn *c, const uint8_t *pkt, size_t len)
{
	struct eng_snet *sn = eng_snet(c->sh);
	const aemp_val *v;
	struct cod_seg seg;
	int rc;

	if (c->send_framing == COD_CBOR) {
		rc = c->frag_size ? eng_frag_append(c, pkt, len)
		                  : ring_bufq_append(&c->tx, pkt, len);
	} else {
		rc = cod_decode(COD_CBOR, &sn->xtape, pkt, len, &v);
		if (rc < 0 || v->len == 0 || v->u.a[0].type != AEMP_STR)
			return rc < 0 ? rc : AEMP_EMALFORMED;
		seg.v = v->u.a + 1;
		seg.n = v->len - 1;
		rc = c->frag_size ? eng_frag_encode(c, v->u.a[0].u.s,
		                                    v->u.a[0].len, &seg, 1)
		                  : eng_bufq_encode(&c->tx, c->send_framing,
		                                    v->u.a[0].u.s,
		                                    v->u.a[0].len, &seg, 1);
	}
	if (rc == 0) {
		ENG_STAT_ADD(c->sh->st.remote_out, 1);
		eng_conn_mark_dirty(c);
	}
	return rc;
}

size_t
eng_conn_queued(const struct eng_conn *c)
{
	return ring_bufq_bytes(&c->tx) + ring_bufq_bytes(&c->ctx) +
	       c->bulk_bytes;
}

static void conn_send_done(struct ring_op *op, int res, uint32_t flags);

/*
 * wire_queue - the queue whose bytes go on the wire next.  Without TLS,
 * the packet queue.  With TLS, the ciphertext queue, except while the
 * tail of our greeting (queued in tx before TLS started) is still unsent:
 * it goes first, in the clear (§2.7).  The answer cannot change while a
 * send is in flight: nothing but the greeting enters tx before the
 * connection is up, and the TLS handshake cannot complete (CS_DATA)
 * before the peer has our greeting and first TLS flight.
 */
static struct ring_bufq *
wire_queue(struct eng_conn *c)
{
	if (c->tls == NULL ||
	    (c->state != CS_DATA && ring_bufq_bytes(&c->tx) > 0))
		return &c->tx;
	return &c->ctx;
}

int
eng_conn_tls_out(struct eng_conn *c)
{
	const uint8_t *out;
	size_t n;

	while ((n = cry_tls_pending(c->tls, &out)) > 0) {
		if (ring_bufq_append(&c->ctx, out, n) < 0)
			return -ENOMEM;
		cry_tls_consume(c->tls, n);
	}
	return 0;
}

int
eng_conn_tls_sink(void *arg, const uint8_t *p, size_t n)
{
	struct eng_conn *c = arg;

	return ring_bufq_append(&c->ctx, p, n);
}

/*
 * tls_encrypt - in the data phase, encrypt plaintext packets into the
 * ciphertext queue, at most NET_SEND_MAX bytes ahead of the wire, so a
 * large backlog is not held twice.  Each write is one record of what is
 * contiguous at the head of tx, up to CONN_RECORD_MAX: 16 KiB records
 * when packets are queued up (throughput), one small record when a lone
 * packet is (latency: nothing waits to fill a record).  wolfSSL copies
 * the plaintext into its record buffer, encrypts it there, and the
 * session's sink (eng_conn_tls_sink) copies the record into ctx's chunks,
 * which go to sendmsg as they are.  Returns 0, or the session's error.
 */
static ssize_t
tls_encrypt(struct eng_conn *c)
{
	struct iovec iov;
	ssize_t k;

	while (c->state == CS_DATA && ring_bufq_bytes(&c->ctx) < NET_SEND_MAX &&
	       ring_bufq_iov(&c->tx, &iov, 1, CONN_RECORD_MAX) == 1) {
		k = cry_tls_write(c->tls, iov.iov_base, iov.iov_len);
		if (k == -EAGAIN)
			break; /* wolfSSL wants to wait: the bytes stay in tx */
		if (AEMP_UNLIKELY(k < 0))
			return k;
		ring_bufq_consume(&c->tx, (size_t)k);
		c->tx_sent += (uint64_t)k;
	}
	return eng_conn_tls_out(c); /* empty with the sink set */
}

/* submit_send - one sendmsg of at most limit bytes from q. */
static int
submit_send(struct eng_conn *c, struct ring_bufq *q, size_t limit)
{
	struct io_uring_sqe *sqe;
	size_t total = 0;
	int i, n;

	n = ring_bufq_iov(q, c->iov, NET_IOV_MAX, limit);
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		total += c->iov[i].iov_len;
	memset(&c->msg, 0, sizeof(c->msg));
	c->msg.msg_iov = c->iov;
	c->msg.msg_iovlen = (size_t)n;
	c->send_op.op.fn = conn_send_done;
	sqe = ring_sqe(&c->sh->loop);
	io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
	ring_sqe_op(sqe, &c->send_op.op);
	c->ops++;
	c->inflight = total;
	return 1;
}

/* eng_conn_flush - start one sendmsg if none is in flight.  Returns 1 if
 * a send was started. */
int
eng_conn_flush(struct eng_conn *c)
{
	size_t limit = c->warm ? NET_FIRST_SEND : NET_SEND_MAX;
	ssize_t rc;

	if (c->state == CS_CLOSED || c->state == CS_CONNECTING ||
	    c->send_op.op.fn != NULL)
		return 0;
	if (c->bulk_head != NULL && (rc = eng_frag_emit(c)) < 0) {
		eng_conn_fail(c, "fragments: %s", aemp_strerror((int)rc));
		return 0;
	}
	if (c->tls != NULL && (rc = tls_encrypt(c)) < 0) {
		eng_conn_fail_tls(c, rc);
		return 0;
	}
	if (c->warm && c->warm_sent)
		return 0;
	if (submit_send(c, wire_queue(c), limit) == 0)
		return 0;
	if (c->warm)
		c->warm_sent = 1;
	return 1;
}

static void
conn_send_done(struct ring_op *op, int res, uint32_t flags)
{
	struct eng_conn *c = ((struct net_op *)(void *)op)->conn;
	struct ring_bufq *q;

	(void)flags;
	c->ops--;
	c->send_op.op.fn = NULL;
	if (c->state == CS_CLOSED) {
		eng_conn_maybe_reap(c);
		return;
	}
	if (res < 0) {
		eng_conn_fail(c, "%s", strerror(-res));
		return;
	}
	q = wire_queue(c);
	ring_bufq_consume(q, (size_t)res);
	if (q == &c->tx)
		c->tx_sent += (uint64_t)res;
	ENG_STAT_ADD(c->sh->st.bytes_out, (uint64_t)res);
	eng_conn_qpub(c);
	c->last_tx_ns = c->sh->loop.now_ns;
	if (c->handover) {
		eng_conn_try_handover(c);
		return;
	}
	if (AEMP_UNLIKELY(c->rn != NULL && c->rn->congested))
		eng_rnode_congestion(c->sh, c->rn); /* relieved? */
	/* More to send (a partial send, packets queued meanwhile, or TLS
	 * records behind the greeting): continue at once rather than wait
	 * for the end of the turn. */
	if (eng_conn_queued(c) > 0 || c->bulk_head != NULL)
		eng_conn_flush(c); /* (a sent large packet's entry goes) */
}

unsigned
eng_net_flush(struct eng_shard *sh)
{
	struct eng_snet *sn = eng_snet(sh);
	struct eng_conn *c, *next;
	unsigned n = 0;

	c = sn->dirty;
	sn->dirty = NULL;
	for (; c != NULL; c = next) {
		next = c->dirty_next;
		c->in_dirty = 0;
		c->dirty_next = NULL;
		n += (unsigned)eng_conn_flush(c);
		eng_conn_qpub(c);
	}
	eng_connrx_unpause(sh);
	return n;
}

int
eng_net_has_work(struct eng_shard *sh)
{
	return eng_snet(sh)->dirty != NULL;
}

/* ---- closing and reaping -------------------------------------------- */

static void
conn_cancel_done(struct ring_op *op, int res, uint32_t flags)
{
	struct eng_conn *c = ((struct net_op *)(void *)op)->conn;

	(void)res;
	(void)flags;
	c->ops--;
	eng_conn_maybe_reap(c);
}

/* abort_ops - cancel everything in flight on c (closed) and shut the
 * socket. */
static void
abort_ops(struct eng_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->ops == 0)
		return;
	c->cancel_op.op.fn = conn_cancel_done;
	sqe = ring_sqe(&c->sh->loop);
	io_uring_prep_cancel_fd(sqe, c->fd, IORING_ASYNC_CANCEL_ALL);
	ring_sqe_op(sqe, &c->cancel_op.op);
	c->ops++;
	/* Shut the socket too: a send blocked on a full peer window is not
	 * always cancellable. */
	shutdown(c->fd, SHUT_RDWR);
}

static void
linger_timeout(struct ring_timer *t)
{
	struct eng_conn *c = AEMP_CONTAINER_OF(t, struct eng_conn, hs_timer);

	abort_ops(c);
}

/*
 * can_say_last_words - 1 if c (not closed yet) should end with one last
 * send of its ciphertext queue: its TLS session failed, so the queue ends
 * with the alert that tells the peer why (docs/tls.md §4).  Only if no
 * send is in flight (it may have cut a record) and the greeting is gone.
 */
static int
can_say_last_words(struct eng_conn *c)
{
	return c->tls != NULL && cry_tls_error(c->tls)[0] != '\0' &&
	       c->send_op.op.fn == NULL && ring_bufq_bytes(&c->ctx) > 0 &&
	       wire_queue(c) == &c->ctx;
}

/* last_words - on c, just closed: send the ciphertext queue and cancel
 * the receive.  The socket closes when the send completes, or after
 * CONN_LINGER_NS at the latest (a peer that does not read). */
static void
last_words(struct eng_conn *c)
{
	struct ring_loop *l = &c->sh->loop;
	struct io_uring_sqe *sqe;

	if (submit_send(c, &c->ctx, NET_SEND_MAX) == 0)
		return;
	c->cancel_op.op.fn = conn_cancel_done;
	sqe = ring_sqe(l);
	io_uring_prep_cancel(sqe, &c->recv_op.op, 0);
	ring_sqe_op(sqe, &c->cancel_op.op);
	c->ops++;
	ring_timer_init(&c->hs_timer, linger_timeout);
	ring_timer_start(&l->timers, &c->hs_timer, l->now_ns + CONN_LINGER_NS);
}

void
eng_conn_close(struct eng_conn *c)
{
	struct eng_shard *sh = c->sh;
	int words;

	if (c->state == CS_CLOSED)
		return;
	words = can_say_last_words(c);
	c->state = CS_CLOSED;
	eng_conn_untrial(c);
	eng_conn_hs_uncount(c);
	eng_hsq_del(c);
	ring_timer_stop(&sh->loop.timers, &c->hs_timer);
	ring_timer_stop(&sh->loop.timers, &c->ka_timer);
	if (words)
		last_words(c);
	else
		abort_ops(c);
	eng_conn_maybe_reap(c);
}

static void
conn_fail_va(struct eng_conn *c, int level, const char *fmt, va_list ap)
{
	struct eng_shard *sh = c->sh;

	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	/* a peer that closes cleanly is news, not a warning */
	if (strcmp(c->reason, "Unexpected end-of-file") == 0)
		level = AEMP_LOG_NOTE;
	eng_log(sh->node, level, "connection %s%s%.*s: %s",
	        c->addr.text[0] ? c->addr.text : "?", c->peerlen ? " to " : "",
	        (int)c->peerlen, c->peer, c->reason);
	eng_hsq_failed(c); /* metrics: not in the data phase */
	if (c->state == CS_DATA)
		eng_rnode_conn_lost(sh, c, c->reason); /* closes c */
	else if (c->seed)
		eng_connrx_seed_failed(c);
	eng_conn_close(c);
}

void
eng_conn_fail(struct eng_conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->state == CS_CLOSED)
		return;
	va_start(ap, fmt);
	conn_fail_va(c, c->state == CS_DATA ? AEMP_LOG_WARN : AEMP_LOG_NOTE,
	             fmt, ap);
	va_end(ap);
}

/* conn_fail_warn - eng_conn_fail, logged as a warning in every state. */
static void conn_fail_warn(struct eng_conn *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
conn_fail_warn(struct eng_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_fail_va(c, AEMP_LOG_WARN, fmt, ap);
	va_end(ap);
}

void
eng_conn_fail_tls(struct eng_conn *c, ssize_t rc)
{
	if (c->state == CS_CLOSED)
		return;
	if (rc == -EPIPE) {
		eng_conn_fail(c, "TLS: peer closed the session");
		return;
	}
	/* A warning also during the handshake: unknown CA, a peer that
	 * does not speak TLS, an alert are configuration errors or attacks,
	 * unlike the routine refusals (already connected) logged as notes.
	 * The alert goes out as the connection closes (last_words).  The
	 * session's text names the step and the reason ("TLS handshake:
	 * unknown CA: ..."); it never holds key material. */
	if (eng_conn_tls_out(c) < 0)
		conn_fail_warn(c, "%s (and out of memory)",
		               cry_tls_error(c->tls));
	else
		conn_fail_warn(c, "%s", cry_tls_error(c->tls));
}

void
eng_conn_untrial(struct eng_conn *c)
{
	struct eng_rnode *rn = c->trial_of;

	if (rn == NULL)
		return;
	c->trial_of = NULL;
	AEMP_ASSERT(rn->ntrials > 0);
	rn->ntrials--;
	eng_rnode_gc_touch(c->sh, rn);
}

void
eng_conn_maybe_reap(struct eng_conn *c)
{
	struct eng_snet *sn = eng_snet(c->sh);

	if (c->state != CS_CLOSED || c->ops > 0 || c->in_reap)
		return;
	c->in_reap = 1;
	c->reap_next = sn->reap;
	sn->reap = c;
}

static void
conn_free(struct eng_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	cry_tls_free(c->tls); /* first: its sink writes into ctx */
	eng_frag_conn_free(c);
	ring_bufq_fini(&c->tx);
	ring_bufq_fini(&c->ctx);
	cod_stream_fini(&c->rx);
	if (c->hs != NULL)
		ring_free(c->hs, sizeof(*c->hs));
	ring_free(c->hsbuf, ENG_HS_BUF_MAX);
	ring_free(c, sizeof(*c));
}

/* eng_conn_discard - free a connection that was moving between shards
 * when the node stopped (its hand-over record was never read). */
void
eng_conn_discard(struct eng_conn *c)
{
	conn_free(c);
}

/* dirty_del - take c off the shard's flush list (it is being freed or
 * leaves the shard). */
static void
dirty_del(struct eng_snet *sn, struct eng_conn *c)
{
	struct eng_conn **pp = &sn->dirty;

	if (!c->in_dirty)
		return;
	while (*pp != c)
		pp = &(*pp)->dirty_next;
	*pp = c->dirty_next;
	c->in_dirty = 0;
	c->dirty_next = NULL;
}

void
eng_net_reap(struct eng_shard *sh)
{
	struct eng_snet *sn = eng_snet(sh);
	struct eng_conn *c, *next;

	c = sn->reap;
	sn->reap = NULL;
	for (; c != NULL; c = next) {
		next = c->reap_next;
		/* armed only while an alert lingers (last_words) */
		ring_timer_stop(&sh->loop.timers, &c->hs_timer);
		eng_connrx_release_stash(c);
		list_del(sn, c);
		dirty_del(sn, c);
		conn_free(c);
	}
}

void
eng_conns_free(struct eng_shard *sh)
{
	struct eng_snet *sn = eng_snet(sh);
	struct eng_conn *c, *next;

	/* aemp_node_free has freed the node's network state (and with it
	 * the handshake count) before the shards: nothing here may reach
	 * eng_net(node), which is NULL now. */
	for (c = sn->conns; c != NULL; c = next) {
		next = c->next;
		c->hs_counted = 0;
		conn_free(c);
	}
	sn->conns = NULL;
	sn->dirty = NULL;
	sn->reap = NULL;
}

/* ---- moving between shards ------------------------------------------ */

void
eng_conn_try_handover(struct eng_conn *c)
{
	struct eng_shard *sh = c->sh;
	struct eng_snet *sn = eng_snet(sh);

	if (c->ops > 0 || ring_bufq_bytes(&c->tx) > 0)
		return; /* again when the last operation completes */
	c->handover = 0;
	ring_timer_stop(&sh->loop.timers, &c->hs_timer);
	eng_hsq_del(c); /* only the accepting shard lists them */
	list_del(sn, c);
	dirty_del(sn, c); /* the old shard must not flush it any more */
	ring_bufq_fini(&c->tx);
	ring_bufq_fini(&c->ctx);
	if (eng_net_send_rec(sh, c->handover_to, NET_HANDOVER, &c, sizeof(c)) ==
	    0)
		return;
	/* No room for the record: the connection stays here and fails
	 * (it would be lost otherwise). */
	ring_bufq_init(&c->tx, &sn->chunks);
	ring_bufq_init(&c->ctx, &sn->chunks);
	list_add(sn, c);
	eng_conn_fail(c, "out of memory (handing over to shard %d)",
	              c->handover_to);
}

void
eng_conn_adopt(struct eng_shard *sh, struct eng_conn *c)
{
	struct eng_snet *sn = eng_snet(sh);

	c->sh = sh;
	ring_bufq_init(&c->tx, &sn->chunks);
	ring_bufq_init(&c->ctx, &sn->chunks);
	list_add(sn, c);
	if (sn->stopping) {
		eng_conn_close(c);
		return;
	}
	eng_connrx_adopted(c);
}
