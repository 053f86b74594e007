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
 * Threads: the set-up runs once (pthread_once); the rest is reentrant.
 */
#include <pthread.h>
#include <stdio.h>

#include "crypto/wolf.h"
#include "ring/base.h"

static pthread_once_t wolf_once = PTHREAD_ONCE_INIT;
static pthread_key_t wolf_thread_key;
static int wolf_rc;

/* wolf_thread_exit - pthread key destructor, on the exiting thread. */
static void
wolf_thread_exit(void *arg)
{
	(void)arg;
#ifdef FP_ECC
	wc_ecc_fp_free();
#endif
}

static void
wolf_setup(void)
{
	wolf_rc = wolfSSL_Init() == WOLFSSL_SUCCESS ? 0 : AEMP_ETLS;
	if (wolf_rc == 0 &&
	    pthread_key_create(&wolf_thread_key, wolf_thread_exit) != 0)
		wolf_rc = AEMP_ETLS;
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
