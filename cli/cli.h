/*
 * cli/cli.h - what the files of the aemp tool share: the command table
 * entry, the tool's state and the error helpers.  Like every file in cli/,
 * it uses only the public API (<aemp.h>).
 *
 * A command line is a list of values (aemp-protocol.md §8.2): plain
 * arguments are strings, arguments starting with '[', '{' or '"' are JSON
 * values, and a first argument starting with '[' is a JSON array that
 * replaces them all.  Commands run left to right, each consuming its
 * arguments; main.c checks the whole line (names, argument counts and
 * kinds) before running anything, so a typo changes nothing.
 *
 * Groups of commands live in one file each and export a table:
 * cli/conf.c (the configuration file) and cli/proto.c (commands that talk
 * to nodes, with cli/run.c for `aemp run`, cli/db.c for `aemp db` and
 * cli/node.c for the tool's own node).  Adding a group is one more table in main.c.
 *
 * The files call each other in one direction only (tools/layers.sh checks
 * it), each file calling only files further right: main.c, proto.c,
 * run.c, db.c, conf.c, node.c, val.c, rc.c, err.c.
 *
 * Options (--seeds, --secret, --timeout, --json, --verbose) come before
 * the first command and only affect the protocol commands (main.c).
 *
 * Threads: single-threaded.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stddef.h>

#include <aemp.h>

/* Exit statuses. */
#define CLI_OK 0
#define CLI_EFAIL 1  /* the command failed (file, certificate, value) */
#define CLI_EUSAGE 2 /* bad command line, or command not available */

/* Argument counts (cli_cmd.nargs). */
#define CLI_REST (-1) /* consumes every remaining argument */

/* Argument kinds (cli_cmd.kind), checked before anything runs. */
#define CLI_ANY 0 /* any value */
#define CLI_STR 1 /* every consumed argument must be a string */

/* Default time limit of the protocol commands, seconds (§8.2). */
#define CLI_TIMEOUT_S 5.0

/* Options given before the first command. */
struct cli_opts {
	const char *seeds;  /* --seeds LIST (comma-separated), NULL: file */
	const char *secret; /* --secret S, NULL: file */
	double timeout_s;   /* --timeout SECONDS */
	int timeout_given;  /* --timeout was given (it then bounds mon) */
	int json;           /* --json: machine-readable output */
	int verbose;        /* --verbose: the tool node's log on stderr */
};

struct cli_node;

struct cli {
	struct cli_opts opt;
	struct cli_node *tn; /* the tool's own node, made on first use */
	aemp_rc *rc;         /* the configuration file, opened on first use */
	char *section;       /* current profile (new), NULL: global section */
	int modified;        /* rc has unsaved changes */
	const aemp_val *arg; /* the arguments of the running command */
	size_t narg;
};

struct cli_cmd {
	const char *name;
	int nargs;         /* fixed count, or CLI_REST */
	int min;           /* with CLI_REST: the fewest arguments accepted */
	int kind;          /* CLI_ANY or CLI_STR */
	const char *usage; /* argument synopsis for help and errors */
	/* Returns CLI_OK or an exit status (after printing one line). */
	int (*run)(struct cli *cli, const struct cli_cmd *cmd);
	const char *help; /* one line; NULL hides the command from help */
	const char *key;  /* configuration key the command works on */
};

extern const struct cli_cmd cli_conf_cmds[];
extern const size_t cli_conf_ncmds;
extern const struct cli_cmd cli_proto_cmds[];
extern const size_t cli_proto_ncmds;

/* cli/run.c: `aemp run KEY VALUE...` (does not return before the node
 * stops). */
int cli_run(struct cli *cli, const struct cli_cmd *cmd);

/* cli/top.c: `aemp top [NODE...]`, a live view through aemp::stats. */
int cli_top(struct cli *cli, const struct cli_cmd *cmd);

/* cli/db.c: `aemp db keys|family|values|mon FAMILY`. */
int cli_db(struct cli *cli, const struct cli_cmd *cmd);

/*
 * cli/node.c: the tool's own node for the protocol commands, started on
 * first use and freed by cli_node_free().  Its callbacks run on shard
 * threads and hand their results to the main thread through struct
 * cli_wait.
 */

/* A result handed from a shard thread to the main thread. */
struct cli_wait {
	struct cli_node *tn;
	int done;    /* set (under the node's lock) by the callback */
	int status;  /* 0, or an error (AEMP_ENOPORT: the port died) */
	aemp_val *v; /* new: the message or reason, as an ARRAY value */
	int flags;   /* the command's own (set before a callback can run) */
	struct cli_wait *all_link;
};

/* cli_node - the started tool node.  Returns CLI_OK and *out (borrowed
 * from cli) or an exit status after printing one line. */
int cli_node(struct cli *cli, aemp_node **out);

/* cli_node_reach - wait until the node of port ID `id` is connected, at
 * most --timeout seconds.  Returns CLI_OK or CLI_EFAIL ("unreachable"
 * printed). */
int cli_node_reach(struct cli *cli, const char *id);

/* cli_wait_new - a result slot owned by the tool node (freed with it, so
 * late callbacks stay harmless).  NULL when out of memory. */
struct cli_wait *cli_wait_new(struct cli *cli);

/* cli_wait_post - store status and a copy of msg/n into w and wake the
 * main thread; only the first post counts.  Shard threads. */
void cli_wait_post(struct cli_wait *w, int status, const aemp_val *msg,
                   size_t n);

/* cli_wait_for - wait until w is done, at most timeout_s seconds (< 0:
 * forever).  Returns 1 if done, 0 on timeout. */
int cli_wait_for(struct cli_wait *w, double timeout_s);

/* cli_node_free - stop and free the tool node.  NULL-safe. */
void cli_node_free(struct cli *cli);

/* cli/err.c: cli_fail - print "aemp: MESSAGE" on stderr and return
 * status. */
int cli_fail(int status, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* cli_fail_api - cli_fail with ": " and aemp_errmsg(), or
 * aemp_strerror(err) when there is no message. */
int cli_fail_api(int status, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* cli/rc.c: cli_rc - the configuration file, opened on first use.  Returns CLI_OK
 * or CLI_EFAIL (message printed). */
int cli_rc(struct cli *cli);

/* cli_save - write the file now if it was modified (protocol commands
 * that run for long, like `run`, call it before starting).  Returns
 * CLI_OK or CLI_EFAIL. */
int cli_save(struct cli *cli);

/*
 * cli/val.c: cli_conf_value - the value to store or pass for configuration key `key`
 * given on the command line as arg: for list keys a string is split at
 * commas, for numeric keys "10" becomes 10, for boolean keys
 * true/false/yes/no/on/off/1/0 become booleans (anything else fails, as
 * Perl would take "false" as true).  *out may borrow from arg and from
 * *tofree (new, free()).  Returns CLI_OK or CLI_EFAIL (message printed).
 */
int cli_conf_value(const struct cli_cmd *cmd, const char *key,
                   const aemp_val *arg, aemp_val *out, aemp_val **tofree);

/* A list value under construction; strings borrow their bytes (free()
 * v when done). */
struct cli_list {
	aemp_val *v;
	size_t n;
};

/* cli_list_add - append v.  cli_list_items - append the items of a stored
 * or given list: array elements, or the non-empty comma-separated fields
 * of a string; nothing for anything else.  Both return CLI_OK or
 * CLI_EFAIL (out of memory, message printed). */
int cli_list_add(struct cli_list *l, aemp_val v);
int cli_list_items(struct cli_list *l, const aemp_val *v);

/* cli_cstr - a NUL-terminated copy of the string value v (new, free()),
 * or NULL if v is not a string or holds a NUL byte. */
char *cli_cstr(const aemp_val *v);

#endif /* CLI_CLI_H */
