/* tests/unit/err.c - error texts and the thread-local error message. */
#include <errno.h>

#include "ring/base.h"
#include "tests/tap.h"

int
main(void)
{
	CHECK_STREQ(aemp_strerror(0), "success");
	CHECK_STREQ(aemp_strerror(AEMP_ENOPORT), "no such port");
	CHECK_STREQ(aemp_strerror(-ENOENT), strerror(ENOENT));
	CHECK_STREQ(aemp_strerror(-999999), "unknown error");
	CHECK_STREQ(aemp_errmsg(), "");
	CHECK_ERR(AEMP_SET_ERR(AEMP_ECONFIG, "bad key '%s'", "x"),
	          AEMP_ECONFIG);
	CHECK_STREQ(aemp_errmsg(), "bad key 'x'");
	CHECK(strstr(ring_errwhere(), "main") != NULL);
	ring_clearerr();
	CHECK_STREQ(aemp_errmsg(), "");
	CHECK_EQ(AEMP_VERSION, 0x000100);
	return tap_done();
}
