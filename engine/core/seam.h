/*
 * engine/core/seam.h - the one place where a lower layer of the engine
 * reaches a higher one.
 *
 * The engine is layered (docs/threading.md, "Layers"):
 *
 *     engine/engine.c     composition root: aemp_node_new fills the seam
 *     engine/global/      seeds, the global service, the database
 *     engine/net/         listeners, connections, handshake, remote nodes
 *     engine/core/        node, shards, ports, snd, mon, spawn, cal, timers
 *     engine/conf/        configuration keys, profiles, the rc file
 *
 * and a file includes headers of its own layer or of lower ones only
 * (tools/layers.sh checks this in `make test`).  But the core must send to
 * remote ports and run the network's loop phases, and the network must ask
 * the global service for addresses and hand it g_* requests.  Those calls
 * go through this table of functions, which the higher layers provide and
 * the composition root installs in the node before anything runs
 * (node->seam, immutable afterwards, so reading it needs no
 * synchronisation).  A node made by the core alone gets eng_seam_none: no
 * network, every remote port unreachable.
 *
 * Every upward call is visible as one at its call site: the per-message
 * entries through the eng_seam_* wrappers below, the lifecycle entries as
 * eng_seam(node)->entry(...).  Each entry says which layer provides it,
 * which layer calls it, and on which thread.
 */
#ifndef ENGINE_CORE_SEAM_H
#define ENGINE_CORE_SEAM_H

#include "engine/core/eng.h"

struct eng_seam {
	/* ---- provided by engine/net, called by the core ---------------- */

	/* Node lifecycle, on the thread that creates, starts or frees the
	 * node: bind listeners (node_new, after the shards exist), start
	 * seeds and services (node_started, shards running), release
	 * everything (node_free, no shard running; must accept a node whose
	 * node_new failed half way). */
	int (*node_new)(struct aemp_node *node);
	void (*node_started)(struct aemp_node *node);
	void (*node_free)(struct aemp_node *node);

	/* Shard lifecycle, on the shard's thread (shard_free: on the thread
	 * freeing the node, after the shard's thread is gone). */
	int (*shard_start)(struct eng_shard *sh);
	void (*shard_stop)(struct eng_shard *sh);
	void (*shard_free)(struct eng_shard *sh);

	/* Loop phases of every turn (shard thread): flush connections
	 * (returns the work done), reap closed connections, and "something
	 * is pending that must not sleep". */
	unsigned (*flush)(struct eng_shard *sh);
	void (*reap)(struct eng_shard *sh);
	int (*has_work)(struct eng_shard *sh);

	/* Records of kinds REC_REMOTE, REC_NODE and REC_NET (shard thread),
	 * and what such a record still references when the node is freed
	 * with the record unread (any thread, no shard running). */
	void (*record)(struct eng_shard *sh, uint32_t kind, const uint8_t *p,
	               size_t len);
	void (*rec_discard)(uint32_t kind, const uint8_t *p, size_t len);

	/* Remote ports (shard thread): send [segs...] to pid (a port of
	 * another node; an empty name is its node port); register the
	 * owner-side monitor m (already in the shard's guard table) on a
	 * remote port; remove the registration of monitor id on port; and a
	 * local port watched by a remote node died: send kil0 through the
	 * proxy m. */
	int (*remote_snd)(struct eng_shard *sh, const struct eng_pid *pid,
	                  const struct cod_seg *segs, size_t nsegs, int must);
	/* The same for count messages (msgs[i]: one message each) to pid,
	 * whose node ID hashes (eng_hash) to nodehash, in order: the route
	 * is found once.  Returns the number sent, or the first message's
	 * error when none was. */
	int (*remote_snd_many)(struct eng_shard *sh, const struct eng_pid *pid,
	                       uint32_t nodehash, const struct cod_seg *msgs,
	                       size_t count, int must);
	int (*remote_mon)(struct eng_shard *sh, const struct eng_pid *pid,
	                  struct eng_mon *m);
	int (*remote_unmon)(struct eng_shard *sh, const char *port,
	                    uint64_t id);
	void (*fire_proxy)(struct eng_shard *sh, struct eng_mon *m,
	                   const aemp_val *reason, size_t n);
	/* Room towards a remote node, for application threads (any thread,
	 * lock-free): 0, or -EAGAIN while the queue of the node whose ID
	 * hashes (eng_hash) to nodehash is above max_queue; AEMP_ENONODE
	 * without a network. */
	int (*remote_room)(struct aemp_node *node, uint32_t nodehash);

	/* Node-port requests that concern connections (mon1, mon0, kil0,
	 * aemp::nodes; shard thread).  Returns 1 if handled. */
	int (*node_request)(struct eng_shard *sh, const aemp_val *tag,
	                    const aemp_val *args, size_t n, const char *src,
	                    size_t srclen);
	/* Cancel an aemp_mon_nodes subscription (OBJ_NODEMON, shard
	 * thread). */
	void (*nodemon_cancel)(struct eng_shard *sh, uint64_t id);
	/* Add the network's figures to out (any thread). */
	void (*stats)(struct aemp_node *node, aemp_stats *out);

	/* ---- provided by engine/global, called by net and core ---------- */

	/* Lifecycle of the control shard's services: state (node thread,
	 * from net's node_new / node_free), start and stop (shard 0). */
	int (*global_new)(struct aemp_node *node);
	void (*global_free)(struct aemp_node *node);
	void (*global_started)(struct eng_shard *sh0);
	void (*global_stop)(struct eng_shard *sh0);
	/* Node id came up or went down, as seen on shard 0. */
	void (*global_nodeev)(struct eng_shard *sh0, const char *id,
	                      size_t idlen, int up, int was_up);
	/* A REC_NET record of the global service's sub-kinds (shard 0;
	 * p[0] is the sub-kind). */
	void (*global_record)(struct eng_shard *sh0, const uint8_t *p,
	                      size_t len);
	/* Sizes of the databases held (metrics, aemp::stats; any thread):
	 * out[0..4) = GLOBAL_DB families and keys (held as a global node,
	 * else 0), LOCAL_DB families and keys.  On shard 0, counted now;
	 * elsewhere the figures of the last count, after a synchronous
	 * count on shard 0 when `wait` is set and the caller is no shard,
	 * else with a new count requested for the next call. */
	void (*global_dbsize)(struct aemp_node *node, int wait,
	                      uint64_t out[4]);
	/* Owner shard `from` needs the addresses of node id (shard 0). */
	void (*global_lookup)(struct eng_shard *sh0, int from, const char *id,
	                      size_t idlen);
	/* A g_* node-port request (any shard), and whether this node
	 * answers tag (for "can"). */
	void (*global_request)(struct eng_shard *sh, const aemp_val *tag,
	                       const aemp_val *args, size_t n, const char *src,
	                       size_t srclen);
	int (*global_knows)(struct aemp_node *node, const aemp_val *tag);
	/* Guard objects of the database (OBJ_DBMON, OBJ_DBSET): cancel on
	 * their shard; free at node free. */
	void (*db_obj_cancel)(struct eng_shard *sh, struct eng_obj *o);
	void (*db_obj_free)(struct eng_obj *o);
};

/* The seam of a node without network (core alone): remote sends fail
 * with AEMP_ENONODE, remote monitors fire at once, nothing else runs. */
extern const struct eng_seam eng_seam_none;

static inline const struct eng_seam *
eng_seam(const struct aemp_node *node)
{
	return node->seam;
}

/* ---- wrappers: one per entry, same arguments ------------------------- */

static inline int
eng_seam_remote_snd(struct eng_shard *sh, const struct eng_pid *pid,
                    const struct cod_seg *segs, size_t nsegs, int must)
{
	return eng_seam(sh->node)->remote_snd(sh, pid, segs, nsegs, must);
}

static inline int
eng_seam_remote_snd_many(struct eng_shard *sh, const struct eng_pid *pid,
                         uint32_t nodehash, const struct cod_seg *msgs,
                         size_t count, int must)
{
	return eng_seam(sh->node)->remote_snd_many(sh, pid, nodehash, msgs,
	                                           count, must);
}

static inline int
eng_seam_remote_mon(struct eng_shard *sh, const struct eng_pid *pid,
                    struct eng_mon *m)
{
	return eng_seam(sh->node)->remote_mon(sh, pid, m);
}

static inline int
eng_seam_remote_unmon(struct eng_shard *sh, const char *port, uint64_t id)
{
	return eng_seam(sh->node)->remote_unmon(sh, port, id);
}

static inline void
eng_seam_fire_proxy(struct eng_shard *sh, struct eng_mon *m,
                    const aemp_val *reason, size_t n)
{
	eng_seam(sh->node)->fire_proxy(sh, m, reason, n);
}

static inline void
eng_seam_record(struct eng_shard *sh, uint32_t kind, const uint8_t *p,
                size_t len)
{
	eng_seam(sh->node)->record(sh, kind, p, len);
}

static inline int
eng_seam_node_request(struct eng_shard *sh, const aemp_val *tag,
                      const aemp_val *args, size_t n, const char *src,
                      size_t srclen)
{
	return eng_seam(sh->node)->node_request(sh, tag, args, n, src, srclen);
}

static inline void
eng_seam_global_request(struct eng_shard *sh, const aemp_val *tag,
                        const aemp_val *args, size_t n, const char *src,
                        size_t srclen)
{
	eng_seam(sh->node)->global_request(sh, tag, args, n, src, srclen);
}

static inline int
eng_seam_global_knows(struct aemp_node *node, const aemp_val *tag)
{
	return eng_seam(node)->global_knows(node, tag);
}

#endif /* ENGINE_CORE_SEAM_H */
