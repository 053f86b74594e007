/*
 * engine/core/htab.h - open-addressing hash table of pointers (linear probing,
 * backward-shift deletion), used for a shard's ports (by name) and guard
 * objects (by id).  The table stores only entry pointers; the caller
 * supplies the hash and, for lookups, an equality test, so an idle port
 * costs one pointer slot (at load 3/8..3/4).  It grows and shrinks with
 * its contents.
 *
 * On 64-bit machines a slot keeps the top 16 bits of its entry's hash in
 * the pointer's unused top bits (user-space addresses are below 2^47 on
 * x86-64 and below 2^48 on arm64; insert asserts it), so a lookup skips
 * entries of other hashes without touching them: in a large table that
 * is a cache miss saved per probe.
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

/* Tags live in the top 16 bits of a 64-bit slot.  Not under AddressSanitizer:
 * its leak checker only follows untagged pointers, and the fuzzers check
 * for leaks after every input while the node keeps its tables. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ENG_HTAB_NO_TAGS 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define ENG_HTAB_NO_TAGS 1
#endif

#if UINTPTR_MAX > 0xffffffffu && !defined(ENG_HTAB_NO_TAGS)
#define ENG_HTAB_TAG_SHIFT 48
#define ENG_HTAB_PTR_MASK (((uintptr_t)1 << ENG_HTAB_TAG_SHIFT) - 1)

/* eng_htab_tag - the tag bits of hash h, as they sit in a slot. */
static inline uintptr_t
eng_htab_tag(uint32_t h)
{
	return (uintptr_t)(h >> 16) << ENG_HTAB_TAG_SHIFT;
}
#else
#define ENG_HTAB_PTR_MASK UINTPTR_MAX

static inline uintptr_t
eng_htab_tag(uint32_t h)
{
	(void)h;
	return 0;
}
#endif

/* eng_htab_entry - the entry a (non-empty) slot holds. */
static inline void *
eng_htab_entry(const void *slot)
{
	return (void *)((uintptr_t)slot & ENG_HTAB_PTR_MASK);
}

/* eng_htab_find - the first entry e on h's probe path with eq(e, key). */
static inline void *
eng_htab_find(const struct eng_htab *t, uint32_t h,
              int (*eq)(const void *entry, const void *key), const void *key)
{
	uintptr_t tag = eng_htab_tag(h), s;
	uint32_t i;

	if (t->slot == NULL)
		return NULL;
	for (i = h & t->mask; (s = (uintptr_t)t->slot[i]) != 0;
	     i = (i + 1) & t->mask) {
		if ((s & ~ENG_HTAB_PTR_MASK) == tag &&
		    eq(eng_htab_entry(t->slot[i]), key))
			return eng_htab_entry(t->slot[i]);
	}
	return NULL;
}

/* eng_htab_in_range - in linear probing with backward-shift deletion: may
 * the entry in slot j, whose home slot is `home`, NOT move back into the
 * hole (its home lies cyclically after the hole, up to j)?  Shared by
 * every open-addressing table of the engine. */
static inline int
eng_htab_in_range(uint32_t hole, uint32_t home, uint32_t j)
{
	if (hole <= j)
		return home > hole && home <= j;
	return home > hole || home <= j;
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
