/*
 * crypto/auth.c - names and tokens of the AEMP authentication methods
 * (aemp-protocol.md §2.8).
 *
 * Token over VIEW = l[0] LF l[1] LF l[2] LF l[3] LF:
 *   hmac_sha3_512  hex(HMAC-SHA3-512(secret, VIEW))
 *   tls_sha3_512   hex(SHA3-512(VIEW))
 *   tls_anon       ""
 *   cleartext      hex(secret)
 * The caller decides which lines come first (local for the token it sends,
 * remote for the token it expects); this file only builds the view.
 *
 * Invariant: the secret-based methods refuse an empty secret (-EINVAL), so
 * a node without a secret can never accept "cleartext;;" or an HMAC keyed
 * with nothing.
 * Threads: reentrant.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/wolf.h"
#include "ring/base.h"

static const char *const auth_names[] = {
        [CRY_AUTH_NONE] = "",
        [CRY_AUTH_TLS_SHA3_512] = "tls_sha3_512",
        [CRY_AUTH_HMAC_SHA3_512] = "hmac_sha3_512",
        [CRY_AUTH_TLS_ANON] = "tls_anon",
        [CRY_AUTH_CLEARTEXT] = "cleartext",
};

enum cry_auth
cry_auth_parse(const char *s, size_t n)
{
	for (size_t m = CRY_AUTH_NONE + 1; m < AEMP_ARRAY_LEN(auth_names);
	     m++) {
		if (strlen(auth_names[m]) == n &&
		    memcmp(auth_names[m], s, n) == 0)
			return (enum cry_auth)m;
	}
	return CRY_AUTH_NONE;
}

const char *
cry_auth_name(enum cry_auth m)
{
	AEMP_ASSERT((size_t)m < AEMP_ARRAY_LEN(auth_names));
	return auth_names[m];
}

/* The scatter list l[0] LF l[1] LF l[2] LF l[3] LF, into v[8]. */
static void
auth_view(const struct iovec l[4], struct iovec v[8])
{
	static const char lf[] = "\n";

	for (int i = 0; i < 4; i++) {
		v[2 * i] = l[i];
		v[2 * i + 1].iov_base = (void *)lf;
		v[2 * i + 1].iov_len = 1;
	}
}

static int
auth_digest(enum cry_auth m, const void *secret, size_t secret_len,
            const struct iovec l[4], char *out)
{
	uint8_t md[CRY_SHA3_512_LEN];
	struct iovec v[8];
	int rc;

	auth_view(l, v);
	if (m == CRY_AUTH_HMAC_SHA3_512)
		rc = cry_hmac_sha3_512(secret, secret_len, v, 8, md);
	else
		rc = cry_sha3_512(v, 8, md);
	if (rc < 0)
		return rc;
	cry_hex(md, sizeof(md), out);
	return 2 * CRY_SHA3_512_LEN;
}

int
cry_auth_token(enum cry_auth m, const void *secret, size_t secret_len,
               const struct iovec l[4], char *out, size_t cap)
{
	if (cap == 0)
		return -EINVAL;
	switch (m) {
	case CRY_AUTH_TLS_ANON:
		out[0] = '\0';
		return 0;
	case CRY_AUTH_CLEARTEXT:
		if (secret_len == 0 || secret_len > (cap - 1) / 2 ||
		    secret_len > INT_MAX / 2)
			return -EINVAL;
		cry_hex(secret, secret_len, out);
		return (int)(2 * secret_len);
	case CRY_AUTH_HMAC_SHA3_512:
		if (secret_len == 0)
			return -EINVAL;
		/* fall through */
	case CRY_AUTH_TLS_SHA3_512:
		if (cap < CRY_TOKEN_HEX_MAX)
			return -EINVAL;
		return auth_digest(m, secret, secret_len, l, out);
	default:
		return -EINVAL;
	}
}
