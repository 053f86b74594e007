/*
 * ring/pool.c - fixed-size object pools on slabs.
 *
 * A slab is one ring_alloc'd block: a small header (linking the pool's
 * slabs) then per_slab objects of obj_size bytes.  Free objects form an
 * intrusive LIFO list through their first word, so get/put are a few
 * instructions and touch only the object and the pool.  A slab is carved
 * when the free list is empty (the only allocation, amortised over
 * per_slab objects); slabs go back only at ring_pool_fini.
 *
 * AddressSanitizer builds pass every get/put straight to ring_alloc /
 * ring_free instead (RING_POOL_PASSTHROUGH), so a use after put or a leaked
 * object is reported at its own allocation site.
 *
 * Invariants: obj_size is a multiple of 16 and >= 16; live counts objects
 * handed out and not yet put back.
 *
 * Threads: one shard; objects return to the pool of the shard that got
 * them (STYLE.md §6).
 */
#include <string.h>

#include "ring/alloc.h"
#include "ring/base.h"
#include "ring/pool.h"

#if defined(__SANITIZE_ADDRESS__)
#define RING_POOL_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RING_POOL_PASSTHROUGH 1
#endif
#endif
#ifndef RING_POOL_PASSTHROUGH
#define RING_POOL_PASSTHROUGH 0
#endif

#define RING_POOL_ALIGN 16u

struct ring_pool_slab {
	struct ring_pool_slab *next;
	/* Keeps the objects that follow 16-byte aligned. */
	_Alignas(RING_POOL_ALIGN) unsigned char objs[];
};

static size_t
slab_bytes(const struct ring_pool *p)
{
	return sizeof(struct ring_pool_slab) + p->per_slab * p->obj_size;
}

void
ring_pool_init(struct ring_pool *p, size_t obj_size, size_t per_slab)
{
	AEMP_ASSERT(obj_size > 0);
	if (obj_size < sizeof(void *))
		obj_size = sizeof(void *);
	p->obj_size = (obj_size + RING_POOL_ALIGN - 1) &
	              ~(size_t)(RING_POOL_ALIGN - 1);
	p->per_slab = per_slab ? per_slab : 1;
	p->free = NULL;
	p->slabs = NULL;
	p->live = 0;
	p->slab_count = 0;
}

void
ring_pool_fini(struct ring_pool *p)
{
	struct ring_pool_slab *s = p->slabs;

	while (s != NULL) {
		struct ring_pool_slab *next = s->next;

		ring_free(s, slab_bytes(p));
		s = next;
	}
	p->slabs = NULL;
	p->free = NULL;
	p->slab_count = 0;
	p->live = 0;
}

/* Carve a new slab onto the free list.  Returns 0 or -1 (out of memory). */
static int
pool_grow(struct ring_pool *p)
{
	struct ring_pool_slab *s = ring_alloc(slab_bytes(p));
	size_t i;

	if (AEMP_UNLIKELY(s == NULL))
		return -1;
	s->next = p->slabs;
	p->slabs = s;
	p->slab_count++;
	/* Thread in reverse so the first get returns the slab's first object
	 * and consecutive gets walk forward through memory. */
	for (i = p->per_slab; i-- > 0;) {
		void **obj = (void **)(void *)(s->objs + i * p->obj_size);

		*obj = p->free;
		p->free = obj;
	}
	return 0;
}

void *
ring_pool_get(struct ring_pool *p)
{
	void **obj;

	if (RING_POOL_PASSTHROUGH) {
		obj = ring_alloc(p->obj_size);
		p->live += obj != NULL;
		return obj;
	}
	if (AEMP_UNLIKELY(p->free == NULL) && pool_grow(p) < 0)
		return NULL;
	obj = p->free;
	p->free = *obj;
	p->live++;
	return obj;
}

void *
ring_pool_zget(struct ring_pool *p)
{
	void *obj = ring_pool_get(p);

	if (obj != NULL)
		memset(obj, 0, p->obj_size);
	return obj;
}

void
ring_pool_put(struct ring_pool *p, void *obj)
{
	if (obj == NULL)
		return;
	AEMP_ASSERT_HOT(p->live > 0);
	p->live--;
	if (RING_POOL_PASSTHROUGH) {
		ring_free(obj, p->obj_size);
		return;
	}
	*(void **)obj = p->free;
	p->free = obj;
}

size_t
ring_pool_bytes(const struct ring_pool *p)
{
	if (RING_POOL_PASSTHROUGH)
		return p->live * p->obj_size;
	return p->slab_count * slab_bytes(p);
}
