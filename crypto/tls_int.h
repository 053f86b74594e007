/*
 * crypto/tls_int.h - what crypto/tls.c (sessions) and crypto/tls_ctx.c
 * (contexts) share.  Internal to crypto/.
 *
 * Threads: see crypto/tls.h.
 */
#ifndef CRYPTO_TLS_INT_H
#define CRYPTO_TLS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/wolf.h"

/* Immutable after cry_tls_ctx_new; shared by every session and shard. */
struct cry_tls_ctx {
	WOLFSSL_CTX *client; /* for sessions in the TLS client role */
	WOLFSSL_CTX *server;
};

/*
 * cry_key_matches - 1 if the private key (DER: PKCS#8, PKCS#1 or SEC1)
 * belongs to the certificate (DER), 0 if not, -1 if either does not parse
 * (crypto/keymatch.c).  Borrows both.
 */
int cry_key_matches(const uint8_t *key, size_t klen, const uint8_t *crt,
                    size_t clen);

#endif /* CRYPTO_TLS_INT_H */
