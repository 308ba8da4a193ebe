/* Who is connected: every session by id, the agent each agent id is logged
 * in from, the gateway sessions of each gateway id, and the connection
 * counts the limits.* keys cap (logged in: per role and per peer address;
 * not yet: in all and per peer address).
 *
 * Owner: the server (registry_new / registry_free). Sessions add themselves
 * at creation and remove themselves when freed; the registry owns no
 * session. */
#ifndef SB_SESSION_REGISTRY_H
#define SB_SESSION_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct registry;
struct session;
struct sb_config;
struct engine;

struct registry *registry_new(void);
void registry_free(struct registry *reg);

/* Counting. A session is added at accept (now_ms) and counts against
 * limits.max_unauthenticated(_per_address) until it leaves the handshake;
 * only a successful Hello then counts it against its role's and its
 * address's caps, until it is removed (freed). */
void registry_add(struct registry *reg, struct session *s, int64_t now_ms);
/* s leaves HELLO_WAIT: logged in, or on its way out. */
void registry_left_handshake(struct registry *reg, struct session *s, bool logged_in);
void registry_remove(struct registry *reg, struct session *s);
struct session *registry_session(const struct registry *reg, const char *sid);
size_t registry_count(const struct registry *reg);
/* Calls fn for every session (fn may close it, not free it). */
void registry_each(const struct registry *reg, void (*fn)(void *arg, struct session *s),
		   void *arg);
/* Any one session (to free them one by one at exit), or NULL. */
struct session *registry_any(const struct registry *reg);

/* Whether s, whose Hello is being accepted, would take its role or its
 * address past a cap of cfg: NULL, or why (in buf, naming the limit). */
const char *registry_login_over_limit(const struct registry *reg, const struct session *s,
				      const struct sb_config *cfg, char *buf, size_t len);
/* Whether the just-added s takes the unauthenticated connections past
 * their budget (its address's, or all): NULL, or the one to close to make
 * room, with why in buf (naming the limit) -- the oldest of them, or s
 * itself when that one has not had a fair chance to log in yet. Closing
 * the session returned takes it out of the count; call again until NULL
 * or s. */
struct session *registry_unauthenticated_victim(const struct registry *reg, struct session *s,
						const struct sb_config *cfg, int64_t now_ms,
						char *buf, size_t len);

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
