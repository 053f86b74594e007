/*
 * crypto/cert.c - aemp_gencert: a new self-signed node certificate like
 * Perl's `aemp gencert` (aemp-protocol.md §8.3): subject CN=AnyEvent::MP,
 * valid 3650 days, SHA-256 signature, RSA-2048 (or ECDSA P-256), written
 * as the PEM certificate followed by the unencrypted PKCS#8 private key
 * ("-----BEGIN PRIVATE KEY-----", what `openssl req -nodes` writes).
 *
 * Like `openssl req -x509` the certificate carries basicConstraints
 * CA:TRUE and subject/authority key identifiers, because every node uses
 * it as its own trust anchor as well as its identity.
 *
 * Invariant: the private key's DER is wiped from memory before return; it
 * only leaves in the returned PEM text, owned by the caller.
 * Threads: reentrant (a local wolfCrypt RNG per call).
 */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/wolf.h"
#include "ring/alloc.h"
#include "ring/base.h"

#define GEN_DER_MAX 4096
#define GEN_DAYS 3650
#define GEN_CN "AnyEvent::MP"
#define PEM_LINE 64

struct gen {
	int kind; /* AEMP_CERT_* */
	WC_RNG rng;
	RsaKey rsa;
	ecc_key ecc;
	int have_rng, have_key;
	Cert cert;
	uint8_t crt[GEN_DER_MAX];
	uint8_t key[GEN_DER_MAX]; /* PKCS#8: secret */
	int crt_len, key_len;
};

static int
gen_key(struct gen *g)
{
	int rc;

	if ((rc = wc_InitRng(&g->rng)) != 0)
		return rc;
	g->have_rng = 1;
	if (g->kind == AEMP_CERT_RSA2048) {
		if ((rc = wc_InitRsaKey(&g->rsa, NULL)) != 0)
			return rc;
		g->have_key = 1;
		return wc_MakeRsaKey(&g->rsa, 2048, WC_RSA_EXPONENT, &g->rng);
	}
	if ((rc = wc_ecc_init(&g->ecc)) != 0)
		return rc;
	g->have_key = 1;
	if ((rc = wc_ecc_make_key_ex(&g->rng, 32, &g->ecc, ECC_SECP256R1)))
		return rc;
	return wc_ecc_set_rng(&g->ecc, &g->rng);
}

static int
gen_cert(struct gen *g)
{
	int rsa = g->kind == AEMP_CERT_RSA2048;
	int type = rsa ? RSA_TYPE : ECC_TYPE;
	void *key = rsa ? (void *)&g->rsa : (void *)&g->ecc;
	Cert *c = &g->cert;
	int rc;

	if ((rc = wc_InitCert(c)) != 0)
		return rc;
	/* wc_InitCert: version 3, random serial, self-signed. */
	memcpy(c->subject.commonName, GEN_CN, sizeof(GEN_CN));
	c->daysValid = GEN_DAYS;
	c->sigType = rsa ? CTC_SHA256wRSA : CTC_SHA256wECDSA;
	c->isCA = 1;
	if ((rc = wc_SetSubjectKeyIdFromPublicKey_ex(c, type, key)) != 0 ||
	    (rc = wc_SetAuthKeyIdFromPublicKey_ex(c, type, key)) != 0)
		return rc;
	rc = wc_MakeCert_ex(c, g->crt, sizeof(g->crt), type, key, &g->rng);
	if (rc < 0)
		return rc;
	rc = wc_SignCert_ex(c->bodySz, c->sigType, g->crt, sizeof(g->crt), type,
	                    key, &g->rng);
	if (rc < 0)
		return rc;
	g->crt_len = rc;
	return 0;
}

/* The private key as PKCS#8 DER into g->key. */
static int
gen_key_der(struct gen *g)
{
	uint8_t pkcs1[GEN_DER_MAX];
	word32 len = sizeof(g->key);
	int rc;

	if (g->kind == AEMP_CERT_EC256) {
		rc = wc_EccKeyToPKCS8(&g->ecc, g->key, &len);
	} else {
		rc = wc_RsaKeyToDer(&g->rsa, pkcs1, sizeof(pkcs1));
		if (rc > 0)
			rc = wc_CreatePKCS8Key(g->key, &len, pkcs1, (word32)rc,
			                       RSAk, NULL, 0);
		explicit_bzero(pkcs1, sizeof(pkcs1));
	}
	if (rc < 0)
		return rc;
	g->key_len = (int)len;
	return 0;
}

/* Bytes pem_put writes for len bytes of DER under label. */
static size_t
pem_size(const char *label, size_t len)
{
	size_t b64 = (len + 2) / 3 * 4;

	return 2 * strlen(label) + 32 + b64 + (b64 + PEM_LINE - 1) / PEM_LINE;
}

static size_t
pem_put(char *out, const char *label, const uint8_t *der, size_t len)
{
	char *p = out;

	p += sprintf(p, "-----BEGIN %s-----\n", label);
	for (size_t i = 0; i < len; i += PEM_LINE / 4 * 3) {
		p += cry_base64(der + i, AEMP_MIN(len - i, PEM_LINE / 4 * 3),
		                p);
		*p++ = '\n';
	}
	p += sprintf(p, "-----END %s-----\n", label);
	return (size_t)(p - out);
}

static void
gen_free(struct gen *g)
{
	if (g == NULL)
		return;
	if (g->have_key && g->kind == AEMP_CERT_RSA2048)
		wc_FreeRsaKey(&g->rsa);
	else if (g->have_key)
		wc_ecc_free(&g->ecc);
	if (g->have_rng)
		wc_FreeRng(&g->rng);
	explicit_bzero(g, sizeof(*g)); /* the keys live inline in g */
	ring_free(g, sizeof(*g));
}

/* Certificate then key as one PEM text (new, ring_alloc). */
static char *
gen_pem(const struct gen *g)
{
	size_t cap = pem_size("CERTIFICATE", (size_t)g->crt_len) +
	             pem_size("PRIVATE KEY", (size_t)g->key_len) + 1;
	char *pem = ring_alloc(cap);
	size_t n;

	if (pem == NULL)
		return NULL;
	n = pem_put(pem, "CERTIFICATE", g->crt, (size_t)g->crt_len);
	n += pem_put(pem + n, "PRIVATE KEY", g->key, (size_t)g->key_len);
	AEMP_ASSERT(n < cap);
	pem[n] = '\0';
	return pem;
}

AEMP_API int
aemp_gencert(int kind, char **pem_out)
{
	struct gen *g = NULL;
	const char *step = "key generation";
	int rc;

	if ((kind != AEMP_CERT_RSA2048 && kind != AEMP_CERT_EC256) ||
	    pem_out == NULL)
		return -EINVAL;
	if ((rc = cry_wolf_init()) < 0)
		return AEMP_SET_ERR(rc,
		                    "gencert: wolfSSL initialisation failed");
	if ((g = ring_zalloc(sizeof(*g))) == NULL)
		return -ENOMEM;
	g->kind = kind;
	if ((rc = gen_key(g)) != 0)
		goto fail;
	step = "certificate generation";
	if ((rc = gen_cert(g)) != 0)
		goto fail;
	step = "key encoding";
	if ((rc = gen_key_der(g)) != 0)
		goto fail;
	*pem_out = gen_pem(g);
	rc = *pem_out != NULL ? 0 : -ENOMEM;
	goto out;
fail:
	rc = AEMP_SET_ERR(AEMP_ETLS, "gencert: %s failed (wolfCrypt %d)", step,
	                  rc);
out:
	gen_free(g);
	return rc;
}
