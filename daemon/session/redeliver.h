/* A gateway's re-login: what it missed, sent again at the pace it reads.
 *
 * Two parts, interleaved as data is at hand:
 * - the outcomes of its contacts that finished after the one the gateway
 *   names in Hello.last_outcome_id, read from Redis a page at a time, in
 *   the order Redis recorded them;
 * - the state of each contact open at login (a snapshot of their ids),
 *   each written as the engine has it at the moment it is written, so it
 *   is never older than a live frame sent before it.
 * Frames are queued only while the session's output is below a budget,
 * and the rest waits until the client has taken them (session_on_drained):
 * a backlog of any size reaches a client that reads, and the output cap
 * (limits.output_buffer_max_bytes) is kept for clients that do not.
 *
 * Until the outcome replay has caught up (a page read came back empty),
 * live outcomes for this session are left to it (redeliver_holds_outcomes):
 * they are in Redis when they are told, so a later page has them, and the
 * gateway sees every outcome in recorded order.
 *
 * Owner: the gateway session's role state (gateway.c), which calls
 * redeliver_free when the session closes; a read still on its way then
 * frees it when it returns. */
#ifndef SB_SESSION_REDELIVER_H
#define SB_SESSION_REDELIVER_H

#include <stdbool.h>

struct session;
struct redeliver;

/* For s, logged in as a gateway; after_event_id from its Hello (may be ""). */
struct redeliver *redeliver_new(struct session *s, const char *after_event_id);
/* After Welcome: snapshots the open contacts and starts sending. */
void redeliver_start(struct redeliver *rd);
/* Whether live outcome frames for this session are to be left to the
 * replay (true until it has caught up). */
bool redeliver_holds_outcomes(const struct redeliver *rd);
void redeliver_free(struct redeliver *rd);

#endif
