/*
 * codec/codec.h - AEMP packet framing: streaming decoders and encoders for
 * the two framings aemp speaks, JSON (aemp-protocol.md §3.3, parsed with
 * simdjson behind codec/json.h) and CBOR (§3.4).
 *
 * A packet is one array [DEST_PORTNAME, ELEMENT...] (§3.1).  Decoders turn
 * bytes into aemp_val trees held in a reusable tape; strings point into the
 * input bytes where the framing allows (CBOR except indefinite-length
 * strings and integer map keys, JSON when the string has no escapes) and
 * otherwise into the tape's scratch space or the JSON parser's string
 * buffer, both owned by the tape.  Integers from -2^64 to 2^64-1 decode
 * exactly (AEMP_INT, AEMP_UINT); CBOR tags decode to AEMP_TAG values, and
 * CBOR strings, floats and `undefined` carry the flags that make the
 * encoder write them back byte for byte (aemp.h, AEMP_VF_*).
 * docs/wire.md ("Framing") has the full mapping and the design.
 *
 * Bounds: nesting deeper than AEMP_MAX_DEPTH gives AEMP_EDEPTH, a packet
 * longer than the stream's max_packet gives AEMP_ETOOBIG (detected as soon
 * as more than max_packet bytes of one packet have arrived), anything else
 * invalid gives AEMP_EMALFORMED.  Out of memory gives -ENOMEM.
 *
 * Input padding: every input buffer handed to a decoder must have
 * COD_PADDING readable bytes after its end (simdjson reads past the data;
 * aemp's receive buffers reserve them).  The padding is never interpreted.
 *
 * Threads: no shared state; each shard owns its tapes and streams.
 */
#ifndef CODEC_CODEC_H
#define CODEC_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aemp.h"

#define COD_PADDING 64

/* cod_is_container - 1 for the kinds whose u.a points at children:
 * ARRAY, MAP and TAG (one test, it sits on every tree walk). */
static inline int
cod_is_container(uint8_t type)
{
	return type < 16 &&
	       ((1u << type) & ((1u << AEMP_ARRAY) | (1u << AEMP_MAP) |
	                        (1u << AEMP_TAG))) != 0;
}

/* cod_nkids - the number of children of a container v: len for ARRAY and
 * TAG (2), 2 * len for MAP. */
static inline size_t
cod_nkids(const aemp_val *v)
{
	return v->type == AEMP_MAP ? 2 * (size_t)v->len : v->len;
}

enum cod_framing {
	COD_NONE = 0,
	COD_JSON = 1,
	COD_CBOR = 2,
};

/* cod_framing_name - "json", "cbor" or NULL; cod_framing_parse - the
 * framing named by (s, n), or COD_NONE for anything else (e.g.
 * "storable"). */
const char *cod_framing_name(enum cod_framing f);
enum cod_framing cod_framing_parse(const char *s, size_t n);

/*
 * A tape: the decoder's output space, reused packet after packet.  Values
 * produced by one decode stay valid until the next decode into the same
 * tape (or cod_tape_fini).  One tape per shard.
 */
struct cod_tape {
	aemp_val *v; /* finished values; containers' children */
	size_t vcap;
	size_t vlen;
	aemp_val *stk; /* values whose container is still open */
	size_t stkcap;
	size_t stklen;
	char *s; /* scratch for strings that cannot point into input */
	size_t scap;
	size_t slen;
	void *json; /* lazily created JSON parser state (codec/json.h) */
};

void cod_tape_init(struct cod_tape *t);
void cod_tape_fini(struct cod_tape *t);

/*
 * cod_decode - decode exactly one complete packet of len bytes at p (padded)
 * in framing f into t.  On success *out is an AEMP_ARRAY value (possibly of
 * length 0) borrowed from t and p.  Returns 0, AEMP_EMALFORMED (including
 * trailing bytes after the packet or a top-level value that is not an
 * array), AEMP_EDEPTH, -ENOMEM.
 */
int cod_decode(enum cod_framing f, struct cod_tape *t, const uint8_t *p,
               size_t len, const aemp_val **out);

/*
 * cod_decode_value - like cod_decode, but the single value may be of any
 * kind (used for configuration and CLI arguments).
 */
int cod_decode_value(enum cod_framing f, struct cod_tape *t, const uint8_t *p,
                     size_t len, const aemp_val **out);

/* Called once per complete packet: pkt is the decoded AEMP_ARRAY, raw/rawlen
 * its exact bytes (for forwarding to another shard without re-encoding).
 * Both are borrowed for the duration of the call.  A non-zero return stops
 * cod_stream_feed, which returns that value. */
typedef int (*cod_pkt_fn)(void *arg, const aemp_val *pkt, const uint8_t *raw,
                          size_t rawlen);

/* Offered (CBOR streams with one set) the start of a packet that does not
 * end in the input, p[0..n), before the stream would copy it into its own
 * buffer: *taken = n if the callee took those bytes (the rest of the packet
 * is then its business: the stream starts afresh after them), 0 to leave
 * them to the stream.  A non-zero return stops cod_stream_feed, which
 * returns that value. */
typedef int (*cod_keep_fn)(void *arg, const uint8_t *p, size_t n,
                           size_t *taken);

/*
 * A stream decoder for one direction of one connection.  It takes bytes in
 * arbitrary pieces, hands out complete packets in order and keeps a partial
 * packet (copied into its own padded buffer) for the next piece.  Work is
 * linear in the input: the boundary scan resumes where it stopped.
 */
struct cod_stream {
	enum cod_framing framing;
	size_t max_packet;
	uint8_t *buf; /* partial packet, COD_PADDING spare bytes after */
	size_t len;   /* bytes in buf, all of them scanned */
	size_t cap;   /* usable bytes of buf (allocation is cap + padding) */
	/* resumable scanner state for the partial packet in buf */
	uint32_t depth; /* open containers (JSON: brackets) */
	uint32_t state; /* scanner-specific state bits */
	uint64_t need;  /* CBOR: argument or payload bytes still missing */
	uint64_t arg;   /* CBOR: argument accumulated so far */
	/* CBOR: items left per level; JSON: one bit per level, set for an
	 * object (brackets must match) */
	uint32_t stack[AEMP_MAX_DEPTH + 1];
	/* optional (CBOR), set after cod_stream_init: see cod_keep_fn */
	cod_keep_fn keep;
	void *keep_arg;
};

/* cod_stream_init - set up s for framing f (COD_JSON or COD_CBOR) and
 * packets of at most max_packet bytes (> 0).  Allocates nothing yet. */
void cod_stream_init(struct cod_stream *s, enum cod_framing f,
                     size_t max_packet);

/* cod_stream_fini - free the partial-packet buffer. */
void cod_stream_fini(struct cod_stream *s);

/*
 * cod_stream_feed - process n bytes at p (padded).  For each complete
 * packet, in order, decode it into t and call cb(arg, pkt, raw, rawlen).
 * JSON: whitespace between packets is skipped.  Returns 0 when all input is
 * consumed (a trailing partial packet is kept), cb's non-zero return value,
 * or AEMP_EMALFORMED / AEMP_EDEPTH / AEMP_ETOOBIG / -ENOMEM.  After an
 * error the stream is unusable (the connection is closed).
 */
int cod_stream_feed(struct cod_stream *s, struct cod_tape *t, const uint8_t *p,
                    size_t n, cod_pkt_fn cb, void *arg);

/* cod_stream_pending - bytes of the partial packet held by s. */
size_t cod_stream_pending(const struct cod_stream *s);

/*
 * Encoding.  A packet is built from the destination port name and one or
 * more segments of message elements, concatenated (message + reason,
 * message + reply port ID, ...), without copying the elements first.
 */
struct cod_seg {
	const aemp_val *v;
	size_t n;
};

/*
 * cod_encode_packet - encode [dst, segs[0]..., segs[1]..., ...] in framing f
 * into buf (cap bytes).  Returns the packet length: when it is <= cap the
 * packet was written; when it is > cap nothing usable was written and the
 * caller retries with at least that much room.  Errors: AEMP_EDEPTH,
 * AEMP_EMALFORMED (unknown value type, map key that is not a string).
 * Output is what Perl nodes produce: compact JSON (no whitespace), or CBOR
 * with shortest integers, text strings (byte strings for AEMP_VF_BYTES or
 * invalid UTF-8), floats as single precision when lossless else double,
 * definite lengths, no tags, never `undefined`.
 */
ssize_t cod_encode_packet(enum cod_framing f, uint8_t *buf, size_t cap,
                          const char *dst, size_t dlen,
                          const struct cod_seg *segs, size_t nsegs);

/* cod_encode_value - encode one value (any kind) the same way.  Returns as
 * cod_encode_packet. */
ssize_t cod_encode_value(enum cod_framing f, uint8_t *buf, size_t cap,
                         const aemp_val *v);

#endif /* CODEC_CODEC_H */
