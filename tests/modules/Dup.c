/*
 * tests/modules/Dup.c - a test module registering Dup::ok and then
 * Many::f7, which Many.so registered (tests/integ/module_api.c): its init
 * fails with -EEXIST and Dup::ok must not become callable.
 */
#include <aemp.h>

#include "nop.h"

int
aemp_module_init(aemp_node *node)
{
	int err = aemp_register(node, "Dup::ok", mod_nop, NULL);

	return err < 0 ? err : aemp_register(node, "Many::f7", mod_nop, NULL);
}
