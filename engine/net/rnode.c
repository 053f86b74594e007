/*
 * engine/net/rnode.c - remote node records on their owner shard: the queue of
 * packets waiting for a connection, connection attempts (aemp-protocol.md
 * §5.2-§5.6), failure with monitor firing (§4.6.7, §5.8), connection
 * switches (§2.16), monitors of remote ports (lmon, §4.6.2) and proxies
 * for remote monitors of local ports (rmon, §4.6.3).
 *
 * Invariants:
 *  - At most one current connection per node; packets for the node are
 *    encoded into it, or into `queue` (CBOR) while none is up.
 *  - On failure the generation is bumped and broadcast before any monitor
 *    fires, the queue is discarded, and only then can new packets be
 *    queued (they start a new attempt).
 *  - One mon1 per (node, port) while local monitors exist; mon0 when the
 *    last goes.
 *  - A record that is down and idle (nothing queued, no monitor, no
 *    connection attempt or trial) sits on the shard's idle list, oldest
 *    first; after node_gc_delay it is freed, once every shard has
 *    acknowledged its last failure (netint.h).  Every change that can
 *    make a record idle calls eng_rnode_gc_touch.
 *
 * Threads: everything on the owner shard of the node; proxies on the
 * monitored port's shard.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "engine/core/lane.h"
#include "engine/net/netint.h"
#include "ring/alloc.h"

struct id_key {
	const char *id;
	size_t len;
	uint32_t hash;
};

static uint32_t
rnode_hash(const void *e)
{
	return ((const struct eng_rnode *)e)->hash;
}

static int
rnode_eq(const void *e, const void *k)
{
	const struct eng_rnode *r = e;
	const struct id_key *key = k;

	return r->hash == key->hash && r->idlen == key->len &&
	       eng_name_eq(r->id, key->id, key->len);
}

static uint32_t
lmon_hash(const void *e)
{
	return ((const struct eng_lmon *)e)->hash;
}

static int
lmon_eq(const void *e, const void *k)
{
	const struct eng_lmon *l = e;
	const struct id_key *key = k;

	return l->hash == key->hash && l->namelen == key->len &&
	       memcmp(l->name, key->id, key->len) == 0;
}

static void rnode_tick(struct ring_timer *t);
static void rnode_deadline(struct ring_timer *t);

struct eng_rnode *
eng_rnode_find(struct eng_shard *sh, const char *id, size_t len, uint32_t hash)
{
	struct id_key k = {id, len, hash};
	struct eng_snet *sn = eng_snet(sh);
	struct eng_rnode *rn = sn->rn_last;

	if (rn != NULL && rnode_eq(rn, &k))
		return rn;
	rn = eng_htab_find(&sn->rnodes, hash, rnode_eq, &k);
	if (rn != NULL)
		sn->rn_last = rn;
	return rn;
}

struct eng_rnode *
eng_rnode_get(struct eng_shard *sh, const char *id, size_t len, uint32_t hash)
{
	struct eng_snet *sn = eng_snet(sh);
	struct eng_rnode *rn = eng_rnode_find(sh, id, len, hash);

	if (rn != NULL)
		return rn;
	rn = ring_zalloc(sizeof(*rn) + len + 1);
	if (rn == NULL)
		return NULL;
	rn->hash = hash;
	rn->idlen = (uint32_t)len;
	memcpy(rn->id, id, len);
	rn->id[len] = '\0';
	rn->sh = sh;
	/* A new record (also one made again after it was freed) has seen no
	 * failure: every packet that could be stale was dropped before the
	 * old one was freed (eng_rnode_gc_run). */
	rn->fail = 0;
	ring_bufq_init(&rn->queue, &sn->chunks);
	eng_htab_init(&rn->lmon);
	ring_timer_init(&rn->ticker, rnode_tick);
	ring_timer_init(&rn->deadline, rnode_deadline);
	if (eng_htab_insert(&sn->rnodes, hash, rn, rnode_hash) < 0) {
		ring_free(rn, sizeof(*rn) + len + 1);
		return NULL;
	}
	atomic_fetch_add_explicit(&sn->nrnodes, 1, memory_order_relaxed);
	eng_rnode_gc_touch(sh, rn); /* freed in time if nothing uses it */
	return rn;
}

static void
free_lmon(void *e, void *arg)
{
	struct eng_lmon *l = e;
	struct eng_shard *sh = arg;
	struct eng_mon *m, *next;

	for (m = l->mons; m != NULL; m = next) {
		next = m->next;
		m->on_port = 0;
		eng_mon_free(sh, m);
	}
	ring_free(l, sizeof(*l) + l->namelen + 1);
}

static void
free_rnode(void *e, void *arg)
{
	struct eng_rnode *rn = e;
	struct eng_shard *sh = arg;

	ring_timer_stop(&sh->loop.timers, &rn->ticker);
	ring_timer_stop(&sh->loop.timers, &rn->deadline);
	ring_bufq_fini(&rn->queue);
	eng_htab_each(&rn->lmon, free_lmon, sh);
	eng_htab_fini(&rn->lmon);
	eng_addr_free(rn->addrs);
	if (rn->why != NULL)
		ring_free(rn->why, strlen(rn->why) + 1);
	ring_free(rn, sizeof(*rn) + rn->idlen + 1);
}

void
eng_rnodes_free(struct eng_shard *sh)
{
	struct eng_snet *sn = eng_snet(sh);

	sn->rn_last = NULL;
	eng_htab_each(&sn->rnodes, free_rnode, sh);
	eng_htab_fini(&sn->rnodes);
	sn->gc_head = sn->gc_tail = NULL;
	atomic_store_explicit(&sn->nrnodes, 0, memory_order_relaxed);
}

/* ---- garbage collection --------------------------------------------- */

/* Down, and nothing refers to it: no packet waits in its queue, no
 * monitor is registered, no attempt or trial connection runs (a
 * connection that is up refers to it through c->rn: state RN_UP). */
static int
rnode_idle(const struct eng_rnode *rn)
{
	return rn->state == RN_DOWN && rn->ntrials == 0 && !rn->congested &&
	       !rn->lookup && rn->lmon.len == 0 &&
	       ring_bufq_bytes(&rn->queue) == 0;
}

static uint64_t
gc_delay_ns(const struct eng_shard *sh)
{
	return (uint64_t)(sh->node->cfg.node_gc_delay * 1e9);
}

static void
gc_unlink(struct eng_snet *sn, struct eng_rnode *rn)
{
	if (!rn->in_gc)
		return;
	if (rn->gc_prev != NULL)
		rn->gc_prev->gc_next = rn->gc_next;
	else
		sn->gc_head = rn->gc_next;
	if (rn->gc_next != NULL)
		rn->gc_next->gc_prev = rn->gc_prev;
	else
		sn->gc_tail = rn->gc_prev;
	rn->gc_next = rn->gc_prev = NULL;
	rn->in_gc = 0;
}

static void
gc_append(struct eng_shard *sh, struct eng_rnode *rn, uint64_t now)
{
	struct eng_snet *sn = eng_snet(sh);

	rn->idle_ns = now;
	rn->gc_prev = sn->gc_tail;
	rn->gc_next = NULL;
	if (sn->gc_tail != NULL)
		sn->gc_tail->gc_next = rn;
	else
		sn->gc_head = rn;
	sn->gc_tail = rn;
	rn->in_gc = 1;
	if (!ring_timer_armed(&sn->gc_timer))
		ring_timer_start(&sh->loop.timers, &sn->gc_timer,
		                 sn->gc_head->idle_ns + gc_delay_ns(sh));
}

void
eng_rnode_gc_touch(struct eng_shard *sh, struct eng_rnode *rn)
{
	struct eng_snet *sn = eng_snet(sh);

	gc_unlink(sn, rn);
	if (rnode_idle(rn) && !sn->stopping)
		gc_append(sh, rn, ring_now_ns());
}

/* acked_min - the oldest node event of this shard that some other shard
 * may not have acknowledged yet. */
static uint64_t
acked_min(const struct eng_shard *sh)
{
	const struct eng_snet *sn = eng_snet(sh);
	uint64_t m = UINT64_MAX;
	int i;

	for (i = 0; i < sh->node->nshards; i++) {
		if (i != sh->idx && sn->acked[i] < m)
			m = sn->acked[i];
	}
	return m;
}

void
eng_rnode_gcack(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	struct eng_snet *sn = eng_snet(sh);
	struct net_gcack a;

	AEMP_ASSERT(len >= sizeof(a));
	memcpy(&a, p, sizeof(a));
	AEMP_ASSERT(a.from < ENG_MAX_SHARDS);
	if (a.seq > sn->acked[a.from])
		sn->acked[a.from] = a.seq;
}

/* forget - tell the control shard (pending lookups of the node). */
static void
forget(struct eng_shard *sh, const struct eng_rnode *rn)
{
	uint8_t rec[1 + AEMP_ID_MAX];

	if (sh->idx != 0) {
		eng_net_send_rec(sh, 0, NET_FORGET, rn->id, rn->idlen);
		return;
	}
	rec[0] = NET_FORGET;
	memcpy(rec + 1, rn->id, rn->idlen);
	eng_seam(sh->node)->global_record(sh, rec, 1 + rn->idlen);
}

static void
rnode_release(struct eng_shard *sh, struct eng_rnode *rn)
{
	struct eng_snet *sn = eng_snet(sh);

	eng_htab_remove(&sn->rnodes, rn, rnode_hash);
	if (sn->rn_last == rn)
		sn->rn_last = NULL;
	if (rn->was_up)
		eng_up_del(sh->node, rn->id, rn->idlen);
	forget(sh, rn);
	atomic_fetch_sub_explicit(&sn->nrnodes, 1, memory_order_relaxed);
	free_rnode(rn, sh);
}

#define GC_BATCH 4096 /* records freed per timer run, at most */

void
eng_rnode_gc_run(struct ring_timer *t)
{
	struct eng_shard *sh = eng_cur;
	struct eng_snet *sn = eng_snet(sh);
	uint64_t now = ring_now_ns(), delay = gc_delay_ns(sh);
	uint64_t acked = acked_min(sh);
	struct eng_rnode *rn;
	unsigned n = 0;

	AEMP_ASSERT(t == &sn->gc_timer);
	while ((rn = sn->gc_head) != NULL && rn->idle_ns + delay <= now &&
	       n++ < GC_BATCH) {
		gc_unlink(sn, rn);
		if (!rnode_idle(rn))
			continue; /* touched again when it becomes idle */
		if (rn->fail > acked)
			gc_append(sh, rn, now); /* a shard lags: later */
		else
			rnode_release(sh, rn);
	}
	if (sn->gc_head != NULL && !ring_timer_armed(t))
		ring_timer_start(&sh->loop.timers, t,
		                 AEMP_MAX(sn->gc_head->idle_ns + delay, now));
}

/* ---- sending -------------------------------------------------------- */

static size_t
max_queue(const struct eng_shard *sh)
{
	return sh->node->cfg.max_queue ? sh->node->cfg.max_queue : (64u << 20);
}

static size_t
queued(const struct eng_rnode *rn)
{
	return rn->conn ? eng_conn_queued(rn->conn)
	                : ring_bufq_bytes(&rn->queue);
}

/* Congested above max_queue; relieved below half of it. */
void
eng_rnode_congestion(struct eng_shard *sh, struct eng_rnode *rn)
{
	atomic_uint *slot = &eng_net(sh->node)->cong[rn->hash % ENG_CONG_SLOTS];
	size_t q = queued(rn);

	if (!rn->congested && q > max_queue(sh)) {
		rn->congested = 1;
		atomic_fetch_add(slot, 1);
	} else if (rn->congested && q < max_queue(sh) / 2) {
		rn->congested = 0;
		atomic_fetch_sub(slot, 1);
		eng_room_signal(sh->node); /* wake aemp_snd_wait */
	}
}

static void
check_hard_limit(struct eng_shard *sh, struct eng_rnode *rn)
{
	size_t q = queued(rn), hard;

	if (AEMP_LIKELY(q <= max_queue(sh)))
		return; /* below both limits (hard is above max_queue) */
	/* Beyond max_queue senders get -EAGAIN; the hard limit also leaves
	 * room for what other shards had queued before they could see it. */
	hard = 2 * max_queue(sh) +
	       sh->node->qcap * (size_t)(sh->node->nshards - 1);
	if (AEMP_UNLIKELY(q > max_queue(sh)) && !rn->congested)
		eng_rnode_congestion(sh, rn);
	if (AEMP_UNLIKELY(q > hard)) {
		if (rn->conn != NULL)
			eng_conn_fail(rn->conn,
			              "send queue overflow (%zu bytes queued)",
			              q);
		else
			eng_rnode_fail(sh, rn, "send queue overflow");
	}
}

/*
 * The queue of a node that is not up holds length-prefixed CBOR packets
 * (a 4-byte length, then the packet, in one contiguous reservation), so
 * they can be transcoded one by one when the connection comes up.
 */
static int
queue_encode(struct ring_bufq *q, const char *name, size_t namelen,
             const struct cod_seg *segs, size_t nsegs)
{
	size_t room, want = 256;
	uint32_t len32;
	uint8_t *p;
	ssize_t n;

	for (;;) {
		p = ring_bufq_reserve(q, want + 4, &room);
		if (p == NULL)
			return -ENOMEM;
		n = cod_encode_packet(COD_CBOR, p + 4, room - 4, name, namelen,
		                      segs, nsegs);
		if (n < 0)
			return (int)n;
		if ((size_t)n <= room - 4)
			break;
		want = (size_t)n;
	}
	len32 = (uint32_t)n;
	memcpy(p, &len32, 4);
	ring_bufq_commit(q, 4 + (size_t)n);
	return 0;
}

static int
queue_append(struct ring_bufq *q, const uint8_t *pkt, size_t len)
{
	size_t room;
	uint32_t len32 = (uint32_t)len;
	uint8_t *p = ring_bufq_reserve(q, len + 4, &room);

	if (p == NULL)
		return -ENOMEM;
	memcpy(p, &len32, 4);
	memcpy(p + 4, pkt, len);
	ring_bufq_commit(q, 4 + len);
	return 0;
}

/* send_limit - the queue above which a send with this `must` meets back
 * pressure; ENG_SND_CTL: control messages may use half of max_queue
 * more. */
static size_t
send_limit(struct eng_shard *sh, int must)
{
	return max_queue(sh) + (must == ENG_SND_CTL ? max_queue(sh) / 2 : 0);
}

int
eng_rnode_send(struct eng_shard *sh, struct eng_rnode *rn, const char *name,
               size_t namelen, const struct cod_seg *segs, size_t nsegs,
               int must)
{
	size_t lim = send_limit(sh, must);
	int rc;

	if (rn->state == RN_UP) {
		if (must != 1 && eng_conn_queued(rn->conn) > lim)
			return -EAGAIN;
		rc = eng_conn_encode(rn->conn, name, namelen, segs, nsegs);
	} else {
		if (must != 1 && ring_bufq_bytes(&rn->queue) > lim)
			return -EAGAIN;
		rc = queue_encode(&rn->queue, name, namelen, segs, nsegs);
		if (rc == 0)
			eng_rnode_connect(sh, rn);
	}
	if (rc == 0)
		check_hard_limit(sh, rn);
	return rc;
}

int
eng_rnode_send_many(struct eng_shard *sh, struct eng_rnode *rn,
                    const char *name, size_t namelen,
                    const struct cod_seg *msgs, size_t count, int must)
{
	size_t lim = send_limit(sh, must);
	size_t i;
	int rc;

	if (rn->state == RN_UP) {
		rc = eng_conn_encode_many(rn->conn, name, namelen, msgs, count,
		                          must == 1 ? SIZE_MAX : lim);
		if (rc > 0)
			check_hard_limit(sh, rn);
		return rc == 0 ? -EAGAIN : rc;
	}
	for (i = 0; i < count; i++) {
		rc = eng_rnode_send(sh, rn, name, namelen, &msgs[i], 1, must);
		if (rc < 0)
			return i > 0 ? (int)i : rc;
	}
	return (int)count;
}

int
eng_rnode_send_cbor(struct eng_shard *sh, struct eng_rnode *rn,
                    const uint8_t *pkt, size_t len)
{
	int rc;

	if (rn->state == RN_UP) {
		rc = eng_conn_append_cbor(rn->conn, pkt, len);
	} else {
		rc = queue_append(&rn->queue, pkt, len);
		if (rc == 0)
			eng_rnode_connect(sh, rn);
	}
	if (rc == 0)
		check_hard_limit(sh, rn);
	return rc;
}

void
eng_rnode_remote_record(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	struct remote_hdr h;
	struct eng_rnode *rn;
	const char *id = (const char *)p + sizeof(h);
	uint32_t hash;
	size_t skip;

	AEMP_ASSERT(len >= sizeof(h));
	memcpy(&h, p, sizeof(h));
	skip = sizeof(h) + h.idlen;
	AEMP_ASSERT(len >= skip);
	hash = eng_hash(id, h.idlen);
	if (h.flags & REMOTE_ONLY_IF_UP) {
		rn = eng_rnode_find(sh, id, h.idlen, hash);
		if (rn == NULL || rn->state != RN_UP || rn->gen != h.gen)
			return;
	} else {
		rn = eng_rnode_get(sh, id, h.idlen, hash);
		if (rn == NULL)
			return;
		if (h.seen < rn->fail)
			return; /* sent before a failure its sender had not seen */
	}
	/* A packet that cannot be queued is a gap: the node is failed, so
	 * its monitors fire before anything later is sent (§4.6.7). */
	if (eng_rnode_send_cbor(sh, rn, p + skip, len - skip) < 0)
		eng_rnode_fail(sh, rn, "cannot queue a packet: out of memory");
}

int
eng_remote_snd_gen(struct eng_shard *sh, const char *id, size_t idlen,
                   uint32_t gen, uint16_t flags, const char *name,
                   size_t namelen, const struct cod_seg *segs, size_t nsegs)
{
	struct {
		struct remote_hdr h;
		char id[AEMP_ID_MAX];
	} hdr;
	struct eng_rnode *rn;
	uint32_t hash;
	int owner = eng_node_owner(sh->node, id, idlen, &hash);

	if (owner == sh->idx) {
		if (flags & REMOTE_ONLY_IF_UP) {
			rn = eng_rnode_find(sh, id, idlen, hash);
			if (rn == NULL || rn->state != RN_UP || rn->gen != gen)
				return 0;
		} else if ((rn = eng_rnode_get(sh, id, idlen, hash)) == NULL) {
			return -ENOMEM;
		}
		return eng_rnode_send(sh, rn, name, namelen, segs, nsegs, 1);
	}
	hdr.h.seen = eng_snet(sh)->seen[owner];
	hdr.h.gen = gen;
	hdr.h.idlen = (uint16_t)idlen;
	hdr.h.flags = flags;
	memcpy(hdr.id, id, idlen);
	return eng_rec_packet(sh, owner, REC_REMOTE, &hdr,
	                      sizeof(hdr.h) + idlen, name, namelen, segs, nsegs,
	                      1);
}

/* ---- connection attempts -------------------------------------------- */

static uint64_t
secs_ns(double s)
{
	return (uint64_t)(s * 1e9);
}

void
eng_rnode_connect(struct eng_shard *sh, struct eng_rnode *rn)
{
	const struct eng_config *cfg = &sh->node->cfg;
	struct {
		uint8_t from;
		char id[AEMP_ID_MAX];
	} req;

	if (rn->state != RN_DOWN || eng_snet(sh)->stopping)
		return;
	rn->state = RN_CONNECTING;
	/* In 2.x the deadline is connect_interval and covers the lookup. */
	ring_timer_start(&sh->loop.timers, &rn->deadline,
	                 ring_now_ns() + secs_ns(cfg->connect_interval));
	rn->lookup = 1;
	if (sh->idx == 0) {
		eng_seam(sh->node)->global_lookup(sh, 0, rn->id, rn->idlen);
		return;
	}
	req.from = (uint8_t)sh->idx;
	memcpy(req.id, rn->id, rn->idlen);
	eng_net_send_rec(sh, 0, NET_LOOKUP, &req, 1 + rn->idlen);
}

static double
tick_interval(const struct eng_config *cfg, size_t n)
{
	double iv = cfg->connect_interval, alt;

	alt = (cfg->monitor_timeout - cfg->connect_interval) / (double)n;
	if (alt < iv)
		iv = alt;
	return iv < 0.4 ? 0.4 : iv;
}

static void
rnode_tick(struct ring_timer *t)
{
	struct eng_rnode *rn = AEMP_CONTAINER_OF(t, struct eng_rnode, ticker);
	struct eng_shard *sh = rn->sh;
	uint32_t r = 0;
	double iv;

	if (rn->state != RN_CONNECTING || rn->next_addr >= rn->naddrs)
		return;
	eng_conn_dial(sh, &rn->addrs[rn->next_addr++], rn, 0);
	if (rn->next_addr >= rn->naddrs)
		return;
	cry_random(&r, sizeof(r));
	iv = tick_interval(&sh->node->cfg, rn->naddrs) *
	     (0.9 + 0.1 * ((double)r / 4294967296.0));
	ring_timer_start(&sh->loop.timers, &rn->ticker,
	                 ring_now_ns() + secs_ns(iv));
}

static void
rnode_deadline(struct ring_timer *t)
{
	struct eng_rnode *rn = AEMP_CONTAINER_OF(t, struct eng_rnode, deadline);

	if (rn->state == RN_CONNECTING)
		eng_rnode_fail(rn->sh, rn, "connect timeout");
}

void
eng_rnode_addrs(struct eng_shard *sh, struct eng_rnode *rn,
                const struct eng_addr *a, size_t n)
{
	if (rn->state != RN_CONNECTING || !rn->lookup)
		return;
	rn->lookup = 0;
	if (n == 0) {
		eng_rnode_fail(sh, rn, "no known address");
		return;
	}
	eng_addr_free(rn->addrs);
	rn->addrs = ring_alloc(n * sizeof(*a));
	if (rn->addrs == NULL) {
		rn->naddrs = 0;
		eng_rnode_fail(sh, rn, "out of memory");
		return;
	}
	memcpy(rn->addrs, a, n * sizeof(*a));
	rn->naddrs = n;
	rn->next_addr = 0;
	rnode_tick(&rn->ticker); /* the first tick is immediate */
}

static void
stop_attempt(struct eng_shard *sh, struct eng_rnode *rn)
{
	ring_timer_stop(&sh->loop.timers, &rn->ticker);
	ring_timer_stop(&sh->loop.timers, &rn->deadline);
	eng_addr_free(rn->addrs);
	rn->addrs = NULL;
	rn->naddrs = rn->next_addr = 0;
	rn->lookup = 0;
}

/* close_trials - abandon other handshakes for rn (one of them won). */
static void
close_trials(struct eng_shard *sh, struct eng_rnode *rn, struct eng_conn *keep)
{
	struct eng_conn *c;

	for (c = eng_snet(sh)->conns; c != NULL; c = c->next) {
		if (c->trial_of == rn && c != keep) {
			eng_conn_untrial(c);
			if (c->state != CS_CLOSED)
				eng_conn_close(c);
		}
	}
}

/* ---- up, failure, switch -------------------------------------------- */

static void
idlist_add(struct eng_idlist *l, uint64_t id)
{
	size_t cap = l->cap ? 2 * l->cap : 16;
	uint64_t *nv;

	if (l->n == l->cap) {
		nv = ring_realloc(l->v, cap * sizeof(*nv));
		if (nv == NULL)
			return; /* out of memory: this monitor is lost */
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = id;
}

/* take_lmon - every registration of a failed node: the ids to fire, per
 * owner shard; the registrations themselves are freed. */
static void
take_lmon(void *e, void *arg)
{
	struct eng_lmon *l = e;
	void **a = arg;
	struct eng_shard *sh = a[0];
	struct eng_idlist *lists = a[1];
	struct eng_mon *m, *next;

	for (m = l->mons; m != NULL; m = next) {
		next = m->next;
		m->on_port = 0;
		idlist_add(&lists[ENG_ID_SHARD(m->u.owner)], m->u.owner);
		eng_mon_free(sh, m);
	}
	ring_free(l, sizeof(*l) + l->namelen + 1);
}

/*
 * fire_all - the monitors of a failed node.  Those owned by this shard
 * run now, before anything more can be sent to the node from here; the
 * others travel with the node event that gives their shard the new
 * generation (eng_net_broadcast_nodeev), so on no shard can a sender
 * reach the node again before its monitors have run.
 */
static void
fire_all(struct eng_shard *sh, struct eng_rnode *rn, struct eng_htab *lmon,
         const aemp_val *r, size_t n, int was_up)
{
	struct eng_idlist lists[ENG_MAX_SHARDS];
	void *arg[2] = {sh, lists};
	size_t i;
	int s;

	memset(lists, 0, sizeof(lists));
	eng_htab_each(lmon, take_lmon, arg);
	eng_htab_fini(lmon);
	for (i = 0; i < lists[sh->idx].n; i++)
		eng_mon_fire_owned(sh, lists[sh->idx].v[i], r, n);
	lists[sh->idx].n = 0;
	eng_net_broadcast_nodeev(sh, rn->id, rn->idlen, rn->fail, rn->gen, 0,
	                         was_up, r, n, lists);
	for (s = 0; s < ENG_MAX_SHARDS; s++)
		ring_free(lists[s].v, lists[s].cap * sizeof(uint64_t));
}

/* set_why - keep the reason of the failure for monitors registered by a
 * shard that had not seen it yet (eng_rnode_monreg). */
static void
set_why(struct eng_rnode *rn, const char *reason)
{
	size_t len = strlen(reason);

	if (rn->why != NULL && strcmp(rn->why, reason) == 0)
		return;
	if (rn->why != NULL)
		ring_free(rn->why, strlen(rn->why) + 1);
	rn->why = ring_alloc(len + 1);
	if (rn->why != NULL)
		memcpy(rn->why, reason, len + 1);
}

void
eng_rnode_fail(struct eng_shard *sh, struct eng_rnode *rn, const char *reason)
{
	int was_up = rn->state == RN_UP;
	struct eng_conn *c = rn->conn;
	aemp_val r[3] = {aemp_str("transport_error"),
	                 aemp_strn(rn->id, rn->idlen), aemp_str(reason)};
	struct eng_htab lmon = rn->lmon;

	eng_log(sh->node,
	        was_up && strcmp(reason, "Unexpected end-of-file") != 0
	                ? AEMP_LOG_WARN
	                : AEMP_LOG_NOTE,
	        "node %s: %s", rn->id, reason);
	if (was_up) {
		ENG_STAT_ADD(sh->st.conns, -1);
		ENG_STAT_ADD(sh->st.tls_conns, -(c != NULL && c->tls != NULL));
	}
	rn->conn = NULL;
	rn->state = RN_DOWN;
	stop_attempt(sh, rn);
	ring_bufq_clear(&rn->queue);
	if (c != NULL)
		c->rn = NULL;
	eng_rnode_congestion(sh, rn);
	rn->fail = ++eng_snet(sh)->evseq;
	set_why(rn, reason);
	eng_htab_init(&rn->lmon); /* new monitors from the actions go here */
	fire_all(sh, rn, &lmon, r, 3, was_up);
	if (was_up)
		eng_up_set(sh->node, rn->id, rn->idlen, 0);
	if (c != NULL && c->state != CS_CLOSED)
		eng_conn_close(c);
	eng_rnode_gc_touch(sh, rn);
}

void
eng_rnode_conn_lost(struct eng_shard *sh, struct eng_conn *c,
                    const char *reason)
{
	uint32_t hash;
	struct eng_rnode *rn;

	if (c->peerlen == 0 || c->state != CS_DATA)
		return;
	rn = eng_rnode_find(sh, c->peer, c->peerlen,
	                    eng_hash(c->peer, c->peerlen));
	(void)hash;
	if (rn != NULL && rn->conn == c)
		eng_rnode_fail(sh, rn, reason);
}

/* flush_queue - move the queued packets into the new connection, in
 * order (a record never spans two chunks). */
static int
flush_queue(struct eng_rnode *rn, struct eng_conn *c)
{
	struct iovec iov;
	const uint8_t *p, *end;
	uint32_t len;

	while (ring_bufq_iov(&rn->queue, &iov, 1, SIZE_MAX) == 1) {
		p = iov.iov_base;
		end = p + iov.iov_len;
		while (p + 4 <= end) {
			memcpy(&len, p, 4);
			AEMP_ASSERT(p + 4 + len <= end);
			if (eng_conn_append_cbor(c, p + 4, len) < 0)
				return -1;
			p += 4 + len;
		}
		ring_bufq_consume(&rn->queue, iov.iov_len);
	}
	return 0;
}

void
eng_rnode_up(struct eng_shard *sh, struct eng_rnode *rn, struct eng_conn *c)
{
	struct eng_snet *sn = eng_snet(sh);
	struct eng_conn *old = rn->conn;
	aemp_val none;

	if (rn->state == RN_UP && old != NULL && old != c) {
		eng_rnode_fail(sh, rn, "switched connections");
		/* (fail closed the old connection) */
	}
	stop_attempt(sh, rn);
	close_trials(sh, rn, c);
	rn->conn = c;
	c->rn = rn;
	rn->state = RN_UP;
	eng_conn_untrial(c); /* after: rn is not idle */
	/* A generation no earlier connection of this shard's nodes had
	 * (wrapping after 2^32 connections), for the proxies of rmon. */
	if (++sn->conn_seq == 0)
		sn->conn_seq = 1;
	rn->gen = sn->conn_seq;
	rn->was_up = 1;
	ENG_STAT_ADD(sh->st.conns, 1);
	ENG_STAT_ADD(sh->st.tls_conns, c->tls != NULL);
	eng_log(sh->node, AEMP_LOG_INFO, "node %s is up", rn->id);
	rn->upent = eng_up_set(sh->node, rn->id, rn->idlen, 1);
	eng_net_broadcast_nodeev(sh, rn->id, rn->idlen, sn->evseq, rn->gen, 1,
	                         0, &none, 0, NULL);
	/* the queue cannot be moved whole: fail rather than leave a gap
	 * (clears the queue, fires the monitors, closes c) */
	if (flush_queue(rn, c) < 0)
		eng_rnode_fail(
		        sh, rn,
		        "cannot move the send queue into the connection");
}

/* ---- monitors of remote ports (lmon) -------------------------------- */

static struct eng_lmon *
lmon_get(struct eng_rnode *rn, const char *name, size_t len, int create)
{
	struct id_key k = {name, len, eng_hash(name, len)};
	struct eng_lmon *l = eng_htab_find(&rn->lmon, k.hash, lmon_eq, &k);

	if (l != NULL || !create)
		return l;
	l = ring_zalloc(sizeof(*l) + len + 1);
	if (l == NULL)
		return NULL;
	l->hash = k.hash;
	l->namelen = (uint32_t)len;
	memcpy(l->name, name, len);
	if (eng_htab_insert(&rn->lmon, k.hash, l, lmon_hash) < 0) {
		ring_free(l, sizeof(*l) + len + 1);
		return NULL;
	}
	return l;
}

static void
send_node_req(struct eng_shard *sh, struct eng_rnode *rn, const char *tag,
              const char *name, size_t namelen)
{
	aemp_val v[2] = {aemp_str(tag), aemp_strn(name, namelen)};
	struct cod_seg seg = {v, 2};

	eng_rnode_send(sh, rn, "", 0, &seg, 1, 1);
}

void
eng_rnode_monreg(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	struct monreg_hdr h;
	const char *id = (const char *)p + sizeof(h), *name;
	struct eng_rnode *rn;
	struct eng_lmon *l;
	struct eng_mon *m;
	int first;

	AEMP_ASSERT(len >= sizeof(h));
	memcpy(&h, p, sizeof(h));
	name = id + h.idlen;
	rn = eng_rnode_get(sh, id, h.idlen, eng_hash(id, h.idlen));
	l = rn ? lmon_get(rn, name, h.namelen, 1) : NULL;
	m = l ? eng_mon_new(sh, ACT_FWD) : NULL;
	if (m == NULL) {
		eng_log(sh->node, AEMP_LOG_CRIT, "out of memory: monitor lost");
		return;
	}
	m->u.owner = h.owner;
	if (h.seen < rn->fail) {
		/* The node failed after the sender registered (it had not seen
		 * that failure yet): what it sent after this registration up to
		 * then may be lost, and the packets it stamped before seeing the
		 * failure are dropped (eng_rnode_remote_record).  The monitor
		 * fires now, as if it had been registered before the failure
		 * (§4.6.7); its REC_FIRE travels behind that failure's node
		 * event, so the sender's next packets are stamped after it. */
		aemp_val r[3] = {
		        aemp_str("transport_error"),
		        aemp_strn(rn->id, rn->idlen),
		        aemp_str(rn->why ? rn->why : "connection lost")};
		struct eng_mon *list = NULL;

		eng_mon_link(&list, m);
		eng_mon_fire_list(sh, &list, r, 3);
		if (l->mons == NULL) {
			eng_htab_remove(&rn->lmon, l, lmon_hash);
			ring_free(l, sizeof(*l) + l->namelen + 1);
			eng_rnode_gc_touch(sh, rn);
		}
		return;
	}
	first = l->mons == NULL;
	eng_mon_link(&l->mons, m);
	if (first && h.namelen > 0)
		send_node_req(sh, rn, "mon1", name, h.namelen);
	else if (h.namelen == 0)
		eng_rnode_connect(sh, rn); /* node monitors connect (§4.6.6) */
}

void
eng_rnode_unmonreg(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	struct monreg_hdr h;
	const char *id = (const char *)p + sizeof(h), *name;
	struct eng_rnode *rn;
	struct eng_lmon *l;
	struct eng_mon *m;

	AEMP_ASSERT(len >= sizeof(h));
	memcpy(&h, p, sizeof(h));
	name = id + h.idlen;
	rn = eng_rnode_find(sh, id, h.idlen, eng_hash(id, h.idlen));
	l = rn ? lmon_get(rn, name, h.namelen, 0) : NULL;
	if (l == NULL)
		return;
	for (m = l->mons; m != NULL && m->u.owner != h.owner; m = m->next)
		;
	if (m == NULL)
		return;
	eng_mon_unlink(m);
	eng_mon_free(sh, m);
	if (l->mons != NULL)
		return;
	eng_htab_remove(&rn->lmon, l, lmon_hash);
	ring_free(l, sizeof(*l) + l->namelen + 1);
	/* No mon0 for node monitors (§4.6.6 recommendation). */
	if (h.namelen > 0 && rn->state != RN_DOWN)
		send_node_req(sh, rn, "mon0", name, h.namelen);
	eng_rnode_gc_touch(sh, rn);
}

static int
send_monreg(struct eng_shard *sh, uint8_t sub, const char *port, uint64_t id)
{
	struct {
		struct monreg_hdr h;
		char b[AEMP_ID_MAX];
	} r;
	struct eng_pid pid;
	int owner;

	if (eng_pid_parse(sh->node, port, &pid) < 0)
		return AEMP_ETOOBIG;
	memset(&r.h, 0, sizeof(r.h));
	r.h.owner = id;
	r.h.seen = UINT64_MAX; /* same shard: no event can be unseen */
	r.h.idlen = (uint16_t)pid.nodelen;
	r.h.namelen = (uint16_t)pid.namelen;
	memcpy(r.b, pid.node, pid.nodelen);
	memcpy(r.b + pid.nodelen, pid.name, pid.namelen);
	owner = eng_node_owner(sh->node, pid.node, pid.nodelen, NULL);
	if (owner != sh->idx) {
		r.h.seen = eng_snet(sh)->seen[owner];
		return eng_net_send_rec(sh, owner, sub, &r,
		                        sizeof(r.h) + pid.nodelen +
		                                pid.namelen);
	}
	if (sub == NET_MONREG)
		eng_rnode_monreg(sh, (const uint8_t *)&r, sizeof(r));
	else
		eng_rnode_unmonreg(sh, (const uint8_t *)&r, sizeof(r));
	return 0;
}

int
eng_remote_mon(struct eng_shard *sh, const struct eng_pid *pid,
               struct eng_mon *m)
{
	(void)pid;
	return send_monreg(sh, NET_MONREG, m->port, m->obj.id);
}

int
eng_remote_unmon(struct eng_shard *sh, const char *port, uint64_t id)
{
	return send_monreg(sh, NET_UNMON, port, id);
}

void
eng_rnode_kil0(struct eng_shard *sh, const char *src, size_t srclen,
               const aemp_val *args, size_t n)
{
	struct eng_rnode *rn =
	        eng_rnode_find(sh, src, srclen, eng_hash(src, srclen));
	struct eng_lmon *l;

	if (rn == NULL || n < 1 || args[0].type != AEMP_STR)
		return;
	l = lmon_get(rn, args[0].u.s, args[0].len, 0);
	if (l == NULL)
		return; /* no monitor: ignored (duplicates are harmless) */
	eng_htab_remove(&rn->lmon, l, lmon_hash);
	eng_mon_fire_list(sh, &l->mons, args + 1, n - 1);
	ring_free(l, sizeof(*l) + l->namelen + 1);
	eng_rnode_gc_touch(sh, rn);
}

/* ---- proxies for remote monitors of local ports (rmon) -------------- */

/* no_such_port - the answer to a mon1 of a port that does not exist:
 * ["", "kil0", NAME, "no_such_port", TEXT, "NODE#NAME"] (aemp-protocol.md
 * §4.6.2), sent only on the connection generation gen. */
static void
no_such_port(struct eng_shard *sh, const char *src, size_t srclen, uint32_t gen,
             const aemp_val *name)
{
	char buf[AEMP_ID_MAX], *id = buf;
	size_t idlen = sh->node->idlen + 1 + name->len;
	aemp_val v[5] = {aemp_str("kil0"), *name};
	struct cod_seg seg = {v, 5};

	/* names no port can have (empty, overlong) are answered too */
	if (idlen > sizeof(buf))
		id = ring_alloc(idlen);
	if (id != NULL) {
		memcpy(id, sh->node->id, sh->node->idlen);
		id[sh->node->idlen] = '#';
		memcpy(id + sh->node->idlen + 1, name->u.s, name->len);
	}
	eng_reason_no_such_port(v + 2, id != NULL ? id : "",
	                        id != NULL ? idlen : 0);
	eng_remote_snd_gen(sh, src, srclen, gen, REMOTE_ONLY_IF_UP, "", 0, &seg,
	                   1);
	if (id != buf)
		ring_free(id, idlen);
}

void
eng_rnode_rmon(struct eng_shard *sh, const aemp_val *tag, const aemp_val *args,
               size_t n, const char *src, size_t srclen)
{
	struct {
		struct monreg_hdr h;
		char b[2 * AEMP_ID_MAX];
	} r;
	struct eng_rnode *rn;
	int dst, reg = aemp_str_eq(tag, "mon1");

	rn = eng_rnode_find(sh, src, srclen, eng_hash(src, srclen));
	if (n >= 1 && reg && args[0].type == AEMP_STR &&
	    (args[0].len == 0 || args[0].len >= AEMP_ID_MAX)) {
		no_such_port(sh, src, srclen, rn ? rn->gen : 0, &args[0]);
		return;
	}
	if (n < 1 || args[0].type != AEMP_STR || args[0].len == 0 ||
	    args[0].len >= AEMP_ID_MAX)
		return; /* mon0 with a null port name: ignored (§4.6.6) */
	memset(&r.h, 0, sizeof(r.h));
	r.h.gen = rn ? rn->gen : 0;
	r.h.idlen = (uint16_t)srclen;
	r.h.namelen = (uint16_t)args[0].len;
	memcpy(r.b, src, srclen);
	memcpy(r.b + srclen, args[0].u.s, args[0].len);
	dst = eng_shard_of_hash(sh->node, eng_hash(args[0].u.s, args[0].len));
	if (dst == sh->idx)
		eng_rnode_proxy_record(sh, reg ? NET_PROXYREG : NET_PROXYUNREG,
		                       (const uint8_t *)&r,
		                       sizeof(r.h) + srclen + args[0].len);
	else
		eng_net_send_rec(sh, dst, reg ? NET_PROXYREG : NET_PROXYUNREG,
		                 &r, sizeof(r.h) + srclen + args[0].len);
}

/* Every proxy is also on the list of its node (struct eng_pxnode, through
 * m->u.px), so the end of the connection it came over frees it at once
 * (eng_rnode_proxies_drop): a long-lived port monitored by many
 * short-lived nodes, each leaving without a mon0, would otherwise hold a
 * proxy per departed node until the port dies.  An entry lives while its
 * node has proxies here or is connected; eng_mon_free unlinks a proxy. */
struct eng_pxnode {
	uint32_t hash;
	uint16_t idlen;
	struct eng_mon *head;
	char id[];
};

static uint32_t
pxnode_hash(const void *e)
{
	return ((const struct eng_pxnode *)e)->hash;
}

static int
pxnode_eq(const void *e, const void *k)
{
	const struct eng_pxnode *x = e;
	const struct id_key *key = k;

	return x->hash == key->hash && x->idlen == key->len &&
	       memcmp(x->id, key->id, key->len) == 0;
}

static struct eng_pxnode *
pxnode_get(struct eng_shard *sh, const char *id, size_t len, int create)
{
	struct eng_snet *sn = eng_snet(sh);
	struct id_key key = {id, len, eng_hash(id, len)};
	struct eng_pxnode *x;

	x = eng_htab_find(&sn->proxies, key.hash, pxnode_eq, &key);
	if (x != NULL || !create)
		return x;
	x = ring_alloc(sizeof(*x) + len);
	if (x == NULL)
		return NULL;
	x->hash = key.hash;
	x->idlen = (uint16_t)len;
	x->head = NULL;
	memcpy(x->id, id, len);
	if (eng_htab_insert(&sn->proxies, x->hash, x, pxnode_hash) < 0) {
		ring_free(x, sizeof(*x) + len);
		return NULL;
	}
	return x;
}

static void
pxnode_free(struct eng_shard *sh, struct eng_pxnode *x)
{
	eng_htab_remove(&eng_snet(sh)->proxies, x, pxnode_hash);
	ring_free(x, sizeof(*x) + x->idlen);
}

void
eng_rnode_proxies_drop(struct eng_shard *sh, const char *id, size_t len,
                       uint32_t gen)
{
	struct eng_pxnode *x = pxnode_get(sh, id, len, 0);
	struct eng_mon *m, *next;

	if (x == NULL)
		return;
	for (m = x->head; m != NULL; m = next) {
		next = m->u.px.next;
		if (m->gen != gen)
			continue;
		eng_mon_unlink(m);
		eng_mon_free(sh, m); /* takes it off x's list */
	}
	if (x->head == NULL)
		pxnode_free(sh, x);
}

static void
pxnode_detach(void *e, void *arg)
{
	struct eng_pxnode *x = e;
	struct eng_mon *m;

	(void)arg;
	for (m = x->head; m != NULL; m = m->u.px.next)
		m->u.px.pprev = NULL;
	ring_free(x, sizeof(*x) + x->idlen);
}

void
eng_rnode_proxies_free(struct eng_shard *sh)
{
	struct eng_snet *sn = eng_snet(sh);

	eng_htab_each(&sn->proxies, pxnode_detach, NULL);
	eng_htab_fini(&sn->proxies);
}

/* proxy_find - the kil0 proxy of node src on port, if any. */
static struct eng_mon *
proxy_find(struct eng_port *port, const char *src, size_t srclen,
           const char *name, size_t namelen)
{
	struct eng_mon *m;

	for (m = port ? port->mons : NULL; m != NULL; m = m->next) {
		if (m->act == ACT_KIL0 && m->str != NULL && m->port != NULL &&
		    strlen(m->str) == srclen &&
		    memcmp(m->str, src, srclen) == 0 &&
		    strlen(m->port) == namelen &&
		    memcmp(m->port, name, namelen) == 0)
			return m;
	}
	return NULL;
}

void
eng_rnode_proxy_record(struct eng_shard *sh, uint8_t sub, const uint8_t *p,
                       size_t len)
{
	struct monreg_hdr h;
	const char *src = (const char *)p + sizeof(h), *name;
	struct eng_port *port;
	struct eng_mon *m;
	struct eng_pxnode *x;

	AEMP_ASSERT(len >= sizeof(h));
	memcpy(&h, p, sizeof(h));
	name = src + h.idlen;
	port = eng_port_find(sh, name, h.namelen, eng_hash(name, h.namelen));
	/* One proxy per node and port, as Perl's rmon{PORT}: a new mon1
	 * replaces the old one (also one left from an earlier connection,
	 * which would otherwise stay until the port dies), mon0 removes. */
	m = proxy_find(port, src, h.idlen, name, h.namelen);
	if (m != NULL) {
		eng_mon_unlink(m);
		eng_mon_free(sh, m);
	}
	if (sub != NET_PROXYREG)
		return;
	if (port == NULL) {
		aemp_val v = aemp_strn(name, h.namelen);

		no_such_port(sh, src, h.idlen, h.gen, &v);
		return;
	}
	m = eng_mon_new(sh, ACT_KIL0);
	if (m == NULL)
		return;
	m->gen = h.gen;
	m->str = eng_strndup(src, h.idlen);
	m->port = eng_strndup(name, h.namelen);
	if (m->str == NULL || m->port == NULL) {
		eng_mon_free(sh, m);
		return;
	}
	eng_mon_link(&port->mons, m);
	/* Without room for the node's list the proxy stays until its port
	 * dies or the node sends a new mon1 (as before 0.2). */
	x = pxnode_get(sh, src, h.idlen, 1);
	if (x != NULL) {
		m->u.px.next = x->head;
		if (x->head != NULL)
			x->head->u.px.pprev = &m->u.px.next;
		m->u.px.pprev = &x->head;
		x->head = m;
	}
}

void
eng_remote_fire_proxy(struct eng_shard *sh, struct eng_mon *m,
                      const aemp_val *reason, size_t n)
{
	aemp_val head[2] = {aemp_str("kil0"), aemp_str(m->port)};
	struct cod_seg segs[2] = {{head, 2}, {reason, n}};

	if (m->str == NULL || m->port == NULL)
		return;
	eng_remote_snd_gen(sh, m->str, strlen(m->str), m->gen,
	                   REMOTE_ONLY_IF_UP, "", 0, segs, 2);
}
