/*
 * engine/global/gsvc.c - the global service (aemp-protocol.md §6.4-§6.8, §5.10),
 * run by global nodes on the control shard: the shards of every slave
 * and other global node, GLOBAL_DB, the update algorithm of §6.6 with
 * restore, forwarding and notification, the g_set exchange between
 * globals, departure cleanup, queries, family monitors, and the
 * reconnection list that keeps the mesh of global nodes connected.
 *
 * Invariants: GLOBAL_DB is the union of all shards (most recent write
 * wins; deletions restore a surviving shard's value); every node in
 * SLAVES (ourselves included) and every other global has its SHARD;
 * the reconnection list is the set of keys of GLOBAL_DB['g] minus us.
 *
 * Threads: shard 0 only.
 */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "engine/global/globalint.h"
#include "ring/alloc.h"

static void keep_run(struct ring_timer *t);

static void
free_db_val(void *v)
{
	if (v != NULL) {
		eng_db_fini(v);
		ring_free(v, sizeof(struct eng_db));
	}
}

static void
free_kv_val(void *v)
{
	if (v != NULL) {
		eng_kv_fini(v, NULL);
		ring_free(v, sizeof(struct eng_kv));
	}
}

static void
no_free(void *v)
{
	(void)v;
}

int
eng_gsvc_new(struct eng_global *g)
{
	struct eng_gsvc *s = ring_zalloc(sizeof(*s));

	if (s == NULL)
		return -ENOMEM;
	eng_db_init(&s->global);
	eng_kv_init(&s->shards);
	eng_kv_init(&s->slaves);
	eng_kv_init(&s->globals);
	eng_kv_init(&s->mon);
	eng_kv_init(&s->keep);
	ring_timer_init(&s->keep_timer, keep_run);
	s->keep_delay = 0.3;
	g->svc = s;
	return 0;
}

void
eng_gsvc_free(struct eng_global *g)
{
	struct eng_gsvc *s = g->svc;

	if (s == NULL)
		return;
	/* the final drain of a stopping shard may have re-armed it */
	if (g->sh0 != NULL)
		ring_timer_stop(&g->sh0->loop.timers, &s->keep_timer);
	eng_db_fini(&s->global);
	eng_kv_fini(&s->shards, free_db_val);
	eng_kv_fini(&s->slaves, no_free);
	eng_kv_fini(&s->globals, no_free);
	eng_kv_fini(&s->mon, free_kv_val);
	eng_kv_fini(&s->keep, no_free);
	ring_free(s, sizeof(*s));
	g->svc = NULL;
}

static int
set_add(struct eng_kv *set, const char *k, size_t klen)
{
	void *old;
	int had;

	return eng_kv_put(set, k, klen, NULL, &old, &had);
}

static void
set_del(struct eng_kv *set, const char *k, size_t klen)
{
	void *old;

	eng_kv_del(set, k, klen, &old);
}

static struct eng_db *
shard_get(struct eng_gsvc *s, const char *n, size_t nlen, int create)
{
	struct eng_kv_ent *e = eng_kv_find(&s->shards, n, nlen);
	struct eng_db *db;
	void *old;
	int had;

	if (e != NULL || !create)
		return e ? e->val : NULL;
	db = ring_alloc(sizeof(*db));
	if (db == NULL)
		return NULL;
	eng_db_init(db);
	if (eng_kv_put(&s->shards, n, nlen, db, &old, &had) < 0) {
		ring_free(db, sizeof(*db));
		return NULL;
	}
	return db;
}

/* ---- the update algorithm (§6.6) ------------------------------------ */

/* A growing list of keys and a map of key -> value (borrowed values). */
struct keys {
	aemp_val *v;
	size_t n, cap;
};

/* Keys keep their string flags (kflags), so they go out as they came. */
static void
keys_add(struct keys *k, const char *s, size_t len, uint8_t kflags)
{
	size_t cap = k->cap ? 2 * k->cap : 16;
	aemp_val *nv;

	if (k->n == k->cap) {
		/* cap grows only with the array: a failed realloc drops the
		 * key, and the next call must not write past the old block */
		nv = ring_realloc(k->v, cap * sizeof(aemp_val));
		if (nv == NULL)
			return;
		k->v = nv;
		k->cap = cap;
	}
	k->v[k->n] = aemp_strn(s, len);
	k->v[k->n++].flags = ENG_KFLAGS(kflags);
}

/* kv pairs: 2 values per entry */
static void
pairs_add(struct keys *k, const char *s, size_t len, uint8_t kflags,
          const aemp_val *v)
{
	keys_add(k, s, len, kflags);
	if (k->n % 2 == 1)
		keys_add(k, "", 0, 0);
	k->v[k->n - 1] = v ? *v : aemp_null();
}

static void
keys_fini(struct keys *k)
{
	ring_free(k->v, k->cap * sizeof(aemp_val));
}

struct other {
	const char *f;
	size_t flen;
	const char *k;
	size_t klen;
	struct eng_gsvc *s;
	const struct eng_vent *slave; /* value and key flags */
	const struct eng_vent *global;
};

static void
other_cb(struct eng_kv_ent *e, void *arg)
{
	struct other *o = arg;
	const struct eng_vent *x;

	if ((x = eng_db_entry(e->val, o->f, o->flen, o->k, o->klen)) == NULL)
		return;
	if (eng_kv_find(&o->s->slaves, e->key, e->klen) != NULL) {
		if (o->slave == NULL)
			o->slave = x;
	} else if (o->global == NULL) {
		o->global = x;
	}
}

struct upd {
	struct eng_shard *sh0;
	const char *f;
	size_t flen;
	int local;
	struct keys set;        /* pairs: forwarded and notified */
	struct keys extra;      /* pairs: notified only */
	struct keys del_global; /* forwarded deletions */
	struct keys del_notify; /* notified deletions */
};

/* Key k (string flags kf) was deleted from a shard: restore, forward or
 * delete it in GLOBAL_DB (§6.6 step 3). */
static void
upd_del_key(struct upd *u, struct eng_gsvc *s, const char *k, size_t klen,
            uint8_t kf)
{
	struct other o = {u->f, u->flen, k, klen, s, NULL, NULL};
	const struct eng_vent *x;
	const aemp_val *cur;
	int has = eng_db_get(&s->global, u->f, u->flen, k, klen, &cur);

	eng_kv_each(&s->shards, other_cb, &o);
	if ((x = o.slave) != NULL) {
		if (!has || !eng_val_same(cur, eng_vent_val(x))) {
			eng_db_set(&s->global, u->f, u->flen, k, klen,
			           x->kflags, eng_vent_val(x));
			pairs_add(&u->set, k, klen, x->kflags, eng_vent_val(x));
		}
	} else if ((x = o.global) != NULL) {
		keys_add(&u->del_global, k, klen, kf);
		if (!has || !eng_val_same(cur, eng_vent_val(x))) {
			eng_db_set(&s->global, u->f, u->flen, k, klen,
			           x->kflags, eng_vent_val(x));
			pairs_add(&u->extra, k, klen, x->kflags,
			          eng_vent_val(x));
		}
	} else {
		eng_db_del(&s->global, u->f, u->flen, k, klen);
		keys_add(&u->del_notify, k, klen, kf);
		if (u->local)
			keys_add(&u->del_global, k, klen, kf);
	}
}

struct sendto {
	struct eng_shard *sh0;
	const struct cod_seg *seg;
};

static void
sendto_cb(struct eng_kv_ent *e, void *arg)
{
	struct sendto *t = arg;

	eng_gsend(t->sh0, e->key, e->klen, t->seg, 1);
}

static void
upd_finish(struct upd *u, struct eng_gsvc *s)
{
	aemp_val v[5];
	struct cod_seg seg = {v, 5};
	struct sendto t = {u->sh0, &seg};
	struct eng_kv_ent *mon;
	size_t i;

	v[1] = aemp_strn(u->f, u->flen);
	if (u->local && (u->set.n > 0 || u->del_global.n > 0)) {
		v[0] = aemp_str("g_upd");
		v[2] = aemp_map(u->set.v, u->set.n / 2);
		v[3] = aemp_array(u->del_global.v, u->del_global.n);
		seg.n = 4;
		eng_kv_each(&s->globals, sendto_cb, &t);
	}
	if (u->set.n + u->extra.n + u->del_notify.n == 0)
		return;
	mon = eng_kv_find(&s->mon, u->f, u->flen);
	if (mon == NULL)
		return;
	for (i = 0; i < u->extra.n; i += 2)
		pairs_add(&u->set, u->extra.v[i].u.s, u->extra.v[i].len,
		          u->extra.v[i].flags, &u->extra.v[i + 1]);
	v[0] = aemp_str("g_chg2");
	v[2] = aemp_map(u->set.v, u->set.n / 2);
	v[3] = aemp_array(u->del_notify.v, u->del_notify.n);
	seg.n = 4;
	eng_kv_each(mon->val, sendto_cb, &t);
}

static void keep_update(struct eng_shard *sh0);

static void
upd_prefetch(struct eng_db *S, struct eng_gsvc *s, const char *f, size_t flen,
             const aemp_val *k)
{
	if (k->type == AEMP_STR) {
		eng_db_prefetch(S, f, flen, k->u.s, k->len);
		eng_db_prefetch(&s->global, f, flen, k->u.s, k->len);
	}
}

static void
upd(struct eng_shard *sh0, const char *n, size_t nlen, const char *f,
    size_t flen, const aemp_val *set, const aemp_val *del)
{
	struct eng_gsvc *s = eng_global(sh0->node)->svc;
	struct upd u = {sh0, f, flen, 0, {0}, {0}, {0}, {0}};
	struct eng_db *S = shard_get(s, n, nlen, 1);
	size_t i;

	if (S == NULL)
		return;
	u.local = eng_kv_find(&s->slaves, n, nlen) != NULL;
	for (i = 0; set && set->type == AEMP_MAP && i < set->len; i++) {
		const aemp_val *k = &set->u.a[2 * i], *v = &set->u.a[2 * i + 1];

		/* Both tables' lines of this key, then of the next one: in
		 * families of many keys each lookup misses the cache, and
		 * the misses overlap (docs/perf.md). */
		if (i == 0)
			upd_prefetch(S, s, f, flen, k);
		if (i + 1 < set->len)
			upd_prefetch(S, s, f, flen, &set->u.a[2 * i + 2]);
		if (k->type != AEMP_STR || k->len == 0)
			continue;
		eng_db_set(S, f, flen, k->u.s, k->len, k->flags, v);
		eng_db_set(&s->global, f, flen, k->u.s, k->len, k->flags, v);
		pairs_add(&u.set, k->u.s, k->len, k->flags, v);
	}
	for (i = 0; del && del->type == AEMP_ARRAY && i < del->len; i++) {
		const aemp_val *k = &del->u.a[i];

		if (k->type != AEMP_STR ||
		    !eng_db_del(S, f, flen, k->u.s, k->len))
			continue;
		upd_del_key(&u, s, k->u.s, k->len, k->flags);
	}
	eng_db_drop_if_empty(S, f, flen);
	eng_db_drop_if_empty(&s->global, f, flen);
	upd_finish(&u, s);
	keys_fini(&u.set);
	keys_fini(&u.extra);
	keys_fini(&u.del_global);
	keys_fini(&u.del_notify);
	if (flen == 2 && memcmp(f, "'g", 2) == 0)
		keep_update(sh0);
}

/* upd_all - g_slave / g_set: one update per family, no deletions. */
static void
upd_all(struct eng_shard *sh0, const char *n, size_t nlen, const aemp_val *db)
{
	size_t i;

	for (i = 0; db && db->type == AEMP_MAP && i < db->len; i++) {
		const aemp_val *f = &db->u.a[2 * i];

		if (f->type == AEMP_STR && f->len > 0)
			upd(sh0, n, nlen, f->u.s, f->len, &db->u.a[2 * i + 1],
			    NULL);
	}
}

/* ---- departure (§6.8) and the global exchange (§6.7) --------------- */

/* delete_shard - every key of SHARD[n] through the algorithm of §6.6
 * (iterating a copy: the updates change the shard), then drop it. */
static void
delete_shard(struct eng_shard *sh0, struct eng_gsvc *s, const char *n,
             size_t nlen)
{
	struct eng_db *S = shard_get(s, n, nlen, 0);
	aemp_val *copy, keys[1];
	void *old;
	size_t i, j;

	if (S == NULL)
		return;
	copy = eng_db_to_map(S);
	for (i = 0; copy != NULL && i < copy->len; i++) {
		const aemp_val *f = &copy->u.a[2 * i],
		               *m = &copy->u.a[2 * i + 1];
		aemp_val *k = ring_alloc((m->len + 1) * sizeof(aemp_val));

		if (k == NULL)
			continue;
		for (j = 0; j < m->len; j++)
			k[j] = m->u.a[2 * j];
		keys[0] = aemp_array(k, m->len);
		upd(sh0, n, nlen, f->u.s, f->len, NULL, keys);
		ring_free(k, (m->len + 1) * sizeof(aemp_val));
	}
	aemp_val_free(copy);
	if (eng_kv_del(&s->shards, n, nlen, &old))
		free_db_val(old);
}

struct unmon {
	const char *n;
	size_t nlen;
	struct keys empty; /* families nobody monitors any more */
};

static void
unmon_cb(struct eng_kv_ent *e, void *arg)
{
	struct unmon *u = arg;

	set_del(e->val, u->n, u->nlen);
	if (eng_kv_len(e->val) == 0)
		keys_add(&u->empty, e->key, e->klen, 0);
}

/* unmon_all - n monitors no family any more; families left without a
 * monitor are dropped (as Global.pm's g_disconnect). */
static void
unmon_all(struct eng_gsvc *s, const char *n, size_t nlen)
{
	struct unmon u = {n, nlen, {0}};
	void *old;
	size_t i;

	eng_kv_each(&s->mon, unmon_cb, &u);
	for (i = 0; i < u.empty.n; i++) {
		if (eng_kv_del(&s->mon, u.empty.v[i].u.s, u.empty.v[i].len,
		               &old))
			free_kv_val(old);
	}
	keys_fini(&u.empty);
}

static void
departure(struct eng_shard *sh0, const char *n, size_t nlen)
{
	struct eng_gsvc *s = eng_global(sh0->node)->svc;

	set_del(&s->globals, n, nlen);
	eng_local_del(sh0, "'g", 2, n, nlen);
	eng_local_del(sh0, "'l", 2, n, nlen);
	/* while n still counts as a slave, so its deletions are forwarded */
	delete_shard(sh0, s, n, nlen);
	set_del(&s->slaves, n, nlen);
	/* also a node that monitored without being our slave: nothing of
	 * a departed node stays behind */
	unmon_all(s, n, nlen);
}

struct merge {
	struct eng_gsvc *s;
	struct eng_db *out;
};

static void
merge_fam(struct eng_kv_ent *fam, void *arg)
{
	struct eng_db *out = ((struct merge *)arg)->out;
	struct eng_vmap *m = fam->val;
	aemp_val *pairs = eng_vmap_to_map(m);
	size_t i;

	for (i = 0; pairs != NULL && i < pairs->len; i++) {
		const aemp_val *k = &pairs->u.a[2 * i];

		eng_db_set(out, fam->key, fam->klen, k->u.s, k->len, k->flags,
		           &pairs->u.a[2 * i + 1]);
	}
	aemp_val_free(pairs);
}

static void
merge_slave(struct eng_kv_ent *e, void *arg)
{
	struct merge *mg = arg;
	struct eng_db *S = shard_get(mg->s, e->key, e->klen, 0);

	if (S != NULL)
		eng_kv_each(&S->fam, merge_fam, mg);
}

void
eng_gsvc_g2g(struct eng_shard *sh0, const char *id, size_t idlen)
{
	struct eng_gsvc *s = eng_global(sh0->node)->svc;
	struct eng_db merged;
	struct merge mg = {s, &merged};
	aemp_val v[2], *db;
	struct cod_seg seg = {v, 2};

	departure(sh0, id, idlen);
	set_add(&s->globals, id, idlen);
	eng_local_set(sh0, "'g", 2, id, idlen, NULL);
	eng_db_init(&merged);
	eng_kv_each(&s->slaves, merge_slave, &mg);
	db = eng_db_to_map(&merged);
	eng_db_fini(&merged);
	if (db == NULL)
		return;
	v[0] = aemp_str("g_set");
	v[1] = *db;
	eng_gsend(sh0, id, idlen, &seg, 1);
	aemp_val_free(db);
}

static void
g_set(struct eng_shard *sh0, const char *src, size_t srclen, const aemp_val *db)
{
	const aemp_val *l = aemp_map_get(db, "'l");
	char id[AEMP_ID_MAX];
	const aemp_val *addrs;

	upd_all(sh0, src, srclen, db);
	/* mirror the sender's listeners into our own 'l (§6.7) */
	if (l == NULL || srclen >= sizeof(id))
		return;
	memcpy(id, src, srclen);
	id[srclen] = '\0';
	addrs = aemp_map_get(l, id);
	if (addrs != NULL)
		eng_local_set(sh0, "'l", 2, src, srclen, addrs);
}

/* ---- queries and monitors ------------------------------------------ */

static void
reply(struct eng_shard *sh0, const char *to, size_t tolen, const char *tag,
      const aemp_val *a, const aemp_val *b)
{
	aemp_val v[3] = {aemp_str(tag), *a, *b};
	struct cod_seg seg = {v, 3};

	eng_gsend(sh0, to, tolen, &seg, 1);
}

static void
query(struct eng_shard *sh0, const aemp_val *tag, const aemp_val *args,
      size_t n, const char *src, size_t srclen)
{
	struct eng_gsvc *s = eng_global(sh0->node)->svc;
	struct eng_vmap *m;
	aemp_val *res;

	if (n < 2 || args[0].type != AEMP_STR)
		return;
	m = eng_db_family(&s->global, args[0].u.s, args[0].len, 0);
	if (aemp_str_eq(tag, "g_db_family"))
		res = eng_vmap_to_map(m);
	else if (aemp_str_eq(tag, "g_db_keys"))
		res = eng_vmap_keys(m);
	else
		res = eng_vmap_values(m);
	if (res != NULL)
		reply(sh0, src, srclen, "g_reply", &args[1], res);
	aemp_val_free(res);
}

static void
g_find(struct eng_shard *sh0, const aemp_val *args, size_t n, const char *src,
       size_t srclen)
{
	const aemp_val *a, nul = aemp_null();

	if (n < 1 || args[0].type != AEMP_STR)
		return;
	a = eng_gsvc_addrs(eng_global(sh0->node), args[0].u.s, args[0].len);
	reply(sh0, src, srclen, "g_found", &args[0], a ? a : &nul);
}

static void
g_mon(struct eng_shard *sh0, int on, const aemp_val *args, size_t n,
      const char *src, size_t srclen)
{
	struct eng_gsvc *s = eng_global(sh0->node)->svc;
	struct eng_kv_ent *e;
	struct eng_kv *set;
	struct eng_vmap *fam;
	aemp_val *map, nul = aemp_null();
	void *old;
	int had;

	if (n < 1 || args[0].type != AEMP_STR)
		return;
	e = eng_kv_find(&s->mon, args[0].u.s, args[0].len);
	if (!on) {
		if (e != NULL)
			set_del(e->val, src, srclen);
		if (e != NULL && eng_kv_len(e->val) == 0 &&
		    eng_kv_del(&s->mon, args[0].u.s, args[0].len, &old))
			free_kv_val(old);
		return;
	}
	if (e == NULL) {
		set = ring_alloc(sizeof(*set));
		if (set == NULL)
			return;
		eng_kv_init(set);
		if (eng_kv_put(&s->mon, args[0].u.s, args[0].len, set, &old,
		               &had) < 0) {
			ring_free(set, sizeof(*set));
			return;
		}
	} else {
		set = e->val;
	}
	set_add(set, src, srclen);
	fam = eng_db_family(&s->global, args[0].u.s, args[0].len, 0);
	map = fam != NULL ? eng_vmap_to_map(fam) : NULL;
	reply(sh0, src, srclen, "g_chg1", &args[0], map ? map : &nul);
	aemp_val_free(map);
}

const aemp_val *
eng_gsvc_addrs(struct eng_global *g, const char *id, size_t idlen)
{
	const aemp_val *v;

	if (g->svc == NULL ||
	    !eng_db_get(&g->svc->global, "'l", 2, id, idlen, &v))
		return NULL;
	return v;
}

void
eng_gsvc_self_upd(struct eng_shard *sh0, const char *f, size_t flen,
                  const aemp_val *set, const aemp_val *del)
{
	struct aemp_node *node = sh0->node;

	upd(sh0, node->id, node->idlen, f, flen, set, del);
}

void
eng_gsvc_self_slave(struct eng_shard *sh0, const aemp_val *db)
{
	struct aemp_node *node = sh0->node;
	struct eng_gsvc *s = eng_global(node)->svc;

	set_add(&s->slaves, node->id, node->idlen);
	upd_all(sh0, node->id, node->idlen, db);
}

int
eng_gsvc_request(struct eng_shard *sh0, const aemp_val *tag,
                 const aemp_val *args, size_t n, const char *src, size_t srclen)
{
	struct eng_gsvc *s = eng_global(sh0->node)->svc;

	if (aemp_str_eq(tag, "g_slave")) {
		if (n >= 1 && args[0].type == AEMP_MAP) {
			set_add(&s->slaves, src, srclen);
			upd_all(sh0, src, srclen, &args[0]);
		}
	} else if (aemp_str_eq(tag, "g_global")) {
		eng_gsvc_g2g(sh0, src, srclen);
	} else if (aemp_str_eq(tag, "g_set")) {
		if (n >= 1)
			g_set(sh0, src, srclen, &args[0]);
	} else if (aemp_str_eq(tag, "g_upd")) {
		if (n >= 2 && args[0].type == AEMP_STR)
			upd(sh0, src, srclen, args[0].u.s, args[0].len,
			    &args[1], n > 2 ? &args[2] : NULL);
	} else if (aemp_str_eq(tag, "g_find")) {
		g_find(sh0, args, n, src, srclen);
	} else if (aemp_str_eq(tag, "g_db_family") ||
	           aemp_str_eq(tag, "g_db_keys") ||
	           aemp_str_eq(tag, "g_db_values")) {
		query(sh0, tag, args, n, src, srclen);
	} else if (aemp_str_eq(tag, "g_mon1") || aemp_str_eq(tag, "g_mon0")) {
		g_mon(sh0, aemp_str_eq(tag, "g_mon1"), args, n, src, srclen);
	} else {
		return 0;
	}
	return 1;
}

/* ---- node events and the reconnection list (§5.10) ----------------- */

struct upnodes {
	struct eng_shard *sh0;
	struct keys ids;
};

static void
collect_up(void *e, void *arg)
{
	struct eng_upent *u = e;
	struct upnodes *un = arg;

	if (u->up)
		keys_add(&un->ids, u->id, u->idlen, 0);
}

void
eng_gsvc_started(struct eng_shard *sh0)
{
	struct aemp_node *node = sh0->node;
	struct eng_net *net = eng_net(node);
	struct eng_global *g = eng_global(node);
	struct upnodes un = {sh0, {0}};
	size_t i;

	pthread_mutex_lock(&net->upmu);
	eng_htab_each(&net->up, collect_up, &un);
	pthread_mutex_unlock(&net->upmu);
	for (i = 0; i < un.ids.n; i++) {
		const aemp_val *id = &un.ids.v[i];

		eng_gsvc_node_up(sh0, id->u.s, id->len);
		if (eng_kv_find(&g->known_globals, id->u.s, id->len) != NULL)
			eng_gsvc_g2g(sh0, id->u.s, id->len);
	}
	keys_fini(&un.ids);
}

void
eng_gsvc_node_up(struct eng_shard *sh0, const char *id, size_t idlen)
{
	aemp_val v = aemp_str("g_global");
	struct cod_seg seg = {&v, 1};

	eng_gsend(sh0, id, idlen, &seg, 1);
}

void
eng_gsvc_node_down(struct eng_shard *sh0, const char *id, size_t idlen)
{
	struct eng_gsvc *s = eng_global(sh0->node)->svc;

	departure(sh0, id, idlen);
	if (eng_kv_find(&s->keep, id, idlen) != NULL) {
		s->keep_delay = 0.3;
		ring_timer_start(&sh0->loop.timers, &s->keep_timer,
		                 ring_now_ns());
	}
}

static void
keep_add_cb(const struct eng_vent *e, void *arg)
{
	struct eng_shard *sh0 = arg;
	struct eng_gsvc *s = eng_global(sh0->node)->svc;

	if (!eng_is_self(sh0->node, eng_vent_key(e), e->klen))
		set_add(&s->keep, eng_vent_key(e), e->klen);
}

static void
keep_update(struct eng_shard *sh0)
{
	struct eng_gsvc *s = eng_global(sh0->node)->svc;
	struct eng_vmap *gfam = eng_db_family(&s->global, "'g", 2, 0);

	eng_kv_fini(&s->keep, no_free);
	eng_kv_init(&s->keep);
	if (gfam != NULL)
		eng_vmap_each(gfam, keep_add_cb, sh0);
	if (eng_kv_len(&s->keep) > 0 && !ring_timer_armed(&s->keep_timer)) {
		s->keep_delay = 0.3;
		ring_timer_start(&sh0->loop.timers, &s->keep_timer,
		                 ring_now_ns());
	}
}

struct keepctx {
	struct eng_shard *sh0;
	int down;
};

static void
keep_connect(struct eng_kv_ent *e, void *arg)
{
	struct keepctx *k = arg;
	struct eng_shard *sh0 = k->sh0;
	int owner;

	if (eng_node_is_up(sh0->node, e->key, e->klen) == 1)
		return;
	k->down++;
	owner = eng_node_owner(sh0->node, e->key, e->klen, NULL);
	eng_net_send_rec(sh0, owner, NET_CONNECT, e->key, e->klen);
}

static void
keep_run(struct ring_timer *t)
{
	struct eng_gsvc *s = AEMP_CONTAINER_OF(t, struct eng_gsvc, keep_timer);
	struct eng_shard *sh0 = eng_cur;
	double mt = sh0->node->cfg.monitor_timeout, delay;
	struct keepctx k = {sh0, 0};
	uint32_t r = 0;

	eng_kv_each(&s->keep, keep_connect, &k);
	if (k.down == 0)
		return;
	cry_random(&r, sizeof(r));
	/* 2 x 0.3 x (1 + random), doubling, capped at monitor_timeout */
	delay = 2 * s->keep_delay * (1 + (double)r / 4294967296.0);
	s->keep_delay = AEMP_MIN(s->keep_delay * 2, mt);
	if (delay > mt)
		delay = mt;
	ring_timer_start(&sh0->loop.timers, &s->keep_timer,
	                 ring_now_ns() + (uint64_t)(delay * 1e9));
}
