/*
 * engine/global/db.c - the database client on the control shard (aemp-protocol.md
 * §6.3, §6.10, §7.9): LOCAL_DB and its updates to the master, queries,
 * family mirrors with g_chg1 / g_chg2, and the public aemp_db_* API.
 *
 * Callbacks run on the control shard in the caller's port context; the
 * first db_mon callback comes in a later loop turn; mirrors are read-only
 * to callbacks.
 *
 * Threads: shard 0; the public functions post from any thread.
 */
#include <errno.h>
#include <string.h>

#include "engine/core/flat.h"
#include "engine/global/global.h"
#include "engine/global/globalint.h"
#include "ring/alloc.h"

struct eng_pending *eng_pend_add(struct eng_shard *sh0, uint8_t kind,
                                 const char *arg, size_t arglen);
void eng_pend_del(struct eng_pending *p);

/* ---- LOCAL_DB ------------------------------------------------------- */

static void
send_upd(struct eng_shard *sh0, const char *f, size_t flen, const aemp_val *set,
         const aemp_val *del)
{
	aemp_val v[4] = {aemp_str("g_upd"), aemp_strn(f, flen),
	                 set ? *set : aemp_null(), del ? *del : aemp_null()};
	struct cod_seg seg = {v, del ? 4 : 3};
	struct eng_global *g = eng_global(sh0->node);

	if (g->is_global) /* our own master */
		eng_gsvc_self_upd(sh0, f, flen, set, del);
	else if (g->master != NULL)
		eng_gsend(sh0, g->master, strlen(g->master), &seg, 1);
}

int
eng_local_set(struct eng_shard *sh0, const char *f, size_t flen, const char *k,
              size_t klen, const aemp_val *v)
{
	struct eng_global *g = eng_global(sh0->node);
	aemp_val kv[2] = {aemp_strn(k, klen), v ? *v : aemp_null()};
	aemp_val set = aemp_map(kv, 1);
	int rc;

	eng_local_flush(sh0);
	rc = eng_db_set(&g->local, f, flen, k, klen, 0, v);
	if (rc > 0)
		send_upd(sh0, f, flen, &set, NULL); /* only when it changed */
	return rc < 0 ? rc : 0;
}

int
eng_local_del(struct eng_shard *sh0, const char *f, size_t flen, const char *k,
              size_t klen)
{
	struct eng_global *g = eng_global(sh0->node);
	aemp_val key = aemp_strn(k, klen);
	aemp_val del = aemp_array(&key, 1);

	eng_local_flush(sh0);
	if (eng_db_del(&g->local, f, flen, k, klen))
		send_upd(sh0, f, flen, NULL, &del);
	return 0;
}

/* ---- LOCAL_DB writes in batches --------------------------------------- */

/*
 * aemp_db_set, aemp_db_reg and aemp_db_del queue their write on the
 * control shard (the call's strings and value are taken over, nothing is
 * copied), and a zero-delay timer applies the queue in the next loop turn.
 * In a family of 100,000 keys every lookup in LOCAL_DB misses the cache;
 * in a batch the next writes' table lines are loaded while one is applied,
 * so the misses overlap.  The changes of consecutive writes to one family
 * go to the master as one g_upd (at most DBQ_GROUP keys, none twice, so no
 * change is merged into another), which the master applies and forwards
 * as one g_chg2: a batch again at every step (docs/perf.md, "Distributed
 * database").  Whatever reads LOCAL_DB or sends g_* traffic applies the
 * queue first (eng_gsend, eng_local_set, eng_local_del, g_slave), so the
 * master sees writes and requests in the order of the calls.
 */
#define DBQ_MAX 1024 /* queued writes: a full queue is applied at once */
#define DBQ_MAX_BYTES ((size_t)1 << 20) /* so is one of this many bytes */
#define DBQ_GROUP 64                    /* keys per g_upd */
#define DBQ_AHEAD 4 /* writes prefetched ahead of the one applied */

/* One g_upd being built: changes of one family, each key once. */
struct dbq_group {
	const char *f;
	size_t flen;
	aemp_val set[2 * DBQ_GROUP];
	aemp_val del[DBQ_GROUP];
	uint32_t hash[DBQ_GROUP];
	const struct eng_dbq_op *op[DBQ_GROUP];
	size_t nset, ndel, n;
};

static void
group_send(struct eng_shard *sh0, struct dbq_group *gr)
{
	aemp_val set = aemp_map(gr->set, gr->nset);
	aemp_val del = aemp_array(gr->del, gr->ndel);

	if (gr->n > 0)
		send_upd(sh0, gr->f, gr->flen, gr->nset ? &set : NULL,
		         gr->ndel ? &del : NULL);
	gr->nset = gr->ndel = gr->n = 0;
}

/* group_has - is op's key in the group already? */
static int
group_has(const struct dbq_group *gr, const struct eng_dbq_op *op, uint32_t h)
{
	size_t i;

	for (i = 0; i < gr->n; i++) {
		if (gr->hash[i] == h && gr->op[i]->klen == op->klen &&
		    memcmp(gr->op[i]->k, op->k, op->klen) == 0)
			return 1;
	}
	return 0;
}

static void
group_add(struct eng_shard *sh0, struct dbq_group *gr,
          const struct eng_dbq_op *op, const aemp_val *v)
{
	uint32_t h = eng_hash(op->k, op->klen);

	if (gr->n > 0 &&
	    (gr->n == DBQ_GROUP || gr->flen != op->flen ||
	     memcmp(gr->f, op->f, op->flen) != 0 || group_has(gr, op, h)))
		group_send(sh0, gr);
	gr->f = op->f;
	gr->flen = op->flen;
	gr->hash[gr->n] = h;
	gr->op[gr->n++] = op;
	if (op->del) {
		gr->del[gr->ndel++] = aemp_strn(op->k, op->klen);
	} else {
		gr->set[2 * gr->nset] = aemp_strn(op->k, op->klen);
		gr->set[2 * gr->nset++ + 1] = v ? *v : aemp_null();
	}
}

static const aemp_val *
op_val(const struct eng_dbq_op *op)
{
	return op->msg != NULL && op->msg->len == 1 ? &op->msg->u.a[0] : NULL;
}

static void
op_free(struct eng_dbq_op *op)
{
	eng_strfree(op->f);
	eng_strfree(op->k);
	aemp_val_free(op->msg);
}

void
eng_local_flush(struct eng_shard *sh0)
{
	struct eng_global *g = eng_global(sh0->node);
	struct eng_dbq_op *ops = g->dbq.v, *op;
	size_t n = g->dbq.n, cap = g->dbq.cap, i;
	struct dbq_group *gr;
	int rc, nomem = 0;

	if (n == 0)
		return;
	/* taken out first: sending below may come back here */
	g->dbq.v = NULL;
	g->dbq.n = g->dbq.cap = g->dbq.bytes = 0;
	if ((gr = ring_alloc(sizeof(*gr))) != NULL)
		gr->n = gr->nset = gr->ndel = 0;
	for (i = 0; i < n; i++) {
		op = &ops[i];
		if (i + DBQ_AHEAD < n)
			eng_db_prefetch(&g->local, ops[i + DBQ_AHEAD].f,
			                ops[i + DBQ_AHEAD].flen,
			                ops[i + DBQ_AHEAD].k,
			                ops[i + DBQ_AHEAD].klen);
		if (op->del)
			rc = eng_db_del(&g->local, op->f, op->flen, op->k,
			                op->klen);
		else
			rc = eng_db_set(&g->local, op->f, op->flen, op->k,
			                op->klen, 0, op_val(op));
		if (rc < 0 || (rc > 0 && gr == NULL))
			nomem++; /* not applied, or a change not sent */
		else if (rc > 0) /* only changes go out */
			group_add(sh0, gr, op, op_val(op));
	}
	if (gr != NULL) {
		group_send(sh0, gr);
		ring_free(gr, sizeof(*gr));
	}
	for (i = 0; i < n; i++)
		op_free(&ops[i]);
	ring_free(ops, cap * sizeof(*ops));
	if (nomem > 0)
		eng_log(sh0->node, AEMP_LOG_CRIT,
		        "out of memory: %d database write(s) not applied or "
		        "not sent to the master",
		        nomem);
}

static void
flush_timer(aemp_node *node, void *arg)
{
	(void)node;
	(void)arg;
	eng_global(eng_cur->node)->dbq.armed = 0;
	eng_local_flush(eng_cur);
}

/* local_queue - queue the write of call c (DB_SET, DB_REG: set; DB_DEL),
 * taking over its strings and value.  Returns 0 or -ENOMEM. */
static int
local_queue(struct eng_shard *sh0, struct eng_call *c, int del)
{
	struct eng_dbq *q = &eng_global(sh0->node)->dbq;
	struct eng_dbq_op *op, *nv;
	size_t cap;

	if (q->n == DBQ_MAX)
		eng_local_flush(sh0);
	if (q->n == q->cap) {
		cap = q->cap ? 2 * q->cap : 64;
		nv = ring_realloc(q->v, cap * sizeof(*nv));
		if (nv == NULL)
			return -ENOMEM;
		q->v = nv;
		q->cap = cap;
	}
	if (!q->armed) {
		if (aemp_after(sh0->node, 0, flush_timer, NULL, NULL) < 0)
			return -ENOMEM;
		q->armed = 1;
	}
	op = &q->v[q->n++];
	op->f = c->s[0];
	op->k = c->s[1];
	op->flen = strlen(op->f);
	op->klen = strlen(op->k);
	op->msg = del ? NULL : c->msg;
	op->del = del;
	c->s[0] = c->s[1] = NULL;
	if (!del)
		c->msg = NULL;
	/* bounded in bytes too: values may be large */
	q->bytes += op->flen + op->klen + sizeof(*op);
	if (op->msg != NULL) {
		struct cod_seg seg = {op->msg, 1};
		struct eng_flat_plan plan;

		if (eng_flat_plan(0, &seg, 1, &plan) == 0)
			q->bytes += plan.size;
	}
	if (q->bytes >= DBQ_MAX_BYTES)
		eng_local_flush(sh0);
	return 0;
}

void
eng_local_queue_free(struct eng_global *g)
{
	size_t i;

	for (i = 0; i < g->dbq.n; i++)
		op_free(&g->dbq.v[i]);
	ring_free(g->dbq.v, g->dbq.cap * sizeof(*g->dbq.v));
	memset(&g->dbq, 0, sizeof(g->dbq));
}

/* ---- mirrors -------------------------------------------------------- */

/* Subscriptions are owned by the guard table (eng_db_obj_free), so a
 * mirror never frees them: the two may be torn down in either order. */
static void
mirror_free(void *v)
{
	struct eng_mirror *m = v;

	if (m == NULL)
		return;
	eng_vmap_fini(&m->map.kv);
	eng_strfree(m->family);
	ring_free(m, sizeof(*m));
}

void
eng_mirrors_free(struct eng_global *g)
{
	eng_kv_fini(&g->mirrors, mirror_free);
}

/* Key lists of one notification. */
struct diff {
	aemp_val *v;
	size_t n;
	size_t cap;
	int own; /* keys are copies (they outlive entries) */
};

static int
diff_add(struct diff *d, const char *k, size_t klen)
{
	size_t cap = d->cap ? 2 * d->cap : 16;
	aemp_val *nv;
	char *copy = NULL;

	if (d->n == d->cap) {
		nv = ring_realloc(d->v, cap * sizeof(aemp_val));
		if (nv == NULL)
			return -ENOMEM;
		d->v = nv;
		d->cap = cap;
	}
	if (d->own && (copy = eng_strndup(k, klen)) == NULL)
		return -ENOMEM;
	d->v[d->n++] = aemp_strn(copy ? copy : k, klen);
	return 0;
}

static void
diff_fini(struct diff *d)
{
	size_t i;

	for (i = 0; d->own && i < d->n; i++)
		ring_free((char *)(uintptr_t)d->v[i].u.s, d->v[i].len + 1);
	ring_free(d->v, d->cap * sizeof(aemp_val));
}

static void
call_sub(struct eng_shard *sh0, struct eng_dbmon *s, const aemp_val *a,
         const aemp_val *c, const aemp_val *d)
{
	struct eng_ctx save;

	eng_ctx_enter_id(sh0, &save, s->self);
	s->cb(sh0->node, s->mir->family, &s->mir->map, a, c, d, s->arg);
	eng_ctx_leave(sh0, &save);
}

/* notify - the subscribers of m get the changed keys and the mirror as it
 * is now: O(changes), whatever the family's size. */
static void
notify(struct eng_shard *sh0, struct eng_mirror *m, struct diff *a,
       struct diff *c, struct diff *d)
{
	aemp_val av = aemp_array(a->v, a->n), cv = aemp_array(c->v, c->n);
	aemp_val dv = aemp_array(d->v, d->n);
	struct eng_dbmon *s, *next;

	for (s = m->subs; s != NULL; s = next) {
		next = s->next; /* a callback may cancel itself */
		if (s->primed)
			call_sub(sh0, s, &av, &cv, &dv);
	}
}

/* mirror_store - set k in the mirror; record it as added or changed. */
static void
mirror_store(struct eng_mirror *m, const aemp_val *k, const aemp_val *v,
             struct diff *a, struct diff *c)
{
	int had;

	if (eng_vmap_set(&m->map.kv, k->u.s, k->len, k->flags, v, &had) < 0)
		return;
	/* a value set again unchanged is still reported as changed */
	diff_add(had ? c : a, k->u.s, k->len);
}

struct resync {
	const aemp_val *hash;
	struct diff *d;
	struct diff gone;
};

static void
resync_cb(const struct eng_vent *e, void *arg)
{
	struct resync *r = arg;

	if (r->hash == NULL || aemp_map_get(r->hash, eng_vent_key(e)) == NULL)
		diff_add(&r->gone, eng_vent_key(e), e->klen);
}

/* g_chg1 (full) or g_chg2 (incremental) for a mirrored family. */
void
eng_client_g_chg(struct eng_shard *sh0, int full, const aemp_val *args,
                 size_t n)
{
	struct eng_global *g = eng_global(sh0->node);
	/* deleted keys are copied: the mirror entries they name go away */
	struct diff a = {0}, c = {0}, d = {.own = 1};
	const aemp_val *set = n > 1 ? &args[1] : NULL;
	struct eng_kv_ent *e;
	struct eng_mirror *m;
	size_t i;

	if (n < 1 || args[0].type != AEMP_STR)
		return;
	e = eng_kv_find(&g->mirrors, args[0].u.s, args[0].len);
	if (e == NULL)
		return;
	m = e->val;
	if (full) {
		struct resync r = {set && set->type == AEMP_MAP ? set : NULL,
		                   &d,
		                   {.own = 1}};

		eng_vmap_each(&m->map.kv, resync_cb, &r);
		d = r.gone;
	} else if (n > 2 && args[2].type == AEMP_ARRAY) {
		for (i = 0; i < args[2].len; i++) {
			const aemp_val *k = &args[2].u.a[i];

			if (k->type == AEMP_STR)
				diff_add(&d, k->u.s, k->len);
		}
	}
	for (i = 0; i < d.n; i++) {
		(void)eng_vmap_del(&m->map.kv, d.v[i].u.s, d.v[i].len);
	}
	for (i = 0; set && set->type == AEMP_MAP && i < set->len; i++) {
		const aemp_val *next = &set->u.a[2 * i + 2];

		/* the next key's line, while this one is stored */
		if (i + 1 < set->len && next->type == AEMP_STR)
			eng_vmap_prefetch(&m->map.kv, next->u.s, next->len);
		if (set->u.a[2 * i].type == AEMP_STR)
			mirror_store(m, &set->u.a[2 * i], &set->u.a[2 * i + 1],
			             &a, &c);
	}
	notify(sh0, m, &a, &c, &d);
	diff_fini(&a);
	diff_fini(&c);
	diff_fini(&d);
}

/* The first callback of a subscription, in a later loop turn. */
static void
prime(aemp_node *node, void *arg)
{
	struct eng_shard *sh0 = eng_cur;
	uint64_t id = (uint64_t)(uintptr_t)arg;
	struct eng_obj *o = eng_obj_find(sh0, id);
	struct eng_dbmon *s = (struct eng_dbmon *)o;
	aemp_val *keys, none = aemp_array(NULL, 0);

	(void)node;
	if (o == NULL || o->kind != OBJ_DBMON || s->primed)
		return;
	s->primed = 1;
	keys = eng_vmap_keys(&s->mir->map.kv);
	if (keys != NULL)
		call_sub(sh0, s, keys, &none, &none);
	else
		eng_log(sh0->node, AEMP_LOG_ERROR,
		        "db_mon %s: out of memory for the first callback",
		        s->mir->family);
	aemp_val_free(keys);
}

static int
dbmon_here(struct eng_shard *sh0, const char *f, aemp_dbmon_fn cb, void *arg,
           uint64_t id)
{
	struct eng_global *g = eng_global(sh0->node);
	size_t flen = strlen(f);
	struct eng_kv_ent *e = eng_kv_find(&g->mirrors, f, flen);
	struct eng_mirror *m;
	struct eng_dbmon *s = ring_zalloc(sizeof(*s));
	void *old;
	int had, fresh = e == NULL;

	if (s == NULL || eng_self_dup(sh0, &s->self) < 0)
		goto nomem;
	if (fresh) {
		m = ring_zalloc(sizeof(*m));
		if (m == NULL || (m->family = eng_strndup(f, flen)) == NULL ||
		    eng_kv_put(&g->mirrors, f, flen, m, &old, &had) < 0) {
			if (m != NULL)
				eng_strfree(m->family);
			ring_free(m, sizeof(*m));
			goto nomem;
		}
		eng_vmap_init(&m->map.kv);
		m->mon = eng_pend_add(sh0, PEND_MON, f, flen);
	} else {
		m = e->val;
	}
	s->obj.kind = OBJ_DBMON;
	s->obj.id = id;
	s->mir = m;
	s->cb = cb;
	s->arg = arg;
	s->next = m->subs;
	m->subs = s;
	eng_obj_add(sh0, &s->obj);
	/* A new mirror is primed by the master's g_chg1; an existing one
	 * answers at once, in a later loop turn (§6.10). */
	s->primed = fresh;
	if (!fresh)
		aemp_after(sh0->node, 0, prime, (void *)(uintptr_t)id, NULL);
	return 0;
nomem:
	if (s != NULL)
		eng_strfree(s->self);
	ring_free(s, sizeof(*s));
	return -ENOMEM;
}

static void
dbmon_cancel(struct eng_shard *sh0, struct eng_dbmon *s)
{
	struct eng_global *g = eng_global(sh0->node);
	struct eng_mirror *m = s->mir;
	struct eng_dbmon **sp;
	aemp_val v[2];
	struct cod_seg seg = {v, 2};
	void *old;

	for (sp = &m->subs; *sp != s; sp = &(*sp)->next)
		;
	*sp = s->next;
	eng_obj_del(sh0, &s->obj);
	eng_strfree(s->self);
	ring_free(s, sizeof(*s));
	if (m->subs != NULL)
		return;
	/* the last callback went: stop monitoring the family */
	if (m->mon != NULL)
		eng_pend_del(m->mon);
	v[0] = aemp_str("g_mon0");
	v[1] = aemp_str(m->family);
	if (g->master != NULL)
		eng_gsend(sh0, g->master, strlen(g->master), &seg, 1);
	if (eng_kv_del(&g->mirrors, m->family, strlen(m->family), &old))
		mirror_free(old);
}

/* ---- guards --------------------------------------------------------- */

static void
dbset_free(struct eng_dbset *d)
{
	eng_strfree(d->family);
	eng_strfree(d->key);
	ring_free(d, sizeof(*d));
}

void
eng_db_obj_cancel(struct eng_shard *sh0, struct eng_obj *o)
{
	if (o->kind == OBJ_DBMON) {
		dbmon_cancel(sh0, (struct eng_dbmon *)o);
		return;
	}
	{
		struct eng_dbset *d = (struct eng_dbset *)o;

		eng_obj_del(sh0, o);
		aemp_guard_cancel(sh0->node, &d->mon);
		eng_local_del(sh0, d->family, strlen(d->family), d->key,
		              strlen(d->key));
		dbset_free(d);
	}
}

void
eng_db_obj_free(struct eng_obj *o)
{
	if (o->kind == OBJ_DBSET) {
		dbset_free((struct eng_dbset *)o);
	} else {
		struct eng_dbmon *s = (struct eng_dbmon *)o;

		eng_strfree(s->self);
		ring_free(s, sizeof(*s));
	}
}

static int
dbset_guard(struct eng_shard *sh0, const char *f, const char *k, uint64_t id,
            struct eng_dbset **out)
{
	struct eng_dbset *d = ring_zalloc(sizeof(*d));

	if (d == NULL)
		return -ENOMEM;
	d->obj.kind = OBJ_DBSET;
	d->obj.id = id;
	d->family = eng_strndup(f, strlen(f));
	d->key = eng_strndup(k, strlen(k));
	if (d->family == NULL || d->key == NULL) {
		dbset_free(d);
		return -ENOMEM;
	}
	eng_obj_add(sh0, &d->obj);
	*out = d;
	return 0;
}

/* ---- the public API ------------------------------------------------- */

enum db_op {
	DB_SET = 1,
	DB_DEL = 2,
	DB_REG = 3,
	DB_FAMILY = 4,
	DB_KEYS = 5,
	DB_VALUES = 6,
	DB_MON = 7,
};

/* db_reg's monitor: the port died, for any reason: delete its key. */
static void
reg_died(aemp_node *node, const aemp_val *reason, size_t n, void *arg)
{
	struct eng_shard *sh0 = eng_cur;
	uint64_t id = (uint64_t)(uintptr_t)arg;
	struct eng_obj *o = eng_obj_find(sh0, id);

	(void)node;
	(void)reason;
	(void)n;
	if (o != NULL && o->kind == OBJ_DBSET) {
		((struct eng_dbset *)o)->mon.v = 0; /* fired */
		eng_db_obj_cancel(sh0, o);
	}
}

static void
db_exec(struct eng_shard *sh0, struct eng_call *c)
{
	const char *f = c->s[0], *k = c->s[1];
	struct eng_dbset *d = NULL;
	struct eng_pending *p;

	switch (c->u[0]) {
	case DB_SET:
	case DB_REG:
		/* the guard first: the queue takes the call's strings */
		c->rc = c->u[1] != 0 ? dbset_guard(sh0, f, k, c->u[1], &d) : 0;
		if (c->rc == 0 && (c->rc = local_queue(sh0, c, 0)) < 0 &&
		    c->u[1] != 0) {
			eng_obj_del(sh0, &d->obj);
			dbset_free(d);
		}
		if (c->rc == 0 && c->u[1] != 0 && c->u[0] == DB_REG)
			aemp_mon(sh0->node, d->key, reg_died,
			         (void *)(uintptr_t)c->u[1], &d->mon);
		break;
	case DB_DEL:
		if ((c->rc = local_queue(sh0, c, 1)) < 0)
			c->rc = eng_local_del(sh0, f, strlen(f), k, strlen(k));
		break;
	case DB_MON:
		eng_local_flush(sh0);
		c->rc = dbmon_here(sh0, f, (aemp_dbmon_fn)c->fp, c->p[0],
		                   c->u[1]);
		break;
	default:
		eng_local_flush(sh0);
		p = eng_pend_add(sh0,
		                 (uint8_t)(c->u[0] - DB_FAMILY + PEND_FAMILY),
		                 f, strlen(f));
		if (p == NULL) {
			c->rc = -ENOMEM;
			break;
		}
		p->cb = (aemp_db_fn)c->fp;
		p->cbarg = c->p[0];
		c->rc = eng_self_dup(sh0, &p->self);
		break;
	}
}

/* db_room - writes go to the master: -EAGAIN while the connection to it
 * is above max_queue (any thread). */
static int
db_room(aemp_node *node, int op)
{
	uint64_t m = atomic_load_explicit(&eng_global(node)->master_room,
	                                  memory_order_relaxed);

	if (m == 0 || (op != DB_SET && op != DB_DEL && op != DB_REG))
		return 0;
	return eng_remote_room(node, (uint32_t)m);
}

static int
db_post(aemp_node *node, int op, const char *f, const char *k,
        const aemp_val *v, void (*fp)(void), void *arg, aemp_guard *guard)
{
	struct eng_global *g = eng_global(node);
	struct eng_call *c;
	int rc;

	if (guard != NULL)
		guard->v = 0;
	if (f == NULL || f[0] == '\0' || (k != NULL && k[0] == '\0'))
		return -EINVAL;
	if (strlen(f) >= AEMP_ID_MAX || (k != NULL && strlen(k) >= AEMP_ID_MAX))
		return AEMP_ETOOBIG;
	if ((rc = db_room(node, op)) < 0)
		return rc;
	c = eng_call_new(db_exec, 0);
	if (c == NULL)
		return -ENOMEM;
	c->u[0] = (uint64_t)op;
	if (guard != NULL || op == DB_REG || op == DB_MON)
		c->u[1] = ENG_ID_MAKE(0, atomic_fetch_add(&g->ids, 1));
	if (guard != NULL)
		guard->v = c->u[1];
	c->fp = fp;
	c->p[0] = arg;
	c->s[0] = eng_strndup(f, strlen(f));
	c->s[1] = k ? eng_strndup(k, strlen(k)) : NULL;
	c->msg = aemp_msg_dup(v, v ? 1 : 0);
	if (c->s[0] == NULL || (k != NULL && c->s[1] == NULL) ||
	    c->msg == NULL) {
		eng_call_free(c);
		return -ENOMEM;
	}
	if (eng_here(node) != NULL && eng_here(node)->idx == 0) {
		/* on the control shard: at once, so a guard cancelled right
		 * after finds its object */
		db_exec(eng_here(node), c);
		rc = c->rc;
		eng_call_free(c);
		return rc;
	}
	if (eng_here(node) != NULL) /* another shard: bounded, -EAGAIN */
		rc = eng_post_try(eng_here(node), 0, c);
	else
		rc = eng_post(node, 0, c);
	if (rc < 0 && guard != NULL)
		guard->v = 0;
	return rc;
}

AEMP_API int
aemp_db_set(aemp_node *node, const char *family, const char *key,
            const aemp_val *value, aemp_guard *guard)
{
	if (key == NULL)
		return -EINVAL;
	return db_post(node, DB_SET, family, key, value, NULL, NULL, guard);
}

AEMP_API int
aemp_db_del(aemp_node *node, const char *family, const char *key)
{
	if (key == NULL)
		return -EINVAL;
	return db_post(node, DB_DEL, family, key, NULL, NULL, NULL, NULL);
}

AEMP_API int
aemp_db_reg(aemp_node *node, const char *family, const char *port,
            const aemp_val *value, aemp_guard *guard)
{
	aemp_guard dummy;

	if (port == NULL && (port = aemp_self(node)) == NULL)
		return AEMP_ENOCONTEXT;
	return db_post(node, DB_REG, family, port, value, NULL, NULL,
	               guard ? guard : &dummy);
}

AEMP_API int
aemp_db_family(aemp_node *node, const char *family, aemp_db_fn cb, void *arg)
{
	if (cb == NULL)
		return -EINVAL;
	return db_post(node, DB_FAMILY, family, NULL, NULL, (void (*)(void))cb,
	               arg, NULL);
}

AEMP_API int
aemp_db_keys(aemp_node *node, const char *family, aemp_db_fn cb, void *arg)
{
	if (cb == NULL)
		return -EINVAL;
	return db_post(node, DB_KEYS, family, NULL, NULL, (void (*)(void))cb,
	               arg, NULL);
}

AEMP_API int
aemp_db_values(aemp_node *node, const char *family, aemp_db_fn cb, void *arg)
{
	if (cb == NULL)
		return -EINVAL;
	return db_post(node, DB_VALUES, family, NULL, NULL, (void (*)(void))cb,
	               arg, NULL);
}

AEMP_API int
aemp_db_mon(aemp_node *node, const char *family, aemp_dbmon_fn cb, void *arg,
            aemp_guard *guard)
{
	aemp_guard dummy;

	if (cb == NULL)
		return -EINVAL;
	return db_post(node, DB_MON, family, NULL, NULL, (void (*)(void))cb,
	               arg, guard ? guard : &dummy);
}

/* ---- the mirror as callbacks see it ----------------------------------- */

static const aemp_val null_value = {.type = AEMP_NULL};

AEMP_API const aemp_val *
aemp_dbmirror_get(const aemp_dbmirror *m, const char *key, size_t keylen)
{
	const struct eng_vent *e = eng_vmap_find(&m->kv, key, keylen);

	if (e == NULL)
		return NULL;
	return eng_vent_val(e) != NULL ? eng_vent_val(e) : &null_value;
}

AEMP_API size_t
aemp_dbmirror_len(const aemp_dbmirror *m)
{
	return eng_vmap_len(&m->kv);
}

struct each_ctx {
	int (*fn)(const char *key, size_t keylen, const aemp_val *value,
	          void *arg);
	void *arg;
	int rc;
};

static void
each_cb(const struct eng_vent *e, void *arg)
{
	struct each_ctx *x = arg;
	const aemp_val *v = eng_vent_val(e);

	if (x->rc == 0)
		x->rc = x->fn(eng_vent_key(e), e->klen,
		              v != NULL ? v : &null_value, x->arg);
}

AEMP_API int
aemp_dbmirror_each(const aemp_dbmirror *m,
                   int (*fn)(const char *key, size_t keylen,
                             const aemp_val *value, void *arg),
                   void *arg)
{
	struct each_ctx x = {fn, arg, 0};

	eng_vmap_each(&m->kv, each_cb, &x);
	return x.rc;
}

AEMP_API aemp_val *
aemp_dbmirror_map(const aemp_dbmirror *m)
{
	return eng_vmap_to_map(&m->kv);
}

/* ---- sizes (metrics, aemp::stats) ------------------------------------ */

static void
add_keys(struct eng_kv_ent *e, void *arg)
{
	*(uint64_t *)arg += eng_vmap_len(e->val);
}

/* dbsize_count - count the databases on shard 0 and publish the counts. */
static void
dbsize_count(struct eng_shard *sh0, struct eng_call *c)
{
	struct eng_global *g = eng_global(sh0->node);
	uint64_t v[4] = {0, 0, 0, 0};
	int i;

	(void)c;
	if (g == NULL)
		return;
	atomic_store(&g->dbsize_asked, 0);
	if (g->svc != NULL) {
		v[0] = eng_kv_len(&g->svc->global.fam);
		eng_kv_each(&g->svc->global.fam, add_keys, &v[1]);
	}
	v[2] = eng_kv_len(&g->local.fam);
	eng_kv_each(&g->local.fam, add_keys, &v[3]);
	for (i = 0; i < 4; i++)
		atomic_store_explicit(&g->dbsize[i], v[i],
		                      memory_order_relaxed);
}

void
eng_global_dbsize(struct aemp_node *node, int wait, uint64_t out[4])
{
	struct eng_shard *sh = eng_here(node);
	struct eng_global *g = eng_global(node);
	struct eng_call *c;
	int i;

	memset(out, 0, 4 * sizeof(out[0]));
	if (g == NULL)
		return;
	if (sh != NULL && sh->idx == 0) {
		dbsize_count(sh, NULL);
	} else if (atomic_load(&node->state) != NODE_RUNNING) {
		/* not started (calls would run inline) or stopping */
	} else if (wait && sh == NULL) {
		/* the metrics endpoint's thread: wait for shard 0's count
		 * (a shard never waits for another here: two could wait
		 * for each other) */
		if ((c = eng_call_new(dbsize_count, 1)) != NULL) {
			(void)eng_post(node, 0, c);
			eng_call_free(c);
		}
	} else if (atomic_exchange(&g->dbsize_asked, 1) == 0) {
		/* aemp_stats_get, a shard: the last count, and a new one
		 * asked for (one at a time) for the next call */
		c = eng_call_new(dbsize_count, 0);
		if (c == NULL)
			atomic_store(&g->dbsize_asked, 0);
		else if ((sh != NULL ? eng_post_try(sh, 0, c)
		                     : eng_post(node, 0, c)) < 0)
			atomic_store(&g->dbsize_asked, 0); /* c was freed */
	}
	for (i = 0; i < 4; i++)
		out[i] = atomic_load_explicit(&g->dbsize[i],
		                              memory_order_relaxed);
}
