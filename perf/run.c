/*
 * perf/run.c - running a set of senders or pingers on one node and
 * turning them into one result: start them, wait (bounded) while showing
 * the live line, take the CPU time of every process involved around the
 * measured phase, and add up.
 *
 * Tasks are not freed after their run: a late message or timer could
 * still reach them.  They are kept until their node has stopped
 * (perf_node_free calls perf_tasks_reap).
 *
 * Threads: main thread.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf.h"

#define KEPT_MAX 4096

static struct perf_task *kept[KEPT_MAX];
static int nkept;

/* Time allowed beyond the planned duration before a run is called stuck:
 * no progress for this long fails it. */
#define STALL_NS ((int64_t)10 * 1000000000)

/* How often the main thread looks.  The tasks take their own times, so
 * this only delays the report; waking often would disturb the shard
 * threads being measured (on two CPUs, every wake-up competes). */
#define POLL_MS 20

/* In a child: the control socket, whose hang-up ends any wait (the parent
 * gave up on this run). */
static int watch_fd = -1;

void
perf_watch_parent(int fd)
{
	watch_fd = fd;
}

static int
parent_gone(void)
{
	struct pollfd p = {watch_fd, POLLRDHUP, 0};

	return watch_fd >= 0 && poll(&p, 1, 0) > 0 &&
	       (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void
perf_task_keep(struct perf_task *t)
{
	/* Beyond the limit a task leaks rather than risk a use after free. */
	if (nkept < KEPT_MAX)
		kept[nkept++] = t;
}

void
perf_tasks_reap(aemp_node *node)
{
	int i;

	for (i = 0; i < nkept; i++) {
		kept[i]->free_fn(node, kept[i]);
		kept[i] = NULL;
	}
	nkept = 0;
}

static int
phase_min(struct perf_task **t, int n)
{
	int i, ph, min = PH_DONE;

	for (i = 0; i < n; i++) {
		ph = atomic_load_explicit(&t[i]->phase, memory_order_acquire);
		if (ph == PH_FAILED)
			return PH_FAILED;
		if (ph < min)
			min = ph;
	}
	return min;
}

static uint64_t
measured_sum(struct perf_task **t, int n)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += atomic_load_explicit(&t[i]->measured,
		                            memory_order_relaxed);
	return sum;
}

void
perf_task_mark(struct perf_task *t, int end)
{
	int64_t cpu = perf_cpu_sum(t->peers, t->npeers);
	uint64_t wire = perf_wire_bytes(t->node);

	if (end) {
		t->cpu1 = cpu;
		t->wire1 = wire;
	} else {
		t->cpu0 = cpu;
		t->wire0 = wire;
	}
}

uint64_t
perf_wire_bytes(aemp_node *node)
{
	aemp_stats st;

	aemp_stats_get(node, &st);
	return st.bytes_in + st.bytes_out;
}

int64_t
perf_cpu_sum(const pid_t *peers, int npeers)
{
	int64_t sum = perf_cpu_ns(0), c;
	int i;

	for (i = 0; i < npeers; i++) {
		c = perf_cpu_ns(peers[i]);
		if (c > 0)
			sum += c;
	}
	return sum;
}

static void
show(const struct perf_opts *o, const char *label, uint64_t msgs, double rate,
     double elapsed)
{
	char line[200];
	double total = o->count ? 0 : o->seconds;

	if (total > 0)
		snprintf(line, sizeof(line),
		         "%s: %.3f M msgs/s, %.2f M msgs [%.1f/%.1f s]", label,
		         rate / 1e6, (double)msgs / 1e6, elapsed, total);
	else
		snprintf(line, sizeof(line), "%s: %.3f M msgs/s, %.2f M msgs",
		         label, rate / 1e6, (double)msgs / 1e6);
	perf_progress(o, line);
}

/* activity - changes while anything moves: messages sent by the tasks,
 * bytes through the node's sockets, messages delivered (a long backlog
 * drains after the last send, before the final sync reply). */
static uint64_t
activity(struct perf_task **t, int n)
{
	aemp_stats st;

	aemp_stats_get(t[0]->node, &st);
	return measured_sum(t, n) + st.bytes_out + st.bytes_in +
	       st.msgs_delivered;
}

/* wait_for - wait until every task is at least at `phase`, failing after
 * STALL_NS without any activity; shows the live line in PH_RUN. */
static int
wait_for(const struct perf_opts *o, const char *label, struct perf_task **t,
         int n, int phase)
{
	int64_t start = perf_now_ns(), last_change = start, last_show = start;
	uint64_t last = measured_sum(t, n), now_sum, act = activity(t, n), a;
	int64_t now;
	int ph;

	while ((ph = phase_min(t, n)) < phase) {
		if (ph == PH_FAILED)
			return -EIO;
		if (parent_gone())
			return -ECANCELED;
		perf_sleep_ms(POLL_MS);
		now = perf_now_ns();
		now_sum = measured_sum(t, n);
		a = activity(t, n);
		if (a != act || ph < PH_RUN)
			last_change = now;
		act = a;
		if (now - last_change > STALL_NS)
			return -ETIMEDOUT;
		if (ph >= PH_RUN && now - last_show >= 250000000) {
			show(o, label, now_sum,
			     (double)(now_sum - last) * 1e9 /
			             (double)(now - last_show),
			     (double)(now - start) / 1e9);
			last_show = now;
			last = now_sum;
		}
	}
	/* PH_FAILED sorts after PH_DONE: the loop ends on it too */
	return ph == PH_FAILED ? -EIO : 0;
}

/* A warm-up without progress counter: bounded by warm-up + stall time. */
static int
wait_started(struct perf_task **t, int n, double warmup_s)
{
	int64_t end = perf_now_ns() + (int64_t)(warmup_s * 1e9) + STALL_NS;
	int ph;

	while ((ph = phase_min(t, n)) < PH_RUN) {
		if (ph == PH_FAILED)
			return -EIO;
		if (parent_gone())
			return -ECANCELED;
		if (perf_now_ns() > end)
			return -ETIMEDOUT;
		perf_sleep_ms(POLL_MS);
	}
	return ph == PH_FAILED ? -EIO : 0;
}

/* stall_error - say where the tasks stand: a lost sync reply or echo
 * looks different from a connection that stopped moving. */
static int
stall_error(struct perf_task **t, int n, const char *label)
{
	static const char *const names[] = {"starting",     "warm-up",
	                                    "warm-up sync", "measuring",
	                                    "final sync",   "done"};
	int count[PH_DONE + 1] = {0}, i, ph;
	char where[200], warn[256];
	size_t len = 0;

	for (i = 0; i < n; i++) {
		ph = atomic_load(&t[i]->phase);
		if (ph >= 0 && ph <= PH_DONE)
			count[ph]++;
	}
	where[0] = '\0';
	for (i = 0; i <= PH_DONE; i++) {
		if (count[i] != 0 && len < sizeof(where))
			len += (size_t)snprintf(
			        where + len, sizeof(where) - len, "%s%d %s",
			        len ? ", " : "", count[i], names[i]);
	}
	perf_last_warning(warn, sizeof(warn));
	return perf_err(PERF_EFAIL,
	                "%s: nothing moved for %d s (lost messages or a stuck "
	                "connection?): %s%s%s",
	                label, (int)(STALL_NS / 1000000000), where,
	                warn[0] ? "; last engine warning: " : "", warn);
}

static int
task_error(struct perf_task **t, int n, int rc, const char *label)
{
	int i;

	for (i = 0; i < n; i++) {
		if (atomic_load(&t[i]->phase) == PH_FAILED)
			return perf_err(PERF_EFAIL, "%s: %s", label, t[i]->err);
	}
	if (rc == -ETIMEDOUT)
		return stall_error(t, n, label);
	return perf_err(PERF_EFAIL, "%s: %s", label, aemp_strerror(rc));
}

/* sum_window - the union of the tasks' windows: earliest start, latest
 * end, of the clock and of the counters (which only grow). */
static void
sum_window(struct perf_task **t, int n, struct perf_result *r)
{
	int64_t t0 = INT64_MAX, t1 = 0, c0 = INT64_MAX, c1 = 0;
	uint64_t w0 = UINT64_MAX, w1 = 0;
	int i;

	for (i = 0; i < n; i++) {
		t0 = t[i]->t0 < t0 ? t[i]->t0 : t0;
		t1 = t[i]->t1 > t1 ? t[i]->t1 : t1;
		c0 = t[i]->cpu0 < c0 ? t[i]->cpu0 : c0;
		c1 = t[i]->cpu1 > c1 ? t[i]->cpu1 : c1;
		w0 = t[i]->wire0 < w0 ? t[i]->wire0 : w0;
		w1 = t[i]->wire1 > w1 ? t[i]->wire1 : w1;
	}
	r->t0_ns = t0;
	r->t1_ns = t1;
	r->secs = (double)(t1 - t0) / 1e9;
	r->cpu_s = (double)(c1 - c0) / 1e9;
	r->wire_bytes = w1 - w0;
}

static void
sum_up(struct perf_task **t, int n, struct perf_result *r)
{
	int i;

	r->msgs = 0;
	r->gaps = r->reorders = 0;
	for (i = 0; i < n; i++) {
		r->msgs += atomic_load(&t[i]->measured);
		if (t[i]->gaps < 0 || r->gaps < 0) {
			r->gaps = r->reorders = -1;
		} else {
			r->gaps += t[i]->gaps;
			r->reorders += t[i]->reorders;
		}
	}
	sum_window(t, n, r);
}

static void
sum_hist(struct perf_task **t, int n, struct perf_result *r)
{
	struct perf_hist *h = perf_hist_new();
	int i;

	if (h == NULL)
		return;
	for (i = 0; i < n; i++)
		perf_hist_merge(h, t[i]->hist);
	perf_hist_fill(h, r);
	perf_hist_free(h);
}

int
perf_tasks_wait_run(const struct perf_opts *o, const char *label,
                    struct perf_task **t, int n)
{
	int rc = wait_started(t, n, o->warmup);

	return rc < 0 ? task_error(t, n, rc, label) : 0;
}

int
perf_tasks_wait_done(const struct perf_opts *o, const char *label,
                     struct perf_task **t, int n, struct perf_result *r)
{
	int rc = wait_for(o, label, t, n, PH_DONE);

	perf_progress(o, NULL);
	if (rc < 0)
		return task_error(t, n, rc, label);
	sum_up(t, n, r);
	if (t[0]->hist != NULL)
		sum_hist(t, n, r);
	return 0;
}

int
perf_tasks_run(const struct perf_opts *o, const char *label,
               struct perf_task **t, int n, struct perf_result *r)
{
	int rc = perf_tasks_wait_run(o, label, t, n);

	return rc != 0 ? rc : perf_tasks_wait_done(o, label, t, n, r);
}
