/*
 * tests/integ/global_mesh.c - seeds, the global service and the database
 * with several nodes in one process over loopback: a seed becomes
 * global, clients pick it as master, registrations are visible
 * everywhere, db_mon sees add/change/delete, a node that goes away loses
 * its entries everywhere, address lookup through g_find lets two clients
 * talk directly, two separately started globals merge their databases.
 *
 * aemp-test-timeout: 120
 */
#include "tests/engine_util.h"

static aemp_node *
mknode(const char *id, aemp_node *seed, const char *extra_key,
       const char *extra_json)
{
	char conf[1024], addr[256] = "[]", extra[512] = "";

	if (seed != NULL)
		aemp_node_listeners(seed, addr, sizeof(addr));
	if (extra_key != NULL)
		snprintf(extra, sizeof(extra), ",\"%s\":%s", extra_key,
		         extra_json);
	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"geheim\","
	         "\"shards\":2,\"connect_interval\":1,\"seeds\":%s%s}",
	         addr, extra);
	return tu_node_json(id, conf);
}

static void
dbmon_log(aemp_node *n, const char *family, const aemp_dbmirror *mirror,
          const aemp_val *added, const aemp_val *changed,
          const aemp_val *deleted, void *arg)
{
	char m[512], a[256], c[256], d[256];
	aemp_val *map = aemp_dbmirror_map(mirror);

	(void)n;
	tu_logf("%s %s now=%s a=%s c=%s d=%s", (const char *)arg, family,
	        tu_json(map, m, sizeof(m)), tu_json(added, a, sizeof(a)),
	        tu_json(changed, c, sizeof(c)), tu_json(deleted, d, sizeof(d)));
	aemp_val_free(map);
}

static void
db_log(aemp_node *n, const char *family, const aemp_val *res, void *arg)
{
	char buf[512];

	(void)n;
	tu_logf("%s %s = %s", (const char *)arg, family,
	        tu_json(res, buf, sizeof(buf)));
}

static int
h_log(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char buf[512];
	aemp_val a = aemp_array(msg, cnt);

	tu_logf("%s got %s from %s", (const char *)arg,
	        tu_json(&a, buf, sizeof(buf)), aemp_srcnode(n));
	return 0;
}

static void
test_join_and_db(void)
{
	aemp_node *s, *a, *b;
	aemp_id pa;
	char line[1024];

	tu_log_reset();
	s = mknode("seed1", NULL, NULL, NULL);
	a = mknode("wa", s, NULL, NULL);
	b = mknode("wb", s, NULL, NULL);
	tu_start(s);
	tu_start(a);
	tu_start(b);
	/* every seed becomes global as soon as anyone uses it (§6.2) */
	CHECK(TU_WAIT(aemp_node_is_global(s), 10));
	CHECK(!aemp_node_is_global(a));
	CHECK(TU_WAIT(aemp_node_is_up(a, "seed1") == 1, 10));
	CHECK(TU_WAIT(aemp_node_is_up(b, "seed1") == 1, 10));
	{
		char m[64], tiny[3];

		/* the seed is its own master and the master of a and b */
		CHECK(TU_WAIT(aemp_node_master(a, m, sizeof(m)) == 5, 10));
		CHECK(strcmp(m, "seed1") == 0);
		CHECK(aemp_node_master(s, m, sizeof(m)) == 5);
		CHECK(aemp_node_master(a, tiny, sizeof(tiny)) == AEMP_ETOOBIG);
		CHECK(aemp_node_master(a, NULL, 4) == -EINVAL);
	}

	CHECK_OK(aemp_db_mon(b, "fam", dbmon_log, "b-mon", NULL));
	usleep(200000);
	CHECK_OK(aemp_db_set(a, "fam", "k1", AEMP_ARR(aemp_str("v1")).u.a,
	                     NULL));
	CHECK(TU_WAIT(tu_has("b-mon fam now={\"k1\":\"v1\"} a=[\"k1\"] c=[] "
	                     "d=[]"),
	              10));
	CHECK_OK(aemp_db_set(a, "fam", "k1",
	                     &(aemp_val){.type = AEMP_INT, .u.i = 2}, NULL));
	CHECK(TU_WAIT(tu_has("b-mon fam now={\"k1\":2} a=[] c=[\"k1\"] d=[]"),
	              10));
	CHECK_OK(aemp_db_keys(b, "fam", db_log, "b-keys"));
	CHECK(TU_WAIT(tu_has("b-keys fam = [\"k1\"]"), 10));
	CHECK_OK(aemp_db_del(a, "fam", "k1"));
	CHECK(TU_WAIT(tu_has("b-mon fam now={} a=[] c=[] d=[\"k1\"]"), 10));

	/* db_reg: registered port visible everywhere; gone with the port */
	CHECK_OK(aemp_port(a, h_log, "pa", &pa));
	CHECK_OK(aemp_db_mon(b, "workers", dbmon_log, "b-w", NULL));
	CHECK_OK(aemp_db_reg(a, "workers", pa.s, NULL, NULL));
	snprintf(line, sizeof(line),
	         "b-w workers now={\"%s\":null} a=[\"%s\"] c=[] d=[]", pa.s,
	         pa.s);
	CHECK(TU_WAIT(tu_has(line), 10));
	CHECK_OK(aemp_db_family(b, "workers", db_log, "b-fam"));
	snprintf(line, sizeof(line), "b-fam workers = {\"%s\":null}", pa.s);
	CHECK(TU_WAIT(tu_has(line), 10));

	/* b finds a's address through g_find and talks to it directly */
	CHECK_OK(aemp_snd(b, pa.s, AEMP_MSG(aemp_str("job"), aemp_int(17))));
	CHECK(TU_WAIT(tu_has("pa got [\"job\",17] from wb"), 10));
	CHECK(aemp_node_is_up(b, "wa") == 1);

	CHECK_OK(aemp_kil(a, pa.s, NULL, 0));
	snprintf(line, sizeof(line), "b-w workers now={} a=[] c=[] d=[\"%s\"]",
	         pa.s);
	CHECK(TU_WAIT(tu_has(line), 10));

	/* a goes away: its entries disappear everywhere */
	CHECK_OK(aemp_db_set(a, "fam", "gone-with-a", NULL, NULL));
	CHECK(TU_WAIT(tu_has("b-mon fam now={\"gone-with-a\":null} "
	                     "a=[\"gone-with-a\"] c=[] d=[]"),
	              10));
	aemp_node_free(a);
	CHECK(TU_WAIT(tu_has("b-mon fam now={} a=[] c=[] d=[\"gone-with-a\"]"),
	              10));
	aemp_node_free(b);
	aemp_node_free(s);
	if (tap_failed)
		tu_log_dump();
}

/* 1 if some log line starts with prefix and contains both a and b. */
static int
line_has(const char *prefix, const char *a, const char *b)
{
	const char *p = tu_log.buf, *end;
	char line[1024];
	int found = 0;

	pthread_mutex_lock(&tu_log.mu);
	while (!found && (end = strchr(p, '\n')) != NULL) {
		snprintf(line, sizeof(line), "%.*s", (int)(end - p), p);
		found = strncmp(line, prefix, strlen(prefix)) == 0 &&
		        strstr(line, a) != NULL && strstr(line, b) != NULL;
		p = end + 1;
	}
	pthread_mutex_unlock(&tu_log.mu);
	return found;
}

/* Two globals started separately merge when they meet; a node without a
 * master keeps its requests and sends them when one appears. */
static void
test_merge(void)
{
	aemp_node *g1, *g2, *c;

	tu_log_reset();
	g1 = mknode("g1", NULL, "services", "[\"AnyEvent::MP::Global::\"]");
	CHECK_OK(aemp_db_set(g1, "shared", "from-g1", NULL, NULL));
	tu_start(g1);
	CHECK(TU_WAIT(aemp_node_is_global(g1), 5));
	/* g2 has its own data before it ever meets g1 */
	g2 = mknode("g2", g1, "services", "[\"AnyEvent::MP::Global::\"]");
	CHECK_OK(aemp_db_set(g2, "shared", "from-g2", NULL, NULL));
	/* c asks before it has a master: the request waits */
	c = mknode("c", g1, NULL, NULL);
	CHECK_OK(aemp_db_mon(c, "shared", dbmon_log, "c-mon", NULL));
	tu_start(g2);
	CHECK(TU_WAIT(aemp_node_is_global(g2), 5));
	CHECK(TU_WAIT(aemp_node_is_up(g1, "g2") == 1, 10));
	tu_start(c);
	CHECK(TU_WAIT(
	        line_has("c-mon shared now=", "\"from-g1\"", "\"from-g2\""),
	        10));
	/* 'g lists both globals on both globals */
	CHECK_OK(aemp_db_mon(g2, "'g", dbmon_log, "g2-g", NULL));
	CHECK(TU_WAIT(line_has("g2-g 'g now=", "\"g1\"", "\"g2\""), 10));
	/* g2 goes away: g1 keeps its own entry, drops g2's */
	aemp_node_free(g2);
	CHECK(TU_WAIT(line_has("c-mon shared now={\"from-g1\":null}", "d=[",
	                       "\"from-g2\""),
	              10));
	aemp_node_free(c);
	aemp_node_free(g1);
	if (tap_failed)
		tu_log_dump();
}

int
main(void)
{
	alarm(110);
	test_join_and_db();
	test_merge();
	return tap_done();
}
