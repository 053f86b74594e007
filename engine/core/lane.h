/*
 * engine/core/lane.h - lanes: how application threads hand work to shards.
 *
 * An application ("foreign") thread is any thread that is not a shard of
 * the node it calls.  The first time such a thread calls towards shard D
 * of node N, it gets a lane: a single-producer/single-consumer record
 * queue (ring/spsc.h) that the thread fills and D drains.  Registering a
 * lane takes D's fmu mutex once; posting to it takes no lock, so
 * aemp_snd from an application thread costs a copy into the lane, a
 * release store and, only when D sleeps, an eventfd write.
 *
 * Invariants:
 *  - Order: a thread's calls towards one shard run in the order it made
 *    them, and calls about one port all go to that port's home shard
 *    (eng_home), so a thread's sends, kills, calls and monitors of a port
 *    keep their order.
 *  - Bound: a lane holds at most node->lane_cap bytes of records
 *    (max_thread_queue), plus at most lane_cap bytes of large messages
 *    and posted calls held out of line (but always at least one).  A post
 *    that does not fit returns -EAGAIN and queues nothing.
 *  - Back pressure: a send is carried out on the home shard exactly as a
 *    send from that shard would be (must = 0).  When the destination has
 *    no room (connection above max_queue, record queue full) the lane
 *    stalls with the message at its head and is retried every turn; the
 *    thread gets -EAGAIN once its lane is full.  A send to a remote node
 *    above max_queue fails with -EAGAIN at once, before it is queued.  So
 *    what application threads queue never drives a connection past
 *    max_queue, and never into the "send queue overflow" hard limit.
 *  - Fairness: a shard drains each lane at most ENG_LANE_MAX records per
 *    turn, so one thread's backlog delays another thread's calls by one
 *    turn at most (no starvation of control calls).
 *  - Lifetime: a lane is referenced by its thread (until the thread
 *    exits, or finds the node freed) and by its shard (until the thread
 *    is gone and the lane empty, or the node is freed); the last one
 *    frees it.  The ring itself is freed by the shard side.
 *  - Stop: sync calls are pushed under fmu after checking `closed`, so
 *    the shard's last sweep (eng_lanes_close) answers every one of them.
 *    Asynchronous posts racing with the stop may stay unread; they are
 *    discarded when the node is freed (eng_lanes_free).
 *
 * Threads: eng_lane_* on application threads; eng_lanes_* on the shard's
 * thread (eng_lanes_free on the thread freeing the node); eng_room_* on
 * any thread.
 */
#ifndef ENGINE_CORE_LANE_H
#define ENGINE_CORE_LANE_H

#include "engine/core/eng.h"

#define ENG_LANE_MAX 1024 /* records per lane per turn */

/* ---- application threads ------------------------------------------- */

/*
 * eng_lane_snd - send [segs...] to pid (parsed from a borrowed ID) from
 * the calling application thread, through its lane to shard dst (the
 * home shard of pid).  The message is copied before return.  Returns 0,
 * -EAGAIN (lane full, or pid's node above max_queue; nothing queued),
 * AEMP_ESTATE (node stopping), AEMP_ENONODE (no network), AEMP_EDEPTH,
 * AEMP_ETOOBIG, -ENOMEM.
 */
int eng_lane_snd(struct aemp_node *node, int dst, const struct eng_pid *pid,
                 const struct cod_seg *segs, size_t nsegs);

/* eng_lane_call - eng_post's path for application threads (takes c if
 * async; for sync calls waits and returns c->rc). */
int eng_lane_call(struct aemp_node *node, int dst, struct eng_call *c);

/* ---- the shard ------------------------------------------------------ */

/* eng_lanes_drain - run what the lanes hold (bounded); returns the
 * number of records run. */
unsigned eng_lanes_drain(struct eng_shard *sh);

/* eng_lanes_pending - 1 if a lane has records that can run now. */
int eng_lanes_pending(struct eng_shard *sh);

/* eng_lanes_close - after `closed` is set: answer every call left in the
 * lanes with AEMP_ESTATE and drop the rest. */
void eng_lanes_close(struct eng_shard *sh);

/* eng_lanes_free - let go of every lane (node free, no shard running). */
void eng_lanes_free(struct eng_shard *sh);

/* ---- waiting for room ----------------------------------------------- */

/* eng_room_signal - room may have appeared (a lane drained, a node's
 * queue fell below max_queue, the node stops): wake the waiting threads.
 * Costs a fence and a load when nobody waits.  Any thread, also a signal
 * handler. */
void eng_room_signal(struct aemp_node *node);

/*
 * Waiting (application threads only):
 *     seq = eng_room_enter(node);
 *     while ((rc = attempt()) == -EAGAIN &&
 *            eng_room_wait(node, seq, deadline) == 0)
 *             seq = eng_room_seq(node);
 *     eng_room_leave(node);
 * eng_room_enter counts the thread as waiting before the attempt, so a
 * signal after the attempt failed always moves the sequence past seq.
 * eng_room_wait blocks until the sequence is past seq or deadline_ns
 * (CLOCK_MONOTONIC; 0: none) passes; returns 0 or -ETIMEDOUT.
 */
unsigned eng_room_enter(struct aemp_node *node);
unsigned eng_room_seq(struct aemp_node *node);
int eng_room_wait(struct aemp_node *node, unsigned seq, uint64_t deadline_ns);
void eng_room_leave(struct aemp_node *node);

#endif /* ENGINE_CORE_LANE_H */
