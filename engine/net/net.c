/*
 * engine/net/net.c - the network layer's frame: node and shard hooks, the
 * funnel that routes packets for remote nodes to their owner shard with a
 * generation stamp, REC_NET dispatch, node events (views, subscribers,
 * the node-wide up table) and the public node queries.
 *
 * Threads: hooks as engine/net/net.h; the up table is read by any thread under
 * upmu (control plane only).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/net/metrics.h"
#include "engine/net/netint.h"
#include "ring/alloc.h"

/* ---- hash table helpers --------------------------------------------- */

struct id_key {
	const char *id;
	size_t len;
	uint32_t hash;
};

static uint32_t
up_hash(const void *e)
{
	return ((const struct eng_upent *)e)->hash;
}

static int
up_eq(const void *e, const void *k)
{
	const struct eng_upent *u = e;
	const struct id_key *key = k;

	return u->hash == key->hash && u->idlen == key->len &&
	       memcmp(u->id, key->id, key->len) == 0;
}

static void
free_upent(void *e, void *arg)
{
	struct eng_upent *u = e;

	(void)arg;
	ring_free(u, sizeof(*u) + u->idlen + 1);
}

/* ---- node hooks ----------------------------------------------------- */

static void
hs_cfg_init(struct aemp_node *node, struct eng_net *net)
{
	struct eng_config *cfg = &node->cfg;

	snprintf(net->provider, sizeof(net->provider), "aemp-%s",
	         AEMP_VERSION_STRING);
	net->hs_cfg.nodeid = node->id;
	net->hs_cfg.idlen = node->idlen;
	net->hs_cfg.secret = cfg->secret;
	net->hs_cfg.secret_len = cfg->secret_len;
	net->hs_cfg.have_cert = cfg->cert != NULL;
	net->hs_cfg.framings = cfg->framings;
	net->hs_cfg.nframings = cfg->nframings;
	net->hs_cfg.auth_offer = cfg->auth_offer;
	net->hs_cfg.noffer = cfg->nauth_offer;
	net->hs_cfg.auth_accept = cfg->auth_accept;
	net->hs_cfg.naccept = cfg->nauth_accept;
	net->hs_cfg.provider = net->provider;
	net->hs_cfg.frag = cfg->fragment_size > 0;
}

static int
shard_net_new(struct eng_shard *sh)
{
	struct eng_snet *sn = ring_zalloc(sizeof(*sn));

	if (sn == NULL)
		return -ENOMEM;
	ring_bufq_pool_init(&sn->chunks, NET_CHUNK_SIZE);
	cod_tape_init(&sn->xtape);
	cod_tape_init(&sn->ftape);
	eng_htab_init(&sn->rnodes);
	eng_htab_init(&sn->proxies);
	ring_timer_init(&sn->gc_timer, eng_rnode_gc_run);
	sh->net = sn;
	return 0;
}

int
eng_net_node_new(struct aemp_node *node)
{
	struct eng_net *net = ring_zalloc(sizeof(*net));
	int i, rc = 0;

	if (net == NULL)
		return -ENOMEM;
	node->net = net;
	hs_cfg_init(node, net);
	pthread_mutex_init(&net->upmu, NULL);
	eng_htab_init(&net->up);
	for (i = 0; rc == 0 && i < node->nshards; i++)
		rc = shard_net_new(node->shards[i]);
	if (rc == 0 && node->cfg.cert != NULL)
		rc = cry_tls_ctx_new(&net->tls, node->cfg.cert,
		                     node->cfg.cert_len);
	if (rc == 0)
		rc = eng_listen_bind(node);
	if (rc == 0)
		rc = eng_metrics_node_new(node);
	if (rc == 0)
		rc = eng_seam(node)->global_new(node);
	return rc;
}

static void
call_started(struct eng_shard *sh, struct eng_call *c)
{
	(void)c;
	eng_seam(sh->node)->global_started(sh);
}

void
eng_net_node_started(struct aemp_node *node)
{
	struct eng_call *c;
	size_t i;

	for (i = 0; i < node->cfg.nwarnings; i++)
		eng_log(node, AEMP_LOG_WARN, "configuration: %s",
		        node->cfg.warnings[i]);
	if (eng_net(node)->tls != NULL) {
		char lib[160];

		eng_log(node, AEMP_LOG_INFO, "TLS: %s",
		        cry_tls_lib(lib, sizeof(lib)));
	}
	c = eng_call_new(call_started, 0);
	if (c == NULL || eng_post(node, 0, c) < 0)
		eng_log(node, AEMP_LOG_CRIT, "cannot start seeds and services");
}

void
eng_net_node_free(struct aemp_node *node)
{
	struct eng_net *net = node->net;

	if (net == NULL)
		return;
	eng_metrics_node_free(node);
	eng_seam(node)->global_free(node);
	eng_listen_close(node);
	cry_tls_ctx_free(net->tls);
	eng_htab_each(&net->up, free_upent, NULL);
	eng_htab_fini(&net->up);
	pthread_mutex_destroy(&net->upmu);
	ring_free(net->lst_json, net->lst_json_cap);
	aemp_val_free(net->lst_val);
	ring_free(net, sizeof(*net));
	node->net = NULL;
}

/* ---- shard hooks ---------------------------------------------------- */

int
eng_net_shard_start(struct eng_shard *sh)
{
	struct eng_snet *sn = eng_snet(sh);
	int rc;

	sn->plain = ring_alloc(NET_RXBUF_SIZE + RING_BUF_PADDING);
	if (sn->plain == NULL)
		return -ENOMEM;
	rc = ring_bufring_init(&sh->loop, &sn->rxbufs, 0, NET_RXBUF_COUNT,
	                       NET_RXBUF_SIZE);
	if (rc < 0)
		return AEMP_SET_ERR(rc,
		                    "shard %d: cannot register receive "
		                    "buffers: %s",
		                    sh->idx, aemp_strerror(rc));
	sn->have_bufring = 1;
	ring_bufq_pool_attach(&sn->chunks, &sh->loop); /* gives back slabs */
	if (sh->idx == 0)
		eng_listen_start(sh);
	return 0;
}

void
eng_net_shard_stop(struct eng_shard *sh)
{
	struct eng_snet *sn = eng_snet(sh);
	struct eng_conn *c;

	sn->stopping = 1;
	if (sh->idx == 0) {
		eng_listen_stop(sh);
		eng_seam(sh->node)->global_stop(sh);
	}
	for (c = sn->conns; c != NULL; c = c->next) {
		if (c->state != CS_CLOSED)
			eng_conn_close(c);
	}
	ring_bufq_pool_detach(&sn->chunks);
	if (sn->have_bufring) {
		ring_bufring_fini(&sh->loop, &sn->rxbufs);
		sn->have_bufring = 0;
	}
}

static void
free_nodemons(struct eng_snet *sn)
{
	struct eng_nodemon *m, *next;

	for (m = sn->nodemons; m != NULL; m = next) {
		next = m->next;
		eng_strfree(m->self);
		ring_free(m, sizeof(*m));
	}
	sn->nodemons = NULL;
}

void
eng_net_shard_free(struct eng_shard *sh)
{
	struct eng_snet *sn = eng_snet(sh);

	if (sn == NULL)
		return;
	eng_conns_free(sh);
	eng_hsq_free(sh);
	eng_rnodes_free(sh);
	eng_rnode_proxies_free(sh);
	free_nodemons(sn);
	cod_tape_fini(&sn->xtape);
	cod_tape_fini(&sn->ftape);
	ring_bufq_pool_fini(&sn->chunks);
	ring_free(sn->plain, NET_RXBUF_SIZE + RING_BUF_PADDING);
	ring_free(sn, sizeof(*sn));
	sh->net = NULL;
}

/* ---- records -------------------------------------------------------- */

int
eng_net_send_rec(struct eng_shard *sh, int dst, uint8_t sub, const void *p,
                 size_t len)
{
	uint8_t *r = eng_rec_reserve(sh, dst, REC_NET, 1 + len, 1);

	if (r == NULL)
		return -ENOMEM;
	r[0] = sub;
	if (len > 0)
		memcpy(r + 1, p, len);
	eng_rec_commit(sh, dst, 1 + len);
	return 0;
}

/* NET_NODEEV payload: header, node ID, then CBOR ["", reason...]. */
struct nodeev {
	uint64_t seq; /* the owner's event number */
	uint8_t up;
	uint8_t was_up;
	uint16_t idlen;
	uint32_t nfire; /* monitor ids at the end of the packet */
	uint32_t gen;   /* the connection generation that came up or ended */
};

void
eng_net_broadcast_nodeev(struct eng_shard *sh, const char *id, size_t idlen,
                         uint64_t seq, uint32_t gen, int up, int was_up,
                         const aemp_val *reason, size_t n,
                         const struct eng_idlist *fires)
{
	uint8_t hdr[1 + sizeof(struct nodeev) + AEMP_ID_MAX];
	struct nodeev ev = {seq, (uint8_t)up, (uint8_t)was_up, (uint16_t)idlen,
	                    0,   gen};
	aemp_val *ids = NULL;
	struct cod_seg segs[2] = {{reason, n}, {NULL, 0}};
	size_t k;
	int dst;

	/* Packed by hand: sub-kind, header, ID (no struct padding); then the
	 * CBOR packet ["", REASON..., FIRE_ID...] (ids as integers). */
	hdr[0] = NET_NODEEV;
	memcpy(hdr + 1 + sizeof(ev), id, idlen);
	for (dst = 0; dst < sh->node->nshards; dst++) {
		const struct eng_idlist *l = fires ? &fires[dst] : NULL;

		ev.nfire = l ? (uint32_t)l->n : 0;
		memcpy(hdr + 1, &ev, sizeof(ev));
		segs[1].n = 0;
		if (ev.nfire > 0 &&
		    (ids = ring_alloc(l->n * sizeof(aemp_val))) != NULL) {
			for (k = 0; k < l->n; k++)
				ids[k] = aemp_int((int64_t)l->v[k]);
			segs[1] = (struct cod_seg){ids, l->n};
		}
		eng_rec_packet(sh, dst, REC_NET, hdr, 1 + sizeof(ev) + idlen,
		               "", 0, segs, 2, 1);
		if (ids != NULL)
			ring_free(ids, l->n * sizeof(aemp_val));
		ids = NULL;
	}
}

/* seen_set - this shard has processed the owner's events up to seq; a
 * failure is acknowledged to its owner, which may then free the record
 * (packets stamped before the failure are all behind it by then). */
static void
seen_set(struct eng_shard *sh, const char *id, size_t len, uint64_t seq,
         int failure)
{
	struct eng_snet *sn = eng_snet(sh);
	int owner = eng_node_owner(sh->node, id, len, NULL);
	struct net_gcack ack = {seq, (uint32_t)sh->idx, 0};

	if (seq > sn->seen[owner])
		sn->seen[owner] = seq;
	if (failure && owner != sh->idx)
		eng_net_send_rec(sh, owner, NET_GCACK, &ack, sizeof(ack));
}

static void
run_nodemons(struct eng_shard *sh, const char *id, size_t idlen, int up,
             const aemp_val *reason, size_t n)
{
	struct eng_nodemon *m;
	struct eng_ctx save;
	char buf[AEMP_ID_MAX];

	snprintf(buf, sizeof(buf), "%.*s", (int)idlen, id);
	for (m = eng_snet(sh)->nodemons; m != NULL; m = m->next) {
		eng_ctx_enter_id(sh, &save, m->self);
		m->cb(sh->node, buf, up, reason, n, m->arg);
		eng_ctx_leave(sh, &save);
	}
}

static void
rec_nodeev(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	struct nodeev ev;
	const aemp_val *pkt, *reason;
	const char *id = (const char *)p + sizeof(ev);
	size_t n, i;
	int64_t fid;

	AEMP_ASSERT(len >= sizeof(ev));
	memcpy(&ev, p, sizeof(ev));
	if (cod_decode(COD_CBOR, &sh->tape, p + sizeof(ev) + ev.idlen,
	               len - sizeof(ev) - ev.idlen, &pkt) < 0 ||
	    pkt->len < 1 + ev.nfire) {
		eng_log(sh->node, AEMP_LOG_CRIT, "undecodable node event");
		return;
	}
	reason = pkt->u.a + 1;
	n = pkt->len - 1 - ev.nfire;
	/* monitors first, then the generation that lets senders through */
	for (i = 0; i < ev.nfire; i++) {
		if (aemp_get_int(&reason[n + i], &fid) == 0)
			eng_mon_fire_owned(sh, (uint64_t)fid, reason, n);
	}
	seen_set(sh, id, ev.idlen, ev.seq, !ev.up);
	if (!ev.up && ev.was_up)
		eng_rnode_proxies_drop(sh, id, ev.idlen, ev.gen);
	if (ev.up || ev.was_up)
		run_nodemons(sh, id, ev.idlen, ev.up, reason, n);
	if (sh->idx == 0)
		eng_seam(sh->node)->global_nodeev(sh, id, ev.idlen, ev.up,
		                                  ev.was_up);
}

/* NET_ADDRS: {idlen, naddrs} node ID, then naddrs struct eng_addr. */
struct addrs_hdr {
	uint16_t idlen;
	uint16_t naddrs;
};

void
eng_net_send_addrs(struct eng_shard *sh, int dst, const char *id, size_t idlen,
                   const struct eng_addr *a, size_t n)
{
	struct addrs_hdr h = {(uint16_t)idlen, (uint16_t)AEMP_MIN(n, 64u)};
	size_t len = sizeof(h) + idlen + h.naddrs * sizeof(*a);
	uint8_t *r = eng_rec_reserve(sh, dst, REC_NET, 1 + len, 1);

	if (r == NULL)
		return;
	r[0] = NET_ADDRS;
	memcpy(r + 1, &h, sizeof(h));
	memcpy(r + 1 + sizeof(h), id, idlen);
	if (h.naddrs > 0)
		memcpy(r + 1 + sizeof(h) + idlen, a, h.naddrs * sizeof(*a));
	eng_rec_commit(sh, dst, 1 + len);
}

static void
rec_addrs(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	struct addrs_hdr h;
	struct eng_addr a[64];
	struct eng_rnode *rn;
	const char *id = (const char *)p + sizeof(h);

	AEMP_ASSERT(len >= sizeof(h));
	memcpy(&h, p, sizeof(h));
	if (h.naddrs > 0)
		memcpy(a, p + sizeof(h) + h.idlen, h.naddrs * sizeof(a[0]));
	rn = eng_rnode_find(sh, id, h.idlen, eng_hash(id, h.idlen));
	if (rn != NULL)
		eng_rnode_addrs(sh, rn, a, h.naddrs);
}

static void
rec_net(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	uint8_t sub = p[0];

	p++;
	len--;
	switch (sub) {
	case NET_HANDOVER: {
		struct eng_conn *c;

		memcpy(&c, p, sizeof(c));
		eng_conn_adopt(sh, c);
		break;
	}
	case NET_NODEEV:
		rec_nodeev(sh, p, len);
		break;
	case NET_MONREG:
		eng_rnode_monreg(sh, p, len);
		break;
	case NET_UNMON:
		eng_rnode_unmonreg(sh, p, len);
		break;
	case NET_PROXYREG:
	case NET_PROXYUNREG:
		eng_rnode_proxy_record(sh, sub, p, len);
		break;
	case NET_ADDRS:
		rec_addrs(sh, p, len);
		break;
	case NET_GCACK:
		eng_rnode_gcack(sh, p, len);
		break;
	case NET_CONNECT: {
		struct eng_rnode *rn =
		        eng_rnode_get(sh, (const char *)p, len,
		                      eng_hash((const char *)p, len));
		if (rn != NULL)
			eng_rnode_connect(sh, rn);
		break;
	}
	default:
		eng_seam(sh->node)->global_record(sh, p - 1, len + 1);
		break;
	}
}

void
eng_remote_record(struct eng_shard *sh, uint32_t kind, const uint8_t *p,
                  size_t len)
{
	if (kind == REC_REMOTE)
		eng_rnode_remote_record(sh, p, len);
	else if (kind == REC_NET && len > 0)
		rec_net(sh, p, len);
}

/* ---- the funnel ----------------------------------------------------- */

/* remote_hop - [name, segs...] to node pid->node through its owner shard
 * (a REC_REMOTE record). */
static int
remote_hop(struct eng_shard *sh, int owner, const struct eng_pid *pid,
           uint32_t hash, const struct cod_seg *segs, size_t nsegs, int must)
{
	struct {
		struct remote_hdr h;
		char id[AEMP_ID_MAX];
	} hdr;

	if (must != 1 &&
	    AEMP_UNLIKELY(
	            atomic_load_explicit(
	                    &eng_net(sh->node)->cong[hash % ENG_CONG_SLOTS],
	                    memory_order_relaxed) != 0))
		return -EAGAIN; /* the owner's queue for that node is full */
	hdr.h.seen = eng_snet(sh)->seen[owner];
	hdr.h.gen = 0;
	hdr.h.idlen = (uint16_t)pid->nodelen;
	hdr.h.flags = 0;
	memcpy(hdr.id, pid->node, pid->nodelen);
	return eng_rec_packet(sh, owner, REC_REMOTE, &hdr,
	                      sizeof(hdr.h) + pid->nodelen, pid->name,
	                      pid->namelen, segs, nsegs, must == 1);
}

int
eng_remote_snd_many(struct eng_shard *sh, const struct eng_pid *pid,
                    uint32_t hash, const struct cod_seg *msgs, size_t count,
                    int must)
{
	int owner = eng_shard_of_node(sh->node, hash), rc = 0;
	struct eng_rnode *rn;
	size_t i;

	if (AEMP_UNLIKELY(pid->nodelen == 0))
		return (int)count; /* the empty (unconfigured) node ID */
	if (owner == sh->idx) {
		rn = eng_rnode_get(sh, pid->node, pid->nodelen, hash);
		if (rn == NULL)
			return -ENOMEM;
		return eng_rnode_send_many(sh, rn, pid->name, pid->namelen,
		                           msgs, count, must);
	}
	for (i = 0; i < count; i++) {
		rc = remote_hop(sh, owner, pid, hash, &msgs[i], 1, must);
		if (rc < 0)
			return i > 0 ? (int)i : rc;
	}
	return (int)count;
}

int
eng_remote_snd(struct eng_shard *sh, const struct eng_pid *pid,
               const struct cod_seg *segs, size_t nsegs, int must)
{
	uint32_t hash;
	int owner;

	if (AEMP_UNLIKELY(pid->nodelen == 0))
		return 0; /* the empty (unconfigured) node ID: nowhere */
	owner = eng_node_owner(sh->node, pid->node, pid->nodelen, &hash);
	if (owner == sh->idx) {
		struct eng_rnode *rn =
		        eng_rnode_get(sh, pid->node, pid->nodelen, hash);

		if (rn == NULL)
			return -ENOMEM;
		return eng_rnode_send(sh, rn, pid->name, pid->namelen, segs,
		                      nsegs, must);
	}
	return remote_hop(sh, owner, pid, hash, segs, nsegs, must);
}

int
eng_remote_room(struct aemp_node *node, uint32_t nodehash)
{
	if (atomic_load_explicit(
	            &eng_net(node)->cong[nodehash % ENG_CONG_SLOTS],
	            memory_order_relaxed) != 0)
		return -EAGAIN; /* the owner's queue for that node is full */
	return 0;
}

/* ---- public queries ------------------------------------------------- */

struct eng_upent *
eng_up_set(struct aemp_node *node, const char *id, size_t len, int up)
{
	struct eng_net *net = eng_net(node);
	struct id_key k = {id, len, eng_hash(id, len)};
	struct eng_upent *u;

	pthread_mutex_lock(&net->upmu);
	u = eng_htab_find(&net->up, k.hash, up_eq, &k);
	if (u == NULL) {
		u = ring_zalloc(sizeof(*u) + len + 1);
		if (u != NULL) {
			u->hash = k.hash;
			u->idlen = (uint32_t)len;
			memcpy(u->id, id, len);
			u->id[len] = '\0';
			if (eng_htab_insert(&net->up, k.hash, u, up_hash) < 0) {
				free_upent(u, NULL);
				u = NULL;
			}
		}
	}
	if (u != NULL) {
		u->ups += up && !u->up;
		u->downs += !up && u->up;
		u->up = (uint8_t)up;
		if (!up) /* the queue went with the connection */
			atomic_store_explicit(&u->qbytes, 0,
			                      memory_order_relaxed);
	}
	pthread_mutex_unlock(&net->upmu);
	return u;
}

void
eng_up_del(struct aemp_node *node, const char *id, size_t len)
{
	struct eng_net *net = eng_net(node);
	struct id_key k = {id, len, eng_hash(id, len)};
	struct eng_upent *u;

	pthread_mutex_lock(&net->upmu);
	u = eng_htab_find(&net->up, k.hash, up_eq, &k);
	if (u != NULL)
		eng_htab_remove(&net->up, u, up_hash);
	pthread_mutex_unlock(&net->upmu);
	if (u != NULL)
		free_upent(u, NULL);
}

int
eng_node_is_up(struct aemp_node *node, const char *id, size_t len)
{
	struct eng_net *net = eng_net(node);
	struct id_key k = {id, len, eng_hash(id, len)};
	struct eng_upent *u;
	int rc;

	if (len == node->idlen && memcmp(id, node->id, len) == 0)
		return 1;
	pthread_mutex_lock(&net->upmu);
	u = eng_htab_find(&net->up, k.hash, up_eq, &k);
	rc = u == NULL ? AEMP_ENONODE : u->up;
	pthread_mutex_unlock(&net->upmu);
	return rc;
}

AEMP_API int
aemp_node_is_up(aemp_node *node, const char *nodeid)
{
	return eng_node_is_up(node, nodeid, aemp_node_of(nodeid));
}

/* A JSON array of strings, snprintf-style. */
struct jarr {
	char *out;
	size_t cap;
	size_t len;
	int n;
};

static void
jarr_add(struct jarr *j, const char *s, size_t n)
{
	aemp_val v = aemp_strn(s, n);
	char tmp[AEMP_ID_MAX * 2 + 8];
	int w = aemp_json_format(&v, tmp, sizeof(tmp));

	if (w < 0 || (size_t)w >= sizeof(tmp))
		return;
	if (j->n++ > 0) {
		if (j->len + 1 < j->cap)
			j->out[j->len] = ',';
		j->len++;
	}
	if (j->len + (size_t)w < j->cap)
		memcpy(j->out + j->len, tmp, (size_t)w);
	j->len += (size_t)w;
}

static int
jarr_done(struct jarr *j)
{
	if (j->len + 1 < j->cap)
		j->out[j->len] = ']';
	j->len++;
	if (j->cap > 0)
		j->out[j->len < j->cap ? j->len : j->cap - 1] = '\0';
	return (int)j->len;
}

static void
up_add(void *e, void *arg)
{
	struct eng_upent *u = e;

	if (u->up)
		jarr_add(arg, u->id, u->idlen);
}

AEMP_API int
aemp_up_nodes(aemp_node *node, char *out, size_t cap)
{
	struct eng_net *net = eng_net(node);
	struct jarr j = {out, cap, 1, 0};

	if (cap > 0)
		out[0] = '[';
	pthread_mutex_lock(&net->upmu);
	eng_htab_each(&net->up, up_add, &j);
	pthread_mutex_unlock(&net->upmu);
	return jarr_done(&j);
}

AEMP_API int
aemp_node_listeners(const aemp_node *node, char *out, size_t cap)
{
	const struct eng_net *net = eng_net(node);
	const char *s = net->lst_json ? net->lst_json : "[]";
	size_t n = strlen(s);

	if (cap > 0) {
		memcpy(out, s, AEMP_MIN(n, cap - 1));
		out[AEMP_MIN(n, cap - 1)] = '\0';
	}
	return (int)n;
}

/* ---- node event subscriptions --------------------------------------- */

static int
nodemon_here(struct eng_shard *sh, aemp_node_fn cb, void *arg,
             aemp_guard *guard)
{
	struct eng_snet *sn = eng_snet(sh);
	struct eng_nodemon *m = ring_zalloc(sizeof(*m));

	if (m == NULL)
		return -ENOMEM;
	if (eng_self_dup(sh, &m->self) < 0) {
		ring_free(m, sizeof(*m));
		return -ENOMEM;
	}
	m->obj.kind = OBJ_NODEMON;
	m->obj.id = eng_new_id(sh);
	m->cb = cb;
	m->arg = arg;
	m->next = sn->nodemons;
	sn->nodemons = m;
	eng_obj_add(sh, &m->obj);
	if (guard != NULL)
		guard->v = m->obj.id;
	return 0;
}

void
eng_nodemon_cancel(struct eng_shard *sh, uint64_t id)
{
	struct eng_nodemon **mp, *m;

	for (mp = &eng_snet(sh)->nodemons; (m = *mp) != NULL; mp = &m->next) {
		if (m->obj.id == id) {
			*mp = m->next;
			eng_obj_del(sh, &m->obj);
			eng_strfree(m->self);
			ring_free(m, sizeof(*m));
			return;
		}
	}
}

static void
call_nodemon(struct eng_shard *sh, struct eng_call *c)
{
	c->rc = nodemon_here(sh, (aemp_node_fn)c->fp, c->p[0], c->guard_out);
}

AEMP_API int
aemp_mon_nodes(aemp_node *node, aemp_node_fn cb, void *arg, aemp_guard *guard)
{
	struct eng_shard *sh = eng_here(node);
	struct eng_call *c;
	int rc;

	if (guard != NULL)
		guard->v = 0;
	if (cb == NULL)
		return -EINVAL;
	if (sh != NULL)
		return nodemon_here(sh, cb, arg, guard);
	c = eng_call_new(call_nodemon, 1);
	if (c == NULL)
		return -ENOMEM;
	c->fp = (void (*)(void))cb;
	c->p[0] = arg;
	c->guard_out = guard;
	rc = eng_post(node, 0, c);
	eng_call_free(c);
	return rc;
}

/* ---- node-port requests about connections --------------------------- */

/* aemp::nodes: the nodes connected now, as an array of node IDs. */
static void
req_nodes(struct eng_shard *sh, const aemp_val *args, size_t n)
{
	char buf[16384];
	aemp_val *v = NULL;

	if (aemp_up_nodes(sh->node, buf, sizeof(buf)) >= (int)sizeof(buf) ||
	    aemp_json_parse(buf, strlen(buf), &v) < 0) {
		eng_log(sh->node, AEMP_LOG_ERROR, "aemp::nodes: list too long");
		return;
	}
	eng_reply(sh, args, n, v, 1);
	aemp_val_free(v);
}

int
eng_net_node_request(struct eng_shard *sh, const aemp_val *tag,
                     const aemp_val *args, size_t n, const char *src,
                     size_t srclen)
{
	int remote = !eng_is_self(sh->node, src, srclen);

	if (aemp_str_eq(tag, "aemp::nodes")) {
		req_nodes(sh, args, n);
		return 1;
	}
	if (aemp_str_eq(tag, "kil0")) {
		if (remote)
			eng_rnode_kil0(sh, src, srclen, args, n);
		return 1;
	}
	if (aemp_str_eq(tag, "mon1") || aemp_str_eq(tag, "mon0")) {
		if (remote)
			eng_rnode_rmon(sh, tag, args, n, src, srclen);
		return 1;
	}
	return 0;
}

void
eng_net_stats(struct aemp_node *node, aemp_stats *out)
{
	int i;

	out->handshakes = (uint64_t)atomic_load(&eng_net(node)->handshakes);
	out->remote_nodes = 0;
	for (i = 0; i < node->nshards; i++) {
		struct eng_snet *sn = node->shards[i]->net;

		if (sn != NULL)
			out->remote_nodes += atomic_load_explicit(
			        &sn->nrnodes, memory_order_relaxed);
	}
	eng_metrics_stats(node, out);
}

void
eng_net_rec_discard(uint32_t kind, const uint8_t *p, size_t len)
{
	struct eng_conn *c;

	if (kind != REC_NET || len <= sizeof(c) || p[0] != NET_HANDOVER)
		return;
	memcpy(&c, p + 1, sizeof(c));
	eng_conn_discard(c);
}
