/*
 * crypto/base64.c - standard Base64 (RFC 4648 §4: A-Z a-z 0-9 + /, '='
 * padding), used for the handshake nonce line and for PEM bodies.
 *
 * The decoder is strict about the alphabet and the padding and skips ASCII
 * whitespace, which is what PEM bodies contain between lines.
 * Threads: reentrant.
 */
#include <errno.h>

#include "crypto/crypto.h"
#include "ring/base.h"

static const char b64_alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
cry_base64(const uint8_t *p, size_t n, char *out)
{
	size_t o = 0, i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
		             p[i + 2];

		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* Value of one Base64 symbol, -1 for anything else. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int
b64_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

ssize_t
cry_base64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t o = 0, k = 0, pad = 0;
	int done = 0; /* a padded quad ended the text */

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int v = b64_value(c);

		if (b64_space(c))
			continue;
		if (done || (c == '=' && k < 2) || (c != '=' && v < 0) ||
		    (c != '=' && pad > 0))
			return -EINVAL;
		acc = acc << 6 | (uint32_t)(c == '=' ? 0 : v);
		pad += c == '=';
		if (++k < 4)
			continue;
		if (o + 3 - pad > cap)
			return -ENOBUFS;
		out[o++] = (uint8_t)(acc >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(acc >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)acc;
		done = pad > 0;
		acc = 0;
		k = 0;
	}
	return k == 0 ? (ssize_t)o : -EINVAL;
}
