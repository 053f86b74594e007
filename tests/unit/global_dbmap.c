/*
 * tests/unit/global_dbmap.c - the database's flat value maps
 * (engine/global/dbmap.h, struct eng_vmap) and the two-level database on
 * top: keys inside the entry and separate, scalar values inside and
 * copies, "same value" detection, deletion with backward shift (every
 * other key still found), growth and shrinking, views, and families
 * dropped when empty.  Run under AddressSanitizer in make test: nothing
 * may leak or be read after it moved.
 */
#include <stdio.h>
#include <string.h>

#include "engine/global/dbmap.h"
#include "tests/tap.h"

#define NKEYS 20000

/* key i: short keys inside the entry, every third one longer than 31
 * bytes (a separate copy), some with a NUL inside. */
static size_t
key_of(int i, char *buf, size_t cap)
{
	int n;

	if (i % 3 == 0)
		n = snprintf(buf, cap, "a-rather-long-key-of-a-registry-%08d",
		             i);
	else
		n = snprintf(buf, cap, "k%d", i);
	if (i % 7 == 0)
		buf[0] = '\0'; /* keys are bytes, not C strings */
	return (size_t)n;
}

/* value i: every kind, inline and copied. */
static aemp_val
val_of(int i, aemp_val kids[2])
{
	aemp_val v;

	switch (i % 6) {
	case 0:
		return aemp_int(i);
	case 1:
		return aemp_float(i + 0.5);
	case 2:
		return aemp_str("some text value");
	case 3:
		kids[0] = aemp_int(i);
		kids[1] = aemp_str("x");
		return aemp_array(kids, 2);
	case 4:
		v = aemp_null();
		v.flags = AEMP_VF_UNDEF;
		return v;
	default:
		return aemp_null(); /* stored as NULL */
	}
}

static int
all_found(const struct eng_vmap *m, int step, int deleted_mod)
{
	char key[64];
	aemp_val kids[2];
	int i, bad = 0;

	for (i = 0; i < NKEYS; i += step) {
		size_t klen = key_of(i, key, sizeof(key));
		const struct eng_vent *e = eng_vmap_find(m, key, klen);
		aemp_val want = val_of(i, kids);

		if (deleted_mod != 0 && i % deleted_mod == 0) {
			bad += e != NULL;
			continue;
		}
		if (e == NULL || e->klen != klen ||
		    memcmp(eng_vent_key(e), key, klen) != 0 ||
		    eng_vent_key(e)[klen] != '\0' ||
		    !eng_val_same(eng_vent_val(e), &want))
			bad++;
	}
	return bad;
}

static void
count_cb(const struct eng_vent *e, void *arg)
{
	(void)e;
	(*(size_t *)arg)++;
}

static void
test_vmap(void)
{
	struct eng_vmap m;
	char key[64];
	aemp_val kids[2], v;
	size_t klen, n = 0;
	int i, had = -1, bad = 0;
	aemp_val *view;

	eng_vmap_init(&m);
	CHECK(eng_vmap_find(&m, "x", 1) == NULL);
	CHECK_EQ(eng_vmap_del(&m, "x", 1), 0);
	for (i = 0; i < NKEYS; i++) {
		klen = key_of(i, key, sizeof(key));
		v = val_of(i, kids);
		if (eng_vmap_set(&m, key, klen, AEMP_VF_TEXT, &v, &had) != 1 ||
		    had != 0)
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(eng_vmap_len(&m), (size_t)NKEYS);
	CHECK_EQ(all_found(&m, 1, 0), 0);
	eng_vmap_each(&m, count_cb, &n);
	CHECK_EQ(n, (size_t)NKEYS);

	/* the same value again: 0, the key's flags updated all the same */
	klen = key_of(4, key, sizeof(key));
	v = val_of(4, kids);
	CHECK_EQ(eng_vmap_set(&m, key, klen, AEMP_VF_BYTES, &v, &had), 0);
	CHECK_EQ(had, 1);
	CHECK_EQ(eng_vmap_find(&m, key, klen)->kflags, AEMP_VF_BYTES);
	/* 1 and 1.0 differ; a copied value replaced by an inline one */
	klen = key_of(3, key, sizeof(key));
	v = aemp_float(3.0);
	CHECK_EQ(eng_vmap_set(&m, key, klen, 0, &v, &had), 1);
	CHECK(eng_val_same(eng_vent_val(eng_vmap_find(&m, key, klen)), &v));
	v = val_of(3, kids);
	CHECK_EQ(eng_vmap_set(&m, key, klen, AEMP_VF_TEXT, &v, &had), 1);
	/* a plain null is stored as NULL, undefined is not */
	klen = key_of(5, key, sizeof(key));
	CHECK(eng_vent_val(eng_vmap_find(&m, key, klen)) == NULL);
	klen = key_of(4, key, sizeof(key));
	CHECK(eng_vent_val(eng_vmap_find(&m, key, klen)) != NULL);

	view = eng_vmap_to_map(&m);
	CHECK(view != NULL && view->type == AEMP_MAP && view->len == NKEYS);
	aemp_val_free(view);
	view = eng_vmap_keys(&m);
	CHECK(view != NULL && view->type == AEMP_ARRAY && view->len == NKEYS);
	aemp_val_free(view);

	/* every third key away: the rest is still found after the shifts */
	bad = 0;
	for (i = 0; i < NKEYS; i += 3) {
		klen = key_of(i, key, sizeof(key));
		bad += eng_vmap_del(&m, key, klen) != 1;
		bad += eng_vmap_del(&m, key, klen) != 0;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(eng_vmap_len(&m), (size_t)(NKEYS - (NKEYS + 2) / 3));
	CHECK_EQ(all_found(&m, 1, 3), 0);

	/* down to a few keys: the table shrinks, the keys stay */
	bad = 0;
	for (i = 0; i < NKEYS - 10; i++) {
		klen = key_of(i, key, sizeof(key));
		(void)eng_vmap_del(&m, key, klen);
	}
	CHECK_EQ(eng_vmap_len(&m), (size_t)7); /* 10 minus 3 multiples of 3 */
	CHECK(eng_vmap_bytes(&m) <= 64 * sizeof(struct eng_vent));
	for (i = NKEYS - 10; i < NKEYS; i++) {
		const struct eng_vent *e;

		klen = key_of(i, key, sizeof(key));
		e = eng_vmap_find(&m, key, klen);
		v = val_of(i, kids);
		bad += i % 3 == 0 ? e != NULL
		                  : e == NULL ||
		                            !eng_val_same(eng_vent_val(e), &v);
	}
	CHECK_EQ(bad, 0);
	for (i = NKEYS - 10; i < NKEYS; i++) {
		klen = key_of(i, key, sizeof(key));
		(void)eng_vmap_del(&m, key, klen);
	}
	CHECK_EQ(eng_vmap_len(&m), (size_t)0);
	CHECK_EQ(eng_vmap_bytes(&m), (size_t)0);

	/* fini with entries of every kind in it frees them all */
	for (i = 0; i < 100; i++) {
		klen = key_of(i, key, sizeof(key));
		v = val_of(i, kids);
		(void)eng_vmap_set(&m, key, klen, 0, &v, &had);
	}
	eng_vmap_fini(&m);
	CHECK_EQ(eng_vmap_len(&m), (size_t)0);
}

static void
test_db(void)
{
	struct eng_db db;
	aemp_val v = aemp_int(7), w = aemp_int(8);
	const aemp_val *got = NULL;

	eng_db_init(&db);
	CHECK_EQ(eng_db_get(&db, "f", 1, "k", 1, &got), 0);
	CHECK_EQ(eng_db_set(&db, "f", 1, "k", 1, 0, &v), 1);
	CHECK_EQ(eng_db_set(&db, "f", 1, "k", 1, 0, &v), 0);
	CHECK_EQ(eng_db_set(&db, "f", 1, "k", 1, 0, &w), 1);
	CHECK_EQ(eng_db_get(&db, "f", 1, "k", 1, &got), 1);
	CHECK(got != NULL && eng_val_same(got, &w));
	CHECK(eng_db_entry(&db, "f", 1, "k", 1) != NULL);
	eng_db_prefetch(&db, "f", 1, "k", 1);
	eng_db_prefetch(&db, "none", 4, "k", 1);
	CHECK_EQ(eng_db_del(&db, "f", 1, "k", 1), 1);
	CHECK_EQ(eng_db_del(&db, "f", 1, "k", 1), 0);
	/* the empty family is gone */
	CHECK(eng_db_family(&db, "f", 1, 0) == NULL);
	CHECK_EQ(eng_db_set(&db, "g", 1, "k", 1, 0, NULL), 1);
	CHECK_EQ(eng_db_get(&db, "g", 1, "k", 1, &got), 1);
	CHECK(got == NULL);
	eng_db_fini(&db);
}

int
main(void)
{
	test_vmap();
	test_db();
	return tap_done();
}
