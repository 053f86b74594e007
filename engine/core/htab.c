/*
 * engine/core/htab.c - growth, shrinking and deletion for engine/core/htab.h.
 *
 * Invariant: every entry is reachable from its home slot (hash & mask)
 * without crossing an empty slot; deletion shifts later entries back to
 * keep it so (no tombstones).
 */
#include <errno.h>

#include "engine/core/htab.h"
#include "ring/alloc.h"
#include "ring/base.h"

#define HTAB_MIN 16u

void
eng_htab_fini(struct eng_htab *t)
{
	if (t->slot != NULL)
		ring_free(t->slot, ((size_t)t->mask + 1) * sizeof(void *));
	eng_htab_init(t);
}

/* place - put entry (hash h) in its first free slot, tagged. */
static void
place(void **slot, uint32_t mask, uint32_t h, void *entry)
{
	uint32_t i;

	for (i = h & mask; slot[i] != NULL; i = (i + 1) & mask)
		;
	slot[i] = (void *)((uintptr_t)entry | eng_htab_tag(h));
}

static int
resize(struct eng_htab *t, uint32_t cap, eng_htab_hash_fn hash)
{
	void **nslot;
	uint32_t i, oldcap = t->slot ? t->mask + 1 : 0;

	nslot = ring_zalloc((size_t)cap * sizeof(void *));
	if (nslot == NULL)
		return -ENOMEM;
	for (i = 0; i < oldcap; i++) {
		void *e = eng_htab_entry(t->slot[i]);

		if (e != NULL)
			place(nslot, cap - 1, hash(e), e);
	}
	if (t->slot != NULL)
		ring_free(t->slot, (size_t)oldcap * sizeof(void *));
	t->slot = nslot;
	t->mask = cap - 1;
	return 0;
}

int
eng_htab_insert(struct eng_htab *t, uint32_t h, void *entry,
                eng_htab_hash_fn hash)
{
	uint32_t cap = t->slot ? t->mask + 1 : 0;
	int rc;

	AEMP_ASSERT(entry != NULL);
	AEMP_ASSERT(((uintptr_t)entry & ~ENG_HTAB_PTR_MASK) == 0);
	if ((uint64_t)(t->len + 1) * 4 > (uint64_t)cap * 3) {
		if (cap >= (1u << 31))
			return -ENOMEM;
		rc = resize(t, cap ? cap * 2 : HTAB_MIN, hash);
		if (rc < 0)
			return rc;
	}
	place(t->slot, t->mask, h, entry);
	t->len++;
	return 0;
}

void
eng_htab_remove(struct eng_htab *t, void *entry, eng_htab_hash_fn hash)
{
	uint32_t i, j, home;

	AEMP_ASSERT(t->slot != NULL);
	for (i = hash(entry) & t->mask; eng_htab_entry(t->slot[i]) != entry;
	     i = (i + 1) & t->mask)
		AEMP_ASSERT(t->slot[i] != NULL);
	t->slot[i] = NULL;
	t->len--;
	/* Shift back every later entry of the cluster that may move. */
	for (j = (i + 1) & t->mask; t->slot[j] != NULL; j = (j + 1) & t->mask) {
		home = hash(eng_htab_entry(t->slot[j])) & t->mask;
		if (eng_htab_in_range(i, home, j))
			continue;
		t->slot[i] = t->slot[j];
		t->slot[j] = NULL;
		i = j;
	}
	/* Shrink when mostly empty; failure to shrink is harmless. */
	if (t->mask + 1 > HTAB_MIN && (uint64_t)t->len * 8 < t->mask + 1)
		(void)resize(t, (t->mask + 1) / 2, hash);
}

size_t
eng_htab_each(const struct eng_htab *t, void (*fn)(void *e, void *arg),
              void *arg)
{
	uint32_t i;
	size_t n = 0;

	if (t->slot == NULL)
		return 0;
	for (i = 0; i <= t->mask; i++) {
		if (t->slot[i] != NULL) {
			fn(eng_htab_entry(t->slot[i]), arg);
			n++;
		}
	}
	return n;
}
