/*
 * codec/json_scan.c - where does a JSON packet end?  A resumable scanner
 * that tracks bracket depth and string state, so the stream can hand runs
 * of complete packets to simdjson and keep partial ones, with work linear
 * in the input however it is split.
 *
 * It does not validate JSON (simdjson does that on the complete packet);
 * it only has to agree with any JSON parser on where a *valid* packet ends,
 * which depends on brackets outside strings, quotes and backslashes alone.
 * Mismatched brackets ("[}") end a packet here and then fail in simdjson.
 *
 * Invariants: depth never exceeds AEMP_MAX_DEPTH (AEMP_EDEPTH instead).
 * Reads may run up to 15 bytes past the given length (SIMD loads), always
 * inside the COD_PADDING bytes every input carries.
 *
 * Threads: pure functions over caller-owned state.
 */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "codec/json.h"
#include "ring/base.h"

#define JS_INSTR 1u /* inside a string */
#define JS_ESC 2u   /* inside a string, right after a backslash */

enum { C_OTHER = 0, C_OPEN, C_CLOSE, C_QUOTE };

static const uint8_t js_class[256] = {
        ['['] = C_OPEN,  ['{'] = C_OPEN,  [']'] = C_CLOSE,
        ['}'] = C_CLOSE, ['"'] = C_QUOTE,
};

size_t
cod_json_strspan(const uint8_t *p, size_t n)
{
	size_t i = 0;

#if defined(__SSE2__)
	const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\');

	while (i < n) {
		__m128i x = _mm_loadu_si128((const __m128i *)(p + i));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
		        _mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, b)));

		if (m != 0) {
			i += (size_t)__builtin_ctz(m);
			return i < n ? i : n;
		}
		i += 16;
	}
	return n;
#else
	while (i < n && p[i] != '"' && p[i] != '\\')
		i++;
	return i;
#endif
}

/* Inside a string: consume up to and including the closing quote. */
static size_t
js_string(uint32_t *state, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (*state & JS_ESC) {
			*state &= ~JS_ESC;
			i++;
			continue;
		}
		i += cod_json_strspan(p + i, n - i);
		if (i == n)
			break;
		if (p[i++] == '\\') {
			*state |= JS_ESC;
		} else {
			*state &= ~JS_INSTR;
			break;
		}
	}
	return i;
}

ssize_t
cod_json_scan(uint32_t *depth, uint32_t *state, const uint8_t *p, size_t n,
              int *done)
{
	uint32_t d = *depth;
	size_t i = 0;

	*done = 0;
	while (i < n) {
		if (*state & JS_INSTR) {
			i += js_string(state, p + i, n - i);
			continue;
		}
		switch (js_class[p[i++]]) {
		case C_OPEN:
			if (d >= AEMP_MAX_DEPTH)
				return AEMP_EDEPTH;
			d++;
			break;
		case C_CLOSE:
			/* d is 0 only on a stray close: let simdjson judge. */
			if (d <= 1) {
				*depth = 0;
				*done = 1;
				return (ssize_t)i;
			}
			d--;
			break;
		case C_QUOTE:
			*state |= JS_INSTR;
			break;
		default:
			break;
		}
	}
	*depth = d;
	return (ssize_t)i;
}
