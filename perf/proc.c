/*
 * perf/proc.c - child processes, clocks and CPU time.
 *
 * aemp-perf runs its second (and further) nodes and the raw baseline's
 * receiver as copies of itself ("aemp-perf --child ROLE ..."), each with a
 * control socket on fd 3 that carries one text line per message.  Every
 * child is killed and reaped on every way out of the parent: a normal
 * exit (atexit), SIGINT/SIGTERM/SIGHUP (handler), and the parent's death
 * (PR_SET_PDEATHSIG in the child).  A child also leaves when its control
 * socket reaches end-of-file.
 *
 * Threads: main thread only, except the signal handler, which touches
 * only the pid table (async-signal-safe calls).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "perf/perf.h"

/* The most children at one time: db's monitors and global node (fanin's
 * senders are fewer), and a raw receiver. */
#define CHILDREN_MAX (PERF_CLUSTER_MAX + PERF_GLOBALS_MAX + 4)
_Static_assert(CHILDREN_MAX >= PERF_NODES_MAX + 2, "fanin's children");
_Static_assert(CHILDREN_MAX >= PERF_MONITORS_MAX + 2, "db's children");

/* Live children, for the exit paths.  0 marks a free slot. */
static volatile sig_atomic_t child_pids[CHILDREN_MAX];

int64_t
perf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
perf_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int64_t
perf_cpu_ns(pid_t pid)
{
	struct timespec ts;
	clockid_t clk = CLOCK_PROCESS_CPUTIME_ID;

	if (pid != 0 && clock_getcpuclockid(pid, &clk) != 0)
		return -1;
	if (clock_gettime(clk, &ts) < 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
track(pid_t pid, pid_t old)
{
	int i;

	for (i = 0; i < CHILDREN_MAX; i++) {
		if (child_pids[i] == old) {
			child_pids[i] = pid;
			return;
		}
	}
}

static void
kill_all(void)
{
	int i;
	pid_t pid;

	for (i = 0; i < CHILDREN_MAX; i++) {
		pid = child_pids[i];
		if (pid > 0) {
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			child_pids[i] = 0;
		}
	}
}

static void
on_signal(int sig)
{
	kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

void
perf_proc_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(kill_all);
}

/* This program's path, resolved once before forking. */
static char self_path[4096];

static void
resolve_self(void)
{
	ssize_t n;

	if (self_path[0] != '\0')
		return;
	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	self_path[n > 0 ? n : 0] = '\0';
	if (strstr(self_path, " (deleted)") != NULL)
		self_path[0] = '\0';
}

/* In the child, between fork and exec: fd 3 is the control socket.  Only
 * async-signal-safe calls: the parent has threads. */
static void
child_exec(int fd, char *const argv[], char *const envp[], pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	if (fd != 3 && (dup2(fd, 3) < 0 || close(fd) < 0))
		_exit(127);
	if (fcntl(3, F_SETFD, 0) < 0)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	/* By its path, so the child is "aemp-perf" in ps and top; a binary
	 * replaced meanwhile (a rebuild) is still reachable as /proc/self/exe
	 * (the path was resolved before the fork). */
	if (self_path[0] != '\0')
		execve(self_path, argv, envp);
	execve("/proc/self/exe", argv, envp);
	_exit(127);
}

/* Variables the children get from the parent (secrets and keys stay off
 * command lines, where every user of the machine could read them). */
static const char *const env_keys[2] = {"AEMP_PERF_SECRET=", "AEMP_PERF_CERT="};

static char *
env_pair(const char *key, const char *value)
{
	char *kv = malloc(strlen(key) + strlen(value) + 1);

	if (kv != NULL) {
		strcpy(kv, key);
		strcat(kv, value);
	}
	return kv;
}

static int
is_ours(const char *kv)
{
	return strncmp(kv, env_keys[0], strlen(env_keys[0])) == 0 ||
	       strncmp(kv, env_keys[1], strlen(env_keys[1])) == 0;
}

/* child_env - a copy of the environment with values[i] set for
 * env_keys[i] (NULL: unset).  Returns new (env_free) or NULL. */
static char **
child_env(const char *const values[2], char *mine[2])
{
	extern char **environ;
	size_t n = 0, i, j = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (!is_ours(environ[i]))
			env[j++] = environ[i];
	}
	for (i = 0; i < 2; i++) {
		mine[i] = NULL;
		if (values[i] == NULL)
			continue;
		mine[i] = env_pair(env_keys[i], values[i]);
		if (mine[i] == NULL) {
			free(mine[0]);
			free(env);
			return NULL;
		}
		env[j++] = mine[i];
	}
	return env;
}

static void
env_free(char **env, char *mine[2])
{
	free(mine[0]);
	free(mine[1]);
	free(env);
}

int
perf_child_spawn(struct perf_child *c, char *const argv[], const char *secret,
                 const char *cert)
{
	const char *values[2] = {secret, cert};
	int sv[2];
	pid_t parent = getpid(), pid;
	char **env, *mine[2];

	memset(c, 0, sizeof(*c));
	c->ctl = -1;
	resolve_self();
	env = child_env(values, mine);
	if (env == NULL)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		env_free(env, mine);
		return -errno;
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		child_exec(sv[1], argv, env, parent);
	}
	env_free(env, mine);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -errno;
	}
	c->pid = pid;
	c->ctl = sv[0];
	track(pid, 0);
	return 0;
}

/* take_line - move one complete line out of c->buf, if there is one. */
static int
take_line(struct perf_child *c, char *buf, size_t cap)
{
	char *nl = memchr(c->buf, '\n', c->len);
	size_t n;

	if (nl == NULL)
		return -EAGAIN;
	n = (size_t)(nl - c->buf);
	if (n >= cap)
		return -EMSGSIZE;
	memcpy(buf, c->buf, n);
	buf[n] = '\0';
	c->len -= n + 1;
	memmove(c->buf, nl + 1, c->len);
	return (int)n;
}

/* fill - read what c's socket has (it was readable). */
static int
fill(struct perf_child *c)
{
	ssize_t got;

	if (c->len == sizeof(c->buf))
		return -EMSGSIZE;
	got = read(c->ctl, c->buf + c->len, sizeof(c->buf) - c->len);
	if (got == 0)
		return -EPIPE;
	if (got < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	c->len += (size_t)got;
	return 0;
}

int
perf_child_line(struct perf_child *c, char *buf, size_t cap, int timeout_ms)
{
	int64_t end = perf_now_ns() + (int64_t)timeout_ms * 1000000;
	struct pollfd pfd = {c->ctl, POLLIN, 0};
	int rc, left;

	for (;;) {
		rc = take_line(c, buf, cap);
		if (rc != -EAGAIN)
			return rc;
		if (c->len == sizeof(c->buf))
			return -EMSGSIZE;
		left = (int)((end - perf_now_ns()) / 1000000);
		if (left <= 0)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, left);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0)
			continue;
		rc = fill(c);
		if (rc < 0)
			return rc;
	}
}

int
perf_child_serve(struct perf_child *ctl,
                 int (*cmd)(void *arg, struct perf_child *ctl,
                            const char *line),
                 void *arg)
{
	char line[sizeof(ctl->buf)];
	int rc;

	for (;;) {
		rc = perf_child_line(ctl, line, sizeof(line), 3600000);
		if (rc == -ETIMEDOUT)
			continue;
		if (rc == -EPIPE)
			return 0;
		if (rc < 0)
			return perf_err(PERF_EFAIL, "control socket: %s",
			                aemp_strerror(rc));
		rc = cmd(arg, ctl, line);
		if (rc != 0)
			return rc;
	}
}

int
perf_child_any(struct perf_child *const *cs, int n, int *which, char *buf,
               size_t cap, int timeout_ms)
{
	int64_t end = perf_now_ns() + (int64_t)timeout_ms * 1000000;
	struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
	int i, rc, left;

	if (pfd == NULL)
		return -ENOMEM;
	for (;;) {
		for (i = 0; i < n; i++) {
			*which = i;
			rc = cs[i]->ctl < 0 ? -EAGAIN
			                    : take_line(cs[i], buf, cap);
			if (rc != -EAGAIN)
				goto out;
			pfd[i].fd = cs[i]->ctl; /* < 0: ignored */
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		rc = -ETIMEDOUT;
		left = (int)((end - perf_now_ns()) / 1000000);
		if (left <= 0)
			goto out;
		if (poll(pfd, (nfds_t)n, left) < 0 && errno != EINTR) {
			rc = -errno;
			goto out;
		}
		for (i = 0; i < n; i++) {
			*which = i;
			rc = pfd[i].revents != 0 ? fill(cs[i]) : 0;
			if (rc < 0)
				goto out;
		}
	}
out:
	free(pfd);
	return rc;
}

int
perf_child_say(struct perf_child *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;
	size_t off = 0;
	ssize_t w;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		return -EMSGSIZE;
	line[n++] = '\n';
	while (off < (size_t)n) {
		w = write(c->ctl, line + off, (size_t)n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	return 0;
}

static int
status_of(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

int
perf_child_stop(struct perf_child *c)
{
	int64_t end = perf_now_ns() + 5 * (int64_t)1000000000;
	int st = 0;
	pid_t r;

	if (c->ctl >= 0)
		close(c->ctl);
	c->ctl = -1;
	if (c->pid <= 0)
		return 0;
	do {
		r = waitpid(c->pid, &st, WNOHANG);
		if (r == 0)
			perf_sleep_ms(5);
	} while (r == 0 && perf_now_ns() < end);
	if (r == 0) {
		kill(c->pid, SIGKILL);
		r = waitpid(c->pid, &st, 0);
		st = 0; /* we killed it: not its failure */
	}
	track(0, c->pid);
	c->pid = 0;
	return r > 0 ? status_of(st) : -1;
}
