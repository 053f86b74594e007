/*
 * engine/core/api.c - the public port, kill, monitor and context API: each
 * call takes the fast path on a shard thread of the node and is posted to
 * a shard (shard 0, or the shard that must run it) from other threads.
 *
 * Threads: any; see include/aemp.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/core/lane.h"
#include "engine/core/seam.h"
#include "ring/alloc.h"

/* ---- identity and context ------------------------------------------- */

AEMP_API size_t
aemp_node_of(const char *id)
{
	return strcspn(id, "#");
}

AEMP_API int
aemp_port_is_local(const aemp_node *node, const char *id)
{
	size_t n = aemp_node_of(id);

	return n == node->idlen && memcmp(id, node->id, n) == 0;
}

AEMP_API const char *
aemp_self(aemp_node *node)
{
	struct eng_shard *sh = eng_here(node);

	if (sh == NULL || sh->cur_name == NULL)
		return NULL;
	if (!sh->self_ok) {
		if (eng_make_id(sh->self_buf, sizeof(sh->self_buf), node->id,
		                node->idlen, sh->cur_name, sh->cur_namelen) < 0)
			return NULL;
		sh->self_ok = 1;
	}
	return sh->self_buf;
}

AEMP_API const char *
aemp_srcnode(aemp_node *node)
{
	struct eng_shard *sh = eng_here(node);
	size_t n;

	if (sh == NULL || sh->cur_src == NULL)
		return NULL;
	n = AEMP_MIN((size_t)sh->cur_srclen, sizeof(sh->src_buf) - 1);
	memcpy(sh->src_buf, sh->cur_src, n);
	sh->src_buf[n] = '\0';
	return sh->src_buf;
}

int
eng_self_dup(struct eng_shard *sh, char **out)
{
	const char *self = aemp_self(sh->node);

	*out = NULL;
	if (self == NULL)
		return 0;
	*out = eng_strndup(self, strlen(self));
	return *out ? 0 : -ENOMEM;
}

AEMP_API int
aemp_fail(aemp_node *node, const char *fmt, ...)
{
	struct eng_shard *sh = eng_here(node);
	va_list ap;

	if (sh != NULL) {
		va_start(ap, fmt);
		vsnprintf(sh->die, sizeof(sh->die), fmt, ap);
		va_end(ap);
		sh->die_set = 1;
	}
	return AEMP_EDIE;
}

/* ---- ports ---------------------------------------------------------- */

static int
port_here(struct eng_shard *sh, aemp_rcv_fn fn, void *arg, aemp_id *out)
{
	char name[64];
	struct eng_port *p;
	uint32_t h;
	size_t len;
	int rc;

	len = eng_port_new_name(sh, name, sizeof(name), &h);
	rc = eng_port_create(sh, name, len, h, &p);
	if (rc < 0)
		return rc;
	p->fn = fn;
	p->arg = arg;
	if (out != NULL)
		eng_make_id(out->s, sizeof(out->s), sh->node->id,
		            sh->node->idlen, name, len);
	return 0;
}

static void
call_port(struct eng_shard *sh, struct eng_call *c)
{
	c->rc = port_here(sh, (aemp_rcv_fn)c->fp, c->p[0], c->id_out);
}

AEMP_API int
aemp_port(aemp_node *node, aemp_rcv_fn fn, void *arg, aemp_id *out)
{
	struct eng_shard *sh = eng_here(node);
	struct eng_call *c;
	int rc;

	if (sh != NULL)
		return port_here(sh, fn, arg, out);
	c = eng_call_new(call_port, 1);
	if (c == NULL)
		return -ENOMEM;
	c->fp = (void (*)(void))fn;
	c->p[0] = arg;
	c->id_out = out;
	rc = eng_post(node, 0, c);
	eng_call_free(c);
	return rc;
}

static void
call_rcv(struct eng_shard *sh, struct eng_call *c)
{
	const char *tag = c->s[1];

	c->rc = eng_set_handler(sh, c->s[0], strlen(c->s[0]), tag,
	                        tag ? strlen(tag) : 0, tag != NULL,
	                        (aemp_rcv_fn)c->fp, c->p[0]);
}

static int
rcv_foreign(aemp_node *node, int dst, const struct eng_pid *pid,
            const char *tag, aemp_rcv_fn fn, void *arg)
{
	struct eng_call *c = eng_call_new(call_rcv, 1);
	int rc = -ENOMEM;

	if (c == NULL)
		return -ENOMEM;
	c->fp = (void (*)(void))fn;
	c->p[0] = arg;
	c->s[0] = eng_strndup(pid->name, pid->namelen);
	if (tag != NULL)
		c->s[1] = eng_strndup(tag, strlen(tag));
	if (c->s[0] != NULL && (tag == NULL || c->s[1] != NULL))
		rc = eng_post(node, dst, c);
	eng_call_free(c);
	return rc;
}

static int
rcv_common(aemp_node *node, const char *port, const char *tag, aemp_rcv_fn fn,
           void *arg)
{
	struct eng_shard *sh = eng_here(node);
	struct eng_pid pid;
	size_t taglen = tag ? strlen(tag) : 0;
	int rc, dst;

	rc = eng_pid_parse(node, port, &pid);
	if (rc < 0)
		return rc;
	if (!pid.local || pid.namelen == 0)
		return AEMP_ENOPORT;
	dst = eng_shard_of_hash(node, eng_hash(pid.name, pid.namelen));
	if (sh == NULL)
		return rcv_foreign(node, dst, &pid, tag, fn, arg);
	if (dst == sh->idx)
		return eng_set_handler(sh, pid.name, pid.namelen, tag, taglen,
		                       tag != NULL, fn, arg);
	return eng_rcv_post(sh, dst, pid.name, pid.namelen, tag, taglen,
	                    tag != NULL, fn, arg);
}

AEMP_API int
aemp_rcv(aemp_node *node, const char *port, aemp_rcv_fn fn, void *arg)
{
	return rcv_common(node, port, NULL, fn, arg);
}

AEMP_API int
aemp_rcv_tag(aemp_node *node, const char *port, const char *tag, aemp_rcv_fn fn,
             void *arg)
{
	return rcv_common(node, port, tag, fn, arg);
}

/* ---- kill ----------------------------------------------------------- */

int
eng_kil(struct eng_shard *sh, const char *port, const aemp_val *reason,
        size_t n, int must)
{
	struct eng_pid pid;
	int rc;

	rc = eng_pid_parse(sh->node, port, &pid);
	if (rc < 0)
		return rc;
	if (pid.namelen == 0)
		return AEMP_ESTATE; /* node ports cannot be killed */
	/* local kills are always taken: bounded by the ports that exist */
	if (pid.local)
		return eng_kill_local(sh, pid.name, pid.namelen, reason, n, 1);
	{
		aemp_val head[2] = {aemp_str("kil1"),
		                    aemp_strn(pid.name, pid.namelen)};
		struct cod_seg segs[2] = {{head, 2}, {reason, n}};

		pid.name = pid.node + pid.nodelen;
		pid.namelen = 0;
		return eng_seam_remote_snd(sh, &pid, segs, 2, must);
	}
}

/* From a lane: -EAGAIN (nothing done) makes the lane run it again. */
static void
call_kil(struct eng_shard *sh, struct eng_call *c)
{
	c->rc = eng_kil(sh, c->s[0], c->msg->u.a, c->msg->len, 0);
}

AEMP_API int
aemp_kil(aemp_node *node, const char *port, const aemp_val *reason, size_t n)
{
	struct eng_shard *sh = eng_here(node);
	struct eng_call *c;
	struct eng_pid pid;
	int rc;

	if (sh != NULL)
		return eng_kil(sh, port, reason, n, 0);
	rc = eng_pid_parse(node, port, &pid);
	if (rc < 0)
		return rc;
	if (pid.namelen == 0)
		return AEMP_ESTATE;
	c = eng_call_new(call_kil, 0);
	if (c == NULL)
		return -ENOMEM;
	c->s[0] = eng_strndup(port, strlen(port));
	c->msg = aemp_msg_dup(reason, n);
	if (c->s[0] == NULL || c->msg == NULL) {
		eng_call_free(c);
		return -ENOMEM;
	}
	/* the port's home shard: after the thread's sends to it */
	return eng_post(node, eng_home(node, &pid), c);
}

/* ---- monitors ------------------------------------------------------- */

/* A monitor request as the foreign path carries it. */
struct mon_req {
	uint8_t act;
	aemp_mon_fn cb;
	void (*release)(void *);
	void *arg;
	const char *str; /* victim / dest */
	const aemp_val *msg;
	size_t n;
};

static int
mon_here(struct eng_shard *sh, const char *port, const struct mon_req *r,
         aemp_guard *guard)
{
	struct eng_mon *m = eng_mon_new(sh, r->act);
	int rc = 0;

	if (m == NULL)
		return -ENOMEM;
	if (r->act == ACT_CB) {
		m->u.cb.fn = r->cb;
		m->u.cb.arg = r->arg;
	} else if (r->act == ACT_GUARD) {
		m->u.guard.fn = r->release;
		m->u.guard.ref = r->arg;
	} else if (r->act == ACT_SND &&
	           (m->u.msg = aemp_msg_dup(r->msg, r->n)) == NULL) {
		rc = -ENOMEM;
	}
	if (rc == 0 && r->str != NULL &&
	    (m->str = eng_strndup(r->str, strlen(r->str))) == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = eng_self_dup(sh, &m->self);
	if (rc < 0) {
		eng_mon_free(sh, m);
		return rc;
	}
	return eng_mon_start(sh, port, m, guard);
}

static void
call_mon(struct eng_shard *sh, struct eng_call *c)
{
	struct mon_req r = {(uint8_t)c->u[0],
	                    (aemp_mon_fn)c->fp,
	                    NULL,
	                    c->p[0],
	                    c->s[1],
	                    NULL,
	                    0};

	if (r.act == ACT_GUARD) {
		r.cb = NULL;
		r.release = (void (*)(void *))c->fp;
	}
	if (c->msg != NULL) {
		r.msg = c->msg->u.a;
		r.n = c->msg->len;
	}
	c->rc = mon_here(sh, c->s[0], &r, c->guard_out);
}

static int
mon_common(aemp_node *node, const char *port, const struct mon_req *r,
           aemp_guard *guard)
{
	struct eng_shard *sh = eng_here(node);
	struct eng_call *c;
	struct eng_pid pid;
	int rc = -ENOMEM;

	if (guard != NULL)
		guard->v = 0;
	if (strlen(port) >= AEMP_ID_MAX)
		return AEMP_ETOOBIG;
	if (sh != NULL)
		return mon_here(sh, port, r, guard);
	if (eng_pid_parse(node, port, &pid) < 0)
		return AEMP_ETOOBIG;
	c = eng_call_new(call_mon, 1);
	if (c == NULL)
		return -ENOMEM;
	c->u[0] = r->act;
	c->fp = r->act == ACT_GUARD ? (void (*)(void))r->release
	                            : (void (*)(void))r->cb;
	c->p[0] = r->arg;
	c->guard_out = guard;
	c->s[0] = eng_strndup(port, strlen(port));
	if (r->str != NULL)
		c->s[1] = eng_strndup(r->str, strlen(r->str));
	if (r->act == ACT_SND)
		c->msg = aemp_msg_dup(r->msg, r->n);
	if (c->s[0] != NULL && (r->str == NULL || c->s[1] != NULL) &&
	    (r->act != ACT_SND || c->msg != NULL))
		rc = eng_post(node, eng_home(node, &pid), c);
	eng_call_free(c);
	return rc;
}

AEMP_API int
aemp_mon(aemp_node *node, const char *port, aemp_mon_fn cb, void *arg,
         aemp_guard *guard)
{
	struct mon_req r = {ACT_CB, cb, NULL, arg, NULL, NULL, 0};

	AEMP_ASSERT(cb != NULL);
	return mon_common(node, port, &r, guard);
}

AEMP_API int
aemp_mon_kill(aemp_node *node, const char *port, const char *victim,
              aemp_guard *guard)
{
	struct mon_req r = {ACT_KILL, NULL, NULL, NULL, victim, NULL, 0};

	if (victim == NULL) {
		r.str = aemp_self(node);
		if (r.str == NULL)
			return AEMP_ENOCONTEXT;
	}
	return mon_common(node, port, &r, guard);
}

AEMP_API int
aemp_mon_snd(aemp_node *node, const char *port, const char *dest,
             const aemp_val *msg, size_t n, aemp_guard *guard)
{
	struct mon_req r = {ACT_SND, NULL, NULL, NULL, dest, msg, n};

	if (strlen(dest) >= AEMP_ID_MAX)
		return AEMP_ETOOBIG;
	return mon_common(node, port, &r, guard);
}

AEMP_API int
aemp_mon_guard(aemp_node *node, const char *port, void (*release)(void *ref),
               void *ref, aemp_guard *guard)
{
	struct mon_req r = {ACT_GUARD, NULL, release, ref, NULL, NULL, 0};

	AEMP_ASSERT(release != NULL);
	return mon_common(node, port, &r, guard);
}

static void
call_cancel(struct eng_shard *sh, struct eng_call *c)
{
	c->rc = eng_guard_cancel_here(sh, c->u[0]);
}

/* cancel_post - post the cancellation of guard id to its shard.  A
 * cancellation is never lost: an application thread whose lane is full
 * waits for room (in order behind its earlier calls, e.g. the db_reg
 * that made the guard). */
static int
cancel_post(aemp_node *node, int owner, uint64_t id)
{
	struct eng_call *c;
	unsigned seq = 0;
	int rc, waiting = 0;

	for (;;) {
		c = eng_call_new(call_cancel, 0);
		if (c == NULL) {
			rc = -ENOMEM;
			break;
		}
		c->u[0] = id;
		rc = eng_post(node, owner, c); /* takes c in every case */
		if (rc != -EAGAIN || eng_here(node) != NULL)
			break;
		if (!waiting) {
			seq = eng_room_enter(node);
			waiting = 1;
			continue; /* try once more after entering */
		}
		(void)eng_room_wait(node, seq, 0);
		seq = eng_room_seq(node);
	}
	if (waiting)
		eng_room_leave(node);
	return rc;
}

AEMP_API int
aemp_guard_cancel(aemp_node *node, aemp_guard *guard)
{
	struct eng_shard *sh = eng_here(node);
	uint64_t id = guard->v;
	int owner;

	guard->v = 0;
	if (id == 0)
		return 0;
	owner = ENG_ID_SHARD(id);
	if (owner >= node->nshards)
		return 0;
	if (sh != NULL && sh->idx == owner)
		return eng_guard_cancel_here(sh, id);
	return cancel_post(node, owner, id);
}
