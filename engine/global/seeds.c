/*
 * engine/global/seeds.c - the seed manager (aemp-protocol.md §5.9) on the control
 * shard: resolve the seed specifications, dial every seed endpoint that is
 * neither mapped to a node that is up nor being dialled, with a retry
 * delay that doubles up to monitor_timeout, map endpoints to the node IDs
 * their greetings carry, and send g_slave to seed nodes.
 *
 * Threads: shard 0 only.
 */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "engine/global/globalint.h"
#include "ring/alloc.h"

static void seeds_run(struct ring_timer *t);

static double
rand01(void)
{
	uint32_t r = 0;

	cry_random(&r, sizeof(r));
	return (double)r / 4294967296.0;
}

/* A seed whose host name does not resolve is left out (as Perl's
 * resolver drops it); the others are still used. */
static void
seed_unresolved(void *arg, const char *why)
{
	eng_log(arg, AEMP_LOG_ERROR, "seeds: %s; skipping it", why);
}

int
eng_seeds_start(struct eng_shard *sh0, struct eng_global *g)
{
	struct aemp_node *node = sh0->node;
	int rc;

	ring_timer_init(&g->seed_timer, seeds_run);
	g->sh0 = sh0;
	if (node->cfg.nseeds == 0)
		return 0;
	rc = eng_addr_resolve_lenient(node->cfg.seeds, node->cfg.nseeds,
	                              &g->seeds, &g->nseeds, seed_unresolved,
	                              node);
	if (rc == 0 && g->nseeds == 0) {
		eng_log(node, AEMP_LOG_ERROR,
		        "seeds: no seed address could be resolved; this node "
		        "will find no global node");
		return 0;
	}
	if (rc < 0) {
		eng_log(node, AEMP_LOG_ERROR, "seeds: %s", aemp_errmsg());
		return rc;
	}
	g->seed_ids = ring_zalloc(g->nseeds * sizeof(*g->seed_ids));
	g->seed_dialing = ring_zalloc(g->nseeds ? g->nseeds : 1);
	if (g->seed_ids == NULL || g->seed_dialing == NULL)
		return -ENOMEM;
	eng_seeds_restart(g);
	return 0;
}

void
eng_seeds_free(struct eng_global *g)
{
	size_t i;

	if (g->sh0 != NULL)
		ring_timer_stop(&g->sh0->loop.timers, &g->seed_timer);
	for (i = 0; g->seed_ids != NULL && i < g->nseeds; i++)
		eng_strfree(g->seed_ids[i]);
	ring_free(g->seed_ids, g->nseeds * sizeof(*g->seed_ids));
	ring_free(g->seed_dialing, g->nseeds ? g->nseeds : 1);
	eng_addr_free(g->seeds);
	g->seeds = NULL;
	g->seed_ids = NULL;
	g->seed_dialing = NULL;
	g->nseeds = 0;
}

/* eng_seeds_restart - run at once, then with a fresh initial delay. */
void
eng_seeds_restart(struct eng_global *g)
{
	if (g->nseeds == 0 || g->sh0 == NULL)
		return;
	g->seed_delay = 0.6;
	ring_timer_start(&g->sh0->loop.timers, &g->seed_timer, ring_now_ns());
}

static int
seed_up(struct eng_global *g, size_t i)
{
	const char *id = g->seed_ids[i];

	return id != NULL && eng_node_is_up(g->sh0->node, id, strlen(id)) == 1;
}

static void
seeds_run(struct ring_timer *t)
{
	struct eng_global *g =
	        AEMP_CONTAINER_OF(t, struct eng_global, seed_timer);
	struct eng_shard *sh = g->sh0;
	double mt = sh->node->cfg.monitor_timeout, delay;
	size_t i, waiting = 0;

	for (i = 0; i < g->nseeds; i++) {
		if (g->seeds[i].len == 0 || seed_up(g, i) || g->seed_dialing[i])
			continue;
		if (eng_conn_dial(sh, &g->seeds[i], NULL, 1) == 0)
			g->seed_dialing[i] = 1;
		waiting++;
	}
	if (waiting == 0)
		return; /* all up or being dialled: stop until something drops */
	/* 2 x delay x (1 + random): 1.2-2.4 s, then doubling, capped */
	delay = 2 * g->seed_delay * (1 + rand01());
	g->seed_delay *= 2;
	if (delay > mt)
		delay = mt;
	if (g->seed_delay > mt)
		g->seed_delay = mt;
	ring_timer_start(&sh->loop.timers, &g->seed_timer,
	                 ring_now_ns() + (uint64_t)(delay * 1e9));
}

static ssize_t
seed_index(struct eng_global *g, const struct eng_addr *a)
{
	size_t i;

	for (i = 0; i < g->nseeds; i++) {
		if (strcmp(g->seeds[i].text, a->text) == 0)
			return (ssize_t)i;
	}
	return -1;
}

/* A seed endpoint's greeting named node id (idlen 0: the dial failed). */
void
eng_seeds_peer(struct eng_global *g, const struct eng_addr *a, const char *id,
               size_t idlen)
{
	struct aemp_node *node = g->sh0->node;
	ssize_t i = seed_index(g, a);

	if (i < 0)
		return;
	g->seed_dialing[i] = 0;
	if (idlen == 0) {
		if (!ring_timer_armed(&g->seed_timer))
			ring_timer_start(
			        &g->sh0->loop.timers, &g->seed_timer,
			        ring_now_ns() +
			                (uint64_t)(g->seed_delay * 1e9));
		return;
	}
	if (idlen == node->idlen && memcmp(id, node->id, idlen) == 0) {
		/* We are our own seed: drop the endpoint, become global. */
		g->seeds[i].len = 0;
		eng_global_become(g->sh0, "found itself among its seeds");
		return;
	}
	eng_strfree(g->seed_ids[i]);
	g->seed_ids[i] = eng_strndup(id, idlen);
	/* g_slave goes out when the connection is up (eng_global_nodeev):
	 * queued now, it would start an address lookup of its own. */
}

int
eng_seeds_is_seed(struct eng_global *g, const char *id, size_t idlen)
{
	size_t i;

	for (i = 0; i < g->nseeds; i++) {
		if (g->seed_ids[i] != NULL && strlen(g->seed_ids[i]) == idlen &&
		    memcmp(g->seed_ids[i], id, idlen) == 0)
			return 1;
	}
	return 0;
}

const char *
eng_seeds_up(struct eng_global *g)
{
	size_t i;

	for (i = 0; i < g->nseeds; i++) {
		if (seed_up(g, i))
			return g->seed_ids[i];
	}
	return NULL;
}
