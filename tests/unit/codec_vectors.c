/*
 * tests/unit/codec_vectors.c - every JSON and CBOR packet recorded from
 * real AnyEvent::MP 2.02 nodes (the .txt files of tests/vectors, format in
 * tests/vectors/README.md) decodes to the value shown, and re-encodes to
 * bytes a Perl node accepts: for JSON the very same bytes; for CBOR the
 * same bytes too, because byte strings (b"...") keep AEMP_VF_BYTES, and a
 * value equal to the one shown when re-encoded from text strings.
 */
#include <dirent.h>
#include <stdlib.h>

#include "codec/codec.h"
#include "ring/base.h"
#include "tests/tap.h"
#include "tests/unit/codec_util.h"

/* ---- the transcript's notation of CBOR values: JSON plus b"..." -------- */

struct arena {
	aemp_val v[4096];
	size_t nv;
	char s[1 << 16];
	size_t ns;
};

static int note_value(struct arena *a, const char **p, aemp_val *out);

static void
note_ws(const char **p)
{
	while (**p == ' ')
		(*p)++;
}

static int
note_string(struct arena *a, const char **p, aemp_val *out)
{
	int bytes = **p == 'b';
	char *start = a->s + a->ns;
	unsigned x;

	*p += bytes + 1;
	while (**p != '"') {
		if (**p == '\0' || a->ns + 1 >= sizeof(a->s))
			return -1;
		if (**p == '\\' && (*p)[1] == 'x' &&
		    sscanf(*p + 2, "%2x", &x) == 1) {
			a->s[a->ns++] = (char)x;
			*p += 4;
			continue;
		}
		if (**p == '\\')
			(*p)++;
		a->s[a->ns++] = *(*p)++;
	}
	(*p)++;
	*out = aemp_strn(start, (size_t)(a->s + a->ns - start));
	out->flags = bytes ? AEMP_VF_BYTES : 0;
	return 0;
}

static int
note_number(const char **p, aemp_val *out)
{
	char *end;
	size_t n = strspn(*p, "-+0123456789.eE");

	if (n == 0)
		return -1;
	if (strcspn(*p, ".eE") < n)
		*out = aemp_float(strtod(*p, &end));
	else
		*out = aemp_int(strtoll(*p, &end, 10));
	*p += n;
	return 0;
}

static int
note_list(struct arena *a, const char **p, aemp_val *out)
{
	int map = **p == '{';
	char close = map ? '}' : ']';
	aemp_val kids[256];
	size_t n = 0;

	(*p)++;
	note_ws(p);
	while (**p != close) {
		if (n + 2 > AEMP_ARRAY_LEN(kids) ||
		    note_value(a, p, &kids[n++]) < 0)
			return -1;
		note_ws(p);
		if (map) {
			if (*(*p)++ != ':' || note_value(a, p, &kids[n++]) < 0)
				return -1;
			note_ws(p);
		}
		if (**p == ',')
			(*p)++;
		else if (**p != close)
			return -1;
		note_ws(p);
	}
	(*p)++;
	if (a->nv + n > AEMP_ARRAY_LEN(a->v))
		return -1;
	memcpy(&a->v[a->nv], kids, n * sizeof(aemp_val));
	*out = map ? aemp_map(&a->v[a->nv], n / 2)
	           : aemp_array(&a->v[a->nv], n);
	a->nv += n;
	return 0;
}

static int
note_value(struct arena *a, const char **p, aemp_val *out)
{
	note_ws(p);
	if (**p == '[' || **p == '{')
		return note_list(a, p, out);
	if (**p == '"' || (**p == 'b' && (*p)[1] == '"'))
		return note_string(a, p, out);
	if (strncmp(*p, "null", 4) == 0) {
		*p += 4;
		*out = aemp_null();
		return 0;
	}
	if (strncmp(*p, "true", 4) == 0 || strncmp(*p, "false", 5) == 0) {
		*out = aemp_bool(**p == 't');
		*p += **p == 't' ? 4 : 5;
		return 0;
	}
	return note_number(p, out);
}

/* 1 if every string of a has the AEMP_VF_BYTES flag of b's. */
static int
same_flags(const aemp_val *a, const aemp_val *b)
{
	size_t i, n;

	if (a->type != b->type)
		return 0;
	if (a->type == AEMP_STR)
		return a->flags == b->flags;
	if (a->type != AEMP_ARRAY && a->type != AEMP_MAP)
		return 1;
	n = a->type == AEMP_MAP ? 2 * (size_t)a->len : a->len;
	for (i = 0; i < n; i++) {
		if (!same_flags(&a->u.a[i], &b->u.a[i]))
			return 0;
	}
	return 1;
}

static void
clear_flags(aemp_val *v)
{
	size_t i, n;

	v->flags = 0;
	if (v->type != AEMP_ARRAY && v->type != AEMP_MAP)
		return;
	n = v->type == AEMP_MAP ? 2 * (size_t)v->len : v->len;
	for (i = 0; i < n; i++)
		clear_flags((aemp_val *)&v->u.a[i]);
}

/* ---- checks per recorded packet ---------------------------------------- */

static struct cod_tape tape, tape2;
static int njson, ncbor;

/* v survives a trip through framing f (decoded into tape2). */
static int
trip(enum cod_framing f, const aemp_val *v)
{
	const aemp_val *w;
	ssize_t n;
	uint8_t *b = cu_encode(f, v, &n);
	int ok = b != NULL && cod_decode(f, &tape2, b, (size_t)n, &w) == 0 &&
	         aemp_val_eq(v, w);

	free(b);
	return ok;
}

static void
check_json(const char *where, const char *text)
{
	size_t n = strlen(text);
	uint8_t *in = cu_pad(text, n), *re = NULL;
	const aemp_val *v;
	ssize_t rn = -1;
	int dec;

	njson++;
	dec = cod_decode(COD_JSON, &tape, in, n, &v) == 0;
	if (dec)
		re = cu_encode(COD_JSON, v, &rn);
	if (!dec || rn != (ssize_t)n || memcmp(re, text, n) != 0)
		DIAG("%s: %s", where, text);
	CHECK(dec);
	CHECK(re != NULL && rn == (ssize_t)n && memcmp(re, text, n) == 0);
	CHECK(dec && trip(COD_CBOR, v));
	free(re);
	free(in);
}

static void
check_cbor(const char *where, const char *note, const char *hex)
{
	static struct arena a;
	const char *p = note;
	aemp_val shown, *text;
	const aemp_val *v;
	uint8_t *in, *re;
	size_t n;
	ssize_t rn;

	ncbor++;
	a.nv = a.ns = 0;
	in = cu_unhex(hex, &n);
	CHECK(note_value(&a, &p, &shown) == 0 && *p == '\0');
	if (cod_decode(COD_CBOR, &tape, in, n, &v) != 0) {
		DIAG("%s: cannot decode %s", where, hex);
		CHECK(0);
		free(in);
		return;
	}
	CHECK(aemp_val_eq(v, &shown) && same_flags(v, &shown));
	re = cu_encode(COD_CBOR, v, &rn);
	CHECK_MEMEQ(re, (size_t)rn, in, n);
	free(re);
	re = cu_encode(COD_CBOR, &shown, &rn);
	CHECK_MEMEQ(re, (size_t)rn, in, n);
	free(re);
	text = aemp_val_dup(&shown); /* as text strings: same value */
	clear_flags(text);
	CHECK(trip(COD_CBOR, text) && aemp_val_eq(text, v));
	CHECK(trip(COD_JSON, v));
	aemp_val_free(text);
	free(in);
}

/* "...  msg 7   cbor  NOTE   hex=HEX" or "... msg 2   json  TEXT" */
static void
check_line(const char *file, int lineno, char *line)
{
	char where[256], framing[8], *hex;
	const char *m = strstr(line, " msg ");
	int msg, off = 0;

	if (m == NULL || sscanf(m, " msg %d %7s %n", &msg, framing, &off) < 2 ||
	    off == 0)
		return;
	line[strcspn(line, "\n")] = '\0';
	snprintf(where, sizeof(where), "%.200s:%d", file, lineno);
	if (strcmp(framing, "json") == 0) {
		check_json(where, m + off);
	} else if (strcmp(framing, "cbor") == 0) {
		hex = strstr(m + off, "   hex=");
		CHECK(hex != NULL);
		if (hex == NULL)
			return;
		*hex = '\0';
		check_cbor(where, m + off, hex + 7);
	}
}

static void
check_file(const char *dir, const char *name)
{
	char path[1024], *line = NULL;
	size_t cap = 0;
	int lineno = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL) {
		DIAG("cannot open %s", path);
		CHECK(0);
		return;
	}
	while (getline(&line, &cap, f) > 0)
		check_line(name, ++lineno, line);
	free(line);
	fclose(f);
}

int
main(void)
{
	const char *src = getenv("AEMP_SRC");
	char dir[512];
	struct dirent *e;
	DIR *d;
	size_t n;

	snprintf(dir, sizeof(dir), "%s/tests/vectors", src ? src : ".");
	if ((d = opendir(dir)) == NULL)
		TAP_SKIP_ALL("no %s", dir);
	cod_tape_init(&tape);
	cod_tape_init(&tape2);
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n > 4 && strcmp(e->d_name + n - 4, ".txt") == 0)
			check_file(dir, e->d_name);
	}
	closedir(d);
	DIAG("%d JSON and %d CBOR packets checked", njson, ncbor);
	CHECK(njson >= 130);
	CHECK(ncbor >= 60);
	cod_tape_fini(&tape);
	cod_tape_fini(&tape2);
	return tap_done();
}
