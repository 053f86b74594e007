/*
 * engine/net/listen.c - listeners (aemp-protocol.md §7.2): bound when the node
 * is created, so bad binds and ports in use fail aemp_node_new with a
 * clear message; accepted on the control shard with multishot accepts.
 * Room for each accepted connection is made by engine/net/hsq.c (a
 * flood of idle connections cannot exhaust the node nor lock peers out).
 *
 * Descriptors: creating a node raises the process's open-file soft limit
 * to the hard limit.  When accept fails for lack of descriptors, it is
 * re-armed by a timer (LISTEN_RETRY_NS) rather than at once, which would
 * spin on the same error; idle pending handshakes are closed to free
 * descriptors.  A flood keeps the node at its limit (each freed descriptor
 * is taken again), so the failures are logged in one warning per
 * LISTEN_WARN_NS, not per failure nor per recovery.
 *
 * Threads: binding on the creating thread; accepting on shard 0.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "engine/net/netint.h"
#include "ring/alloc.h"

/* The listen backlog asked for; the kernel caps it at net.core.somaxconn
 * (4096 by default since Linux 5.4).  A burst of connections beyond the
 * backlog loses SYNs, and a real peer's retransmits wait 1 s, 3 s, ...:
 * the node accepts at once and makes room itself (engine/net/hsq.c), so
 * the deeper the better. */
#define LISTEN_BACKLOG 65535

/* At most one warning about accepts failing for lack of descriptors per
 * this interval (per listener). */
#define LISTEN_WARN_NS (60ull * 1000 * 1000 * 1000)

/* Re-arming delay of an accept that failed for lack of descriptors:
 * short when idle handshakes were closed (up to LISTEN_STARVE_CLOSE per
 * failure, so the backlog drains at a few hundred per second), longer
 * when nothing could be freed. */
#define LISTEN_RETRY_NS (20ull * 1000 * 1000)
#define LISTEN_IDLE_RETRY_NS (100ull * 1000 * 1000)
#define LISTEN_STARVE_CLOSE 8

static int
bind_one(const struct eng_addr *a, struct eng_listener *l)
{
	int fd, one = 1;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	            0);
	if (fd < 0)
		return AEMP_SET_ERR(-errno, "binds: socket for %s: %s", a->text,
		                    strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		                 sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		int e = errno;

		close(fd);
		return AEMP_SET_ERR(-e, "binds: cannot listen on %s: %s",
		                    a->text, strerror(e));
	}
	l->fd = fd;
	memcpy(&l->addr.ss, &ss, len);
	l->addr.len = len;
	eng_addr_format((struct sockaddr *)&ss, l->addr.text,
	                sizeof(l->addr.text));
	return 0;
}

static int
make_list(struct eng_net *net)
{
	aemp_val *v = ring_alloc((net->nlst + 1) * sizeof(aemp_val));
	size_t i, len = 2;

	if (v == NULL)
		return -ENOMEM;
	for (i = 0; i < net->nlst; i++) {
		v[i] = aemp_str(net->lst[i].addr.text);
		len += strlen(net->lst[i].addr.text) + 3;
	}
	net->lst_val = aemp_msg_dup(v, net->nlst);
	net->lst_json = ring_alloc(len + 1);
	net->lst_json_cap = len + 1;
	if (net->lst_val != NULL && net->lst_json != NULL)
		aemp_json_format(net->lst_val, net->lst_json, len + 1);
	ring_free(v, (net->nlst + 1) * sizeof(aemp_val));
	return net->lst_val != NULL && net->lst_json != NULL ? 0 : -ENOMEM;
}

/*
 * raise_nofile - soft open-file limit up to the hard limit, for the
 * process (the limit is per process; every node does it, which is
 * idempotent).  A node holds a descriptor per connection, pending
 * handshakes included; the usual soft limit of 1024 would be reached by
 * a modest flood long before max_handshakes.  The outcome is logged when
 * the node starts (eng_listen_start).
 */
static void
raise_nofile(struct eng_net *net)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		net->nofile_err = errno;
		return;
	}
	net->nofile_old = (uint64_t)rl.rlim_cur;
	net->nofile = (uint64_t)rl.rlim_cur;
	if (rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		net->nofile_err = errno;
	else
		net->nofile = (uint64_t)rl.rlim_cur;
}

static void
log_nofile(struct aemp_node *node)
{
	struct eng_net *net = eng_net(node);
	unsigned long long want =
	        (unsigned long long)node->cfg.max_handshakes + 64;

	if (net->nofile_err != 0)
		eng_log(node, AEMP_LOG_WARN,
		        "cannot raise the open-file limit (%llu): %s",
		        (unsigned long long)net->nofile_old,
		        strerror(net->nofile_err));
	else if (net->nofile != net->nofile_old)
		eng_log(node, AEMP_LOG_INFO,
		        "open-file limit raised from %llu to %llu (the hard "
		        "limit)",
		        (unsigned long long)net->nofile_old,
		        (unsigned long long)net->nofile);
	if (net->nofile < want)
		eng_log(node, AEMP_LOG_WARN,
		        "open-file limit %llu is below max_handshakes + 64 "
		        "(%llu): a flood of connections can exhaust the "
		        "descriptors; raise the hard limit (ulimit -Hn)",
		        (unsigned long long)net->nofile, want);
}

int
eng_listen_bind(struct aemp_node *node)
{
	struct eng_net *net = eng_net(node);
	struct eng_addr *addrs = NULL;
	size_t n = 0, i;
	int rc;

	raise_nofile(net);

	if (node->cfg.nbinds > 0) {
		rc = eng_addr_resolve(node->cfg.binds, node->cfg.nbinds, &addrs,
		                      &n);
		if (rc < 0)
			return rc;
	}
	net->lst = ring_zalloc((n ? n : 1) * sizeof(*net->lst));
	if (net->lst == NULL) {
		eng_addr_free(addrs);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		net->lst[i].fd = -1;
	for (rc = 0, i = 0; rc == 0 && i < n; i++) {
		rc = bind_one(&addrs[i], &net->lst[i]);
		if (rc == 0)
			net->nlst++;
	}
	eng_addr_free(addrs);
	if (rc == 0)
		rc = make_list(net);
	return rc;
}

void
eng_listen_close(struct aemp_node *node)
{
	struct eng_net *net = eng_net(node);
	size_t i;

	if (net->lst == NULL)
		return;
	for (i = 0; i < net->nlst; i++) {
		if (net->lst[i].fd >= 0)
			close(net->lst[i].fd);
	}
	ring_free(net->lst, (net->nlst ? net->nlst : 1) * sizeof(*net->lst));
	net->lst = NULL;
	net->nlst = 0;
}

static void arm_accept(struct eng_shard *sh, struct eng_listener *l);

static void
accepted(struct eng_shard *sh, int fd)
{
	struct eng_addr a;
	struct eng_conn *c;

	memset(&a, 0, sizeof(a));
	a.len = sizeof(a.ss);
	if (getpeername(fd, (struct sockaddr *)&a.ss, &a.len) == 0)
		eng_addr_format((struct sockaddr *)&a.ss, a.text,
		                sizeof(a.text));
	if (eng_hsq_admit(sh, &a) < 0) {
		close(fd);
		return;
	}
	c = eng_conn_new(sh, fd, 0, &a);
	if (c == NULL)
		return;
	eng_hsq_add(c);
	eng_conn_start(c);
}

static int
lack_of_fds(int res)
{
	return res == -EMFILE || res == -ENFILE || res == -ENOBUFS ||
	       res == -ENOMEM;
}

/* starved - accept failed with res (lack_of_fds): warn at most once per
 * LISTEN_WARN_NS, free a descriptor if an idle handshake holds one, and
 * try again after LISTEN_RETRY_NS. */
static void
starved(struct eng_shard *sh, struct eng_listener *l, int res)
{
	uint64_t now = sh->loop.now_ns;
	int freed;

	l->nstarved++;
	if (l->starved_log_ns == 0 ||
	    now - l->starved_log_ns >= LISTEN_WARN_NS) {
		eng_log(sh->node, AEMP_LOG_WARN,
		        "accept on %s: %s (open-file limit %llu): %lu "
		        "failures since the last warning; new connections "
		        "wait in the listen backlog; idle handshakes are "
		        "closed to make room, retrying every %llu ms",
		        l->addr.text, strerror(-res),
		        (unsigned long long)eng_net(sh->node)->nofile,
		        l->nstarved, LISTEN_RETRY_NS / 1000000);
		l->starved_log_ns = now;
		l->nstarved = 0;
	}
	freed = eng_hsq_evict_silent(sh, "out of file descriptors",
	                             LISTEN_STARVE_CLOSE);
	if (!l->armed)
		ring_timer_start(&sh->loop.timers, &l->retry,
		                 now + (freed > 0 ? LISTEN_RETRY_NS
		                                  : LISTEN_IDLE_RETRY_NS));
}

static void
retry_accept(struct ring_timer *t)
{
	struct eng_listener *l =
	        AEMP_CONTAINER_OF(t, struct eng_listener, retry);
	struct eng_shard *sh = eng_cur;

	if (!l->armed && !eng_snet(sh)->stopping)
		arm_accept(sh, l);
}

static void
accept_done(struct ring_op *op, int res, uint32_t flags)
{
	struct eng_listener *l =
	        AEMP_CONTAINER_OF(op, struct eng_listener, accept_op);
	struct eng_shard *sh = eng_cur;

	if (!(flags & IORING_CQE_F_MORE))
		l->armed = 0;
	if (res >= 0) {
		accepted(sh, res);
	} else if (lack_of_fds(res)) {
		starved(sh, l, res);
		return;
	} else if (res != -ECANCELED) {
		eng_log(sh->node, AEMP_LOG_ERROR, "accept on %s: %s",
		        l->addr.text, strerror(-res));
	}
	if (!l->armed && !eng_snet(sh)->stopping && res != -EBADF)
		arm_accept(sh, l);
}

static void
arm_accept(struct eng_shard *sh, struct eng_listener *l)
{
	struct io_uring_sqe *sqe = ring_sqe(&sh->loop);

	l->accept_op.fn = accept_done;
	io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL,
	                               SOCK_NONBLOCK | SOCK_CLOEXEC);
	ring_sqe_op(sqe, &l->accept_op);
	l->armed = 1;
}

void
eng_listen_start(struct eng_shard *sh)
{
	struct eng_net *net = eng_net(sh->node);
	size_t i;

	log_nofile(sh->node);
	for (i = 0; i < net->nlst; i++) {
		ring_timer_init(&net->lst[i].retry, retry_accept);
		arm_accept(sh, &net->lst[i]);
	}
}

void
eng_listen_stop(struct eng_shard *sh)
{
	struct eng_net *net = eng_net(sh->node);
	size_t i;

	for (i = 0; i < net->nlst; i++)
		ring_timer_stop(&sh->loop.timers, &net->lst[i].retry);
}
