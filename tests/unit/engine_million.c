/*
 * tests/unit/engine_million.c - a million ports created and killed, spread
 * over the shards, each with a monitor; afterwards every table is empty
 * and (under ASan) nothing leaks.  Names are never reused.
 *
 * aemp-test-timeout: 240
 */
#include "tests/engine_util.h"

#define TOTAL 1000000

static aemp_node *node;
static atomic_long fired;

struct batch {
	int shard;
	long count;
	long made;
	char (*names)[40];
};

static void
on_death(aemp_node *n, const aemp_val *reason, size_t cnt, void *arg)
{
	(void)n;
	(void)reason;
	(void)cnt;
	(void)arg;
	atomic_fetch_add(&fired, 1);
}

static void
create_some(aemp_node *n, void *arg)
{
	struct batch *b = arg;
	aemp_id id;
	long i, end = AEMP_MIN(b->made + 50000, b->count);

	for (i = b->made; i < end; i++) {
		if (aemp_port(n, NULL, NULL, &id) < 0)
			return;
		aemp_mon(n, id.s, on_death, NULL, NULL);
		AEMP_ASSERT(strlen(id.s) < sizeof(b->names[i]));
		memcpy(b->names[i], id.s, strlen(id.s) + 1);
	}
	b->made = end;
}

static void
kill_some(aemp_node *n, void *arg)
{
	struct batch *b = arg;
	long i;

	for (i = 0; i < b->made; i++)
		aemp_kil(n, b->names[i], NULL, 0);
}

static long counts[8];

static void
count_ports(aemp_node *n, void *arg)
{
	struct eng_shard *sh = eng_cur;

	(void)n;
	counts[(intptr_t)arg] = (long)sh->ports.len + (long)sh->objs.len;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

int
main(void)
{
	static struct batch b[2];
	int i, shards, dups = 0;
	long total = 0, k;
	char(*all)[40];

	alarm(230);
	node = tu_node("t4", 2);
	tu_start(node);
	shards = aemp_node_shards(node) > 1 ? 2 : 1;
	for (i = 0; i < shards; i++) {
		b[i].shard = i;
		b[i].count = TOTAL / shards;
		b[i].names = calloc((size_t)b[i].count, sizeof(*b[i].names));
		while (b[i].made < b[i].count)
			CHECK_OK(tu_run(node, i, create_some, &b[i]));
		total += b[i].made;
	}
	CHECK_EQ(total, TOTAL);
	/* names are unique across shards */
	all = calloc(TOTAL, sizeof(*all));
	for (i = 0, k = 0; i < shards; i++) {
		memcpy(all + k, b[i].names, (size_t)b[i].made * sizeof(*all));
		k += b[i].made;
	}
	qsort(all, TOTAL, sizeof(*all), cmp_names);
	for (k = 1; k < TOTAL; k++)
		dups += strcmp(all[k - 1], all[k]) == 0;
	CHECK_EQ(dups, 0);
	free(all);
	for (i = 0; i < shards; i++)
		CHECK_OK(tu_run(node, i, kill_some, &b[i]));
	CHECK(TU_WAIT(atomic_load(&fired) == TOTAL, 120));
	for (i = 0; i < shards; i++) {
		CHECK_OK(tu_run(node, i, count_ports, (void *)(intptr_t)i));
		CHECK_EQ(counts[i], 0);
		free(b[i].names);
	}
	aemp_node_free(node);
	return tap_done();
}
