/*
 * cli/proto.c - the aemp subcommands that talk to nodes (aemp-protocol.md
 * §8.3, §9).  They need the node engine; until it is there each of them
 * fails with one line and exit status 2.  eval, shell and restart are
 * refused for good: aemp nodes do not evaluate code.
 *
 * To implement a command, replace its `run` function here; a command that
 * runs for long calls cli_save() first so that configuration edits made
 * earlier on the same command line are on disk.  Protocol commands
 * configure the tool's own node with profile "aemp" and node ID
 * "aemp/%n/%u" (§8.2).
 *
 * Threads: single-threaded (the node's shards run their own threads).
 */
#include "cli/cli.h"

static int
not_yet(struct cli *cli, const struct cli_cmd *cmd)
{
	(void)cli;
	return cli_fail(CLI_EUSAGE, "'%s' is not available yet", cmd->name);
}

static int
no_eval(struct cli *cli, const struct cli_cmd *cmd)
{
	(void)cli;
	return cli_fail(CLI_EUSAGE,
	                "'%s' is not supported: aemp nodes do not evaluate "
	                "code",
	                cmd->name);
}

const struct cli_cmd cli_proto_cmds[] = {
        {"run", CLI_REST, 0, CLI_ANY, "[KEY VALUE...]", not_yet,
         "run a node configured with the given configure() arguments", NULL},
        {"snd", CLI_REST, 1, CLI_ANY, "PORT [ARG...]", not_yet,
         "send a message and confirm delivery", NULL},
        {"cal", CLI_REST, 1, CLI_ANY, "PORT [ARG...]", not_yet,
         "call PORT with a reply port and print the reply", NULL},
        {"mon", CLI_REST, 1, CLI_ANY, "PORT", not_yet,
         "wait until PORT (or node) dies and print the reason", NULL},
        {"trace", CLI_REST, 1, CLI_ANY, "NODE", not_yet,
         "print the connections of the network around NODE", NULL},
        {"eval", CLI_REST, 0, CLI_ANY, "NODE EXPR...", no_eval,
         "not supported (aemp nodes do not evaluate code)", NULL},
        {"shell", CLI_REST, 0, CLI_ANY, "[NODE]", no_eval, NULL, NULL},
        {"restart", CLI_REST, 0, CLI_ANY, "NODE", no_eval, NULL, NULL},
};

const size_t cli_proto_ncmds =
        sizeof(cli_proto_cmds) / sizeof(cli_proto_cmds[0]);
