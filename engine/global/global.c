/*
 * engine/global/global.c - the control shard's side of the global protocol for
 * every node (aemp-protocol.md §5.3, §5.9, §6.2-§6.4): master selection,
 * the pending-request table re-sent to each new master, address lookups,
 * answers from the master, routing of g_* requests to the control shard,
 * becoming global, and the configured services (§7.3).
 *
 * Invariants: the master is a node that is up (or ourselves when
 * global); requests wait in `pend` until answered or cancelled and are
 * sent to every new master; messages to ourselves go through the control
 * shard's own queue, so no handler here ever runs nested in another.
 *
 * Threads: shard 0 (the control shard), except eng_global_new/free and
 * eng_global_request, which forwards from any shard.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/global/globalint.h"
#include "ring/alloc.h"

/* ---- lifecycle ------------------------------------------------------ */

int
eng_global_new(struct aemp_node *node)
{
	struct eng_global *g = ring_zalloc(sizeof(*g));

	if (g == NULL)
		return -ENOMEM;
	eng_db_init(&g->local);
	eng_kv_init(&g->mirrors);
	eng_kv_init(&g->known_globals);
	atomic_init(&g->ids, 1ull << 48);
	pthread_mutex_init(&g->master_mu, NULL);
	eng_net(node)->global = g;
	return 0;
}

static void
pend_free(struct eng_pending *p)
{
	eng_strfree(p->arg);
	eng_strfree(p->self);
	ring_free(p, sizeof(*p));
}

void eng_mirrors_free(struct eng_global *g);

void
eng_global_free(struct aemp_node *node)
{
	struct eng_global *g = eng_global(node);
	struct eng_pending *p, *next;

	if (g == NULL)
		return;
	eng_seeds_free(g);
	eng_gsvc_free(g);
	eng_mirrors_free(g);
	for (p = g->pend; p != NULL; p = next) {
		next = p->next;
		pend_free(p);
	}
	eng_kv_fini(&g->known_globals, NULL);
	eng_local_queue_free(g);
	eng_db_fini(&g->local);
	eng_strfree(g->master);
	pthread_mutex_destroy(&g->master_mu);
	ring_free(g, sizeof(*g));
	eng_net(node)->global = NULL;
}

void
eng_global_stop(struct eng_shard *sh0)
{
	struct eng_global *g = eng_global(sh0->node);

	eng_local_flush(sh0);
	ring_timer_stop(&sh0->loop.timers, &g->seed_timer);
	if (g->svc != NULL)
		ring_timer_stop(&sh0->loop.timers, &g->svc->keep_timer);
}

/* ---- sending -------------------------------------------------------- */

void
eng_gsend(struct eng_shard *sh0, const char *id, size_t idlen,
          const struct cod_seg *segs, size_t nsegs)
{
	struct eng_pid pid = {id, idlen, id + idlen, 0, 0};

	eng_local_flush(sh0); /* queued writes go first */
	if (eng_is_self(sh0->node, id, idlen))
		eng_snd_node_from(sh0, sh0->idx, NULL, 0, segs, nsegs);
	else
		eng_remote_snd(sh0, &pid, segs, nsegs, 1);
}

static void
gsend_master(struct eng_shard *sh0, const struct cod_seg *segs, size_t nsegs)
{
	struct eng_global *g = eng_global(sh0->node);

	if (g->master != NULL)
		eng_gsend(sh0, g->master, strlen(g->master), segs, nsegs);
}

void
eng_global_send_g_slave(struct eng_shard *sh0, const char *id, size_t idlen,
                        int with_db)
{
	struct eng_global *g = eng_global(sh0->node);
	aemp_val v[2] = {aemp_str("g_slave"), aemp_null()};
	aemp_val *db = NULL;
	struct cod_seg seg = {v, 1};

	eng_local_flush(sh0);
	if (with_db) {
		db = eng_db_to_map(&g->local);
		if (db == NULL) {
			eng_log(sh0->node, AEMP_LOG_CRIT,
			        "out of memory: g_slave without database");
			return;
		}
		v[1] = *db;
		seg.n = 2;
	}
	if (with_db && g->is_global && eng_is_self(sh0->node, id, idlen))
		eng_gsvc_self_slave(sh0, db); /* we are our own slave */
	else
		eng_gsend(sh0, id, idlen, &seg, 1);
	aemp_val_free(db);
}

/* ---- pending requests ----------------------------------------------- */

static void
pend_send(struct eng_shard *sh0, struct eng_pending *p)
{
	static const char *const tags[] = {
	        [PEND_FIND] = "g_find",    [PEND_FAMILY] = "g_db_family",
	        [PEND_KEYS] = "g_db_keys", [PEND_VALUES] = "g_db_values",
	        [PEND_MON] = "g_mon1",
	};
	aemp_val v[3] = {aemp_str(tags[p->kind]), aemp_str(p->arg),
	                 aemp_str(p->id)};
	int has_id = p->kind >= PEND_FAMILY && p->kind <= PEND_VALUES;
	struct cod_seg seg = {v, has_id ? 3 : 2};

	gsend_master(sh0, &seg, 1);
}

struct eng_pending *
eng_pend_add(struct eng_shard *sh0, uint8_t kind, const char *arg,
             size_t arglen)
{
	struct eng_global *g = eng_global(sh0->node);
	struct eng_pending *p = ring_zalloc(sizeof(*p));
	uint64_t n;
	size_t i = 0;

	if (p == NULL || (p->arg = eng_strndup(arg, arglen)) == NULL) {
		ring_free(p, sizeof(*p));
		return NULL;
	}
	p->kind = kind;
	/* IDs by alphabetic increment, like 2.x ("b", "c", ...) */
	n = ++g->qctr + 1;
	do {
		n--;
		p->id[i++] = (char)('a' + n % 26);
		n /= 26;
	} while (n > 0 && i < sizeof(p->id) - 1);
	p->next = g->pend;
	if (g->pend != NULL)
		g->pend->pprev = &p->next;
	p->pprev = &g->pend;
	g->pend = p;
	pend_send(sh0, p);
	return p;
}

void
eng_pend_del(struct eng_pending *p)
{
	*p->pprev = p->next;
	if (p->next != NULL)
		p->next->pprev = p->pprev;
	pend_free(p);
}

static struct eng_pending *
pend_find(struct eng_global *g, uint8_t kind, const char *s, size_t len)
{
	struct eng_pending *p;

	for (p = g->pend; p != NULL; p = p->next) {
		const char *key =
		        kind == PEND_FIND || kind == PEND_MON ? p->arg : p->id;

		if (p->kind == kind && strlen(key) == len &&
		    memcmp(key, s, len) == 0)
			return p;
	}
	return NULL;
}

static struct eng_pending *
pend_find_query(struct eng_global *g, const char *id, size_t len)
{
	struct eng_pending *p;

	for (p = g->pend; p != NULL; p = p->next) {
		if (p->kind >= PEND_FAMILY && p->kind <= PEND_VALUES &&
		    strlen(p->id) == len && memcmp(p->id, id, len) == 0)
			return p;
	}
	return NULL;
}

/* ---- master --------------------------------------------------------- */

/* publish_master - the copy aemp_node_master reads ("" for none), and
 * master_room: which connection database writes from any thread go to
 * (db.c, db_room). */
static void
publish_master(struct aemp_node *node, struct eng_global *g)
{
	uint64_t room = 0;

	pthread_mutex_lock(&g->master_mu);
	snprintf(g->master_pub, sizeof(g->master_pub), "%s",
	         g->master ? g->master : "");
	pthread_mutex_unlock(&g->master_mu);
	if (g->master != NULL &&
	    !eng_is_self(node, g->master, strlen(g->master)))
		room = ((uint64_t)1 << 32) |
		       eng_hash(g->master, strlen(g->master));
	atomic_store_explicit(&g->master_room, room, memory_order_relaxed);
}

/* drop_master - forget the current master. */
static void
drop_master(struct aemp_node *node, struct eng_global *g)
{
	eng_strfree(g->master);
	g->master = NULL;
	publish_master(node, g);
}

AEMP_API int
aemp_node_master(aemp_node *node, char *out, size_t cap)
{
	struct eng_global *g = eng_global(node);
	size_t n;

	if (out == NULL || cap == 0)
		return -EINVAL;
	pthread_mutex_lock(&g->master_mu);
	n = strlen(g->master_pub);
	snprintf(out, cap, "%s", g->master_pub);
	pthread_mutex_unlock(&g->master_mu);
	return n < cap ? (int)n : AEMP_ETOOBIG;
}

static void
set_master(struct eng_shard *sh0, const char *id, size_t idlen)
{
	struct eng_global *g = eng_global(sh0->node);
	struct eng_pending *p;

	eng_strfree(g->master);
	g->master = eng_strndup(id, idlen);
	publish_master(sh0->node, g);
	if (g->master == NULL)
		return;
	eng_log(sh0->node, AEMP_LOG_INFO, "master is %s", g->master);
	eng_global_send_g_slave(sh0, id, idlen, 1);
	for (p = g->pend; p != NULL; p = p->next)
		pend_send(sh0, p);
}

static void
find_master(struct eng_shard *sh0)
{
	struct eng_global *g = eng_global(sh0->node);
	const char *m;

	if (g->is_global || g->master != NULL)
		return;
	m = eng_seeds_up(g);
	if (m != NULL)
		set_master(sh0, m, strlen(m));
}

void
eng_global_become(struct eng_shard *sh0, const char *why)
{
	struct aemp_node *node = sh0->node;
	struct eng_global *g = eng_global(node);

	if (g->is_global)
		return;
	if (eng_gsvc_new(g) < 0) {
		eng_log(node, AEMP_LOG_CRIT, "cannot become global: no memory");
		return;
	}
	eng_log(node, AEMP_LOG_NOTE, "becoming a global node: %s", why);
	g->is_global = 1;
	atomic_store(&g->is_global_pub, 1);
	drop_master(node, g);
	set_master(sh0, node->id, node->idlen); /* our own slave */
	eng_local_set(sh0, "'g", 2, node->id, node->idlen, NULL);
	eng_gsvc_started(sh0);
}

/* ---- node events ---------------------------------------------------- */

void
eng_global_nodeev(struct eng_shard *sh0, const char *id, size_t idlen, int up,
                  int was_up)
{
	struct eng_global *g = eng_global(sh0->node);
	int seed = eng_seeds_is_seed(g, id, idlen);

	if (up) {
		if (g->is_global)
			eng_gsvc_node_up(sh0, id, idlen);
		if (seed) {
			/* as 2.x: g_slave to the seed, then (if it becomes
			 * our master) g_slave with our database */
			eng_global_send_g_slave(sh0, id, idlen, 0);
			find_master(sh0);
		}
		return;
	}
	if (!was_up)
		return;
	{
		void *old;

		/* as Perl's Global.pm: a node is only remembered as global
		 * while it is up (it says g_global again when it returns) */
		eng_kv_del(&g->known_globals, id, idlen, &old);
	}
	if (g->master != NULL && strlen(g->master) == idlen &&
	    memcmp(g->master, id, idlen) == 0) {
		drop_master(sh0->node, g);
		find_master(sh0);
	}
	if (g->is_global)
		eng_gsvc_node_down(sh0, id, idlen);
	if (seed)
		eng_seeds_restart(g);
}

/* ---- lookups -------------------------------------------------------- */

static void
send_addrs(struct eng_shard *sh0, int to, const char *id, size_t idlen,
           const aemp_val *list)
{
	struct eng_addr a[64];
	size_t i, n = 0;

	for (i = 0; list && list->type == AEMP_ARRAY && i < list->len; i++) {
		const aemp_val *s = &list->u.a[i];

		if (n < 64 && s->type == AEMP_STR &&
		    eng_addr_parse_numeric(s->u.s, s->len, &a[n]) == 0)
			n++;
	}
	eng_net_send_addrs(sh0, to, id, idlen, a, n);
}

void
eng_global_lookup(struct eng_shard *sh0, int from, const char *id, size_t idlen)
{
	struct eng_global *g = eng_global(sh0->node);

	(void)from;
	if (g->is_global) {
		send_addrs(sh0, eng_node_owner(sh0->node, id, idlen, NULL), id,
		           idlen, eng_gsvc_addrs(g, id, idlen));
		return;
	}
	if (pend_find(g, PEND_FIND, id, idlen) == NULL &&
	    eng_pend_add(sh0, PEND_FIND, id, idlen) == NULL)
		send_addrs(sh0, eng_node_owner(sh0->node, id, idlen, NULL), id,
		           idlen, NULL);
}

static void
client_found(struct eng_shard *sh0, const aemp_val *args, size_t n)
{
	struct eng_global *g = eng_global(sh0->node);
	struct eng_pending *p;

	if (n < 1 || args[0].type != AEMP_STR)
		return;
	p = pend_find(g, PEND_FIND, args[0].u.s, args[0].len);
	if (p != NULL)
		eng_pend_del(p);
	/* null means unknown: like an empty list (§5.3) */
	send_addrs(sh0,
	           eng_node_owner(sh0->node, args[0].u.s, args[0].len, NULL),
	           args[0].u.s, args[0].len, n > 1 ? &args[1] : NULL);
}

static void
client_reply(struct eng_shard *sh0, const aemp_val *args, size_t n)
{
	struct eng_global *g = eng_global(sh0->node);
	struct eng_pending *p;
	struct eng_ctx save;
	aemp_val empty = aemp_map(NULL, 0);

	if (n < 1 || args[0].type != AEMP_STR)
		return;
	p = pend_find_query(g, args[0].u.s, args[0].len);
	if (p == NULL)
		return;
	*p->pprev = p->next;
	if (p->next != NULL)
		p->next->pprev = p->pprev;
	eng_ctx_enter_id(sh0, &save, p->self);
	p->cb(sh0->node, p->arg,
	      n > 1 && args[1].type != AEMP_NULL ? &args[1] : &empty, p->cbarg);
	eng_ctx_leave(sh0, &save);
	pend_free(p);
}

/* ---- requests ------------------------------------------------------- */

static int
from_master(struct eng_global *g, const char *src, size_t srclen)
{
	return g->master != NULL && strlen(g->master) == srclen &&
	       memcmp(g->master, src, srclen) == 0;
}

static void
global_here(struct eng_shard *sh0, const aemp_val *tag, const aemp_val *args,
            size_t n, const char *src, size_t srclen)
{
	struct eng_global *g = eng_global(sh0->node);

	if (aemp_str_eq(tag, "g_slave") && n == 0) {
		eng_global_become(sh0, "received g_slave");
	} else if (aemp_str_eq(tag, "g_reply")) {
		client_reply(sh0, args, n);
	} else if (aemp_str_eq(tag, "g_found")) {
		client_found(sh0, args, n);
	} else if (aemp_str_eq(tag, "g_chg1") || aemp_str_eq(tag, "g_chg2")) {
		if (from_master(g, src, srclen))
			eng_client_g_chg(sh0, aemp_str_eq(tag, "g_chg1"), args,
			                 n);
	} else if (aemp_str_eq(tag, "g_global") && !g->is_global) {
		void *old;
		int had;

		eng_kv_put(&g->known_globals, src, srclen, NULL, &old, &had);
	} else if (aemp_str_eq(tag, "g_slave") && !g->is_global) {
		eng_global_become(sh0, "received g_slave");
		eng_gsvc_request(sh0, tag, args, n, src, srclen);
	} else if (!g->is_global ||
	           !eng_gsvc_request(sh0, tag, args, n, src, srclen)) {
		eng_log(sh0->node, AEMP_LOG_ERROR,
		        "unknown request '%.*s' from %.*s (not a global node)",
		        (int)AEMP_MIN(tag->len, 64u), tag->u.s, (int)srclen,
		        src);
	}
}

void
eng_global_request(struct eng_shard *sh, const aemp_val *tag,
                   const aemp_val *args, size_t n, const char *src,
                   size_t srclen)
{
	struct cod_seg segs[2] = {{tag, 1}, {args, n}};

	if (sh->idx == 0) {
		global_here(sh, tag, args, n, src, srclen);
		return;
	}
	/* The global protocol lives on the control shard. */
	eng_snd_node_from(sh, 0, src, srclen, segs, 2);
}

static int
is_global(struct aemp_node *node)
{
	struct eng_global *g = eng_global(node);

	return g != NULL && atomic_load(&g->is_global_pub);
}

AEMP_API int
aemp_node_is_global(aemp_node *node)
{
	return is_global(node);
}

int
eng_global_knows(struct aemp_node *node, const aemp_val *tag)
{
	static const char *const tags[] = {
	        "g_set",     "g_upd",       "g_find", "g_db_family",
	        "g_db_keys", "g_db_values", "g_mon1", "g_mon0",
	};
	size_t i;

	if (!is_global(node))
		return 0;
	for (i = 0; i < AEMP_ARRAY_LEN(tags); i++) {
		if (aemp_str_eq(tag, tags[i]))
			return 1;
	}
	return 0;
}

/* ---- records and seeds ---------------------------------------------- */

/* eng_global_forget - the owner freed node id's record: an address
 * lookup still waiting for a master has nobody to answer any more (a new
 * record asks again, behind this notice on the same queue). */
static void
eng_global_forget(struct eng_shard *sh0, const char *id, size_t idlen)
{
	struct eng_pending *p =
	        pend_find(eng_global(sh0->node), PEND_FIND, id, idlen);

	if (p != NULL)
		eng_pend_del(p);
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
eng_global_record(struct eng_shard *sh0, const uint8_t *p, size_t len)
{
	uint8_t sub = p[0];
	struct eng_addr addr;
	uint16_t idlen;

	p++;
	len--;
	switch (sub) {
	case NET_LOOKUP:
		eng_global_lookup(sh0, p[0], (const char *)p + 1, len - 1);
		break;
	case NET_FORGET:
		eng_global_forget(sh0, (const char *)p, len);
		break;
	case NET_PEERID:
		AEMP_ASSERT(len >= sizeof(addr) + sizeof(idlen));
		memcpy(&addr, p, sizeof(addr));
		memcpy(&idlen, p + sizeof(addr), sizeof(idlen));
		eng_global_seed_peer(
		        sh0, &addr,
		        (const char *)p + sizeof(addr) + sizeof(idlen), idlen);
		break;
	default:
		eng_log(sh0->node, AEMP_LOG_CRIT, "unknown network record %u",
		        sub);
		break;
	}
}

/* ---- start: listeners in 'l, services, seeds ------------------------ */

static void
start_service(struct eng_shard *sh0, const aemp_val *s)
{
	const aemp_val *name = s->type == AEMP_ARRAY ? aemp_at(s, 0) : s;
	const struct eng_func *f;

	if (name == NULL || name->type != AEMP_STR)
		return;
	if (aemp_str_eq(name, "AnyEvent::MP::Global::")) {
		eng_global_become(sh0, "service AnyEvent::MP::Global::");
		return;
	}
	f = eng_mod_find(sh0, name->u.s, name->len); /* may load a module */
	if (f == NULL || f->builtin) {
		eng_log(sh0->node, AEMP_LOG_WARN,
		        "service '%.*s' is not a registered function, skipped",
		        (int)AEMP_MIN(name->len, 200u), name->u.s);
		return;
	}
	if (f->fn(sh0->node, s->type == AEMP_ARRAY ? s->u.a + 1 : NULL,
	          s->type == AEMP_ARRAY ? s->len - 1 : 0, f->arg) < 0)
		eng_log(sh0->node, AEMP_LOG_ERROR, "service %s failed: %s",
		        f->name, eng_die_text(sh0, -1));
}

void
eng_global_started(struct eng_shard *sh0)
{
	struct aemp_node *node = sh0->node;
	const aemp_val *svc = node->cfg.services;
	size_t i;

	eng_global(node)->sh0 = sh0;
	/* configure step 6: our listeners in 'l (§7.1) */
	eng_local_set(sh0, "'l", 2, node->id, node->idlen,
	              eng_net(node)->lst_val);
	eng_seeds_start(sh0, eng_global(node));
	for (i = 0; svc != NULL && i < svc->len; i++)
		start_service(sh0, &svc->u.a[i]);
}
