/*
 * cli/node.c - the tool's own node, used by the protocol commands
 * (aemp-protocol.md §8.2): profile "aemp", node ID template "aemp/%n/%u",
 * no listener, one shard.  The node ID, binds and shards come from the
 * "aemp" profile (or its parents) when it sets them, never from the
 * file's global section, so that a global "nodeid" or "binds" meant for
 * real nodes cannot make the tool collide with them; every other key
 * (secret, cert, seeds, ...) resolves as configure() does.  --seeds and
 * --secret override the file.
 *
 * The main thread waits for callbacks through struct cli_wait slots
 * guarded by one mutex and condition variable.  Slots live as long as the
 * node, so a callback that fires after its command gave up writes into
 * memory that is still there.
 *
 * Threads: the main thread makes, waits for and frees the node; log and
 * result callbacks run on shard threads and take the lock.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

#define TOOL_PROFILE "aemp"
#define PARENT_DEPTH_MAX 32
#define RETRY_S 0.5 /* pause between connection attempts to one node */

struct cli_node {
	aemp_node *node;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cli_wait *all; /* every slot, freed with the node */
	char lastconn[512];   /* last note about a connection attempt */
	int noseeds;          /* the tool node has no seeds */
	int verbose;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Does the tool profile or one of its parents set key? */
static int
profile_sets(const aemp_rc *rc, const char *key)
{
	char name[256] = TOOL_PROFILE;
	const aemp_val *parent;
	int depth;

	for (depth = 0; depth < PARENT_DEPTH_MAX; depth++) {
		if (aemp_rc_get(rc, name, key) != NULL)
			return 1;
		parent = aemp_rc_get(rc, name, "parent");
		if (parent == NULL || parent->type != AEMP_STR ||
		    parent->len == 0 || parent->len >= sizeof(name))
			return 0;
		memcpy(name, parent->u.s, parent->len);
		name[parent->len] = '\0';
	}
	return 0;
}

/* The configure() arguments of the tool node; "force" puts them above
 * the file, so only what must win is set. */
static int
tool_conf(struct cli *cli, aemp_conf *c)
{
	int err = 0;

	if ((err = aemp_conf_set_str(c, "profile", TOOL_PROFILE)) < 0 ||
	    (err = aemp_conf_set_json(c, "force", "true")) < 0)
		return err;
	if (!profile_sets(cli->rc, "nodeid") &&
	    (err = aemp_conf_set_str(c, "nodeid", "aemp/%n/%u")) < 0)
		return err;
	if (!profile_sets(cli->rc, "binds") &&
	    (err = aemp_conf_set_json(c, "binds", "[]")) < 0)
		return err;
	if (!profile_sets(cli->rc, "shards") &&
	    (err = aemp_conf_set_json(c, "shards", "1")) < 0)
		return err;
	/* A short-lived client: it neither spins nor takes a pinned core
	 * (and one shard must not meet a cpus list made for a server). */
	if ((err = aemp_conf_set_json(c, "busy_poll_us", "0")) < 0 ||
	    (err = aemp_conf_set_json(c, "cpus", "[]")) < 0)
		return err;
	if (cli->opt.secret != NULL &&
	    (err = aemp_conf_set_str(c, "secret", cli->opt.secret)) < 0)
		return err;
	return err;
}

/* --seeds LIST: comma-separated, as setseeds takes it. */
static int
tool_seeds(struct cli *cli, aemp_conf *c)
{
	static const struct cli_cmd opt = {"--seeds", 1,    0,    CLI_STR,
	                                   "LIST",    NULL, NULL, "seeds"};
	aemp_val arg, v, *tofree = NULL;
	int st, err;

	if (cli->opt.seeds == NULL)
		return CLI_OK;
	arg = aemp_str(cli->opt.seeds);
	if ((st = cli_conf_value(&opt, "seeds", &arg, &v, &tofree)) != CLI_OK)
		return st;
	err = aemp_conf_set(c, "seeds", &v);
	free(tofree);
	return err < 0 ? cli_fail_api(CLI_EFAIL, err, "--seeds") : CLI_OK;
}

static const char *const level_names[] = {
        "",     "fatal", "alert", "crit",  "error",
        "warn", "note",  "info",  "debug", "trace",
};

/* Engine log: shown with --verbose.  The outcome of connection attempts
 * (a note) explains an unreachable node best, so the last one is kept. */
static void
tool_log(int level, const char *nodeid, const char *msg, void *arg)
{
	struct cli_node *tn = arg;

	if (tn->verbose)
		fprintf(stderr, "aemp[%s] %s: %s\n", nodeid,
		        level_names[level < 1 || level > 9 ? 4 : level], msg);
	if (level > AEMP_LOG_NOTE || strncmp(msg, "connection ", 11) != 0)
		return;
	pthread_mutex_lock(&tn->mu);
	/* A dropped connection after a refusal says less than the refusal
	 * ("shared secret mismatch"), so it does not replace one. */
	if (tn->lastconn[0] == '\0' || strstr(msg, "end-of-file") == NULL)
		snprintf(tn->lastconn, sizeof(tn->lastconn), "%s", msg);
	pthread_mutex_unlock(&tn->mu);
}

static struct cli_node *
tn_new(int verbose)
{
	struct cli_node *tn = calloc(1, sizeof(*tn));
	pthread_condattr_t ca;

	if (tn == NULL)
		return NULL;
	pthread_mutex_init(&tn->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&tn->cv, &ca);
	pthread_condattr_destroy(&ca);
	tn->verbose = verbose;
	return tn;
}

static int
tool_start(struct cli *cli, struct cli_node *tn)
{
	aemp_conf *c = NULL;
	int st = CLI_OK, err;

	if ((err = aemp_conf_new(&c)) < 0 || (err = tool_conf(cli, c)) < 0)
		st = cli_fail_api(CLI_EFAIL, err, "the tool's node");
	if (st == CLI_OK)
		st = tool_seeds(cli, c);
	if (st == CLI_OK && (err = aemp_conf_resolve(c)) == 0)
		tn->noseeds = aemp_conf_get(c, "seeds") == NULL ||
		              aemp_conf_get(c, "seeds")->len == 0;
	if (st == CLI_OK &&
	    (err < 0 || (err = aemp_node_new(c, &tn->node)) < 0))
		st = cli_fail_api(CLI_EFAIL, err,
		                  "the tool's node (profile "
		                  "'" TOOL_PROFILE "')");
	aemp_conf_free(c);
	if (st == CLI_OK &&
	    ((err = aemp_set_log(tn->node,
	                         tn->verbose ? AEMP_LOG_DEBUG : AEMP_LOG_NOTE,
	                         tool_log, tn)) < 0 ||
	     (err = aemp_node_start(tn->node)) < 0))
		st = cli_fail_api(CLI_EFAIL, err,
		                  "cannot start the tool's "
		                  "node");
	return st;
}

int
cli_node(struct cli *cli, aemp_node **out)
{
	int st;

	if (cli->tn == NULL) {
		/* The node reads the file itself: edits made earlier on the
		 * command line go to disk first. */
		if ((st = cli_rc(cli)) != CLI_OK ||
		    (st = cli_save(cli)) != CLI_OK)
			return st;
		if ((cli->tn = tn_new(cli->opt.verbose)) == NULL)
			return cli_fail(CLI_EFAIL, "out of memory");
		if ((st = tool_start(cli, cli->tn)) != CLI_OK) {
			cli_node_free(cli);
			return st;
		}
	}
	*out = cli->tn->node;
	return CLI_OK;
}

struct cli_wait *
cli_wait_new(struct cli *cli)
{
	struct cli_wait *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->tn = cli->tn;
	pthread_mutex_lock(&cli->tn->mu);
	w->all_link = cli->tn->all;
	cli->tn->all = w;
	pthread_mutex_unlock(&cli->tn->mu);
	return w;
}

void
cli_wait_post(struct cli_wait *w, int status, const aemp_val *msg, size_t n)
{
	aemp_val *v = aemp_msg_dup(msg, n);

	pthread_mutex_lock(&w->tn->mu);
	if (w->done) {
		pthread_mutex_unlock(&w->tn->mu);
		aemp_val_free(v);
		return;
	}
	w->done = 1;
	w->status = v == NULL ? -ENOMEM : status;
	w->v = v;
	pthread_cond_broadcast(&w->tn->cv);
	pthread_mutex_unlock(&w->tn->mu);
}

/* Wait on the condition variable until `until` (monotonic seconds; < 0:
 * forever).  Called with the lock held. */
static void
timed_wait(struct cli_node *tn, double until)
{
	struct timespec ts;

	if (until < 0) {
		pthread_cond_wait(&tn->cv, &tn->mu);
		return;
	}
	ts.tv_sec = (time_t)until;
	ts.tv_nsec = (long)((until - floor(until)) * 1e9);
	pthread_cond_timedwait(&tn->cv, &tn->mu, &ts);
}

int
cli_wait_for(struct cli_wait *w, double timeout_s)
{
	double until = timeout_s < 0 ? -1 : now_s() + timeout_s;
	int done;

	pthread_mutex_lock(&w->tn->mu);
	while (!w->done && (until < 0 || now_s() < until))
		timed_wait(w->tn, until);
	done = w->done;
	pthread_mutex_unlock(&w->tn->mu);
	return done;
}

static void
reach_failed(aemp_node *node, const aemp_val *reason, size_t n, void *arg)
{
	(void)node;
	cli_wait_post(arg, AEMP_ENONODE, reason, n);
}

/* The text of a transport error reason ("no known address"). */
static void
reason_text(const struct cli_wait *w, char *buf, size_t cap)
{
	const aemp_val *t;

	if (w->v == NULL || w->v->len < 3)
		return;
	t = aemp_at(w->v, w->v->len - 1);
	if (t != NULL && t->type == AEMP_STR)
		snprintf(buf, cap, "%.*s", (int)t->len, t->u.s);
}

/*
 * Wait until nodeid is up.  A node monitor starts a connection attempt
 * (through the seeds' answers or the directory); when it fails, the next
 * one starts RETRY_S later, while the seed manager keeps dialling.
 * Returns 1 if up before `until`.
 */
static int
reach_loop(struct cli *cli, const char *nodeid, double until, char *why,
           size_t cap)
{
	struct cli_node *tn = cli->tn;
	struct cli_wait *w = NULL;
	aemp_guard g = {0};
	double retry = 0;
	int up, failed;

	/* The lock is never held across a call into the library. */
	while ((up = aemp_node_is_up(tn->node, nodeid) == 1) == 0 &&
	       now_s() < until) {
		pthread_mutex_lock(&tn->mu);
		failed = w == NULL || w->done;
		if (w != NULL && w->done && retry == 0) {
			reason_text(w, why, cap);
			retry = now_s() + RETRY_S;
		}
		pthread_mutex_unlock(&tn->mu);
		if (failed && now_s() >= retry) {
			if ((w = cli_wait_new(cli)) == NULL)
				break;
			if (aemp_mon(tn->node, nodeid, reach_failed, w, &g) < 0)
				w->done = 1; /* no callback: nothing races */
			retry = 0;
		}
		pthread_mutex_lock(&tn->mu);
		timed_wait(tn, fmin(until, now_s() + 0.02));
		pthread_mutex_unlock(&tn->mu);
	}
	aemp_guard_cancel(tn->node, &g);
	return up;
}

int
cli_node_reach(struct cli *cli, const char *id)
{
	char nodeid[AEMP_ID_MAX], why[512] = "";
	size_t len = aemp_node_of(id);

	if (len == 0 || len >= sizeof(nodeid))
		return cli_fail(CLI_EUSAGE, "'%s' is not a port or node ID",
		                id);
	memcpy(nodeid, id, len);
	nodeid[len] = '\0';
	if (aemp_port_is_local(cli->tn->node, nodeid) ||
	    reach_loop(cli, nodeid, now_s() + cli->opt.timeout_s, why,
	               sizeof(why)))
		return CLI_OK;
	if (cli->tn->noseeds)
		return cli_fail(CLI_EFAIL,
		                "%s: unreachable (no connection within %g s; "
		                "the tool has no seeds: give --seeds HOST:PORT "
		                "or set them in profile '" TOOL_PROFILE "')",
		                nodeid, cli->opt.timeout_s);
	/* The connection attempts say more than the monitor's reason. */
	pthread_mutex_lock(&cli->tn->mu);
	if (cli->tn->lastconn[0])
		snprintf(why, sizeof(why), "%s", cli->tn->lastconn);
	pthread_mutex_unlock(&cli->tn->mu);
	return cli_fail(CLI_EFAIL,
	                "%s: unreachable (no connection within %g s%s%s)",
	                nodeid, cli->opt.timeout_s, why[0] ? ": " : "", why);
}

void
cli_node_free(struct cli *cli)
{
	struct cli_node *tn = cli->tn;
	struct cli_wait *w;

	if (tn == NULL)
		return;
	aemp_node_free(tn->node);
	while ((w = tn->all) != NULL) {
		tn->all = w->all_link;
		aemp_val_free(w->v);
		free(w);
	}
	pthread_cond_destroy(&tn->cv);
	pthread_mutex_destroy(&tn->mu);
	free(tn);
	cli->tn = NULL;
}
