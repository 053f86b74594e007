/*
 * engine/conf/rcfile.h - the configuration file shared with Perl's aemp tool
 * (aemp-protocol.md §8.1): a relaxed JSON reader, a mutable value tree, a
 * pretty writer in the style of Perl's JSON::XS ->pretty, and the atomic
 * save.  The public aemp_rc_* functions (include/aemp.h) sit on top.
 *
 * Owned trees: the reader produces aemp_val trees in which every string,
 * array and map is a separate allocation (ring_alloc) owned by the value
 * that points to it, so a map can grow, shrink or have one entry replaced
 * in place.  aemp_val's pointers are const for the benefit of readers;
 * only this module casts that away, and only on trees it allocated.
 * Strings of owned trees are NUL-terminated (len excludes the NUL).
 *
 * Invariants: nesting never exceeds AEMP_MAX_DEPTH (the reader refuses
 * deeper input, eng_rcv_dup refuses deeper values), so the recursive
 * walkers below are bounded.  Map insertion order is kept; setting an
 * existing key replaces its value at the same position.
 *
 * Threads: no shared state; one thread at a time per tree.
 */
#ifndef ENGINE_CONF_RCFILE_H
#define ENGINE_CONF_RCFILE_H

#include <stddef.h>

#include "aemp.h"

/* Largest configuration file read (bytes). */
#define ENG_RC_MAX_BYTES (16u << 20)

/* Reader options. */
#define ENG_RCV_RELAXED 0x01 /* '#' comments, trailing commas, raw TABs */

/*
 * eng_rcv_parse - parse one JSON text (any value; surrounding whitespace
 * allowed) into a new owned tree.  With ENG_RCV_RELAXED, also '#'
 * comments to end of line, a trailing comma in arrays and objects and
 * literal TAB characters in strings (JSON::XS ->relaxed).  Strings must
 * be valid UTF-8.  Duplicate object keys: the last value wins, at the
 * first key's position.  On error, err (errcap bytes) receives
 * "line L, column C: reason".  Returns 0 and *out (new, eng_rcv_free),
 * AEMP_EMALFORMED, AEMP_EDEPTH or -ENOMEM.
 */
int eng_rcv_parse(const char *text, size_t len, int flags, aemp_val **out,
                  char *err, size_t errcap);

/* eng_rcv_dup - deep copy of v as a new owned tree.  Returns NULL on out of
 * memory or nesting deeper than AEMP_MAX_DEPTH. */
aemp_val *eng_rcv_dup(const aemp_val *v);

/* eng_rcv_free - free an owned tree returned by this module.  NULL is a
 * no-op. */
void eng_rcv_free(aemp_val *v);

/* eng_rcv_fini - free what the embedded owned value *v points to (not v
 * itself) and make it null. */
void eng_rcv_fini(aemp_val *v);

/* eng_rcv_dedup - in the owned key/value array kv of *npairs pairs, let
 * the last value of a repeated key replace the first one's value and drop
 * the repeats (order of first appearance kept).  O(n).  Returns 0 or
 * -ENOMEM (kv unchanged). */
int eng_rcv_dedup(aemp_val *kv, size_t *npairs);

/* eng_rcv_blank - 1 if text holds only whitespace and '#' comments. */
int eng_rcv_blank(const char *text, size_t len);

/* eng_rcv_set_str - make the embedded value *dst an owned copy of the
 * string (s, n), freeing what it held.  Returns 0 or -ENOMEM (*dst kept). */
int eng_rcv_set_str(aemp_val *dst, const char *s, size_t n);

/* eng_rcv_new_map - a new empty owned MAP, or NULL. */
aemp_val *eng_rcv_new_map(void);

/* eng_rcv_map_get - the value under key in map m (borrowed), or NULL if m
 * is not a map or lacks the key. */
const aemp_val *eng_rcv_map_get(const aemp_val *m, const char *key);

/* eng_rcv_map_set - set key in the owned map m to a deep copy of v,
 * replacing an existing entry in place or appending.  v may point into m
 * (even into the value it replaces): it is copied before anything is
 * freed.  aemp_rc_set inherits this, and the aemp tool relies on it when
 * it edits a list with elements borrowed from the file.  Returns 0,
 * -ENOMEM or AEMP_EDEPTH.  Pointers into m are invalid afterwards. */
int eng_rcv_map_set(aemp_val *m, const char *key, const aemp_val *v);

/* eng_rcv_map_take - like eng_rcv_map_set but takes the owned tree v
 * (freed on every path, the container only: *v's contents move into m). */
int eng_rcv_map_take(aemp_val *m, const char *key, aemp_val *v);

/* eng_rcv_map_del - remove key from the owned map m.  Returns 1 if it was
 * there, 0 if not. */
int eng_rcv_map_del(aemp_val *m, const char *key);

/* eng_rcv_array_del - remove element i (< len) of the owned array a. */
void eng_rcv_array_del(aemp_val *a, size_t i);

/* eng_rcv_utf8_ok - 1 if every string (and map key) in v is valid UTF-8. */
int eng_rcv_utf8_ok(const aemp_val *v);

/*
 * eng_rcv_pretty - v as pretty JSON like Perl's JSON::XS ->pretty: three
 * spaces of indent per level, `"key" : value`, one element per line, empty
 * containers as [] and {}, a final newline.  Strings are written as UTF-8
 * (bytes that are not valid UTF-8 become U+FFFD); floats in the shortest
 * form that reads back exactly, with ".0" if it would look like an
 * integer; NaN and infinities as null.  Returns 0 and *out (new,
 * NUL-terminated, free with aemp_free) and *len, AEMP_EDEPTH,
 * AEMP_EMALFORMED (non-string map key) or -ENOMEM.
 */
int eng_rcv_pretty(const aemp_val *v, char **out, size_t *len);

/* The file itself (struct aemp_rc is defined in rcfile.c). */

/* eng_rc_root - the whole file as an owned MAP (borrowed from rc).  Its
 * "profile" entry, if present, is a MAP of MAPs (checked on open). */
const aemp_val *eng_rc_root(const aemp_rc *rc);

/* eng_rc_path_of - the path rc was read from (borrowed). */
const char *eng_rc_path_of(const aemp_rc *rc);

/* eng_rc_from_text - build an aemp_rc from text as if read from path
 * (used by tests and the fuzzer; path may be a name that is never
 * written).  Returns as aemp_rc_open. */
int eng_rc_from_text(const char *path, const char *text, size_t len,
                     aemp_rc **out);

#endif /* ENGINE_CONF_RCFILE_H */
