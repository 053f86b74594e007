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

/*
 * cry_tls_ctx_new - a context from the PEM blob (private key, certificate,
 * optional CA certificates, in either order).  Returns 0 and *out (new,
 * cry_tls_ctx_free), AEMP_ECONFIG with the reason in aemp_errmsg (no key,
 * no certificate, key does not match, unparsable PEM), -ENOMEM.
 */
int cry_tls_ctx_new(struct cry_tls_ctx **out, const char *pem, size_t len);
void cry_tls_ctx_free(struct cry_tls_ctx *ctx);

/* cry_tls_new - a session in the client (is_client = 1) or server role.
 * Returns 0 and *out (new, cry_tls_free), AEMP_ETLS, -ENOMEM. */
int cry_tls_new(struct cry_tls **out, struct cry_tls_ctx *ctx, int is_client);
void cry_tls_free(struct cry_tls *t);

/*
 * cry_tls_feed - hand n bytes of received ciphertext to the session
 * (copied).  Returns 0, or AEMP_EOVERFLOW if more than 256 KiB of
 * ciphertext is waiting unprocessed (a peer that floods).
 */
int cry_tls_feed(struct cry_tls *t, const uint8_t *p, size_t n);

/*
 * cry_tls_handshake - advance the handshake with the input fed so far.
 * Returns 1 when complete, 0 when it needs more input (send the pending
 * output first), AEMP_ETLS on failure (reason in cry_tls_error).
 */
int cry_tls_handshake(struct cry_tls *t);

/*
 * cry_tls_read - decrypt into buf (cap bytes).  Returns the number of
 * plaintext bytes (> 0), 0 when no complete record is available, -EPIPE
 * when the peer closed the session, AEMP_ETLS on failure (corrupted
 * record, alert).
 */
ssize_t cry_tls_read(struct cry_tls *t, uint8_t *buf, size_t cap);

/*
 * cry_tls_write - encrypt n bytes of plaintext into the pending output.
 * Returns n, or AEMP_ETLS.  The output grows as needed; the engine bounds
 * it through its own queue limits.
 */
ssize_t cry_tls_write(struct cry_tls *t, const uint8_t *p, size_t n);

/* cry_tls_pending - ciphertext waiting to be sent: sets *p and returns its
 * length (0 if none).  Valid until the next call on t. */
size_t cry_tls_pending(struct cry_tls *t, const uint8_t **p);

/* cry_tls_consume - n bytes of the pending output were sent. */
void cry_tls_consume(struct cry_tls *t, size_t n);

/* cry_tls_error - text of the last failure of t ("" if none). */
const char *cry_tls_error(const struct cry_tls *t);

/* cry_tls_version - negotiated protocol ("TLSv1.3", ...) or "". */
const char *cry_tls_version(const struct cry_tls *t);

#endif /* CRYPTO_TLS_H */
