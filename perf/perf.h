/*
 * perf/perf.h - what the files of aemp-perf share: options, one result
 * row, the sending and ping-pong engines that run on shard threads, the
 * latency histogram, child processes and the output.  Like every file in
 * perf/, it uses only the public API (<aemp.h>) of the library.
 *
 * Message shapes (docs/perf.md, "aemp-perf"); one "perf port" understands
 * all of them, so a single port name serves every scenario:
 *   data   [SID, SEQ, PAYLOAD]              counted and sequence-checked
 *   sync   ["sync", SID, SENT, REPLYPORT]   -> ["synced", SID, RECEIVED,
 *                                              GAPS, REORDERS]
 *   echo   [REPLYPORT, SID, SEQ, PAYLOAD]   -> [SID, SEQ, PAYLOAD]
 * Against a bare node port (any AEMP node, Perl included) data goes out as
 * ["devnull", SID, SEQ, PAYLOAD], a sync is ["time", REPLYPORT] and an
 * echo is ["snd", REPLYPORT, SID, SEQ, PAYLOAD]; delivery is then only
 * checked for echoes.
 *
 * Threads: the main thread parses options, starts nodes and children and
 * waits; senders, pingers and perf ports run on shard threads and publish
 * their progress through atomics (perf/sender.c, perf/pinger.c).
 */
#ifndef PERF_PERF_H
#define PERF_PERF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <aemp.h>

/* Exit statuses. */
#define PERF_OK 0
#define PERF_EFAIL 1  /* a run failed, or delivery check found gaps */
#define PERF_EUSAGE 2 /* bad command line */

#define PERF_SIZES_MAX 16
#define PERF_SENDERS_MAX 64
#define PERF_NODES_MAX 16
#define PERF_PORTS_MAX 64
#define PERF_MANY_MAX 1024    /* --many: messages per aemp_snd_many call */
#define PERF_MONITORS_MAX 64  /* db: monitoring nodes (child processes) */
#define PERF_CLUSTER_MAX 1000 /* cluster: node processes */
#define PERF_GLOBALS_MAX 16   /* cluster: global nodes */

/* ---- options (perf/opts.c) ------------------------------------------ */

struct perf_opts {
	const char *scenario;
	size_t sizes[PERF_SIZES_MAX];
	int nsizes;
	const char *framings[2]; /* "json", "cbor" */
	int nframings;
	int shards;  /* per node */
	int senders; /* sending ports or pingers (fanin: per node) */
	int nodes;   /* fanin: sender nodes; cluster: node processes */
	int globals; /* cluster: global nodes */
	int monitors[PERF_SIZES_MAX]; /* db: monitoring nodes, per result */
	int nmonitors;
	int window;     /* db: updates in flight */
	double seconds; /* measured time per result */
	uint64_t count; /* or: measured messages per result (0: seconds) */
	double warmup;  /* unmeasured seconds before */
	int batch;      /* messages per sender loop turn */
	int many;       /* pair: also with aemp_snd_many, this many per call */
	uint64_t max_queue; /* per-connection queue limit (0: default) */
	int json;           /* one JSON object per result */
	int tls;
	int no_raw;       /* skip the raw and zmq baselines */
	int no_zmq;       /* skip the zmq baseline */
	int foreign;      /* pair: also send from application threads */
	int busy_poll_us; /* nodes' busy_poll_us; raw baselines spin too */
	int cal;          /* pingpong: aemp_cal round trips */
	int quiet;        /* no progress line */
	int help;
	const char *connect; /* HOST:PORT of a node started elsewhere */
	const char *secret;
	const char *port;          /* perf port at the --connect node */
	const char *bind;          /* serve */
	const char *nodeid;        /* serve */
	const char *fragment_size; /* the nodes' fragment_size; NULL: default */
	const char *socket_buffer; /* the nodes' socket_buffer; NULL: default */
};

/* perf_opts_parse - fill o from argv.  A bad command line prints one line
 * and returns PERF_EUSAGE; 0 otherwise. */
int perf_opts_parse(struct perf_opts *o, int argc, char **argv);

/* ---- run-wide helpers (perf/main.c) --------------------------------- */

/* perf_secret - --secret, else a random secret for this run's nodes. */
const char *perf_secret(const struct perf_opts *o);
/* perf_cert - with --tls, the certificate and key (PEM) of this run's
 * nodes, made once; NULL without --tls or on failure (message printed:
 * check perf_cert_ok). */
const char *perf_cert(const struct perf_opts *o);
int perf_cert_ok(const struct perf_opts *o);
/* perf_sid_next - a new sender ID. */
int64_t perf_sid_next(void);
/* perf_set_status - raise the exit status to at least rc. */
void perf_set_status(int rc);

/* ---- results and output (perf/report.c) ----------------------------- */

struct perf_result {
	const char *scenario;
	char variant[32];
	size_t size;
	const char *framing; /* "json", "cbor", "raw", "-" */
	uint64_t msgs;       /* messages (ping-pong: round trips) */
	double secs;
	int64_t t0_ns, t1_ns; /* the measured window */
	double cpu_s;         /* CPU of every local process involved */
	int cpu_partial;      /* a remote node's CPU is not included */
	char transport[96];   /* as negotiated ("" unknown) */
	uint64_t wire_bytes;  /* through our sockets, both ways (0: n/a) */
	int tls;
	int has_rtt;
	int oneway;       /* the latency is one-way (db): msgs are not trips */
	double rtt_us[5]; /* p50, p90, p99, p99.9, max */
	int64_t gaps;     /* -1: not checked */
	int64_t reorders;
	double ratio; /* to the raw baseline; < 0: none */
	/* --busy-poll: ratio is to the spinning raw baseline, and this one
	 * to the blocking raw baseline; < 0: none */
	double ratio_block;
	double ratio_zmq; /* to the ZeroMQ baseline (pair); < 0: none */
};

enum { RTT_P50, RTT_P90, RTT_P99, RTT_P999, RTT_MAX };

void perf_result_init(struct perf_result *r, const char *scenario, size_t size,
                      const char *framing);

/* perf_report - print one result (table row, header first; or a JSON
 * line).  Gaps or reorders are reported on stderr and set exit status 1. */
void perf_report(const struct perf_opts *o, const struct perf_result *r);

/* One line of the tls scenario: a figure without and with TLS, side by
 * side, measured in the same run. */
struct perf_cmp {
	const char *scenario; /* "pair", "pingpong", "set-up" */
	const char *measure;  /* "msgs/s", "p50us", "ms" */
	size_t size;          /* 0: none */
	const char *framing;
	double plain, tls;
	double cpu_plain, cpu_tls; /* CPU-s per million messages; < 0: n/a */
	const char *transport;     /* the TLS connection's, as negotiated */
};

/* perf_report_cmp - print c: a table row (its own header first) with the
 * ratio tls / plain, or a JSON line {"scenario":"tls", ...}. */
void perf_report_cmp(const struct perf_opts *o, const struct perf_cmp *c);

/* perf_cpu_per_m - CPU-s per million messages of r. */
double perf_cpu_per_m(const struct perf_result *r);

/* perf_progress - the live line (stdout on a terminal, runs over 2 s);
 * line NULL clears it. */
void perf_progress(const struct perf_opts *o, const char *line);

/* perf_err - "aemp-perf: MESSAGE" on stderr (or, in a child, "fail
 * MESSAGE" to the parent); returns rc. */
int perf_err(int rc, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void perf_err_to_fd(int fd);

/* ---- time, CPU and child processes (perf/proc.c) -------------------- */

int64_t perf_now_ns(void);
void perf_sleep_ms(int ms);

/* perf_cpu_ns - CPU time (user + system, all threads) of process pid (0:
 * this process), read from its CPU clock; -1 if unreadable. */
int64_t perf_cpu_ns(pid_t pid);

struct perf_child {
	pid_t pid;      /* 0: none (or, in a child, the parent's end) */
	int ctl;        /* control socket: one text line per message */
	char buf[1024]; /* received, not yet consumed */
	size_t len;
};

/* perf_child_spawn - run this program again with argv (argv[0] is only a
 * name), a control socket as fd 3, secret in $AEMP_PERF_SECRET and cert
 * in $AEMP_PERF_CERT (NULL: unset).  The child dies with the parent.
 * Returns 0 or a negated errno. */
int perf_child_spawn(struct perf_child *c, char *const argv[],
                     const char *secret, const char *cert);

/* perf_child_line - the next line (newline removed) within timeout_ms.
 * Returns its length, -ETIMEDOUT, -EPIPE (socket closed), -errno. */
int perf_child_line(struct perf_child *c, char *buf, size_t cap,
                    int timeout_ms);

/* perf_child_any - the next line from any of the n children cs (those
 * with a control socket) within timeout_ms; the child's index into
 * *which.  Returns the line's length, -ETIMEDOUT, -ENOMEM, or for child
 * *which -EPIPE (socket closed), -EMSGSIZE or -errno. */
int perf_child_any(struct perf_child *const *cs, int n, int *which, char *buf,
                   size_t cap, int timeout_ms);

/* perf_child_serve - in a child: read commands from ctl and pass each
 * line to cmd(arg, ctl, line) until the parent closes the socket
 * (returns 0) or cmd returns non-zero (returned); a broken socket is
 * reported and gives PERF_EFAIL. */
int perf_child_serve(struct perf_child *ctl,
                     int (*cmd)(void *arg, struct perf_child *ctl,
                                const char *line),
                     void *arg);

/* perf_child_say - send one line (printf-style, newline added). */
int perf_child_say(struct perf_child *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* perf_child_stop - close the socket, wait up to 5 s for the child to
 * leave, then kill it.  Returns its exit status, 128 + signal (0 if we
 * had to kill it), or -1. */
int perf_child_stop(struct perf_child *c);

/* perf_proc_init - kill and reap every child on exit and on SIGINT,
 * SIGTERM, SIGHUP; ignore SIGPIPE. */
void perf_proc_init(void);

/* ---- nodes and perf ports (perf/node.c, perf/peer.c) ---------------- */

struct perf_nodecfg {
	const char *nodeid;
	const char *framing; /* "json" or "cbor" first */
	int shards;
	const char *secret;        /* NULL: the configuration file's */
	const char *bind;          /* NULL: 127.0.0.1:0; "": no listener */
	const char *seed;          /* NULL: none */
	const char *cert;          /* PEM: TLS; NULL: none (or the file's) */
	uint64_t max_queue;        /* 0: the default */
	int global;                /* runs the global service (db) */
	int64_t *start_ns;         /* if set: when aemp_node_start returned */
	int busy_poll_us;          /* 0: the engine's default (no spinning) */
	const char *fragment_size; /* NULL: the engine's default */
	const char *socket_buffer; /* NULL: the engine's default */
};

/* perf/scrape.c: AEMP_PERF_METRICS=MS (environment): every node serves
 * metrics on 127.0.0.1:0 and is scraped every MS ms.  perf_scrape_ms
 * returns MS or 0; perf_scrape_start starts the scraper of a node. */
unsigned perf_scrape_ms(void);
void perf_scrape_start(aemp_node *node);

/* perf_node_new - create and start a node; on error prints one line and
 * returns NULL. */
aemp_node *perf_node_new(const struct perf_nodecfg *cfg);
/* perf_node_free - stop the node, then free it with its perf ports and
 * tasks.  NULL is a no-op. */
void perf_node_free(aemp_node *node);
int perf_node_addr(aemp_node *node, char *buf, size_t cap);
/* perf_last_warning - the last warning any node of this process logged
 * ("" if none). */
void perf_last_warning(char *buf, size_t cap);
/* perf_conn_info - how this process's connection to peer was set up: the
 * transport ("plain TCP", "TLSv1.3 (CIPHER)") and the framing the peer
 * sends.  Returns 0, or -ENOENT if not seen (yet). */
int perf_conn_info(const char *peer, char *transport, size_t tcap,
                   char *framing, size_t fcap);
int perf_node_wait_up(aemp_node *node, const char *nodeid, double timeout_s);
int perf_node_first_up(aemp_node *node, aemp_id *out, double timeout_s);

/* perf_on_shard - run fn(node, arg) on shard and wait for its result. */
int perf_on_shard(aemp_node *node, int shard, int (*fn)(aemp_node *, void *),
                  void *arg);

/* perf_port_new - a perf port on shard (generated name), or with the
 * fixed name (on the shard its name maps to).  ID into *out. */
int perf_port_new(aemp_node *node, int shard, const char *name, aemp_id *out);
void perf_port_totals(uint64_t *msgs);
void perf_ports_free(aemp_node *node);

/* A peer: a child process running a node with one perf port per shard. */
struct perf_peer {
	struct perf_child c;
	aemp_id id;
	char addr[128];
	aemp_id ports[PERF_PORTS_MAX];
	int nports;
};

int perf_peer_start(struct perf_peer *p, const struct perf_opts *o,
                    const char *framing, const char *nodeid, const char *seed);
/* perf_peer_start_global - a peer that runs the global service (db). */
int perf_peer_start_global(struct perf_peer *p, const struct perf_opts *o,
                           const char *framing, const char *nodeid);
int perf_peer_line(struct perf_peer *p, char *buf, size_t cap, int timeout_ms);
void perf_peer_stop(struct perf_peer *p);

/* Two nodes: ours, and a peer child or the --connect node. */
struct perf_duo {
	struct perf_peer peer;
	aemp_node *node;
	aemp_id remote;
	aemp_id targets[PERF_PORTS_MAX];
	int ntargets;
	pid_t pids[1]; /* local peer processes, for CPU */
	int npids;
	int cpu_partial;
	char transport[96];
	double setup_ms; /* from our node's start to seeing the peer up */
};

int perf_duo_start(struct perf_duo *d, const struct perf_opts *o,
                   const char *framing);
void perf_duo_stop(struct perf_duo *d);
/* perf_duo_result - one pair (pingpong 0) or pingpong (1) result between
 * d's nodes into *r (not reported).  Returns 0 or PERF_EFAIL (message
 * printed). */
int perf_duo_result(const struct perf_opts *o, int pingpong, struct perf_duo *d,
                    const char *framing, size_t size, struct perf_result *r);
/* perf_duo_setup - connection set-up once more: a fresh node of this
 * process (number i: its name) dials d's local peer; *ms from the end of
 * its aemp_node_start (its shards run, it dials) to seeing the peer up;
 * the node is freed.  Returns 0 or PERF_EFAIL. */
int perf_duo_setup(struct perf_duo *d, const struct perf_opts *o,
                   const char *framing, int i, double *ms);
int perf_transport(const struct perf_opts *o, const char *peer, char *out,
                   size_t cap);

/* ---- tasks: senders and pingers (perf/sender.c, pinger.c, run.c) ---- */

enum perf_phase {
	PH_INIT = 0,
	PH_WARM,  /* running, not measured */
	PH_WSYNC, /* waiting for the warm-up sync reply */
	PH_RUN,   /* measured */
	PH_SYNC,  /* waiting for the final sync reply */
	PH_DONE,
	PH_FAILED,
};

/* What the main thread sees of a sender or pinger.  The owner shard
 * writes t0, t1, gaps, reorders, hist and err before setting the phase
 * to PH_DONE or PH_FAILED (release); the main thread reads them after. */
struct perf_task {
	_Atomic int phase;
	_Atomic uint64_t measured; /* messages (round trips) so far */
	int64_t t0, t1;            /* measured window (ns) */
	int64_t gaps, reorders;    /* -1: not checked */
	struct perf_hist *hist;    /* pingers only */
	aemp_node *node;
	const pid_t *peers; /* processes whose CPU counts (besides ours) */
	int npeers;
	int64_t cpu0, cpu1;    /* CPU ns at the start and end of the window */
	uint64_t wire0, wire1; /* socket bytes at the start and end */
	void (*free_fn)(aemp_node *node, struct perf_task *t);
	char err[320];
};

void perf_task_set(struct perf_task *t, int phase);
void perf_task_fail(struct perf_task *t, int rc, const char *what);
/* perf_task_keep - free the task after its node has stopped. */
void perf_task_keep(struct perf_task *t);
void perf_tasks_reap(aemp_node *node);
/* perf_watch_parent - in a child: waits for tasks end when fd (the
 * control socket) hangs up. */
void perf_watch_parent(int fd);

struct perf_flow {
	int64_t sid; /* sender ID */
	size_t size; /* payload bytes */
	double warmup_s;
	double seconds;
	uint64_t count; /* 0: use seconds */
	unsigned batch;
	int shard;   /* where the task runs */
	int foreign; /* send from an application thread, not the shard */
	int many;    /* > 0: aemp_snd_many calls of this many messages */
	char target[AEMP_ID_MAX];
	const pid_t *peers; /* other processes of the run, for CPU */
	int npeers;
	int cal;          /* pinger: round trips are aemp_cal calls */
	double backoff_s; /* sender: pause after -EAGAIN (perf_flow_init) */
};

void perf_flow_init(struct perf_flow *f, const struct perf_opts *o, size_t size,
                    int shard, const char *target);

/* perf_backoff_s - how long a sender on a shard pauses after -EAGAIN
 * instead of trying again at once (which would spin and count as CPU
 * per message): the time a connection at 1 GB/s needs to send a quarter
 * of max_queue (0: the engine's default), at most PERF_BACKOFF_MAX_S.
 * The queue stays far from empty meanwhile, so the rate is not lowered. */
#define PERF_BACKOFF_MAX_S 0.0002
double perf_backoff_s(uint64_t max_queue);

/* Start a task on f->shard; *out is set (and kept) even if it failed to
 * start (phase PH_FAILED).  Returns 0 or -ENOMEM. */
int perf_sender_start(aemp_node *node, const struct perf_flow *f,
                      struct perf_task **out);
int perf_pinger_start(aemp_node *node, const struct perf_flow *f,
                      struct perf_task **out);

/* perf_tasks_run - wait (bounded, with the live line) for n tasks to
 * finish and fill r, with the CPU of this process and of the flows' peers
 * over the measured window.  Returns 0 or PERF_EFAIL (message printed). */
int perf_tasks_run(const struct perf_opts *o, const char *label,
                   struct perf_task **t, int n, struct perf_result *r);
/* perf_task_mark - on the task's shard: CPU and socket bytes now, as the
 * start (end 0) or the end (end 1) of the measured window. */
void perf_task_mark(struct perf_task *t, int end);
/* the two halves of perf_tasks_run */
int perf_tasks_wait_run(const struct perf_opts *o, const char *label,
                        struct perf_task **t, int n);
int perf_tasks_wait_done(const struct perf_opts *o, const char *label,
                         struct perf_task **t, int n, struct perf_result *r);
/* perf_wire_bytes - bytes through node's sockets so far, both ways */
uint64_t perf_wire_bytes(aemp_node *node);
/* perf_cpu_sum - CPU ns of this process plus peers */
int64_t perf_cpu_sum(const pid_t *peers, int npeers);

/* perf_payload - a read-only payload of at least size bytes (the main
 * thread sizes it before tasks run). */
const char *perf_payload(size_t size);
void perf_payload_free(void);
/* perf_is_node_port - 1 if id names a node port (no port name). */
int perf_is_node_port(const char *id);

/* ---- latency histogram (perf/hist.c) -------------------------------- */

struct perf_hist;

struct perf_hist *perf_hist_new(void);
void perf_hist_free(struct perf_hist *h);
void perf_hist_add(struct perf_hist *h, int64_t ns);
void perf_hist_merge(struct perf_hist *into, const struct perf_hist *h);
uint64_t perf_hist_count(const struct perf_hist *h);
/* value (ns) at quantile q; q >= 1: the exact maximum */
int64_t perf_hist_quantile(const struct perf_hist *h, double q);
/* the five latency figures of r, in microseconds */
void perf_hist_fill(const struct perf_hist *h, struct perf_result *r);
/* A histogram as text, to pass it between processes: perf_hist_text
 * writes the items from bucket *bucket on (start at 0) that fit into cap
 * and advances *bucket (past the last bucket when all are written);
 * perf_hist_add_text adds such a text to h (0, or -EINVAL). */
int perf_hist_text(const struct perf_hist *h, int *bucket, char *buf,
                   size_t cap);
int perf_hist_add_text(struct perf_hist *h, const char *text);
/* perf_hist_done - 1 once perf_hist_text has written every bucket */
int perf_hist_done(int bucket);

/* ---- the database scenario (perf/db.c, dbwriter.c, dbmon.c) --------- */

/*
 * The writer sets key "k" + SEQ % W of the run's family to [SEQ, SENT_NS,
 * FLAGS, PAYLOAD], W being the window (--window; SENT_NS: CLOCK_MONOTONIC,
 * which every process of the machine shares).  Each monitoring node sends
 * ["ack", INDEX, HIGHEST] to the writer's port whenever the highest
 * sequence number it has seen passes a multiple of perf_db_ack_every(W),
 * and for every update flagged PERF_DB_F_ACK (the last of a phase).  The
 * writer keeps at most W updates beyond what every monitor has
 * acknowledged.  So a key is never set again before every monitor has
 * seen its previous value: changes of one key can never be merged into
 * one report (the API allows that), and every sequence number must reach
 * every monitor.
 */
#define PERF_DB_WINDOW_MAX 256
#define PERF_DB_WINDOW 32    /* the default */
#define PERF_DB_F_MEASURED 1 /* in the measured phase: its latency counts */
#define PERF_DB_F_ACK 2      /* acknowledge at once */

static inline int
perf_db_ack_every(int window)
{
	return (window + 3) / 4;
}

struct perf_db_flow {
	char family[AEMP_ID_MAX];
	size_t size; /* payload bytes */
	double warmup_s;
	double seconds;
	uint64_t count;     /* 0: use seconds */
	int window;         /* updates in flight, and keys */
	const pid_t *peers; /* other processes of the run, for CPU */
	int npeers;
};

/* perf_db_writer_new - the writer of one set of nodes, on shard 0 of node,
 * with its port for the acknowledgements of nmon monitors (ID into
 * *port).  The task is kept until the node stops.  Returns 0 or a negated
 * errno (nothing to free). */
int perf_db_writer_new(aemp_node *node, int nmon, aemp_id *port,
                       struct perf_task **out);
/* perf_db_writer_watch - fail the running (or next) result when node
 * nodeid goes down.  Returns 0 or a negated errno. */
int perf_db_writer_watch(struct perf_task *t, const char *nodeid);
/* perf_db_writer_run - start one result: a warm-up, a drain, the measured
 * phase; then wait with perf_tasks_run.  Sequence numbers go on from the
 * previous result.  Returns 0 or a negated errno (the task failed). */
int perf_db_writer_run(struct perf_task *t, const struct perf_db_flow *f);

/* ---- scenarios ------------------------------------------------------ */

int perf_local(const struct perf_opts *o);    /* perf/local.c */
int perf_pair(const struct perf_opts *o);     /* perf/duo.c */
int perf_pingpong(const struct perf_opts *o); /* perf/duo.c */
int perf_fanin(const struct perf_opts *o);    /* perf/fanin.c */
int perf_raw(const struct perf_opts *o);      /* perf/raw.c */
int perf_serve(const struct perf_opts *o);    /* perf/serve.c */
int perf_db(const struct perf_opts *o);       /* perf/db.c */
int perf_tls(const struct perf_opts *o);      /* perf/tls.c */
int perf_bulk(const struct perf_opts *o);     /* perf/bulk.c */

/* The raw baselines of this run, measured once per size (and reported
 * as rows of their own): msgs/s of the TCP stream, median round trip (us)
 * of the TCP ping-pong; < 0 if not measured (--no-raw, --connect).  spin:
 * the receiving ends read without sleeping (--busy-poll). */
double perf_raw_tput(const struct perf_opts *o, size_t size, int spin);
double perf_raw_rtt(const struct perf_opts *o, size_t size, int spin);
/* perf_zmq_tput - msgs/s of the ZeroMQ PUSH/PULL baseline for size
 * (perf/zmq.c), measured once per size and reported as a "zmq" row; < 0
 * if not measured (--no-raw, --no-zmq, --connect, built without libzmq,
 * or failed). */
double perf_zmq_tput(const struct perf_opts *o, size_t size);
int perf_child_zmq(int argc, char **argv);

/* The child processes' main functions (argv after the role). */
int perf_child_node(int argc, char **argv);
int perf_child_raw(int argc, char **argv);
int perf_child_dbmon(int argc, char **argv);    /* perf/dbmon.c */
int perf_child_clusnode(int argc, char **argv); /* perf/clusnode.c */
int perf_cluster(const struct perf_opts *o);    /* perf/cluster.c */

#endif /* PERF_PERF_H */
