/*
 * tests/unit/config_rcfile.c - the relaxed JSON reader, the pretty writer
 * and the configuration file (engine/conf/rcfile.h, aemp_rc_*).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/conf/rcfile.h"
#include "ring/alloc.h"
#include "ring/base.h"
#include "tests/tap.h"

static char tmpdir[] = "/tmp/aemp-rcfile-XXXXXX";

static char *
tpath(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

static void
put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

/* File contents (static buffer), or NULL if absent. */
static const char *
get_file(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Parse text; return the error message (or "" on success). */
static const char *
parse_err(const char *text, int flags, int *code)
{
	static char err[256];
	aemp_val *v = NULL;

	*code = eng_rcv_parse(text, strlen(text), flags, &v, err, sizeof(err));
	eng_rcv_free(v);
	return err;
}

/* Parse then pretty-print; returns new text or NULL. */
static char *
pretty_of(const char *text, int flags)
{
	char err[256], *out = NULL;
	aemp_val *v = NULL;
	size_t len;

	if (eng_rcv_parse(text, strlen(text), flags, &v, err, sizeof(err)) <
	    0) {
		DIAG("parse failed: %s", err);
		return NULL;
	}
	if (eng_rcv_pretty(v, &out, &len) < 0)
		out = NULL;
	eng_rcv_free(v);
	return out;
}

static void
test_relaxed(void)
{
	const char *t = "# leading comment\n"
	                "{ \"a\" : [1, 2, 3,], # trailing\n"
	                "  \"b\" : {\"x\": \"tab\there\",},\n"
	                "}\n";
	char *p;
	int code;

	p = pretty_of(t, ENG_RCV_RELAXED);
	CHECK_STREQ(p, "{\n"
	               "   \"a\" : [\n"
	               "      1,\n"
	               "      2,\n"
	               "      3\n"
	               "   ],\n"
	               "   \"b\" : {\n"
	               "      \"x\" : \"tab\\there\"\n"
	               "   }\n"
	               "}\n");
	ring_free(p, 0);
	parse_err(t, 0, &code);
	CHECK_ERR(code, AEMP_EMALFORMED);
	CHECK_STREQ(parse_err("[1,]", 0, &code),
	            "line 1, column 4: trailing comma");
	CHECK_ERR(code, AEMP_EMALFORMED);
	CHECK_STREQ(parse_err("[1,,2]", ENG_RCV_RELAXED, &code),
	            "line 1, column 4: unexpected character");
	CHECK_STREQ(parse_err("[\"a\tb\"]", 0, &code),
	            "line 1, column 4: control character in string");
	CHECK_STREQ(parse_err("{\"a\": \"#not a comment\"}", ENG_RCV_RELAXED,
	                      &code),
	            "");
	CHECK_OK(code);
	CHECK_STREQ(parse_err("  # only a comment\n", ENG_RCV_RELAXED, &code),
	            "line 2, column 1: unexpected end of input, expected a "
	            "value");
	CHECK(eng_rcv_blank("  # c\n\t# d", 10));
	CHECK(!eng_rcv_blank(" x", 2));
}

static void
test_errors(void)
{
	int code;

	CHECK_STREQ(parse_err("{\n  \"a\": 1,\n  \"b\" 2\n}", 0, &code),
	            "line 3, column 7: expected ':' after object key");
	CHECK_STREQ(parse_err("{\"a\": 1 \"b\": 2}", 0, &code),
	            "line 1, column 9: expected ',' or '}' after object "
	            "member");
	CHECK_STREQ(
	        parse_err("[1 2]", 0, &code),
	        "line 1, column 4: expected ',' or ']' after array element");
	CHECK_STREQ(parse_err("{1: 2}", 0, &code),
	            "line 1, column 2: expected a string as object key");
	CHECK_STREQ(parse_err("\"abc", 0, &code),
	            "line 1, column 5: unterminated string");
	CHECK_STREQ(parse_err("[tru]", 0, &code),
	            "line 1, column 2: unexpected character");
	CHECK_STREQ(parse_err("[1] x", 0, &code),
	            "line 1, column 5: garbage after the JSON value");
	CHECK_STREQ(parse_err("\"\\x\"", 0, &code),
	            "line 1, column 3: bad escape sequence");
	CHECK_STREQ(parse_err("\"\\u12g4\"", 0, &code),
	            "line 1, column 3: bad \\u escape");
	CHECK_STREQ(parse_err("\"\\ud800\"", 0, &code),
	            "line 1, column 8: missing low surrogate");
	CHECK_STREQ(parse_err("\"\\udc00\"", 0, &code),
	            "line 1, column 8: lone low surrogate");
	CHECK_STREQ(parse_err("\"\xc3\x28\"", 0, &code),
	            "line 1, column 2: malformed UTF-8 in string");
	CHECK_STREQ(parse_err("\"\xed\xa0\x80\"", 0, &code),
	            "line 1, column 2: malformed UTF-8 in string");
	CHECK_STREQ(parse_err("\"\xc0\xaf\"", 0, &code),
	            "line 1, column 2: malformed UTF-8 in string");
	CHECK_STREQ(parse_err("01", 0, &code),
	            "line 1, column 2: garbage after the JSON value");
	CHECK_STREQ(parse_err("1.", 0, &code),
	            "line 1, column 3: malformed number");
	CHECK_STREQ(parse_err("-", 0, &code),
	            "line 1, column 2: malformed number");
	CHECK_STREQ(parse_err("1e+", 0, &code),
	            "line 1, column 4: malformed number");
	CHECK_STREQ(parse_err("1e999", 0, &code),
	            "line 1, column 6: number out of range");
	CHECK_STREQ(parse_err("", 0, &code),
	            "line 1, column 1: unexpected end of input, expected a "
	            "value");
	CHECK_ERR(code, AEMP_EMALFORMED);
}

static void
test_depth(void)
{
	char buf[2 * AEMP_MAX_DEPTH + 8];
	aemp_val *v = NULL;
	char err[128], *out = NULL;
	size_t len;
	int i, code;

	for (i = 0; i < AEMP_MAX_DEPTH; i++) {
		buf[i] = '[';
		buf[AEMP_MAX_DEPTH + i] = ']';
	}
	CHECK_OK(eng_rcv_parse(buf, 2 * AEMP_MAX_DEPTH, 0, &v, err,
	                       sizeof(err)));
	CHECK_OK(eng_rcv_pretty(v, &out, &len));
	ring_free(out, 0);
	aemp_free(NULL);
	eng_rcv_free(v);
	memmove(buf + 1, buf, 2 * AEMP_MAX_DEPTH);
	buf[0] = '[';
	buf[2 * AEMP_MAX_DEPTH + 1] = ']';
	buf[2 * AEMP_MAX_DEPTH + 2] = '\0';
	parse_err(buf, 0, &code);
	CHECK_ERR(code, AEMP_EDEPTH);
}

static void
test_values(void)
{
	const char *t = "{\"i\": -42, \"big\": 123456789012345678901234,"
	                " \"f\": 1.5, \"g\": 2.0, \"e\": 1e20, \"z\": -0.0,"
	                " \"t\": true, \"n\": null, \"s\": \"\\u00e9\\ud83d"
	                "\\ude00\\n\\\"\\/\\u0001\"}";
	char err[128];
	aemp_val *v = NULL;
	const aemp_val *x;
	char *p;

	CHECK_OK(eng_rcv_parse(t, strlen(t), 0, &v, err, sizeof(err)));
	x = eng_rcv_map_get(v, "i");
	CHECK(x != NULL && x->type == AEMP_INT && x->u.i == -42);
	x = eng_rcv_map_get(v, "big");
	CHECK(x != NULL && x->type == AEMP_FLOAT);
	x = eng_rcv_map_get(v, "s");
	CHECK(x != NULL && x->len == 10 &&
	      memcmp(x->u.s, "\xc3\xa9\xf0\x9f\x98\x80\n\"/\x01", 10) == 0);
	CHECK(eng_rcv_map_get(v, "missing") == NULL);
	eng_rcv_free(v);
	p = pretty_of(t, 0);
	CHECK_STREQ(p,
	            "{\n"
	            "   \"i\" : -42,\n"
	            "   \"big\" : 1.2345678901234569e+23,\n"
	            "   \"f\" : 1.5,\n"
	            "   \"g\" : 2.0,\n"
	            "   \"e\" : 1e+20,\n"
	            "   \"z\" : -0.0,\n"
	            "   \"t\" : true,\n"
	            "   \"n\" : null,\n"
	            "   \"s\" : \"\xc3\xa9\xf0\x9f\x98\x80\\n\\\"/\\u0001\"\n"
	            "}\n");
	ring_free(p, 0);
	p = pretty_of("{\"a\": 1, \"b\": 2, \"a\": 3}", 0);
	CHECK_STREQ(p, "{\n   \"a\" : 3,\n   \"b\" : 2\n}\n");
	ring_free(p, 0);
	p = pretty_of("[[], {}, [{}]]", 0);
	CHECK_STREQ(p, "[\n   [],\n   {},\n   [\n      {}\n   ]\n]\n");
	ring_free(p, 0);
}

/* Many distinct keys and many repeats: dedup stays linear and correct. */
static void
test_dedup(void)
{
	size_t cap = 200000, n = 0, i;
	char *t = malloc(cap);
	char err[128];
	aemp_val *v = NULL;
	const aemp_val *x;

	n += (size_t)snprintf(t + n, cap - n, "{");
	for (i = 0; i < 5000; i++)
		n += (size_t)snprintf(t + n, cap - n, "\"k%zu\": %zu,",
		                      i % 3000, i);
	n += (size_t)snprintf(t + n, cap - n, "\"end\": 0}");
	CHECK_OK(eng_rcv_parse(t, n, 0, &v, err, sizeof(err)));
	CHECK_EQ(v->len, 3001);
	x = eng_rcv_map_get(v, "k5");
	CHECK(x != NULL && x->u.i == 3005);
	x = eng_rcv_map_get(v, "k2999");
	CHECK(x != NULL && x->u.i == 2999);
	CHECK(aemp_str_eq(&v->u.a[2 * 5], "k5"));
	eng_rcv_free(v);
	free(t);
}

static void
test_tree(void)
{
	aemp_val *m = eng_rcv_new_map(), *d;
	aemp_val arr[2] = {aemp_str("x"), aemp_int(1)};
	aemp_val a = aemp_array(arr, 2), s = aemp_str("v");
	char bad[] = "\xff";

	CHECK_OK(eng_rcv_map_set(m, "a", &a));
	CHECK_OK(eng_rcv_map_set(m, "b", &s));
	CHECK_OK(eng_rcv_map_set(m, "a", &s));
	CHECK_EQ(m->len, 2);
	CHECK(aemp_str_eq(&m->u.a[0], "a") && aemp_str_eq(&m->u.a[1], "v"));
	d = eng_rcv_dup(m);
	CHECK_EQ(eng_rcv_map_del(m, "a"), 1);
	CHECK_EQ(eng_rcv_map_del(m, "a"), 0);
	CHECK_EQ(eng_rcv_map_del(m, "b"), 1);
	CHECK_EQ(m->len, 0);
	CHECK_EQ(d->len, 2);
	CHECK(eng_rcv_utf8_ok(d));
	s = aemp_str(bad);
	CHECK_OK(eng_rcv_map_set(m, "bad", &s));
	CHECK(!eng_rcv_utf8_ok(m));
	CHECK_OK(eng_rcv_map_take(m, "d", d));
	eng_rcv_free(m);
}

static void
test_path(void)
{
	char buf[256];

	setenv("PERL_ANYEVENT_MP_RC", "/x/rc", 1);
	CHECK_EQ(aemp_rc_path(buf, sizeof(buf)), 5);
	CHECK_STREQ(buf, "/x/rc");
	CHECK_ERR(aemp_rc_path(buf, 3), -ERANGE);
	setenv("PERL_ANYEVENT_MP_RC", "", 1);
	setenv("HOME", "/home/u", 1);
	CHECK_EQ(aemp_rc_path(buf, sizeof(buf)), 25);
	CHECK_STREQ(buf, "/home/u/.perl-anyevent-mp");
	unsetenv("HOME");
	CHECK_ERR(aemp_rc_path(buf, sizeof(buf)), AEMP_ECONFIG);
	setenv("PERL_ANYEVENT_MP_RC", tpath("rc"), 1);
}

static void
test_open_errors(void)
{
	aemp_rc *rc = NULL;
	char big[64];
	int fd;

	put_file(tpath("bad1"), "{\n  \"a\": [1, 2\n}\n");
	CHECK_ERR(aemp_rc_open(tpath("bad1"), &rc), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "bad1: line 3, column 1: expected ','") !=
	      NULL);
	put_file(tpath("bad2"), "[1]");
	CHECK_ERR(aemp_rc_open(tpath("bad2"), &rc), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "top level must be a JSON object"));
	put_file(tpath("bad3"), "{\"profile\": []}");
	CHECK_ERR(aemp_rc_open(tpath("bad3"), &rc), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "\"profile\" must be an object"));
	put_file(tpath("bad4"), "{\"profile\": {\"p\": 5}}");
	CHECK_ERR(aemp_rc_open(tpath("bad4"), &rc), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "profile \"p\" must be a JSON object"));
	CHECK_ERR(aemp_rc_open(tmpdir, &rc), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "is a directory"));
	snprintf(big, sizeof(big), "%s/x", tpath("bad1"));
	CHECK_ERR(aemp_rc_open(big, &rc), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "cannot read: Not a directory"));
	fd = open(tpath("huge"), O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0 && ftruncate(fd, ENG_RC_MAX_BYTES + 1) == 0);
	close(fd);
	CHECK_ERR(aemp_rc_open(tpath("huge"), &rc), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "larger than"));
	CHECK(rc == NULL);
}

static void
test_missing_and_blank(void)
{
	aemp_rc *rc = NULL;
	char *out = NULL;

	CHECK_OK(aemp_rc_open(tpath("absent"), &rc));
	CHECK_OK(aemp_rc_format(rc, NULL, &out));
	CHECK_STREQ(out, "{\n   \"version\" : 1\n}\n");
	aemp_free(out);
	CHECK_OK(aemp_rc_save(rc)); /* not modified: nothing written */
	CHECK(get_file(tpath("absent")) == NULL);
	aemp_rc_close(rc);
	put_file(tpath("blank"), "# nothing yet\n\n");
	CHECK_OK(aemp_rc_open(tpath("blank"), &rc));
	CHECK(aemp_rc_get(rc, NULL, "version") != NULL);
	aemp_rc_close(rc);
	aemp_rc_close(NULL);
}

static void
test_profiles(void)
{
	aemp_rc *rc = NULL;
	aemp_val v = aemp_str("s3cr3t");
	char *out = NULL;

	CHECK_OK(aemp_rc_open(tpath("absent"), &rc));
	CHECK(!aemp_rc_has_profile(rc, "web"));
	CHECK_ERR(aemp_rc_format(rc, "web", &out), AEMP_ECONFIG);
	CHECK(strstr(aemp_errmsg(), "no profile 'web'"));
	CHECK_OK(aemp_rc_set(rc, "web", "secret", &v));
	CHECK(aemp_rc_has_profile(rc, "web"));
	CHECK(aemp_str_eq(aemp_rc_get(rc, "web", "secret"), "s3cr3t"));
	CHECK(aemp_rc_get(rc, NULL, "secret") == NULL);
	CHECK(aemp_rc_get(rc, "nope", "secret") == NULL);
	CHECK_OK(aemp_rc_format(rc, "web", &out));
	CHECK_STREQ(out, "{\n   \"secret\" : \"s3cr3t\"\n}\n");
	aemp_free(out);
	CHECK_OK(aemp_rc_add_profile(rc, "empty"));
	CHECK_OK(aemp_rc_add_profile(rc, "empty"));
	CHECK_OK(aemp_rc_format(rc, "empty", &out));
	CHECK_STREQ(out, "{}\n");
	aemp_free(out);
	CHECK_OK(aemp_rc_del(rc, "web", "secret"));
	CHECK_OK(aemp_rc_del(rc, "web", "secret"));
	CHECK_OK(aemp_rc_del(rc, "nope", "secret"));
	CHECK_OK(aemp_rc_del_profile(rc, "web"));
	CHECK_ERR(aemp_rc_del_profile(rc, "web"), AEMP_ECONFIG);
	CHECK_ERR(aemp_rc_set(rc, NULL, "profile", &v), -EINVAL);
	CHECK_ERR(aemp_rc_add_profile(rc, NULL), -EINVAL);
	CHECK_ERR(aemp_rc_del_profile(rc, NULL), -EINVAL);
	/* a value borrowed from the file itself, replacing itself */
	CHECK_OK(aemp_rc_set(rc, "empty", "x", &v));
	CHECK_OK(aemp_rc_set(rc, "empty", "x", aemp_rc_get(rc, "empty", "x")));
	CHECK(aemp_str_eq(aemp_rc_get(rc, "empty", "x"), "s3cr3t"));
	CHECK_OK(aemp_rc_del(rc, "empty", "x"));
	CHECK_ERR(aemp_rc_del(rc, NULL, "profile"), -EINVAL);
	v = aemp_str("\xc3");
	CHECK_ERR(aemp_rc_set(rc, NULL, "secret", &v), AEMP_ECONFIG);
	CHECK_OK(aemp_rc_format(rc, NULL, &out));
	CHECK_STREQ(out, "{\n   \"version\" : 1,\n   \"profile\" : {\n"
	                 "      \"empty\" : {}\n   }\n}\n");
	aemp_free(out);
	aemp_rc_close(rc);
}

static const char perl_style[] =
        "# written by hand, Perl style\n"
        "{\n"
        "   \"version\" : 1,\n"
        "   \"secret\" : \"abc\", # the shared secret\n"
        "   \"eval\" : \"warn 'hi'\",\n"
        "   \"profile\" : {\n"
        "      \"seed\" : {\n"
        "         \"services\" : [\"AnyEvent::MP::Global::\", "
        "\"My::Mod::\", [\"My::init\", 1, 2.5],],\n"
        "         \"binds\" : [\"*:4040\"],\n"
        "      },\n"
        "   },\n"
        "}\n";

static void
test_save(void)
{
	aemp_rc *rc = NULL;
	aemp_val v = aemp_str("h1:4040");
	const char *text;
	struct stat st;

	put_file(tpath("rc"), perl_style);
	chmod(tpath("rc"), 0640);
	CHECK_OK(aemp_rc_open(NULL, &rc));
	CHECK_STREQ(eng_rc_path_of(rc), tpath("rc"));
	CHECK_OK(aemp_rc_set(rc, "seed", "nodeid", &v));
	CHECK_OK(aemp_rc_save(rc));
	CHECK_OK(aemp_rc_save(rc)); /* clean now: no second backup */
	aemp_rc_close(rc);
	CHECK_STREQ(get_file(tpath("rc~")), perl_style);
	CHECK(get_file(tpath("rc~new~")) == NULL);
	CHECK(stat(tpath("rc"), &st) == 0 && (st.st_mode & 07777) == 0640);
	text = get_file(tpath("rc"));
	CHECK_STREQ(text, "{\n"
	                  "   \"version\" : 1,\n"
	                  "   \"secret\" : \"abc\",\n"
	                  "   \"eval\" : \"warn 'hi'\",\n"
	                  "   \"profile\" : {\n"
	                  "      \"seed\" : {\n"
	                  "         \"services\" : [\n"
	                  "            \"AnyEvent::MP::Global::\",\n"
	                  "            \"My::Mod::\",\n"
	                  "            [\n"
	                  "               \"My::init\",\n"
	                  "               1,\n"
	                  "               2.5\n"
	                  "            ]\n"
	                  "         ],\n"
	                  "         \"binds\" : [\n"
	                  "            \"*:4040\"\n"
	                  "         ],\n"
	                  "         \"nodeid\" : \"h1:4040\"\n"
	                  "      }\n"
	                  "   }\n"
	                  "}\n");
	/* Second round: the saved text reads back to the same text, and the
	 * backup is now the first save. */
	CHECK_OK(aemp_rc_open(tpath("rc"), &rc));
	CHECK_OK(aemp_rc_del(rc, NULL, "eval"));
	CHECK_OK(aemp_rc_save(rc));
	aemp_rc_close(rc);
	CHECK(strstr(get_file(tpath("rc~")), "\"nodeid\" : \"h1:4040\""));
	CHECK(strstr(get_file(tpath("rc")), "eval") == NULL);
	/* A new file gets mode 0600: it may hold a secret. */
	CHECK_OK(aemp_rc_open(tpath("new"), &rc));
	CHECK_OK(aemp_rc_set(rc, NULL, "secret", &v));
	CHECK_OK(aemp_rc_save(rc));
	aemp_rc_close(rc);
	CHECK(stat(tpath("new"), &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK(get_file(tpath("new~")) == NULL);
}

static void
test_save_error(void)
{
	aemp_rc *rc = NULL;
	aemp_val v = aemp_int(1);
	char p[300];

	snprintf(p, sizeof(p), "%s/nodir/rc", tmpdir);
	CHECK_OK(aemp_rc_open(p, &rc));
	CHECK_OK(aemp_rc_set(rc, NULL, "x", &v));
	CHECK_ERR(aemp_rc_save(rc), -ENOENT);
	CHECK(strstr(aemp_errmsg(), "nodir/rc~new~: cannot create"));
	aemp_rc_close(rc);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		TAP_SKIP_ALL("cannot create a temporary directory");
	test_relaxed();
	test_errors();
	test_depth();
	test_values();
	test_dedup();
	test_tree();
	test_path();
	test_open_errors();
	test_missing_and_blank();
	test_profiles();
	test_save();
	test_save_error();
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			DIAG("cleanup of %s failed", tmpdir);
	}
	return tap_done();
}
