/*
 * codec/stream.c - packet streams: bytes in arbitrary pieces in, complete
 * packets out, in order (aemp-protocol.md §3.3, §3.4).
 *
 * Complete packets are decoded where they lie in the caller's buffer (zero
 * copy).  Only the trailing partial packet of a piece is copied, into
 * s->buf (padded like every input); later pieces are scanned from where
 * the scan stopped and appended up to the packet's end, so the work is
 * linear in the input however it is split.
 *
 * JSON: a scanner (codec/json_scan.c) finds packet ends; runs of up to
 * STREAM_RUN_PKTS complete packets go to simdjson in one call, which saves
 * the parser's per-document setup.  CBOR: the decoder itself finds the end
 * of a complete packet; when it runs out of input the resumable scanner
 * (codec/cbor.c) takes over the partial packet.
 *
 * Invariants: s->buf never holds more than max_packet bytes; a packet is
 * refused (AEMP_ETOOBIG) as soon as more than max_packet of its bytes are
 * known to exist, before they are buffered.  After any error the stream
 * is dead (the connection is closed), so error paths leave it as is.
 *
 * Threads: a stream belongs to one connection, hence one shard.
 */
#include <errno.h>
#include <string.h>

#include "codec/cbor.h"
#include "codec/json.h"
#include "codec/tape.h"
#include "ring/alloc.h"
#include "ring/base.h"

#define STREAM_RUN_PKTS 128
#define STREAM_RUN_BYTES (128u << 10)
#define STREAM_MIN_BUF 256

void
cod_stream_init(struct cod_stream *s, enum cod_framing f, size_t max_packet)
{
	AEMP_ASSERT(f == COD_JSON || f == COD_CBOR);
	AEMP_ASSERT(max_packet > 0);
	memset(s, 0, sizeof(*s));
	s->framing = f;
	s->max_packet = max_packet;
}

void
cod_stream_fini(struct cod_stream *s)
{
	if (s->buf != NULL)
		ring_free(s->buf, s->cap + COD_PADDING);
	s->buf = NULL;
	s->cap = 0;
	s->len = 0;
}

size_t
cod_stream_pending(const struct cod_stream *s)
{
	return s->len;
}

/* Appends p[0..n) to the partial packet; s->len + n <= max_packet. */
static int
stream_append(struct cod_stream *s, const uint8_t *p, size_t n)
{
	size_t ncap = s->cap ? s->cap : STREAM_MIN_BUF;
	uint8_t *nb;

	AEMP_ASSERT_HOT(s->len + n <= s->max_packet);
	if (n > s->cap - s->len) {
		while (ncap < s->len + n)
			ncap *= 2;
		ncap = AEMP_MIN(ncap, s->max_packet);
		nb = ring_realloc(s->buf, ncap + COD_PADDING);
		if (nb == NULL)
			return -ENOMEM;
		s->buf = nb;
		s->cap = ncap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	/* Keep the padding defined: parsers may read it. */
	memset(s->buf + s->len, 0, COD_PADDING);
	return 0;
}

/* The buffered packet is complete: decode it, hand it out, forget it. */
static int
stream_emit_buffered(struct cod_stream *s, struct cod_tape *t, cod_pkt_fn cb,
                     void *arg)
{
	const aemp_val *pkt;
	size_t len = s->len;
	int rc;

	s->len = 0;
	s->depth = 0;
	s->state = 0;
	if ((rc = cod_decode(s->framing, t, s->buf, len, &pkt)) < 0)
		return rc;
	return cb(arg, pkt, s->buf, len);
}

/* Continues the partial packet with p[0..n); *used = bytes taken. */
static int
stream_resume(struct cod_stream *s, struct cod_tape *t, const uint8_t *p,
              size_t n, size_t *used, cod_pkt_fn cb, void *arg)
{
	size_t room = s->max_packet - s->len, lim = AEMP_MIN(n, room);
	ssize_t k;
	int done, rc;

	if (s->framing == COD_JSON)
		k = cod_json_scan(s, p, lim, &done);
	else
		k = cod_cbor_scan(s, p, lim, &done);
	if (k < 0)
		return (int)k;
	if (!done && n > room)
		return AEMP_ETOOBIG;
	if ((rc = stream_append(s, p, (size_t)k)) < 0)
		return rc;
	*used = (size_t)k;
	return done ? stream_emit_buffered(s, t, cb, arg) : 0;
}

/* p[0..n) starts a packet that does not end in it: keep it. */
static int
stream_keep(struct cod_stream *s, const uint8_t *p, size_t n)
{
	ssize_t k;
	int done = 0;

	if (n > s->max_packet)
		return AEMP_ETOOBIG;
	s->depth = 0;
	s->state = 0;
	if (s->framing == COD_JSON) {
		k = cod_json_scan(s, p, n, &done);
	} else {
		cod_cbor_scan_start(s);
		k = cod_cbor_scan(s, p, n, &done);
	}
	if (k < 0)
		return (int)k;
	if (done) /* the decoder saw a truncated packet, the scanner not */
		return AEMP_EMALFORMED;
	return stream_append(s, p, n);
}

/* Decodes the npk packets at p + pk[i].off. */
static int
stream_json_run(struct cod_tape *t, const uint8_t *p, const struct cod_span *pk,
                size_t npk, cod_pkt_fn cb, void *arg)
{
	const aemp_val *pkt;
	int rc;

	if (npk == 0)
		return 0;
	if (npk > 1)
		return cod_json_decode_run(t, p,
		                           pk[npk - 1].off + pk[npk - 1].len,
		                           pk, npk, cb, arg);
	p += pk[0].off;
	if ((rc = cod_json_decode(t, p, pk[0].len, 1, &pkt)) < 0)
		return rc;
	return cb(arg, pkt, p, pk[0].len);
}

static int
stream_json(struct cod_stream *s, struct cod_tape *t, const uint8_t *p,
            size_t n, cod_pkt_fn cb, void *arg)
{
	struct cod_span pk[STREAM_RUN_PKTS];
	size_t i = 0, npk, next;
	int rc, err;

	do {
		npk = cod_json_split(p + i, n - i, s->max_packet,
		                     STREAM_RUN_BYTES, pk, STREAM_RUN_PKTS,
		                     &next, &err);
		/* Packets before an error or a partial packet go out first. */
		if ((rc = stream_json_run(t, p + i, pk, npk, cb, arg)) != 0)
			return rc;
		i += next;
		if (err != 0)
			return err;
	} while (npk > 0 && i < n);
	return i < n ? stream_keep(s, p + i, n - i) : 0;
}

static int
stream_cbor(struct cod_stream *s, struct cod_tape *t, const uint8_t *p,
            size_t n, cod_pkt_fn cb, void *arg)
{
	const aemp_val *pkt;
	size_t i = 0, lim;
	ssize_t k;
	int rc;

	while (i < n) {
		lim = AEMP_MIN(n - i, s->max_packet);
		k = cod_cbor_decode_prefix(t, p + i, lim, &pkt);
		if (k == COD_EMORE) {
			size_t taken = 0;

			if (s->keep != NULL &&
			    (rc = s->keep(s->keep_arg, p + i, n - i, &taken)) !=
			            0)
				return rc;
			if (taken == n - i)
				return 0;
			AEMP_ASSERT(taken == 0);
			return stream_keep(s, p + i, n - i);
		}
		if (k < 0)
			return (int)k;
		if ((rc = cb(arg, pkt, p + i, (size_t)k)) != 0)
			return rc;
		i += (size_t)k;
	}
	return 0;
}

int
cod_stream_feed(struct cod_stream *s, struct cod_tape *t, const uint8_t *p,
                size_t n, cod_pkt_fn cb, void *arg)
{
	size_t used = 0;
	int rc;

	if (s->len > 0) {
		if ((rc = stream_resume(s, t, p, n, &used, cb, arg)) != 0)
			return rc;
		p += used;
		n -= used;
	}
	if (n == 0)
		return 0;
	if (s->framing == COD_JSON)
		return stream_json(s, t, p, n, cb, arg);
	return stream_cbor(s, t, p, n, cb, arg);
}
