/*
 * tests/fuzz/fuzz_codec.h - the harness shared by fuzz_json_stream.c and
 * fuzz_cbor_stream.c.
 *
 * Input layout: byte 0 picks max_packet, byte 1 seeds the piece sizes,
 * the rest is the byte stream.  The stream is fed twice: in one piece and
 * in pieces of sizes drawn from the seed (1 to 64 bytes), each piece a
 * padded copy with hostile padding.  Checked for every run:
 *  - both feeds deliver the same packets, and fail or succeed alike;
 *  - every packet re-encodes in the same framing and decodes back to an
 *    identical tree (tests/codec_check.h: kinds, flags, bits), and a CBOR
 *    packet in canonical form re-encodes to its very bytes;
 *  - the whole stream decoded as one value (cod_decode_value) does the
 *    same: identical after a round trip, the same bytes if canonical.
 * Any difference aborts, which libFuzzer reports as a crash.
 *
 * Threads: libFuzzer's single thread; tapes are static and reused.
 */
#ifndef TESTS_FUZZ_FUZZ_CODEC_H
#define TESTS_FUZZ_FUZZ_CODEC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "tests/codec_check.h"

#define FZ_MAXPKT 4096

struct fz_out {
	enum cod_framing f;
	aemp_val *v[FZ_MAXPKT];
	size_t n;
};

static struct cod_tape fz_tape, fz_tape2;
static int fz_ready;

static uint8_t *
fz_pad(const uint8_t *p, size_t n)
{
	uint8_t *b = malloc(n + COD_PADDING);

	if (b == NULL)
		abort();
	if (p != NULL && n > 0)
		memcpy(b, p, n);
	else if (n > 0)
		memset(b, 0, n);
	memset(b + n, '"', COD_PADDING); /* never part of the data */
	b[n + 1] = ']';
	b[n + 2] = 0xff;
	return b;
}

/* v, decoded from raw/rawlen, encodes in f and decodes back to an
 * identical tree; in CBOR a canonical input comes back byte for byte.
 * Aborts if not. */
static void
fz_roundtrip(enum cod_framing f, const aemp_val *v, int packet,
             const uint8_t *raw, size_t rawlen)
{
	ssize_t n = cod_encode_value(f, NULL, 0, v);
	const aemp_val *w;
	uint8_t *b;
	int rc;

	if (n < 0) {
		fprintf(stderr, "encode failed: %zd\n", n);
		abort();
	}
	b = fz_pad(NULL, (size_t)n);
	if (cod_encode_value(f, b, (size_t)n, v) != n)
		abort();
	if (f == COD_CBOR && cc_cbor_canonical(raw, rawlen, packet) &&
	    ((size_t)n != rawlen || memcmp(b, raw, rawlen) != 0)) {
		fprintf(stderr,
		        "canonical CBOR of %zu bytes came back as %zd "
		        "other bytes\n",
		        rawlen, n);
		abort();
	}
	rc = packet ? cod_decode(f, &fz_tape2, b, (size_t)n, &w)
	            : cod_decode_value(f, &fz_tape2, b, (size_t)n, &w);
	if (rc != 0 || !cc_identical(v, w) || !aemp_val_eq(v, w)) {
		fprintf(stderr, "round trip: rc %d, %zd bytes: %.*s\n", rc, n,
		        (int)(n > 200 ? 200 : n), (const char *)b);
		abort();
	}
	free(b);
}

static int
fz_collect(void *arg, const aemp_val *pkt, const uint8_t *raw, size_t rawlen)
{
	struct fz_out *o = arg;

	if (pkt->type != AEMP_ARRAY)
		abort();
	fz_roundtrip(o->f, pkt, 1, raw, rawlen);
	if (o->n == FZ_MAXPKT)
		return 1;
	if ((o->v[o->n++] = aemp_val_dup(pkt)) == NULL)
		abort();
	return 0;
}

static int
fz_feed(enum cod_framing f, size_t max, const uint8_t *p, size_t n,
        unsigned seed, struct fz_out *o)
{
	struct cod_stream s;
	size_t at = 0, k;
	uint8_t *piece;
	int rc = 0;

	cod_stream_init(&s, f, max);
	while (at < n && rc == 0) {
		if (seed == 0) {
			k = n;
		} else {
			seed = seed * 1103515245u + 12345u;
			k = 1 + (seed >> 16) % 64;
		}
		k = k < n - at ? k : n - at;
		piece = fz_pad(p + at, k);
		rc = cod_stream_feed(&s, &fz_tape, piece, k, fz_collect, o);
		free(piece);
		at += k;
		if (cod_stream_pending(&s) > max)
			abort();
	}
	cod_stream_fini(&s);
	return rc;
}

static void
fz_free(struct fz_out *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		aemp_val_free(o->v[i]);
	o->n = 0;
}

static int
fz_run(enum cod_framing f, const uint8_t *data, size_t size)
{
	static const size_t maxes[] = {16, 64, 300, 4096, 1 << 20};
	static struct fz_out a, b;
	const aemp_val *v;
	uint8_t *whole;
	size_t i, max;
	int ra, rb;

	if (!fz_ready) {
		cod_tape_init(&fz_tape);
		cod_tape_init(&fz_tape2);
		fz_ready = 1;
	}
	if (size < 2)
		return 0;
	max = maxes[data[0] % (sizeof(maxes) / sizeof(maxes[0]))];
	a.f = b.f = f;
	ra = fz_feed(f, max, data + 2, size - 2, 0, &a);
	rb = fz_feed(f, max, data + 2, size - 2, data[1] | 1u, &b);
	if ((ra == 0) != (rb == 0) || a.n != b.n) {
		fprintf(stderr,
		        "whole: rc %d, %zu packets; pieces: rc %d, "
		        "%zu packets\n",
		        ra, a.n, rb, b.n);
		abort();
	}
	for (i = 0; i < a.n; i++) {
		if (!cc_identical(a.v[i], b.v[i]))
			abort();
	}
	fz_free(&a);
	fz_free(&b);
	whole = fz_pad(data + 2, size - 2);
	if (cod_decode_value(f, &fz_tape, whole, size - 2, &v) == 0)
		fz_roundtrip(f, v, 0, whole, size - 2);
	free(whole);
	return 0;
}

#endif /* TESTS_FUZZ_FUZZ_CODEC_H */
