/* tests/unit/codec_roundtrip.c - every value kind through both framings,
 * as values and as packets (cod_encode_packet, then a stream), including
 * the integer edges of CBOR heads, floats, empty and long strings, nested
 * arrays and maps, and the nesting limit (512 passes, 513 is refused on
 * both sides). */
#include <float.h>
#include <math.h>

#include "codec/codec.h"
#include "ring/base.h"
#include "tests/tap.h"
#include "tests/unit/codec_util.h"

static struct cod_tape tape;

static const int64_t ints[] = {
        0,
        1,
        23,
        24,
        255,
        256,
        65535,
        65536,
        4294967295LL,
        4294967296LL,
        INT64_MAX,
        -1,
        -24,
        -25,
        -256,
        -257,
        -65536,
        -65537,
        -4294967296LL,
        -4294967297LL,
        INT64_MIN,
};

static const double floats[] = {
        0.0,     -0.0,    2.5,     0.1,     -1.0 / 3,           1e300,
        -1e-300, DBL_MIN, DBL_MAX, FLT_MAX, 1795354120.7578254, 4294967296.5,
};

/* v -> framing f -> value equal to v (and, for CBOR, the same flags). */
static int
trip(enum cod_framing f, const aemp_val *v)
{
	const aemp_val *w;
	ssize_t n;
	uint8_t *b = cu_encode(f, v, &n);
	int ok;

	ok = b != NULL && cod_decode_value(f, &tape, b, (size_t)n, &w) == 0 &&
	     aemp_val_eq(v, w);
	if (!ok)
		DIAG("%s: %zd bytes, first %02x", cod_framing_name(f), n,
		     b != NULL && n > 0 ? b[0] : 0);
	free(b);
	return ok;
}

static void
test_scalars(enum cod_framing f)
{
	static char long_str[100000];
	aemp_val v;
	size_t i;
	int ok = 1;

	for (i = 0; i < AEMP_ARRAY_LEN(ints); i++) {
		v = aemp_int(ints[i]);
		ok &= trip(f, &v);
	}
	CHECK(ok);
	for (i = 0, ok = 1; i < AEMP_ARRAY_LEN(floats); i++) {
		v = aemp_float(floats[i]);
		ok &= trip(f, &v);
	}
	CHECK(ok);
	v = aemp_null();
	CHECK(trip(f, &v));
	v = aemp_bool(1);
	CHECK(trip(f, &v));
	v = aemp_bool(0);
	CHECK(trip(f, &v));
	v = aemp_str("");
	CHECK(trip(f, &v));
	v = aemp_str("\xe2\x82\xac uro \"quoted\" \\ \n\t\x01");
	CHECK(trip(f, &v));
	memset(long_str, 'L', sizeof(long_str));
	v = aemp_strn(long_str, sizeof(long_str));
	CHECK(trip(f, &v));
	if (f == COD_CBOR) { /* binary survives CBOR only (§3.3) */
		v = aemp_bytes("\0\xff\x80\xc3", 4);
		CHECK(trip(f, &v));
	}
}

static void
test_nested(enum cod_framing f)
{
	aemp_val inner[] = {aemp_str("k1"), AEMP_ARR(aemp_int(1), aemp_null()),
	                    aemp_str(""), aemp_map(NULL, 0)};
	aemp_val mid[] = {
	        aemp_str("m"), aemp_map(inner, 2), aemp_str("a"),
	        AEMP_ARR(aemp_array(NULL, 0), aemp_str("x"), aemp_float(-2.5))};
	aemp_val v = AEMP_ARR(aemp_map(mid, 2), aemp_array(NULL, 0),
	                      AEMP_ARR(AEMP_ARR(AEMP_ARR(aemp_int(-7)))));

	CHECK(trip(f, &v));
}

/* 512 nested arrays round trip; 513 are refused by the encoder and, when
 * forced onto the wire, by the decoder. */
static void
test_depth(enum cod_framing f)
{
	static aemp_val arr[AEMP_MAX_DEPTH + 2];
	uint8_t *b, *bad;
	const aemp_val *w;
	ssize_t n;
	size_t i;

	arr[AEMP_MAX_DEPTH + 1] = aemp_int(1);
	for (i = AEMP_MAX_DEPTH + 1; i-- > 0;)
		arr[i] = aemp_array(&arr[i + 1], 1);
	CHECK(trip(f, &arr[1])); /* 512 levels */
	CHECK_ERR(cod_encode_value(f, NULL, 0, &arr[0]), AEMP_EDEPTH);
	b = cu_encode(f, &arr[1], &n);
	bad = cu_pad(NULL, (size_t)n + 2); /* wrap it once more by hand */
	if (f == COD_JSON) {
		bad[0] = '[';
		memcpy(bad + 1, b, (size_t)n);
		bad[n + 1] = ']';
		n += 2;
	} else {
		bad[0] = 0x81;
		memcpy(bad + 1, b, (size_t)n);
		n += 1;
	}
	CHECK_ERR(cod_decode_value(f, &tape, bad, (size_t)n, &w), AEMP_EDEPTH);
	CHECK_ERR(cod_decode(f, &tape, bad, (size_t)n, &w), AEMP_EDEPTH);
	free(b);
	free(bad);
}

static int
collect(void *arg, const aemp_val *pkt, const uint8_t *raw, size_t rawlen)
{
	aemp_val **out = arg;

	(void)raw;
	(void)rawlen;
	*out = aemp_val_dup(pkt);
	return 0;
}

/* cod_encode_packet output is one packet of a stream: [dst, segs...]. */
static void
test_packet(enum cod_framing f)
{
	aemp_val m1[] = {aemp_str("tag"), aemp_int(65536), aemp_float(0.5)};
	aemp_val m2[] = {aemp_str("node#reply")};
	struct cod_seg segs[] = {{m1, 3}, {m2, 1}};
	aemp_val want =
	        AEMP_ARR(aemp_str("port"), aemp_str("tag"), aemp_int(65536),
	                 aemp_float(0.5), aemp_str("node#reply"));
	struct cod_stream s;
	aemp_val *got = NULL;
	ssize_t n;
	uint8_t *b;

	n = cod_encode_packet(f, NULL, 0, "port", 4, segs, 2);
	CHECK(n > 0);
	b = cu_pad(NULL, (size_t)n);
	CHECK_EQ(cod_encode_packet(f, b, (size_t)n, "port", 4, segs, 2), n);
	cod_stream_init(&s, f, 1024);
	CHECK_OK(cod_stream_feed(&s, &tape, b, (size_t)n, collect, &got));
	CHECK(got != NULL && aemp_val_eq(got, &want));
	cod_stream_fini(&s);
	aemp_val_free(got);
	free(b);
}

int
main(void)
{
	enum cod_framing f;

	cod_tape_init(&tape);
	for (f = COD_JSON; f <= COD_CBOR; f++) {
		test_scalars(f);
		test_nested(f);
		test_depth(f);
		test_packet(f);
	}
	cod_tape_fini(&tape);
	return tap_done();
}
