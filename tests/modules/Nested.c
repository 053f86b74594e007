/*
 * tests/modules/Nested.c - a test module whose init loads another module
 * (tests/integ/module_api.c): aemp_module_load from inside an init must
 * not deadlock.  "Nested_missing" is not there, so that load fails with
 * -ENOENT; Nested::x is registered either way.
 */
#include <aemp.h>
#include <errno.h>

#include "nop.h"

int
aemp_module_init(aemp_node *node)
{
	int err = aemp_module_load(node, "/nonexistent/Nested_missing.so");

	if (err != -ENOENT)
		return err < 0 ? err : -EPROTO;
	return aemp_register(node, "Nested::x", mod_nop, NULL);
}
