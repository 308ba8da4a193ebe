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

#include "config/config.h"
#include "engine/engine.h"
#include "log.h"
#include "routing.h"
#include "sdnotify.h"
#include "security/tls.h"
#include "session/listener.h"
#include "session/session.h"
#include "sink.h"
#include "store/store.h"
#include "strmap.h"
#include "xalloc.h"

/* How long SIGTERM waits for in-flight store writes before exiting. */
#define SERVER_DRAIN_MS 3000

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
	struct listener *gateway_listener;
	struct listener *agent_listener;
	struct tls_server *gateway_tls, *agent_tls; /* NULL: that port is plain TCP */
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
		if (a == NULL) {
			a = xcalloc(1, sizeof *a);
			a->addr = xstrdup(key);
			strmap_put(&srv->addresses, a->addr, a);
		}
		a->n++;
		return;
	}
	srv->n_conns[session_role(s)]--;
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

/* The engine routes only while Redis can record its decisions. */
static void server_on_store_state(void *arg, enum store_state st)
{
	struct server *srv = arg;

	engine_set_paused(srv->engine, st != STORE_READY, server_now_ms(srv));
	server_engine_touched(srv);
	server_notify_status(srv);
	/* Listeners were bound in server_new: ready means both. Repeats after a
	 * store outage are harmless to systemd. */
	if (st == STORE_READY)
		sdnotify_ready();
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
	listener_free(srv->gateway_listener);
	listener_free(srv->agent_listener);
	srv->gateway_listener = srv->agent_listener = NULL;
	for (size_t it = 0; strmap_next(&srv->sessions, &it, &k, &v);)
		session_shutdown(v, "daemon shutting down");
	srv->drain_deadline = server_now_ms(srv) + SERVER_DRAIN_MS;
	server_stop_step(srv);
}

static void server_on_hup(evutil_socket_t sig, short what, void *arg)
{
	sdnotify_reloading();
	server_tls_reload(arg);
	log_warnx("SIGHUP: configuration reload is not supported by this version; "
		  "only TLS certificates are re-read");
	sdnotify_ready(); /* the reload is over, whatever its outcome */
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
	bool check = getenv("SB_CHECK_INVARIANTS") != NULL;
#ifdef SB_DEBUG
	check = true;
#endif
	const char *why = NULL;
	srv->engine = routing_engine_new(cfg, sink_ops(), srv->sink, srv->boot, check, &why);
	if (srv->engine == NULL) {
		log_error("routing configuration refused: %s", why);
		server_free(srv);
		return NULL;
	}
	srv->engine_timer = evtimer_new(srv->base, server_on_engine_timer, srv);
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
	/* Paused until the store is first ready. */
	engine_set_paused(srv->engine, true, server_now_ms(srv));
	if (server_tls_start(srv) != 0) {
		server_free(srv);
		return NULL;
	}
	srv->gateway_listener =
		listener_new(srv->base, cfg->gateway_listen, server_on_gateway, srv);
	srv->agent_listener = listener_new(srv->base, cfg->agent_listen, server_on_agent, srv);
	if (srv->store == NULL || srv->gateway_listener == NULL || srv->agent_listener == NULL) {
		server_free(srv);
		return NULL;
	}
	signal(SIGPIPE, SIG_IGN);
	srv->sigterm_ev = evsignal_new(srv->base, SIGTERM, server_on_stop_signal, srv);
	srv->sigint_ev = evsignal_new(srv->base, SIGINT, server_on_stop_signal, srv);
	srv->sighup_ev = evsignal_new(srv->base, SIGHUP, server_on_hup, srv);
	evsignal_add(srv->sigterm_ev, NULL);
	evsignal_add(srv->sigint_ev, NULL);
	evsignal_add(srv->sighup_ev, NULL);
	srv->notify = sdnotify_loop_start(srv->base, server_notify_status, srv);
	log_info("switchboard %s: site '%s', gateways on %s, agents on %s, redis %s", SB_VERSION,
		 cfg->site, listener_address(srv->gateway_listener),
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
	/* Answers pending writes (releasing their session references)... */
	store_free(srv->store);
	/* ...so every session can now be released. */
	while (strmap_count(&srv->sessions) > 0) {
		size_t it = 0;
		strmap_next(&srv->sessions, &it, &k, &v);
		session_destroy(v);
	}
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
