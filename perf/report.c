/*
 * perf/report.c - output: a table for people (header before the first
 * row), one JSON object per line with --json, the live progress line on
 * a terminal, and the one-line error messages.
 *
 * Figures: msgs/s counts messages (ping-pong: round trips) per second of
 * the measured window; MB/s counts payload bytes (ping-pong: both ways);
 * CPU s/M is CPU seconds of every local process involved per million
 * messages (a round trip is two); "x raw" is the ratio to the raw TCP
 * baseline of the same run: msgs/s over raw msgs/s for throughput, median
 * over raw median for latency.  db: msgs are updates, and the latency
 * figures are one-way (aemp_db_set to the db_mon callback).
 *
 * Threads: main thread.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "perf/perf.h"

static int header_done;
static int cmp_header_done;
static int progress_shown;
static int err_fd = -1; /* a child's control socket */

void
perf_err_to_fd(int fd)
{
	err_fd = fd;
}

void
perf_result_init(struct perf_result *r, const char *scenario, size_t size,
                 const char *framing)
{
	memset(r, 0, sizeof(*r));
	r->scenario = scenario;
	r->size = size;
	r->framing = framing;
	r->ratio = -1;
	r->ratio_block = -1;
	r->ratio_zmq = -1;
}

int
perf_err(int rc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err_fd >= 0) {
		dprintf(err_fd, "fail %s\n", msg);
		return rc;
	}
	if (progress_shown) {
		fputs("\r\033[K", stdout);
		fflush(stdout);
		progress_shown = 0;
	}
	fprintf(stderr, "aemp-perf: %s\n", msg);
	return rc;
}

void
perf_progress(const struct perf_opts *o, const char *line)
{
	if (o->json || o->quiet || !isatty(STDOUT_FILENO))
		return;
	if (o->count == 0 && o->seconds + o->warmup <= 2.0)
		return;
	if (line == NULL) {
		if (progress_shown)
			fputs("\r\033[K", stdout);
		progress_shown = 0;
	} else {
		printf("\r\033[K  %s", line);
		progress_shown = 1;
	}
	fflush(stdout);
}

static double
msg_rate(const struct perf_result *r)
{
	return r->secs > 0 ? (double)r->msgs / r->secs : 0;
}

static double
mb_rate(const struct perf_result *r)
{
	double ways = r->has_rtt && !r->oneway ? 2 : 1;

	return msg_rate(r) * (double)r->size * ways / 1e6;
}

double
perf_cpu_per_m(const struct perf_result *r)
{
	double msgs = (double)r->msgs * (r->has_rtt && !r->oneway ? 2 : 1);

	return msgs > 0 ? r->cpu_s / (msgs / 1e6) : 0;
}

static void
fmt_rate(char *buf, size_t cap, double v)
{
	if (v >= 1e6)
		snprintf(buf, cap, "%.3fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, cap, "%.1fk", v / 1e3);
	else
		snprintf(buf, cap, "%.0f", v);
}

static void
fmt_us(char *buf, size_t cap, const struct perf_result *r, int i)
{
	if (!r->has_rtt)
		snprintf(buf, cap, "-");
	else if (r->rtt_us[i] >= 1000)
		snprintf(buf, cap, "%.0f", r->rtt_us[i]);
	else
		snprintf(buf, cap, "%.1f", r->rtt_us[i]);
}

static void
fmt_count(char *buf, size_t cap, int64_t v)
{
	if (v < 0)
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%lld", (long long)v);
}

static void
fmt_ratio(char *buf, size_t cap, double v)
{
	if (v >= 0)
		snprintf(buf, cap, "%.3f", v);
	else
		snprintf(buf, cap, "-");
}

static void
table_row(const struct perf_opts *o, const struct perf_result *r)
{
	char rate[32], us[5][32], gaps[32], reord[32], ratio[32], blk[32];
	char zmq[32];
	int vw = o->busy_poll_us > 0 || o->foreign
	                 ? 20
	                 : 16; /* "1 sender tls foreign" */
	int i;

	if (!header_done) {
		printf("%-9s %-*s %7s %-4s %9s %8s %7s %7s %7s %7s %7s "
		       "%7s %5s %5s %6s%s %6s\n",
		       "scenario", vw, "variant", "size", "fmt", "msgs/s",
		       "MB/s", "p50us", "p90us", "p99us", "p999us", "maxus",
		       "CPUs/M", "gaps", "reord", "xraw",
		       o->busy_poll_us > 0 ? "   xblk" : "", "xzmq");
		header_done = 1;
	}
	fmt_rate(rate, sizeof(rate), msg_rate(r));
	for (i = 0; i < 5; i++)
		fmt_us(us[i], sizeof(us[i]), r, i);
	fmt_count(gaps, sizeof(gaps), r->gaps);
	fmt_count(reord, sizeof(reord), r->reorders);
	fmt_ratio(ratio, sizeof(ratio), r->ratio);
	fmt_ratio(blk + 1, sizeof(blk) - 1,
	          r->ratio_block > 0 ? r->ratio_block : -1);
	blk[0] = ' ';
	fmt_ratio(zmq, sizeof(zmq), r->ratio_zmq > 0 ? r->ratio_zmq : -1);
	/* CPU per million messages with three decimals below 1 s: that is
	 * ns per message, the figure small messages are judged by. */
	printf("%-9s %-*s %7zu %-4s %9s %8.1f %7s %7s %7s %7s %7s "
	       "%6.*f%s %5s %5s %6s%s %6s\n",
	       r->scenario, vw, r->variant, r->size, r->framing, rate,
	       mb_rate(r), us[0], us[1], us[2], us[3], us[4],
	       perf_cpu_per_m(r) < 1 ? 3 : 2, perf_cpu_per_m(r),
	       r->cpu_partial ? "*" : " ", gaps, reord, ratio,
	       o->busy_poll_us > 0 ? blk : "", zmq);
}

/* JSON number or null. */
static void
jnum(char *buf, size_t cap, int ok, double v)
{
	if (!ok || !isfinite(v))
		snprintf(buf, cap, "null");
	else
		snprintf(buf, cap, "%.6g", v);
}

static void
json_row(const struct perf_result *r)
{
	char us[5][32], ratio[32], blk[32], zmq[32], gaps[32], reord[32];
	char wire[32];
	char tr[200];
	aemp_val trv = aemp_str(r->transport);
	int i;

	/* the transport text comes from the engine's log: quote it */
	if (aemp_json_format(&trv, tr, sizeof(tr)) >= (int)sizeof(tr))
		snprintf(tr, sizeof(tr), "null");

	for (i = 0; i < 5; i++)
		jnum(us[i], sizeof(us[i]), r->has_rtt, r->rtt_us[i]);
	jnum(ratio, sizeof(ratio), r->ratio >= 0, r->ratio);
	/* > 0: results not made by perf_result_init have 0 here */
	jnum(blk, sizeof(blk), r->ratio_block > 0, r->ratio_block);
	jnum(zmq, sizeof(zmq), r->ratio_zmq > 0, r->ratio_zmq);
	jnum(gaps, sizeof(gaps), r->gaps >= 0, (double)r->gaps);
	jnum(reord, sizeof(reord), r->reorders >= 0, (double)r->reorders);
	jnum(wire, sizeof(wire), r->wire_bytes > 0 && r->msgs > 0,
	     (double)r->wire_bytes / (double)r->msgs);
	printf("{\"scenario\":\"%s\",\"variant\":\"%s\",\"size\":%zu,"
	       "\"framing\":\"%s\",\"msgs\":%llu,\"seconds\":%.6f,"
	       "\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,"
	       "\"rtt_p50_us\":%s,\"rtt_p90_us\":%s,\"rtt_p99_us\":%s,"
	       "\"rtt_p999_us\":%s,\"rtt_max_us\":%s,\"cpu_s\":%.4f,"
	       "\"cpu_s_per_m_msgs\":%.4f,\"cpu_remote_excluded\":%s,"
	       "\"gaps\":%s,\"reorders\":%s,\"ratio_to_raw\":%s,"
	       "\"ratio_to_raw_blocking\":%s,\"ratio_to_zmq\":%s,"
	       "\"tls\":%s,\"transport\":%s,"
	       "\"wire_bytes_per_msg\":%s}\n",
	       r->scenario, r->variant, r->size, r->framing,
	       (unsigned long long)r->msgs, r->secs, msg_rate(r), mb_rate(r),
	       us[0], us[1], us[2], us[3], us[4], r->cpu_s, perf_cpu_per_m(r),
	       r->cpu_partial ? "true" : "false", gaps, reord, ratio, blk, zmq,
	       r->tls ? "true" : "false", tr, wire);
}

void
perf_report(const struct perf_opts *o, const struct perf_result *r)
{
	perf_progress(o, NULL);
	if (o->json)
		json_row(r);
	else
		table_row(o, r);
	fflush(stdout);
	if (r->gaps > 0 || r->reorders > 0) {
		perf_err(0,
		         "delivery check failed: %s %s %zu bytes %s: %lld "
		         "gaps, %lld reorders",
		         r->scenario, r->variant, r->size, r->framing,
		         (long long)r->gaps, (long long)r->reorders);
		perf_set_status(PERF_EFAIL);
	}
}

static void
fmt_fig(char *buf, size_t cap, const struct perf_cmp *c, double v)
{
	if (strcmp(c->measure, "msgs/s") == 0)
		fmt_rate(buf, cap, v);
	else
		snprintf(buf, cap, "%.2f", v);
}

static void
cmp_table_row(const struct perf_cmp *c)
{
	char plain[32], tls[32], size[24], cpu[32];

	if (!cmp_header_done) {
		printf("%-9s %-7s %6s %-4s %9s %9s %9s %14s  %s\n", "scenario",
		       "measure", "size", "fmt", "plain", "tls", "tls/plain",
		       "CPUs/M p / t", "transport");
		cmp_header_done = 1;
	}
	fmt_fig(plain, sizeof(plain), c, c->plain);
	fmt_fig(tls, sizeof(tls), c, c->tls);
	if (c->size > 0)
		snprintf(size, sizeof(size), "%zu", c->size);
	else
		snprintf(size, sizeof(size), "-");
	if (c->cpu_plain >= 0 && c->cpu_tls >= 0)
		snprintf(cpu, sizeof(cpu), "%.2f / %.2f", c->cpu_plain,
		         c->cpu_tls);
	else
		snprintf(cpu, sizeof(cpu), "-");
	printf("%-9s %-7s %6s %-4s %9s %9s %9.3f %14s  %s\n", c->scenario,
	       c->measure, size, c->framing, plain, tls,
	       c->plain > 0 ? c->tls / c->plain : 0, cpu, c->transport);
}

static void
cmp_json_row(const struct perf_cmp *c)
{
	char size[32], ratio[32], cp[32], ct[32], tr[200];
	aemp_val trv = aemp_str(c->transport);

	if (aemp_json_format(&trv, tr, sizeof(tr)) >= (int)sizeof(tr))
		snprintf(tr, sizeof(tr), "null");
	jnum(size, sizeof(size), c->size > 0, (double)c->size);
	jnum(ratio, sizeof(ratio), c->plain > 0, c->tls / c->plain);
	jnum(cp, sizeof(cp), c->cpu_plain >= 0, c->cpu_plain);
	jnum(ct, sizeof(ct), c->cpu_tls >= 0, c->cpu_tls);
	printf("{\"scenario\":\"tls\",\"of\":\"%s\",\"measure\":\"%s\","
	       "\"size\":%s,\"framing\":\"%s\",\"plain\":%.6g,"
	       "\"tls\":%.6g,\"ratio\":%s,\"cpu_s_per_m_plain\":%s,"
	       "\"cpu_s_per_m_tls\":%s,\"transport\":%s}\n",
	       c->scenario, c->measure, size, c->framing, c->plain, c->tls,
	       ratio, cp, ct, tr);
}

void
perf_report_cmp(const struct perf_opts *o, const struct perf_cmp *c)
{
	perf_progress(o, NULL);
	if (o->json)
		cmp_json_row(c);
	else
		cmp_table_row(c);
	fflush(stdout);
}
