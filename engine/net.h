/*
 * engine/net.h - what the node engine needs from the network layer:
 * per-node and per-shard hooks of the loop, remote sends and monitors,
 * node-port requests that concern connections, and the global service.
 *
 * Threads: the per-shard hooks run on their shard; node hooks on the
 * thread managing the node's lifecycle.
 */
#ifndef ENGINE_NET_H
#define ENGINE_NET_H

#include "engine/eng.h"

/* Node lifecycle: listeners are bound in eng_net_node_new; seeds and
 * services start in eng_net_node_started (shards are running). */
int eng_net_node_new(struct aemp_node *node);
void eng_net_node_started(struct aemp_node *node);
void eng_net_node_free(struct aemp_node *node);

/* Shard hooks: start on the shard thread after its ring exists; stop when
 * the node stops; free after the thread is gone. */
int eng_net_shard_start(struct eng_shard *sh);
void eng_net_shard_stop(struct eng_shard *sh);
void eng_net_shard_free(struct eng_shard *sh);

/* Loop phases: flush connections (returns work done), reap closed
 * connections, and "is anything pending that must not sleep". */
unsigned eng_net_flush(struct eng_shard *sh);
void eng_net_reap(struct eng_shard *sh);
int eng_net_has_work(struct eng_shard *sh);

/* mon1 / mon0 / kil0 from remote node src (§4.3, §4.6.2-3). */
void eng_remote_node_request(struct eng_shard *sh, const aemp_val *tag,
                             const aemp_val *args, size_t n, const char *src,
                             size_t srclen);

/* The global service (§6): g_* requests, and whether this node is global. */
void eng_global_request(struct eng_shard *sh, const aemp_val *tag,
                        const aemp_val *args, size_t n, const char *src,
                        size_t srclen);
int eng_global_is_global(struct aemp_node *node);
int eng_global_knows(const aemp_val *tag);

/* eng_reply - answer with reply address addr (port ID, extra elements)
 * followed by res (§4.2). */
void eng_reply(struct eng_shard *sh, const aemp_val *addr, size_t naddr,
               const aemp_val *res, size_t nres);

#endif /* ENGINE_NET_H */
