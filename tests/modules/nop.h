/*
 * tests/modules/nop.h - the handler the test modules register where only
 * the registration matters: it does nothing and succeeds.
 */
#ifndef TESTS_MODULES_NOP_H
#define TESTS_MODULES_NOP_H

#include <aemp.h>

static inline int
mod_nop(aemp_node *node, const aemp_val *args, size_t n, void *arg)
{
	(void)node;
	(void)args;
	(void)n;
	(void)arg;
	return 0;
}

#endif /* TESTS_MODULES_NOP_H */
