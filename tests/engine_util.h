/*
 * tests/engine_util.h - helpers for engine tests: a node built from a
 * typed configuration (no configuration file involved), bounded waits,
 * and a thread-safe event log that handlers fill and the main thread
 * checks.
 *
 * Threads: handlers append to the log from shard threads (mutex); TAP
 * checks run on the main thread only.
 */
#ifndef TESTS_ENGINE_UTIL_H
#define TESTS_ENGINE_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/core/eng.h"
#include "ring/alloc.h"
#include "tests/tap.h"

/* The core's own tests (tests/unit/engine_*.c) define TU_CORE_ONLY and
 * link the core without the network (libaemp-core.a): their nodes get
 * the seam of a node without network. */
#ifdef TU_CORE_ONLY
#define TU_SEAM NULL
#else
#include "engine/engine.h"
#define TU_SEAM (&eng_seam_full)
#endif

static inline char *
tu_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = ring_alloc(n);

	memcpy(p, s, n);
	return p;
}

/* tu_node - a node "id" with `shards` shards and no listeners, built
 * through the configuration API without the configuration file. */
static inline aemp_node *
tu_node(const char *id, int shards)
{
	struct eng_config cfg;
	aemp_conf *c = NULL;
	aemp_node *node = NULL;
	char num[32];
	int rc;

	rc = aemp_conf_new(&c);
	if (rc == 0)
		rc = aemp_conf_set_json(c, "norc", "true");
	if (rc == 0)
		rc = aemp_conf_set_str(c, "nodeid", id);
	if (rc == 0)
		rc = aemp_conf_set_json(c, "binds", "[]");
	snprintf(num, sizeof(num), "%d", shards);
	if (rc == 0)
		rc = aemp_conf_set_json(c, "shards", num);
	if (rc == 0)
		rc = aemp_conf_set_json(c, "log_level",
		                        getenv("AEMP_TEST_LOG") ? "9" : "3");
	if (rc == 0)
		rc = eng_config_build(c, &cfg);
	aemp_conf_free(c);
	if (rc == 0)
		rc = eng_node_new_cfg(&cfg, TU_SEAM, &node);
	if (rc < 0) {
		printf("# cannot create node: %s (%s)\n", aemp_strerror(rc),
		       aemp_errmsg());
		exit(1);
	}
	return node;
}

/*
 * tu_node_json - a node "id" configured from conf_json, a JSON object of
 * configure() keys (norc is implied; log_level 3, 9 with AEMP_TEST_LOG).
 * Exits the process with a message on any error.  Returns new.
 */
static inline aemp_node *
tu_node_json(const char *id, const char *conf_json)
{
	aemp_conf *c = NULL;
	aemp_node *n = NULL;
	aemp_val *m = NULL;
	char key[64];
	uint32_t i;
	int rc;

	if (aemp_conf_new(&c) < 0 ||
	    aemp_json_parse(conf_json, strlen(conf_json), &m) < 0 ||
	    m->type != AEMP_MAP) {
		fprintf(stderr, "%s: bad configuration %s\n", id, conf_json);
		exit(1);
	}
	aemp_conf_set_json(c, "norc", "true");
	aemp_conf_set_str(c, "nodeid", id);
	aemp_conf_set_json(c, "log_level", getenv("AEMP_TEST_LOG") ? "9" : "3");
	for (i = 0; i < m->len; i++) {
		const aemp_val *k = &m->u.a[2 * i];

		snprintf(key, sizeof(key), "%.*s", (int)k->len, k->u.s);
		if (aemp_conf_set(c, key, &m->u.a[2 * i + 1]) < 0) {
			fprintf(stderr, "%s: %s: %s\n", id, key, aemp_errmsg());
			exit(1);
		}
	}
	aemp_val_free(m);
	rc = aemp_node_new(c, &n);
	aemp_conf_free(c);
	if (rc < 0) {
		fprintf(stderr, "node %s: %s (%s)\n", id, aemp_strerror(rc),
		        aemp_errmsg());
		exit(1);
	}
	return n;
}

/* tu_start - start node, skipping the test when io_uring is unusable. */
static inline void
tu_start(aemp_node *node)
{
	int rc = aemp_node_start(node);

	if (rc == -ENOSYS || rc == -EPERM)
		TAP_SKIP_ALL("io_uring unavailable: %s", aemp_errmsg());
	if (rc < 0) {
		printf("# cannot start node: %s (%s)\n", aemp_strerror(rc),
		       aemp_errmsg());
		exit(1);
	}
}

static inline double
tu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* tu_cpu_now - CPU seconds of the whole process (every thread). */
static inline double
tu_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* TU_WAIT(cond, seconds): poll cond every ms; evaluates to cond. */
#define TU_WAIT(cond, seconds)                                                 \
	({                                                                     \
		double tu_end_ = tu_now() + (seconds);                         \
		while (!(cond) && tu_now() < tu_end_)                          \
			usleep(1000);                                          \
		(cond);                                                        \
	})

/* An event log: lines of text appended by handlers. */
struct tu_log {
	pthread_mutex_t mu;
	char buf[1 << 16];
	size_t len;
	atomic_int count;
};

static struct tu_log tu_log = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0};

static inline void tu_logf(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));

static inline void
tu_logf(const char *fmt, ...)
{
	va_list ap;
	int n;

	pthread_mutex_lock(&tu_log.mu);
	va_start(ap, fmt);
	n = vsnprintf(tu_log.buf + tu_log.len, sizeof(tu_log.buf) - tu_log.len,
	              fmt, ap);
	va_end(ap);
	if (n > 0 && tu_log.len + (size_t)n + 1 < sizeof(tu_log.buf)) {
		tu_log.len += (size_t)n;
		tu_log.buf[tu_log.len++] = '\n';
		tu_log.buf[tu_log.len] = '\0';
	}
	pthread_mutex_unlock(&tu_log.mu);
	atomic_fetch_add(&tu_log.count, 1);
}

/* A node's whole log (aemp_set_log(node, level, tu_capture_sink, NULL)),
 * for substring searches: lines "NODEID: MESSAGE", up to 1 MiB. */
static struct {
	pthread_mutex_t mu;
	char buf[1 << 20];
	size_t len;
} tu_capture = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

static inline void
tu_capture_sink(int level, const char *nodeid, const char *msg, void *arg)
{
	size_t n = strlen(msg);

	(void)level;
	(void)arg;
	pthread_mutex_lock(&tu_capture.mu);
	if (tu_capture.len + n + 64 < sizeof(tu_capture.buf))
		tu_capture.len += (size_t)snprintf(
		        tu_capture.buf + tu_capture.len,
		        sizeof(tu_capture.buf) - tu_capture.len, "%s: %s\n",
		        nodeid, msg);
	pthread_mutex_unlock(&tu_capture.mu);
}

/* tu_capture_has - 1 if the captured log contains s anywhere. */
static inline int
tu_capture_has(const char *s)
{
	int found;

	pthread_mutex_lock(&tu_capture.mu);
	found = memmem(tu_capture.buf, tu_capture.len, s, strlen(s)) != NULL;
	pthread_mutex_unlock(&tu_capture.mu);
	return found;
}

/* tu_fnv - FNV-1a of n bytes: a payload checksum for tests. */
static inline uint32_t
tu_fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* tu_has - 1 if the log holds the line `line`. */
static inline int
tu_has(const char *line)
{
	size_t n = strlen(line);
	const char *p;
	int found = 0;

	pthread_mutex_lock(&tu_log.mu);
	for (p = tu_log.buf; (p = strstr(p, line)) != NULL; p++) {
		if ((p == tu_log.buf || p[-1] == '\n') && p[n] == '\n') {
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&tu_log.mu);
	return found;
}

static inline void
tu_log_reset(void)
{
	pthread_mutex_lock(&tu_log.mu);
	tu_log.len = 0;
	tu_log.buf[0] = '\0';
	pthread_mutex_unlock(&tu_log.mu);
	atomic_store(&tu_log.count, 0);
}

static inline void
tu_log_dump(void)
{
	pthread_mutex_lock(&tu_log.mu);
	printf("# log:\n%s", tu_log.buf);
	pthread_mutex_unlock(&tu_log.mu);
}

/* tu_json - v as JSON text in a static buffer (one thread at a time). */
static inline const char *
tu_json(const aemp_val *v, char *buf, size_t cap)
{
	if (aemp_json_format(v, buf, cap) < 0)
		snprintf(buf, cap, "<unformattable>");
	return buf;
}

/* tu_run - run fn(node, arg) on shard `shard` and wait for it. */
struct tu_run_ctx {
	void (*fn)(aemp_node *, void *);
	void *arg;
	atomic_int done;
};

static inline void
tu_run_cb(aemp_node *node, void *arg)
{
	struct tu_run_ctx *c = arg;

	c->fn(node, c->arg);
	atomic_store(&c->done, 1);
}

/* The context lives on the caller's stack, so tu_run may not return while
 * the callback can still run: if it has not finished after a generous
 * limit (a loaded machine), the process exits rather than leave the shard
 * writing into a dead frame. */
static inline int
tu_run(aemp_node *node, int shard, void (*fn)(aemp_node *, void *), void *arg)
{
	struct tu_run_ctx c = {fn, arg, 0};

	if (aemp_exec(node, shard, tu_run_cb, &c) < 0)
		return -1;
	if (!TU_WAIT(atomic_load(&c.done), 120)) {
		printf("# tu_run: callback on shard %d still running after "
		       "120 s\n",
		       shard);
		fflush(stdout);
		_exit(1);
	}
	return 0;
}

#endif /* TESTS_ENGINE_UTIL_H */
