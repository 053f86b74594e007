/*
 * engine/net_stub.c - the network layer's place holder for a node without
 * networking: remote sends are dropped and remote monitors fire with
 * ("transport_error", NODE, "no known address").  Replaced by the
 * transport (engine/net*.c).
 *
 * Threads: as engine/net.h.
 */
#include <string.h>

#include "engine/net.h"

int
eng_net_node_new(struct aemp_node *node)
{
	(void)node;
	return 0;
}

void
eng_net_node_started(struct aemp_node *node)
{
	(void)node;
}

void
eng_net_node_free(struct aemp_node *node)
{
	(void)node;
}

int
eng_net_shard_start(struct eng_shard *sh)
{
	(void)sh;
	return 0;
}

void
eng_net_shard_stop(struct eng_shard *sh)
{
	(void)sh;
}

void
eng_net_shard_free(struct eng_shard *sh)
{
	(void)sh;
}

unsigned
eng_net_flush(struct eng_shard *sh)
{
	(void)sh;
	return 0;
}

void
eng_net_reap(struct eng_shard *sh)
{
	(void)sh;
}

int
eng_net_has_work(struct eng_shard *sh)
{
	(void)sh;
	return 0;
}

int
eng_remote_snd(struct eng_shard *sh, const struct eng_pid *pid,
               const struct cod_seg *segs, size_t nsegs, int must)
{
	(void)sh;
	(void)pid;
	(void)segs;
	(void)nsegs;
	(void)must;
	return 0;
}

int
eng_remote_mon(struct eng_shard *sh, const struct eng_pid *pid,
               struct eng_mon *m)
{
	aemp_val reason[3] = {aemp_str("transport_error"),
	                      aemp_strn(pid->node, pid->nodelen),
	                      aemp_str("no known address")};
	struct cod_seg seg = {reason, 3};
	uint64_t id = m->obj.id;

	return eng_rec_packet(sh, sh->idx, REC_FIRE, &id, sizeof(id), "", 0,
	                      &seg, 1, 1);
}

int
eng_remote_unmon(struct eng_shard *sh, uint64_t id)
{
	(void)sh;
	(void)id;
	return 0;
}

void
eng_remote_fire_proxy(struct eng_shard *sh, struct eng_mon *m,
                      const aemp_val *reason, size_t n)
{
	(void)sh;
	(void)m;
	(void)reason;
	(void)n;
}

void
eng_remote_record(struct eng_shard *sh, uint32_t kind, const uint8_t *p,
                  size_t len)
{
	(void)kind;
	(void)p;
	(void)len;
	eng_log(sh->node, AEMP_LOG_CRIT, "network record without network");
}

void
eng_remote_node_request(struct eng_shard *sh, const aemp_val *tag,
                        const aemp_val *args, size_t n, const char *src,
                        size_t srclen)
{
	(void)sh;
	(void)tag;
	(void)args;
	(void)n;
	(void)src;
	(void)srclen;
}

void
eng_global_request(struct eng_shard *sh, const aemp_val *tag,
                   const aemp_val *args, size_t n, const char *src,
                   size_t srclen)
{
	(void)args;
	(void)n;
	eng_log(sh->node, AEMP_LOG_ERROR,
	        "global request '%.*s' from %.*s: not a global node",
	        (int)AEMP_MIN(tag->len, 64u), tag->u.s, (int)srclen, src);
}

int
eng_global_is_global(struct aemp_node *node)
{
	(void)node;
	return 0;
}

int
eng_global_knows(const aemp_val *tag)
{
	(void)tag;
	return 0;
}

int
eng_node_is_up(struct aemp_node *node, const char *id, size_t len)
{
	return len == node->idlen && memcmp(id, node->id, len) == 0;
}

AEMP_API int
aemp_node_is_up(aemp_node *node, const char *nodeid)
{
	size_t len = aemp_node_of(nodeid);

	return eng_node_is_up(node, nodeid, len) ? 1 : AEMP_ENONODE;
}

AEMP_API int
aemp_up_nodes(aemp_node *node, char *out, size_t cap)
{
	(void)node;
	if (cap > 0)
		strncpy(out, "[]", cap - 1);
	if (cap > 0)
		out[cap - 1 < 2 ? cap - 1 : 2] = '\0';
	return 2;
}

AEMP_API int
aemp_node_listeners(const aemp_node *node, char *out, size_t cap)
{
	return aemp_up_nodes((aemp_node *)node, out, cap);
}

AEMP_API int
aemp_mon_nodes(aemp_node *node, aemp_node_fn cb, void *arg, aemp_guard *guard)
{
	(void)node;
	(void)cb;
	(void)arg;
	if (guard != NULL)
		guard->v = 0;
	return 0;
}
