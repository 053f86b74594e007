/*
 * tests/fuzz/fuzz_metrics_http.c - libFuzzer target for the metrics
 * endpoint's request handling (engine/net/metrics.c): each input is sent
 * as raw bytes on a fresh connection to the real server (libmicrohttpd
 * with the endpoint's options and handler; a fixed exposition stands in
 * for a node), the write side is shut, and the answer is read to EOF.
 * The server runs without a thread, driven from here (eng_mhttp_run), so
 * runs are deterministic.  Checks: the server answers or closes within a
 * bounded number of rounds (never hangs), every answer starts with an HTTP status line, and the server
 * keeps serving a well-formed GET /metrics afterwards.
 *
 * Threads: the fuzzer's thread only.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/net/metrics.h"

#define FUZZ_CHECK(x)                                                          \
	do {                                                                   \
		if (!(x))                                                      \
			abort();                                               \
	} while (0)

#define MAX_INPUT 65536
#define IDLE_S 1        /* the server's idle connection timeout */
#define MAX_ROUNDS 3000 /* of 1 ms: it answers or closes well within */

static const char body[] = "# HELP fuzz_up Always 1.\n# TYPE fuzz_up gauge\n"
                           "fuzz_up 1\n";

static int
render(void *arg, char **text, size_t *len)
{
	(void)arg;
	if ((*text = malloc(sizeof(body))) == NULL)
		return -ENOMEM;
	memcpy(*text, body, sizeof(body));
	*len = sizeof(body) - 1;
	return 0;
}

static struct eng_mhttp *server;

/* Write in (shutting the write side after it), read the answer into out
 * until EOF; both interleaved so neither side blocks on a full buffer.
 * Returns the answer's length; aborts if the server hangs. */
static size_t
exchange(const uint8_t *in, size_t len, char *out, size_t cap)
{
	int sv[2], shut = 0, rounds = 0;
	size_t off = 0, got = 0;
	struct pollfd p;
	ssize_t n;

	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) ==
	           0);
	FUZZ_CHECK(eng_mhttp_add_conn(server, sv[1]) == 0);
	for (;;) {
		if (!shut && off == len) {
			shutdown(sv[0], SHUT_WR);
			shut = 1;
		}
		p.fd = sv[0];
		p.events = POLLIN | (shut ? 0 : POLLOUT);
		eng_mhttp_run(server);
		if (poll(&p, 1, 1) == 0) {
			FUZZ_CHECK(++rounds < MAX_ROUNDS); /* no hang */
			continue;
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			n = recv(sv[0], out + got, cap - 1 - got, 0);
			if (n <= 0 || got + (size_t)n + 1 >= cap)
				break;
			got += (size_t)n;
		}
		if (!shut && (p.revents & POLLOUT)) {
			n = send(sv[0], in + off, len - off, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN)
				shut = 1; /* the server closed early */
			else if (n > 0)
				off += (size_t)n;
		}
	}
	close(sv[0]);
	out[got] = '\0';
	return got;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char get[] = "GET /metrics HTTP/1.1\r\nHost: f\r\n\r\n";
	static char out[1 << 20];
	size_t n;

	if (server == NULL)
		FUZZ_CHECK(eng_mhttp_start(&server, -1, render, NULL, NULL,
		                           IDLE_S) == 0);
	if (size > MAX_INPUT)
		return 0;
	n = exchange(data, size, out, sizeof(out));
	FUZZ_CHECK(n == 0 || strncmp(out, "HTTP/1.", 7) == 0);
	n = exchange((const uint8_t *)get, sizeof(get) - 1, out, sizeof(out));
	FUZZ_CHECK(n > 0 && strncmp(out, "HTTP/1.1 200 ", 13) == 0);
	FUZZ_CHECK(strstr(out, body) != NULL);
	return 0;
}
