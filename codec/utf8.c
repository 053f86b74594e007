/*
 * codec/utf8.c - strict UTF-8 validation with an ASCII fast path (16 or
 * 8 bytes per step), since almost every string aemp sends is ASCII.
 *
 * Threads: pure functions.
 */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "codec/utf8.h"

#define UTF8_HI 0x8080808080808080ull

/* Length of the sequence led by c and the allowed range of the byte after
 * the lead (the remaining continuation bytes are always 0x80..0xbf);
 * len 0 for bytes that cannot lead. */
static int
utf8_lead(uint8_t c, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c == 0xe0)
		*lo = 0xa0;
	else if (c == 0xed)
		*hi = 0x9f; /* no UTF-16 surrogates */
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c == 0xf0)
		*lo = 0x90;
	else if (c == 0xf4)
		*hi = 0x8f; /* nothing above U+10FFFF */
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

int
cod_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint8_t lo, hi;
	uint64_t x;
	int k, j;

	while (i < n) {
#if defined(__SSE2__)
		if (n - i >= 16 && _mm_movemask_epi8(_mm_loadu_si128(
		                           (const __m128i *)(p + i))) == 0) {
			i += 16;
			continue;
		}
#endif
		if (n - i >= 8) {
			memcpy(&x, p + i, 8);
			if ((x & UTF8_HI) == 0) {
				i += 8;
				continue;
			}
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_lead(p[i], &lo, &hi);
		if (k == 0 || n - i < (size_t)k || p[i + 1] < lo ||
		    p[i + 1] > hi)
			return 0;
		for (j = 2; j < k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
		}
		i += (size_t)k;
	}
	return 1;
}
