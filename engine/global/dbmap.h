/*
 * engine/global/dbmap.h - string-keyed maps for the distributed database: a map
 * of keys to owned pointers (struct eng_kv: families, mirrors, node sets),
 * a flat map of keys to values (struct eng_vmap: a family's keys), and a
 * two-level map of families to value maps (struct eng_db), as
 * aemp-protocol.md §6.5 models LOCAL_DB, SHARD[N] and GLOBAL_DB.
 *
 * Values are deep copies owned by the map; NULL stands for a stored
 * null.  Iteration order is unspecified.
 *
 * Threads: the control shard only.
 */
#ifndef ENGINE_GLOBAL_DBMAP_H
#define ENGINE_GLOBAL_DBMAP_H

#include <stddef.h>
#include <stdint.h>

#include "aemp.h"
#include "engine/core/eng.h"
#include "engine/core/htab.h"

struct eng_kv {
	struct eng_htab t; /* -> struct eng_kv_ent */
};

struct eng_kv_ent {
	uint32_t hash;
	uint32_t klen;
	void *val; /* owned: a value map, a mirror, a node set, ... */
	char key[];
};

void eng_kv_init(struct eng_kv *m);
/* eng_kv_fini - free entries; free_val(val) for each value (NULL: values
 * are aemp_val and freed with aemp_val_free). */
void eng_kv_fini(struct eng_kv *m, void (*free_val)(void *));

static inline size_t
eng_kv_len(const struct eng_kv *m)
{
	return m->t.len;
}

struct eng_kv_ent *eng_kv_find(const struct eng_kv *m, const char *k,
                               size_t klen);
/* eng_kv_put - set k to val (taken), returning the previous value in *old
 * (NULL if absent; *had says whether it existed).  Returns 0 or -ENOMEM
 * (val is freed by the caller then). */
int eng_kv_put(struct eng_kv *m, const char *k, size_t klen, void *val,
               void **old, int *had);
/* The string flags a database key keeps. */
#define ENG_KFLAGS(f) ((uint8_t)((f) & (AEMP_VF_BYTES | AEMP_VF_TEXT)))

/* eng_kv_del - remove k; returns its value (caller frees) via *val and 1,
 * or 0 if absent. */
int eng_kv_del(struct eng_kv *m, const char *k, size_t klen, void **val);
void eng_kv_each(const struct eng_kv *m,
                 void (*fn)(struct eng_kv_ent *e, void *arg), void *arg);

/*
 * A value map: key -> aemp_val, the maps of a database family and of a
 * db_mon mirror.  These grow to hundreds of thousands of keys and one
 * change touches one key, so a lookup must cost one cache miss, not the
 * three of a pointer table (slot, entry, value: docs/perf.md, "Distributed
 * database").  Entries live in the slot array itself (open addressing,
 * linear probing, backward-shift deletion, as engine/core/htab.c), one
 * 64-byte line each, with the key inside when it is shorter than 32 bytes
 * and a scalar value (null, bool, integer, float) inside always; longer
 * keys and strings, arrays, maps and tags are separate copies.
 *
 * Entries move when the map changes: a struct eng_vent pointer, and the
 * key and value pointers read from it, are valid only until the next
 * eng_vmap_set / eng_vmap_del / eng_vmap_fini of that map.
 */
struct eng_vent {
	uint32_t hash;
	uint32_t klen;
	uint8_t used;
	uint8_t kflags; /* the key's string flags as last set (AEMP_VF_BYTES /
	                   AEMP_VF_TEXT, so a key goes back out as the kind of
	                   CBOR string it came in as) */
	uint8_t kin;    /* the key is in k.in */
	uint8_t vkind;  /* ENG_V_* */
	uint32_t pad;
	union {
		aemp_val in;   /* ENG_V_IN */
		aemp_val *own; /* ENG_V_OWN: aemp_val_dup'ed */
	} v;
	union {
		char in[32]; /* kin: klen < 32 bytes and a NUL */
		char *own;   /* klen + 1 bytes */
	} k;
};

enum { ENG_V_NULL = 0, ENG_V_IN = 1, ENG_V_OWN = 2 };

struct eng_vmap {
	struct eng_vent *slot;
	uint32_t mask; /* capacity - 1, or 0 when empty */
	uint32_t len;
};

static inline void
eng_vmap_init(struct eng_vmap *m)
{
	m->slot = NULL;
	m->mask = 0;
	m->len = 0;
}

void eng_vmap_fini(struct eng_vmap *m);

static inline size_t
eng_vmap_len(const struct eng_vmap *m)
{
	return m->len;
}

/* eng_vent_key - the entry's key (NUL-terminated, klen bytes). */
static inline const char *
eng_vent_key(const struct eng_vent *e)
{
	return e->kin ? e->k.in : e->k.own;
}

/* eng_vent_val - the entry's value; NULL for a stored (plain) null. */
static inline const aemp_val *
eng_vent_val(const struct eng_vent *e)
{
	if (e->vkind == ENG_V_IN)
		return &e->v.in;
	return e->vkind == ENG_V_OWN ? e->v.own : NULL;
}

/* eng_vmap_find - the entry of k, or NULL. */
const struct eng_vent *eng_vmap_find(const struct eng_vmap *m, const char *k,
                                     size_t klen);
/* eng_vmap_prefetch - start loading the line where the lookup of k
 * begins, so that the misses of several lookups overlap. */
static inline void
eng_vmap_prefetch(const struct eng_vmap *m, const char *k, size_t klen)
{
	if (m != NULL && m->slot != NULL)
		__builtin_prefetch(&m->slot[eng_hash(k, klen) & m->mask]);
}

/* eng_vmap_set - store a copy of v (NULL: null) at k, the key with string
 * flags kflags (ENG_KFLAGS).  *had says whether k existed.  Returns 1 if
 * the stored value changed (or k was absent), 0 if it was the same
 * (eng_val_same; the key flags are updated all the same), -ENOMEM (the
 * map is unchanged). */
int eng_vmap_set(struct eng_vmap *m, const char *k, size_t klen, uint8_t kflags,
                 const aemp_val *v, int *had);
/* eng_vmap_del - remove k and free its value.  Returns 1, or 0 if absent. */
int eng_vmap_del(struct eng_vmap *m, const char *k, size_t klen);
/* eng_vmap_each - fn(entry, arg) for every entry; fn must not change m. */
void eng_vmap_each(const struct eng_vmap *m,
                   void (*fn)(const struct eng_vent *e, void *arg), void *arg);
/* eng_vmap_bytes - memory of the slot array (keys and values that are
 * separate copies not counted). */
static inline size_t
eng_vmap_bytes(const struct eng_vmap *m)
{
	return m->slot ? ((size_t)m->mask + 1) * sizeof(struct eng_vent) : 0;
}

/* A database: family -> struct eng_vmap. */
struct eng_db {
	struct eng_kv fam;
};

void eng_db_init(struct eng_db *db);
void eng_db_fini(struct eng_db *db);
/* eng_db_family - the key map of family f, created if `create`. */
struct eng_vmap *eng_db_family(struct eng_db *db, const char *f, size_t flen,
                               int create);
/* eng_db_drop_family - remove f if its map is empty. */
void eng_db_drop_if_empty(struct eng_db *db, const char *f, size_t flen);
/* eng_db_get - the value stored at f/k: 1 and *v (NULL = null), or 0.
 * *v is valid until the family's map changes. */
int eng_db_get(struct eng_db *db, const char *f, size_t flen, const char *k,
               size_t klen, const aemp_val **v);
/* eng_db_entry - the entry of f/k (value and key flags), or NULL; valid
 * until the family's map changes. */
const struct eng_vent *eng_db_entry(struct eng_db *db, const char *f,
                                    size_t flen, const char *k, size_t klen);
/* eng_db_prefetch - eng_vmap_prefetch of f/k, when f exists. */
void eng_db_prefetch(struct eng_db *db, const char *f, size_t flen,
                     const char *k, size_t klen);
/* eng_db_set - store a copy of v (NULL: null) at f/k, the key with string
 * flags kflags (see struct eng_vent).  Returns 1 if the stored value
 * changed (or was absent), 0 if equal, -ENOMEM. */
int eng_db_set(struct eng_db *db, const char *f, size_t flen, const char *k,
               size_t klen, uint8_t kflags, const aemp_val *v);
/* eng_db_del - remove f/k.  Returns 1 if it existed, else 0. */
int eng_db_del(struct eng_db *db, const char *f, size_t flen, const char *k,
               size_t klen);

/*
 * Building aemp_val views for the wire: eng_vmap_to_map returns a new MAP
 * value (one allocation, free with aemp_val_free) of m's entries (m may
 * be NULL: empty); eng_vmap_keys / eng_vmap_values new ARRAY values;
 * eng_db_to_map the whole database {FAMILY: {KEY: VALUE}}.  NULL on out
 * of memory.
 */
aemp_val *eng_vmap_to_map(const struct eng_vmap *m);
aemp_val *eng_vmap_keys(const struct eng_vmap *m);
aemp_val *eng_vmap_values(const struct eng_vmap *m);
aemp_val *eng_db_to_map(const struct eng_db *db);

/* eng_val_same - a and b are the same in every detail a peer can see
 * (kinds, flags, integer and float bits, string bytes, children in
 * order), NULL standing for null.  Stricter than aemp_val_eq on purpose:
 * a global stores and hands on the value as it last came (1 and 1.0, a
 * byte and a text string, a half and a double float all differ). */
int eng_val_same(const aemp_val *a, const aemp_val *b);

#endif /* ENGINE_GLOBAL_DBMAP_H */
