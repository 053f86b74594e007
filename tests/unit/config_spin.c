/*
 * tests/unit/config_spin.c - the low-latency keys: busy_poll_us (range,
 * $AEMP_BUSY_POLL_US as the default), cpus (syntax, one CPU per shard,
 * CPUs that do not exist refused by aemp_node_new in one line), and what
 * eng_config_build makes of them.  No node is started here.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/conf/config.h"
#include "ring/base.h"
#include "tests/tap.h"

static aemp_conf *
conf_of(const char *key, const char *json)
{
	aemp_conf *c = NULL;

	CHECK_OK(aemp_conf_new(&c));
	CHECK_OK(aemp_conf_set_json(c, "norc", "true"));
	if (key != NULL)
		CHECK_OK(aemp_conf_set_json(c, key, json));
	return c;
}

struct vcase {
	const char *key;
	const char *json;
	const char *msg; /* NULL: valid */
};

static const struct vcase vcases[] = {
        {"busy_poll_us", "0", NULL},
        {"busy_poll_us", "1000", NULL},
        {"busy_poll_us", "\"250\"", NULL},
        {"busy_poll_us", "1000000", NULL},
        {"busy_poll_us", "-1",
         "busy_poll_us: expected an integer 0..1000000, got -1 "
         "(configure argument)"},
        {"busy_poll_us", "1000001", "busy_poll_us: expected an integer"},
        {"busy_poll_us", "1.5", "busy_poll_us: expected an integer"},
        {"busy_poll_us", "\"fast\"", "busy_poll_us: expected an integer"},
        {"busy_poll_us", "[]", "busy_poll_us: expected an integer"},
        {"cpus", "[]", NULL},
        {"cpus", "[0]", NULL},
        {"cpus", "[0, \"1\", 3]", NULL},
        {"cpus", "\"0,1\"", NULL},
        {"cpus", "\"0, 1\"", NULL},
        {"cpus", "[4095]", NULL},
        {"cpus", "5",
         "cpus: expected an array of CPU numbers or a comma-separated "
         "string, got 5"},
        {"cpus", "{}", "cpus: expected an array of CPU numbers"},
        {"cpus", "[[0]]", "cpus: expected CPU numbers, got an array"},
        {"cpus", "[\"x\"]",
         "cpus: expected CPU numbers 0..4095, got \"x\" (configure "
         "argument)"},
        {"cpus", "[-1]", "cpus: expected CPU numbers 0..4095, got \"-1\""},
        {"cpus", "[4096]", "cpus: expected CPU numbers 0..4095"},
        {"cpus", "[1.5]", "cpus: expected CPU numbers 0..4095"},
        {"cpus", "\"0,,x\"", "cpus: expected CPU numbers 0..4095, got \"x\""},
};

static void
test_validation(void)
{
	size_t i;

	for (i = 0; i < AEMP_ARRAY_LEN(vcases); i++) {
		const struct vcase *v = &vcases[i];
		aemp_conf *c = conf_of(NULL, NULL);
		int rc = aemp_conf_set_json(c, v->key, v->json);

		if (v->msg == NULL) {
			CHECK_OK(rc);
		} else {
			CHECK_ERR(rc, AEMP_ECONFIG);
			if (strstr(aemp_errmsg(), v->msg) == NULL)
				DIAG("%s %s: got '%s'", v->key, v->json,
				     aemp_errmsg());
			CHECK(strstr(aemp_errmsg(), v->msg) != NULL);
		}
		aemp_conf_free(c);
	}
}

/* Too many CPUs: 65 of them, for at most 64 shards. */
static void
test_too_many(void)
{
	char json[400];
	size_t n = 0;
	aemp_conf *c = conf_of(NULL, NULL);
	int i;

	n += (size_t)snprintf(json + n, sizeof(json) - n, "[0");
	for (i = 1; i < 65; i++)
		n += (size_t)snprintf(json + n, sizeof(json) - n, ",%d", i);
	snprintf(json + n, sizeof(json) - n, "]");
	CHECK_ERR(aemp_conf_set_json(c, "cpus", json), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "cpus: at most 64 CPUs") != NULL);
	aemp_conf_free(c);
}

static void
test_build(void)
{
	struct eng_config cfg;
	aemp_conf *c = conf_of(NULL, NULL);

	/* defaults: off, not pinned */
	CHECK_OK(eng_config_build(c, &cfg));
	CHECK_EQ(cfg.busy_poll_us, 0);
	CHECK_EQ(cfg.ncpus, 0);
	eng_config_fini(&cfg);
	aemp_conf_free(c);

	c = conf_of("busy_poll_us", "750");
	CHECK_OK(aemp_conf_set_json(c, "cpus", "\"3, 1\""));
	CHECK_OK(eng_config_build(c, &cfg));
	CHECK_EQ(cfg.busy_poll_us, 750);
	CHECK_EQ(cfg.ncpus, 2);
	CHECK_EQ(cfg.cpus[0], 3);
	CHECK_EQ(cfg.cpus[1], 1);
	eng_config_fini(&cfg);
	aemp_conf_free(c);
}

/* cpus and shards must agree (when shards is set). */
static void
test_shards(void)
{
	aemp_conf *c = conf_of("cpus", "[0]");

	CHECK_OK(aemp_conf_set_json(c, "shards", "2"));
	CHECK_ERR(aemp_conf_resolve(c), AEMP_ECONFIG);
	CHECK_STREQ(aemp_errmsg(), "cpus: lists 1 CPU but shards is 2; give "
	                           "one CPU per shard (configure argument)");
	aemp_conf_free(c);
	c = conf_of("cpus", "[0]");
	CHECK_OK(aemp_conf_set_json(c, "shards", "1"));
	CHECK_OK(aemp_conf_resolve(c));
	aemp_conf_free(c);
}

/* A CPU the machine does not have: aemp_node_new fails, one line. */
static void
test_node_cpus(void)
{
	aemp_node *node = NULL;
	aemp_conf *c = conf_of("cpus", "[4000]");
	char want[128];
	long n = sysconf(_SC_NPROCESSORS_CONF);

	CHECK_OK(aemp_conf_set_json(c, "binds", "[]"));
	CHECK_ERR(aemp_node_new(c, &node), AEMP_ECONFIG);
	CHECK(node == NULL);
	snprintf(want, sizeof(want),
	         "cpus: CPU 4000 does not exist (this machine has CPUs "
	         "0..%ld)",
	         n - 1);
	CHECK_STREQ(aemp_errmsg(), want);
	CHECK(strchr(aemp_errmsg(), '\n') == NULL);
	aemp_conf_free(c);

	/* CPU 0 exists (and with shards unset, one shard per listed CPU) */
	c = conf_of("cpus", "[0]");
	CHECK_OK(aemp_conf_set_json(c, "binds", "[]"));
	CHECK_OK(aemp_node_new(c, &node));
	CHECK_EQ(aemp_node_shards(node), 1);
	aemp_node_free(node);
	aemp_conf_free(c);
}

/* $AEMP_BUSY_POLL_US: the default when nothing else sets the key. */
static void
test_env(void)
{
	struct eng_config cfg;
	aemp_conf *c;

	setenv("AEMP_BUSY_POLL_US", "300", 1);
	c = conf_of(NULL, NULL);
	CHECK_OK(eng_config_build(c, &cfg));
	CHECK_EQ(cfg.busy_poll_us, 300);
	eng_config_fini(&cfg);
	aemp_conf_free(c);

	c = conf_of("busy_poll_us", "0"); /* a set value wins */
	CHECK_OK(eng_config_build(c, &cfg));
	CHECK_EQ(cfg.busy_poll_us, 0);
	eng_config_fini(&cfg);
	aemp_conf_free(c);

	setenv("AEMP_BUSY_POLL_US", "soon", 1);
	c = conf_of(NULL, NULL);
	CHECK_ERR(aemp_conf_resolve(c), AEMP_ECONFIG);
	CHECK_STREQ(aemp_errmsg(),
	            "busy_poll_us: expected an integer 0..1000000, got "
	            "\"soon\" (environment AEMP_BUSY_POLL_US)");
	aemp_conf_free(c);
	unsetenv("AEMP_BUSY_POLL_US");
}

int
main(void)
{
	unsetenv("AEMP_BUSY_POLL_US"); /* runtests.sh --busy-poll sets it */
	test_validation();
	test_too_many();
	test_build();
	test_shards();
	test_node_cpus();
	test_env();
	return tap_done();
}
