/*
 * engine/conf/config.c - aemp_conf: configure() arguments, resolution against
 * the configuration file and its profiles (aemp-protocol.md §7.1, §8.1),
 * validation of every key, and node-ID templates (§1.5).
 *
 * Resolution builds the effective configuration as an owned MAP (what
 * `aemp showconfig` prints) plus, per key, where its value came from, so
 * that a bad value is reported with its origin.  Precedence, lowest
 * first: built-in defaults, configure() arguments, the file's global
 * section, the profile chain (farthest parent first), the profile; with
 * "force" the arguments go on top; with "norc" the file is not read.
 * The expanded node ID is kept apart: aemp_conf_get("nodeid") returns it,
 * the printed configuration shows the template, as Perl's tool does.
 *
 * Invariants: after a successful resolve every known key of the effective
 * map has passed conf_check, and the expanded node ID is valid (§1.1).
 * eng_config_build (engine/conf/config_build.c) relies on both.
 *
 * Threads: an aemp_conf is used by one thread at a time.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/utsname.h>

#include "engine/conf/addr.h"
#include "engine/conf/config_int.h"
#include "engine/conf/rcfile.h"
#include "ring/alloc.h"
#include "ring/base.h"

/* Built-in defaults: §7.1, with framing_format limited to what aemp
 * speaks (§9: never offer storable), plus the aemp extensions. */
static const char conf_defaults_json[] =
        "{\"binds\": [\"*\"], \"seeds\": [], \"services\": [],"
        " \"secure\": false, \"monitor_timeout\": 30, \"connect_interval\": 2,"
        " \"framing_format\": [\"cbor\", \"json\"],"
        " \"auth_offer\": [\"tls_sha3_512\", \"hmac_sha3_512\"],"
        " \"auth_accept\": [\"tls_sha3_512\", \"hmac_sha3_512\", \"tls_anon\","
        " \"cleartext\"],"
        " \"autocork\": false, \"nodelay\": true, \"shards\": 0,"
        " \"max_packet\": 16777216, \"max_queue\": 67108864,"
        " \"fragment_size\": 65536, \"socket_buffer\": 0,"
        " \"max_handshakes\": 256, \"max_handshakes_per_addr\": 32,"
        " \"per_addr_exempt\": [\"127.0.0.0/8\", \"::1\"],"
        " \"first_byte_timeout\": 5, \"greeting_timeout\": 10,"
        " \"node_gc_delay\": 60, \"max_thread_queue\": 1048576,"
        " \"log_level\": 5, \"metrics_sample\": 0, \"busy_poll_us\": 0,"
        " \"cpus\": [], \"modules\": [], \"module_path\": []}";

#define CHAIN_MAX 64

static const struct conf_key conf_keys[] = {
        {"profile", CK_STR, 0, 0, CF_ARG_ONLY},
        {"parent", CK_STR, 0, 0, CF_FILE_ONLY},
        {"nodeid", CK_STR, 0, 0, 0},
        {"secret", CK_STR, 0, 0, CF_SECRET},
        {"cert", CK_STR, 0, 0, CF_SECRET},
        {"binds", CK_SPECS, 0, 0, 0},
        {"seeds", CK_SPECS, 0, 0, 0},
        {"services", CK_SERVICES, 0, 0, 0},
        {"secure", CK_BOOL, 0, 0, 0},
        {"eval", CK_PERL, 0, 0, 0},
        {"monitor_timeout", CK_SECS, 0, 0, 0},
        {"connect_interval", CK_SECS, 0, 0, 0},
        {"framing_format", CK_NAMES, 0, 0, 0},
        {"auth_offer", CK_NAMES, 0, 0, 0},
        {"auth_accept", CK_NAMES, 0, 0, 0},
        {"autocork", CK_BOOL, 0, 0, 0},
        {"nodelay", CK_BOOL, 0, 0, 0},
        {"norc", CK_BOOL, 0, 0, CF_ARG_ONLY},
        {"force", CK_BOOL, 0, 0, CF_ARG_ONLY},
        {"shards", CK_INT, 0, 64, 0},
        {"max_packet", CK_INT, 1024, (int64_t)1 << 30, 0},
        {"max_queue", CK_INT, 65536, (int64_t)1 << 40, 0},
        {"fragment_size", CK_INT, 0, (int64_t)1 << 30, 0},
        {"socket_buffer", CK_INT, 0, (int64_t)1 << 30, 0},
        {"max_handshakes", CK_INT, 1, 65536, 0},
        {"max_handshakes_per_addr", CK_INT, 1, 65536, 0},
        {"per_addr_exempt", CK_NETS, 0, 0, 0},
        {"first_byte_timeout", CK_SECS, 0, 0, 0},
        {"greeting_timeout", CK_SECS, 0, 0, 0},
        {"handshake_timeout", CK_SECS, 0, 0, 0},
        {"node_gc_delay", CK_SECS, 0, 0, 0},
        {"max_thread_queue", CK_INT, 65536, (int64_t)1 << 30, 0},
        {"log_level", CK_INT, 1, 9, 0},
        {"metrics", CK_STR, 0, 0, 0},
        {"metrics_sample", CK_INT, 0, 65536, 0},
        {"busy_poll_us", CK_INT, 0, 1000000, 0},
        {"cpus", CK_CPUS, 0, 0, 0},
        {"modules", CK_PATHS, 0, 0, 0},
        {"module_path", CK_PATHS, 0, 0, 0},
};

const struct conf_key *
eng_conf_key(const char *name)
{
	size_t i;

	for (i = 0; i < AEMP_ARRAY_LEN(conf_keys); i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* ---- validation ---------------------------------------------------------- */

size_t
eng_conf_num_text(const aemp_val *v, char *buf, size_t cap)
{
	int n;

	if (v->type == AEMP_INT)
		n = snprintf(buf, cap, "%lld", (long long)v->u.i);
	else if (v->type == AEMP_UINT && !(v->flags & AEMP_VF_NEG))
		n = snprintf(buf, cap, "%llu", (unsigned long long)v->u.u);
	else if (v->type == AEMP_UINT && v->u.u == UINT64_MAX)
		n = snprintf(buf, cap, "-18446744073709551616");
	else if (v->type == AEMP_UINT)
		n = snprintf(buf, cap, "-%llu", (unsigned long long)v->u.u + 1);
	else
		n = snprintf(buf, cap, "%.17g", v->u.f);
	return n < 0 ? 0 : AEMP_MIN((size_t)n, cap > 0 ? cap - 1 : 0);
}

/* A short description of v for error messages; secrets show their kind
 * only. */
static const char *
describe(const aemp_val *v, int secret, char *buf, size_t cap)
{
	static const char *const kinds[] = {
	        "null",      "a boolean", "a number",
	        "a number",  "a string",  "an array",
	        "an object", "a number",  "a tagged value"};

	if (v->type > AEMP_TAG)
		return "an invalid value";
	if (secret || v->type == AEMP_ARRAY || v->type == AEMP_MAP ||
	    v->type == AEMP_TAG)
		return kinds[v->type];
	if (v->type == AEMP_STR)
		snprintf(buf, cap, "\"%.*s\"%s", (int)AEMP_MIN(v->len, 60),
		         v->u.s, v->len > 60 ? "..." : "");
	else if (v->type == AEMP_FLOAT)
		snprintf(buf, cap, "%g", v->u.f);
	else if (v->type == AEMP_INT || v->type == AEMP_UINT)
		eng_conf_num_text(v, buf, cap);
	else
		snprintf(buf, cap, "%s",
		         v->type == AEMP_NULL ? "null"
		                              : (v->u.i ? "true" : "false"));
	return buf;
}

static int
bad(const struct conf_key *k, const aemp_val *v, const char *origin,
    const char *want)
{
	char buf[96];

	return AEMP_SET_ERR(
	        AEMP_ECONFIG, "%s: expected %s, got %s (%s)", k->name, want,
	        describe(v, k->flags & CF_SECRET, buf, sizeof(buf)), origin);
}

static int
is_scalar_text(const aemp_val *v)
{
	return v->type == AEMP_STR || v->type == AEMP_INT ||
	       v->type == AEMP_UINT || v->type == AEMP_FLOAT;
}

static int
check_list(const struct conf_key *k, const aemp_val *v, const char *origin)
{
	size_t i, noport;
	const aemp_val *e;
	char text[200];
	int rc;

	if (v->type == AEMP_STR)
		return 0;
	if (v->type != AEMP_ARRAY)
		return bad(k, v, origin,
		           "an array of strings or a comma-separated string");
	for (i = 0; i < v->len; i++) {
		e = &v->u.a[i];
		if (!is_scalar_text(e) || (k->kind == CK_NAMES && e->len == 0))
			return bad(k, e, origin,
			           k->kind == CK_NAMES ? "non-empty strings"
			                               : "strings");
		if (k->kind != CK_SPECS || e->type != AEMP_STR)
			continue;
		if (memchr(e->u.s, '\0', e->len) != NULL)
			return bad(k, e, origin, "strings without NUL");
		if ((rc = eng_addr_spec_check(e->u.s, &noport)) < 0) {
			snprintf(text, sizeof(text), "%s", aemp_errmsg());
			return AEMP_SET_ERR(rc, "%s: %s (%s)", k->name, text,
			                    origin);
		}
	}
	if (k->kind == CK_NAMES && v->len > ENG_MAX_AUTH)
		return AEMP_SET_ERR(AEMP_ECONFIG, "%s: at most %d names (%s)",
		                    k->name, ENG_MAX_AUTH, origin);
	return 0;
}

static int
prefix_ok(const char *s, size_t n, void *arg)
{
	struct eng_prefix p;

	++*(size_t *)arg;
	return eng_prefix_parse(s, n, &p);
}

/* CK_NETS: like CK_NAMES, each item an address or prefix. */
static int
check_nets(const struct conf_key *k, const aemp_val *v, const char *origin)
{
	char text[200];
	size_t i, n = 0;
	int rc;

	if (v->type != AEMP_STR && v->type != AEMP_ARRAY)
		return bad(k, v, origin,
		           "an array of addresses or a comma-separated string");
	for (i = 0; v->type == AEMP_ARRAY && i < v->len; i++)
		if (v->u.a[i].type != AEMP_STR)
			return bad(k, &v->u.a[i], origin,
			           "addresses or prefixes (strings)");
	if ((rc = eng_conf_each(v, prefix_ok, &n)) < 0) {
		snprintf(text, sizeof(text), "%s", aemp_errmsg());
		return AEMP_SET_ERR(rc, "%s: %s (%s)", k->name, text, origin);
	}
	if (n > ENG_MAX_EXEMPT)
		return AEMP_SET_ERR(AEMP_ECONFIG, "%s: at most %d entries (%s)",
		                    k->name, ENG_MAX_EXEMPT, origin);
	return 0;
}

static int
check_services(const struct conf_key *k, const aemp_val *v, const char *origin)
{
	const aemp_val *e;
	size_t i;

	if (v->type != AEMP_ARRAY)
		return bad(k, v, origin, "an array");
	for (i = 0; i < v->len; i++) {
		e = &v->u.a[i];
		if (e->type == AEMP_ARRAY && e->len > 0)
			e = &e->u.a[0];
		if (e->type != AEMP_STR || e->len == 0)
			return bad(k, &v->u.a[i], origin,
			           "function names or [NAME, ARG...] arrays");
	}
	return 0;
}

int
eng_conf_cpu(const char *s, size_t n, int *cpu)
{
	int v = 0;
	size_t i;

	while (n > 0 && s[0] == ' ') { /* "0, 1" */
		s++;
		n--;
	}
	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n == 0 || n > 4)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v >= ENG_CPU_LIMIT)
		return -EINVAL;
	*cpu = v;
	return 0;
}

struct cpus_ctx {
	size_t n;
	char bad[48]; /* the first item that is not a CPU number */
};

static int
cpus_item(const char *s, size_t n, void *arg)
{
	struct cpus_ctx *x = arg;
	int cpu;

	if (eng_conf_cpu(s, n, &cpu) < 0) {
		snprintf(x->bad, sizeof(x->bad), "\"%.*s\"",
		         (int)AEMP_MIN(n, 40), s);
		return -EINVAL;
	}
	x->n++;
	return 0;
}

/* cpus: CPU numbers (integers or decimal strings) in an array, or a
 * comma-separated string; one per shard, so at most ENG_MAX_CPUS.
 * Whether the CPUs exist is checked when the node is created. */
static int
check_cpus(const struct conf_key *k, const aemp_val *v, const char *origin)
{
	struct cpus_ctx x = {0, ""};
	size_t i;

	if (v->type != AEMP_STR && v->type != AEMP_ARRAY)
		return bad(k, v, origin,
		           "an array of CPU numbers or a comma-separated "
		           "string");
	for (i = 0; v->type == AEMP_ARRAY && i < v->len; i++)
		if (!is_scalar_text(&v->u.a[i]))
			return bad(k, &v->u.a[i], origin, "CPU numbers");
	if (eng_conf_each(v, cpus_item, &x) < 0)
		return AEMP_SET_ERR(
		        AEMP_ECONFIG,
		        "%s: expected CPU numbers 0..%d, got %s (%s)", k->name,
		        ENG_CPU_LIMIT - 1, x.bad, origin);
	if (x.n > ENG_MAX_CPUS)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "%s: at most %d CPUs (one per shard) (%s)",
		                    k->name, ENG_MAX_CPUS, origin);
	return 0;
}

/* CK_PATHS: non-empty strings without NUL, at most ENG_MAX_PATHS of them,
 * each shorter than ENG_PATH_MAX; an array or a comma-separated string. */
static int
check_paths(const struct conf_key *k, const aemp_val *v, const char *origin)
{
	const aemp_val *e;
	size_t i;

	if (v->type == AEMP_STR)
		return v->len < ENG_PATH_MAX * ENG_MAX_PATHS &&
		                       memchr(v->u.s, '\0', v->len) == NULL
		               ? 0
		               : bad(k, v, origin, "file names");
	if (v->type != AEMP_ARRAY)
		return bad(
		        k, v, origin,
		        "an array of file names or a comma-separated string");
	if (v->len > ENG_MAX_PATHS)
		return AEMP_SET_ERR(AEMP_ECONFIG, "%s: at most %d entries (%s)",
		                    k->name, ENG_MAX_PATHS, origin);
	for (i = 0; i < v->len; i++) {
		e = &v->u.a[i];
		if (e->type != AEMP_STR || e->len == 0 ||
		    e->len >= ENG_PATH_MAX ||
		    memchr(e->u.s, '\0', e->len) != NULL)
			return bad(k, e, origin,
			           "non-empty file names (strings)");
	}
	return 0;
}

int
eng_conf_check(const struct conf_key *k, const aemp_val *v, const char *origin)
{
	double d;
	int64_t i;

	if (v->type == AEMP_NULL) /* Perl's undef: the default */
		return 0;
	switch (k->kind) {
	case CK_STR:
	case CK_PERL:
		if (!is_scalar_text(v))
			return bad(k, v, origin, "a string");
		if (strcmp(k->name, "cert") == 0 &&
		    (v->type != AEMP_STR ||
		     memmem(v->u.s, v->len, "-----BEGIN ", 11) == NULL))
			return bad(k, v, origin,
			           "PEM text (private key and certificate)");
		return 0;
	case CK_SPECS:
	case CK_NAMES:
		return check_list(k, v, origin);
	case CK_SERVICES:
		return check_services(k, v, origin);
	case CK_NETS:
		return check_nets(k, v, origin);
	case CK_CPUS:
		return check_cpus(k, v, origin);
	case CK_PATHS:
		return check_paths(k, v, origin);
	case CK_BOOL:
		if (v->type == AEMP_ARRAY || v->type == AEMP_MAP)
			return bad(k, v, origin, "a boolean");
		return 0;
	case CK_SECS:
		if (aemp_get_float(v, &d) < 0 || !(d > 0 && d <= 31536000))
			return bad(k, v, origin,
			           "a number of seconds > 0 and <= 31536000");
		return 0;
	case CK_INT:
		if (aemp_get_int(v, &i) < 0 || i < k->min || i > k->max) {
			char want[80];

			snprintf(want, sizeof(want), "an integer %lld..%lld",
			         (long long)k->min, (long long)k->max);
			return bad(k, v, origin, want);
		}
		return 0;
	}
	return 0;
}

/* ---- aemp_conf ---------------------------------------------------------- */

void
eng_conf_eff_fini(struct conf_eff *e)
{
	eng_rcv_free(e->defaults);
	eng_rcv_free(e->map);
	eng_rcv_free(e->origin);
	eng_rcv_fini(&e->profile);
	eng_rcv_fini(&e->nodeid);
	memset(e, 0, sizeof(*e));
}

AEMP_API int
aemp_conf_new(aemp_conf **out)
{
	aemp_conf *c = ring_zalloc(sizeof(*c));

	if (c == NULL || (c->args = eng_rcv_new_map()) == NULL) {
		ring_free(c, sizeof(*c));
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

AEMP_API void
aemp_conf_free(aemp_conf *c)
{
	if (c == NULL)
		return;
	eng_conf_eff_fini(&c->eff);
	eng_rcv_free(c->args);
	ring_free(c, sizeof(*c));
}

/* Check key and value as a configure() argument. */
static int
arg_check(const char *key, const aemp_val *v)
{
	const struct conf_key *k = eng_conf_key(key);

	if (k == NULL)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "unknown configuration key '%s'", key);
	if (k->flags & CF_FILE_ONLY)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "%s: only valid in the configuration file",
		                    key);
	return eng_conf_check(k, v, "configure argument");
}

static void
unresolve(aemp_conf *c)
{
	eng_conf_eff_fini(&c->eff);
	c->resolved = 0;
}

AEMP_API int
aemp_conf_set(aemp_conf *c, const char *key, const aemp_val *v)
{
	int rc;

	if ((rc = arg_check(key, v)) < 0)
		return rc;
	unresolve(c);
	return eng_rcv_map_set(c->args, key, v);
}

AEMP_API int
aemp_conf_set_str(aemp_conf *c, const char *key, const char *s)
{
	aemp_val v = aemp_str(s);

	return aemp_conf_set(c, key, &v);
}

AEMP_API int
aemp_conf_set_json(aemp_conf *c, const char *key, const char *json)
{
	aemp_val *v = NULL;
	char err[200];
	int rc;

	rc = eng_rcv_parse(json, strlen(json), 0, &v, err, sizeof(err));
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return AEMP_SET_ERR(AEMP_ECONFIG, "%s: bad JSON value: %s", key,
		                    err);
	if ((rc = arg_check(key, v)) < 0) {
		eng_rcv_free(v);
		return rc;
	}
	unresolve(c);
	return eng_rcv_map_take(c->args, key, v);
}

/* ---- resolution ---------------------------------------------------------- */

static int
origin_set(struct conf_eff *e, const char *key, const char *origin)
{
	aemp_val o = aemp_str(origin);

	return eng_rcv_map_set(e->origin, key, &o);
}

/* Copy the settings of one level (configure() arguments, the file's
 * global section or one profile) over what *e holds.  A null value is
 * Perl's undef: it restores the default, or removes a key without one. */
static int
eff_merge(struct conf_eff *e, const aemp_val *sec, const char *origin)
{
	const aemp_val *v, *d;
	const struct conf_key *k;
	const char *key;
	size_t i;
	int rc;

	for (i = 0; sec != NULL && i < sec->len; i++) {
		key = sec->u.a[2 * i].u.s; /* owned trees: NUL-terminated */
		v = &sec->u.a[2 * i + 1];
		k = eng_conf_key(key);
		if ((k != NULL && (k->flags & (CF_ARG_ONLY | CF_FILE_ONLY))) ||
		    strcmp(key, "version") == 0)
			continue;
		d = eng_rcv_map_get(e->defaults, key);
		if (k != NULL && v->type == AEMP_NULL && d == NULL) {
			eng_rcv_map_del(e->map, key);
			eng_rcv_map_del(e->origin, key);
			continue;
		}
		if (k != NULL && v->type == AEMP_NULL)
			v = d;
		if ((rc = eng_rcv_map_set(e->map, key, v)) < 0 ||
		    (rc = origin_set(e, key, v == d ? "default" : origin)) < 0)
			return rc;
	}
	return 0;
}

/* $AEMP_BUSY_POLL_US replaces the built-in default of busy_poll_us (for
 * running a whole test suite, or an unmodified program, spinning); a
 * value set anywhere else still wins.  Checked like any value. */
#define BUSY_POLL_ENV "AEMP_BUSY_POLL_US"

static int
eff_env_default(struct conf_eff *e)
{
	const char *env = getenv(BUSY_POLL_ENV);
	aemp_val v;
	int rc;

	if (env == NULL || env[0] == '\0')
		return 0;
	v = aemp_str(env);
	if ((rc = eng_rcv_map_set(e->defaults, "busy_poll_us", &v)) < 0 ||
	    (rc = eng_rcv_map_set(e->map, "busy_poll_us", &v)) < 0)
		return rc;
	return origin_set(e, "busy_poll_us", "environment " BUSY_POLL_ENV);
}

static int
eff_defaults(struct conf_eff *e)
{
	char err[100];
	size_t i;
	int rc;

	rc = eng_rcv_parse(conf_defaults_json, sizeof(conf_defaults_json) - 1,
	                   0, &e->defaults, err, sizeof(err));
	AEMP_ASSERT(rc == 0 || rc == -ENOMEM);
	if (rc < 0 || (e->map = eng_rcv_dup(e->defaults)) == NULL ||
	    (e->origin = eng_rcv_new_map()) == NULL)
		return -ENOMEM;
	for (i = 0; i < e->map->len; i++)
		if ((rc = origin_set(e, e->map->u.a[2 * i].u.s, "default")) < 0)
			return rc;
	return eff_env_default(e);
}

static const aemp_val *
profile_of(const aemp_rc *rc, const char *name)
{
	return eng_rcv_map_get(eng_rcv_map_get(eng_rc_root(rc), "profile"),
	                       name);
}

static int
chain_cycle(const char **names, size_t n, const char *again, const aemp_rc *rc)
{
	char path[512];
	size_t i, len = 0;

	for (i = 0; i < n && len < sizeof(path); i++)
		len += (size_t)snprintf(path + len, sizeof(path) - len,
		                        "'%s' -> ", names[i]);
	return AEMP_SET_ERR(AEMP_ECONFIG,
	                    "profile '%s': parent cycle %s'%s' (%s)", names[0],
	                    path, again, eng_rc_path_of(rc));
}

/* The existing profiles of the chain, nearest first, into names[]. */
static int
chain_collect(const aemp_rc *rc, const char *profile, const char **names,
              size_t *n)
{
	const aemp_val *sec, *par;
	const char *cur = profile;
	size_t i;

	for (*n = 0; cur != NULL; cur = par->u.s) {
		for (i = 0; i < *n; i++)
			if (strcmp(names[i], cur) == 0)
				return chain_cycle(names, *n, cur, rc);
		if (*n == CHAIN_MAX)
			return AEMP_SET_ERR(
			        AEMP_ECONFIG,
			        "profile '%s': more than %d parents "
			        "(%s)",
			        profile, CHAIN_MAX, eng_rc_path_of(rc));
		if ((sec = profile_of(rc, cur)) == NULL)
			break; /* a missing profile contributes nothing */
		names[(*n)++] = cur;
		par = eng_rcv_map_get(sec, "parent");
		if (par == NULL || par->type == AEMP_NULL)
			break;
		if (par->type != AEMP_STR)
			return AEMP_SET_ERR(AEMP_ECONFIG,
			                    "profile '%s': parent must be a "
			                    "profile name (%s)",
			                    cur, eng_rc_path_of(rc));
	}
	return 0;
}

static int
eff_file(struct conf_eff *e, const aemp_rc *rc)
{
	const char *names[CHAIN_MAX];
	char origin[600];
	size_t n, i;
	int err;

	if ((err = eff_merge(e, eng_rc_root(rc), eng_rc_path_of(rc))) < 0 ||
	    (err = chain_collect(rc, e->profile.u.s, names, &n)) < 0)
		return err;
	for (i = n; i-- > 0;) {
		snprintf(origin, sizeof(origin), "profile '%.200s' in %.380s",
		         names[i], eng_rc_path_of(rc));
		if ((err = eff_merge(e, profile_of(rc, names[i]), origin)) < 0)
			return err;
	}
	return 0;
}

/* Read the file unless norc, or use the caller's rc. */
static int
eff_with_file(struct conf_eff *e, const aemp_rc *rc)
{
	aemp_rc *own = NULL;
	char path[4096];
	int err;

	if (rc == NULL) {
		/* No HOME and no PERL_ANYEVENT_MP_RC (a daemon's environment):
		 * there is no file, which is not an error. */
		if (aemp_rc_path(path, sizeof(path)) < 0) {
			ring_clearerr();
			return 0;
		}
		if ((err = aemp_rc_open(path, &own)) < 0)
			return err;
		rc = own;
	}
	err = eff_file(e, rc);
	aemp_rc_close(own);
	return err;
}

static const char *
origin_of(const struct conf_eff *e, const char *key)
{
	const aemp_val *o = eng_rcv_map_get(e->origin, key);

	return o != NULL ? o->u.s : "default";
}

static int
count_framing(const char *s, size_t n, void *arg)
{
	if ((n == 4 && memcmp(s, "json", 4) == 0) ||
	    (n == 4 && memcmp(s, "cbor", 4) == 0))
		(*(int *)arg)++;
	return 0;
}

/* cpus pins shard i to its i-th CPU: with shards set, one CPU each. */
static int
cpus_match_shards(const struct conf_eff *e)
{
	const aemp_val *v = eng_rcv_map_get(e->map, "cpus");
	struct cpus_ctx x = {0, ""};
	int64_t shards = 0;

	if (v == NULL || v->type == AEMP_NULL ||
	    aemp_get_int(eng_rcv_map_get(e->map, "shards"), &shards) < 0)
		return 0;
	(void)eng_conf_each(v, cpus_item, &x);
	if (x.n == 0 || shards == 0 || (size_t)shards == x.n)
		return 0;
	return AEMP_SET_ERR(AEMP_ECONFIG,
	                    "cpus: lists %zu CPU%s but shards is %lld; give "
	                    "one CPU per shard (%s)",
	                    x.n, x.n == 1 ? "" : "s", (long long)shards,
	                    origin_of(e, "cpus"));
}

/* zero_or_min - integer key, when set, is 0 (meaning `zero`) or at least
 * min. */
static int
zero_or_min(const struct conf_eff *e, const char *key, int64_t min,
            const char *zero)
{
	int64_t q;

	if (aemp_get_int(eng_rcv_map_get(e->map, key), &q) == 0 && q > 0 &&
	    q < min)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "%s (%lld) must be 0 (%s) or at least %lld",
		                    key, (long long)q, zero, (long long)min);
	return 0;
}

/* Every known key of the effective map, then the relations between keys. */
static int
eff_validate(const struct conf_eff *e)
{
	const aemp_val *v, *w;
	int64_t pkt = 0, q = 0;
	size_t i;
	int rc, nf = 0;

	for (i = 0; i < e->map->len; i++) {
		const char *key = e->map->u.a[2 * i].u.s;
		const struct conf_key *k = eng_conf_key(key);

		if (k != NULL &&
		    (rc = eng_conf_check(k, &e->map->u.a[2 * i + 1],
		                         origin_of(e, key))) < 0)
			return rc;
	}
	v = eng_rcv_map_get(e->map, "framing_format");
	if (v != NULL && v->type != AEMP_NULL) {
		eng_conf_each(v, count_framing, &nf);
		if (nf == 0)
			return AEMP_SET_ERR(
			        AEMP_ECONFIG,
			        "framing_format: lists neither \"json\" "
			        "nor \"cbor\", the framings aemp speaks "
			        "(%s)",
			        origin_of(e, "framing_format"));
	}
	if ((rc = cpus_match_shards(e)) < 0)
		return rc;
	v = eng_rcv_map_get(e->map, "max_packet");
	w = eng_rcv_map_get(e->map, "max_queue");
	if (aemp_get_int(v, &pkt) == 0 && aemp_get_int(w, &q) == 0 && q < pkt)
		return AEMP_SET_ERR(
		        AEMP_ECONFIG,
		        "max_queue (%lld) must be at least max_packet "
		        "(%lld)",
		        (long long)q, (long long)pkt);
	if ((rc = zero_or_min(e, "fragment_size", 1024, "off")) < 0)
		return rc;
	return zero_or_min(e, "socket_buffer", 4096,
	                   "the kernel's automatic sizing");
}

/* RUNIQ (§1.4): 10 characters of 0-9A-Za-z from the kernel CSPRNG, the
 * last one upper-cased. */
static int
runiq(char out[11])
{
	static const char abc[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "abcdefghijklmnopqrstuvwxyz";
	unsigned char b[32];
	size_t got = 0, i;
	ssize_t n;

	while (got < 10) {
		if ((n = getrandom(b, sizeof(b), 0)) < 0) {
			if (errno == EINTR)
				continue;
			return AEMP_SET_ERR(-errno, "getrandom: %s",
			                    strerror(errno));
		}
		/* 248 = 4 * 62: rejecting the rest avoids modulo bias. */
		for (i = 0; i < (size_t)n && got < 10; i++)
			if (b[i] < 248)
				out[got++] = abc[b[i] % 62];
	}
	out[9] = (char)toupper((unsigned char)out[9]);
	out[10] = '\0';
	return 0;
}

struct idbuf {
	char s[AEMP_ID_MAX];
	size_t len;
	int overflow;
};

static void
id_put(struct idbuf *b, const char *s, size_t n)
{
	if (b->len + n >= sizeof(b->s)) {
		b->overflow = 1;
		return;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* The node-ID template: nodeid (numbers as text), else PROFILE "/". */
static void
id_template(const struct conf_eff *e, char *buf, size_t cap, const char **t,
            size_t *n)
{
	const aemp_val *v = eng_rcv_map_get(e->map, "nodeid");

	if (v != NULL && v->type == AEMP_STR) {
		*t = v->u.s;
		*n = v->len;
	} else if (v != NULL && v->type != AEMP_NULL) {
		eng_conf_num_text(v, buf, cap);
		*t = buf;
		*n = strlen(buf);
	} else {
		snprintf(buf, cap, "%s/", e->profile.u.s);
		*t = buf;
		*n = strlen(buf);
	}
}

static int
id_check(const struct idbuf *b, const struct conf_eff *e)
{
	const char *why = NULL;

	if (b->overflow)
		why = "is longer than 255 bytes";
	else if (b->len == 0)
		why = "must not be empty";
	else if (strcmp(b->s, "0") == 0)
		why = "must not be \"0\"";
	else if (strlen(b->s) != b->len)
		why = "must not contain NUL";
	else if (strpbrk(b->s, "#;\r\n") != NULL)
		why = "must not contain '#', ';', CR or LF";
	if (why == NULL)
		return 0;
	return AEMP_SET_ERR(AEMP_ECONFIG, "nodeid: \"%.60s%s\" %s (%s)", b->s,
	                    b->len > 60 ? "..." : "", why,
	                    origin_of(e, "nodeid"));
}

/* §1.5: %n -> host name, %u -> RUNIQ, a trailing '/' gets RUNIQ after it;
 * one RUNIQ for all substitutions. */
static int
nodeid_expand(struct conf_eff *e, const char *host)
{
	char tbuf[AEMP_ID_MAX + 64], ru[11];
	struct idbuf b = {{0}, 0, 0};
	const char *t;
	size_t n, i;
	int rc;

	if ((rc = runiq(ru)) < 0)
		return rc;
	id_template(e, tbuf, sizeof(tbuf), &t, &n);
	for (i = 0; i < n; i++) {
		if (t[i] == '%' && i + 1 < n &&
		    (t[i + 1] == 'n' || t[i + 1] == 'u')) {
			e->nodeid_random |= t[i + 1] == 'u';
			id_put(&b, t[i + 1] == 'u' ? ru : host,
			       t[i + 1] == 'u' ? 10 : strlen(host));
			i++;
		} else {
			id_put(&b, &t[i], 1);
		}
	}
	if (b.len > 0 && b.s[b.len - 1] == '/') {
		id_put(&b, ru, 10);
		e->nodeid_random = 1;
	}
	if ((rc = id_check(&b, e)) < 0)
		return rc;
	return eng_rcv_set_str(&e->nodeid, b.s, b.len);
}

static int
profile_name(const aemp_conf *c, struct conf_eff *e, const char *host)
{
	const aemp_val *p = eng_rcv_map_get(c->args, "profile");
	char num[40];

	if (p == NULL || p->type == AEMP_NULL)
		return eng_rcv_set_str(&e->profile, host, strlen(host));
	if (p->type == AEMP_STR) {
		if (p->len == 0 || memchr(p->u.s, '\0', p->len) != NULL)
			return AEMP_SET_ERR(
			        AEMP_ECONFIG,
			        "profile: the name must be a non-empty "
			        "string without NUL");
		return eng_rcv_set_str(&e->profile, p->u.s, p->len);
	}
	eng_conf_num_text(p, num, sizeof(num));
	return eng_rcv_set_str(&e->profile, num, strlen(num));
}

int
eng_conf_resolve_into(const aemp_conf *c, const aemp_rc *rc, struct conf_eff *e)
{
	int norc = aemp_truthy(eng_rcv_map_get(c->args, "norc"));
	int force = aemp_truthy(eng_rcv_map_get(c->args, "force"));
	struct utsname u;
	int err;

	memset(e, 0, sizeof(*e));
	if (uname(&u) < 0)
		return AEMP_SET_ERR(AEMP_ECONFIG, "uname: %s", strerror(errno));
	if ((err = profile_name(c, e, u.nodename)) < 0 ||
	    (err = eff_defaults(e)) < 0)
		goto out;
	if (!force && (err = eff_merge(e, c->args, "configure argument")) < 0)
		goto out;
	if (!norc && (err = eff_with_file(e, rc)) < 0)
		goto out;
	if (force && (err = eff_merge(e, c->args, "configure argument")) < 0)
		goto out;
	if ((err = eff_validate(e)) < 0)
		goto out;
	err = nodeid_expand(e, u.nodename);
out:
	if (err < 0)
		eng_conf_eff_fini(e);
	return err;
}

static int
resolve(aemp_conf *c, const aemp_rc *rc)
{
	struct conf_eff e;
	int err;

	if ((err = eng_conf_resolve_into(c, rc, &e)) < 0)
		return err;
	unresolve(c);
	c->eff = e;
	c->resolved = 1;
	return 0;
}

AEMP_API int
aemp_conf_resolve(aemp_conf *c)
{
	return resolve(c, NULL);
}

int
eng_conf_resolve_rc(aemp_conf *c, const aemp_rc *rc)
{
	return resolve(c, rc);
}

AEMP_API const aemp_val *
aemp_conf_get(const aemp_conf *c, const char *key)
{
	if (!c->resolved)
		return NULL;
	if (strcmp(key, "nodeid") == 0)
		return &c->eff.nodeid;
	if (strcmp(key, "profile") == 0)
		return &c->eff.profile;
	return eng_rcv_map_get(c->eff.map, key);
}

AEMP_API int
aemp_conf_format(const aemp_conf *c, char **out)
{
	size_t len;

	if (!c->resolved)
		return AEMP_SET_ERR(AEMP_ESTATE,
		                    "configuration not resolved yet");
	return eng_rcv_pretty(c->eff.map, out, &len);
}
