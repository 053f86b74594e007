/*
 * tests/integ/procs.h - node processes for multi-process tests.  The test
 * binary runs itself again with "--role NAME ARGS..." for each child; a
 * child prints lines on stdout ("addr [...]", "ready", ...) that the
 * driver reads with a timeout.  Children die with the driver
 * (PR_SET_PDEATHSIG), and the driver kills and reaps every child at exit
 * and on SIGALRM/SIGTERM, so no process outlives a test.
 *
 * Threads: the driver's main thread.
 */
#ifndef TESTS_INTEG_PROCS_H
#define TESTS_INTEG_PROCS_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* proc_spawn - run this binary with "--role" argv...; returns the index. */
static inline int
proc_spawn(const char *const *argv)
{
	posix_spawn_file_actions_t fa;
	char *args[32];
	int pfd[2], i, n = 0;
	struct proc *p = &procs[nprocs];

	if (nprocs >= PROC_MAX || pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	args[n++] = "/proc/self/exe";
	args[n++] = "--role";
	for (i = 0; argv[i] != NULL && n < 31; i++)
		args[n++] = (char *)argv[i];
	args[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	if (posix_spawn(&p->pid, "/proc/self/exe", &fa, NULL, args, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	p->out = pfd[0];
	p->len = 0;
	return nprocs++;
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

/* free_port - a port number free on 127.0.0.1 right now. */
static inline int
free_port(void)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

#endif /* TESTS_INTEG_PROCS_H */
