/*
 * engine/conf/rcjson.c - the relaxed JSON reader and the pretty writer of the
 * configuration file (engine/conf/rcfile.h).
 *
 * The reader is a recursive descent parser over (p, end) that builds an
 * owned tree; recursion depth is bounded by AEMP_MAX_DEPTH.  It is
 * separate from codec/ because simdjson has no relaxed mode (comments,
 * trailing commas) and configuration needs line/column error messages.
 * Containers are grown by doubling; on any error everything built so far
 * is freed and *out is left untouched.
 *
 * Threads: reentrant, no shared state.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/conf/rcfile.h"
#include "ring/alloc.h"
#include "ring/base.h"

struct rjp {
	const char *start;
	const char *p;
	const char *end;
	int relaxed;
	int depth;
	char *err;
	size_t errcap;
};

/* Record "line L, column C: reason" for the current position. */
static int
rjp_fail(struct rjp *r, int code, const char *why)
{
	size_t line = 1, col = 1;
	const char *q;

	for (q = r->start; q < r->p && q < r->end; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	if (r->errcap > 0)
		snprintf(r->err, r->errcap, "line %zu, column %zu: %s", line,
		         col, why);
	return code;
}

static void
rjp_skip_ws(struct rjp *r)
{
	while (r->p < r->end) {
		char c = *r->p;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			r->p++;
		} else if (c == '#' && r->relaxed) {
			while (r->p < r->end && *r->p != '\n')
				r->p++;
		} else {
			break;
		}
	}
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

int
eng_rcv_utf8_ok(const aemp_val *v)
{
	const unsigned char *s;
	size_t i, k;

	switch (v->type) {
	case AEMP_STR:
		s = (const unsigned char *)v->u.s;
		for (i = 0; i < v->len; i += k)
			if ((k = utf8_len(s + i, v->len - i)) == 0)
				return 0;
		return 1;
	case AEMP_ARRAY:
		for (i = 0; i < v->len; i++)
			if (!eng_rcv_utf8_ok(&v->u.a[i]))
				return 0;
		return 1;
	case AEMP_MAP:
		for (i = 0; i < 2 * (size_t)v->len; i++)
			if (!eng_rcv_utf8_ok(&v->u.a[i]))
				return 0;
		return 1;
	default:
		return 1;
	}
}

static int
hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t
utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decode the \uXXXX escape (surrogate pairs included) at r->p, which
 * points at the 'u'.  Writes UTF-8 to o and returns its length, or < 0. */
static int
rjp_uescape(struct rjp *r, char *o)
{
	uint32_t hi, lo;

	if (r->end - r->p < 5 || hex4(r->p + 1, &hi) < 0)
		return rjp_fail(r, AEMP_EMALFORMED, "bad \\u escape");
	r->p += 5;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return rjp_fail(r, AEMP_EMALFORMED, "lone low surrogate");
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
		    hex4(r->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
			return rjp_fail(r, AEMP_EMALFORMED,
			                "missing low surrogate");
		r->p += 6;
		hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	}
	return (int)utf8_put(o, hi);
}

/* One escape sequence at r->p (just after the backslash) into o. */
static int
rjp_escape(struct rjp *r, char *o)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	const char *hit;

	if (r->p >= r->end)
		return rjp_fail(r, AEMP_EMALFORMED, "unterminated string");
	if (*r->p == 'u')
		return rjp_uescape(r, o);
	hit = memchr(from, *r->p, sizeof(from) - 1);
	if (hit == NULL)
		return rjp_fail(r, AEMP_EMALFORMED, "bad escape sequence");
	*o = to[hit - from];
	r->p++;
	return 1;
}

/* The decoded string is never longer than its source text, so one
 * allocation of the source span suffices. */
static size_t
rjp_string_span(const struct rjp *r)
{
	const char *q = r->p + 1;

	while (q < r->end && *q != '"')
		q += (*q == '\\') ? 2 : 1;
	return (size_t)(q - r->p);
}

static int
rjp_string(struct rjp *r, aemp_val *out)
{
	char *buf, *o;
	size_t k;
	int rc;

	if ((buf = ring_alloc(rjp_string_span(r) + 1)) == NULL)
		return -ENOMEM;
	o = buf;
	r->p++; /* opening quote */
	for (;;) {
		unsigned char c;

		if (r->p >= r->end) {
			rc = rjp_fail(r, AEMP_EMALFORMED,
			              "unterminated string");
			goto fail;
		}
		c = (unsigned char)*r->p;
		if (c == '"')
			break;
		if (c == '\\') {
			r->p++;
			if ((rc = rjp_escape(r, o)) < 0)
				goto fail;
			o += rc;
			continue;
		}
		if (c < 0x20 && !(c == '\t' && r->relaxed)) {
			rc = rjp_fail(r, AEMP_EMALFORMED,
			              "control character in string");
			goto fail;
		}
		k = utf8_len((const unsigned char *)r->p,
		             (size_t)(r->end - r->p));
		if (k == 0) {
			rc = rjp_fail(r, AEMP_EMALFORMED,
			              "malformed UTF-8 in string");
			goto fail;
		}
		memcpy(o, r->p, k);
		o += k;
		r->p += k;
	}
	r->p++; /* closing quote */
	*o = '\0';
	*out = aemp_strn(buf, (size_t)(o - buf));
	return 0;
fail:
	ring_free(buf, 0);
	return rc;
}

static int
rjp_digits(struct rjp *r)
{
	const char *s = r->p;

	while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
		r->p++;
	return r->p > s;
}

static int
rjp_number(struct rjp *r, aemp_val *out)
{
	const char *s = r->p;
	char tmp[512];
	int is_float = 0;
	long long ll;
	double d;

	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p < r->end && *r->p == '0')
		r->p++;
	else if (!rjp_digits(r))
		return rjp_fail(r, AEMP_EMALFORMED, "malformed number");
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		is_float = 1;
		if (!rjp_digits(r))
			return rjp_fail(r, AEMP_EMALFORMED, "malformed number");
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		is_float = 1;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (!rjp_digits(r))
			return rjp_fail(r, AEMP_EMALFORMED, "malformed number");
	}
	if ((size_t)(r->p - s) >= sizeof(tmp))
		return rjp_fail(r, AEMP_EMALFORMED, "number too long");
	memcpy(tmp, s, (size_t)(r->p - s));
	tmp[r->p - s] = '\0';
	if (!is_float) {
		errno = 0;
		ll = strtoll(tmp, NULL, 10);
		if (errno == 0) {
			*out = aemp_int(ll);
			return 0;
		}
	}
	d = strtod(tmp, NULL);
	if (!isfinite(d))
		return rjp_fail(r, AEMP_EMALFORMED, "number out of range");
	*out = aemp_float(d);
	return 0;
}

static int
rjp_word(struct rjp *r, const char *w, aemp_val v, aemp_val *out)
{
	size_t n = strlen(w);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0)
		return rjp_fail(r, AEMP_EMALFORMED, "unexpected character");
	r->p += n;
	*out = v;
	return 0;
}

static int rjp_value(struct rjp *r, aemp_val *out);

/* Grow *vals (element count *cap) so that `need` elements fit. */
static int
grow(aemp_val **vals, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap * 2 : 8;
	aemp_val *nv;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if ((nv = ring_realloc(*vals, ncap * sizeof(*nv))) == NULL)
		return -ENOMEM;
	*vals = nv;
	*cap = ncap;
	return 0;
}

static void
free_vals(aemp_val *vals, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		eng_rcv_fini(&vals[i]);
	ring_free(vals, 0);
}

/* After an element: ',' (maybe trailing) or the closing bracket.
 * Returns 1 when the container is closed, 0 for another element. */
static int
rjp_after_elem(struct rjp *r, char close, const char *what)
{
	char msg[64];

	rjp_skip_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return 1;
	}
	if (r->p >= r->end || *r->p != ',') {
		snprintf(msg, sizeof(msg), "expected ',' or '%c' after %s",
		         close, what);
		return rjp_fail(r, AEMP_EMALFORMED, msg);
	}
	r->p++;
	rjp_skip_ws(r);
	if (r->p < r->end && *r->p == close) {
		if (!r->relaxed)
			return rjp_fail(r, AEMP_EMALFORMED, "trailing comma");
		r->p++;
		return 1;
	}
	return 0;
}

static int
rjp_array(struct rjp *r, aemp_val *out)
{
	aemp_val *vals = NULL;
	size_t n = 0, cap = 0;
	int rc;

	r->p++;
	rjp_skip_ws(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		*out = aemp_array(NULL, 0);
		return 0;
	}
	for (;;) {
		if ((rc = grow(&vals, &cap, n + 1)) < 0)
			goto fail;
		if ((rc = rjp_value(r, &vals[n])) < 0)
			goto fail;
		n++;
		if ((rc = rjp_after_elem(r, ']', "array element")) < 0)
			goto fail;
		if (rc == 1)
			break;
	}
	*out = aemp_array(vals, n);
	return 0;
fail:
	free_vals(vals, n);
	return rc;
}

static int
rjp_member(struct rjp *r, aemp_val *kv)
{
	int rc;

	rjp_skip_ws(r);
	if (r->p >= r->end || *r->p != '"')
		return rjp_fail(r, AEMP_EMALFORMED,
		                "expected a string as object key");
	if ((rc = rjp_string(r, &kv[0])) < 0)
		return rc;
	rjp_skip_ws(r);
	if (r->p >= r->end || *r->p != ':') {
		rc = rjp_fail(r, AEMP_EMALFORMED,
		              "expected ':' after object key");
		eng_rcv_fini(&kv[0]);
		return rc;
	}
	r->p++;
	if ((rc = rjp_value(r, &kv[1])) < 0)
		eng_rcv_fini(&kv[0]);
	return rc;
}

static int
rjp_object(struct rjp *r, aemp_val *out)
{
	aemp_val *kv = NULL;
	size_t n = 0, cap = 0;
	int rc;

	r->p++;
	rjp_skip_ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		*out = aemp_map(NULL, 0);
		return 0;
	}
	for (;;) {
		if ((rc = grow(&kv, &cap, 2 * n + 2)) < 0)
			goto fail;
		if ((rc = rjp_member(r, &kv[2 * n])) < 0)
			goto fail;
		n++;
		if ((rc = rjp_after_elem(r, '}', "object member")) < 0)
			goto fail;
		if (rc == 1)
			break;
	}
	if ((rc = eng_rcv_dedup(kv, &n)) < 0)
		goto fail;
	*out = aemp_map(kv, n);
	return 0;
fail:
	free_vals(kv, 2 * n);
	return rc;
}

static int
rjp_value(struct rjp *r, aemp_val *out)
{
	int rc;

	rjp_skip_ws(r);
	if (r->p >= r->end)
		return rjp_fail(r, AEMP_EMALFORMED,
		                "unexpected end of input, expected a value");
	switch (*r->p) {
	case '{':
	case '[':
		if (r->depth >= AEMP_MAX_DEPTH)
			return rjp_fail(r, AEMP_EDEPTH,
			                "nesting deeper than 512 levels");
		r->depth++;
		rc = *r->p == '{' ? rjp_object(r, out) : rjp_array(r, out);
		r->depth--;
		return rc;
	case '"':
		return rjp_string(r, out);
	case 't':
		return rjp_word(r, "true", aemp_bool(1), out);
	case 'f':
		return rjp_word(r, "false", aemp_bool(0), out);
	case 'n':
		return rjp_word(r, "null", aemp_null(), out);
	default:
		if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
			return rjp_number(r, out);
		return rjp_fail(r, AEMP_EMALFORMED, "unexpected character");
	}
}

int
eng_rcv_blank(const char *text, size_t len)
{
	struct rjp r = {text, text, text + len, 1, 0, NULL, 0};

	rjp_skip_ws(&r);
	return r.p == r.end;
}

int
eng_rcv_parse(const char *text, size_t len, int flags, aemp_val **out,
              char *err, size_t errcap)
{
	struct rjp r = {text, text, text + len, !!(flags & ENG_RCV_RELAXED),
	                0,    err,  errcap};
	aemp_val v, *box;
	int rc;

	if (errcap > 0)
		err[0] = '\0';
	if ((rc = rjp_value(&r, &v)) < 0)
		return rc;
	rjp_skip_ws(&r);
	if (r.p != r.end) {
		eng_rcv_fini(&v);
		return rjp_fail(&r, AEMP_EMALFORMED,
		                "garbage after the JSON value");
	}
	if ((box = ring_alloc(sizeof(*box))) == NULL) {
		eng_rcv_fini(&v);
		return -ENOMEM;
	}
	*box = v;
	*out = box;
	return 0;
}

/* ---- pretty writer ------------------------------------------------------ */

struct pw {
	char *b;
	size_t len;
	size_t cap;
	int err;
};

static void
pw_put(struct pw *w, const char *s, size_t n)
{
	size_t ncap;
	char *nb;

	if (w->err)
		return;
	if (w->len + n + 1 > w->cap) {
		ncap = w->cap ? w->cap : 256;
		while (ncap < w->len + n + 1)
			ncap *= 2;
		if ((nb = ring_realloc(w->b, ncap)) == NULL) {
			w->err = -ENOMEM;
			return;
		}
		w->b = nb;
		w->cap = ncap;
	}
	memcpy(w->b + w->len, s, n);
	w->len += n;
	w->b[w->len] = '\0';
}

static void
pw_puts(struct pw *w, const char *s)
{
	pw_put(w, s, strlen(s));
}

static void
pw_indent(struct pw *w, int level)
{
	static const char sp[] = "                                ";
	size_t n = (size_t)level * 3;

	while (n > 0) {
		size_t k = AEMP_MIN(n, sizeof(sp) - 1);

		pw_put(w, sp, k);
		n -= k;
	}
}

/* JSON string with the escapes JSON::XS uses; invalid UTF-8 -> U+FFFD. */
static void
pw_string(struct pw *w, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run, k;
	char esc[8];

	pw_put(w, "\"", 1);
	while (i < n) {
		for (run = i; run < n && u[run] >= 0x20 && u[run] < 0x80 &&
		              u[run] != '"' && u[run] != '\\';
		     run++)
			;
		pw_put(w, s + i, run - i);
		if ((i = run) >= n)
			break;
		if (u[i] >= 0x80) {
			k = utf8_len(u + i, n - i);
			pw_put(w, k ? s + i : "\xef\xbf\xbd", k ? k : 3);
			i += k ? k : 1;
			continue;
		}
		switch (u[i]) {
		case '"':
			pw_puts(w, "\\\"");
			break;
		case '\\':
			pw_puts(w, "\\\\");
			break;
		case '\b':
			pw_puts(w, "\\b");
			break;
		case '\f':
			pw_puts(w, "\\f");
			break;
		case '\n':
			pw_puts(w, "\\n");
			break;
		case '\r':
			pw_puts(w, "\\r");
			break;
		case '\t':
			pw_puts(w, "\\t");
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
			pw_puts(w, esc);
			break;
		}
		i++;
	}
	pw_put(w, "\"", 1);
}

/* Shortest text that reads back as the same double; ".0" keeps it a
 * float when read again. */
static void
pw_float(struct pw *w, double f)
{
	char buf[40];
	int prec;

	if (!isfinite(f)) {
		pw_puts(w, "null");
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, f);
		if (strtod(buf, NULL) == f)
			break;
	}
	if (strpbrk(buf, ".eE") == NULL)
		strcat(buf, ".0");
	pw_puts(w, buf);
}

static int pw_value(struct pw *w, const aemp_val *v, int level);

static int
pw_container(struct pw *w, const aemp_val *v, int level)
{
	int is_map = v->type == AEMP_MAP;
	size_t i, step = is_map ? 2 : 1;
	int rc;

	if (level >= AEMP_MAX_DEPTH)
		return AEMP_EDEPTH;
	if (v->len == 0) {
		pw_puts(w, is_map ? "{}" : "[]");
		return 0;
	}
	pw_puts(w, is_map ? "{\n" : "[\n");
	for (i = 0; i < step * v->len; i += step) {
		pw_indent(w, level + 1);
		if (is_map) {
			if (v->u.a[i].type != AEMP_STR)
				return AEMP_EMALFORMED;
			pw_string(w, v->u.a[i].u.s, v->u.a[i].len);
			pw_puts(w, " : ");
		}
		if ((rc = pw_value(w, &v->u.a[i + step - 1], level + 1)) < 0)
			return rc;
		pw_puts(w, i + step < step * v->len ? ",\n" : "\n");
	}
	pw_indent(w, level);
	pw_puts(w, is_map ? "}" : "]");
	return 0;
}

static int
pw_value(struct pw *w, const aemp_val *v, int level)
{
	char buf[32];

	switch (v->type) {
	case AEMP_NULL:
		pw_puts(w, "null");
		return 0;
	case AEMP_BOOL:
		pw_puts(w, v->u.i ? "true" : "false");
		return 0;
	case AEMP_INT:
		snprintf(buf, sizeof(buf), "%lld", (long long)v->u.i);
		pw_puts(w, buf);
		return 0;
	case AEMP_UINT:
		if (v->flags & AEMP_VF_NEG && v->u.u == UINT64_MAX)
			snprintf(buf, sizeof(buf), "-18446744073709551616");
		else if (v->flags & AEMP_VF_NEG)
			snprintf(buf, sizeof(buf), "-%llu",
			         (unsigned long long)v->u.u + 1);
		else
			snprintf(buf, sizeof(buf), "%llu",
			         (unsigned long long)v->u.u);
		pw_puts(w, buf);
		return 0;
	case AEMP_FLOAT:
		pw_float(w, v->u.f);
		return 0;
	case AEMP_STR:
		pw_string(w, v->u.s, v->len);
		return 0;
	case AEMP_ARRAY:
	case AEMP_MAP:
		return pw_container(w, v, level);
	default:
		return AEMP_EMALFORMED;
	}
}

int
eng_rcv_pretty(const aemp_val *v, char **out, size_t *len)
{
	struct pw w = {NULL, 0, 0, 0};
	int rc;

	rc = pw_value(&w, v, 0);
	pw_put(&w, "\n", 1);
	if (rc == 0)
		rc = w.err;
	if (rc < 0) {
		ring_free(w.b, 0);
		return rc;
	}
	*out = w.b;
	*len = w.len;
	return 0;
}
