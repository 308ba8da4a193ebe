/* The server: one libevent loop owning the listeners, signals and the
 * daemon's life cycle, and the modules that do the work — the store, the
 * router (which owns the routing engine), leadership, recovery, presence,
 * the sessions' registry and the admin API — wired together with hooks.
 * Everything runs on this one thread, so routing needs no locks. Nothing
 * calls back into the server but through those hooks.
 *
 * States: WAITING (no Redis yet, leading nothing) -> STANDBY (another daemon
 * leads) or RECOVERING (a term started: loading the state) -> SERVING ->
 * STOPPING; a deposed leader goes back to STANDBY. One function changes
 * state, and logs it.
 *
 * Owner: main() creates it with server_new and releases it with
 * server_free; the server owns everything else. */
#ifndef SB_SERVER_H
#define SB_SERVER_H

struct sb_config;
struct server;
struct session_env;

/* Takes ownership of cfg. Returns NULL (logged) if a listener cannot bind. */
struct server *server_new(struct sb_config *cfg);
/* Runs until SIGTERM/SIGINT; returns the exit status. */
int server_run(struct server *srv);
void server_free(struct server *srv);

/* What the server hands its sessions (loop, router, registry). For the
 * session fuzzer, which drives sessions through a whole server over
 * socketpairs rather than a listener. */
struct session_env *server_session_env(struct server *srv);

#endif
