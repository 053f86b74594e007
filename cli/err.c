/*
 * cli/err.c - how the aemp tool reports an error: one line "aemp: ..." on
 * stderr, with the library's message where it has one.
 *
 * Threads: single-threaded.
 */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"

int
cli_fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("aemp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int
cli_fail_api(int status, int err, const char *fmt, ...)
{
	const char *msg = aemp_errmsg();
	va_list ap;

	fputs("aemp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", msg[0] ? msg : aemp_strerror(err));
	return status;
}
