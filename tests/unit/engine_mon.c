/*
 * tests/unit/engine_mon.c - monitors on one node across shards: the four
 * forms, guards, one-shot firing, missing and dead ports, kill cascades
 * through linked ports, asynchronous kills, and handlers that snd, kil,
 * mon and spawn from inside handlers.
 */
#include "tests/engine_util.h"

static aemp_node *node;

static void
mon_log(aemp_node *n, const aemp_val *reason, size_t cnt, void *arg)
{
	char buf[512];
	aemp_val a = aemp_array(reason, cnt);
	const char *self = aemp_self(n);

	tu_logf("%s fired %s self=%s", (const char *)arg,
	        tu_json(&a, buf, sizeof(buf)), self ? self : "-");
}

static int
h_log(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char buf[512];
	aemp_val a = aemp_array(msg, cnt);

	(void)n;
	tu_logf("%s got %s", (const char *)arg, tu_json(&a, buf, sizeof(buf)));
	return 0;
}

/* ---- the four forms ------------------------------------------------- */

static aemp_id a_port, b_port, c_port, d_port, sink;
static aemp_guard cancelled;

static void
setup_forms(aemp_node *n, void *arg)
{
	(void)arg;
	aemp_port(n, h_log, "A", &a_port);
	aemp_port(n, h_log, "B", &b_port);
	aemp_port(n, h_log, "C", &c_port);
	aemp_port(n, h_log, "D", &d_port);
	aemp_port(n, h_log, "sink", &sink);
	aemp_mon(n, a_port.s, mon_log, "cb-a", NULL);
	aemp_mon(n, a_port.s, mon_log, "cb-a-cancelled", &cancelled);
	aemp_mon_kill(n, a_port.s, b_port.s, NULL); /* link a -> b */
	aemp_mon_kill(n, b_port.s, c_port.s, NULL); /* link b -> c */
	aemp_mon(n, c_port.s, mon_log, "cb-c", NULL);
	aemp_mon_snd(n, a_port.s, sink.s, AEMP_MSG(aemp_str("a-died")), NULL);
	aemp_mon(n, b_port.s, mon_log, "cb-b", NULL);
	aemp_mon(n, d_port.s, mon_log, "cb-d", NULL);
	aemp_mon_kill(n, d_port.s, sink.s, NULL); /* normal: no kill */
}

static void
kill_a(aemp_node *n, void *arg)
{
	(void)arg;
	aemp_guard_cancel(n, &cancelled);
	aemp_kil(n, a_port.s, AEMP_MSG(aemp_str("boom"), aemp_int(42)));
	/* Kills are asynchronous: nothing fired yet. */
	tu_logf("kil returned, count %d", atomic_load(&tu_log.count));
}

static void
test_forms(void)
{
	CHECK_OK(tu_run(node, 0, setup_forms, NULL));
	CHECK_OK(tu_run(node, 0, kill_a, NULL));
	CHECK(tu_has("kil returned, count 0"));
	CHECK(TU_WAIT(tu_has("cb-a fired [\"boom\",42] self=-"), 5));
	CHECK(TU_WAIT(tu_has("sink got [\"a-died\",\"boom\",42]"), 5));
	/* cascade a -> b -> c with the same reason */
	CHECK(TU_WAIT(tu_has("cb-b fired [\"boom\",42] self=-"), 5));
	CHECK(TU_WAIT(tu_has("cb-c fired [\"boom\",42] self=-"), 5));
	CHECK(!tu_has("cb-a-cancelled fired [\"boom\",42] self=-"));
	/* a normal kill does not cascade */
	CHECK_OK(aemp_kil(node, d_port.s, NULL, 0));
	CHECK(TU_WAIT(tu_has("cb-d fired [] self=-"), 5));
	usleep(50000);
	CHECK_OK(aemp_snd(node, sink.s, AEMP_MSG(aemp_str("still alive"))));
	CHECK(TU_WAIT(tu_has("sink got [\"still alive\"]"), 5));
}

/* ---- missing ports, dead ports, one-shot, cross shard --------------- */

static aemp_id far_port;

static void
make_far(aemp_node *n, void *arg)
{
	(void)arg;
	aemp_port(n, h_log, "far", &far_port);
}

static void
mon_missing(aemp_node *n, void *arg)
{
	(void)arg;
	aemp_mon(n, "t2#missing", mon_log, "missing", NULL);
	aemp_mon(n, far_port.s, mon_log, "far-from-0", NULL);
	tu_logf("mon returned");
}

static void
test_missing_and_cross(void)
{
	char line[512];

	CHECK_OK(tu_run(node, node->nshards - 1, make_far, NULL));
	CHECK_OK(tu_run(node, 0, mon_missing, NULL));
	CHECK(tu_has("mon returned"));
	CHECK(TU_WAIT(tu_has("missing fired [\"no_such_port\",\"cannot monitor "
	                     "nonexistent port\",\"t2#missing\"] self=-"),
	              5));
	CHECK_OK(aemp_kil(node, far_port.s, AEMP_MSG(aemp_str("x"))));
	CHECK(TU_WAIT(tu_has("far-from-0 fired [\"x\"] self=-"), 5));
	/* monitoring a dead port: no_such_port */
	CHECK_OK(aemp_mon(node, far_port.s, mon_log, "dead", NULL));
	snprintf(line, sizeof(line),
	         "dead fired [\"no_such_port\",\"cannot monitor nonexistent "
	         "port\",\"%s\"] self=-",
	         far_port.s);
	CHECK(TU_WAIT(tu_has(line), 5));
	/* a port of another node, on a node without network (the core
	 * alone): the monitor fires at once, as for a lost connection
	 * (tests/integ/net_pair.c has the same with the network) */
	CHECK_OK(aemp_mon(node, "elsewhere#p", mon_log, "remote", NULL));
	CHECK(TU_WAIT(tu_has("remote fired [\"transport_error\",\"elsewhere\","
	                     "\"this node has no network\"] self=-"),
	              5));
}

/* ---- handlers that act from inside handlers ------------------------- */

static aemp_id actor, victim, watcher;
static int actor_spawned;

static int
init_child(aemp_node *n, const aemp_val *args, size_t cnt, void *arg)
{
	(void)arg;
	(void)args;
	tu_logf("child init self-ok=%d args=%zu", aemp_self(n) != NULL, cnt);
	return aemp_rcv(n, aemp_self(n), h_log, "child");
}

static int
h_actor(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	aemp_id child;

	(void)arg;
	(void)cnt;
	if (aemp_str_eq(&msg[0], "go")) {
		/* mon with kill-self form: victim NULL = $SELF */
		aemp_mon_kill(n, victim.s, NULL, NULL);
		aemp_mon(n, victim.s, mon_log, "actor-mon", NULL);
		aemp_snd(n, watcher.s, AEMP_MSG(aemp_str("from actor")));
		aemp_spawn(n, aemp_node_id(n), "Test::child",
		           AEMP_MSG(aemp_int(1)), &child);
		aemp_snd(n, child.s, AEMP_MSG(aemp_str("hello child")));
		actor_spawned = 1;
		aemp_kil(n, victim.s, AEMP_MSG(aemp_str("victim-reason")));
	}
	return 0;
}

static void
make_actors(aemp_node *n, void *arg)
{
	(void)arg;
	aemp_port(n, h_actor, NULL, &actor);
	aemp_port(n, h_log, "victim", &victim);
	aemp_port(n, h_log, "watcher", &watcher);
	aemp_mon(n, actor.s, mon_log, "actor", NULL);
}

static void
test_inside_handlers(void)
{
	char line[512];

	CHECK_OK(tu_run(node, 0, make_actors, NULL));
	CHECK_OK(aemp_snd(node, actor.s, AEMP_MSG(aemp_str("go"))));
	CHECK(TU_WAIT(tu_has("watcher got [\"from actor\"]"), 5));
	CHECK(TU_WAIT(tu_has("child init self-ok=1 args=1"), 5));
	CHECK(TU_WAIT(tu_has("child got [\"hello child\"]"), 5));
	snprintf(line, sizeof(line),
	         "actor-mon fired [\"victim-reason\"] self=%s", actor.s);
	CHECK(TU_WAIT(tu_has(line), 5));
	/* linked to the victim: the actor died with the victim's reason */
	CHECK(TU_WAIT(tu_has("actor fired [\"victim-reason\"] self=-"), 5));
}

/* ---- mon_guard and guard cancel from other threads ------------------ */

static atomic_int released;

static void
release_ref(void *ref)
{
	atomic_fetch_add(&released, *(int *)ref);
}

static void
test_guards(void)
{
	static int ten = 10;
	aemp_id p;
	aemp_guard g1, g2;

	CHECK_OK(aemp_port(node, h_log, "guarded", &p));
	CHECK_OK(aemp_mon_guard(node, p.s, release_ref, &ten, &g1));
	CHECK_OK(aemp_mon(node, p.s, mon_log, "never", &g2));
	CHECK(g1.v != 0 && g2.v != 0);
	CHECK_OK(aemp_guard_cancel(node, &g2));
	CHECK_EQ(g2.v, 0);
	CHECK_OK(aemp_guard_cancel(node, &g2)); /* zero guard: no-op */
	CHECK_OK(aemp_kil(node, p.s, NULL, 0));
	CHECK(TU_WAIT(atomic_load(&released) == 10, 5));
	usleep(50000);
	CHECK(!tu_has("never fired [] self=-"));
	/* cancelling a fired guard is a no-op */
	CHECK_OK(aemp_guard_cancel(node, &g1));
	CHECK_EQ(atomic_load(&released), 10);
}

int
main(void)
{
	alarm(60);
	node = tu_node("t2", 2);
	CHECK_OK(aemp_register(node, "Test::child", init_child, NULL));
	tu_start(node);
	test_forms();
	test_missing_and_cross();
	test_inside_handlers();
	test_guards();
	CHECK(actor_spawned);
	if (tap_failed)
		tu_log_dump();
	aemp_node_free(node);
	return tap_done();
}
