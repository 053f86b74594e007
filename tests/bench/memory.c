/*
 * tests/bench/memory.c - resident memory of an idle node and after load
 * (docs/perf.md, "Memory of an idle node"): one node with one shard and
 * one listener, no peers, one second after start; then a second node
 * connects and sends MSGS messages of 4 KiB (at most 8,000 in flight),
 * and the process's resident set is sampled right after the last one
 * arrived and every 2 s for 12 s while both nodes sit idle.
 *
 *   build/release/tests/bench/memory [messages]      (default 600000)
 *
 * Threads: the main thread sends (a foreign thread for aemp_snd); the
 * handler counts on the receiving node's shard.
 */
#include <stdio.h>

#include "tests/engine_util.h"

static atomic_long got;

/* kib - a field of /proc/self/status ("VmRSS", "RssAnon", ...), KiB. */
static long
kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t n = strlen(field);
	long v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = atol(line + n + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

static int
h_count(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	(void)n;
	(void)msg;
	(void)cnt;
	(void)arg;
	atomic_fetch_add(&got, 1);
	return 0;
}

static aemp_node *
mk(const char *id, const char *seeds)
{
	char conf[512];

	snprintf(conf, sizeof(conf),
	         "{\"binds\":[\"127.0.0.1:0\"],\"secret\":\"m\",\"shards\":1,"
	         "\"seeds\":%s}",
	         seeds);
	return tu_node_json(id, conf);
}

static void
load(aemp_node *b, const char *port, long msgs)
{
	static char blob[4096];
	long sent = 0;
	int rc;

	memset(blob, 'x', sizeof(blob));
	while (sent < msgs) {
		if (sent - atomic_load(&got) > 8000) {
			usleep(200);
			continue;
		}
		rc = aemp_snd(b, port, AEMP_MSG(aemp_strn(blob, sizeof(blob))));
		if (rc == -EAGAIN)
			usleep(100);
		else if (rc == 0)
			sent++;
		else
			break;
	}
	TU_WAIT(atomic_load(&got) >= sent, 60);
}

int
main(int argc, char **argv)
{
	long msgs = argc > 1 ? atol(argv[1]) : 600000;
	char addr[256];
	aemp_node *a, *b;
	aemp_id port;
	int s;

	a = mk("mema", "[]");
	aemp_node_listeners(a, addr, sizeof(addr));
	aemp_port(a, h_count, NULL, &port);
	tu_start(a);
	sleep(1);
	printf("idle node (1 shard, 1 listener): VmRSS %ld KiB, RssAnon %ld "
	       "KiB, RssFile %ld KiB\n",
	       kib("VmRSS"), kib("RssAnon"), kib("RssFile"));
	b = mk("memb", addr);
	tu_start(b);
	if (!TU_WAIT(aemp_node_is_up(b, "mema") == 1, 10))
		printf("memb does not connect\n");
	load(b, port.s, msgs);
	printf("two nodes after %ld x 4 KiB: VmRSS %ld KiB (%ld arrived)\n",
	       msgs, kib("VmRSS"), atomic_load(&got));
	for (s = 2; s <= 12; s += 2) {
		sleep(2);
		printf("  %2d s later: VmRSS %ld KiB\n", s, kib("VmRSS"));
	}
	aemp_node_free(b);
	aemp_node_free(a);
	return atomic_load(&got) >= msgs ? 0 : 1;
}
