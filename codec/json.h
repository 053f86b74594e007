/*
 * codec/json.h - JSON framing internals (aemp-protocol.md §3.3).
 *
 * Decoding goes through simdjson's On-Demand API in codec/json.cc, the
 * only C++ file of aemp; this header is its C face: plain functions,
 * integer error codes, no C++ type or exception crosses it.  The boundary
 * scanner (codec/json_scan.c) and the encoder (codec/json_enc.c) are C.
 *
 * Strings: a decoded string without escapes points into the input; one
 * with escapes points into the parser's string buffer, valid until the
 * next decode with the same tape.
 *
 * Threads: the parser state hangs off a struct cod_tape and shares its
 * thread.
 */
#ifndef CODEC_JSON_H
#define CODEC_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec/codec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* cod_json_free - free the parser state kept in cod_tape.json (NULL ok). */
void cod_json_free(void *json);

/*
 * cod_json_decode - decode one JSON text filling p[0..len) (padded;
 * surrounding whitespace allowed) into t.  want_array: it must be an array
 * (a packet).  Returns 0 and *out (borrowed from t and p), AEMP_EMALFORMED,
 * AEMP_EDEPTH, AEMP_ETOOBIG (len above 4 GiB) or -ENOMEM.
 */
int cod_json_decode(struct cod_tape *t, const uint8_t *p, size_t len,
                    int want_array, const aemp_val **out);

/* A packet inside a run: its offset from the run's start and length. */
struct cod_span {
	size_t off;
	size_t len;
};

/*
 * cod_json_decode_run - decode npk packets lying at p + pk[i].off, in
 * order, in one pass of the parser over p[pk[0].off..len) (padded; only
 * whitespace between the packets; len is the end of the last packet),
 * and call cb(arg, pkt, raw, rawlen) for each.  pk comes from the boundary scanner, so every span is one
 * bracket-balanced array.  Returns 0, cb's non-zero return, or the errors
 * of cod_json_decode (after delivering the packets before the bad one).
 */
int cod_json_decode_run(struct cod_tape *t, const uint8_t *p, size_t len,
                        const struct cod_span *pk, size_t npk, cod_pkt_fn cb,
                        void *arg);

/* cod_json_dtoa - the shortest decimal form of finite d that reads back
 * as d ("2.5", "1e+300"), written to out (at least 32 bytes, no NUL).
 * Returns its length. */
size_t cod_json_dtoa(double d, char *out);

/*
 * cod_json_scan - the resumable boundary scanner for a partial packet:
 * continues the scan of s's packet (state in s->depth, s->state and
 * s->stack; all zero at the packet's '[', which the caller has checked)
 * over p[0..n), reading up to 63 bytes past n (the input padding).
 * Returns the bytes consumed and sets *done when the closing bracket was
 * among them; or AEMP_EDEPTH (more than AEMP_MAX_DEPTH open brackets) or
 * AEMP_EMALFORMED (a closing bracket of the wrong kind), as
 * cod_json_split would.
 */
ssize_t cod_json_scan(struct cod_stream *s, const uint8_t *p, size_t n,
                      int *done);

/*
 * cod_json_split - find the complete packets at the start of p[0..n)
 * (padded; reads up to 63 bytes past n), fast: 64 bytes per step.  Stores
 * up to maxpk spans (offsets from p) in pk, stopping early once the run
 * covers run_bytes.  Returns the number stored; *next is where the caller
 * continues: after the last packet stored, or at the start of a trailing
 * partial packet, or n.  *err is 0, or the error at *next:
 * AEMP_EMALFORMED (a byte other than whitespace or '[' between packets,
 * or a closing bracket of the wrong kind),
 * AEMP_EDEPTH, AEMP_ETOOBIG (a packet longer than max_packet, complete or
 * not).  The spans before an error are good.
 */
size_t cod_json_split(const uint8_t *p, size_t n, size_t max_packet,
                      size_t run_bytes, struct cod_span *pk, size_t maxpk,
                      size_t *next, int *err);

/* cod_json_strspan - offset of the first '"' or '\\' in p[0..n), or n.
 * Reads up to 63 bytes past n (inside the padding). */
size_t cod_json_strspan(const uint8_t *p, size_t n);

/* cod_json_encode_* - see cod_encode_packet / cod_encode_value. */
ssize_t cod_json_encode_packet(uint8_t *buf, size_t cap, const char *dst,
                               size_t dlen, const struct cod_seg *segs,
                               size_t nsegs);
ssize_t cod_json_encode_value(uint8_t *buf, size_t cap, const aemp_val *v);

#ifdef __cplusplus
}
#endif

#endif /* CODEC_JSON_H */
