/* tests/unit/codec_cbor.c - CBOR decoding and encoding (codec/cbor.c,
 * codec/cbor_enc.c): exact bytes, every accepted form, every error. */
#include <errno.h>
#include <math.h>

#include "codec/cbor.h"
#include "ring/base.h"
#include "tests/tap.h"
#include "tests/unit/codec_util.h"

static struct cod_tape tape;

/* Decodes hex as one value (any kind); returns the result code. */
static int
dec(const char *hex, const aemp_val **out)
{
	size_t n;
	uint8_t *b = cu_unhex(hex, &n);
	int rc = cod_decode_value(COD_CBOR, &tape, b, n, out);

	free(b); /* strings may point into b: callers use only scalars */
	return rc;
}

static int
dec_pkt(const char *hex)
{
	const aemp_val *v;
	size_t n;
	uint8_t *b = cu_unhex(hex, &n);
	int rc = cod_decode(COD_CBOR, &tape, b, n, &v);

	free(b);
	return rc;
}

/* 1 if v encodes to exactly hex. */
static int
enc_is(aemp_val v, const char *hex)
{
	size_t n;
	ssize_t m;
	uint8_t *want = cu_unhex(hex, &n), *got = cu_encode(COD_CBOR, &v, &m);
	int ok = got != NULL && (size_t)m == n && memcmp(got, want, n) == 0;

	if (!ok && got != NULL)
		tap_hexdiff(got, (size_t)m, want, n);
	free(want);
	free(got);
	return ok;
}

static void
test_ints(void)
{
	static const struct {
		int64_t i;
		const char *hex;
	} t[] = {
	        {0, "00"},
	        {1, "01"},
	        {23, "17"},
	        {24, "1818"},
	        {255, "18ff"},
	        {256, "190100"},
	        {65535, "19ffff"},
	        {65536, "1a00010000"},
	        {4294967295LL, "1affffffff"},
	        {4294967296LL, "1b0000000100000000"},
	        {INT64_MAX, "1b7fffffffffffffff"},
	        {-1, "20"},
	        {-24, "37"},
	        {-25, "3818"},
	        {-256, "38ff"},
	        {-257, "390100"},
	        {INT64_MIN, "3b7fffffffffffffff"},
	};
	const aemp_val *v;
	size_t i;

	for (i = 0; i < AEMP_ARRAY_LEN(t); i++) {
		CHECK(enc_is(aemp_int(t[i].i), t[i].hex));
		CHECK_OK(dec(t[i].hex, &v));
		CHECK(v->type == AEMP_INT && v->u.i == t[i].i);
	}
	/* Non-shortest heads are accepted. */
	CHECK_OK(dec("1b0000000000000005", &v));
	CHECK(v->type == AEMP_INT && v->u.i == 5);
	/* Beyond int64: exact, as AEMP_UINT (major 1 with AEMP_VF_NEG). */
	CHECK_OK(dec("1b8000000000000000", &v));
	CHECK(v->type == AEMP_UINT && v->flags == 0 &&
	      v->u.u == 9223372036854775808ull);
	CHECK_OK(dec("1bffffffffffffffff", &v));
	CHECK(v->type == AEMP_UINT && v->flags == 0 && v->u.u == UINT64_MAX);
	CHECK_OK(dec("3b8000000000000000", &v));
	CHECK(v->type == AEMP_UINT && v->flags == AEMP_VF_NEG &&
	      v->u.u == 9223372036854775808ull);
	CHECK_OK(dec("3bffffffffffffffff", &v)); /* -2^64 */
	CHECK(v->type == AEMP_UINT && v->flags == AEMP_VF_NEG &&
	      v->u.u == UINT64_MAX);
	CHECK(enc_is(aemp_uint(9223372036854775808ull), "1b8000000000000000"));
	CHECK(enc_is(aemp_uint(UINT64_MAX), "1bffffffffffffffff"));
	CHECK(enc_is(aemp_negint(UINT64_MAX), "3bffffffffffffffff"));
	CHECK(enc_is(aemp_negint(9223372036854775808ull),
	             "3b8000000000000000"));
	/* the constructors pick AEMP_INT inside int64 */
	CHECK(aemp_uint(7).type == AEMP_INT && aemp_uint(7).u.i == 7);
	CHECK(aemp_negint(7).type == AEMP_INT && aemp_negint(7).u.i == -8);
	CHECK(aemp_negint((uint64_t)INT64_MAX).u.i == INT64_MIN);
	/* a hand-built AEMP_UINT inside int64 still encodes its value */
	v = &(aemp_val){.type = AEMP_UINT, .u.u = 24};
	CHECK(enc_is(*v, "1818"));
	v = &(aemp_val){.type = AEMP_UINT, .flags = AEMP_VF_NEG, .u.u = 0};
	CHECK(enc_is(*v, "20"));
}

static void
test_floats(void)
{
	const aemp_val *v;

	CHECK(enc_is(aemp_float(2.5), "fa40200000"));
	CHECK(enc_is(aemp_float(0.0), "fa00000000"));
	CHECK(enc_is(aemp_float(-0.0), "fa80000000"));
	CHECK(enc_is(aemp_float(1.0), "fa3f800000"));
	CHECK(enc_is(aemp_float(0.1), "fb3fb999999999999a"));
	CHECK(enc_is(aemp_float(1e300), "fb7e37e43c8800759c"));
	CHECK(enc_is(aemp_float(INFINITY), "fa7f800000"));
	CHECK(enc_is(aemp_float(-INFINITY), "faff800000"));
	CHECK(enc_is(aemp_float(1795354120.7578254), "fb41dac0bb82308036"));
	CHECK_OK(dec("fa40200000", &v));
	CHECK(v->type == AEMP_FLOAT && v->u.f == 2.5);
	CHECK(v->flags == AEMP_VF_F32);
	CHECK_OK(dec("fb3fb999999999999a", &v));
	CHECK(v->type == AEMP_FLOAT && v->u.f == 0.1);
	CHECK(v->flags == AEMP_VF_F64);
	/* Half precision: 1.0, -2.0, 65504, smallest subnormal, inf, NaN. */
	CHECK_OK(dec("f93c00", &v));
	CHECK(v->type == AEMP_FLOAT && v->u.f == 1.0);
	CHECK(v->flags == AEMP_VF_F16);
	CHECK_OK(dec("f9c000", &v));
	CHECK(v->u.f == -2.0);
	CHECK_OK(dec("f97bff", &v));
	CHECK(v->u.f == 65504.0);
	CHECK_OK(dec("f90001", &v));
	CHECK(v->u.f == ldexp(1, -24));
	CHECK_OK(dec("f97c00", &v));
	CHECK(isinf(v->u.f) && v->u.f > 0);
	CHECK_OK(dec("f97e00", &v));
	CHECK(isnan(v->u.f));
	CHECK_OK(dec("fa7fc00000", &v));
	CHECK(isnan(v->u.f));
}

static void
test_simple(void)
{
	const aemp_val *v;

	CHECK(enc_is(aemp_null(), "f6"));
	CHECK(enc_is(aemp_bool(0), "f4"));
	CHECK(enc_is(aemp_bool(1), "f5"));
	CHECK_OK(dec("f4", &v));
	CHECK(v->type == AEMP_BOOL && v->u.i == 0);
	CHECK_OK(dec("f5", &v));
	CHECK(v->type == AEMP_BOOL && v->u.i == 1);
	CHECK_OK(dec("f6", &v));
	CHECK(v->type == AEMP_NULL);
	CHECK_OK(dec("f6", &v));
	CHECK(v->type == AEMP_NULL && v->flags == 0);
	CHECK_OK(dec("f7", &v)); /* undefined: null, flagged */
	CHECK(v->type == AEMP_NULL && v->flags == AEMP_VF_UNDEF);
	CHECK(enc_is(*v, "f7"));
	CHECK_ERR(dec("f0", &v), AEMP_EMALFORMED);   /* simple(16) */
	CHECK_ERR(dec("f820", &v), AEMP_EMALFORMED); /* simple(32) */
	CHECK_ERR(dec("ff", &v), AEMP_EMALFORMED);   /* stray break */
	CHECK_ERR(dec("1c", &v), AEMP_EMALFORMED);   /* reserved ai 28 */
	CHECK_ERR(dec("5d", &v), AEMP_EMALFORMED);   /* reserved ai 29 */
	CHECK_ERR(dec("fe", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("1f", &v), AEMP_EMALFORMED); /* indefinite int */
	CHECK_ERR(dec("df", &v), AEMP_EMALFORMED); /* indefinite tag */
}

static void
test_strings(void)
{
	const aemp_val *v;
	size_t n;
	uint8_t *b;

	CHECK(enc_is(aemp_str(""), "60"));
	CHECK(enc_is(aemp_str("abc"), "63616263"));
	CHECK(enc_is(aemp_bytes("abc", 3), "43616263"));
	CHECK(enc_is(aemp_str("\xc3\xa9"), "62c3a9"));
	CHECK(enc_is(aemp_str("\xe9"), "41e9")); /* not UTF-8: bytes */
	CHECK(enc_is(aemp_str("\xed\xa0\x80"), "43eda080")); /* surrogate */
	CHECK(enc_is(aemp_str("\xc0\xaf"), "42c0af"));       /* overlong */
	/* flagged text stays text, whatever the bytes (Perl's own UTF-8
	 * allows surrogates); flagged bytes stay bytes */
	v = &(aemp_val){.type = AEMP_STR,
	                .flags = AEMP_VF_TEXT,
	                .len = 3,
	                .u.s = "\xed\xa0\x80"};
	CHECK(enc_is(*v, "63eda080"));
	CHECK(enc_is(aemp_bytes("ab", 2), "426162"));

	/* Both major types decode to strings, zero copy; 2 is flagged. */
	b = cu_unhex("43616263", &n);
	CHECK_OK(cod_decode_value(COD_CBOR, &tape, b, n, &v));
	CHECK(v->type == AEMP_STR && v->flags == AEMP_VF_BYTES);
	CHECK(v->len == 3 && v->u.s == (const char *)b + 1);
	free(b);
	b = cu_unhex("63616263", &n);
	CHECK_OK(cod_decode_value(COD_CBOR, &tape, b, n, &v));
	CHECK(v->type == AEMP_STR && v->flags == AEMP_VF_TEXT &&
	      aemp_str_eq(v, "abc"));
	free(b);
	/* Indefinite strings are joined in the tape's scratch. */
	b = cu_unhex("7f626162616360ff", &n);
	CHECK_OK(cod_decode_value(COD_CBOR, &tape, b, n, &v));
	CHECK(aemp_str_eq(v, "abc") && v->flags == AEMP_VF_TEXT);
	free(b);
	b = cu_unhex("5f41614162ff", &n);
	CHECK_OK(cod_decode_value(COD_CBOR, &tape, b, n, &v));
	CHECK(aemp_str_eq(v, "ab") && v->flags == AEMP_VF_BYTES);
	free(b);
	CHECK_ERR(dec("5f6161ff", &v), AEMP_EMALFORMED);     /* mixed chunks */
	CHECK_ERR(dec("5f5f4161ffff", &v), AEMP_EMALFORMED); /* nested */
	CHECK_ERR(dec("5f01ff", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("5f4161", &v), AEMP_EMALFORMED); /* no break */
	CHECK_ERR(dec("636162", &v), AEMP_EMALFORMED); /* truncated */
	CHECK_ERR(dec("7bffffffffffffffff", &v), AEMP_EMALFORMED);
}

/* One test of containers: nested array/map, keys, tags, indefinite. */
static void
test_containers(void)
{
	const aemp_val *v, *x;
	size_t n;
	uint8_t *b;

	/* {1: "a", -3: "b", "c": [1, 2]} with integer keys stringified */
	b = cu_unhex("a30161612261626163820102", &n);
	CHECK_OK(cod_decode_value(COD_CBOR, &tape, b, n, &v));
	CHECK(v->type == AEMP_MAP && v->len == 3);
	CHECK(aemp_str_eq(aemp_map_get(v, "1"), "a"));
	CHECK(aemp_str_eq(aemp_map_get(v, "-3"), "b"));
	x = aemp_map_get(v, "c");
	CHECK(x != NULL && x->type == AEMP_ARRAY && x->len == 2);
	CHECK(x != NULL && x->u.a[1].u.i == 2);
	free(b);
	/* biggest keys: 2^64-1 and -2^64 */
	b = cu_unhex("a21bffffffffffffffff013bffffffffffffffff02", &n);
	CHECK_OK(cod_decode_value(COD_CBOR, &tape, b, n, &v));
	CHECK(aemp_map_get(v, "18446744073709551615") != NULL);
	CHECK(aemp_map_get(v, "-18446744073709551616") != NULL);
	free(b);
	CHECK_ERR(dec("a1f601", &v), AEMP_EMALFORMED);   /* null key */
	CHECK_ERR(dec("a1800101", &v), AEMP_EMALFORMED); /* array key */
	CHECK_ERR(dec("a1fa4020000001", &v), AEMP_EMALFORMED);
	/* indefinite array and map, tags anywhere (self-describe, 1, 0) */
	b = cu_unhex("d9d9f79f01c1bf6161c06162ff80ff", &n);
	CHECK_OK(cod_decode_value(COD_CBOR, &tape, b, n, &v));
	CHECK(v->type == AEMP_TAG && aemp_tag_num(v) == 55799);
	v = aemp_untag(v);
	CHECK(v->type == AEMP_ARRAY && v->len == 3);
	CHECK(v->u.a[0].u.i == 1);
	x = &v->u.a[1];
	CHECK(x->type == AEMP_TAG && aemp_tag_num(x) == 1);
	x = aemp_tag_value(x);
	CHECK(x->type == AEMP_MAP && x->len == 1);
	CHECK(aemp_tag_num(aemp_map_get(x, "a")) == 0);
	CHECK(aemp_str_eq(aemp_untag(aemp_map_get(x, "a")), "b"));
	CHECK(v->u.a[2].type == AEMP_ARRAY && v->u.a[2].len == 0);
	free(b);
	CHECK_ERR(dec("bf61610102ff", &v), AEMP_EMALFORMED); /* stray 02 */
	CHECK_ERR(dec("bf6161ff", &v), AEMP_EMALFORMED);     /* key w/o value */
	CHECK_ERR(dec("9f01", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("82010203", &v), AEMP_EMALFORMED); /* trailing */
	CHECK_ERR(dec("8301", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("9bffffffffffffffff00", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("", &v), AEMP_EMALFORMED);
	/* packets are arrays */
	CHECK_OK(dec_pkt("80"));
	CHECK_OK(dec_pkt("d9d9f78160"));
	CHECK_ERR(dec_pkt("a0"), AEMP_EMALFORMED);
	CHECK_ERR(dec_pkt("01"), AEMP_EMALFORMED);
	CHECK_ERR(dec_pkt("d9d9f7"), AEMP_EMALFORMED);
}

/* Decodes hex as one value and checks it re-encodes to the same bytes. */
/* The input stays until the next call: the strings of *out point into
 * it. */
static int
same_back(const char *hex, const aemp_val **out)
{
	static uint8_t *keep;
	size_t n;

	free(keep);
	keep = cu_unhex(hex, &n);
	return cod_decode_value(COD_CBOR, &tape, keep, n, out) == 0 &&
	       enc_is(**out, hex);
}

/* Tags: kept as AEMP_TAG values with their numbers, written back. */
static void
test_tags(void)
{
	static const char *const heads[] = {"c0",
	                                    "d7",
	                                    "d818",
	                                    "d8ff",
	                                    "d90100",
	                                    "d9ffff",
	                                    "da00010000",
	                                    "daffffffff",
	                                    "db0000000100000000",
	                                    "dbffffffffffffffff"};
	static const uint64_t nums[] = {
	        0,     23,    24,         255,        256,
	        65535, 65536, 4294967295, 4294967296, UINT64_MAX};
	const aemp_val *v, *x;
	char hex[64];
	size_t i;

	for (i = 0; i < AEMP_ARRAY_LEN(heads); i++) {
		snprintf(hex, sizeof(hex), "%s01", heads[i]);
		CHECK(same_back(hex, &v));
		CHECK(v->type == AEMP_TAG && v->len == 2);
		CHECK(aemp_tag_num(v) == nums[i]);
		CHECK(aemp_tag_value(v)->type == AEMP_INT);
		CHECK(enc_is(AEMP_TAGGED(nums[i], aemp_int(1)), hex));
	}
	/* \1 from Perl, nested tags, tags around containers */
	CHECK(same_back("d95652"
	                "01",
	                &v));
	CHECK(aemp_tag_num(v) == 22098 && aemp_untag(v)->u.i == 1);
	CHECK(same_back("c1c203", &v));
	CHECK(aemp_tag_num(v) == 1 && aemp_tag_num(aemp_tag_value(v)) == 2);
	CHECK(aemp_untag(v)->u.i == 3);
	CHECK(same_back("d81a8363436c730780", &v)); /* 26 ["Cls", 7, []] */
	CHECK(same_back("82d81c816161d81d00", &v)); /* [28([a]), 29(0)] */
	CHECK(same_back("d90100826161d81900", &v)); /* 256(["a", 25(0)]) */
	x = aemp_untag(v);
	CHECK(x->type == AEMP_ARRAY && aemp_tag_num(&x->u.a[1]) == 25);
	CHECK(aemp_tag_value(&x->u.a[1])->type == AEMP_INT);
	CHECK(aemp_tag_value(x) == NULL);
	/* tagged map keys: strings, integers (kept), tags; not others */
	CHECK(same_back("a3d81903016361626302c1c2617803", &v));
	CHECK(v->type == AEMP_MAP && v->u.a[0].type == AEMP_TAG);
	CHECK(aemp_tag_value(&v->u.a[0])->type == AEMP_INT);
	CHECK(aemp_str_eq(&v->u.a[2], "abc"));
	CHECK(v->u.a[4].type == AEMP_TAG);
	CHECK(same_back("a1c1c26161f6", &v));
	CHECK(same_back("a1c13bffffffffffffffff01", &v));
	CHECK(aemp_tag_value(&v->u.a[0])->type == AEMP_UINT);
	CHECK(same_back("a1c14100f5", &v));
	CHECK(aemp_tag_value(&v->u.a[0])->flags == AEMP_VF_BYTES);
	CHECK_ERR(dec("a1c1f601", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("a1c18001", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("a1c1fa3f80000001", &v), AEMP_EMALFORMED);
	CHECK_OK(dec("bfc17f6161ff01ff", &v)); /* indefinite, in a tag */
	CHECK(aemp_str_eq(aemp_tag_value(&v->u.a[0]), "a"));
	/* a break or the end right after a tag */
	CHECK_ERR(dec("9fc1ff", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("bfc1ff", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("c1", &v), AEMP_EMALFORMED);
	CHECK_ERR(dec("81c1", &v), AEMP_EMALFORMED);
	/* in front of a packet tags are skipped, inside it they stay */
	CHECK_OK(dec_pkt("c18160"));
	CHECK_OK(dec_pkt("8260c160"));
}

/* Encoding errors of tags: bad numbers and shapes. */
static void
test_tag_errors(void)
{
	aemp_val kv[2] = {aemp_int(1), aemp_int(2)}, m = aemp_map(kv, 1);
	aemp_val t = AEMP_TAGGED(5, aemp_null()), pair[2];
	uint8_t b[64];

	pair[0] = aemp_float(5.0);
	pair[1] = aemp_null();
	t.u.a = pair;
	CHECK_ERR(cod_encode_value(COD_CBOR, b, sizeof(b), &t),
	          AEMP_EMALFORMED);
	pair[0] = aemp_negint(UINT64_MAX);
	CHECK_ERR(cod_encode_value(COD_CBOR, b, sizeof(b), &t),
	          AEMP_EMALFORMED);
	pair[0] = aemp_int(-1);
	CHECK_ERR(cod_encode_value(COD_CBOR, b, sizeof(b), &t),
	          AEMP_EMALFORMED);
	pair[0] = aemp_int(5);
	t.len = 1;
	CHECK_ERR(cod_encode_value(COD_CBOR, b, sizeof(b), &t),
	          AEMP_EMALFORMED);
	/* integer keys only inside a tag; tagged keys hold keys */
	CHECK_ERR(cod_encode_value(COD_CBOR, b, sizeof(b), &m),
	          AEMP_EMALFORMED);
	kv[0] = AEMP_TAGGED(25, aemp_int(1));
	CHECK_EQ(cod_encode_value(COD_CBOR, b, sizeof(b), &m), 5);
	kv[0] = AEMP_TAGGED(25, aemp_float(1));
	CHECK_ERR(cod_encode_value(COD_CBOR, b, sizeof(b), &m),
	          AEMP_EMALFORMED);
}

/* Depth: 512 nested arrays decode and encode, 513 do not. */
static void
test_depth(void)
{
	uint8_t b[AEMP_MAX_DEPTH + 2 + COD_PADDING];
	aemp_val arr[AEMP_MAX_DEPTH + 2];
	const aemp_val *v;
	size_t i;

	memset(b, 0x81, sizeof(b));
	b[AEMP_MAX_DEPTH - 1] = 0x80;
	CHECK_OK(cod_decode(COD_CBOR, &tape, b, AEMP_MAX_DEPTH, &v));
	b[AEMP_MAX_DEPTH - 1] = 0x81;
	b[AEMP_MAX_DEPTH] = 0x80;
	CHECK_ERR(cod_decode(COD_CBOR, &tape, b, AEMP_MAX_DEPTH + 1, &v),
	          AEMP_EDEPTH);
	b[AEMP_MAX_DEPTH] = 0x9f; /* indefinite at 513 too */
	b[AEMP_MAX_DEPTH + 1] = 0xff;
	CHECK_ERR(cod_decode(COD_CBOR, &tape, b, AEMP_MAX_DEPTH + 2, &v),
	          AEMP_EDEPTH);

	arr[AEMP_MAX_DEPTH] = aemp_array(NULL, 0);
	for (i = AEMP_MAX_DEPTH; i-- > 1;)
		arr[i] = aemp_array(&arr[i + 1], 1);
	CHECK_EQ(cod_encode_value(COD_CBOR, b, sizeof(b), &arr[1]),
	         AEMP_MAX_DEPTH);
	arr[0] = aemp_array(&arr[1], 1);
	CHECK_ERR(cod_encode_value(COD_CBOR, b, sizeof(b), &arr[0]),
	          AEMP_EDEPTH);
	/* as a packet: the packet array is level 1 */
	CHECK_EQ(cod_encode_packet(COD_CBOR, b, sizeof(b), "", 0,
	                           &(struct cod_seg){&arr[2], 1}, 1),
	         AEMP_MAX_DEPTH + 1);
	CHECK_ERR(cod_encode_packet(COD_CBOR, b, sizeof(b), "", 0,
	                            &(struct cod_seg){&arr[1], 1}, 1),
	          AEMP_EDEPTH);
}

static void
test_encode_errors(void)
{
	aemp_val kv[2] = {aemp_int(1), aemp_int(2)}, m = aemp_map(kv, 1);
	aemp_val bad = aemp_int(0);
	uint8_t b[64];

	CHECK_ERR(cod_encode_value(COD_CBOR, b, sizeof(b), &m),
	          AEMP_EMALFORMED);
	bad.type = 42;
	CHECK_ERR(cod_encode_value(COD_CBOR, b, sizeof(b), &bad),
	          AEMP_EMALFORMED);
	CHECK_ERR(cod_encode_value(COD_NONE, b, sizeof(b), &bad), -EINVAL);
}

/* Packet encoding with segments and the "too small buffer" protocol. */
static void
test_packet(void)
{
	aemp_val m1[] = {aemp_str("ping"), aemp_int(7)};
	aemp_val m2[] = {aemp_str("c#p")};
	struct cod_seg segs[] = {{m1, 2}, {m2, 1}, {NULL, 0}};
	static const char want[] = "84617864"
	                           "70696e67"
	                           "07"
	                           "63"
	                           "632370";
	uint8_t b[64], *w;
	const aemp_val *v;
	size_t n, cap;
	ssize_t r;

	w = cu_unhex(want, &n);
	for (cap = 0; cap <= n; cap++) {
		memset(b, 0xee, sizeof(b));
		r = cod_encode_packet(COD_CBOR, b, cap, "x", 1, segs, 3);
		CHECK_EQ(r, n);
		CHECK_EQ(b[cap], 0xee); /* never past cap */
	}
	CHECK_MEMEQ(b, n, w, n);
	CHECK_OK(cod_decode(COD_CBOR, &tape, b, n, &v));
	CHECK(v->len == 4 && aemp_str_eq(&v->u.a[3], "c#p"));
	free(w);
}

static void
test_framing_names(void)
{
	CHECK_STREQ(cod_framing_name(COD_CBOR), "cbor");
	CHECK_STREQ(cod_framing_name(COD_JSON), "json");
	CHECK(cod_framing_name(COD_NONE) == NULL);
	CHECK_EQ(cod_framing_parse("cbor", 4), COD_CBOR);
	CHECK_EQ(cod_framing_parse("json", 4), COD_JSON);
	CHECK_EQ(cod_framing_parse("storable", 8), COD_NONE);
	CHECK_EQ(cod_framing_parse("jso", 3), COD_NONE);
}

int
main(void)
{
	cod_tape_init(&tape);
	test_ints();
	test_floats();
	test_simple();
	test_strings();
	test_containers();
	test_tags();
	test_tag_errors();
	test_depth();
	test_encode_errors();
	test_packet();
	test_framing_names();
	cod_tape_fini(&tape);
	return tap_done();
}
