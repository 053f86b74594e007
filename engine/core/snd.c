/*
 * engine/core/snd.c - sending: routing a message to a port on this shard
 * (immediate delivery), on another shard (a REC_MSG record), on this
 * node's node port, or to a remote node; resolved destinations (aemp_ref).
 *
 * Immediate local delivery runs the handler inside aemp_snd, like
 * AnyEvent::MP.  It is used only while nesting stays below
 * ENG_SND_DEPTH_MAX and the shard's own deferral queue is empty, so a
 * deferred message is never overtaken by a later immediate one and the
 * order per sender and destination holds.
 *
 * Threads: runs on the sending shard; from application threads, sends go
 * through the thread's lane (engine/core/lane.c) to the destination's home
 * shard, and aemp_snd_wait sleeps there until room appears.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "engine/core/flat.h"
#include "engine/core/lane.h"
#include "engine/core/seam.h"
#include "ring/alloc.h"

/* REC_MSG header; followed by srclen bytes of source node ID (0: this
 * node), then the packet in `framing`. */
struct rec_msghdr {
	uint8_t framing;
	uint8_t pad;
	uint16_t srclen;
};

/* flatten - the segments as one array: the first segment itself when
 * alone, else copied into buf (cap values) or a new allocation. */
static const aemp_val *
flatten(const struct cod_seg *segs, size_t nsegs, aemp_val *buf, size_t cap,
        size_t *n, aemp_val **heap)
{
	size_t i, total = 0, off = 0;
	aemp_val *out = buf;

	*heap = NULL;
	if (nsegs == 1) {
		*n = segs[0].n;
		return segs[0].v;
	}
	for (i = 0; i < nsegs; i++)
		total += segs[i].n;
	if (total > cap) {
		out = ring_alloc(total * sizeof(aemp_val));
		if (out == NULL)
			return NULL;
		*heap = out;
	}
	for (i = 0; i < nsegs; i++) {
		memcpy(out + off, segs[i].v, segs[i].n * sizeof(aemp_val));
		off += segs[i].n;
	}
	*n = total;
	return out;
}

static int
deliver_now(struct eng_shard *sh, struct eng_port *p, const char *name,
            size_t namelen, const struct cod_seg *segs, size_t nsegs)
{
	aemp_val buf[16], *heap;
	const aemp_val *msg;
	size_t n;

	msg = flatten(segs, nsegs, buf, 16, &n, &heap);
	if (msg == NULL)
		return -ENOMEM;
	if (p != NULL)
		eng_deliver(sh, p, msg, n, sh->node->id, sh->node->idlen);
	else if (namelen == 0)
		eng_nodeport(sh, msg, n, sh->node->id, sh->node->idlen);
	(void)name;
	if (heap != NULL)
		ring_free(heap, n * sizeof(aemp_val));
	return 0;
}

/* REC_MSG framing value for the flat form (engine/core/flat.h): the header is
 * padded to 8 bytes so the values that follow are aligned. */
#define REC_FLAT 0x46

static int
snd_record(struct eng_shard *sh, int dst, const char *name, size_t namelen,
           const struct cod_seg *segs, size_t nsegs, int must)
{
	struct rec_msghdr h = {REC_FLAT, 0, 0};
	struct eng_flat_plan plan;
	uint8_t *r;
	int rc;

	rc = eng_flat_plan(namelen, segs, nsegs, &plan);
	if (AEMP_UNLIKELY(rc < 0))
		return rc;
	r = eng_rec_reserve(sh, dst, REC_MSG, 8 + plan.size, must);
	if (AEMP_UNLIKELY(r == NULL))
		return must ? -ENOMEM : -EAGAIN;
	memcpy(r, &h, sizeof(h));
	memset(r + sizeof(h), 0, 8 - sizeof(h));
	eng_flat_write(r + 8, &plan, name, namelen, segs, nsegs);
	eng_rec_commit(sh, dst, 8 + plan.size);
	if (dst != sh->idx)
		ENG_STAT_ADD(sh->st.xshard_out, 1);
	return 0;
}

/* snd_local - to a port of this node (name empty: the node port). */
static int
snd_local(struct eng_shard *sh, const char *name, size_t namelen, uint32_t hash,
          const struct cod_seg *segs, size_t nsegs, int must)
{
	int dst = namelen ? eng_shard_of_hash(sh->node, hash) : sh->idx;
	struct eng_port *p;

	if (dst == sh->idx && sh->depth < ENG_SND_DEPTH_MAX &&
	    !eng_self_busy(sh)) {
		if (namelen == 0)
			return deliver_now(sh, NULL, name, 0, segs, nsegs);
		p = eng_port_find(sh, name, namelen, hash);
		if (p == NULL)
			return 0; /* no such port: dropped silently (§3.2) */
		return deliver_now(sh, p, name, namelen, segs, nsegs);
	}
	return snd_record(sh, dst, name, namelen, segs, nsegs, must);
}

int
eng_snd_pid(struct eng_shard *sh, const struct eng_pid *pid,
            const struct cod_seg *segs, size_t nsegs, int must)
{
	if (!pid->local)
		return eng_seam_remote_snd(sh, pid, segs, nsegs, must);
	return snd_local(sh, pid->name, pid->namelen,
	                 eng_hash(pid->name, pid->namelen), segs, nsegs,
	                 must == 1);
}

int
eng_snd_segs(struct eng_shard *sh, const char *id, const struct cod_seg *segs,
             size_t nsegs, int must)
{
	struct eng_pid pid;
	int rc;

	rc = eng_pid_parse(sh->node, id, &pid);
	if (rc < 0)
		return rc;
	return eng_snd_pid(sh, &pid, segs, nsegs, must);
}

/* A local message in flat form: fix it up in place and deliver. */
static void
flat_record(struct eng_shard *sh, uint8_t *p, size_t len)
{
	const aemp_val *msg, *name;
	struct eng_port *port;
	size_t n;

	msg = eng_flat_read(p, len, &n);
	name = &msg[0];
	if (name->len == 0) {
		eng_nodeport(sh, msg + 1, n - 1, sh->node->id, sh->node->idlen);
		return;
	}
	port = eng_port_find(sh, name->u.s, name->len,
	                     eng_hash(name->u.s, name->len));
	if (port != NULL)
		eng_deliver(sh, port, msg + 1, n - 1, sh->node->id,
		            sh->node->idlen);
}

void
eng_msg_record(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	const aemp_val *pkt, *name;
	struct eng_port *port;
	struct rec_msghdr h;
	const char *src;
	size_t srclen;
	uint32_t hash;
	int rc, dst;

	AEMP_ASSERT(len >= sizeof(h));
	memcpy(&h, p, sizeof(h));
	if (h.framing == REC_FLAT) {
		/* the consumer owns the record until it pops it */
		flat_record(sh, (uint8_t *)(uintptr_t)p + 8, len - 8);
		return;
	}
	AEMP_ASSERT(len >= sizeof(h) + h.srclen);
	src = h.srclen ? (const char *)p + sizeof(h) : sh->node->id;
	srclen = h.srclen ? h.srclen : sh->node->idlen;
	p += sizeof(h) + h.srclen;
	len -= sizeof(h) + h.srclen;
	rc = cod_decode(h.framing, &sh->tape, p, len, &pkt);
	if (AEMP_UNLIKELY(rc < 0)) {
		eng_log(sh->node, AEMP_LOG_ERROR,
		        "dropped undecodable message: %s", aemp_strerror(rc));
		return;
	}
	name = pkt->len > 0 ? &pkt->u.a[0] : NULL;
	if (name == NULL || (name->type == AEMP_STR && name->len == 0)) {
		eng_nodeport(sh, pkt->len ? pkt->u.a + 1 : NULL,
		             pkt->len ? pkt->len - 1 : 0, src, srclen);
		return;
	}
	if (name->type != AEMP_STR)
		return;
	hash = eng_hash(name->u.s, name->len);
	dst = eng_shard_of_hash(sh->node, hash);
	if (AEMP_UNLIKELY(dst != sh->idx)) {
		/* deferred behind this shard's own records by the receive
		 * path (eng_rec_forward): now on to the owner, after what
		 * those records sent it */
		(void)eng_rec_forward(sh, dst, (enum cod_framing)h.framing,
		                      h.srclen ? src : NULL, h.srclen, p, len);
		return;
	}
	port = eng_port_find(sh, name->u.s, name->len, hash);
	if (port != NULL)
		eng_deliver(sh, port, pkt->u.a + 1, pkt->len - 1, src, srclen);
}

/* eng_rec_forward - hand a packet received from node src (raw bytes in
 * framing f) to the shard owning its destination, without re-encoding.
 * Used by the network layer; must-semantics (spills on a full queue). */
int
eng_rec_forward(struct eng_shard *sh, int dst, enum cod_framing f,
                const char *src, size_t srclen, const uint8_t *raw,
                size_t rawlen)
{
	struct rec_msghdr h = {(uint8_t)f, 0, (uint16_t)srclen};
	size_t len = sizeof(h) + srclen + rawlen;
	uint8_t *r;

	r = eng_rec_reserve(sh, dst, REC_MSG, len, 1);
	if (r == NULL)
		return -ENOMEM;
	memcpy(r, &h, sizeof(h));
	memcpy(r + sizeof(h), src, srclen);
	memcpy(r + sizeof(h) + srclen, raw, rawlen);
	eng_rec_commit(sh, dst, len);
	ENG_STAT_ADD(sh->st.xshard_out, 1);
	return 0;
}

/*
 * eng_snd_node_from - a node-port request [ "", segs... ] for this node,
 * processed on shard dst in a later turn as if it came from node src
 * (srclen 0: from this node).  Used by the control shard to talk to
 * itself without nesting, and to move g_* requests to it.
 */
int
eng_snd_node_from(struct eng_shard *sh, int dst, const char *src, size_t srclen,
                  const struct cod_seg *segs, size_t nsegs)
{
	uint8_t hdr[sizeof(struct rec_msghdr) + AEMP_ID_MAX];
	struct rec_msghdr h = {COD_CBOR, 0, (uint16_t)srclen};

	AEMP_ASSERT(srclen < AEMP_ID_MAX);
	memcpy(hdr, &h, sizeof(h));
	if (srclen > 0)
		memcpy(hdr + sizeof(h), src, srclen);
	return eng_rec_packet(sh, dst, REC_MSG, hdr, sizeof(h) + srclen, "", 0,
	                      segs, nsegs, 1);
}

/* ---- public sending API --------------------------------------------- */

static void
call_snd(struct eng_shard *sh, struct eng_call *c)
{
	struct cod_seg seg = {c->msg->u.a, c->msg->len};

	c->rc = eng_snd_segs(sh, c->s[0], &seg, 1, 1);
}

/* snd_posted - before the node starts (runs inline as on shard 0) or
 * after it stopped (AEMP_ESTATE). */
static int
snd_posted(aemp_node *node, const char *port, const aemp_val *msg, size_t n)
{
	struct eng_call *c;

	c = eng_call_new(call_snd, 0);
	if (c == NULL)
		return -ENOMEM;
	c->msg = aemp_msg_dup(msg, n);
	c->s[0] = eng_strndup(port, strlen(port));
	if (c->msg == NULL || c->s[0] == NULL) {
		eng_call_free(c);
		return -ENOMEM;
	}
	return eng_post(node, 0, c);
}

/* snd_foreign - from an application thread: through its lane to home,
 * the shard that sends to pid (engine/core/lane.h). */
static int
snd_foreign(aemp_node *node, const char *port, const struct eng_pid *pid,
            int home, const aemp_val *msg, size_t n)
{
	struct cod_seg seg = {msg, n};

	if (AEMP_LIKELY(
	            atomic_load_explicit(&node->state, memory_order_acquire) ==
	            NODE_RUNNING))
		return eng_lane_snd(node, home, pid, &seg, 1);
	return snd_posted(node, port, msg, n);
}

AEMP_API int
aemp_snd(aemp_node *node, const char *port, const aemp_val *msg, size_t n)
{
	struct eng_shard *sh = eng_here(node);
	struct cod_seg seg = {msg, n};
	struct eng_pid pid;
	int rc;

	if (AEMP_UNLIKELY(sh == NULL)) {
		rc = eng_pid_parse(node, port, &pid);
		if (rc < 0)
			return rc;
		return snd_foreign(node, port, &pid, eng_home(node, &pid), msg,
		                   n);
	}
	return eng_snd_segs(sh, port, &seg, 1, 0);
}

/* A resolved destination: the parsed ID plus its name hash and the shard
 * application threads send it through. */
struct eng_ref {
	struct eng_pid pid;
	uint32_t hash;     /* of the port name */
	uint32_t nodehash; /* of the node ID */
	uint32_t len;
	int home;
	char id[];
};

AEMP_API int
aemp_ref_new(aemp_node *node, const char *port, aemp_ref *out)
{
	size_t len = strlen(port);
	struct eng_ref *r;
	int rc;

	if (len >= AEMP_ID_MAX)
		return AEMP_ETOOBIG;
	r = ring_alloc(sizeof(*r) + len + 1);
	if (r == NULL)
		return -ENOMEM;
	memcpy(r->id, port, len + 1);
	r->len = (uint32_t)len;
	rc = eng_pid_parse(node, r->id, &r->pid);
	if (rc < 0) {
		ring_free(r, sizeof(*r) + len + 1);
		return rc;
	}
	r->hash = eng_hash(r->pid.name, r->pid.namelen);
	r->nodehash = eng_hash(r->pid.node, r->pid.nodelen);
	r->home = eng_home(node, &r->pid);
	out->v = (uint64_t)(uintptr_t)r;
	return 0;
}

AEMP_API void
aemp_ref_free(aemp_node *node, aemp_ref ref)
{
	struct eng_ref *r = (struct eng_ref *)(uintptr_t)ref.v;

	(void)node;
	if (r != NULL)
		ring_free(r, sizeof(*r) + r->len + 1);
}

AEMP_API int
aemp_snd_ref(aemp_node *node, aemp_ref ref, const aemp_val *msg, size_t n)
{
	struct eng_ref *r = (struct eng_ref *)(uintptr_t)ref.v;
	struct eng_shard *sh = eng_here(node);
	struct cod_seg seg = {msg, n};

	AEMP_ASSERT(r != NULL);
	if (AEMP_UNLIKELY(sh == NULL))
		return snd_foreign(node, r->id, &r->pid, r->home, msg, n);
	if (!r->pid.local) {
		int rc = eng_seam_remote_snd_many(sh, &r->pid, r->nodehash,
		                                  &seg, 1, 0);

		return rc < 0 ? rc : 0;
	}
	return snd_local(sh, r->pid.name, r->pid.namelen, r->hash, &seg, 1, 0);
}

/* many_foreign - aemp_snd_many from an application thread, or before the
 * node runs: one message after the other. */
static int
many_foreign(aemp_node *node, const struct eng_ref *r, const aemp_msgv *msgs,
             size_t count)
{
	size_t i;
	int rc;

	for (i = 0; i < count; i++) {
		rc = snd_foreign(node, r->id, &r->pid, r->home, msgs[i].msg,
		                 msgs[i].n);
		if (rc < 0)
			return i > 0 ? (int)i : rc;
	}
	return (int)count;
}

/* The messages as one-segment cod_segs, a chunk at a time. */
#define MANY_CHUNK 64

AEMP_API int
aemp_snd_many(aemp_node *node, aemp_ref ref, const aemp_msgv *msgs,
              size_t count)
{
	struct eng_ref *r = (struct eng_ref *)(uintptr_t)ref.v;
	struct eng_shard *sh = eng_here(node);
	struct cod_seg seg[MANY_CHUNK];
	size_t i, k, done = 0;
	int rc = 0;

	AEMP_ASSERT(r != NULL);
	if (count > INT_MAX)
		return -EINVAL;
	if (AEMP_UNLIKELY(sh == NULL))
		return many_foreign(node, r, msgs, count);
	for (; done < count; done += k) {
		k = AEMP_MIN(count - done, (size_t)MANY_CHUNK);
		for (i = 0; i < k; i++) {
			seg[i].v = msgs[done + i].msg;
			seg[i].n = msgs[done + i].n;
		}
		if (!r->pid.local) {
			rc = eng_seam_remote_snd_many(sh, &r->pid, r->nodehash,
			                              seg, k, 0);
		} else {
			for (i = 0; i < k; i++) {
				rc = snd_local(sh, r->pid.name, r->pid.namelen,
				               r->hash, &seg[i], 1, 0);
				if (rc < 0)
					break;
			}
			rc = i > 0 ? (int)i : rc;
		}
		if (rc < 0)
			return done > 0 ? (int)done : rc;
		if ((size_t)rc < k)
			return (int)(done + (size_t)rc);
	}
	return (int)count;
}

/* ---- waiting for room ------------------------------------------------ */

/* One attempt of a waiting send. */
struct snd_try {
	const char *port; /* or: */
	aemp_ref ref;
	const aemp_val *msg;
	size_t n;
};

static int
snd_try(aemp_node *node, const struct snd_try *t)
{
	if (t->port != NULL)
		return aemp_snd(node, t->port, t->msg, t->n);
	return aemp_snd_ref(node, t->ref, t->msg, t->n);
}

/* snd_wait - retry t while it fails with -EAGAIN, sleeping on the node's
 * room futex in between (engine/core/lane.h), until timeout_s (< 0:
 * none).  Shard threads never wait. */
static int
snd_wait(aemp_node *node, const struct snd_try *t, double timeout_s)
{
	uint64_t deadline = 0;
	unsigned seq;
	int rc;

	if (isnan(timeout_s))
		return -EINVAL;
	rc = snd_try(node, t);
	if (rc != -EAGAIN || eng_cur != NULL || timeout_s == 0)
		return rc;
	if (timeout_s > 0)
		deadline = ring_now_ns() +
		           (timeout_s < 1e9 ? (uint64_t)(timeout_s * 1e9) + 1
		                            : (uint64_t)1e18);
	seq = eng_room_enter(node);
	while ((rc = snd_try(node, t)) == -EAGAIN) {
		if (eng_room_wait(node, seq, deadline) < 0) {
			rc = -ETIMEDOUT;
			break;
		}
		seq = eng_room_seq(node);
	}
	eng_room_leave(node);
	return rc;
}

AEMP_API int
aemp_snd_wait(aemp_node *node, const char *port, const aemp_val *msg, size_t n,
              double timeout_s)
{
	struct snd_try t = {port, {0}, msg, n};

	return snd_wait(node, &t, timeout_s);
}

AEMP_API int
aemp_snd_ref_wait(aemp_node *node, aemp_ref ref, const aemp_val *msg, size_t n,
                  double timeout_s)
{
	struct snd_try t = {NULL, ref, msg, n};

	return snd_wait(node, &t, timeout_s);
}
