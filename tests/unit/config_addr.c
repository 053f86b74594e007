/*
 * tests/unit/config_addr.c - bind and seed specifications (§7.2) and
 * numeric address text (engine/conf/addr.h).
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <sys/un.h>

#include "engine/conf/addr.h"
#include "ring/base.h"
#include "tests/tap.h"

/* Resolve the given entries and join the results with spaces (static
 * buffer); on error "ERR: message". */
static const char *
res(size_t n, ...)
{
	static char out[4096];
	char *specs[8];
	struct eng_addr *a = NULL;
	size_t i, na = 0, len = 0;
	va_list ap;
	int rc;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		specs[i] = va_arg(ap, char *);
	va_end(ap);
	rc = eng_addr_resolve(specs, n, &a, &na);
	if (rc < 0) {
		snprintf(out, sizeof(out), "ERR: %s", aemp_errmsg());
		return out;
	}
	out[0] = '\0';
	for (i = 0; i < na; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s",
		                        i ? " " : "", a[i].text);
	eng_addr_free(a);
	return out;
}

static void
test_literals(void)
{
	CHECK_STREQ(res(1, "127.0.0.1"), "127.0.0.1:0");
	CHECK_STREQ(res(1, "127.0.0.1:4040"), "127.0.0.1:4040");
	CHECK_STREQ(res(1, "127.0.0.1:*"), "127.0.0.1:0");
	CHECK_STREQ(res(1, "[::1]:4040"), "[::1]:4040");
	CHECK_STREQ(res(1, "[::1]"), "[::1]:0");
	CHECK_STREQ(res(1, "::1"), "[::1]:0");
	CHECK_STREQ(res(1, "[fd00::0002]:1"), "[fd00::2]:1");
	CHECK_STREQ(res(1, "127.0.0.1:1,127.0.0.2:2"),
	            "127.0.0.1:1 127.0.0.2:2");
	CHECK_STREQ(res(3, "127.0.0.2:2", "127.0.0.1:1,127.0.0.2:2",
	                "[::1]:3,127.0.0.1:1"),
	            "127.0.0.2:2 127.0.0.1:1 [::1]:3");
	CHECK_STREQ(res(1, ",127.0.0.1:1,,"), "127.0.0.1:1");
	CHECK_STREQ(res(0), "");
}

static void
test_bad(void)
{
	CHECK(strstr(res(1, "[::1"), "ERR: bad address '[::1'"));
	CHECK(strstr(res(1, "[::1]x"), "ERR: bad address '[::1]x'"));
	CHECK(strstr(res(1, "[::1]:"), "ERR: bad address"));
	CHECK(strstr(res(1, "host:"), "ERR: bad address 'host:'"));
	CHECK_STREQ(res(1, "127.0.0.1:65536"),
	            "ERR: bad address '127.0.0.1:65536': port must be "
	            "0..65535 or '*'");
	CHECK(strstr(res(1, "127.0.0.1:http"), "port must be"));
	CHECK_STREQ(res(1, ":4040"), "ERR: bad address ':4040': missing host");
	CHECK_STREQ(res(1, "[]:1"), "ERR: bad address '[]:1': missing host");
	CHECK(strstr(res(1, "a:1,b:x"), "ERR: bad address 'b:x'"));
	CHECK(strstr(res(1, "nosuchhost.invalid:1"),
	             "ERR: cannot resolve 'nosuchhost.invalid' (in "
	             "'nosuchhost.invalid:1')"));
}

static int
wanted(const char *text)
{
	struct eng_addr a;
	const uint8_t *b;

	if (eng_addr_parse_numeric(text, strlen(text), &a) < 0)
		return 0;
	if (a.ss.ss_family == AF_INET) {
		b = (const uint8_t *)&((struct sockaddr_in *)&a.ss)->sin_addr;
		return b[0] != 127;
	}
	b = ((struct sockaddr_in6 *)&a.ss)->sin6_addr.s6_addr;
	return (b[0] >= 0x20 && b[0] <= 0x3f) || b[0] == 0xfc || b[0] == 0xfd;
}

/* The expected '*:PORT' result, computed independently: interfaces in
 * order of first appearance, IPv4 then IPv6 addresses of each. */
static void
expect_wildcard(char *out, size_t cap, int port)
{
	struct ifaddrs *all, *i, *j, *k;
	char text[64];
	size_t len = 0;
	int fam, first;

	out[0] = '\0';
	if (getifaddrs(&all) < 0)
		return;
	for (i = all; i != NULL; i = i->ifa_next) {
		for (first = 1, k = all; k != i; k = k->ifa_next)
			if (strcmp(k->ifa_name, i->ifa_name) == 0)
				first = 0;
		if (!first)
			continue;
		for (fam = 0; fam < 2; fam++) {
			for (j = all; j != NULL; j = j->ifa_next) {
				if (j->ifa_addr == NULL ||
				    strcmp(j->ifa_name, i->ifa_name) != 0 ||
				    j->ifa_addr->sa_family !=
				            (fam ? AF_INET6 : AF_INET))
					continue;
				eng_addr_format(j->ifa_addr, text,
				                sizeof(text));
				if (!wanted(text))
					continue;
				*strrchr(text, ':') = '\0';
				len += (size_t)snprintf(
				        out + len, cap - len, "%s%s:%d",
				        len ? " " : "", text, port);
			}
		}
	}
	freeifaddrs(all);
}

static void
test_wildcard(void)
{
	char expect[4096];

	expect_wildcard(expect, sizeof(expect), 4041);
	DIAG("'*:4041' -> %s", res(1, "*:4041"));
	CHECK_STREQ(res(1, "*:4041"), expect);
	expect_wildcard(expect, sizeof(expect), 0);
	CHECK_STREQ(res(1, "*:*"), expect);
	CHECK_STREQ(res(1, "*"), expect);
	CHECK(strstr(res(1, "*"), "127.") == NULL);
	CHECK(strstr(res(1, "*"), "[fe80") == NULL);
	CHECK(strstr(res(1, "*"), "[::1]") == NULL);
}

static void
test_hostname(void)
{
	const char *r = res(1, "4042");
	char buf[4096];

	DIAG("'4042' -> %s", r);
	if (strncmp(r, "ERR", 3) == 0) {
		DIAG("host name does not resolve here; skipping");
		return;
	}
	snprintf(buf, sizeof(buf), "%s", r);
	CHECK(strstr(buf, ":4042") != NULL);
	CHECK(strstr(res(1, ""), ":0") != NULL);
}

static void
test_spec_check(void)
{
	size_t noport = 99;

	CHECK_OK(eng_addr_spec_check("a:1,b,c:*,[::1]:5", &noport));
	CHECK_EQ(noport, 2);
	CHECK_OK(eng_addr_spec_check("", &noport));
	CHECK_EQ(noport, 1);
	CHECK_OK(eng_addr_spec_check("4040", &noport));
	CHECK_EQ(noport, 0);
	CHECK_ERR(eng_addr_spec_check("a:1,b:99999", &noport), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "'b:99999'"));
}

static void
test_numeric(void)
{
	struct eng_addr a;
	struct sockaddr_un un;
	char buf[64];

	CHECK_OK(eng_addr_parse_numeric("10.1.2.3:80", 11, &a));
	CHECK_STREQ(a.text, "10.1.2.3:80");
	CHECK_EQ(a.ss.ss_family, AF_INET);
	CHECK_EQ(a.len, sizeof(struct sockaddr_in));
	CHECK_OK(eng_addr_parse_numeric("[2001:db8::1]:4040xyz", 18, &a));
	CHECK_STREQ(a.text, "[2001:db8::1]:4040");
	CHECK_EQ(a.ss.ss_family, AF_INET6);
	CHECK_ERR(eng_addr_parse_numeric("10.1.2.3", 8, &a), AEMP_ECONFIG);
	CHECK_ERR(eng_addr_parse_numeric("10.1.2.3:*", 10, &a), AEMP_ECONFIG);
	CHECK_ERR(eng_addr_parse_numeric("host:1", 6, &a), AEMP_ECONFIG);
	CHECK_ERR(eng_addr_parse_numeric("::1:1", 5, &a), AEMP_ECONFIG);
	CHECK_ERR(eng_addr_parse_numeric("[10.1.2.3]:1", 12, &a), AEMP_ECONFIG);
	CHECK_ERR(eng_addr_parse_numeric("1.2.3.4:1\0", 10, &a), AEMP_ECONFIG);
	CHECK_ERR(eng_addr_parse_numeric("", 0, &a), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "expected IP:PORT"));
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	CHECK_EQ(eng_addr_format((struct sockaddr *)&un, buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "");
	CHECK_OK(eng_addr_parse_numeric("[2001:db8::1]:4040", 18, &a));
	CHECK_EQ(eng_addr_format((struct sockaddr *)&a.ss, buf, 4), 18);
	CHECK_STREQ(buf, "[20");
}

int
main(void)
{
	test_literals();
	test_bad();
	test_wildcard();
	test_hostname();
	test_spec_check();
	test_numeric();
	return tap_done();
}
