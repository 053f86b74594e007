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
 * to nodes).  Adding a group is one more table in main.c.
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

struct cli {
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

/* cli_fail - print "aemp: MESSAGE" on stderr and return status. */
int cli_fail(int status, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* cli_fail_api - cli_fail with ": " and aemp_errmsg(), or
 * aemp_strerror(err) when there is no message. */
int cli_fail_api(int status, int err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* cli_rc - the configuration file, opened on first use.  Returns CLI_OK
 * or CLI_EFAIL (message printed). */
int cli_rc(struct cli *cli);

/* cli_save - write the file now if it was modified (protocol commands
 * that run for long, like `run`, call it before starting).  Returns
 * CLI_OK or CLI_EFAIL. */
int cli_save(struct cli *cli);

/*
 * cli_conf_value - the value to store or pass for configuration key `key`
 * given on the command line as arg: for list keys a string is split at
 * commas, for numeric keys "10" becomes 10, for boolean keys
 * true/false/yes/no/on/off/1/0 become booleans (anything else fails, as
 * Perl would take "false" as true).  *out may borrow from arg and from
 * *tofree (new, free()).  Returns CLI_OK or CLI_EFAIL (message printed).
 */
int cli_conf_value(const struct cli_cmd *cmd, const char *key,
                   const aemp_val *arg, aemp_val *out, aemp_val **tofree);

/* cli_cstr - a NUL-terminated copy of the string value v (new, free()),
 * or NULL if v is not a string or holds a NUL byte. */
char *cli_cstr(const aemp_val *v);

#endif /* CLI_CLI_H */
