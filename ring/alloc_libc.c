/*
 * ring/alloc_libc.c - sanitizer and fuzz allocator: libc malloc, so that
 * AddressSanitizer tracks every object aemp allocates.
 */
#include <stdlib.h>

#include "ring/alloc.h"

void *
ring_alloc(size_t n)
{
	return malloc(n);
}

void *
ring_zalloc(size_t n)
{
	return calloc(1, n);
}

void *
ring_realloc(void *p, size_t n)
{
	return realloc(p, n);
}

void
ring_free(void *p, size_t n)
{
	(void)n;
	free(p);
}

void *
ring_alloc_aligned(size_t align, size_t n)
{
	void *p = NULL;

	if (posix_memalign(&p, align, n) != 0)
		return NULL;
	return p;
}

const char *
ring_alloc_name(void)
{
	return "libc";
}
