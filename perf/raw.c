/*
 * perf/raw.c - the baseline: the same traffic as plain TCP over loopback
 * between two processes, without aemp.  Frames are [u32 length][u32
 * SID][u64 SEQ][payload] (16 bytes of header, about what AEMP's CBOR
 * framing adds to a small message).
 *
 *  - throughput: the sender fills 256 KiB buffers with frames and writes
 *    them with blocking write(); the receiver ("aemp-perf --child raw")
 *    reads 256 KiB at a time and checks every sequence number.  A sync
 *    frame (SID 0xffffffff, SEQ = frames sent) is answered with the
 *    receiver's counts, as the perf port answers a sync.
 *  - ping-pong: one frame in flight; the receiver writes each frame back.
 *
 *  - with --busy-poll, both are also measured spinning: the receiver and
 *    the pinger read with MSG_DONTWAIT in a loop instead of blocking,
 *    yielding the CPU every 16 empty reads as a spinning shard does.
 *
 * The first byte on a connection picks the mode: 'T' or 'E' (lower case:
 * spinning).  Each baseline is measured once per run and size and then
 * reused for the ratios (perf_raw_tput, perf_raw_rtt).
 *
 * Threads: main thread (both processes are single-threaded here).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "perf/perf.h"

#define HDR 16
#define CHUNK (256 * 1024)
#define SYNC_SID 0xffffffffu
#define CTL_FD 3

static const struct timeval io_timeout = {10, 0};

struct raw_count {
	uint64_t next, received, gaps, reorders;
};

/* ---- frames and sockets --------------------------------------------- */

static void
put_hdr(uint8_t *p, uint32_t len, uint32_t sid, uint64_t seq)
{
	memcpy(p, &len, 4);
	memcpy(p + 4, &sid, 4);
	memcpy(p + 8, &seq, 8);
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -ETIMEDOUT;
		if (w <= 0)
			return w < 0 ? -errno : -EPIPE;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* A spinning wait's hint to the CPU (x86 PAUSE, Arm YIELD). */
static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* read_spin - read_all without ever sleeping: non-blocking reads in a
 * loop (the spinning baseline); -ETIMEDOUT after io_timeout without a
 * byte. */
static int
read_spin(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	int64_t deadline = 0;
	unsigned idle = 0;
	ssize_t r;

	while (len > 0) {
		r = recv(fd, p, len, MSG_DONTWAIT);
		if (r > 0) {
			p += r;
			len -= (size_t)r;
			deadline = 0;
			continue;
		}
		if (r == 0)
			return -EPIPE;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if (++idle % 16 == 0)
			sched_yield(); /* as a spinning shard does */
		if ((idle & 4095) == 0) {
			int64_t now = perf_now_ns();

			if (deadline == 0)
				deadline =
				        now + io_timeout.tv_sec * 1000000000ll;
			else if (now > deadline)
				return -ETIMEDOUT;
		}
		cpu_relax();
	}
	return 0;
}

static int
read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t r;

	while (len > 0) {
		r = read(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -ETIMEDOUT;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static void
nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int
raw_connect(const char *addr)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const char *colon = strrchr(addr, ':');
	char host[64];
	int fd;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -errno;
	}
	nodelay(fd);
	/* Every wait is bounded: a receiver that stops reading or answering
	 * turns into -ETIMEDOUT (see write_all, read_all). */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &io_timeout,
	           sizeof(io_timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &io_timeout,
	           sizeof(io_timeout));
	return fd;
}

/* ---- receiver (child) ----------------------------------------------- */

static void
count_seq(struct raw_count *c, uint64_t seq)
{
	c->received++;
	if (seq == c->next)
		c->next++;
	else if (seq > c->next) {
		c->gaps += seq - c->next;
		c->next = seq + 1;
	} else {
		c->reorders++;
	}
}

static int
on_frame(int fd, struct raw_count *c, const uint8_t *p)
{
	uint64_t seq, reply[3];
	uint32_t sid;

	memcpy(&sid, p + 4, 4);
	memcpy(&seq, p + 8, 8);
	if (sid != SYNC_SID) {
		count_seq(c, seq);
		return 0;
	}
	if (seq > c->next) {
		c->gaps += seq - c->next;
		c->next = seq;
	}
	reply[0] = c->received;
	reply[1] = c->gaps;
	reply[2] = c->reorders;
	return write_all(fd, reply, sizeof(reply));
}

/* parse - handle the complete frames in buf[0..have); returns the bytes
 * used, or a negative error; *need is the size of a partial frame. */
static ssize_t
parse(int fd, struct raw_count *c, const uint8_t *buf, size_t have,
      size_t *need)
{
	size_t off = 0;
	uint32_t len;
	int rc;

	*need = 0;
	while (have - off >= 4) {
		memcpy(&len, buf + off, 4);
		if (len < HDR - 4)
			return -EPROTO;
		if (have - off < 4 + (size_t)len) {
			*need = 4 + (size_t)len;
			break;
		}
		rc = on_frame(fd, c, buf + off);
		if (rc < 0)
			return rc;
		off += 4 + len;
	}
	return (ssize_t)off;
}

static int
grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (need <= *cap)
		return 0;
	p = realloc(*buf, need);
	if (p == NULL)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

static int
serve_sink(int fd, int spin)
{
	struct raw_count c = {0, 0, 0, 0};
	size_t cap = CHUNK, have = 0, need;
	uint8_t *buf = malloc(cap);
	ssize_t r, used;
	unsigned idle = 0;
	int rc = 0;

	while (buf != NULL) {
		r = recv(fd, buf + have, cap - have, spin ? MSG_DONTWAIT : 0);
		if (r < 0 && spin &&
		    (errno == EAGAIN || errno == EWOULDBLOCK)) {
			cpu_relax(); /* the parent's EOF ends the loop */
			if (++idle % 16 == 0)
				sched_yield();
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		used = parse(fd, &c, buf, have, &need);
		if (used < 0) {
			rc = (int)used;
			break;
		}
		have -= (size_t)used;
		memmove(buf, buf + used, have);
		if (need > cap && (rc = grow(&buf, &cap, need)) < 0)
			break;
	}
	free(buf);
	return buf == NULL ? -ENOMEM : rc;
}

static int
serve_echo(int fd, int spin)
{
	size_t cap = CHUNK;
	uint8_t *buf = malloc(cap);
	uint32_t len;
	int rc = 0;

	while (buf != NULL && rc == 0) {
		if ((spin ? read_spin(fd, &len, 4) : read_all(fd, &len, 4)) < 0)
			break;
		memcpy(buf, &len, 4);
		rc = grow(&buf, &cap, 4 + (size_t)len);
		if (rc == 0)
			rc = spin ? read_spin(fd, buf + 4, len)
			          : read_all(fd, buf + 4, len);
		if (rc == 0)
			rc = write_all(fd, buf, 4 + (size_t)len);
	}
	free(buf);
	return rc == -EPIPE ? 0 : rc;
}

static void
serve_conn(int fd)
{
	char mode = 0;
	int rc = -EPROTO;

	if (read_all(fd, &mode, 1) == 0) {
		/* lower case: the spinning variant (--busy-poll) */
		if (mode == 'T' || mode == 't')
			rc = serve_sink(fd, mode == 't');
		else if (mode == 'E' || mode == 'e')
			rc = serve_echo(fd, mode == 'e');
	}
	if (rc < 0 && rc != -ECONNRESET)
		perf_err(0, "raw receiver: %s", aemp_strerror(rc));
	close(fd);
}

static int
raw_listen(char *addr, size_t cap)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -errno;
	}
	snprintf(addr, cap, "127.0.0.1:%d", ntohs(sa.sin_port));
	return fd;
}

int
perf_child_raw(int argc, char **argv)
{
	struct perf_child ctl = {.pid = 0, .ctl = CTL_FD};
	struct pollfd pfd[2];
	char addr[64];
	int lfd, fd;

	(void)argv;
	perf_err_to_fd(CTL_FD);
	if (argc != 0)
		return perf_err(PERF_EUSAGE, "--child raw: bad arguments");
	lfd = raw_listen(addr, sizeof(addr));
	if (lfd < 0)
		return perf_err(PERF_EFAIL, "raw listener: %s",
		                aemp_strerror(lfd));
	perf_child_say(&ctl, "ready %s", addr);
	pfd[0] = (struct pollfd){CTL_FD, POLLIN, 0};
	pfd[1] = (struct pollfd){lfd, POLLIN, 0};
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents != 0)
			break; /* the parent closed the socket (or wrote) */
		if (pfd[1].revents == 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		nodelay(fd);
		serve_conn(fd);
	}
	close(lfd);
	return 0;
}

/* ---- sender and pinger (parent) ------------------------------------- */

struct raw_run {
	const struct perf_opts *o;
	int fd;
	size_t frame;   /* bytes per frame */
	uint8_t *chunk; /* nframes frames */
	size_t nframes;
	uint64_t seq;
	int spin; /* the pinger reads without sleeping */
	struct perf_child child;
};

static int
raw_start(struct raw_run *rr, const struct perf_opts *o, size_t size, char mode)
{
	char *argv[] = {"aemp-perf", "--child", "raw", NULL};
	char line[128];
	size_t i;
	int rc;

	memset(rr, 0, sizeof(*rr));
	rr->o = o;
	rr->fd = -1;
	rr->frame = HDR + size;
	rr->spin = mode == 't' || mode == 'e';
	rr->nframes = (mode == 'T' || mode == 't') && rr->frame < CHUNK
	                      ? CHUNK / rr->frame
	                      : 1;
	rr->chunk = malloc(rr->nframes * rr->frame);
	if (rr->chunk == NULL)
		return -ENOMEM;
	for (i = 0; i < rr->nframes; i++) {
		put_hdr(rr->chunk + i * rr->frame, (uint32_t)(rr->frame - 4), 0,
		        0);
		memcpy(rr->chunk + i * rr->frame + HDR, perf_payload(size),
		       size);
	}
	rc = perf_child_spawn(&rr->child, argv, NULL, NULL);
	if (rc == 0)
		rc = perf_child_line(&rr->child, line, sizeof(line), 20000);
	if (rc >= 0)
		rc = strncmp(line, "ready ", 6) == 0 ? 0 : -EPROTO;
	if (rc == 0)
		rc = rr->fd = raw_connect(line + 6);
	if (rc >= 0)
		rc = write_all(rr->fd, &mode, 1);
	return rc;
}

static void
raw_stop(struct raw_run *rr)
{
	if (rr->fd >= 0)
		close(rr->fd);
	rr->fd = -1;
	if (perf_child_stop(&rr->child) > 128) {
		perf_err(0, "the raw receiver died of a signal");
		perf_set_status(PERF_EFAIL);
	}
	free(rr->chunk);
	rr->chunk = NULL;
}

/* send_frames - n frames (n <= nframes) with the next sequence numbers. */
static int
send_frames(struct raw_run *rr, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memcpy(rr->chunk + i * rr->frame + 8, &rr->seq, 8);
		rr->seq++;
	}
	return write_all(rr->fd, rr->chunk, n * rr->frame);
}

static int
raw_sync(struct raw_run *rr, uint64_t reply[3])
{
	uint8_t f[HDR];

	put_hdr(f, HDR - 4, SYNC_SID, rr->seq);
	if (write_all(rr->fd, f, sizeof(f)) < 0)
		return -EPIPE;
	return read_all(rr->fd, reply, 3 * sizeof(uint64_t));
}

static void
raw_show(struct raw_run *rr, uint64_t done, int64_t t0, int64_t *last)
{
	int64_t now = perf_now_ns();
	char line[128];

	if (now - *last < 250000000)
		return;
	*last = now;
	snprintf(line, sizeof(line), "raw: %.3f M msgs/s [%.1f s]",
	         (double)done / ((double)(now - t0) / 1e9) / 1e6,
	         (double)(now - t0) / 1e9);
	perf_progress(rr->o, line);
}

/* blast - send for `seconds` or `count` frames. */
static int
blast(struct raw_run *rr, double seconds, uint64_t count, int show)
{
	int64_t t0 = perf_now_ns(), end = t0 + (int64_t)(seconds * 1e9);
	int64_t last = t0;
	uint64_t base = rr->seq, n;
	int rc = 0;

	for (;;) {
		n = rr->nframes;
		if (count != 0 && count - (rr->seq - base) < n)
			n = count - (rr->seq - base);
		if (count != 0 ? n == 0 : perf_now_ns() >= end)
			break;
		rc = send_frames(rr, (size_t)n);
		if (rc < 0)
			break;
		if (show)
			raw_show(rr, rr->seq - base, t0, &last);
	}
	return rc;
}

static int
tput_measure(struct raw_run *rr, struct perf_result *r)
{
	const struct perf_opts *o = rr->o;
	uint64_t reply[3], base;
	int64_t t0, cpu0;
	int rc;

	rc = blast(rr, o->warmup, 0, 0);
	if (rc == 0)
		rc = raw_sync(rr, reply);
	if (rc < 0)
		return rc;
	base = rr->seq;
	cpu0 = perf_cpu_sum(&rr->child.pid, 1);
	t0 = perf_now_ns();
	rc = blast(rr, o->seconds, o->count, 1);
	if (rc == 0)
		rc = raw_sync(rr, reply);
	if (rc < 0)
		return rc;
	r->secs = (double)(perf_now_ns() - t0) / 1e9;
	r->cpu_s = (double)(perf_cpu_sum(&rr->child.pid, 1) - cpu0) / 1e9;
	r->msgs = rr->seq - base;
	r->gaps = (int64_t)reply[1];
	r->reorders = (int64_t)reply[2];
	return 0;
}

static int
ping_once(struct raw_run *rr, uint8_t *back, struct perf_hist *h, int64_t *gaps)
{
	int64_t t = perf_now_ns();
	int rc;

	memcpy(rr->chunk + 8, &rr->seq, 8);
	rc = write_all(rr->fd, rr->chunk, rr->frame);
	if (rc == 0)
		rc = rr->spin ? read_spin(rr->fd, back, rr->frame)
		              : read_all(rr->fd, back, rr->frame);
	if (rc < 0)
		return rc;
	if (h != NULL)
		perf_hist_add(h, perf_now_ns() - t);
	if (memcmp(back + 8, &rr->seq, 8) != 0)
		(*gaps)++;
	rr->seq++;
	return 0;
}

static int
ping_measure(struct raw_run *rr, struct perf_hist *h, struct perf_result *r)
{
	const struct perf_opts *o = rr->o;
	int64_t t0 = perf_now_ns(), end, last, cpu0;
	uint8_t *back = malloc(rr->frame);
	uint64_t base;
	int rc = back != NULL ? 0 : -ENOMEM;

	end = t0 + (int64_t)(o->warmup * 1e9);
	while (rc == 0 && perf_now_ns() < end)
		rc = ping_once(rr, back, NULL, &r->gaps);
	base = rr->seq;
	cpu0 = perf_cpu_sum(&rr->child.pid, 1);
	last = t0 = perf_now_ns();
	end = t0 + (int64_t)(o->seconds * 1e9);
	while (rc == 0 &&
	       (o->count ? rr->seq - base < o->count : perf_now_ns() < end)) {
		rc = ping_once(rr, back, h, &r->gaps);
		raw_show(rr, rr->seq - base, t0, &last);
	}
	r->secs = (double)(perf_now_ns() - t0) / 1e9;
	r->cpu_s = (double)(perf_cpu_sum(&rr->child.pid, 1) - cpu0) / 1e9;
	r->msgs = rr->seq - base;
	free(back);
	return rc;
}

/* raw_measure - one raw result: mode 'T' (stream) or 'E' (ping-pong);
 * lower case 't', 'e': the same with spinning reads (--busy-poll). */
static int
raw_measure(const struct perf_opts *o, size_t size, char mode,
            struct perf_result *r)
{
	int stream = mode == 'T' || mode == 't',
	    spin = mode == 't' || mode == 'e';
	struct perf_hist *h = NULL;
	struct raw_run rr;
	int rc;

	memset(r, 0, sizeof(*r));
	r->scenario = "raw";
	snprintf(r->variant, sizeof(r->variant), "%s%s",
	         stream ? "tcp stream" : "tcp pingpong", spin ? " spin" : "");
	r->size = size;
	r->framing = "raw";
	snprintf(r->transport, sizeof(r->transport), "plain TCP");
	r->ratio = -1;
	r->ratio_block = -1;
	r->ratio_zmq = -1;
	if (!stream && (h = perf_hist_new()) == NULL)
		return perf_err(PERF_EFAIL, "raw: out of memory");
	rc = raw_start(&rr, o, size, mode);
	if (rc >= 0)
		rc = stream ? tput_measure(&rr, r) : ping_measure(&rr, h, r);
	perf_progress(o, NULL);
	raw_stop(&rr);
	if (h != NULL && rc >= 0)
		perf_hist_fill(h, r);
	perf_hist_free(h);
	if (rc < 0)
		return perf_err(PERF_EFAIL, "raw baseline (%zu bytes): %s",
		                size, aemp_strerror(rc));
	perf_report(o, r);
	return 0;
}

/* ---- the baselines of this run -------------------------------------- */

struct cached {
	size_t size;
	double v;
};

/* One cache per mode: "TtEe" (stream, spinning stream, ping-pong,
 * spinning ping-pong). */
static const char cache_modes[] = "TtEe";
static struct cached caches[4][PERF_SIZES_MAX];
static int ncached[4];

static double
cached_or_measure(const struct perf_opts *o, size_t size, char mode)
{
	int m = (int)(strchr(cache_modes, mode) - cache_modes), i;
	struct cached *c = caches[m];
	int *n = &ncached[m];
	struct perf_result r;

	for (i = 0; i < *n; i++) {
		if (c[i].size == size)
			return c[i].v;
	}
	if (o->no_raw || o->connect != NULL || *n == PERF_SIZES_MAX)
		return -1;
	c[*n].size = size;
	c[*n].v = -1;
	if (raw_measure(o, size, mode, &r) != 0)
		perf_set_status(PERF_EFAIL);
	else if (mode == 'T' || mode == 't')
		c[*n].v = r.secs > 0 ? (double)r.msgs / r.secs : -1;
	else
		c[*n].v = r.has_rtt ? r.rtt_us[RTT_P50] : -1;
	return c[(*n)++].v;
}

double
perf_raw_tput(const struct perf_opts *o, size_t size, int spin)
{
	return cached_or_measure(o, size, spin ? 't' : 'T');
}

double
perf_raw_rtt(const struct perf_opts *o, size_t size, int spin)
{
	return cached_or_measure(o, size, spin ? 'e' : 'E');
}

int
perf_raw(const struct perf_opts *o)
{
	int i, spin = o->busy_poll_us > 0;

	if (o->connect != NULL)
		return perf_err(PERF_EUSAGE,
		                "raw: --connect is not possible (the baseline "
		                "needs aemp-perf on both ends)");
	for (i = 0; i < o->nsizes; i++) {
		perf_raw_tput(o, o->sizes[i], 0);
		if (spin)
			perf_raw_tput(o, o->sizes[i], 1);
		perf_raw_rtt(o, o->sizes[i], 0);
		if (spin)
			perf_raw_rtt(o, o->sizes[i], 1);
	}
	return 0;
}
