/* The engine's sink in the daemon: each engine output becomes one atomic
 * Redis write, and only when Redis has acknowledged it are the clients told
 * (the agent's Offer, the gateway's ContactAssigned, the requester's reply).
 * Writes go down one connection, so acknowledgements, and therefore client
 * notifications, arrive in the order the engine made its decisions.
 *
 * The request being handled is registered around each engine call, so the
 * output it causes carries the requester's reply (AssignmentConfirmed for an
 * AcceptOffer, Ack for a CompleteContact, ...).
 *
 * Owner: the server (sink_new / sink_free). */
#ifndef SB_SINK_H
#define SB_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

struct server;
struct session;
struct sink;

struct sink *sink_new(struct server *srv);
void sink_free(struct sink *sk);
/* The callbacks to hand to engine_new, with sk as their context. */
const struct engine_sink *sink_ops(void);

/* Brackets an engine call made on behalf of (s, seq). sink_request_end
 * returns true if an engine output took over the reply; otherwise the
 * handler replies itself. */
/* Recovery: c was offered (or held by an agent gone from the roster) when
 * the previous leader stopped; it is waiting again. Records the requeue. */
void sink_recovered_requeue(struct sink *sk, const struct engine_contact_view *c,
			    const char *agent_id, const char *offer_id, int64_t now);

void sink_request_begin(struct sink *sk, struct session *s, uint64_t seq);
bool sink_request_end(struct sink *sk);

#endif
