/* Agent presence across dropped connections and restarts.
 *
 * An agent whose session ends without logging out (a network blip, a
 * restarting desktop, a daemon restart or fail-over) is detached in the
 * engine: its live offer is withdrawn at once (session-closed) and it gets
 * no new offers, but it keeps its state and its contacts. If its client
 * logs in again within sessions.agent_grace_ms it resumes; otherwise it is
 * logged out. Owner: the server. */
#ifndef SB_HA_PRESENCE_H
#define SB_HA_PRESENCE_H

#include <stdint.h>

struct event_base;
struct router;
struct presence;

struct presence *presence_new(struct event_base *base, struct router *r, int64_t grace_ms);
/* Cancels every grace period without logging anyone out (standing down). */
void presence_clear(struct presence *p);
void presence_free(struct presence *p);
/* The agent's session is gone: detach it and start its grace period. */
void presence_lost(struct presence *p, const char *agent_id);
/* A reload changed sessions.agent_grace_ms: grace periods from now on. */
void presence_set_grace(struct presence *p, int64_t grace_ms);
/* The agent logged in again: its grace period ends. */
void presence_back(struct presence *p, const char *agent_id);

#endif
