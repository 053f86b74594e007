/*
 * engine/engine.c - the composition root: the one file that knows every
 * layer of the engine.  It fills the seam (engine/core/seam.h) with the
 * network's and the global service's entries and makes nodes with it.
 *
 * Layers, lowest first: engine/conf, engine/core, engine/net,
 * engine/global, then this file (docs/threading.md, "Layers").
 *
 * Threads: aemp_node_new from any thread but a shard thread.
 */
#include "engine/conf/config.h"
#include "engine/engine.h"
#include "engine/global/global.h"
#include "engine/net/net.h"
#include "ring/base.h"

const struct eng_seam eng_seam_full = {
        /* engine/net */
        .node_new = eng_net_node_new,
        .node_started = eng_net_node_started,
        .node_free = eng_net_node_free,
        .shard_start = eng_net_shard_start,
        .shard_stop = eng_net_shard_stop,
        .shard_free = eng_net_shard_free,
        .flush = eng_net_flush,
        .reap = eng_net_reap,
        .has_work = eng_net_has_work,
        .record = eng_remote_record,
        .rec_discard = eng_net_rec_discard,
        .remote_snd = eng_remote_snd,
        .remote_snd_many = eng_remote_snd_many,
        .remote_mon = eng_remote_mon,
        .remote_unmon = eng_remote_unmon,
        .fire_proxy = eng_remote_fire_proxy,
        .remote_room = eng_remote_room,
        .node_request = eng_net_node_request,
        .nodemon_cancel = eng_nodemon_cancel,
        .stats = eng_net_stats,
        /* engine/global */
        .global_new = eng_global_new,
        .global_free = eng_global_free,
        .global_started = eng_global_started,
        .global_stop = eng_global_stop,
        .global_nodeev = eng_global_nodeev,
        .global_record = eng_global_record,
        .global_dbsize = eng_global_dbsize,
        .global_lookup = eng_global_lookup,
        .global_request = eng_global_request,
        .global_knows = eng_global_knows,
        .db_obj_cancel = eng_db_obj_cancel,
        .db_obj_free = eng_db_obj_free,
};

AEMP_API int
aemp_node_new(const aemp_conf *c, aemp_node **out)
{
	struct eng_config cfg;
	int rc;

	ring_clearerr();
	rc = eng_config_build(c, &cfg);
	if (rc < 0)
		return rc;
	return eng_node_new_cfg(&cfg, &eng_seam_full, out);
}
