/*
 * ring/alloc_je.c - release allocator: jemalloc, with sized deallocation
 * (sdallocx) where the size is known.  Each shard thread has its own
 * jemalloc thread cache, so shards do not contend on the common path.
 */
#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <string.h>

#include "ring/alloc.h"

void *
ring_alloc(size_t n)
{
	return mallocx(n, 0);
}

void *
ring_zalloc(size_t n)
{
	return mallocx(n, MALLOCX_ZERO);
}

void *
ring_realloc(void *p, size_t n)
{
	if (p == NULL)
		return mallocx(n, 0);
	return rallocx(p, n, 0);
}

void
ring_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	if (n != 0)
		sdallocx(p, n, 0);
	else
		dallocx(p, 0);
}

void *
ring_alloc_aligned(size_t align, size_t n)
{
	return mallocx(n, MALLOCX_ALIGN(align));
}

void
ring_free_aligned(void *p, size_t align, size_t n)
{
	if (p != NULL)
		sdallocx(p, n, MALLOCX_ALIGN(align));
}

void
ring_alloc_release(void)
{
	char name[64];

	snprintf(name, sizeof(name), "arena.%u.purge",
	         (unsigned)MALLCTL_ARENAS_ALL);
	(void)mallctl(name, NULL, NULL, NULL, 0);
}

const char *
ring_alloc_name(void)
{
	return "jemalloc";
}
