/*
 * ring/hugetab.c - large tables on huge pages (ring/alloc.h,
 * ring_alloc_table).  A random lookup in a table of several MiB misses
 * the last-level cache; with 4 KiB pages it misses the TLB as well and
 * pays a page walk on top (docs/perf.md, "Distributed database").
 */
#include <string.h>
#include <sys/mman.h>

#include "ring/alloc.h"

#define LINE 64

static size_t
align_for(size_t n)
{
	return n >= RING_TABLE_HUGE ? RING_TABLE_HUGE : LINE;
}

void *
ring_alloc_table(size_t n)
{
	size_t al = align_for(n);
	void *p = ring_alloc_aligned(al, n);

	if (p == NULL)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (al == RING_TABLE_HUGE)
		(void)madvise(p, n - n % RING_TABLE_HUGE, MADV_HUGEPAGE);
#endif
	memset(p, 0, n);
	return p;
}

void
ring_free_table(void *p, size_t n)
{
	ring_free_aligned(p, align_for(n), n);
}
