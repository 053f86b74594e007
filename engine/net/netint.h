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
 *  - Each owner shard numbers its node events (evseq, monotonic) and
 *    broadcasts every failure with its number before monitors fire
 *    elsewhere; each shard remembers the newest number it has processed
 *    from each owner (seen[]) and stamps its packets with it.  A packet
 *    stamped below the node's last failure was sent before its sender
 *    saw that failure and is dropped, so nothing sent before a failure
 *    can arrive after it (aemp-protocol.md §4.6.7).
 *  - A record is freed (garbage-collected) when its node is down, nothing
 *    refers to it (no queued packet, monitor, connection attempt or
 *    trial) and node_gc_delay has passed, and only once every shard has
 *    acknowledged its last failure (NET_GCACK): the packets a shard sent
 *    before that acknowledgement have all arrived by then, so a record
 *    made again later cannot receive a stale one.
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
#define NET_PAUSE_BYTES (1u << 20) /* cross-shard spill that pauses rx */
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
	NET_GCACK = 13,      /* to an owner: its node events seen up to seq */
	NET_FORGET = 14,     /* shard 0: a node's record was freed */
};

struct eng_conn;
struct eng_bulk;    /* engine/net/frag.c */
struct eng_frag_rx; /* engine/net/frag.h */

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
	uint32_t gen;      /* connection generation (set when up) */
	uint8_t state;     /* enum rnode_state */
	uint8_t lookup;    /* address lookup outstanding */
	uint8_t warm;      /* first send after up still limited */
	uint8_t congested; /* counted in net->cong (queue > max_queue) */
	uint8_t in_gc;     /* on the shard's idle list */
	uint8_t was_up;    /* has an entry in the node-wide up table */
	uint16_t ntrials;  /* outgoing connections trying for it */
	uint64_t fail;     /* event number of its last failure, 0: none */
	char *why;         /* reason of that failure (ring_alloc'd), or NULL */
	uint64_t idle_ns;  /* on the idle list since */
	struct eng_rnode *gc_next; /* the shard's idle list, oldest first */
	struct eng_rnode *gc_prev;
	struct eng_conn *conn;  /* current connection (RN_UP) */
	struct ring_bufq queue; /* CBOR packets waiting for a connection */
	struct eng_htab lmon;   /* port name -> struct eng_lmon */
	struct eng_addr *addrs; /* connection attempt: endpoints */
	size_t naddrs;
	size_t next_addr;
	struct ring_timer ticker;
	struct ring_timer deadline;
	struct eng_shard *sh;
	struct eng_upent *upent; /* its entry in net->up (was_up), metrics */
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

/*
 * How far an accepted connection's handshake got, lowest first: a full
 * handshake table closes the oldest connection of the lowest class
 * (engine/net/hsq.c).
 */
enum hsq_class {
	HSQ_SILENT = 0, /* nothing received yet */
	HSQ_TALKING,    /* bytes received, greeting line 1 incomplete */
	HSQ_NAMED,      /* line 1 complete: the peer named its node */
	HSQ_NCLASS,
};

/* Links of a connection on one list of pending handshakes. */
struct eng_plink {
	struct eng_conn *next;
	struct eng_conn *prev;
};

/* A list of pending handshakes, oldest first. */
struct eng_hsqlist {
	struct eng_conn *head;
	struct eng_conn *tail;
};

/* A source address (IPv6: its /64) with pending handshakes that are
 * subject to max_handshakes_per_addr (shard 0). */
struct eng_paddr {
	uint32_t hash;
	uint32_t count;
	uint8_t key[17];         /* family, then 4 or 8 address bytes */
	struct eng_hsqlist list; /* its connections, oldest first */
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
	uint8_t pause_cancel; /* pause_op in flight */
	uint8_t in_dirty;
	uint8_t in_reap;
	uint8_t warm; /* right after auth: limited first send */
	uint8_t warm_sent;
	uint8_t hs_counted;
	uint8_t tls_up;      /* TLS handshake finished */
	uint8_t need_rearm;  /* receive ended for lack of buffers */
	uint8_t np_behind;   /* a node-port request of ours waits in the
	                      * shard's own queue: all else goes behind it */
	uint8_t pend;        /* accepted: enum hsq_class */
	uint8_t pend_listed; /* on the shard's pending lists (hsq.c) */
	uint8_t hs_why;      /* enum eng_hsfail + 1 if known before the
	                      * failure, else 0 (eng_hsq_failed guesses) */
	int ops;             /* operations in flight */
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
	struct net_op pause_op; /* cancels the receive when pausing */
	uint8_t *hsbuf;         /* handshake receive buffer */
	size_t hsbuf_len;
	uint16_t stash[NET_STASH_MAX]; /* received buffers held while paused */
	uint32_t stash_len[NET_STASH_MAX];
	unsigned nstash;
	struct ring_timer hs_timer;
	struct ring_timer ka_timer;
	uint64_t last_tx_ns;
	uint64_t hs_t0_ns; /* handshake started (accept, or connected) */
	uint64_t hs_rx_ns; /* last handshake input */
	/* Accepted: our greeting's nonce, kept until the peer sends its
	 * first byte and the handshake state (hs, hsbuf) is allocated. */
	uint8_t nonce[ENG_HS_NONCE_BYTES];
	struct eng_plink pend_link;  /* shard's list of its class */
	struct eng_paddr *paddr;     /* its source address, if bounded */
	struct eng_plink paddr_link; /* that address's list */
	/* Fragments (engine/net/frag.c).  Sending, when the peer takes
	 * them: packets above frag_size, and packets that must stay behind
	 * them, wait in the bulk entries (counted in eng_conn_queued) and
	 * go into tx a piece at a time, once the previous piece has left:
	 * tx_sent counts the bytes taken from tx, frag_end is its value
	 * once the last piece is out.  Receiving, when we offered them:
	 * frx, made at the first fragment; frag_left, the bytes of a piece
	 * still to come, copied straight from the receive buffers into frx
	 * (CBOR: connrx.c rx_keep). */
	size_t frag_size; /* 0: packets go whole */
	size_t frag_left;
	uint64_t frag_rx_sid; /* that piece's stream */
	struct eng_bulk *bulk_head;
	struct eng_bulk *bulk_tail;
	size_t bulk_bytes;
	unsigned bulk_np;          /* node-port packets in bulk entries */
	uint64_t bulk_seq;         /* number of the newest entry */
	struct eng_htab frag_refs; /* ports with packets in them */
	uint32_t frag_refs_prune;  /* prune stale ones at this size */
	uint8_t frag_refs_lost;    /* pruning ran out of memory */
	uint8_t *bulk_spare;       /* the largest buffer of a sent large */
	size_t bulk_spare_cap;     /* packet, kept for the next one */
	uint64_t spare_ns;         /* a spare (sent or received) last used */
	uint32_t frag_sid;         /* the next stream we send */
	uint8_t frag_rx_on;
	uint64_t tx_sent;
	uint64_t frag_end;
	struct eng_frag_rx *frx;
	struct msghdr msg;
	struct iovec iov[NET_IOV_MAX];
	struct eng_conn *next; /* shard's connection list */
	struct eng_conn *prev;
	struct eng_conn *dirty_next;
	struct eng_conn *reap_next;
	char reason[160];
};

/* REC_REMOTE header: the newest node event of the owner the sender had
 * seen, the connection generation (REMOTE_ONLY_IF_UP), flags, node ID;
 * then the CBOR packet. */
#define REMOTE_ONLY_IF_UP 0x01 /* drop unless connected at that gen */

struct remote_hdr {
	uint64_t seen;
	uint32_t gen;
	uint16_t idlen;
	uint16_t flags;
};

/* NET_GCACK payload. */
struct net_gcack {
	uint64_t seq;
	uint32_t from;
	uint32_t pad;
};

/* NET_MONREG / NET_UNMON / NET_PROXYREG / NET_PROXYUNREG payload header,
 * followed by the node ID and the port name. */
struct monreg_hdr {
	uint64_t owner; /* owner-side monitor id (MONREG/UNMON) */
	uint64_t seen;  /* MONREG: the newest owner event the sender saw */
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

/* Per-shard network state. */
struct eng_snet {
	struct ring_bufring rxbufs;
	int have_bufring;
	struct ring_bufq_pool chunks;
	struct eng_htab rnodes; /* owned remote nodes */
	/* node ID -> struct eng_pxnode: the rmon proxies (ACT_KIL0 monitors)
	 * each remote node holds on this shard's ports (rnode.c) */
	struct eng_htab proxies;
	/* The record eng_rnode_find found last (NULL: none), cleared when
	 * it is freed: a stream to one node skips the table. */
	struct eng_rnode *rn_last;
	/* Node events (see the top of this file): this shard's own event
	 * numbers as an owner, the newest processed from each owner, the
	 * newest each shard acknowledged to this one; the idle records
	 * (oldest first) and the timer that frees them. */
	uint64_t evseq;
	uint32_t conn_seq;
	uint64_t seen[ENG_MAX_SHARDS];
	uint64_t acked[ENG_MAX_SHARDS];
	struct eng_rnode *gc_head;
	struct eng_rnode *gc_tail;
	struct ring_timer gc_timer;
	atomic_uint_fast64_t nrnodes; /* records held (read by stats) */
	struct eng_conn *conns;
	struct eng_conn *dirty;
	struct eng_conn *reap;
	struct eng_nodemon *nodemons;
	uint8_t *plain;        /* TLS plaintext scratch (padded) */
	struct cod_tape xtape; /* transcoding CBOR -> JSON */
	struct cod_tape ftape; /* decoding reassembled packets */
	unsigned npaused;      /* connections paused for spill */
	unsigned nrearm;       /* connections waiting for buffers */
	int stopping;
	/* Accepted handshakes (shard 0, engine/net/hsq.c). */
	struct eng_hsqlist pend[HSQ_NCLASS];
	struct eng_htab paddrs;  /* source address -> struct eng_paddr */
	struct eng_hs *greeter;  /* builds greetings sent at accept */
	uint64_t evicted;        /* handshakes closed to make room */
	uint64_t refused;        /* connections refused: nothing to close */
	uint64_t evicted_logged; /* the two as of the last warning */
	uint64_t refused_logged;
	uint64_t evict_log_ns; /* when that warning was logged */
};

struct eng_listener {
	struct ring_op accept_op;
	int fd;
	uint8_t armed;
	unsigned long nstarved;  /* accept failures for lack of descriptors
	                            since the last warning */
	uint64_t starved_log_ns; /* when that warning was logged (0: never) */
	struct ring_timer retry; /* re-arms the accept after a starvation */
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
	uint64_t nofile;       /* open-file soft limit (listen.c) */
	uint64_t nofile_old;   /* ... before the node raised it */
	int nofile_err;        /* errno of a failure to raise it, or 0 */
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
	/* Bytes queued on the connection to it (eng_conn_qpub: written by
	 * the owner shard, relaxed; read under upmu). */
	atomic_uint_fast64_t qbytes;
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
	return eng_shard_of_node(node, h);
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
 * event number seq and connection generation gen (the one that came up,
 * or for a failure the one that ended, which frees the rmon proxies of
 * that connection on every shard), up or down (was_up: a down event for
 * subscribers), the
 * reason, and for a failure the monitors each shard must fire
 * (fires[shard], NULL for none).  A shard fires them and adopts the event
 * number seq in the same record, so none of its senders can reach P
 * between the failure and its monitor actions (aemp-protocol.md §4.6.7);
 * for a failure it then acknowledges seq to the owner (NET_GCACK).
 */
void eng_net_broadcast_nodeev(struct eng_shard *sh, const char *id,
                              size_t idlen, uint64_t seq, uint32_t gen, int up,
                              int was_up, const aemp_val *reason, size_t n,
                              const struct eng_idlist *fires);
/* eng_net_send_addrs - answer a lookup: addresses of node id to shard dst
 * (at most 64). */
void eng_net_send_addrs(struct eng_shard *sh, int dst, const char *id,
                        size_t idlen, const struct eng_addr *a, size_t n);
/* eng_up_set - node id is up (1) or down (0) in the up table; returns
 * its entry (NULL: out of memory), which lives until eng_up_del. */
struct eng_upent *eng_up_set(struct aemp_node *node, const char *id, size_t len,
                             int up);
/* eng_up_del - drop node id from the up table (its record was freed). */
void eng_up_del(struct aemp_node *node, const char *id, size_t len);

/* ---- rnode.c -------------------------------------------------------- */

struct eng_rnode *eng_rnode_find(struct eng_shard *sh, const char *id,
                                 size_t len, uint32_t hash);
struct eng_rnode *eng_rnode_get(struct eng_shard *sh, const char *id,
                                size_t len, uint32_t hash);
void eng_rnodes_free(struct eng_shard *sh);
/* eng_rnode_proxies_drop - the connection generation gen of node id has
 * ended: free this shard's rmon proxies registered over it (their kil0
 * could only go over that connection).  On every shard, from the node
 * event. */
void eng_rnode_proxies_drop(struct eng_shard *sh, const char *id, size_t len,
                            uint32_t gen);
/* eng_rnode_proxies_free - at shard teardown: forget the proxy lists (the
 * proxies themselves go with their ports). */
void eng_rnode_proxies_free(struct eng_shard *sh);
/* eng_rnode_gc_touch - rn may have become idle: (re)start its grace
 * period if it is, take it off the idle list if not. */
void eng_rnode_gc_touch(struct eng_shard *sh, struct eng_rnode *rn);
/* eng_rnode_gc_run - the idle-list timer: free what has been idle for
 * node_gc_delay. */
void eng_rnode_gc_run(struct ring_timer *t);
/* eng_rnode_gcack - shard `from` has processed this shard's node events
 * up to seq (NET_GCACK). */
void eng_rnode_gcack(struct eng_shard *sh, const uint8_t *p, size_t len);
/* eng_rnode_congestion - recompute rn's congested flag from its queue. */
void eng_rnode_congestion(struct eng_shard *sh, struct eng_rnode *rn);
/* eng_rnode_send - encode [name, segs...] for P (owner shard). */
int eng_rnode_send(struct eng_shard *sh, struct eng_rnode *rn, const char *name,
                   size_t namelen, const struct cod_seg *segs, size_t nsegs,
                   int must);
/* eng_rnode_send_many - eng_rnode_send of count one-message segments
 * (msgs[i]) for one port, in order; on an up connection encoded into one
 * reservation of its queue (eng_conn_encode_many, also for one message:
 * the short way of aemp_snd_ref).  Returns how many were queued (the rest met
 * back pressure or an error), or, when none was, the first one's error
 * (-EAGAIN included). */
int eng_rnode_send_many(struct eng_shard *sh, struct eng_rnode *rn,
                        const char *name, size_t namelen,
                        const struct cod_seg *msgs, size_t count, int must);
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
/* eng_conn_untrial - c no longer tries to connect its node (trial_of). */
void eng_conn_untrial(struct eng_conn *c);
void eng_conn_discard(struct eng_conn *c);
void eng_conn_adopt(struct eng_shard *sh, struct eng_conn *c);
void eng_conn_mark_dirty(struct eng_conn *c);
/* eng_conn_encode - append [name, segs...] in the connection's framing. */
int eng_conn_encode(struct eng_conn *c, const char *name, size_t namelen,
                    const struct cod_seg *segs, size_t nsegs);
/* eng_conn_encode_many - eng_conn_encode of count one-message segments
 * for one port, back to back in one reservation of the queue; stops
 * before a message while more than lim bytes are queued.  Returns how
 * many were queued, or the first one's error (0: none, queue above
 * lim). */
int eng_conn_encode_many(struct eng_conn *c, const char *name, size_t namelen,
                         const struct cod_seg *msgs, size_t count, size_t lim);
/* eng_bufq_encode - encode [name, segs...] in framing f into q. */
int eng_bufq_encode(struct ring_bufq *q, enum cod_framing f, const char *name,
                    size_t namelen, const struct cod_seg *segs, size_t nsegs);
/* eng_conn_append_cbor - append a CBOR packet, transcoding if needed. */
int eng_conn_append_cbor(struct eng_conn *c, const uint8_t *pkt, size_t len);
size_t eng_conn_queued(const struct eng_conn *c);
void eng_conns_free(struct eng_shard *sh);

/* eng_conn_qpub - publish the bytes queued on c for the per-peer queue
 * gauge (docs/metrics.md): once per flush and per send completion. */
static inline void
eng_conn_qpub(struct eng_conn *c)
{
	if (c->rn != NULL && c->rn->upent != NULL)
		atomic_store_explicit(&c->rn->upent->qbytes,
		                      (uint64_t)eng_conn_queued(c),
		                      memory_order_relaxed);
}

/* ---- listen.c ------------------------------------------------------- */

int eng_listen_bind(struct aemp_node *node);
void eng_listen_start(struct eng_shard *sh);
/* eng_listen_stop - stop the accept retry timers (shard 0, stopping). */
void eng_listen_stop(struct eng_shard *sh);
void eng_listen_close(struct aemp_node *node);

/* ---- hsq.c ---------------------------------------------------------- */

/*
 * eng_hsq_admit - make room for a connection accepted from addr on
 * shard 0: close the least advanced pending handshake of that address if
 * it is at max_handshakes_per_addr, then the least advanced of the
 * node's if the node is at max_handshakes.  Returns 0 to go on, or -1 if
 * no room could be made (every handshake in progress is beyond this
 * shard's reach).
 */
int eng_hsq_admit(struct eng_shard *sh, const struct eng_addr *addr);
/* eng_hsq_add - list c (accepted, just created) as HSQ_SILENT. */
void eng_hsq_add(struct eng_conn *c);
/* eng_hsq_progress - c reached class k (> its class). */
void eng_hsq_progress(struct eng_conn *c, enum hsq_class k);
/* eng_hsq_failed - count c's failed handshake by reason (c->hs_why, or
 * deduced from its state), for aemp_handshakes_failed_total. */
void eng_hsq_failed(struct eng_conn *c);
/* eng_hsq_del - take c off the pending lists (closed, authenticated,
 * or leaving the shard).  No-op if not listed. */
void eng_hsq_del(struct eng_conn *c);
/* eng_hsq_evict_silent - close up to max of the oldest silent pending
 * handshakes to free descriptors.  Returns how many were closed. */
int eng_hsq_evict_silent(struct eng_shard *sh, const char *why, int max);
/* eng_hsq_free - free the shard's pending-handshake state (at shard
 * free, after its connections). */
void eng_hsq_free(struct eng_shard *sh);

#endif /* ENGINE_NET_NETINT_H */
