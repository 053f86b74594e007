/*
 * perf/node.c - nodes for aemp-perf: configuration through the public
 * configuration API, start, bounded waits for connections, and the perf
 * port, which counts and checks data messages, answers syncs and echoes.
 *
 * A perf port's state is touched only by the shard it lives on; the
 * totals for the serve summary are atomics.  Sequence numbers are checked
 * per sender ID: a number above the expected one counts the skipped
 * numbers as gaps, a number below it counts one reorder; at a sync, the
 * numbers the sender says it sent and that never came are gaps too.
 *
 * Threads: perf_node_* on the main thread; handlers on shard threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "perf/perf.h"

#define SIDS_MAX 4096

/* One stream, in slot SID % SIDS_MAX.  SEQ 0 starts a stream (so runs
 * may reuse sender IDs); streams that share a slot at the same time are
 * not supported (sender IDs of one run are consecutive). */
struct sid_state {
	int64_t sid;
	int64_t next; /* next expected sequence number */
	int64_t received;
	int64_t gaps;
	int64_t reorders;
};

struct perf_port {
	struct sid_state sids[SIDS_MAX];
	aemp_ref reply; /* cached destination of the last echo */
	char reply_id[AEMP_ID_MAX];
	int has_reply;
	uint64_t msgs;              /* shard's own count */
	_Atomic uint64_t msgs_seen; /* copy for other threads */
	aemp_id id;
};

/* The perf ports of this process (main thread creates and frees them). */
#define PORTS_MAX 256
static struct perf_port *ports_made[PORTS_MAX];
static int nports_made;

static int
set_int(aemp_conf *c, const char *key, int v)
{
	char num[32];

	snprintf(num, sizeof(num), "%d", v);
	return aemp_conf_set_json(c, key, num);
}

/* set_list - key as a JSON array of the comma-separated items (NULL or
 * "": empty). */
static int
set_list(aemp_conf *c, const char *key, const char *items)
{
	char json[4096];
	size_t n = 1, len;
	const char *p = items, *comma;

	if (items == NULL || items[0] == '\0')
		return aemp_conf_set_json(c, key, "[]");
	json[0] = '[';
	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (n + len + 4 >= sizeof(json))
			return AEMP_ECONFIG;
		n += (size_t)sprintf(json + n, "%s\"%.*s\"", n > 1 ? "," : "",
		                     (int)len, p);
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	json[n++] = ']';
	json[n] = '\0';
	return aemp_conf_set_json(c, key, json);
}

/* max_queue, and max_packet down to it if needed (the engine wants
 * max_packet <= max_queue). */
static int
set_queue(aemp_conf *c, uint64_t max_queue)
{
	char num[32];
	int rc;

	snprintf(num, sizeof(num), "%llu", (unsigned long long)max_queue);
	rc = aemp_conf_set_json(c, "max_queue", num);
	if (rc == 0 && max_queue < (16 << 20))
		rc = aemp_conf_set_json(c, "max_packet", num);
	return rc;
}

static int
set_framing(aemp_conf *c, const char *framing)
{
	if (strcmp(framing, "json") == 0)
		return aemp_conf_set_json(c, "framing_format",
		                          "[\"json\",\"cbor\"]");
	return aemp_conf_set_json(c, "framing_format", "[\"cbor\",\"json\"]");
}

/* $AEMP_PERF_LOG (1..9): the engine's own log at that level, for
 * debugging; else NULL: errors on stderr, warnings kept for reports. */
static const char *
log_level(void)
{
	const char *l = getenv("AEMP_PERF_LOG");

	return l != NULL && l[0] >= '1' && l[0] <= '9' && l[1] == '\0' ? l
	                                                               : NULL;
}

static pthread_mutex_t warn_mu = PTHREAD_MUTEX_INITIALIZER;
static char last_warn[256];

/* What a connection negotiated, from the engine's INFO line "connection
 * ADDR to PEER: authenticated over TRANSPORT; auth ...; framing sent F,
 * received G" (the API has no query for it). */
struct conn_info {
	char peer[AEMP_ID_MAX];
	char transport[96];
	char framing[8]; /* what the peer sends us */
};

#define CONNS_MAX 64
static struct conn_info conns[CONNS_MAX];
static int nconns;

static void
copy_until(char *dst, size_t cap, const char *src, const char *stop)
{
	const char *end = strstr(src, stop);
	size_t n = end != NULL ? (size_t)(end - src) : strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* note_auth - under warn_mu. */
static void
note_auth(const char *msg)
{
	const char *to = strstr(msg, " to "), *over, *fr;
	struct conn_info *ci;

	over = strstr(msg, ": authenticated over ");
	fr = strstr(msg, ", received ");
	fr = fr != NULL ? strstr(fr + 1, ", received ") : NULL;
	if (to == NULL || over == NULL || to > over || nconns == CONNS_MAX)
		return;
	ci = &conns[nconns++];
	copy_until(ci->peer, sizeof(ci->peer), to + 4, ": authenticated");
	copy_until(ci->transport, sizeof(ci->transport), over + 21, ";");
	copy_until(ci->framing, sizeof(ci->framing), fr != NULL ? fr + 11 : "?",
	           ";");
}

/* log_sink - shard threads: errors go to stderr at once; the last warning
 * is kept, because a stalled run is explained by it ("send queue
 * overflow") more often than not; authentications are noted. */
static void
log_sink(int level, const char *nodeid, const char *msg, void *arg)
{
	(void)arg;
	if (level <= AEMP_LOG_ERROR) {
		fprintf(stderr, "aemp-perf: node %s: %s\n", nodeid, msg);
		return;
	}
	pthread_mutex_lock(&warn_mu);
	if (level == AEMP_LOG_WARN)
		snprintf(last_warn, sizeof(last_warn), "node %s: %s", nodeid,
		         msg);
	else if (strstr(msg, ": authenticated over ") != NULL)
		note_auth(msg);
	pthread_mutex_unlock(&warn_mu);
}

int
perf_conn_info(const char *peer, char *transport, size_t tcap, char *framing,
               size_t fcap)
{
	int i, rc = -ENOENT;

	pthread_mutex_lock(&warn_mu);
	for (i = nconns - 1; i >= 0 && rc != 0; i--) {
		if (strcmp(conns[i].peer, peer) == 0) {
			snprintf(transport, tcap, "%s", conns[i].transport);
			snprintf(framing, fcap, "%s", conns[i].framing);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&warn_mu);
	return rc;
}

void
perf_last_warning(char *buf, size_t cap)
{
	pthread_mutex_lock(&warn_mu);
	snprintf(buf, cap, "%s", last_warn);
	pthread_mutex_unlock(&warn_mu);
}

static int
conf_fill(aemp_conf *c, const struct perf_nodecfg *cfg)
{
	int rc = 0;

	/* Without a secret on the command line, the configuration file
	 * supplies it (and TLS settings); our arguments still win (force). */
	if (cfg->secret != NULL) {
		rc = aemp_conf_set_json(c, "norc", "true");
		if (rc == 0)
			rc = aemp_conf_set_str(c, "secret", cfg->secret);
	} else {
		rc = aemp_conf_set_json(c, "force", "true");
	}
	if (rc == 0 && cfg->nodeid != NULL)
		rc = aemp_conf_set_str(c, "nodeid", cfg->nodeid);
	if (rc == 0)
		rc = set_list(c, "binds",
		              cfg->bind != NULL ? cfg->bind : "127.0.0.1:0");
	if (rc == 0)
		rc = set_list(c, "seeds", cfg->seed);
	if (rc == 0)
		rc = set_framing(c, cfg->framing);
	if (rc == 0 && cfg->cert != NULL)
		rc = aemp_conf_set_str(c, "cert", cfg->cert);
	if (rc == 0 && cfg->max_queue != 0)
		rc = set_queue(c, cfg->max_queue);
	if (rc == 0)
		rc = set_int(c, "shards", cfg->shards);
	if (rc == 0 && cfg->fragment_size != NULL)
		rc = aemp_conf_set_json(c, "fragment_size", cfg->fragment_size);
	if (rc == 0 && cfg->socket_buffer != NULL)
		rc = aemp_conf_set_json(c, "socket_buffer", cfg->socket_buffer);
	if (rc == 0 && cfg->busy_poll_us > 0)
		rc = set_int(c, "busy_poll_us", cfg->busy_poll_us);
	if (rc == 0 && cfg->global)
		rc = set_list(c, "services", "AnyEvent::MP::Global::");
	if (rc == 0 && log_level() != NULL)
		rc = aemp_conf_set_json(c, "log_level", log_level());
	if (rc == 0 && perf_scrape_ms() != 0)
		rc = aemp_conf_set_str(c, "metrics", "127.0.0.1:0");
	/* AEMP_PERF_METRICS_SAMPLE=N: the metrics_sample key (handler timing
	 * with the endpoint on), for docs/perf.md "Metrics" */
	if (rc == 0 && perf_scrape_ms() != 0 &&
	    getenv("AEMP_PERF_METRICS_SAMPLE") != NULL)
		rc = aemp_conf_set_json(c, "metrics_sample",
		                        getenv("AEMP_PERF_METRICS_SAMPLE"));
	return rc;
}

aemp_node *
perf_node_new(const struct perf_nodecfg *cfg)
{
	aemp_conf *c = NULL;
	aemp_node *node = NULL;
	int rc;

	rc = aemp_conf_new(&c);
	if (rc == 0)
		rc = conf_fill(c, cfg);
	if (rc == 0)
		rc = aemp_node_new(c, &node);
	aemp_conf_free(c);
	if (rc == 0 && log_level() == NULL)
		rc = aemp_set_log(node, AEMP_LOG_INFO, log_sink, NULL);
	if (rc == 0)
		rc = aemp_node_start(node);
	if (rc == 0 && cfg->start_ns != NULL)
		*cfg->start_ns = perf_now_ns();
	if (rc < 0) {
		perf_err(rc, "cannot start node %s: %s%s%s",
		         cfg->nodeid ? cfg->nodeid : "(from configuration)",
		         aemp_strerror(rc), aemp_errmsg()[0] ? ": " : "",
		         aemp_errmsg());
		aemp_node_free(node);
		return NULL;
	}
	perf_scrape_start(node);
	return node;
}

int
perf_node_addr(aemp_node *node, char *buf, size_t cap)
{
	char json[1024];
	const char *p, *q;

	if (aemp_node_listeners(node, json, sizeof(json)) >= (int)sizeof(json))
		return -ENOSPC;
	p = strchr(json, '"');
	q = p ? strchr(p + 1, '"') : NULL;
	if (q == NULL || (size_t)(q - p) > cap)
		return -ENOENT;
	memcpy(buf, p + 1, (size_t)(q - p - 1));
	buf[q - p - 1] = '\0';
	return 0;
}

int
perf_node_wait_up(aemp_node *node, const char *nodeid, double timeout_s)
{
	/* Polled every 100 us: the tls scenario times connection set-up
	 * with this, and a TLS set-up takes a few milliseconds. */
	struct timespec ts = {0, 100000};
	int64_t end = perf_now_ns() + (int64_t)(timeout_s * 1e9);

	while (aemp_node_is_up(node, nodeid) != 1) {
		if (perf_now_ns() > end)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* First ID of a JSON array of strings (IDs are plain, no escapes). */
static int
first_id(const char *json, aemp_id *out)
{
	const char *p = strchr(json, '"'), *q;

	q = p ? strchr(p + 1, '"') : NULL;
	if (q == NULL || (size_t)(q - p - 1) >= sizeof(out->s))
		return -ENOENT;
	memcpy(out->s, p + 1, (size_t)(q - p - 1));
	out->s[q - p - 1] = '\0';
	return 0;
}

int
perf_node_first_up(aemp_node *node, aemp_id *out, double timeout_s)
{
	int64_t end = perf_now_ns() + (int64_t)(timeout_s * 1e9);
	char json[4096];

	for (;;) {
		json[0] = '\0';
		aemp_up_nodes(node, json, sizeof(json));
		if (first_id(json, out) == 0)
			return 0;
		if (perf_now_ns() > end)
			return -ETIMEDOUT;
		perf_sleep_ms(2);
	}
}

/* ---- running something on a shard, waiting for it ------------------- */

enum { OS_PENDING, OS_DONE, OS_ABANDONED };

struct on_shard {
	int (*fn)(aemp_node *node, void *arg);
	void *arg;
	int rc;
	atomic_int state;
};

static void
on_shard_run(aemp_node *node, void *arg)
{
	struct on_shard *o = arg;
	int pending = OS_PENDING;

	o->rc = o->fn(node, o->arg);
	if (!atomic_compare_exchange_strong(&o->state, &pending, OS_DONE))
		free(o); /* the main thread gave up waiting */
}

int
perf_on_shard(aemp_node *node, int shard, int (*fn)(aemp_node *, void *),
              void *arg)
{
	int64_t end = perf_now_ns() + 10 * (int64_t)1000000000;
	struct on_shard *o = calloc(1, sizeof(*o));
	int rc, pending = OS_PENDING;

	if (o == NULL)
		return -ENOMEM;
	o->fn = fn;
	o->arg = arg;
	rc = aemp_exec(node, shard, on_shard_run, o);
	if (rc < 0) {
		free(o);
		return rc;
	}
	while (atomic_load(&o->state) == OS_PENDING && perf_now_ns() < end)
		perf_sleep_ms(1);
	/* Still pending: the shard frees o if it ever runs it (and arg must
	 * then stay valid: callers keep it on -ETIMEDOUT). */
	if (atomic_compare_exchange_strong(&o->state, &pending, OS_ABANDONED))
		return -ETIMEDOUT;
	rc = o->rc;
	free(o);
	return rc;
}

/* ---- the perf port -------------------------------------------------- */

static int
get_int(const aemp_val *v, int64_t *out)
{
	if (v->type == AEMP_INT) {
		*out = v->u.i;
		return 0;
	}
	return aemp_get_int(v, out);
}

static void
on_data(struct perf_port *p, int64_t sid, const aemp_val *seqv)
{
	struct sid_state *s;
	int64_t seq;

	if (sid < 0 || get_int(seqv, &seq) < 0 || seq < 0)
		return;
	s = &p->sids[sid % SIDS_MAX];
	if (seq == 0 || s->sid != sid) {
		/* a new stream; one met in the middle misses its start */
		s->sid = sid;
		s->next = s->gaps = s->received = s->reorders = 0;
	}
	s->received++;
	if (seq == s->next) {
		s->next++;
	} else if (seq > s->next) {
		s->gaps += seq - s->next;
		s->next = seq + 1;
	} else {
		s->reorders++;
	}
	p->msgs++;
	atomic_store_explicit(&p->msgs_seen, p->msgs, memory_order_relaxed);
}

/* A reply that met back pressure, retried from a timer. */
struct retry {
	char to[AEMP_ID_MAX];
	aemp_val *msg; /* ARRAY */
};

static void
retry_cb(aemp_node *node, void *arg)
{
	struct retry *r = arg;

	if (aemp_snd(node, r->to, r->msg->u.a, r->msg->len) == -EAGAIN &&
	    aemp_after(node, 0.001, retry_cb, r, NULL) == 0)
		return;
	aemp_val_free(r->msg);
	free(r);
}

/* reply - send msg to the port ID in v; back pressure retries later. */
static int
reply(aemp_node *node, const aemp_val *v, const aemp_val *msg, size_t n)
{
	struct retry *r;
	int rc;

	if (v->type != AEMP_STR || v->len >= AEMP_ID_MAX)
		return 0;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	memcpy(r->to, v->u.s, v->len);
	rc = aemp_snd(node, r->to, msg, n);
	if (rc == -EAGAIN) {
		r->msg = aemp_msg_dup(msg, n);
		if (r->msg != NULL &&
		    aemp_after(node, 0.001, retry_cb, r, NULL) == 0)
			return 0;
		aemp_val_free(r->msg);
	}
	free(r);
	return 0;
}

/* ["sync", SID, SENT, REPLYPORT] */
static int
on_sync(aemp_node *node, struct perf_port *p, const aemp_val *msg, size_t n)
{
	int64_t sid, sent;
	struct sid_state *s;

	if (n < 4 || get_int(&msg[1], &sid) < 0 || sid < 0 ||
	    get_int(&msg[2], &sent) < 0)
		return 0;
	s = &p->sids[sid % SIDS_MAX];
	if (s->sid != sid) {
		s->sid = sid;
		s->next = s->received = s->gaps = s->reorders = 0;
	}
	if (sent > s->next) {
		s->gaps += sent - s->next;
		s->next = sent;
	}
	return reply(node, &msg[3],
	             AEMP_MSG(aemp_str("synced"), aemp_int(sid),
	                      aemp_int(s->received), aemp_int(s->gaps),
	                      aemp_int(s->reorders)));
}

/* [REPLYPORT, SID, SEQ, PAYLOAD] -> [SID, SEQ, PAYLOAD] */
static int
on_echo(aemp_node *node, struct perf_port *p, const aemp_val *msg, size_t n)
{
	const aemp_val *to = &msg[0];

	if (to->len >= AEMP_ID_MAX)
		return 0;
	if (!p->has_reply || strlen(p->reply_id) != to->len ||
	    memcmp(p->reply_id, to->u.s, to->len) != 0) {
		if (p->has_reply)
			aemp_ref_free(node, p->reply);
		memcpy(p->reply_id, to->u.s, to->len);
		p->reply_id[to->len] = '\0';
		p->has_reply = aemp_ref_new(node, p->reply_id, &p->reply) == 0;
		if (!p->has_reply)
			return 0;
	}
	if (aemp_snd_ref(node, p->reply, msg + 1, n - 1) == -EAGAIN)
		return reply(node, to, msg + 1, n - 1);
	return 0;
}

/* ["cal", SID, SEQ, PAYLOAD, REPLYPORT] (aemp_cal appends the reply
 * port, a new one per call) -> [SID, SEQ, PAYLOAD] */
static int
on_cal(aemp_node *node, const aemp_val *msg, size_t n)
{
	if (n != 5 || msg[4].type != AEMP_STR)
		return 0;
	return reply(node, &msg[4], msg + 1, 3);
}

static int
port_rcv(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	struct perf_port *p = arg;

	if (n >= 2 && msg[0].type == AEMP_INT) {
		on_data(p, msg[0].u.i, &msg[1]);
		return 0;
	}
	if (n >= 1 && msg[0].type == AEMP_STR) {
		if (aemp_str_eq(&msg[0], "sync"))
			return on_sync(node, p, msg, n);
		if (aemp_str_eq(&msg[0], "cal"))
			return on_cal(node, msg, n);
		return on_echo(node, p, msg, n);
	}
	return 0;
}

static int
port_make(aemp_node *node, void *arg)
{
	struct perf_port *p = arg;

	return aemp_port(node, port_rcv, p, &p->id);
}

int
perf_port_new(aemp_node *node, int shard, const char *name, aemp_id *out)
{
	struct perf_port *p;
	int rc;

	if (nports_made == PORTS_MAX)
		return -ENOSPC;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	if (name != NULL) {
		snprintf(p->id.s, sizeof(p->id.s), "%s#%s", aemp_node_id(node),
		         name);
		rc = aemp_rcv(node, p->id.s, port_rcv, p);
	} else {
		rc = perf_on_shard(node, shard, port_make, p);
	}
	if (rc == -ETIMEDOUT)
		return rc; /* p leaks: the shard may still use it */
	if (rc < 0) {
		free(p);
		return rc;
	}
	ports_made[nports_made++] = p;
	*out = p->id;
	return 0;
}

void
perf_port_totals(uint64_t *msgs)
{
	int i;

	*msgs = 0;
	for (i = 0; i < nports_made; i++)
		*msgs += atomic_load_explicit(&ports_made[i]->msgs_seen,
		                              memory_order_relaxed);
}

void
perf_ports_free(aemp_node *node)
{
	int i;

	for (i = 0; i < nports_made; i++) {
		if (ports_made[i]->has_reply)
			aemp_ref_free(node, ports_made[i]->reply);
		free(ports_made[i]);
		ports_made[i] = NULL;
	}
	nports_made = 0;
}
