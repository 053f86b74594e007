/*
 * ring/pool.h - fixed-size object pools, one per object kind per shard.
 *
 * Objects come from slabs allocated with ring_alloc and go back to a free
 * list; slabs are released only at ring_pool_fini.  In AddressSanitizer
 * builds the pool passes every get/put straight to ring_alloc/ring_free so
 * use-after-free and leaks stay visible.
 *
 * Threads: a pool belongs to one shard; objects are returned to the pool
 * of the shard that allocated them (STYLE.md §6).
 */
#ifndef RING_POOL_H
#define RING_POOL_H

#include <stddef.h>
#include <stdint.h>

struct ring_pool_slab;

struct ring_pool {
	size_t obj_size; /* rounded up to 16 */
	size_t per_slab;
	void *free; /* intrusive free list */
	struct ring_pool_slab *slabs;
	size_t live; /* objects handed out */
	size_t slab_count;
};

/* ring_pool_init - objects of obj_size bytes, per_slab objects per slab. */
void ring_pool_init(struct ring_pool *p, size_t obj_size, size_t per_slab);

/* ring_pool_fini - free every slab (objects still out become invalid). */
void ring_pool_fini(struct ring_pool *p);

/* ring_pool_get - an uninitialised object, or NULL when out of memory. */
void *ring_pool_get(struct ring_pool *p);

/* ring_pool_zget - a zeroed object, or NULL. */
void *ring_pool_zget(struct ring_pool *p);

/* ring_pool_put - return obj (NULL is a no-op). */
void ring_pool_put(struct ring_pool *p, void *obj);

/* ring_pool_bytes - memory held by the pool's slabs (for reports). */
size_t ring_pool_bytes(const struct ring_pool *p);

#endif /* RING_POOL_H */
