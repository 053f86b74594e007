/*
 * perf/opts.c - the command line: `aemp-perf [SCENARIO] [OPTION...]`.
 * Options take their value as the next argument or after '='.  Every
 * check happens here, before anything runs; a bad command line is one
 * line on stderr and exit status 2.
 *
 * Threads: main thread.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf.h"

#define SIZE_LIMIT (8 << 20)

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int
parse_int(const char *opt, const char *s, int min, int max, int *out)
{
	uint64_t v;

	if (parse_u64(s, (uint64_t)min, (uint64_t)max, &v) < 0)
		return perf_err(PERF_EUSAGE,
		                "%s: expected an integer %d..%d, got '%s'", opt,
		                min, max, s);
	*out = (int)v;
	return 0;
}

static int
parse_secs(const char *opt, const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(v) ||
	    v < min || v > max)
		return perf_err(PERF_EUSAGE,
		                "%s: expected seconds %g..%g, got '%s'", opt,
		                min, max, s);
	*out = v;
	return 0;
}

static int
parse_sizes(struct perf_opts *o, const char *s)
{
	char buf[256], *tok, *save = NULL;
	uint64_t v;

	if (strlen(s) >= sizeof(buf))
		return perf_err(PERF_EUSAGE, "--size: list too long");
	strcpy(buf, s);
	o->nsizes = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (o->nsizes == PERF_SIZES_MAX)
			return perf_err(PERF_EUSAGE, "--size: at most %d sizes",
			                PERF_SIZES_MAX);
		if (parse_u64(tok, 0, SIZE_LIMIT, &v) < 0)
			return perf_err(
			        PERF_EUSAGE,
			        "--size: expected bytes 0..%d, got '%s'",
			        SIZE_LIMIT, tok);
		o->sizes[o->nsizes++] = (size_t)v;
	}
	if (o->nsizes == 0)
		return perf_err(PERF_EUSAGE, "--size: no size given");
	return 0;
}

static int
parse_monitors(struct perf_opts *o, const char *s)
{
	char buf[256], *tok, *save = NULL;
	uint64_t v;

	if (strlen(s) >= sizeof(buf))
		return perf_err(PERF_EUSAGE, "--monitors: list too long");
	strcpy(buf, s);
	o->nmonitors = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (o->nmonitors == PERF_SIZES_MAX)
			return perf_err(PERF_EUSAGE,
			                "--monitors: at most %d counts",
			                PERF_SIZES_MAX);
		if (parse_u64(tok, 1, PERF_MONITORS_MAX, &v) < 0)
			return perf_err(PERF_EUSAGE,
			                "--monitors: expected monitoring nodes "
			                "1..%d, got '%s'",
			                PERF_MONITORS_MAX, tok);
		o->monitors[o->nmonitors++] = (int)v;
	}
	if (o->nmonitors == 0)
		return perf_err(PERF_EUSAGE, "--monitors: no count given");
	return 0;
}

static int
parse_framings(struct perf_opts *o, const char *s)
{
	if (strcmp(s, "json") == 0 || strcmp(s, "cbor") == 0) {
		o->framings[0] = strcmp(s, "json") == 0 ? "json" : "cbor";
		o->nframings = 1;
	} else if (strcmp(s, "json,cbor") == 0 || strcmp(s, "cbor,json") == 0) {
		o->framings[0] = s[0] == 'j' ? "json" : "cbor";
		o->framings[1] = s[0] == 'j' ? "cbor" : "json";
		o->nframings = 2;
	} else {
		return perf_err(PERF_EUSAGE,
		                "--framing: expected json, cbor or json,cbor, "
		                "got '%s'",
		                s);
	}
	return 0;
}

static int
parse_addr(const char *opt, const char *s)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;

	if (colon == NULL || colon == s ||
	    parse_u64(colon + 1, 0, 65535, &port) < 0)
		return perf_err(PERF_EUSAGE, "%s: expected HOST:PORT, got '%s'",
		                opt, s);
	return 0;
}

/* Options that take a value; the others are flags. */
static const char *const valued[] = {
        "--size",   "--framing",       "--shards",    "--senders",
        "--nodes",  "--seconds",       "--count",     "--warmup",
        "--batch",  "--connect",       "--max-queue", "--secret",
        "--port",   "--bind",          "--nodeid",    "--monitors",
        "--window", "--globals",       "--busy-poll", "--fragment-size",
        "--many",   "--socket-buffer",
};

static const char *const flags[] = {
        "--json", "--no-raw", "--quiet",   "-q",    "--tls",
        "--help", "-h",       "--foreign", "--cal", "--no-zmq",
};

static int
is_in(const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(name, list[i]) == 0)
			return 1;
	}
	return 0;
}

static int
set_flag(struct perf_opts *o, const char *name)
{
	if (strcmp(name, "--json") == 0)
		o->json = 1;
	else if (strcmp(name, "--no-raw") == 0)
		o->no_raw = 1;
	else if (strcmp(name, "--no-zmq") == 0)
		o->no_zmq = 1;
	else if (strcmp(name, "--tls") == 0)
		o->tls = 1;
	else if (strcmp(name, "--foreign") == 0)
		o->foreign = 1;
	else if (strcmp(name, "--cal") == 0)
		o->cal = 1;
	else if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		o->help = 1;
	else
		o->quiet = 1;
	return 0;
}

/* zero_or_bytes - option name's value v: 0 (meaning `zero`) or bytes
 * min..2^30, kept as text in *out (the nodes' configuration takes it). */
static int
zero_or_bytes(const char *name, const char *v, uint64_t min, const char *zero,
              const char **out)
{
	uint64_t n;

	if (parse_u64(v, 0, (uint64_t)1 << 30, &n) < 0 || (n > 0 && n < min))
		return perf_err(PERF_EUSAGE,
		                "%s: expected 0 (%s) or bytes %llu..2^30, got "
		                "'%s'",
		                name, zero, (unsigned long long)min, v);
	*out = v;
	return 0;
}

static int
set_value(struct perf_opts *o, const char *name, const char *v)
{
	uint64_t n;

	if (strcmp(name, "--size") == 0)
		return parse_sizes(o, v);
	if (strcmp(name, "--framing") == 0)
		return parse_framings(o, v);
	if (strcmp(name, "--monitors") == 0)
		return parse_monitors(o, v);
	if (strcmp(name, "--window") == 0)
		return parse_int(name, v, 1, PERF_DB_WINDOW_MAX, &o->window);
	if (strcmp(name, "--shards") == 0)
		return parse_int(name, v, 1, 64, &o->shards);
	if (strcmp(name, "--busy-poll") == 0)
		return parse_int(name, v, 0, 1000000, &o->busy_poll_us);
	if (strcmp(name, "--senders") == 0)
		return parse_int(name, v, 1, PERF_SENDERS_MAX, &o->senders);
	if (strcmp(name, "--nodes") == 0)
		return parse_int(name, v, 1, PERF_CLUSTER_MAX, &o->nodes);
	if (strcmp(name, "--globals") == 0)
		return parse_int(name, v, 1, PERF_GLOBALS_MAX, &o->globals);
	if (strcmp(name, "--batch") == 0)
		return parse_int(name, v, 1, 65536, &o->batch);
	if (strcmp(name, "--many") == 0)
		return parse_int(name, v, 1, PERF_MANY_MAX, &o->many);
	if (strcmp(name, "--seconds") == 0)
		return parse_secs(name, v, 0.001, 3600, &o->seconds);
	if (strcmp(name, "--warmup") == 0)
		return parse_secs(name, v, 0, 600, &o->warmup);
	if (strcmp(name, "--count") == 0) {
		if (parse_u64(v, 1, (uint64_t)1 << 40, &n) < 0)
			return perf_err(
			        PERF_EUSAGE,
			        "--count: expected a number of messages "
			        "1..2^40, got '%s'",
			        v);
		o->count = n;
		return 0;
	}
	if (strcmp(name, "--fragment-size") == 0)
		return zero_or_bytes(name, v, 1024, "off", &o->fragment_size);
	if (strcmp(name, "--socket-buffer") == 0)
		return zero_or_bytes(name, v, 4096, "kernel sizing",
		                     &o->socket_buffer);
	if (strcmp(name, "--max-queue") == 0) {
		if (parse_u64(v, 65536, (uint64_t)1 << 40, &n) < 0)
			return perf_err(
			        PERF_EUSAGE,
			        "--max-queue: expected bytes 65536..2^40, "
			        "got '%s'",
			        v);
		o->max_queue = n;
		return 0;
	}
	if (strcmp(name, "--connect") == 0 || strcmp(name, "--bind") == 0) {
		*(strcmp(name, "--bind") == 0 ? &o->bind : &o->connect) = v;
		return parse_addr(name, v);
	}
	if (strcmp(name, "--secret") == 0)
		o->secret = v;
	else if (strcmp(name, "--port") == 0)
		o->port = v;
	else
		o->nodeid = v;
	if (strlen(v) >= 200 || (strcmp(name, "--secret") != 0 && v[0] == 0))
		return perf_err(PERF_EUSAGE, "%s: bad value '%s'", name, v);
	return 0;
}

/* one_arg - option argv[*i] (and its value); advances *i. */
static int
one_arg(struct perf_opts *o, int argc, char **argv, int *i)
{
	char name[32];
	const char *a = argv[*i], *eq = strchr(a, '='), *val;
	size_t len = eq ? (size_t)(eq - a) : strlen(a);

	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	memcpy(name, a, len);
	name[len] = '\0';
	if (is_in(name, flags, sizeof(flags) / sizeof(flags[0]))) {
		if (eq != NULL)
			return perf_err(PERF_EUSAGE, "%s takes no value", name);
		return set_flag(o, name);
	}
	if (!is_in(name, valued, sizeof(valued) / sizeof(valued[0])))
		return perf_err(PERF_EUSAGE,
		                "unknown option '%s' (see aemp-perf --help)",
		                name);
	if (eq != NULL)
		val = eq + 1;
	else if (*i + 1 < argc)
		val = argv[++*i];
	else
		return perf_err(PERF_EUSAGE, "%s needs a value", name);
	return set_value(o, name, val);
}

/* Defaults that depend on the scenario. */
static void
defaults(struct perf_opts *o)
{
	int dflt = strcmp(o->scenario, "default") == 0 ||
	           strcmp(o->scenario, "tls") == 0;

	if (o->nsizes == 0 && strcmp(o->scenario, "bulk") == 0) {
		o->sizes[o->nsizes++] = 4u << 20;
	} else if (o->nsizes == 0) {
		o->sizes[o->nsizes++] = 16;
		if (dflt)
			o->sizes[o->nsizes++] = 1024;
	}
	if (strcmp(o->scenario, "tls") == 0)
		o->tls = 1;
	if (o->nframings == 0) {
		o->framings[0] = "cbor";
		o->nframings = 1;
	}
	if (o->shards == 0)
		o->shards = strcmp(o->scenario, "local") == 0 ||
		                            strcmp(o->scenario, "bulk") == 0
		                    ? 2
		                    : 1;
	if (o->senders == 0)
		o->senders = 1;
	if (o->nodes == 0)
		o->nodes = strcmp(o->scenario, "cluster") == 0 ? 20 : 2;
	if (o->globals == 0 && strcmp(o->scenario, "cluster") == 0)
		o->globals = 3;
	if (o->nmonitors == 0)
		o->monitors[o->nmonitors++] = 1;
	if (o->window == 0)
		o->window = PERF_DB_WINDOW;
	if (o->batch == 0)
		o->batch = 1024;
	if (o->seconds == 0)
		o->seconds = dflt ? 1.5 : 2;
	if (o->warmup < 0)
		o->warmup = dflt ? 0.3 : 0.5;
}

/* Combinations, once everything is known. */
static int
check(const struct perf_opts *o, int db_set)
{
	const char *s = o->scenario;

	if (o->port != NULL && o->connect == NULL)
		return perf_err(PERF_EUSAGE, "--port needs --connect");
	if (o->connect != NULL &&
	    (strcmp(s, "local") == 0 || strcmp(s, "raw") == 0 ||
	     strcmp(s, "fanin") == 0 || strcmp(s, "serve") == 0))
		return perf_err(PERF_EUSAGE, "%s: --connect is not possible",
		                s);
	if (db_set && strcmp(s, "db") != 0)
		return perf_err(PERF_EUSAGE,
		                "--monitors and --window are for 'db' only");
	if (o->port != NULL && strcmp(s, "db") == 0)
		return perf_err(PERF_EUSAGE,
		                "db: --port is not used (the database is in "
		                "the global node at --connect)");
	if ((o->bind != NULL || o->nodeid != NULL) && strcmp(s, "serve") != 0)
		return perf_err(PERF_EUSAGE, "--bind and --nodeid are for "
		                             "'serve' only");
	if (o->tls && (o->connect != NULL || strcmp(s, "serve") == 0))
		return perf_err(
		        PERF_EUSAGE,
		        "--tls: with --connect or serve, TLS follows the "
		        "configuration file (its cert; omit --secret)");
	if (o->tls && (strcmp(s, "local") == 0 || strcmp(s, "raw") == 0))
		return perf_err(PERF_EUSAGE,
		                "%s: --tls is not possible (no "
		                "connection between nodes)",
		                s);
	if (strcmp(s, "cluster") != 0 && o->nodes > PERF_NODES_MAX)
		return perf_err(PERF_EUSAGE,
		                "--nodes: at most %d for %s (up to %d for "
		                "cluster)",
		                PERF_NODES_MAX, s, PERF_CLUSTER_MAX);
	if (strcmp(s, "cluster") != 0 && o->globals != 0)
		return perf_err(PERF_EUSAGE, "--globals is for 'cluster' only");
	if (strcmp(s, "cluster") == 0 && o->connect != NULL)
		return perf_err(PERF_EUSAGE, "cluster: --connect is not "
		                             "possible");
	if (o->foreign && strcmp(s, "pair") != 0)
		return perf_err(PERF_EUSAGE, "--foreign is for 'pair' only");
	if (o->many > 0 && strcmp(s, "pair") != 0)
		return perf_err(PERF_EUSAGE, "--many is for 'pair' only");
	if (o->many > 0 && o->foreign)
		return perf_err(PERF_EUSAGE,
		                "--many and --foreign: one at a time");
	if (o->cal && strcmp(s, "pingpong") != 0)
		return perf_err(PERF_EUSAGE, "--cal is for pingpong only");
	if (o->cal && o->connect != NULL && o->port == NULL)
		return perf_err(PERF_EUSAGE,
		                "--cal needs a perf port (--port): a bare node "
		                "port does not answer cals");
	if (o->busy_poll_us > 0 && strcmp(s, "pingpong") != 0 &&
	    strcmp(s, "pair") != 0 && strcmp(s, "raw") != 0 &&
	    strcmp(s, "default") != 0)
		return perf_err(PERF_EUSAGE, "--busy-poll is for pingpong, "
		                             "pair, raw and the default run");
	if (strcmp(s, "fanin") == 0 &&
	    o->nodes * o->senders > PERF_SENDERS_MAX * 4)
		return perf_err(PERF_EUSAGE, "fanin: at most %d senders in all",
		                PERF_SENDERS_MAX * 4);
	return 0;
}

int
perf_opts_parse(struct perf_opts *o, int argc, char **argv)
{
	int i, rc, db_set;

	memset(o, 0, sizeof(*o));
	o->warmup = -1;
	for (i = 1; i < argc; i++) {
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			if (o->scenario != NULL)
				return perf_err(PERF_EUSAGE,
				                "unexpected argument '%s' (one "
				                "scenario per run)",
				                argv[i]);
			o->scenario = argv[i];
			continue;
		}
		rc = one_arg(o, argc, argv, &i);
		if (rc != 0)
			return rc;
	}
	if (o->scenario == NULL)
		o->scenario = "default";
	db_set = o->nmonitors != 0 || o->window != 0;
	defaults(o);
	return o->help ? 0 : check(o, db_set);
}
