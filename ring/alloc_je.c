/*
 * ring/alloc_je.c - release allocator: jemalloc, with sized deallocation
 * (sdallocx) where the size is known.  Each shard thread has its own
 * jemalloc thread cache, so shards do not contend on the common path.
 *
 * Large blocks (RING_BIG and up: packets of several MiB, their reassembly
 * and cross-shard records) come from an arena of our own that keeps freed
 * pages (dirty_decay_ms -1).  jemalloc's own arenas give pages of 8 MiB
 * blocks back the moment they are freed, whatever the decay setting
 * (measured: 2049 page faults for every 8 MiB allocation, none for 6 MiB),
 * so each 8 MiB packet paid a page fault per 4 KiB on every buffer it
 * passed through: most of the CPU of an 8 MiB stream (docs/perf.md).  The
 * kept pages go back when large blocks stop: every free of one counts in
 * ring_alloc_big_frees, and the shards purge the arena once that count
 * has not moved for a while (engine/core/shard.c, ring_alloc_big_purge).
 */
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "ring/alloc.h"

#define RING_BIG ((size_t)4 << 20)

static pthread_once_t big_once = PTHREAD_ONCE_INIT;
static int big_flags;          /* MALLOCX_ flags for large blocks */
static unsigned big_arena;     /* its index, when big_flags != 0 */
static atomic_ulong big_frees; /* large blocks freed, ever */

static void
big_init(void)
{
	ssize_t never = -1;
	char name[64];
	unsigned idx;
	size_t sz = sizeof(idx);

	if (mallctl("arenas.create", &idx, &sz, NULL, 0) != 0)
		return; /* the default arenas then */
	snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", idx);
	(void)mallctl(name, NULL, NULL, &never, sizeof(never));
	snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", idx);
	(void)mallctl(name, NULL, NULL, &never, sizeof(never));
	big_arena = idx;
	big_flags = (int)MALLOCX_ARENA(idx) | MALLOCX_TCACHE_NONE;
}

unsigned long
ring_alloc_big_frees(void)
{
	return atomic_load_explicit(&big_frees, memory_order_relaxed);
}

void
ring_alloc_big_purge(void)
{
	char name[64];

	if (big_flags == 0)
		return;
	snprintf(name, sizeof(name), "arena.%u.purge", big_arena);
	(void)mallctl(name, NULL, NULL, NULL, 0);
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
	if (n == 0) {
		dallocx(p, 0);
	} else if (n < RING_BIG) {
		sdallocx(p, n, 0);
	} else {
		sdallocx(p, n, MALLOCX_TCACHE_NONE);
		atomic_fetch_add_explicit(&big_frees, 1, memory_order_relaxed);
	}
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
