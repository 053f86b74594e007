/*
 * crypto/rand.c - random bytes from the kernel CSPRNG, uniform alphanumeric
 * strings (nonces, secrets, spawned port names) and aemp_gensecret.
 *
 * Invariant: every character of cry_random_alnum is uniform over the 62
 * symbols: bytes >= 248 (= 4 * 62) are rejected instead of reduced, so no
 * symbol is favoured by the modulo.
 * Threads: reentrant (getrandom has no user-space state).
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "crypto/crypto.h"
#include "crypto/wolf.h"
#include "ring/base.h"

static const char alnum[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#define ALNUM_N 62
#define ALNUM_REJECT (256 / ALNUM_N * ALNUM_N) /* 248: first biased byte */

_Static_assert(sizeof(alnum) - 1 == ALNUM_N, "alphabet of 62 symbols");

int
cry_random(void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
cry_random_alnum(char *out, size_t n)
{
	uint8_t pool[64];
	size_t used = sizeof(pool), i = 0;
	int rc = 0;

	while (i < n) {
		if (used == sizeof(pool)) {
			if ((rc = cry_random(pool, sizeof(pool))) < 0)
				break;
			used = 0;
		}
		uint8_t b = pool[used++];

		if (b >= ALNUM_REJECT)
			continue;
		out[i++] = alnum[b % ALNUM_N];
	}
	explicit_bzero(pool, sizeof(pool));
	return rc;
}

AEMP_API int
aemp_gensecret(char *out, size_t len)
{
	int rc;

	if (out == NULL || len == 0)
		return -EINVAL;
	if ((rc = cry_random_alnum(out, len)) < 0)
		return rc;
	out[len] = '\0';
	return 0;
}
