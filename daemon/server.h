/* The server: one libevent loop owning the listeners, the sessions, the
 * store, the routing engine and the engine's single timer. Everything runs
 * on this one thread, so routing needs no locks.
 *
 * Owner: main() creates it with server_new and releases it with
 * server_free; the server owns everything else. */
#ifndef SB_SERVER_H
#define SB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sb_config;
struct engine;
struct store;
struct session;
struct sink;
struct tls_server;
struct admin;

struct server;

/* Takes ownership of cfg. Returns NULL (logged) if a listener cannot bind. */
struct server *server_new(struct sb_config *cfg);
/* Runs until SIGTERM/SIGINT; returns the exit status. */
int server_run(struct server *srv);
void server_free(struct server *srv);

struct event_base *server_base(struct server *srv);
const struct sb_config *server_config(const struct server *srv);
struct engine *server_engine(struct server *srv);
struct store *server_store(struct server *srv);
struct sink *server_sink(struct server *srv);
struct presence *server_presence(struct server *srv);
struct recent *server_recent(struct server *srv);
/* True while this daemon leads and has loaded its state: only then are
 * clients served (others are answered NOT_LEADER). */
bool server_serving(const struct server *srv);
/* The leader's address for the gateway (true) or agent port, when another
 * daemon holds the lease; "" otherwise. */
const char *server_leader_address(const struct server *srv, bool gateway_port);
/* "leader", "standby", "recovering", "waiting for redis", "stopping". */
const char *server_role_name(const struct server *srv);
/* The admin HTTP API (admin/admin.h): recovery hands it stored roster overrides. */
struct admin *server_admin(struct server *srv);
/* The TLS context of the gateway (true) or agent port; NULL when plain TCP. */
struct tls_server *server_tls(struct server *srv, bool gateway_port);
/* Wall clock, Unix ms: the engine's `now`. */
int64_t server_now_ms(const struct server *srv);
uint64_t server_next_session_number(struct server *srv);
/* A new contact id, unique across restarts: "c-<start>-<n>". */
char *server_new_contact_id(struct server *srv);

/* Session registry, keyed by session id. */
void server_session_add(struct server *srv, struct session *s);
void server_session_remove(struct server *srv, struct session *s);
struct session *server_session(struct server *srv, const char *sid);

/* Who is connected as which gateway or agent. One session per agent id; a
 * gateway may hold several (its events go to the newest live one). */
struct session *server_agent_session(struct server *srv, const char *agent_id);
void server_agent_bind(struct server *srv, const char *agent_id, struct session *s);
void server_agent_unbind(struct server *srv, const char *agent_id, struct session *s);
struct session *server_gateway_session(struct server *srv, const char *gateway_id);
void server_gateway_bind(struct server *srv, const char *gateway_id, struct session *s);
void server_gateway_unbind(struct server *srv, const char *gateway_id, struct session *s);

/* Reload (reload.c): a paused engine for cfg (plus draining queues), then
 * swapping it and cfg in; the server frees the old ones. */
struct sb_queue_conf;
struct sb_config *server_config_mutable(struct server *srv);
struct engine *server_engine_build(struct server *srv, const struct sb_config *cfg,
				   const struct sb_queue_conf *const *draining, size_t n_draining,
				   const char **why);
void server_install(struct server *srv, struct sb_config *cfg, struct engine *e);

/* Call after every engine entry point: re-arms the engine's wakeup timer. */
void server_engine_touched(struct server *srv);

#endif
