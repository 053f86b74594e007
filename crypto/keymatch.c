/*
 * crypto/keymatch.c - does a private key belong to a certificate?
 *
 * wolfSSL_CTX_check_private_key (Debian's wolfSSL 5.5.4) accepts any P-256
 * key for any P-256 certificate, so the answer here is a proof instead of
 * a comparison: a fresh random challenge is signed with the private key
 * (SHA-256) and verified with the certificate's public key.  That works
 * the same for RSA and EC keys in every encoding wolfSSL reads (PKCS#8,
 * PKCS#1, SEC1), and is what a TLS peer will do with the pair anyway.
 *
 * Threads: reentrant.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/tls_int.h"
#include "crypto/wolf.h"
#include "ring/base.h"

#define KM_CHALLENGE 32
#define KM_SIG_MAX 1024 /* RSA-8192 */

static int
km_sign(WOLFSSL_EVP_PKEY *k, const uint8_t *msg, uint8_t *sig, size_t *len)
{
	WOLFSSL_EVP_MD_CTX *c = wolfSSL_EVP_MD_CTX_new();
	int ok;

	ok = c != NULL &&
	     wolfSSL_EVP_DigestSignInit(c, NULL, wolfSSL_EVP_sha256(), NULL,
	                                k) == WOLFSSL_SUCCESS &&
	     wolfSSL_EVP_DigestSignUpdate(c, msg, KM_CHALLENGE) ==
	             WOLFSSL_SUCCESS &&
	     wolfSSL_EVP_DigestSignFinal(c, sig, len) == WOLFSSL_SUCCESS;
	wolfSSL_EVP_MD_CTX_free(c);
	return ok;
}

static int
km_verify(WOLFSSL_EVP_PKEY *k, const uint8_t *msg, const uint8_t *sig,
          size_t len)
{
	WOLFSSL_EVP_MD_CTX *c = wolfSSL_EVP_MD_CTX_new();
	int ok;

	ok = c != NULL &&
	     wolfSSL_EVP_DigestVerifyInit(c, NULL, wolfSSL_EVP_sha256(), NULL,
	                                  k) == WOLFSSL_SUCCESS &&
	     wolfSSL_EVP_DigestVerifyUpdate(c, msg, KM_CHALLENGE) ==
	             WOLFSSL_SUCCESS &&
	     wolfSSL_EVP_DigestVerifyFinal(c, sig, len) == WOLFSSL_SUCCESS;
	wolfSSL_EVP_MD_CTX_free(c);
	return ok;
}

int
cry_key_matches(const uint8_t *key, size_t klen, const uint8_t *crt,
                size_t clen)
{
	const unsigned char *p = key;
	WOLFSSL_EVP_PKEY *priv = NULL, *pub = NULL;
	WOLFSSL_X509 *x = NULL;
	uint8_t msg[KM_CHALLENGE], sig[KM_SIG_MAX];
	size_t sig_len = sizeof(sig);
	int rc = -1;

	if (klen > INT32_MAX || clen > INT32_MAX)
		return -1;
	priv = wolfSSL_d2i_AutoPrivateKey(NULL, &p, (long)klen);
	x = wolfSSL_X509_d2i(NULL, crt, (int)clen);
	pub = x != NULL ? wolfSSL_X509_get_pubkey(x) : NULL;
	if (priv == NULL || pub == NULL || cry_random(msg, sizeof(msg)) < 0)
		goto out;
	rc = km_sign(priv, msg, sig, &sig_len) &&
	     km_verify(pub, msg, sig, sig_len);
out:
	wolfSSL_EVP_PKEY_free(priv);
	wolfSSL_EVP_PKEY_free(pub);
	wolfSSL_X509_free(x);
	wolfSSL_ERR_clear_error();
	return rc;
}
