/*
 * codec/cbor_scan.c - the resumable boundary scanner for partial CBOR
 * packets: where does the packet end, fed any number of bytes at a time,
 * with constant work per byte (string payloads are skipped in one step).
 *
 * It must agree with the decoder (codec/cbor.c) on every input: end
 * complete packets where the decoder does, and refuse what the decoder
 * refuses (reserved heads, stray breaks, mixed string chunks, map keys that
 * are not strings or integers, nesting of containers and tags deeper than
 * AEMP_MAX_DEPTH), so a stream behaves the same however it is split (the
 * fuzzers check this).
 * It also refuses, as soon as a head arrives, a length or count that
 * cannot fit in what max_packet leaves of the packet.
 *
 * State in struct cod_stream (fields depth, state, need, arg, stack):
 *  - state SCAN_HEAD: the next byte is an item head (or a break);
 *  - state SCAN_ARG | head << 8: `need` more argument bytes of that head
 *    are missing, `arg` holds the ones seen;
 *  - state SCAN_SKIP: `need` more string payload bytes to skip.
 * stack[0..depth) holds, per open container, the items still expected
 * (keys and values for maps, with SCAN_MAP set) or one of the markers
 * for indefinite containers and strings, and for tags (a tag inside the
 * packet is one nesting level, as in the decoder, open until its item
 * ends; tags in front of the packet are skipped and take none).
 *
 * Threads: state belongs to one stream.
 */
#include "codec/cbor.h"
#include "ring/base.h"

enum { SCAN_HEAD = 0, SCAN_ARG = 1, SCAN_SKIP = 2 };
#define SCAN_KIND 0xffu

#define SCAN_MAP (1u << 31)           /* definite map: count | MAP */
#define SCAN_INDEF_A UINT32_MAX       /* indefinite array */
#define SCAN_IMAP_K (UINT32_MAX - 1)  /* indefinite map, key next */
#define SCAN_IMAP_V (UINT32_MAX - 2)  /* indefinite map, value next */
#define SCAN_ISTR_B (UINT32_MAX - 3)  /* indefinite byte string */
#define SCAN_ISTR_T (UINT32_MAX - 4)  /* indefinite text string */
#define SCAN_TAG_K (UINT32_MAX - 5)   /* tag where a map key goes */
#define SCAN_TAG_V (UINT32_MAX - 6)   /* tag anywhere else */
#define SCAN_MARK SCAN_TAG_V          /* lowest marker */
#define SCAN_COUNT_MAX (SCAN_MAP - 8) /* keeps counts below the markers */

_Static_assert(SCAN_MARK > (SCAN_MAP | SCAN_COUNT_MAX),
               "markers are above every map count");

void
cod_cbor_scan_start(struct cod_stream *s)
{
	s->depth = 0;
	s->state = SCAN_HEAD;
	s->need = 0;
	s->arg = 0;
}

static uint32_t
scan_top(const struct cod_stream *s)
{
	return s->depth > 0 ? s->stack[s->depth - 1] : 0;
}

/* 1 if the next item is a map key. */
static int
scan_at_key(const struct cod_stream *s)
{
	uint32_t top = scan_top(s);

	if (s->depth == 0)
		return 0;
	if (top >= SCAN_MARK)
		return top == SCAN_IMAP_K || top == SCAN_TAG_K;
	return (top & SCAN_MAP) && (top & ~SCAN_MAP) % 2 == 0;
}

/* An item ended: count it in its container, closing finished ones.
 * Returns 1 when the packet (the top-level item) is complete. */
static int
scan_item_done(struct cod_stream *s)
{
	while (s->depth > 0) {
		uint32_t *left = &s->stack[s->depth - 1];

		if (*left == SCAN_TAG_K || *left == SCAN_TAG_V) {
			s->depth--; /* its item ended: so did the tag */
			continue;
		}
		if (*left == SCAN_IMAP_K || *left == SCAN_IMAP_V) {
			*left = *left == SCAN_IMAP_K ? SCAN_IMAP_V
			                             : SCAN_IMAP_K;
			return 0;
		}
		if (*left >= SCAN_MARK)
			return 0;
		if ((--*left & ~SCAN_MAP) > 0)
			return 0;
		s->depth--;
	}
	return 1;
}

static int
scan_open(struct cod_stream *s, uint32_t what)
{
	if (s->depth > AEMP_MAX_DEPTH) /* only a string can sit at 512 */
		return AEMP_EMALFORMED;
	s->stack[s->depth++] = what;
	return 0;
}

/* Array or map head (mt 4 or 5). */
static int
scan_container(struct cod_stream *s, unsigned mt, unsigned ai, uint64_t arg,
               size_t left)
{
	if (s->depth >= AEMP_MAX_DEPTH)
		return AEMP_EDEPTH;
	if (ai == 31)
		return scan_open(s, mt == 4 ? SCAN_INDEF_A : SCAN_IMAP_K);
	/* Every item takes a byte: a larger count cannot fit. */
	if (mt == 5 && arg > UINT64_MAX / 2)
		return AEMP_ETOOBIG;
	if (mt == 5)
		arg *= 2;
	if (arg > left || arg > SCAN_COUNT_MAX)
		return AEMP_ETOOBIG;
	if (arg == 0)
		return scan_item_done(s);
	return scan_open(s, (uint32_t)arg | (mt == 5 ? SCAN_MAP : 0));
}

/* Checks what may come here: a packet starts with an array (after tags),
 * an indefinite string holds definite chunks of its own type, a map key
 * is a string, an integer or a tag (and so is the item of a tag there). */
static int
scan_allowed(const struct cod_stream *s, unsigned mt, unsigned ai)
{
	uint32_t top = scan_top(s);

	if (s->depth == 0 && mt != 4 && mt != 6)
		return 0;
	if (s->depth > 0 && (top == SCAN_ISTR_B || top == SCAN_ISTR_T))
		return mt == (top == SCAN_ISTR_B ? 2u : 3u) && ai != 31;
	if (scan_at_key(s) && mt > 3 && mt != 6)
		return 0;
	return !(ai == 31 && (mt < 2 || mt == 6));
}

/* A complete head; `left` is what max_packet leaves for the rest of the
 * packet.  Returns 1 (packet complete), 0, or an error. */
static int
scan_head(struct cod_stream *s, unsigned mt, unsigned ai, uint64_t arg,
          size_t left)
{
	if (!scan_allowed(s, mt, ai))
		return AEMP_EMALFORMED;
	switch (mt) {
	case 2:
	case 3:
		if (ai == 31)
			return scan_open(s,
			                 mt == 2 ? SCAN_ISTR_B : SCAN_ISTR_T);
		if (arg > left)
			return AEMP_ETOOBIG;
		s->need = arg;
		s->state = arg > 0 ? SCAN_SKIP : SCAN_HEAD;
		return arg > 0 ? 0 : scan_item_done(s);
	case 4:
	case 5:
		return scan_container(s, mt, ai, arg, left);
	case 6:
		if (s->depth == 0) /* in front of the packet: skipped */
			return 0;
		if (s->depth >= AEMP_MAX_DEPTH)
			return AEMP_EDEPTH;
		return scan_open(s, scan_at_key(s) ? SCAN_TAG_K : SCAN_TAG_V);
	case 7:
		if (ai < 20 || ai == 24)
			return AEMP_EMALFORMED;
		return scan_item_done(s);
	default:
		return scan_item_done(s);
	}
}

/* A break (0xff) closes an indefinite container or string, never a map
 * between a key and its value, never a tag before its item. */
static int
scan_break(struct cod_stream *s)
{
	uint32_t top = scan_top(s);

	if (s->depth == 0 || top < SCAN_MARK || top == SCAN_IMAP_V ||
	    top == SCAN_TAG_K || top == SCAN_TAG_V)
		return AEMP_EMALFORMED;
	s->depth--;
	return scan_item_done(s);
}

/* First byte of a head at state SCAN_HEAD. */
static int
scan_first(struct cod_stream *s, uint8_t b, size_t left)
{
	unsigned ai = b & 31;

	if (b == 0xff)
		return scan_break(s);
	/* The decoder judges the kind on the first byte, so do we. */
	if (!scan_allowed(s, b >> 5, ai))
		return AEMP_EMALFORMED;
	if (ai >= 24 && ai <= 27) {
		s->state = SCAN_ARG | (uint32_t)b << 8;
		s->need = 1u << (ai - 24);
		s->arg = 0;
		return 0;
	}
	if (ai > 27 && ai < 31)
		return AEMP_EMALFORMED;
	return scan_head(s, b >> 5, ai, ai < 24 ? ai : 0, left);
}

ssize_t
cod_cbor_scan(struct cod_stream *s, const uint8_t *p, size_t n, int *done)
{
	size_t i = 0, k, base = s->len, left;
	uint8_t h;
	int rc = 0;

	/* base + i: bytes of the packet seen so far (s->len are buffered) */
	*done = 0;
	while (i < n) {
		if ((s->state & SCAN_KIND) == SCAN_SKIP) {
			k = s->need < n - i ? (size_t)s->need : n - i;
			i += k;
			s->need -= k;
			if (s->need > 0)
				return (ssize_t)i;
			s->state = SCAN_HEAD;
			rc = scan_item_done(s);
		} else if ((s->state & SCAN_KIND) == SCAN_ARG) {
			s->arg = s->arg << 8 | p[i++];
			if (--s->need > 0)
				continue;
			h = (uint8_t)(s->state >> 8);
			s->state = SCAN_HEAD;
			left = s->max_packet -
			       AEMP_MIN(base + i, s->max_packet);
			rc = scan_head(s, h >> 5, h & 31, s->arg, left);
		} else {
			i++;
			left = s->max_packet -
			       AEMP_MIN(base + i, s->max_packet);
			rc = scan_first(s, p[i - 1], left);
		}
		if (rc < 0)
			return rc;
		if (rc > 0) {
			*done = 1;
			return (ssize_t)i;
		}
	}
	return (ssize_t)i;
}
