/*
 * ring/alloc_je.c - release allocator: jemalloc, with sized deallocation
 * (sdallocx) where the size is known.  Each shard thread has its own
 * jemalloc thread cache, so shards do not contend on the common path.
 *
 * Large blocks (RING_BIG and up: packets of several MiB, their reassembly
 * and cross-shard records) come from an arena of our own.  jemalloc sends
 * requests of 8 MiB and more (opt.oversize_threshold) to an arena that
 * gives pages back the moment they are freed, so each such packet paid a
 * page fault per 4 KiB on every buffer it passed through (2048 for 8 MiB:
 * most of the CPU of an 8 MiB stream, docs/perf.md).  A manual arena is
 * not redirected there and keeps freed pages for its decay time (10 s by
 * default), so a stream of large packets reuses them and an idle node
 * still gives them back.
 */
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ring/alloc.h"

#define RING_BIG ((size_t)4 << 20)

static pthread_once_t big_once = PTHREAD_ONCE_INIT;
static int big_flags; /* MALLOCX_ flags for large blocks */

static void
big_init(void)
{
	unsigned idx;
	size_t sz = sizeof(idx);

	if (mallctl("arenas.create", &idx, &sz, NULL, 0) == 0)
		big_flags = (int)MALLOCX_ARENA(idx) | MALLOCX_TCACHE_NONE;
}

static int
flags_for(size_t n)
{
	if (n < RING_BIG)
		return 0;
	pthread_once(&big_once, big_init);
	return big_flags;
}

void *
ring_alloc(size_t n)
{
	return mallocx(n, flags_for(n));
}

void *
ring_zalloc(size_t n)
{
	return mallocx(n, MALLOCX_ZERO | flags_for(n));
}

void *
ring_realloc(void *p, size_t n)
{
	if (p == NULL)
		return mallocx(n, flags_for(n));
	return rallocx(p, n, flags_for(n));
}

void
ring_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	if (n != 0)
		sdallocx(p, n, n < RING_BIG ? 0 : MALLOCX_TCACHE_NONE);
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
