/*
 * engine/global.c - the control shard's side of the network: seeds,
 * address lookups, and the entry points of the global service.  This
 * first version keeps a node non-global: g_* requests are logged, address
 * lookups without a master find nothing.  The global service and the
 * database (aemp-protocol.md §6) build on these entry points.
 *
 * Threads: shard 0, except eng_global_new/free (node lifecycle).
 */
#include <errno.h>
#include <string.h>

#include "engine/globalint.h"
#include "ring/alloc.h"

int
eng_global_new(struct aemp_node *node)
{
	struct eng_global *g = ring_zalloc(sizeof(*g));

	if (g == NULL)
		return -ENOMEM;
	eng_net(node)->global = g;
	return 0;
}

void
eng_global_free(struct aemp_node *node)
{
	struct eng_global *g = eng_global(node);

	if (g == NULL)
		return;
	eng_seeds_free(g);
	ring_free(g, sizeof(*g));
	eng_net(node)->global = NULL;
}

void
eng_global_started(struct eng_shard *sh0)
{
	eng_seeds_start(sh0, eng_global(sh0->node));
}

void
eng_global_stop(struct eng_shard *sh0)
{
	struct eng_global *g = eng_global(sh0->node);

	ring_timer_stop(&sh0->loop.timers, &g->seed_timer);
}

void
eng_global_become(struct eng_shard *sh0, const char *why)
{
	struct eng_global *g = eng_global(sh0->node);

	if (g->is_global)
		return;
	eng_log(sh0->node, AEMP_LOG_NOTE, "becoming a global node: %s", why);
	g->is_global = 1;
}

void
eng_global_send_g_slave(struct eng_shard *sh0, const char *id, size_t idlen,
                        int with_db)
{
	aemp_val v = aemp_str("g_slave");
	struct cod_seg seg = {&v, 1};
	struct eng_pid pid = {id, idlen, id + idlen, 0, 0};

	(void)with_db;
	eng_remote_snd(sh0, &pid, &seg, 1, 1);
}

void
eng_global_nodeev(struct eng_shard *sh0, const char *id, size_t idlen, int up,
                  int was_up)
{
	struct eng_global *g = eng_global(sh0->node);

	if (!eng_seeds_is_seed(g, id, idlen))
		return;
	if (up)
		eng_global_send_g_slave(sh0, id, idlen, 0);
	else if (was_up)
		eng_seeds_restart(g);
}

void
eng_global_seed_peer(struct eng_shard *sh0, const struct eng_addr *a,
                     const char *id, size_t idlen)
{
	eng_seeds_peer(eng_global(sh0->node), a, id, idlen);
}

void
eng_global_seed_failed(struct eng_shard *sh0, const struct eng_addr *a)
{
	eng_seeds_peer(eng_global(sh0->node), a, "", 0);
}

void
eng_global_lookup(struct eng_shard *sh0, int from, const char *id,
                  size_t idlen)
{
	eng_net_send_addrs(sh0, from, id, idlen, NULL, 0);
}

void
eng_global_record(struct eng_shard *sh0, const uint8_t *p, size_t len)
{
	uint8_t sub = p[0];

	p++;
	len--;
	switch (sub) {
	case NET_LOOKUP:
		eng_global_lookup(sh0, p[0], (const char *)p + 1, len - 1);
		break;
	case NET_PEERID: {
		struct {
			struct eng_addr addr;
			uint16_t idlen;
		} r;

		memcpy(&r, p, sizeof(r));
		eng_global_seed_peer(sh0, &r.addr,
		                     (const char *)p + offsetof(__typeof__(r),
		                                                idlen) +
		                             sizeof(uint16_t),
		                     r.idlen);
		break;
	}
	default:
		eng_log(sh0->node, AEMP_LOG_CRIT, "unknown network record %u",
		        sub);
		break;
	}
}

void
eng_global_request(struct eng_shard *sh, const aemp_val *tag,
                   const aemp_val *args, size_t n, const char *src,
                   size_t srclen)
{
	(void)args;
	(void)n;
	eng_log(sh->node, AEMP_LOG_INFO,
	        "global request '%.*s' from %.*s ignored: not a global node",
	        (int)AEMP_MIN(tag->len, 64u), tag->u.s, (int)srclen, src);
}

int
eng_global_is_global(struct aemp_node *node)
{
	struct eng_global *g = eng_global(node);

	return g != NULL && g->is_global;
}

int
eng_global_knows(const aemp_val *tag)
{
	(void)tag;
	return 0;
}
