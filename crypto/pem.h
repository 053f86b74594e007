/*
 * crypto/pem.h - splitting a PEM text (the "cert" configuration value) into
 * its blocks, decoded to DER, so that each can be handed to wolfSSL as
 * what it is: the private key, the node certificate, CA certificates.
 *
 * Accepted: any number of "-----BEGIN L-----" ... "-----END L-----" blocks
 * in any order, text between blocks ignored (OpenSSL writes "Bag
 * Attributes" there, people write comments).  Kinds: CERTIFICATE (also
 * "X509 CERTIFICATE"), PRIVATE KEY (PKCS#8), RSA PRIVATE KEY (PKCS#1), EC
 * PRIVATE KEY (SEC1).  Other labels (EC PARAMETERS, ...) are skipped.
 * Refused with AEMP_ECONFIG: no block at all, a block without its END line,
 * bad Base64, encrypted keys (no passphrase can be given), more than
 * CRY_PEM_BLOCKS_MAX blocks, texts above CRY_PEM_TEXT_MAX bytes.
 *
 * Invariant: key bytes never reach an error message; cry_pem_fini wipes the
 * decoded DER before freeing it.
 * Threads: reentrant; a cry_pem belongs to one thread.
 */
#ifndef CRYPTO_PEM_H
#define CRYPTO_PEM_H

#include <stddef.h>
#include <stdint.h>

#define CRY_PEM_BLOCKS_MAX 32
#define CRY_PEM_TEXT_MAX (1u << 20)
#define CRY_PEM_LABEL_MAX 40

enum cry_pem_kind {
	CRY_PEM_CERT = 1,
	CRY_PEM_KEY,
};

struct cry_pem_block {
	enum cry_pem_kind kind;
	int index;                         /* 1-based position in the text */
	char label[CRY_PEM_LABEL_MAX + 1]; /* e.g. "RSA PRIVATE KEY" */
	const uint8_t *der;                /* into cry_pem.buf */
	size_t der_len;
};

struct cry_pem {
	struct cry_pem_block blk[CRY_PEM_BLOCKS_MAX]; /* certs and keys only */
	int n;
	uint8_t *buf; /* every block's DER, back to back */
	size_t cap;
};

/*
 * cry_pem_init - split text[0..len) into *pem (caller's storage).
 * Returns 0, AEMP_ECONFIG (reason in aemp_errmsg, prefixed "cert: ") or
 * -ENOMEM.  On failure *pem holds nothing to free, but cry_pem_fini may
 * still be called.
 */
int cry_pem_init(struct cry_pem *pem, const char *text, size_t len);

/* cry_pem_fini - wipe and free what cry_pem_init allocated. */
void cry_pem_fini(struct cry_pem *pem);

#endif /* CRYPTO_PEM_H */
