/*
 * cli/rc.c - the configuration file as the aemp tool holds it: opened on
 * first use, written once at the end (or before a long-running command).
 *
 * Threads: single-threaded.
 */
#include "cli/cli.h"

int
cli_rc(struct cli *cli)
{
	int err;

	if (cli->rc != NULL)
		return CLI_OK;
	if ((err = aemp_rc_open(NULL, &cli->rc)) < 0)
		return cli_fail(CLI_EFAIL, "%s",
		                aemp_errmsg()[0] ? aemp_errmsg()
		                                 : aemp_strerror(err));
	return CLI_OK;
}

int
cli_save(struct cli *cli)
{
	int err;

	if (cli->rc == NULL || !cli->modified)
		return CLI_OK;
	if ((err = aemp_rc_save(cli->rc)) < 0)
		return cli_fail(CLI_EFAIL, "%s",
		                aemp_errmsg()[0] ? aemp_errmsg()
		                                 : aemp_strerror(err));
	cli->modified = 0;
	return CLI_OK;
}
