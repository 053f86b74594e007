/*
 * tests/unit/config_hsbounds.c - the keys bounding pending handshakes
 * (docs/config.md "Handshakes under attack"): max_handshakes_per_addr,
 * per_addr_exempt and its address prefixes (eng_prefix_parse,
 * eng_prefix_match), first_byte_timeout, greeting_timeout and
 * handshake_timeout (default 2 x monitor_timeout): defaults, values,
 * and the error message of every kind of bad value.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "engine/conf/addr.h"
#include "engine/conf/config.h"
#include "ring/base.h"
#include "tests/tap.h"

static aemp_conf *
conf(void)
{
	aemp_conf *c = NULL;

	CHECK_OK(aemp_conf_new(&c));
	CHECK_OK(aemp_conf_set_json(c, "norc", "true"));
	return c;
}

static int
match(const char *prefix, const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct eng_prefix p;

	memset(&ss, 0, sizeof(ss));
	if (eng_prefix_parse(prefix, strlen(prefix), &p) < 0)
		return -1;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else
		return -2;
	return eng_prefix_match(&p, (struct sockaddr *)&ss);
}

static void
test_prefixes(void)
{
	CHECK_EQ(match("127.0.0.0/8", "127.9.8.7"), 1);
	CHECK_EQ(match("127.0.0.0/8", "128.0.0.1"), 0);
	CHECK_EQ(match("127.0.0.0/8", "::ffff:127.0.0.2"), 1); /* mapped */
	CHECK_EQ(match("10.1.2.3", "10.1.2.3"), 1);
	CHECK_EQ(match("10.1.2.3", "10.1.2.4"), 0);
	CHECK_EQ(match("10.1.2.0/23", "10.1.3.255"), 1);
	CHECK_EQ(match("10.1.2.0/23", "10.1.4.0"), 0);
	CHECK_EQ(match("0.0.0.0/0", "192.0.2.1"), 1);
	CHECK_EQ(match("0.0.0.0/0", "2001:db8::1"), 0); /* family */
	CHECK_EQ(match("::1", "::1"), 1);
	CHECK_EQ(match("::1", "::2"), 0);
	CHECK_EQ(match("fd00::/8", "fdab::1"), 1);
	CHECK_EQ(match("fd00::/8", "fe80::1"), 0);
	CHECK_EQ(match("2001:db8::/33", "2001:db8:7fff::1"), 1);
	CHECK_EQ(match("2001:db8::/33", "2001:db8:8000::1"), 0);
	CHECK_EQ(match("::/0", "127.0.0.1"), 0);
	CHECK_EQ(match("1.2.3.4/33", "1.2.3.4"), -1);
	CHECK_EQ(match("::1/129", "::1"), -1);
	CHECK_EQ(match("1.2.3.4/", "1.2.3.4"), -1);
	CHECK_EQ(match("1.2.3.4/x", "1.2.3.4"), -1);
	CHECK_EQ(match("1.2.3.4/-1", "1.2.3.4"), -1);
	CHECK_EQ(match("/8", "1.2.3.4"), -1);
	CHECK_EQ(match("localhost", "127.0.0.1"), -1); /* no DNS */
	CHECK(strstr(aemp_errmsg(), "bad address prefix 'localhost'") != NULL);
}

static void
test_defaults(void)
{
	struct eng_config cfg;
	aemp_conf *c = conf();

	CHECK_OK(aemp_conf_set_json(c, "monitor_timeout", "7"));
	CHECK_OK(eng_config_build(c, &cfg));
	CHECK_EQ(cfg.max_handshakes_per_addr, 32);
	CHECK_EQ(cfg.nper_addr_exempt, 2);
	CHECK(cfg.first_byte_timeout == 5.0);
	CHECK(cfg.greeting_timeout == 10.0);
	CHECK(cfg.handshake_timeout == 14.0); /* 2 x monitor_timeout */
	eng_config_fini(&cfg);
	aemp_conf_free(c);

	c = conf();
	CHECK_OK(aemp_conf_set_json(c, "max_handshakes_per_addr", "3"));
	CHECK_OK(aemp_conf_set_json(c, "per_addr_exempt",
	                            "\"10.0.0.0/8, fd00::/8,192.0.2.7\""));
	CHECK_OK(aemp_conf_set_json(c, "first_byte_timeout", "0.5"));
	CHECK_OK(aemp_conf_set_json(c, "greeting_timeout", "\"2\""));
	CHECK_OK(aemp_conf_set_json(c, "handshake_timeout", "3"));
	CHECK_OK(eng_config_build(c, &cfg));
	CHECK_EQ(cfg.max_handshakes_per_addr, 3);
	CHECK_EQ(cfg.nper_addr_exempt, 3);
	CHECK_EQ(cfg.per_addr_exempt[1].family, AF_INET6);
	CHECK_EQ(cfg.per_addr_exempt[1].bits, 8);
	CHECK_EQ(cfg.per_addr_exempt[2].bits, 32);
	CHECK(cfg.first_byte_timeout == 0.5);
	CHECK(cfg.greeting_timeout == 2.0);
	CHECK(cfg.handshake_timeout == 3.0);
	eng_config_fini(&cfg);
	aemp_conf_free(c);

	c = conf();
	CHECK_OK(aemp_conf_set_json(c, "per_addr_exempt", "[]"));
	CHECK_OK(eng_config_build(c, &cfg));
	CHECK_EQ(cfg.nper_addr_exempt, 0);
	eng_config_fini(&cfg);
	aemp_conf_free(c);
}

static const struct {
	const char *key, *json, *msg;
} bad[] = {
        {"max_handshakes_per_addr", "0",
         "max_handshakes_per_addr: expected an integer 1..65536, got 0"},
        {"max_handshakes_per_addr", "\"many\"",
         "max_handshakes_per_addr: expected an integer"},
        {"per_addr_exempt", "5", "per_addr_exempt: expected an array"},
        {"per_addr_exempt", "[1]", "per_addr_exempt: expected addresses"},
        {"per_addr_exempt", "[\"10.0.0.0/40\"]",
         "per_addr_exempt: bad address prefix '10.0.0.0/40'"},
        {"per_addr_exempt", "\"1.2.3.4,example.com\"",
         "bad address prefix 'example.com'"},
        {"first_byte_timeout", "0", "first_byte_timeout: expected a number"},
        {"greeting_timeout", "-1", "greeting_timeout: expected a number"},
        {"handshake_timeout", "\"soon\"",
         "handshake_timeout: expected a number"},
};

static void
test_errors(void)
{
	char many[40 * 12 + 8];
	size_t i, n = 0;
	aemp_conf *c;

	for (i = 0; i < AEMP_ARRAY_LEN(bad); i++) {
		c = conf();
		CHECK_ERR(aemp_conf_set_json(c, bad[i].key, bad[i].json),
		          AEMP_ECONFIG);
		if (strstr(aemp_errmsg(), bad[i].msg) == NULL)
			DIAG("%s %s: got '%s'", bad[i].key, bad[i].json,
			     aemp_errmsg());
		CHECK(strstr(aemp_errmsg(), bad[i].msg) != NULL);
		aemp_conf_free(c);
	}
	n += (size_t)snprintf(many + n, sizeof(many) - n, "\"");
	for (i = 0; i < ENG_MAX_EXEMPT + 1; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n,
		                      "%s10.0.0.%zu", i ? "," : "", i);
	snprintf(many + n, sizeof(many) - n, "\"");
	c = conf();
	CHECK_ERR(aemp_conf_set_json(c, "per_addr_exempt", many), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "per_addr_exempt: at most 32 entries") !=
	      NULL);
	aemp_conf_free(c);
}

int
main(void)
{
	test_prefixes();
	test_defaults();
	test_errors();
	return tap_done();
}
