/*
 * engine/core/nodeport.c - requests to this node's node port (aemp-protocol.md
 * §4.1-§4.4): the node protocol table, replies, and the fall-back to
 * registered functions.  The global service's g_* requests go to the
 * control shard (engine/global/global.c).
 *
 * Threads: runs on whichever shard received the request (the peer's
 * connection shard, or the sender's shard for local requests).
 */
#include <string.h>
#include <time.h>

#include "engine/core/seam.h"

/* A value as a NUL-terminated string in buf (strings only). */
static const char *
val_cstr(const aemp_val *v, char *buf, size_t cap)
{
	if (v == NULL || v->type != AEMP_STR || v->len >= cap ||
	    memchr(v->u.s, '\0', v->len) != NULL)
		return NULL;
	memcpy(buf, v->u.s, v->len);
	buf[v->len] = '\0';
	return buf;
}

/*
 * eng_reply - answer a request with reply address addr[0..naddr) (port ID
 * then extra leading elements, §4.2) and the result values.
 */
void
eng_reply(struct eng_shard *sh, const aemp_val *addr, size_t naddr,
          const aemp_val *res, size_t nres)
{
	char id[AEMP_ID_MAX];
	struct cod_seg segs[2] = {{addr + 1, naddr - 1}, {res, nres}};

	if (naddr == 0 || val_cstr(&addr[0], id, sizeof(id)) == NULL)
		return;
	eng_snd_segs(sh, id, segs, 2, 1);
}

static int
tag_is(const aemp_val *v, const char *s)
{
	return aemp_str_eq(v, s);
}

static const char *const known_tags[] = {
        "",        "devnull", "mon1",   "mon0",        "kil1",        "kil0",
        "snd",     "can",     "time",   "g_global",    "g_slave",     "g_reply",
        "g_found", "g_chg1",  "g_chg2", "aemp::stats", "aemp::nodes",
};

static int
can_answer(struct eng_shard *sh, const aemp_val *tag)
{
	size_t i;

	if (tag->type != AEMP_STR)
		return 0;
	for (i = 0; i < AEMP_ARRAY_LEN(known_tags); i++) {
		if (tag_is(tag, known_tags[i]))
			return 1;
	}
	if (eng_seam_global_knows(sh->node, tag))
		return 1;
	return !sh->node->cfg.secure &&
	       eng_func_find(sh->node, tag->u.s, tag->len) != NULL;
}

static void
req_time(struct eng_shard *sh, const aemp_val *args, size_t n)
{
	struct timespec ts;
	aemp_val now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = aemp_float((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
	eng_reply(sh, args, n, &now, 1);
}

static void
req_can(struct eng_shard *sh, const aemp_val *args, size_t n)
{
	aemp_val res;

	if (n < 2)
		return;
	res = can_answer(sh, &args[0]) ? aemp_int(1) : aemp_bool(0);
	eng_reply(sh, args + 1, n - 1, &res, 1);
}

static void
req_eval(struct eng_shard *sh, const aemp_val *args, size_t n, const char *src,
         size_t srclen)
{
	aemp_val err = aemp_str("eval not supported");

	eng_log(sh->node, AEMP_LOG_WARN,
	        "refused eval request from %.*s: aemp nodes do not evaluate "
	        "code",
	        (int)srclen, src);
	if (n >= 2)
		eng_reply(sh, args + 1, n - 1, &err, 1);
}

static void
req_snd(struct eng_shard *sh, const aemp_val *args, size_t n)
{
	char id[AEMP_ID_MAX];
	struct cod_seg seg = {args + 1, n - 1};

	if (n < 1 || val_cstr(&args[0], id, sizeof(id)) == NULL)
		return;
	eng_snd_segs(sh, id, &seg, 1, 1);
}

static void
req_kil1(struct eng_shard *sh, const aemp_val *args, size_t n)
{
	if (n < 1 || args[0].type != AEMP_STR || args[0].len == 0)
		return;
	eng_kill_local(sh, args[0].u.s, args[0].len, args + 1, n - 1, 1);
}

AEMP_API int
aemp_stats_get(aemp_node *node, aemp_stats *out)
{
	const struct eng_stats *st;
	uint64_t hf[ENG_HSF_N] = {0};
	int i, k;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < node->nshards; i++) {
		st = &node->shards[i]->st;
		out->msgs_delivered += atomic_load_explicit(
		        &st->delivered, memory_order_relaxed);
		out->msgs_xshard += atomic_load_explicit(&st->xshard_out,
		                                         memory_order_relaxed);
		out->packets_out += atomic_load_explicit(&st->remote_out,
		                                         memory_order_relaxed);
		out->packets_in += atomic_load_explicit(&st->remote_in,
		                                        memory_order_relaxed);
		out->bytes_out += atomic_load_explicit(&st->bytes_out,
		                                       memory_order_relaxed);
		out->bytes_in += atomic_load_explicit(&st->bytes_in,
		                                      memory_order_relaxed);
		out->ports_created += atomic_load_explicit(
		        &st->ports_made, memory_order_relaxed);
		out->ports -= atomic_load_explicit(&st->ports_killed,
		                                   memory_order_relaxed);
		out->connections += (uint64_t)atomic_load_explicit(
		        &st->conns, memory_order_relaxed);
		out->tls_connections += (uint64_t)atomic_load_explicit(
		        &st->tls_conns, memory_order_relaxed);
		out->monitors += (uint64_t)atomic_load_explicit(
		        &st->mons, memory_order_relaxed);
		for (k = 0; k < ENG_HSF_N; k++)
			hf[k] += atomic_load_explicit(&st->hs_fail[k],
			                              memory_order_relaxed);
		out->busy_ns += eng_shard_busy_ns(node->shards[i]);
	}
	out->ports += out->ports_created;
	out->hs_failed_connect = hf[ENG_HSF_CONNECT];
	out->hs_failed_timeout = hf[ENG_HSF_TIMEOUT];
	out->hs_failed_protocol = hf[ENG_HSF_PROTOCOL];
	out->hs_failed_auth = hf[ENG_HSF_AUTH];
	out->hs_failed_tls = hf[ENG_HSF_TLS];
	out->hs_failed_limit = hf[ENG_HSF_LIMIT];
	out->hs_failed_duplicate = hf[ENG_HSF_DUPLICATE];
	out->hs_failed_io = hf[ENG_HSF_IO];
	out->shards = (uint32_t)node->nshards;
	eng_seam(node)->stats(node, out);
	return 0;
}

static void
req_stats(struct eng_shard *sh, const aemp_val *args, size_t n)
{
	aemp_stats st;
	aemp_val kv[62];

	aemp_stats_get(sh->node, &st);
#define KV(i, name, v)                                                         \
	do {                                                                   \
		kv[2 * (i)] = aemp_str(name);                                  \
		kv[2 * (i) + 1] = aemp_int((int64_t)(v));                      \
	} while (0)
	KV(0, "messages", st.msgs_delivered);
	KV(1, "xshard", st.msgs_xshard);
	KV(2, "packets_out", st.packets_out);
	KV(3, "packets_in", st.packets_in);
	KV(4, "bytes_out", st.bytes_out);
	KV(5, "bytes_in", st.bytes_in);
	KV(6, "ports", st.ports);
	KV(7, "ports_created", st.ports_created);
	KV(8, "connections", st.connections);
	KV(9, "handshakes", st.handshakes);
	KV(10, "shards", st.shards);
	KV(11, "remote_nodes", st.remote_nodes);
	KV(12, "peers_up", st.peers_up);
	KV(13, "peers_down", st.peers_down);
	KV(14, "resident_bytes", st.resident_bytes);
	/* added later: old fields keep their place (tools parse them) */
	KV(15, "queue_bytes", st.queue_bytes);
	KV(16, "tls_connections", st.tls_connections);
	KV(17, "monitors", st.monitors);
	KV(18, "handshakes_failed_connect", st.hs_failed_connect);
	KV(19, "handshakes_failed_timeout", st.hs_failed_timeout);
	KV(20, "handshakes_failed_protocol", st.hs_failed_protocol);
	KV(21, "handshakes_failed_auth", st.hs_failed_auth);
	KV(22, "handshakes_failed_tls", st.hs_failed_tls);
	KV(23, "handshakes_failed_limit", st.hs_failed_limit);
	KV(24, "handshakes_failed_duplicate", st.hs_failed_duplicate);
	KV(25, "handshakes_failed_io", st.hs_failed_io);
	KV(26, "db_families", st.db_families);
	KV(27, "db_keys", st.db_keys);
	KV(28, "db_local_families", st.db_local_families);
	KV(29, "db_local_keys", st.db_local_keys);
	KV(30, "busy_ns", st.busy_ns);
#undef KV
	{
		aemp_val map = aemp_map(kv, 31);

		eng_reply(sh, args, n, &map, 1);
	}
}

/* The node-protocol table (§4.3).  Returns 1 if the tag was handled. */
static int
node_request(struct eng_shard *sh, const aemp_val *tag, const aemp_val *args,
             size_t n, const char *src, size_t srclen)
{
	if (tag->len == 0 || tag_is(tag, "devnull"))
		return 1;
	if (tag_is(tag, "snd"))
		req_snd(sh, args, n);
	else if (tag_is(tag, "kil1"))
		req_kil1(sh, args, n);
	else if (tag_is(tag, "time"))
		req_time(sh, args, n);
	else if (tag_is(tag, "can"))
		req_can(sh, args, n);
	else if (tag_is(tag, "eval"))
		req_eval(sh, args, n, src, srclen);
	else if (tag_is(tag, "aemp::stats"))
		req_stats(sh, args, n);
	else if (tag->len > 2 && memcmp(tag->u.s, "g_", 2) == 0)
		eng_seam_global_request(sh, tag, args, n, src, srclen);
	else
		return eng_seam_node_request(sh, tag, args, n, src, srclen);
	return 1;
}

void
eng_nodeport(struct eng_shard *sh, const aemp_val *msg, size_t n,
             const char *src, size_t srclen)
{
	const aemp_val *tag;

	if (n == 0)
		return; /* [] or [""]: no-op (§3.1, §3.6) */
	tag = &msg[0];
	if (tag->type != AEMP_STR) {
		eng_log(sh->node, AEMP_LOG_ERROR,
		        "node port request without a string tag from %.*s",
		        (int)srclen, src);
		return;
	}
	if (node_request(sh, tag, msg + 1, n - 1, src, srclen))
		return;
	eng_call_func(sh, msg, n, src, srclen);
}
