/*
 * tests/tap.h - a tiny TAP producer for aemp's test programs.
 *
 * Each CHECK prints "ok N - ..." or "not ok N - ..." with both values on
 * failure; tap_done() prints the plan and returns the exit status.  A test
 * that cannot run here calls TAP_SKIP_ALL (exit 77, reported as skipped).
 * Single-threaded use only (checks from shard threads must hand results to
 * the main thread).
 */
#ifndef TESTS_TAP_H
#define TESTS_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aemp.h"

static int tap_count;
static int tap_failed;

static inline void tap_result(int ok, const char *file, int line,
                              const char *expr, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static inline void
tap_result(int ok, const char *file, int line, const char *expr,
           const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - %s:%d: %s\n", ok ? "" : "not ", tap_count, file, line,
	       expr);
	if (!ok) {
		tap_failed++;
		if (fmt != NULL) {
			printf("#   ");
			va_start(ap, fmt);
			vprintf(fmt, ap);
			va_end(ap);
			printf("\n");
		}
	}
	fflush(stdout);
}

#define CHECK(x) tap_result(!!(x), __FILE__, __LINE__, #x, "condition is false")

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long tap_a_ = (long long)(a), tap_b_ = (long long)(b);    \
		tap_result(tap_a_ == tap_b_, __FILE__, __LINE__, #a " == " #b, \
		           "got %lld, expected %lld", tap_a_, tap_b_);         \
	} while (0)

#define CHECK_NE(a, b)                                                         \
	do {                                                                   \
		long long tap_a_ = (long long)(a), tap_b_ = (long long)(b);    \
		tap_result(tap_a_ != tap_b_, __FILE__, __LINE__, #a " != " #b, \
		           "both are %lld", tap_a_);                           \
	} while (0)

#define CHECK_ERR(call, err)                                                   \
	do {                                                                   \
		int tap_r_ = (int)(call), tap_e_ = (int)(err);                 \
		tap_result(tap_r_ == tap_e_, __FILE__, __LINE__,               \
		           #call " == " #err, "got %d (%s), expected %d (%s)", \
		           tap_r_, aemp_strerror(tap_r_), tap_e_,              \
		           aemp_strerror(tap_e_));                             \
	} while (0)

#define CHECK_OK(call) CHECK_ERR(call, 0)

#define CHECK_STREQ(a, b)                                                      \
	do {                                                                   \
		const char *tap_a_ = (a), *tap_b_ = (b);                       \
		int tap_ok_ = tap_a_ != NULL && tap_b_ != NULL &&              \
		              strcmp(tap_a_, tap_b_) == 0;                     \
		tap_result(tap_ok_, __FILE__, __LINE__, #a " eq " #b,          \
		           "got \"%s\", expected \"%s\"",                      \
		           tap_a_ ? tap_a_ : "(null)",                         \
		           tap_b_ ? tap_b_ : "(null)");                        \
	} while (0)

static inline void
tap_hexdiff(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char *p = a, *q = b;
	size_t i;

	printf("#   got      (%zu):", alen);
	for (i = 0; i < alen && i < 64; i++)
		printf(" %02x", p[i]);
	printf("%s\n#   expected (%zu):", alen > 64 ? " ..." : "", blen);
	for (i = 0; i < blen && i < 64; i++)
		printf(" %02x", q[i]);
	printf("%s\n", blen > 64 ? " ..." : "");
}

#define CHECK_MEMEQ(a, alen, b, blen)                                          \
	do {                                                                   \
		size_t tap_al_ = (alen), tap_bl_ = (blen);                     \
		int tap_ok_ =                                                  \
		        tap_al_ == tap_bl_ && memcmp((a), (b), tap_al_) == 0;  \
		tap_result(tap_ok_, __FILE__, __LINE__, #a " bytes eq " #b,    \
		           NULL);                                              \
		if (!tap_ok_)                                                  \
			tap_hexdiff((a), tap_al_, (b), tap_bl_);               \
	} while (0)

#define DIAG(...)                                                              \
	do {                                                                   \
		printf("# ");                                                  \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
		fflush(stdout);                                                \
	} while (0)

#define TAP_SKIP_ALL(...)                                                      \
	do {                                                                   \
		printf("1..0 # SKIP ");                                        \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
		exit(77);                                                      \
	} while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	if (tap_failed)
		printf("# %d of %d checks failed\n", tap_failed, tap_count);
	return tap_failed ? 1 : 0;
}

#endif /* TESTS_TAP_H */
