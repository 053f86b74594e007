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
 * Reads may run up to 63 bytes past the given length (SIMD loads), always
 * inside the COD_PADDING bytes every input carries.  The widest loads the
 * CPU offers (AVX-512BW, AVX2, SSE2) are picked at run time.
 *
 * Threads: pure functions over caller-owned state.
 */
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define JS_X86 1
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "codec/json.h"
#include "ring/base.h"

#define JS_INSTR 1u /* inside a string */
#define JS_ESC 2u   /* right after a backslash */

enum { C_OTHER = 0, C_OPEN, C_CLOSE, C_QUOTE, C_BSLASH };

/* A backslash escapes the next byte outside strings too (invalid JSON
 * either way), as in the block splitter and in simdjson's own scan: all
 * three must agree on where a packet ends. */
static const uint8_t js_class[256] = {
        ['['] = C_OPEN,  ['{'] = C_OPEN,  [']'] = C_CLOSE,
        ['}'] = C_CLOSE, ['"'] = C_QUOTE, ['\\'] = C_BSLASH,
};

#if JS_X86
__attribute__((target("avx512bw"))) static size_t
js_strspan_512(const uint8_t *p, size_t n)
{
	const __m512i q = _mm512_set1_epi8('"'), b = _mm512_set1_epi8('\\');
	size_t i = 0;

	while (i < n) {
		__m512i x = _mm512_loadu_si512((const void *)(p + i));
		uint64_t m = _mm512_cmpeq_epi8_mask(x, q) |
		             _mm512_cmpeq_epi8_mask(x, b);

		if (m != 0) {
			i += (size_t)__builtin_ctzll(m);
			return i < n ? i : n;
		}
		i += 64;
	}
	return n;
}
#endif

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
#if JS_X86
		/* Past the first 16 bytes it is a long string: go wide. */
		if (i < n && __builtin_cpu_supports("avx512bw"))
			return i + js_strspan_512(p + i, n - i);
#endif
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

/* A bracket c for the scanner: 1 when it closes the packet, 0, or an
 * error.  s->stack holds one bit per open container: set for objects. */
static int
js_scan_bracket(struct cod_stream *s, uint8_t c)
{
	uint32_t curly = c == '{' || c == '}', d;

	if (c == '[' || c == '{') {
		if (s->depth >= AEMP_MAX_DEPTH)
			return AEMP_EDEPTH;
		d = s->depth++;
		s->stack[d / 32] &= ~(1u << (d % 32));
		s->stack[d / 32] |= curly << (d % 32);
		return 0;
	}
	if (s->depth == 0) /* a stray close before the packet's '[' */
		return AEMP_EMALFORMED;
	d = --s->depth;
	if ((s->stack[d / 32] >> (d % 32) & 1) != curly)
		return AEMP_EMALFORMED;
	return d == 0;
}

ssize_t
cod_json_scan(struct cod_stream *s, const uint8_t *p, size_t n, int *done)
{
	size_t i = 0;
	int rc;

	*done = 0;
	while (i < n) {
		if (s->state & JS_INSTR) {
			i += js_string(&s->state, p + i, n - i);
			continue;
		}
		if (s->state & JS_ESC) {
			s->state &= ~JS_ESC;
			i++;
			continue;
		}
		switch (js_class[p[i++]]) {
		case C_OPEN:
		case C_CLOSE:
			if ((rc = js_scan_bracket(s, p[i - 1])) < 0)
				return rc;
			if (rc > 0) {
				*done = 1;
				return (ssize_t)i;
			}
			break;
		case C_QUOTE:
			s->state |= JS_INSTR;
			break;
		case C_BSLASH:
			s->state |= JS_ESC;
			break;
		default:
			break;
		}
	}
	return (ssize_t)i;
}

/* ---- block splitter for runs of complete packets ----------------------- */

/*
 * Masks of one 64-byte block at p (bit i = byte i): quotes, backslashes,
 * opening and closing brackets.  '[' 0x5b and '{' 0x7b differ only in
 * bit 5, as do ']' and '}', so one OR folds each pair.
 */
struct js_block {
	uint64_t quote;
	uint64_t bslash;
	uint64_t open;
	uint64_t close;
};

#if defined(__SSE2__)
static inline void
js_masks_128(const uint8_t *p, struct js_block *b)
{
	const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
	const __m128i o = _mm_set1_epi8('{'), c = _mm_set1_epi8('}');
	const __m128i f = _mm_set1_epi8(0x20);
	int k;

	memset(b, 0, sizeof(*b));
	for (k = 0; k < 4; k++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(p + 16 * k));
		__m128i y = _mm_or_si128(x, f);
		int sh = 16 * k;

		b->quote |= (uint64_t)(uint16_t)_mm_movemask_epi8(
		                    _mm_cmpeq_epi8(x, q))
		            << sh;
		b->bslash |= (uint64_t)(uint16_t)_mm_movemask_epi8(
		                     _mm_cmpeq_epi8(x, bs))
		             << sh;
		b->open |= (uint64_t)(uint16_t)_mm_movemask_epi8(
		                   _mm_cmpeq_epi8(y, o))
		           << sh;
		b->close |= (uint64_t)(uint16_t)_mm_movemask_epi8(
		                    _mm_cmpeq_epi8(y, c))
		            << sh;
	}
}
#else
static inline void
js_masks_128(const uint8_t *p, struct js_block *b)
{
	int i;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < 64; i++) {
		uint64_t bit = 1ull << i;

		b->quote |= p[i] == '"' ? bit : 0;
		b->bslash |= p[i] == '\\' ? bit : 0;
		b->open |= (p[i] | 0x20) == '{' ? bit : 0;
		b->close |= (p[i] | 0x20) == '}' ? bit : 0;
	}
}
#endif

#if JS_X86
/* The same with AVX2 (two loads) and AVX-512BW (one load, compares into
 * mask registers); chosen at run time by cod_json_split. */
__attribute__((target("avx2"))) static inline void
js_masks_256(const uint8_t *p, struct js_block *b)
{
	const __m256i q = _mm256_set1_epi8('"'), bs = _mm256_set1_epi8('\\');
	const __m256i o = _mm256_set1_epi8('{'), c = _mm256_set1_epi8('}');
	const __m256i f = _mm256_set1_epi8(0x20);
	__m256i x0 = _mm256_loadu_si256((const __m256i *)p);
	__m256i x1 = _mm256_loadu_si256((const __m256i *)(p + 32));
	__m256i y0 = _mm256_or_si256(x0, f), y1 = _mm256_or_si256(x1, f);

#define JS_M256(a, b)                                                          \
	((uint64_t)(uint32_t)_mm256_movemask_epi8(a) |                         \
	 (uint64_t)(uint32_t)_mm256_movemask_epi8(b) << 32)
	b->quote = JS_M256(_mm256_cmpeq_epi8(x0, q), _mm256_cmpeq_epi8(x1, q));
	b->bslash =
	        JS_M256(_mm256_cmpeq_epi8(x0, bs), _mm256_cmpeq_epi8(x1, bs));
	b->open = JS_M256(_mm256_cmpeq_epi8(y0, o), _mm256_cmpeq_epi8(y1, o));
	b->close = JS_M256(_mm256_cmpeq_epi8(y0, c), _mm256_cmpeq_epi8(y1, c));
#undef JS_M256
}

__attribute__((target("avx512bw"))) static inline void
js_masks_512(const uint8_t *p, struct js_block *b)
{
	__m512i x = _mm512_loadu_si512((const void *)p);
	__m512i y = _mm512_or_si512(x, _mm512_set1_epi8(0x20));

	b->quote = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('"'));
	b->bslash = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('\\'));
	b->open = _mm512_cmpeq_epi8_mask(y, _mm512_set1_epi8('{'));
	b->close = _mm512_cmpeq_epi8_mask(y, _mm512_set1_epi8('}'));
}
#endif

/* Characters escaped by a backslash in this block; *carry (in and out):
 * the first byte of the block is escaped.  Linear in the number of
 * backslashes, which are rare in aemp traffic. */
static uint64_t
js_escaped(uint64_t bslash, uint64_t *carry)
{
	uint64_t esc = *carry, b = bslash;
	int i;

	*carry = 0;
	while (b != 0) {
		i = __builtin_ctzll(b);
		b &= b - 1;
		if (esc >> i & 1)
			continue; /* an escaped backslash escapes nothing */
		if (i == 63)
			*carry = 1;
		else
			esc |= 1ull << (i + 1);
	}
	return esc;
}

/* Bit i set when an odd number of bits of x are at or below i. */
static uint64_t
js_prefix_xor(uint64_t x)
{
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	x ^= x << 32;
	return x;
}

/* State of a split across blocks. */
struct js_split {
	const uint8_t *p;
	size_t n;
	size_t max_packet;
	size_t run_bytes;
	struct cod_span *pk;
	size_t maxpk;
	size_t npk;
	size_t start;  /* start of the current packet */
	size_t resume; /* where the caller continues */
	uint32_t depth;
	int err;
	/* bit d: the container at depth d + 1 is an object.  Brackets must
	 * match here: simdjson's iterate_many takes "[1}" as a document. */
	uint64_t curly[(AEMP_MAX_DEPTH + 63) / 64];
};

/* Between packets at offset i: skip whitespace, then a packet must start.
 * Returns the offset after its '[', n when only whitespace is left, or
 * (size_t)-1 with s->err set. */
static size_t
js_packet_start(struct js_split *s, size_t i)
{
	while (i < s->n && (s->p[i] == ' ' || s->p[i] == '\n' ||
	                    s->p[i] == '\r' || s->p[i] == '\t'))
		i++;
	s->resume = i;
	if (i == s->n)
		return i;
	if (s->p[i] != '[') {
		s->err = AEMP_EMALFORMED;
		return (size_t)-1;
	}
	s->start = i;
	s->depth = 1;
	s->curly[0] &= ~1ull;
	return i + 1;
}

/* The bracket at offset `at` (outside strings).  Returns 1 when it closes
 * the packet, 0, or -1 with s->err set. */
static int
js_bracket(struct js_split *s, size_t at, int open)
{
	uint64_t curly = s->p[at] == '{' || s->p[at] == '}';
	uint32_t d;

	if (open) {
		if (s->depth >= AEMP_MAX_DEPTH) {
			s->err = AEMP_EDEPTH;
			return -1;
		}
		d = s->depth++;
		s->curly[d / 64] &= ~(1ull << (d % 64));
		s->curly[d / 64] |= curly << (d % 64);
		return 0;
	}
	d = --s->depth;
	if ((s->curly[d / 64] >> (d % 64) & 1) != curly) {
		s->err = AEMP_EMALFORMED;
		return -1;
	}
	return d == 0;
}

/* A packet ended at offset `end` (exclusive).  Returns 1 to stop. */
static int
js_packet_end(struct js_split *s, size_t end)
{
	if (end - s->start > s->max_packet) {
		s->err = AEMP_ETOOBIG;
		return 1;
	}
	s->pk[s->npk].off = s->start;
	s->pk[s->npk].len = end - s->start;
	s->npk++;
	s->depth = 0;
	s->resume = end;
	return s->npk == s->maxpk || end - s->pk[0].off >= s->run_bytes;
}

/* Walks the brackets of one block (base = its offset) from offset *cur.
 * Returns 1 to stop the split. */
static int
js_brackets(struct js_split *s, size_t base, uint64_t open, uint64_t brk,
            size_t *cur)
{
	uint64_t b;
	int i, rc;

	for (;;) {
		if (s->depth == 0) {
			*cur = js_packet_start(s, *cur);
			if (*cur == (size_t)-1)
				return 1;
		}
		if (*cur >= base + 64 || *cur >= s->n)
			return 0; /* whitespace skipped past this block */
		b = brk & (~0ull << (*cur - base));
		for (;;) {
			if (b == 0) {
				*cur = base + 64;
				return 0;
			}
			i = __builtin_ctzll(b);
			b &= b - 1;
			rc = js_bracket(s, base + (size_t)i,
			                (int)(open >> i & 1));
			if (rc < 0)
				return 1;
			if (rc > 0)
				break;
		}
		*cur = base + (size_t)i + 1;
		if (js_packet_end(s, *cur))
			return 1;
	}
}

/* The block loop, inlined into one function per instruction set so the
 * mask function is inlined too. */
static inline __attribute__((always_inline)) void
js_split_loop(struct js_split *s,
              void (*masks)(const uint8_t *, struct js_block *))
{
	uint64_t esc_carry = 0, str_carry = 0, valid, instr, esc;
	struct js_block b;
	size_t base, cur = 0;

	for (base = 0; base < s->n; base += 64) {
		masks(s->p + base, &b);
		valid = s->n - base >= 64 ? ~0ull : (1ull << (s->n - base)) - 1;
		esc = b.bslash != 0 || esc_carry
		              ? js_escaped(b.bslash, &esc_carry)
		              : 0;
		instr = js_prefix_xor(b.quote & ~esc) ^ str_carry;
		str_carry = 0 - (instr >> 63);
		/* Escaped brackets do not count (outside strings, where a
		 * backslash is invalid anyway, as in cod_json_scan). */
		if (js_brackets(s, base, b.open & ~instr & ~esc,
		                (b.open | b.close) & ~instr & ~esc & valid,
		                &cur))
			break;
	}
}

static void
js_split_128(struct js_split *s)
{
	js_split_loop(s, js_masks_128);
}

#if JS_X86
__attribute__((target("avx2"))) static void
js_split_256(struct js_split *s)
{
	js_split_loop(s, js_masks_256);
}

__attribute__((target("avx512bw"))) static void
js_split_512(struct js_split *s)
{
	js_split_loop(s, js_masks_512);
}
#endif

size_t
cod_json_split(const uint8_t *p, size_t n, size_t max_packet, size_t run_bytes,
               struct cod_span *pk, size_t maxpk, size_t *next, int *err)
{
	struct js_split s = {.p = p,
	                     .n = n,
	                     .max_packet = max_packet,
	                     .run_bytes = run_bytes,
	                     .pk = pk,
	                     .maxpk = maxpk};

	AEMP_ASSERT_HOT(maxpk > 0);
#if JS_X86
	if (__builtin_cpu_supports("avx512bw"))
		js_split_512(&s);
	else if (__builtin_cpu_supports("avx2"))
		js_split_256(&s);
	else
		js_split_128(&s);
#else
	js_split_128(&s);
#endif
	if (s.err == 0 && s.depth > 0 && n - s.start > max_packet)
		s.err = AEMP_ETOOBIG;
	*next = s.resume;
	*err = s.err;
	return s.npk;
}
