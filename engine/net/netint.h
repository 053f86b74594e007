/*
 * engine/net/netint.h - the network layer's internal types: node-wide state,
 * per-shard state, remote node records and connections.
 *
 * Ownership (docs/threading.md):
 *  - A remote node P is owned by shard eng_node_owner(P): its record
 *    (connection, queue, monitors, connection attempts) lives there, and
 *    every packet for P is encoded there, so per-sender order holds.
 *  - A connection belongs to one shard at a time.  Accepted connections
 *    start on shard 0 and move to the owner of the peer's node ID as soon
 *    as the greeting names it (REC_NET / NET_HANDOVER), with no operation
 *    in flight at that moment.  This is the one object that changes
 *    shards; the receiving shard frees it.
 *  - Every shard keeps a view (generation number) of each remote node it
 *    sends to.  A node's owner bumps the generation on every connection
 *    failure and broadcasts it before firing monitors; packets stamped
 *    with an older generation are dropped, so nothing sent before a
 *    failure was seen can arrive after it (aemp-protocol.md §4.6.7).
 */
#ifndef ENGINE_NET_NETINT_H
#define ENGINE_NET_NETINT_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "crypto/tls.h"
#include "engine/conf/addr.h"
#include "engine/core/eng.h"
#include "engine/net/hs.h"
#include "engine/net/net.h"
#include "ring/bufq.h"
#include "ring/bufring.h"

#define NET_RXBUF_SIZE (64u << 10) /* provided buffer size */
#define NET_RXBUF_COUNT 256u       /* provided buffers per shard */
#define NET_CHUNK_SIZE (64u << 10) /* send chunk size */
#define NET_IOV_MAX 64
#define NET_SEND_MAX (8u << 20) /* bytes per sendmsg */
#define NET_FIRST_SEND 2048     /* bytes sent right after auth (§2.10) */
#define NET_WARMUP_NS (20u * 1000 * 1000)
#define NET_STASH_MAX NET_RXBUF_COUNT
#define NET_PAUSE_BYTES (16u << 20) /* cross-shard spill that pauses rx */
#define ENG_CONG_SLOTS 4096u

/* REC_NET sub-kinds (first byte of the payload). */
enum net_rec {
	NET_HANDOVER = 1,    /* a connection moves to this shard */
	NET_NODEEV = 2,      /* node P: generation, up/down, reason */
	NET_MONREG = 3,      /* register a remote monitor at P's owner */
	NET_UNMON = 4,       /* remove it */
	NET_LOOKUP = 5,      /* owner asks the control shard for P's address */
	NET_ADDRS = 6,       /* control shard answers a lookup */
	NET_CONNECT = 7,     /* ask P's owner to connect (seeds, keepalive) */
	NET_PEERID = 8,      /* a seed endpoint greeted with this ID */
	NET_GLOBAL = 9,      /* a request for the global service (shard 0) */
	NET_PROXYREG = 10,   /* mon1 from P for a port of this shard */
	NET_PROXYUNREG = 11, /* mon0 from P */
	NET_DIAL = 12,       /* shard 0: dial a seed endpoint */
};

struct eng_conn;

/* Monitors of one port of a remote node (lmon, §4.6.2). */
struct eng_lmon {
	struct eng_mon *mons; /* ACT_FWD registrations */
	uint32_t hash;
	uint32_t namelen;
	char name[];
};

enum rnode_state {
	RN_DOWN = 0,
	RN_CONNECTING = 1,
	RN_UP = 2,
};

/* A remote node, on its owner shard. */
struct eng_rnode {
	uint32_t hash;
	uint32_t idlen;
	uint32_t gen;
	uint8_t state;          /* enum rnode_state */
	uint8_t lookup;         /* address lookup outstanding */
	uint8_t warm;           /* first send after up still limited */
	uint8_t congested;      /* counted in net->cong (queue > max_queue) */
	struct eng_conn *conn;  /* current connection (RN_UP) */
	struct ring_bufq queue; /* CBOR packets waiting for a connection */
	struct eng_htab lmon;   /* port name -> struct eng_lmon */
	struct eng_addr *addrs; /* connection attempt: endpoints */
	size_t naddrs;
	size_t next_addr;
	struct ring_timer ticker;
	struct ring_timer deadline;
	struct eng_shard *sh;
	char id[];
};

enum conn_state {
	CS_CONNECTING = 1, /* TCP connect in flight */
	CS_HS = 2,         /* greeting / auth lines */
	CS_TLS_HS = 3,     /* TLS handshake, then auth lines inside */
	CS_DATA = 4,       /* authenticated */
	CS_CLOSED = 5,     /* dead: waiting for ops to finish, then reaped */
};

struct net_op {
	struct ring_op op;
	struct eng_conn *conn;
};

struct eng_conn {
	struct eng_shard *sh;
	int fd;
	uint8_t state; /* enum conn_state */
	uint8_t outgoing;
	uint8_t seed;       /* dialled a seed endpoint */
	uint8_t handover;   /* move to another shard when idle */
	uint8_t recv_multi; /* multishot recv armed */
	uint8_t paused;
	uint8_t in_dirty;
	uint8_t in_reap;
	uint8_t warm; /* right after auth: limited first send */
	uint8_t warm_sent;
	uint8_t hs_counted;
	uint8_t tls_up;     /* TLS handshake finished */
	uint8_t need_rearm; /* receive ended for lack of buffers */
	int ops;            /* operations in flight */
	int handover_to;
	struct eng_rnode *trial_of; /* outgoing attempt for this node */
	struct eng_rnode *rn;       /* the node it is current for (RN_UP) */
	struct eng_addr addr;       /* the other end */
	char peer[AEMP_ID_MAX];     /* node ID after the greeting */
	size_t peerlen;
	struct eng_hs *hs; /* during the handshake */
	struct cry_tls *tls;
	struct cod_stream rx;
	enum cod_framing send_framing;
	struct ring_bufq tx;  /* plaintext packets */
	struct ring_bufq ctx; /* TLS: ciphertext to send */
	size_t inflight;      /* bytes of the sendmsg in flight */
	struct net_op recv_op;
	struct net_op send_op;
	struct net_op conn_op;
	struct net_op cancel_op;
	uint8_t *hsbuf; /* handshake receive buffer */
	size_t hsbuf_len;
	uint16_t stash[NET_STASH_MAX]; /* received buffers held while paused */
	uint32_t stash_len[NET_STASH_MAX];
	unsigned nstash;
	struct ring_timer hs_timer;
	struct ring_timer ka_timer;
	uint64_t last_tx_ns;
	uint64_t hs_end_ns; /* absolute handshake deadline (0: unset) */
	struct msghdr msg;
	struct iovec iov[NET_IOV_MAX];
	struct eng_conn *next; /* shard's connection list */
	struct eng_conn *prev;
	struct eng_conn *dirty_next;
	struct eng_conn *reap_next;
	char reason[160];
};

/* REC_REMOTE header: the sender's generation view, flags, node ID; then
 * the CBOR packet. */
#define REMOTE_ONLY_IF_UP 0x01 /* drop unless connected at that gen */

struct remote_hdr {
	uint32_t gen;
	uint16_t idlen;
	uint16_t flags;
};

/* NET_MONREG / NET_UNMON / NET_PROXYREG / NET_PROXYUNREG payload header,
 * followed by the node ID and the port name. */
struct monreg_hdr {
	uint64_t owner; /* owner-side monitor id (MONREG/UNMON) */
	uint32_t gen;   /* connection generation (PROXYREG) */
	uint16_t idlen;
	uint16_t namelen;
};

/* A subscriber of node events (aemp_mon_nodes), on its shard. */
struct eng_nodemon {
	struct eng_obj obj;
	struct eng_nodemon *next;
	aemp_node_fn cb;
	void *arg;
	char *self;
};

/* This shard's view of a remote node (for generation stamps). */
struct eng_view {
	uint32_t hash;
	uint32_t gen;
	uint32_t idlen;
	uint32_t pad;
	char id[];
};

/* Per-shard network state. */
struct eng_snet {
	struct ring_bufring rxbufs;
	int have_bufring;
	struct ring_bufq_pool chunks;
	struct eng_htab rnodes; /* owned remote nodes */
	struct eng_htab views;  /* generation views */
	struct eng_conn *conns;
	struct eng_conn *dirty;
	struct eng_conn *reap;
	struct eng_nodemon *nodemons;
	uint8_t *plain;        /* TLS plaintext scratch (padded) */
	struct cod_tape xtape; /* transcoding CBOR -> JSON */
	unsigned npaused;      /* connections paused for spill */
	unsigned nrearm;       /* connections waiting for buffers */
	int stopping;
};

struct eng_listener {
	struct ring_op accept_op;
	int fd;
	uint8_t armed;
	struct eng_addr addr;
};

/* Node-wide network state. */
struct eng_net {
	struct eng_hs_cfg hs_cfg;
	char provider[32];
	struct cry_tls_ctx *tls;
	struct eng_listener *lst;
	size_t nlst;
	char *lst_json; /* ["IP:PORT",...] */
	size_t lst_json_cap;
	aemp_val *lst_val;     /* the same as an ARRAY value */
	atomic_int handshakes; /* connections not yet authenticated */
	/* Back pressure for senders on other shards: the owner of node P
	 * counts P in cong[slot(P)] while P's send queue is above max_queue,
	 * and they get -EAGAIN while the slot is non-zero (a colliding slot
	 * only delays a sender until the other node drains). */
	atomic_uint cong[ENG_CONG_SLOTS];
	pthread_mutex_t upmu; /* guards `up` (control plane) */
	struct eng_htab up;   /* node ID -> struct eng_upent */
	void *global;         /* engine/global/global.c state (shard 0) */

	/* The metrics endpoint (metrics.c) or NULL, and its bound address
	 * or "". */
	struct eng_mhttp *metrics;
	char metrics_addr[ENG_ADDR_TEXT_MAX];
};

struct eng_upent {
	uint32_t hash;
	uint8_t up;
	uint32_t idlen;
	uint64_t ups;   /* times seen going up (metrics, under upmu) */
	uint64_t downs; /* times seen going down */
	char id[];
};

static inline struct eng_net *
eng_net(const struct aemp_node *node)
{
	return node->net;
}

static inline struct eng_snet *
eng_snet(const struct eng_shard *sh)
{
	return sh->net;
}

/* The shard owning remote node id. */
static inline int
eng_node_owner(const struct aemp_node *node, const char *id, size_t len,
               uint32_t *hash)
{
	uint32_t h = eng_hash(id, len);

	if (hash != NULL)
		*hash = h;
	return eng_shard_of_hash(node, h ^ 0x9e3779b9u);
}

/* ---- net.c ---------------------------------------------------------- */

/* eng_net_send_rec - a REC_NET record: sub-kind, then payload bytes. */
int eng_net_send_rec(struct eng_shard *sh, int dst, uint8_t sub, const void *p,
                     size_t len);
/* A list of owner-side monitor ids (one per shard) to fire on a node
 * failure. */
struct eng_idlist {
	uint64_t *v;
	size_t n;
	size_t cap;
};

/*
 * eng_net_broadcast_nodeev - tell every shard about node P: its new
 * generation, up or down (was_up: a down event for subscribers), the
 * reason, and for a failure the monitors each shard must fire
 * (fires[shard], NULL for none).  A shard fires them and adopts the new
 * generation in the same record, so none of its senders can reach P
 * between the failure and its monitor actions (aemp-protocol.md §4.6.7).
 */
void eng_net_broadcast_nodeev(struct eng_shard *sh, const char *id,
                              size_t idlen, uint32_t gen, int up, int was_up,
                              const aemp_val *reason, size_t n,
                              const struct eng_idlist *fires);
uint32_t eng_view_gen(struct eng_shard *sh, const char *id, size_t len,
                      uint32_t hash);
/* eng_net_send_addrs - answer a lookup: addresses of node id to shard dst
 * (at most 64). */
void eng_net_send_addrs(struct eng_shard *sh, int dst, const char *id,
                        size_t idlen, const struct eng_addr *a, size_t n);
void eng_up_set(struct aemp_node *node, const char *id, size_t len, int up);

/* ---- rnode.c -------------------------------------------------------- */

struct eng_rnode *eng_rnode_find(struct eng_shard *sh, const char *id,
                                 size_t len, uint32_t hash);
struct eng_rnode *eng_rnode_get(struct eng_shard *sh, const char *id,
                                size_t len, uint32_t hash);
void eng_rnodes_free(struct eng_shard *sh);
/* eng_rnode_congestion - recompute rn's congested flag from its queue. */
void eng_rnode_congestion(struct eng_shard *sh, struct eng_rnode *rn);
/* eng_rnode_send - encode [name, segs...] for P (owner shard). */
int eng_rnode_send(struct eng_shard *sh, struct eng_rnode *rn, const char *name,
                   size_t namelen, const struct cod_seg *segs, size_t nsegs,
                   int must);
/* eng_rnode_send_cbor - append an already CBOR-encoded packet. */
int eng_rnode_send_cbor(struct eng_shard *sh, struct eng_rnode *rn,
                        const uint8_t *pkt, size_t len);
/* eng_remote_snd_gen - send [name, segs...] to node id with an explicit
 * generation stamp and REMOTE_* flags (monitor proxies). */
int eng_remote_snd_gen(struct eng_shard *sh, const char *id, size_t idlen,
                       uint32_t gen, uint16_t flags, const char *name,
                       size_t namelen, const struct cod_seg *segs,
                       size_t nsegs);
/* eng_rnode_connect - start a connection attempt if none runs. */
void eng_rnode_connect(struct eng_shard *sh, struct eng_rnode *rn);
/* eng_rnode_addrs - addresses learned for rn (NULL/0: none known). */
void eng_rnode_addrs(struct eng_shard *sh, struct eng_rnode *rn,
                     const struct eng_addr *a, size_t n);
/* eng_rnode_up - conn authenticated as rn's peer: make it current. */
void eng_rnode_up(struct eng_shard *sh, struct eng_rnode *rn,
                  struct eng_conn *c);
/* eng_rnode_conn_lost - conn failed; if current, fail the node. */
void eng_rnode_conn_lost(struct eng_shard *sh, struct eng_conn *c,
                         const char *reason);
void eng_rnode_fail(struct eng_shard *sh, struct eng_rnode *rn,
                    const char *reason);
void eng_rnode_kil0(struct eng_shard *sh, const char *src, size_t srclen,
                    const aemp_val *args, size_t n);
void eng_rnode_monreg(struct eng_shard *sh, const uint8_t *p, size_t len);
void eng_rnode_unmonreg(struct eng_shard *sh, const uint8_t *p, size_t len);
void eng_rnode_rmon(struct eng_shard *sh, const aemp_val *tag,
                    const aemp_val *args, size_t n, const char *src,
                    size_t srclen);
void eng_rnode_proxy_record(struct eng_shard *sh, uint8_t sub, const uint8_t *p,
                            size_t len);
/* eng_rnode_send_stamped - a CBOR packet from another shard (REC_REMOTE). */
void eng_rnode_remote_record(struct eng_shard *sh, const uint8_t *p,
                             size_t len);

/* ---- conn.c --------------------------------------------------------- */

/* eng_conn_new_fd - a connection object for fd (taken). */
struct eng_conn *eng_conn_new(struct eng_shard *sh, int fd, int outgoing,
                              const struct eng_addr *addr);
/* eng_conn_start - send the greeting and start reading. */
void eng_conn_start(struct eng_conn *c);
/* eng_conn_dial - connect to addr for rn (NULL: a seed). */
int eng_conn_dial(struct eng_shard *sh, const struct eng_addr *addr,
                  struct eng_rnode *rn, int seed);
void eng_conn_fail(struct eng_conn *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void eng_conn_close(struct eng_conn *c);
void eng_conn_discard(struct eng_conn *c);
void eng_conn_adopt(struct eng_shard *sh, struct eng_conn *c);
void eng_conn_mark_dirty(struct eng_conn *c);
/* eng_conn_encode - append [name, segs...] in the connection's framing. */
int eng_conn_encode(struct eng_conn *c, const char *name, size_t namelen,
                    const struct cod_seg *segs, size_t nsegs);
/* eng_bufq_encode - encode [name, segs...] in framing f into q. */
int eng_bufq_encode(struct ring_bufq *q, enum cod_framing f, const char *name,
                    size_t namelen, const struct cod_seg *segs, size_t nsegs);
/* eng_conn_append_cbor - append a CBOR packet, transcoding if needed. */
int eng_conn_append_cbor(struct eng_conn *c, const uint8_t *pkt, size_t len);
size_t eng_conn_queued(const struct eng_conn *c);
void eng_conns_free(struct eng_shard *sh);

/* ---- listen.c ------------------------------------------------------- */

int eng_listen_bind(struct aemp_node *node);
void eng_listen_start(struct eng_shard *sh);
void eng_listen_close(struct aemp_node *node);

#endif /* ENGINE_NET_NETINT_H */
