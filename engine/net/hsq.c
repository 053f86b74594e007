/*
 * engine/net/hsq.c - the pending handshakes of accepted connections, and
 * how the node makes room for a new one (docs/config.md, "Handshakes
 * under attack").
 *
 * The node bounds its unauthenticated connections: max_handshakes in all
 * (eng_net.handshakes, outgoing ones included), max_handshakes_per_addr
 * from one source address (IPv6: one /64; addresses in per_addr_exempt
 * are not bounded).  A new connection is not refused when a bound is
 * reached: the pending handshake that made the least progress for the
 * longest time is closed instead -- the oldest of the lowest class,
 * HSQ_SILENT < HSQ_TALKING < HSQ_NAMED.  Idle sockets and slow drips
 * are what gets dropped; a real peer sends its whole greeting at once
 * (aemp-protocol.md §2.1), so it leaves HSQ_SILENT within a round trip
 * and HSQ_TALKING with the same packet.
 *
 * Scope: connections are accepted on shard 0 and move to the shard that
 * owns the peer's node once line 1 names it; only those still on shard 0
 * are listed.  An address's count covers its connections until their
 * line 1 is complete.  Connections that moved are bounded by their
 * deadlines (greeting_timeout, handshake_timeout) and by max_handshakes.
 *
 * A connection's first bytes are seen when its poll completes; in a
 * burst of accepts that can come after hundreds of further accepts, so
 * before a silent one is closed, its socket is checked for input (quiet;
 * at most HSQ_PEEK_MAX per choice).
 *
 * Cost: listing and progress are O(1); the node-wide choice is O(1) plus
 * at most HSQ_PEEK_MAX recv(MSG_PEEK); the choice within one address
 * scans its list (at most max_handshakes_per_addr) up to HSQ_PEEK_MAX
 * times.  Memory: a pending handshake is a struct eng_conn (~5.8 KiB)
 * until its first byte, then also the handshake state and its buffer
 * (~30 KiB); an address with pending handshakes a struct eng_paddr.
 *
 * Threads: shard 0 (the accepting shard) only.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/net/connint.h"
#include "ring/alloc.h"

/* At most one warning about closed handshakes per this interval. */
#define HSQ_REPORT_NS (10ull * 1000 * 1000 * 1000)
/* Silent handshakes checked for input (quiet) per choice, at most. */
#define HSQ_PEEK_MAX 8

enum { LINK_PEND, LINK_PADDR };

static struct eng_plink *
link_of(struct eng_conn *c, int which)
{
	return which == LINK_PEND ? &c->pend_link : &c->paddr_link;
}

static void
q_push(struct eng_hsqlist *q, struct eng_conn *c, int which)
{
	struct eng_plink *l = link_of(c, which);

	l->next = NULL;
	l->prev = q->tail;
	if (q->tail != NULL)
		link_of(q->tail, which)->next = c;
	else
		q->head = c;
	q->tail = c;
}

static void
q_del(struct eng_hsqlist *q, struct eng_conn *c, int which)
{
	struct eng_plink *l = link_of(c, which);

	if (l->prev != NULL)
		link_of(l->prev, which)->next = l->next;
	else
		q->head = l->next;
	if (l->next != NULL)
		link_of(l->next, which)->prev = l->prev;
	else
		q->tail = l->prev;
	l->next = l->prev = NULL;
}

/* ---- source addresses ----------------------------------------------- */

/* addr_key - the bounded unit of a: family, then IPv4 address or IPv6
 * /64 (IPv4-mapped IPv6 counts as IPv4).  Returns 0, or -1 if a is
 * neither IPv4 nor IPv6. */
static int
addr_key(const struct eng_addr *a, uint8_t key[17])
{
	const struct sockaddr_in6 *s6;

	memset(key, 0, 17);
	if (a->ss.ss_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1,
		       &((const struct sockaddr_in *)(const void *)&a->ss)
		                ->sin_addr,
		       4);
		return 0;
	}
	if (a->ss.ss_family != AF_INET6)
		return -1;
	s6 = (const struct sockaddr_in6 *)(const void *)&a->ss;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		key[0] = 4;
		memcpy(key + 1, s6->sin6_addr.s6_addr + 12, 4);
	} else {
		key[0] = 6;
		memcpy(key + 1, s6->sin6_addr.s6_addr, 8);
	}
	return 0;
}

static int
addr_exempt(const struct eng_config *cfg, const struct eng_addr *a)
{
	size_t i;

	for (i = 0; i < cfg->nper_addr_exempt; i++)
		if (eng_prefix_match(&cfg->per_addr_exempt[i],
		                     (const struct sockaddr *)&a->ss))
			return 1;
	return 0;
}

static uint32_t
paddr_hash(const void *e)
{
	return ((const struct eng_paddr *)e)->hash;
}

static int
paddr_eq(const void *e, const void *key)
{
	return memcmp(((const struct eng_paddr *)e)->key, key, 17) == 0;
}

/* paddr_find - the entry of a's unit (created if create), or NULL if a
 * is exempt, not IP, or (create) memory ran out. */
static struct eng_paddr *
paddr_find(struct eng_shard *sh, const struct eng_addr *a, int create)
{
	struct eng_snet *sn = eng_snet(sh);
	struct eng_paddr *pa;
	uint8_t key[17];
	uint32_t h;

	if (addr_key(a, key) < 0 || addr_exempt(&sh->node->cfg, a))
		return NULL;
	h = eng_hash((const char *)key, sizeof(key));
	pa = eng_htab_find(&sn->paddrs, h, paddr_eq, key);
	if (pa != NULL || !create)
		return pa;
	if ((pa = ring_zalloc(sizeof(*pa))) == NULL)
		return NULL; /* the address goes unbounded, nothing worse */
	pa->hash = h;
	memcpy(pa->key, key, sizeof(key));
	if (eng_htab_insert(&sn->paddrs, h, pa, paddr_hash) < 0) {
		ring_free(pa, sizeof(*pa));
		return NULL;
	}
	return pa;
}

static void
paddr_detach(struct eng_conn *c)
{
	struct eng_paddr *pa = c->paddr;

	if (pa == NULL)
		return;
	q_del(&pa->list, c, LINK_PADDR);
	c->paddr = NULL;
	if (--pa->count == 0) {
		eng_htab_remove(&eng_snet(c->sh)->paddrs, pa, paddr_hash);
		ring_free(pa, sizeof(*pa));
	}
}

/* ---- listing -------------------------------------------------------- */

void
eng_hsq_add(struct eng_conn *c)
{
	struct eng_snet *sn = eng_snet(c->sh);
	struct eng_paddr *pa;

	AEMP_ASSERT(!c->pend_listed);
	c->pend = HSQ_SILENT;
	c->pend_listed = 1;
	q_push(&sn->pend[HSQ_SILENT], c, LINK_PEND);
	if ((pa = paddr_find(c->sh, &c->addr, 1)) != NULL) {
		c->paddr = pa;
		pa->count++;
		q_push(&pa->list, c, LINK_PADDR);
	}
}

void
eng_hsq_progress(struct eng_conn *c, enum hsq_class k)
{
	struct eng_snet *sn = eng_snet(c->sh);

	if (k <= c->pend)
		return;
	if (c->pend_listed) {
		q_del(&sn->pend[c->pend], c, LINK_PEND);
		q_push(&sn->pend[k], c, LINK_PEND);
	}
	c->pend = (uint8_t)k;
	if (k >= HSQ_NAMED)
		paddr_detach(c);
}

void
eng_hsq_del(struct eng_conn *c)
{
	if (!c->pend_listed)
		return;
	q_del(&eng_snet(c->sh)->pend[c->pend], c, LINK_PEND);
	paddr_detach(c);
	c->pend_listed = 0;
}

/* ---- making room ---------------------------------------------------- */

static const char *const class_words[HSQ_NCLASS] = {
        "had sent nothing",
        "had not finished its greeting",
        "had not authenticated",
};

/* report - a warning about closed and refused connections, at most one
 * per HSQ_REPORT_NS, counting those since the previous one. */
static void
report(struct eng_shard *sh)
{
	struct eng_snet *sn = eng_snet(sh);
	const struct eng_config *cfg = &sh->node->cfg;
	uint64_t now = sh->loop.now_ns;

	if (sn->evict_log_ns != 0 && now - sn->evict_log_ns < HSQ_REPORT_NS)
		return;
	eng_log(sh->node, AEMP_LOG_WARN,
	        "handshakes: %llu pending closed to make room for new "
	        "connections (the least advanced first), %llu connections "
	        "refused (nothing to close) since the last report; "
	        "max_handshakes %d, max_handshakes_per_addr %d; a flood of "
	        "idle or slow connections?",
	        (unsigned long long)(sn->evicted - sn->evicted_logged),
	        (unsigned long long)(sn->refused - sn->refused_logged),
	        cfg->max_handshakes, cfg->max_handshakes_per_addr);
	sn->evicted_logged = sn->evicted;
	sn->refused_logged = sn->refused;
	sn->evict_log_ns = now;
}

void
eng_hsq_failed(struct eng_conn *c)
{
	int why;

	if (c->state == CS_DATA || c->state == CS_CLOSED)
		return;
	if (c->hs_why != 0)
		why = c->hs_why - 1;
	else if (c->state == CS_CONNECTING)
		why = ENG_HSF_CONNECT;
	else if (c->hs != NULL && c->hs->err_code == AEMP_EAUTH)
		why = ENG_HSF_AUTH;
	else if (c->hs != NULL && c->hs->err_code != 0)
		why = ENG_HSF_PROTOCOL;
	else if (c->state == CS_TLS_HS)
		why = ENG_HSF_TLS;
	else
		why = ENG_HSF_IO;
	ENG_STAT_ADD(c->sh->st.hs_fail[why], 1);
}

static void
evict(struct eng_conn *c, const char *bound)
{
	struct eng_shard *sh = c->sh;
	double age = (double)(int64_t)(sh->loop.now_ns - c->hs_t0_ns) / 1e9;

	eng_snet(sh)->evicted++;
	c->hs_why = ENG_HSF_LIMIT + 1;
	eng_conn_fail(c, "closed to make room (%s): it %s after %.3f s", bound,
	              class_words[c->pend], age < 0 ? 0 : age);
	report(sh);
}

/*
 * quiet - 1 if c (HSQ_SILENT) has indeed received nothing; else c's first
 * bytes arrived but their poll has not completed yet (a burst of accepts
 * is processed first), so c moves to HSQ_TALKING and 0 is returned.
 * Rule zero: one recv(2) outside the ring per closed handshake, a path
 * only a full table takes; it keeps a real peer accepted in the middle of
 * a burst of idle connections from being taken for one of them.
 */
static int
quiet(struct eng_conn *c)
{
	uint8_t b;

	if (c->pend != HSQ_SILENT ||
	    recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) <= 0)
		return 1;
	eng_hsq_progress(c, HSQ_TALKING);
	return 0;
}

/* least_of_addr - the connection of pa with the least progress, the
 * oldest among equals. */
static struct eng_conn *
least_of_addr(const struct eng_paddr *pa)
{
	struct eng_conn *c, *best;
	int tries = HSQ_PEEK_MAX;

	do {
		best = NULL;
		for (c = pa->list.head; c != NULL; c = c->paddr_link.next)
			if (best == NULL || c->pend < best->pend)
				best = c;
	} while (best != NULL && --tries > 0 && !quiet(best));
	return best;
}

static struct eng_conn *
least_of_node(struct eng_snet *sn)
{
	int k, tries = HSQ_PEEK_MAX;

	while (sn->pend[HSQ_SILENT].head != NULL && --tries > 0 &&
	       !quiet(sn->pend[HSQ_SILENT].head))
		;
	for (k = 0; k < HSQ_NCLASS; k++)
		if (sn->pend[k].head != NULL)
			return sn->pend[k].head;
	return NULL;
}

int
eng_hsq_admit(struct eng_shard *sh, const struct eng_addr *addr)
{
	struct eng_net *net = eng_net(sh->node);
	const struct eng_config *cfg = &sh->node->cfg;
	struct eng_paddr *pa = paddr_find(sh, addr, 0);
	struct eng_conn *victim;

	if (pa != NULL && pa->count >= (uint32_t)cfg->max_handshakes_per_addr)
		evict(least_of_addr(pa), "max_handshakes_per_addr");
	if (atomic_load(&net->handshakes) < cfg->max_handshakes)
		return 0;
	victim = least_of_node(eng_snet(sh));
	if (victim == NULL) {
		eng_snet(sh)->refused++;
		ENG_STAT_ADD(sh->st.hs_fail[ENG_HSF_LIMIT], 1);
		report(sh);
		return -1;
	}
	evict(victim, "max_handshakes");
	return 0;
}

int
eng_hsq_evict_silent(struct eng_shard *sh, const char *why, int max)
{
	struct eng_snet *sn = eng_snet(sh);
	int n = 0, tries = HSQ_PEEK_MAX + max;
	struct eng_conn *c;

	while (n < max && tries-- > 0 && (c = sn->pend[HSQ_SILENT].head)) {
		if (quiet(c)) {
			evict(c, why);
			n++;
		}
	}
	return n;
}

static void
paddr_free(void *e, void *arg)
{
	(void)arg;
	ring_free(e, sizeof(struct eng_paddr));
}

void
eng_hsq_free(struct eng_shard *sh)
{
	struct eng_snet *sn = eng_snet(sh);

	eng_htab_each(&sn->paddrs, paddr_free, NULL);
	eng_htab_fini(&sn->paddrs);
	ring_free(sn->greeter, sizeof(*sn->greeter));
	sn->greeter = NULL;
	memset(sn->pend, 0, sizeof(sn->pend));
}
