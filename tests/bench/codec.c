/*
 * tests/bench/codec.c - codec/ micro-benchmarks: decode and encode rates
 * of packet streams, both framings, next to memcpy of the same bytes
 * measured in the same run.
 *
 *   small:   ["tag",12345,"x"]            (JSON 17 bytes, CBOR 14 bytes)
 *   1k:      ["tag",12345,"<1 KiB text>"]
 *
 * Decode: cod_stream_feed over the stream in 64 KiB pieces (as a
 * connection would receive it), a callback that only counts.  Encode:
 * cod_encode_packet of the same packets, back to back into one buffer.
 *
 * Usage: codec [seconds-per-run]   (default 0.3; the fastest pass of 3
 *        runs is shown)
 * Single-threaded; pin it with taskset for stable figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/codec.h"

#define PIECE (64u << 10)
#define STREAM_BYTES (8u << 20)

static double case_s = 0.3;
static volatile size_t sink;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct stream {
	uint8_t *buf; /* packets back to back, COD_PADDING after */
	size_t len;
	size_t npkt;
	size_t pktlen;
};

static const aemp_val *
bench_msg(int big, size_t *n)
{
	static char payload[1024];
	static aemp_val m[2];

	memset(payload, 'p', sizeof(payload));
	m[0] = aemp_int(12345);
	m[1] = big ? aemp_strn(payload, sizeof(payload)) : aemp_str("x");
	*n = 2;
	return m;
}

static void
stream_make(struct stream *s, enum cod_framing f, int big)
{
	size_t n;
	const aemp_val *m = bench_msg(big, &n);
	struct cod_seg seg = {m, n};
	ssize_t r;

	s->buf = malloc(STREAM_BYTES + COD_PADDING);
	s->len = 0;
	s->npkt = 0;
	for (;;) {
		r = cod_encode_packet(f, s->buf + s->len, STREAM_BYTES - s->len,
		                      "tag", 3, &seg, 1);
		if (r < 0 || (size_t)r > STREAM_BYTES - s->len)
			break;
		s->len += (size_t)r;
		s->pktlen = (size_t)r;
		s->npkt++;
	}
	memset(s->buf + s->len, 0, COD_PADDING);
}

static int
count_pkt(void *arg, const aemp_val *pkt, const uint8_t *raw, size_t rawlen)
{
	size_t *n = arg;

	(void)raw;
	(void)rawlen;
	*n += pkt->len;
	return 0;
}

/* Seconds to decode the whole stream once (pieces of PIECE bytes). */
static double
run_decode(const struct stream *s, enum cod_framing f, struct cod_tape *t)
{
	struct cod_stream st;
	size_t off, n, count = 0;
	double t0 = now_s();

	cod_stream_init(&st, f, 1 << 20);
	for (off = 0; off < s->len; off += n) {
		n = s->len - off < PIECE ? s->len - off : PIECE;
		if (cod_stream_feed(&st, t, s->buf + off, n, count_pkt,
		                    &count) != 0)
			abort();
	}
	cod_stream_fini(&st);
	if (count != s->npkt * 3)
		abort();
	return now_s() - t0;
}

static double
run_encode(const struct stream *s, enum cod_framing f, uint8_t *out)
{
	size_t n, i, off = 0;
	const aemp_val *m = bench_msg(s->pktlen > 100, &n);
	struct cod_seg seg = {m, n};
	double t0 = now_s();
	ssize_t r;

	for (i = 0; i < s->npkt; i++) {
		r = cod_encode_packet(f, out + off, STREAM_BYTES - off, "tag",
		                      3, &seg, 1);
		if (r < 0)
			abort();
		off += (size_t)r;
	}
	sink += off;
	return now_s() - t0;
}

static double
run_memcpy(const struct stream *s, uint8_t *out)
{
	double t0 = now_s();

	memcpy(out, s->buf, s->len);
	sink += out[s->len / 2];
	return now_s() - t0;
}

/* Fastest stream pass of op within 3 runs of case_s each: the minimum
 * is the figure least disturbed by other work on a shared machine. */
static double
best(int op, const struct stream *s, enum cod_framing f, struct cod_tape *t,
     uint8_t *out)
{
	double bestv = 1e9, t0, dt;
	int run;

	for (run = 0; run < 3; run++) {
		t0 = now_s();
		do {
			if (op == 0)
				dt = run_decode(s, f, t);
			else if (op == 1)
				dt = run_encode(s, f, out);
			else
				dt = run_memcpy(s, out);
			if (dt < bestv)
				bestv = dt;
		} while (now_s() - t0 < case_s);
	}
	return bestv;
}

static void
report(const char *name, const struct stream *s, double sec, double mc)
{
	printf("  %-22s %8.2f M pkt/s %9.0f MB/s   (memcpy %6.0f MB/s, "
	       "%5.1f ns/pkt)\n",
	       name, (double)s->npkt / sec / 1e6, (double)s->len / sec / 1e6,
	       (double)s->len / mc / 1e6, sec / (double)s->npkt * 1e9);
}

int
main(int argc, char **argv)
{
	static const char *fname[] = {"", "json", "cbor"};
	uint8_t *out = malloc(STREAM_BYTES + COD_PADDING);
	struct cod_tape t;
	struct stream s;
	char name[64];
	double mc;
	int f, big;

	if (argc > 1)
		case_s = atof(argv[1]);
	cod_tape_init(&t);
	printf("codec: stream of %u MiB, fed in %u KiB pieces; fastest pass\n",
	       STREAM_BYTES >> 20, PIECE >> 10);
	for (big = 0; big < 2; big++) {
		for (f = COD_JSON; f <= COD_CBOR; f++) {
			stream_make(&s, (enum cod_framing)f, big);
			printf("%s %s packets (%zu bytes each):\n", fname[f],
			       big ? "1 KiB" : "small", s.pktlen);
			mc = best(2, &s, (enum cod_framing)f, &t, out);
			snprintf(name, sizeof(name), "decode");
			report(name, &s, best(0, &s, f, &t, out), mc);
			snprintf(name, sizeof(name), "encode");
			report(name, &s, best(1, &s, f, &t, out), mc);
			free(s.buf);
		}
	}
	cod_tape_fini(&t);
	free(out);
	return 0;
}
