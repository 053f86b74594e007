/*
 * crypto/tls_ctx.c - TLS contexts from the node's PEM blob, and
 * aemp_cert_check (aemp-protocol.md §2.7, §9 "AnyEvent::TLS").
 *
 * One cry_tls_ctx holds two wolfSSL contexts, a client one and a server
 * one, loaded from the same blob, so the role can be chosen per connection
 * (by nonce comparison) without relying on wolfSSL's optional "either
 * side" build.  Each context:
 *  - TLS 1.2 or 1.3 (wolfSSLv23 methods with a minimum of 1.2);
 *  - the private key, and as own certificate the first one the key
 *    belongs to (normally the first of the blob; proved by a signature,
 *    crypto/keymatch.c), followed by the other certificates as its chain
 *    (up to CTX_CHAIN_MAX in all), like OpenSSL's
 *    use_certificate_chain_file;
 *  - every certificate of the blob as a trust anchor; the peer must send
 *    a certificate in both roles and it must verify; no host-name check;
 *  - no session cache and no TLS 1.3 tickets: every connection does a
 *    full handshake, and no state is shared between sessions (and shards)
 *    beyond the immutable contexts.
 * The blob is split by crypto/pem.c; each block goes to wolfSSL as DER.
 *
 * Threads: creation on any thread; afterwards the context is only read,
 * and wolfSSL_new on a shared WOLFSSL_CTX is safe from several threads.
 */
#include <errno.h>
#include <string.h>

#include "crypto/pem.h"
#include "crypto/tls.h"
#include "crypto/tls_int.h"
#include "crypto/wolf.h"
#include "ring/alloc.h"
#include "ring/base.h"

/* Certificates sent to the peer: ours + MAX_CHAIN_DEPTH (9) of the wolfSSL
 * build; longer chains are refused by wolfSSL. */
#define CTX_CHAIN_MAX 10

/* Loads the private key (exactly one must be present) and returns it in
 * *key. */
static int
ctx_load_key(WOLFSSL_CTX *w, const struct cry_pem *pem,
             const struct cry_pem_block **key)
{
	char why[96];
	int rc;

	*key = NULL;
	for (int i = 0; i < pem->n; i++) {
		if (pem->blk[i].kind != CRY_PEM_KEY)
			continue;
		if (*key != NULL)
			return AEMP_SET_ERR(AEMP_ECONFIG,
			                    "cert: more than one private key "
			                    "(PEM blocks %d and %d)",
			                    (*key)->index, pem->blk[i].index);
		*key = &pem->blk[i];
	}
	if (*key == NULL)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "cert: no private key in the PEM text");
	rc = wolfSSL_CTX_use_PrivateKey_buffer(
	        w, (*key)->der, (long)(*key)->der_len, WOLFSSL_FILETYPE_ASN1);
	if (rc != WOLFSSL_SUCCESS)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "cert: PEM block %d (%s): unusable private "
		                    "key: %s",
		                    (*key)->index, (*key)->label,
		                    cry_wolf_errtext(rc, why, sizeof(why)));
	return 0;
}

/* Index in pem->blk of the first certificate the key belongs to (proved
 * by signing, see crypto/keymatch.c); -1 if there is none. */
static int
ctx_find_own_cert(const struct cry_pem *pem, const struct cry_pem_block *key)
{
	for (int i = 0; i < pem->n; i++) {
		const struct cry_pem_block *b = &pem->blk[i];

		if (b->kind == CRY_PEM_CERT &&
		    cry_key_matches(key->der, key->der_len, b->der,
		                    b->der_len) == 1)
			return i;
	}
	return -1;
}

/* Every certificate becomes a trust anchor (this also checks that each
 * one parses).  Returns the number of certificates. */
static int
ctx_load_anchors(WOLFSSL_CTX *w, const struct cry_pem *pem)
{
	char why[96];
	int n = 0, rc;

	for (int i = 0; i < pem->n; i++) {
		const struct cry_pem_block *b = &pem->blk[i];

		if (b->kind != CRY_PEM_CERT)
			continue;
		n++;
		rc = wolfSSL_CTX_load_verify_buffer(w, b->der, (long)b->der_len,
		                                    WOLFSSL_FILETYPE_ASN1);
		if (rc != WOLFSSL_SUCCESS)
			return AEMP_SET_ERR(
			        AEMP_ECONFIG,
			        "cert: PEM block %d (%s): unusable "
			        "certificate: %s",
			        b->index, b->label,
			        cry_wolf_errtext(rc, why, sizeof(why)));
	}
	if (n == 0)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "cert: no certificate in the PEM text");
	return n;
}

/* Own certificate (own) first, then the others in text order, as the
 * chain the peer is sent: at most CTX_CHAIN_MAX certificates, wolfSSL's
 * limit (the rest are still trusted, just not sent). */
static int
ctx_load_chain(WOLFSSL_CTX *w, const struct cry_pem *pem, int own)
{
	const struct cry_pem_block *sel[CTX_CHAIN_MAX];
	size_t len = 0, off = 0;
	int n = 0, rc;
	uint8_t *buf;
	char why[96];

	sel[n++] = &pem->blk[own];
	for (int i = 0; i < pem->n && n < CTX_CHAIN_MAX; i++)
		if (pem->blk[i].kind == CRY_PEM_CERT && i != own)
			sel[n++] = &pem->blk[i];
	for (int i = 0; i < n; i++)
		len += sel[i]->der_len;
	if ((buf = ring_alloc(len)) == NULL)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		memcpy(buf + off, sel[i]->der, sel[i]->der_len);
		off += sel[i]->der_len;
	}
	rc = wolfSSL_CTX_use_certificate_chain_buffer_format(
	        w, buf, (long)len, WOLFSSL_FILETYPE_ASN1);
	ring_free(buf, len);
	if (rc != WOLFSSL_SUCCESS)
		return AEMP_SET_ERR(
		        AEMP_ECONFIG,
		        "cert: cannot use the certificate chain: %s",
		        cry_wolf_errtext(rc, why, sizeof(why)));
	return 0;
}

static int
ctx_load(WOLFSSL_CTX *w, const struct cry_pem *pem)
{
	const struct cry_pem_block *key;
	int ncert, own, rc;

	if ((ncert = ctx_load_anchors(w, pem)) < 0)
		return ncert;
	if ((rc = ctx_load_key(w, pem, &key)) < 0)
		return rc;
	if ((own = ctx_find_own_cert(pem, key)) < 0 && ncert == 1)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "cert: the private key does not belong to "
		                    "the certificate");
	if (own < 0)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "cert: the private key belongs to none of "
		                    "the %d certificates",
		                    ncert);
	return ctx_load_chain(w, pem, own);
}

/*
 * The cipher suites, most preferred first: AEAD with ephemeral keys only;
 * TLS 1.2 suites stay for older peers.  The same set in either order, so
 * what an OpenSSL peer (a Perl node) offers is always there.  The order
 * follows the linked library and the CPU (cry_wolf_aes_fast): AES-GCM on
 * AES-NI runs at several GB/s per core, ChaCha20-Poly1305 in plain C at
 * about 250 MB/s and AES-GCM in plain C at about 90 MB/s (docs/perf.md),
 * so AES-GCM comes first only where AES-NI does it.  A wolfSSL server
 * picks by its own order and an OpenSSL server (a Perl node) by the
 * client's, so a connection with an aemp node on either side gets it.
 */
#define TLS_CHACHA13 "TLS13-CHACHA20-POLY1305-SHA256"
#define TLS_AES13 "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384"
#define TLS_CHACHA12 "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_AES12                                                              \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"
#define TLS_SUITES_AES                                                         \
	(TLS_AES13 ":" TLS_CHACHA13 ":" TLS_AES12 ":" TLS_CHACHA12)
#define TLS_SUITES_CHACHA                                                      \
	(TLS_CHACHA13 ":" TLS_AES13 ":" TLS_CHACHA12 ":" TLS_AES12)

/* A wolfSSL context for one role, loaded from pem. */
static int
ctx_make(WOLFSSL_CTX **out, const struct cry_pem *pem, int is_client)
{
	WOLFSSL_METHOD *m;
	WOLFSSL_CTX *w;
	int rc;

	m = is_client ? wolfSSLv23_client_method() : wolfSSLv23_server_method();
	if (m == NULL || (w = wolfSSL_CTX_new(m)) == NULL)
		return -ENOMEM;
	if (wolfSSL_CTX_SetMinVersion(w, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS) {
		rc = AEMP_SET_ERR(AEMP_ETLS, "tls: cannot require TLS 1.2");
		goto out;
	}
	if (wolfSSL_CTX_set_cipher_list(w, cry_wolf_aes_fast()
	                                           ? TLS_SUITES_AES
	                                           : TLS_SUITES_CHACHA) !=
	    WOLFSSL_SUCCESS) {
		rc = AEMP_SET_ERR(AEMP_ETLS,
		                  "tls: cannot set the cipher suites");
		goto out;
	}
	wolfSSL_CTX_set_verify(
	        w, WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT,
	        NULL);
	wolfSSL_CTX_set_session_cache_mode(w, WOLFSSL_SESS_CACHE_OFF);
	if (!is_client) {
		wolfSSL_CTX_no_ticket_TLSv13(w);
		wolfSSL_CTX_NoTicketTLSv12(w);
	}
	if ((rc = ctx_load(w, pem)) < 0)
		goto out;
	*out = w;
	w = NULL;
out:
	wolfSSL_CTX_free(w);
	return rc;
}

int
cry_tls_ctx_new(struct cry_tls_ctx **out, const char *pem_text, size_t len)
{
	struct cry_tls_ctx *ctx = NULL;
	struct cry_pem pem;
	int rc;

	if ((rc = cry_wolf_init()) < 0)
		return AEMP_SET_ERR(rc, "tls: wolfSSL initialisation failed");
	if ((rc = cry_pem_init(&pem, pem_text, len)) < 0)
		return rc;
	if ((ctx = ring_zalloc(sizeof(*ctx))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = ctx_make(&ctx->server, &pem, 0)) < 0 ||
	    (rc = ctx_make(&ctx->client, &pem, 1)) < 0)
		goto out;
	*out = ctx;
	ctx = NULL;
out:
	cry_tls_ctx_free(ctx);
	cry_pem_fini(&pem);
	return rc;
}

void
cry_tls_ctx_free(struct cry_tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	wolfSSL_CTX_free(ctx->client);
	wolfSSL_CTX_free(ctx->server);
	ring_free(ctx, sizeof(*ctx));
}

AEMP_API int
aemp_cert_check(const char *pem_text, size_t len)
{
	WOLFSSL_CTX *w = NULL;
	struct cry_pem pem;
	int rc;

	if ((rc = cry_wolf_init()) < 0)
		return AEMP_SET_ERR(rc, "tls: wolfSSL initialisation failed");
	if ((rc = cry_pem_init(&pem, pem_text, len)) < 0)
		return rc;
	rc = ctx_make(&w, &pem, 0);
	wolfSSL_CTX_free(w);
	cry_pem_fini(&pem);
	return rc;
}

const char *
cry_tls_lib(char *buf, size_t cap)
{
	return cry_wolf_describe(buf, cap);
}
