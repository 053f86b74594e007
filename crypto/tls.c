/*
 * crypto/tls.c - TLS sessions that do no I/O (STYLE.md §10): the engine
 * feeds received ciphertext with cry_tls_feed and sends what
 * cry_tls_pending shows; wolfSSL's I/O callbacks only copy between
 * wolfSSL and the two buffers below.
 *
 *   engine --feed--> [in]  --tls_io_recv--> wolfSSL --> plaintext (read)
 *   engine <-pending- [out] <-tls_io_send--- wolfSSL <-- plaintext (write)
 *
 * The engine's data path skips both buffers (docs/tls.md §4): received
 * ciphertext is lent (cry_tls_lend) and read in place from the receive
 * buffer, only an unread rest is copied into `in` when the loan ends;
 * produced ciphertext goes through a sink (cry_tls_set_sink) straight
 * into the connection's send queue.  So each record is copied once each
 * way outside wolfSSL, between wolfSSL's record buffer and the buffers
 * io_uring uses.
 *
 * Invariants:
 *  - tls_io_recv reads `in` first, then the loan, and returns WANT_READ
 *    when both are empty; tls_io_send always takes everything (the output
 *    or the sink grows; the engine bounds it through its queue limits),
 *    so WANT_WRITE only shows up if wolfSSL itself reports it - each call
 *    still treats WANT_READ and WANT_WRITE alike as "come back later".
 *  - `in` never holds more than CRY_TLS_IN_MAX unprocessed bytes; a loan
 *    lives only between cry_tls_lend and cry_tls_unlend.
 *  - After the first failure the session is dead: every call returns the
 *    same error (state), so a caller cannot drive wolfSSL past a fatal
 *    error by accident.
 * Threads: one thread at a time per session (see tls.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "crypto/tls.h"
#include "crypto/tls_int.h"
#include "crypto/wolf.h"
#include "ring/alloc.h"
#include "ring/base.h"

#define TLS_BUF_MIN (16u * 1024)  /* first allocation of a buffer */
#define TLS_BUF_KEEP (64u * 1024) /* larger empty buffers are released */

struct tls_buf {
	uint8_t *p;
	size_t off, len, cap; /* data is p[off..len) */
};

struct cry_tls {
	WOLFSSL *ssl;
	struct tls_buf in;   /* received ciphertext wolfSSL has not taken */
	struct tls_buf out;  /* ciphertext the engine has not sent */
	const uint8_t *lent; /* cry_tls_lend: read in place, after `in` */
	size_t lent_n;
	cry_tls_sink_fn sink; /* if set: ciphertext goes here, not `out` */
	void *sink_arg;
	int state; /* 0, or the sticky error of a dead session */
	uint8_t is_client;
	uint8_t done;  /* handshake complete */
	uint8_t oom;   /* tls_io_send could not grow `out` */
	uint8_t fed;   /* anything received yet */
	uint8_t first; /* the first byte received */
	char err[200];
};

static size_t
tls_buf_used(const struct tls_buf *b)
{
	return b->len - b->off;
}

static int
tls_buf_put(struct tls_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (b->cap - b->len < n && b->off > 0) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->cap - b->len < n) {
		size_t cap = b->cap != 0 ? b->cap : TLS_BUF_MIN;
		uint8_t *np;

		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2)
				return -ENOMEM;
			cap *= 2;
		}
		if ((np = ring_realloc(b->p, cap)) == NULL)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static void
tls_buf_take(struct tls_buf *b, size_t n)
{
	AEMP_ASSERT(n <= tls_buf_used(b));
	b->off += n;
	if (b->off < b->len)
		return;
	b->off = b->len = 0;
	if (b->cap > TLS_BUF_KEEP) {
		ring_free(b->p, b->cap);
		b->p = NULL;
		b->cap = 0;
	}
}

static void
tls_buf_fini(struct tls_buf *b)
{
	ring_free(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

static int
tls_io_recv(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	struct cry_tls *t = arg;
	size_t n = AEMP_MIN(tls_buf_used(&t->in), (size_t)sz);

	(void)ssl;
	if (n > 0) {
		memcpy(buf, t->in.p + t->in.off, n);
		tls_buf_take(&t->in, n);
		return (int)n;
	}
	n = AEMP_MIN(t->lent_n, (size_t)sz);
	if (n == 0)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	memcpy(buf, t->lent, n);
	t->lent += n;
	t->lent_n -= n;
	return (int)n;
}

static int
tls_io_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	struct cry_tls *t = arg;

	(void)ssl;
	if (t->sink != NULL
	            ? t->sink(t->sink_arg, (const uint8_t *)buf, (size_t)sz) < 0
	            : tls_buf_put(&t->out, buf, (size_t)sz) < 0) {
		t->oom = 1;
		return WOLFSSL_CBIO_ERR_GENERAL;
	}
	return sz;
}

/* Plain words for the failures a misconfigured network produces. */
static const char *
tls_plain_reason(int err)
{
	switch (err) {
	case ASN_NO_SIGNER_E:
		return "unknown CA: peer certificate not signed by any "
		       "certificate of our PEM text";
	case ASN_SELF_SIGNED_E:
		return "unknown CA: peer certificate is self-signed and not "
		       "in our PEM text";
	case ASN_AFTER_DATE_E:
		return "peer certificate expired";
	case ASN_BEFORE_DATE_E:
		return "peer certificate not valid yet";
	case ASN_SIG_CONFIRM_E:
		return "peer certificate signature does not verify";
	case NO_PEER_CERT:
		return "peer sent no certificate";
	case AES_GCM_AUTH_E:
	case AES_CCM_AUTH_E:
	case MAC_CMP_FAILED_E:
	case VERIFY_MAC_ERROR:
	case DECRYPT_ERROR:
		return "corrupted record (authentication check failed)";
	default:
		return NULL;
	}
}

/* tls_not_tls - 1 if the peer's stream does not start with a TLS record
 * a peer may send first: a handshake record (22) or an alert (21).  A
 * peer that announced tls=1.0 and then sent its auth line in the clear
 * fails with a clearer text than wolfSSL's record layer error. */
static int
tls_not_tls(const struct cry_tls *t)
{
	return !t->done && t->fed && t->first != 22 && t->first != 21;
}

/* Marks t dead after wolfSSL error err during `what`; returns the error. */
static int
tls_fail(struct cry_tls *t, int err, const char *what)
{
	WOLFSSL_ALERT_HISTORY h;
	const char *plain = tls_plain_reason(err);
	char why[96];

	cry_wolf_errtext(err, why, sizeof(why));
	if (t->oom) {
		snprintf(t->err, sizeof(t->err), "%s: out of memory", what);
		return t->state = -ENOMEM;
	}
	if (err == FATAL_ERROR &&
	    wolfSSL_get_alert_history(t->ssl, &h) == WOLFSSL_SUCCESS &&
	    h.last_rx.code >= 0) {
		snprintf(why, sizeof(why), "peer sent alert \"%s\"",
		         wolfSSL_alert_desc_string_long(h.last_rx.code));
		plain = why;
	}
	snprintf(t->err, sizeof(t->err), "%s: %s%s (wolfSSL %d)", what,
	         tls_not_tls(t) ? "peer does not speak TLS: " : "",
	         plain != NULL ? plain : why, err);
	return t->state = AEMP_ETLS;
}

int
cry_tls_new(struct cry_tls **out, struct cry_tls_ctx *ctx, int is_client)
{
	struct cry_tls *t;

	AEMP_ASSERT(ctx != NULL);
	if ((t = ring_zalloc(sizeof(*t))) == NULL)
		return -ENOMEM;
	t->is_client = is_client != 0;
	t->ssl = wolfSSL_new(is_client ? ctx->client : ctx->server);
	if (t->ssl == NULL) {
		ring_free(t, sizeof(*t));
		return AEMP_ETLS;
	}
	wolfSSL_SSLSetIORecv(t->ssl, tls_io_recv);
	wolfSSL_SSLSetIOSend(t->ssl, tls_io_send);
	wolfSSL_SetIOReadCtx(t->ssl, t);
	wolfSSL_SetIOWriteCtx(t->ssl, t);
	*out = t;
	return 0;
}

void
cry_tls_free(struct cry_tls *t)
{
	if (t == NULL)
		return;
	wolfSSL_free(t->ssl);
	/* Received ciphertext is not secret, but it is gone now anyway. */
	tls_buf_fini(&t->in);
	tls_buf_fini(&t->out);
	ring_free(t, sizeof(*t));
}

int
cry_tls_set_sink(struct cry_tls *t, cry_tls_sink_fn sink, void *arg)
{
	size_t n = tls_buf_used(&t->out);

	if (sink != NULL && n > 0) {
		if (sink(arg, t->out.p + t->out.off, n) < 0)
			return -ENOMEM;
		tls_buf_take(&t->out, n);
	}
	t->sink = sink;
	t->sink_arg = arg;
	return 0;
}

static void
tls_first(struct cry_tls *t, const uint8_t *p, size_t n)
{
	if (!t->fed && n > 0) {
		t->fed = 1;
		t->first = p[0];
	}
}

int
cry_tls_feed(struct cry_tls *t, const uint8_t *p, size_t n)
{
	AEMP_ASSERT(t->lent_n == 0);
	if (n > CRY_TLS_IN_MAX - tls_buf_used(&t->in))
		return AEMP_EOVERFLOW;
	tls_first(t, p, n);
	return tls_buf_put(&t->in, p, n);
}

void
cry_tls_lend(struct cry_tls *t, const uint8_t *p, size_t n)
{
	AEMP_ASSERT(t->lent_n == 0);
	tls_first(t, p, n);
	t->lent = p;
	t->lent_n = n;
}

int
cry_tls_unlend(struct cry_tls *t)
{
	size_t n = t->lent_n;
	const uint8_t *p = t->lent;

	t->lent = NULL;
	t->lent_n = 0;
	if (n > CRY_TLS_IN_MAX - tls_buf_used(&t->in))
		return AEMP_EOVERFLOW;
	return tls_buf_put(&t->in, p, n);
}

int
cry_tls_handshake(struct cry_tls *t)
{
	int rc, err;

	if (t->state < 0)
		return t->state;
	if (t->done)
		return 1;
	cry_wolf_thread(); /* key exchange and signatures use this thread */
	rc = t->is_client ? wolfSSL_connect(t->ssl) : wolfSSL_accept(t->ssl);
	if (rc == WOLFSSL_SUCCESS) {
		t->done = 1;
		return 1;
	}
	err = wolfSSL_get_error(t->ssl, rc);
	if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
		return 0;
	return tls_fail(t, err, "TLS handshake");
}

ssize_t
cry_tls_read(struct cry_tls *t, uint8_t *buf, size_t cap)
{
	int rc, err;

	AEMP_ASSERT(t->done || t->state < 0);
	if (t->state < 0)
		return t->state;
	if (cap == 0)
		return 0;
	rc = wolfSSL_read(t->ssl, buf, (int)AEMP_MIN(cap, (size_t)INT_MAX));
	if (rc > 0)
		return rc;
	err = wolfSSL_get_error(t->ssl, rc);
	if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
		return 0;
	if (err == WOLFSSL_ERROR_ZERO_RETURN) {
		snprintf(t->err, sizeof(t->err), "peer closed the TLS session");
		return t->state = -EPIPE;
	}
	return tls_fail(t, err, "TLS read");
}

ssize_t
cry_tls_write(struct cry_tls *t, const uint8_t *p, size_t n)
{
	size_t done = 0;
	int rc, err;

	AEMP_ASSERT(t->done || t->state < 0);
	if (t->state < 0)
		return t->state;
	while (done < n) {
		rc = wolfSSL_write(t->ssl, p + done,
		                   (int)AEMP_MIN(n - done, (size_t)INT_MAX));
		if (rc > 0) {
			done += (size_t)rc;
			continue;
		}
		err = wolfSSL_get_error(t->ssl, rc);
		/* wolfSSL wants the same bytes again next time; the caller
		 * keeps them because nothing past `done` was taken. */
		if (err == WOLFSSL_ERROR_WANT_READ ||
		    err == WOLFSSL_ERROR_WANT_WRITE)
			return done > 0 ? (ssize_t)done : -EAGAIN;
		return tls_fail(t, err, "TLS write");
	}
	return (ssize_t)n;
}

int
cry_tls_shutdown(struct cry_tls *t)
{
	int rc, err;

	if (t->state < 0)
		return t->state;
	rc = wolfSSL_shutdown(t->ssl);
	/* NOT_DONE: our close_notify is queued, the peer's has not come;
	 * nobody waits for it (the connection is closed next). */
	if (rc == WOLFSSL_SUCCESS || rc == WOLFSSL_SHUTDOWN_NOT_DONE)
		return 0;
	err = wolfSSL_get_error(t->ssl, rc);
	if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
		return 0;
	return tls_fail(t, err, "TLS shutdown");
}

size_t
cry_tls_pending(struct cry_tls *t, const uint8_t **p)
{
	size_t n = tls_buf_used(&t->out);

	*p = n > 0 ? t->out.p + t->out.off : NULL;
	return n;
}

void
cry_tls_consume(struct cry_tls *t, size_t n)
{
	tls_buf_take(&t->out, n);
}

const char *
cry_tls_error(const struct cry_tls *t)
{
	return t->err;
}

const char *
cry_tls_version(const struct cry_tls *t)
{
	return t->done ? wolfSSL_get_version(t->ssl) : "";
}

const char *
cry_tls_cipher(const struct cry_tls *t)
{
	const char *s = t->done ? wolfSSL_get_cipher_name(t->ssl) : NULL;

	return s != NULL ? s : "";
}
