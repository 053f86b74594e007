/*
 * engine/net/frag.h - fragments between aemp nodes (docs/protocol.md
 * "Fragments", docs/wire.md "Fragments"): the receiving side's
 * reassembly, without I/O, so it can be fuzzed on its own.
 *
 * A fragment is the node-port packet
 *     ["", "aemp_frag", SID, OFF, TOTAL, PIECE]
 * carrying bytes OFF .. OFF+len(PIECE) of an encoded packet of TOTAL
 * bytes (in the connection's framing), stream SID.  The pieces of one
 * stream come in order and without gaps; the packet is complete when
 * OFF + len(PIECE) == TOTAL, and is then decoded and dispatched like any
 * packet that arrived whole.
 *
 * Bounds: at most ENG_FRAG_STREAMS streams open at a time; TOTAL at most
 * max_packet; the buffers of open streams (and of a complete packet not
 * yet released) at most max_bytes together.  A stream's buffer is
 * allocated when its first piece arrives, TOTAL bytes plus COD_PADDING,
 * unless the spare (the largest released buffer, kept: at most
 * max_packet more) is large enough.
 *
 * Threads: a reassembly belongs to one connection, hence one shard.
 */
#ifndef ENGINE_NET_FRAG_H
#define ENGINE_NET_FRAG_H

#include <stddef.h>
#include <stdint.h>

#include "aemp.h"

#define ENG_FRAG_STREAMS 8
#define ENG_FRAG_CMD "aemp_frag"

struct eng_frag_stream {
	uint64_t sid;
	size_t total; /* packet size */
	size_t got;   /* bytes received */
	size_t cap;   /* buf holds cap + COD_PADDING bytes, cap >= total */
	uint8_t *buf; /* NULL: slot free */
};

struct eng_frag_rx {
	size_t max_packet;
	size_t max_bytes;
	size_t held; /* bytes of open streams and unreleased packets */
	unsigned n;  /* open streams */
	struct eng_frag_stream s[ENG_FRAG_STREAMS];
	/* the largest buffer released, kept for the next stream that fits
	 * (fresh memory costs a page fault per 4 KiB) */
	uint8_t *spare;
	size_t spare_cap;
	/* a piece begun (eng_frag_rx_begin) and not yet all written */
	struct eng_frag_stream *cur;
	size_t cur_left;
};

/* One fragment's fields. */
struct eng_frag_piece {
	uint64_t sid;
	uint64_t off;
	uint64_t total;
	const uint8_t *p;
	size_t n;
};

void eng_frag_rx_init(struct eng_frag_rx *r, size_t max_packet,
                      size_t max_bytes);

/* eng_frag_rx_fini - drop every open stream (a lost connection: nothing
 * partial is ever delivered). */
void eng_frag_rx_fini(struct eng_frag_rx *r);
/* eng_frag_rx_drop_spare - free the kept spare buffer, if any. */
void eng_frag_rx_drop_spare(struct eng_frag_rx *r);

/*
 * eng_frag_parse - is pkt (a decoded packet) a fragment?  Returns 0 if
 * not (its name is not "" or its first argument not "aemp_frag"), 1 and
 * *f (pointing into pkt) if it is a well-formed fragment, AEMP_EMALFORMED
 * if it is a malformed one (wrong count or kinds of fields, OFF >= TOTAL,
 * an empty PIECE, or one that goes past TOTAL).
 */
int eng_frag_parse(const aemp_val *pkt, struct eng_frag_piece *f);

/*
 * eng_frag_rx_piece - add fragment f.  Returns 0 (the packet is not
 * complete yet), 1 with *out / *outlen / *outcap (the complete packet,
 * padded with COD_PADDING zero bytes, in a buffer of *outcap bytes plus
 * padding; still counted in held until eng_frag_rx_release),
 * or an error, after which the connection must be closed:
 * AEMP_EMALFORMED (OFF is not what the stream expects: a new stream must
 * start at 0, an open one continues where it stopped, with the same
 * TOTAL), AEMP_ETOOBIG (TOTAL above max_packet), AEMP_EOVERFLOW (a ninth
 * stream, or held would pass max_bytes), -ENOMEM.
 */
int eng_frag_rx_piece(struct eng_frag_rx *r, const struct eng_frag_piece *f,
                      uint8_t **out, size_t *outlen, size_t *outcap);

/*
 * eng_frag_rx_begin / eng_frag_rx_write - eng_frag_rx_piece in steps, for
 * a piece whose bytes arrive in several reads (engine/net/connrx.c copies
 * them straight from the receive buffers): begin checks fragment f (f->p
 * unused; f->n the piece's length) and returns 0 or the errors of
 * eng_frag_rx_piece; then writes give the f->n bytes in order, n at most
 * what is left of the piece; the one that ends the piece returns what
 * eng_frag_rx_piece would (0, or 1 with the complete packet), the others
 * 0.  No other piece may begin before the last write.
 */
int eng_frag_rx_begin(struct eng_frag_rx *r, const struct eng_frag_piece *f);
int eng_frag_rx_write(struct eng_frag_rx *r, const uint8_t *p, size_t n,
                      uint8_t **out, size_t *outlen, size_t *outcap);

/* eng_frag_rx_release - give back a packet eng_frag_rx_piece returned
 * (kept as the spare, or freed). */
void eng_frag_rx_release(struct eng_frag_rx *r, uint8_t *buf, size_t len,
                         size_t cap);

/*
 * eng_frag_cbor_name - the destination name of an encoded CBOR packet
 * (an array whose first element is a text or byte string of definite
 * length).  Returns 0 and (*name, *len) pointing into pkt, or -1 if pkt
 * does not start that way.
 */
int eng_frag_cbor_name(const uint8_t *pkt, size_t n, const char **name,
                       size_t *len);

/*
 * eng_frag_cbor_head - does p[0..n) start with the head of a fragment in
 * CBOR as aemp encodes it (array of 6, "" and "aemp_frag" as text, SID,
 * OFF and TOTAL as unsigned integers, PIECE as a byte string of definite
 * length), complete up to the PIECE's first byte?  Returns 1 with *f
 * (f->p NULL, f->n the PIECE's length, no consistency checked) and
 * *hdrlen (the head's bytes), or 0 for anything else, which then takes
 * the general path (decode, eng_frag_parse).
 */
int eng_frag_cbor_head(const uint8_t *p, size_t n, struct eng_frag_piece *f,
                       size_t *hdrlen);

/* The longest head eng_frag_cbor_head_put writes. */
#define ENG_FRAG_HEAD_MAX (12 + 4 * 9)

/*
 * eng_frag_cbor_head_put - the head of a CBOR fragment of stream sid,
 * OFF off, TOTAL total, with a PIECE of n bytes: exactly the bytes the
 * codec writes before the PIECE's own (so the piece can be sent from
 * where it lies).  Returns the head's length, at most ENG_FRAG_HEAD_MAX.
 */
size_t eng_frag_cbor_head_put(uint8_t *out, uint64_t sid, uint64_t off,
                              uint64_t total, size_t n);

#endif /* ENGINE_NET_FRAG_H */
