/*
 * engine/global/globalint.h - the control shard's network roles: the seed
 * manager (seeds.c), the client side of the global protocol and the
 * database API (global.c: master selection, pending requests, mirrors),
 * and the global service (gsvc.c: shards, the update algorithm of §6.6,
 * global-to-global exchange, departure cleanup, reconnection list).
 *
 * Threads: shard 0 only, except eng_global_new/free (node lifecycle) and
 * the atomic id counter.
 */
#ifndef ENGINE_GLOBAL_GLOBALINT_H
#define ENGINE_GLOBAL_GLOBALINT_H

#include <pthread.h>

#include "engine/global/dbmap.h"
#include "engine/global/global.h"
#include "engine/net/netint.h"

enum pend_kind {
	PEND_FIND = 1,   /* g_find NODE */
	PEND_FAMILY = 2, /* g_db_family FAMILY ID */
	PEND_KEYS = 3,   /* g_db_keys FAMILY ID */
	PEND_VALUES = 4, /* g_db_values FAMILY ID */
	PEND_MON = 5,    /* g_mon1 FAMILY (until cancelled) */
};

/* A request to the master, kept until answered or cancelled (§6.3). */
struct eng_pending {
	struct eng_pending *next;
	struct eng_pending **pprev;
	uint8_t kind;
	char id[16]; /* query ID (g_reply) */
	char *arg;   /* node ID or family */
	aemp_db_fn cb;
	void *cbarg;
	char *self;
};

struct eng_mirror;

/* One aemp_db_mon subscription. */
struct eng_dbmon {
	struct eng_obj obj; /* OBJ_DBMON */
	struct eng_dbmon *next;
	struct eng_mirror *mir;
	aemp_dbmon_fn cb;
	void *arg;
	char *self;
	uint8_t primed; /* got its first callback */
};

/* The read-only view of a mirror that db_mon callbacks get (aemp.h). */
struct aemp_dbmirror {
	struct eng_vmap kv; /* key -> aemp_val */
};

/* The mirror of one monitored family (§6.10), updated in place. */
struct eng_mirror {
	char *family;
	struct aemp_dbmirror map;
	struct eng_dbmon *subs;
	struct eng_pending *mon;
};

/* The guard of a db_set / db_reg: deletes the key; db_reg's monitor. */
struct eng_dbset {
	struct eng_obj obj; /* OBJ_DBSET */
	char *family;
	char *key;
	aemp_guard mon;
};

/* The global service (gsvc.c). */
struct eng_gsvc {
	struct eng_db global;  /* GLOBAL_DB */
	struct eng_kv shards;  /* node -> struct eng_db * (SHARD[N]) */
	struct eng_kv slaves;  /* node -> NULL */
	struct eng_kv globals; /* other global nodes -> NULL */
	struct eng_kv mon;     /* family -> struct eng_kv (node -> NULL) */
	struct eng_kv keep;    /* reconnection list (§5.10) */
	struct ring_timer keep_timer;
	double keep_delay;
};

/* Writes of aemp_db_set / _reg / _del queued on the control shard and
 * applied in a batch in the next loop turn (db.c, eng_local_flush). */
struct eng_dbq_op {
	char *f, *k; /* owned */
	size_t flen, klen;
	aemp_val *msg; /* owned: the value is u.a[0] if len is 1, else null */
	int del;
};

struct eng_dbq {
	struct eng_dbq_op *v;
	size_t n, cap;
	size_t bytes; /* about what the queued writes hold */
	int armed;    /* the flush is scheduled */
};

struct eng_global {
	struct eng_shard *sh0;
	/* seeds (seeds.c) */
	struct eng_addr *seeds;
	size_t nseeds;
	char **seed_ids; /* node ID found at each endpoint */
	uint8_t *seed_dialing;
	double seed_delay;
	struct ring_timer seed_timer;
	/* client side (global.c) */
	int is_global;
	atomic_int is_global_pub;  /* for aemp_node_is_global */
	char *master;              /* current master, NULL: none */
	pthread_mutex_t master_mu; /* guards master_pub (any thread reads) */
	char master_pub[AEMP_ID_MAX];
	/* for back pressure on database writes from any thread: bit 32 set
	 * and the master's eng_hash while a remote master is known */
	atomic_uint_fast64_t master_room;
	struct eng_db local; /* LOCAL_DB */
	struct eng_dbq dbq;  /* its writes not applied yet (db.c) */
	struct eng_pending *pend;
	uint64_t qctr;               /* query IDs */
	struct eng_kv mirrors;       /* family -> struct eng_mirror */
	struct eng_kv known_globals; /* nodes that sent g_global */
	atomic_uint_fast64_t ids;    /* guard ids of database objects */
	/* global service (gsvc.c), NULL unless global */
	struct eng_gsvc *svc;
	/* database sizes as last counted on shard 0 (eng_global_dbsize),
	 * and whether a count was requested and has not run yet */
	atomic_uint_fast64_t dbsize[4];
	atomic_int dbsize_asked;
};

/* seeds.c */
int eng_seeds_start(struct eng_shard *sh0, struct eng_global *g);
void eng_seeds_free(struct eng_global *g);
void eng_seeds_restart(struct eng_global *g);
void eng_seeds_peer(struct eng_global *g, const struct eng_addr *a,
                    const char *id, size_t idlen);
int eng_seeds_is_seed(struct eng_global *g, const char *id, size_t idlen);
/* eng_seeds_up - the first mapped seed that is up, or NULL. */
const char *eng_seeds_up(struct eng_global *g);

/* global.c */
void eng_global_become(struct eng_shard *sh0, const char *why);
void eng_global_send_g_slave(struct eng_shard *sh0, const char *id,
                             size_t idlen, int with_db);
/* gsend - a node-port packet [ "", segs... ] to node id (ourselves: in a
 * later turn through the control shard's own queue). */
void eng_gsend(struct eng_shard *sh0, const char *id, size_t idlen,
               const struct cod_seg *segs, size_t nsegs);
/* eng_local_flush - apply the queued writes to LOCAL_DB and send their
 * changes to the master.  Called before anything that reads LOCAL_DB or
 * sends g_* traffic, so that order is the order of the calls. */
void eng_local_flush(struct eng_shard *sh0);
/* eng_local_queue_free - drop the queue unapplied (node teardown). */
void eng_local_queue_free(struct eng_global *g);
/* eng_local_set / eng_local_del - change LOCAL_DB and tell the master
 * (after the queued writes: eng_local_flush). */
int eng_local_set(struct eng_shard *sh0, const char *f, size_t flen,
                  const char *k, size_t klen, const aemp_val *v);
int eng_local_del(struct eng_shard *sh0, const char *f, size_t flen,
                  const char *k, size_t klen);
void eng_client_g_chg(struct eng_shard *sh0, int full, const aemp_val *args,
                      size_t n);

/* gsvc.c */
int eng_gsvc_new(struct eng_global *g);
void eng_gsvc_free(struct eng_global *g);
void eng_gsvc_started(struct eng_shard *sh0);
/* a global-only request (g_slave with a database, g_set, g_upd, g_find,
 * g_db_*, g_mon1, g_mon0, g_global): returns 1 if handled */
int eng_gsvc_request(struct eng_shard *sh0, const aemp_val *tag,
                     const aemp_val *args, size_t n, const char *src,
                     size_t srclen);
void eng_gsvc_node_up(struct eng_shard *sh0, const char *id, size_t idlen);
void eng_gsvc_node_down(struct eng_shard *sh0, const char *id, size_t idlen);
/* eng_gsvc_addrs - 'l entry of node id in GLOBAL_DB (NULL: none). */
const aemp_val *eng_gsvc_addrs(struct eng_global *g, const char *id,
                               size_t idlen);
void eng_gsvc_g2g(struct eng_shard *sh0, const char *id, size_t idlen);
/* A global node is its own master: its own g_upd and g_slave reach its
 * service at once, as a Perl node's send to itself does (the g_set it
 * sends next must already contain them, §6.7). */
void eng_gsvc_self_upd(struct eng_shard *sh0, const char *f, size_t flen,
                       const aemp_val *set, const aemp_val *del);
void eng_gsvc_self_slave(struct eng_shard *sh0, const aemp_val *db);

static inline struct eng_global *
eng_global(const struct aemp_node *node)
{
	return eng_net(node)->global;
}

#endif /* ENGINE_GLOBAL_GLOBALINT_H */
