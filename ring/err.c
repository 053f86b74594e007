/*
 * ring/err.c - error texts and the thread-local control-plane message.
 *
 * Threads: aemp_strerror is pure; the message buffers are thread-local, so
 * each thread reads only its own last error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring/base.h"

static _Thread_local char err_msg[512];
static _Thread_local char err_where[160];

AEMP_API const char *
aemp_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case AEMP_ENOPORT:
		return "no such port";
	case AEMP_ENONODE:
		return "node unknown or unreachable";
	case AEMP_EMALFORMED:
		return "malformed packet or value";
	case AEMP_EDEPTH:
		return "nesting too deep";
	case AEMP_ETOOBIG:
		return "packet or value too large";
	case AEMP_EAUTH:
		return "authentication failed";
	case AEMP_ECONFIG:
		return "bad configuration";
	case AEMP_ESTATE:
		return "call not valid in this state";
	case AEMP_ESECURE:
		return "refused by secure mode";
	case AEMP_EUNKFUNC:
		return "function not registered";
	case AEMP_EHANDSHAKE:
		return "handshake failed";
	case AEMP_ETLS:
		return "TLS failure";
	case AEMP_ENOCONTEXT:
		return "not in port context";
	case AEMP_EDIE:
		return "handler failed";
	case AEMP_EOVERFLOW:
		return "queue overflow";
	default:
		break;
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}

AEMP_API const char *
aemp_errmsg(void)
{
	return err_msg;
}

int
ring_seterr(int code, const char *func, const char *file, int line,
            const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
	va_end(ap);
	snprintf(err_where, sizeof(err_where), "%s (%s:%d)", func, file, line);
	return code;
}

void
ring_clearerr(void)
{
	err_msg[0] = '\0';
	err_where[0] = '\0';
}

const char *
ring_errwhere(void)
{
	return err_where;
}

_Noreturn void
ring_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	fprintf(stderr, "aemp: assertion failed: %s (%s:%d, %s)\n", expr, file,
	        line, func);
	abort();
}
