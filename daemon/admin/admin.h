/* The admin HTTP server: JSON API, /metrics, /healthz, /readyz
 * (docs/admin-api.md), on the daemon's own event loop.
 *
 * Owner: the server creates it with admin_new after its listeners and
 * releases it with admin_free after the store (so no store callback can
 * reach a freed request). The admin owns its evhttp, its listener, the
 * process's struct metrics and the roster definitions it serves. */
#ifndef SB_ADMIN_H
#define SB_ADMIN_H

#include <stdbool.h>

struct server;
struct admin;

/* Starts listening on admin.listen (nothing when it is empty) and installs
 * the metrics. NULL (logged) if the address cannot be bound. */
struct admin *admin_new(struct server *srv);
void admin_free(struct admin *adm);

/* Applies a roster override found in Redis at start-up (the agent hash's
 * `roster` / `roster_removed` fields, docs/redis.md) to the engine and to
 * what GET /v1/roster shows. Returns 0 or an sb_err with *why. */
int admin_roster_restore(struct admin *adm, const char *agent_id, const char *roster_json,
                         bool removed, const char **why);

/* Reload: applies the API's roster changes (they win over the file) to the
 * new engine e; then, once it is in force, admin_roster_reset shows the new
 * configuration's roster with those changes over it. */
struct engine;
struct sb_config;
int admin_roster_reapply(struct admin *adm, struct engine *e, const char **why);
void admin_roster_reset(struct admin *adm, const struct sb_config *cfg);

#endif
