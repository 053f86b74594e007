/* tests/unit/codec_val.c - the public value functions: accessors, equality,
 * deep copies (codec/val.c). */
#include <math.h>
#include <stdint.h>

#include "ring/alloc.h"
#include "tests/tap.h"

static void
test_get_int(void)
{
	int64_t i = -1;
	aemp_val v;

	CHECK_ERR(aemp_get_int(&(aemp_val){0}, &i), AEMP_EMALFORMED);
	v = aemp_int(INT64_MIN);
	CHECK_OK(aemp_get_int(&v, &i));
	CHECK(i == INT64_MIN);
	v = aemp_bool(1);
	CHECK_OK(aemp_get_int(&v, &i));
	CHECK_EQ(i, 1);
	v = aemp_float(-42.0);
	CHECK_OK(aemp_get_int(&v, &i));
	CHECK_EQ(i, -42);
	v = aemp_float(2.5);
	CHECK_ERR(aemp_get_int(&v, &i), AEMP_EMALFORMED);
	v = aemp_float(9223372036854775808.0);
	CHECK_ERR(aemp_get_int(&v, &i), AEMP_EMALFORMED);
	v = aemp_float(-9223372036854775808.0);
	CHECK_OK(aemp_get_int(&v, &i));
	CHECK(i == INT64_MIN);
	v = aemp_float(NAN);
	CHECK_ERR(aemp_get_int(&v, &i), AEMP_EMALFORMED);
	v = aemp_str("12345");
	CHECK_OK(aemp_get_int(&v, &i));
	CHECK_EQ(i, 12345);
	v = aemp_str("-9223372036854775808");
	CHECK_OK(aemp_get_int(&v, &i));
	CHECK(i == INT64_MIN);
	v = aemp_str("9223372036854775807");
	CHECK_OK(aemp_get_int(&v, &i));
	CHECK(i == INT64_MAX);
	v = aemp_str("9223372036854775808");
	CHECK_ERR(aemp_get_int(&v, &i), AEMP_EMALFORMED);
	v = aemp_str("12a");
	CHECK_ERR(aemp_get_int(&v, &i), AEMP_EMALFORMED);
	v = aemp_str("-");
	CHECK_ERR(aemp_get_int(&v, &i), AEMP_EMALFORMED);
	v = aemp_str("");
	CHECK_ERR(aemp_get_int(&v, &i), AEMP_EMALFORMED);
	v = aemp_null();
	CHECK_ERR(aemp_get_int(&v, &i), AEMP_EMALFORMED);
	CHECK_ERR(aemp_get_int(NULL, &i), AEMP_EMALFORMED);
	v = AEMP_ARR(aemp_int(1));
	CHECK_ERR(aemp_get_int(&v, &i), AEMP_EMALFORMED);
}

static void
test_get_uint(void)
{
	uint64_t u = 1;
	int64_t i = 0;
	double d = 0;
	aemp_val v;

	v = aemp_uint(UINT64_MAX);
	CHECK(v.type == AEMP_UINT);
	CHECK_OK(aemp_get_uint(&v, &u));
	CHECK(u == UINT64_MAX);
	CHECK_ERR(aemp_get_int(&v, &i), AEMP_EMALFORMED);
	CHECK_OK(aemp_get_float(&v, &d));
	CHECK(d == 18446744073709551616.0);
	CHECK_EQ(aemp_truthy(&v), 1);
	v = aemp_negint(UINT64_MAX);
	CHECK_ERR(aemp_get_uint(&v, &u), AEMP_EMALFORMED);
	CHECK_ERR(aemp_get_int(&v, &i), AEMP_EMALFORMED);
	CHECK_OK(aemp_get_float(&v, &d));
	CHECK(d == -18446744073709551616.0);
	v = aemp_int(42);
	CHECK_OK(aemp_get_uint(&v, &u));
	CHECK(u == 42);
	v = aemp_int(-1);
	CHECK_ERR(aemp_get_uint(&v, &u), AEMP_EMALFORMED);
	v = aemp_bool(1);
	CHECK_OK(aemp_get_uint(&v, &u));
	CHECK(u == 1);
	v = aemp_float(18446744073709549568.0); /* the last double < 2^64 */
	CHECK_OK(aemp_get_uint(&v, &u));
	CHECK(u == 18446744073709549568ull);
	v = aemp_float(18446744073709551616.0);
	CHECK_ERR(aemp_get_uint(&v, &u), AEMP_EMALFORMED);
	v = aemp_float(-0.0);
	CHECK_OK(aemp_get_uint(&v, &u));
	CHECK(u == 0);
	v = aemp_float(0.5);
	CHECK_ERR(aemp_get_uint(&v, &u), AEMP_EMALFORMED);
	v = aemp_str("18446744073709551615");
	CHECK_OK(aemp_get_uint(&v, &u));
	CHECK(u == UINT64_MAX);
	v = aemp_str("+7");
	CHECK_OK(aemp_get_uint(&v, &u));
	CHECK(u == 7);
	v = aemp_str("18446744073709551616");
	CHECK_ERR(aemp_get_uint(&v, &u), AEMP_EMALFORMED);
	v = aemp_str("-1");
	CHECK_ERR(aemp_get_uint(&v, &u), AEMP_EMALFORMED);
	v = aemp_str("+");
	CHECK_ERR(aemp_get_uint(&v, &u), AEMP_EMALFORMED);
	v = aemp_null();
	CHECK_ERR(aemp_get_uint(&v, &u), AEMP_EMALFORMED);
	CHECK_ERR(aemp_get_uint(NULL, &u), AEMP_EMALFORMED);
	v = AEMP_TAGGED(1, aemp_int(1));
	CHECK_ERR(aemp_get_uint(&v, &u), AEMP_EMALFORMED);
	CHECK_EQ(aemp_truthy(&v), 1);
	v = aemp_null();
	v.flags = AEMP_VF_UNDEF;
	CHECK_EQ(aemp_truthy(&v), 0);
}

static void
test_get_float(void)
{
	double f = 0;
	aemp_val v;

	v = aemp_int(-7);
	CHECK_OK(aemp_get_float(&v, &f));
	CHECK(f == -7.0);
	v = aemp_float(2.5);
	CHECK_OK(aemp_get_float(&v, &f));
	CHECK(f == 2.5);
	v = aemp_str("1795354120.7578254");
	CHECK_OK(aemp_get_float(&v, &f));
	CHECK(f == 1795354120.7578254);
	v = aemp_str("-.5e+2");
	CHECK_OK(aemp_get_float(&v, &f));
	CHECK(f == -50.0);
	v = aemp_str("1e");
	CHECK_ERR(aemp_get_float(&v, &f), AEMP_EMALFORMED);
	v = aemp_str(".");
	CHECK_ERR(aemp_get_float(&v, &f), AEMP_EMALFORMED);
	v = aemp_str("0x10");
	CHECK_ERR(aemp_get_float(&v, &f), AEMP_EMALFORMED);
	v = aemp_str("inf");
	CHECK_ERR(aemp_get_float(&v, &f), AEMP_EMALFORMED);
	v = aemp_null();
	CHECK_ERR(aemp_get_float(&v, &f), AEMP_EMALFORMED);
	CHECK_ERR(aemp_get_float(NULL, &f), AEMP_EMALFORMED);
}

static void
test_truthy(void)
{
	aemp_val v;

	CHECK_EQ(aemp_truthy(NULL), 0);
	v = aemp_null();
	CHECK_EQ(aemp_truthy(&v), 0);
	v = aemp_bool(0);
	CHECK_EQ(aemp_truthy(&v), 0);
	v = aemp_bool(1);
	CHECK_EQ(aemp_truthy(&v), 1);
	v = aemp_int(0);
	CHECK_EQ(aemp_truthy(&v), 0);
	v = aemp_int(-1);
	CHECK_EQ(aemp_truthy(&v), 1);
	v = aemp_float(0.0);
	CHECK_EQ(aemp_truthy(&v), 0);
	v = aemp_float(-0.0);
	CHECK_EQ(aemp_truthy(&v), 0);
	v = aemp_float(0.1);
	CHECK_EQ(aemp_truthy(&v), 1);
	v = aemp_str("");
	CHECK_EQ(aemp_truthy(&v), 0);
	v = aemp_str("0");
	CHECK_EQ(aemp_truthy(&v), 0);
	v = aemp_str("00");
	CHECK_EQ(aemp_truthy(&v), 1);
	v = aemp_str("0.0");
	CHECK_EQ(aemp_truthy(&v), 1);
	v = aemp_array(NULL, 0);
	CHECK_EQ(aemp_truthy(&v), 1);
	v = aemp_map(NULL, 0);
	CHECK_EQ(aemp_truthy(&v), 1);
}

static void
test_map_get(void)
{
	aemp_val kv[] = {aemp_str("a"), aemp_int(1),   aemp_str("b"),
	                 aemp_int(2),   aemp_str("a"), aemp_int(3)};
	aemp_val m = aemp_map(kv, 3), s = aemp_str("a");
	const aemp_val *r;

	r = aemp_map_get(&m, "a");
	CHECK(r == &kv[1]);
	r = aemp_map_get(&m, "b");
	CHECK(r != NULL && r->u.i == 2);
	CHECK(aemp_map_get(&m, "c") == NULL);
	CHECK(aemp_map_get(&m, "") == NULL);
	CHECK(aemp_map_get(&s, "a") == NULL);
	CHECK(aemp_map_get(NULL, "a") == NULL);
}

static void
test_eq(void)
{
	aemp_val kv1[] = {aemp_str("x"), aemp_int(1), aemp_str("y"),
	                  AEMP_ARR(aemp_str("z"), aemp_null())};
	aemp_val kv2[] = {aemp_str("y"), AEMP_ARR(aemp_str("z"), aemp_null()),
	                  aemp_str("x"), aemp_float(1.0)};
	aemp_val kv3[] = {aemp_str("y"), AEMP_ARR(aemp_str("z"), aemp_null()),
	                  aemp_str("w"), aemp_int(1)};
	aemp_val m1 = aemp_map(kv1, 2), m2 = aemp_map(kv2, 2);
	aemp_val m3 = aemp_map(kv3, 2), a, b;

	CHECK_EQ(aemp_val_eq(&m1, &m2), 1);
	CHECK_EQ(aemp_val_eq(&m2, &m1), 1);
	CHECK_EQ(aemp_val_eq(&m1, &m3), 0);
	a = aemp_int(3);
	b = aemp_float(3.0);
	CHECK_EQ(aemp_val_eq(&a, &b), 1);
	b = aemp_float(3.5);
	CHECK_EQ(aemp_val_eq(&a, &b), 0);
	a = aemp_float(NAN);
	b = aemp_float(NAN);
	CHECK_EQ(aemp_val_eq(&a, &b), 1);
	a = aemp_bool(1);
	b = aemp_int(1);
	CHECK_EQ(aemp_val_eq(&a, &b), 0);
	a = aemp_str("abc");
	b = aemp_bytes("abc", 3);
	CHECK_EQ(aemp_val_eq(&a, &b), 1);
	b = aemp_str("abd");
	CHECK_EQ(aemp_val_eq(&a, &b), 0);
	a = AEMP_ARR(aemp_int(1), aemp_int(2));
	b = AEMP_ARR(aemp_int(1));
	CHECK_EQ(aemp_val_eq(&a, &b), 0);
	a = aemp_null();
	CHECK_EQ(aemp_val_eq(&a, NULL), 0);
	CHECK_EQ(aemp_val_eq(NULL, NULL), 1);
	b = aemp_null();
	b.flags = AEMP_VF_UNDEF; /* undefined is not null */
	CHECK_EQ(aemp_val_eq(&a, &b), 0);
	a.flags = AEMP_VF_UNDEF;
	CHECK_EQ(aemp_val_eq(&a, &b), 1);
}

/* Integers of every form, against each other and doubles; tags. */
static void
test_eq_big(void)
{
	aemp_val a, b, k1[2], k2[2];

	a = aemp_uint(UINT64_MAX);
	b = aemp_uint(UINT64_MAX);
	CHECK_EQ(aemp_val_eq(&a, &b), 1);
	b = aemp_negint(UINT64_MAX); /* -2^64 is not 2^64-1 */
	CHECK_EQ(aemp_val_eq(&a, &b), 0);
	b = aemp_float(18446744073709551615.0); /* rounds to 2^64 */
	CHECK_EQ(aemp_val_eq(&a, &b), 0);
	a = aemp_negint(UINT64_MAX);
	b = aemp_float(-18446744073709551616.0);
	CHECK_EQ(aemp_val_eq(&a, &b), 1);
	a = aemp_uint(9223372036854775808ull);
	b = aemp_float(9223372036854775808.0);
	CHECK_EQ(aemp_val_eq(&a, &b), 1);
	CHECK_EQ(aemp_val_eq(&b, &a), 1);
	a = aemp_negint(9223372036854775808ull);
	b = aemp_float(-9223372036854775808.0); /* that is INT64_MIN */
	CHECK_EQ(aemp_val_eq(&a, &b), 0);
	b = aemp_float(-9223372036854777856.0); /* next double down */
	CHECK_EQ(aemp_val_eq(&a, &b), 0);
	a = aemp_negint(9223372036854777855ull);
	CHECK_EQ(aemp_val_eq(&a, &b), 1);
	/* a hand-built UINT inside int64 equals the INT of its value */
	a = (aemp_val){.type = AEMP_UINT, .u.u = 5};
	b = aemp_int(5);
	CHECK_EQ(aemp_val_eq(&a, &b), 1);
	a = (aemp_val){.type = AEMP_UINT, .flags = AEMP_VF_NEG, .u.u = 5};
	b = aemp_int(-6);
	CHECK_EQ(aemp_val_eq(&a, &b), 1);
	/* tags: same number and value */
	a = aemp_tag(k1, 22098, aemp_int(1));
	b = aemp_tag(k2, 22098, aemp_int(1));
	CHECK_EQ(aemp_val_eq(&a, &b), 1);
	k2[0] = aemp_uint(22099);
	CHECK_EQ(aemp_val_eq(&a, &b), 0);
	b = aemp_int(1);
	CHECK_EQ(aemp_val_eq(&a, &b), 0);
	a = AEMP_TAGGED(UINT64_MAX, aemp_str("x"));
	b = AEMP_TAGGED(UINT64_MAX, aemp_str("x"));
	CHECK_EQ(aemp_val_eq(&a, &b), 1);
	CHECK(aemp_tag_num(&a) == UINT64_MAX);
	b = AEMP_TAGGED(0, a);
	CHECK(aemp_tag_num(aemp_tag_value(&b)) == UINT64_MAX);
	CHECK(aemp_untag(&b)->type == AEMP_STR);
	CHECK(aemp_untag(NULL) == NULL && aemp_tag_value(NULL) == NULL);
}

/* Maps with tagged keys compare keys structurally. */
static void
test_eq_tagged_keys(void)
{
	aemp_val kv1[4], kv2[4], a, b;

	kv1[0] = AEMP_TAGGED(25, aemp_int(0));
	kv1[1] = aemp_str("v0");
	kv1[2] = aemp_str("k");
	kv1[3] = aemp_str("v1");
	kv2[0] = aemp_str("k");
	kv2[1] = aemp_str("v1");
	kv2[2] = AEMP_TAGGED(25, aemp_int(0));
	kv2[3] = aemp_str("v0");
	a = aemp_map(kv1, 2);
	b = aemp_map(kv2, 2);
	CHECK_EQ(aemp_val_eq(&a, &b), 1);
	kv2[2] = AEMP_TAGGED(25, aemp_int(1));
	CHECK_EQ(aemp_val_eq(&a, &b), 0);
	CHECK(aemp_map_get(&a, "k") != NULL && aemp_map_get(&a, "0") == NULL);
}

/* Builds `depth` nested single-element arrays around an int in arr[]. */
static aemp_val *
nest(aemp_val *arr, size_t depth)
{
	size_t i;

	arr[depth] = aemp_int(7);
	for (i = depth; i-- > 0;)
		arr[i] = aemp_array(&arr[i + 1], 1);
	return &arr[0];
}

static void
test_dup(void)
{
	char key[] = "key", big[300];
	aemp_val kv[] = {aemp_str(key),
	                 AEMP_ARR(aemp_bytes("\0\1", 2), aemp_float(-0.5),
	                          aemp_bool(0))};
	aemp_val src =
	        AEMP_ARR(aemp_str(""), aemp_int(INT64_MAX), aemp_map(kv, 1),
	                 aemp_null(), aemp_strn(big, 300));
	aemp_val *d, deep[AEMP_MAX_DEPTH + 2];
	const aemp_val *x;

	memset(big, 'b', sizeof(big));
	d = aemp_val_dup(&src);
	CHECK(d != NULL);
	CHECK_EQ(aemp_val_eq(d, &src), 1);
	key[0] = 'K'; /* the copy owns its bytes */
	x = aemp_map_get(aemp_at(d, 2), "key");
	CHECK(x != NULL && x->type == AEMP_ARRAY);
	CHECK(x != NULL && x->u.a[0].flags == AEMP_VF_BYTES);
	CHECK(aemp_at(d, 0)->u.s != NULL && aemp_at(d, 0)->u.s[0] == '\0');
	CHECK_EQ(aemp_at(d, 4)->u.s[300], '\0');
	CHECK_EQ(aemp_val_eq(d, &src), 0);
	aemp_val_free(d);
	aemp_val_free(NULL);

	d = aemp_val_dup(nest(deep, AEMP_MAX_DEPTH));
	CHECK(d != NULL);
	CHECK_EQ(aemp_val_eq(d, deep), 1);
	aemp_val_free(d);
	CHECK(aemp_val_dup(nest(deep, AEMP_MAX_DEPTH + 1)) == NULL);
	src = aemp_int(5);
	src.type = 99;
	CHECK(aemp_val_dup(&src) == NULL);
	src = AEMP_TAGGED(1, aemp_null());
	src.len = 1; /* a tag has two children */
	CHECK(aemp_val_dup(&src) == NULL);
	CHECK(aemp_val_dup(NULL) == NULL);
}

/* Copies keep new kinds and every flag. */
static void
test_dup_kinds(void)
{
	aemp_val undef = aemp_null(), half = aemp_float(1.5), *d;
	aemp_val src;

	undef.flags = AEMP_VF_UNDEF;
	half.flags = AEMP_VF_F16;
	src = AEMP_ARR(aemp_uint(UINT64_MAX), aemp_negint(UINT64_MAX),
	               AEMP_TAGGED(22098, AEMP_TAGGED(7, aemp_str("in"))),
	               undef, half);
	d = aemp_val_dup(&src);
	CHECK(d != NULL && aemp_val_eq(d, &src));
	CHECK(d != NULL && d->u.a[0].type == AEMP_UINT &&
	      d->u.a[0].u.u == UINT64_MAX);
	CHECK(d != NULL && d->u.a[1].flags == AEMP_VF_NEG);
	CHECK(d != NULL && aemp_tag_num(&d->u.a[2]) == 22098);
	CHECK(d != NULL && aemp_str_eq(aemp_untag(&d->u.a[2]), "in"));
	CHECK(d != NULL && aemp_untag(&d->u.a[2])->u.s != (const char *)"in");
	CHECK(d != NULL && d->u.a[3].flags == AEMP_VF_UNDEF);
	CHECK(d != NULL && d->u.a[4].flags == AEMP_VF_F16);
	aemp_val_free(d);
}

static void
test_msg_dup(void)
{
	aemp_val *d;

	d = aemp_msg_dup(AEMP_MSG(aemp_str("ping"), aemp_int(7)));
	CHECK(d != NULL && d->type == AEMP_ARRAY && d->len == 2);
	CHECK(aemp_str_eq(aemp_at(d, 0), "ping"));
	CHECK_EQ(aemp_at(d, 1)->u.i, 7);
	aemp_val_free(d);
	d = aemp_msg_dup(NULL, 0);
	CHECK(d != NULL && d->type == AEMP_ARRAY && d->len == 0);
	aemp_val_free(d);
}

int
main(void)
{
	test_get_int();
	test_get_uint();
	test_get_float();
	test_truthy();
	test_map_get();
	test_eq();
	test_eq_big();
	test_eq_tagged_keys();
	test_dup();
	test_dup_kinds();
	test_msg_dup();
	return tap_done();
}
