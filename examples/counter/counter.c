/*
 * examples/counter/counter.c - a service module for `aemp run`
 * (docs/hosting.md): counters that other nodes spawn and call.
 *
 *   Counter::init [FAMILY]   spawn init: the new port is a counter and
 *                            registers itself in database family FAMILY
 *                            (default "counter") until it dies
 *   PORT <- ["incr", N, REPLY...]  adds N (default 1), replies [VALUE]
 *   PORT <- ["get", REPLY...]      replies [VALUE]
 *   PORT <- ["hash", ROUNDS, REPLY...]  replies [HASH] after ROUNDS rounds
 *                            of a 64-bit mix: CPU work for benchmarks
 *   NODE <- ["Counter::hits", REPLY...]
 *                            function-name request: replies [CALLS], the
 *                            number of incr/get calls on this node
 *
 * A reply goes to the last element of the message, the reply port that
 * `aemp cal` and AnyEvent::MP's cal append.
 *
 * Build with the installed header only:
 *     cc -shared -fPIC $(pkg-config --cflags aemp) -o Counter.so counter.c
 *
 * Threads: every handler runs on the shard of its port; the node-wide call
 * count is atomic because ports live on different shards.
 */
#include <aemp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_long calls;

/* Every live counter is on a list, so that aemp_module_fini can free the
 * ones whose ports were still alive when the node stopped. */
struct counter {
	struct counter *next, **pprev;
	long long value;
};

static pthread_mutex_t list_mu = PTHREAD_MUTEX_INITIALIZER;
static struct counter *list;

static void
counter_unlink(struct counter *c)
{
	pthread_mutex_lock(&list_mu);
	*c->pprev = c->next;
	if (c->next != NULL)
		c->next->pprev = c->pprev;
	pthread_mutex_unlock(&list_mu);
}

/* reply - send [v] to the reply port, the message's last element. */
static int
reply(aemp_node *node, const aemp_val *msg, size_t n, long long v)
{
	char to[AEMP_ID_MAX];
	aemp_val r = aemp_int(v);

	if (n == 0 || msg[n - 1].type != AEMP_STR ||
	    msg[n - 1].len >= sizeof(to))
		return aemp_fail(node, "Counter: no reply port");
	memcpy(to, msg[n - 1].u.s, msg[n - 1].len);
	to[msg[n - 1].len] = '\0';
	return aemp_snd(node, to, &r, 1) < 0 ? -1 : 0;
}

static int
counter_rcv(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	struct counter *c = arg;
	int64_t by = 1;

	atomic_fetch_add(&calls, 1);
	if (n >= 2 && aemp_str_eq(&msg[0], "incr")) {
		if (n >= 3)
			(void)aemp_get_int(&msg[1], &by);
		c->value += by;
		return reply(node, msg, n, c->value);
	}
	if (n >= 2 && aemp_str_eq(&msg[0], "get"))
		return reply(node, msg, n, c->value);
	if (n >= 3 && aemp_str_eq(&msg[0], "hash")) {
		/* ROUNDS of a 64-bit mix: a stand-in for a request that
		 * does real work (tests/bench/hosting) */
		uint64_t h = (uint64_t)c->value + 0x9e3779b97f4a7c15u;
		int64_t rounds = 0, i;

		(void)aemp_get_int(&msg[1], &rounds);
		for (i = 0; i < rounds && i < 100000000; i++) {
			h ^= h >> 31;
			h *= 0x7fb5d329728ea185u;
		}
		c->value++;
		return reply(node, msg, n, (long long)(h >> 1));
	}
	return 0; /* anything else is ignored */
}

/* The port is gone: its counter goes too. */
static void
counter_died(aemp_node *node, const aemp_val *reason, size_t n, void *arg)
{
	(void)node;
	(void)reason;
	(void)n;
	counter_unlink(arg);
	free(arg);
}

static int
counter_init(aemp_node *node, const aemp_val *args, size_t n, void *arg)
{
	char family[64] = "counter";
	aemp_val zero = aemp_int(0);
	struct counter *c;
	int err;

	(void)arg;
	if (n > 0 && args[0].type == AEMP_STR && args[0].len > 0 &&
	    args[0].len < sizeof(family)) {
		memcpy(family, args[0].u.s, args[0].len);
		family[args[0].len] = '\0';
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	pthread_mutex_lock(&list_mu);
	c->next = list;
	c->pprev = &list;
	if (list != NULL)
		list->pprev = &c->next;
	list = c;
	pthread_mutex_unlock(&list_mu);
	if ((err = aemp_rcv(node, aemp_self(node), counter_rcv, c)) < 0 ||
	    (err = aemp_mon(node, aemp_self(node), counter_died, c, NULL)) <
	            0) {
		counter_unlink(c);
		free(c);
		return err;
	}
	/* db_reg: aemp_db_set of family/port, deleted when the port dies */
	if ((err = aemp_db_reg(node, family, NULL, &zero, NULL)) < 0)
		return aemp_fail(node, "Counter: cannot register in %s: %s",
		                 family, aemp_strerror(err));
	return 0;
}

static int
counter_hits(aemp_node *node, const aemp_val *args, size_t n, void *arg)
{
	(void)arg;
	return reply(node, args, n, atomic_load(&calls));
}

/* Loaded once per node; this example is meant for one node per process
 * (the call count and the list are shared by all nodes that load it). */
int
aemp_module_init(aemp_node *node)
{
	int err;

	if ((err = aemp_register(node, "Counter::init", counter_init, NULL)) <
	    0)
		return err;
	return aemp_register_on(node, "Counter::hits", counter_hits, NULL,
	                        AEMP_SHARD_SPREAD);
}

/* The node is being freed (its shards have stopped): free what is left. */
void
aemp_module_fini(aemp_node *node)
{
	struct counter *c;

	(void)node;
	pthread_mutex_lock(&list_mu);
	while ((c = list) != NULL) {
		list = c->next;
		free(c);
	}
	pthread_mutex_unlock(&list_mu);
}
