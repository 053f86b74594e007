/* tests/unit/codec_json.c - JSON decoding (codec/json.cc), encoding
 * (codec/json_enc.c), aemp_json_parse and aemp_json_format. */
#include <math.h>

#include "codec/json.h"
#include "tests/tap.h"
#include "tests/unit/codec_util.h"

static struct cod_tape tape;
static uint8_t *last; /* input of the last dec(), kept for zero-copy checks */

static int
dec(const char *text, const aemp_val **out)
{
	free(last);
	last = cu_pad(text, strlen(text));
	return cod_decode_value(COD_JSON, &tape, last, strlen(text), out);
}

static int
dec_pkt(const char *text)
{
	const aemp_val *v;

	free(last);
	last = cu_pad(text, strlen(text));
	return cod_decode(COD_JSON, &tape, last, strlen(text), &v);
}

/* 1 if v encodes to exactly text. */
static int
enc_is(aemp_val v, const char *text)
{
	ssize_t n;
	uint8_t *got = cu_encode(COD_JSON, &v, &n);
	int ok = got != NULL && (size_t)n == strlen(text) &&
	         memcmp(got, text, (size_t)n) == 0;

	if (!ok)
		DIAG("got '%.*s' want '%s'", got ? (int)n : 0,
		     got ? (char *)got : "", text);
	free(got);
	return ok;
}

static void
test_scalars(void)
{
	const aemp_val *v;

	CHECK_OK(dec(" null ", &v));
	CHECK(v->type == AEMP_NULL);
	CHECK_OK(dec("true", &v));
	CHECK(v->type == AEMP_BOOL && v->u.i == 1);
	CHECK_OK(dec("false", &v));
	CHECK(v->type == AEMP_BOOL && v->u.i == 0);
	CHECK_OK(dec("-9223372036854775808", &v));
	CHECK(v->type == AEMP_INT && v->u.i == INT64_MIN);
	CHECK_OK(dec("9223372036854775807", &v));
	CHECK(v->type == AEMP_INT && v->u.i == INT64_MAX);
	/* beyond int64: exact down to -2^64 and up to 2^64-1 (AEMP_UINT) */
	CHECK_OK(dec("9223372036854775808", &v));
	CHECK(v->type == AEMP_UINT && v->flags == 0 &&
	      v->u.u == 9223372036854775808ull);
	CHECK_OK(dec("18446744073709551615", &v));
	CHECK(v->type == AEMP_UINT && v->flags == 0 && v->u.u == UINT64_MAX);
	CHECK_OK(dec("-9223372036854775809", &v));
	CHECK(v->type == AEMP_UINT && v->flags == AEMP_VF_NEG &&
	      v->u.u == 9223372036854775808ull);
	CHECK_OK(dec("-18446744073709551616", &v));
	CHECK(v->type == AEMP_UINT && v->flags == AEMP_VF_NEG &&
	      v->u.u == UINT64_MAX);
	/* and beyond those: doubles, as before */
	CHECK_OK(dec("18446744073709551616", &v));
	CHECK(v->type == AEMP_FLOAT && v->u.f == 18446744073709551616.0);
	CHECK_OK(dec("-18446744073709551617", &v));
	CHECK(v->type == AEMP_FLOAT && v->u.f == -18446744073709551616.0);
	CHECK_OK(dec("-0", &v));
	CHECK(v->type == AEMP_INT && v->u.i == 0);
	CHECK_OK(dec("123456789012345678901234567890", &v));
	CHECK(v->type == AEMP_FLOAT && v->u.f == 1.2345678901234568e29);
	CHECK_OK(dec("2.5", &v));
	CHECK(v->type == AEMP_FLOAT && v->u.f == 2.5);
	CHECK_OK(dec("1.0", &v));
	CHECK(v->type == AEMP_FLOAT && v->u.f == 1.0);
	CHECK_OK(dec("-1e-3", &v));
	CHECK(v->type == AEMP_FLOAT && v->u.f == -0.001);
	CHECK_OK(dec("\"a\\u00e9\\n\"", &v));
	CHECK(v->type == AEMP_STR && aemp_str_eq(v, "a\xc3\xa9\n"));
	/* long mantissas (simdjson 3.0.1 misreads these: see json.cc) */
	CHECK_OK(dec("0.12345678901234567890123", &v));
	CHECK(v->type == AEMP_FLOAT && v->u.f == 0.12345678901234568);
	CHECK_OK(dec("12345678901234567890.0", &v));
	CHECK(v->type == AEMP_FLOAT && v->u.f == 12345678901234567890.0);
	CHECK_OK(dec("-0.58154692010832528232880079756e20", &v));
	CHECK(v->type == AEMP_FLOAT && v->u.f == -5.8154692010832527e+19);
	CHECK_ERR(dec("1e400", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("nul", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("tru", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("01", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("00000000000000000000000001", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("1.", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("-", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("+1", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec(".5", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("1e", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("1 2", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("\"abc", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("\"\\x\"", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("\"\\ud800\"", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("\"\x01\"", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("\"\xff\"", &v), AEMP_EMALFORMED);
}

static void
test_containers(void)
{
	const aemp_val *v, *x;

	CHECK_OK(dec("[\"tag\",12345,\"x\\\"y\",{\"k\":[],\"e\\u0041\":{}}]",
	             &v));
	CHECK(v->type == AEMP_ARRAY && v->len == 4);
	/* no escape: the string points into the input */
	CHECK(v->u.a[0].u.s == (const char *)last + 2 && v->u.a[0].len == 3);
	CHECK(aemp_str_eq(&v->u.a[2], "x\"y"));
	x = &v->u.a[3];
	CHECK(x->type == AEMP_MAP && x->len == 2);
	CHECK(aemp_map_get(x, "k") != NULL &&
	      aemp_map_get(x, "k")->type == AEMP_ARRAY);
	CHECK(aemp_map_get(x, "eA") != NULL &&
	      aemp_map_get(x, "eA")->type == AEMP_MAP);
	CHECK(x->u.a[0].u.s == (const char *)last + 22);
	CHECK_OK(dec(" [ 1 , [ ] , { } ] \n", &v));
	CHECK(v->len == 3);
	CHECK_ERR(dec("[1,]", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("[1 2]", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("[1}", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("{1:2}", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("{\"a\" 2}", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("[1][2]", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("[", &v), AEMP_EMALFORMED);
	CHECK_OK(dec_pkt("[]"));
	CHECK_OK(dec_pkt("[\"\",\"\"]"));
	CHECK_ERR(dec_pkt("{}"), AEMP_EMALFORMED);
	CHECK_ERR(dec_pkt("\"x\""), AEMP_EMALFORMED);
	CHECK_ERR(dec_pkt("[] x"), AEMP_EMALFORMED);
}

/* "[[...]]" with n levels, wrapped in {"a":...} if obj. */
static char *
nested(size_t n, int obj)
{
	char *b = malloc(2 * n + 8), *q = b;
	size_t i;

	if (obj)
		q += sprintf(q, "{\"a\":");
	for (i = 0; i < n; i++)
		*q++ = '[';
	for (i = 0; i < n; i++)
		*q++ = ']';
	if (obj)
		*q++ = '}';
	*q = '\0';
	return b;
}

static void
test_depth(void)
{
	const aemp_val *v;
	char *b;

	b = nested(AEMP_MAX_DEPTH, 0);
	CHECK_OK(dec(b, &v));
	CHECK_OK(dec_pkt(b));
	free(b);
	b = nested(AEMP_MAX_DEPTH - 1, 1);
	CHECK_OK(dec(b, &v));
	free(b);
	b = nested(AEMP_MAX_DEPTH + 1, 0);
	CHECK_ERR(dec(b, &v), AEMP_EDEPTH);
	CHECK_ERR(dec_pkt(b), AEMP_EDEPTH);
	free(b);
	b = nested(AEMP_MAX_DEPTH, 1);
	CHECK_ERR(dec(b, &v), AEMP_EDEPTH);
	free(b);
	b = nested(5000, 0); /* beyond simdjson's own limit too */
	CHECK_ERR(dec(b, &v), AEMP_EDEPTH);
	free(b);
}

static void
test_encode(void)
{
	aemp_val kv[] = {aemp_str("a\"b"), aemp_int(-1), aemp_str(""),
	                 AEMP_ARR(aemp_null(), aemp_bool(1), aemp_bool(0))};

	CHECK(enc_is(aemp_int(0), "0"));
	CHECK(enc_is(aemp_int(INT64_MIN), "-9223372036854775808"));
	CHECK(enc_is(aemp_int(INT64_MAX), "9223372036854775807"));
	CHECK(enc_is(aemp_float(2.5), "2.5"));
	CHECK(enc_is(aemp_float(1.0), "1.0"));
	CHECK(enc_is(aemp_float(-0.0), "-0.0"));
	CHECK(enc_is(aemp_float(0.1), "0.1"));
	CHECK(enc_is(aemp_float(1e300), "1e+300"));
	CHECK(enc_is(aemp_float(1795354126.93819), "1795354126.93819"));
	CHECK(enc_is(aemp_float(NAN), "null"));
	CHECK(enc_is(aemp_float(INFINITY), "null"));
	CHECK(enc_is(aemp_float(-INFINITY), "null"));
	CHECK(enc_is(aemp_map(kv, 2),
	             "{\"a\\\"b\":-1,\"\":[null,true,false]}"));
	/* JSON::XS escaping: only ", \ and controls; / and DEL stay */
	CHECK(enc_is(aemp_str("\"\\/\b\f\n\r\t\x01\x1f\x7f"),
	             "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\""));
	CHECK(enc_is(aemp_strn("a\0b", 3), "\"a\\u0000b\""));
	/* valid UTF-8 is copied; bytes are Latin-1 code points */
	CHECK(enc_is(aemp_str("\xc3\xa9\xe2\x82\xac"),
	             "\"\xc3\xa9\xe2\x82\xac\""));
	CHECK(enc_is(aemp_str("x\xe9y"), "\"x\xc3\xa9y\""));
	CHECK(enc_is(aemp_bytes("\xc3\xa9", 2), "\"\xc3\x83\xc2\xa9\""));
	CHECK(enc_is(aemp_bytes("abcdefghijklmnop\xff\"", 18),
	             "\"abcdefghijklmnop\xc3\xbf\\\"\""));
}

/* Integers beyond int64, CBOR tags and `undefined` in JSON output. */
static void
test_encode_cbor_kinds(void)
{
	aemp_val undef = aemp_null(), tkey[2], kv[4];

	CHECK(enc_is(aemp_uint(UINT64_MAX), "18446744073709551615"));
	CHECK(enc_is(aemp_uint(9223372036854775808ull), "9223372036854775808"));
	CHECK(enc_is(aemp_uint(5), "5"));
	CHECK(enc_is(aemp_negint(9223372036854775808ull),
	             "-9223372036854775809"));
	CHECK(enc_is(aemp_negint(UINT64_MAX - 1), "-18446744073709551615"));
	CHECK(enc_is(aemp_negint(UINT64_MAX), "-18446744073709551616"));
	CHECK(enc_is(aemp_negint(0), "-1"));
	undef.flags = AEMP_VF_UNDEF;
	CHECK(enc_is(undef, "null"));
	/* tags: the value alone; \1 and \0 (22098 around 1, 0) as booleans */
	CHECK(enc_is(AEMP_TAGGED(22098, aemp_int(1)), "true"));
	CHECK(enc_is(AEMP_TAGGED(22098, aemp_int(0)), "false"));
	CHECK(enc_is(AEMP_TAGGED(22098, aemp_int(2)), "2"));
	CHECK(enc_is(AEMP_TAGGED(22098, aemp_str("s")), "\"s\""));
	CHECK(enc_is(AEMP_TAGGED(1, aemp_int(1)), "1"));
	CHECK(enc_is(AEMP_TAGGED(26, AEMP_ARR(aemp_str("Cls"), aemp_int(7))),
	             "[\"Cls\",7]"));
	CHECK(enc_is(AEMP_TAGGED(55799, AEMP_TAGGED(UINT64_MAX, aemp_null())),
	             "null"));
	/* tagged map keys: the key inside, integers as their text */
	kv[0] = aemp_tag(tkey, 25, aemp_int(3));
	kv[1] = aemp_int(1);
	kv[2] = AEMP_TAGGED(7, aemp_str("k"));
	kv[3] = aemp_int(2);
	CHECK(enc_is(aemp_map(kv, 2), "{\"3\":1,\"k\":2}"));
}

static void
test_encode_errors(void)
{
	aemp_val kv[] = {aemp_int(1), aemp_int(2)}, m = aemp_map(kv, 1);
	aemp_val bad = aemp_int(0);
	uint8_t b[16];

	CHECK_ERR(cod_encode_value(COD_JSON, b, sizeof(b), &m),
	          AEMP_EMALFORMED);
	kv[0] = AEMP_TAGGED(1, aemp_null()); /* tagged null key */
	CHECK_ERR(cod_encode_value(COD_JSON, b, sizeof(b), &m),
	          AEMP_EMALFORMED);
	bad = AEMP_TAGGED(1, aemp_null());
	bad.len = 1;
	CHECK_ERR(cod_encode_value(COD_JSON, b, sizeof(b), &bad),
	          AEMP_EMALFORMED);
	bad = aemp_int(0);
	bad.type = 200;
	CHECK_ERR(cod_encode_value(COD_JSON, b, sizeof(b), &bad),
	          AEMP_EMALFORMED);
}

static void
test_packet(void)
{
	aemp_val m1[] = {aemp_str("ping"), aemp_float(0.5)};
	struct cod_seg segs[] = {{m1, 2}, {NULL, 0}};
	static const char want[] = "[\"x#\",\"ping\",0.5]";
	uint8_t b[64];
	size_t cap, n = strlen(want);
	ssize_t r;

	for (cap = 0; cap <= n; cap++) {
		memset(b, 0xee, sizeof(b));
		r = cod_encode_packet(COD_JSON, b, cap, "x#", 2, segs, 2);
		CHECK_EQ(r, n);
		CHECK_EQ(b[cap], 0xee);
	}
	CHECK_MEMEQ(b, n, want, n);
	CHECK_EQ(cod_encode_packet(COD_JSON, b, sizeof(b), NULL, 0, NULL, 0),
	         4);
	CHECK_MEMEQ(b, 4, "[\"\"]", 4);
}

static void
test_public(void)
{
	aemp_val *v = NULL;
	char buf[64];

	CHECK_OK(aemp_json_parse("[\"127.0.0.1:4040\", {\"a\":1.5}]", 29, &v));
	CHECK(v != NULL && v->type == AEMP_ARRAY && v->len == 2);
	CHECK(v != NULL && aemp_str_eq(&v->u.a[0], "127.0.0.1:4040"));
	CHECK_EQ(aemp_json_format(v, buf, sizeof(buf)), 28);
	CHECK_STREQ(buf, "[\"127.0.0.1:4040\",{\"a\":1.5}]");
	CHECK_EQ(aemp_json_format(v, buf, 8), 28);
	CHECK_STREQ(buf, "[\"127.0");
	CHECK_EQ(aemp_json_format(v, NULL, 0), 28);
	aemp_val_free(v);
	CHECK_OK(aemp_json_parse("\"x\\ty\"", 6, &v));
	CHECK(v != NULL && aemp_str_eq(v, "x\ty"));
	aemp_val_free(v);
	CHECK_ERR(aemp_json_parse("[1,", 3, &v), AEMP_EMALFORMED);
	CHECK(v == NULL);
	CHECK_ERR(aemp_json_parse("", 0, &v), AEMP_EMALFORMED);
}

/* Every kind through encode + decode gives the same value back. */
static void
test_roundtrip(void)
{
	static char big[70000];
	aemp_val kv[] = {aemp_str("k"), aemp_float(-1.25e-7),
	                 aemp_str("\xe2\x82\xac"), aemp_strn(big, sizeof(big))};
	aemp_val v = AEMP_ARR(aemp_int(0), aemp_int(23), aemp_int(24),
	                      aemp_int(255), aemp_int(256), aemp_int(65535),
	                      aemp_int(65536), aemp_int(4294967296LL),
	                      aemp_int(INT64_MIN), aemp_int(INT64_MAX),
	                      aemp_float(3.141592653589793), aemp_float(1e-300),
	                      aemp_str(""), aemp_str("with \"escapes\"\n"),
	                      aemp_map(kv, 2), aemp_null(), aemp_bool(1),
	                      AEMP_ARR(AEMP_ARR(aemp_array(NULL, 0))));
	const aemp_val *d;
	uint8_t *b;
	ssize_t n;

	memset(big, 'z', sizeof(big));
	b = cu_encode(COD_JSON, &v, &n);
	CHECK(b != NULL);
	CHECK_OK(cod_decode_value(COD_JSON, &tape, b, (size_t)n, &d));
	CHECK_EQ(aemp_val_eq(&v, d), 1);
	free(b);
}

int
main(void)
{
	cod_tape_init(&tape);
	test_scalars();
	test_containers();
	test_depth();
	test_encode();
	test_encode_cbor_kinds();
	test_encode_errors();
	test_packet();
	test_public();
	test_roundtrip();
	cod_tape_fini(&tape);
	free(last);
	return tap_done();
}
