/*
 * crypto/wolf.h - the one way crypto/ includes wolfSSL, and the process-wide
 * library set-up.
 *
 * wolfssl/options.h must come before every other wolfSSL header, or the
 * structures seen here differ from the ones the library was built with; this
 * header fixes that order for all of crypto/.  Nothing outside crypto/
 * includes it (STYLE.md §1: only crypto/ talks to wolfSSL).
 *
 * Threads: cry_wolf_init may be called from any thread, any number of times;
 * the library is set up once.  cry_wolf_errtext and the cry_wolf_info
 * family are reentrant.
 */
#ifndef CRYPTO_WOLF_H
#define CRYPTO_WOLF_H

#include <stddef.h>

/* clang-format off */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/version.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha3.h>
/* clang-format on */

/* cry_wolf_init - wolfSSL_Init once per process (never cleaned up: contexts
 * may live until exit), and cry_wolf_thread for the calling thread.
 * Returns 0 or AEMP_ETLS. */
int cry_wolf_init(void);

/* cry_wolf_thread - the calling thread may do ECC work: free wolfSSL's
 * per-thread caches when it exits.  Cheap after the first call on a
 * thread; only after cry_wolf_init succeeded once in the process. */
void cry_wolf_thread(void);

/* cry_wolf_errtext - wolfSSL's text for error code err (a negative wolfSSL
 * or wolfCrypt code), written into buf (cap bytes, NUL-terminated).  Also
 * empties wolfSSL's per-thread error queue, so failed calls leave nothing
 * behind on the thread.  Returns buf. */
const char *cry_wolf_errtext(int err, char *buf, size_t cap);

/* What the linked wolfSSL does on this CPU (docs/tls.md §8). */
struct cry_wolf_info {
	/* 1: our build from Debian's source (tools/wolfssl.sh), 0: Debian's
	 * binary libwolfssl */
	int built;
	const char *version; /* of the linked library: "5.5.4" */
	int aesni;           /* built with AES-NI (WOLFSSL_AESNI) */
	int intelasm;  /* built with the AVX1/AVX2 code (USE_INTEL_SPEEDUP) */
	int cpu_aes;   /* this CPU has AES-NI */
	int cpu_avx2;  /* this CPU has AVX2 */
	int gcm_aesni; /* an AES-GCM key set up in the library uses AES-NI */
};

/* cry_wolf_info - fill *out.  Only after cry_wolf_init succeeded; any
 * thread. */
void cry_wolf_info(struct cry_wolf_info *out);

/* cry_wolf_aes_fast - 1 if AES-GCM runs on AES-NI here (the library has
 * the code and the CPU the instructions), so AES-GCM suites go first;
 * else ChaCha20-Poly1305 does.  Only after cry_wolf_init succeeded. */
int cry_wolf_aes_fast(void);

/* cry_wolf_describe - one line for people, into buf (cap bytes), e.g.
 * "wolfSSL 5.5.4 built from source, AES-NI and AVX2 in use: AES-GCM
 * first".  Returns buf. */
const char *cry_wolf_describe(char *buf, size_t cap);

#endif /* CRYPTO_WOLF_H */
