/* The server: see server.h. */
#include "server.h"

#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin.h"
#include "config/config.h"
#include "engine/engine.h"
#include "util/err.h"
#include "ha/leader.h"
#include "ha/presence.h"
#include "ha/recovery.h"
#include "util/log.h"
#include "reload.h"
#include "metrics.h"
#include "config/config_engine.h"
#include "sdnotify.h"
#include "security/tls.h"
#include "session/listener.h"
#include "session/recent.h"
#include "session/session.h"
#include "sink.h"
#include "store/store.h"
#include "util/strmap.h"
#include "util/xalloc.h"


/* A gateway's live sessions, newest first. Owner: the gateways map. */
struct gateway_sessions {
	char *id;
	struct session **v;
	size_t n;
};

/* Open connections from one peer address. Owner: the addresses map; freed
 * when its count drops to zero. */
struct server_address {
	char *addr; /* the key */
	size_t n;
};

struct server {
	struct sb_config *cfg;
	struct event_base *base;
	struct engine *engine;
	struct store *store;
	struct sink *sink;
	struct leader *leader;
	struct presence *presence;
	struct recent *recent;
	struct recovery *recovery; /* the current term's, until the next */
	bool recovery_running;
	bool check_invariants;
	char *node_id;
	unsigned engine_generation;
	struct listener *gateway_listener;
	struct listener *agent_listener;
	struct tls_server *gateway_tls, *agent_tls; /* NULL: that port is plain TCP */
	struct admin *admin; /* the admin HTTP API and the metrics */
	struct event *engine_timer;
	struct event *sigterm_ev, *sigint_ev, *sighup_ev;
	struct event *drain_timer;
	struct sdnotify_loop *notify; /* NULL when not run by systemd */
	int64_t drain_deadline;
	struct strmap sessions; /* sid -> session */
	struct strmap agents;   /* agent id -> session */
	struct strmap gateways; /* gateway id -> gateway_sessions */
	/* Open connections, counted for limits.*: every registered session,
	 * from server_session_add to server_session_remove. */
	struct strmap addresses; /* peer address without port -> server_address */
	size_t n_conns[2];       /* by enum session_role */
	uint64_t session_counter;
	uint64_t contact_counter;
	char boot[16]; /* base-36 start time: makes ids unique across restarts */
	bool stopping;
};

int64_t server_now_ms(const struct server *srv)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

struct event_base *server_base(struct server *srv)
{
	return srv->base;
}

const struct sb_config *server_config(const struct server *srv)
{
	return srv->cfg;
}

struct engine *server_engine(struct server *srv)
{
	return srv->engine;
}

struct store *server_store(struct server *srv)
{
	return srv->store;
}

struct presence *server_presence(struct server *srv)
{
	return srv->presence;
}

struct recent *server_recent(struct server *srv)
{
	return srv->recent;
}

bool server_serving(const struct server *srv)
{
	return srv->leader != NULL && leader_role(srv->leader) == LEADER_LEADER && !srv->stopping;
}

const char *server_leader_address(const struct server *srv, bool gateway_port)
{
	return srv->leader ? leader_holder_address(srv->leader, gateway_port) : "";
}

const char *server_role_name(const struct server *srv)
{
	if (srv->stopping)
		return "stopping";
	if (srv->leader == NULL)
		return "starting";
	if (leader_role(srv->leader) == LEADER_STANDBY && store_state(srv->store) != STORE_READY)
		return "waiting for redis";
	return leader_role_name(leader_role(srv->leader));
}

struct tls_server *server_tls(struct server *srv, bool gateway_port)
{
	return gateway_port ? srv->gateway_tls : srv->agent_tls;
}

/* Loads the TLS context of each port that has a certificate configured.
 * Returns 0, or -1 after logging which file failed and why. */
static int server_tls_start(struct server *srv)
{
	const struct sb_config *cfg = srv->cfg;
	char err[512];

	if (cfg->gateway_tls.cert_file != NULL) {
		srv->gateway_tls = tls_server_new(&cfg->gateway_tls, cfg->tls_ciphers, cfg->path,
						  err, sizeof err);
		if (srv->gateway_tls == NULL) {
			log_error("tls.gateway: %s", err);
			return -1;
		}
	}
	if (cfg->agent_tls.cert_file != NULL) {
		srv->agent_tls = tls_server_new(&cfg->agent_tls, cfg->tls_ciphers, cfg->path, err,
						sizeof err);
		if (srv->agent_tls == NULL) {
			log_error("tls.agent: %s", err);
			return -1;
		}
	}
	return 0;
}

/* SIGHUP: re-reads certificates and keys from disk (renewals). A port whose
 * files fail to load keeps its old context; live connections keep theirs. */
static void server_tls_reload(struct server *srv)
{
	const struct sb_config *cfg = srv->cfg;
	char err[512];
	bool ok = true;

	if (srv->gateway_tls == NULL && srv->agent_tls == NULL)
		return;
	if (srv->gateway_tls != NULL &&
	    tls_server_reload(srv->gateway_tls, &cfg->gateway_tls, cfg->tls_ciphers, cfg->path,
			      err, sizeof err) != 0) {
		log_error("tls.gateway: reload failed, keeping the old certificate: %s", err);
		ok = false;
	}
	if (srv->agent_tls != NULL &&
	    tls_server_reload(srv->agent_tls, &cfg->agent_tls, cfg->tls_ciphers, cfg->path, err,
			      sizeof err) != 0) {
		log_error("tls.agent: reload failed, keeping the old certificate: %s", err);
		ok = false;
	}
	if (ok)
		log_info("tls: certificates reloaded");
}

struct sink *server_sink(struct server *srv)
{
	return srv->sink;
}

struct admin *server_admin(struct server *srv)
{
	return srv->admin;
}

uint64_t server_next_session_number(struct server *srv)
{
	return ++srv->session_counter;
}

char *server_new_contact_id(struct server *srv)
{
	return xasprintf("c-%s-%" PRIu64, srv->boot, ++srv->contact_counter);
}

/* The address part of a peer as the listener renders it: "1.2.3.4:5678"
 * -> "1.2.3.4", "[::1]:5678" -> "[::1]", "unix" stays: all unix-socket
 * peers are one address. */
static void server_peer_address(const char *peer, char *out, size_t len)
{
	const char *end = peer[0] == '[' ? strchr(peer, ']') : strrchr(peer, ':');
	size_t n = strlen(peer);

	if (end != NULL)
		n = (size_t)(end - peer) + (peer[0] == '[');
	snprintf(out, len, "%.*s", (int)n, peer);
}

/* Counts a session in or out of its role's and its address's totals. */
static void server_count(struct server *srv, struct session *s, bool in)
{
	char key[64];
	struct server_address *a;

	server_peer_address(session_peer(s), key, sizeof key);
	a = strmap_get(&srv->addresses, key);
	if (in) {
		srv->n_conns[session_role(s)]++;
		metrics_connection(session_role(s), +1);
		if (a == NULL) {
			a = xcalloc(1, sizeof *a);
			a->addr = xstrdup(key);
			strmap_put(&srv->addresses, a->addr, a);
		}
		a->n++;
		return;
	}
	srv->n_conns[session_role(s)]--;
	metrics_connection(session_role(s), -1);
	if (a != NULL && --a->n == 0) {
		strmap_del(&srv->addresses, a->addr);
		free(a->addr);
		free(a);
	}
}

void server_session_add(struct server *srv, struct session *s)
{
	strmap_put(&srv->sessions, session_id(s), s);
	server_count(srv, s, true);
}

void server_session_remove(struct server *srv, struct session *s)
{
	if (strmap_get(&srv->sessions, session_id(s)) == s) {
		strmap_del(&srv->sessions, session_id(s));
		server_count(srv, s, false);
	}
}

/* Turns a new session away when it takes its role or its address past a
 * limit. It is already counted, and stays counted until it is freed, just
 * after its Error is flushed (at most a second later). */
static void server_check_limits(struct server *srv, struct session *s)
{
	const struct sb_config *cfg = srv->cfg;
	enum session_role role = session_role(s);
	int64_t max = role == SESSION_GATEWAY ? cfg->max_gateway_connections
					      : cfg->max_agent_connections;
	char key[64], why[160];
	const struct server_address *a;

	server_peer_address(session_peer(s), key, sizeof key);
	a = strmap_get(&srv->addresses, key);
	if ((int64_t)srv->n_conns[role] > max)
		snprintf(why, sizeof why,
			 "too many %s connections (limits.%s: %" PRId64 ")",
			 role == SESSION_GATEWAY ? "gateway" : "agent",
			 role == SESSION_GATEWAY ? "max_gateway_connections"
						 : "max_agent_connections",
			 max);
	else if (a != NULL && (int64_t)a->n > cfg->max_connections_per_address)
		snprintf(why, sizeof why,
			 "too many connections from %s (limits.max_connections_per_address: %" PRId64
			 ")",
			 key, cfg->max_connections_per_address);
	else
		return;
	session_refuse(s, why);
}

struct session *server_session(struct server *srv, const char *sid)
{
	return strmap_get(&srv->sessions, sid);
}

struct session *server_agent_session(struct server *srv, const char *agent_id)
{
	return strmap_get(&srv->agents, agent_id);
}

void server_agent_bind(struct server *srv, const char *agent_id, struct session *s)
{
	/* The key must outlive the entry: use the roster's copy of the id. */
	const struct engine_agent_view *a = engine_agent(srv->engine, agent_id);
	strmap_put(&srv->agents, a->id, s);
}

void server_agent_unbind(struct server *srv, const char *agent_id, struct session *s)
{
	if (strmap_get(&srv->agents, agent_id) == s)
		strmap_del(&srv->agents, agent_id);
}

struct session *server_gateway_session(struct server *srv, const char *gateway_id)
{
	struct gateway_sessions *g = strmap_get(&srv->gateways, gateway_id);
	return g && g->n ? g->v[0] : NULL;
}

void server_gateway_bind(struct server *srv, const char *gateway_id, struct session *s)
{
	struct gateway_sessions *g = strmap_get(&srv->gateways, gateway_id);

	if (g == NULL) {
		g = xcalloc(1, sizeof *g);
		g->id = xstrdup(gateway_id);
		strmap_put(&srv->gateways, g->id, g);
	}
	g->v = xreallocarray(g->v, g->n + 1, sizeof *g->v);
	memmove(g->v + 1, g->v, g->n * sizeof *g->v);
	g->v[0] = s;
	g->n++;
}

void server_gateway_unbind(struct server *srv, const char *gateway_id, struct session *s)
{
	struct gateway_sessions *g = gateway_id ? strmap_get(&srv->gateways, gateway_id) : NULL;

	for (size_t i = 0; g != NULL && i < g->n; i++)
		if (g->v[i] == s) {
			memmove(g->v + i, g->v + i + 1, (g->n - i - 1) * sizeof *g->v);
			g->n--;
			return;
		}
}

static void server_on_engine_timer(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	engine_tick(srv->engine, server_now_ms(srv));
	server_engine_touched(srv);
}

void server_engine_touched(struct server *srv)
{
	int64_t next = engine_next_wakeup(srv->engine);

	if (next == INT64_MAX) {
		evtimer_del(srv->engine_timer);
		return;
	}
	int64_t in = next - server_now_ms(srv);
	if (in < 0)
		in = 0;
	struct timeval tv = { in / 1000, (in % 1000) * 1000 };
	evtimer_add(srv->engine_timer, &tv);
}

static void server_on_gateway(void *arg, int fd, const char *peer)
{
	struct session *s = session_new(arg, fd, SESSION_GATEWAY, peer);
	if (s != NULL)
		server_check_limits(arg, s);
}

static void server_on_agent(void *arg, int fd, const char *peer)
{
	struct session *s = session_new(arg, fd, SESSION_AGENT, peer);
	if (s != NULL)
		server_check_limits(arg, s);
}

/* Writes v in base 36: short, sortable-enough ids. */
static void server_base36(uint64_t v, char *out, size_t len)
{
	char tmp[16];
	size_t n = 0;

	do {
		tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
		v /= 36;
	} while (v && n < sizeof tmp);
	size_t i = 0;
	for (; i < n && i + 1 < len; i++)
		out[i] = tmp[n - 1 - i];
	out[i] = '\0';
}

/* The status line `systemctl status` shows; refreshed on each store change
 * and each tick of the notification timer. */
static void server_notify_status(void *arg)
{
	struct server *srv = arg;

	if (srv->stopping)
		sdnotify_status("draining, %zu store writes pending", store_pending(srv->store));
	else if (store_state(srv->store) != STORE_READY)
		sdnotify_status("store unavailable, %zu waiting", engine_waiting_count(srv->engine));
	else
		sdnotify_status("routing, %zu waiting", engine_waiting_count(srv->engine));
}

/* The engine routes only while this daemon leads and Redis can record its
 * decisions. */
static void server_update_pause(struct server *srv)
{
	bool run = store_state(srv->store) == STORE_READY && server_serving(srv);

	engine_set_paused(srv->engine, !run, server_now_ms(srv));
	server_engine_touched(srv);
}

struct engine *server_engine_build(struct server *srv, const struct sb_config *cfg,
				   const struct sb_queue_conf *const *draining, size_t n_draining,
				   const char **why)
{
	/* Offer ids carry the engine's generation: a reload's new engine must
	 * not hand out an id the old one used. */
	char prefix[32];
	snprintf(prefix, sizeof prefix, "%s.%u", srv->boot, ++srv->engine_generation);
	struct engine *e = config_engine_new_draining(cfg, draining, n_draining, sink_ops(),
						       srv->sink, prefix, srv->check_invariants,
						       why);
	if (e != NULL)
		engine_set_paused(e, true, server_now_ms(srv));
	return e;
}

/* A fresh, paused engine from the config: the start of a term, or standing
 * down, leaves nothing of the old routing state behind. */
static int server_engine_reset(struct server *srv, const char **why)
{
	struct engine *e = server_engine_build(srv, srv->cfg, NULL, 0, why);
	if (e == NULL)
		return SB_ERR_CONFIG;
	if (srv->engine != NULL) {
		evtimer_del(srv->engine_timer);
		engine_free(srv->engine);
	}
	srv->engine = e;
	return 0;
}

static void server_recover(struct server *srv);

static void server_on_recovered(void *ctx, int err, const struct recovery_stats *st)
{
	struct server *srv = ctx;
	const char *why = NULL;

	srv->recovery_running = false;
	if (err != 0) {
		/* Started again on a clean engine once the store is back. */
		presence_clear(srv->presence);
		server_engine_reset(srv, &why);
		if (store_state(srv->store) == STORE_READY)
			server_recover(srv);
		return;
	}
	log_info("recovery: %zu waiting (%zu offers requeued), %zu assigned, %zu agents awaiting "
		 "their clients, %zu unroutable, %zu missing, in %lld ms",
		 st->waiting, st->requeued, st->assigned, st->agents, st->unroutable, st->missing,
		 st->elapsed_ms);
	leader_recovered(srv->leader);
	server_update_pause(srv);
}

/* Loads the term's state from Redis (again, after a failed attempt). */
static void server_recover(struct server *srv)
{
	if (srv->recovery_running || leader_role(srv->leader) != LEADER_RECOVERING)
		return;
	recovery_free(srv->recovery);
	srv->recovery_running = true;
	srv->recovery = recovery_start(srv, server_on_recovered, srv);
}

static void server_on_term(void *ctx, const char *epoch)
{
	struct server *srv = ctx;
	const char *why = NULL;

	presence_clear(srv->presence);
	recovery_free(srv->recovery);
	srv->recovery = NULL;
	srv->recovery_running = false;
	if (server_engine_reset(srv, &why) != 0) {
		log_error("routing configuration refused: %s", why);
		return;
	}
	server_recover(srv);
}

/* No longer the leader: every client is sent to the new one, and the
 * routing state goes (the next term reloads it from Redis). */
static void server_on_deposed(void *ctx)
{
	struct server *srv = ctx;
	const char *k;
	void *v;
	const char *why = NULL;

	for (size_t it = 0; strmap_next(&srv->sessions, &it, &k, &v);)
		session_redirect(v, 0);
	presence_clear(srv->presence);
	recovery_free(srv->recovery);
	srv->recovery = NULL;
	srv->recovery_running = false;
	server_engine_reset(srv, &why);
	server_update_pause(srv);
}

static void server_on_fenced(void *ctx)
{
	struct server *srv = ctx;
	leader_fenced(srv->leader);
}

static void server_on_store_state(void *arg, enum store_state st)
{
	struct server *srv = arg;

	server_update_pause(srv);
	server_notify_status(srv);
	/* Listeners were bound in server_new: ready means both (a standby is
	 * ready too). Repeats after a store outage are harmless to systemd. */
	if (st == STORE_READY)
		sdnotify_ready();
	if (st == STORE_READY && srv->leader != NULL && !srv->stopping) {
		leader_poke(srv->leader);
		server_recover(srv);
	}
}

static void server_stop_step(struct server *srv);

static void server_on_drain_timer(evutil_socket_t fd, short what, void *arg)
{
	server_stop_step(arg);
}

/* Exits once in-flight writes have landed, or the drain time is over. */
static void server_stop_step(struct server *srv)
{
	if (store_pending(srv->store) == 0 || server_now_ms(srv) >= srv->drain_deadline) {
		if (store_pending(srv->store) != 0)
			log_warnx("shutdown: %zu store writes still unacknowledged",
				  store_pending(srv->store));
		event_base_loopexit(srv->base, NULL);
		return;
	}
	struct timeval tv = { 0, 20000 };
	evtimer_add(srv->drain_timer, &tv);
}

/* SIGTERM/SIGINT: stop taking connections, tell clients, let the store
 * finish, exit. */
static void server_on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	const char *k;
	void *v;

	if (srv->stopping)
		return;
	srv->stopping = true;
	sdnotify_stopping();
	server_notify_status(srv);
	log_info("shutting down (signal %d)", (int)sig);
	server_update_pause(srv);
	listener_free(srv->gateway_listener);
	listener_free(srv->agent_listener);
	srv->gateway_listener = srv->agent_listener = NULL;
	for (size_t it = 0; strmap_next(&srv->sessions, &it, &k, &v);)
		session_shutdown(v, "daemon shutting down; reconnect (to the standby, if any)");
	/* After the writes already sent, in Redis's order: a standby takes
	 * over as soon as they have landed, not a lease later. */
	leader_release(srv->leader);
	srv->drain_deadline = server_now_ms(srv) + srv->cfg->drain_ms;
	server_stop_step(srv);
}

/* SIGHUP: the configuration file, then the certificates it names. */
static void server_on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	if (srv->stopping)
		return;
	sdnotify_reloading();
	reload_config(srv);
	server_tls_reload(srv);
	sdnotify_ready(); /* the reload is over, whatever its outcome */
}

struct sb_config *server_config_mutable(struct server *srv)
{
	return srv->cfg;
}

/* Re-keys the agent registry on the new engine's id strings (the map keeps
 * pointers), and turns away sessions of agents and gateways the new
 * configuration no longer has. */
static void server_rebind(struct server *srv)
{
	struct strmap old = srv->agents;
	const char *k;
	void *v;

	strmap_init(&srv->agents);
	for (size_t it = 0; strmap_next(&old, &it, &k, &v);) {
		const struct engine_agent_view *a = engine_agent(srv->engine, k);
		if (a != NULL) {
			strmap_put(&srv->agents, a->id, v);
			continue;
		}
		session_send_error(v, 0, SB_ERR_FORBIDDEN,
				   "removed from the roster by a configuration reload");
		session_close(v, "agent removed from the roster", true);
	}
	strmap_free(&old);
	for (size_t it = 0; strmap_next(&srv->sessions, &it, &k, &v);) {
		struct session *s = v;
		const char *id = session_client_id(s);
		if (session_role(s) == SESSION_GATEWAY && id != NULL &&
		    config_gateway(srv->cfg, id) == NULL) {
			session_send_error(s, 0, SB_ERR_UNAUTHENTICATED,
					   "gateway removed by a configuration reload");
			session_close(s, "gateway removed from the configuration", true);
		}
	}
}

void server_install(struct server *srv, struct sb_config *cfg, struct engine *e)
{
	struct sb_config *old_cfg = srv->cfg;
	struct engine *old = srv->engine;

	evtimer_del(srv->engine_timer);
	srv->cfg = cfg;
	srv->engine = e;
	server_rebind(srv);
	engine_free(old);
	config_free(old_cfg);
	presence_set_grace(srv->presence, cfg->agent_grace_ms);
	log_set_level((enum log_level)log_level_parse(cfg->log_level));
	server_update_pause(srv);
}

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

struct server *server_new(struct sb_config *cfg)
{
	struct server *srv = xcalloc(1, sizeof *srv);

	srv->cfg = cfg;
	server_base36((uint64_t)server_now_ms(srv), srv->boot, sizeof srv->boot);
	strmap_init(&srv->sessions);
	strmap_init(&srv->agents);
	strmap_init(&srv->gateways);
	strmap_init(&srv->addresses);
	srv->base = event_base_new();
	if (srv->base == NULL)
		fatal("cannot create the event loop");
	srv->sink = sink_new(srv);
	/* Invariant checks after every routing decision: on in debug builds and
	 * in the test suite (SB_CHECK_INVARIANTS=1), off in production. */
	srv->check_invariants = getenv("SB_CHECK_INVARIANTS") != NULL;
#ifdef SB_DEBUG
	srv->check_invariants = true;
#endif
	const char *why = NULL;
	srv->engine_timer = evtimer_new(srv->base, server_on_engine_timer, srv);
	if (server_engine_reset(srv, &why) != 0) {
		log_error("routing configuration refused: %s", why);
		server_free(srv);
		return NULL;
	}
	srv->presence = presence_new(srv, cfg->agent_grace_ms);
	srv->recent = recent_new();
	srv->drain_timer = evtimer_new(srv->base, server_on_drain_timer, srv);
	struct store_conf sc = {
		.address = cfg->redis_address,
		.site = cfg->site,
		.connect_timeout_ms = cfg->redis_connect_timeout_ms,
		.command_timeout_ms = cfg->redis_command_timeout_ms,
		.reconnect_max_ms = cfg->redis_reconnect_max_ms,
		.events_maxlen = cfg->events_maxlen,
		.idempotency_ttl_s = cfg->idempotency_ttl_s,
	};
	srv->store = store_new(srv->base, &sc, server_on_store_state, srv);
	if (srv->store != NULL)
		store_on_fenced(srv->store, server_on_fenced);
	if (server_tls_start(srv) != 0) {
		server_free(srv);
		return NULL;
	}
	srv->gateway_listener =
		listener_new(srv->base, cfg->gateway_listen, server_on_gateway, srv);
	srv->agent_listener = listener_new(srv->base, cfg->agent_listen, server_on_agent, srv);
	srv->admin = admin_new(srv);
	if (srv->store == NULL || srv->gateway_listener == NULL || srv->agent_listener == NULL ||
	    srv->admin == NULL) {
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
	log_info("switchboard %s: site '%s', node %s, gateways on %s, agents on %s, redis %s",
		 SB_VERSION, cfg->site, srv->node_id, listener_address(srv->gateway_listener),
		 listener_address(srv->agent_listener), cfg->redis_address);
	return srv;
}

int server_run(struct server *srv)
{
	store_start(srv->store);
	event_base_dispatch(srv->base);
	log_info("stopped");
	return 0;
}

void server_free(struct server *srv)
{
	const char *k;
	void *v;

	if (srv == NULL)
		return;
	for (size_t it = 0; strmap_next(&srv->sessions, &it, &k, &v);)
		session_close(v, "daemon stopped", false);
	/* Its reads are answered below; it lets go of itself then. */
	recovery_free(srv->recovery);
	/* Answers pending writes (releasing their session references)... */
	store_free(srv->store);
	admin_free(srv->admin); /* after the store: its pending requests have been answered */
	/* ...so every session can now be released. */
	while (strmap_count(&srv->sessions) > 0) {
		size_t it = 0;
		strmap_next(&srv->sessions, &it, &k, &v);
		session_destroy(v);
	}
	presence_free(srv->presence);
	recent_free(srv->recent);
	leader_free(srv->leader);
	free(srv->node_id);
	engine_free(srv->engine);
	sink_free(srv->sink);
	listener_free(srv->gateway_listener);
	listener_free(srv->agent_listener);
	tls_server_free(srv->gateway_tls);
	tls_server_free(srv->agent_tls);
	for (size_t it = 0; strmap_next(&srv->gateways, &it, &k, &v);) {
		struct gateway_sessions *g = v;
		free(g->v);
		free(g->id);
		free(g);
	}
	strmap_free(&srv->sessions);
	strmap_free(&srv->agents);
	strmap_free(&srv->gateways);
	/* Empty by now: every session was removed above. Freed whatever the
	 * count, should a path ever skip the removal. */
	for (size_t it = 0; strmap_next(&srv->addresses, &it, &k, &v);) {
		struct server_address *a = v;
		free(a->addr);
		free(a);
	}
	strmap_free(&srv->addresses);
	if (srv->engine_timer)
		event_free(srv->engine_timer);
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
