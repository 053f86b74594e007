/*
 * engine/net/metrics.h - the Prometheus metrics endpoint (docs/metrics.md):
 * an HTTP server (GNU libmicrohttpd) on its own thread answering
 * GET /metrics with the text exposition format 0.0.4, and the renderer of
 * that text from the shards' counters.
 *
 * Threads: eng_metrics_node_new/free on the thread creating/freeing the
 * node; the HTTP server runs on its own thread and only reads counters
 * (relaxed atomic loads) and the peer table (under net->upmu).  Nothing
 * here runs on a shard or adds work to the message path.
 */
#ifndef ENGINE_NET_METRICS_H
#define ENGINE_NET_METRICS_H

#include <stddef.h>

#include "aemp.h"

struct aemp_node;
struct eng_mhttp;

/* Bounds of the HTTP server (docs/metrics.md "Limits"). */
#define ENG_MHTTP_MAX_CONNS 16         /* open connections at once */
#define ENG_MHTTP_TIMEOUT_S 10         /* idle connection timeout */
#define ENG_MHTTP_MEM_LIMIT 16384      /* request line + headers, bytes */
#define ENG_METRICS_TEXT_MAX (8 << 20) /* largest exposition, bytes */
#define ENG_METRICS_PEERS_MAX 256      /* peers listed with a peer label */

/*
 * Renders the exposition into a malloc'ed buffer (*text, *len; freed by
 * the server with free()).  Returns 0 or -ENOMEM.
 */
typedef int (*eng_mhttp_render_fn)(void *arg, char **text, size_t *len);

/*
 * eng_mhttp_start - serve GET /metrics on listening socket lfd (taken
 * over: closed by eng_mhttp_stop) from a thread of its own; or, with lfd
 * -1 (the fuzzer), on connections given by eng_mhttp_add_conn only, with
 * no thread: the caller drives the server with eng_mhttp_run.  node (may be NULL) receives
 * the server's log lines; idle connections are closed after timeout_s
 * seconds (ENG_MHTTP_TIMEOUT_S for nodes).  Returns 0 or -ENOMEM / -EIO with a
 * message; lfd is closed on error.
 */
int eng_mhttp_start(struct eng_mhttp **out, int lfd, eng_mhttp_render_fn fn,
                    void *arg, struct aemp_node *node, unsigned timeout_s);

/* eng_mhttp_add_conn - hand connected socket fd to the server (which
 * closes it).  Returns 0 or -EIO. */
int eng_mhttp_add_conn(struct eng_mhttp *h, int fd);

/* eng_mhttp_run - one non-blocking round of a thread-less server (lfd -1):
 * read, answer, close what is ready. */
void eng_mhttp_run(struct eng_mhttp *h);

/* eng_mhttp_stop - close every connection, join the thread, free h. */
void eng_mhttp_stop(struct eng_mhttp *h);

/*
 * eng_metrics_render - the node's exposition into a malloc'ed buffer.
 * Returns 0 or -ENOMEM.  Any thread.
 */
int eng_metrics_render(void *node, char **text, size_t *len);

/* eng_metrics_stats - the figures aemp::stats shares with the endpoint
 * (peers up and down, resident memory) into out.  Any thread. */
void eng_metrics_stats(struct aemp_node *node, aemp_stats *out);

/* eng_metrics_node_new - bind and start the endpoint when the `metrics`
 * key is set.  Returns 0, or an error with a message naming the key. */
int eng_metrics_node_new(struct aemp_node *node);

/* eng_metrics_node_free - stop the endpoint (no-op when off). */
void eng_metrics_node_free(struct aemp_node *node);

#endif /* ENGINE_NET_METRICS_H */
