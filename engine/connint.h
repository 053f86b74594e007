/*
 * engine/connint.h - what engine/conn.c (sockets, sending, closing) and
 * engine/connrx.c (handshake, receiving, dispatch) share.
 *
 * Threads: the connection's shard.
 */
#ifndef ENGINE_CONNINT_H
#define ENGINE_CONNINT_H

#include "engine/netint.h"

/* conn.c */
int eng_conn_flush(struct eng_conn *c);
void eng_conn_maybe_reap(struct eng_conn *c);
void eng_conn_try_handover(struct eng_conn *c);
void eng_conn_hs_uncount(struct eng_conn *c);

/* connrx.c */
void eng_connrx_hs_start(struct eng_conn *c);
void eng_connrx_hs_timeout(struct ring_timer *t);
void eng_connrx_ka_timeout(struct ring_timer *t);
void eng_connrx_adopted(struct eng_conn *c);
void eng_connrx_unpause(struct eng_shard *sh);
void eng_connrx_release_stash(struct eng_conn *c);
void eng_connrx_seed_failed(struct eng_conn *c);

#endif /* ENGINE_CONNINT_H */
