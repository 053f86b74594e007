/* cli/main.c - placeholder until the aemp tool lands (issue 7). */
#include <stdio.h>

#include <aemp.h>

int
main(void)
{
	printf("aemp %s\n", AEMP_VERSION_STRING);
	return 0;
}
