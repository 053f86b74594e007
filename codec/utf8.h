/*
 * codec/utf8.h - strict UTF-8 validation (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), used by the encoders to choose
 * between text and byte strings.
 *
 * Threads: pure functions.
 */
#ifndef CODEC_UTF8_H
#define CODEC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* cod_utf8_valid - 1 if p[0..n) is valid UTF-8, else 0. */
int cod_utf8_valid(const uint8_t *p, size_t n);

#endif /* CODEC_UTF8_H */
