/*
 * engine/core/seam.c - eng_seam_none, the seam of a node made by the core
 * alone (no network layer linked or wanted): nothing to start, flush or
 * reap; a remote port is on an unreachable node.  The core's unit tests
 * run on it, which keeps engine/core buildable and testable without
 * engine/net.
 *
 * Threads: as engine/core/seam.h says for each entry.
 */
#include "engine/core/seam.h"

static int
none_node_new(struct aemp_node *node)
{
	(void)node;
	return 0;
}

static void
none_node(struct aemp_node *node)
{
	(void)node;
}

static int
none_shard_start(struct eng_shard *sh)
{
	(void)sh;
	return 0;
}

static void
none_shard(struct eng_shard *sh)
{
	(void)sh;
}

static unsigned
none_flush(struct eng_shard *sh)
{
	(void)sh;
	return 0;
}

static int
none_has_work(struct eng_shard *sh)
{
	(void)sh;
	return 0;
}

static void
none_record(struct eng_shard *sh, uint32_t kind, const uint8_t *p, size_t len)
{
	(void)sh;
	(void)kind;
	(void)p;
	(void)len;
}

static void
none_rec_discard(uint32_t kind, const uint8_t *p, size_t len)
{
	(void)kind;
	(void)p;
	(void)len;
}

static int
none_remote_snd_many(struct eng_shard *sh, const struct eng_pid *pid,
                     uint32_t nodehash, const struct cod_seg *msgs,
                     size_t count, int must)
{
	(void)sh;
	(void)pid;
	(void)nodehash;
	(void)msgs;
	(void)count;
	(void)must;
	return AEMP_ENONODE;
}

static int
none_remote_snd(struct eng_shard *sh, const struct eng_pid *pid,
                const struct cod_seg *segs, size_t nsegs, int must)
{
	(void)sh;
	(void)pid;
	(void)segs;
	(void)nsegs;
	(void)must;
	return AEMP_ENONODE;
}

/* A monitor of a port on another node fires as a lost connection would,
 * in a later turn (never inside the caller, like every monitor). */
static int
none_remote_mon(struct eng_shard *sh, const struct eng_pid *pid,
                struct eng_mon *m)
{
	aemp_val reason[3] = {aemp_str("transport_error"),
	                      aemp_strn(pid->node, pid->nodelen),
	                      aemp_str("this node has no network")};
	struct cod_seg seg = {reason, 3};
	uint64_t id = m->obj.id;

	return eng_rec_packet(sh, sh->idx, REC_FIRE, &id, sizeof(id), "", 0,
	                      &seg, 1, 1);
}

static int
none_remote_unmon(struct eng_shard *sh, const char *port, uint64_t id)
{
	(void)sh;
	(void)port;
	(void)id;
	return 0;
}

static void
none_fire_proxy(struct eng_shard *sh, struct eng_mon *m, const aemp_val *reason,
                size_t n)
{
	(void)sh;
	(void)m;
	(void)reason;
	(void)n;
}

static int
none_remote_room(struct aemp_node *node, uint32_t nodehash)
{
	(void)node;
	(void)nodehash;
	return AEMP_ENONODE;
}

static int
none_node_request(struct eng_shard *sh, const aemp_val *tag,
                  const aemp_val *args, size_t n, const char *src,
                  size_t srclen)
{
	(void)sh;
	(void)tag;
	(void)args;
	(void)n;
	(void)src;
	(void)srclen;
	return 0;
}

static void
none_nodemon_cancel(struct eng_shard *sh, uint64_t id)
{
	(void)sh;
	(void)id;
}

static void
none_stats(struct aemp_node *node, aemp_stats *out)
{
	(void)node;
	(void)out;
}

static void
none_global_dbsize(struct aemp_node *node, int wait, uint64_t out[4])
{
	(void)node;
	(void)wait;
	memset(out, 0, 4 * sizeof(out[0]));
}

static void
none_global_nodeev(struct eng_shard *sh0, const char *id, size_t idlen, int up,
                   int was_up)
{
	(void)sh0;
	(void)id;
	(void)idlen;
	(void)up;
	(void)was_up;
}

static void
none_global_record(struct eng_shard *sh0, const uint8_t *p, size_t len)
{
	(void)sh0;
	(void)p;
	(void)len;
}

static void
none_global_lookup(struct eng_shard *sh0, int from, const char *id,
                   size_t idlen)
{
	(void)sh0;
	(void)from;
	(void)id;
	(void)idlen;
}

static void
none_global_request(struct eng_shard *sh, const aemp_val *tag,
                    const aemp_val *args, size_t n, const char *src,
                    size_t srclen)
{
	(void)none_node_request(sh, tag, args, n, src, srclen);
}

static int
none_global_knows(struct aemp_node *node, const aemp_val *tag)
{
	(void)node;
	(void)tag;
	return 0;
}

static void
none_db_obj_cancel(struct eng_shard *sh, struct eng_obj *o)
{
	(void)sh;
	(void)o;
}

static void
none_db_obj_free(struct eng_obj *o)
{
	(void)o;
}

const struct eng_seam eng_seam_none = {
        .node_new = none_node_new,
        .node_started = none_node,
        .node_free = none_node,
        .shard_start = none_shard_start,
        .shard_stop = none_shard,
        .shard_free = none_shard,
        .flush = none_flush,
        .reap = none_shard,
        .has_work = none_has_work,
        .record = none_record,
        .rec_discard = none_rec_discard,
        .remote_snd = none_remote_snd,
        .remote_snd_many = none_remote_snd_many,
        .remote_mon = none_remote_mon,
        .remote_unmon = none_remote_unmon,
        .fire_proxy = none_fire_proxy,
        .remote_room = none_remote_room,
        .node_request = none_node_request,
        .nodemon_cancel = none_nodemon_cancel,
        .stats = none_stats,
        .global_new = none_node_new,
        .global_free = none_node,
        .global_started = none_shard,
        .global_stop = none_shard,
        .global_nodeev = none_global_nodeev,
        .global_record = none_global_record,
        .global_dbsize = none_global_dbsize,
        .global_lookup = none_global_lookup,
        .global_request = none_global_request,
        .global_knows = none_global_knows,
        .db_obj_cancel = none_db_obj_cancel,
        .db_obj_free = none_db_obj_free,
};
