/*
 * tests/unit/config_conf.c - aemp_conf: precedence of every level, force,
 * norc, parent chains and cycles, node-ID templates, validation of every
 * key, eng_config_build and its warnings.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "engine/conf/config.h"
#include "engine/conf/rcfile.h"
#include "ring/base.h"
#include "tests/tap.h"

static const char file_text[] =
        "# test file\n"
        "{ \"version\": 1, \"secret\": \"global\", \"monitor_timeout\": 10,\n"
        "  \"connect_interval\": 3, \"seeds\": [\"g:1\"], \"eval\": \"1\",\n"
        "  \"profile\": {\n"
        "    \"base\": {\"monitor_timeout\": 11, \"nodelay\": false,\n"
        "              \"shards\": 2},\n"
        "    \"mid\": {\"parent\": \"base\", \"monitor_timeout\": 12,\n"
        "             \"autocork\": true, \"shards\": 3},\n"
        "    \"leaf\": {\"parent\": \"mid\", \"secret\": \"leaf\"},\n"
        "    \"cyc1\": {\"parent\": \"cyc2\"}, \"cyc2\": {\"parent\": "
        "\"cyc1\"},\n"
        "    \"self\": {\"parent\": \"self\"},\n"
        "    \"orphan\": {\"parent\": \"nonexistent\", \"nodeid\": \"o\"},\n"
        "    \"badparent\": {\"parent\": 5},\n"
        "    \"nulls\": {\"monitor_timeout\": null, \"secret\": null},\n"
        "    \"badval\": {\"connect_interval\": \"soon\"},\n"
        "  },\n"
        "}\n";

static aemp_rc *rc;

static aemp_conf *
conf(const char *profile)
{
	aemp_conf *c = NULL;

	CHECK_OK(aemp_conf_new(&c));
	if (profile != NULL)
		CHECK_OK(aemp_conf_set_str(c, "profile", profile));
	return c;
}

static double
num(const aemp_conf *c, const char *key)
{
	double d = -1;

	if (aemp_get_float(aemp_conf_get(c, key), &d) < 0)
		return -1;
	return d;
}

static void
test_precedence(void)
{
	aemp_conf *c = conf("leaf");
	aemp_val t = aemp_bool(1);

	CHECK_OK(aemp_conf_set_json(c, "monitor_timeout", "99"));
	CHECK_OK(aemp_conf_set_json(c, "max_handshakes", "7"));
	CHECK_OK(aemp_conf_set_json(c, "seeds", "[\"arg:2\"]"));
	CHECK(aemp_conf_get(c, "monitor_timeout") == NULL); /* unresolved */
	CHECK_OK(eng_conf_resolve_rc(c, rc));
	CHECK_EQ(num(c, "monitor_timeout"), 12);  /* profile chain > args */
	CHECK_EQ(num(c, "connect_interval"), 3);  /* global > default */
	CHECK_EQ(num(c, "max_handshakes"), 7);    /* args > default */
	CHECK_EQ(num(c, "max_packet"), 16777216); /* default */
	CHECK_EQ(num(c, "shards"), 3);            /* mid > base */
	CHECK(aemp_str_eq(aemp_conf_get(c, "secret"), "leaf"));
	CHECK(aemp_str_eq(aemp_conf_get(c, "profile"), "leaf"));
	CHECK_EQ(aemp_truthy(aemp_conf_get(c, "nodelay")), 0);  /* base */
	CHECK_EQ(aemp_truthy(aemp_conf_get(c, "autocork")), 1); /* mid */
	CHECK(aemp_str_eq(aemp_at(aemp_conf_get(c, "seeds"), 0), "g:1"));
	CHECK(aemp_conf_get(c, "parent") == NULL);
	CHECK(aemp_conf_get(c, "version") == NULL);
	CHECK(aemp_conf_get(c, "norc") == NULL);
	/* force: the arguments win over the whole file */
	CHECK_OK(aemp_conf_set(c, "force", &t));
	CHECK_OK(eng_conf_resolve_rc(c, rc));
	CHECK_EQ(num(c, "monitor_timeout"), 99);
	CHECK(aemp_str_eq(aemp_at(aemp_conf_get(c, "seeds"), 0), "arg:2"));
	CHECK(aemp_str_eq(aemp_conf_get(c, "secret"), "leaf"));
	CHECK_EQ(num(c, "shards"), 3);
	/* norc: no file at all */
	CHECK_OK(aemp_conf_set(c, "norc", &t));
	CHECK_OK(eng_conf_resolve_rc(c, rc));
	CHECK_EQ(num(c, "monitor_timeout"), 99);
	CHECK_EQ(num(c, "connect_interval"), 2);
	CHECK(aemp_conf_get(c, "secret") == NULL);
	CHECK(aemp_conf_get(c, "eval") == NULL);
	aemp_conf_free(c);
}

static void
test_profiles(void)
{
	aemp_conf *c = conf("nonexistent");
	struct utsname u;

	CHECK_OK(eng_conf_resolve_rc(c, rc)); /* contributes nothing */
	CHECK_EQ(num(c, "monitor_timeout"), 10);
	CHECK(aemp_str_eq(aemp_conf_get(c, "secret"), "global"));
	aemp_conf_free(c);
	c = conf(NULL); /* default profile: the host name */
	CHECK_OK(eng_conf_resolve_rc(c, rc));
	uname(&u);
	CHECK(aemp_str_eq(aemp_conf_get(c, "profile"), u.nodename));
	aemp_conf_free(c);
	c = conf("orphan");
	CHECK_OK(eng_conf_resolve_rc(c, rc));
	CHECK(aemp_str_eq(aemp_conf_get(c, "nodeid"), "o"));
	aemp_conf_free(c);
	c = conf("cyc1");
	CHECK_ERR(eng_conf_resolve_rc(c, rc), AEMP_ECONFIG);
	CHECK_STREQ(aemp_errmsg(), "profile 'cyc1': parent cycle 'cyc1' -> "
	                           "'cyc2' -> 'cyc1' (/test/rc)");
	CHECK(aemp_conf_get(c, "secret") == NULL);
	aemp_conf_free(c);
	c = conf("self");
	CHECK_ERR(eng_conf_resolve_rc(c, rc), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "parent cycle 'self' -> 'self'"));
	aemp_conf_free(c);
	c = conf("badparent");
	CHECK_ERR(eng_conf_resolve_rc(c, rc), AEMP_ECONFIG);
	CHECK_STREQ(aemp_errmsg(), "profile 'badparent': parent must be a "
	                           "profile name (/test/rc)");
	aemp_conf_free(c);
	c = conf("badval");
	CHECK_ERR(eng_conf_resolve_rc(c, rc), AEMP_ECONFIG);
	CHECK_STREQ(aemp_errmsg(),
	            "connect_interval: expected a number of seconds > 0 and "
	            "<= 31536000, got \"soon\" (profile 'badval' in /test/rc)");
	aemp_conf_free(c);
	/* null restores the default (Perl's undef), over the arguments too */
	c = conf("nulls");
	CHECK_OK(aemp_conf_set_json(c, "monitor_timeout", "99"));
	CHECK_OK(eng_conf_resolve_rc(c, rc));
	CHECK_EQ(num(c, "monitor_timeout"), 30);
	CHECK(aemp_conf_get(c, "secret") == NULL);
	aemp_conf_free(c);
}

/* A deep chain longer than the bound is refused, not followed. */
static void
test_long_chain(void)
{
	char text[8192];
	size_t n = 0;
	aemp_rc *r = NULL;
	aemp_conf *c = conf("p0");
	int i;

	n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"profile\": {");
	for (i = 0; i < 70; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		                      "\"p%d\": {\"parent\": \"p%d\"},", i,
		                      i + 1);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "}}");
	CHECK_OK(eng_rc_from_text("/long", text, n, &r));
	CHECK_ERR(eng_conf_resolve_rc(c, r), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "more than 64 parents"));
	aemp_conf_free(c);
	aemp_rc_close(r);
}

static int
runiq_ok(const char *s)
{
	int i;

	for (i = 0; i < 10; i++)
		if (!isalnum((unsigned char)s[i]))
			return 0;
	return s[10] == '\0' && !islower((unsigned char)s[9]);
}

static const char *
nodeid_of(const char *profile, const char *tmpl)
{
	static char out[AEMP_ID_MAX];
	aemp_conf *c = conf(profile);
	aemp_val t = aemp_bool(1);
	const aemp_val *v;

	aemp_conf_set(c, "norc", &t);
	if (tmpl != NULL)
		aemp_conf_set_str(c, "nodeid", tmpl);
	if (aemp_conf_resolve(c) < 0) {
		snprintf(out, sizeof(out), "ERR: %s", aemp_errmsg());
	} else {
		v = aemp_conf_get(c, "nodeid");
		snprintf(out, sizeof(out), "%.*s", (int)v->len, v->u.s);
	}
	aemp_conf_free(c);
	return out;
}

static void
test_templates(void)
{
	struct utsname u;
	char want[AEMP_ID_MAX + 40], long_id[300];
	const char *id;

	uname(&u);
	id = nodeid_of("web1", NULL);
	CHECK(strncmp(id, "web1/", 5) == 0 && runiq_ok(id + 5));
	id = nodeid_of(NULL, "anon/");
	CHECK(strncmp(id, "anon/", 5) == 0 && runiq_ok(id + 5));
	id = nodeid_of(NULL, "aemp/%n/%u");
	snprintf(want, sizeof(want), "aemp/%s/", u.nodename);
	CHECK(strncmp(id, want, strlen(want)) == 0 &&
	      runiq_ok(id + strlen(want)));
	id = nodeid_of(NULL, "x%u/");
	CHECK(strlen(id) == 22 && memcmp(id + 1, id + 12, 10) == 0);
	CHECK_STREQ(nodeid_of(NULL, "%n"), u.nodename);
	CHECK_STREQ(nodeid_of(NULL, "fixed%x%"), "fixed%x%");
	CHECK_STREQ(nodeid_of(NULL, "a#b"),
	            "ERR: nodeid: \"a#b\" must not contain '#', ';', CR or LF "
	            "(configure argument)");
	CHECK(strstr(nodeid_of(NULL, "a;b"), "must not contain"));
	CHECK(strstr(nodeid_of(NULL, "a\rb"), "must not contain"));
	CHECK(strstr(nodeid_of(NULL, "a\nb"), "must not contain"));
	CHECK(strstr(nodeid_of(NULL, ""), "must not be empty"));
	CHECK(strstr(nodeid_of(NULL, "0"), "must not be \"0\""));
	memset(long_id, 'x', 256);
	long_id[256] = '\0';
	CHECK(strstr(nodeid_of(NULL, long_id), "longer than 255 bytes"));
	long_id[255] = '\0';
	CHECK_EQ(strlen(nodeid_of(NULL, long_id)), 255);
	long_id[250] = '/';
	long_id[251] = '\0';
	CHECK(strstr(nodeid_of(NULL, long_id), "longer than 255 bytes"));
	/* numbers are text, as for Perl */
	{
		aemp_conf *c = conf(NULL);
		aemp_val n = aemp_int(42), t = aemp_bool(1);

		CHECK_OK(aemp_conf_set(c, "nodeid", &n));
		CHECK_OK(aemp_conf_set(c, "norc", &t));
		CHECK_OK(aemp_conf_resolve(c));
		CHECK(aemp_str_eq(aemp_conf_get(c, "nodeid"), "42"));
		aemp_conf_free(c);
	}
}

struct vcase {
	const char *key;
	const char *json;
	const char *msg; /* NULL: valid */
};

static const struct vcase vcases[] = {
        {"bogus", "1", "unknown configuration key 'bogus'"},
        {"parent", "\"x\"", "parent: only valid in the configuration file"},
        {"nodeid", "[1]", "nodeid: expected a string, got an array"},
        {"nodeid", "\"n\"", NULL},
        {"secret", "[\"topsecret\"]",
         "secret: expected a string, got an array"},
        {"secret", "{}", "secret: expected a string, got an object"},
        {"secret", "12345", NULL},
        {"cert", "\"notpem\"",
         "cert: expected PEM text (private key and "
         "certificate), got a string"},
        {"cert", "\"-----BEGIN X-----\"", NULL},
        {"binds", "5",
         "binds: expected an array of strings or a "
         "comma-separated string, got 5"},
        {"binds", "[{}]", "binds: expected strings, got an object"},
        {"binds", "[\"a:99999\"]",
         "binds: bad address 'a:99999': port must "
         "be 0..65535 or '*' (configure argument)"},
        {"binds", "[\"*:4040\", 4041, \"\"]", NULL},
        {"seeds", "\"a:1,b:2\"", NULL},
        {"seeds", "true", "seeds: expected an array of strings"},
        {"services", "\"x\"", "services: expected an array, got \"x\""},
        {"services", "[5]",
         "services: expected function names or "
         "[NAME, ARG...] arrays, got 5"},
        {"services", "[[]]", "services: expected function names"},
        {"services", "[[\"f\", 1], \"g\", \"AnyEvent::MP::Global::\"]", NULL},
        {"secure", "[]", "secure: expected a boolean, got an array"},
        {"secure", "\"yes\"", NULL},
        {"autocork", "{}", "autocork: expected a boolean"},
        {"nodelay", "0", NULL},
        {"norc", "[]", "norc: expected a boolean"},
        {"force", "{}", "force: expected a boolean"},
        {"eval", "[]", "eval: expected a string"},
        {"eval", "\"print 1\"", NULL},
        {"monitor_timeout", "\"abc\"",
         "monitor_timeout: expected a number of "
         "seconds > 0 and <= 31536000, got "
         "\"abc\" (configure argument)"},
        {"monitor_timeout", "0", "monitor_timeout: expected a number"},
        {"monitor_timeout", "-1", "monitor_timeout: expected a number"},
        {"monitor_timeout", "1e9", "monitor_timeout: expected a number"},
        {"monitor_timeout", "\"2.5\"", NULL},
        {"connect_interval", "[]", "connect_interval: expected a number"},
        {"framing_format", "[\"\"]",
         "framing_format: expected non-empty "
         "strings, got \"\""},
        {"framing_format", "5", "framing_format: expected an array"},
        {"framing_format",
         "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\","
         "\"i\"]",
         "framing_format: at most 8 names"},
        {"auth_offer", "{}", "auth_offer: expected an array"},
        {"auth_accept", "[null]", "auth_accept: expected non-empty strings"},
        {"auth_accept", "\"cleartext,tls_anon\"", NULL},
        {"shards", "65", "shards: expected an integer 0..64, got 65"},
        {"shards", "-1", "shards: expected an integer 0..64"},
        {"shards", "1.5", "shards: expected an integer 0..64"},
        {"shards", "\"x\"", "shards: expected an integer 0..64"},
        {"shards", "\"64\"", NULL},
        {"max_packet", "100",
         "max_packet: expected an integer "
         "1024..1073741824, got 100"},
        {"max_queue", "1", "max_queue: expected an integer"},
        {"socket_buffer", "-1",
         "socket_buffer: expected an integer 0..1073741824, got -1"},
        {"socket_buffer", "262144", NULL},
        {"max_handshakes", "0", "max_handshakes: expected an integer 1..65536"},
        {"log_level", "0", "log_level: expected an integer 1..9, got 0"},
        {"log_level", "10", "log_level: expected an integer 1..9"},
        {"log_level", "9", NULL},
        {"profile", "[]", "profile: expected a string"},
        {"nodeid", "null", NULL},
};

static void
test_validation(void)
{
	size_t i;

	for (i = 0; i < AEMP_ARRAY_LEN(vcases); i++) {
		const struct vcase *v = &vcases[i];
		aemp_conf *c = conf(NULL);
		int rc = aemp_conf_set_json(c, v->key, v->json);

		if (v->msg == NULL) {
			CHECK_OK(rc);
		} else {
			CHECK_ERR(rc, AEMP_ECONFIG);
			if (strstr(aemp_errmsg(), v->msg) == NULL)
				DIAG("%s %s: got '%s'", v->key, v->json,
				     aemp_errmsg());
			CHECK(strstr(aemp_errmsg(), v->msg) != NULL);
			CHECK(strstr(aemp_errmsg(), "topsecret") == NULL);
			CHECK(strstr(aemp_errmsg(), "notpem") == NULL);
		}
		aemp_conf_free(c);
	}
}

/* Errors found only when the levels come together. */
static void
test_resolve_errors(void)
{
	aemp_conf *c = conf(NULL);
	aemp_val t = aemp_bool(1);

	CHECK_OK(aemp_conf_set(c, "norc", &t));
	CHECK_ERR(aemp_conf_set_json(c, "seeds", "[1"), AEMP_ECONFIG);
	CHECK_STREQ(aemp_errmsg(), "seeds: bad JSON value: line 1, column 3: "
	                           "expected ',' or ']' after array element");
	CHECK_OK(aemp_conf_set_json(c, "framing_format", "[\"storable\"]"));
	CHECK_ERR(aemp_conf_resolve(c), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "framing_format: lists neither \"json\" "
	                            "nor \"cbor\""));
	CHECK_OK(aemp_conf_set_json(c, "framing_format", "[\"json\"]"));
	CHECK_OK(aemp_conf_set_json(c, "max_packet", "1000000"));
	CHECK_OK(aemp_conf_set_json(c, "max_queue", "65536"));
	CHECK_ERR(aemp_conf_resolve(c), AEMP_ECONFIG);
	CHECK_STREQ(aemp_errmsg(), "max_queue (65536) must be at least "
	                           "max_packet (1000000)");
	CHECK_OK(aemp_conf_set_json(c, "max_queue", "1000000"));
	CHECK_OK(aemp_conf_set_json(c, "socket_buffer", "1000"));
	CHECK_ERR(aemp_conf_resolve(c), AEMP_ECONFIG);
	CHECK_STREQ(aemp_errmsg(), "socket_buffer (1000) must be 0 (the "
	                           "kernel's automatic sizing) or at least "
	                           "4096");
	CHECK_OK(aemp_conf_set_json(c, "socket_buffer", "4096"));
	CHECK_OK(aemp_conf_set_str(c, "profile", ""));
	CHECK_ERR(aemp_conf_resolve(c), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "profile: the name must be"));
	aemp_conf_free(c);
}

static void
test_format(void)
{
	aemp_conf *c = conf("leaf");
	char *out = NULL;

	CHECK_ERR(aemp_conf_format(c, &out), AEMP_ESTATE);
	CHECK_OK(aemp_conf_set_str(c, "nodeid", "anon/"));
	CHECK_OK(eng_conf_resolve_rc(c, rc));
	CHECK_OK(aemp_conf_format(c, &out));
	CHECK(strstr(out, "\n   \"nodeid\" : \"anon/\",\n") != NULL);
	CHECK(strstr(out, "\n   \"secret\" : \"leaf\",\n") != NULL);
	CHECK(strstr(out, "\n   \"monitor_timeout\" : 12,\n") != NULL);
	CHECK(strstr(out, "\"framing_format\" : [\n      \"cbor\",\n"
	                  "      \"json\"\n   ],") != NULL);
	CHECK(strstr(out, "\"eval\" : \"1\"") != NULL);
	CHECK(strstr(out, "parent") == NULL);
	CHECK(strstr(out, "version") == NULL);
	CHECK(strstr(out, "\"profile\"") == NULL);
	aemp_free(out);
	aemp_conf_free(c);
}

static int
has_warning(const struct eng_config *cfg, const char *s)
{
	size_t i;

	for (i = 0; i < cfg->nwarnings; i++)
		if (strstr(cfg->warnings[i], s) != NULL)
			return 1;
	return 0;
}

static void
test_build(void)
{
	aemp_conf *c = conf("mid");
	struct eng_config cfg;

	CHECK_OK(aemp_conf_set_json(c, "binds", "\"127.0.0.1:1,[::1]:2\""));
	CHECK_OK(aemp_conf_set_json(c, "framing_format",
	                            "[\"json\", \"storable\", \"xml\", "
	                            "\"cbor\", \"json\"]"));
	CHECK_OK(aemp_conf_set_json(
	        c, "auth_offer", "[\"hmac_sha3_512\", \"hmac_md6_64_256\"]"));
	CHECK_OK(
	        aemp_conf_set_json(c, "services",
	                           "[\"AnyEvent::MP::Global::\", \"My::Mod::\","
	                           " [\"My::init\", 1], \"My::func\"]"));
	CHECK_OK(aemp_conf_set_json(c, "max_packet", "65536"));
	CHECK_OK(aemp_conf_set_json(c, "secure", "\"0\""));
	CHECK_OK(eng_conf_resolve_rc(c, rc));
	CHECK_OK(eng_config_build(c, &cfg));
	CHECK_EQ(strncmp(cfg.nodeid, "mid/", 4), 0);
	CHECK_EQ(cfg.nodeid_random, 1);
	CHECK_STREQ(cfg.profile, "mid");
	CHECK_EQ(cfg.secret_len, 6);
	CHECK_STREQ(cfg.secret, "global");
	CHECK(cfg.cert == NULL);
	CHECK_EQ(cfg.nbinds, 2);
	CHECK_STREQ(cfg.binds[0], "127.0.0.1:1");
	CHECK_STREQ(cfg.binds[1], "[::1]:2");
	CHECK(cfg.binds[2] == NULL);
	CHECK_EQ(cfg.nseeds, 1);
	CHECK_STREQ(cfg.seeds[0], "g:1");
	CHECK_EQ(cfg.services->len, 3);
	CHECK(aemp_str_eq(&cfg.services->u.a[0], "AnyEvent::MP::Global::"));
	CHECK_EQ(cfg.services->u.a[1].type, AEMP_ARRAY);
	CHECK(aemp_str_eq(&cfg.services->u.a[2], "My::func"));
	CHECK_EQ(cfg.secure, 0);
	CHECK_EQ(cfg.autocork, 1);
	CHECK_EQ(cfg.nodelay, 0);
	CHECK(cfg.monitor_timeout == 12.0);
	CHECK(cfg.connect_interval == 3.0);
	CHECK_EQ(cfg.nframings, 2);
	CHECK_EQ(cfg.framings[0], 1); /* COD_JSON */
	CHECK_EQ(cfg.framings[1], 2); /* COD_CBOR */
	CHECK_EQ(cfg.nauth_offer, 2);
	CHECK_STREQ(cfg.auth_offer[1], "hmac_md6_64_256");
	CHECK_EQ(cfg.nauth_accept, 4);
	CHECK_STREQ(cfg.auth_accept[3], "cleartext");
	CHECK_EQ(cfg.shards, 3);
	CHECK_EQ(cfg.max_packet, 65536);
	CHECK_EQ(cfg.max_queue, 67108864);
	CHECK_EQ(cfg.max_handshakes, 256);
	CHECK_EQ(cfg.log_level, 5);
	CHECK(has_warning(&cfg, "eval: aemp nodes do not run Perl code; "
	                        "ignored (/test/rc)"));
	CHECK(has_warning(&cfg, "services: 'My::Mod::' is a Perl module"));
	CHECK(has_warning(&cfg, "framing_format: 'xml' is not supported"));
	CHECK(!has_warning(&cfg, "storable"));
	CHECK(has_warning(&cfg, "auth_offer: unknown authentication method "
	                        "'hmac_md6_64_256' (configure argument)"));
	CHECK(!has_warning(&cfg, "seeds"));
	CHECK_EQ(cfg.nwarnings, 4);
	CHECK(cfg.warnings[4] == NULL);
	eng_config_fini(&cfg);
	CHECK(cfg.binds == NULL && cfg.warnings == NULL);
	eng_config_fini(&cfg); /* idempotent */
	aemp_conf_free(c);
}

/* eng_config_build resolves by itself, reading the file named by
 * PERL_ANYEVENT_MP_RC; an invalid value there fails the build. */
static void
test_build_from_file(void)
{
	char dir[] = "/tmp/aemp-conf-XXXXXX", path[64];
	struct eng_config cfg;
	aemp_conf *c = conf("web");
	FILE *f;

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/rc", dir);
	setenv("PERL_ANYEVENT_MP_RC", path, 1);
	CHECK_OK(eng_config_build(c, &cfg)); /* missing file: defaults */
	CHECK_EQ(cfg.nbinds, 1);
	CHECK_STREQ(cfg.binds[0], "*");
	CHECK_EQ(cfg.nseeds, 0);
	CHECK(cfg.seeds != NULL && cfg.seeds[0] == NULL);
	CHECK_EQ(cfg.services->len, 0);
	CHECK_EQ(cfg.nwarnings, 0);
	CHECK(cfg.secret == NULL);
	CHECK_EQ(cfg.nodelay, 1);
	CHECK_EQ(cfg.socket_buffer, 0); /* the kernel sizes sockets */
	eng_config_fini(&cfg);
	f = fopen(path, "w");
	fputs("{\"seeds\": \"h1,h2:4040\", \"unknown_thing\": 1, \"secret\": "
	      "\"\", \"profile\": {\"web\": {\"log_level\": 7}}}",
	      f);
	fclose(f);
	CHECK_OK(eng_config_build(c, &cfg));
	CHECK_EQ(cfg.log_level, 7);
	CHECK_EQ(cfg.nseeds, 2);
	CHECK(cfg.secret == NULL); /* empty: none */
	CHECK(has_warning(&cfg, "seeds: 'h1' has no port"));
	CHECK(has_warning(&cfg, "unknown configuration key 'unknown_thing' "
	                        "ignored"));
	CHECK_EQ(cfg.nwarnings, 2);
	eng_config_fini(&cfg);
	f = fopen(path, "w");
	fputs("{\"profile\": {\"web\": {\"log_level\": 70}}}", f);
	fclose(f);
	CHECK_ERR(eng_config_build(c, &cfg), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "log_level: expected an integer 1..9, got "
	                            "70 (profile 'web' in ") != NULL);
	f = fopen(path, "w");
	fputs("{\"profile\": {\"web\": [}", f);
	fclose(f);
	CHECK_ERR(aemp_conf_resolve(c), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "/rc: line 1, column 22: ") != NULL);
	unlink(path);
	rmdir(dir);
	aemp_conf_free(c);
}

int
main(void)
{
	CHECK_OK(eng_rc_from_text("/test/rc", file_text, strlen(file_text),
	                          &rc));
	test_precedence();
	test_profiles();
	test_long_chain();
	test_templates();
	test_validation();
	test_resolve_errors();
	test_format();
	test_build();
	test_build_from_file();
	aemp_rc_close(rc);
	aemp_conf_free(NULL);
	return tap_done();
}
