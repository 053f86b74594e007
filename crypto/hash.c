/*
 * crypto/hash.c - SHA3-512 and HMAC-SHA3-512 over scatter lists, lowercase
 * hex and constant-time comparison (aemp-protocol.md §2.8, §2.9).
 *
 * HMAC: wolfCrypt's HMAC with WC_SHA3_512 already uses the SHA3-512 rate
 * (72 bytes) as its block size, which is what Perl's AnyEvent::MP (OpenSSL
 * HMAC with EVP_sha3_512) computes.  tests/unit/crypto_hash.c pins this with
 * the §2.9 vectors, including the one a block size of 128 would give.
 *
 * Invariant: HMAC state holds key material; it is wiped before return.
 * Threads: reentrant; all state is on the caller's stack.
 */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/wolf.h"
#include "ring/base.h"

/* wolfCrypt takes word32 lengths; longer pieces go in slices. */
#define HASH_SLICE_MAX ((size_t)1 << 30)

static int
sha3_update_iov(wc_Sha3 *sha, const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;

		while (len > 0) {
			size_t k = AEMP_MIN(len, HASH_SLICE_MAX);

			if (wc_Sha3_512_Update(sha, p, (word32)k) != 0)
				return AEMP_ETLS;
			p += k;
			len -= k;
		}
	}
	return 0;
}

int
cry_sha3_512(const struct iovec *iov, int n, uint8_t out[CRY_SHA3_512_LEN])
{
	wc_Sha3 sha;
	int rc;

	AEMP_ASSERT(n >= 0);
	if (wc_InitSha3_512(&sha, NULL, INVALID_DEVID) != 0)
		return AEMP_ETLS;
	rc = sha3_update_iov(&sha, iov, n);
	if (rc == 0 && wc_Sha3_512_Final(&sha, out) != 0)
		rc = AEMP_ETLS;
	wc_Sha3_512_Free(&sha);
	return rc;
}

static int
hmac_update_iov(Hmac *h, const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;

		while (len > 0) {
			size_t k = AEMP_MIN(len, HASH_SLICE_MAX);

			if (wc_HmacUpdate(h, p, (word32)k) != 0)
				return AEMP_ETLS;
			p += k;
			len -= k;
		}
	}
	return 0;
}

int
cry_hmac_sha3_512(const void *key, size_t klen, const struct iovec *iov, int n,
                  uint8_t out[CRY_SHA3_512_LEN])
{
	Hmac h;
	int rc = AEMP_ETLS;

	AEMP_ASSERT(n >= 0);
	AEMP_ASSERT(key != NULL || klen == 0);
	/* Keys longer than the block are hashed first (RFC 2104), so any
	 * length works; word32 only bounds what wolfCrypt accepts. */
	if (klen > UINT32_MAX)
		return -EINVAL;
	if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
		return AEMP_ETLS;
	if (wc_HmacSetKey(&h, WC_SHA3_512, key, (word32)klen) != 0)
		goto out;
	if ((rc = hmac_update_iov(&h, iov, n)) < 0)
		goto out;
	rc = wc_HmacFinal(&h, out) == 0 ? 0 : AEMP_ETLS;
out:
	wc_HmacFree(&h);
	explicit_bzero(&h, sizeof(h));
	return rc;
}

void
cry_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
cry_memeq(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a;
	const volatile uint8_t *y = b;
	unsigned diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned)(x[i] ^ y[i]);
	/* diff in 0..255: (diff - 1) >> 8 is 1 only for diff == 0, and the
	 * result does not depend on a branch. */
	return (int)(1 & ((diff - 1) >> 8));
}
