/*
 * cli/main.c - the aemp command-line tool: argument conventions
 * (aemp-protocol.md §8.2), dispatch over the command tables of the other
 * cli/ files, help, and saving the configuration file at exit.
 *
 * Invariants: the whole command line is checked (command names, argument
 * counts and kinds) before the first command runs; the file is written
 * only when every command succeeded, so a failing command line leaves it
 * as it was.  Every error is one line "aemp: ..." on stderr.
 *
 * Threads: single-threaded.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

struct group {
	const char *title;
	const struct cli_cmd *cmds;
	const size_t *n;
};

static const struct group groups[] = {
        {"Configuration (saved to $PERL_ANYEVENT_MP_RC, else "
         "~/.perl-anyevent-mp)",
         cli_conf_cmds, &cli_conf_ncmds},
        {"Talking to nodes", cli_proto_cmds, &cli_proto_ncmds},
};

/* The command line as values; owned[] holds what JSON parsing made. */
struct line {
	const aemp_val *v;
	size_t n;
	aemp_val *vals;   /* new (malloc) unless v points into owned[0] */
	aemp_val **owned; /* new values, aemp_val_free */
	size_t nowned;
};

static int
parse_json_arg(const char *s, aemp_val **out)
{
	int err = aemp_json_parse(s, strlen(s), out);

	if (err < 0)
		return cli_fail(CLI_EUSAGE,
		                "bad JSON argument '%.60s%s': %s (a string "
		                "starting with [, { or \" must be written as "
		                "a JSON string, e.g. '\"[::1]:4040\"')",
		                s, strlen(s) > 60 ? "..." : "",
		                err == AEMP_EMALFORMED ? "not valid JSON"
		                                       : aemp_strerror(err));
	return CLI_OK;
}

static int
line_from_argv(struct line *l, int argc, char **argv)
{
	int i, st;

	memset(l, 0, sizeof(*l));
	l->owned = calloc((size_t)argc + 1, sizeof(*l->owned));
	l->vals = calloc((size_t)argc + 1, sizeof(*l->vals));
	if (l->owned == NULL || l->vals == NULL)
		return cli_fail(CLI_EFAIL, "out of memory");
	if (argc > 0 && argv[0][0] == '[') {
		/* §8.2: a JSON array replaces the whole command line */
		if ((st = parse_json_arg(argv[0], &l->owned[0])) != CLI_OK)
			return st;
		l->nowned = 1;
		if (l->owned[0]->type != AEMP_ARRAY)
			return cli_fail(
			        CLI_EUSAGE,
			        "bad JSON argument '%.60s': not an array",
			        argv[0]);
		l->v = l->owned[0]->u.a;
		l->n = l->owned[0]->len;
		return CLI_OK;
	}
	for (i = 0; i < argc; i++) {
		if (strchr("[{\"", argv[i][0]) != NULL && argv[i][0] != '\0') {
			st = parse_json_arg(argv[i], &l->owned[l->nowned]);
			if (st != CLI_OK)
				return st;
			l->vals[i] = *l->owned[l->nowned++];
		} else {
			l->vals[i] = aemp_str(argv[i]);
		}
	}
	l->v = l->vals;
	l->n = (size_t)argc;
	return CLI_OK;
}

static void
line_free(struct line *l)
{
	size_t i;

	for (i = 0; i < l->nowned; i++)
		aemp_val_free(l->owned[i]);
	free(l->owned);
	free(l->vals);
}

static const struct cli_cmd *
find_cmd(const aemp_val *v)
{
	size_t g, i;

	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (i = 0; i < *groups[g].n; i++)
			if (aemp_str_eq(v, groups[g].cmds[i].name))
				return &groups[g].cmds[i];
	return NULL;
}

/* How many arguments cmd takes at v[0..n), or < 0 after an error. */
static long
check_cmd(const struct cli_cmd *cmd, const aemp_val *v, size_t n)
{
	size_t take = cmd->nargs == CLI_REST ? n : (size_t)cmd->nargs, i;

	if (take > n || (cmd->nargs == CLI_REST && n < (size_t)cmd->min))
		return -cli_fail(CLI_EUSAGE, "'%s' needs an argument: %s %s",
		                 cmd->name, cmd->name, cmd->usage);
	for (i = 0; cmd->kind == CLI_STR && i < take; i++)
		if (v[i].type != AEMP_STR)
			return -cli_fail(CLI_EUSAGE,
			                 "'%s': %s must be a string, not JSON",
			                 cmd->name, cmd->usage);
	return (long)take;
}

/* Walk the line; with cli == NULL only check it, else run it. */
static int
walk(struct cli *cli, const aemp_val *v, size_t n)
{
	const struct cli_cmd *cmd;
	size_t i = 0;
	long take;
	int st;

	while (i < n) {
		if (v[i].type != AEMP_STR)
			return cli_fail(
			        CLI_EUSAGE,
			        "expected a subcommand, got a JSON value "
			        "(try 'aemp help')");
		if ((cmd = find_cmd(&v[i])) == NULL)
			return cli_fail(CLI_EUSAGE,
			                "unknown subcommand '%.*s' (try 'aemp "
			                "help')",
			                (int)(v[i].len > 60 ? 60 : v[i].len),
			                v[i].u.s);
		if ((take = check_cmd(cmd, v + i + 1, n - i - 1)) < 0)
			return (int)-take;
		if (cli != NULL) {
			cli->arg = v + i + 1;
			cli->narg = (size_t)take;
			if ((st = cmd->run(cli, cmd)) != CLI_OK)
				return st;
		}
		i += 1 + (size_t)take;
	}
	return CLI_OK;
}

static void
help(FILE *f)
{
	size_t g, i;
	char syn[64];

	fprintf(f, "usage: aemp [OPTION...] COMMAND [ARG...] [COMMAND "
	           "[ARG...]]...\n"
	           "Commands run left to right.  Arguments starting with [, { "
	           "or \" are JSON;\na first argument starting with [ is a "
	           "JSON array of all arguments.\nEvery setXXX command also "
	           "works without \"set\" (seteval excepted).\n");
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		fprintf(f, "\n%s:\n", groups[g].title);
		for (i = 0; i < *groups[g].n; i++) {
			const struct cli_cmd *c = &groups[g].cmds[i];

			if (c->help == NULL)
				continue;
			snprintf(syn, sizeof(syn), "%s %s", c->name, c->usage);
			fprintf(f, "  %-34s %s\n", syn, c->help);
		}
	}
	fprintf(f,
	        "\nOptions (before the first command; they affect the "
	        "node the tool uses\nto talk to nodes, profile \"aemp\"):\n"
	        "  --seeds LIST, --seed ADDR          seeds to dial "
	        "(instead of the file's)\n"
	        "  --secret SECRET                    shared secret "
	        "(instead of the file's)\n"
	        "  --timeout SECONDS                  give up after this "
	        "long (default 5)\n"
	        "  --json                             JSON output of "
	        "nodes, stats, db\n"
	        "  -v, --verbose                      log of the tool's node "
	        "on stderr\n");
	fprintf(f, "\nOther: help, --help, --version.  See aemp(1).\n");
}

/* One option's value: "--name=value" or the next argument.  Returns the
 * value (borrowed from argv) and advances *i, or NULL after an error. */
static const char *
opt_value(int argc, char **argv, int *i, const char *name, size_t len)
{
	const char *a = argv[*i];

	if (a[len] == '=')
		return a + len + 1;
	if (*i + 1 >= argc) {
		cli_fail(CLI_EUSAGE, "option '%s' needs a value", name);
		return NULL;
	}
	return argv[++*i];
}

static int
opt_is(const char *a, const char *name, size_t *len)
{
	*len = strlen(name);
	return strncmp(a, name, *len) == 0 &&
	       (a[*len] == '\0' || a[*len] == '=');
}

/* --seed ADDR (repeatable) appends to the list of --seeds. */
static int
opt_add_seed(char **seeds, const char *addr)
{
	size_t old = *seeds ? strlen(*seeds) : 0;
	char *s = realloc(*seeds, old + strlen(addr) + 2);

	if (s == NULL)
		return cli_fail(CLI_EFAIL, "out of memory");
	snprintf(s + old, strlen(addr) + 2, "%s%s", old ? "," : "", addr);
	*seeds = s;
	return CLI_OK;
}

static int
opt_timeout(struct cli_opts *o, const char *v)
{
	char *end;
	double t = strtod(v, &end);

	if (end == v || *end != '\0' || !isfinite(t) || t <= 0 || t > 1e6)
		return cli_fail(CLI_EUSAGE,
		                "--timeout: expected seconds > 0, got '%s'", v);
	o->timeout_s = t;
	o->timeout_given = 1;
	return CLI_OK;
}

/* One option at argv[*i]; *seeds collects --seed/--seeds. */
static int
parse_opt(struct cli_opts *o, char **seeds, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *v;
	size_t len;

	if (strcmp(a, "--json") == 0)
		o->json = 1;
	else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0)
		o->verbose = 1;
	else if (opt_is(a, "--seed", &len) || opt_is(a, "--seeds", &len))
		return (v = opt_value(argc, argv, i, a, len)) == NULL
		               ? CLI_EUSAGE
		               : opt_add_seed(seeds, v);
	else if (opt_is(a, "--secret", &len))
		return (o->secret = opt_value(argc, argv, i, a, len)) == NULL
		               ? CLI_EUSAGE
		               : CLI_OK;
	else if (opt_is(a, "--timeout", &len))
		return (v = opt_value(argc, argv, i, a, len)) == NULL
		               ? CLI_EUSAGE
		               : opt_timeout(o, v);
	else
		return cli_fail(CLI_EUSAGE,
		                "unknown option '%.60s' (try 'aemp "
		                "help')",
		                a);
	return CLI_OK;
}

/* The options before the first command; *first is the index of the
 * first argument after them. */
static int
parse_opts(struct cli_opts *o, char **seeds, int argc, char **argv, int *first)
{
	static const char *const special_args[] = {"--help", "-h", "--version",
	                                           "-V"};
	int i, st;
	size_t k;

	o->timeout_s = CLI_TIMEOUT_S;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (k = 0; k < sizeof(special_args) / sizeof(*special_args);
		     k++)
			if (strcmp(argv[i], special_args[k]) == 0)
				goto out;
		if ((st = parse_opt(o, seeds, argc, argv, &i)) != CLI_OK)
			return st;
	}
out:
	o->seeds = *seeds;
	*first = i;
	return CLI_OK;
}

/* help and version, which need no file. */
static int
special(const aemp_val *v, size_t n, int *status)
{
	if (n == 1 && (aemp_str_eq(v, "help") || aemp_str_eq(v, "--help") ||
	               aemp_str_eq(v, "-h"))) {
		help(stdout);
		*status = CLI_OK;
		return 1;
	}
	if (n == 1 && (aemp_str_eq(v, "--version") || aemp_str_eq(v, "-V") ||
	               aemp_str_eq(v, "version"))) {
		printf("aemp %s (AnyEvent::MP 2.x protocol)\n",
		       AEMP_VERSION_STRING);
		*status = CLI_OK;
		return 1;
	}
	if (n == 0) {
		*status = cli_fail(CLI_EUSAGE,
		                   "no subcommand given (try 'aemp help')");
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli cli;
	struct line l;
	char *seeds = NULL;
	int st, first = 1;

	memset(&cli, 0, sizeof(cli));
	memset(&l, 0, sizeof(l));
	st = parse_opts(&cli.opt, &seeds, argc, argv, &first);
	if (st == CLI_OK)
		st = line_from_argv(&l, argc - first, argv + first);
	if (st == CLI_OK && !special(l.v, l.n, &st) &&
	    (st = walk(NULL, l.v, l.n)) == CLI_OK &&
	    (st = walk(&cli, l.v, l.n)) == CLI_OK)
		st = cli_save(&cli);
	if (fflush(stdout) != 0 && st == CLI_OK)
		st = cli_fail(CLI_EFAIL, "cannot write to standard output");
	cli_node_free(&cli);
	aemp_rc_close(cli.rc);
	free(seeds);
	free(cli.section);
	line_free(&l);
	return st;
}
