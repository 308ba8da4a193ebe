/* Who is connected: every session by id, the agent each agent id is logged
 * in from, the gateway sessions of each gateway id, and the connection
 * counts the limits.* keys cap (per role, per peer address).
 *
 * Owner: the server (registry_new / registry_free). Sessions add themselves
 * at creation and remove themselves when freed; the registry owns no
 * session. */
#ifndef SB_SESSION_REGISTRY_H
#define SB_SESSION_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

struct registry;
struct session;
struct sb_config;
struct engine;

struct registry *registry_new(void);
void registry_free(struct registry *reg);

void registry_add(struct registry *reg, struct session *s);
void registry_remove(struct registry *reg, struct session *s);
struct session *registry_session(const struct registry *reg, const char *sid);
size_t registry_count(const struct registry *reg);
/* Calls fn for every session (fn may close it, not free it). */
void registry_each(const struct registry *reg, void (*fn)(void *arg, struct session *s),
		   void *arg);
/* Any one session (to free them one by one at exit), or NULL. */
struct session *registry_any(const struct registry *reg);

/* Whether a just-added session takes its role or its address past a limit
 * of cfg: NULL, or why (in buf, naming the limit). */
const char *registry_over_limit(const struct registry *reg, const struct session *s,
				const struct sb_config *cfg, char *buf, size_t len);

/* One session per agent id. */
struct session *registry_agent(const struct registry *reg, const char *agent_id);
void registry_bind_agent(struct registry *reg, const char *agent_id, struct session *s);
void registry_unbind_agent(struct registry *reg, const char *agent_id, struct session *s);
/* A gateway may hold several sessions; its events go to the newest. */
struct session *registry_gateway(const struct registry *reg, const char *gateway_id);
void registry_bind_gateway(struct registry *reg, const char *gateway_id, struct session *s);
void registry_unbind_gateway(struct registry *reg, const char *gateway_id, struct session *s);

/* A reload: sessions of agents the new roster (engine e) no longer has, and
 * of gateways cfg no longer has, are told why and closed. */
void registry_turn_away_removed(struct registry *reg, const struct sb_config *cfg,
				const struct engine *e);

#endif
