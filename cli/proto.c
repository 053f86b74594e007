/*
 * cli/proto.c - the aemp subcommands that talk to nodes (aemp-protocol.md
 * §8.3, §9): snd, cal, mon, nodes, stats; run is in cli/run.c, db in
 * cli/db.c.  eval, shell, restart and trace are refused for good: they
 * evaluate Perl code on the remote node, which aemp nodes never do.
 *
 * Each command uses the tool's own node (cli/node.c), first waits until
 * the target node is connected (at most --timeout seconds, default 5),
 * then sends and waits for the answer within the same limit; mon waits
 * without a limit for the death it reports.  Results are printed on
 * stdout; every failure is one line on stderr and exit status 1.
 *
 * Threads: the main thread; the callbacks (shard threads) only post into
 * struct cli_wait slots.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define CONFIRM_TEXT "message sent successfully"

/* The string argument v as an ID in buf; one line on failure. */
static int
arg_id(const struct cli_cmd *cmd, const aemp_val *v, char *buf, size_t cap)
{
	if (v->type != AEMP_STR || v->len == 0 || v->len >= cap ||
	    memchr(v->u.s, '\0', v->len) != NULL)
		return cli_fail(CLI_EUSAGE,
		                "'%s': %s must be a port or node ID", cmd->name,
		                cmd->usage);
	memcpy(buf, v->u.s, v->len);
	buf[v->len] = '\0';
	return CLI_OK;
}

/* The values of an ARRAY as JSON without the brackets (new, free()). */
static char *
values_json(const aemp_val *arr)
{
	int len = aemp_json_format(arr, NULL, 0);
	char *buf;

	if (len < 2 || (buf = malloc((size_t)len + 1)) == NULL)
		return NULL;
	aemp_json_format(arr, buf, (size_t)len + 1);
	buf[len - 1] = '\0';
	memmove(buf, buf + 1, (size_t)len - 1);
	return buf;
}

static int
print_values(const aemp_val *arr)
{
	char *s = values_json(arr);

	if (s == NULL)
		return cli_fail(CLI_EFAIL, "cannot format the answer");
	puts(s);
	free(s);
	return CLI_OK;
}

/* The shared preamble: port ID from the first argument, node started,
 * the port's node connected. */
static int
prologue(struct cli *cli, const struct cli_cmd *cmd, char *id, aemp_node **node)
{
	int st;

	if ((st = arg_id(cmd, &cli->arg[0], id, AEMP_ID_MAX)) != CLI_OK ||
	    (st = cli_node(cli, node)) != CLI_OK)
		return st;
	return cli_node_reach(cli, id);
}

static int
rcv_post(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	(void)node;
	cli_wait_post(arg, 0, msg, n);
	return 0;
}

static void
mon_post(aemp_node *node, const aemp_val *reason, size_t n, void *arg)
{
	(void)node;
	cli_wait_post(arg, AEMP_ENOPORT, reason, n);
}

/* "aemp: WHO: WHAT: REASON..." for a monitor that fired. */
static int
fail_reason(const char *who, const char *what, const struct cli_wait *w)
{
	char *r = values_json(w->v);
	int st = cli_fail(CLI_EFAIL, "%s: %s: %s", who, what,
	                  r && r[0] ? r : "(normal termination)");

	free(r);
	return st;
}

/* Send, then have the port's node echo a confirmation through its "snd"
 * relay: it arrives after the message was handed to the port's node. */
static int
snd_confirm(struct cli *cli, aemp_node *node, const char *port,
            struct cli_wait *w)
{
	char nodeid[AEMP_ID_MAX];
	aemp_id me;
	int err;

	snprintf(nodeid, sizeof(nodeid), "%.*s", (int)aemp_node_of(port), port);
	if ((err = aemp_port(node, rcv_post, w, &me)) < 0 ||
	    (err = aemp_mon(node, nodeid, mon_post, w, NULL)) < 0 ||
	    (err = aemp_snd(node, port, cli->arg + 1, cli->narg - 1)) < 0 ||
	    (err = aemp_snd(node, nodeid,
	                    AEMP_MSG(aemp_str("snd"), aemp_str(me.s),
	                             aemp_str(CONFIRM_TEXT)))) < 0)
		return cli_fail(CLI_EFAIL, "snd: %s: %s", port,
		                aemp_strerror(err));
	return CLI_OK;
}

static int
cmd_snd(struct cli *cli, const struct cli_cmd *cmd)
{
	char port[AEMP_ID_MAX];
	aemp_node *node;
	struct cli_wait *w;
	const aemp_val *t;
	int st;

	if ((st = prologue(cli, cmd, port, &node)) != CLI_OK)
		return st;
	if ((w = cli_wait_new(cli)) == NULL)
		return cli_fail(CLI_EFAIL, "out of memory");
	if ((st = snd_confirm(cli, node, port, w)) != CLI_OK)
		return st;
	if (!cli_wait_for(w, cli->opt.timeout_s))
		return cli_fail(CLI_EFAIL,
		                "%.*s: no delivery confirmation "
		                "within %g s",
		                (int)aemp_node_of(port), port,
		                cli->opt.timeout_s);
	if (w->status != 0)
		return fail_reason(port,
		                   "delivery not confirmed, connection "
		                   "lost",
		                   w);
	t = aemp_at(w->v, 0);
	if (t != NULL && t->type == AEMP_STR && w->v->len == 1) {
		printf("%.*s\n", (int)t->len, t->u.s);
		return CLI_OK;
	}
	return print_values(w->v);
}

/*
 * cal (§7.10) with the reply port appended: the reply or the death of
 * the monitored port (or its connection) lands in w.  Written with ports
 * and monitors rather than aemp_cal, whose pending state the library
 * does not release when the node is freed before the reply.
 */
static int
cal_start(aemp_node *node, const char *port, const aemp_val *msg, size_t n,
          struct cli_wait *w, aemp_id *reply, aemp_guard *g)
{
	aemp_val *m = calloc(n + 1, sizeof(*m));
	int err = -ENOMEM;

	if (m != NULL && (err = aemp_port(node, rcv_post, w, reply)) == 0 &&
	    (err = aemp_mon(node, port, mon_post, w, g)) == 0) {
		if (n > 0)
			memcpy(m, msg, n * sizeof(*m));
		m[n] = aemp_str(reply->s);
		err = aemp_snd(node, port, m, n + 1);
	}
	free(m);
	return err;
}

/* cal PORT with msg, within --timeout; the answer is in (*w)->v. */
static int
call(struct cli *cli, aemp_node *node, const char *port, const aemp_val *msg,
     size_t n, const char *hint, struct cli_wait **w)
{
	aemp_id reply = {{0}};
	aemp_guard g = {0};
	int err, done;

	if ((*w = cli_wait_new(cli)) == NULL)
		return cli_fail(CLI_EFAIL, "out of memory");
	err = cal_start(node, port, msg, n, *w, &reply, &g);
	done = err == 0 && cli_wait_for(*w, cli->opt.timeout_s);
	aemp_guard_cancel(node, &g);
	if (reply.s[0] != '\0')
		aemp_kil(node, reply.s, NULL, 0);
	if (err < 0)
		return cli_fail(CLI_EFAIL, "%s: cannot send: %s", port,
		                aemp_strerror(err));
	if (!done)
		return cli_fail(CLI_EFAIL, "%s: no reply within %g s%s", port,
		                cli->opt.timeout_s, hint);
	if ((*w)->status == AEMP_ENOPORT)
		return fail_reason(port, "no reply, the port is gone", *w);
	return CLI_OK;
}

static int
cmd_cal(struct cli *cli, const struct cli_cmd *cmd)
{
	char port[AEMP_ID_MAX];
	aemp_node *node;
	struct cli_wait *w;
	int st;

	if ((st = prologue(cli, cmd, port, &node)) != CLI_OK ||
	    (st = call(cli, node, port, cli->arg + 1, cli->narg - 1, "", &w)) !=
	            CLI_OK)
		return st;
	return print_values(w->v);
}

static int
cmd_mon(struct cli *cli, const struct cli_cmd *cmd)
{
	char port[AEMP_ID_MAX];
	aemp_node *node;
	struct cli_wait *w;
	int st, err;

	if ((st = prologue(cli, cmd, port, &node)) != CLI_OK)
		return st;
	if ((w = cli_wait_new(cli)) == NULL)
		return cli_fail(CLI_EFAIL, "out of memory");
	if ((err = aemp_mon(node, port, mon_post, w, NULL)) < 0)
		return cli_fail(CLI_EFAIL, "%s: cannot monitor: %s", port,
		                aemp_strerror(err));
	/* Waiting for the death is the command: no limit unless asked. */
	if (!cli_wait_for(w, cli->opt.timeout_given ? cli->opt.timeout_s : -1))
		return cli_fail(CLI_EFAIL, "%s: still alive after %g s", port,
		                cli->opt.timeout_s);
	return print_values(w->v);
}

/* A node's answer to an aemp request: one value of the given type. */
static int
node_request(struct cli *cli, const struct cli_cmd *cmd, const char *req,
             int type, const aemp_val **out, char *nodeid)
{
	char hint[128];
	aemp_node *node;
	struct cli_wait *w;
	int st;

	if ((st = prologue(cli, cmd, nodeid, &node)) != CLI_OK)
		return st;
	nodeid[aemp_node_of(nodeid)] = '\0';
	snprintf(hint, sizeof(hint),
	         " (%s is an aemp extension: Perl nodes do not answer it)",
	         req);
	if ((st = call(cli, node, nodeid, AEMP_MSG(aemp_str(req)), hint, &w)) !=
	    CLI_OK)
		return st;
	*out = aemp_at(w->v, 0);
	if (*out == NULL || (*out)->type != type)
		return cli_fail(CLI_EFAIL, "%s: unexpected answer to %s",
		                nodeid, req);
	return CLI_OK;
}

static int
cmd_nodes(struct cli *cli, const struct cli_cmd *cmd)
{
	char nodeid[AEMP_ID_MAX], *text;
	const aemp_val *list;
	aemp_node *node = NULL;
	aemp_val *keep;
	size_t i, n = 0;
	int st;

	if ((st = node_request(cli, cmd, "aemp::nodes", AEMP_ARRAY, &list,
	                       nodeid)) != CLI_OK ||
	    (st = cli_node(cli, &node)) != CLI_OK)
		return st;
	/* The tool's own node is connected too, but is no part of it. */
	if ((keep = calloc(list->len + 1, sizeof(*keep))) == NULL)
		return cli_fail(CLI_EFAIL, "out of memory");
	for (i = 0; i < list->len; i++)
		if (!aemp_str_eq(&list->u.a[i], aemp_node_id(node)))
			keep[n++] = list->u.a[i];
	for (i = 0; !cli->opt.json && i < n; i++)
		if (keep[i].type == AEMP_STR)
			printf("%.*s\n", (int)keep[i].len, keep[i].u.s);
	if (cli->opt.json) {
		aemp_val arr[1] = {aemp_array(keep, n)};
		aemp_val wrap = aemp_array(arr, 1);

		if ((text = values_json(&wrap)) == NULL)
			st = cli_fail(CLI_EFAIL, "cannot format the answer");
		else
			puts(text);
		free(text);
	}
	free(keep);
	return st;
}

static int
cmd_stats(struct cli *cli, const struct cli_cmd *cmd)
{
	char nodeid[AEMP_ID_MAX], *text;
	const aemp_val *map, *k;
	aemp_val wrap;
	size_t i;
	int st;

	if ((st = node_request(cli, cmd, "aemp::stats", AEMP_MAP, &map,
	                       nodeid)) != CLI_OK)
		return st;
	wrap = aemp_array(map, 1);
	if (cli->opt.json)
		return print_values(&wrap);
	for (i = 0; i < map->len; i++) {
		k = &map->u.a[2 * i];
		wrap = aemp_array(&map->u.a[2 * i + 1], 1);
		if ((text = values_json(&wrap)) == NULL)
			return cli_fail(CLI_EFAIL, "cannot format the answer");
		printf("%-27.*s %s\n", (int)k->len, k->u.s, text);
		free(text);
	}
	return CLI_OK;
}

static int
no_eval(struct cli *cli, const struct cli_cmd *cmd)
{
	(void)cli;
	return cli_fail(CLI_EUSAGE,
	                "'%s' is not supported: aemp nodes do not evaluate "
	                "code%s",
	                cmd->name,
	                strcmp(cmd->name, "trace") == 0
	                        ? " (try 'aemp nodes NODE')"
	                        : "");
}

const struct cli_cmd cli_proto_cmds[] = {
        {"run", CLI_REST, 0, CLI_ANY, "[PROFILE] [KEY VALUE...]", cli_run,
         "run a node configured with configure() arguments", NULL},
        {"snd", CLI_REST, 1, CLI_ANY, "PORT [ARG...]", cmd_snd,
         "send a message and confirm delivery", NULL},
        {"cal", CLI_REST, 1, CLI_ANY, "PORT [ARG...]", cmd_cal,
         "call PORT with a reply port and print the reply", NULL},
        {"mon", 1, 0, CLI_STR, "PORT", cmd_mon,
         "wait until PORT (or node) dies and print the reason", NULL},
        {"nodes", 1, 0, CLI_STR, "NODE", cmd_nodes,
         "print the nodes NODE is connected to (aemp nodes only)", NULL},
        {"stats", 1, 0, CLI_STR, "NODE", cmd_stats,
         "print the counters of NODE (aemp nodes only)", NULL},
        {"top", CLI_REST, 0, CLI_STR, "[NODE...]", cli_top,
         "live view of nodes' rates (seeds' nodes by default)", NULL},
        {"db", 2, 0, CLI_STR, "keys|family|values|mon FAMILY", cli_db,
         "query or watch a family of the global database", NULL},
        {"trace", CLI_REST, 0, CLI_ANY, "NODE", no_eval,
         "not supported (needs code evaluation; see 'nodes')", NULL},
        {"eval", CLI_REST, 0, CLI_ANY, "NODE EXPR...", no_eval,
         "not supported (aemp nodes do not evaluate code)", NULL},
        {"shell", CLI_REST, 0, CLI_ANY, "[NODE]", no_eval, NULL, NULL},
        {"restart", CLI_REST, 0, CLI_ANY, "NODE", no_eval, NULL, NULL},
};

const size_t cli_proto_ncmds =
        sizeof(cli_proto_cmds) / sizeof(cli_proto_cmds[0]);
