/*
 * engine/conf/config_build.c - eng_config_build: the typed configuration the
 * node engine runs with (engine/conf/config.h), from a resolved aemp_conf.
 *
 * Validation happened during resolution (engine/conf/config.c), so building
 * only converts; what remains are warnings for things that are not
 * errors: Perl-only settings, unknown keys, names aemp does not know.
 *
 * Threads: the thread creating the node; no shared state.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codec/codec.h"
#include "engine/conf/addr.h"
#include "engine/conf/config_int.h"
#include "engine/conf/rcfile.h"
#include "ring/alloc.h"
#include "ring/base.h"

/* The global service is the one module a C node provides itself. */
#define GLOBAL_SERVICE "AnyEvent::MP::Global::"

static const char *const known_auth[] = {"tls_sha3_512", "hmac_sha3_512",
                                         "tls_anon", "cleartext"};

int
eng_conf_each(const aemp_val *list,
              int (*fn)(const char *s, size_t n, void *arg), void *arg)
{
	const char *s, *comma, *end;
	char num[40];
	size_t i, n;
	int rc;

	if (list->type == AEMP_STR) {
		for (s = list->u.s, end = s + list->len; s < end;
		     s = comma + 1) {
			comma = memchr(s, ',', (size_t)(end - s));
			comma = comma ? comma : end;
			if (comma > s &&
			    (rc = fn(s, (size_t)(comma - s), arg)) < 0)
				return rc;
		}
		return 0;
	}
	for (i = 0; list->type == AEMP_ARRAY && i < list->len; i++) {
		const aemp_val *e = &list->u.a[i];

		if (e->type == AEMP_STR) {
			s = e->u.s;
			n = e->len;
		} else if (e->type == AEMP_INT || e->type == AEMP_UINT ||
		           e->type == AEMP_FLOAT) {
			n = eng_conf_num_text(e, num, sizeof(num));
			s = num;
		} else {
			continue;
		}
		if ((rc = fn(s, n, arg)) < 0)
			return rc;
	}
	return 0;
}

static char *
xstrndup(const char *s, size_t n)
{
	char *d = ring_alloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static int warn(struct eng_config *cfg, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int
warn(struct eng_config *cfg, const char *fmt, ...)
{
	char buf[512], **nw;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	nw = ring_realloc(cfg->warnings, (cfg->nwarnings + 2) * sizeof(*nw));
	if (nw == NULL)
		return -ENOMEM;
	cfg->warnings = nw;
	if ((nw[cfg->nwarnings] = xstrndup(buf, strlen(buf))) == NULL)
		return -ENOMEM;
	nw[++cfg->nwarnings] = NULL;
	return 0;
}

static const char *
origin_of(const struct conf_eff *e, const char *key)
{
	const aemp_val *o = eng_rcv_map_get(e->origin, key);

	return o != NULL ? o->u.s : "default";
}

/* A defaulted key: present and non-null after resolution (config.c). */
static const aemp_val *
must(const struct conf_eff *e, const char *key)
{
	const aemp_val *v = eng_rcv_map_get(e->map, key);

	AEMP_ASSERT(v != NULL);
	AEMP_ASSERT(v->type != AEMP_NULL);
	return v;
}

/* Text of an optional string setting (numbers as text); NULL when absent,
 * null or empty. */
static int
opt_text(const struct conf_eff *e, const char *key, char **out, size_t *len)
{
	const aemp_val *v = eng_rcv_map_get(e->map, key);
	char num[40];
	const char *s = num;
	size_t n;

	*out = NULL;
	*len = 0;
	if (v == NULL || v->type == AEMP_NULL)
		return 0;
	if (v->type == AEMP_STR) {
		s = v->u.s;
		n = v->len;
	} else {
		n = eng_conf_num_text(v, num, sizeof(num));
	}
	if (n == 0)
		return 0;
	if ((*out = xstrndup(s, n)) == NULL)
		return -ENOMEM;
	*len = n;
	return 0;
}

struct strv {
	char **v;
	size_t n;
};

static int
strv_add(const char *s, size_t n, void *arg)
{
	struct strv *sv = arg;
	char **nv = ring_realloc(sv->v, (sv->n + 2) * sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	sv->v = nv;
	if ((nv[sv->n] = xstrndup(s, n)) == NULL)
		return -ENOMEM;
	nv[++sv->n] = NULL;
	return 0;
}

/* binds/seeds as a NULL-ended array of specs (an empty list is an array
 * holding only NULL). */
static int
build_specs(const struct conf_eff *e, const char *key, char ***out, size_t *n)
{
	struct strv sv = {ring_zalloc(sizeof(char *)), 0};
	int rc;

	if (sv.v == NULL)
		return -ENOMEM;
	rc = eng_conf_each(must(e, key), strv_add, &sv);
	*out = sv.v;
	*n = sv.n;
	return rc;
}

static int
warn_seeds(struct eng_config *cfg, const struct conf_eff *e)
{
	size_t i, noport;
	int rc;

	for (i = 0; i < cfg->nseeds; i++) {
		if (eng_addr_spec_check(cfg->seeds[i], &noport) < 0 ||
		    noport == 0)
			continue;
		rc = warn(cfg,
		          "seeds: '%s' has no port, so it cannot be "
		          "contacted (%s)",
		          cfg->seeds[i], origin_of(e, "seeds"));
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
is_perl_module(const aemp_val *s)
{
	return s->type == AEMP_STR && s->len >= 2 &&
	       memcmp(s->u.s + s->len - 2, "::", 2) == 0 &&
	       !aemp_str_eq(s, GLOBAL_SERVICE);
}

/* services without the Perl modules, which a C node cannot load. */
static int
build_services(struct eng_config *cfg, const struct conf_eff *e)
{
	const aemp_val *sv = must(e, "services");
	size_t i;
	int rc;

	if ((cfg->services = eng_rcv_dup(sv)) == NULL)
		return -ENOMEM;
	for (i = 0; i < cfg->services->len;) {
		const aemp_val *s = &cfg->services->u.a[i];

		if (!is_perl_module(s)) {
			i++;
			continue;
		}
		rc = warn(cfg,
		          "services: '%s' is a Perl module, which aemp nodes "
		          "cannot load; ignored (%s)",
		          s->u.s, origin_of(e, "services"));
		if (rc < 0)
			return rc;
		eng_rcv_array_del(cfg->services, i);
	}
	return 0;
}

struct framing_ctx {
	struct eng_config *cfg;
	const struct conf_eff *e;
};

static int
framing_add(const char *s, size_t n, void *arg)
{
	struct framing_ctx *x = arg;
	struct eng_config *cfg = x->cfg;
	uint8_t f = COD_NONE;
	size_t i;

	if (n == 4 && memcmp(s, "json", 4) == 0)
		f = COD_JSON;
	else if (n == 4 && memcmp(s, "cbor", 4) == 0)
		f = COD_CBOR;
	else if (n == 8 && memcmp(s, "storable", 8) == 0)
		return 0; /* Perl's own format: silently not offered (§9) */
	if (f == COD_NONE)
		return warn(cfg,
		            "framing_format: '%.*s' is not supported by aemp; "
		            "ignored (%s)",
		            (int)AEMP_MIN(n, 60), s,
		            origin_of(x->e, "framing_format"));
	for (i = 0; i < cfg->nframings; i++)
		if (cfg->framings[i] == f)
			return 0;
	cfg->framings[cfg->nframings++] = f;
	return 0;
}

struct auth_ctx {
	struct eng_config *cfg;
	const struct conf_eff *e;
	const char *key;
	char **list;
	size_t *n;
};

static int
auth_add(const char *s, size_t n, void *arg)
{
	struct auth_ctx *x = arg;
	size_t i;

	AEMP_ASSERT(*x->n < ENG_MAX_AUTH); /* checked on resolve */
	if ((x->list[*x->n] = xstrndup(s, n)) == NULL)
		return -ENOMEM;
	(*x->n)++;
	for (i = 0; i < AEMP_ARRAY_LEN(known_auth); i++)
		if (strlen(known_auth[i]) == n &&
		    memcmp(known_auth[i], s, n) == 0)
			return 0;
	return warn(x->cfg, "%s: unknown authentication method '%.*s' (%s)",
	            x->key, (int)AEMP_MIN(n, 60), s, origin_of(x->e, x->key));
}

static int
build_lists(struct eng_config *cfg, const struct conf_eff *e)
{
	struct framing_ctx f = {cfg, e};
	struct auth_ctx o = {cfg, e, "auth_offer", cfg->auth_offer,
	                     &cfg->nauth_offer};
	struct auth_ctx a = {cfg, e, "auth_accept", cfg->auth_accept,
	                     &cfg->nauth_accept};
	int rc;

	if ((rc = eng_conf_each(must(e, "framing_format"), framing_add, &f)) <
	            0 ||
	    (rc = eng_conf_each(must(e, "auth_offer"), auth_add, &o)) < 0 ||
	    (rc = eng_conf_each(must(e, "auth_accept"), auth_add, &a)) < 0)
		return rc;
	AEMP_ASSERT(cfg->nframings > 0); /* checked on resolve */
	return 0;
}

static int64_t
int_of(const struct conf_eff *e, const char *key)
{
	int64_t i = 0;
	int rc = aemp_get_int(must(e, key), &i);

	AEMP_ASSERT(rc == 0); /* validated on resolve */
	return i;
}

static double
secs_of(const struct conf_eff *e, const char *key)
{
	double d = 0;
	int rc = aemp_get_float(must(e, key), &d);

	AEMP_ASSERT(rc == 0); /* validated on resolve */
	return d;
}

static void
build_scalars(struct eng_config *cfg, const struct conf_eff *e)
{
	const aemp_val *v;

	cfg->secure = aemp_truthy(must(e, "secure"));
	cfg->autocork = aemp_truthy(must(e, "autocork"));
	cfg->nodelay = aemp_truthy(must(e, "nodelay"));
	cfg->monitor_timeout = secs_of(e, "monitor_timeout");
	cfg->connect_interval = secs_of(e, "connect_interval");
	cfg->shards = (int)int_of(e, "shards");
	cfg->max_packet = (size_t)int_of(e, "max_packet");
	cfg->max_queue = (size_t)int_of(e, "max_queue");
	cfg->fragment_size = (size_t)int_of(e, "fragment_size");
	cfg->socket_buffer = (size_t)int_of(e, "socket_buffer");
	cfg->max_handshakes = (int)int_of(e, "max_handshakes");
	cfg->max_handshakes_per_addr =
	        (int)int_of(e, "max_handshakes_per_addr");
	cfg->first_byte_timeout = secs_of(e, "first_byte_timeout");
	cfg->greeting_timeout = secs_of(e, "greeting_timeout");
	cfg->handshake_timeout = 2 * cfg->monitor_timeout;
	v = eng_rcv_map_get(e->map, "handshake_timeout");
	if (v != NULL && v->type != AEMP_NULL)
		cfg->handshake_timeout = secs_of(e, "handshake_timeout");
	cfg->node_gc_delay = secs_of(e, "node_gc_delay");
	cfg->max_thread_queue = (size_t)int_of(e, "max_thread_queue");
	cfg->log_level = (int)int_of(e, "log_level");
	cfg->busy_poll_us = (uint32_t)int_of(e, "busy_poll_us");
	cfg->metrics_sample = (uint32_t)int_of(e, "metrics_sample");
}

static int
cpu_add(const char *s, size_t n, void *arg)
{
	struct eng_config *cfg = arg;
	int rc;

	AEMP_ASSERT(cfg->ncpus < ENG_MAX_CPUS); /* checked on resolve */
	rc = eng_conf_cpu(s, n, &cfg->cpus[cfg->ncpus]);
	AEMP_ASSERT(rc == 0);
	cfg->ncpus++;
	return 0;
}

static int
exempt_add(const char *s, size_t n, void *arg)
{
	struct eng_config *cfg = arg;

	/* count and syntax were checked on resolve */
	AEMP_ASSERT(cfg->nper_addr_exempt < ENG_MAX_EXEMPT);
	return eng_prefix_parse(s, n,
	                        &cfg->per_addr_exempt[cfg->nper_addr_exempt++]);
}

/* eval and unknown keys: kept in the file and in showconfig, unused. */
static int
warn_unused(struct eng_config *cfg, const struct conf_eff *e)
{
	const aemp_val *v = eng_rcv_map_get(e->map, "eval");
	size_t i;
	int rc;

	if (v != NULL && v->type != AEMP_NULL &&
	    (rc = warn(cfg,
	               "eval: aemp nodes do not run Perl code; ignored (%s)",
	               origin_of(e, "eval"))) < 0)
		return rc;
	for (i = 0; i < e->map->len; i++) {
		const char *key = e->map->u.a[2 * i].u.s;

		if (eng_conf_key(key) != NULL)
			continue;
		rc = warn(cfg, "unknown configuration key '%s' ignored (%s)",
		          key, origin_of(e, key));
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* metrics: "IP:PORT" or "[IPv6]:PORT", numeric; absent or "" = off. */
static int
build_metrics(struct eng_config *cfg, const struct conf_eff *e)
{
	struct eng_addr a;
	size_t n;
	int rc;

	if ((rc = opt_text(e, "metrics", &cfg->metrics, &n)) < 0 ||
	    cfg->metrics == NULL)
		return rc;
	if (eng_addr_parse_numeric(cfg->metrics, n, &a) < 0)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "metrics: expected IP:PORT or [IPv6]:PORT "
		                    "(numeric, port 0 = any free port), "
		                    "got \"%.*s\" (%s)",
		                    (int)AEMP_MIN(n, 80), cfg->metrics,
		                    origin_of(e, "metrics"));
	return 0;
}

static int
build(struct eng_config *cfg, const struct conf_eff *e)
{
	int rc;

	AEMP_ASSERT(e->nodeid.len < sizeof(cfg->nodeid));
	memcpy(cfg->nodeid, e->nodeid.u.s, e->nodeid.len + 1);
	cfg->nodeid_random = e->nodeid_random;
	if ((cfg->profile = xstrndup(e->profile.u.s, e->profile.len)) == NULL)
		return -ENOMEM;
	build_scalars(cfg, e);
	(void)eng_conf_each(must(e, "cpus"), cpu_add, cfg);
	if ((rc = opt_text(e, "secret", &cfg->secret, &cfg->secret_len)) < 0 ||
	    (rc = opt_text(e, "cert", &cfg->cert, &cfg->cert_len)) < 0 ||
	    (rc = build_specs(e, "binds", &cfg->binds, &cfg->nbinds)) < 0 ||
	    (rc = build_specs(e, "seeds", &cfg->seeds, &cfg->nseeds)) < 0 ||
	    (rc = build_specs(e, "modules", &cfg->modules, &cfg->nmodules)) <
	            0 ||
	    (rc = build_specs(e, "module_path", &cfg->module_path,
	                      &cfg->nmodule_path)) < 0 ||
	    (rc = build_services(cfg, e)) < 0 ||
	    (rc = build_lists(cfg, e)) < 0 ||
	    (rc = eng_conf_each(must(e, "per_addr_exempt"), exempt_add, cfg)) <
	            0 ||
	    (rc = warn_seeds(cfg, e)) < 0 || (rc = build_metrics(cfg, e)) < 0)
		return rc;
	return warn_unused(cfg, e);
}

int
eng_config_build(const aemp_conf *c, struct eng_config *out)
{
	struct conf_eff tmp;
	const struct conf_eff *e = &c->eff;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!c->resolved) {
		if ((rc = eng_conf_resolve_into(c, NULL, &tmp)) < 0)
			return rc;
		e = &tmp;
	}
	rc = build(out, e);
	if (e == &tmp)
		eng_conf_eff_fini(&tmp);
	if (rc < 0)
		eng_config_fini(out);
	return rc;
}

static void
strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		ring_free(v[i], 0);
	ring_free(v, 0);
}

void
eng_config_fini(struct eng_config *cfg)
{
	size_t i;

	ring_free(cfg->profile, 0);
	ring_free(cfg->secret, 0);
	ring_free(cfg->cert, 0);
	ring_free(cfg->metrics, 0);
	strv_free(cfg->binds);
	strv_free(cfg->seeds);
	strv_free(cfg->modules);
	strv_free(cfg->module_path);
	strv_free(cfg->warnings);
	eng_rcv_free(cfg->services);
	for (i = 0; i < cfg->nauth_offer; i++)
		ring_free(cfg->auth_offer[i], 0);
	for (i = 0; i < cfg->nauth_accept; i++)
		ring_free(cfg->auth_accept[i], 0);
	memset(cfg, 0, sizeof(*cfg));
}
