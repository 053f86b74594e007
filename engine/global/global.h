/*
 * engine/global/global.h - the global layer's entries in the seam
 * (engine/core/seam.h), which engine/engine.c installs: the control
 * shard's services as the network and the core reach them.  Each function
 * is documented at its seam entry.
 *
 * Threads: eng_global_new/free on the node's lifecycle thread; the rest on
 * shard 0, except eng_global_request and eng_global_knows (any shard) and
 * the database guard objects (their own shard).
 */
#ifndef ENGINE_GLOBAL_GLOBAL_H
#define ENGINE_GLOBAL_GLOBAL_H

#include "engine/core/seam.h"
#include "engine/conf/addr.h"

/* global.c */
int eng_global_new(struct aemp_node *node);
void eng_global_free(struct aemp_node *node);
void eng_global_started(struct eng_shard *sh0);
void eng_global_stop(struct eng_shard *sh0);
void eng_global_nodeev(struct eng_shard *sh0, const char *id, size_t idlen,
                       int up, int was_up);
void eng_global_lookup(struct eng_shard *sh0, int from, const char *id,
                       size_t idlen);
void eng_global_record(struct eng_shard *sh0, const uint8_t *p, size_t len);
void eng_global_request(struct eng_shard *sh, const aemp_val *tag,
                        const aemp_val *args, size_t n, const char *src,
                        size_t srclen);
/* eng_global_knows - 1 if this node is global and answers tag. */
int eng_global_knows(struct aemp_node *node, const aemp_val *tag);

/* A seed endpoint greeted with peer id, or failed (shard 0). */
void eng_global_seed_peer(struct eng_shard *sh0, const struct eng_addr *a,
                          const char *id, size_t idlen);
void eng_global_seed_failed(struct eng_shard *sh0, const struct eng_addr *a);

/* db.c: sizes of the databases (seam global_dbsize). */
void eng_global_dbsize(struct aemp_node *node, int wait, uint64_t out[4]);

/* db.c: the database's guard objects. */
void eng_db_obj_cancel(struct eng_shard *sh, struct eng_obj *o);
void eng_db_obj_free(struct eng_obj *o);

#endif /* ENGINE_GLOBAL_GLOBAL_H */
