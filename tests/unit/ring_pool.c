/*
 * tests/unit/ring_pool.c - slab pools: size rounding, alignment, distinct
 * objects across several slabs, reuse, zget, accounting, and the
 * AddressSanitizer passthrough.
 */
#include "ring/pool.h"
#include "tests/tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
#ifndef ASAN
#define ASAN 0
#endif

#define N 1000

static int
cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a;
	uintptr_t y = (uintptr_t) * (void *const *)b;

	return x < y ? -1 : x > y;
}

static void
test_sizes(void)
{
	struct ring_pool p;

	ring_pool_init(&p, 1, 8);
	CHECK_EQ(p.obj_size, 16);
	ring_pool_fini(&p);
	ring_pool_init(&p, 17, 8);
	CHECK_EQ(p.obj_size, 32);
	ring_pool_fini(&p);
	ring_pool_init(&p, 64, 0);
	CHECK_EQ(p.per_slab, 1);
	CHECK_EQ(ring_pool_bytes(&p), 0);
	ring_pool_fini(&p);
}

static void
test_get_put(void)
{
	static void *objs[N], *sorted[N];
	struct ring_pool p;
	int i, bad = 0, overlap = 0;
	void *again;

	ring_pool_init(&p, 40, 64);
	for (i = 0; i < N; i++) {
		objs[i] = ring_pool_get(&p);
		if (objs[i] == NULL || ((uintptr_t)objs[i] & 15) != 0)
			bad++;
		else
			memset(objs[i], i & 0xff, 40);
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(p.live, N);
	CHECK_EQ(p.slab_count, ASAN ? 0 : (N + 63) / 64);
	CHECK(ring_pool_bytes(&p) >= (size_t)N * p.obj_size);
	/* Objects never overlap and keep what was written into them. */
	memcpy(sorted, objs, sizeof(objs));
	qsort(sorted, N, sizeof(void *), cmp_ptr);
	for (i = 1; i < N; i++)
		overlap += (uintptr_t)sorted[i] - (uintptr_t)sorted[i - 1] <
		           p.obj_size;
	CHECK_EQ(overlap, 0);
	for (i = 0; i < N; i++)
		bad += ((unsigned char *)objs[i])[39] != (i & 0xff);
	CHECK_EQ(bad, 0);

	ring_pool_put(&p, objs[7]);
	ring_pool_put(&p, NULL);
	CHECK_EQ(p.live, N - 1);
	again = ring_pool_zget(&p);
	CHECK(again != NULL);
	if (!ASAN)
		CHECK(again == objs[7]); /* LIFO reuse keeps caches warm */
	bad = 0;
	for (i = 0; i < 40; i++)
		bad += ((unsigned char *)again)[i] != 0;
	CHECK_EQ(bad, 0);
	objs[7] = again;
	for (i = 0; i < N; i++)
		ring_pool_put(&p, objs[i]);
	CHECK_EQ(p.live, 0);
	/* Reuse: a second round carves no new slab. */
	for (i = 0; i < N; i++)
		objs[i] = ring_pool_get(&p);
	CHECK_EQ(p.slab_count, ASAN ? 0 : (N + 63) / 64);
	for (i = 0; i < N; i++)
		ring_pool_put(&p, objs[i]);
	ring_pool_fini(&p);
	CHECK_EQ(p.slab_count, 0);
	CHECK_EQ(ring_pool_bytes(&p), 0);
}

int
main(void)
{
	DIAG("pool mode: %s", ASAN ? "ASan passthrough" : "slabs");
	test_sizes();
	test_get_put();
	return tap_done();
}
