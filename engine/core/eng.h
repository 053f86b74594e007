/*
 * engine/core/eng.h - the node engine's internal types: the node, its shards,
 * ports, monitors, guard objects and the records shards exchange.
 *
 * Threads and ownership (docs/threading.md has the long form):
 *  - A node has N shards; shard i is one thread running one ring_loop.
 *    Everything inside struct eng_shard is touched by that thread only,
 *    except the foreign-call queue (mutex) and the loop's sleeping flag.
 *  - A port lives on the shard its name hashes to (eng_shard_of); its
 *    handlers and monitors run there.
 *  - Shards talk through one SPSC record queue per ordered pair
 *    (node->q[src][dst]); q[i][i] is shard i's own deferral queue.
 *  - Guards name objects by a 64-bit id whose top byte is the shard that
 *    owns the object.
 *  - Application threads (not shards of the node) reach a shard through
 *    lanes, one lock-free queue per (thread, shard), engine/core/lane.h.
 *  - Before aemp_node_start, API calls from the creating thread run inline
 *    as if on shard 0 (no thread runs yet).
 */
#ifndef ENGINE_CORE_ENG_H
#define ENGINE_CORE_ENG_H

#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "aemp.h"
#include "codec/codec.h"
#include "engine/conf/config.h"
#include "engine/core/htab.h"
#include "ring/base.h"
#include "ring/loop.h"
#include "ring/pool.h"
#include "ring/spsc.h"
#include "ring/timer.h"

#define ENG_MAX_SHARDS 64
#define ENG_SND_DEPTH_MAX 50 /* nested immediate local deliveries */
#define ENG_DRAIN_MAX 1024   /* records per inbound queue per turn */
#define ENG_TIMERS_MAX 4096  /* timers run per turn */
#define ENG_BATCH 16         /* records before an early publish */
#define ENG_DIE_MAX 1024

/* Guard ids: the owning shard in the top byte, a per-shard counter below. */
#define ENG_ID_SHARD(id) ((int)((id) >> 56))
#define ENG_ID_MAKE(shard, n) (((uint64_t)(shard) << 56) | (n))

/* Kinds of guard objects. */
enum eng_obj_kind {
	OBJ_MON = 1,
	OBJ_AFTER = 2,
	OBJ_NODEMON = 3,
	OBJ_DBMON = 4,
	OBJ_DBSET = 5,
	OBJ_CAL = 6,
};

/* Header of every object a guard can name; lives in its shard's objs. */
struct eng_obj {
	uint64_t id;
	uint8_t kind;
};

/* ---- ports ---------------------------------------------------------- */

struct eng_tag {
	struct eng_tag *next;
	aemp_rcv_fn fn;
	void *arg;
	uint32_t len;
	char tag[];
};

#define PORT_F_POOL64 0x01 /* from the 64-byte pool */
#define PORT_F_POOL96 0x02 /* from the 96-byte pool */

struct eng_mon;
struct eng_seam;

struct eng_port {
	struct eng_mon *mons; /* monitors registered on this port */
	aemp_rcv_fn fn;       /* default handler; NULL: unhandled */
	void *arg;
	struct eng_tag *tags;
	uint32_t hash;
	uint16_t namelen;
	uint8_t flags;
	uint8_t pad;
	char name[]; /* namelen bytes + NUL */
};

/* ---- monitors ------------------------------------------------------- */

enum eng_act {
	ACT_CB = 1,    /* call cb(reason) */
	ACT_KILL = 2,  /* kil(str, reason) if reason non-empty */
	ACT_SND = 3,   /* snd(str, msg..., reason...) */
	ACT_GUARD = 4, /* release(ref) */
	ACT_FWD = 5,   /* registration only: fire owner's monitor id */
	ACT_KIL0 = 6,  /* proxy for a remote monitor: kil0 to node str */
};

/*
 * One monitor.  The owner side (the object named by the guard) runs the
 * action; the registration sits on the monitored port's list.  When both
 * are on the same shard, one object plays both roles; otherwise the
 * registration is a separate ACT_FWD object pointing at the owner's id.
 */
struct eng_mon {
	struct eng_obj obj; /* id, kind OBJ_MON (owner side) */
	uint8_t act;
	uint8_t on_port; /* linked on a port's or node's list */
	uint8_t in_objs; /* in the shard's guard table */
	uint8_t pad;
	uint32_t gen;         /* ACT_KIL0: connection generation */
	struct eng_mon *next; /* port list link */
	struct eng_mon **pprev;
	union {
		struct {
			aemp_mon_fn fn;
			void *arg;
		} cb;
		struct {
			void (*fn)(void *ref);
			void *ref;
		} guard;
		aemp_val *msg;  /* ACT_SND: message (aemp_msg_dup) */
		uint64_t owner; /* ACT_FWD: owner-side id */
		/* ACT_KIL0: link in the network layer's list of the node's
		 * proxies on this shard (engine/net/rnode.c), so the end of
		 * the connection frees them; unlinked by eng_mon_free. */
		struct {
			struct eng_mon *next;
			struct eng_mon **pprev;
		} px;
	} u;
	char *str;  /* KILL: victim; SND: dest; KIL0: node */
	char *self; /* creator's $SELF, or NULL */
	char *port; /* monitored port ID (for no_such_port) */
};

/* ---- timers --------------------------------------------------------- */

struct eng_after {
	struct eng_obj obj;
	struct ring_timer timer;
	struct eng_shard *sh;
	void (*cb)(aemp_node *node, void *arg);
	void *arg;
	char *self;
	char *dest; /* aemp_after_snd */
	aemp_val *msg;
};

/* ---- foreign calls -------------------------------------------------- */

/*
 * A call posted by a foreign thread (or by aemp_exec) to one shard.  An
 * asynchronous call whose fn sets rc to -EAGAIN has done nothing (back
 * pressure): from a lane it is run again later, in order (lane.c).
 */
struct eng_call {
	struct eng_call *next;
	void (*fn)(struct eng_shard *sh, struct eng_call *c);
	int rc;
	int sync; /* the poster waits on done */
	sem_t done;
	size_t cost;          /* bytes counted against the lane (lane.c) */
	uint64_t deadline_ns; /* timers: absolute, set by the caller */
	/* arguments, owned by the call */
	void (*fp)(void); /* a callback, cast back to its real type */
	void *p[4];
	uint64_t u[2];
	double d;
	aemp_val *msg;
	char *s[3];
	aemp_id *id_out;
	aemp_guard *guard_out;
};

/* ---- records between shards ----------------------------------------- */

enum eng_rec_kind {
	REC_MSG = 1,    /* deliver a packet to a local port */
	REC_KIL = 2,    /* kill a local port */
	REC_MONREG = 3, /* register a monitor on a local port */
	REC_UNMON = 4,  /* remove a registration */
	REC_FIRE = 5,   /* run an owner-side monitor */
	REC_CALL = 6,   /* run a function (aemp_exec and internal calls) */
	REC_SPAWN = 7,  /* run a spawn init function */
	REC_RCV = 8,    /* set a handler on a local port */
	REC_REMOTE = 9, /* packet for a remote node (to its owner shard) */
	REC_NODE = 10,  /* remote-node events for this shard's views */
	REC_FREE = 11,  /* free an indirect payload (back to its allocator) */
	REC_NET = 12,   /* network layer records (engine/net/) */
	REC_BIG = 13,   /* out-of-line payload: struct eng_big pointer */
};

/* Overflowed records waiting for room in an SPSC queue (producer side). */
struct eng_ovf {
	struct eng_ovf *next;
	uint32_t kind;
	uint32_t len; /* committed payload bytes */
	uint32_t cap; /* allocated payload bytes */
	uint32_t pad;
	uint8_t data[];
};

/* A payload too large for a queue record travels out of line: the record
 * carries a pointer, and the consumer sends it back (REC_FREE) so the
 * producing shard frees it. */
struct eng_big {
	uint32_t kind;
	uint32_t len; /* committed payload bytes */
	uint32_t cap; /* allocated payload bytes */
	uint32_t pad;
	uint8_t data[];
};

enum eng_open {
	OPEN_NONE = 0,
	OPEN_SPSC = 1,
	OPEN_OVF = 2,
	OPEN_BIG = 3,
};

struct eng_ovfq {
	struct eng_ovf *head;
	struct eng_ovf *tail;
	void *open;           /* the open reservation (ovf or big) */
	uint8_t open_kind;    /* enum eng_open */
	size_t bytes;         /* overflowed bytes waiting */
	size_t big_bytes;     /* out-of-line bytes not yet freed */
	uint32_t unpublished; /* records committed to the SPSC queue */
};

/* ---- statistics ----------------------------------------------------- */

/* Why a handshake failed (aemp_handshakes_failed_total{reason}); the
 * names are in engine/net/metrics_text.c. */
enum eng_hsfail {
	ENG_HSF_CONNECT = 0, /* outgoing TCP connect failed */
	ENG_HSF_TIMEOUT,     /* a handshake deadline passed */
	ENG_HSF_PROTOCOL,    /* greeting or auth lines malformed/unusable */
	ENG_HSF_AUTH,        /* wrong secret / certificate */
	ENG_HSF_TLS,         /* TLS handshake failed */
	ENG_HSF_LIMIT,       /* closed or refused by max_handshakes */
	ENG_HSF_DUPLICATE,   /* the peer was already connected */
	ENG_HSF_IO,          /* closed by the peer, socket error, memory */
	ENG_HSF_N
};

/* Handler run times: one run in htime_every (the metrics_sample key) is
 * timed (two clock reads), into ENG_HTIME_BUCKETS buckets
 * (engine/core/port.c). */
#define ENG_HTIME_BUCKETS 12

/*
 * Per-shard counters.  Only the owning shard writes them (relaxed
 * load + store, i.e. a plain increment on x86); aemp_stats reads them
 * from any thread with relaxed loads.
 */
struct eng_stats {
	atomic_uint_fast64_t delivered;  /* messages run by handlers */
	atomic_uint_fast64_t xshard_out; /* records to other shards */
	atomic_uint_fast64_t remote_out; /* packets queued to peers */
	atomic_uint_fast64_t remote_in;  /* packets received from peers */
	atomic_uint_fast64_t bytes_out;  /* bytes written to sockets */
	atomic_uint_fast64_t bytes_in;   /* bytes read from sockets */
	atomic_uint_fast64_t ports_made;
	atomic_uint_fast64_t ports_killed;
	atomic_int_fast64_t conns; /* authenticated connections */
	/* issue 20 (docs/metrics.md): */
	atomic_int_fast64_t tls_conns; /* of conns: with TLS */
	atomic_int_fast64_t mons;      /* monitors (owner side, proxies) */
	atomic_uint_fast64_t hs_fail[ENG_HSF_N]; /* failed handshakes */
	/* Shard thread's kernel thread ID while it runs (its CPU clock is
	 * the busy time, read at scrape time), else 0 and cpu_ns its final
	 * CPU time. */
	atomic_int tid;
	atomic_uint_fast64_t cpu_ns;
	/* Sampled handler run times (metrics_sample): runs per bucket
	 * (upper bounds eng_htime_le_ns, the last one +Inf), their sum. */
	atomic_uint_fast64_t htime[ENG_HTIME_BUCKETS];
	atomic_uint_fast64_t htime_sum_ns;
	/* Plain fields of the owning shard, not read elsewhere: handler
	 * runs until the next timed one; the countdown's reload (0: timing
	 * off, set before start: the metrics endpoint is on). */
	uint32_t htime_cd;
	uint32_t htime_every;
};

/* Upper bounds of the handler run-time buckets but the last (+Inf). */
extern const uint64_t eng_htime_le_ns[ENG_HTIME_BUCKETS - 1];

/* eng_htime_sample - called by eng_deliver when htime_cd reaches 0:
 * reloads it and returns the start of a run to time (now), or 0 when
 * timing is off.  eng_htime_done - count the run started at t0.  Owning
 * shard only (shard.c). */
uint64_t eng_htime_sample(struct eng_stats *st);
void eng_htime_done(struct eng_stats *st, uint64_t t0);

#define ENG_STAT_ADD(field, n)                                                 \
	atomic_store_explicit(                                                 \
	        &(field),                                                      \
	        atomic_load_explicit(&(field), memory_order_relaxed) + (n),    \
	        memory_order_relaxed)

/* ---- shard ---------------------------------------------------------- */

struct eng_shard {
	struct aemp_node *node;
	int idx;
	struct ring_loop loop;
	struct cod_tape tape;
	struct eng_htab ports; /* name -> struct eng_port */
	/* The port eng_port_find found last (NULL: none): a stream of
	 * messages to one port skips the table (cleared when it dies). */
	struct eng_port *port_last;
	struct eng_htab objs; /* guard id -> struct eng_obj */
	uint64_t next_id;
	uint64_t name_ctr;
	struct ring_pool port64;
	struct ring_pool port96;
	struct ring_pool mons;
	/* current context */
	const char *cur_name; /* $SELF port name (no node part) or NULL */
	uint32_t cur_namelen;
	const char *cur_src; /* SRCNODE of the running handler */
	uint32_t cur_srclen;
	int self_ok; /* self_buf holds cur_name's ID */
	char self_buf[AEMP_ID_MAX];
	char src_buf[AEMP_ID_MAX];
	char die[ENG_DIE_MAX];
	int die_set;
	int depth;   /* nested immediate deliveries */
	int big_src; /* source shard of the queue being drained */
	/* outgoing queues */
	struct eng_ovfq ovf[ENG_MAX_SHARDS];
	uint64_t dirty; /* bit per dst with unpublished records */
	/* foreign calls: the mutex queue (calls posted by other shards) */
	pthread_mutex_t fmu;
	struct eng_call *fhead;
	struct eng_call *ftail;
	atomic_int fpending;
	int closed; /* thread gone: posts fail (under fmu) */
	/* application-thread lanes (lane.c) */
	struct eng_lane *lanes;     /* drained by this shard */
	struct eng_lane *lanes_new; /* registered, not yet adopted (fmu) */
	atomic_int lanes_added;     /* lanes_new is not empty */
	pthread_t thread;
	int running;
	/* low-latency mode (busy_poll_us > 0): spin until spin_until_ns */
	uint64_t spin_ns;
	uint64_t spin_until_ns;
	unsigned spin_idle; /* idle polls, for the periodic yield */
	/* large blocks: the allocator's count of their frees last seen, and
	 * the timer that gives their pages back once it stops moving */
	unsigned long big_seen;
	struct ring_timer big_timer;
	/* scratch for encoding */
	uint8_t *scratch;
	size_t scratch_cap;
	/* statistics: written by this shard only, summed when read */
	struct eng_stats st;
	void *net; /* network state of this shard (engine/net/) */
};

/* ---- node ----------------------------------------------------------- */

/* A registered function.  Never changed once published; freed at node
 * free (every one ever made is on node->funcs_all). */
struct eng_func {
	struct eng_func *all_next; /* node->funcs_all */
	char *name;
	size_t len;
	uint32_t hash;
	aemp_func_fn fn;
	void *arg;
	int builtin;
	int shard;          /* aemp_register_on: >= 0, SPREAD or HERE */
	const char *module; /* registering module's file, or NULL */
};

/* The published registry: an immutable snapshot, replaced as a whole
 * (engine/core/spawn.c).  Readers take it with one acquire load; old
 * snapshots stay on the retired chain until node free. */
struct eng_funcs {
	struct eng_funcs *retired; /* older snapshot, freed at node free */
	size_t n;
	const struct eng_func *f[]; /* sorted by nothing; n entries */
};

struct eng_mod; /* a loaded module (engine/core/module.c) */
struct eng_modneg;

enum eng_state {
	NODE_CREATED = 0,
	NODE_RUNNING = 1,
	NODE_STOPPED = 3,
};

struct aemp_node {
	struct eng_config cfg;
	char id[AEMP_ID_MAX];
	size_t idlen;
	char uniq[16]; /* local port name prefix (maybe empty) */
	size_t uniqlen;
	char runiq[12]; /* spawn name prefix, 10 chars */
	atomic_uint_fast64_t spawn_ctr;
	int nshards;
	struct eng_shard *shards[ENG_MAX_SHARDS];
	_Atomic(struct ring_spsc *) q[ENG_MAX_SHARDS][ENG_MAX_SHARDS];
	size_t qcap;
	pthread_mutex_t qmu; /* serialises lazy queue creation */
	/* registry (spawn.c): readers load `funcs` (acquire), writers hold
	 * reg_mu and publish a new snapshot (release) */
	_Atomic(struct eng_funcs *) funcs;
	struct eng_func *funcs_all;
	pthread_mutex_t reg_mu;
	atomic_uint func_rr; /* round-robin for AEMP_SHARD_SPREAD */
	/* modules (module.c), under mod_mu */
	pthread_mutex_t mod_mu;
	struct eng_mod *mods;       /* loaded, newest first */
	struct eng_modneg *mod_neg; /* failed loads, retried after expiry */
	aemp_log_fn log_fn;
	void *log_arg;
	int log_level;
	atomic_int state;
	atomic_int stop;
	atomic_int started_shards;
	int start_err;
	pthread_mutex_t smu; /* start/stop bookkeeping */
	pthread_cond_t scond;
	const struct eng_seam *seam; /* the higher layers (core/seam.h) */
	void *net;                   /* node-wide network state (engine/net/) */
	uint64_t serial;             /* unique per process (lane.c) */
	size_t lane_cap;             /* max_thread_queue, a power of two */
	/* Threads waiting for room (aemp_snd_wait, lane.c): room_seq moves
	 * whenever room may have appeared and someone waits (a futex).
	 * Padded, not aligned: the node comes from ring_zalloc. */
	char room_pad0[AEMP_CACHELINE];
	atomic_uint room_seq;
	atomic_uint room_waiters;
	char room_pad[AEMP_CACHELINE - 2 * sizeof(atomic_uint)];
};

/* ---- shard.c -------------------------------------------------------- */

/* The shard of the calling thread, if it is a shard thread of node. */
extern _Thread_local struct eng_shard *eng_cur;

static inline struct eng_shard *
eng_here(const struct aemp_node *node)
{
	struct eng_shard *sh = eng_cur;

	if (AEMP_LIKELY(sh != NULL && sh->node == node))
		return sh;
	return NULL;
}

/* eng_shard_new / eng_shard_free - allocate and free a shard's memory
 * (no thread, no ring yet). */
int eng_shard_new(struct aemp_node *node, int idx, struct eng_shard **out);
void eng_shard_free(struct eng_shard *sh);

/* eng_shard_busy_ns - the CPU time shard sh's thread has used (its busy
 * time: an idle shard sleeps in the kernel), ns.  Any thread. */
uint64_t eng_shard_busy_ns(const struct eng_shard *sh);

/* eng_shard_cpus_check - every CPU of the `cpus` key is one this process
 * may run on.  Returns 0 or AEMP_ECONFIG with one line in aemp_errmsg. */
int eng_shard_cpus_check(const struct eng_config *cfg);

/* eng_shard_main - the shard thread. */
void *eng_shard_main(void *arg);

/*
 * Sending records.  eng_rec_reserve returns room for len payload bytes
 * towards shard dst.  must = 0: NULL when the queue is full or has an
 * overflow backlog (back pressure, nothing reserved).  must = 1: never
 * NULL except out of memory; spills into the overflow list.  Then
 * eng_rec_commit with the actual length.  Reserving again before commit
 * abandons the earlier reservation.
 */
void *eng_rec_reserve(struct eng_shard *sh, int dst, uint32_t kind, size_t len,
                      int must);
void eng_rec_commit(struct eng_shard *sh, int dst, size_t len);

/*
 * eng_rec_packet - a record of kind: hlen header bytes, then the CBOR
 * packet [name, segs...].  Returns 0, -EAGAIN (must = 0 and full),
 * -ENOMEM, or an encoding error.
 */
int eng_rec_packet(struct eng_shard *sh, int dst, uint32_t kind,
                   const void *hdr, size_t hlen, const char *name,
                   size_t namelen, const struct cod_seg *segs, size_t nsegs,
                   int must);

/* eng_rec_send - reserve, copy, commit in one go (must semantics as
 * above).  Returns 0, -EAGAIN, -ENOMEM. */
int eng_rec_send(struct eng_shard *sh, int dst, uint32_t kind, const void *p,
                 size_t len, int must);

/* eng_shard_flush - publish batches and wake their consumers. */
void eng_shard_flush(struct eng_shard *sh);

/* eng_post - hand a call to shard idx from any thread: from a shard thread
 * of the node through idx's mutex queue, from any other thread through
 * that thread's lane (lane.c; -EAGAIN when it is full).  For sync calls,
 * waits for it and returns c->rc (the caller frees c).  Async calls are
 * taken on every path (freed by the shard).  Before start, runs inline on
 * the caller. */
int eng_post(struct aemp_node *node, int idx, struct eng_call *c);

/* eng_post_try - from shard sh, an async call c to shard idx as a REC_CALL
 * record with back pressure: -EAGAIN when that record queue is full
 * (c freed, nothing done), else 0 (c taken). */
int eng_post_try(struct eng_shard *sh, int idx, struct eng_call *c);

/* eng_call_new - a zeroed call running fn; NULL on out of memory. */
struct eng_call *eng_call_new(void (*fn)(struct eng_shard *, struct eng_call *),
                              int sync);
void eng_call_free(struct eng_call *c);

/* eng_scratch - a shard scratch buffer of at least n bytes, or NULL. */
uint8_t *eng_scratch(struct eng_shard *sh, size_t n);

/* ---- names and IDs (port.c) ----------------------------------------- */

/*
 * eng_hash - a word-at-a-time hash of a name: 8 bytes per multiply, the
 * last 1..8 bytes in one (overlapping) load, then a final mix so that
 * every output bit depends on every input bit (the shard routing uses the
 * top bits, the tables the low ones and the top 16 as slot tags).  Names
 * are short: a 10-byte node ID is two multiplies plus the finish, where a
 * byte-wise hash takes ten dependent multiplies.  Shard routing must be a
 * pure function of the name, and it is: no seed, no state.
 */
static inline uint64_t
hash_ld64(const char *s)
{
	uint64_t x;

	memcpy(&x, s, 8);
	return x;
}

static inline uint64_t
hash_ld32(const char *s)
{
	uint32_t x;

	memcpy(&x, s, 4);
	return x;
}

/* The last n bytes (1..8) of a name as one word. */
static inline uint64_t
hash_tail(const char *s, size_t n)
{
	if (n >= 4)
		return hash_ld32(s) | hash_ld32(s + n - 4) << 32;
	return (uint64_t)(uint8_t)s[0] << 16 |
	       (uint64_t)(uint8_t)s[n >> 1] << 8 | (uint8_t)s[n - 1];
}

static inline uint32_t
eng_hash(const char *s, size_t n)
{
	uint64_t h =
	        0x9e3779b97f4a7c15ull ^ ((uint64_t)n * 0xff51afd7ed558ccdull);

	for (; n > 8; n -= 8, s += 8) {
		h = (h ^ hash_ld64(s)) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	if (n > 0)
		h = (h ^ hash_tail(s, n)) * 0x94d049bb133111ebull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (uint32_t)h;
}

/* eng_name_eq - the len bytes at a and b are equal.  Names are short: a
 * few overlapping word loads instead of a call to memcmp. */
static inline int
eng_name_eq(const char *a, const char *b, size_t len)
{
	uint64_t x, y, u, v;
	uint32_t x4, y4, u4, v4;

	if (len >= 8 && len <= 16) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&u, a + len - 8, 8);
		memcpy(&v, b + len - 8, 8);
		return ((x ^ y) | (u ^ v)) == 0;
	}
	if (len >= 4 && len < 8) {
		memcpy(&x4, a, 4);
		memcpy(&y4, b, 4);
		memcpy(&u4, a + len - 4, 4);
		memcpy(&v4, b + len - 4, 4);
		return ((x4 ^ y4) | (u4 ^ v4)) == 0;
	}
	if (len < 4)
		return len == 0 ||
		       (a[0] == b[0] && a[len >> 1] == b[len >> 1] &&
		        a[len - 1] == b[len - 1]);
	return memcmp(a, b, len) == 0;
}

static inline int
eng_shard_of_hash(const struct aemp_node *node, uint32_t h)
{
	return (int)(((uint64_t)(h ^ (h >> 15)) * (uint64_t)node->nshards) >>
	             32);
}

/* eng_shard_of_node - the shard owning the connection to the remote node
 * whose ID hashes (eng_hash) to h (engine/net: eng_node_owner). */
static inline int
eng_shard_of_node(const struct aemp_node *node, uint32_t h)
{
	return eng_shard_of_hash(node, h ^ 0x9e3779b9u);
}

/*
 * A parsed port ID.  node/name point into the string parsed.
 */
struct eng_pid {
	const char *node;
	size_t nodelen;
	const char *name;
	size_t namelen;
	int local; /* node part is this node */
};

/* eng_is_self - 1 if id (len bytes) is this node's ID. */
static inline int
eng_is_self(const struct aemp_node *node, const char *id, size_t len)
{
	return len == node->idlen && memcmp(id, node->id, len) == 0;
}

/* eng_pid_parse - split id at the first '#'.  Returns 0 or AEMP_ETOOBIG. */
int eng_pid_parse(const struct aemp_node *node, const char *id,
                  struct eng_pid *out);

/* eng_home - the shard that carries out an application thread's calls
 * about port pid (sends, kills, monitors, calls), so that they stay in the
 * order the thread made them: the port's own shard; shard 0 for this
 * node's node port; for a port of another node, the shard owning the
 * connection to it. */
static inline int
eng_home(const struct aemp_node *node, const struct eng_pid *pid)
{
	if (!pid->local)
		return eng_shard_of_node(node,
		                         eng_hash(pid->node, pid->nodelen));
	if (pid->namelen == 0)
		return 0;
	return eng_shard_of_hash(node, eng_hash(pid->name, pid->namelen));
}

/* ---- ports (port.c) ------------------------------------------------- */

struct eng_port *eng_port_find(struct eng_shard *sh, const char *name,
                               size_t len, uint32_t hash);
int eng_port_create(struct eng_shard *sh, const char *name, size_t len,
                    uint32_t hash, struct eng_port **out);
/* eng_port_new_name - a fresh local name that hashes to this shard. */
size_t eng_port_new_name(struct eng_shard *sh, char *buf, size_t cap,
                         uint32_t *hash);
/* eng_deliver - run port p's handler for msg (n elements) from src. */
void eng_deliver(struct eng_shard *sh, struct eng_port *p, const aemp_val *msg,
                 size_t n, const char *src, size_t srclen);
/* eng_kill_local - schedule the death of local port name with reason
 * (through the owning shard's queue: always asynchronous). */
int eng_kill_local(struct eng_shard *sh, const char *name, size_t len,
                   const aemp_val *reason, size_t n, int must);
/* eng_port_die - destroy port p now and fire its monitors with reason. */
void eng_port_die(struct eng_shard *sh, struct eng_port *p,
                  const aemp_val *reason, size_t n);
void eng_ports_free_all(struct eng_shard *sh);
int eng_set_handler(struct eng_shard *sh, const char *name, size_t len,
                    const char *tag, size_t taglen, int has_tag, aemp_rcv_fn fn,
                    void *arg);

/* Context switches around handlers, init functions and callbacks. */
struct eng_ctx {
	const char *name;
	uint32_t namelen;
	const char *src;
	uint32_t srclen;
	int self_ok;
};

void eng_ctx_enter(struct eng_shard *sh, struct eng_ctx *save, const char *name,
                   size_t namelen, const char *src, size_t srclen);
void eng_ctx_leave(struct eng_shard *sh, const struct eng_ctx *save);
/* eng_ctx_from_id - enter the context of a full port ID (creator's $SELF
 * stored as "node#name"); NULL id means no port context. */
void eng_ctx_enter_id(struct eng_shard *sh, struct eng_ctx *save,
                      const char *id);
/* eng_self_dup - a new copy of the current $SELF ID in *out (NULL outside
 * port context).  Returns 0 or -ENOMEM. */
int eng_self_dup(struct eng_shard *sh, char **out);
/* eng_die_text - the "die" text after a failed call returning rc. */
const char *eng_die_text(struct eng_shard *sh, int rc);

/* ---- sending (snd.c) ------------------------------------------------ */

/* eng_kil - kill port (local or remote) from shard sh; must as below (for
 * remote ports only: local kills are always taken).  Returns 0,
 * AEMP_ESTATE for a node port, -EAGAIN (must = 0, remote), ... */
int eng_kil(struct eng_shard *sh, const char *port, const aemp_val *reason,
            size_t n, int must);

/*
 * eng_snd_segs - send [segs...] to port id from shard sh.  must: the send
 * may not fail for back pressure (internal traffic).  must = ENG_SND_CTL:
 * a control message (an aemp_cal request): a connection takes it up to
 * 1.5 x max_queue (below its hard limit), so calls still get through
 * while bulk senders keep the connection at max_queue; elsewhere it is a
 * must = 0 send.
 */
#define ENG_SND_CTL 2
int eng_snd_segs(struct eng_shard *sh, const char *id,
                 const struct cod_seg *segs, size_t nsegs, int must);
int eng_snd_pid(struct eng_shard *sh, const struct eng_pid *pid,
                const struct cod_seg *segs, size_t nsegs, int must);
/* eng_msg_record - deliver a REC_MSG payload on this shard, or pass a
 * received packet for another shard's port on to its owner. */
void eng_msg_record(struct eng_shard *sh, const uint8_t *p, size_t len);
/* eng_snd_node_from - node-port request [ "", segs... ] processed on shard
 * dst in a later turn as coming from node src (srclen 0: this node). */
int eng_snd_node_from(struct eng_shard *sh, int dst, const char *src,
                      size_t srclen, const struct cod_seg *segs, size_t nsegs);
/* eng_rec_forward - hand a packet received from node src (raw bytes in
 * framing f) to shard dst without re-encoding (spills when full). */
int eng_rec_forward(struct eng_shard *sh, int dst, enum cod_framing f,
                    const char *src, size_t srclen, const uint8_t *raw,
                    size_t rawlen);

/* ---- monitors and guards (mon.c) ------------------------------------ */

uint64_t eng_new_id(struct eng_shard *sh);
void eng_obj_add(struct eng_shard *sh, struct eng_obj *o);
struct eng_obj *eng_obj_find(struct eng_shard *sh, uint64_t id);
void eng_obj_del(struct eng_shard *sh, struct eng_obj *o);

struct eng_mon *eng_mon_new(struct eng_shard *sh, uint8_t act);
void eng_mon_free(struct eng_shard *sh, struct eng_mon *m);
/* eng_mon_start - register owner-side monitor m on the port `port`
 * (local or remote).  Takes m. */
int eng_mon_start(struct eng_shard *sh, const char *port, struct eng_mon *m,
                  aemp_guard *guard);
/* eng_mon_run - run m's action with reason and free m (owner side). */
void eng_mon_run(struct eng_shard *sh, struct eng_mon *m,
                 const aemp_val *reason, size_t n);
/* eng_mon_fire_list - fire and free every registration on *list. */
void eng_mon_fire_list(struct eng_shard *sh, struct eng_mon **list,
                       const aemp_val *reason, size_t n);
void eng_mon_record(struct eng_shard *sh, uint32_t kind, const uint8_t *p,
                    size_t len);
/* eng_mon_fire_owned - run the owner-side monitor id of this shard with
 * reason (nothing if it was cancelled). */
void eng_mon_fire_owned(struct eng_shard *sh, uint64_t id,
                        const aemp_val *reason, size_t n);
void eng_objs_free_all(struct eng_shard *sh);
/* eng_rcv_post - set a handler on a port of shard dst (REC_RCV). */
int eng_rcv_post(struct eng_shard *sh, int dst, const char *name,
                 size_t namelen, const char *tag, size_t taglen, int has_tag,
                 aemp_rcv_fn fn, void *arg);
int eng_guard_cancel_here(struct eng_shard *sh, uint64_t id);
/* eng_mon_link - put m at the head of a monitor list (a port's mons or a
 * remote port's lmon); eng_mon_unlink - take it out again. */
void eng_mon_link(struct eng_mon **list, struct eng_mon *m);
void eng_mon_unlink(struct eng_mon *m);
/* eng_reason_no_such_port - build the no_such_port reason for id. */
size_t eng_reason_no_such_port(aemp_val out[3], const char *id, size_t idlen);

/* ---- spawn, functions, timers, calls (spawn.c) ---------------------- */

/* eng_func_find - the registered function name (len bytes) or NULL; any
 * thread, lock-free. */
const struct eng_func *eng_func_find(const struct aemp_node *node,
                                     const char *name, size_t len);
int eng_funcs_builtin(struct aemp_node *node);
void eng_funcs_free(struct aemp_node *node);

/* ---- modules (module.c) --------------------------------------------- */

/* eng_mod_init / eng_mod_free - the module state of a node; free calls
 * every loaded module's aemp_module_fini (newest first), then dlcloses. */
void eng_mod_init(struct aemp_node *node);
void eng_mod_free(struct aemp_node *node);
/* eng_mod_load_config - load the `modules` key, in order, on shard sh
 * (failures are logged).  */
void eng_mod_load_config(struct eng_shard *sh);
/* eng_mod_start - eng_mod_load_config on shard 0, waiting for it (from
 * aemp_node_start, once the shards run).  Returns 0 or a post error. */
int eng_mod_start(struct aemp_node *node);
/* eng_mod_find - func (len bytes) as registered, loading its module on
 * demand (module_path, not in secure mode) if it is not; NULL (logged
 * with the reason) if it cannot be had.  On shard sh. */
const struct eng_func *eng_mod_find(struct eng_shard *sh, const char *func,
                                    size_t len);
/* eng_mod_loading - the module being initialised on this thread for node
 * (aemp_register stages into it), or NULL. */
struct eng_mod *eng_mod_loading(const struct aemp_node *node);
/* eng_func_stage - add a function while module m initialises (spawn.c):
 * kept apart from the registry until the init succeeds. */
int eng_func_stage(struct eng_mod *m, struct eng_func *f);
/* eng_funcs_publish - add the n functions f to the registry at once
 * (spawn.c; under reg_mu).  Returns 0 or -ENOMEM. */
int eng_funcs_publish(struct aemp_node *node, struct eng_func *const *f,
                      size_t n);
/* eng_func_new / eng_func_drop - a function record (on funcs_all once
 * published); drop frees one never published. */
struct eng_func *eng_func_new(const char *name, aemp_func_fn fn, void *arg,
                              int builtin, int shard);
void eng_func_drop(struct eng_func *f);
/* eng_func_staged - a function of that name staged in m, or NULL. */
const struct eng_func *eng_func_staged(const struct eng_mod *m,
                                       const char *name, size_t len);
/* eng_call_func - run a function-name request (node port) from src. */
void eng_call_func(struct eng_shard *sh, const aemp_val *msg, size_t n,
                   const char *src, size_t srclen);
void eng_spawn_record(struct eng_shard *sh, const uint8_t *p, size_t len);
/* eng_spawn_local - schedule init function func(args) for port name on its
 * shard (always a later loop turn). */
int eng_spawn_local(struct eng_shard *sh, const char *name, size_t namelen,
                    const char *func, size_t funclen, const aemp_val *args,
                    size_t n, int must);
void eng_after_free(struct eng_shard *sh, struct eng_after *a);
/* eng_rec_discard - free what a record left in a queue at node free
 * references (out-of-line payloads, posted calls, moving connections). */
void eng_rec_discard(const struct aemp_node *node, uint32_t kind,
                     const uint8_t *p, size_t len);
/* eng_cal_free - a pending call left when the node is freed. */
void eng_cal_free(struct eng_obj *o);

/* ---- node port (nodeport.c) ----------------------------------------- */

/* eng_nodeport - a request to the local node port: msg/n without the empty
 * port name, from node src. */
void eng_nodeport(struct eng_shard *sh, const aemp_val *msg, size_t n,
                  const char *src, size_t srclen);

/* eng_reply - answer a request with reply address addr[0..naddr) (port ID,
 * then extra leading elements, aemp-protocol.md §4.2) and res[0..nres). */
void eng_reply(struct eng_shard *sh, const aemp_val *addr, size_t naddr,
               const aemp_val *res, size_t nres);

/* ---- node lifecycle (node.c) ----------------------------------------- */

/* eng_node_new_cfg - create a node from an already built configuration
 * (taken on every path), with the higher layers of seam (NULL: a node
 * without network, eng_seam_none).  Returns 0 or a negative error. */
int eng_node_new_cfg(struct eng_config *cfg, const struct eng_seam *seam,
                     aemp_node **out);

/* ---- logging (node.c) ----------------------------------------------- */

void eng_log(struct aemp_node *node, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* ---- small helpers -------------------------------------------------- */

/* eng_strndup - NUL-terminated copy of (s, n) from ring_alloc, or NULL. */
char *eng_strndup(const char *s, size_t n);
void eng_strfree(char *s);

/* eng_make_id - "node#name" into out (cap bytes).  Returns the length or
 * AEMP_ETOOBIG. */
int eng_make_id(char *out, size_t cap, const char *node, size_t nodelen,
                const char *name, size_t namelen);

/* eng_self_busy - 1 if this shard's own deferral queue holds records: an
 * immediate delivery now could overtake them.  Inline: asked for every
 * packet a connection receives for a port of its shard. */
static inline int
eng_self_busy(struct eng_shard *sh)
{
	struct ring_spsc *q = atomic_load_explicit(
	        &sh->node->q[sh->idx][sh->idx], memory_order_relaxed);

	if (q == NULL)
		return 0;
	return ring_spsc_unpublished(q) || !ring_spsc_empty(q) ||
	       sh->ovf[sh->idx].head != NULL;
}

#endif /* ENGINE_CORE_ENG_H */
