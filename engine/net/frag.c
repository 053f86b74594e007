/*
 * engine/net/frag.c - large packets in fragments between aemp nodes
 * (docs/protocol.md "Fragments", docs/wire.md "Fragments").
 *
 * Sending: when the peer offered aemp_frag=1 in its greeting, a packet
 * larger than fragment_size is encoded into a bulk entry of its own
 * instead of the connection's send queue (tx), and eng_frag_emit moves it
 * into tx one piece at a time, each time the previous piece has left
 * (been handed to the kernel), so a small packet queued meanwhile waits
 * for at most one piece.  Order per destination port is kept: a packet
 * for a port that a bulk entry is addressed to waits in a held entry
 * behind it, and so does every node-port packet (its requests may be
 * about any port), and everything after a held node-port packet.
 *
 * Receiving: the pure reassembly (eng_frag_rx_*) is fuzzed on its own
 * (tests/fuzz/fuzz_frag.c); engine/net/connrx.c calls it for fragments
 * and dispatches the complete packet.
 *
 * Threads: the connection's shard.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/net/connint.h"
#include "engine/net/frag.h"
#include "ring/alloc.h"

/* ---- reassembly ----------------------------------------------------- */

void
eng_frag_rx_init(struct eng_frag_rx *r, size_t max_packet, size_t max_bytes)
{
	memset(r, 0, sizeof(*r));
	r->max_packet = max_packet;
	r->max_bytes = max_bytes;
}

void
eng_frag_rx_drop_spare(struct eng_frag_rx *r)
{
	if (r->spare != NULL)
		ring_free(r->spare, r->spare_cap + COD_PADDING);
	r->spare = NULL;
	r->spare_cap = 0;
}

void
eng_frag_rx_fini(struct eng_frag_rx *r)
{
	unsigned i;

	for (i = 0; i < ENG_FRAG_STREAMS; i++) {
		if (r->s[i].buf != NULL)
			ring_free(r->s[i].buf, r->s[i].cap + COD_PADDING);
		r->s[i].buf = NULL;
	}
	eng_frag_rx_drop_spare(r);
	r->n = 0;
	r->held = 0;
	r->cur = NULL;
	r->cur_left = 0;
}

/* A non-negative integer value. */
static int
get_u64(const aemp_val *v, uint64_t *out)
{
	if (v->type == AEMP_INT && v->u.i >= 0) {
		*out = (uint64_t)v->u.i;
		return 0;
	}
	if (v->type == AEMP_UINT && !(v->flags & AEMP_VF_NEG)) {
		*out = v->u.u;
		return 0;
	}
	return -1;
}

int
eng_frag_parse(const aemp_val *pkt, struct eng_frag_piece *f)
{
	const aemp_val *a = pkt->u.a;

	if (pkt->type != AEMP_ARRAY || pkt->len < 2 || a[0].type != AEMP_STR ||
	    a[0].len != 0 || a[1].type != AEMP_STR ||
	    a[1].len != sizeof(ENG_FRAG_CMD) - 1 ||
	    memcmp(a[1].u.s, ENG_FRAG_CMD, sizeof(ENG_FRAG_CMD) - 1) != 0)
		return 0;
	if (pkt->len != 6 || get_u64(&a[2], &f->sid) < 0 ||
	    get_u64(&a[3], &f->off) < 0 || get_u64(&a[4], &f->total) < 0 ||
	    a[5].type != AEMP_STR || a[5].len == 0 || f->off >= f->total ||
	    a[5].len > f->total - f->off)
		return AEMP_EMALFORMED;
	f->p = (const uint8_t *)a[5].u.s;
	f->n = a[5].len;
	return 1;
}

static struct eng_frag_stream *
stream_find(struct eng_frag_rx *r, uint64_t sid)
{
	unsigned i;

	for (i = 0; i < ENG_FRAG_STREAMS; i++)
		if (r->s[i].buf != NULL && r->s[i].sid == sid)
			return &r->s[i];
	return NULL;
}

/* stream_open - a slot for a new stream sid of total bytes. */
static int
stream_open(struct eng_frag_rx *r, const struct eng_frag_piece *f,
            struct eng_frag_stream **out)
{
	struct eng_frag_stream *s = NULL;
	unsigned i;

	if (f->total > r->max_packet)
		return AEMP_ETOOBIG;
	if (r->n >= ENG_FRAG_STREAMS || f->total > r->max_bytes - r->held)
		return AEMP_EOVERFLOW;
	for (i = 0; i < ENG_FRAG_STREAMS && s == NULL; i++)
		if (r->s[i].buf == NULL)
			s = &r->s[i];
	AEMP_ASSERT(s != NULL);
	if (r->spare != NULL && r->spare_cap >= f->total) {
		s->buf = r->spare;
		s->cap = r->spare_cap;
		r->spare = NULL;
		r->spare_cap = 0;
	} else {
		s->buf = ring_alloc((size_t)f->total + COD_PADDING);
		s->cap = (size_t)f->total;
		if (s->buf == NULL)
			return -ENOMEM;
	}
	s->sid = f->sid;
	s->total = (size_t)f->total;
	s->got = 0;
	r->n++;
	r->held += s->total;
	*out = s;
	return 0;
}

int
eng_frag_rx_begin(struct eng_frag_rx *r, const struct eng_frag_piece *f)
{
	struct eng_frag_stream *s = stream_find(r, f->sid);
	int rc;

	AEMP_ASSERT(r->cur == NULL);
	if (f->n == 0 || f->off >= f->total || f->n > f->total - f->off)
		return AEMP_EMALFORMED;
	if (s == NULL) {
		if (f->off != 0)
			return AEMP_EMALFORMED;
		if ((rc = stream_open(r, f, &s)) < 0)
			return rc;
	} else if (f->off != s->got || f->total != s->total) {
		return AEMP_EMALFORMED;
	}
	r->cur = s;
	r->cur_left = f->n;
	return 0;
}

int
eng_frag_rx_write(struct eng_frag_rx *r, const uint8_t *p, size_t n,
                  uint8_t **out, size_t *outlen, size_t *outcap)
{
	struct eng_frag_stream *s = r->cur;

	AEMP_ASSERT(s != NULL && n <= r->cur_left);
	memcpy(s->buf + s->got, p, n);
	s->got += n;
	r->cur_left -= n;
	if (r->cur_left > 0)
		return 0;
	r->cur = NULL;
	if (s->got < s->total)
		return 0;
	memset(s->buf + s->total, 0, COD_PADDING);
	*out = s->buf;
	*outlen = s->total;
	*outcap = s->cap;
	s->buf = NULL; /* the slot is free; the bytes stay in held */
	r->n--;
	return 1;
}

int
eng_frag_rx_piece(struct eng_frag_rx *r, const struct eng_frag_piece *f,
                  uint8_t **out, size_t *outlen, size_t *outcap)
{
	int rc = eng_frag_rx_begin(r, f);

	if (rc < 0)
		return rc;
	return eng_frag_rx_write(r, f->p, f->n, out, outlen, outcap);
}

void
eng_frag_rx_release(struct eng_frag_rx *r, uint8_t *buf, size_t len, size_t cap)
{
	AEMP_ASSERT(r->held >= len);
	r->held -= len;
	if (r->spare == NULL || cap > r->spare_cap) {
		if (r->spare != NULL)
			ring_free(r->spare, r->spare_cap + COD_PADDING);
		r->spare = buf;
		r->spare_cap = cap;
		return;
	}
	ring_free(buf, cap + COD_PADDING);
}

int
eng_frag_cbor_name(const uint8_t *pkt, size_t n, const char **name, size_t *len)
{
	size_t i = 1, k, w;
	uint64_t l = 0;
	uint8_t b;

	if (n < 2 || (pkt[0] >> 5) != 4)
		return -1; /* not an array */
	k = pkt[0] & 31;
	if (k >= 24 && k <= 27)
		i += (size_t)1 << (k - 24); /* the array's length */
	else if (k > 27 && k != 31)
		return -1;
	if (i >= n)
		return -1;
	b = pkt[i++];
	if ((b >> 5) != 2 && (b >> 5) != 3)
		return -1;
	k = b & 31;
	if (k < 24) {
		l = k;
	} else if (k <= 27) {
		w = (size_t)1 << (k - 24);
		if (w > n - i)
			return -1;
		while (w-- > 0)
			l = l << 8 | pkt[i++];
	} else {
		return -1; /* indefinite length: not worth it */
	}
	if (l > n - i)
		return -1;
	*name = (const char *)pkt + i;
	*len = (size_t)l;
	return 0;
}

/* The first bytes of every fragment in CBOR: an array of 6, "" and
 * "aemp_frag" as text strings. */
static const uint8_t frag_lead[] = {0x86, 0x60, 0x69, 'a', 'e', 'm',
                                    'p',  '_',  'f',  'r', 'a', 'g'};

/* cbor_uint - a CBOR unsigned integer (major type 0) at p[*i..n):
 * 1 and *v, 0 if the input ends first, -1 if it is something else. */
static int
cbor_uint(const uint8_t *p, size_t n, size_t *i, uint8_t major, uint64_t *v)
{
	size_t w;
	uint8_t k;

	if (*i >= n)
		return 0;
	if ((p[*i] >> 5) != major)
		return -1;
	k = p[(*i)++] & 31;
	if (k < 24) {
		*v = k;
		return 1;
	}
	if (k > 27)
		return -1;
	w = (size_t)1 << (k - 24);
	if (w > n - *i)
		return 0;
	for (*v = 0; w-- > 0;)
		*v = *v << 8 | p[(*i)++];
	return 1;
}

int
eng_frag_cbor_head(const uint8_t *p, size_t n, struct eng_frag_piece *f,
                   size_t *hdrlen)
{
	uint64_t *fields[3] = {&f->sid, &f->off, &f->total}, len;
	size_t i = sizeof(frag_lead);
	int k, rc;

	if (n < i || memcmp(p, frag_lead, i) != 0)
		return 0;
	for (k = 0; k < 3; k++)
		if ((rc = cbor_uint(p, n, &i, 0, fields[k])) != 1)
			return 0;
	if (cbor_uint(p, n, &i, 2, &len) != 1)
		return 0;
	f->p = NULL;
	f->n = (size_t)len;
	if (len != f->n)
		return 0;
	*hdrlen = i;
	return 1;
}

/* ---- sending -------------------------------------------------------- */

/* big - a packet of n bytes goes in pieces: above 1.5 fragment sizes (so
 * a packet just above the size does not make a tiny second piece; the
 * last piece takes a rest of up to half a size). */
static int
big(const struct eng_conn *c, size_t n)
{
	return n > c->frag_size + c->frag_size / 2;
}

/* A bulk entry: one large packet sent in pieces, or (held) small packets
 * that must not overtake the entries before them.  Entries are numbered
 * in FIFO order (seq). */
struct eng_bulk {
	struct eng_bulk *next;
	struct ring_bufq q; /* held: the packets */
	uint8_t *buf;       /* bulk: the packet (total bytes), cap bytes */
	size_t cap;
	uint64_t seq;
	size_t total; /* bulk: packet bytes */
	size_t off;   /* bulk: bytes sent as pieces */
	uint32_t sid;
	uint8_t held;
	unsigned np; /* node-port packets in it */
};

/* A destination port with packets in the bulk entries: seq is the newest
 * entry holding one (stale once that entry has left: seq below the
 * head's). */
struct frag_ref {
	uint32_t hash;
	uint64_t seq;
	size_t namelen;
	char name[];
};

struct ref_key {
	const char *name;
	size_t len;
};

static uint32_t
ref_hash(const void *e)
{
	return ((const struct frag_ref *)e)->hash;
}

static int
ref_eq(const void *e, const void *k)
{
	const struct frag_ref *r = e;
	const struct ref_key *key = k;

	return r->namelen == key->len &&
	       memcmp(r->name, key->name, key->len) == 0;
}

static void
ref_free(void *e, void *arg)
{
	struct frag_ref *r = e;

	(void)arg;
	ring_free(r, sizeof(*r) + r->namelen);
}

static void
refs_clear(struct eng_conn *c)
{
	eng_htab_each(&c->frag_refs, ref_free, NULL);
	eng_htab_fini(&c->frag_refs);
	eng_htab_init(&c->frag_refs);
	c->frag_refs_prune = 0;
}

struct prune_arg {
	struct eng_htab keep;
	uint64_t head;
	int err;
};

static void
ref_keep(void *e, void *arg)
{
	struct frag_ref *r = e;
	struct prune_arg *a = arg;

	if (r->seq < a->head || a->err < 0 ||
	    (a->err = eng_htab_insert(&a->keep, r->hash, r, ref_hash)) < 0)
		ref_free(r, NULL);
}

/* refs_prune - drop the stale references while the entries never run
 * out; amortised: only once the table has doubled since the last time. */
static void
refs_prune(struct eng_conn *c)
{
	struct prune_arg a;

	if (c->frag_refs.len < 64 || c->frag_refs.len < c->frag_refs_prune)
		return;
	eng_htab_init(&a.keep);
	a.head = c->bulk_head->seq;
	a.err = 0;
	eng_htab_each(&c->frag_refs, ref_keep, &a);
	eng_htab_fini(&c->frag_refs);
	c->frag_refs = a.keep;
	c->frag_refs_prune = 2 * c->frag_refs.len;
	if (a.err < 0 && !c->frag_refs_lost) {
		/* out of memory, some live ones are gone: hold everything
		 * until the entries run out */
		c->frag_refs_lost = 1;
		c->bulk_np++;
	}
}

/* ref_note - a packet for (name, len) went into entry e.  Returns 0 or
 * -ENOMEM. */
static int
ref_note(struct eng_conn *c, const struct eng_bulk *e, const char *name,
         size_t len)
{
	struct ref_key k = {name, len};
	uint32_t h = eng_hash(name, len);
	struct frag_ref *r = eng_htab_find(&c->frag_refs, h, ref_eq, &k);

	if (r == NULL) {
		r = ring_alloc(sizeof(*r) + len);
		if (r == NULL)
			return -ENOMEM;
		r->hash = h;
		r->namelen = len;
		memcpy(r->name, name, len);
		if (eng_htab_insert(&c->frag_refs, h, r, ref_hash) < 0) {
			ring_free(r, sizeof(*r) + len);
			return -ENOMEM;
		}
	}
	r->seq = e->seq;
	return 0;
}

/*
 * lowat - while large packets wait, keep at most two pieces unsent in the
 * kernel (TCP_NOTSENT_LOWAT): the socket buffer (megabytes once TCP has
 * grown it) would otherwise hold many pieces in front of a small packet.
 * Back to socket_buffer's limit (0: none, the system default) when none
 * waits.  A failure only costs latency.
 */
static void
lowat(struct eng_conn *c, int on)
{
	size_t sb = c->sh->node->cfg.socket_buffer, v = sb;
	int iv;

	if (on)
		v = AEMP_MIN(2 * c->frag_size, (size_t)1 << 30);
	if (on && sb > 0)
		v = AEMP_MIN(v, sb);
	iv = v > 0 ? (int)v : -1; /* -1 is UINT_MAX: no limit */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &iv,
	                 sizeof(iv));
}

static struct eng_bulk *
bulk_push(struct eng_conn *c, int held)
{
	struct eng_bulk *e = ring_zalloc(sizeof(*e));

	if (e == NULL)
		return NULL;
	ring_bufq_init(&e->q, &eng_snet(c->sh)->chunks);
	e->held = (uint8_t)held;
	e->seq = ++c->bulk_seq;
	if (!held)
		e->sid = c->frag_sid++;
	if (c->bulk_tail != NULL) {
		c->bulk_tail->next = e;
	} else {
		c->bulk_head = e;
		lowat(c, 1);
	}
	c->bulk_tail = e;
	return e;
}

/* bulk_buf - a buffer of at least n bytes for a large packet: the spare
 * if it is large enough (fresh memory costs a page fault per 4 KiB on
 * every packet), else a new one.  Its size into *cap. */
static uint8_t *
bulk_buf(struct eng_conn *c, size_t n, size_t *cap)
{
	uint8_t *b = c->bulk_spare;

	if (b != NULL && c->bulk_spare_cap >= n) {
		*cap = c->bulk_spare_cap;
		c->bulk_spare = NULL;
		c->bulk_spare_cap = 0;
		return b;
	}
	*cap = n;
	return ring_alloc(n);
}

/* bulk_buf_put - a large packet's buffer is free: keep the largest. */
static void
bulk_buf_put(struct eng_conn *c, uint8_t *b, size_t cap)
{
	if (c->bulk_spare == NULL || cap > c->bulk_spare_cap) {
		ring_free(c->bulk_spare, c->bulk_spare_cap);
		c->bulk_spare = b;
		c->bulk_spare_cap = cap;
		eng_frag_spare_touch(c);
		return;
	}
	ring_free(b, cap);
}

void
eng_frag_spare_touch(struct eng_conn *c)
{
	struct ring_loop *l = &c->sh->loop;

	c->spare_ns = l->now_ns;
	if (c->state == CS_DATA && !ring_timer_armed(&c->hs_timer))
		ring_timer_start(&l->timers, &c->hs_timer,
		                 l->now_ns + ENG_FRAG_SPARE_KEEP_NS);
}

void
eng_frag_spare_expire(struct eng_conn *c)
{
	struct ring_loop *l = &c->sh->loop;
	uint64_t due = c->spare_ns + ENG_FRAG_SPARE_KEEP_NS;

	if (c->bulk_spare == NULL && (c->frx == NULL || c->frx->spare == NULL))
		return;
	if (due > l->now_ns) {
		ring_timer_start(&l->timers, &c->hs_timer, due);
		return;
	}
	ring_free(c->bulk_spare, c->bulk_spare_cap);
	c->bulk_spare = NULL;
	c->bulk_spare_cap = 0;
	if (c->frx != NULL)
		eng_frag_rx_drop_spare(c->frx);
}

static void
bulk_pop(struct eng_conn *c)
{
	struct eng_bulk *e = c->bulk_head;

	c->bulk_head = e->next;
	c->bulk_np -= e->np;
	if (e->buf != NULL)
		bulk_buf_put(c, e->buf, e->cap);
	ring_bufq_fini(&e->q);
	ring_free(e, sizeof(*e));
	if (c->bulk_head != NULL) {
		refs_prune(c);
		return;
	}
	c->bulk_tail = NULL;
	if (c->state != CS_CLOSED)
		lowat(c, 0);
	if (c->frag_refs_lost) {
		c->frag_refs_lost = 0;
		c->bulk_np--;
	}
	refs_clear(c);
}

void
eng_frag_conn_free(struct eng_conn *c)
{
	while (c->bulk_head != NULL)
		bulk_pop(c);
	refs_clear(c);
	ring_free(c->bulk_spare, c->bulk_spare_cap);
	c->bulk_spare = NULL;
	c->bulk_spare_cap = 0;
	c->bulk_bytes = 0;
	c->bulk_np = 0;
	if (c->frx != NULL) {
		eng_frag_rx_fini(c->frx);
		ring_free(c->frx, sizeof(*c->frx));
		c->frx = NULL;
	}
}

/* must_hold - a packet for port name must wait behind the bulk entries:
 * one of them holds a packet for the same port, or it is for the node
 * port, or a node-port packet waits there already. */
static int
must_hold(const struct eng_conn *c, const char *name, size_t namelen)
{
	struct ref_key k = {name, namelen};
	const struct frag_ref *r;

	if (c->bulk_head == NULL)
		return 0;
	if (namelen == 0 || c->bulk_np > 0)
		return 1;
	r = eng_htab_find(&c->frag_refs, eng_hash(name, namelen), ref_eq, &k);
	return r != NULL && r->seq >= c->bulk_head->seq;
}

/* entry - the entry a packet of n bytes for name goes to: a new bulk
 * entry (big), else the held entry at the tail (made if
 * needed); NULL when out of memory.  Notes the port. */
static struct eng_bulk *
entry(struct eng_conn *c, size_t n, const char *name, size_t namelen)
{
	struct eng_bulk *e = c->bulk_tail;

	if (big(c, n) || e == NULL || !e->held)
		e = bulk_push(c, !big(c, n));
	if (e == NULL)
		return NULL;
	if (big(c, n))
		e->total = n;
	/* node port, or no reference: everything after it waits too */
	if (namelen == 0 || ref_note(c, e, name, namelen) < 0) {
		e->np++;
		c->bulk_np++;
	}
	return e;
}

/* place - n encoded bytes of a packet for name go to a new bulk entry
 * (big), a held entry, or tx.  p may be NULL: then the
 * room is only reserved, returned in *dst, for the caller to fill and
 * commit in *q (NULL for a large packet: its own buffer, no commit). */
static int
place(struct eng_conn *c, const uint8_t *p, size_t n, const char *name,
      size_t namelen, int hold, uint8_t **dst, struct ring_bufq **q)
{
	struct eng_bulk *e;
	uint8_t *w;
	size_t room;

	*q = &c->tx;
	if (big(c, n) || hold) {
		if ((e = entry(c, n, name, namelen)) == NULL)
			return -ENOMEM;
		*q = &e->q;
		if (big(c, n)) { /* a buffer of its own: nothing to commit */
			if ((e->buf = bulk_buf(c, n, &e->cap)) == NULL)
				return -ENOMEM;
			*q = NULL;
		}
	}
	if (*q == NULL)
		w = c->bulk_tail->buf;
	else if ((w = ring_bufq_reserve(*q, n, &room)) == NULL)
		return -ENOMEM;
	if (*q != &c->tx)
		c->bulk_bytes += n;
	if (p != NULL) {
		memcpy(w, p, n);
		if (*q != NULL)
			ring_bufq_commit(*q, n);
	}
	*dst = w;
	return 0;
}

int
eng_frag_encode(struct eng_conn *c, const char *name, size_t namelen,
                const struct cod_seg *segs, size_t nsegs)
{
	int hold = must_hold(c, name, namelen), rc;
	enum cod_framing f = c->send_framing;
	struct ring_bufq *q;
	uint8_t *p;
	size_t room;
	ssize_t n;

	/* First try straight into tx, where nearly everything goes. */
	p = ring_bufq_reserve(&c->tx, 64, &room);
	if (AEMP_UNLIKELY(p == NULL))
		return -ENOMEM;
	n = cod_encode_packet(f, p, room, name, namelen, segs, nsegs);
	if (AEMP_UNLIKELY(n < 0))
		return (int)n;
	if ((size_t)n <= room) {
		if (!big(c, (size_t)n) && !hold) {
			ring_bufq_commit(&c->tx, (size_t)n);
			return 0;
		}
		/* the reservation in tx is dropped uncommitted */
		return place(c, p, (size_t)n, name, namelen, hold, &p, &q);
	}
	if ((rc = place(c, NULL, (size_t)n, name, namelen, hold, &p, &q)) < 0)
		return rc;
	if (cod_encode_packet(f, p, (size_t)n, name, namelen, segs, nsegs) != n)
		return AEMP_EMALFORMED; /* cannot happen: same input */
	if (q != NULL)
		ring_bufq_commit(q, (size_t)n);
	return 0;
}

int
eng_frag_append(struct eng_conn *c, const uint8_t *pkt, size_t len)
{
	const char *name = "";
	size_t namelen = 0;
	struct ring_bufq *q;
	uint8_t *p;

	if (c->bulk_head == NULL && !big(c, len))
		return ring_bufq_append(&c->tx, pkt, len);
	/* an unreadable name counts as the node port: it waits the most */
	if (eng_frag_cbor_name(pkt, len, &name, &namelen) < 0) {
		name = "";
		namelen = 0;
	}
	return place(c, pkt, len, name, namelen, must_hold(c, name, namelen),
	             &p, &q);
}

/* move_held - the held entry at the head goes to tx whole. */
static int
move_held(struct eng_conn *c)
{
	struct eng_bulk *e = c->bulk_head;
	struct iovec iov;

	while (ring_bufq_iov(&e->q, &iov, 1, SIZE_MAX) == 1) {
		if (ring_bufq_append(&c->tx, iov.iov_base, iov.iov_len) < 0)
			return -ENOMEM;
		ring_bufq_consume(&e->q, iov.iov_len);
		c->bulk_bytes -= iov.iov_len;
	}
	bulk_pop(c);
	return 0;
}

/* put_head - a CBOR head of major type `major` with argument v, shortest
 * form (as codec/cbor_enc.c writes it), at p; returns its length. */
static size_t
put_head(uint8_t *p, uint8_t major, uint64_t v)
{
	size_t w, i;

	if (v < 24) {
		p[0] = (uint8_t)(major << 5 | v);
		return 1;
	}
	w = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffu ? 4 : 8;
	p[0] = (uint8_t)(major << 5 | (w == 1   ? 24
	                               : w == 2 ? 25
	                               : w == 4 ? 26
	                                        : 27));
	for (i = 0; i < w; i++)
		p[1 + i] = (uint8_t)(v >> (8 * (w - 1 - i)));
	return 1 + w;
}

size_t
eng_frag_cbor_head_put(uint8_t *out, uint64_t sid, uint64_t off, uint64_t total,
                       size_t n)
{
	size_t k = sizeof(frag_lead);

	memcpy(out, frag_lead, k);
	k += put_head(out + k, 0, sid);
	k += put_head(out + k, 0, off);
	k += put_head(out + k, 0, total);
	k += put_head(out + k, 2, n);
	return k;
}

/* piece_cbor - a CBOR piece: its head copied into tx, and the k bytes at
 * p after it by reference (no copy): they stay in the entry's buffer,
 * which goes only once tx has drained (eng_frag_emit). */
static int
piece_cbor(struct eng_conn *c, const struct eng_bulk *e, const uint8_t *p,
           size_t k)
{
	uint8_t h[ENG_FRAG_HEAD_MAX];
	size_t n = eng_frag_cbor_head_put(h, e->sid, e->off, e->total, k);
	int rc;

	if ((rc = ring_bufq_append(&c->tx, h, n)) < 0)
		return rc;
	return ring_bufq_append_ext(&c->tx, p, k);
}

/* emit_piece - the next piece of the bulk entry at the head into tx.
 * The entry stays at the head after its last piece, until that piece
 * has left (eng_frag_emit).  Returns 0 or an error. */
static int
emit_piece(struct eng_conn *c)
{
	struct eng_bulk *e = c->bulk_head;
	const uint8_t *p;
	aemp_val a[5];
	struct cod_seg seg = {a, 5};
	size_t k = e->total - e->off;
	int rc;

	if (big(c, k))
		k = c->frag_size;
	p = e->buf + e->off;
	a[4] = aemp_bytes(p, k);
	if (c->send_framing == COD_CBOR) {
		if ((rc = piece_cbor(c, e, p, k)) < 0)
			return rc;
		c->bulk_bytes -= k;
		e->off += k;
		return 0;
	}
	if (c->send_framing == COD_JSON) {
		/* JSON text: cut between characters, so the piece is valid
		 * UTF-8 and goes into a JSON string as it is */
		while (k < e->total - e->off && k > 1 && (p[k] & 0xc0) == 0x80)
			k--;
		a[4] = aemp_strn((const char *)p, k);
	}
	a[0] = aemp_str(ENG_FRAG_CMD);
	a[1] = aemp_uint(e->sid);
	a[2] = aemp_uint(e->off);
	a[3] = aemp_uint(e->total);
	rc = eng_bufq_encode(&c->tx, c->send_framing, "", 0, &seg, 1);
	if (rc < 0)
		return rc;
	c->bulk_bytes -= k;
	e->off += k;
	return 0;
}

int
eng_frag_emit(struct eng_conn *c)
{
	int rc;

	if (c->bulk_head == NULL || c->tx_sent < c->frag_end ||
	    (c->tls != NULL && ring_bufq_bytes(&c->ctx) > 0))
		return 0;
	while (c->bulk_head != NULL) {
		if (c->bulk_head->held) {
			if ((rc = move_held(c)) < 0)
				return rc;
			continue;
		}
		if (c->bulk_head->off == c->bulk_head->total) {
			/* its last piece has left (tx drained): the buffer
			 * its bytes were sent from can go */
			bulk_pop(c);
			continue;
		}
		if ((rc = emit_piece(c)) < 0)
			return rc;
		break; /* one piece per send */
	}
	c->frag_end = c->tx_sent + ring_bufq_bytes(&c->tx);
	return 0;
}

struct eng_frag_rx *
eng_frag_conn_rx(struct eng_conn *c)
{
	const struct eng_config *cfg = &c->sh->node->cfg;

	if (c->frx == NULL) {
		c->frx = ring_alloc(sizeof(*c->frx));
		if (c->frx == NULL)
			return NULL;
		eng_frag_rx_init(c->frx, cfg->max_packet,
		                 cfg->max_queue ? cfg->max_queue : (64u << 20));
	}
	return c->frx;
}
