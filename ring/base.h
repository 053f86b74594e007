/*
 * ring/base.h - the bottom of the include graph: branch hints, assertions,
 * container_of and the control-plane error helper.  ring/, codec/ and
 * crypto/ may all include it; it includes nothing of aemp but aemp.h.
 *
 * Threads: everything here is usable from any thread; the error message
 * buffer is thread-local.
 */
#ifndef RING_BASE_H
#define RING_BASE_H

#include <stddef.h>
#include <stdint.h>

#include "aemp.h"

#define AEMP_LIKELY(x) __builtin_expect(!!(x), 1)
#define AEMP_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define AEMP_CACHELINE 64

#define AEMP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define AEMP_CONTAINER_OF(ptr, type, member)                                   \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define AEMP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define AEMP_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Assertions catch programming errors, never input errors (STYLE.md §9).
 * AEMP_ASSERT is always on; AEMP_ASSERT_HOT only with -DAEMP_DEBUG=1. */
_Noreturn void ring_assert_fail(const char *expr, const char *file, int line,
                                const char *func);

#define AEMP_ASSERT(x)                                                         \
	do {                                                                   \
		if (AEMP_UNLIKELY(!(x)))                                       \
			ring_assert_fail(#x, __FILE__, __LINE__, __func__);    \
	} while (0)

#if defined(AEMP_DEBUG) && AEMP_DEBUG
#define AEMP_ASSERT_HOT(x) AEMP_ASSERT(x)
#else
#define AEMP_ASSERT_HOT(x)                                                     \
	do {                                                                   \
		(void)sizeof(x);                                               \
	} while (0)
#endif

/*
 * ring_seterr - record the calling thread's control-plane error message
 * (read by aemp_errmsg) and return code, so error paths can write
 *     return AEMP_SET_ERR(AEMP_ECONFIG, "binds: bad port '%s'", p);
 * Never used on the hot path.  Any thread.
 */
int ring_seterr(int code, const char *func, const char *file, int line,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define AEMP_SET_ERR(code, ...)                                                \
	ring_seterr((code), __func__, __FILE__, __LINE__, __VA_ARGS__)

/* ring_clearerr - forget the calling thread's error message. */
void ring_clearerr(void);

/* ring_errwhere - "func (file:line)" of the last ring_seterr on this thread,
 * for debugging output; "" if none. */
const char *ring_errwhere(void);

#endif /* RING_BASE_H */
