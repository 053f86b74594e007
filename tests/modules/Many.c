/*
 * tests/modules/Many.c - a test module (tests/integ/module_api.c):
 * registers Many::f0 .. Many::f499 (each answers [I, THREAD] to the reply
 * port, the last element of its arguments), Many::spread (round-robin over
 * the shards) and Many::pin (shard 1), which answer [THREAD].
 */
#include <aemp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NFUNC 500

static int
answer(aemp_node *node, const aemp_val *args, size_t n, int64_t i)
{
	char to[AEMP_ID_MAX];
	aemp_val r[2] = {aemp_int(i), aemp_int((int64_t)pthread_self())};

	if (n == 0 || args[n - 1].type != AEMP_STR ||
	    args[n - 1].len >= sizeof(to))
		return -1;
	memcpy(to, args[n - 1].u.s, args[n - 1].len);
	to[args[n - 1].len] = '\0';
	return aemp_snd(node, to, r, 2);
}

static int
f(aemp_node *node, const aemp_val *args, size_t n, void *arg)
{
	return answer(node, args, n, (int64_t)(intptr_t)arg);
}

int
aemp_module_init(aemp_node *node)
{
	char name[32];
	int i, err;

	for (i = 0; i < NFUNC; i++) {
		snprintf(name, sizeof(name), "Many::f%d", i);
		if ((err = aemp_register(node, name, f, (void *)(intptr_t)i)) <
		    0)
			return err;
	}
	if ((err = aemp_register_on(node, "Many::spread", f,
	                            (void *)(intptr_t)-1, AEMP_SHARD_SPREAD)) <
	    0)
		return err;
	return aemp_register_on(node, "Many::pin", f, (void *)(intptr_t)-2, 1);
}
