/*
 * crypto/tls_int.h - what crypto/tls.c (sessions) and crypto/tls_ctx.c
 * (contexts) share.  Internal to crypto/.
 *
 * Threads: see crypto/tls.h.
 */
#ifndef CRYPTO_TLS_INT_H
#define CRYPTO_TLS_INT_H

#include "crypto/wolf.h"

/* Immutable after cry_tls_ctx_new; shared by every session and shard. */
struct cry_tls_ctx {
	WOLFSSL_CTX *client; /* for sessions in the TLS client role */
	WOLFSSL_CTX *server;
};

#endif /* CRYPTO_TLS_INT_H */
