/*
 * tests/integ/db_backpressure.c - database writes meet back pressure when
 * the path to the master is full (issue 15 item 3, issue 22 item 1).
 *
 * "g" (a child process) is the global node and master of node "a" (in
 * this process, max_queue 64 KiB).  g is stopped (SIGSTOP), so a's
 * connection to it fills; the main thread (an application thread) then
 * calls aemp_db_set with 4 KiB values as fast as it is allowed:
 *  - it gets -EAGAIN, and still gets it after a pause in which its own
 *    queue to shard 0 drained (the connection to the master is above
 *    max_queue): nothing is queued beyond the bounds;
 *  - a's resident memory grows by far less than what was offered;
 *  - once g runs again, the connection never went down, and g holds
 *    exactly the keys whose aemp_db_set returned 0: nothing was dropped.
 *
 * aemp-test-timeout: 60
 */
#include <signal.h>

#include "tests/engine_util.h"
#include "tests/integ/procs.h"

#define VAL_BYTES 4096
#define TRIES 20000 /* 80 MiB offered at most */

static atomic_long family_keys = -1;
static atomic_int downs;

static void
got_family(aemp_node *n, const char *family, const aemp_val *result, void *arg)
{
	(void)n;
	(void)family;
	(void)arg;
	atomic_store(&family_keys, result != NULL && result->type == AEMP_ARRAY
	                                   ? (long)result->len
	                                   : -2);
}

/* count_keys - the number of keys of family bp at the master, or < 0. */
static long
count_keys(aemp_node *a)
{
	atomic_store(&family_keys, -1);
	if (aemp_db_keys(a, "bp", got_family, NULL) < 0)
		return -1;
	TU_WAIT(atomic_load(&family_keys) != -1, 5);
	return atomic_load(&family_keys);
}

static void
g_down(aemp_node *n, const aemp_val *reason, size_t cnt, void *arg)
{
	(void)n;
	(void)reason;
	(void)cnt;
	(void)arg;
	atomic_fetch_add(&downs, 1);
}

/* offer - db_set until -EAGAIN (or TRIES); returns how many were taken. */
static long
offer(aemp_node *a, long first, const char *val, int *last)
{
	aemp_val v = aemp_str(val);
	char key[32];
	long i;
	int rc = 0;

	for (i = first; i < TRIES; i++) {
		snprintf(key, sizeof(key), "k%ld", i);
		rc = aemp_db_set(a, "bp", key, &v, NULL);
		if (rc < 0)
			break;
	}
	*last = rc;
	return i - first;
}

int
main(int argc, char **argv)
{
	static char val[VAL_BYTES + 1];
	char conf[512], seed[128];
	long taken, more, rss0, rss1;
	aemp_node *a;
	int g, last;

	if (argc > 2 && strcmp(argv[1], "--role") == 0) {
		procs_child_init();
		return proc_role_node(argv + 3);
	}
	procs_init();
	alarm(55);
	memset(val, 'v', VAL_BYTES);
	g = proc_spawn_node(
	        "g",
	        "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"geheim\","
	        "\"shards\":1,"
	        "\"services\":[\"AnyEvent::MP::Global::\"]}",
	        NULL, seed, sizeof(seed));
	CHECK(g >= 0);
	if (g < 0)
		return tap_done();
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"geheim\","
	         "\"shards\":2,\"seeds\":[\"%s\"],\"max_packet\":65536,"
	         "\"max_queue\":65536,\"monitor_timeout\":60}",
	         seed);
	a = tu_node_json("a", conf);
	tu_start(a);
	CHECK(TU_WAIT(aemp_node_is_up(a, "g") == 1, 10));
	CHECK_OK(aemp_mon(a, "g", g_down, NULL, NULL));
	/* a write that goes through, so the master is known */
	CHECK_OK(aemp_db_set(a, "bp", "k", NULL, NULL));
	CHECK(TU_WAIT(count_keys(a) == 1, 10));

	proc_kill(g, SIGSTOP);
	rss0 = proc_rss_kb(0);
	taken = offer(a, 0, val, &last);
	CHECK_EQ(last, -EAGAIN);
	usleep(300000); /* a's own queue to shard 0 drains meanwhile */
	more = offer(a, taken, val, &last);
	rss1 = proc_rss_kb(0);
	DIAG("g stopped: %ld writes of %d B taken, then -EAGAIN; after 0.3 s "
	     "%ld more; rss +%ld KiB",
	     taken, VAL_BYTES, more, rss1 - rss0);
	CHECK_EQ(last, -EAGAIN);
	CHECK(taken + more < TRIES);
	/* what was taken: the kernel's socket buffers, max_queue (64 KiB),
	 * one call queue (1 MiB), slack; not the 80 MiB offered */
	CHECK(rss1 - rss0 < RSS_MAX(32 * 1024));

	proc_kill(g, SIGCONT);
	CHECK(TU_WAIT(count_keys(a) == taken + more + 1, 20));
	DIAG("g holds %ld keys of bp; %ld writes were taken (+1 before)",
	     atomic_load(&family_keys), taken + more);
	CHECK_EQ(atomic_load(&downs), 0);
	CHECK_EQ(aemp_node_is_up(a, "g"), 1);
	aemp_node_free(a);
	return tap_done();
}
