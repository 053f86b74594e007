/*
 * cli/db.c - `aemp db keys|family|values|mon FAMILY`: the distributed
 * database of AnyEvent::MP 2.x (aemp-protocol.md §6, §7.9) seen from the
 * tool's own node, which asks the master (the global node it reaches
 * through its seeds) with aemp_db_keys/family/values or mirrors a family
 * with aemp_db_mon.
 *
 * Output: keys one per line (sorted), values one JSON value per line,
 * family one "KEY VALUE" line per entry (sorted by key, VALUE in JSON);
 * with --json the answer as one JSON value.  db mon prints one line per
 * change ("added KEY VALUE", "changed KEY VALUE", "deleted KEY"; with
 * --json one object {"added":{...},"changed":{...},"deleted":[...]} per
 * report), the first report listing the whole family as added, until
 * interrupted, or for --timeout seconds if that option is given.  Without
 * an answer from a master within --timeout (default 5) seconds the
 * command fails with one line.
 *
 * Threads: the main thread waits; aemp_db_* callbacks run on the tool
 * node's shard 0 and post into a struct cli_wait, except that db mon's
 * callback prints the changes itself (the main thread prints nothing
 * meanwhile; stdio locks each call).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* The JSON text of v (new, free()), or NULL. */
static char *
json_text(const aemp_val *v)
{
	int len = aemp_json_format(v, NULL, 0);
	char *s;

	if (len < 0 || (s = malloc((size_t)len + 1)) == NULL)
		return NULL;
	aemp_json_format(v, s, (size_t)len + 1);
	return s;
}

/* Print "PREFIX JSON\n"; 0, or -1 if v cannot be formatted. */
static int
print_json(const char *prefix, const aemp_val *v)
{
	char *s = json_text(v);

	if (s == NULL)
		return -1;
	printf("%s%s%s\n", prefix, prefix[0] ? " " : "", s);
	free(s);
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	const aemp_val *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n ? memcmp(x->u.s, y->u.s, n) : 0;

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* How print_answer prints. */
enum answer { ANS_JSON, ANS_KEYS, ANS_LINES };

/* ANS_KEYS: sorted strings, one per line.  ANS_LINES: a family as "KEY
 * VALUE" lines sorted by key, values as one JSON value per line. */
static int
print_answer(const aemp_val *v, enum answer how)
{
	size_t i, step = v && v->type == AEMP_MAP ? 2 : 1;
	size_t n = v ? step * v->len : 0;
	aemp_val *copy = NULL;
	char key[AEMP_ID_MAX * 4];
	int bad = 0;

	if (v == NULL || how == ANS_JSON ||
	    (v->type != AEMP_ARRAY && v->type != AEMP_MAP))
		bad = v == NULL || print_json("", v) < 0;
	else if ((copy = calloc(n + 1, sizeof(*copy))) == NULL)
		return cli_fail(CLI_EFAIL, "out of memory");
	for (i = 0; copy != NULL && i < n && !bad; i += step) {
		if (i == 0) {
			memcpy(copy, v->u.a, n * sizeof(*copy));
			if (how == ANS_KEYS || step == 2)
				qsort(copy, v->len, step * sizeof(*copy),
				      cmp_str);
		}
		snprintf(key, sizeof(key), "%.*s",
		         copy[i].type == AEMP_STR ? (int)copy[i].len : 0,
		         copy[i].u.s);
		if (how == ANS_KEYS && copy[i].type == AEMP_STR)
			printf("%s\n", key);
		else
			bad = print_json(step == 2 ? key : "",
			                 &copy[i + step - 1]) < 0;
	}
	free(copy);
	return bad ? cli_fail(CLI_EFAIL, "cannot format the answer") : CLI_OK;
}

static void
query_done(aemp_node *node, const char *family, const aemp_val *result,
           void *arg)
{
	(void)node;
	(void)family;
	cli_wait_post(arg, 0, result, 1);
}

static int
db_query(struct cli *cli, const char *req, const char *family)
{
	int keys = strcmp(req, "keys") == 0;
	int (*ask)(aemp_node *, const char *, aemp_db_fn, void *) =
	        keys                         ? aemp_db_keys
	        : strcmp(req, "values") == 0 ? aemp_db_values
	                                     : aemp_db_family;
	aemp_node *node;
	struct cli_wait *w;
	int st, err;

	if ((st = cli_node(cli, &node)) != CLI_OK)
		return st;
	if ((w = cli_wait_new(cli)) == NULL)
		return cli_fail(CLI_EFAIL, "out of memory");
	if ((err = ask(node, family, query_done, w)) < 0)
		return cli_fail(CLI_EFAIL, "db %s %s: %s", req, family,
		                aemp_strerror(err));
	if (!cli_wait_for(w, cli->opt.timeout_s))
		return cli_fail(CLI_EFAIL,
		                "db %s %s: no answer within %g s (the tool "
		                "reaches no global node through its seeds)",
		                req, family, cli->opt.timeout_s);
	return print_answer(aemp_at(w->v, 0), cli->opt.json ? ANS_JSON
	                                      : keys        ? ANS_KEYS
	                                                    : ANS_LINES);
}

/* "VERB KEY [VALUE]" lines for the keys in list (values from mirror). */
static void
print_changes(const char *verb, const aemp_val *list,
              const aemp_dbmirror *mirror)
{
	const aemp_val *k, *v;
	char line[AEMP_ID_MAX * 4 + 16];
	size_t i;

	for (i = 0; list != NULL && list->type == AEMP_ARRAY && i < list->len;
	     i++) {
		k = &list->u.a[i];
		if (k->type != AEMP_STR)
			continue;
		snprintf(line, sizeof(line), "%s %.*s", verb, (int)k->len,
		         k->u.s);
		if (mirror == NULL ||
		    (v = aemp_dbmirror_get(mirror, k->u.s, k->len)) == NULL ||
		    print_json(line, v) < 0)
			puts(line);
	}
}

/* The pairs KEY, VALUE of mirror for the keys in list (new, free()). */
static aemp_val *
pairs_of(const aemp_val *list, const aemp_dbmirror *mirror, size_t *n)
{
	size_t i, len = list && list->type == AEMP_ARRAY ? list->len : 0;
	aemp_val *kv = calloc(2 * len + 1, sizeof(*kv));
	const aemp_val *v;

	*n = 0;
	for (i = 0; kv != NULL && i < len; i++) {
		if (list->u.a[i].type != AEMP_STR)
			continue;
		v = aemp_dbmirror_get(mirror, list->u.a[i].u.s,
		                      list->u.a[i].len);
		kv[2 * *n] = list->u.a[i];
		kv[2 * *n + 1] = v ? *v : aemp_null();
		++*n;
	}
	return kv;
}

static void
print_report_json(const aemp_dbmirror *mirror, const aemp_val *added,
                  const aemp_val *changed, const aemp_val *deleted)
{
	size_t na = 0, nc = 0;
	aemp_val *a = pairs_of(added, mirror, &na);
	aemp_val *c = pairs_of(changed, mirror, &nc);
	aemp_val none = aemp_array(NULL, 0);
	aemp_val kv[6] = {
	        aemp_str("added"),
	        aemp_map(a, na),
	        aemp_str("changed"),
	        aemp_map(c, nc),
	        aemp_str("deleted"),
	        deleted && deleted->type == AEMP_ARRAY ? *deleted : none,
	};
	aemp_val report = aemp_map(kv, 3);

	if (a != NULL && c != NULL)
		print_json("", &report);
	free(a);
	free(c);
}

static void
mon_report(aemp_node *node, const char *family, const aemp_dbmirror *mirror,
           const aemp_val *added, const aemp_val *changed,
           const aemp_val *deleted, void *arg)
{
	struct cli_wait *first = arg;
	aemp_val one = aemp_int(1);

	(void)node;
	(void)family;
	if (first->flags) {
		print_report_json(mirror, added, changed, deleted);
	} else {
		print_changes("added", added, mirror);
		print_changes("changed", changed, mirror);
		print_changes("deleted", deleted, NULL);
	}
	fflush(stdout);
	cli_wait_post(first, 0, &one, 1);
}

static int
db_mon(struct cli *cli, const char *req, const char *family)
{
	aemp_node *node;
	struct cli_wait *first, *never;
	aemp_guard g = {0};
	int st, err;

	if ((st = cli_node(cli, &node)) != CLI_OK)
		return st;
	if ((first = cli_wait_new(cli)) == NULL ||
	    (never = cli_wait_new(cli)) == NULL)
		return cli_fail(CLI_EFAIL, "out of memory");
	first->flags = cli->opt.json;
	if ((err = aemp_db_mon(node, family, mon_report, first, &g)) < 0)
		return cli_fail(CLI_EFAIL, "db %s %s: %s", req, family,
		                aemp_strerror(err));
	if (!cli_wait_for(first, cli->opt.timeout_s)) {
		aemp_guard_cancel(node, &g);
		return cli_fail(CLI_EFAIL,
		                "db %s %s: no answer within %g s (the tool "
		                "reaches no global node through its seeds)",
		                req, family, cli->opt.timeout_s);
	}
	/* Reports until interrupted, or for --timeout seconds. */
	cli_wait_for(never, cli->opt.timeout_given ? cli->opt.timeout_s : -1);
	aemp_guard_cancel(node, &g);
	return CLI_OK;
}

static const struct {
	const char *name;
	int (*run)(struct cli *cli, const char *req, const char *family);
} db_cmds[] = {
        {"keys", db_query},
        {"family", db_query},
        {"values", db_query},
        {"mon", db_mon},
};

int
cli_db(struct cli *cli, const struct cli_cmd *cmd)
{
	char *family = cli_cstr(&cli->arg[1]);
	size_t i;
	int st = -1;

	if (family == NULL || family[0] == '\0') {
		free(family);
		return cli_fail(CLI_EUSAGE, "'%s': FAMILY must not be empty",
		                cmd->name);
	}
	for (i = 0; i < sizeof(db_cmds) / sizeof(db_cmds[0]) && st < 0; i++)
		if (aemp_str_eq(&cli->arg[0], db_cmds[i].name))
			st = db_cmds[i].run(cli, db_cmds[i].name, family);
	if (st < 0)
		st = cli_fail(CLI_EUSAGE,
		              "'%s': unknown request '%.*s' (usage: %s %s)",
		              cmd->name, (int)cli->arg[0].len, cli->arg[0].u.s,
		              cmd->name, cmd->usage);
	free(family);
	return st;
}
