/*
 * cli/top.c - `aemp top [NODE...]`: a live view of nodes through the
 * protocol (aemp::stats, aemp::nodes; no metrics endpoint needed).  Every
 * second each node is asked for its counters; a row shows its message,
 * packet and byte rates, connections, pending handshakes, ports and the
 * bytes queued on its connections to peers (QUEUE), rows
 * sorted by load (messages + packets per second, highest first).
 *
 * Without NODE arguments the nodes are those reachable through the seeds:
 * the tool node's master and the nodes it is connected to (asked again
 * every 5 s).  On a terminal the screen is redrawn every second until `q`
 * or Ctrl-C; when stdout is no terminal, one table is printed after two
 * samples a second apart, and the command exits.  Nodes that do not
 * answer (Perl nodes, unreachable ones) show "-".
 *
 * Memory is bounded: one reply port per node (at most TOP_MAX_NODES),
 * created once; each reply overwrites the node's last sample.
 *
 * Threads: the main thread draws; reply handlers (shard threads) write
 * samples under `mu`.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

#define TOP_MAX_NODES 64
#define TOP_NKEYS 8

/* The aemp::stats keys used, in this order in struct sample.v
 * (queue_bytes: nodes of older aemp versions lack it, shown as "-"). */
static const char *const keys[TOP_NKEYS] = {
        "messages",  "packets_in",  "packets_out", "bytes_in",
        "bytes_out", "connections", "ports",       "queue_bytes"};
static const char *const hs_key = "handshakes";

struct sample {
	double t; /* arrival, monotonic seconds; 0: none */
	double v[TOP_NKEYS];
	double hs;
	int has_queue; /* the answer had queue_bytes */
};

struct top;

struct target {
	struct top *top;
	char id[AEMP_ID_MAX];
	aemp_id reply;
	struct sample cur;  /* latest answer (under top->mu) */
	struct sample prev; /* the answer before it (under top->mu) */
};

struct top {
	pthread_mutex_t mu;
	struct target t[TOP_MAX_NODES];
	size_t n;
	aemp_val *nodes; /* last aemp::nodes answer (under mu), new */
	aemp_id nodes_reply;
	int discovered; /* the master's node list arrived at least once */
	int tty;
	struct termios saved; /* terminal mode to restore (tty only) */
	int raw;
};

/* A row to draw: rates per second over the last two samples. */
struct row {
	const char *id;
	int have;       /* 0: no answer yet */
	double rate[5]; /* msgs, pkts in, pkts out, bytes in, bytes out */
	double conns, hs, ports;
	double queue; /* bytes queued to peers; < 0: not told */
	double load;
};

static volatile sig_atomic_t top_stop;

static void
on_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reply handler of a target's port: msg[0] is the stats map. */
static int
on_stats(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	struct target *t = arg;
	struct sample s = {mono(), {0}, 0, 0};
	const aemp_val *v;
	size_t i;

	(void)node;
	if (n < 1 || msg[0].type != AEMP_MAP)
		return 0;
	for (i = 0; i < TOP_NKEYS; i++)
		if ((v = aemp_map_get(&msg[0], keys[i])) != NULL)
			(void)aemp_get_float(v, &s.v[i]);
	if ((v = aemp_map_get(&msg[0], hs_key)) != NULL)
		(void)aemp_get_float(v, &s.hs);
	s.has_queue = aemp_map_get(&msg[0], keys[7]) != NULL;
	pthread_mutex_lock(&t->top->mu);
	t->prev = t->cur;
	t->cur = s;
	pthread_mutex_unlock(&t->top->mu);
	return 0;
}

/* Reply handler of the aemp::nodes port: msg[0] is an array of IDs. */
static int
on_nodes(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	struct top *top = arg;
	aemp_val *copy;

	(void)node;
	if (n < 1 || msg[0].type != AEMP_ARRAY ||
	    (copy = aemp_val_dup(&msg[0])) == NULL)
		return 0;
	pthread_mutex_lock(&top->mu);
	aemp_val_free(top->nodes);
	top->nodes = copy;
	pthread_mutex_unlock(&top->mu);
	return 0;
}

/* Add node id (not the tool node, no duplicates, up to the cap). */
static int
add_target(struct top *top, aemp_node *node, const char *id, size_t len)
{
	struct target *t;
	size_t i;
	int err;

	if (len == 0 || len >= AEMP_ID_MAX ||
	    (strlen(aemp_node_id(node)) == len &&
	     memcmp(aemp_node_id(node), id, len) == 0))
		return 0;
	for (i = 0; i < top->n; i++)
		if (strlen(top->t[i].id) == len &&
		    memcmp(top->t[i].id, id, len) == 0)
			return 0;
	if (top->n == TOP_MAX_NODES)
		return 0; /* documented cap: the first 64 nodes */
	t = &top->t[top->n];
	memset(t, 0, sizeof(*t));
	t->top = top;
	memcpy(t->id, id, len);
	if ((err = aemp_port(node, on_stats, t, &t->reply)) < 0)
		return cli_fail(CLI_EFAIL, "top: cannot make a port: %s",
		                aemp_strerror(err));
	top->n++;
	return 0;
}

/* Without NODE arguments: the master and the nodes it is connected to. */
static void
discover(struct top *top, aemp_node *node)
{
	char master[AEMP_ID_MAX];
	aemp_val *list;
	size_t i;

	if (aemp_node_master(node, master, sizeof(master)) <= 0)
		return;
	(void)add_target(top, node, master, strlen(master));
	if (top->nodes_reply.s[0] == '\0' &&
	    aemp_port(node, on_nodes, top, &top->nodes_reply) < 0)
		return;
	(void)aemp_snd(node, master,
	               AEMP_MSG(aemp_str("aemp::nodes"),
	                        aemp_str(top->nodes_reply.s)));
	pthread_mutex_lock(&top->mu);
	list = top->nodes;
	top->nodes = NULL;
	pthread_mutex_unlock(&top->mu);
	if (list != NULL)
		top->discovered = 1;
	for (i = 0; list != NULL && i < list->len; i++)
		if (list->u.a[i].type == AEMP_STR)
			(void)add_target(top, node, list->u.a[i].u.s,
			                 list->u.a[i].len);
	aemp_val_free(list);
}

static void
ask_all(struct top *top, aemp_node *node)
{
	size_t i;

	for (i = 0; i < top->n; i++)
		(void)aemp_snd(node, top->t[i].id,
		               AEMP_MSG(aemp_str("aemp::stats"),
		                        aemp_str(top->t[i].reply.s)));
}

static void
make_row(const struct target *t, struct row *r)
{
	double dt = t->cur.t - t->prev.t;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->id = t->id;
	r->have = t->cur.t > 0;
	r->conns = t->cur.v[5];
	r->ports = t->cur.v[6];
	r->hs = t->cur.hs;
	r->queue = t->cur.has_queue ? t->cur.v[7] : -1;
	if (t->prev.t <= 0 || dt <= 0)
		return;
	for (i = 0; i < 5; i++)
		r->rate[i] = (t->cur.v[i] - t->prev.v[i]) / dt;
	r->load = r->rate[0] + r->rate[1] + r->rate[2];
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->load != y->load)
		return x->load < y->load ? 1 : -1;
	return strcmp(x->id, y->id);
}

static void
draw(struct top *top)
{
	struct row rows[TOP_MAX_NODES];
	size_t i;
	time_t now = time(NULL);
	char hms[16];

	pthread_mutex_lock(&top->mu);
	for (i = 0; i < top->n; i++)
		make_row(&top->t[i], &rows[i]);
	pthread_mutex_unlock(&top->mu);
	qsort(rows, top->n, sizeof(rows[0]), row_cmp);
	strftime(hms, sizeof(hms), "%H:%M:%S", localtime(&now));
	if (top->tty)
		fputs("\033[H\033[2J", stdout);
	printf("aemp top - %zu node%s - %s%s\n", top->n, top->n == 1 ? "" : "s",
	       hms, top->tty ? " - q quits" : "");
	printf("%-24s %9s %9s %9s %10s %10s %6s %4s %7s %9s\n", "NODE", "MSG/S",
	       "PKTIN/S", "PKTOUT/S", "BYTESIN/S", "BYTESOUT/S", "CONNS", "HS",
	       "PORTS", "QUEUE");
	for (i = 0; i < top->n; i++) {
		const struct row *r = &rows[i];

		if (!r->have) {
			printf("%-24.24s %9s %9s %9s %10s %10s %6s %4s %7s "
			       "%9s\n",
			       r->id, "-", "-", "-", "-", "-", "-", "-", "-",
			       "-");
			continue;
		}
		printf("%-24.24s %9.0f %9.0f %9.0f %10.0f %10.0f %6.0f %4.0f "
		       "%7.0f ",
		       r->id, r->rate[0], r->rate[1], r->rate[2], r->rate[3],
		       r->rate[4], r->conns, r->hs, r->ports);
		if (r->queue < 0)
			printf("%9s\n", "-");
		else
			printf("%9.0f\n", r->queue);
	}
	fflush(stdout);
}

/* Wait up to secs for a key; 1 if `q` was typed (tty only). */
static int
wait_key(struct top *top, double secs)
{
	double until = mono() + secs, left;
	struct pollfd p = {STDIN_FILENO, POLLIN, 0};
	char c;

	while (!top_stop && (left = until - mono()) > 0) {
		if (!top->raw) {
			usleep((useconds_t)(left > 0.1 ? 100000 : left * 1e6));
			continue;
		}
		if (poll(&p, 1, (int)(left * 1000) + 1) == 1 &&
		    read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q'))
			return 1;
	}
	return 0;
}

static void
term_setup(struct top *top)
{
	struct termios t;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	top->tty = isatty(STDOUT_FILENO);
	if (!top->tty || !isatty(STDIN_FILENO) ||
	    tcgetattr(STDIN_FILENO, &top->saved) < 0)
		return;
	t = top->saved;
	t.c_lflag &= (tcflag_t) ~(ICANON | ECHO); /* ISIG kept: Ctrl-C */
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	top->raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
}

static void
term_restore(struct top *top)
{
	if (top->raw)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &top->saved);
	if (top->tty)
		fputs("\n", stdout);
}

static int
top_targets(struct cli *cli, struct top *top, aemp_node *node)
{
	char id[AEMP_ID_MAX];
	double until = mono() + cli->opt.timeout_s;
	size_t i;
	int st;

	for (i = 0; i < cli->narg; i++) {
		if (cli->arg[i].type != AEMP_STR)
			return cli_fail(CLI_EUSAGE, "top: NODE must be a "
			                            "node ID");
		snprintf(id, sizeof(id), "%.*s", (int)cli->arg[i].len,
		         cli->arg[i].u.s);
		if ((st = add_target(top, node, id, strlen(id))) != 0)
			return st;
	}
	/* Without arguments: wait for the master and its answer. */
	while (cli->narg == 0 && !top->discovered && mono() < until &&
	       !top_stop) {
		discover(top, node);
		wait_key(top, 0.2);
	}
	if (top->n == 0)
		return cli_fail(CLI_EFAIL,
		                "top: no node reachable through the "
		                "seeds within %g s",
		                cli->opt.timeout_s);
	return CLI_OK;
}

int
cli_top(struct cli *cli, const struct cli_cmd *cmd)
{
	static struct top top;
	aemp_node *node;
	double next_discover;
	int st, quit = 0;

	(void)cmd;
	pthread_mutex_init(&top.mu, NULL);
	if ((st = cli_node(cli, &node)) != CLI_OK)
		return st;
	term_setup(&top);
	if ((st = top_targets(cli, &top, node)) != CLI_OK) {
		term_restore(&top);
		return st;
	}
	next_discover = mono() + 5;
	ask_all(&top, node);
	quit = wait_key(&top, 1);
	while (!quit && !top_stop) {
		ask_all(&top, node);
		quit = wait_key(&top, 1);
		draw(&top);
		if (!top.tty)
			break;
		if (cli->narg == 0 && mono() >= next_discover) {
			discover(&top, node);
			next_discover = mono() + 5;
		}
	}
	term_restore(&top);
	pthread_mutex_lock(&top.mu);
	aemp_val_free(top.nodes);
	top.nodes = NULL;
	pthread_mutex_unlock(&top.mu);
	return CLI_OK;
}
