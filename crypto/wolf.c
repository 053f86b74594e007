/*
 * crypto/wolf.c - wolfSSL library set-up and error texts.
 *
 * Threads: the set-up runs once (pthread_once); the rest is reentrant.
 */
#include <pthread.h>
#include <stdio.h>

#include "crypto/wolf.h"
#include "ring/base.h"

static pthread_once_t wolf_once = PTHREAD_ONCE_INIT;
static int wolf_rc;

static void
wolf_setup(void)
{
	wolf_rc = wolfSSL_Init() == WOLFSSL_SUCCESS ? 0 : AEMP_ETLS;
}

int
cry_wolf_init(void)
{
	pthread_once(&wolf_once, wolf_setup);
	return wolf_rc;
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
