/* Messages the daemon sends on its own or in answer, built in one place so
 * a request's direct answer and the answer sent after a store write are the
 * same bytes. Each sends one frame to s (no-op if s is NULL or closed). */
#ifndef SB_SESSION_OUTBOUND_H
#define SB_SESSION_OUTBOUND_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

struct session;

void outbound_ack(struct session *s, uint64_t ref);
void outbound_state(struct session *s, uint64_t ref, enum engine_agent_state state,
		    const char *reason);
/* Frames about a contact carry its transition's event_id ("<contact>/<n>",
 * NULL: none) and, when repeated on a new connection, redelivered. */
/* c may be NULL when the contact is already gone: only the id is sent. */
void outbound_assignment(struct session *s, uint64_t ref, const char *contact_id,
			 const struct engine_contact_view *c, const char *event_id,
			 bool redelivered);
void outbound_offer(struct session *s, const struct engine_contact_view *c, const char *event_id,
		    bool redelivered);
void outbound_rescind(struct session *s, const char *offer_id, const char *reason);
/* A supervisor took contact_id from the agent: reason "requeued" or "closed". */
void outbound_revoked(struct session *s, const char *contact_id, const char *reason,
		      const char *event_id);
/* estimated_wait_ms: engine_contact_estimate's answer; ENGINE_WAIT_UNKNOWN
 * goes out as estimated_wait_unknown. */
void outbound_accepted(struct session *s, uint64_t ref, const char *contact_id, const char *queue,
		       uint32_t position, int64_t deadline_ms, int64_t estimated_wait_ms,
		       bool duplicate, const char *event_id, bool redelivered);
void outbound_cancelled(struct session *s, uint64_t ref, const char *contact_id,
			const char *event_id);
/* The gateway's view of an open contact now, redelivered: ContactAccepted
 * while it waits (or is offered), with its place and estimate now
 * (engine_contact_wait), ContactAssigned once an agent has it. */
void outbound_contact_state(struct session *s, const struct engine_contact_view *c,
			    uint32_t position, int64_t estimated_wait_ms);
/* A finished contact's outcome, redelivered: ContactCompleted,
 * ContactCancelled or ContactEvent EXPIRED, under its last event id. */
struct record_outcome;
void outbound_outcome(struct session *s, const struct record_outcome *o);

#endif
