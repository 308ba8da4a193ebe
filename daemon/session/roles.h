/* The per-role halves of a session: what happens at Hello, on each request
 * of the role, and at close. session.c calls these; gateway.c and agent.c
 * implement them. */
#ifndef SB_SESSION_ROLES_H
#define SB_SESSION_ROLES_H

#include <stdbool.h>
#include <stdint.h>

#include "wire/envelope.h"

struct session;

/* Authenticates a Hello. Returns 0, or an sb_err with *why for the Error. */
int gateway_hello(struct session *s, const Switchboard__V1__Hello *hello, const char **why);
int agent_hello(struct session *s, const Switchboard__V1__Hello *hello, const char **why);

/* After Welcome was sent: an agent gets its state, live offer and
 * assignments; a gateway the state of each of its open contacts. */
void agent_welcomed(struct session *s);
void gateway_welcomed(struct session *s);

/* Handles one request of the role. env is the session's to keep or free:
 * handlers may steal parts of it. */
void gateway_request(struct session *s, Envelope *env);
void agent_request(struct session *s, Envelope *env);

/* Whether a live outcome (completed, cancelled, expired) for this gateway
 * session is left to its re-login's replay, which has not caught up yet
 * and sends it in its place in the recorded order (session/redeliver.h). */
bool gateway_holds_outcomes(const struct session *s);

/* The session is closing. */
void gateway_closed(struct session *s);
void agent_closed(struct session *s);

#endif
