/*
 * crypto/wolf.c - wolfSSL library set-up, per-thread clean-up and error
 * texts.
 *
 * wolfSSL built with FP_ECC (Debian's is) keeps a fixed-point cache per
 * thread (about 3,800 points, 12 MB) that only wc_ecc_fp_free, on that
 * thread, releases.  Shard threads run TLS handshakes and then exit, so
 * every thread that may have done ECC work is marked (cry_wolf_thread)
 * and a pthread key destructor frees its cache as it exits.  The main
 * thread's cache lives until the process ends.
 *
 * Which wolfSSL is linked, and whether its AES-GCM uses AES-NI on this CPU
 * (cry_wolf_info), is settled once at set-up: an AES-GCM key is set up
 * and the library's own choice read back (Aes.use_aesni, which wolfSSL
 * sets from CPUID), so the answer is the linked code's, not a guess from
 * headers.  That decides the cipher order (crypto/tls_ctx.c).
 *
 * Threads: the set-up runs once (pthread_once); the rest is reentrant.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "crypto/wolf.h"
#include "ring/base.h"

static pthread_once_t wolf_once = PTHREAD_ONCE_INIT;
static pthread_key_t wolf_thread_key;
static int wolf_rc;
static int wolf_gcm_aesni; /* set once by wolf_setup */

/* wolf_thread_exit - pthread key destructor, on the exiting thread. */
static void
wolf_thread_exit(void *arg)
{
	(void)arg;
#ifdef FP_ECC
	wc_ecc_fp_free();
#endif
}

/* 1 if an AES-GCM key set up by the library runs on AES-NI. */
static int
wolf_probe_gcm(void)
{
#ifdef WOLFSSL_AESNI
	static const byte key[16];
	Aes aes;
	int on;

	if (wc_AesInit(&aes, NULL, INVALID_DEVID) != 0)
		return 0;
	on = wc_AesGcmSetKey(&aes, key, sizeof(key)) == 0 && aes.use_aesni;
	wc_AesFree(&aes);
	return on;
#else
	return 0;
#endif
}

static void
wolf_setup(void)
{
	wolf_rc = wolfSSL_Init() == WOLFSSL_SUCCESS ? 0 : AEMP_ETLS;
	if (wolf_rc == 0 &&
	    pthread_key_create(&wolf_thread_key, wolf_thread_exit) != 0)
		wolf_rc = AEMP_ETLS;
	if (wolf_rc == 0)
		wolf_gcm_aesni = wolf_probe_gcm();
}

int
cry_wolf_init(void)
{
	pthread_once(&wolf_once, wolf_setup);
	if (wolf_rc == 0)
		cry_wolf_thread();
	return wolf_rc;
}

void
cry_wolf_thread(void)
{
	/* Only the first call on a thread stores anything. */
	if (pthread_getspecific(wolf_thread_key) == NULL)
		(void)pthread_setspecific(wolf_thread_key, &wolf_rc);
}

const char *
cry_wolf_errtext(int err, char *buf, size_t cap)
{
	const char *s;

	AEMP_ASSERT(cap > 0);
	s = wolfSSL_ERR_reason_error_string((unsigned long)err);
	if (s == NULL || *s == '\0')
		snprintf(buf, cap, "wolfSSL error %d", err);
	else
		snprintf(buf, cap, "%s", s);
	wolfSSL_ERR_clear_error();
	return buf;
}

/* The CPU's flags, as the compiler's run-time check sees them. */
static int
wolf_cpu_has(int aes)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	return aes ? __builtin_cpu_supports("aes") != 0
	           : __builtin_cpu_supports("avx2") != 0;
#else
	(void)aes;
	return 0;
#endif
}

void
cry_wolf_info(struct cry_wolf_info *out)
{
	AEMP_ASSERT(wolf_rc == 0);
	memset(out, 0, sizeof(*out));
	out->version = wolfSSL_lib_version();
#ifdef AEMP_WOLFSSL_BUILT
	out->built = 1;
#endif
#ifdef WOLFSSL_AESNI
	out->aesni = 1;
#endif
#ifdef USE_INTEL_SPEEDUP
	out->intelasm = 1;
#endif
	out->cpu_aes = wolf_cpu_has(1);
	out->cpu_avx2 = wolf_cpu_has(0);
	out->gcm_aesni = wolf_gcm_aesni;
}

int
cry_wolf_aes_fast(void)
{
	AEMP_ASSERT(wolf_rc == 0);
	return wolf_gcm_aesni;
}

const char *
cry_wolf_describe(char *buf, size_t cap)
{
	struct cry_wolf_info w;

	cry_wolf_info(&w);
	snprintf(buf, cap, "wolfSSL %s %s, AES-NI %s%s: %s first", w.version,
	         w.built ? "built from source" : "of Debian",
	         w.gcm_aesni ? "in use"
	         : w.aesni   ? "not on this CPU"
	                     : "not built in",
	         w.intelasm && w.cpu_avx2 ? ", AVX2 in use" : "",
	         w.gcm_aesni ? "AES-GCM" : "ChaCha20-Poly1305");
	return buf;
}
