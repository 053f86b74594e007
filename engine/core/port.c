/*
 * engine/core/port.c - local ports: names, the per-shard port table, handler
 * dispatch, port context ($SELF, SRCNODE) and port death.
 *
 * Invariants:
 *  - A port lives on eng_shard_of_hash(hash(name)); names generated here
 *    are chosen so that they hash to the creating shard, and names chosen
 *    elsewhere (remote spawn) route by the same function.
 *  - Names are never reused for the life of the node ID: each shard walks
 *    its own counter sequence and keeps only names of its own residue.
 *  - Kills are never run inside the caller of kil: they travel through the
 *    owning shard's record queue (its own deferral queue when local).
 *
 * Threads: all functions run on the shard that owns the ports.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/core/eng.h"
#include "ring/alloc.h"

int
eng_pid_parse(const struct aemp_node *node, const char *id, struct eng_pid *out)
{
	const char *hash = strchr(id, '#');
	size_t len = strlen(id);

	if (AEMP_UNLIKELY(len >= AEMP_ID_MAX))
		return AEMP_ETOOBIG;
	out->node = id;
	if (hash != NULL) {
		out->nodelen = (size_t)(hash - id);
		out->name = hash + 1;
		out->namelen = len - out->nodelen - 1;
	} else {
		out->nodelen = len;
		out->name = id + len;
		out->namelen = 0;
	}
	out->local = out->nodelen == node->idlen &&
	             memcmp(id, node->id, node->idlen) == 0;
	return 0;
}

int
eng_make_id(char *out, size_t cap, const char *node, size_t nodelen,
            const char *name, size_t namelen)
{
	if (nodelen + 1 + namelen >= cap ||
	    nodelen + 1 + namelen >= AEMP_ID_MAX)
		return AEMP_ETOOBIG;
	memcpy(out, node, nodelen);
	out[nodelen] = '#';
	memcpy(out + nodelen + 1, name, namelen);
	out[nodelen + 1 + namelen] = '\0';
	return (int)(nodelen + 1 + namelen);
}

char *
eng_strndup(const char *s, size_t n)
{
	char *p = ring_alloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void
eng_strfree(char *s)
{
	if (s != NULL)
		ring_free(s, strlen(s) + 1);
}

/* ---- table ---------------------------------------------------------- */

struct port_key {
	const char *name;
	size_t len;
	uint32_t hash;
};

static uint32_t
port_hash(const void *e)
{
	return ((const struct eng_port *)e)->hash;
}

static int
port_eq(const void *e, const void *k)
{
	const struct eng_port *p = e;
	const struct port_key *key = k;

	return p->hash == key->hash && p->namelen == key->len &&
	       eng_name_eq(p->name, key->name, key->len);
}

struct eng_port *
eng_port_find(struct eng_shard *sh, const char *name, size_t len, uint32_t hash)
{
	struct port_key k = {name, len, hash};
	struct eng_port *p = sh->port_last;

	if (p != NULL && port_eq(p, &k))
		return p;
	p = eng_htab_find(&sh->ports, hash, port_eq, &k);
	if (p != NULL)
		sh->port_last = p;
	return p;
}

static struct eng_port *
port_alloc(struct eng_shard *sh, size_t namelen)
{
	size_t need = sizeof(struct eng_port) + namelen + 1;
	struct eng_port *p;

	if (need <= 64) {
		p = ring_pool_get(&sh->port64);
		if (p != NULL)
			p->flags = PORT_F_POOL64;
	} else if (need <= 96) {
		p = ring_pool_get(&sh->port96);
		if (p != NULL)
			p->flags = PORT_F_POOL96;
	} else {
		p = ring_alloc(need);
		if (p != NULL)
			p->flags = 0;
	}
	return p;
}

static void
port_release(struct eng_shard *sh, struct eng_port *p)
{
	struct eng_tag *t, *next;

	for (t = p->tags; t != NULL; t = next) {
		next = t->next;
		ring_free(t, sizeof(*t) + t->len + 1);
	}
	if (p->flags & PORT_F_POOL64)
		ring_pool_put(&sh->port64, p);
	else if (p->flags & PORT_F_POOL96)
		ring_pool_put(&sh->port96, p);
	else
		ring_free(p, sizeof(*p) + p->namelen + 1);
}

int
eng_port_create(struct eng_shard *sh, const char *name, size_t len,
                uint32_t hash, struct eng_port **out)
{
	struct eng_port *p;

	if (len > UINT16_MAX)
		return AEMP_ETOOBIG;
	p = port_alloc(sh, len);
	if (p == NULL)
		return -ENOMEM;
	p->mons = NULL;
	p->fn = NULL;
	p->arg = NULL;
	p->tags = NULL;
	p->hash = hash;
	p->namelen = (uint16_t)len;
	p->pad = 0;
	memcpy(p->name, name, len);
	p->name[len] = '\0';
	if (eng_htab_insert(&sh->ports, hash, p, port_hash) < 0) {
		port_release(sh, p);
		return -ENOMEM;
	}
	ENG_STAT_ADD(sh->st.ports_made, 1);
	*out = p;
	return 0;
}

/* alpha - the counter as lowercase letters, Perl's string increment
 * sequence (1 = "a", 26 = "z", 27 = "aa"). */
static size_t
alpha(uint64_t n, char *out)
{
	char tmp[16];
	size_t len = 0, i;

	while (n > 0) {
		n--;
		tmp[len++] = (char)('a' + n % 26);
		n /= 26;
	}
	for (i = 0; i < len; i++)
		out[i] = tmp[len - 1 - i];
	return len;
}

size_t
eng_port_new_name(struct eng_shard *sh, char *buf, size_t cap, uint32_t *hash)
{
	struct aemp_node *node = sh->node;
	size_t len;
	uint32_t h;

	AEMP_ASSERT(cap >= node->uniqlen + 16);
	memcpy(buf, node->uniq, node->uniqlen);
	do {
		/* Counters start past "a", as Perl's pre-increment does. */
		len = node->uniqlen +
		      alpha(++sh->name_ctr + 1, buf + node->uniqlen);
		h = eng_hash(buf, len);
	} while (eng_shard_of_hash(node, h) != sh->idx);
	buf[len] = '\0';
	*hash = h;
	return len;
}

static void
free_port_cb(void *e, void *arg)
{
	struct eng_shard *sh = arg;
	struct eng_port *p = e;
	struct eng_mon *m, *next;

	for (m = p->mons; m != NULL; m = next) {
		next = m->next;
		m->on_port = 0;
		if (!m->in_objs)
			eng_mon_free(sh, m);
	}
	port_release(sh, p);
}

void
eng_ports_free_all(struct eng_shard *sh)
{
	sh->port_last = NULL;
	eng_htab_each(&sh->ports, free_port_cb, sh);
	eng_htab_fini(&sh->ports);
}

/* ---- context -------------------------------------------------------- */

void
eng_ctx_enter(struct eng_shard *sh, struct eng_ctx *save, const char *name,
              size_t namelen, const char *src, size_t srclen)
{
	save->name = sh->cur_name;
	save->namelen = sh->cur_namelen;
	save->src = sh->cur_src;
	save->srclen = sh->cur_srclen;
	save->self_ok = sh->self_ok;
	sh->cur_name = name;
	sh->cur_namelen = (uint32_t)namelen;
	sh->cur_src = src;
	sh->cur_srclen = (uint32_t)srclen;
	sh->self_ok = 0;
}

void
eng_ctx_leave(struct eng_shard *sh, const struct eng_ctx *save)
{
	sh->cur_name = save->name;
	sh->cur_namelen = save->namelen;
	sh->cur_src = save->src;
	sh->cur_srclen = save->srclen;
	sh->self_ok = 0;
}

void
eng_ctx_enter_id(struct eng_shard *sh, struct eng_ctx *save, const char *id)
{
	const char *hash = id ? strchr(id, '#') : NULL;

	if (hash == NULL) {
		eng_ctx_enter(sh, save, NULL, 0, NULL, 0);
		return;
	}
	eng_ctx_enter(sh, save, hash + 1, strlen(hash + 1), NULL, 0);
}

const char *
eng_die_text(struct eng_shard *sh, int rc)
{
	if (sh->die_set) {
		sh->die_set = 0;
		return sh->die;
	}
	return aemp_strerror(rc);
}

/* ---- dispatch ------------------------------------------------------- */

static void
unhandled(struct eng_shard *sh, struct eng_port *p, const aemp_val *msg,
          size_t n)
{
	char text[80], tag[31];
	size_t i, len = 0;
	aemp_val reason[2];

	/* First 30 characters of the tag, non-printables as '.' (§4.6.1). */
	if (n > 0 && msg[0].type == AEMP_STR) {
		len = AEMP_MIN(msg[0].len, 30u);
		for (i = 0; i < len; i++) {
			char c = msg[0].u.s[i];
			tag[i] = (c >= 0x20 && c < 0x7f) ? c : '.';
		}
	}
	tag[len] = '\0';
	snprintf(text, sizeof(text), "no callback found for message '%s'", tag);
	reason[0] = aemp_str("unhandled_message");
	reason[1] = aemp_str(text);
	eng_kill_local(sh, p->name, p->namelen, reason, 2, 1);
}

static const struct eng_tag *
find_tag(const struct eng_port *p, const aemp_val *msg, size_t n)
{
	const struct eng_tag *t;

	if (n == 0 || msg[0].type != AEMP_STR)
		return NULL;
	for (t = p->tags; t != NULL; t = t->next) {
		if (t->len == msg[0].len &&
		    memcmp(t->tag, msg[0].u.s, t->len) == 0)
			return t;
	}
	return NULL;
}

void
eng_deliver(struct eng_shard *sh, struct eng_port *p, const aemp_val *msg,
            size_t n, const char *src, size_t srclen)
{
	const struct eng_tag *t = p->tags ? find_tag(p, msg, n) : NULL;
	struct eng_ctx save;
	aemp_val reason[2];
	uint64_t t0 = 0;
	int rc;

	if (t == NULL && p->fn == NULL) {
		unhandled(sh, p, msg, n);
		return;
	}
	ENG_STAT_ADD(sh->st.delivered, 1);
	eng_ctx_enter(sh, &save, p->name, p->namelen, src, srclen);
	sh->depth++;
	if (AEMP_UNLIKELY(--sh->st.htime_cd == 0)) /* metrics_sample */
		t0 = eng_htime_sample(&sh->st);
	if (t != NULL)
		rc = t->fn(sh->node, msg + 1, n - 1, t->arg);
	else
		rc = p->fn(sh->node, msg, n, p->arg);
	if (AEMP_UNLIKELY(t0 != 0))
		eng_htime_done(&sh->st, t0);
	sh->depth--;
	eng_ctx_leave(sh, &save);
	if (AEMP_UNLIKELY(rc < 0)) {
		/* p may be gone by now only through a kill, which is always
		 * deferred, so p->name is still valid here. */
		reason[0] = aemp_str("die");
		reason[1] = aemp_str(eng_die_text(sh, rc));
		eng_kill_local(sh, p->name, p->namelen, reason, 2, 1);
	}
}

/* ---- handlers ------------------------------------------------------- */

static int
set_tag(struct eng_port *p, const char *tag, size_t taglen, aemp_rcv_fn fn,
        void *arg)
{
	struct eng_tag **tp, *t;

	for (tp = &p->tags; (t = *tp) != NULL; tp = &t->next) {
		if (t->len == taglen && memcmp(t->tag, tag, taglen) == 0)
			break;
	}
	if (fn == NULL) {
		if (t != NULL) {
			*tp = t->next;
			ring_free(t, sizeof(*t) + t->len + 1);
		}
		return 0;
	}
	if (t == NULL) {
		t = ring_alloc(sizeof(*t) + taglen + 1);
		if (t == NULL)
			return -ENOMEM;
		t->len = (uint32_t)taglen;
		memcpy(t->tag, tag, taglen);
		t->tag[taglen] = '\0';
		t->next = p->tags;
		p->tags = t;
	}
	t->fn = fn;
	t->arg = arg;
	return 0;
}

int
eng_set_handler(struct eng_shard *sh, const char *name, size_t len,
                const char *tag, size_t taglen, int has_tag, aemp_rcv_fn fn,
                void *arg)
{
	uint32_t h = eng_hash(name, len);
	struct eng_port *p = eng_port_find(sh, name, len, h);
	int rc;

	AEMP_ASSERT(eng_shard_of_hash(sh->node, h) == sh->idx);
	if (p == NULL) {
		rc = eng_port_create(sh, name, len, h, &p);
		if (rc < 0)
			return rc;
	}
	if (has_tag)
		return set_tag(p, tag, taglen, fn, arg);
	p->fn = fn;
	p->arg = arg;
	return 0;
}

/* ---- death ---------------------------------------------------------- */

void
eng_port_die(struct eng_shard *sh, struct eng_port *p, const aemp_val *reason,
             size_t n)
{
	struct eng_mon *list = p->mons;

	eng_htab_remove(&sh->ports, p, port_hash);
	if (sh->port_last == p)
		sh->port_last = NULL;
	ENG_STAT_ADD(sh->st.ports_killed, 1);
	if (list != NULL)
		list->pprev = &list;
	p->mons = NULL;
	if (list == NULL && n > 0 && sh->node->log_level >= AEMP_LOG_DEBUG) {
		eng_log(sh->node, AEMP_LOG_DEBUG,
		        "unmonitored local port %s died", p->name);
	}
	port_release(sh, p);
	eng_mon_fire_list(sh, &list, reason, n);
}

int
eng_kill_local(struct eng_shard *sh, const char *name, size_t len,
               const aemp_val *reason, size_t n, int must)
{
	uint32_t h = eng_hash(name, len);
	struct cod_seg seg = {reason, n};

	/* REC_KIL: the CBOR packet [NAME, REASON...]. */
	return eng_rec_packet(sh, eng_shard_of_hash(sh->node, h), REC_KIL, NULL,
	                      0, name, len, &seg, 1, must);
}
