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
	CHECK(aemp_val_dup(NULL) == NULL);
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
	test_get_float();
	test_truthy();
	test_map_get();
	test_eq();
	test_dup();
	test_msg_dup();
	return tap_done();
}
