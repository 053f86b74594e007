/*
 * tests/unit/ring_loop.c - the io_uring loop: setup errors under a seccomp
 * filter, NOP completions through op->fn (also past a full SQ), ignored
 * user_data, timers firing while blocked, wake-ups by MSG_RING from another
 * loop and by eventfd from a foreign thread, a stress of sleep/wake
 * handoffs that must lose none, and the provided buffer ring under a
 * multishot recv (recycling, -ENOBUFS when exhausted, recovery).
 *
 * Skips (exit 77) when io_uring is unavailable.  Every wait is bounded: a
 * watchdog timer in each blocking loop, and alarm() as the backstop.
 *
 * aemp-test-timeout: 90
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ring/bufring.h"
#include "ring/loop.h"
#include "ring/spsc.h"
#include "tests/tap.h"

#define MS 1000000ull

/* ---- setup errors ------------------------------------------------------ */

/* In a child: make io_uring_setup fail with err, then report what
 * ring_loop_init returned (exit code = -rc, 100 if the message is empty). */
static int
child_init_with_seccomp(int err)
{
	struct sock_filter f[] = {
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                 offsetof(struct seccomp_data, nr)),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
	        BPF_STMT(BPF_RET | BPF_K,
	                 SECCOMP_RET_ERRNO |
	                         ((unsigned)err & SECCOMP_RET_DATA)),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = AEMP_ARRAY_LEN(f), .filter = f};
	struct ring_loop l;
	int rc, status;
	pid_t pid = fork();

	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
			_exit(99);
		rc = ring_loop_init(&l, 8);
		if (rc == 0)
			_exit(0);
		printf("# init under seccomp(%d): %d: %s\n", err, rc,
		       aemp_errmsg());
		fflush(stdout);
		_exit(aemp_errmsg()[0] ? -rc : 100);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
test_setup_errors(void)
{
	int r = child_init_with_seccomp(EPERM);

	if (r == 99) {
		DIAG("seccomp unavailable here; setup error paths not tested");
		return;
	}
	CHECK_EQ(r, EPERM);
	CHECK_EQ(child_init_with_seccomp(ENOSYS), ENOSYS);
}

/* ---- NOPs, reserved user_data, SQ overflow ----------------------------- */

struct nop_op {
	struct ring_op op;
	int calls;
	int res;
};

static void
nop_done(struct ring_op *op, int res, uint32_t flags)
{
	struct nop_op *n = AEMP_CONTAINER_OF(op, struct nop_op, op);

	(void)flags;
	n->calls++;
	n->res = res;
}

static void
test_nops(void)
{
	static struct nop_op ops[100];
	struct ring_loop l;
	struct io_uring_sqe *sqe;
	int i, bad = 0, turns = 0, done = 0;
	uint64_t enters;

	/* 8 SQEs: queueing 100 forces ring_sqe to submit when full. */
	CHECK_OK(ring_loop_init(&l, 8));
	for (i = 0; i < 100; i++) {
		ops[i].op.fn = nop_done;
		sqe = ring_sqe(&l);
		io_uring_prep_nop(sqe);
		ring_sqe_op(sqe, &ops[i].op);
	}
	sqe = ring_sqe(&l);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, RING_UD_IGNORE);
	while (done < 100 && turns++ < 1000) {
		int n = ring_loop_run(&l, turns > 10);

		if (n < 0)
			break;
		for (done = 0, i = 0; i < 100; i++)
			done += ops[i].calls;
	}
	for (i = 0; i < 100; i++)
		bad += ops[i].calls != 1 || ops[i].res != 0;
	CHECK_EQ(done, 100);
	CHECK_EQ(bad, 0);
	CHECK(l.cqes >= 101);
	CHECK(l.submits > 1);
	DIAG("100 NOPs in %d turns, %llu enters", turns,
	     (unsigned long long)l.submits);
	/* An idle non-blocking pass makes no system call. */
	ring_loop_run(&l, 0);
	enters = l.submits;
	for (i = 0; i < 10; i++)
		CHECK_EQ(ring_loop_run(&l, 0), 0);
	CHECK_EQ(l.submits, enters);
	ring_loop_fini(&l);
}

/* ---- timers while blocked ---------------------------------------------- */

static int timer_hits;

static void
count_timer(struct ring_timer *t)
{
	(void)t;
	timer_hits++;
}

static void
test_timers_block(void)
{
	struct ring_loop l;
	struct ring_timer a, b;
	uint64_t t0, dt;
	int turns = 0;

	CHECK_OK(ring_loop_init(&l, 8));
	ring_timer_init(&a, count_timer);
	ring_timer_init(&b, count_timer);
	t0 = ring_now_ns();
	ring_timer_start(&l.timers, &a, t0 + 30 * MS);
	ring_timer_start(&l.timers, &b, t0 + 60 * MS);
	while (timer_hits < 2 && turns++ < 100)
		CHECK(ring_loop_run(&l, 1) >= 0);
	dt = ring_now_ns() - t0;
	CHECK_EQ(timer_hits, 2);
	CHECK(dt >= 60 * MS);
	CHECK(dt < 1000 * MS);
	CHECK(turns <= 5); /* slept, did not spin */
	CHECK(l.now_ns >= t0 + 60 * MS);
	DIAG("two timers (30, 60 ms) fired after %.1f ms in %d turns",
	     (double)dt / 1e6, turns);
	ring_loop_fini(&l);
}

/* ---- wake-ups ---------------------------------------------------------- */

/* A sleeper thread: its own loop (only its creator may submit and wait on
 * a SINGLE_ISSUER ring), `rounds` blocking sleeps, each ended only by a
 * wake-up or by a 5 s watchdog timer, which counts as a failure. */
#define SLEEP_ROUNDS 2

struct sleeper {
	struct ring_loop l;
	atomic_int ready; /* round number announced as asleep */
	int init_rc;
	int watchdog;
	uint64_t slept_ns[SLEEP_ROUNDS];
	struct ring_timer wd;
};

static void
sleeper_watchdog(struct ring_timer *t)
{
	struct sleeper *s = AEMP_CONTAINER_OF(t, struct sleeper, wd);

	s->watchdog++;
}

static void
sleeper_round(struct sleeper *s, int round)
{
	uint64_t t0, c0 = s->l.cqes;
	int fired = s->watchdog;

	ring_timer_start(&s->l.timers, &s->wd, ring_now_ns() + 5000 * MS);
	ring_loop_sleep_prepare(&s->l);
	atomic_store(&s->ready, round + 1);
	t0 = ring_now_ns();
	/* Nothing but a wake-up CQE (or the watchdog) ends this. */
	while (s->watchdog == fired && s->l.cqes == c0) {
		ring_loop_run(&s->l, 1);
		ring_loop_sleep_prepare(&s->l);
	}
	ring_loop_sleep_cancel(&s->l);
	ring_timer_stop(&s->l.timers, &s->wd);
	s->slept_ns[round] = ring_now_ns() - t0;
}

static void *
sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	int i;

	s->init_rc = ring_loop_init(&s->l, 8);
	if (s->init_rc < 0) {
		atomic_store(&s->ready, SLEEP_ROUNDS);
		return NULL;
	}
	ring_timer_init(&s->wd, sleeper_watchdog);
	ring_loop_run(&s->l, 0); /* arm the eventfd read */
	for (i = 0; i < SLEEP_ROUNDS; i++)
		sleeper_round(s, i);
	return NULL;
}

/* Wait until the sleeper announced round `round`, then a little longer so
 * it is blocked in io_uring_enter. */
static void
wait_asleep(struct sleeper *s, int round)
{
	while (atomic_load(&s->ready) < round + 1)
		usleep(1000);
	usleep(20000);
}

static void
test_wake_msg_ring(void)
{
	static struct sleeper s;
	struct ring_loop me;
	pthread_t th;
	uint64_t cqes;
	int i, msgs = 0;

	CHECK_OK(ring_loop_init(&me, 8));
	ring_loop_run(&me, 0);
	cqes = me.cqes;
	pthread_create(&th, NULL, sleeper_main, &s);
	for (i = 0; i < SLEEP_ROUNDS; i++) {
		wait_asleep(&s, i);
		ring_wake(&me, &s.l);
		msgs += io_uring_sq_ready(&me.ring);
		/* No longer sleeping: no second message. */
		ring_wake(&me, &s.l);
		msgs += io_uring_sq_ready(&me.ring);
		ring_loop_run(&me, 0);
	}
	pthread_join(th, NULL);
	CHECK_OK(s.init_rc);
	CHECK_EQ(msgs, SLEEP_ROUNDS * 2);
	CHECK_EQ(s.watchdog, 0);
	CHECK(s.slept_ns[0] >= 10 * MS);
	CHECK(s.slept_ns[1] >= 10 * MS);
	/* Give a sender CQE time to show (there is none with
	 * IOSQE_CQE_SKIP_SUCCESS). */
	usleep(1000);
	ring_loop_run(&me, 0);
	if (me.ring.features & IORING_FEAT_CQE_SKIP)
		CHECK_EQ(me.cqes, cqes);
	DIAG("MSG_RING woke the sleeper after %.1f / %.1f ms; sender CQEs: "
	     "%llu",
	     (double)s.slept_ns[0] / 1e6, (double)s.slept_ns[1] / 1e6,
	     (unsigned long long)(me.cqes - cqes));
	ring_loop_fini(&s.l);
	ring_loop_fini(&me);
}

static void
test_wake_foreign(void)
{
	static struct sleeper s;
	pthread_t th;
	int i;

	pthread_create(&th, NULL, sleeper_main, &s);
	/* The second round shows the eventfd read was re-armed. */
	for (i = 0; i < SLEEP_ROUNDS; i++) {
		wait_asleep(&s, i);
		ring_wake_foreign(&s.l);
	}
	pthread_join(th, NULL);
	CHECK_OK(s.init_rc);
	CHECK_EQ(s.watchdog, 0);
	CHECK(s.slept_ns[0] >= 10 * MS);
	CHECK(s.slept_ns[1] >= 10 * MS);
	DIAG("eventfd woke the sleeper after %.1f / %.1f ms",
	     (double)s.slept_ns[0] / 1e6, (double)s.slept_ns[1] / 1e6);
	ring_loop_fini(&s.l);
}

/* ---- sleeping protocol stress ------------------------------------------ */

/* Two shards play ping-pong through a pair of SPSC queues: each sends one
 * record and sleeps until the answer arrives, so nearly every handoff is a
 * sleep and a wake-up.  A lost wake-up shows as the 2 s watchdog firing
 * while a record is waiting. */
#define PP_ROUNDS 20000

struct pp_side {
	struct ring_loop l;
	struct ring_spsc *in, *out;
	struct pp_side *peer;
	struct ring_timer wd;
	int wd_fired;
	atomic_int ready;
	uint64_t lost, sleeps, got, bad;
	int starter;
};

static atomic_int pp_go;
static atomic_int pp_abort;

static void
pp_watchdog(struct ring_timer *t)
{
	struct pp_side *s = AEMP_CONTAINER_OF(t, struct pp_side, wd);

	s->wd_fired = 1;
}

static void
pp_send(struct pp_side *s, uint64_t v)
{
	uint64_t *p = ring_spsc_reserve(s->out, 1, 8);

	AEMP_ASSERT(p != NULL); /* one record in flight at most */
	*p = v;
	ring_spsc_commit(s->out, 8);
	ring_spsc_publish(s->out);
	ring_wake(&s->l, &s->peer->l);
}

/* Take one record if there is one; 1 if taken. */
static int
pp_recv(struct pp_side *s)
{
	const uint64_t *p;
	uint32_t kind;
	size_t len;

	if ((p = ring_spsc_front(s->in, &kind, &len)) == NULL)
		return 0;
	s->bad += *p != s->got;
	ring_spsc_pop(s->in);
	ring_spsc_release(s->in);
	s->got++;
	return 1;
}

/* Sleep until a record arrives; counts watchdog firings with data
 * waiting as lost wake-ups. */
static void
pp_wait(struct pp_side *s)
{
	while (!pp_recv(s)) {
		ring_loop_sleep_prepare(&s->l);
		if (!ring_spsc_empty(s->in)) {
			ring_loop_sleep_cancel(&s->l);
			continue;
		}
		s->sleeps++;
		s->wd_fired = 0;
		ring_timer_start(&s->l.timers, &s->wd,
		                 ring_now_ns() + 2000 * MS);
		ring_loop_run(&s->l, 1);
		if (s->wd_fired && !ring_spsc_empty(s->in))
			s->lost++;
		if (s->lost > 3)
			atomic_store(&pp_abort, 1);
		if (atomic_load(&pp_abort))
			return;
	}
	ring_timer_stop(&s->l.timers, &s->wd);
}

static void *
pp_main(void *arg)
{
	struct pp_side *s = arg;
	uint64_t i;

	if (ring_loop_init(&s->l, 64) < 0)
		return NULL;
	ring_timer_init(&s->wd, pp_watchdog);
	atomic_store(&s->ready, 1);
	while (!atomic_load(&pp_go))
		sched_yield();
	/* The MSG_RING queued by pp_send goes out with the next run. */
	for (i = 0; i < PP_ROUNDS && !atomic_load(&pp_abort); i++) {
		if (s->starter) {
			pp_send(s, i);
			pp_wait(s);
		} else {
			pp_wait(s);
			pp_send(s, i);
		}
	}
	/* Drain stray wake-ups, then leave the ring to the main thread. */
	ring_loop_run(&s->l, 0);
	return NULL;
}

static void
test_sleep_stress(void)
{
	static struct pp_side a, b;
	static struct ring_spsc ab, ba;
	pthread_t ta, tb;
	uint64_t t0 = ring_now_ns();

	ring_spsc_init(&ab, 4096);
	ring_spsc_init(&ba, 4096);
	a.out = b.in = &ab;
	b.out = a.in = &ba;
	a.peer = &b;
	b.peer = &a;
	a.starter = 1;
	pthread_create(&ta, NULL, pp_main, &a);
	pthread_create(&tb, NULL, pp_main, &b);
	while (!atomic_load(&a.ready) || !atomic_load(&b.ready))
		usleep(1000);
	atomic_store(&pp_go, 1);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK_EQ(a.lost + b.lost, 0);
	CHECK_EQ(a.got, PP_ROUNDS);
	CHECK_EQ(b.got, PP_ROUNDS);
	CHECK_EQ(a.bad + b.bad, 0);
	CHECK(a.sleeps + b.sleeps > PP_ROUNDS / 10);
	DIAG("%d round trips in %.0f ms: %llu sleeps, %llu lost wake-ups",
	     PP_ROUNDS, (double)(ring_now_ns() - t0) / 1e6,
	     (unsigned long long)(a.sleeps + b.sleeps),
	     (unsigned long long)(a.lost + b.lost));
	ring_loop_fini(&a.l);
	ring_loop_fini(&b.l);
	ring_spsc_fini(&ab);
	ring_spsc_fini(&ba);
}

/* ---- provided buffer ring with a multishot recv ------------------------ */

#define BR_NBUFS 8
#define BR_SIZE 64

struct rx {
	struct ring_op op;
	struct ring_bufring *br;
	uint8_t data[4096];
	size_t len;
	int armed;
	int enobufs;
	int errors;
	int hold; /* keep buffers instead of recycling */
	int eof;
	uint16_t held[64];
	int nheld;
	int pad_bad;
};

static void
rx_done(struct ring_op *op, int res, uint32_t flags)
{
	struct rx *rx = AEMP_CONTAINER_OF(op, struct rx, op);
	uint16_t bid;
	uint8_t *p;

	if (!(flags & IORING_CQE_F_MORE))
		rx->armed = 0;
	if (res == -ENOBUFS) {
		rx->enobufs++;
		return;
	}
	if (res == 0) {
		rx->eof = 1;
		return;
	}
	if (res < 0 || !(flags & IORING_CQE_F_BUFFER)) {
		rx->errors++;
		return;
	}
	p = ring_bufring_take(rx->br, flags, &bid);
	if ((size_t)res > BR_SIZE || rx->len + (size_t)res > sizeof(rx->data)) {
		rx->errors++;
		return;
	}
	memcpy(rx->data + rx->len, p, (size_t)res);
	rx->len += (size_t)res;
	/* The padding after the buffer is readable (and zero). */
	rx->pad_bad += p[BR_SIZE + RING_BUF_PADDING - 1] != 0;
	if (rx->hold)
		rx->held[rx->nheld++] = bid;
	else
		ring_bufring_recycle(rx->br, bid);
}

static void
rx_arm(struct ring_loop *l, struct rx *rx, int fd, uint16_t bgid)
{
	struct io_uring_sqe *sqe = ring_sqe(l);

	io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = bgid;
	ring_sqe_op(sqe, &rx->op);
	rx->armed = 1;
}

/* Poll the loop without blocking (exercises the TASKRUN-flag path) until
 * cond holds or ~2 s pass. */
#define POLL_UNTIL(l, cond)                                                    \
	do {                                                                   \
		int poll_i_;                                                   \
		for (poll_i_ = 0; poll_i_ < 2000 && !(cond); poll_i_++) {      \
			ring_loop_run((l), 0);                                 \
			if (!(cond))                                           \
				usleep(1000);                                  \
		}                                                              \
	} while (0)

static void
fill_pattern(uint8_t *p, size_t n, size_t off)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)((off + i) * 7 + 3);
}

/* The byte stream written into the socketpair, and how much of it. */
static uint8_t br_sent[4096];
static size_t br_total;
static int br_short_writes;

static void
br_write(int fd, size_t n)
{
	fill_pattern(br_sent + br_total, n, br_total);
	br_short_writes += write(fd, br_sent + br_total, n) != (ssize_t)n;
	br_total += n;
}

/* Hold every buffer: the 9th receive finds none and the multishot recv
 * ends with -ENOBUFS; then recycle, flush, re-arm, and the bytes waiting
 * in the socket arrive. */
static void
bufring_exhaust(struct ring_loop *l, struct ring_bufring *br, struct rx *rx,
                int sv[2])
{
	int i;

	rx->hold = 1;
	for (i = 0; i < BR_NBUFS + 1; i++) {
		br_write(sv[1], BR_SIZE);
		POLL_UNTIL(l, rx->len == br_total || rx->enobufs);
	}
	CHECK_EQ(rx->enobufs, 1);
	CHECK(!rx->armed);
	CHECK_EQ(br->out, BR_NBUFS);
	CHECK_EQ(rx->len, br_total - BR_SIZE); /* the rest is in the socket */

	rx->hold = 0;
	for (i = 0; i < rx->nheld; i++)
		ring_bufring_recycle(br, rx->held[i]);
	CHECK_EQ(br->pending, BR_NBUFS);
	ring_bufring_flush(br);
	CHECK_EQ(br->pending, 0);
	rx_arm(l, rx, sv[0], 1);
	POLL_UNTIL(l, rx->len == br_total);
	ring_bufring_flush(br);
}

static void
test_bufring(void)
{
	static struct rx rx;
	struct ring_loop l;
	struct ring_bufring br;
	int sv[2], i;

	CHECK_OK(ring_loop_init(&l, 32));
	CHECK_ERR(ring_bufring_init(&l, &br, 1, 3, BR_SIZE), -EINVAL);
	CHECK_OK(ring_bufring_init(&l, &br, 1, BR_NBUFS, BR_SIZE));
	CHECK(br.stride >= BR_SIZE + RING_BUF_PADDING);
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	rx.op.fn = rx_done;
	rx.br = &br;
	rx_arm(&l, &rx, sv[0], 1);

	/* 40 small writes, each buffer recycled at once: the 8 buffers go
	 * round five times. */
	for (i = 0; i < 40; i++) {
		br_write(sv[1], 50);
		POLL_UNTIL(&l, rx.len == br_total);
		ring_bufring_flush(&br);
	}
	CHECK_EQ(rx.len, br_total);
	CHECK(rx.armed);
	CHECK_EQ(br.out, 0);

	bufring_exhaust(&l, &br, &rx, sv);
	CHECK_EQ(br_short_writes, 0);
	CHECK_EQ(rx.len, br_total);
	CHECK_MEMEQ(rx.data, rx.len, br_sent, br_total);
	CHECK_EQ(rx.errors, 0);
	CHECK_EQ(rx.pad_bad, 0);
	CHECK_EQ(br.out, 0);

	/* Closing the peer ends the recv (res 0, no F_MORE). */
	close(sv[1]);
	POLL_UNTIL(&l, !rx.armed);
	CHECK(!rx.armed);
	CHECK(rx.eof);
	close(sv[0]);
	ring_bufring_fini(&l, &br);
	ring_loop_fini(&l);
}

/* Circulation grows when the ring runs low and shrinks back, the parked
 * buffers' pages given back, once the load is gone. */
static void
test_bufring_grow(void)
{
	static struct rx rx;
	struct ring_loop l;
	struct ring_bufring br;
	int sv[2], i;

	memset(&rx, 0, sizeof(rx));
	br_total = 0;
	CHECK_OK(ring_loop_init(&l, 32));
	CHECK_OK(ring_bufring_init(&l, &br, 2, 64, 8192));
	CHECK_EQ(br.circ, RING_BUFRING_MIN);
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	rx.op.fn = rx_done;
	rx.br = &br;
	rx_arm(&l, &rx, sv[0], 2);
	/* hold 12 of 16: a quarter left, the circulation doubles */
	rx.hold = 1;
	for (i = 0; i < 12; i++) {
		br_write(sv[1], 40);
		POLL_UNTIL(&l, rx.len == br_total);
	}
	ring_bufring_flush(&br);
	CHECK_EQ(br.circ, 2 * RING_BUFRING_MIN);
	CHECK(ring_timer_armed(&br.trim));
	rx.hold = 0;
	for (i = 0; i < rx.nheld; i++)
		ring_bufring_recycle(&br, rx.held[i]);
	ring_bufring_flush(&br);
	/* it grew: no shrink yet; the period was quiet (12 receives, 32
	 * buffers), so the written buffers back in the ring lose their pages
	 * where the kernel reports the ring's head */
	DIAG("quiet trim gave back %zu bytes", ring_bufring_trim(&br));
	CHECK_EQ(br.target, 2 * RING_BUFRING_MIN);
	ring_bufring_trim(&br);
	CHECK_EQ(br.target, RING_BUFRING_MIN);
	/* traffic brings the surplus back from the ring: parked */
	for (i = 0; i < 2 * RING_BUFRING_MIN; i++) {
		br_write(sv[1], 40);
		POLL_UNTIL(&l, rx.len == br_total);
		ring_bufring_flush(&br);
	}
	CHECK_EQ(br.circ, RING_BUFRING_MIN);
	CHECK_EQ(br.nparked, RING_BUFRING_MIN);
	CHECK(ring_bufring_trim(&br) > 0);
	CHECK_EQ(br.nclean, br.nparked);
	/* a quiet period: the written buffers waiting in the ring too (where
	 * the kernel reports the head); then nothing is left to give back */
	DIAG("quiet trim gave back %zu bytes", ring_bufring_trim(&br));
	CHECK_EQ(ring_bufring_trim(&br), 0);
	CHECK_EQ(rx.len, br_total);
	CHECK_MEMEQ(rx.data, rx.len, br_sent, br_total);
	CHECK_EQ(rx.errors + rx.enobufs + rx.pad_bad, 0);
	close(sv[1]);
	close(sv[0]);
	ring_bufring_fini(&l, &br);
	ring_loop_fini(&l);
}

int
main(void)
{
	struct ring_loop l;
	int rc;

	alarm(80);
	rc = ring_loop_init(&l, 8);
	if (rc == -ENOSYS || rc == -EPERM)
		TAP_SKIP_ALL("io_uring unavailable: %s", aemp_errmsg());
	CHECK_OK(rc);
	if (rc < 0)
		return tap_done();
	DIAG("setup flags 0x%x (single_issuer %d, defer_taskrun %d, "
	     "coop_taskrun %d), features 0x%x",
	     l.setup_flags, !!(l.setup_flags & IORING_SETUP_SINGLE_ISSUER),
	     !!(l.setup_flags & IORING_SETUP_DEFER_TASKRUN),
	     !!(l.setup_flags & IORING_SETUP_COOP_TASKRUN), l.ring.features);
	ring_loop_fini(&l);

	test_setup_errors();
	test_nops();
	test_timers_block();
	test_wake_msg_ring();
	test_wake_foreign();
	test_sleep_stress();
	test_bufring();
	test_bufring_grow();
	return tap_done();
}
