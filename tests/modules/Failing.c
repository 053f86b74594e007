/*
 * tests/modules/Failing.c - a test module whose init registers
 * Failing::x and then fails (tests/integ/module_api.c): nothing of it may
 * become callable.
 */
#include <aemp.h>
#include <errno.h>

#include "nop.h"

int
aemp_module_init(aemp_node *node)
{
	int err = aemp_register(node, "Failing::x", mod_nop, NULL);

	return err < 0 ? err : -EPROTO;
}
