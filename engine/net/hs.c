/*
 * engine/net/hs.c - the AEMP handshake (aemp-protocol.md §2) as a state
 * machine without I/O; the contract is engine/net/hs.h.
 *
 * States and what is checked when (docs/wire.md "Handshake"):
 *   ST_R1    wait for the peer's line 1: protocol (upgrade to aemp-WORD),
 *            version == 1 numerically, node ID (non-empty, no '#', shorter
 *            than AEMP_ID_MAX, not ours) -> HS_PEER_ID
 *   ST_R2    wait for line 2: echo check, choose the auth method and the
 *            framing from the peer's lists, decide TLS, queue our auth
 *            line -> HS_TLS, or straight on to ST_AUTH
 *   ST_AUTH  wait for the peer's auth line: method, token (constant-time
 *            compare), framing -> HS_DONE
 *   ST_DONE / ST_FAILED  final; a failure repeats its code.
 *
 * Invariants: in[0..inlen) is unconsumed input and never exceeds
 * ENG_HS_BUF_MAX; in[0..scan) holds no LF; our lines and the peer's greeting
 * lines never contain LF (they are split on it, and ours are checked);
 * parsing walks (pointer, length) pairs and never relies on NUL bytes.
 * Error texts carry no secret and no token.
 *
 * Threads: one handshake is used by one thread at a time.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/net/hs.h"
#include "ring/base.h"

enum hs_state {
	ST_R1 = 0,
	ST_R2,
	ST_AUTH,
	ST_DONE,
	ST_FAILED,
};

/* internal result of a state: go on with the next state in this step */
#define HS_CONTINUE 100

static const char proto_aemp[] = "aemp";

_Static_assert(4 * ((ENG_HS_NONCE_BYTES + 2) / 3) + 1 <=
                       sizeof(((struct eng_hs *)0)->l2),
               "nonce line fits l2");
_Static_assert(ENG_HS_LINE_MAX <= ENG_HS_BUF_MAX, "a line fits the buffer");

/* ---- small helpers ------------------------------------------------------ */

/*
 * Framing names.  codec/ owns cod_framing_parse/name, but they are not in
 * the tree yet; these two lines are the whole of it (rule zero: remove
 * once codec/ provides them).
 */
static const char *
hs_framing_name(enum cod_framing f)
{
	return f == COD_JSON ? "json" : f == COD_CBOR ? "cbor" : NULL;
}

static enum cod_framing
hs_framing_parse(const char *s, size_t n)
{
	if (n == 4 && memcmp(s, "json", 4) == 0)
		return COD_JSON;
	if (n == 4 && memcmp(s, "cbor", 4) == 0)
		return COD_CBOR;
	return COD_NONE;
}

static int
hs_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static int hs_fail(struct eng_hs *hs, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int
hs_fail(struct eng_hs *hs, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(hs->err, sizeof(hs->err), fmt, ap);
	va_end(ap);
	hs->err_code = code;
	hs->state = ST_FAILED;
	return code;
}

/* A printable, bounded copy of peer text for error messages. */
static void
hs_quote(const char *p, size_t n, char out[40])
{
	size_t i, lim = AEMP_MIN(n, (size_t)32);

	for (i = 0; i < lim; i++) {
		unsigned char c = (unsigned char)p[i];

		out[i] = c >= 0x20 && c < 0x7f && c != '\'' ? (char)c : '?';
	}
	if (n > lim) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/*
 * Field i (0-based) of a sep-separated list, in *f / *fn.  Returns 1 if
 * the list has that many fields, else 0.
 */
static int
hs_field(const char *p, size_t n, char sep, size_t i, const char **f,
         size_t *fn)
{
	const char *end = p + n, *q;

	for (;;) {
		q = memchr(p, sep, (size_t)(end - p));
		if (q == NULL)
			q = end;
		if (i == 0) {
			*f = p;
			*fn = (size_t)(q - p);
			return 1;
		}
		if (q == end)
			return 0;
		p = q + 1;
		i--;
	}
}

/* Is (s, n) in the list of NUL-terminated names? */
static int
hs_in_names(const char *s, size_t n, char *const *names, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (hs_eq(s, n, names[i], strlen(names[i])))
			return 1;
	}
	return 0;
}

/* ---- numbers as Perl reads them ----------------------------------------- */

/*
 * Perl numifies "1", "1.0", " +1e0", "1abc" all to 1: leading whitespace,
 * then the longest decimal prefix, nothing else ("0x1" is 0).  The value
 * is classified exactly from its digits rather than through strtod, which
 * depends on the locale; this differs from Perl's double rounding only
 * beyond 15 significant digits.  Returns 1 if the value is exactly 1, 2 if
 * it lies in (1, 2), else 0.
 */
static int
hs_perl_one(const char *p, size_t n)
{
	const char *end = p + n;
	long pos = 0, exp = 0; /* value = 0.LEAD... * 10^(pos + exp) */
	int frac = 0, neg = 0, rest = 0, esign = 1;
	char lead = 0;

	while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
		p++;
	if (p < end && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	for (; p < end; p++) {
		if (*p == '.' && !frac) {
			frac = 1;
		} else if (*p < '0' || *p > '9') {
			break;
		} else if (lead == 0) {
			if (*p != '0')
				lead = *p;
			pos += *p != '0' ? !frac : -frac;
		} else {
			pos += !frac;
			rest |= *p != '0';
		}
	}
	if (p < end && (*p == 'e' || *p == 'E') && lead != 0) {
		if (++p < end && (*p == '+' || *p == '-'))
			esign = *p++ == '-' ? -1 : 1;
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			exp = exp < 100000 ? exp * 10 + (*p - '0') : exp;
	}
	if (neg || lead != '1' || pos + esign * exp != 1)
		return 0;
	return rest ? 2 : 1;
}

/* ---- starting --------------------------------------------------------- */

struct hs_w {
	char *p;
	size_t len, cap;
	int full;
};

static void
hs_put(struct hs_w *w, const char *s, size_t n)
{
	if (n > w->cap - w->len) {
		w->full = 1;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void
hs_puts(struct hs_w *w, const char *s)
{
	hs_put(w, s, strlen(s));
}

/* Our line 1 (§2.3): aemp;1;ID;AUTHS;FRAMINGS;provider=...;... */
static int
hs_build_l1(struct eng_hs *hs, const char *peeraddr)
{
	const struct eng_hs_cfg *c = hs->cfg;
	/* one byte short of the buffer: the peer needs room for the LF */
	struct hs_w w = {hs->l1, 0, ENG_HS_LINE_MAX - 1, 0};

	if (c->idlen == 0 || memchr(c->nodeid, ';', c->idlen) != NULL)
		return AEMP_ECONFIG; /* 1.1: never empty on the wire, no ';' */
	hs_puts(&w, "aemp;1;");
	hs_put(&w, c->nodeid, c->idlen);
	hs_puts(&w, ";");
	for (size_t i = 0; i < c->naccept; i++) {
		hs_puts(&w, i ? "," : "");
		hs_puts(&w, c->auth_accept[i]);
	}
	hs_puts(&w, ";");
	for (size_t i = 0; i < c->nframings; i++) {
		const char *name = hs_framing_name(c->framings[i]);

		AEMP_ASSERT(name != NULL);
		hs_puts(&w, i ? "," : "");
		hs_puts(&w, name);
	}
	hs_puts(&w, ";provider=");
	hs_puts(&w, c->provider ? c->provider : "aemp-" AEMP_VERSION_STRING);
	if (peeraddr != NULL) {
		hs_puts(&w, ";peeraddr=");
		hs_puts(&w, peeraddr);
	}
	if (c->have_cert)
		hs_puts(&w, ";tls=1.0");
	hs_puts(&w, ";mproto=1;gproto=1");
	if (c->frag)
		hs_puts(&w, ";aemp_frag=1");
	if (w.full)
		return AEMP_ECONFIG;
	hs->l1len = w.len;
	return 0;
}

static void
hs_out_put(struct eng_hs *hs, const void *p, size_t n)
{
	AEMP_ASSERT(n <= sizeof(hs->out) - hs->outlen);
	memcpy(hs->out + hs->outlen, p, n);
	hs->outlen += n;
}

/* Back to the start: everything but the large buffers' contents. */
static void
hs_reset(struct eng_hs *hs, const struct eng_hs_cfg *cfg)
{
	AEMP_ASSERT(cfg != NULL);
	hs->cfg = cfg;
	hs->state = ST_R1;
	hs->l1len = hs->l2len = hs->r1len = hs->r2len = 0;
	hs->inlen = hs->scan = hs->outlen = hs->out_plain = 0;
	hs->peer_id = hs->proto = hs->dataconn_id = NULL;
	hs->peer_idlen = hs->protolen = hs->dataconn_idlen = 0;
	hs->peer_tls = hs->peer_frag = hs->dataconn = hs->tls = 0;
	hs->send_auth = hs->recv_auth = CRY_AUTH_NONE;
	hs->send_framing = hs->recv_framing = COD_NONE;
	hs->rest_owed = hs->err_code = 0;
	hs->err[0] = '\0';
}

static int
hs_finish_init(struct eng_hs *hs, const uint8_t *nonce)
{
	uint8_t fresh[ENG_HS_NONCE_BYTES];
	int rc;

	/* a field of cfg with a line break would split our line 1 */
	if (memchr(hs->l1, '\n', hs->l1len) != NULL ||
	    memchr(hs->l1, '\r', hs->l1len) != NULL)
		return AEMP_ECONFIG;
	if (nonce == NULL) {
		if ((rc = cry_random(fresh, sizeof(fresh))) < 0)
			return rc;
		nonce = fresh;
	}
	hs->l2len = cry_base64(nonce, ENG_HS_NONCE_BYTES, hs->l2);
	hs_field(hs->l1, hs->l1len, ';', 0, &hs->proto, &hs->protolen);
	hs_out_put(hs, hs->l1, hs->l1len);
	hs_out_put(hs, "\n", 1);
	hs_out_put(hs, hs->l2, hs->l2len);
	hs_out_put(hs, "\n", 1);
	return 0;
}

int
eng_hs_init(struct eng_hs *hs, const struct eng_hs_cfg *cfg,
            const char *peeraddr, const uint8_t *nonce)
{
	int rc;

	hs_reset(hs, cfg);
	if ((rc = hs_build_l1(hs, peeraddr)) < 0)
		return rc;
	return hs_finish_init(hs, nonce);
}

int
eng_hs_init_lines(struct eng_hs *hs, const struct eng_hs_cfg *cfg,
                  const char *l1, size_t n, const uint8_t *nonce)
{
	hs_reset(hs, cfg);
	if (n == 0 || n > ENG_HS_LINE_MAX - 1)
		return AEMP_ECONFIG;
	memcpy(hs->l1, l1, n);
	hs->l1len = n;
	return hs_finish_init(hs, nonce);
}

/* ---- input ------------------------------------------------------------ */

size_t
eng_hs_room(const struct eng_hs *hs)
{
	return ENG_HS_BUF_MAX - hs->inlen;
}

int
eng_hs_feed(struct eng_hs *hs, const uint8_t *p, size_t n)
{
	if (hs->err_code != 0)
		return hs->err_code;
	AEMP_ASSERT(!hs->rest_owed);
	if (n > eng_hs_room(hs))
		return hs_fail(hs, AEMP_EOVERFLOW,
		               "read buffer overflow (more than %d bytes "
		               "unconsumed during the handshake)",
		               ENG_HS_BUF_MAX);
	memcpy(hs->in + hs->inlen, p, n);
	hs->inlen += n;
	return 0;
}

/*
 * The next complete line: *len bytes at hs->in without LF and without a
 * CR right before it; *used = bytes to consume.  Returns 0 if no LF yet.
 */
static int
hs_line(struct eng_hs *hs, size_t *len, size_t *used)
{
	const uint8_t *lf;

	lf = memchr(hs->in + hs->scan, '\n', hs->inlen - hs->scan);
	if (lf == NULL) {
		hs->scan = hs->inlen;
		return 0;
	}
	*used = (size_t)(lf - hs->in) + 1;
	*len = *used - 1;
	if (*len > 0 && hs->in[*len - 1] == '\r')
		(*len)--;
	return 1;
}

static void
hs_consume(struct eng_hs *hs, size_t n)
{
	AEMP_ASSERT(n <= hs->inlen);
	memmove(hs->in, hs->in + n, hs->inlen - n);
	hs->inlen -= n;
	hs->scan = hs->scan > n ? hs->scan - n : 0;
}

/* Move the next line into dst (ENG_HS_LINE_MAX bytes).  0: none yet. */
static int
hs_take_line(struct eng_hs *hs, char *dst, size_t *dlen)
{
	size_t len, used;

	if (!hs_line(hs, &len, &used))
		return 0;
	AEMP_ASSERT(len <= ENG_HS_LINE_MAX);
	memcpy(dst, hs->in, len);
	*dlen = len;
	hs_consume(hs, used);
	return 1;
}

/* ---- line 1 ----------------------------------------------------------- */

/* Protocol field (§2.5 steps 1-2): "aemp-WORD" upgrades a plain "aemp". */
static int
hs_check_proto(struct eng_hs *hs, const char *p, size_t n)
{
	char q[40];
	size_t i = 5;

	if (hs_eq(hs->proto, hs->protolen, proto_aemp, 4) && n > 5 &&
	    memcmp(p, "aemp-", 5) == 0) {
		while (i < n &&
		       (p[i] == '_' || (p[i] >= '0' && p[i] <= '9') ||
		        ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z')))
			i++;
		if (i == n) {
			hs->proto = p;
			hs->protolen = n;
		}
	}
	if (!hs_eq(p, n, hs->proto, hs->protolen) &&
	    !hs_eq(p, n, proto_aemp, 4)) {
		hs_quote(p, n, q);
		return hs_fail(hs, AEMP_EHANDSHAKE,
		               "unparsable greeting, expected '%.*s', got '%s'",
		               (int)AEMP_MIN(hs->protolen, (size_t)32),
		               hs->proto, q);
	}
	hs->dataconn = hs_eq(hs->proto, hs->protolen, "aemp-dataconn", 13);
	return 0;
}

static int
hs_check_id(struct eng_hs *hs, const char *id, size_t n)
{
	if (n == 0)
		return hs_fail(hs, AEMP_EHANDSHAKE, "invalid node ID (empty)");
	if (n >= AEMP_ID_MAX)
		return hs_fail(hs, AEMP_EHANDSHAKE,
		               "invalid node ID (%zu bytes, limit %d)", n,
		               AEMP_ID_MAX - 1);
	if (memchr(id, '#', n) != NULL)
		return hs_fail(hs, AEMP_EHANDSHAKE,
		               "invalid node ID (contains '#')");
	/* only the node protocol identifies nodes (§2.5 step 4, §2.14) */
	if (hs_eq(hs->proto, hs->protolen, proto_aemp, 4) &&
	    hs_eq(id, n, hs->cfg->nodeid, hs->cfg->idlen))
		return hs_fail(hs, AEMP_EHANDSHAKE,
		               "I refuse to talk to myself");
	hs->peer_id = id;
	hs->peer_idlen = n;
	return 0;
}

/* Key/value fields 6... (§2.3): key up to the first '=', the rest is the
 * value; no '=' means a null value; empty fields are skipped; a key seen
 * twice keeps its last value (a Perl hash). */
static void
hs_parse_kv(struct eng_hs *hs)
{
	const char *f, *eq;
	size_t fn;

	for (size_t i = 5; hs_field(hs->r1, hs->r1len, ';', i, &f, &fn); i++) {
		size_t klen;

		eq = fn ? memchr(f, '=', fn) : NULL;
		klen = eq ? (size_t)(eq - f) : fn;
		if (hs_eq(f, klen, "tls", 3))
			hs->peer_tls = eq != NULL &&
			               hs_perl_one(eq + 1, fn - klen - 1);
		if (hs_eq(f, klen, "aemp_frag", 9))
			hs->peer_frag = eq != NULL &&
			                hs_perl_one(eq + 1, fn - klen - 1);
		if (hs_eq(f, klen, "dataconn_id", 11)) {
			hs->dataconn_id = eq ? eq + 1 : NULL;
			hs->dataconn_idlen = eq ? fn - klen - 1 : 0;
		}
	}
}

static int
hs_on_r1(struct eng_hs *hs)
{
	const char *f = "", *id = "";
	size_t fn = 0, idlen = 0;
	char q[40];
	int rc;

	if (!hs_take_line(hs, hs->r1, &hs->r1len))
		return HS_NEED_MORE;
	hs_field(hs->r1, hs->r1len, ';', 0, &f, &fn);
	if ((rc = hs_check_proto(hs, f, fn)) < 0)
		return rc;
	/* missing fields count as empty, like Perl's undef */
	f = "";
	fn = 0;
	hs_field(hs->r1, hs->r1len, ';', 1, &f, &fn);
	if (hs_perl_one(f, fn) != 1) {
		hs_quote(f, fn, q);
		return hs_fail(hs, AEMP_EHANDSHAKE,
		               "version mismatch (we 1, they '%s')", q);
	}
	hs_field(hs->r1, hs->r1len, ';', 2, &id, &idlen);
	if ((rc = hs_check_id(hs, id, idlen)) < 0)
		return rc;
	hs_parse_kv(hs);
	hs->state = ST_R2;
	return HS_PEER_ID;
}

/* ---- line 2: negotiation ---------------------------------------------- */

/* §2.6: the first method of the peer's list that we offer; tls_* only
 * with TLS.  Returns the name in *name / *n, or 0 if none. */
static int
hs_pick_auth(const struct eng_hs *hs, const char **name, size_t *n)
{
	const char *list = "", *m;
	size_t len = 0, mn;

	hs_field(hs->r1, hs->r1len, ';', 3, &list, &len);
	for (size_t i = 0; hs_field(list, len, ',', i, &m, &mn); i++) {
		if (!hs_in_names(m, mn, hs->cfg->auth_offer, hs->cfg->noffer))
			continue;
		if (!hs->tls && mn >= 4 && memcmp(m, "tls_", 4) == 0)
			continue;
		*name = m;
		*n = mn;
		return 1;
	}
	return 0;
}

/* §2.6: the first framing of the peer's list that we speak. */
static enum cod_framing
hs_pick_framing(const struct eng_hs *hs)
{
	const char *list = "", *f;
	size_t len = 0, fn;

	hs_field(hs->r1, hs->r1len, ';', 4, &list, &len);
	for (size_t i = 0; hs_field(list, len, ',', i, &f, &fn); i++) {
		enum cod_framing c = hs_framing_parse(f, fn);

		for (size_t j = 0; c != COD_NONE && j < hs->cfg->nframings; j++)
			if (hs->cfg->framings[j] == c)
				return c;
	}
	return COD_NONE;
}

static int
hs_negotiate(struct eng_hs *hs)
{
	const struct eng_hs_cfg *c = hs->cfg;
	const char *name = NULL;
	size_t n = 0;
	enum cry_auth m;

	hs->tls = c->have_cert && hs->peer_tls;
	if (!hs_pick_auth(hs, &name, &n))
		return hs_fail(hs, AEMP_EHANDSHAKE,
		               "no common auth type supported");
	if ((hs->send_framing = hs_pick_framing(hs)) == COD_NONE)
		return hs_fail(hs, AEMP_EHANDSHAKE,
		               "no common framing method supported");
	m = cry_auth_parse(name, n);
	if (hs->tls) {
		if (m != CRY_AUTH_TLS_ANON && m != CRY_AUTH_TLS_SHA3_512)
			m = CRY_AUTH_NONE;
	} else if (c->secret != NULL && c->secret_len > 0) {
		if (m != CRY_AUTH_HMAC_SHA3_512)
			m = CRY_AUTH_NONE;
	} else {
		return hs_fail(hs, AEMP_EHANDSHAKE,
		               "unable to handshake TLS and no shared secret "
		               "configured");
	}
	if (m == CRY_AUTH_NONE)
		return hs_fail(hs, AEMP_EHANDSHAKE,
		               "fatal, selected unsupported snd auth method");
	hs->send_auth = m;
	return 0;
}

/* The four greeting lines, ours first (send) or the peer's first (verify). */
static void
hs_view(const struct eng_hs *hs, int ours_first, struct iovec v[4])
{
	struct iovec l[2] = {{(void *)hs->l1, hs->l1len},
	                     {(void *)hs->l2, hs->l2len}};
	struct iovec r[2] = {{(void *)hs->r1, hs->r1len},
	                     {(void *)hs->r2, hs->r2len}};

	v[0] = ours_first ? l[0] : r[0];
	v[1] = ours_first ? l[1] : r[1];
	v[2] = ours_first ? r[0] : l[0];
	v[3] = ours_first ? r[1] : l[1];
}

/* Queue "METHOD;TOKEN;FRAMING" LF (§2.8). */
static int
hs_emit_auth(struct eng_hs *hs)
{
	const struct eng_hs_cfg *c = hs->cfg;
	const char *name = cry_auth_name(hs->send_auth);
	const char *fr = hs_framing_name(hs->send_framing);
	char tok[CRY_TOKEN_HEX_MAX];
	struct iovec v[4];
	int n;

	hs_view(hs, 1, v);
	n = cry_auth_token(hs->send_auth, c->secret, c->secret_len, v, tok,
	                   sizeof(tok));
	if (n < 0)
		return hs_fail(hs, n == -EINVAL ? AEMP_EHANDSHAKE : n,
		               "cannot compute the %s token", name);
	hs->out_plain = hs->tls ? hs->outlen : 0;
	hs_out_put(hs, name, strlen(name));
	hs_out_put(hs, ";", 1);
	hs_out_put(hs, tok, (size_t)n);
	hs_out_put(hs, ";", 1);
	hs_out_put(hs, fr, strlen(fr));
	hs_out_put(hs, "\n", 1);
	return 0;
}

static int
hs_on_r2(struct eng_hs *hs)
{
	int rc;

	if (!hs_take_line(hs, hs->r2, &hs->r2len))
		return HS_NEED_MORE;
	/* neither side's lines hold LF, so L1 LF L2 == R1 LF R2 iff both
	 * pairs are equal (§2.5 step 5) */
	if (hs_eq(hs->l1, hs->l1len, hs->r1, hs->r1len) &&
	    hs_eq(hs->l2, hs->l2len, hs->r2, hs->r2len))
		return hs_fail(hs, AEMP_EHANDSHAKE,
		               "authentication error, echo attack?");
	if ((rc = hs_negotiate(hs)) < 0)
		return rc;
	if ((rc = hs_emit_auth(hs)) < 0)
		return rc;
	hs->state = ST_AUTH;
	if (hs->tls) {
		/* what follows line 2 is the peer's TLS stream (§2.7) */
		hs->rest_owed = hs->inlen > 0;
		return HS_TLS;
	}
	return HS_CONTINUE;
}

/* ---- the peer's auth line --------------------------------------------- */

/* 1 if tok (n bytes) is the token the peer must send with method m. */
static int
hs_token_ok(struct eng_hs *hs, enum cry_auth m, const char *tok, size_t n,
            int *err)
{
	const struct eng_hs_cfg *c = hs->cfg;
	/* cleartext tokens are hex(secret): as long as a line may be */
	char want[ENG_HS_LINE_MAX + 1];
	struct iovec v[4];
	int len, ok;

	*err = 0;
	if ((m == CRY_AUTH_TLS_ANON || m == CRY_AUTH_TLS_SHA3_512) && !hs->tls)
		return 0; /* §2.8: tls_* never match without TLS */
	hs_view(hs, 0, v);
	len = cry_auth_token(m, c->secret, c->secret_len, v, want,
	                     sizeof(want));
	if (len == -EINVAL)
		return 0; /* no secret, or one too long to ever match */
	if (len < 0) {
		*err = len;
		return 0;
	}
	ok = (size_t)len == n && cry_memeq(want, tok, n);
	explicit_bzero(want, (size_t)len);
	return ok;
}

static int
hs_on_auth(struct eng_hs *hs)
{
	const char *line = (const char *)hs->in, *f = "", *tok = "";
	size_t len, used, fn = 0, tn = 0;
	enum cry_auth m;
	int err;

	if (!hs_line(hs, &len, &used))
		return HS_NEED_MORE;
	hs_field(line, len, ';', 0, &f, &fn);
	if ((m = cry_auth_parse(f, fn)) == CRY_AUTH_NONE)
		return hs_fail(hs, AEMP_EHANDSHAKE,
		               "fatal, selected unsupported rcv auth method");
	hs_field(line, len, ';', 1, &tok, &tn);
	if (!hs_token_ok(hs, m, tok, tn, &err)) {
		if (err < 0)
			return hs_fail(hs, err, "cannot compute the %s token",
			               cry_auth_name(m));
		return hs_fail(hs, AEMP_EAUTH,
		               "authentication failure/shared secret mismatch");
	}
	fn = 0;
	hs_field(line, len, ';', 2, &f, &fn);
	if ((hs->recv_framing = hs_framing_parse(f, fn)) == COD_NONE)
		return hs_fail(hs, AEMP_EHANDSHAKE, "unusable remote framing");
	hs->recv_auth = m;
	hs_consume(hs, used);
	hs->state = ST_DONE;
	return HS_DONE;
}

/* ---- stepping and output ---------------------------------------------- */

int
eng_hs_step(struct eng_hs *hs)
{
	int rc;

	AEMP_ASSERT(!hs->rest_owed);
	for (;;) {
		switch (hs->state) {
		case ST_R1:
			return hs_on_r1(hs);
		case ST_R2:
			if ((rc = hs_on_r2(hs)) != HS_CONTINUE)
				return rc;
			break;
		case ST_AUTH:
			return hs_on_auth(hs);
		case ST_DONE:
			return HS_DONE;
		default:
			AEMP_ASSERT(hs->err_code < 0);
			return hs->err_code;
		}
	}
}

const uint8_t *
eng_hs_output(const struct eng_hs *hs, size_t *len)
{
	*len = hs->outlen;
	return hs->out;
}

void
eng_hs_output_done(struct eng_hs *hs, size_t n)
{
	AEMP_ASSERT(n <= hs->outlen);
	memmove(hs->out, hs->out + n, hs->outlen - n);
	hs->outlen -= n;
	hs->out_plain -= AEMP_MIN(n, hs->out_plain);
}

size_t
eng_hs_output_plain(const struct eng_hs *hs)
{
	return hs->out_plain;
}

size_t
eng_hs_take_rest(struct eng_hs *hs, uint8_t *buf, size_t cap)
{
	size_t n = AEMP_MIN(cap, hs->inlen);

	memcpy(buf, hs->in, n);
	hs_consume(hs, n);
	if (hs->inlen == 0)
		hs->rest_owed = 0;
	return n;
}

int
eng_hs_tls_client(const struct eng_hs *hs)
{
	size_t n = AEMP_MIN(hs->l2len, hs->r2len);
	int c = memcmp(hs->l2, hs->r2, n);

	return c < 0 || (c == 0 && hs->l2len < hs->r2len);
}

int
eng_hs_greeted(const struct eng_hs *hs)
{
	return hs->state == ST_AUTH || hs->state == ST_DONE;
}

const char *
eng_hs_error(const struct eng_hs *hs)
{
	return hs->err;
}
