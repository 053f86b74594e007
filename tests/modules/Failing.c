/*
 * tests/modules/Failing.c - a test module whose init registers
 * Failing::x and then fails (tests/integ/module_api.c): nothing of it may
 * become callable.
 */
#include <aemp.h>
#include <errno.h>

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
	int err = aemp_register(node, "Failing::x", x, NULL);

	return err < 0 ? err : -EPROTO;
}
