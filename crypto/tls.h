/*
 * crypto/tls.h - TLS between nodes (aemp-protocol.md §2.7) on wolfSSL,
 * without I/O of its own (STYLE.md §10): the engine feeds ciphertext it
 * received and sends the ciphertext this layer produces.  wolfSSL's I/O
 * callbacks only copy between wolfSSL and the buffers held here and report
 * WANT_READ / WANT_WRITE.
 *
 * Parameters, as Perl's AnyEvent::MP: TLS 1.2 or 1.3, peer certificate
 * required and verified in both roles against every certificate of the
 * node's PEM blob (which also holds the node's own key and certificate),
 * no host-name check.
 *
 * Threads: a context is immutable after creation and may be shared by all
 * shards; a session is used by one thread at a time (it may move between
 * shards with its connection).
 */
#ifndef CRYPTO_TLS_H
#define CRYPTO_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cry_tls_ctx;
struct cry_tls;

/* Most received ciphertext a session holds unprocessed (cry_tls_feed). */
#define CRY_TLS_IN_MAX (256u * 1024)

/*
 * cry_tls_ctx_new - a context from the PEM blob (private key, certificate,
 * optional CA certificates, in either order).  The certificate that
 * matches the key is the node's own and is sent first, followed by the
 * other certificates as its chain; every certificate of the blob is
 * trusted.  Returns 0 and *out (new, cry_tls_ctx_free), AEMP_ECONFIG with
 * the reason in aemp_errmsg (no key, no certificate, key does not match,
 * unparsable PEM, encrypted key, expired certificate), AEMP_ETLS if
 * wolfSSL cannot be initialised, -ENOMEM.  Borrows pem.
 */
int cry_tls_ctx_new(struct cry_tls_ctx **out, const char *pem, size_t len);

/* cry_tls_lib - one line on the linked wolfSSL and the suite preferred
 * on this CPU, for the log: e.g. "wolfSSL 5.5.4 built from source,
 * AES-NI in use, AVX2 in use: AES-GCM first".  Only after a context was
 * made.  Returns buf. */
const char *cry_tls_lib(char *buf, size_t cap);

/* cry_tls_ctx_free - drop the context.  Sessions made from it stay valid
 * (wolfSSL counts references), so certificates can be reloaded while
 * connections live.  NULL is a no-op. */
void cry_tls_ctx_free(struct cry_tls_ctx *ctx);

/* cry_tls_new - a session in the client (is_client = 1) or server role.
 * Returns 0 and *out (new, cry_tls_free), AEMP_ETLS, -ENOMEM. */
int cry_tls_new(struct cry_tls **out, struct cry_tls_ctx *ctx, int is_client);

/* cry_tls_free - free the session and its buffers.  NULL is a no-op. */
void cry_tls_free(struct cry_tls *t);

/*
 * cry_tls_sink - where ciphertext goes: sink(arg, p, n) returns 0 if it
 * took all n bytes, or -ENOMEM (the session then fails with -ENOMEM).
 * The engine passes one that appends to the connection's send queue, so
 * wolfSSL's record buffer is copied once, straight into the buffers
 * handed to the kernel; cry_tls_pending then stays empty.
 */
typedef int (*cry_tls_sink_fn)(void *arg, const uint8_t *p, size_t n);

/* cry_tls_set_sink - send all further ciphertext of t to sink (NULL: back
 * to the pending output).  Output still pending goes to the sink first;
 * returns 0, or -ENOMEM if the sink refused it (nothing changed then). */
int cry_tls_set_sink(struct cry_tls *t, cry_tls_sink_fn sink, void *arg);

/*
 * cry_tls_feed - hand n bytes of received ciphertext to the session
 * (copied).  Returns 0, AEMP_EOVERFLOW if more than CRY_TLS_IN_MAX
 * (256 KiB) of ciphertext would be waiting unprocessed (a peer that
 * floods; nothing is taken), or -ENOMEM.  Call cry_tls_handshake or
 * cry_tls_read after each feed: they drain the input.
 */
int cry_tls_feed(struct cry_tls *t, const uint8_t *p, size_t n);

/*
 * cry_tls_lend - like cry_tls_feed, without the copy: the session reads p
 * (n bytes) in place during the cry_tls_read / cry_tls_handshake calls
 * that follow, until cry_tls_unlend.  p must stay valid and unchanged
 * until then.  Input fed before is read first.  One loan at a time.
 */
void cry_tls_lend(struct cry_tls *t, const uint8_t *p, size_t n);

/*
 * cry_tls_unlend - end the loan: the bytes of it the session has not
 * read yet (usually none: wolfSSL takes what it is given) are copied into
 * its own input.  Returns 0, AEMP_EOVERFLOW (more than CRY_TLS_IN_MAX
 * would be waiting; nothing is kept) or -ENOMEM.
 */
int cry_tls_unlend(struct cry_tls *t);

/*
 * cry_tls_handshake - advance the handshake with the input fed so far.
 * Returns 1 when complete, 0 when it needs more input (send the pending
 * output first), AEMP_ETLS on failure (reason in cry_tls_error; send the
 * pending output, it holds the alert), -ENOMEM.  With TLS 1.3 the client
 * completes before the server has checked the client's certificate: a
 * refusal then shows up as AEMP_ETLS from the client's next cry_tls_read.
 */
int cry_tls_handshake(struct cry_tls *t);

/*
 * cry_tls_read - decrypt into buf (cap bytes), after the handshake.
 * Returns the number of plaintext bytes (> 0), 0 when no complete record
 * is available, -EPIPE when the peer closed the session (close_notify),
 * AEMP_ETLS on failure (corrupted record, alert), -ENOMEM.  A record larger
 * than cap is returned in pieces: call again until it returns 0.  Reading
 * may queue output (alerts, TLS 1.3 key update replies): check
 * cry_tls_pending afterwards.
 */
ssize_t cry_tls_read(struct cry_tls *t, uint8_t *buf, size_t cap);

/*
 * cry_tls_write - encrypt n bytes of plaintext into the pending output,
 * after the handshake.  Returns n; AEMP_ETLS, -EPIPE (dead session) or
 * -ENOMEM.  The output grows as needed; the engine bounds it through its
 * own queue limits.  Only if wolfSSL reports that it must wait (it does
 * not with these buffers once the handshake is done) does it return fewer
 * than n bytes, or -EAGAIN: then call again with the rest.
 */
ssize_t cry_tls_write(struct cry_tls *t, const uint8_t *p, size_t n);

/*
 * cry_tls_shutdown - queue a close_notify alert (send the pending output,
 * then close the connection).  Returns 0, or the session's error if it is
 * dead.  The peer's cry_tls_read then returns -EPIPE.
 */
int cry_tls_shutdown(struct cry_tls *t);

/* cry_tls_pending - ciphertext waiting to be sent: sets *p and returns its
 * length (0 if none).  Valid until the next call on t. */
size_t cry_tls_pending(struct cry_tls *t, const uint8_t **p);

/* cry_tls_consume - n bytes of the pending output were sent. */
void cry_tls_consume(struct cry_tls *t, size_t n);

/* cry_tls_error - text of the last failure of t ("" if none): what
 * failed and why, e.g. "TLS handshake: unknown CA: peer certificate not
 * signed by any certificate of our PEM text (wolfSSL -188)"; never key
 * material. */
const char *cry_tls_error(const struct cry_tls *t);

/* cry_tls_version - negotiated protocol ("TLSv1.3", ...) or "". */
const char *cry_tls_version(const struct cry_tls *t);

/* cry_tls_cipher - negotiated cipher suite in wolfSSL's spelling
 * ("TLS13-CHACHA20-POLY1305-SHA256", ...) or "" before the handshake
 * completed. */
const char *cry_tls_cipher(const struct cry_tls *t);

#endif /* CRYPTO_TLS_H */
