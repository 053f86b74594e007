/*
 * engine/globalint.h - state of the seed manager, the global service and
 * the database client, all on the control shard (shard 0).
 *
 * Threads: shard 0 only.
 */
#ifndef ENGINE_GLOBALINT_H
#define ENGINE_GLOBALINT_H

#include "engine/netint.h"

struct eng_global {
	struct eng_shard *sh0;
	/* seeds (seeds.c) */
	struct eng_addr *seeds;
	size_t nseeds;
	char **seed_ids;          /* node ID found at each endpoint */
	uint8_t *seed_dialing;
	double seed_delay;
	struct ring_timer seed_timer;
	/* global service and database (global.c, db.c) */
	int is_global;
	void *svc;
};

int eng_seeds_start(struct eng_shard *sh0, struct eng_global *g);
void eng_seeds_free(struct eng_global *g);
void eng_seeds_restart(struct eng_global *g);
void eng_seeds_peer(struct eng_global *g, const struct eng_addr *a,
                    const char *id, size_t idlen);
int eng_seeds_is_seed(struct eng_global *g, const char *id, size_t idlen);

/* eng_global_become - turn this node into a global node (§6.2). */
void eng_global_become(struct eng_shard *sh0, const char *why);
/* eng_global_send_g_slave - ["", "g_slave"] (with_db: and LOCAL_DB). */
void eng_global_send_g_slave(struct eng_shard *sh0, const char *id,
                             size_t idlen, int with_db);

static inline struct eng_global *
eng_global(const struct aemp_node *node)
{
	return eng_net(node)->global;
}

#endif /* ENGINE_GLOBALINT_H */
