/*
 * engine/global/dbmap.c - string-keyed maps of the database (see dbmap.h).
 *
 * Threads: the control shard only.
 */
#include <errno.h>
#include <string.h>

#include "engine/global/dbmap.h"
#include "codec/codec.h"
#include "engine/core/eng.h"
#include "ring/alloc.h"

struct kv_key {
	const char *k;
	size_t len;
	uint32_t hash;
};

static uint32_t
ent_hash(const void *e)
{
	return ((const struct eng_kv_ent *)e)->hash;
}

static int
ent_eq(const void *e, const void *key)
{
	const struct eng_kv_ent *x = e;
	const struct kv_key *k = key;

	return x->hash == k->hash && x->klen == k->len &&
	       memcmp(x->key, k->k, k->len) == 0;
}

void
eng_kv_init(struct eng_kv *m)
{
	eng_htab_init(&m->t);
}

struct kv_free {
	void (*fn)(void *);
};

static void
free_ent(void *e, void *arg)
{
	struct eng_kv_ent *x = e;
	struct kv_free *f = arg;

	if (f->fn != NULL)
		f->fn(x->val);
	else
		aemp_val_free(x->val);
	ring_free(x, sizeof(*x) + x->klen + 1);
}

void
eng_kv_fini(struct eng_kv *m, void (*free_val)(void *))
{
	struct kv_free f = {free_val};

	eng_htab_each(&m->t, free_ent, &f);
	eng_htab_fini(&m->t);
}

struct eng_kv_ent *
eng_kv_find(const struct eng_kv *m, const char *k, size_t klen)
{
	struct kv_key key = {k, klen, eng_hash(k, klen)};

	return eng_htab_find(&m->t, key.hash, ent_eq, &key);
}

int
eng_kv_put(struct eng_kv *m, const char *k, size_t klen, void *val, void **old,
           int *had)
{
	struct eng_kv_ent *e = eng_kv_find(m, k, klen);

	*old = NULL;
	*had = e != NULL;
	if (e != NULL) {
		*old = e->val;
		e->val = val;
		return 0;
	}
	e = ring_alloc(sizeof(*e) + klen + 1);
	if (e == NULL)
		return -ENOMEM;
	e->hash = eng_hash(k, klen);
	e->klen = (uint32_t)klen;
	e->val = val;
	memcpy(e->key, k, klen);
	e->key[klen] = '\0';
	if (eng_htab_insert(&m->t, e->hash, e, ent_hash) < 0) {
		ring_free(e, sizeof(*e) + klen + 1);
		return -ENOMEM;
	}
	return 0;
}

int
eng_kv_del(struct eng_kv *m, const char *k, size_t klen, void **val)
{
	struct eng_kv_ent *e = eng_kv_find(m, k, klen);

	if (e == NULL)
		return 0;
	*val = e->val;
	eng_htab_remove(&m->t, e, ent_hash);
	ring_free(e, sizeof(*e) + e->klen + 1);
	return 1;
}

struct each_ctx {
	void (*fn)(struct eng_kv_ent *e, void *arg);
	void *arg;
};

static void
each_cb(void *e, void *arg)
{
	struct each_ctx *c = arg;

	c->fn(e, c->arg);
}

void
eng_kv_each(const struct eng_kv *m, void (*fn)(struct eng_kv_ent *e, void *arg),
            void *arg)
{
	struct each_ctx c = {fn, arg};

	eng_htab_each(&m->t, each_cb, &c);
}

/* ---- value maps ----------------------------------------------------- */

_Static_assert(sizeof(struct eng_vent) == 64, "a value-map entry is a line");

#define VMAP_MIN 8u

/* A value that fits the entry: everything but strings and containers. */
static int
v_inline(const aemp_val *v)
{
	return v->type == AEMP_NULL || v->type == AEMP_BOOL ||
	       v->type == AEMP_INT || v->type == AEMP_UINT ||
	       v->type == AEMP_FLOAT;
}

/* vmake - e's value from v (a copy); -ENOMEM leaves e as it was. */
static int
vmake(struct eng_vent *e, const aemp_val *v)
{
	aemp_val *copy;

	if (v == NULL || (v->type == AEMP_NULL && v->flags == 0)) {
		e->vkind = ENG_V_NULL; /* a plain null is stored as NULL */
	} else if (v_inline(v)) {
		e->v.in = *v;
		e->vkind = ENG_V_IN;
	} else {
		if ((copy = aemp_val_dup(v)) == NULL)
			return -ENOMEM;
		e->v.own = copy;
		e->vkind = ENG_V_OWN;
	}
	return 0;
}

static void
vent_release(struct eng_vent *e)
{
	if (e->vkind == ENG_V_OWN)
		aemp_val_free(e->v.own);
	if (!e->kin)
		ring_free(e->k.own, (size_t)e->klen + 1);
}

void
eng_vmap_fini(struct eng_vmap *m)
{
	uint32_t i;

	for (i = 0; m->slot != NULL && i <= m->mask; i++)
		if (m->slot[i].used)
			vent_release(&m->slot[i]);
	if (m->slot != NULL)
		ring_free_table(m->slot, ((size_t)m->mask + 1) *
		                                 sizeof(struct eng_vent));
	eng_vmap_init(m);
}

/* probe - the index of k's entry (*found = 1) or of the free slot where
 * its probe path ends (*found = 0).  m must have slots. */
static uint32_t
probe(const struct eng_vmap *m, uint32_t h, const char *k, size_t klen,
      int *found)
{
	const struct eng_vent *e;
	uint32_t i;

	for (i = h & m->mask; (e = &m->slot[i])->used; i = (i + 1) & m->mask) {
		if (e->hash == h && e->klen == klen &&
		    memcmp(eng_vent_key(e), k, klen) == 0) {
			*found = 1;
			return i;
		}
	}
	*found = 0;
	return i;
}

const struct eng_vent *
eng_vmap_find(const struct eng_vmap *m, const char *k, size_t klen)
{
	uint32_t i;
	int found;

	if (m->len == 0)
		return NULL;
	i = probe(m, eng_hash(k, klen), k, klen, &found);
	return found ? &m->slot[i] : NULL;
}

/* vresize - cap slots, entries moved over (keys and values go along:
 * nothing points into an entry from outside). */
static int
vresize(struct eng_vmap *m, uint32_t cap)
{
	struct eng_vent *ns;
	uint32_t i, j, oldcap = m->slot ? m->mask + 1 : 0;

	ns = ring_alloc_table((size_t)cap * sizeof(*ns));
	if (ns == NULL)
		return -ENOMEM;
	for (i = 0; i < oldcap; i++) {
		if (!m->slot[i].used)
			continue;
		for (j = m->slot[i].hash & (cap - 1); ns[j].used;
		     j = (j + 1) & (cap - 1))
			;
		ns[j] = m->slot[i];
	}
	if (m->slot != NULL)
		ring_free_table(m->slot, (size_t)oldcap * sizeof(*ns));
	m->slot = ns;
	m->mask = cap - 1;
	return 0;
}

int
eng_vmap_set(struct eng_vmap *m, const char *k, size_t klen, uint8_t kflags,
             const aemp_val *v, int *had)
{
	uint32_t h = eng_hash(k, klen), i = 0, cap = m->slot ? m->mask + 1 : 0;
	struct eng_vent ne, *e;
	int found = 0;

	if (klen > UINT32_MAX - 1)
		return -ENOMEM;
	if (m->slot != NULL)
		i = probe(m, h, k, klen, &found);
	*had = found;
	if (found) { /* a change, in place: one lookup, one line */
		e = &m->slot[i];
		e->kflags = ENG_KFLAGS(kflags);
		if (eng_val_same(eng_vent_val(e), v))
			return 0;
		ne = *e;
		if (vmake(&ne, v) < 0)
			return -ENOMEM;
		if (e->vkind == ENG_V_OWN)
			aemp_val_free(e->v.own);
		e->v = ne.v;
		e->vkind = ne.vkind;
		return 1;
	}
	memset(&ne, 0, sizeof(ne));
	if (vmake(&ne, v) < 0)
		return -ENOMEM;
	ne.used = 1;
	ne.hash = h;
	ne.klen = (uint32_t)klen;
	ne.kflags = ENG_KFLAGS(kflags);
	ne.kin = klen < sizeof(ne.k.in);
	if (ne.kin) {
		memcpy(ne.k.in, k, klen);
	} else if ((ne.k.own = ring_alloc(klen + 1)) != NULL) {
		memcpy(ne.k.own, k, klen);
		ne.k.own[klen] = '\0';
	} else {
		ne.kin = 1; /* nothing to free */
		vent_release(&ne);
		return -ENOMEM;
	}
	if ((uint64_t)(m->len + 1) * 4 > (uint64_t)cap * 3) {
		if (cap >= (1u << 30) ||
		    vresize(m, cap ? cap * 2 : VMAP_MIN) < 0) {
			vent_release(&ne);
			return -ENOMEM;
		}
		i = probe(m, h, k, klen, &found);
	}
	m->slot[i] = ne;
	m->len++;
	return 1;
}

int
eng_vmap_del(struct eng_vmap *m, const char *k, size_t klen)
{
	uint32_t i, j;
	int found;

	if (m->len == 0)
		return 0;
	i = probe(m, eng_hash(k, klen), k, klen, &found);
	if (!found)
		return 0;
	vent_release(&m->slot[i]);
	m->slot[i].used = 0;
	m->len--;
	/* Shift back every later entry of the cluster that may move. */
	for (j = (i + 1) & m->mask; m->slot[j].used; j = (j + 1) & m->mask) {
		if (eng_htab_in_range(i, m->slot[j].hash & m->mask, j))
			continue;
		m->slot[i] = m->slot[j];
		m->slot[j].used = 0;
		i = j;
	}
	if (m->len == 0)
		eng_vmap_fini(m);
	else if (m->mask + 1 > VMAP_MIN && (uint64_t)m->len * 8 < m->mask + 1)
		(void)vresize(m, (m->mask + 1) / 2); /* failure is harmless */
	return 1;
}

void
eng_vmap_each(const struct eng_vmap *m,
              void (*fn)(const struct eng_vent *e, void *arg), void *arg)
{
	uint32_t i;

	for (i = 0; m->slot != NULL && i <= m->mask; i++)
		if (m->slot[i].used)
			fn(&m->slot[i], arg);
}

/* ---- databases ------------------------------------------------------ */

static void
free_family(void *v)
{
	struct eng_vmap *m = v;

	if (m == NULL)
		return;
	eng_vmap_fini(m);
	ring_free(m, sizeof(*m));
}

void
eng_db_init(struct eng_db *db)
{
	eng_kv_init(&db->fam);
}

void
eng_db_fini(struct eng_db *db)
{
	eng_kv_fini(&db->fam, free_family);
}

struct eng_vmap *
eng_db_family(struct eng_db *db, const char *f, size_t flen, int create)
{
	struct eng_kv_ent *e = eng_kv_find(&db->fam, f, flen);
	struct eng_vmap *m;
	void *old;
	int had;

	if (e != NULL)
		return e->val;
	if (!create)
		return NULL;
	m = ring_alloc(sizeof(*m));
	if (m == NULL)
		return NULL;
	eng_vmap_init(m);
	if (eng_kv_put(&db->fam, f, flen, m, &old, &had) < 0) {
		ring_free(m, sizeof(*m));
		return NULL;
	}
	return m;
}

void
eng_db_drop_if_empty(struct eng_db *db, const char *f, size_t flen)
{
	struct eng_vmap *m = eng_db_family(db, f, flen, 0);
	void *v;

	if (m != NULL && eng_vmap_len(m) == 0 &&
	    eng_kv_del(&db->fam, f, flen, &v))
		free_family(v);
}

int
eng_db_get(struct eng_db *db, const char *f, size_t flen, const char *k,
           size_t klen, const aemp_val **v)
{
	const struct eng_vent *e = eng_db_entry(db, f, flen, k, klen);

	if (e == NULL)
		return 0;
	*v = eng_vent_val(e);
	return 1;
}

const struct eng_vent *
eng_db_entry(struct eng_db *db, const char *f, size_t flen, const char *k,
             size_t klen)
{
	struct eng_vmap *m = eng_db_family(db, f, flen, 0);

	return m ? eng_vmap_find(m, k, klen) : NULL;
}

static int
val_identical(const aemp_val *a, const aemp_val *b)
{
	size_t i, n;

	if (a->type != b->type || a->flags != b->flags || a->len != b->len)
		return 0;
	switch (a->type) {
	case AEMP_NULL:
		return 1;
	case AEMP_STR:
		return a->len == 0 || memcmp(a->u.s, b->u.s, a->len) == 0;
	case AEMP_ARRAY:
	case AEMP_MAP:
	case AEMP_TAG:
		n = cod_nkids(a);
		for (i = 0; i < n; i++)
			if (!val_identical(&a->u.a[i], &b->u.a[i]))
				return 0;
		return 1;
	default: /* INT, BOOL, UINT, FLOAT: the bits (NaN, -0.0) */
		return a->u.u == b->u.u;
	}
}

int
eng_val_same(const aemp_val *a, const aemp_val *b)
{
	aemp_val n = aemp_null();

	return val_identical(a ? a : &n, b ? b : &n);
}

void
eng_db_prefetch(struct eng_db *db, const char *f, size_t flen, const char *k,
                size_t klen)
{
	eng_vmap_prefetch(eng_db_family(db, f, flen, 0), k, klen);
}

int
eng_db_set(struct eng_db *db, const char *f, size_t flen, const char *k,
           size_t klen, uint8_t kflags, const aemp_val *v)
{
	struct eng_vmap *m = eng_db_family(db, f, flen, 1);
	int had, rc;

	if (m == NULL)
		return -ENOMEM;
	rc = eng_vmap_set(m, k, klen, kflags, v, &had);
	if (rc < 0 && !had)
		eng_db_drop_if_empty(db, f, flen);
	return rc;
}

int
eng_db_del(struct eng_db *db, const char *f, size_t flen, const char *k,
           size_t klen)
{
	struct eng_vmap *m = eng_db_family(db, f, flen, 0);

	if (m == NULL || !eng_vmap_del(m, k, klen))
		return 0;
	eng_db_drop_if_empty(db, f, flen);
	return 1;
}

/* ---- views ---------------------------------------------------------- */

struct build {
	aemp_val *v;
	size_t i;
	int what; /* 0: k/v pairs, 1: keys, 2: values */
};

static void
build_cb(const struct eng_vent *e, void *arg)
{
	struct build *b = arg;
	const aemp_val *val = eng_vent_val(e);
	aemp_val key = aemp_strn(eng_vent_key(e), e->klen);

	key.flags = e->kflags;
	if (b->what != 2)
		b->v[b->i++] = key;
	if (b->what != 1)
		b->v[b->i++] = val ? *val : aemp_null();
}

static aemp_val *
vmap_view(const struct eng_vmap *m, int what)
{
	size_t n = m ? eng_vmap_len(m) : 0, per = what == 0 ? 2 : 1;
	struct build b = {NULL, 0, what};
	aemp_val top, *out;

	b.v = ring_alloc((n * per + 1) * sizeof(aemp_val));
	if (b.v == NULL)
		return NULL;
	if (m != NULL)
		eng_vmap_each(m, build_cb, &b);
	top = what == 0 ? aemp_map(b.v, n) : aemp_array(b.v, n);
	out = aemp_val_dup(&top);
	ring_free(b.v, (n * per + 1) * sizeof(aemp_val));
	return out;
}

aemp_val *
eng_vmap_to_map(const struct eng_vmap *m)
{
	return vmap_view(m, 0);
}

aemp_val *
eng_vmap_keys(const struct eng_vmap *m)
{
	return vmap_view(m, 1);
}

aemp_val *
eng_vmap_values(const struct eng_vmap *m)
{
	return vmap_view(m, 2);
}

struct dbbuild {
	aemp_val *top;    /* 2 * nfam */
	aemp_val **inner; /* per family: its kv array */
	size_t *innern;
	size_t i;
	int fail;
};

static void
db_build_cb(struct eng_kv_ent *e, void *arg)
{
	struct dbbuild *b = arg;
	const struct eng_vmap *m = e->val;
	size_t n = eng_vmap_len(m), f = b->i / 2;
	struct build ib = {NULL, 0, 0};

	ib.v = ring_alloc((2 * n + 1) * sizeof(aemp_val));
	b->inner[f] = ib.v;
	b->innern[f] = 2 * n + 1;
	if (ib.v == NULL) {
		b->fail = 1;
		return;
	}
	eng_vmap_each(m, build_cb, &ib);
	b->top[b->i++] = aemp_strn(e->key, e->klen);
	b->top[b->i++] = aemp_map(ib.v, n);
}
aemp_val *
eng_db_to_map(const struct eng_db *db)
{
	size_t nf = eng_kv_len(&db->fam), i;
	struct dbbuild b = {NULL, NULL, NULL, 0, 0};
	aemp_val top, *out = NULL;

	b.top = ring_alloc((2 * nf + 1) * sizeof(aemp_val));
	b.inner = ring_zalloc((nf + 1) * sizeof(*b.inner));
	b.innern = ring_zalloc((nf + 1) * sizeof(*b.innern));
	if (b.top != NULL && b.inner != NULL && b.innern != NULL) {
		eng_kv_each(&db->fam, db_build_cb, &b);
		top = aemp_map(b.top, nf);
		if (!b.fail)
			out = aemp_val_dup(&top);
	}
	for (i = 0; b.inner != NULL && i < nf; i++)
		ring_free(b.inner[i], b.innern[i] * sizeof(aemp_val));
	ring_free(b.inner, (nf + 1) * sizeof(*b.inner));
	ring_free(b.innern, (nf + 1) * sizeof(*b.innern));
	ring_free(b.top, (2 * nf + 1) * sizeof(aemp_val));
	return out;
}
