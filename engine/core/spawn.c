/*
 * engine/core/spawn.c - the registry of named functions, spawn, function-name
 * requests to the node port, timers (after), simple RPC (cal) and peval.
 *
 * The registry is filled before the node starts and read-only after, so
 * every shard reads it without locks.  Remote code can reach only what the
 * program registered (aemp-protocol.md §9); secure mode refuses even that.
 *
 * Threads: aemp_register on the creating thread before start; the rest on
 * shard threads (foreign calls are posted).
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "crypto/crypto.h"
#include "engine/core/seam.h"
#include "ring/alloc.h"

#define SPAWN_FUNC "AnyEvent::MP::_spawn"

/* ---- registry ------------------------------------------------------- */

/*
 * The registry is an immutable snapshot (struct eng_funcs) behind an
 * atomic pointer.  A lookup is one acquire load and a scan of the
 * snapshot, with no lock, on any thread.  A writer (aemp_register before
 * start, a module's init after) takes reg_mu, copies the snapshot with
 * the new functions, and publishes it with a release store; the old one
 * goes on the new one's retired chain and is freed only at node free, so
 * a reader still scanning it is never left with freed memory.  Functions
 * are never removed once published.
 */

const struct eng_func *
eng_func_find(const struct aemp_node *node, const char *name, size_t len)
{
	const struct eng_funcs *fs =
	        atomic_load_explicit(&node->funcs, memory_order_acquire);
	uint32_t h;
	size_t i;

	if (fs == NULL)
		return NULL;
	h = eng_hash(name, len);
	for (i = 0; i < fs->n; i++) {
		const struct eng_func *f = fs->f[i];

		if (f->hash == h && f->len == len &&
		    memcmp(f->name, name, len) == 0)
			return f;
	}
	return NULL;
}

struct eng_func *
eng_func_new(const char *name, aemp_func_fn fn, void *arg, int builtin,
             int shard)
{
	struct eng_func *f = ring_zalloc(sizeof(*f));

	if (f == NULL)
		return NULL;
	f->len = strlen(name);
	f->name = eng_strndup(name, f->len);
	if (f->name == NULL) {
		ring_free(f, sizeof(*f));
		return NULL;
	}
	f->hash = eng_hash(name, f->len);
	f->fn = fn;
	f->arg = arg;
	f->builtin = builtin;
	f->shard = shard;
	return f;
}

void
eng_func_drop(struct eng_func *f)
{
	if (f == NULL)
		return;
	eng_strfree(f->name);
	ring_free(f, sizeof(*f));
}

static size_t
funcs_size(size_t n)
{
	return sizeof(struct eng_funcs) + n * sizeof(const struct eng_func *);
}

int
eng_funcs_publish(struct aemp_node *node, struct eng_func *const *f, size_t n)
{
	struct eng_funcs *old, *fs;
	size_t i, on;

	pthread_mutex_lock(&node->reg_mu);
	old = atomic_load_explicit(&node->funcs, memory_order_relaxed);
	on = old != NULL ? old->n : 0;
	fs = ring_alloc(funcs_size(on + n));
	if (fs == NULL) {
		pthread_mutex_unlock(&node->reg_mu);
		return -ENOMEM;
	}
	fs->retired = old;
	fs->n = on + n;
	for (i = 0; i < on; i++)
		fs->f[i] = old->f[i];
	for (i = 0; i < n; i++) {
		fs->f[on + i] = f[i];
		f[i]->all_next = node->funcs_all;
		node->funcs_all = f[i];
	}
	atomic_store_explicit(&node->funcs, fs, memory_order_release);
	pthread_mutex_unlock(&node->reg_mu);
	return 0;
}

static int
func_add(struct aemp_node *node, const char *name, aemp_func_fn fn, void *arg,
         int builtin, int shard)
{
	struct eng_mod *m = eng_mod_loading(node);
	struct eng_func *f;
	int rc;

	if (eng_func_find(node, name, strlen(name)) != NULL ||
	    (m != NULL && eng_func_staged(m, name, strlen(name)) != NULL))
		return -EEXIST;
	f = eng_func_new(name, fn, arg, builtin, shard);
	if (f == NULL)
		return -ENOMEM;
	rc = m != NULL ? eng_func_stage(m, f) : eng_funcs_publish(node, &f, 1);
	if (rc < 0)
		eng_func_drop(f);
	return rc;
}

AEMP_API int
aemp_register_on(aemp_node *node, const char *name, aemp_func_fn fn, void *arg,
                 int shard)
{
	int rc;

	/* after start only from a module's aemp_module_init */
	if (atomic_load(&node->state) != NODE_CREATED &&
	    eng_mod_loading(node) == NULL)
		return AEMP_ESTATE;
	if (name == NULL || fn == NULL || strstr(name, "::") == NULL ||
	    strchr(name, '#') != NULL || strlen(name) >= AEMP_ID_MAX ||
	    shard < AEMP_SHARD_HERE)
		return -EINVAL;
	rc = func_add(node, name, fn, arg, 0, shard);
	if (rc == -EEXIST && eng_mod_loading(node) != NULL) {
		const struct eng_func *f =
		        eng_func_find(node, name, strlen(name));

		eng_log(node, AEMP_LOG_ERROR,
		        "module: function '%s' is already registered%s%s", name,
		        f != NULL && f->module != NULL ? " by module " : "",
		        f != NULL && f->module != NULL ? f->module : "");
	}
	return rc;
}

AEMP_API int
aemp_register(aemp_node *node, const char *name, aemp_func_fn fn, void *arg)
{
	return aemp_register_on(node, name, fn, arg, AEMP_SHARD_HERE);
}

void
eng_funcs_free(struct aemp_node *node)
{
	struct eng_funcs *fs = atomic_load(&node->funcs), *next;
	struct eng_func *f, *fn;

	for (; fs != NULL; fs = next) {
		next = fs->retired;
		ring_free(fs, funcs_size(fs->n));
	}
	atomic_store(&node->funcs, NULL);
	for (f = node->funcs_all; f != NULL; f = fn) {
		fn = f->all_next;
		eng_func_drop(f);
	}
	node->funcs_all = NULL;
}

/* ---- spawn ---------------------------------------------------------- */

int
eng_spawn_local(struct eng_shard *sh, const char *name, size_t namelen,
                const char *func, size_t funclen, const aemp_val *args,
                size_t n, int must)
{
	uint32_t h = eng_hash(name, namelen);
	aemp_val f = aemp_strn(func, funclen);
	struct cod_seg segs[2] = {{&f, 1}, {args, n}};

	/* REC_SPAWN: the CBOR packet [PORTNAME, FUNC, ARGS...]; always
	 * through the queue, so the init runs in a later loop turn. */
	return eng_rec_packet(sh, eng_shard_of_hash(sh->node, h), REC_SPAWN,
	                      NULL, 0, name, namelen, segs, 2, must);
}

/* spawn_run - run func's init in the context of port name, on the shard
 * that owns the name; kill the port with ("die", ...) if it fails. */
static void
spawn_run(struct eng_shard *sh, const aemp_val *name, const aemp_val *func,
          const aemp_val *args, size_t n)
{
	const struct eng_func *f;
	struct eng_ctx save;
	aemp_val reason[2];
	int rc;

	f = eng_mod_find(sh, func->u.s, func->len);
	if (f == NULL || f->builtin) {
		eng_log(sh->node, AEMP_LOG_ERROR,
		        "spawn: function '%.*s' is not registered, ignored",
		        (int)AEMP_MIN(func->len, 200u), func->u.s);
		return;
	}
	eng_ctx_enter(sh, &save, name->u.s, name->len, NULL, 0);
	rc = f->fn(sh->node, args, n, f->arg);
	eng_ctx_leave(sh, &save);
	if (rc < 0) {
		reason[0] = aemp_str("die");
		reason[1] = aemp_str(eng_die_text(sh, rc));
		eng_kill_local(sh, name->u.s, name->len, reason, 2, 1);
	}
}

void
eng_spawn_record(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	const aemp_val *pkt;

	if (cod_decode(COD_CBOR, &sh->tape, p, len, &pkt) < 0 || pkt->len < 2) {
		eng_log(sh->node, AEMP_LOG_CRIT, "undecodable spawn record");
		return;
	}
	spawn_run(sh, &pkt->u.a[0], &pkt->u.a[1], pkt->u.a + 2, pkt->len - 2);
}

/* spawn_name - RUNIQ followed by the node-wide spawn counter (§1.4). */
static size_t
spawn_name(struct aemp_node *node, char *buf)
{
	uint64_t n = atomic_fetch_add(&node->spawn_ctr, 1) + 2;
	char tmp[16];
	size_t len = 0, i;

	memcpy(buf, node->runiq, 10);
	while (n > 0) {
		n--;
		tmp[len++] = (char)('a' + n % 26);
		n /= 26;
	}
	for (i = 0; i < len; i++)
		buf[10 + i] = tmp[len - 1 - i];
	buf[10 + len] = '\0';
	return 10 + len;
}

/* spawn_named - send the spawn of port `name` running func(args) to the
 * node of pid (locally: a REC_SPAWN record to the name's shard).  Back
 * pressure (must = 0): -EAGAIN, nothing sent. */
static int
spawn_named(struct eng_shard *sh, struct eng_pid *pid, const char *name,
            size_t namelen, const char *func, const aemp_val *args, size_t n)
{
	aemp_val head[3] = {aemp_str(SPAWN_FUNC), aemp_strn(name, namelen),
	                    aemp_str(func)};
	struct cod_seg segs[2] = {{head, 3}, {args, n}};

	if (pid->local)
		return eng_spawn_local(sh, name, namelen, func, strlen(func),
		                       args, n, 0);
	pid->name = pid->node + pid->nodelen;
	pid->namelen = 0;
	return eng_seam_remote_snd(sh, pid, segs, 2, 0);
}

/* spawn_prepare - parse target, choose the new port's name (any thread:
 * the counter is atomic) and write its ID into *out. */
static int
spawn_prepare(struct aemp_node *node, const char *target, struct eng_pid *pid,
              char name[40], size_t *namelen, aemp_id *out)
{
	int rc;

	rc = eng_pid_parse(node, target, pid);
	if (rc < 0)
		return rc;
	*namelen = spawn_name(node, name);
	rc = eng_make_id(out->s, sizeof(out->s), pid->node, pid->nodelen, name,
	                 *namelen);
	return rc < 0 ? rc : 0;
}

/* From a lane: -EAGAIN (nothing sent) makes the lane run it again. */
static void
call_spawn(struct eng_shard *sh, struct eng_call *c)
{
	struct eng_pid pid;

	c->rc = eng_pid_parse(sh->node, c->s[0], &pid);
	if (c->rc == 0)
		c->rc = spawn_named(sh, &pid, c->s[2], strlen(c->s[2]), c->s[1],
		                    c->msg->u.a, c->msg->len);
}

/* spawn_foreign - from an application thread: the ID is known at once,
 * so the spawn goes asynchronously to the new port's home shard (where
 * the thread's later sends to it go too, in order). */
static int
spawn_foreign(aemp_node *node, struct eng_pid *pid, const char *target,
              const char *name, size_t namelen, const char *func,
              const aemp_val *args, size_t n)
{
	struct eng_call *c;
	int home = pid->local ? eng_shard_of_hash(node, eng_hash(name, namelen))
	                      : eng_home(node, pid);

	c = eng_call_new(call_spawn, 0);
	if (c == NULL)
		return -ENOMEM;
	c->s[0] = eng_strndup(target, strlen(target));
	c->s[1] = eng_strndup(func, strlen(func));
	c->s[2] = eng_strndup(name, namelen);
	c->msg = aemp_msg_dup(args, n);
	if (c->s[0] == NULL || c->s[1] == NULL || c->s[2] == NULL ||
	    c->msg == NULL) {
		eng_call_free(c);
		return -ENOMEM;
	}
	return eng_post(node, home, c);
}

AEMP_API int
aemp_spawn(aemp_node *node, const char *node_or_port, const char *func,
           const aemp_val *args, size_t n, aemp_id *out)
{
	struct eng_shard *sh = eng_here(node);
	struct eng_pid pid;
	char name[40];
	size_t namelen;
	int rc;

	if (strlen(node_or_port) >= AEMP_ID_MAX || strlen(func) >= AEMP_ID_MAX)
		return AEMP_ETOOBIG;
	rc = spawn_prepare(node, node_or_port, &pid, name, &namelen, out);
	if (rc < 0)
		return rc;
	if (sh != NULL)
		return spawn_named(sh, &pid, name, namelen, func, args, n);
	return spawn_foreign(node, &pid, node_or_port, name, namelen, func,
	                     args, n);
}

AEMP_API int
aemp_snd_to_func(aemp_node *node, const char *nodeid, const char *func,
                 const aemp_val *args, size_t n)
{
	struct eng_shard *sh = eng_here(node);
	aemp_val head = aemp_str(func);
	struct cod_seg segs[2] = {{&head, 1}, {args, n}};
	char id[AEMP_ID_MAX];
	aemp_val *flat;
	size_t len = aemp_node_of(nodeid);
	int rc;

	if (len >= AEMP_ID_MAX - 1)
		return AEMP_ETOOBIG;
	memcpy(id, nodeid, len);
	id[len] = '\0';
	if (sh != NULL)
		return eng_snd_segs(sh, id, segs, 2, 0);
	flat = ring_alloc((n + 1) * sizeof(aemp_val));
	if (flat == NULL)
		return -ENOMEM;
	flat[0] = head;
	memcpy(flat + 1, args, n * sizeof(aemp_val));
	rc = aemp_snd(node, id, flat, n + 1);
	ring_free(flat, (n + 1) * sizeof(aemp_val));
	return rc;
}

/* ---- function-name requests ----------------------------------------- */

static void
builtin_spawn(struct eng_shard *sh, const aemp_val *args, size_t n)
{
	const aemp_val *name = &args[0], *func = &args[1];

	if (n < 2 || name->type != AEMP_STR || func->type != AEMP_STR ||
	    name->len == 0 || memchr(name->u.s, '#', name->len) != NULL) {
		eng_log(sh->node, AEMP_LOG_ERROR, "malformed spawn request");
		return;
	}
	/* A spawn request from a peer runs at once when the port is ours
	 * (aemp-protocol.md §4.5 step 3): a mon1 or message the peer sends
	 * right after it must find the port.  On another shard the record
	 * goes ahead of anything later for that port, in the same queue. */
	if (eng_shard_of_hash(sh->node, eng_hash(name->u.s, name->len)) ==
	    sh->idx)
		spawn_run(sh, name, func, args + 2, n - 2);
	else
		eng_spawn_local(sh, name->u.s, name->len, func->u.s, func->len,
		                args + 2, n - 2, 1);
}

/* func_run - run registered function f for a request from src. */
static void
func_run(struct eng_shard *sh, const struct eng_func *f, const aemp_val *args,
         size_t n, const char *src, size_t srclen)
{
	struct eng_ctx save;
	int rc;

	eng_ctx_enter(sh, &save, NULL, 0, src, srclen);
	rc = f->fn(sh->node, args, n, f->arg);
	eng_ctx_leave(sh, &save);
	if (rc < 0)
		eng_log(sh->node, AEMP_LOG_ERROR, "function %s failed: %s",
		        f->name, eng_die_text(sh, rc));
}

/* A request moved to the function's shard: p[0] the function (never
 * freed before the node), msg the arguments, s[0] the source node. */
static void
call_func_moved(struct eng_shard *sh, struct eng_call *c)
{
	func_run(sh, c->p[0], c->msg->u.a, c->msg->len, c->s[0],
	         strlen(c->s[0]));
	c->rc = 0;
}

/* func_shard - where f's requests run (aemp_register_on). */
static int
func_shard(struct eng_shard *sh, const struct eng_func *f)
{
	struct aemp_node *node = sh->node;

	if (f->shard >= 0)
		return f->shard % node->nshards;
	if (f->shard == AEMP_SHARD_SPREAD)
		return (int)(atomic_fetch_add_explicit(&node->func_rr, 1,
		                                       memory_order_relaxed) %
		             (unsigned)node->nshards);
	return sh->idx;
}

void
eng_call_func(struct eng_shard *sh, const aemp_val *msg, size_t n,
              const char *src, size_t srclen)
{
	const aemp_val *tag = &msg[0];
	const struct eng_func *f;
	struct eng_call *c;
	int dst;

	if (sh->node->cfg.secure) {
		eng_log(sh->node, AEMP_LOG_ERROR,
		        "secure mode: refused request '%.*s' from %.*s",
		        (int)AEMP_MIN(tag->len, 200u), tag->u.s, (int)srclen,
		        src);
		return;
	}
	f = eng_mod_find(sh, tag->u.s, tag->len);
	if (f == NULL) {
		eng_log(sh->node, AEMP_LOG_ERROR,
		        "unknown request or function '%.*s' from %.*s, ignored",
		        (int)AEMP_MIN(tag->len, 200u), tag->u.s, (int)srclen,
		        src);
		return;
	}
	if (f->builtin) {
		if (strcmp(f->name, SPAWN_FUNC) == 0)
			builtin_spawn(sh, msg + 1, n - 1);
		else
			f->fn(sh->node, msg + 1, n - 1, f->arg);
		return;
	}
	dst = func_shard(sh, f);
	if (dst == sh->idx) {
		func_run(sh, f, msg + 1, n - 1, src, srclen);
		return;
	}
	c = eng_call_new(call_func_moved, 0);
	if (c == NULL || (c->msg = aemp_msg_dup(msg + 1, n - 1)) == NULL ||
	    (c->s[0] = eng_strndup(src, srclen)) == NULL) {
		eng_call_free(c);
		eng_log(sh->node, AEMP_LOG_ERROR,
		        "function %s: out of memory, request dropped", f->name);
		return;
	}
	c->p[0] = (void *)f;
	if (eng_post(sh->node, dst, c) < 0)
		eng_log(sh->node, AEMP_LOG_ERROR,
		        "function %s: cannot reach shard %d, request dropped",
		        f->name, dst);
}

static int
builtin_placeholder(aemp_node *node, const aemp_val *args, size_t n, void *arg)
{
	(void)node;
	(void)args;
	(void)n;
	(void)arg;
	return 0;
}

int
eng_funcs_builtin(struct aemp_node *node)
{
	return func_add(node, SPAWN_FUNC, builtin_placeholder, NULL, 1,
	                AEMP_SHARD_HERE);
}

/* ---- after ---------------------------------------------------------- */

void
eng_after_free(struct eng_shard *sh, struct eng_after *a)
{
	(void)sh;
	eng_strfree(a->self);
	eng_strfree(a->dest);
	aemp_val_free(a->msg);
	ring_free(a, sizeof(*a));
}

static void
after_fire(struct ring_timer *t)
{
	struct eng_after *a = AEMP_CONTAINER_OF(t, struct eng_after, timer);
	struct eng_shard *sh = a->sh;
	struct eng_ctx save;

	eng_obj_del(sh, &a->obj);
	if (a->cb != NULL) {
		eng_ctx_enter_id(sh, &save, a->self);
		a->cb(sh->node, a->arg);
		eng_ctx_leave(sh, &save);
	} else {
		struct cod_seg seg = {a->msg->u.a, a->msg->len};

		eng_snd_segs(sh, a->dest, &seg, 1, 1);
	}
	eng_after_free(sh, a);
}

struct after_req {
	double seconds;
	uint64_t deadline_ns; /* absolute, computed when the call was made */
	void (*cb)(aemp_node *, void *);
	void *arg;
	const char *dest;
	const aemp_val *msg;
	size_t n;
};

static int
after_here(struct eng_shard *sh, const struct after_req *r, aemp_guard *guard)
{
	struct eng_after *a = ring_zalloc(sizeof(*a));
	int rc = -ENOMEM;

	if (a == NULL)
		return -ENOMEM;
	a->obj.kind = OBJ_AFTER;
	a->sh = sh;
	a->cb = r->cb;
	a->arg = r->arg;
	if (r->dest != NULL) {
		a->dest = eng_strndup(r->dest, strlen(r->dest));
		a->msg = aemp_msg_dup(r->msg, r->n);
		if (a->dest == NULL || a->msg == NULL)
			goto out;
	}
	if (eng_self_dup(sh, &a->self) < 0)
		goto out;
	ring_timer_init(&a->timer, after_fire);
	rc = ring_timer_start(&sh->loop.timers, &a->timer, r->deadline_ns);
	if (rc < 0)
		goto out;
	a->obj.id = eng_new_id(sh);
	eng_obj_add(sh, &a->obj);
	if (guard != NULL)
		guard->v = a->obj.id;
	return 0;
out:
	eng_after_free(sh, a);
	return rc;
}

static void
call_after(struct eng_shard *sh, struct eng_call *c)
{
	struct after_req r = {
	        c->d,    c->deadline_ns, (void (*)(aemp_node *, void *))c->fp,
	        c->p[0], c->s[0],        NULL,
	        0};

	if (c->msg != NULL) {
		r.msg = c->msg->u.a;
		r.n = c->msg->len;
	}
	c->rc = after_here(sh, &r, c->guard_out);
}

/* after_common - r->deadline_ns is set here, on the calling thread: a
 * timer posted from an application thread counts from the call, not from
 * when its shard gets to it. */
static int
after_common(aemp_node *node, struct after_req *r, aemp_guard *guard)
{
	struct eng_shard *sh = eng_here(node);
	struct eng_call *c;
	int rc = -ENOMEM;

	if (guard != NULL)
		guard->v = 0;
	if (!isfinite(r->seconds) || r->seconds < 0 || r->seconds > 1e9)
		return -EINVAL;
	r->deadline_ns = ring_now_ns() + (uint64_t)(r->seconds * 1e9);
	if (sh != NULL)
		return after_here(sh, r, guard);
	c = eng_call_new(call_after, 1);
	if (c == NULL)
		return -ENOMEM;
	c->d = r->seconds;
	c->deadline_ns = r->deadline_ns;
	c->fp = (void (*)(void))r->cb;
	c->p[0] = r->arg;
	c->guard_out = guard;
	if (r->dest != NULL) {
		c->s[0] = eng_strndup(r->dest, strlen(r->dest));
		c->msg = aemp_msg_dup(r->msg, r->n);
	}
	if (r->dest == NULL || (c->s[0] != NULL && c->msg != NULL))
		rc = eng_post(node, 0, c);
	eng_call_free(c);
	return rc;
}

AEMP_API int
aemp_after(aemp_node *node, double seconds,
           void (*cb)(aemp_node *node, void *arg), void *arg, aemp_guard *guard)
{
	struct after_req r = {seconds, 0, cb, arg, NULL, NULL, 0};

	AEMP_ASSERT(cb != NULL);
	return after_common(node, &r, guard);
}

AEMP_API int
aemp_after_snd(aemp_node *node, double seconds, const char *port,
               const aemp_val *msg, size_t n, aemp_guard *guard)
{
	struct after_req r = {seconds, 0, NULL, NULL, port, msg, n};

	if (strlen(port) >= AEMP_ID_MAX)
		return AEMP_ETOOBIG;
	return after_common(node, &r, guard);
}

/* ---- cal ------------------------------------------------------------ */

/* One pending call; everything about it lives on the calling shard.  It
 * sits in the guard table (no guard is handed out) so that a node freed
 * before the reply frees it too. */
struct eng_cal {
	struct eng_obj obj;
	aemp_cal_fn cb;
	void *arg;
	aemp_guard mon;
	aemp_guard timer;
	aemp_id reply;
};

static int
cal_ignore(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	(void)node;
	(void)msg;
	(void)n;
	(void)arg;
	return 0;
}

/* cal_finish - deliver the outcome once and retire the reply port. */
static void
cal_finish(aemp_node *node, struct eng_cal *c, int status, const aemp_val *msg,
           size_t n)
{
	aemp_guard_cancel(node, &c->mon);
	aemp_guard_cancel(node, &c->timer);
	/* Later messages to the reply port are ignored until it dies. */
	aemp_rcv(node, c->reply.s, cal_ignore, NULL);
	eng_kil(eng_cur, c->reply.s, NULL, 0, 1);
	c->cb(node, status, msg, n, c->arg);
	eng_obj_del(eng_cur, &c->obj);
	ring_free(c, sizeof(*c));
}

void
eng_cal_free(struct eng_obj *o)
{
	ring_free(o, sizeof(struct eng_cal));
}

static int
cal_reply(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	cal_finish(node, arg, 0, msg, n);
	return 0;
}

static void
cal_died(aemp_node *node, const aemp_val *reason, size_t n, void *arg)
{
	struct eng_cal *c = arg;

	c->mon.v = 0; /* fired: nothing to cancel */
	cal_finish(node, c, AEMP_ENOPORT, reason, n);
}

static void
cal_timeout(aemp_node *node, void *arg)
{
	struct eng_cal *c = arg;

	c->timer.v = 0;
	cal_finish(node, c, -ETIMEDOUT, NULL, 0);
}

/* A call's request: where, what, and when it times out. */
struct cal_req {
	const char *port;
	const aemp_val *msg;
	size_t n;
	aemp_cal_fn cb;
	void *arg;
	uint64_t deadline_ns; /* 0: no timeout (monitor the port) */
};

/* cal_timer - the timeout at r's absolute deadline, on this shard. */
static int
cal_timer(struct eng_shard *sh, uint64_t deadline_ns, struct eng_cal *c)
{
	struct after_req a = {0, deadline_ns, cal_timeout, c, NULL, NULL, 0};

	return after_here(sh, &a, &c->timer);
}

static int
cal_here(struct eng_shard *sh, const struct cal_req *r, aemp_id *reply_port)
{
	aemp_node *node = sh->node;
	struct eng_cal *c = ring_zalloc(sizeof(*c));
	aemp_val rp;
	struct cod_seg segs[2];
	int rc;

	if (c == NULL)
		return -ENOMEM;
	c->cb = r->cb;
	c->arg = r->arg;
	c->obj.kind = OBJ_CAL;
	c->obj.id = eng_new_id(sh);
	eng_obj_add(sh, &c->obj);
	rc = aemp_port(node, cal_reply, c, &c->reply);
	if (rc < 0) {
		eng_obj_del(sh, &c->obj);
		ring_free(c, sizeof(*c));
		return rc;
	}
	if (rc < 0) {
		ring_free(c, sizeof(*c));
		return rc;
	}
	if (r->deadline_ns != 0)
		rc = cal_timer(sh, r->deadline_ns, c);
	else
		rc = aemp_mon(node, r->port, cal_died, c, &c->mon);
	rp = aemp_str(c->reply.s);
	segs[0] = (struct cod_seg){r->msg, r->n};
	segs[1] = (struct cod_seg){&rp, 1};
	if (rc == 0)
		rc = eng_snd_segs(sh, r->port, segs, 2, ENG_SND_CTL);
	if (rc < 0) {
		aemp_guard_cancel(node, &c->mon);
		aemp_guard_cancel(node, &c->timer);
		eng_kil(sh, c->reply.s, NULL, 0, 1);
		eng_obj_del(sh, &c->obj);
		ring_free(c, sizeof(*c));
		return rc;
	}
	if (reply_port != NULL)
		*reply_port = c->reply;
	return 0;
}

static void
call_cal(struct eng_shard *sh, struct eng_call *c)
{
	struct cal_req r = {c->s[0],     c->msg->u.a,
	                    c->msg->len, (aemp_cal_fn)c->fp,
	                    c->p[0],     c->deadline_ns};

	c->rc = cal_here(sh, &r, c->id_out);
}

AEMP_API int
aemp_cal(aemp_node *node, const char *port, const aemp_val *msg, size_t n,
         aemp_cal_fn cb, void *arg, double timeout_s, aemp_id *reply_port)
{
	struct eng_shard *sh = eng_here(node);
	struct cal_req r = {port, msg, n, cb, arg, 0};
	struct eng_call *c;
	struct eng_pid pid;
	int rc = -ENOMEM;

	AEMP_ASSERT(cb != NULL);
	if (strlen(port) >= AEMP_ID_MAX)
		return AEMP_ETOOBIG;
	if (!(timeout_s <= 1e9))
		return -EINVAL;
	/* the timeout counts from now, wherever the call is carried out */
	if (timeout_s > 0)
		r.deadline_ns = ring_now_ns() + (uint64_t)(timeout_s * 1e9);
	if (sh != NULL)
		return cal_here(sh, &r, reply_port);
	rc = eng_pid_parse(node, port, &pid);
	if (rc < 0)
		return rc;
	rc = -ENOMEM;
	c = eng_call_new(call_cal, 1);
	if (c == NULL)
		return -ENOMEM;
	c->s[0] = eng_strndup(port, strlen(port));
	c->msg = aemp_msg_dup(msg, n);
	c->fp = (void (*)(void))cb;
	c->p[0] = arg;
	c->deadline_ns = r.deadline_ns;
	c->id_out = reply_port;
	/* the port's home shard: after the thread's sends to it, and not
	 * behind other threads' backlogs */
	if (c->s[0] != NULL && c->msg != NULL)
		rc = eng_post(node, eng_home(node, &pid), c);
	eng_call_free(c);
	return rc;
}

/* ---- peval and exec ------------------------------------------------- */

static int
peval_here(struct eng_shard *sh, const char *name, size_t namelen,
           int (*fn)(aemp_node *, void *), void *arg)
{
	struct eng_ctx save;
	aemp_val reason[2];
	int rc;

	eng_ctx_enter(sh, &save, name, namelen, NULL, 0);
	rc = fn(sh->node, arg);
	eng_ctx_leave(sh, &save);
	if (rc < 0) {
		reason[0] = aemp_str("die");
		reason[1] = aemp_str(eng_die_text(sh, rc));
		eng_kill_local(sh, name, namelen, reason, 2, 1);
	}
	return rc;
}

static void
call_peval(struct eng_shard *sh, struct eng_call *c)
{
	c->rc = peval_here(sh, c->s[0], strlen(c->s[0]),
	                   (int (*)(aemp_node *, void *))c->fp, c->p[0]);
}

AEMP_API int
aemp_peval(aemp_node *node, const char *port, int (*fn)(aemp_node *, void *),
           void *arg)
{
	struct eng_shard *sh = eng_here(node);
	struct eng_call *c;
	struct eng_pid pid;
	int rc, dst;

	rc = eng_pid_parse(node, port, &pid);
	if (rc < 0)
		return rc;
	if (!pid.local || pid.namelen == 0)
		return AEMP_ENOPORT;
	dst = eng_shard_of_hash(node, eng_hash(pid.name, pid.namelen));
	if (sh != NULL && sh->idx == dst)
		return peval_here(sh, pid.name, pid.namelen, fn, arg);
	c = eng_call_new(call_peval, 0);
	if (c == NULL)
		return -ENOMEM;
	c->fp = (void (*)(void))fn;
	c->p[0] = arg;
	c->s[0] = eng_strndup(pid.name, pid.namelen);
	if (c->s[0] == NULL) {
		eng_call_free(c);
		return -ENOMEM;
	}
	return eng_post(node, dst, c);
}

static void
call_exec(struct eng_shard *sh, struct eng_call *c)
{
	((void (*)(aemp_node *, void *))c->fp)(sh->node, c->p[0]);
	c->rc = 0;
}

AEMP_API int
aemp_exec(aemp_node *node, int shard, void (*fn)(aemp_node *node, void *arg),
          void *arg)
{
	struct eng_call *c;

	if (shard < 0 || shard >= node->nshards || fn == NULL)
		return -EINVAL;
	c = eng_call_new(call_exec, 0);
	if (c == NULL)
		return -ENOMEM;
	c->fp = (void (*)(void))fn;
	c->p[0] = arg;
	return eng_post(node, shard, c);
}
