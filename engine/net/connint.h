/*
 * engine/net/connint.h - what engine/net/conn.c (sockets, sending, closing) and
 * engine/net/connrx.c (handshake, receiving, dispatch) share.
 *
 * Threads: the connection's shard.
 */
#ifndef ENGINE_NET_CONNINT_H
#define ENGINE_NET_CONNINT_H

#include "engine/net/netint.h"

/* conn.c */
int eng_conn_flush(struct eng_conn *c);
void eng_conn_maybe_reap(struct eng_conn *c);
void eng_conn_try_handover(struct eng_conn *c);
void eng_conn_hs_uncount(struct eng_conn *c);
/* eng_conn_tls_out - move what the TLS session produced into the
 * ciphertext queue.  Returns 0 or -ENOMEM. */
int eng_conn_tls_out(struct eng_conn *c);
/* eng_conn_tls_sink - the sessions' cry_tls_sink (arg: the connection):
 * ciphertext straight into c->ctx.  Returns 0 or -ENOMEM. */
int eng_conn_tls_sink(void *arg, const uint8_t *p, size_t n);
/* eng_conn_fail_tls - fail c after its TLS session returned rc (< 0):
 * log the session's reason, fire monitors if c was up, and send the
 * alert the session queued before the socket closes. */
void eng_conn_fail_tls(struct eng_conn *c, ssize_t rc);

/* frag.c */
/* eng_frag_encode - encode [name, segs...] for c (frag_size > 0): into
 * tx, or a bulk entry.  Returns 0 or an encoder error / -ENOMEM. */
int eng_frag_encode(struct eng_conn *c, const char *name, size_t namelen,
                    const struct cod_seg *segs, size_t nsegs);
/* eng_frag_append - the same for a packet already encoded in CBOR (c's
 * framing is CBOR). */
int eng_frag_append(struct eng_conn *c, const uint8_t *pkt, size_t len);
/* eng_frag_emit - before a send: held packets, and at most one piece of
 * a large packet, into tx, unless a piece is still unsent.  Returns 0 or
 * an error (c must fail). */
int eng_frag_emit(struct eng_conn *c);
/* eng_frag_conn_free - drop c's bulk entries and reassembly. */
void eng_frag_conn_free(struct eng_conn *c);
/* eng_frag_spare_touch - a spare buffer of c (the last large packet's,
 * sent or reassembled) was kept or reused now: it stays while large
 * packets keep coming, and is given back ENG_FRAG_SPARE_KEEP_NS after the
 * last one (c's hs_timer, idle in the data phase, calls
 * eng_frag_spare_expire). */
void eng_frag_spare_touch(struct eng_conn *c);
void eng_frag_spare_expire(struct eng_conn *c);
#define ENG_FRAG_SPARE_KEEP_NS (2ull * 1000 * 1000 * 1000)
/* eng_frag_conn_rx - c's reassembly (made on first use), or NULL. */
struct eng_frag_rx *eng_frag_conn_rx(struct eng_conn *c);

/* connrx.c */
void eng_connrx_hs_start(struct eng_conn *c);
void eng_connrx_hs_timeout(struct ring_timer *t);
void eng_connrx_ka_timeout(struct ring_timer *t);
void eng_connrx_adopted(struct eng_conn *c);
void eng_connrx_unpause(struct eng_shard *sh);
void eng_connrx_release_stash(struct eng_conn *c);
void eng_connrx_seed_failed(struct eng_conn *c);

#endif /* ENGINE_NET_CONNINT_H */
