/*
 * engine/core/mon.c - monitors (aemp-protocol.md §4.6), guard objects, and the
 * records that kill ports and move monitors between shards.
 *
 * A monitor has an owner side (the object its guard names, on the shard
 * that created it, which runs the action) and a registration on the
 * monitored port's list.  On one shard both are the same object; across
 * shards the registration is an ACT_FWD object that fires the owner by id
 * (REC_FIRE).  Cancelling removes the owner side at once (the action can
 * no longer run) and the registration asynchronously (REC_UNMON); a fire
 * that crosses a cancel finds no owner and is ignored.  Monitors are
 * one-shot: firing frees both sides.
 *
 * Threads: every function runs on the shard that owns the objects it
 * touches; cross-shard effects travel as records.
 */
#include <errno.h>
#include <string.h>

#include "engine/core/seam.h"
#include "ring/alloc.h"

/* ---- guard objects -------------------------------------------------- */

static uint32_t
id_hash(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return (uint32_t)id;
}

static uint32_t
obj_hash(const void *e)
{
	return id_hash(((const struct eng_obj *)e)->id);
}

static int
obj_eq(const void *e, const void *k)
{
	return ((const struct eng_obj *)e)->id == *(const uint64_t *)k;
}

uint64_t
eng_new_id(struct eng_shard *sh)
{
	return ENG_ID_MAKE(sh->idx, sh->next_id++);
}

void
eng_obj_add(struct eng_shard *sh, struct eng_obj *o)
{
	/* Growth failure is the only error; an object that cannot be found
	 * can no longer be cancelled, which is fatal to correctness. */
	if (eng_htab_insert(&sh->objs, id_hash(o->id), o, obj_hash) < 0)
		AEMP_ASSERT(!"out of memory in guard table");
}

struct eng_obj *
eng_obj_find(struct eng_shard *sh, uint64_t id)
{
	return eng_htab_find(&sh->objs, id_hash(id), obj_eq, &id);
}

void
eng_obj_del(struct eng_shard *sh, struct eng_obj *o)
{
	eng_htab_remove(&sh->objs, o, obj_hash);
}

/* ---- monitor objects ------------------------------------------------ */

struct eng_mon *
eng_mon_new(struct eng_shard *sh, uint8_t act)
{
	struct eng_mon *m = ring_pool_zget(&sh->mons);

	if (m != NULL) {
		m->obj.kind = OBJ_MON;
		m->act = act;
		ENG_STAT_ADD(sh->st.mons, act != ACT_FWD); /* metrics */
	}
	return m;
}

void
eng_mon_free(struct eng_shard *sh, struct eng_mon *m)
{
	if (m == NULL)
		return;
	AEMP_ASSERT(!m->on_port && !m->in_objs);
	ENG_STAT_ADD(sh->st.mons, -(m->act != ACT_FWD));
	if (m->act == ACT_SND)
		aemp_val_free(m->u.msg);
	if (m->act == ACT_KIL0 && m->u.px.pprev != NULL) {
		*m->u.px.pprev = m->u.px.next;
		if (m->u.px.next != NULL)
			m->u.px.next->u.px.pprev = m->u.px.pprev;
	}
	eng_strfree(m->str);
	eng_strfree(m->self);
	eng_strfree(m->port);
	ring_pool_put(&sh->mons, m);
}

void
eng_mon_link(struct eng_mon **list, struct eng_mon *m)
{
	m->next = *list;
	if (*list != NULL)
		(*list)->pprev = &m->next;
	m->pprev = list;
	*list = m;
	m->on_port = 1;
}

void
eng_mon_unlink(struct eng_mon *m)
{
	*m->pprev = m->next;
	if (m->next != NULL)
		m->next->pprev = m->pprev;
	m->next = NULL;
	m->pprev = NULL;
	m->on_port = 0;
}

size_t
eng_reason_no_such_port(aemp_val out[3], const char *id, size_t idlen)
{
	out[0] = aemp_str("no_such_port");
	out[1] = aemp_str("cannot monitor nonexistent port");
	out[2] = aemp_strn(id, idlen);
	return 3;
}

/* ---- firing --------------------------------------------------------- */

static void
kill_any(struct eng_shard *sh, const char *id, const aemp_val *reason, size_t n)
{
	struct eng_pid pid;

	if (eng_pid_parse(sh->node, id, &pid) < 0 || pid.namelen == 0)
		return;
	if (pid.local) {
		eng_kill_local(sh, pid.name, pid.namelen, reason, n, 1);
	} else {
		aemp_val head[2] = {aemp_str("kil1"),
		                    aemp_strn(pid.name, pid.namelen)};
		struct cod_seg segs[2] = {{head, 2}, {reason, n}};
		struct eng_pid np = pid;

		np.namelen = 0;
		np.name = pid.node + pid.nodelen;
		eng_seam_remote_snd(sh, &np, segs, 2, 1);
	}
}

void
eng_mon_run(struct eng_shard *sh, struct eng_mon *m, const aemp_val *reason,
            size_t n)
{
	struct eng_ctx save;

	AEMP_ASSERT(!m->on_port && !m->in_objs);
	switch (m->act) {
	case ACT_CB:
		eng_ctx_enter_id(sh, &save, m->self);
		m->u.cb.fn(sh->node, reason, n, m->u.cb.arg);
		eng_ctx_leave(sh, &save);
		break;
	case ACT_KILL:
		if (n > 0)
			kill_any(sh, m->str, reason, n);
		break;
	case ACT_SND: {
		struct cod_seg segs[2] = {{m->u.msg->u.a, m->u.msg->len},
		                          {reason, n}};
		eng_snd_segs(sh, m->str, segs, 2, 1);
		break;
	}
	case ACT_GUARD:
		m->u.guard.fn(m->u.guard.ref);
		break;
	default:
		AEMP_ASSERT(!"bad monitor action");
	}
	eng_mon_free(sh, m);
}

void
eng_mon_fire_owned(struct eng_shard *sh, uint64_t id, const aemp_val *reason,
                   size_t n)
{
	struct eng_obj *o = eng_obj_find(sh, id);
	struct eng_mon *m = (struct eng_mon *)o;

	if (o == NULL || o->kind != OBJ_MON)
		return; /* cancelled meanwhile */
	eng_obj_del(sh, o);
	m->in_objs = 0;
	if (m->on_port)
		eng_mon_unlink(m);
	eng_mon_run(sh, m, reason, n);
}

/* fire_remote_owner - fire the owner-side monitor `owner`: at once on
 * this shard, else through its shard's queue. */
static void
fire_remote_owner(struct eng_shard *sh, uint64_t owner, const aemp_val *reason,
                  size_t n)
{
	struct cod_seg seg = {reason, n};

	if (ENG_ID_SHARD(owner) == sh->idx) {
		eng_mon_fire_owned(sh, owner, reason, n);
		return;
	}
	eng_rec_packet(sh, ENG_ID_SHARD(owner), REC_FIRE, &owner, sizeof(owner),
	               "", 0, &seg, 1, 1);
}

/* fire_one - one registration of a dying port (already unlinked). */
static void
fire_one(struct eng_shard *sh, struct eng_mon *m, const aemp_val *reason,
         size_t n)
{
	if (m->act == ACT_FWD) {
		fire_remote_owner(sh, m->u.owner, reason, n);
		eng_mon_free(sh, m);
	} else if (m->act == ACT_KIL0) {
		eng_seam_fire_proxy(sh, m, reason, n);
		eng_mon_free(sh, m);
	} else {
		eng_obj_del(sh, &m->obj);
		m->in_objs = 0;
		eng_mon_run(sh, m, reason, n);
	}
}

void
eng_mon_fire_list(struct eng_shard *sh, struct eng_mon **list,
                  const aemp_val *reason, size_t n)
{
	struct eng_mon *m;

	while ((m = *list) != NULL) {
		eng_mon_unlink(m);
		fire_one(sh, m, reason, n);
	}
}

/* ---- starting and cancelling ---------------------------------------- */

static void
fire_later_no_port(struct eng_shard *sh, uint64_t owner, const char *id,
                   size_t idlen)
{
	aemp_val reason[3];
	size_t n = eng_reason_no_such_port(reason, id, idlen);

	fire_remote_owner(sh, owner, reason, n);
}

struct monreg {
	uint64_t id;
	uint32_t namelen;
	uint32_t pad;
};

static int
start_local(struct eng_shard *sh, const struct eng_pid *pid, struct eng_mon *m)
{
	uint32_t h = eng_hash(pid->name, pid->namelen);
	int dst = eng_shard_of_hash(sh->node, h);
	struct monreg r = {m->obj.id, (uint32_t)pid->namelen, 0};
	struct eng_port *p;
	uint8_t *rec;

	if (dst == sh->idx) {
		p = eng_port_find(sh, pid->name, pid->namelen, h);
		if (p != NULL)
			eng_mon_link(&p->mons, m);
		else
			fire_later_no_port(sh, m->obj.id, m->port,
			                   strlen(m->port));
		return 0;
	}
	rec = eng_rec_reserve(sh, dst, REC_MONREG, sizeof(r) + pid->namelen, 1);
	if (rec == NULL)
		return -ENOMEM;
	memcpy(rec, &r, sizeof(r));
	memcpy(rec + sizeof(r), pid->name, pid->namelen);
	eng_rec_commit(sh, dst, sizeof(r) + pid->namelen);
	return 0;
}

int
eng_mon_start(struct eng_shard *sh, const char *port, struct eng_mon *m,
              aemp_guard *guard)
{
	struct eng_pid pid;
	int rc;

	rc = eng_pid_parse(sh->node, port, &pid);
	if (rc == 0 && (m->port = eng_strndup(port, strlen(port))) == NULL)
		rc = -ENOMEM;
	if (rc < 0) {
		eng_mon_free(sh, m);
		return rc;
	}
	m->obj.id = eng_new_id(sh);
	eng_obj_add(sh, &m->obj);
	m->in_objs = 1;
	if (guard != NULL)
		guard->v = m->obj.id;
	if (!pid.local)
		return eng_seam_remote_mon(sh, &pid, m);
	if (pid.namelen == 0)
		return 0; /* our own node port never dies */
	return start_local(sh, &pid, m);
}

static void
send_unmon(struct eng_shard *sh, struct eng_mon *m)
{
	struct eng_pid pid;
	struct monreg r;
	uint8_t *rec;
	int dst;

	if (eng_pid_parse(sh->node, m->port, &pid) < 0 || pid.namelen == 0)
		return;
	if (!pid.local) {
		eng_seam_remote_unmon(sh, m->port, m->obj.id);
		return;
	}
	dst = eng_shard_of_hash(sh->node, eng_hash(pid.name, pid.namelen));
	r.id = m->obj.id;
	r.namelen = (uint32_t)pid.namelen;
	r.pad = 0;
	rec = eng_rec_reserve(sh, dst, REC_UNMON, sizeof(r) + pid.namelen, 1);
	if (rec == NULL)
		return; /* the registration fires later into nothing */
	memcpy(rec, &r, sizeof(r));
	memcpy(rec + sizeof(r), pid.name, pid.namelen);
	eng_rec_commit(sh, dst, sizeof(r) + pid.namelen);
}

static void
mon_cancel(struct eng_shard *sh, struct eng_mon *m)
{
	eng_obj_del(sh, &m->obj);
	m->in_objs = 0;
	if (m->on_port)
		eng_mon_unlink(m);
	else
		send_unmon(sh, m);
	eng_mon_free(sh, m);
}

int
eng_guard_cancel_here(struct eng_shard *sh, uint64_t id)
{
	struct eng_obj *o = eng_obj_find(sh, id);

	if (o == NULL)
		return 0;
	switch (o->kind) {
	case OBJ_MON:
		mon_cancel(sh, (struct eng_mon *)o);
		break;
	case OBJ_AFTER: {
		struct eng_after *a = (struct eng_after *)o;

		ring_timer_stop(&sh->loop.timers, &a->timer);
		eng_obj_del(sh, o);
		eng_after_free(sh, a);
		break;
	}
	case OBJ_NODEMON:
		eng_seam(sh->node)->nodemon_cancel(sh, id);
		break;
	case OBJ_DBMON:
	case OBJ_DBSET:
		eng_seam(sh->node)->db_obj_cancel(sh, o);
		break;
	case OBJ_CAL:
		break; /* ends by its reply, timeout or the callee's death */
	default:
		AEMP_ASSERT(!"bad guard object");
	}
	return 0;
}

static void
free_obj_cb(void *e, void *arg)
{
	struct eng_shard *sh = arg;
	struct eng_obj *o = e;

	if (o->kind == OBJ_MON) {
		struct eng_mon *m = (struct eng_mon *)o;

		m->in_objs = 0;
		if (m->on_port)
			eng_mon_unlink(m);
		eng_mon_free(sh, m);
	} else if (o->kind == OBJ_AFTER) {
		eng_after_free(sh, (struct eng_after *)o);
	} else if (o->kind == OBJ_DBSET || o->kind == OBJ_DBMON) {
		eng_seam(sh->node)->db_obj_free(o);
	} else if (o->kind == OBJ_CAL) {
		eng_cal_free(o);
	}
	/* OBJ_NODEMON objects belong to the network layer's lists. */
}

void
eng_objs_free_all(struct eng_shard *sh)
{
	eng_htab_each(&sh->objs, free_obj_cb, sh);
	eng_htab_fini(&sh->objs);
}

/* ---- records -------------------------------------------------------- */

static void
rec_monreg(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	struct monreg r;
	struct eng_port *port;
	struct eng_mon *m;
	const char *name = (const char *)p + sizeof(r);
	char id[AEMP_ID_MAX];
	int idlen;

	AEMP_ASSERT(len >= sizeof(r));
	memcpy(&r, p, sizeof(r));
	port = eng_port_find(sh, name, r.namelen, eng_hash(name, r.namelen));
	if (port == NULL) {
		idlen = eng_make_id(id, sizeof(id), sh->node->id,
		                    sh->node->idlen, name, r.namelen);
		if (idlen > 0)
			fire_later_no_port(sh, r.id, id, (size_t)idlen);
		return;
	}
	m = eng_mon_new(sh, ACT_FWD);
	if (m == NULL) {
		eng_log(sh->node, AEMP_LOG_CRIT, "out of memory: monitor lost");
		return;
	}
	m->u.owner = r.id;
	eng_mon_link(&port->mons, m);
}

static void
rec_unmon(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	struct monreg r;
	struct eng_port *port;
	struct eng_mon *m;
	const char *name = (const char *)p + sizeof(r);

	AEMP_ASSERT(len >= sizeof(r));
	memcpy(&r, p, sizeof(r));
	port = eng_port_find(sh, name, r.namelen, eng_hash(name, r.namelen));
	if (port == NULL)
		return;
	for (m = port->mons; m != NULL; m = m->next) {
		if (m->act == ACT_FWD && m->u.owner == r.id) {
			eng_mon_unlink(m);
			eng_mon_free(sh, m);
			return;
		}
	}
}

static void
rec_fire(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	const aemp_val *pkt;
	uint64_t id;

	AEMP_ASSERT(len >= sizeof(id));
	memcpy(&id, p, sizeof(id));
	if (eng_obj_find(sh, id) == NULL)
		return; /* cancelled meanwhile */
	if (cod_decode(COD_CBOR, &sh->tape, p + sizeof(id), len - sizeof(id),
	               &pkt) < 0) {
		eng_log(sh->node, AEMP_LOG_CRIT, "undecodable fire record");
		return;
	}
	eng_mon_fire_owned(sh, id, pkt->u.a + 1, pkt->len - 1);
}

static void
rec_kil(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	const aemp_val *pkt, *name;
	struct eng_port *port;

	if (cod_decode(COD_CBOR, &sh->tape, p, len, &pkt) < 0 || pkt->len < 1 ||
	    pkt->u.a[0].type != AEMP_STR) {
		eng_log(sh->node, AEMP_LOG_CRIT, "undecodable kill record");
		return;
	}
	name = &pkt->u.a[0];
	port = eng_port_find(sh, name->u.s, name->len,
	                     eng_hash(name->u.s, name->len));
	if (port != NULL)
		eng_port_die(sh, port, pkt->u.a + 1, pkt->len - 1);
}

struct rcvrec {
	aemp_rcv_fn fn;
	void *arg;
	uint32_t namelen;
	uint32_t taglen;
	uint32_t has_tag;
	uint32_t pad;
};

static void
rec_rcv(struct eng_shard *sh, const uint8_t *p, size_t len)
{
	struct rcvrec r;
	const char *name = (const char *)p + sizeof(r);

	AEMP_ASSERT(len >= sizeof(r));
	memcpy(&r, p, sizeof(r));
	if (eng_set_handler(sh, name, r.namelen, name + r.namelen, r.taglen,
	                    (int)r.has_tag, r.fn, r.arg) < 0)
		eng_log(sh->node, AEMP_LOG_CRIT, "out of memory: rcv lost");
}

void
eng_mon_record(struct eng_shard *sh, uint32_t kind, const uint8_t *p,
               size_t len)
{
	switch (kind) {
	case REC_KIL:
		rec_kil(sh, p, len);
		break;
	case REC_MONREG:
		rec_monreg(sh, p, len);
		break;
	case REC_UNMON:
		rec_unmon(sh, p, len);
		break;
	case REC_FIRE:
		rec_fire(sh, p, len);
		break;
	case REC_RCV:
		rec_rcv(sh, p, len);
		break;
	default:
		AEMP_ASSERT(!"bad monitor record");
	}
}

/* eng_rcv_post - set a handler on a port of another shard. */
int
eng_rcv_post(struct eng_shard *sh, int dst, const char *name, size_t namelen,
             const char *tag, size_t taglen, int has_tag, aemp_rcv_fn fn,
             void *arg)
{
	struct rcvrec r = {
	        fn, arg, (uint32_t)namelen, (uint32_t)taglen, (uint32_t)has_tag,
	        0};
	uint8_t *rec;
	size_t len = sizeof(r) + namelen + taglen;

	rec = eng_rec_reserve(sh, dst, REC_RCV, len, 1);
	if (rec == NULL)
		return -ENOMEM;
	memcpy(rec, &r, sizeof(r));
	memcpy(rec + sizeof(r), name, namelen);
	if (taglen > 0)
		memcpy(rec + sizeof(r) + namelen, tag, taglen);
	eng_rec_commit(sh, dst, len);
	return 0;
}
