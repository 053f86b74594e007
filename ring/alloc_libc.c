/*
 * ring/alloc_libc.c - sanitizer and fuzz allocator: libc malloc, so that
 * AddressSanitizer tracks every object aemp allocates.
 *
 * It also checks what jemalloc's sized deallocation would silently get
 * wrong: every block carries a small header with its size and a magic
 * number, and ring_free aborts when given a size other than the one
 * allocated (or memory that ring_alloc never returned).
 */
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "ring/alloc.h"

#define HDR 32u
#define MAGIC 0x61656d70616c6c63ull /* "aempallc" */

struct hdr {
	size_t n;   /* requested size */
	size_t pad; /* bytes from the malloc'ed base to the user block */
	size_t magic;
	size_t spare;
};

_Static_assert(sizeof(struct hdr) == HDR, "allocation header");

static void *
setup(char *base, size_t pad, size_t n)
{
	struct hdr *h = (struct hdr *)(void *)(base + pad - HDR);

	h->n = n;
	h->pad = pad;
	h->magic = MAGIC;
	return base + pad;
}

static struct hdr *
hdr_of(void *p)
{
	struct hdr *h = (struct hdr *)(void *)((char *)p - HDR);

	if (h->magic != MAGIC) {
		fprintf(stderr,
		        "aemp: ring_free/realloc of %p, which ring_alloc "
		        "did not return\n",
		        p);
		abort();
	}
	return h;
}

void *
ring_alloc(size_t n)
{
	char *base = malloc(n + HDR);

	return base ? setup(base, HDR, n) : NULL;
}

void *
ring_zalloc(size_t n)
{
	char *base = calloc(1, n + HDR);

	return base ? setup(base, HDR, n) : NULL;
}

void *
ring_realloc(void *p, size_t n)
{
	struct hdr *h;
	char *base;

	if (p == NULL)
		return ring_alloc(n);
	h = hdr_of(p);
	if (h->pad != HDR) {
		/* aligned blocks are never resized in aemp */
		fprintf(stderr, "aemp: ring_realloc of an aligned block\n");
		abort();
	}
	base = realloc((char *)p - HDR, n + HDR);
	return base ? setup(base, HDR, n) : NULL;
}

static void
do_free(void *p, size_t n)
{
	struct hdr *h = hdr_of(p);

	if (n != 0 && n != h->n) {
		fprintf(stderr,
		        "aemp: ring_free(%p, %zu) of a block of %zu "
		        "bytes\n",
		        p, n, h->n);
		abort();
	}
	h->magic = 0;
	free((char *)p - h->pad);
}

void
ring_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	if (hdr_of(p)->pad != HDR) {
		fprintf(stderr,
		        "aemp: ring_free(%p) of an aligned block: use "
		        "ring_free_aligned\n",
		        p);
		abort();
	}
	do_free(p, n);
}

void *
ring_alloc_aligned(size_t align, size_t n)
{
	size_t pad = align < HDR ? HDR : align;
	void *base = NULL;

	if (posix_memalign(&base, align, n + pad) != 0)
		return NULL;
	return setup(base, pad, n);
}

void
ring_free_aligned(void *p, size_t align, size_t n)
{
	struct hdr *h;

	if (p == NULL)
		return;
	h = hdr_of(p);
	if (h->pad != (align < HDR ? HDR : align)) {
		fprintf(stderr,
		        "aemp: ring_free_aligned(%p, %zu): alignment "
		        "differs from the allocation\n",
		        p, align);
		abort();
	}
	do_free(p, n);
}

unsigned long
ring_alloc_big_frees(void)
{
	return 0;
}

void
ring_alloc_big_purge(void)
{
}

void
ring_alloc_release(void)
{
	(void)malloc_trim(0);
}

const char *
ring_alloc_name(void)
{
	return "libc";
}
