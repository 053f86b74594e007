/*
 * perf/zmq.c - the ZeroMQ baseline of pair: a PUSH socket in this process
 * sends PAYLOAD-sized messages over TCP loopback to a PULL socket in a
 * child process (aemp-perf --child zmq), for the same warm-up and measured
 * time as a pair result.  The row is "zmq push/pull", and pair results
 * carry their ratio to it ("xzmq").
 *
 * Protocol with the child: it binds tcp://127.0.0.1:* and says "ready
 * ENDPOINT"; every empty message is a mark, answered with "mark N" (N:
 * messages since the previous mark), so a mark's answer means that
 * everything sent before it was received.  The measured window is from
 * the answer to the warm-up mark to the answer to the final one, the
 * same way pair's syncs bound its window.  CPU is this process plus the
 * child, as for raw and pair.
 *
 * libzmq (Debian libzmq3-dev) is optional at build time: the Makefile
 * defines PERF_HAVE_ZMQ when pkg-config finds it; without it the row is
 * one line saying so, and no ratio is printed.  <zmq.h> is the one
 * header here beside <aemp.h> and perf/: the baseline is another
 * library by definition.
 *
 * Threads: main thread (libzmq runs its own I/O thread in each process).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "perf/perf.h"

#define ZMQ_CTL_FD 3

struct zcache {
	size_t size;
	double v;
};

static struct zcache zcache[PERF_SIZES_MAX];
static int nzcache;

#ifdef PERF_HAVE_ZMQ
#include <zmq.h>

/* The receiver: count messages, answer marks. */
int
perf_child_zmq(int argc, char **argv)
{
	struct perf_child ctl = {.pid = 0, .ctl = ZMQ_CTL_FD};
	char ep[128], buf[64];
	size_t eplen = sizeof(ep);
	void *ctx, *s;
	uint64_t n = 0;
	int len, hwm = 100000;
	zmq_pollitem_t items[2];

	(void)argv;
	perf_err_to_fd(ZMQ_CTL_FD);
	if (argc != 0)
		return perf_err(PERF_EUSAGE, "--child zmq: bad arguments");
	ctx = zmq_ctx_new();
	s = ctx != NULL ? zmq_socket(ctx, ZMQ_PULL) : NULL;
	if (s == NULL)
		return perf_err(PERF_EFAIL, "zmq: %s", zmq_strerror(errno));
	(void)zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	if (zmq_bind(s, "tcp://127.0.0.1:*") < 0 ||
	    zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &eplen) < 0)
		return perf_err(PERF_EFAIL, "zmq bind: %s",
		                zmq_strerror(errno));
	items[0] = (zmq_pollitem_t){s, 0, ZMQ_POLLIN, 0};
	items[1] = (zmq_pollitem_t){NULL, ZMQ_CTL_FD, ZMQ_POLLIN, 0};
	perf_child_say(&ctl, "ready %s", ep);
	for (;;) {
		len = zmq_recv(s, buf, sizeof(buf), ZMQ_DONTWAIT);
		if (len < 0 && errno == EAGAIN) {
			/* nothing queued: wait for more, or for the parent
			 * to close the control socket (then leave) */
			if (zmq_poll(items, 2, -1) < 0 && errno != EINTR)
				break;
			if (items[1].revents != 0)
				break;
			continue;
		}
		if (len < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (len > 0) {
			n++;
			continue;
		}
		if (perf_child_say(&ctl, "mark %llu", (unsigned long long)n) <
		    0)
			break;
		n = 0;
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}

struct zrun {
	const struct perf_opts *o;
	struct perf_child child;
	void *ctx, *s;
	const char *payload;
	size_t size;
	uint64_t sent;
};

static int
zrun_start(struct zrun *z, const struct perf_opts *o, size_t size)
{
	char *argv[] = {"aemp-perf", "--child", "zmq", NULL};
	char line[160];
	int rc, hwm = 100000;

	memset(z, 0, sizeof(*z));
	z->o = o;
	z->size = size;
	z->payload = perf_payload(size);
	rc = perf_child_spawn(&z->child, argv, NULL, NULL);
	if (rc == 0)
		rc = perf_child_line(&z->child, line, sizeof(line), 20000);
	if (rc >= 0)
		rc = strncmp(line, "ready ", 6) == 0 ? 0 : -EPROTO;
	if (rc < 0)
		return rc;
	z->ctx = zmq_ctx_new();
	z->s = z->ctx != NULL ? zmq_socket(z->ctx, ZMQ_PUSH) : NULL;
	if (z->s == NULL)
		return -errno;
	(void)zmq_setsockopt(z->s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	if (zmq_connect(z->s, line + 6) < 0)
		return -errno;
	return 0;
}

static void
zrun_stop(struct zrun *z)
{
	int linger = 0;

	if (z->s != NULL) {
		(void)zmq_setsockopt(z->s, ZMQ_LINGER, &linger, sizeof(linger));
		zmq_close(z->s);
	}
	if (z->ctx != NULL)
		zmq_ctx_term(z->ctx);
	z->s = z->ctx = NULL;
	if (z->child.pid != 0 && perf_child_stop(&z->child) > 128) {
		perf_err(0, "the zmq receiver died of a signal");
		perf_set_status(PERF_EFAIL);
	}
}

/* zblast - send for seconds (or count messages). */
static int
zblast(struct zrun *z, double seconds, uint64_t count)
{
	int64_t end = perf_now_ns() + (int64_t)(seconds * 1e9);
	uint64_t base = z->sent;
	int i;

	for (;;) {
		if (count != 0 ? z->sent - base >= count : perf_now_ns() >= end)
			return 0;
		for (i = 0; i < 1024; i++) {
			if (count != 0 && z->sent - base >= count)
				break;
			if (zmq_send(z->s, z->payload, z->size, 0) < 0)
				return -errno;
			z->sent++;
		}
	}
}

/* zmark - send a mark and wait for its answer; *n = the count. */
static int
zmark(struct zrun *z, uint64_t *n)
{
	unsigned long long got;
	char line[64];
	int rc;

	if (zmq_send(z->s, "", 0, 0) < 0)
		return -errno;
	rc = perf_child_line(&z->child, line, sizeof(line), 60000);
	if (rc < 0)
		return rc;
	if (sscanf(line, "mark %llu", &got) != 1)
		return -EPROTO;
	*n = got;
	return 0;
}

static int
zmq_measure(struct zrun *z, struct perf_result *r)
{
	const struct perf_opts *o = z->o;
	uint64_t got, base;
	int64_t t0, cpu0;
	int rc;

	rc = zblast(z, o->warmup, 0);
	if (rc == 0)
		rc = zmark(z, &got);
	if (rc < 0)
		return rc;
	base = z->sent;
	cpu0 = perf_cpu_sum(&z->child.pid, 1);
	t0 = perf_now_ns();
	rc = zblast(z, o->seconds, o->count);
	if (rc == 0)
		rc = zmark(z, &got);
	if (rc < 0)
		return rc;
	r->secs = (double)(perf_now_ns() - t0) / 1e9;
	r->cpu_s = (double)(perf_cpu_sum(&z->child.pid, 1) - cpu0) / 1e9;
	r->msgs = z->sent - base;
	r->gaps = got < r->msgs ? (int64_t)(r->msgs - got) : 0;
	r->reorders = got > r->msgs ? (int64_t)(got - r->msgs) : 0;
	return 0;
}

static double
zmq_run(const struct perf_opts *o, size_t size)
{
	struct perf_result r;
	struct zrun z;
	int rc;

	memset(&r, 0, sizeof(r));
	r.scenario = "zmq";
	snprintf(r.variant, sizeof(r.variant), "push/pull");
	r.size = size;
	r.framing = "raw";
	snprintf(r.transport, sizeof(r.transport), "ZeroMQ %d.%d.%d TCP",
	         ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH);
	r.ratio = r.ratio_block = r.ratio_zmq = -1;
	rc = zrun_start(&z, o, size);
	if (rc == 0)
		rc = zmq_measure(&z, &r);
	zrun_stop(&z);
	if (rc < 0) {
		perf_err(0, "zmq baseline (%zu bytes): %s", size,
		         aemp_strerror(rc));
		perf_set_status(PERF_EFAIL);
		return -1;
	}
	perf_report(o, &r);
	return r.secs > 0 ? (double)r.msgs / r.secs : -1;
}

#else /* !PERF_HAVE_ZMQ */

int
perf_child_zmq(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return perf_err(PERF_EFAIL, "zmq: built without libzmq");
}

static double
zmq_run(const struct perf_opts *o, size_t size)
{
	static int said;

	(void)size;
	if (!said && o->json)
		perf_err(0, "zmq: no baseline: built without libzmq "
		            "(libzmq3-dev)");
	else if (!said)
		printf("zmq       (no row: aemp-perf was built without libzmq; "
		       "install libzmq3-dev and rebuild)\n");
	said = 1;
	return -1;
}

#endif

double
perf_zmq_tput(const struct perf_opts *o, size_t size)
{
	int i;

	for (i = 0; i < nzcache; i++) {
		if (zcache[i].size == size)
			return zcache[i].v;
	}
	if (o->no_raw || o->no_zmq || o->connect != NULL ||
	    nzcache == PERF_SIZES_MAX)
		return -1;
	zcache[nzcache].size = size;
	zcache[nzcache].v = zmq_run(o, size);
	return zcache[nzcache++].v;
}
