/*
 * ring/alloc.h - the allocator under every pool and buffer of aemp.
 *
 * Two variants, picked by the Makefile (one file each, STYLE.md §1):
 * ring/alloc_je.c (release: jemalloc's sized deallocation) and
 * ring/alloc_libc.c (sanitizer and fuzz builds: plain malloc, so ASan sees
 * every object).  Any thread; memory may be freed by another thread than
 * the one that allocated it, though aemp frees on the allocating shard.
 */
#ifndef RING_ALLOC_H
#define RING_ALLOC_H

#include <stddef.h>

/* ring_alloc - n bytes (n > 0), or NULL when out of memory. */
void *ring_alloc(size_t n);

/* ring_zalloc - n zeroed bytes, or NULL. */
void *ring_zalloc(size_t n);

/* ring_realloc - resize p (NULL allocates); NULL on failure (p kept). */
void *ring_realloc(void *p, size_t n);

/* ring_free - free p, which ring_alloc returned with size n (n may be 0 when
 * unknown).  NULL is a no-op. */
void ring_free(void *p, size_t n);

/* ring_alloc_aligned - n bytes aligned to align (a power of two, multiple
 * of sizeof(void *)), freed with ring_free_aligned. NULL on failure. */
void *ring_alloc_aligned(size_t align, size_t n);

/* ring_free_aligned - free p from ring_alloc_aligned(align, n).  Sized
 * deallocation must know the alignment: it can change the size class. */
void ring_free_aligned(void *p, size_t align, size_t n);

/* ring_alloc_table - n zeroed bytes (n > 0) for a large table that is
 * read at random (engine/global's value maps): aligned to a cache line,
 * and from RING_TABLE_HUGE bytes up aligned to that and marked for
 * transparent huge pages (madvise MADV_HUGEPAGE; Debian's default THP
 * mode is "madvise"), so that a lookup that misses the cache does not
 * also miss the TLB.  The advice may be refused: the table works the
 * same.  NULL when out of memory.  ring_free_table - free it (n as
 * allocated).  Implemented in ring/hugetab.c. */
#define RING_TABLE_HUGE ((size_t)2 << 20)
void *ring_alloc_table(size_t n);
void ring_free_table(void *p, size_t n);

/* ring_alloc_release - return the allocator's free pages to the system
 * (jemalloc: purge every arena; libc: malloc_trim).  Costs system calls:
 * for occasional trims after load, never the hot path. */
void ring_alloc_release(void);

/* ring_alloc_big_frees - how many large blocks (several MiB) were freed
 * so far: a count that moves while large packets flow.  ring_alloc_big_purge
 * - give back the pages the allocator keeps for large blocks (jemalloc
 * keeps them, so a stream of large packets does not fault its buffers in
 * again; call it once the count has stopped moving).  libc: 0, no-op. */
unsigned long ring_alloc_big_frees(void);
void ring_alloc_big_purge(void);

/* ring_alloc_name - "jemalloc" or "libc", for reports. */
const char *ring_alloc_name(void);

#endif /* RING_ALLOC_H */
