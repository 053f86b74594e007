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
	e->kflags = 0;
	memcpy(e->key, k, klen);
	e->key[klen] = '\0';
	if (eng_htab_insert(&m->t, e->hash, e, ent_hash) < 0) {
		ring_free(e, sizeof(*e) + klen + 1);
		return -ENOMEM;
	}
	return 0;
}

void *
eng_kv_ent_set(struct eng_kv_ent *e, void *val, uint8_t kflags)
{
	void *old = e->val;

	e->val = val;
	e->kflags = ENG_KFLAGS(kflags);
	return old;
}

void
eng_kv_set_kflags(struct eng_kv *m, const char *k, size_t klen, uint8_t kflags)
{
	struct eng_kv_ent *e = eng_kv_find(m, k, klen);

	if (e != NULL)
		e->kflags = ENG_KFLAGS(kflags);
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

/* ---- databases ------------------------------------------------------ */

static void
free_family(void *v)
{
	struct eng_kv *m = v;

	if (m == NULL)
		return;
	eng_kv_fini(m, NULL);
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

struct eng_kv *
eng_db_family(struct eng_db *db, const char *f, size_t flen, int create)
{
	struct eng_kv_ent *e = eng_kv_find(&db->fam, f, flen);
	struct eng_kv *m;
	void *old;
	int had;

	if (e != NULL)
		return e->val;
	if (!create)
		return NULL;
	m = ring_alloc(sizeof(*m));
	if (m == NULL)
		return NULL;
	eng_kv_init(m);
	if (eng_kv_put(&db->fam, f, flen, m, &old, &had) < 0) {
		ring_free(m, sizeof(*m));
		return NULL;
	}
	return m;
}

void
eng_db_drop_if_empty(struct eng_db *db, const char *f, size_t flen)
{
	struct eng_kv *m = eng_db_family(db, f, flen, 0);
	void *v;

	if (m != NULL && eng_kv_len(m) == 0 &&
	    eng_kv_del(&db->fam, f, flen, &v))
		free_family(v);
}

int
eng_db_get(struct eng_db *db, const char *f, size_t flen, const char *k,
           size_t klen, const aemp_val **v)
{
	struct eng_kv *m = eng_db_family(db, f, flen, 0);
	struct eng_kv_ent *e = m ? eng_kv_find(m, k, klen) : NULL;

	if (e == NULL)
		return 0;
	*v = e->val;
	return 1;
}

struct eng_kv_ent *
eng_db_entry(struct eng_db *db, const char *f, size_t flen, const char *k,
             size_t klen)
{
	struct eng_kv *m = eng_db_family(db, f, flen, 0);

	return m ? eng_kv_find(m, k, klen) : NULL;
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

int
eng_db_set(struct eng_db *db, const char *f, size_t flen, const char *k,
           size_t klen, uint8_t kflags, const aemp_val *v)
{
	struct eng_kv *m = eng_db_family(db, f, flen, 1);
	struct eng_kv_ent *e;
	aemp_val *copy = NULL;
	void *old;
	int had;

	if (m == NULL)
		return -ENOMEM;
	e = eng_kv_find(m, k, klen);
	if (e != NULL && eng_val_same(e->val, v)) {
		e->kflags = ENG_KFLAGS(kflags);
		return 0;
	}
	/* A plain null is stored as NULL; `undefined` keeps its flag. */
	if (v != NULL && (v->type != AEMP_NULL || v->flags != 0) &&
	    (copy = aemp_val_dup(v)) == NULL)
		return -ENOMEM;
	if (e != NULL) { /* in place: no second and third lookup */
		aemp_val_free(eng_kv_ent_set(e, copy, kflags));
		return 1;
	}
	if (eng_kv_put(m, k, klen, copy, &old, &had) < 0) {
		aemp_val_free(copy);
		return -ENOMEM;
	}
	eng_kv_set_kflags(m, k, klen, kflags);
	aemp_val_free(old);
	return 1;
}

int
eng_db_del(struct eng_db *db, const char *f, size_t flen, const char *k,
           size_t klen)
{
	struct eng_kv *m = eng_db_family(db, f, flen, 0);
	void *v;

	if (m == NULL || !eng_kv_del(m, k, klen, &v))
		return 0;
	aemp_val_free(v);
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
build_cb(struct eng_kv_ent *e, void *arg)
{
	struct build *b = arg;
	const aemp_val *val = e->val;
	aemp_val key = aemp_strn(e->key, e->klen);

	key.flags = e->kflags;
	if (b->what != 2)
		b->v[b->i++] = key;
	if (b->what != 1)
		b->v[b->i++] = val ? *val : aemp_null();
}

static aemp_val *
kv_view(const struct eng_kv *m, int what)
{
	size_t n = m ? eng_kv_len(m) : 0, per = what == 0 ? 2 : 1;
	struct build b = {NULL, 0, what};
	aemp_val top, *out;

	b.v = ring_alloc((n * per + 1) * sizeof(aemp_val));
	if (b.v == NULL)
		return NULL;
	if (m != NULL)
		eng_kv_each(m, build_cb, &b);
	top = what == 0 ? aemp_map(b.v, n) : aemp_array(b.v, n);
	out = aemp_val_dup(&top);
	ring_free(b.v, (n * per + 1) * sizeof(aemp_val));
	return out;
}

aemp_val *
eng_kv_to_map(const struct eng_kv *m)
{
	return kv_view(m, 0);
}

aemp_val *
eng_kv_keys(const struct eng_kv *m)
{
	return kv_view(m, 1);
}

aemp_val *
eng_kv_values(const struct eng_kv *m)
{
	return kv_view(m, 2);
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
	const struct eng_kv *m = e->val;
	size_t n = eng_kv_len(m), f = b->i / 2;
	struct build ib = {NULL, 0, 0};

	ib.v = ring_alloc((2 * n + 1) * sizeof(aemp_val));
	b->inner[f] = ib.v;
	b->innern[f] = 2 * n + 1;
	if (ib.v == NULL) {
		b->fail = 1;
		return;
	}
	eng_kv_each(m, build_cb, &ib);
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
