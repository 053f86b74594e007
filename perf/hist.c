/*
 * perf/hist.c - latency histogram: log-linear buckets (32 per power of
 * two, exact below 32 ns), so every percentile is within about 3% of the
 * true value at any scale, with a fixed 15 KiB of counters and no
 * allocation per sample.  The maximum is kept exactly.
 *
 * Threads: one writer (the pinger's shard); read by the main thread after
 * the writer is done.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "perf/perf.h"

#define SUB_BITS 5
#define SUB (1 << SUB_BITS)
#define NBUCKETS ((64 - SUB_BITS + 1) * SUB)

struct perf_hist {
	uint64_t n;
	int64_t max;
	uint64_t counts[NBUCKETS];
};

struct perf_hist *
perf_hist_new(void)
{
	return calloc(1, sizeof(struct perf_hist));
}

void
perf_hist_free(struct perf_hist *h)
{
	free(h);
}

static int
bucket_of(uint64_t v)
{
	int e;

	if (v < SUB)
		return (int)v;
	e = 63 - __builtin_clzll(v);
	return (e - SUB_BITS + 1) * SUB +
	       (int)((v >> (e - SUB_BITS)) & (SUB - 1));
}

/* Middle of bucket i. */
static int64_t
bucket_mid(int i)
{
	int e, mant;
	uint64_t low, width;

	if (i < SUB)
		return i;
	e = i / SUB + SUB_BITS - 1;
	mant = i % SUB;
	width = (uint64_t)1 << (e - SUB_BITS);
	low = (uint64_t)(SUB + mant) << (e - SUB_BITS);
	return (int64_t)(low + width / 2);
}

void
perf_hist_add(struct perf_hist *h, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	h->counts[bucket_of((uint64_t)ns)]++;
	h->n++;
	if (ns > h->max)
		h->max = ns;
}

void
perf_hist_merge(struct perf_hist *into, const struct perf_hist *h)
{
	int i;

	for (i = 0; i < NBUCKETS; i++)
		into->counts[i] += h->counts[i];
	into->n += h->n;
	if (h->max > into->max)
		into->max = h->max;
}

uint64_t
perf_hist_count(const struct perf_hist *h)
{
	return h->n;
}

int64_t
perf_hist_quantile(const struct perf_hist *h, double q)
{
	uint64_t rank, seen = 0;
	int64_t v;
	int i;

	if (h->n == 0)
		return 0;
	if (q >= 1.0)
		return h->max;
	rank = (uint64_t)(q * (double)h->n);
	if (rank >= h->n)
		rank = h->n - 1;
	for (i = 0; i < NBUCKETS; i++) {
		seen += h->counts[i];
		if (seen > rank)
			break;
	}
	v = bucket_mid(i < NBUCKETS ? i : NBUCKETS - 1);
	return v < h->max ? v : h->max;
}

void
perf_hist_fill(const struct perf_hist *h, struct perf_result *r)
{
	static const double qs[5] = {0.5, 0.9, 0.99, 0.999, 1.0};
	int i;

	r->has_rtt = h->n > 0;
	for (i = 0; i < 5; i++)
		r->rtt_us[i] = (double)perf_hist_quantile(h, qs[i]) / 1e3;
}

/* perf_hist_text - "max:NS" (from bucket 0 only), then "BUCKET:COUNT" for
 * every non-empty bucket from *bucket on, space-separated, as many as fit
 * into cap; *bucket advances past what was written (NBUCKETS: all). */
int
perf_hist_text(const struct perf_hist *h, int *bucket, char *buf, size_t cap)
{
	size_t len = 0;
	int i = *bucket, n;

	buf[0] = '\0';
	if (i == 0)
		len = (size_t)snprintf(buf, cap, "max:%" PRId64, h->max);
	for (; i < NBUCKETS && len < cap; i++) {
		if (h->counts[i] == 0)
			continue;
		n = snprintf(buf + len, cap - len, "%s%d:%" PRIu64,
		             len ? " " : "", i, h->counts[i]);
		if (n < 0 || (size_t)n >= cap - len) {
			buf[len] = '\0';
			break;
		}
		len += (size_t)n;
	}
	*bucket = i;
	return (int)len;
}

/* perf_hist_add_text - add the items of perf_hist_text's text to h.
 * Returns 0 or -EINVAL (h may then hold part of the text). */
int
perf_hist_add_text(struct perf_hist *h, const char *text)
{
	uint64_t count;
	int64_t max;
	int bucket, used;

	while (*text == ' ')
		text++;
	while (*text != '\0') {
		if (sscanf(text, "max:%" SCNd64 "%n", &max, &used) == 1) {
			if (max > h->max)
				h->max = max;
		} else if (sscanf(text, "%d:%" SCNu64 "%n", &bucket, &count,
		                  &used) == 2 &&
		           bucket >= 0 && bucket < NBUCKETS) {
			h->counts[bucket] += count;
			h->n += count;
		} else {
			return -EINVAL;
		}
		text += used;
		if (*text != ' ' && *text != '\0')
			return -EINVAL;
		while (*text == ' ')
			text++;
	}
	return 0;
}

int
perf_hist_done(int bucket)
{
	return bucket >= NBUCKETS;
}
