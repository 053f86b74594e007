/*
 * perf/scrape.c - the metrics endpoint under a benchmark: with
 * AEMP_PERF_METRICS=MS in the environment (inherited by the child
 * processes), every node aemp-perf makes serves metrics on 127.0.0.1:0 and
 * a thread of this process GETs its /metrics every MS milliseconds, as a
 * (very eager) Prometheus would, for the on/off comparison in
 * docs/perf.md "Metrics"; AEMP_PERF_METRICS_SAMPLE=N also sets their
 * metrics_sample key (perf/node.c).
 *
 * The scraper thread is detached and runs until the process exits; once
 * the node is freed its connects fail and it only sleeps.
 *
 * Threads: perf_scrape_start on the thread making the node; the scraper
 * on its own.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "perf/perf.h"

struct scraper {
	struct sockaddr_in sa;
	unsigned ms;
};

static void
scrape_once(const struct sockaddr_in *sa, char *buf, size_t cap)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: perf\r\n"
	                          "Connection: close\r\n\r\n";
	struct timeval tv = {2, 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 &&
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) > 0)
		while (recv(fd, buf, cap, 0) > 0)
			;
	close(fd);
}

static void *
scraper_main(void *arg)
{
	struct scraper *s = arg;
	char *buf = malloc(65536);

	for (; buf != NULL;) {
		scrape_once(&s->sa, buf, 65536);
		usleep(s->ms * 1000u);
	}
	free(s);
	return NULL;
}

unsigned
perf_scrape_ms(void)
{
	const char *v = getenv("AEMP_PERF_METRICS");
	long ms = v != NULL ? strtol(v, NULL, 10) : 0;

	return ms > 0 && ms < 600000 ? (unsigned)ms : 0;
}

void
perf_scrape_start(aemp_node *node)
{
	char addr[64], *colon;
	struct scraper *s;
	pthread_t t;

	if (perf_scrape_ms() == 0 ||
	    aemp_metrics_addr(node, addr, sizeof(addr)) <= 0 ||
	    (colon = strrchr(addr, ':')) == NULL ||
	    (s = calloc(1, sizeof(*s))) == NULL)
		return;
	*colon = '\0';
	s->sa.sin_family = AF_INET;
	s->sa.sin_port = htons((uint16_t)atoi(colon + 1));
	s->ms = perf_scrape_ms();
	if (inet_pton(AF_INET, addr, &s->sa.sin_addr) != 1 ||
	    pthread_create(&t, NULL, scraper_main, s) != 0) {
		free(s);
		return;
	}
	pthread_detach(t);
}
