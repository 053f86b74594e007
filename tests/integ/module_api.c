/*
 * tests/integ/module_api.c - service modules through the API
 * (docs/hosting.md): aemp_module_load while an application thread keeps
 * sending function-name requests for the functions being added (the
 * registry is read lock-free by both shards while shard 0 publishes 502
 * functions), every function callable afterwards, aemp_register_on with
 * AEMP_SHARD_SPREAD (both shards run it) and with a shard number (only
 * that shard), loading a loaded module again (no second init), a module
 * whose init fails after registering (nothing callable), two modules
 * registering one name (-EEXIST, nothing of the second callable), a
 * module whose init loads another one, a missing file (-ENOENT), a file
 * that is not a shared object (-ENOEXEC), aemp_register after start
 * outside a module (AEMP_ESTATE).
 *
 * The test modules are the files tests/modules/NAME.c, built into
 * build/<flavor>/tests/modules/ by the Makefile; this program is linked
 * like aemp (the aemp_* symbols exported for them).
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/engine_util.h"

#define NFUNC 500

static aemp_node *node;
static aemp_id rx;
static int64_t shard_thr[2];
static atomic_char seen[NFUNC];
static atomic_int nseen, spread_n, spread_mask, pin_n, pin_wrong;
static atomic_int stop_spam;
static char moddir[PATH_MAX];

static int
h_rx(aemp_node *n, const aemp_val *msg, size_t cnt, void *arg)
{
	int64_t i = 0, thr = 0;

	(void)n;
	(void)arg;
	if (cnt < 2 || aemp_get_int(&msg[0], &i) < 0 ||
	    aemp_get_int(&msg[1], &thr) < 0)
		return 0;
	if (i >= 0 && i < NFUNC) {
		if (atomic_exchange(&seen[i], 1) == 0)
			atomic_fetch_add(&nseen, 1);
	} else if (i == -1) {
		atomic_fetch_or(&spread_mask, thr == shard_thr[0] ? 1 : 2);
		atomic_fetch_add(&spread_n, 1);
	} else if (i == -2) {
		if (thr != shard_thr[1])
			atomic_fetch_add(&pin_wrong, 1);
		atomic_fetch_add(&pin_n, 1);
	}
	return 0;
}

static void
make_rx(aemp_node *n, void *arg)
{
	(void)arg;
	aemp_port(n, h_rx, NULL, &rx);
}

static void
record_thread(aemp_node *n, void *arg)
{
	(void)n;
	*(int64_t *)arg = (int64_t)pthread_self();
}

/* request - the function-name request [func, rx] to the node port. */
static int
request(const char *func)
{
	aemp_val msg[2] = {aemp_str(func), aemp_str(rx.s)};
	int rc;

	while ((rc = aemp_snd(node, aemp_node_id(node), msg, 2)) == -EAGAIN)
		usleep(1000);
	return rc;
}

static void *
spammer(void *arg)
{
	char name[32];
	long i;

	(void)arg;
	for (i = 0; !atomic_load(&stop_spam) && i < 2000000; i++) {
		snprintf(name, sizeof(name), "Many::f%ld", i % NFUNC);
		if (request(name) < 0)
			break;
	}
	return NULL;
}

static int
nop(aemp_node *n, const aemp_val *args, size_t cnt, void *arg)
{
	(void)n;
	(void)args;
	(void)cnt;
	(void)arg;
	return 0;
}

/* can - the node's answer to ["can", func]: 1 or 0. */
static atomic_int can_result;

static void
can_cb(aemp_node *n, int status, const aemp_val *msg, size_t cnt, void *arg)
{
	(void)n;
	(void)arg;
	atomic_store(&can_result,
	             status == 0 && cnt > 0 && aemp_truthy(&msg[0]) ? 1 : 0);
}

static int
can(const char *func)
{
	aemp_val q[2] = {aemp_str("can"), aemp_str(func)};

	atomic_store(&can_result, -1);
	if (aemp_cal(node, aemp_node_id(node), q, 2, can_cb, NULL, 30, NULL) <
	    0)
		return -1;
	TU_WAIT(atomic_load(&can_result) != -1, 30);
	return atomic_load(&can_result);
}

static const char *
mod(const char *name)
{
	static char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", moddir, name);
	return path;
}

int
main(void)
{
	char self[PATH_MAX];
	pthread_t spam;
	ssize_t len;
	FILE *f;
	int i;

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		TAP_SKIP_ALL("no /proc/self/exe");
	self[len] = '\0';
	snprintf(moddir, sizeof(moddir), "%s/modules",
	         dirname(dirname(self))); /* build/<flavor>/tests */
	if (access(mod("Many.so"), R_OK) != 0)
		TAP_SKIP_ALL("no test modules in %s (make test-build)", moddir);

	node = tu_node("modapi", 2);
	CHECK_OK(aemp_register(node, "T::before", nop, NULL));
	tu_start(node);
	CHECK_ERR(aemp_register(node, "T::after", nop, NULL), AEMP_ESTATE);
	tu_run(node, 0, record_thread, &shard_thr[0]);
	tu_run(node, 1, record_thread, &shard_thr[1]);
	tu_run(node, 0, make_rx, NULL);
	CHECK(rx.s[0] != '\0');

	/* load while requests for its functions arrive on both shards */
	CHECK_OK(pthread_create(&spam, NULL, spammer, NULL));
	usleep(20000);
	CHECK_OK(aemp_module_load(node, mod("Many.so")));
	usleep(50000);
	atomic_store(&stop_spam, 1);
	pthread_join(spam, NULL);
	DIAG("%d functions answered during the load", atomic_load(&nseen));

	for (i = 0; i < NFUNC; i++) {
		char name[32];

		snprintf(name, sizeof(name), "Many::f%d", i);
		if (request(name) < 0)
			break;
	}
	CHECK(TU_WAIT(atomic_load(&nseen) == NFUNC, 60));
	CHECK_EQ(atomic_load(&nseen), NFUNC);

	for (i = 0; i < 40; i++)
		request("Many::spread");
	CHECK(TU_WAIT(atomic_load(&spread_n) == 40, 60));
	CHECK_EQ(atomic_load(&spread_mask), 3); /* both shards ran it */
	for (i = 0; i < 20; i++)
		request("Many::pin");
	CHECK(TU_WAIT(atomic_load(&pin_n) == 20, 60));
	CHECK_EQ(atomic_load(&pin_wrong), 0); /* only shard 1 ran it */

	/* a loaded module again: nothing happens (a second init would
	 * fail with -EEXIST) */
	CHECK_OK(aemp_module_load(node, mod("Many.so")));
	CHECK_ERR(aemp_module_load(node, mod("Failing.so")), -EPROTO);
	CHECK_ERR(aemp_module_load(node, mod("Dup.so")), -EEXIST);
	CHECK_EQ(can("Many::f7"), 1);
	CHECK_EQ(can("Failing::x"), 0);
	CHECK_EQ(can("Dup::ok"), 0);
	/* an init loading another module (recursive lock, no deadlock) */
	CHECK_OK(aemp_module_load(node, mod("Nested.so")));
	CHECK_EQ(can("Nested::x"), 1);
	CHECK_ERR(aemp_module_load(node, mod("Missing.so")), -ENOENT);
	f = fopen(mod("text-not-elf.so"), "w");
	if (f != NULL) {
		fputs("not a shared object\n", f);
		fclose(f);
	}
	CHECK_ERR(aemp_module_load(node, mod("text-not-elf.so")), -ENOEXEC);
	unlink(mod("text-not-elf.so"));
	CHECK_ERR(aemp_module_load(node, ""), -EINVAL);

	aemp_node_stop(node);
	aemp_node_wait(node);
	aemp_node_free(node);
	return tap_done();
}
