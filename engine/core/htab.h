/*
 * engine/core/htab.h - open-addressing hash table of pointers (linear probing,
 * backward-shift deletion), used for a shard's ports (by name) and guard
 * objects (by id).  The table stores only entry pointers; the caller
 * supplies the hash and, for lookups, an equality test, so an idle port
 * costs one pointer slot (at load 3/8..3/4).  It grows and shrinks with
 * its contents.
 *
 * Threads: owned by one shard.
 */
#ifndef ENGINE_CORE_HTAB_H
#define ENGINE_CORE_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct eng_htab {
	void **slot;
	uint32_t mask; /* capacity - 1, or 0 when empty */
	uint32_t len;
};

typedef uint32_t (*eng_htab_hash_fn)(const void *entry);

static inline void
eng_htab_init(struct eng_htab *t)
{
	t->slot = NULL;
	t->mask = 0;
	t->len = 0;
}

void eng_htab_fini(struct eng_htab *t);

/* eng_htab_find - the first entry e on h's probe path with eq(e, key). */
static inline void *
eng_htab_find(const struct eng_htab *t, uint32_t h,
              int (*eq)(const void *entry, const void *key), const void *key)
{
	uint32_t i;

	if (t->slot == NULL)
		return NULL;
	for (i = h & t->mask; t->slot[i] != NULL; i = (i + 1) & t->mask) {
		if (eq(t->slot[i], key))
			return t->slot[i];
	}
	return NULL;
}

/* eng_htab_insert - add entry (hash h; duplicates are the caller's
 * business).  Returns 0 or -ENOMEM. */
int eng_htab_insert(struct eng_htab *t, uint32_t h, void *entry,
                    eng_htab_hash_fn hash);

/* eng_htab_remove - remove entry (which must be present). */
void eng_htab_remove(struct eng_htab *t, void *entry, eng_htab_hash_fn hash);

/* eng_htab_each - call fn(entry, arg) for every entry; fn must not modify
 * the table.  Returns the count. */
size_t eng_htab_each(const struct eng_htab *t, void (*fn)(void *e, void *arg),
                     void *arg);

/* eng_htab_bytes - memory held by the slot array. */
static inline size_t
eng_htab_bytes(const struct eng_htab *t)
{
	return t->slot ? ((size_t)t->mask + 1) * sizeof(void *) : 0;
}

#endif /* ENGINE_CORE_HTAB_H */
