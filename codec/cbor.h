/*
 * codec/cbor.h - CBOR framing internals (aemp-protocol.md §3.4): the
 * packet decoder, the resumable boundary scanner used for partial packets,
 * and the encoder.  Public entry points are in codec/codec.h.
 *
 * Threads: no shared state.
 */
#ifndef CODEC_CBOR_H
#define CODEC_CBOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec/codec.h"

/* Internal result "the input ends inside the item": never leaves codec/. */
#define COD_EMORE (-5999)

/*
 * cod_cbor_decode - decode exactly one item filling p[0..len) into t
 * (reset first).  want_array: the item must be an array (a packet).
 * Returns 0 and *out, AEMP_EMALFORMED (also for truncation and trailing
 * bytes), AEMP_EDEPTH, AEMP_ETOOBIG, -ENOMEM.
 */
int cod_cbor_decode(struct cod_tape *t, const uint8_t *p, size_t len,
                    int want_array, const aemp_val **out);

/*
 * cod_cbor_decode_prefix - decode the packet that starts at p, which may be
 * followed by more bytes.  Returns its length (> 0) and *out, COD_EMORE
 * when p[0..len) holds only the start of a packet, or the errors of
 * cod_cbor_decode.
 */
ssize_t cod_cbor_decode_prefix(struct cod_tape *t, const uint8_t *p, size_t len,
                               const aemp_val **out);

/* cod_cbor_scan_start - reset the scanner state of s for a new packet. */
void cod_cbor_scan_start(struct cod_stream *s);

/*
 * cod_cbor_scan - continue scanning the packet whose earlier bytes were
 * scanned into s, over p[0..n).  Returns the number of bytes consumed and
 * sets *done when the packet ended there (the rest of p belongs to the
 * next packet); AEMP_EMALFORMED, AEMP_EDEPTH, or AEMP_ETOOBIG (a length
 * or count that cannot fit in what s->max_packet leaves of the packet,
 * s->len bytes of which are buffered before p).
 */
ssize_t cod_cbor_scan(struct cod_stream *s, const uint8_t *p, size_t n,
                      int *done);

/* cod_cbor_encode_* - see cod_encode_packet / cod_encode_value. */
ssize_t cod_cbor_encode_packet(uint8_t *buf, size_t cap, const char *dst,
                               size_t dlen, const struct cod_seg *segs,
                               size_t nsegs);
ssize_t cod_cbor_encode_value(uint8_t *buf, size_t cap, const aemp_val *v);

#endif /* CODEC_CBOR_H */
