/*
 * crypto/pem.c - PEM text to DER blocks (see pem.h for what is accepted).
 *
 * The parser walks the text line by line with a (p, end) cursor and never
 * reads past end; the text need not be NUL-terminated.  All DER goes into
 * one buffer of 3/4 the text size, which is always enough.
 * Threads: reentrant.
 */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/pem.h"
#include "ring/alloc.h"
#include "ring/base.h"

#define PEM_DASHES "-----"
#define PEM_BEGIN "-----BEGIN "
#define PEM_END "-----END "

struct pem_line {
	const char *s;
	size_t n; /* without LF, trailing CR, spaces and tabs */
};

/* The line at *p (up to LF or end); advances *p past it. */
static struct pem_line
pem_next_line(const char **p, const char *end)
{
	const char *s = *p;
	const char *lf = memchr(s, '\n', (size_t)(end - s));
	const char *e = lf != NULL ? lf : end;
	struct pem_line l;

	*p = lf != NULL ? lf + 1 : end;
	while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	l.s = s;
	l.n = (size_t)(e - s);
	return l;
}

static int
pem_has_prefix(struct pem_line l, const char *pfx)
{
	size_t n = strlen(pfx);

	return l.n >= n && memcmp(l.s, pfx, n) == 0;
}

/* Label of a BEGIN/END line (after prefix, before the closing dashes)
 * into label; 0, or -1 if the line is malformed or the label is not made
 * of A-Z, 0-9 and single spaces. */
static int
pem_label(struct pem_line l, const char *pfx, char *label)
{
	size_t pn = strlen(pfx), dn = strlen(PEM_DASHES), n;

	if (l.n < pn + dn + 1 || memcmp(l.s + l.n - dn, PEM_DASHES, dn) != 0)
		return -1;
	n = l.n - pn - dn;
	if (n > CRY_PEM_LABEL_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = l.s[pn + i];

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == ' '))
			return -1;
	}
	memcpy(label, l.s + pn, n);
	label[n] = '\0';
	return 0;
}

/* Kind of block for a label; 0 for labels that are skipped. */
static int
pem_kind(const char *label)
{
	if (strcmp(label, "CERTIFICATE") == 0 ||
	    strcmp(label, "X509 CERTIFICATE") == 0)
		return CRY_PEM_CERT;
	if (strcmp(label, "PRIVATE KEY") == 0 ||
	    strcmp(label, "RSA PRIVATE KEY") == 0 ||
	    strcmp(label, "EC PRIVATE KEY") == 0 ||
	    strcmp(label, "ENCRYPTED PRIVATE KEY") == 0)
		return CRY_PEM_KEY;
	return 0;
}

struct pem_scan {
	struct cry_pem *pem;
	size_t used; /* bytes of pem->buf in use */
	int index;   /* blocks seen so far, skipped ones included */
};

/* Finds the END line of the block whose BEGIN line was just read; sets
 * [*body, *body_end) to the Base64 text and *headers if RFC 1421 header
 * lines ("Proc-Type: 4,ENCRYPTED") precede it. */
static int
pem_body(const char **p, const char *end, const char *label, int idx,
         const char **body, const char **body_end, int *headers)
{
	char end_label[CRY_PEM_LABEL_MAX + 1];
	int data = 0;

	*body = *p;
	while (*p < end) {
		const char *start = *p;
		struct pem_line l = pem_next_line(p, end);

		if (pem_has_prefix(l, PEM_END)) {
			if (pem_label(l, PEM_END, end_label) < 0 ||
			    strcmp(end_label, label) != 0)
				break;
			*body_end = start;
			return 0;
		}
		if (pem_has_prefix(l, PEM_BEGIN))
			break;
		if (memchr(l.s, ':', l.n) != NULL && !data) {
			*headers = 1;
			*body = *p;
		} else if (l.n > 0) {
			data = 1;
		}
	}
	return AEMP_SET_ERR(AEMP_ECONFIG,
	                    "cert: PEM block %d (%s) has no matching END line",
	                    idx, label);
}

/* The block whose BEGIN line (label) was just read. */
static int
pem_block(struct pem_scan *sc, const char **p, const char *end,
          const char *label)
{
	struct cry_pem *pem = sc->pem;
	const char *body = NULL, *body_end = NULL;
	int idx = ++sc->index, kind = pem_kind(label), headers = 0, rc;
	struct cry_pem_block *b;
	ssize_t n;

	rc = pem_body(p, end, label, idx, &body, &body_end, &headers);
	if (rc < 0 || kind == 0)
		return rc;
	if (kind == CRY_PEM_KEY &&
	    (headers || strcmp(label, "ENCRYPTED PRIVATE KEY") == 0))
		return AEMP_SET_ERR(
		        AEMP_ECONFIG,
		        "cert: PEM block %d (%s): encrypted private "
		        "keys are not supported, store the key "
		        "without a passphrase",
		        idx, label);
	if (pem->n == CRY_PEM_BLOCKS_MAX)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "cert: more than %d keys and certificates",
		                    CRY_PEM_BLOCKS_MAX);
	n = cry_base64_decode(body, (size_t)(body_end - body),
	                      pem->buf + sc->used, pem->cap - sc->used);
	if (n <= 0)
		return AEMP_SET_ERR(AEMP_ECONFIG, "cert: PEM block %d (%s): %s",
		                    idx, label,
		                    n == 0 ? "empty" : "bad Base64");
	b = &pem->blk[pem->n++];
	b->kind = (enum cry_pem_kind)kind;
	b->index = idx;
	memcpy(b->label, label, strlen(label) + 1);
	b->der = pem->buf + sc->used;
	b->der_len = (size_t)n;
	sc->used += (size_t)n;
	return 0;
}

static int
pem_scan_text(struct pem_scan *sc, const char *p, const char *end)
{
	char label[CRY_PEM_LABEL_MAX + 1];
	int rc;

	while (p < end) {
		struct pem_line l = pem_next_line(&p, end);

		if (pem_has_prefix(l, PEM_BEGIN)) {
			if (pem_label(l, PEM_BEGIN, label) < 0)
				return AEMP_SET_ERR(AEMP_ECONFIG,
				                    "cert: malformed PEM BEGIN "
				                    "line after block %d",
				                    sc->index);
			if ((rc = pem_block(sc, &p, end, label)) < 0)
				return rc;
		} else if (pem_has_prefix(l, PEM_END)) {
			return AEMP_SET_ERR(AEMP_ECONFIG,
			                    "cert: PEM END line without BEGIN "
			                    "after block %d",
			                    sc->index);
		}
	}
	if (sc->index == 0)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "cert: no PEM data (expected "
		                    "\"-----BEGIN ...-----\" lines)");
	return 0;
}

int
cry_pem_init(struct cry_pem *pem, const char *text, size_t len)
{
	struct pem_scan sc = {pem, 0, 0};
	int rc;

	memset(pem, 0, sizeof(*pem));
	if (len > CRY_PEM_TEXT_MAX)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "cert: PEM text of %zu bytes, at most %u "
		                    "allowed",
		                    len, CRY_PEM_TEXT_MAX);
	AEMP_ASSERT(text != NULL || len == 0);
	if (text == NULL)
		text = ""; /* no arithmetic on a null pointer below */
	/* Base64 turns 4 symbols into 3 bytes: 3/4 of the text suffices. */
	pem->cap = len / 4 * 3 + 3;
	if ((pem->buf = ring_alloc(pem->cap)) == NULL)
		return -ENOMEM;
	if ((rc = pem_scan_text(&sc, text, text + len)) < 0)
		cry_pem_fini(pem);
	return rc;
}

void
cry_pem_fini(struct cry_pem *pem)
{
	if (pem->buf != NULL) {
		explicit_bzero(pem->buf, pem->cap);
		ring_free(pem->buf, pem->cap);
	}
	memset(pem, 0, sizeof(*pem));
}
