/*
 * tests/modules/Dup.c - a test module registering Dup::ok and then
 * Many::f7, which Many.so registered (tests/integ/module_api.c): its init
 * fails with -EEXIST and Dup::ok must not become callable.
 */
#include <aemp.h>

static int
x(aemp_node *node, const aemp_val *args, size_t n, void *arg)
{
	(void)node;
	(void)args;
	(void)n;
	(void)arg;
	return 0;
}

int
aemp_module_init(aemp_node *node)
{
	int err = aemp_register(node, "Dup::ok", x, NULL);

	return err < 0 ? err : aemp_register(node, "Many::f7", x, NULL);
}
