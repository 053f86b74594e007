/*
 * engine/core/flat.h - messages between shards of one process in "flat" form:
 * values and strings copied once, pointers as offsets, fixed up in place
 * by the consumer (engine/core/flat.c).  Records must be 8-byte aligned.
 *
 * Threads: producer writes, consumer reads; never shared concurrently.
 */
#ifndef ENGINE_CORE_FLAT_H
#define ENGINE_CORE_FLAT_H

#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"

struct eng_flat_plan {
	size_t nvals;
	size_t sbytes;
	size_t size; /* bytes of the flat form */
};

/* eng_flat_plan - size the packet [dst, segs...].  Returns 0,
 * AEMP_EDEPTH or AEMP_ETOOBIG. */
int eng_flat_plan(size_t dlen, const struct cod_seg *segs, size_t nsegs,
                  struct eng_flat_plan *plan);

/* eng_flat_write - write it into out (plan->size bytes, 8-aligned). */
void eng_flat_write(uint8_t *out, const struct eng_flat_plan *plan,
                    const char *dst, size_t dlen, const struct cod_seg *segs,
                    size_t nsegs);

/* eng_flat_read - fix the record up in place; returns the packet's
 * elements (dst name first) and sets *n. */
const aemp_val *eng_flat_read(uint8_t *rec, size_t len, size_t *n);

/* eng_flat_again - the packet of a record eng_flat_read fixed up already
 * (a record read again after a retry: fixing up twice would break it). */
const aemp_val *eng_flat_again(uint8_t *rec, size_t *n);

#endif /* ENGINE_CORE_FLAT_H */
