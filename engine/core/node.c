/*
 * engine/core/node.c - node lifecycle (create, start, run, stop, wait, free),
 * identity prefixes and logging.
 *
 * Lifecycle: eng_node_new_cfg (called by aemp_node_new in engine/engine.c)
 * builds the shards, then the higher layers through the seam (listeners:
 * no threads yet); aemp_node_start runs one thread per shard and waits until
 * every ring is up; aemp_node_stop flips `stop` and wakes every shard
 * (async-signal-safe); aemp_node_wait joins; aemp_node_free releases
 * everything on the calling thread once no shard runs.
 *
 * Threads: lifecycle calls on any thread but a shard thread; eng_log from
 * any thread.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "engine/core/lane.h"
#include "engine/core/seam.h"
#include "ring/alloc.h"

static const char alnum[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* ---- logging -------------------------------------------------------- */

static const char *const level_names[] = {
        "",     "fatal", "alert", "crit",  "error",
        "warn", "note",  "info",  "debug", "trace",
};

static void
log_stderr(int level, const char *nodeid, const char *msg, void *arg)
{
	struct timeval tv;
	struct tm tm;
	char ts[32];

	(void)arg;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03d aemp[%s] %s: %s\n", ts,
	        (int)(tv.tv_usec / 1000), nodeid,
	        level_names[level < 1 || level > 9 ? 4 : level], msg);
}

void
eng_log(struct aemp_node *node, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > node->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	node->log_fn(level, node->id, msg, node->log_arg);
}

AEMP_API int
aemp_set_log(aemp_node *node, int level, aemp_log_fn fn, void *arg)
{
	if (atomic_load(&node->state) != NODE_CREATED)
		return AEMP_ESTATE;
	node->log_level = level < 0 ? 0 : level > 9 ? 9 : level;
	node->log_fn = fn ? fn : log_stderr;
	node->log_arg = fn ? arg : NULL;
	return 0;
}

/* ---- identity ------------------------------------------------------- */

/* make_uniq - the 9-character port-name prefix of §1.3 (empty when the
 * node ID already has a random part). */
static int
make_uniq(struct aemp_node *node)
{
	struct timespec ts;
	double t;
	long pid = (long)getpid();
	char rnd[4];
	int rc;

	node->uniqlen = 0;
	node->uniq[0] = '\0';
	if (node->cfg.nodeid_random)
		return 0;
	rc = cry_random_alnum(rnd, sizeof(rnd));
	if (rc < 0)
		return rc;
	clock_gettime(CLOCK_REALTIME, &ts);
	t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	node->uniq[0] = alnum[(pid / 62) % 62];
	node->uniq[1] = alnum[pid % 62];
	node->uniq[2] = alnum[(uint64_t)t % 62];
	node->uniq[3] = alnum[(uint64_t)(t * 100) % 62];
	node->uniq[4] = alnum[(uint64_t)(t * 10000) % 62];
	memcpy(node->uniq + 5, rnd, 4);
	node->uniqlen = 9;
	node->uniq[9] = '\0';
	return 0;
}

static int
make_runiq(struct aemp_node *node)
{
	int rc = cry_random_alnum(node->runiq, 10);
	char *last = &node->runiq[9];

	if (rc < 0)
		return rc;
	if (*last >= 'a' && *last <= 'z')
		*last = (char)(*last - 'a' + 'A');
	node->runiq[10] = '\0';
	return 0;
}

AEMP_API const char *
aemp_node_id(const aemp_node *node)
{
	return node->id;
}

AEMP_API int
aemp_node_shards(const aemp_node *node)
{
	return node->nshards;
}

/* ---- creation ------------------------------------------------------- */

static size_t
queue_cap(int nshards)
{
	size_t cap = (32u << 20) / (size_t)nshards, p = 1u << 18;

	while (p < cap && p < (4u << 20))
		p <<= 1;
	return p;
}

/* lane_cap - max_thread_queue rounded up to the power of two the lanes'
 * rings need (engine/core/lane.c); 1 MiB when unset. */
static size_t
lane_cap(size_t want)
{
	size_t p = 65536;

	while (p < want && p < ((size_t)1 << 30))
		p <<= 1;
	return want == 0 ? ((size_t)1 << 20) : p;
}

static atomic_uint_fast64_t node_serials;

static int
node_alloc(const struct eng_config *cfg, struct aemp_node **out)
{
	struct aemp_node *node = ring_zalloc(sizeof(*node));
	long ncpu;

	if (node == NULL)
		return -ENOMEM;
	node->cfg = *cfg;
	node->idlen = strlen(cfg->nodeid);
	memcpy(node->id, cfg->nodeid, node->idlen + 1);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (cfg->shards == 0 && cfg->ncpus > 0)
		ncpu = cfg->ncpus; /* one shard per pinned CPU */
	node->nshards =
	        cfg->shards > 0 ? cfg->shards : (int)(ncpu > 0 ? ncpu : 1);
	if (node->nshards > ENG_MAX_SHARDS)
		node->nshards = ENG_MAX_SHARDS;
	node->qcap = queue_cap(node->nshards);
	node->lane_cap = lane_cap(cfg->max_thread_queue);
	node->serial = atomic_fetch_add(&node_serials, 1) + 1;
	node->log_fn = log_stderr;
	node->log_level = cfg->log_level > 0 ? cfg->log_level : AEMP_LOG_WARN;
	pthread_mutex_init(&node->qmu, NULL);
	pthread_mutex_init(&node->smu, NULL);
	pthread_cond_init(&node->scond, NULL);
	eng_mod_init(node);
	atomic_init(&node->state, NODE_CREATED);
	*out = node;
	return 0;
}

/* eng_node_new_cfg - create a node from an already built configuration,
 * which the node takes (on every path). */
int
eng_node_new_cfg(struct eng_config *cfg, const struct eng_seam *seam,
                 aemp_node **out)
{
	struct aemp_node *node = NULL;
	int i, rc;

	rc = eng_shard_cpus_check(cfg);
	if (rc == 0)
		rc = node_alloc(cfg, &node);
	if (rc < 0) {
		eng_config_fini(cfg);
		return rc;
	}
	memset(cfg, 0, sizeof(*cfg)); /* now owned by node */
	node->seam = seam != NULL ? seam : &eng_seam_none;
	rc = make_uniq(node);
	if (rc == 0)
		rc = make_runiq(node);
	if (rc == 0)
		rc = eng_funcs_builtin(node);
	for (i = 0; rc == 0 && i < node->nshards; i++)
		rc = eng_shard_new(node, i, &node->shards[i]);
	if (rc == 0)
		rc = node->seam->node_new(node);
	if (rc < 0) {
		aemp_node_free(node);
		return rc;
	}
	*out = node;
	return 0;
}

/* ---- running -------------------------------------------------------- */

static int
wait_started(struct aemp_node *node, int n)
{
	int rc;

	pthread_mutex_lock(&node->smu);
	while (atomic_load(&node->started_shards) < n)
		pthread_cond_wait(&node->scond, &node->smu);
	rc = node->start_err;
	pthread_mutex_unlock(&node->smu);
	return rc;
}

AEMP_API int
aemp_node_start(aemp_node *node)
{
	int expect = NODE_CREATED, i, rc = 0, made = 0;

	if (eng_cur != NULL)
		return AEMP_ESTATE;
	if (!atomic_compare_exchange_strong(&node->state, &expect,
	                                    NODE_RUNNING))
		return AEMP_ESTATE;
	for (i = 0; i < node->nshards; i++) {
		rc = -pthread_create(&node->shards[i]->thread, NULL,
		                     eng_shard_main, node->shards[i]);
		if (rc < 0) {
			AEMP_SET_ERR(rc, "cannot start shard thread %d: %s", i,
			             strerror(-rc));
			break;
		}
		made++;
	}
	if (rc == 0)
		rc = wait_started(node, made);
	else
		(void)wait_started(node, made);
	if (rc < 0) {
		atomic_store(&node->stop, 1);
		for (i = 0; i < made; i++) {
			ring_wake_foreign(&node->shards[i]->loop);
			pthread_join(node->shards[i]->thread, NULL);
		}
		atomic_store(&node->state, NODE_STOPPED);
		return rc;
	}
	/* the `modules` key: on shard 0, before the services start */
	if (node->cfg.nmodules > 0)
		(void)eng_mod_start(node);
	node->seam->node_started(node);
	return 0;
}

AEMP_API void
aemp_node_stop(aemp_node *node)
{
	int i;

	atomic_store(&node->stop, 1);
	for (i = 0; i < node->nshards; i++) {
		if (node->shards[i] != NULL)
			ring_wake_foreign(&node->shards[i]->loop);
	}
	eng_room_signal(node); /* aemp_snd_wait returns AEMP_ESTATE */
}

AEMP_API int
aemp_node_wait(aemp_node *node)
{
	int i, rc = 0;

	if (eng_cur != NULL)
		return AEMP_ESTATE;
	/* The state stays RUNNING until every shard is joined: calls from
	 * other threads keep working while one thread waits here. */
	pthread_mutex_lock(&node->smu);
	switch (atomic_load(&node->state)) {
	case NODE_RUNNING:
		for (i = 0; i < node->nshards; i++)
			pthread_join(node->shards[i]->thread, NULL);
		atomic_store(&node->state, NODE_STOPPED);
		break;
	case NODE_STOPPED:
		break;
	default:
		rc = AEMP_ESTATE;
		break;
	}
	pthread_mutex_unlock(&node->smu);
	return rc;
}

AEMP_API int
aemp_node_run(aemp_node *node)
{
	int rc = 0;

	if (atomic_load(&node->state) == NODE_CREATED)
		rc = aemp_node_start(node);
	if (rc < 0)
		return rc;
	return aemp_node_wait(node);
}

void
eng_rec_discard(const struct aemp_node *node, uint32_t kind, const uint8_t *p,
                size_t len)
{
	if (kind == REC_BIG) {
		struct eng_big *b;

		memcpy(&b, p, sizeof(b));
		ring_free(b, sizeof(*b) + b->cap);
	} else if (kind == REC_CALL) {
		struct eng_call *c;

		memcpy(&c, p, sizeof(c));
		eng_call_free(c);
	} else {
		eng_seam(node)->rec_discard(kind, p, len);
	}
}

/* discard_queue - free what records still reference once no shard runs. */
static void
discard_queue(const struct aemp_node *node, struct ring_spsc *q)
{
	const void *p;
	uint32_t kind;
	size_t len;

	ring_spsc_publish(q);
	while ((p = ring_spsc_front(q, &kind, &len)) != NULL) {
		eng_rec_discard(node, kind, p, len);
		ring_spsc_pop(q);
	}
}

static void
free_queues(struct aemp_node *node)
{
	struct ring_spsc *q;
	int s, d;

	for (s = 0; s < ENG_MAX_SHARDS; s++) {
		for (d = 0; d < ENG_MAX_SHARDS; d++) {
			q = atomic_load(&node->q[s][d]);
			if (q == NULL)
				continue;
			discard_queue(node, q);
			ring_spsc_free(q);
		}
	}
}

AEMP_API void
aemp_node_free(aemp_node *node)
{
	int i;

	if (node == NULL)
		return;
	AEMP_ASSERT(eng_cur == NULL || eng_cur->node != node);
	if (atomic_load(&node->state) == NODE_RUNNING) {
		aemp_node_stop(node);
		aemp_node_wait(node);
	}
	node->seam->node_free(node);
	free_queues(node);
	for (i = 0; i < node->nshards; i++)
		eng_shard_free(node->shards[i]);
	eng_mod_free(node); /* aemp_module_fini, dlclose */
	eng_funcs_free(node);
	eng_config_fini(&node->cfg);
	pthread_mutex_destroy(&node->qmu);
	pthread_mutex_destroy(&node->smu);
	pthread_cond_destroy(&node->scond);
	ring_free(node, sizeof(*node));
}
