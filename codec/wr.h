/*
 * codec/wr.h - a bounded output cursor for the encoders.
 *
 * Encoders write through a struct cod_wr that never writes past cap but
 * keeps counting, so one pass both fills the buffer (when it is big
 * enough) and tells the caller how much room the whole output needs.
 * A piece that does not fit is not written at all, and no later piece
 * fits either (n is then beyond cap), so the bytes written are always a
 * clean prefix of the output.
 *
 * Threads: a cursor belongs to one call.
 */
#ifndef CODEC_WR_H
#define CODEC_WR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cod_wr {
	uint8_t *buf;
	size_t cap;
	size_t n; /* bytes the output needs so far (may exceed cap) */
};

/* cod_wr_room - where len bytes go, or NULL if they do not fit (the
 * caller still calls cod_wr_skip(w, len) to count them). */
static inline uint8_t *
cod_wr_room(struct cod_wr *w, size_t len)
{
	if (w->n <= w->cap && len <= w->cap - w->n)
		return w->buf + w->n;
	return NULL;
}

static inline void
cod_wr_skip(struct cod_wr *w, size_t len)
{
	w->n += len;
}

static inline void
cod_wr_mem(struct cod_wr *w, const void *p, size_t len)
{
	uint8_t *q = cod_wr_room(w, len);

	if (q != NULL && len > 0)
		memcpy(q, p, len);
	w->n += len;
}

static inline void
cod_wr_byte(struct cod_wr *w, uint8_t b)
{
	if (w->n < w->cap)
		w->buf[w->n] = b;
	w->n++;
}

#endif /* CODEC_WR_H */
