/*
 * engine/net/metrics.c - the metrics endpoint's HTTP side (docs/metrics.md):
 * GNU libmicrohttpd on one internal thread of its own, answering
 * GET|HEAD /metrics with the exposition, 404 for other paths, 405 for
 * other methods; libmicrohttpd answers malformed requests with 400 and
 * requests whose line and headers exceed ENG_MHTTP_MEM_LIMIT with 414/431.
 * At most ENG_MHTTP_MAX_CONNS connections are open at once (more wait in
 * the listen backlog), idle ones are closed after ENG_MHTTP_TIMEOUT_S.
 * The server's thread blocks every signal: the application's handlers run
 * on its own threads (`aemp run` waits for SIGTERM in sigsuspend).
 *
 * Invariants: the listening socket is bound on the thread creating the
 * node, so a bad or busy address fails aemp_node_new with a message; the
 * server is stopped (thread joined) before the shards are freed.
 *
 * Threads: start/stop on the node's creating/freeing thread; requests on
 * libmicrohttpd's thread, which reads counters only (metrics_text.c).
 */
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/net/metrics.h"
#include "engine/net/netint.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct eng_mhttp {
	struct MHD_Daemon *d;
	eng_mhttp_render_fn render;
	void *arg;
	struct aemp_node *node; /* log target, may be NULL */
};

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned code, char *body, size_t len,
      int must_free, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	if (must_free)
		r = MHD_create_response_from_buffer(len, body,
		                                    MHD_RESPMEM_MUST_FREE);
	else
		r = MHD_create_response_from_buffer(len, body,
		                                    MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		if (must_free)
			free(body);
		return MHD_NO; /* closes the connection */
	}
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                              code == MHD_HTTP_OK
	                                      ? CONTENT_TYPE
	                                      : "text/plain; charset=utf-8");
	if (allow != NULL)
		(void)MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	rc = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
reply_static(struct MHD_Connection *conn, unsigned code, const char *msg,
             const char *allow)
{
	/* PERSISTENT: libmicrohttpd never writes through the pointer. */
	return reply(conn, code, (char *)(uintptr_t)msg, strlen(msg), 0, allow);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload,
           size_t *upload_len, void **req_ctx)
{
	struct eng_mhttp *h = cls;
	char *text = NULL;
	size_t len = 0;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)req_ctx;
	/* Answered on the first call, before any body is read: libmicrohttpd
	 * then discards the body or closes the connection. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		                    "method not allowed: use GET /metrics\n",
		                    "GET, HEAD");
	if (strcmp(url, "/metrics") != 0)
		return reply_static(conn, MHD_HTTP_NOT_FOUND,
		                    "not found: the metrics are at /metrics\n",
		                    NULL);
	if (h->render(h->arg, &text, &len) < 0)
		return reply_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		                    "out of memory rendering the metrics\n",
		                    NULL);
	return reply(conn, MHD_HTTP_OK, text, len, 1, NULL);
}

static void
on_log(void *cls, const char *fmt, va_list ap)
{
	struct eng_mhttp *h = cls;
	char buf[256];
	size_t n;

	if (h->node == NULL)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	eng_log(h->node, AEMP_LOG_DEBUG, "metrics endpoint: %s", buf);
}

/* Start the daemon with every signal blocked in the calling thread, so
 * that its thread inherits the full mask; the caller's mask is restored. */
static struct MHD_Daemon *
start_blocked(unsigned flags, struct eng_mhttp *h, struct MHD_OptionItem *opts)
{
	struct MHD_Daemon *d;
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
	                     MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return d;
}

int
eng_mhttp_start(struct eng_mhttp **out, int lfd, eng_mhttp_render_fn fn,
                void *arg, struct aemp_node *node, unsigned timeout_s)
{
	struct eng_mhttp *h = calloc(1, sizeof(*h));
	unsigned flags = MHD_USE_ERROR_LOG;

	*out = NULL;
	if (h == NULL) {
		if (lfd >= 0)
			close(lfd);
		return -ENOMEM;
	}
	h->render = fn;
	h->arg = arg;
	h->node = node;
	struct MHD_OptionItem opts[] = {
	        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_log, h},
	        {MHD_OPTION_CONNECTION_LIMIT, ENG_MHTTP_MAX_CONNS, NULL},
	        {MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, NULL},
	        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, ENG_MHTTP_MEM_LIMIT, NULL},
	        {MHD_OPTION_LISTEN_SOCKET, lfd, NULL},
	        {MHD_OPTION_END, 0, NULL},
	};

	/* Without a listening socket the option must be left out. */
	if (lfd < 0) {
		flags |= MHD_USE_NO_LISTEN_SOCKET;
		opts[4].option = MHD_OPTION_END;
	} else {
		flags |= MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	}
	h->d = start_blocked(flags, h, opts);
	if (h->d == NULL) {
		if (lfd >= 0)
			close(lfd);
		free(h);
		return AEMP_SET_ERR(-EIO, "metrics: cannot start the HTTP "
		                          "server (libmicrohttpd)");
	}
	*out = h;
	return 0;
}

int
eng_mhttp_add_conn(struct eng_mhttp *h, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 || len == 0) {
		ss.ss_family = AF_UNIX;
		len = sizeof(sa_family_t);
	}
	/* libmicrohttpd closes fd on failure too. */
	if (MHD_add_connection(h->d, fd, (struct sockaddr *)&ss, len) !=
	    MHD_YES)
		return -EIO;
	return 0;
}

void
eng_mhttp_run(struct eng_mhttp *h)
{
	(void)MHD_run(h->d);
}

void
eng_mhttp_stop(struct eng_mhttp *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->d); /* joins the thread, closes the sockets */
	free(h);
}

/* ---- node hooks ------------------------------------------------------ */

static int
bind_metrics(struct aemp_node *node, int *fdp)
{
	struct eng_net *net = eng_net(node);
	struct eng_addr a;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, e, one = 1;

	if (eng_addr_parse_numeric(node->cfg.metrics, strlen(node->cfg.metrics),
	                           &a) < 0)
		return AEMP_ECONFIG; /* checked by eng_config_build already */
	fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	            0);
	if (fd < 0)
		return AEMP_SET_ERR(-errno, "metrics: socket for %s: %s",
		                    a.text, strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0 ||
	    listen(fd, ENG_MHTTP_MAX_CONNS) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		e = errno;
		close(fd);
		return AEMP_SET_ERR(-e, "metrics: cannot listen on %s: %s",
		                    a.text, strerror(e));
	}
	eng_addr_format((struct sockaddr *)&ss, net->metrics_addr,
	                sizeof(net->metrics_addr));
	*fdp = fd;
	return 0;
}

int
eng_metrics_node_new(struct aemp_node *node)
{
	struct eng_net *net = eng_net(node);
	int fd = -1, rc, i;

	if (node->cfg.metrics == NULL)
		return 0;
	if ((rc = bind_metrics(node, &fd)) < 0)
		return rc;
	/* Sampled handler run times (aemp_handler_seconds): only with the
	 * endpoint on, the one place that shows them, one run in
	 * metrics_sample (0: none).  No shard runs yet. */
	for (i = 0; i < node->nshards; i++) {
		node->shards[i]->st.htime_every = node->cfg.metrics_sample;
		node->shards[i]->st.htime_cd = node->cfg.metrics_sample;
	}
	rc = eng_mhttp_start(&net->metrics, fd, eng_metrics_render, node, node,
	                     ENG_MHTTP_TIMEOUT_S);
	if (rc < 0)
		net->metrics_addr[0] = '\0';
	return rc;
}

void
eng_metrics_node_free(struct aemp_node *node)
{
	struct eng_net *net = eng_net(node);

	eng_mhttp_stop(net->metrics);
	net->metrics = NULL;
	net->metrics_addr[0] = '\0';
}

AEMP_API int
aemp_metrics_addr(aemp_node *node, char *out, size_t cap)
{
	const char *a;
	size_t n;

	if (node == NULL || out == NULL || cap == 0)
		return -EINVAL;
	a = node->net != NULL ? eng_net(node)->metrics_addr : "";
	n = strlen(a);
	if (n >= cap) {
		memcpy(out, a, cap - 1);
		out[cap - 1] = '\0';
		return AEMP_ETOOBIG;
	}
	memcpy(out, a, n + 1);
	return (int)n;
}
