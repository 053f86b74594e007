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

/* connrx.c */
void eng_connrx_hs_start(struct eng_conn *c);
void eng_connrx_hs_timeout(struct ring_timer *t);
void eng_connrx_ka_timeout(struct ring_timer *t);
void eng_connrx_adopted(struct eng_conn *c);
void eng_connrx_unpause(struct eng_shard *sh);
void eng_connrx_release_stash(struct eng_conn *c);
void eng_connrx_seed_failed(struct eng_conn *c);

#endif /* ENGINE_NET_CONNINT_H */
