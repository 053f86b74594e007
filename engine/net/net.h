/*
 * engine/net/net.h - the network layer's entries in the seam
 * (engine/core/seam.h): what the core calls through it, and what the
 * composition root (engine/engine.c) installs.  Each function here is
 * documented at its seam entry; the short notes below say only where it
 * lives.
 *
 * Threads: as the seam says (node hooks on the node's lifecycle thread,
 * shard hooks and remote calls on the shard's own thread).
 */
#ifndef ENGINE_NET_NET_H
#define ENGINE_NET_NET_H

#include "engine/core/seam.h"

/* net.c: node and shard lifecycle, records, remote sends, node events. */
int eng_net_node_new(struct aemp_node *node);
void eng_net_node_started(struct aemp_node *node);
void eng_net_node_free(struct aemp_node *node);
int eng_net_shard_start(struct eng_shard *sh);
void eng_net_shard_stop(struct eng_shard *sh);
void eng_net_shard_free(struct eng_shard *sh);
void eng_remote_record(struct eng_shard *sh, uint32_t kind, const uint8_t *p,
                       size_t len);
void eng_net_rec_discard(uint32_t kind, const uint8_t *p, size_t len);
int eng_remote_snd(struct eng_shard *sh, const struct eng_pid *pid,
                   const struct cod_seg *segs, size_t nsegs, int must);
int eng_remote_snd_many(struct eng_shard *sh, const struct eng_pid *pid,
                        uint32_t nodehash, const struct cod_seg *msgs,
                        size_t count, int must);
int eng_remote_room(struct aemp_node *node, uint32_t nodehash);
int eng_net_node_request(struct eng_shard *sh, const aemp_val *tag,
                         const aemp_val *args, size_t n, const char *src,
                         size_t srclen);
void eng_nodemon_cancel(struct eng_shard *sh, uint64_t id);
void eng_net_stats(struct aemp_node *node, aemp_stats *out);

/* conn.c: the loop phases. */
unsigned eng_net_flush(struct eng_shard *sh);
void eng_net_reap(struct eng_shard *sh);
int eng_net_has_work(struct eng_shard *sh);

/* rnode.c: monitors of remote ports and proxies of local ones. */
int eng_remote_mon(struct eng_shard *sh, const struct eng_pid *pid,
                   struct eng_mon *m);
int eng_remote_unmon(struct eng_shard *sh, const char *port, uint64_t id);
void eng_remote_fire_proxy(struct eng_shard *sh, struct eng_mon *m,
                           const aemp_val *reason, size_t n);

/* eng_node_is_up - 1 if node id has an authenticated connection now (any
 * thread; the global service and the seeds use it). */
int eng_node_is_up(struct aemp_node *node, const char *id, size_t len);

#endif /* ENGINE_NET_NET_H */
