/*
 * tests/unit/codec_fidelity.c - the round-trip property of the codecs on
 * a corpus of values as Perl nodes write them (tests/codec_corpus.h):
 *
 *  - CBOR decode then encode gives back the very bytes of every canonical
 *    input, as a value and inside a packet fed to a stream cut at every
 *    byte; decode, encode, decode gives an identical tree
 *    (tests/codec_check.h) for non-canonical inputs too;
 *  - the JSON text aemp writes for each value, and JSON decode, encode,
 *    decode gives an identical tree, JSON encode a fixed point;
 *  - every half-precision pattern and a sweep of single-precision ones
 *    come back bit for bit; large arrays and maps; nesting (arrays and
 *    tags) at the depth limit and one beyond it.
 */
#include <math.h>

#include "codec/codec.h"
#include "ring/base.h"
#include "tests/codec_check.h"
#include "tests/codec_corpus.h"
#include "tests/tap.h"
#include "tests/unit/codec_util.h"

static struct cod_tape tape, tape2;

/* bytes -> value -> bytes: the same bytes, and the value survives a
 * second trip identical.  Returns 1 if all holds. */
static int
cbor_same(const uint8_t *in, size_t n, const char *name)
{
	const aemp_val *v, *w;
	uint8_t *out = NULL;
	ssize_t m = -1;
	int ok;

	ok = cod_decode_value(COD_CBOR, &tape, in, n, &v) == 0;
	if (ok)
		out = cu_encode(COD_CBOR, v, &m);
	ok = ok && out != NULL && (size_t)m == n && memcmp(out, in, n) == 0;
	if (!ok && out != NULL)
		tap_hexdiff(out, (size_t)m, in, n);
	ok = ok &&
	     cod_decode_value(COD_CBOR, &tape2, out, (size_t)m, &w) == 0 &&
	     cc_identical(v, w);
	if (!ok)
		DIAG("%s: not the same after a round trip", name);
	free(out);
	return ok;
}

struct pkts {
	size_t n;
	uint8_t *bytes; /* re-encoded last packet */
	ssize_t len;
};

static int
on_pkt(void *arg, const aemp_val *pkt, const uint8_t *raw, size_t rawlen)
{
	struct pkts *p = arg;

	(void)raw;
	(void)rawlen;
	p->n++;
	free(p->bytes);
	p->bytes = cu_encode(COD_CBOR, pkt, &p->len);
	return 0;
}

/* [ "port", item ] through a stream, whole and cut at every byte (small
 * items) or at 7 places (large ones): one packet, the same bytes. */
static int
packet_same(const uint8_t *item, size_t n)
{
	size_t plen = n + 6, cut, step = plen < 300 ? 1 : plen / 7;
	uint8_t *pkt = cu_pad(NULL, plen), *a, *b;
	struct cod_stream s;
	struct pkts got;
	int ok = 1;

	memcpy(pkt, "\x82\x64port", 6);
	memcpy(pkt + 6, item, n);
	for (cut = 0; cut <= plen && ok; cut += step) {
		memset(&got, 0, sizeof(got));
		a = cu_pad(pkt, cut);
		b = cu_pad(pkt + cut, plen - cut);
		cod_stream_init(&s, COD_CBOR, 1 << 24);
		ok = cod_stream_feed(&s, &tape, a, cut, on_pkt, &got) == 0 &&
		     cod_stream_feed(&s, &tape, b, plen - cut, on_pkt, &got) ==
		             0 &&
		     got.n == 1 && (size_t)got.len == plen &&
		     memcmp(got.bytes, pkt, plen) == 0;
		if (!ok)
			DIAG("packet cut at %zu of %zu", cut, plen);
		cod_stream_fini(&s);
		free(got.bytes);
		free(a);
		free(b);
	}
	free(pkt);
	return ok;
}

/* JSON: the text aemp writes (want, unless NULL); that text decodes,
 * encodes to itself, and decodes to an identical tree. */
static int
json_stable(const aemp_val *v, const char *want, const char *name)
{
	ssize_t n, n2;
	uint8_t *t = cu_encode(COD_JSON, v, &n), *t2 = NULL;
	const aemp_val *a, *b;
	int ok = t != NULL;

	if (ok && want != NULL &&
	    ((size_t)n != strlen(want) || memcmp(t, want, (size_t)n) != 0)) {
		DIAG("%s: JSON %.*s, expected %s", name, (int)n, t, want);
		ok = 0;
	}
	ok = ok && cod_decode_value(COD_JSON, &tape, t, (size_t)n, &a) == 0 &&
	     (t2 = cu_encode(COD_JSON, a, &n2)) != NULL && n2 == n &&
	     memcmp(t, t2, (size_t)n) == 0 &&
	     cod_decode_value(COD_JSON, &tape2, t2, (size_t)n2, &b) == 0 &&
	     cc_identical(a, b);
	if (!ok)
		DIAG("%s: JSON not stable", name);
	free(t);
	free(t2);
	return ok;
}

static void
test_corpus(void)
{
	const aemp_val *v;
	size_t i, n;
	uint8_t *b;

	for (i = 0; i < CC_NCORPUS; i++) {
		const struct cc_case *c = &cc_corpus[i];

		b = cc_unhex(c->cbor, &n);
		if (!cc_cbor_canonical(b, n, 0))
			DIAG("%s: corpus case not canonical", c->name);
		CHECK(cc_cbor_canonical(b, n, 0));
		CHECK(cbor_same(b, n, c->name));
		CHECK(packet_same(b, n));
		CHECK_OK(cod_decode_value(COD_CBOR, &tape2, b, n, &v));
		CHECK(json_stable(v, c->json, c->name));
		free(b);
	}
}

/* Non-canonical CBOR: written back in canonical form, value unchanged. */
static void
test_noncanonical(void)
{
	static const struct {
		const char *in, *out;
	} t[] = {
	        {"1b0000000000000005", "05"},
	        {"3900ff", "38ff"},
	        {"d80101", "c101"},
	        {"9f01ff", "8101"},
	        {"bf6161f5ff", "a16161f5"},
	        {"7f6161626263ff", "63616263"},
	        {"5f4101ff", "4101"},
	        {"a10102", "a1613102"}, /* integer key: text */
	        {"a13bffffffffffffffff02",
	         "a1752d3138343436373434303733373039353531363136"
	         "02"},
	        {"5a0000000141", "4141"},
	        {"c19f01ff", "c18101"},
	};
	const aemp_val *v, *w;
	uint8_t *in, *want, *out;
	size_t i, n, wn;
	ssize_t m;

	for (i = 0; i < AEMP_ARRAY_LEN(t); i++) {
		in = cu_unhex(t[i].in, &n);
		want = cu_unhex(t[i].out, &wn);
		CHECK(!cc_cbor_canonical(in, n, 0));
		CHECK(cc_cbor_canonical(want, wn, 0));
		CHECK_OK(cod_decode_value(COD_CBOR, &tape, in, n, &v));
		out = cu_encode(COD_CBOR, v, &m);
		CHECK_MEMEQ(out, (size_t)m, want, wn);
		CHECK_OK(
		        cod_decode_value(COD_CBOR, &tape2, out, (size_t)m, &w));
		CHECK(cc_identical(v, w));
		free(in);
		free(want);
		free(out);
	}
	/* a packet: a tag in front of it is skipped */
	in = cu_unhex("d9d9f7826060", &n);
	CHECK(!cc_cbor_canonical(in, n, 1));
	CHECK_OK(cod_decode(COD_CBOR, &tape, in, n, &v));
	out = cu_encode(COD_CBOR, v, &m);
	CHECK_MEMEQ(out, (size_t)m, "\x82\x60\x60", 3);
	free(in);
	free(out);
}

/* Every half, and singles across the whole range: the same bits back. */
static void
test_float_bits(void)
{
	uint8_t b[5 + COD_PADDING] = {0}, *out = NULL;
	const aemp_val *v;
	uint64_t x;
	ssize_t m;
	int ok = 1;

	for (x = 0; x < 65536 && ok; x++) {
		b[0] = 0xf9;
		b[1] = (uint8_t)(x >> 8);
		b[2] = (uint8_t)x;
		ok = cod_decode_value(COD_CBOR, &tape, b, 3, &v) == 0 &&
		     (out = cu_encode(COD_CBOR, v, &m)) != NULL && m == 3 &&
		     memcmp(out, b, 3) == 0;
		if (!ok)
			DIAG("half %04llx", (unsigned long long)x);
		free(out);
		out = NULL;
	}
	CHECK(ok);
	for (x = 0; x < ((uint64_t)1 << 32) && ok; x += 4099) {
		b[0] = 0xfa;
		b[1] = (uint8_t)(x >> 24);
		b[2] = (uint8_t)(x >> 16);
		b[3] = (uint8_t)(x >> 8);
		b[4] = (uint8_t)x;
		ok = cod_decode_value(COD_CBOR, &tape, b, 5, &v) == 0 &&
		     (out = cu_encode(COD_CBOR, v, &m)) != NULL && m == 5 &&
		     memcmp(out, b, 5) == 0;
		if (!ok)
			DIAG("single %08llx", (unsigned long long)x);
		free(out);
		out = NULL;
	}
	CHECK(ok);
}

/* Floats built in C keep today's bytes; a width asked for is used when
 * the value fits it exactly, else the usual choice. */
static void
test_float_widths(void)
{
	aemp_val v = aemp_float(1.5);
	uint8_t *out;
	ssize_t m;

	out = cu_encode(COD_CBOR, &v, &m);
	CHECK_MEMEQ(out, (size_t)m, "\xfa\x3f\xc0\x00\x00", 5);
	free(out);
	v.flags = AEMP_VF_F16;
	out = cu_encode(COD_CBOR, &v, &m);
	CHECK_MEMEQ(out, (size_t)m, "\xf9\x3e\x00", 3);
	free(out);
	v.flags = AEMP_VF_F64;
	out = cu_encode(COD_CBOR, &v, &m);
	CHECK_MEMEQ(out, (size_t)m, "\xfb\x3f\xf8\0\0\0\0\0\0", 9);
	free(out);
	v = aemp_float(0.1); /* no half, no single: double */
	v.flags = AEMP_VF_F16;
	out = cu_encode(COD_CBOR, &v, &m);
	CHECK_EQ(m, 9);
	free(out);
	v = aemp_float(100000.0); /* beyond half: single */
	v.flags = AEMP_VF_F16;
	out = cu_encode(COD_CBOR, &v, &m);
	CHECK_MEMEQ(out, (size_t)m, "\xfa\x47\xc3\x50\x00", 5);
	free(out);
	v = aemp_float(NAN); /* unflagged NaN: double, as before */
	out = cu_encode(COD_CBOR, &v, &m);
	CHECK_EQ(m, 9);
	free(out);
}

/* Large arrays and maps: the same bytes back, as values and packets. */
static void
test_large(void)
{
	uint8_t *b;
	size_t n;

	b = cc_gen_array(100000, &n);
	CHECK(cc_cbor_canonical(b, n, 0));
	CHECK(cbor_same(b, n, "array of 100000"));
	CHECK(packet_same(b, n));
	free(b);
	b = cc_gen_map(20000, &n);
	CHECK(cc_cbor_canonical(b, n, 0));
	CHECK(cbor_same(b, n, "map of 20000"));
	CHECK(packet_same(b, n));
	free(b);
	b = cu_pad(NULL, 70005);
	memcpy(b, "\x5a\x00\x01\x11\x70", 5); /* 70000 bytes, NULs */
	memset(b + 5, 0, 70000);
	CHECK(cbor_same(b, 70005, "70000 NUL bytes"));
	free(b);
}

/* Nesting: 512 levels of arrays, or of arrays and tags, round trip as a
 * value and, one level less inside the packet array, as a packet; one
 * level more is refused by decoder, scanner and encoders. */
static void
test_depth(void)
{
	const aemp_val *v;
	uint8_t *b, *out;
	size_t n;
	ssize_t m;
	int tags;

	for (tags = 0; tags <= 1; tags++) {
		b = cc_gen_deep(AEMP_MAX_DEPTH, tags, &n);
		CHECK(cbor_same(b, n, tags ? "512 with tags" : "512"));
		CHECK_OK(cod_decode_value(COD_CBOR, &tape, b, n, &v));
		CHECK(json_stable(v, NULL, "512 deep"));
		free(b);
		b = cc_gen_deep(AEMP_MAX_DEPTH - 1, tags, &n);
		CHECK(packet_same(b, n)); /* packet: 1 + 511 levels */
		free(b);
		b = cc_gen_deep(AEMP_MAX_DEPTH + 1, tags, &n);
		CHECK_ERR(cod_decode_value(COD_CBOR, &tape, b, n, &v),
		          AEMP_EDEPTH);
		free(b);
	}
	/* a tag in front of 511 arrays is level 512 as a value, one array
	 * more is 513; in a packet (level 1) a tag and 510 arrays fit */
	b = cc_gen_deep(AEMP_MAX_DEPTH - 1, 0, &n);
	out = cu_pad(NULL, n + 2);
	out[0] = 0x81;
	out[1] = 0xc1;
	memcpy(out + 2, b, n);
	CHECK(cbor_same(out + 1, n + 1, "tag + 511"));
	CHECK_ERR(cod_decode_value(COD_CBOR, &tape, out, n + 2, &v),
	          AEMP_EDEPTH);
	CHECK(!packet_same(out + 1, n + 1));
	CHECK(packet_same(out + 2, n)); /* 1 + 511 arrays */
	free(b);
	free(out);
	b = cc_gen_deep(AEMP_MAX_DEPTH - 2, 0, &n);
	out = cu_pad(NULL, n + 1);
	out[0] = 0xc1;
	memcpy(out + 1, b, n);
	CHECK(packet_same(out, n + 1)); /* 1 + tag + 510 arrays */
	free(b);
	free(out);
	/* the encoders refuse a tag that makes level 513 */
	{
		static aemp_val arr[AEMP_MAX_DEPTH + 2], pair[2];

		arr[AEMP_MAX_DEPTH + 1] = aemp_int(1);
		for (n = AEMP_MAX_DEPTH + 1; n-- > 1;)
			arr[n] = aemp_array(&arr[n + 1], 1);
		arr[0] = aemp_tag(pair, 1, arr[1]); /* tag + 512 arrays */
		CHECK_ERR(cod_encode_value(COD_CBOR, NULL, 0, &arr[0]),
		          AEMP_EDEPTH);
		CHECK_ERR(cod_encode_value(COD_JSON, NULL, 0, &arr[0]),
		          AEMP_EDEPTH);
		arr[1] = aemp_tag(pair, 1, arr[2]); /* tag + 511 arrays */
		m = cod_encode_value(COD_CBOR, NULL, 0, &arr[1]);
		CHECK_EQ(m, AEMP_MAX_DEPTH + 1);
	}
}

/* JSON inputs as JSON::XS writes them: decode, encode gives the text
 * back; decode, encode, decode an identical tree. */
static void
test_json_corpus(void)
{
	static const char *const texts[] = {
	        "[18446744073709551615,-18446744073709551616,"
	        "9223372036854775808,-9223372036854775809,0,-1]",
	        "[1.5,-0.0,1e+300,0.1,5e-324,1.7976931348623157e+308]",
	        "{\"a\\u0000b\":\"x\\u0000y\",\"\":{}}",
	        "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",true,false,null]",
	        "[[],{},[[]],{\"k\":[{\"k\":[]}]}]",
	};
	const aemp_val *v, *w;
	uint8_t *in, *out;
	size_t i, n;
	ssize_t m;

	for (i = 0; i < AEMP_ARRAY_LEN(texts); i++) {
		n = strlen(texts[i]);
		in = cu_pad(texts[i], n);
		CHECK_OK(cod_decode_value(COD_JSON, &tape, in, n, &v));
		out = cu_encode(COD_JSON, v, &m);
		CHECK_MEMEQ(out, (size_t)m, texts[i], n);
		CHECK_OK(
		        cod_decode_value(COD_JSON, &tape2, out, (size_t)m, &w));
		CHECK(cc_identical(v, w));
		/* and through CBOR: the same value */
		free(out);
		out = cu_encode(COD_CBOR, v, &m);
		CHECK_OK(
		        cod_decode_value(COD_CBOR, &tape2, out, (size_t)m, &w));
		CHECK(aemp_val_eq(v, w));
		free(out);
		free(in);
	}
}

int
main(void)
{
	cod_tape_init(&tape);
	cod_tape_init(&tape2);
	test_corpus();
	test_noncanonical();
	test_float_bits();
	test_float_widths();
	test_large();
	test_depth();
	test_json_corpus();
	cod_tape_fini(&tape);
	cod_tape_fini(&tape2);
	return tap_done();
}
