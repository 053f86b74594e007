/*
 * cli/conf.c - the configuration subcommands of aemp (aemp-protocol.md
 * §8.3): they edit the current section of the configuration file (the
 * global one, or the profile chosen with `profile NAME`) and print
 * profiles and effective configurations.
 *
 * Values are checked with the library's own validation (aemp_conf_set)
 * before they are stored, so the tool refuses what a node would refuse.
 * Keys the tool has no command for, and Perl-only entries, stay in the
 * file untouched.
 *
 * Threads: single-threaded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

#define CERT_FILE_MAX (1 << 20)
#define SECRET_LEN 180

/* Check v for key the way a node would; one line on failure. */
static int
validate(const struct cli_cmd *cmd, const char *key, const aemp_val *v)
{
	static const char suffix[] = " (configure argument)";
	aemp_conf *c = NULL;
	char msg[600];
	size_t n;
	int err;

	if ((err = aemp_conf_new(&c)) < 0)
		return cli_fail(CLI_EFAIL, "out of memory");
	/* Node-ID templates and framing lists are checked as a whole when
	 * resolving, so resolve them alone (norc).  Relations between keys
	 * (max_queue >= max_packet) depend on the other levels: showconfig
	 * and node creation check those. */
	err = aemp_conf_set(c, key, v);
	if (err == 0 &&
	    (strcmp(key, "nodeid") == 0 ||
	     strcmp(key, "framing_format") == 0) &&
	    (err = aemp_conf_set_json(c, "norc", "true")) == 0)
		err = aemp_conf_resolve(c);
	aemp_conf_free(c);
	if (err == 0)
		return CLI_OK;
	snprintf(msg, sizeof(msg), "%s", aemp_errmsg());
	n = strlen(msg);
	if (n > sizeof(suffix) - 1 &&
	    strcmp(msg + n - (sizeof(suffix) - 1), suffix) == 0)
		msg[n - (sizeof(suffix) - 1)] = '\0';
	return cli_fail(CLI_EFAIL, "%s: %s", cmd->name,
	                msg[0] ? msg : aemp_strerror(err));
}

static int
store(struct cli *cli, const struct cli_cmd *cmd, const char *key,
      const aemp_val *v)
{
	int err;

	if ((err = aemp_rc_set(cli->rc, cli->section, key, v)) < 0)
		return cli_fail_api(CLI_EFAIL, err, "%s", cmd->name);
	cli->modified = 1;
	return CLI_OK;
}

/* setKEY VALUE (and the KEY VALUE alias). */
static int
cmd_set(struct cli *cli, const struct cli_cmd *cmd)
{
	aemp_val v, *tofree = NULL;
	int st;

	if ((st = cli_rc(cli)) != CLI_OK ||
	    (st = cli_conf_value(cmd, cmd->key, &cli->arg[0], &v, &tofree)) !=
	            CLI_OK)
		return st;
	if ((st = validate(cmd, cmd->key, &v)) == CLI_OK)
		st = store(cli, cmd, cmd->key, &v);
	free(tofree);
	return st;
}

static int
cmd_del(struct cli *cli, const struct cli_cmd *cmd)
{
	int st, err;

	if ((st = cli_rc(cli)) != CLI_OK)
		return st;
	if (aemp_rc_get(cli->rc, cli->section, cmd->key) == NULL)
		return CLI_OK;
	if ((err = aemp_rc_del(cli->rc, cli->section, cmd->key)) < 0)
		return cli_fail_api(CLI_EFAIL, err, "%s", cmd->name);
	cli->modified = 1;
	return CLI_OK;
}

static int
cmd_setparent(struct cli *cli, const struct cli_cmd *cmd)
{
	int st;

	if ((st = cli_rc(cli)) != CLI_OK)
		return st;
	if (cli->section == NULL)
		return cli_fail(CLI_EFAIL,
		                "%s: only a profile has a parent; select one "
		                "first with 'profile NAME'",
		                cmd->name);
	if (cli->arg[0].len == 0)
		return cli_fail(CLI_EFAIL, "%s: the name is empty", cmd->name);
	if (aemp_str_eq(&cli->arg[0], cli->section))
		return cli_fail(CLI_EFAIL,
		                "%s: profile '%s' cannot be its own "
		                "parent",
		                cmd->name, cli->section);
	return store(cli, cmd, "parent", &cli->arg[0]);
}

/* addseed / addbind (moving an existing entry to the end) and addservice
 * (appending); delseed / delbind (every occurrence) and delservice (the
 * first one). */
static int
edit_list(struct cli *cli, const struct cli_cmd *cmd, int add)
{
	int services = strcmp(cmd->key, "services") == 0;
	const aemp_val *item = &cli->arg[0];
	struct cli_list old = {NULL, 0}, l = {NULL, 0};
	aemp_val v;
	size_t i;
	int st, removed = 0;

	if ((st = cli_rc(cli)) != CLI_OK ||
	    (st = cli_list_items(&old, aemp_rc_get(cli->rc, cli->section,
	                                           cmd->key))) != CLI_OK)
		goto out;
	for (i = 0; i < old.n && st == CLI_OK; i++) {
		if (aemp_val_eq(&old.v[i], item) &&
		    (!services || (!add && !removed))) {
			removed = 1;
			continue;
		}
		st = cli_list_add(&l, old.v[i]);
	}
	if (st == CLI_OK && add)
		st = cli_list_add(&l, *item);
	if (st != CLI_OK || (!add && !removed))
		goto out;
	v = aemp_array(l.v, l.n);
	if ((st = validate(cmd, cmd->key, &v)) == CLI_OK)
		st = store(cli, cmd, cmd->key, &v);
out:
	free(old.v);
	free(l.v);
	return st;
}

static int
cmd_add(struct cli *cli, const struct cli_cmd *cmd)
{
	return edit_list(cli, cmd, 1);
}

static int
cmd_remove(struct cli *cli, const struct cli_cmd *cmd)
{
	return edit_list(cli, cmd, 0);
}

static int
cmd_profile(struct cli *cli, const struct cli_cmd *cmd)
{
	char *name = cli_cstr(&cli->arg[0]);
	int st, err;

	if (name == NULL || name[0] == '\0') {
		free(name);
		return cli_fail(CLI_EFAIL, "%s: bad profile name", cmd->name);
	}
	if ((st = cli_rc(cli)) != CLI_OK) {
		free(name);
		return st;
	}
	if (!aemp_rc_has_profile(cli->rc, name)) {
		if ((err = aemp_rc_add_profile(cli->rc, name)) < 0) {
			free(name);
			return cli_fail_api(CLI_EFAIL, err, "%s", cmd->name);
		}
		cli->modified = 1;
	}
	free(cli->section);
	cli->section = name;
	return CLI_OK;
}

static int
cmd_delprofile(struct cli *cli, const struct cli_cmd *cmd)
{
	char *name = cli_cstr(&cli->arg[0]);
	int st, err = 0;

	if ((st = cli_rc(cli)) == CLI_OK &&
	    (name == NULL || (err = aemp_rc_del_profile(cli->rc, name)) < 0))
		st = cli_fail_api(CLI_EFAIL, err ? err : -EINVAL, "%s",
		                  cmd->name);
	if (st == CLI_OK)
		cli->modified = 1;
	free(name);
	return st;
}

static int
print_new(char *text)
{
	fputs(text, stdout);
	aemp_free(text);
	return CLI_OK;
}

static int
cmd_showprofile(struct cli *cli, const struct cli_cmd *cmd)
{
	char *name = cli_cstr(&cli->arg[0]), *text = NULL;
	int st, err = 0;

	if ((st = cli_rc(cli)) == CLI_OK &&
	    (name == NULL || (err = aemp_rc_format(cli->rc, name, &text)) < 0))
		st = cli_fail_api(CLI_EFAIL, err ? err : -EINVAL, "%s",
		                  cmd->name);
	free(name);
	return st == CLI_OK ? print_new(text) : st;
}

/* NAME, then KEY VALUE pairs as configure() arguments. */
static int
showconfig_args(const struct cli *cli, const struct cli_cmd *cmd, aemp_conf *c)
{
	aemp_val v, *tofree;
	size_t i;
	char *key;
	int err, st;

	if (cli->narg > 0 &&
	    (err = aemp_conf_set(c, "profile", &cli->arg[0])) < 0)
		return cli_fail_api(CLI_EFAIL, err, "%s", cmd->name);
	if (cli->narg > 0 && cli->narg % 2 == 0)
		return cli_fail(CLI_EUSAGE, "%s: KEY without VALUE", cmd->name);
	for (i = 1; i + 1 < cli->narg; i += 2) {
		if ((key = cli_cstr(&cli->arg[i])) == NULL)
			return cli_fail(CLI_EUSAGE, "%s: KEY must be a string",
			                cmd->name);
		st = cli_conf_value(cmd, key, &cli->arg[i + 1], &v, &tofree);
		err = st == CLI_OK ? aemp_conf_set(c, key, &v) : 0;
		free(key);
		free(tofree);
		if (st != CLI_OK)
			return st;
		if (err < 0)
			return cli_fail_api(CLI_EFAIL, err, "%s", cmd->name);
	}
	return CLI_OK;
}

static int
cmd_showconfig(struct cli *cli, const struct cli_cmd *cmd)
{
	aemp_conf *c = NULL;
	char *text = NULL;
	int st, err;

	/* The library resolves against the file on disk, so edits made
	 * earlier on this command line are saved first (a public
	 * "resolve against this aemp_rc" call would avoid that). */
	if ((st = cli_save(cli)) != CLI_OK)
		return st;
	if (aemp_conf_new(&c) < 0)
		return cli_fail(CLI_EFAIL, "out of memory");
	if ((st = showconfig_args(cli, cmd, c)) == CLI_OK &&
	    ((err = aemp_conf_resolve(c)) < 0 ||
	     (err = aemp_conf_format(c, &text)) < 0))
		st = cli_fail_api(CLI_EFAIL, err, "%s", cmd->name);
	aemp_conf_free(c);
	return st == CLI_OK ? print_new(text) : st;
}

static int
cmd_gensecret(struct cli *cli, const struct cli_cmd *cmd)
{
	char secret[SECRET_LEN + 1];
	aemp_val v;
	int st, err;

	if ((st = cli_rc(cli)) != CLI_OK)
		return st;
	if ((err = aemp_gensecret(secret, SECRET_LEN)) < 0)
		return cli_fail_api(CLI_EFAIL, err, "%s", cmd->name);
	v = aemp_strn(secret, SECRET_LEN);
	st = store(cli, cmd, "secret", &v);
	memset(secret, 0, sizeof(secret));
	return st;
}

static int
cmd_gencert(struct cli *cli, const struct cli_cmd *cmd)
{
	char *pem = NULL;
	aemp_val v;
	int st, err;

	if ((st = cli_rc(cli)) != CLI_OK)
		return st;
	if ((err = aemp_gencert(AEMP_CERT_RSA2048, &pem)) < 0)
		return cli_fail_api(CLI_EFAIL, err, "%s", cmd->name);
	v = aemp_str(pem);
	st = store(cli, cmd, "cert", &v);
	aemp_free(pem);
	return st;
}

/* The whole file (new, free()), at most CERT_FILE_MAX bytes. */
static int
read_small_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf;
	size_t n;

	if (f == NULL)
		return -errno;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return -EISDIR;
	}
	if ((buf = malloc(CERT_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, CERT_FILE_MAX + 1, f);
	if (ferror(f) || n > CERT_FILE_MAX) {
		int err = ferror(f) ? -EIO : -EFBIG;

		fclose(f);
		free(buf);
		return err;
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int
cmd_setcert(struct cli *cli, const struct cli_cmd *cmd)
{
	char *path = cli_cstr(&cli->arg[0]), *pem = NULL;
	size_t len = 0;
	aemp_val v;
	int st, err;

	if ((st = cli_rc(cli)) != CLI_OK)
		goto out;
	if (path == NULL || (err = read_small_file(path, &pem, &len)) < 0) {
		st = cli_fail(CLI_EFAIL, "%s: cannot read '%s': %s", cmd->name,
		              path ? path : "?",
		              path ? aemp_strerror(err) : "bad file name");
		goto out;
	}
	if ((err = aemp_cert_check(pem, len)) < 0) {
		st = cli_fail_api(CLI_EFAIL, err,
		                  "%s: '%s' is not a usable "
		                  "key and certificate",
		                  cmd->name, path);
		goto out;
	}
	v = aemp_strn(pem, len);
	st = store(cli, cmd, "cert", &v);
out:
	free(path);
	free(pem);
	return st;
}

/* setKEY, KEY (hidden alias) and delKEY for one key. */
#define SETDEL(k, use, help)                                                   \
	{"set" k, 1, 0, CLI_ANY, use, cmd_set, help, k},                       \
	        {k, 1, 0, CLI_ANY, use, cmd_set, NULL, k},                     \
	{                                                                      \
		"del" k, 0, 0, CLI_ANY, "", cmd_del, NULL, k                   \
	}

const struct cli_cmd cli_conf_cmds[] = {
        {"profile", 1, 0, CLI_STR, "NAME", cmd_profile,
         "edit profile NAME (created if missing) from here on", NULL},
        {"delprofile", 1, 0, CLI_STR, "NAME", cmd_delprofile,
         "delete profile NAME", NULL},
        {"showprofile", 1, 0, CLI_STR, "NAME", cmd_showprofile,
         "print the settings of profile NAME as JSON", NULL},
        {"showconfig", CLI_REST, 0, CLI_ANY, "[NAME [KEY VALUE...]]",
         cmd_showconfig,
         "print the effective configuration of profile NAME (default: "
         "host name)",
         NULL},
        SETDEL("nodeid", "ID",
               "node ID template: %n host, %u random, "
               "trailing / adds random"),
        {"gensecret", 0, 0, CLI_ANY, "", cmd_gensecret,
         "store a new random 180-character secret", "secret"},
        SETDEL("secret", "SECRET", "shared secret for authentication"),
        {"gencert", 0, 0, CLI_ANY, "", cmd_gencert,
         "store a new self-signed RSA-2048 certificate and key", "cert"},
        {"setcert", 1, 0, CLI_STR, "FILE", cmd_setcert,
         "store the PEM key and certificate(s) of FILE (enables TLS)", "cert"},
        {"cert", 1, 0, CLI_STR, "FILE", cmd_setcert, NULL, "cert"},
        {"delcert", 0, 0, CLI_ANY, "", cmd_del, NULL, "cert"},
        SETDEL("seeds", "LIST",
               "seed addresses HOST:PORT (comma-separated "
               "or JSON array)"),
        {"addseed", 1, 0, CLI_STR, "HOST:PORT", cmd_add,
         "add one seed (moved to the end if present)", "seeds"},
        {"delseed", 1, 0, CLI_STR, "HOST:PORT", cmd_remove, "remove one seed",
         "seeds"},
        SETDEL("binds", "LIST",
               "listen addresses (default \"*\"; \"*:*\" "
               "= every interface, any port)"),
        {"addbind", 1, 0, CLI_STR, "HOST:PORT", cmd_add,
         "add one bind (moved to the end if present)", "binds"},
        {"delbind", 1, 0, CLI_STR, "HOST:PORT", cmd_remove, "remove one bind",
         "binds"},
        SETDEL("services", "LIST",
               "services to start (names or JSON "
               "[NAME, ARG...])"),
        {"addservice", 1, 0, CLI_ANY, "SERVICE", cmd_add, "append one service",
         "services"},
        {"delservice", 1, 0, CLI_ANY, "SERVICE", cmd_remove,
         "remove the first occurrence of a service", "services"},
        {"setparent", 1, 0, CLI_STR, "NAME", cmd_setparent,
         "make profile NAME the current profile's parent", "parent"},
        {"parent", 1, 0, CLI_STR, "NAME", cmd_setparent, NULL, "parent"},
        {"delparent", 0, 0, CLI_ANY, "", cmd_del, NULL, "parent"},
        SETDEL("secure", "BOOL", "refuse function-name requests and spawn"),
        SETDEL("monitor_timeout", "SECONDS",
               "handshake and liveness timeout "
               "(default 30)"),
        SETDEL("connect_interval", "SECONDS",
               "connection retry base "
               "(default 2)"),
        SETDEL("framing_format", "LIST",
               "framings in order of preference "
               "(aemp: cbor, json)"),
        SETDEL("auth_offer", "LIST", "authentication methods sent"),
        SETDEL("auth_accept", "LIST", "authentication methods accepted"),
        SETDEL("autocork", "BOOL", "coalesce socket writes"),
        SETDEL("nodelay", "BOOL", "TCP_NODELAY (default true)"),
        SETDEL("shards", "N", "aemp: shard threads, 0 = one per CPU"),
        SETDEL("max_packet", "BYTES", "aemp: largest packet accepted"),
        SETDEL("max_queue", "BYTES",
               "aemp: outgoing queue limit per "
               "connection"),
        SETDEL("max_handshakes", "N",
               "aemp: concurrent unauthenticated "
               "connections"),
        SETDEL("max_handshakes_per_addr", "N",
               "aemp: pending handshakes per source address"),
        SETDEL("per_addr_exempt", "LIST",
               "aemp: addresses/prefixes without a per-address bound"),
        SETDEL("first_byte_timeout", "SECONDS",
               "aemp: accepted peer's first byte (default 5)"),
        SETDEL("greeting_timeout", "SECONDS",
               "aemp: accepted peer's greeting (default 10)"),
        SETDEL("handshake_timeout", "SECONDS",
               "aemp: whole handshake (default 2 x monitor_timeout)"),
        SETDEL("node_gc_delay", "SECONDS",
               "aemp: keep records of idle departed nodes "
               "(default 60)"),
        SETDEL("fragment_size", "BYTES",
               "aemp: larger packets go to aemp peers in fragments "
               "(default 65536; 0 = off)"),
        SETDEL("socket_buffer", "BYTES",
               "aemp: bytes a connection's socket holds each way "
               "(default 0 = kernel sizing)"),
        SETDEL("max_thread_queue", "BYTES",
               "aemp: queue limit per application "
               "thread and shard"),
        SETDEL("log_level", "1..9", "aemp: log level (5 = warn)"),
        SETDEL("metrics", "IP:PORT",
               "aemp: Prometheus endpoint (off unless set)"),
        SETDEL("metrics_sample", "N",
               "aemp: time one handler run in N for the metrics "
               "(0 = off)"),
        SETDEL("busy_poll_us", "US",
               "aemp: idle shards spin this long before sleeping "
               "(0 = never; burns a core)"),
        SETDEL("cpus", "LIST", "aemp: pin shard i to the i-th CPU"),
        SETDEL("modules", "LIST",
               "aemp: service modules (.so) aemp run loads at start"),
        SETDEL("module_path", "LIST",
               "aemp: directories for modules and on-demand loading"),
        /* No "eval" alias: `aemp eval` is the protocol command. */
        {"seteval", 1, 0, CLI_ANY, "PERLCODE", cmd_set,
         "Perl code for Perl nodes; aemp nodes ignore it", "eval"},
        {"deleval", 0, 0, CLI_ANY, "", cmd_del, NULL, "eval"},
};

const size_t cli_conf_ncmds = sizeof(cli_conf_cmds) / sizeof(cli_conf_cmds[0]);
