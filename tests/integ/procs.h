/*
 * tests/integ/procs.h - node processes for multi-process tests.  The test
 * binary runs itself again with "--role NAME ARGS..." for each child; a
 * child prints lines on stdout ("addr [...]", "ready", ...) that the
 * driver reads with a timeout.  Children die with the driver
 * (PR_SET_PDEATHSIG), and the driver kills and reaps every child at exit
 * and on SIGALRM/SIGTERM, so no process outlives a test.
 *
 * Also here, for the fault tests (tests/integ/fault_*.c):
 *  - proc_rss_kb: resident memory of a process; proc_fds: its open
 *    descriptors; proc_latest: the newest line of a child with a
 *    prefix; proc_sh: a shell command;
 *    procs_netns_private: run the test in a network namespace of its own;
 *  - sequence-checked streams (struct seq_tx, struct seq_rx): a producer
 *    sends [SEQ] to a port as fast as allowed, monitors that port and,
 *    after the monitor fired, re-monitors it and sends ["mark", SEQ]
 *    before going on; the consumer checks that every hole in the sequence
 *    is covered by a mark (aemp-protocol.md §4.6.7: nothing is delivered
 *    after a loss until the sender's monitor has fired).
 *
 * Threads: the driver's main thread; seq_tx runs on shard 0 of its node
 * and seq_rx on its port's shard, publishing counters through atomics.
 */
#ifndef TESTS_INTEG_PROCS_H
#define TESTS_INTEG_PROCS_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/engine_util.h"

extern char **environ;

#define PROC_MAX 16

struct proc {
	pid_t pid;
	int out; /* read end of the child's stdout */
	char buf[4096];
	size_t len;
};

static struct proc procs[PROC_MAX];
static int nprocs;

static void
procs_kill_all(void)
{
	int i;

	for (i = 0; i < nprocs; i++) {
		if (procs[i].pid > 0) {
			kill(procs[i].pid, SIGKILL);
			waitpid(procs[i].pid, NULL, 0);
			procs[i].pid = 0;
		}
	}
}

static void
procs_on_signal(int sig)
{
	procs_kill_all();
	_exit(128 + sig);
}

/* procs_init - call first in the driver. */
static inline void
procs_init(void)
{
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	atexit(procs_kill_all);
	signal(SIGALRM, procs_on_signal);
	signal(SIGTERM, procs_on_signal);
	signal(SIGINT, procs_on_signal);
	signal(SIGPIPE, SIG_IGN);
}

/* procs_child_init - call first in a child role: die with the driver. */
static inline void
procs_child_init(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* proc_spawn_at - run this binary with "--role" argv... as child slot
 * (nprocs: a new one; else one that was killed with SIGKILL, reused);
 * returns slot or -1. */
static inline int
proc_spawn_at(int slot, const char *const *argv)
{
	posix_spawn_file_actions_t fa;
	char *args[32];
	int pfd[2], i, n = 0, rc;
	struct proc *p = &procs[slot];

	if (slot > nprocs || slot >= PROC_MAX || p->pid > 0 ||
	    pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	args[n++] = "/proc/self/exe";
	args[n++] = "--role";
	for (i = 0; argv[i] != NULL && n < 31; i++)
		args[n++] = (char *)argv[i];
	args[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	rc = posix_spawn(&p->pid, "/proc/self/exe", &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		return -1;
	}
	if (slot < nprocs)
		close(p->out);
	p->out = pfd[0];
	p->len = 0;
	return slot == nprocs ? nprocs++ : slot;
}

/* proc_spawn - run this binary with "--role" argv...; returns the index. */
static inline int
proc_spawn(const char *const *argv)
{
	return proc_spawn_at(nprocs, argv);
}

/* proc_line - the next line from child i starting with prefix (others
 * are skipped), into out without the prefix; 0 or -1 after timeout. */
static inline int
proc_line(int i, const char *prefix, char *out, size_t cap, double timeout)
{
	struct proc *p = &procs[i];
	double end = tu_now() + timeout;
	struct pollfd pfd = {p->out, POLLIN, 0};
	char *nl;
	ssize_t r;

	for (;;) {
		while ((nl = memchr(p->buf, '\n', p->len)) != NULL) {
			size_t ll = (size_t)(nl - p->buf), pl = strlen(prefix);
			int hit = ll >= pl && memcmp(p->buf, prefix, pl) == 0;

			if (hit)
				snprintf(out, cap, "%.*s", (int)(ll - pl),
				         p->buf + pl);
			memmove(p->buf, nl + 1, p->len - ll - 1);
			p->len -= ll + 1;
			if (hit)
				return 0;
		}
		if (tu_now() >= end ||
		    poll(&pfd, 1, (int)((end - tu_now()) * 1000) + 1) <= 0)
			return -1;
		r = read(p->out, p->buf + p->len, sizeof(p->buf) - p->len - 1);
		if (r <= 0)
			return -1;
		p->len += (size_t)r;
	}
}

/* proc_kill - send sig to child i (SIGKILL: also reap it). */
static inline void
proc_kill(int i, int sig)
{
	if (procs[i].pid <= 0)
		return;
	kill(procs[i].pid, sig);
	if (sig == SIGKILL) {
		waitpid(procs[i].pid, NULL, 0);
		procs[i].pid = 0;
	}
}

/* free_port - a port number free on 127.0.0.1 right now, below the
 * ephemeral range when one is free there: a node restarted on it must not
 * find it taken by some outgoing connection's source port. */
static inline int
free_port(void)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	int fd, port = -1, i;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 65 && port < 0; i++) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			return -1;
		/* 64 random tries in 10000..31999, then any port */
		sa.sin_port =
		        i < 64 ? htons((uint16_t)(10000 + rand() % 22000)) : 0;
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
			port = ntohs(sa.sin_port);
		close(fd);
	}
	return port;
}

/* ---- nodes, memory, commands ---------------------------------------- */

/* proc_listener - listener number i of n ("IP:PORT") into out; its port
 * number, or -1. */
static inline int
proc_listener(aemp_node *n, int i, char *out, size_t cap)
{
	char lst[512];
	aemp_val *v = NULL;
	int port = -1;

	out[0] = '\0';
	aemp_node_listeners(n, lst, sizeof(lst));
	if (aemp_json_parse(lst, strlen(lst), &v) == 0 &&
	    (uint32_t)i < v->len) {
		snprintf(out, cap, "%.*s", (int)v->u.a[i].len, v->u.a[i].u.s);
		port = atoi(strrchr(out, ':') + 1);
	}
	aemp_val_free(v);
	return port;
}

/* proc_first_addr - the first listener of n ("IP:PORT") into out. */
#define proc_first_addr(n, out, cap) ((void)proc_listener((n), 0, (out), (cap)))

/* proc_rss_kb - resident set of process pid (0: this one) in KiB, or -1. */
static inline long
proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/status");
	else
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* proc_fds - open descriptors of process pid (0: this one), or -1. */
static inline long
proc_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	long n = 0;
	DIR *dir;

	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/fd");
	else
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL)
		n += d->d_name[0] != '.';
	closedir(dir);
	return pid == 0 ? n - 1 : n; /* not the one opendir holds */
}

/* proc_latest - the newest line with prefix (like proc_line). */
static inline int
proc_latest(int i, const char *prefix, char *out, size_t cap, double timeout)
{
	if (proc_line(i, prefix, out, cap, timeout) < 0)
		return -1;
	/* not 0: proc_line reads the pipe only before its deadline */
	while (proc_line(i, prefix, out, cap, 0.002) == 0)
		;
	return 0;
}

/* stat_get - the number after "key=" in a "stat ..." line, or -1. */
static inline long
stat_get(const char *line, const char *key)
{
	size_t k = strlen(key);
	const char *p;

	for (p = line; (p = strstr(p, key)) != NULL; p += k) {
		if ((p == line || p[-1] == ' ') && p[k] == '=')
			return strtol(p + k + 1, NULL, 10);
	}
	return -1;
}

/* proc_sh - run a shell command (printf-style); its output is shown with
 * AEMP_TEST_LOG only.  Returns the exit status, or -1. */
static inline int proc_sh(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));

static inline int
proc_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (getenv("AEMP_TEST_LOG") == NULL)
		strncat(cmd, " >/dev/null 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	else
		printf("# $ %s\n", cmd);
	st = system(cmd);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* procs_netns_private - move this process, before any thread exists,
 * into a new network namespace with only lo (up).  Children inherit it;
 * it goes with the last of them: nothing to clean up, even after a crash.
 * Returns 0, or -1 (not root, or no `ip`) with a reason in why. */
static inline int
procs_netns_private(char *why, size_t cap)
{
	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(why, cap, "cannot create a network namespace: %s",
		         strerror(errno));
		return -1;
	}
	if (proc_sh("ip link set lo up") != 0) {
		snprintf(why, cap, "`ip link set lo up` failed (iproute2)");
		return -1;
	}
	return 0;
}

/* Resident memory bounds do not hold under AddressSanitizer (freed memory
 * waits in its quarantine): RSS_MAX(kb) is unlimited there. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MAX(kb) (1L << 40)
#else
#define RSS_MAX(kb) ((long)(kb))
#endif

/* ---- sequence-checked streams --------------------------------------- */

/* A producer: [SEQ] to dest, back pressure respected, monitored. */
struct seq_tx {
	aemp_node *node;
	char dest[AEMP_ID_MAX];
	aemp_ref ref;
	double rate;   /* messages per second, 0: as fast as allowed */
	int64_t seq;   /* next sequence number */
	int need_mon;  /* the monitor fired: re-monitor, then mark */
	int need_mark; /* send ["mark", seq] before the next data */
	double t0, sent_budget;
	atomic_long sent;     /* messages accepted by aemp_snd */
	atomic_long eagain;   /* -EAGAIN results */
	atomic_long fires;    /* monitor firings */
	atomic_long stopped;  /* set by the driver: stop sending */
	atomic_long fire_seq; /* next sequence number at the last firing */
	char reason[256]; /* first reason (JSON) since the driver cleared it */
};

static inline void seq_tx_tick(aemp_node *n, void *arg);

static inline void
seq_tx_fired(aemp_node *n, const aemp_val *reason, size_t cnt, void *arg)
{
	struct seq_tx *t = arg;
	aemp_val a = aemp_array(reason, cnt);

	(void)n;
	if (t->reason[0] == '\0' &&
	    aemp_json_format(&a, t->reason, sizeof(t->reason)) < 0)
		snprintf(t->reason, sizeof(t->reason), "?");
	atomic_store(&t->fire_seq, (long)t->seq);
	atomic_fetch_add(&t->fires, 1);
	t->need_mon = 1;
}

/* seq_tx_send - data messages allowed now; returns how many went out. */
static inline long
seq_tx_send(aemp_node *n, struct seq_tx *t, long max)
{
	long k;
	int rc;

	if (t->need_mon) {
		if (aemp_mon(n, t->dest, seq_tx_fired, t, NULL) < 0)
			return 0;
		t->need_mon = 0;
		t->need_mark = 1;
	}
	if (t->need_mark) {
		rc = aemp_snd(n, t->dest,
		              AEMP_MSG(aemp_str("mark"), aemp_int(t->seq)));
		if (rc < 0)
			return 0;
		t->need_mark = 0;
	}
	for (k = 0; k < max && !t->need_mon; k++) {
		rc = aemp_snd_ref(n, t->ref, AEMP_MSG(aemp_int(t->seq)));
		if (rc == -EAGAIN) {
			atomic_fetch_add(&t->eagain, 1);
			break;
		}
		if (rc < 0)
			break;
		t->seq++;
	}
	atomic_fetch_add(&t->sent, k);
	return k;
}

static inline void
seq_tx_tick(aemp_node *n, void *arg)
{
	struct seq_tx *t = arg;
	long max = 4096, k;

	if (atomic_load(&t->stopped))
		return;
	if (t->rate > 0) {
		double allowed = (tu_now() - t->t0) * t->rate;

		max = (long)(allowed - t->sent_budget);
		if (max > 4096)
			max = 4096;
	}
	k = max > 0 ? seq_tx_send(n, t, max) : 0;
	t->sent_budget += (double)k;
	/* a full batch: go on next turn; else give the CPU back for 1 ms */
	aemp_after(n, k == 4096 ? 0 : 0.001, seq_tx_tick, t, NULL);
}

/* seq_tx_start - start t (zeroed by the caller) sending to dest at rate
 * messages/s (0: unlimited), from shard 0 of n.  Returns 0 or < 0. */
static inline int
seq_tx_start(aemp_node *n, struct seq_tx *t, const char *dest, double rate)
{
	int rc;

	t->node = n;
	snprintf(t->dest, sizeof(t->dest), "%s", dest);
	t->rate = rate;
	t->t0 = tu_now();
	t->need_mon = 1;
	if ((rc = aemp_ref_new(n, dest, &t->ref)) < 0)
		return rc;
	return aemp_exec(n, 0, seq_tx_tick, t);
}

/* A consumer port's state. */
struct seq_rx {
	int64_t expect; /* next sequence number */
	int64_t mark;   /* newest mark since the last data, -1: none */
	atomic_long recv;
	atomic_long marks;
	atomic_long gaps;       /* holes covered by a mark */
	atomic_long lost;       /* messages in those holes */
	atomic_long violations; /* holes without a mark, or going back */
	atomic_long last_ns;    /* time of the last data message */
	char first_violation[128];
	long work_ns; /* busy time per message (a slow consumer), 0: none */
};

/* seq_rx_handler - aemp_rcv handler with arg = struct seq_rx *. */
static inline int
seq_rx_handler(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	struct seq_rx *r = arg;
	int64_t g = -1;

	(void)n;
	if (cnt == 2 && aemp_str_eq(&msg[0], "mark")) {
		aemp_get_int(&msg[1], &g);
		r->mark = g > r->mark ? g : r->mark;
		atomic_fetch_add(&r->marks, 1);
		return 0;
	}
	/* [SEQ] or [SEQ, PAYLOAD] */
	if ((cnt != 1 && cnt != 2) || aemp_get_int(&msg[0], &g) < 0)
		return 0;
	if (g != r->expect) {
		if (g > r->expect && r->mark > r->expect && r->mark <= g) {
			atomic_fetch_add(&r->gaps, 1);
			/* a jump of 10^9 or more: a new producer (txw) */
			if (g - r->expect < 1000000000)
				atomic_fetch_add(&r->lost, g - r->expect);
		} else if (atomic_fetch_add(&r->violations, 1) == 0) {
			snprintf(r->first_violation, sizeof(r->first_violation),
			         "expected %lld, got %lld, last mark %lld",
			         (long long)r->expect, (long long)g,
			         (long long)r->mark);
		}
	}
	r->expect = g + 1;
	r->mark = -1;
	atomic_fetch_add(&r->recv, 1);
	atomic_store(&r->last_ns, (long)(tu_now() * 1e9));
	if (r->work_ns > 0) {
		double until = tu_now() + (double)r->work_ns / 1e9;

		while (tu_now() < until)
			;
	}
	return 0;
}

/* seq_rx_open - port `port` (a local ID) consuming a stream into r. */
static inline int
seq_rx_open(aemp_node *n, const char *port, struct seq_rx *r)
{
	r->mark = -1;
	return aemp_rcv(n, port, seq_rx_handler, r);
}

/*
 * proc_spawn_node - a child running proc_role_node with ID id,
 * configuration conf (JSON object) and the role arguments extra
 * (NULL-terminated); waits for its "addr" line (into addr).  Returns the
 * child's index or -1.
 */
static inline int
proc_spawn_node(const char *id, const char *conf, const char *const *extra,
                char *addr, size_t cap)
{
	const char *argv[24] = {"node", id, conf};
	int i, k = 3;

	while (extra != NULL && *extra != NULL && k < 23)
		argv[k++] = *extra++;
	argv[k] = NULL;
	i = proc_spawn(argv);
	if (i < 0 || proc_line(i, "addr ", addr, cap, 15) < 0)
		return -1;
	return i;
}

/* ---- round trips ---------------------------------------------------- */

/* A pinger: one cal at a time to an echo port, round trips recorded. */
struct pinger {
	aemp_node *node;
	char port[AEMP_ID_MAX];
	atomic_int busy;
	double t0;
	atomic_long ok;
	atomic_long failed;
	atomic_long max_us; /* slowest round trip since the last reset */
};

static inline void
pinger_done(aemp_node *n, int status, const aemp_val *reply, size_t cnt,
            void *arg)
{
	struct pinger *p = arg;
	long us = (long)((tu_now() - p->t0) * 1e6);

	(void)n;
	(void)reply;
	(void)cnt;
	if (status == 0) {
		atomic_fetch_add(&p->ok, 1);
		if (us > atomic_load(&p->max_us))
			atomic_store(&p->max_us, us);
	} else {
		atomic_fetch_add(&p->failed, 1);
	}
	atomic_store(&p->busy, 0);
}

/* pinger_tick - start the next round trip unless one is running; call it
 * from the driver's wait loops. */
static inline void
pinger_tick(struct pinger *p)
{
	if (atomic_exchange(&p->busy, 1))
		return;
	p->t0 = tu_now();
	if (aemp_cal(p->node, p->port, AEMP_MSG(aemp_str("ping")), pinger_done,
	             p, 2.0, NULL) < 0) {
		atomic_fetch_add(&p->failed, 1);
		atomic_store(&p->busy, 0);
	}
}

/* echo_handler - answers a cal: replies "pong" to the last element. */
static inline int
echo_handler(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	char to[AEMP_ID_MAX];

	(void)arg;
	if (cnt == 0 || msg[cnt - 1].type != AEMP_STR)
		return 0;
	snprintf(to, sizeof(to), "%.*s", (int)msg[cnt - 1].len,
	         msg[cnt - 1].u.s);
	return aemp_snd(n, to, AEMP_MSG(aemp_str("pong")));
}

/* ---- the generic node role ------------------------------------------ */

#define ROLE_MAX 8

struct role {
	aemp_node *node;
	struct seq_rx rx[ROLE_MAX];
	struct seq_tx tx[ROLE_MAX];
	int nrx, ntx;
	int told[ROLE_MAX];
};

static inline int
role_is(const char *k, const char *a, const char *b)
{
	return strcmp(k, a) == 0 || (b != NULL && strcmp(k, b) == 0);
}

/* role_open - the ports of argv (before the start: nothing early is
 * dropped), or its streams and registrations (after). */
static inline void
role_open(struct role *r, char **argv, int started)
{
	char port[AEMP_ID_MAX];
	struct timespec ts;
	const char *k;
	int i = 2, three;

	while ((k = argv[i]) != NULL && argv[i + 1] != NULL) {
		three = role_is(k, "tx", "txw") || role_is(k, "slow", "reg");
		if ((three && argv[i + 2] == NULL) ||
		    !(three || role_is(k, "rx", "echo")))
			exit(2);
		snprintf(port, sizeof(port), "%s#%s", argv[0],
		         argv[i + (role_is(k, "reg", NULL) ? 2 : 1)]);
		if (!started && role_is(k, "rx", "slow") && r->nrx < ROLE_MAX) {
			r->rx[r->nrx].work_ns = three ? atol(argv[i + 2]) : 0;
			seq_rx_open(r->node, port, &r->rx[r->nrx++]);
		} else if (!started && role_is(k, "echo", "reg")) {
			aemp_rcv(r->node, port, echo_handler, NULL);
		} else if (started && role_is(k, "reg", NULL)) {
			aemp_db_reg(r->node, argv[i + 1], port, NULL, NULL);
		} else if (started && role_is(k, "tx", "txw") &&
		           r->ntx < ROLE_MAX) {
			struct seq_tx *t = &r->tx[r->ntx++];

			/* txw: numbers above any earlier incarnation's */
			clock_gettime(CLOCK_REALTIME, &ts);
			if (k[2] == 'w')
				t->seq = (int64_t)ts.tv_sec * 1000000000;
			if (seq_tx_start(r->node, t, argv[i + 1],
			                 atof(argv[i + 2])) < 0)
				exit(3);
		}
		i += three ? 3 : 2;
	}
}

/* role_stat - one "stat ..." line of r into line. */
static inline void
role_stat(struct role *r, char *line, size_t cap)
{
	double now = tu_now();
	aemp_stats st;
	size_t len;
	int i;

	aemp_stats_get(r->node, &st);
	len = (size_t)snprintf(line, cap,
	                       "stat rss=%ld pkts_in=%llu delivered=%llu "
	                       "conns=%llu hs=%llu",
	                       proc_rss_kb(0),
	                       (unsigned long long)st.packets_in,
	                       (unsigned long long)st.msgs_delivered,
	                       (unsigned long long)st.connections,
	                       (unsigned long long)st.handshakes);
	for (i = 0; i < r->nrx && len < cap - 200; i++) {
		struct seq_rx *x = &r->rx[i];
		long last = atomic_load(&x->last_ns);

		len += (size_t)snprintf(
		        line + len, cap - len,
		        " rx%d.recv=%ld rx%d.viol=%ld rx%d.gaps=%ld "
		        "rx%d.lost=%ld rx%d.marks=%ld rx%d.idle_ms=%ld",
		        i, atomic_load(&x->recv), i,
		        atomic_load(&x->violations), i, atomic_load(&x->gaps),
		        i, atomic_load(&x->lost), i, atomic_load(&x->marks), i,
		        last ? (long)((now - (double)last / 1e9) * 1e3) : -1);
	}
	for (i = 0; i < r->ntx && len < cap - 100; i++)
		len += (size_t)snprintf(
		        line + len, cap - len,
		        " tx%d.sent=%ld tx%d.eagain=%ld tx%d.fires=%ld", i,
		        atomic_load(&r->tx[i].sent), i,
		        atomic_load(&r->tx[i].eagain), i,
		        atomic_load(&r->tx[i].fires));
}

/*
 * proc_role_node - a child process running one node:
 *   ID CONF_JSON [rx NAME | slow NAME NS | echo NAME | tx DEST RATE |
 *                 txw DEST RATE | reg FAMILY NAME]...
 * rx NAME consumes a stream on port ID#NAME (seq_rx), slow NAME NS too,
 * spending NS nanoseconds of CPU per message, reg FAMILY NAME registers
 * an echo port ID#NAME in the database (aemp_db_reg), echo NAME answers
 * cals on ID#NAME, tx DEST RATE produces a stream to DEST (seq_tx; rate
 * messages/s, 0: unlimited), txw too, numbered from the wall clock in
 * s x 10^9 (a process restarted later continues far above).  Prints "addr IP:PORT" (or "addr -"), then
 * every 100 ms a line
 *   stat rss=KB pkts_in=N delivered=N conns=N hs=N
 *        rx0.recv=N rx0.viol=N rx0.gaps=N rx0.lost=N rx0.marks=N
 *        rx0.idle_ms=N ... tx0.sent=N tx0.eagain=N tx0.fires=N ...
 * and once per consumer with a violation "violation rxN TEXT".  Runs
 * until killed.
 */
static inline int
proc_role_node(char **argv)
{
	static struct role r;
	char line[2048], addr[128];
	long fires[ROLE_MAX] = {0};
	int i;

	r.node = tu_node_json(argv[0], argv[1]);
	role_open(&r, argv, 0);
	tu_start(r.node);
	role_open(&r, argv, 1);
	proc_first_addr(r.node, addr, sizeof(addr));
	printf("addr %s\n", addr[0] ? addr : "-");
	for (;;) {
		role_stat(&r, line, sizeof(line));
		printf("%s\n", line);
		for (i = 0; i < r.nrx; i++) {
			if (atomic_load(&r.rx[i].violations) && !r.told[i]++) {
				printf("violation rx%d %s\n", i,
				       r.rx[i].first_violation);
				fprintf(stderr, "# %s: violation rx%d %s\n",
				        argv[0], i, r.rx[i].first_violation);
			}
		}
		for (i = 0; i < r.ntx; i++) {
			long f = atomic_load(&r.tx[i].fires);

			if (f != fires[i])
				fprintf(stderr,
				        "# %s: fire tx%d count=%ld seq=%ld "
				        "%s\n",
				        argv[0], i, f,
				        atomic_load(&r.tx[i].fire_seq),
				        r.tx[i].reason);
			fires[i] = f;
			r.tx[i].reason[0] = '\0';
		}
		usleep(100000);
	}
	return 0;
}

#endif /* TESTS_INTEG_PROCS_H */
