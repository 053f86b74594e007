/*
 * engine/net/metrics_text.c - the node's metrics in the Prometheus text
 * exposition format 0.0.4 (docs/metrics.md lists every family).  Each
 * family is written once with its # HELP and # TYPE lines and all its
 * samples together; label values are escaped (\\, \", \n).
 *
 * Cost: nothing on the message path.  Per-shard counters (struct
 * eng_stats, written by their shard only) are read with relaxed loads;
 * the peer table is copied under net->upmu (control plane) into a
 * snapshot of at most ENG_METRICS_PEERS_MAX peers; process figures come
 * from /proc.  The text is bounded by ENG_METRICS_TEXT_MAX.
 *
 * Threads: any (the endpoint's thread, or aemp_metrics_text's caller).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/net/metrics.h"
#include "engine/net/netint.h"

/* A growing text buffer (libc malloc: the endpoint frees it with free()). */
struct mt {
	char *p;
	size_t len;
	size_t cap;
	int err;
};

static void mt_add(struct mt *t, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
mt_add(struct mt *t, const char *fmt, ...)
{
	va_list ap;
	size_t ncap;
	char *np;
	int n;

	for (;;) {
		if (t->err)
			return;
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		ncap = t->cap * 2;
		if (n < 0 || ncap > ENG_METRICS_TEXT_MAX ||
		    (np = realloc(t->p, ncap)) == NULL) {
			t->err = 1;
			return;
		}
		t->p = np;
		t->cap = ncap;
	}
}

/* A label value, escaped per the exposition format; other control bytes
 * (a peer's ID is the peer's choice) become '?'. */
static void
mt_label(struct mt *t, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\')
			mt_add(t, "\\\\");
		else if (s[i] == '"')
			mt_add(t, "\\\"");
		else if (s[i] == '\n')
			mt_add(t, "\\n");
		else if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			mt_add(t, "?"); /* NUL and controls: never raw */
		else
			mt_add(t, "%c", s[i]);
	}
}

static void
mt_family(struct mt *t, const char *name, const char *type, const char *help)
{
	mt_add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ---- per-shard counters ---------------------------------------------- */

enum { SF_U64, SF_PORTS, SF_I64, SF_BUSY };

struct shard_fam {
	const char *name;
	const char *type;
	const char *help;
	size_t off; /* of the counter in struct eng_stats */
	int kind;
};

#define SOFF(f) offsetof(struct eng_stats, f)

static const struct shard_fam shard_fams[] = {
        {"aemp_messages_delivered_total", "counter",
         "Messages run by port handlers on this shard.", SOFF(delivered),
         SF_U64},
        {"aemp_messages_cross_shard_total", "counter",
         "Message records this shard passed to other shards.", SOFF(xshard_out),
         SF_U64},
        {"aemp_packets_sent_total", "counter",
         "Packets this shard queued for remote nodes.", SOFF(remote_out),
         SF_U64},
        {"aemp_packets_received_total", "counter",
         "Packets this shard received from remote nodes.", SOFF(remote_in),
         SF_U64},
        {"aemp_sent_bytes_total", "counter",
         "Bytes this shard wrote to sockets (TLS included).", SOFF(bytes_out),
         SF_U64},
        {"aemp_received_bytes_total", "counter",
         "Bytes this shard read from sockets (TLS included).", SOFF(bytes_in),
         SF_U64},
        {"aemp_ports_created_total", "counter",
         "Local ports created on this shard.", SOFF(ports_made), SF_U64},
        {"aemp_ports", "gauge", "Live local ports on this shard.", 0, SF_PORTS},
        {"aemp_connections", "gauge",
         "Authenticated connections owned by this shard.", SOFF(conns), SF_I64},
        {"aemp_tls_connections", "gauge",
         "Authenticated connections owned by this shard that use TLS.",
         SOFF(tls_conns), SF_I64},
        {"aemp_monitors", "gauge",
         "Port monitors held by this shard (local ones and proxies of "
         "remote ones).",
         SOFF(mons), SF_I64},
        {"aemp_shard_busy_seconds_total", "counter",
         "CPU time used by the shard's thread (it sleeps when idle).", 0,
         SF_BUSY},
};

static void
shard_sample(struct mt *t, const struct eng_shard *sh,
             const struct shard_fam *f)
{
	const struct eng_stats *st = &sh->st;
	const atomic_int_fast64_t *g;
	const atomic_uint_fast64_t *c;
	int64_t v;

	switch (f->kind) {
	case SF_PORTS:
		mt_add(t, "%s{shard=\"%d\"} %llu\n", f->name, sh->idx,
		       (unsigned long long)(atomic_load_explicit(
		                                    &st->ports_made,
		                                    memory_order_relaxed) -
		                            atomic_load_explicit(
		                                    &st->ports_killed,
		                                    memory_order_relaxed)));
		return;
	case SF_I64:
		g = (const atomic_int_fast64_t *)(const void *)((const char *)
		                                                        st +
		                                                f->off);
		v = (int64_t)atomic_load_explicit(g, memory_order_relaxed);
		mt_add(t, "%s{shard=\"%d\"} %lld\n", f->name, sh->idx,
		       (long long)(v < 0 ? 0 : v));
		return;
	case SF_BUSY:
		mt_add(t, "%s{shard=\"%d\"} %.6f\n", f->name, sh->idx,
		       (double)eng_shard_busy_ns(sh) / 1e9);
		return;
	default:
		c = (const atomic_uint_fast64_t *)(const void *)((const char *)
		                                                         st +
		                                                 f->off);
		mt_add(t, "%s{shard=\"%d\"} %llu\n", f->name, sh->idx,
		       (unsigned long long)atomic_load_explicit(
		               c, memory_order_relaxed));
	}
}

/* Reasons of aemp_handshakes_failed_total, by enum eng_hsfail. */
static const char *const hsf_names[ENG_HSF_N] = {
        [ENG_HSF_CONNECT] = "connect",
        [ENG_HSF_TIMEOUT] = "timeout",
        [ENG_HSF_PROTOCOL] = "protocol",
        [ENG_HSF_AUTH] = "auth",
        [ENG_HSF_TLS] = "tls",
        [ENG_HSF_LIMIT] = "limit",
        [ENG_HSF_DUPLICATE] = "duplicate",
        [ENG_HSF_IO] = "io",
};

static void
render_hsfail(struct mt *t, struct aemp_node *node)
{
	uint64_t n;
	int i, k;

	mt_family(t, "aemp_handshakes_failed_total", "counter",
	          "Handshakes (accepted and outgoing) that failed, by reason.");
	for (k = 0; k < ENG_HSF_N; k++) {
		n = 0;
		for (i = 0; i < node->nshards; i++)
			n += atomic_load_explicit(
			        &node->shards[i]->st.hs_fail[k],
			        memory_order_relaxed);
		mt_add(t, "aemp_handshakes_failed_total{reason=\"%s\"} %llu\n",
		       hsf_names[k], (unsigned long long)n);
	}
}

/* The sampled handler run times of each shard as a histogram. */
static void
render_htime(struct mt *t, struct aemp_node *node)
{
	const struct eng_stats *st;
	uint64_t cum;
	int i, k;

	mt_family(t, "aemp_handler_seconds", "histogram",
	          "Run time of port handlers, one run in metrics_sample "
	          "sampled (only "
	          "with the metrics endpoint on).");
	for (i = 0; i < node->nshards; i++) {
		st = &node->shards[i]->st;
		cum = 0;
		for (k = 0; k < ENG_HTIME_BUCKETS; k++) {
			cum += atomic_load_explicit(&st->htime[k],
			                            memory_order_relaxed);
			if (k < ENG_HTIME_BUCKETS - 1)
				mt_add(t,
				       "aemp_handler_seconds_bucket{shard=\"%"
				       "d\","
				       "le=\"%.9g\"} %llu\n",
				       i, (double)eng_htime_le_ns[k] / 1e9,
				       (unsigned long long)cum);
			else
				mt_add(t,
				       "aemp_handler_seconds_bucket{shard=\"%"
				       "d\","
				       "le=\"+Inf\"} %llu\n",
				       i, (unsigned long long)cum);
		}
		mt_add(t, "aemp_handler_seconds_sum{shard=\"%d\"} %.9f\n", i,
		       (double)atomic_load_explicit(&st->htime_sum_ns,
		                                    memory_order_relaxed) /
		               1e9);
		mt_add(t, "aemp_handler_seconds_count{shard=\"%d\"} %llu\n", i,
		       (unsigned long long)cum);
	}
}

static void
render_shards(struct mt *t, struct aemp_node *node)
{
	const struct shard_fam *f;
	size_t k;
	int i;

	for (k = 0; k < AEMP_ARRAY_LEN(shard_fams); k++) {
		f = &shard_fams[k];
		mt_family(t, f->name, f->type, f->help);
		for (i = 0; i < node->nshards; i++)
			shard_sample(t, node->shards[i], f);
	}
	render_hsfail(t, node);
	render_htime(t, node);
}

/* ---- peers ----------------------------------------------------------- */

struct peer_snap {
	uint64_t ups;
	uint64_t downs;
	uint64_t qbytes;
	uint8_t up;
	uint32_t idlen;
	char id[AEMP_ID_MAX];
};

struct peers {
	struct peer_snap *v;
	size_t n;     /* in v */
	size_t nup;   /* all known peers up */
	size_t ndown; /* all known peers down */
	size_t cap;
};

static void
peer_copy(void *e, void *arg)
{
	const struct eng_upent *u = e;
	struct peers *p = arg;
	struct peer_snap *s;

	if (u->up)
		p->nup++;
	else
		p->ndown++;
	if (p->n >= p->cap)
		return;
	s = &p->v[p->n++];
	s->ups = u->ups;
	s->downs = u->downs;
	s->qbytes = atomic_load_explicit(&u->qbytes, memory_order_relaxed);
	s->up = u->up;
	s->idlen = (uint32_t)AEMP_MIN(u->idlen, sizeof(s->id));
	memcpy(s->id, u->id, s->idlen);
}

static int
peer_cmp(const void *a, const void *b)
{
	const struct peer_snap *x = a, *y = b;
	int c = memcmp(x->id, y->id, AEMP_MIN(x->idlen, y->idlen));

	return c != 0 ? c : (x->idlen > y->idlen) - (x->idlen < y->idlen);
}

static void
peer_family(struct mt *t, const struct peers *p, const char *name,
            const char *type, const char *help, int which)
{
	const struct peer_snap *s;
	uint64_t v;
	size_t i;

	mt_family(t, name, type, help);
	for (i = 0; i < p->n; i++) {
		s = &p->v[i];
		v = which == 0   ? s->up
		    : which == 1 ? s->ups
		    : which == 2 ? s->downs
		                 : s->qbytes;
		mt_add(t, "%s{peer=\"", name);
		mt_label(t, s->id, s->idlen);
		mt_add(t, "\"} %llu\n", (unsigned long long)v);
	}
}

static void
render_peers(struct mt *t, struct aemp_node *node)
{
	struct eng_net *net = eng_net(node);
	struct peers p = {0};

	p.v = malloc(ENG_METRICS_PEERS_MAX * sizeof(*p.v));
	if (p.v == NULL) {
		t->err = 1;
		return;
	}
	p.cap = ENG_METRICS_PEERS_MAX;
	pthread_mutex_lock(&net->upmu);
	eng_htab_each(&net->up, peer_copy, &p);
	pthread_mutex_unlock(&net->upmu);
	qsort(p.v, p.n, sizeof(*p.v), peer_cmp);
	mt_family(t, "aemp_peers", "gauge",
	          "Remote nodes known to this node, by connection state.");
	mt_add(t, "aemp_peers{state=\"up\"} %zu\n", p.nup);
	mt_add(t, "aemp_peers{state=\"down\"} %zu\n", p.ndown);
	mt_family(t, "aemp_peers_unlisted", "gauge",
	          "Known peers left out of the per-peer families (cap "
	          "256).");
	mt_add(t, "aemp_peers_unlisted %zu\n", p.nup + p.ndown - p.n);
	peer_family(t, &p, "aemp_peer_up", "gauge",
	            "1 while a connection to the peer is up, else 0.", 0);
	peer_family(t, &p, "aemp_peer_connections_up_total", "counter",
	            "Times a connection to the peer came up.", 1);
	peer_family(t, &p, "aemp_peer_connections_down_total", "counter",
	            "Times the connection to the peer went down.", 2);
	peer_family(t, &p, "aemp_peer_send_queue_bytes", "gauge",
	            "Bytes queued on the connection to the peer, not yet "
	            "written (0 while not connected).",
	            3);
	free(p.v);
}

/* ---- process --------------------------------------------------------- */

/* utime, stime (ticks), starttime (ticks since boot), vsize, rss pages:
 * fields 14, 15, 22, 23, 24 of /proc/self/stat.  Returns 0 or -1. */
static int
proc_stat(unsigned long long f[5])
{
	char buf[1024], *p;
	FILE *fp = fopen("/proc/self/stat", "re");
	size_t n;

	if (fp == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past the
	 * last ')'; field 3 follows. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 1,
	           " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu"
	           " %*d %*d %*d %*d %*d %*d %llu %llu %llu",
	           &f[0], &f[1], &f[2], &f[3], &f[4]) != 5)
		return -1;
	return 0;
}

static long long
boot_time(void)
{
	char line[128];
	long long bt = -1;
	FILE *fp = fopen("/proc/stat", "re");

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "btime %lld", &bt) == 1)
			break;
	fclose(fp);
	return bt;
}

static long
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static void
render_process(struct mt *t)
{
	unsigned long long f[5];
	double hz = (double)sysconf(_SC_CLK_TCK);
	long page = sysconf(_SC_PAGESIZE), fds = open_fds();
	long long bt = boot_time();

	if (proc_stat(f) == 0 && hz > 0) {
		mt_family(t, "process_cpu_seconds_total", "counter",
		          "User and system CPU time of the process, seconds.");
		mt_add(t, "process_cpu_seconds_total %.2f\n",
		       (double)(f[0] + f[1]) / hz);
		mt_family(t, "process_resident_memory_bytes", "gauge",
		          "Resident memory of the process, bytes.");
		mt_add(t, "process_resident_memory_bytes %llu\n",
		       f[4] * (unsigned long long)page);
		mt_family(t, "process_virtual_memory_bytes", "gauge",
		          "Virtual memory of the process, bytes.");
		mt_add(t, "process_virtual_memory_bytes %llu\n", f[3]);
		if (bt >= 0) {
			mt_family(t, "process_start_time_seconds", "gauge",
			          "Start time of the process since the Unix "
			          "epoch, seconds.");
			mt_add(t, "process_start_time_seconds %.2f\n",
			       (double)bt + (double)f[2] / hz);
		}
	}
	if (fds >= 0) {
		mt_family(t, "process_open_fds", "gauge",
		          "Open file descriptors of the process.");
		mt_add(t, "process_open_fds %ld\n", fds);
	}
}

static void
count_peer(void *e, void *arg)
{
	const struct eng_upent *u = e;
	aemp_stats *out = arg;

	if (u->up)
		out->peers_up++;
	else
		out->peers_down++;
	out->queue_bytes +=
	        atomic_load_explicit(&u->qbytes, memory_order_relaxed);
}

void
eng_metrics_stats(struct aemp_node *node, aemp_stats *out)
{
	struct eng_net *net = eng_net(node);
	unsigned long long f[5];
	uint64_t db[4];

	pthread_mutex_lock(&net->upmu);
	eng_htab_each(&net->up, count_peer, out);
	pthread_mutex_unlock(&net->upmu);
	if (proc_stat(f) == 0)
		out->resident_bytes = f[4] * (uint64_t)sysconf(_SC_PAGESIZE);
	eng_seam(node)->global_dbsize(node, 0,
	                              db); /* aemp_stats_get: no wait */
	out->db_families = db[0];
	out->db_keys = db[1];
	out->db_local_families = db[2];
	out->db_local_keys = db[3];
}

/* ---- database -------------------------------------------------------- */

static void
render_db(struct mt *t, struct aemp_node *node)
{
	uint64_t db[4];

	eng_seam(node)->global_dbsize(node, 1, db); /* the scraper may wait */
	mt_family(t, "aemp_db_families", "gauge",
	          "Database families held: db=global on a global node (its "
	          "global database), db=local (this node's registrations).");
	mt_add(t, "aemp_db_families{db=\"global\"} %llu\n",
	       (unsigned long long)db[0]);
	mt_add(t, "aemp_db_families{db=\"local\"} %llu\n",
	       (unsigned long long)db[2]);
	mt_family(t, "aemp_db_keys", "gauge",
	          "Database keys held, in all families (db as above).");
	mt_add(t, "aemp_db_keys{db=\"global\"} %llu\n",
	       (unsigned long long)db[1]);
	mt_add(t, "aemp_db_keys{db=\"local\"} %llu\n",
	       (unsigned long long)db[3]);
}

/* ---- the whole exposition ---------------------------------------------- */

static void
render_node(struct mt *t, struct aemp_node *node)
{
	mt_family(t, "aemp_node_info", "gauge",
	          "Node ID and aemp version, as labels; the value is 1.");
	mt_add(t, "aemp_node_info{node=\"");
	mt_label(t, node->id, node->idlen);
	mt_add(t, "\",version=\"%s\"} 1\n", AEMP_VERSION_STRING);
	mt_family(t, "aemp_shards", "gauge", "Shard threads of the node.");
	mt_add(t, "aemp_shards %d\n", node->nshards);
	mt_family(t, "aemp_handshakes_pending", "gauge",
	          "Connections not yet authenticated.");
	mt_add(t, "aemp_handshakes_pending %d\n",
	       atomic_load(&eng_net(node)->handshakes));
}

int
eng_metrics_render(void *arg, char **text, size_t *len)
{
	struct aemp_node *node = arg;
	struct mt t = {malloc(16384), 0, 16384, 0};

	*text = NULL;
	*len = 0;
	if (t.p == NULL)
		return -ENOMEM;
	t.p[0] = '\0';
	render_node(&t, node);
	render_shards(&t, node);
	render_peers(&t, node);
	render_db(&t, node);
	render_process(&t);
	if (t.err) {
		free(t.p);
		return -ENOMEM;
	}
	*text = t.p;
	*len = t.len;
	return 0;
}

AEMP_API int
aemp_metrics_text(aemp_node *node, char *buf, size_t cap)
{
	char *text;
	size_t len;
	int rc;

	if (node == NULL || (buf == NULL && cap != 0))
		return -EINVAL;
	if (node->net == NULL)
		return AEMP_ESTATE;
	if ((rc = eng_metrics_render(node, &text, &len)) < 0)
		return rc;
	if (cap != 0) {
		memcpy(buf, text, AEMP_MIN(len, cap - 1));
		buf[AEMP_MIN(len, cap - 1)] = '\0';
	}
	free(text);
	return (int)len;
}
