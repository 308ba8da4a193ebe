/* The admin HTTP server: JSON API, /metrics, /healthz, /readyz
 * (docs/admin-api.md), on the daemon's own event loop.
 *
 * Owner: the server creates it with admin_new after its listeners and
 * releases it with admin_free after the store (so no store callback can
 * reach a freed request). The admin owns its evhttp, its listener and the
 * process's struct metrics. */
#ifndef SB_ADMIN_H
#define SB_ADMIN_H

#include <stdbool.h>

struct admin;
struct event_base;
struct router;
struct store;

/* What the admin API reads and changes. Owner: the server, which outlives
 * the admin. Routing state is the router's (its engine, its roster, the
 * configuration in force); changes go through it. */
struct admin_env {
	struct event_base *base;
	struct router *router;
	struct store *store;
	/* What this daemon is doing ("leader", "standby", ...) and where the
	 * leader is when it is not this one ("" when unknown). */
	const char *(*role_name)(void *ctx);
	const char *(*leader_address)(void *ctx, bool gateway_port);
	void *ctx;
};

/* Starts listening on admin.listen (nothing when it is empty) and installs
 * the metrics. NULL (logged) if the address cannot be bound. */
struct admin *admin_new(const struct admin_env *env);
void admin_free(struct admin *adm);

#endif
