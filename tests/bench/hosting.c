/*
 * tests/bench/hosting.c - a hosted service's request rate (docs/hosting.md
 * "Shards"): `aemp run` loads examples/counter (Counter.so, the `modules`
 * key) with 1 shard, then with 2 shards, in the same run; a load
 * generator node in this process spawns PORTS counters there (placed on
 * the host's shards by the hash of their names) and keeps WINDOW
 * requests outstanding per counter for SECONDS: ["incr", 1, REPLY] (next
 * to nothing to do), then ["hash", ROUNDS, REPLY] (ROUNDS rounds of a
 * 64-bit mix, default 20000: CPU work that more shards can share).
 * Reported per shard count: replies per second, the host's CPU (from
 * /proc/PID/stat) and the generator's (getrusage), both in percent of
 * one core, and replies per host CPU-second.
 *
 *   build/release/tests/bench/hosting [seconds [ports [window [rounds]]]]
 *
 * The aemp binary and Counter.so are found next to this program
 * (build/<flavor>/aemp, build/<flavor>/examples/counter/Counter.so).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aemp.h"

#define MAX_PORTS 64

static char host_id[64];
static aemp_id counters[MAX_PORTS];
static aemp_id replies[MAX_PORTS];
static int nports = 16, window = 8;
static int64_t rounds; /* 0: ["incr", 1, R]; else ["hash", rounds, R] */
static atomic_long answered;
static atomic_int running;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of process pid (utime + stime). */
static double
proc_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	           &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* send_incr - one request to counter i, replies to reply port i. */
static int
send_incr(aemp_node *node, int i)
{
	aemp_val msg[3] = {aemp_str(rounds ? "hash" : "incr"),
	                   aemp_int(rounds ? rounds : 1),
	                   aemp_str(replies[i].s)};

	return aemp_snd(node, counters[i].s, msg, 3);
}

static int
on_reply(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	(void)msg;
	(void)n;
	atomic_fetch_add_explicit(&answered, 1, memory_order_relaxed);
	if (atomic_load_explicit(&running, memory_order_relaxed))
		send_incr(node, (int)(intptr_t)arg);
	return 0;
}

static void
make_replies(aemp_node *node, void *arg)
{
	int i;

	for (i = 0; i < nports; i++)
		aemp_port(node, on_reply, (void *)(intptr_t)i, &replies[i]);
	atomic_store((atomic_int *)arg, 1);
}

static void
start_load(aemp_node *node, void *arg)
{
	int i, w;

	(void)arg;
	for (i = 0; i < nports; i++)
		for (w = 0; w < window; w++)
			send_incr(node, i);
}

static atomic_int time_ok;

static void
time_reply(aemp_node *node, int status, const aemp_val *msg, size_t n,
           void *arg)
{
	(void)node;
	(void)msg;
	(void)n;
	(void)arg;
	if (status == 0)
		atomic_store(&time_ok, 1);
}

/* start_host - `aemp run` with shards; its pid, and its address in addr. */
static pid_t
start_host(const char *aemp, const char *moddir, int shards, char *addr,
           size_t cap)
{
	char sh[16], line[256];
	int fd[2];
	pid_t pid;
	FILE *f;

	snprintf(sh, sizeof(sh), "%d", shards);
	snprintf(host_id, sizeof(host_id), "bench-host-%d-%d", shards,
	         (int)getpid());
	if (pipe(fd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execl(aemp, aemp, "run", "nodeid", host_id, "binds",
		      "127.0.0.1:0", "secret", "bench", "norc", "1", "shards",
		      sh, "module_path", moddir, "modules", "Counter",
		      "log_level", "3", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	addr[0] = '\0';
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "listen ", 7) == 0) {
			snprintf(addr, cap, "%s", line + 7);
			addr[strcspn(addr, " \n")] = '\0';
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	return pid;
}

/* generator - the load generator node, seeded with the host; NULL (and a
 * line saying why) on failure. */
static aemp_node *
generator(const char *addr)
{
	char seeds[300];
	aemp_conf *c = NULL;
	aemp_node *node = NULL;

	snprintf(seeds, sizeof(seeds), "[\"%s\"]", addr);
	if (aemp_conf_new(&c) < 0 || aemp_conf_set_json(c, "norc", "1") < 0 ||
	    aemp_conf_set_str(c, "nodeid", "bench-gen/%u") < 0 ||
	    aemp_conf_set_json(c, "binds", "[]") < 0 ||
	    aemp_conf_set_str(c, "secret", "bench") < 0 ||
	    aemp_conf_set_json(c, "seeds", seeds) < 0 ||
	    aemp_conf_set_json(c, "shards", "1") < 0 ||
	    aemp_conf_set_json(c, "log_level", "3") < 0 ||
	    aemp_node_new(c, &node) < 0 || aemp_node_start(node) < 0) {
		printf("# cannot start the generator: %s\n", aemp_errmsg());
		aemp_node_free(node);
		node = NULL;
	}
	aemp_conf_free(c);
	return node;
}

/* prepare - wait for the host, spawn the counters, make the reply ports.
 * Returns 0 or -1 (said why). */
static int
prepare(aemp_node *node)
{
	aemp_val q = aemp_str("time");
	atomic_int made = 0;
	double deadline;
	int i;

	atomic_store(&time_ok, 0);
	for (deadline = now_s() + 30;
	     !atomic_load(&time_ok) && now_s() < deadline;) {
		aemp_cal(node, host_id, &q, 1, time_reply, NULL, 1, NULL);
		usleep(200000);
	}
	if (!atomic_load(&time_ok)) {
		printf("# the host does not answer\n");
		return -1;
	}
	for (i = 0; i < nports; i++)
		if (aemp_spawn(node, host_id, "Counter::init", NULL, 0,
		               &counters[i]) < 0) {
			printf("# spawn failed\n");
			return -1;
		}
	aemp_exec(node, 0, make_replies, &made);
	for (deadline = now_s() + 10;
	     !atomic_load(&made) && now_s() < deadline;)
		usleep(1000);
	usleep(300000); /* the spawns are done before the first request */
	return atomic_load(&made) ? 0 : -1;
}

/* measure - the load for `seconds` after a warm-up; one result line. */
static void
measure(aemp_node *node, pid_t pid, int shards, double seconds)
{
	double t0, t1, h0, h1, g0, g1;
	long n0, n1;

	atomic_store(&answered, 0);
	atomic_store(&running, 1);
	aemp_exec(node, 0, start_load, NULL);
	usleep(500000); /* warm up */
	n0 = atomic_load(&answered);
	t0 = now_s();
	h0 = proc_cpu(pid);
	g0 = self_cpu();
	usleep((useconds_t)(seconds * 1e6));
	n1 = atomic_load(&answered);
	t1 = now_s();
	h1 = proc_cpu(pid);
	g1 = self_cpu();
	atomic_store(&running, 0);
	printf("hosting: %-10s shards %d: %8.0f replies/s  host CPU %4.0f%%  "
	       "generator CPU %4.0f%%  %8.0f replies per host CPU-second\n",
	       rounds ? "hash" : "incr", shards, (double)(n1 - n0) / (t1 - t0),
	       100 * (h1 - h0) / (t1 - t0), 100 * (g1 - g0) / (t1 - t0),
	       h1 > h0 ? (double)(n1 - n0) / (h1 - h0) : 0.0);
}

static void
stop_host(pid_t pid)
{
	int i, st;

	kill(pid, SIGTERM);
	for (i = 0; i < 100 && waitpid(pid, &st, WNOHANG) == 0; i++)
		usleep(50000);
	if (i == 100) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
}

static int
bench(const char *aemp, const char *moddir, int shards, double seconds)
{
	char addr[256];
	aemp_node *node = NULL;
	pid_t pid;
	int rc = 1;

	pid = start_host(aemp, moddir, shards, addr, sizeof(addr));
	if (pid < 0 || addr[0] == '\0')
		printf("# cannot start %s\n", aemp);
	else if ((node = generator(addr)) != NULL && prepare(node) == 0) {
		measure(node, pid, shards, seconds);
		rc = 0;
	}
	if (node != NULL) {
		aemp_node_stop(node);
		aemp_node_wait(node);
		aemp_node_free(node);
	}
	if (pid > 0)
		stop_host(pid);
	return rc;
}

int
main(int argc, char **argv)
{
	char self[PATH_MAX], aemp[PATH_MAX + 16], moddir[PATH_MAX + 32];
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	int64_t hash_rounds = 20000;
	ssize_t n;
	char *dir;
	int rc = 0;

	if (argc > 2)
		nports = atoi(argv[2]);
	if (argc > 3)
		window = atoi(argv[3]);
	if (argc > 4)
		hash_rounds = atol(argv[4]);
	if (nports < 1 || nports > MAX_PORTS || window < 1 || seconds <= 0 ||
	    hash_rounds < 1) {
		fprintf(stderr, "usage: hosting [seconds [ports [window "
		                "[rounds]]]]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	dir = dirname(dirname(dirname(self))); /* build/<flavor> */
	snprintf(aemp, sizeof(aemp), "%s/aemp", dir);
	snprintf(moddir, sizeof(moddir), "%s/examples/counter", dir);
	printf("# hosting: %d counters, %d requests outstanding each, %.0f s "
	       "per run; incr: [\"incr\", 1], hash: [\"hash\", %lld] "
	       "(CPU work per request); CPU in %% of one core\n",
	       nports, window, seconds, (long long)hash_rounds);
	rounds = 0;
	rc |= bench(aemp, moddir, 1, seconds);
	rc |= bench(aemp, moddir, 2, seconds);
	rounds = hash_rounds;
	rc |= bench(aemp, moddir, 1, seconds);
	rc |= bench(aemp, moddir, 2, seconds);
	return rc;
}
