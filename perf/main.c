/* perf/main.c - placeholder until aemp-perf lands (issue 8). */
#include <stdio.h>

#include <aemp.h>

int
main(void)
{
	printf("aemp-perf %s\n", AEMP_VERSION_STRING);
	return 0;
}
