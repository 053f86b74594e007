/*
 * cli/val.c - command-line arguments as values: how a string given for a
 * configuration key becomes the value stored or passed (lists split at
 * commas, numbers, booleans), list building, and C strings of values.
 *
 * Threads: single-threaded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* How a command-line string becomes the stored value of a key. */
enum conv { CONV_STR, CONV_LIST, CONV_NUM, CONV_BOOL };

static const struct {
	const char *key;
	enum conv conv;
} conv_of_key[] = {
        {"seeds", CONV_LIST},           {"binds", CONV_LIST},
        {"services", CONV_LIST},        {"framing_format", CONV_LIST},
        {"auth_offer", CONV_LIST},      {"auth_accept", CONV_LIST},
        {"monitor_timeout", CONV_NUM},  {"connect_interval", CONV_NUM},
        {"shards", CONV_NUM},           {"max_packet", CONV_NUM},
        {"max_queue", CONV_NUM},        {"max_handshakes", CONV_NUM},
        {"log_level", CONV_NUM},        {"secure", CONV_BOOL},
        {"node_gc_delay", CONV_NUM},    {"autocork", CONV_BOOL},
        {"max_thread_queue", CONV_NUM}, {"nodelay", CONV_BOOL},
        {"busy_poll_us", CONV_NUM},     {"cpus", CONV_LIST},
        {"fragment_size", CONV_NUM},    {"modules", CONV_LIST},
        {"module_path", CONV_LIST},     {"socket_buffer", CONV_NUM},
};

/* Handshake bounds (docs/config.md "Handshakes under attack"). */
static const char *const num_keys_hs[] = {
        "max_handshakes_per_addr", "first_byte_timeout", "greeting_timeout",
        "handshake_timeout"};

static enum conv
conv_of(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(conv_of_key) / sizeof(conv_of_key[0]); i++)
		if (strcmp(conv_of_key[i].key, key) == 0)
			return conv_of_key[i].conv;
	for (i = 0; i < sizeof(num_keys_hs) / sizeof(num_keys_hs[0]); i++)
		if (strcmp(num_keys_hs[i], key) == 0)
			return CONV_NUM;
	return strcmp(key, "per_addr_exempt") == 0 ? CONV_LIST : CONV_STR;
}

int
cli_list_add(struct cli_list *l, aemp_val v)
{
	aemp_val *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return cli_fail(CLI_EFAIL, "out of memory");
	l->v = nv;
	l->v[l->n++] = v;
	return CLI_OK;
}

int
cli_list_items(struct cli_list *l, const aemp_val *v)
{
	const char *s, *end, *comma;
	size_t i;
	int st = CLI_OK;

	if (v != NULL && v->type == AEMP_ARRAY)
		for (i = 0; i < v->len && st == CLI_OK; i++)
			st = cli_list_add(l, v->u.a[i]);
	if (v == NULL || v->type != AEMP_STR)
		return st;
	for (s = v->u.s, end = s + v->len; s < end && st == CLI_OK;
	     s = comma + 1) {
		comma = memchr(s, ',', (size_t)(end - s));
		comma = comma ? comma : end;
		if (comma > s)
			st = cli_list_add(l, aemp_strn(s, (size_t)(comma - s)));
	}
	return st;
}

/* "10" -> 10, "2.5" -> 2.5; anything else stays a string (and fails
 * validation with a message that shows it). */
static aemp_val
to_number(const aemp_val *a)
{
	char buf[64], *end;
	long long ll;
	double d;

	if (a->type != AEMP_STR || a->len == 0 || a->len >= sizeof(buf))
		return *a;
	memcpy(buf, a->u.s, a->len);
	buf[a->len] = '\0';
	errno = 0;
	ll = strtoll(buf, &end, 10);
	if (*end == '\0' && errno == 0)
		return aemp_int(ll);
	d = strtod(buf, &end);
	return *end == '\0' ? aemp_float(d) : *a;
}

static int
to_bool(const struct cli_cmd *cmd, const aemp_val *a, aemp_val *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off", ""};
	size_t i;

	if (a->type != AEMP_STR) {
		*out = aemp_bool(aemp_truthy(a));
		return CLI_OK;
	}
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (aemp_str_eq(a, yes[i])) {
			*out = aemp_bool(1);
			return CLI_OK;
		}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (aemp_str_eq(a, no[i])) {
			*out = aemp_bool(0);
			return CLI_OK;
		}
	return cli_fail(CLI_EFAIL, "%s: expected true or false, got '%.*s'",
	                cmd->name, (int)(a->len > 60 ? 60 : a->len), a->u.s);
}

int
cli_conf_value(const struct cli_cmd *cmd, const char *key, const aemp_val *arg,
               aemp_val *out, aemp_val **tofree)
{
	struct cli_list l = {NULL, 0};
	int st;

	*out = *arg;
	*tofree = NULL;
	switch (conv_of(key)) {
	case CONV_LIST:
		if (arg->type != AEMP_STR)
			return CLI_OK;
		if ((st = cli_list_items(&l, arg)) != CLI_OK) {
			free(l.v);
			return st;
		}
		*out = aemp_array(l.v, l.n);
		*tofree = l.v;
		return CLI_OK;
	case CONV_NUM:
		*out = to_number(arg);
		return CLI_OK;
	case CONV_BOOL:
		return to_bool(cmd, arg, out);
	case CONV_STR:
		break;
	}
	return CLI_OK;
}

char *
cli_cstr(const aemp_val *v)
{
	char *s;

	if (v == NULL || v->type != AEMP_STR ||
	    (v->len > 0 && memchr(v->u.s, '\0', v->len) != NULL) ||
	    (s = malloc((size_t)v->len + 1)) == NULL)
		return NULL;
	if (v->len > 0)
		memcpy(s, v->u.s, v->len);
	s[v->len] = '\0';
	return s;
}
