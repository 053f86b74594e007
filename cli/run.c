/*
 * cli/run.c - `aemp run KEY VALUE...`: a node in the foreground,
 * configured like AnyEvent::MP's configure() (aemp-protocol.md §7.1,
 * §8.3), with the services built into the tool.
 *
 * On start it prints two lines on stdout, for scripts:
 *     nodeid ID
 *     metrics ADDR             (only with the `metrics` key set)
 *     listen ADDR ADDR...      (nothing after "listen" without listeners)
 * then logs on stderr until SIGINT or SIGTERM stops it (exit 0).  A second
 * signal during shutdown exits at once.
 *
 * Built-in service: the init function "aemp::echo" (spawn it on the node,
 * optionally with a database family and value to register the port in);
 * its port sends every message [PORTID, REST...] on as REST... to PORTID.
 * The node also answers the engine's aemp::stats and aemp::nodes requests.
 * Service modules (`modules`, `module_path`, docs/hosting.md) are loaded
 * by the engine; the tool is linked so that they find every aemp_*
 * function in it (Makefile, HOST_LDFLAGS).
 *
 * Threads: main thread; SIGINT and SIGTERM are blocked in every thread
 * but the main thread's sigsuspend(); the handler only sets a flag (or
 * calls _exit on a second signal); echo handlers run on shard threads.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define ECHO_FUNC "aemp::echo"

static volatile sig_atomic_t run_signal;

static void
on_signal(int sig)
{
	if (run_signal != 0)
		_exit(128 + sig); /* second signal: do not wait any longer */
	run_signal = sig;
}

/* Handlers for SIGINT and SIGTERM, which stay blocked (also in the
 * shard threads, which inherit the mask) until wait_signal(); *old gets
 * the mask to wait with. */
static void
install_signals(sigset_t *old)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

/* Sleep until SIGINT or SIGTERM, then leave them unblocked so that a
 * second one ends the process during the shutdown. */
static void
wait_signal(const sigset_t *old)
{
	sigset_t wait = *old;

	sigdelset(&wait, SIGINT);
	sigdelset(&wait, SIGTERM);
	while (run_signal == 0)
		sigsuspend(&wait);
	pthread_sigmask(SIG_SETMASK, &wait, NULL);
}

/* The echo port: [PORTID, REST...] goes on to PORTID as REST.... */
static int
echo_rcv(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	char to[AEMP_ID_MAX];
	int err;

	(void)arg;
	if (n == 0 || msg[0].type != AEMP_STR || msg[0].len == 0 ||
	    msg[0].len >= sizeof(to) || memchr(msg[0].u.s, '\0', msg[0].len))
		return aemp_fail(node,
		                 "%s: the first element of a message "
		                 "must be a port ID",
		                 ECHO_FUNC);
	memcpy(to, msg[0].u.s, msg[0].len);
	to[msg[0].len] = '\0';
	/* Back pressure kills the port rather than dropping silently: a
	 * monitor then tells the sender that messages were lost. */
	if ((err = aemp_snd(node, to, msg + 1, n - 1)) < 0)
		return aemp_fail(node, "%s: cannot send to %s: %s", ECHO_FUNC,
		                 to, aemp_strerror(err));
	return 0;
}

/* spawn(NODE, "aemp::echo" [, FAMILY [, VALUE]]): with FAMILY, the port
 * also registers itself there with VALUE (null by default) as db_reg does:
 * the entry goes when the port dies. */
static int
echo_init(aemp_node *node, const aemp_val *args, size_t n, void *arg)
{
	char family[AEMP_ID_MAX];
	int err;

	(void)arg;
	if ((err = aemp_rcv(node, aemp_self(node), echo_rcv, NULL)) < 0 ||
	    n == 0)
		return err;
	if (args[0].type != AEMP_STR || args[0].len == 0 ||
	    args[0].len >= sizeof(family) ||
	    memchr(args[0].u.s, '\0', args[0].len) != NULL)
		return aemp_fail(node, "%s: FAMILY must be a non-empty string",
		                 ECHO_FUNC);
	memcpy(family, args[0].u.s, args[0].len);
	family[args[0].len] = '\0';
	if ((err = aemp_db_reg(node, family, NULL, n > 1 ? &args[1] : NULL,
	                       NULL)) < 0)
		return aemp_fail(node, "%s: cannot register in %s: %s",
		                 ECHO_FUNC, family, aemp_strerror(err));
	return 0;
}

/* Is v a true boolean-ish argument ("norc 1", "norc true")? */
static int
arg_true(const aemp_val *v)
{
	return aemp_truthy(v) && !aemp_str_eq(v, "false") &&
	       !aemp_str_eq(v, "no") && !aemp_str_eq(v, "off");
}

/* One KEY VALUE argument into c; notes profile and norc. */
static int
run_pair(const struct cli_cmd *cmd, aemp_conf *c, const aemp_val *k,
         const aemp_val *val, char **profile, int *norc)
{
	aemp_val v, *tofree = NULL;
	char *key = cli_cstr(k);
	int st, err = 0;

	if (key == NULL || key[0] == '\0') {
		free(key);
		return cli_fail(CLI_EUSAGE, "%s: KEY must be a string",
		                cmd->name);
	}
	st = cli_conf_value(cmd, key, val, &v, &tofree);
	if (st == CLI_OK && (err = aemp_conf_set(c, key, &v)) < 0)
		st = cli_fail_api(CLI_EFAIL, err, "%s", cmd->name);
	if (st == CLI_OK && strcmp(key, "profile") == 0) {
		free(*profile);
		*profile = cli_cstr(val);
	}
	if (st == CLI_OK && strcmp(key, "norc") == 0)
		*norc = arg_true(val);
	free(tofree);
	free(key);
	return st;
}

/* The arguments (an odd count starts with the profile name, §7.1). */
static int
run_conf(struct cli *cli, const struct cli_cmd *cmd, aemp_conf *c)
{
	const aemp_val *a = cli->arg;
	char *profile = NULL, path[4096];
	size_t i = 0;
	int st = CLI_OK, norc = 0;
	aemp_val p = aemp_str("profile");

	if (cli->narg % 2 == 1) {
		if (a[0].type != AEMP_STR)
			return cli_fail(CLI_EUSAGE,
			                "%s: PROFILE must be a "
			                "string",
			                cmd->name);
		st = run_pair(cmd, c, &p, &a[0], &profile, &norc);
		i = 1;
	}
	for (; st == CLI_OK && i + 1 < cli->narg; i += 2)
		st = run_pair(cmd, c, &a[i], &a[i + 1], &profile, &norc);
	/* AnyEvent::MP takes a missing profile as empty; a name given on
	 * the command line that the file lacks is almost surely a typo. */
	if (st == CLI_OK && profile != NULL && !norc &&
	    (st = cli_rc(cli)) == CLI_OK &&
	    !aemp_rc_has_profile(cli->rc, profile)) {
		if (aemp_rc_path(path, sizeof(path)) < 0)
			snprintf(path, sizeof(path), "the configuration file");
		st = cli_fail(CLI_EFAIL, "%s: no profile '%s' in %s", cmd->name,
		              profile, path);
	}
	free(profile);
	return st;
}

/* "nodeid ID", "metrics ADDR" and "listen ADDR..." on stdout. */
static int
print_identity(aemp_node *node)
{
	char buf[8192];
	aemp_val *l = NULL;
	size_t i;

	if (aemp_node_listeners(node, buf, sizeof(buf)) >= (int)sizeof(buf) ||
	    aemp_json_parse(buf, strlen(buf), &l) < 0 ||
	    l->type != AEMP_ARRAY) {
		aemp_val_free(l);
		return cli_fail(CLI_EFAIL, "run: cannot list the listeners");
	}
	printf("nodeid %s\n", aemp_node_id(node));
	if (aemp_metrics_addr(node, buf, sizeof(buf)) > 0)
		printf("metrics %s\n", buf);
	printf("listen");
	for (i = 0; i < l->len; i++)
		if (l->u.a[i].type == AEMP_STR)
			printf(" %.*s", (int)l->u.a[i].len, l->u.a[i].u.s);
	putchar('\n');
	aemp_val_free(l);
	if (fflush(stdout) != 0)
		return cli_fail(CLI_EFAIL, "cannot write to standard output");
	return CLI_OK;
}

/*
 * Start, announce, serve until a signal.  The main thread waits for the
 * signal itself rather than in aemp_node_run(): while aemp_node_wait()
 * blocks, the library refuses calls posted between shards (AEMP_ESTATE),
 * which breaks e.g. aemp_db_reg from a port on shard 1.
 */
static int
run_node_loop(const struct cli_cmd *cmd, aemp_node *node)
{
	sigset_t old;
	int st, err;

	if ((err = aemp_register(node, ECHO_FUNC, echo_init, NULL)) < 0)
		return cli_fail_api(CLI_EFAIL, err, "%s: %s", cmd->name,
		                    ECHO_FUNC);
	install_signals(&old);
	if ((err = aemp_node_start(node)) < 0)
		return cli_fail_api(CLI_EFAIL, err, "%s: cannot start the node",
		                    cmd->name);
	if ((st = print_identity(node)) == CLI_OK)
		wait_signal(&old);
	aemp_node_stop(node);
	aemp_node_wait(node);
	if (st == CLI_OK)
		fprintf(stderr, "aemp: node %s stopped (%s)\n",
		        aemp_node_id(node),
		        run_signal == SIGINT ? "SIGINT" : "SIGTERM");
	return st;
}

int
cli_run(struct cli *cli, const struct cli_cmd *cmd)
{
	aemp_conf *c = NULL;
	aemp_node *node = NULL;
	int st, err;

	if ((err = aemp_conf_new(&c)) < 0)
		return cli_fail_api(CLI_EFAIL, err, "%s", cmd->name);
	/* Edits earlier on the line must be on disk before resolving: the
	 * library reads the file itself.  Bad arguments fail before that. */
	if ((st = run_conf(cli, cmd, c)) == CLI_OK &&
	    (st = cli_save(cli)) == CLI_OK &&
	    ((err = aemp_conf_resolve(c)) < 0 ||
	     (err = aemp_node_new(c, &node)) < 0))
		st = cli_fail_api(CLI_EFAIL, err, "%s", cmd->name);
	aemp_conf_free(c);
	if (st == CLI_OK)
		st = run_node_loop(cmd, node);
	aemp_node_free(node);
	return st;
}
