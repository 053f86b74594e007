/*
 * crypto/crypto.h - hashing, random numbers and the AEMP authentication
 * tokens (aemp-protocol.md §2.8, §2.9), on wolfCrypt.
 *
 * Threads: every function is reentrant; no shared state.
 */
#ifndef CRYPTO_CRYPTO_H
#define CRYPTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define CRY_SHA3_512_LEN 64
#define CRY_HMAC_BLOCK 72 /* SHA3-512 rate: the HMAC block size AEMP uses */
#define CRY_TOKEN_HEX_MAX (2 * CRY_SHA3_512_LEN + 1)

/* cry_sha3_512 - FIPS 202 SHA3-512 of the concatenation of iov[0..n).
 * Returns 0 or AEMP_ETLS if wolfCrypt fails. */
int cry_sha3_512(const struct iovec *iov, int n, uint8_t out[CRY_SHA3_512_LEN]);

/* cry_hmac_sha3_512 - HMAC (RFC 2104, block size 72) with SHA3-512 over the
 * concatenation of iov[0..n).  Returns 0 or AEMP_ETLS. */
int cry_hmac_sha3_512(const void *key, size_t klen, const struct iovec *iov,
                      int n, uint8_t out[CRY_SHA3_512_LEN]);

/* cry_hex - lowercase hex of p[0..n) into out (2n + 1 bytes, NUL-terminated). */
void cry_hex(const uint8_t *p, size_t n, char *out);

/* cry_random - n bytes from the kernel CSPRNG (getrandom).  Returns 0 or a
 * negated errno. */
int cry_random(void *buf, size_t n);

/* cry_random_alnum - n characters drawn uniformly from 0-9A-Za-z (no
 * modulo bias) into out; no NUL is added.  Returns 0 or a negated errno. */
int cry_random_alnum(char *out, size_t n);

/* cry_base64 - standard Base64 (A-Z a-z 0-9 + /, '=' padding) of p[0..n)
 * into out (4 * ceil(n / 3) + 1 bytes, NUL-terminated).  Returns the length. */
size_t cry_base64(const uint8_t *p, size_t n, char *out);

/* cry_base64_decode - decode standard Base64 ('=' padding required, ASCII
 * whitespace skipped, as in PEM bodies) of s[0..n) into out (cap bytes;
 * 3 * (n / 4) always suffices).  Returns the decoded length, -EINVAL for
 * bad symbols or padding, -ENOBUFS if cap is too small. */
ssize_t cry_base64_decode(const char *s, size_t n, uint8_t *out, size_t cap);

/* cry_memeq - 1 if a and b (n bytes) are equal, in time independent of the
 * contents; else 0. */
int cry_memeq(const void *a, const void *b, size_t n);

/* Authentication methods of the AEMP handshake. */
enum cry_auth {
	CRY_AUTH_NONE = 0,
	CRY_AUTH_TLS_SHA3_512,
	CRY_AUTH_HMAC_SHA3_512,
	CRY_AUTH_TLS_ANON,
	CRY_AUTH_CLEARTEXT,
};

/* cry_auth_parse - the method named (s, n), CRY_AUTH_NONE if unknown;
 * cry_auth_name - its wire name. */
enum cry_auth cry_auth_parse(const char *s, size_t n);
const char *cry_auth_name(enum cry_auth m);

/*
 * cry_auth_token - the token of method m over the four greeting lines
 * l[0] LF l[1] LF l[2] LF l[3] LF (lines without terminators), as
 * lowercase hex into out (cap >= CRY_TOKEN_HEX_MAX, or 2 * secret_len + 1
 * for cleartext), NUL-terminated.  For the token to send, pass the local
 * lines first (L1, L2, R1, R2); for the token expected from the peer, the
 * remote lines first (R1, R2, L1, L2).  hmac_sha3_512 and cleartext use
 * the secret; tls_sha3_512 hashes the lines; tls_anon is the empty string.
 * Returns the token length, -EINVAL (unknown method, cap too small), or
 * AEMP_ETLS.
 */
int cry_auth_token(enum cry_auth m, const void *secret, size_t secret_len,
                   const struct iovec l[4], char *out, size_t cap);

#endif /* CRYPTO_CRYPTO_H */
