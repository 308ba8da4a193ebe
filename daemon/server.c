/* The server: see server.h. */
#include "server.h"

#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "config/config.h"
#include "ha/leader.h"
#include "ha/presence.h"
#include "ha/recovery.h"
#include "metrics.h"
#include "record/record.h"
#include "reload.h"
#include "router/router.h"
#include "sdnotify.h"
#include "security/tls.h"
#include "session/deliver.h"
#include "session/listener.h"
#include "session/registry.h"
#include "session/session.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

enum server_state {
	SERVER_WAITING,    /* leading nothing, and no Redis to ask yet */
	SERVER_STANDBY,    /* another daemon leads (or none known) */
	SERVER_RECOVERING, /* a term started: loading the state from Redis */
	SERVER_SERVING,    /* leading, state loaded: clients are served */
	SERVER_STOPPING,
};

struct server {
	enum server_state state;
	struct sb_config *cfg; /* the configuration in force (a reload swaps it) */
	struct event_base *base;
	struct store *store;
	struct router *router;
	struct leader *leader;
	struct presence *presence;
	struct registry *registry;
	struct recovery *recovery; /* the current term's, until the next */
	bool recovery_running;
	char *node_id;
	struct session_env senv;
	struct listener *gateway_listener;
	struct listener *agent_listener;
	struct admin *admin; /* the admin HTTP API and the metrics */
	struct event *sigterm_ev, *sigint_ev, *sighup_ev;
	struct event *drain_timer;
	struct sdnotify_loop *notify; /* NULL when not run by systemd */
	int64_t drain_deadline;
};

static const char *server_state_name(enum server_state st)
{
	switch (st) {
	case SERVER_WAITING: return "waiting for redis";
	case SERVER_STANDBY: return "standby";
	case SERVER_RECOVERING: return "recovering";
	case SERVER_SERVING: return "leader";
	case SERVER_STOPPING: return "stopping";
	}
	return "?";
}

/* The status line `systemctl status` shows; refreshed on each change and
 * each tick of the notification timer. */
static void server_notify_status(void *arg)
{
	struct server *srv = arg;
	size_t waiting = engine_waiting_count(router_engine(srv->router));

	if (srv->state == SERVER_STOPPING)
		sdnotify_status("draining, %zu store writes pending", store_pending(srv->store));
	else if (store_state(srv->store) != STORE_READY)
		sdnotify_status("store unavailable (%s), %zu waiting",
				store_state_name(store_state(srv->store)), waiting);
	else if (srv->state != SERVER_SERVING)
		sdnotify_status("%s", server_state_name(srv->state));
	else
		sdnotify_status("routing, %zu waiting", waiting);
}

/* The role /metrics shows for a state. */
static enum metrics_role server_metrics_role(enum server_state st)
{
	switch (st) {
	case SERVER_WAITING: return METRICS_ROLE_WAITING;
	case SERVER_STANDBY: return METRICS_ROLE_STANDBY;
	case SERVER_RECOVERING: return METRICS_ROLE_RECOVERING;
	case SERVER_SERVING: return METRICS_ROLE_LEADER;
	case SERVER_STOPPING: return METRICS_ROLE_STOPPING;
	}
	return METRICS_ROLE_WAITING;
}

/* The one place the server changes state; clients are served only in
 * SERVING. */
static void server_set_state(struct server *srv, enum server_state st)
{
	if (srv->state == st)
		return;
	log_debug("server: %s -> %s", server_state_name(srv->state), server_state_name(st));
	srv->state = st;
	metrics_role(server_metrics_role(st));
	router_set_serving(srv->router, st == SERVER_SERVING);
	server_notify_status(srv);
}

/* ---- what sessions and the admin API ask of the server ---------------------- */

static const char *server_role_name(void *ctx)
{
	struct server *srv = ctx;

	if (srv->state == SERVER_STANDBY && store_state(srv->store) != STORE_READY)
		return "waiting for redis";
	if (srv->state == SERVER_SERVING && !leader_current(srv->leader))
		return "renewing its lease";
	return server_state_name(srv->state);
}

/* The router's news, to the sessions it concerns. */
static void server_tell(void *ctx, const struct decision *d)
{
	struct server *srv = ctx;
	deliver_tell(&srv->senv, d);
}

static bool server_current(void *ctx)
{
	struct server *srv = ctx;
	return srv->leader != NULL && leader_current(srv->leader);
}

static const char *server_leader_address(void *ctx, bool gateway_port)
{
	struct server *srv = ctx;
	return srv->leader ? leader_holder_address(srv->leader, gateway_port) : "";
}

/* ---- TLS ------------------------------------------------------------------------- */

/* Loads the TLS context of each port that has a certificate configured.
 * Returns 0, or -1 after logging which file failed and why. */
static int server_tls_start(struct server *srv)
{
	const struct sb_config *cfg = srv->cfg;
	const struct sb_tls_conf *confs[2] = { &cfg->gateway_tls, &cfg->agent_tls };
	const char *names[2] = { "tls.gateway", "tls.agent" };
	char err[512];

	for (int role = SESSION_GATEWAY; role <= SESSION_AGENT; role++) {
		if (confs[role]->cert_file == NULL)
			continue;
		srv->senv.tls[role] = tls_server_new(confs[role], cfg->tls_ciphers, cfg->path, err,
						     sizeof err);
		if (srv->senv.tls[role] == NULL) {
			log_error("%s: %s", names[role], err);
			return -1;
		}
	}
	return 0;
}

/* How a client port is protected, for the start line. */
static const char *server_port_security(const struct sb_tls_conf *t)
{
	if (t->cert_file == NULL)
		return "plain TCP";
	if (t->client_ca_file == NULL)
		return "TLS";
	return t->require_client_cert ? "TLS, client certificate required"
				      : "TLS, client certificates verified";
}

/* SIGHUP: re-reads certificates and keys from disk (renewals). A port whose
 * files fail to load keeps its old context; live connections keep theirs.
 * Returns whether every port's files loaded. */
static bool server_tls_reload(struct server *srv)
{
	const struct sb_config *cfg = srv->cfg;
	const struct sb_tls_conf *confs[2] = { &cfg->gateway_tls, &cfg->agent_tls };
	const char *names[2] = { "tls.gateway", "tls.agent" };
	char err[512];
	bool ok = true, any = false;

	for (int role = SESSION_GATEWAY; role <= SESSION_AGENT; role++) {
		if (srv->senv.tls[role] == NULL)
			continue;
		any = true;
		if (tls_server_reload(srv->senv.tls[role], confs[role], cfg->tls_ciphers, cfg->path,
				      err, sizeof err) != 0) {
			log_error("%s: reload failed, keeping the old certificate: %s", names[role],
				  err);
			ok = false;
		}
	}
	if (any && ok)
		log_info("tls: certificates reloaded");
	return ok;
}

/* ---- connections ------------------------------------------------------------------ */

static void server_on_gateway(void *arg, int fd, const char *peer)
{
	struct server *srv = arg;
	session_new(&srv->senv, fd, SESSION_GATEWAY, peer);
}

static void server_on_agent(void *arg, int fd, const char *peer)
{
	struct server *srv = arg;
	session_new(&srv->senv, fd, SESSION_AGENT, peer);
}

static void server_redirect_one(void *arg, struct session *s)
{
	session_redirect(s, 0);
}

/* ---- terms: leadership and recovery ---------------------------------------------- */

static void server_recover(struct server *srv);

static void server_on_recovered(void *ctx, int err, const struct recovery_stats *st)
{
	struct server *srv = ctx;
	const char *why = NULL;

	srv->recovery_running = false;
	if (err != 0) {
		/* Started again on a clean engine once the store is back. */
		presence_clear(srv->presence);
		router_reset(srv->router, &why);
		if (store_state(srv->store) == STORE_READY)
			server_recover(srv);
		return;
	}
	log_info("recovery: %zu waiting (%zu offers requeued), %zu assigned, %zu agents awaiting "
		 "their clients, %zu unroutable, %zu missing, in %lld ms",
		 st->waiting, st->requeued, st->assigned, st->agents, st->unroutable, st->missing,
		 st->elapsed_ms);
	leader_recovered(srv->leader);
	server_set_state(srv, SERVER_SERVING);
}

/* Loads the term's state from Redis (again, after a failed attempt). */
static void server_recover(struct server *srv)
{
	if (srv->recovery_running || srv->state != SERVER_RECOVERING)
		return;
	recovery_free(srv->recovery);
	srv->recovery_running = true;
	srv->recovery =
		recovery_start(srv->store, srv->router, srv->presence, server_on_recovered, srv);
}

/* Forgets the routing state: a term ends, or starts from Redis. */
static void server_forget(struct server *srv)
{
	const char *why = NULL;

	presence_clear(srv->presence);
	recovery_free(srv->recovery);
	srv->recovery = NULL;
	srv->recovery_running = false;
	if (router_reset(srv->router, &why) != 0)
		log_error("routing configuration refused: %s", why);
}

static void server_on_term(void *ctx, const char *epoch)
{
	struct server *srv = ctx;

	server_forget(srv);
	server_set_state(srv, SERVER_RECOVERING);
	server_recover(srv);
}

/* No longer the leader: every client is sent to the new one, and the
 * routing state goes (the next term reloads it from Redis). */
static void server_on_deposed(void *ctx)
{
	struct server *srv = ctx;

	server_set_state(srv, SERVER_STANDBY);
	registry_each(srv->registry, server_redirect_one, NULL);
	server_forget(srv);
}

/* ---- the store's hooks ---------------------------------------------------------------- */

static void server_on_store_state(void *ctx, enum store_state st)
{
	struct server *srv = ctx;

	router_store_state(srv->router, st);
	if (srv->state == SERVER_WAITING && st == STORE_READY)
		server_set_state(srv, SERVER_STANDBY);
	server_notify_status(srv);
	/* Listeners were bound in server_new: ready means both (a standby is
	 * ready too). Repeats after a store outage are harmless to systemd. */
	if (st == STORE_READY)
		sdnotify_ready();
	if (st == STORE_READY && srv->leader != NULL && srv->state != SERVER_STOPPING) {
		leader_poke(srv->leader);
		server_recover(srv);
	}
}

static void server_on_fenced(void *ctx)
{
	struct server *srv = ctx;
	leader_fenced(srv->leader);
}

static void server_on_lost(void *ctx, const char *why)
{
	struct server *srv = ctx;

	/* Recovering: the state being loaded is what was lost; load again. */
	if (srv->state == SERVER_RECOVERING) {
		server_forget(srv);
		return;
	}
	router_store_lost(srv->router, why);
}

static void server_on_found(void *ctx, const struct store_submit_result *r)
{
	struct server *srv = ctx;
	router_store_found(srv->router, r);
}

/* ---- stopping ---------------------------------------------------------------------------- */

static void server_stop_step(struct server *srv);

static void server_on_drain_timer(evutil_socket_t fd, short what, void *arg)
{
	server_stop_step(arg);
}

/* Exits once in-flight writes have landed, or the drain time is over. */
static void server_stop_step(struct server *srv)
{
	if (store_pending(srv->store) == 0 || router_now_ms() >= srv->drain_deadline) {
		if (store_pending(srv->store) != 0)
			log_warnx("shutdown: %zu store writes still unacknowledged",
				  store_pending(srv->store));
		event_base_loopexit(srv->base, NULL);
		return;
	}
	struct timeval tv = { 0, 20000 };
	evtimer_add(srv->drain_timer, &tv);
}

static void server_shutdown_one(void *arg, struct session *s)
{
	session_shutdown(s, "daemon shutting down; reconnect (to the standby, if any)");
}

/* SIGTERM/SIGINT: stop taking connections, tell clients, let the store
 * finish, exit. */
static void server_on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	if (srv->state == SERVER_STOPPING)
		return;
	sdnotify_stopping();
	server_set_state(srv, SERVER_STOPPING);
	log_info("shutting down (signal %d)", (int)sig);
	listener_free(srv->gateway_listener);
	listener_free(srv->agent_listener);
	srv->gateway_listener = srv->agent_listener = NULL;
	registry_each(srv->registry, server_shutdown_one, NULL);
	/* After the writes already queued, in Redis's order: a standby takes
	 * over as soon as they have landed, not a lease later. */
	leader_release(srv->leader);
	srv->drain_deadline = router_now_ms() + srv->cfg->drain_ms;
	server_stop_step(srv);
}

/* SIGHUP: the configuration file, then the certificates it names. */
static void server_on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct sb_config *fresh = NULL;

	if (srv->state == SERVER_STOPPING)
		return;
	sdnotify_reloading();
	int rc = reload_config(srv->cfg, srv->router, &fresh);
	if (rc == 0) {
		config_free(srv->cfg);
		srv->cfg = fresh;
		registry_turn_away_removed(srv->registry, fresh, router_engine(srv->router));
		presence_set_grace(srv->presence, fresh->agent_grace_ms);
		log_set_level((enum log_level)log_level_parse(fresh->log_level));
	}
	/* A failure is the file refused, or a certificate that did not load. */
	bool tls_ok = server_tls_reload(srv);
	metrics_reload(rc == 0 && tls_ok);
	sdnotify_ready(); /* the reload is over, whatever its outcome */
}

/* ---- set-up ------------------------------------------------------------------------------ */

/* Names this daemon in the lease (ha.node_id, else <hostname>-<gateway
 * port>: two daemons on one host differ by port) and says where clients
 * should find it when it leads. */
static void server_leader_start(struct server *srv)
{
	const struct sb_config *cfg = srv->cfg;
	const char *gw = listener_address(srv->gateway_listener);
	const char *ag = listener_address(srv->agent_listener);

	if (cfg->ha_node_id[0] != '\0') {
		srv->node_id = xstrdup(cfg->ha_node_id);
	} else {
		char host[64] = "localhost";
		const char *port = strrchr(gw, ':');
		gethostname(host, sizeof host - 1);
		host[sizeof host - 1] = '\0';
		srv->node_id = xasprintf("%s-%s", host, port ? port + 1 : "0");
		for (char *c = srv->node_id; *c; c++)
			if (*c == ' ' || *c == '/')
				*c = '_';
	}
	struct leader_conf lc = {
		.node_id = srv->node_id,
		.lease_ms = cfg->ha_lease_ms,
		.gateway_address = cfg->ha_advertise_gateway[0] ? cfg->ha_advertise_gateway : gw,
		.agent_address = cfg->ha_advertise_agent[0] ? cfg->ha_advertise_agent : ag,
	};
	struct leader_hooks hooks = {
		.term_started = server_on_term,
		.deposed = server_on_deposed,
		.ctx = srv,
	};
	srv->leader = leader_new(srv->base, srv->store, &lc, &hooks);
}

static struct store *server_store_new(struct server *srv)
{
	const struct sb_config *cfg = srv->cfg;
	struct store_conf sc = {
		.address = cfg->redis_address,
		.site = cfg->site,
		.connect_timeout_ms = cfg->redis_connect_timeout_ms,
		.command_timeout_ms = cfg->redis_command_timeout_ms,
		.reconnect_max_ms = cfg->redis_reconnect_max_ms,
		.events_maxlen = cfg->events_maxlen,
		.idempotency_ttl_s = cfg->idempotency_ttl_s,
		.outcome_retention_s = cfg->outcome_retention_s,
		.seq_field = record_seq_field,
	};
	struct store_hooks hooks = {
		.state = server_on_store_state,
		.fenced = server_on_fenced,
		.lost = server_on_lost,
		.found = server_on_found,
		.ctx = srv,
	};
	return store_new(srv->base, &sc, &hooks);
}

struct server *server_new(struct sb_config *cfg)
{
	struct server *srv = xcalloc(1, sizeof *srv);

	srv->cfg = cfg;
	srv->base = event_base_new();
	if (srv->base == NULL)
		fatal("cannot create the event loop");
	srv->registry = registry_new();
	srv->store = server_store_new(srv);
	if (srv->store == NULL) {
		server_free(srv);
		return NULL;
	}
	/* Invariant checks after every routing decision: on in debug builds and
	 * in the test suite (SB_CHECK_INVARIANTS=1), off in production. */
	bool check = getenv("SB_CHECK_INVARIANTS") != NULL;
#ifdef SB_DEBUG
	check = true;
#endif
	struct router_hooks rh = { .tell = server_tell, .current = server_current, .ctx = srv };
	srv->router = router_new(srv->base, srv->store, cfg, check, &rh);
	if (srv->router == NULL) {
		server_free(srv);
		return NULL;
	}
	srv->presence = presence_new(srv->base, srv->router, cfg->agent_grace_ms);
	srv->senv = (struct session_env){
		.base = srv->base,
		.router = srv->router,
		.registry = srv->registry,
		.presence = srv->presence,
		.leader_address = server_leader_address,
		.role_name = server_role_name,
		.ctx = srv,
	};
	srv->drain_timer = evtimer_new(srv->base, server_on_drain_timer, srv);
	if (server_tls_start(srv) != 0) {
		server_free(srv);
		return NULL;
	}
	srv->gateway_listener =
		listener_new(srv->base, cfg->gateway_listen, server_on_gateway, srv);
	srv->agent_listener = listener_new(srv->base, cfg->agent_listen, server_on_agent, srv);
	struct admin_env aenv = {
		.base = srv->base,
		.router = srv->router,
		.store = srv->store,
		.role_name = server_role_name,
		.leader_address = server_leader_address,
		.ctx = srv,
	};
	srv->admin = admin_new(&aenv);
	if (srv->gateway_listener == NULL || srv->agent_listener == NULL || srv->admin == NULL) {
		server_free(srv);
		return NULL;
	}
	server_leader_start(srv);
	signal(SIGPIPE, SIG_IGN);
	srv->sigterm_ev = evsignal_new(srv->base, SIGTERM, server_on_stop_signal, srv);
	srv->sigint_ev = evsignal_new(srv->base, SIGINT, server_on_stop_signal, srv);
	srv->sighup_ev = evsignal_new(srv->base, SIGHUP, server_on_hup, srv);
	evsignal_add(srv->sigterm_ev, NULL);
	evsignal_add(srv->sigint_ev, NULL);
	evsignal_add(srv->sighup_ev, NULL);
	srv->notify = sdnotify_loop_start(srv->base, server_notify_status, srv);
	log_info("switchboard %s: site '%s', node %s, gateways on %s (%s), agents on %s (%s), "
		 "redis %s",
		 SB_VERSION, cfg->site, srv->node_id, listener_address(srv->gateway_listener),
		 server_port_security(&cfg->gateway_tls), listener_address(srv->agent_listener),
		 server_port_security(&cfg->agent_tls), cfg->redis_address);
	return srv;
}

int server_run(struct server *srv)
{
	store_start(srv->store);
	event_base_dispatch(srv->base);
	log_info("stopped");
	return 0;
}

struct session_env *server_session_env(struct server *srv)
{
	return &srv->senv;
}

static void server_close_one(void *arg, struct session *s)
{
	session_close(s, "daemon stopped", false);
}

void server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	registry_each(srv->registry, server_close_one, NULL);
	/* Its reads are answered below; it lets go of itself then. */
	recovery_free(srv->recovery);
	/* Answers pending writes (their requests hold session references)... */
	store_free(srv->store);
	admin_free(srv->admin); /* after the store: its pending requests have been answered */
	/* ... and what the router still owes, so every session can go. */
	presence_free(srv->presence);
	router_free(srv->router);
	struct session *s;
	while ((s = registry_any(srv->registry)) != NULL)
		session_destroy(s);
	leader_free(srv->leader);
	free(srv->node_id);
	listener_free(srv->gateway_listener);
	listener_free(srv->agent_listener);
	tls_server_free(srv->senv.tls[SESSION_GATEWAY]);
	tls_server_free(srv->senv.tls[SESSION_AGENT]);
	registry_free(srv->registry);
	if (srv->drain_timer)
		event_free(srv->drain_timer);
	sdnotify_loop_free(srv->notify);
	if (srv->sigterm_ev) {
		event_free(srv->sigterm_ev);
		event_free(srv->sigint_ev);
		event_free(srv->sighup_ev);
	}
	event_base_free(srv->base);
	config_free(srv->cfg);
	free(srv);
}
