/*
 * engine/global/dbmap.h - string-keyed maps for the distributed database: a map
 * of keys to owned values (struct eng_kv), and a two-level map of
 * families to key maps (struct eng_db), as aemp-protocol.md §6.5 models
 * LOCAL_DB, SHARD[N] and GLOBAL_DB.
 *
 * Values are deep copies (aemp_val_dup) owned by the map; NULL stands
 * for a stored null.  Iteration order is unspecified.
 *
 * Threads: the control shard only.
 */
#ifndef ENGINE_GLOBAL_DBMAP_H
#define ENGINE_GLOBAL_DBMAP_H

#include <stddef.h>
#include <stdint.h>

#include "aemp.h"
#include "engine/core/htab.h"

struct eng_kv {
	struct eng_htab t; /* -> struct eng_kv_ent */
};

struct eng_kv_ent {
	uint32_t hash;
	uint32_t klen;
	void *val;      /* aemp_val (owned) or a nested map */
	uint8_t kflags; /* the key's string flags as last set (database keys:
	                   AEMP_VF_BYTES / AEMP_VF_TEXT, so a key goes back
	                   out as the kind of CBOR string it came in as) */
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
/* eng_kv_ent_set - give entry e (found with eng_kv_find) the value val
 * (taken) and the string flags kflags (as eng_kv_set_kflags) without a
 * second lookup.  Returns the previous value (the caller's to free). */
void *eng_kv_ent_set(struct eng_kv_ent *e, void *val, uint8_t kflags);
/* eng_kv_set_kflags - record the string flags of existing key k (only
 * AEMP_VF_BYTES and AEMP_VF_TEXT are kept). */
void eng_kv_set_kflags(struct eng_kv *m, const char *k, size_t klen,
                       uint8_t kflags);

/* The string flags a database key keeps. */
#define ENG_KFLAGS(f) ((uint8_t)((f) & (AEMP_VF_BYTES | AEMP_VF_TEXT)))

/* eng_kv_del - remove k; returns its value (caller frees) via *val and 1,
 * or 0 if absent. */
int eng_kv_del(struct eng_kv *m, const char *k, size_t klen, void **val);
void eng_kv_each(const struct eng_kv *m,
                 void (*fn)(struct eng_kv_ent *e, void *arg), void *arg);

/* A database: family -> struct eng_kv of aemp_val. */
struct eng_db {
	struct eng_kv fam;
};

void eng_db_init(struct eng_db *db);
void eng_db_fini(struct eng_db *db);
/* eng_db_family - the key map of family f, created if `create`. */
struct eng_kv *eng_db_family(struct eng_db *db, const char *f, size_t flen,
                             int create);
/* eng_db_drop_family - remove f if its map is empty. */
void eng_db_drop_if_empty(struct eng_db *db, const char *f, size_t flen);
/* eng_db_get - the value stored at f/k: 1 and *v (NULL = null), or 0. */
int eng_db_get(struct eng_db *db, const char *f, size_t flen, const char *k,
               size_t klen, const aemp_val **v);
/* eng_db_entry - the entry of f/k (value and key flags), or NULL. */
struct eng_kv_ent *eng_db_entry(struct eng_db *db, const char *f, size_t flen,
                                const char *k, size_t klen);
/* eng_db_set - store a copy of v (NULL: null) at f/k, the key with string
 * flags kflags (see struct eng_kv_ent).  Returns 1 if the stored value
 * changed (or was absent), 0 if equal, -ENOMEM. */
int eng_db_set(struct eng_db *db, const char *f, size_t flen, const char *k,
               size_t klen, uint8_t kflags, const aemp_val *v);
/* eng_db_del - remove f/k.  Returns 1 if it existed, else 0. */
int eng_db_del(struct eng_db *db, const char *f, size_t flen, const char *k,
               size_t klen);

/*
 * Building aemp_val views for the wire: eng_kv_to_map returns a new MAP
 * value (one allocation, free with aemp_val_free) of m's entries;
 * eng_kv_keys / eng_kv_values new ARRAY values; eng_db_to_map the whole
 * database {FAMILY: {KEY: VALUE}}.  NULL on out of memory.
 */
aemp_val *eng_kv_to_map(const struct eng_kv *m);
aemp_val *eng_kv_keys(const struct eng_kv *m);
aemp_val *eng_kv_values(const struct eng_kv *m);
aemp_val *eng_db_to_map(const struct eng_db *db);

/* eng_val_same - a and b are the same in every detail a peer can see
 * (kinds, flags, integer and float bits, string bytes, children in
 * order), NULL standing for null.  Stricter than aemp_val_eq on purpose:
 * a global stores and hands on the value as it last came (1 and 1.0, a
 * byte and a text string, a half and a double float all differ). */
int eng_val_same(const aemp_val *a, const aemp_val *b);

#endif /* ENGINE_GLOBAL_DBMAP_H */
