/* Who is connected: see registry.h. */
#include "session/registry.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "engine/engine.h"
#include "metrics.h"
#include "session/session.h"
#include "util/err.h"
#include "util/strmap.h"
#include "util/xalloc.h"

/* A gateway's live sessions, newest first. Owner: the gateways map. */
struct gateway_sessions {
	char *id;
	struct session **v;
	size_t n;
};

/* An unauthenticated connection may be closed to make room for a newer one
 * only once it has had this long to get through TLS and Hello: a real
 * client far away, or one of a burst of reconnections accepted in one loop
 * pass before any of them was read, is not pushed out by its neighbours. */
#define REGISTRY_EVICT_MIN_MS 1000

struct registry_entry;

/* The connections from one peer address. Owner: the addresses map; freed
 * when its last session is removed. */
struct peer_count {
	char *addr; /* the key */
	size_t sessions;        /* every registered one (entries point here) */
	size_t authenticated;   /* counted against limits.max_connections_per_address */
	size_t unauthenticated; /* ... limits.max_unauthenticated_per_address */
	struct registry_entry *oldest, *newest; /* its unauthenticated ones */
};

/* A session as the registry counts it. Owner: the sessions map.
 *
 * A connection counts as unauthenticated from accept until it leaves the
 * handshake (registry_left_handshake), and against its role's caps only
 * from a successful Hello until it is freed: sockets that never log in
 * cannot use up the room of real clients. */
struct registry_entry {
	struct session *s;
	struct peer_count *peer;
	int64_t since_ms;   /* accepted */
	bool waiting;       /* unauthenticated: in the lists below */
	bool authenticated; /* counted in n_conns and peer->authenticated */
	/* The unauthenticated, oldest first: all, and those of its address. */
	struct registry_entry *prev, *next, *peer_prev, *peer_next;
};

/* An agent id's session. Owner: the agents map. */
struct agent_binding {
	char *id; /* the key */
	struct session *s;
};

struct registry {
	struct strmap sessions;  /* sid -> registry_entry */
	struct strmap agents;    /* agent id -> agent_binding */
	struct strmap gateways;  /* gateway id -> gateway_sessions */
	struct strmap addresses; /* peer address without port -> peer_count */
	size_t n_conns[2];       /* authenticated, by enum session_role */
	size_t n_unauth;         /* not logged in yet, either role */
	struct registry_entry *oldest, *newest; /* the unauthenticated */
};

struct registry *registry_new(void)
{
	struct registry *reg = xcalloc(1, sizeof *reg);

	strmap_init(&reg->sessions);
	strmap_init(&reg->agents);
	strmap_init(&reg->gateways);
	strmap_init(&reg->addresses);
	return reg;
}

void registry_free(struct registry *reg)
{
	const char *k;
	void *v;

	if (reg == NULL)
		return;
	for (size_t it = 0; strmap_next(&reg->gateways, &it, &k, &v);) {
		struct gateway_sessions *g = v;
		free(g->v);
		free(g->id);
		free(g);
	}
	for (size_t it = 0; strmap_next(&reg->agents, &it, &k, &v);) {
		struct agent_binding *b = v;
		free(b->id);
		free(b);
	}
	/* Empty by now when every session was freed; freed whatever the
	 * count, should a path ever skip the removal. */
	for (size_t it = 0; strmap_next(&reg->sessions, &it, &k, &v);)
		free(v);
	for (size_t it = 0; strmap_next(&reg->addresses, &it, &k, &v);) {
		struct peer_count *a = v;
		free(a->addr);
		free(a);
	}
	strmap_free(&reg->sessions);
	strmap_free(&reg->agents);
	strmap_free(&reg->gateways);
	strmap_free(&reg->addresses);
	free(reg);
}

/* The address part of a peer as the listener renders it: "1.2.3.4:5678"
 * -> "1.2.3.4", "[::1]:5678" -> "[::1]", "unix" stays: all unix-socket
 * peers are one address. */
static void registry_peer_address(const char *peer, char *out, size_t len)
{
	const char *end = peer[0] == '[' ? strchr(peer, ']') : strrchr(peer, ':');
	size_t n = strlen(peer);

	if (end != NULL)
		n = (size_t)(end - peer) + (peer[0] == '[');
	snprintf(out, len, "%.*s", (int)n, peer);
}

/* Takes e out of the unauthenticated lists and counts. */
static void registry_unlink_waiting(struct registry *reg, struct registry_entry *e)
{
	struct peer_count *a = e->peer;

	if (!e->waiting)
		return;
	*(e->prev != NULL ? &e->prev->next : &reg->oldest) = e->next;
	*(e->next != NULL ? &e->next->prev : &reg->newest) = e->prev;
	*(e->peer_prev != NULL ? &e->peer_prev->peer_next : &a->oldest) = e->peer_next;
	*(e->peer_next != NULL ? &e->peer_next->peer_prev : &a->newest) = e->peer_prev;
	e->prev = e->next = e->peer_prev = e->peer_next = NULL;
	e->waiting = false;
	reg->n_unauth--;
	a->unauthenticated--;
}

void registry_add(struct registry *reg, struct session *s, int64_t now_ms)
{
	struct registry_entry *e = xcalloc(1, sizeof *e);
	char key[64];
	struct peer_count *a;

	registry_peer_address(session_peer(s), key, sizeof key);
	a = strmap_get(&reg->addresses, key);
	if (a == NULL) {
		a = xcalloc(1, sizeof *a);
		a->addr = xstrdup(key);
		strmap_put(&reg->addresses, a->addr, a);
	}
	a->sessions++;
	e->s = s;
	e->peer = a;
	e->since_ms = now_ms;
	e->waiting = true;
	e->prev = reg->newest;
	*(reg->newest != NULL ? &reg->newest->next : &reg->oldest) = e;
	reg->newest = e;
	e->peer_prev = a->newest;
	*(a->newest != NULL ? &a->newest->peer_next : &a->oldest) = e;
	a->newest = e;
	reg->n_unauth++;
	a->unauthenticated++;
	strmap_put(&reg->sessions, session_id(s), e);
	metrics_connection(session_role(s), +1);
}

void registry_left_handshake(struct registry *reg, struct session *s, bool logged_in)
{
	struct registry_entry *e = strmap_get(&reg->sessions, session_id(s));

	if (e == NULL || e->s != s || !e->waiting)
		return;
	registry_unlink_waiting(reg, e);
	if (logged_in) {
		e->authenticated = true;
		reg->n_conns[session_role(s)]++;
		e->peer->authenticated++;
	}
}

void registry_remove(struct registry *reg, struct session *s)
{
	struct registry_entry *e = strmap_get(&reg->sessions, session_id(s));
	struct peer_count *a;

	if (e == NULL || e->s != s)
		return;
	strmap_del(&reg->sessions, session_id(s));
	registry_unlink_waiting(reg, e);
	a = e->peer;
	if (e->authenticated) {
		reg->n_conns[session_role(s)]--;
		a->authenticated--;
	}
	metrics_connection(session_role(s), -1);
	if (--a->sessions == 0) {
		strmap_del(&reg->addresses, a->addr);
		free(a->addr);
		free(a);
	}
	free(e);
}

struct session *registry_session(const struct registry *reg, const char *sid)
{
	const struct registry_entry *e = strmap_get(&reg->sessions, sid);
	return e != NULL ? e->s : NULL;
}

size_t registry_count(const struct registry *reg)
{
	return strmap_count(&reg->sessions);
}

void registry_each(const struct registry *reg, void (*fn)(void *arg, struct session *s),
		   void *arg)
{
	const char *k;
	void *v;

	for (size_t it = 0; strmap_next(&reg->sessions, &it, &k, &v);)
		fn(arg, ((struct registry_entry *)v)->s);
}

struct session *registry_any(const struct registry *reg)
{
	const char *k;
	void *v;
	size_t it = 0;

	return strmap_next(&reg->sessions, &it, &k, &v) ? ((struct registry_entry *)v)->s : NULL;
}

const char *registry_login_over_limit(const struct registry *reg, const struct session *s,
				      const struct sb_config *cfg, char *buf, size_t len)
{
	const struct registry_entry *e = strmap_get(&reg->sessions, session_id(s));
	enum session_role role = session_role(s);
	int64_t max = role == SESSION_GATEWAY ? cfg->max_gateway_connections
					      : cfg->max_agent_connections;

	if (e == NULL || e->authenticated)
		return NULL;
	if ((int64_t)reg->n_conns[role] >= max)
		snprintf(buf, len, "too many %s connections (limits.%s: %" PRId64 ")",
			 role == SESSION_GATEWAY ? "gateway" : "agent",
			 role == SESSION_GATEWAY ? "max_gateway_connections"
						 : "max_agent_connections",
			 max);
	else if ((int64_t)e->peer->authenticated >= cfg->max_connections_per_address)
		snprintf(buf, len,
			 "too many connections from %s (limits.max_connections_per_address: %" PRId64
			 ")",
			 e->peer->addr, cfg->max_connections_per_address);
	else
		return NULL;
	return buf;
}

/* Making room at the cap. Closing the oldest connection that has not
 * logged in, rather than refusing the newest, is what keeps real clients
 * in: idle sockets held open (and reopened as they time out) would
 * otherwise fill the budget for good and turn every newcomer away, while a
 * real client says Hello within a round trip or two and is out of the
 * budget long before it becomes the oldest. To push real clients out
 * instead, an attacker must open connections faster than they log in, for
 * the whole budget and from many addresses (the per-address budget makes
 * one address evict only its own). When the oldest has not had
 * REGISTRY_EVICT_MIN_MS yet, the newcomer is the one refused. */
struct session *registry_unauthenticated_victim(const struct registry *reg, struct session *s,
						const struct sb_config *cfg, int64_t now_ms,
						char *buf, size_t len)
{
	const struct registry_entry *e = strmap_get(&reg->sessions, session_id(s));
	const struct registry_entry *old;
	char limit[160];

	if (e == NULL || !e->waiting)
		return NULL;
	if ((int64_t)e->peer->unauthenticated > cfg->max_unauthenticated_per_address) {
		old = e->peer->oldest;
		snprintf(limit, sizeof limit,
			 "too many connections from %s that have not logged in "
			 "(limits.max_unauthenticated_per_address: %" PRId64 ")",
			 e->peer->addr, cfg->max_unauthenticated_per_address);
	} else if ((int64_t)reg->n_unauth > cfg->max_unauthenticated) {
		old = reg->oldest;
		snprintf(limit, sizeof limit,
			 "too many connections that have not logged in "
			 "(limits.max_unauthenticated: %" PRId64 ")",
			 cfg->max_unauthenticated);
	} else {
		return NULL;
	}
	if (old == NULL || old == e || now_ms - old->since_ms < REGISTRY_EVICT_MIN_MS) {
		snprintf(buf, len, "%s; retry later", limit);
		return s;
	}
	snprintf(buf, len, "%s: closed to make room after %" PRId64 " ms without Hello", limit,
		 now_ms - old->since_ms);
	return old->s;
}

struct session *registry_agent(const struct registry *reg, const char *agent_id)
{
	const struct agent_binding *b = strmap_get(&reg->agents, agent_id);
	return b != NULL ? b->s : NULL;
}

void registry_bind_agent(struct registry *reg, const char *agent_id, struct session *s)
{
	struct agent_binding *b = strmap_get(&reg->agents, agent_id);

	if (b == NULL) {
		b = xcalloc(1, sizeof *b);
		b->id = xstrdup(agent_id);
		strmap_put(&reg->agents, b->id, b);
	}
	b->s = s;
}

void registry_unbind_agent(struct registry *reg, const char *agent_id, struct session *s)
{
	struct agent_binding *b = strmap_get(&reg->agents, agent_id);

	if (b != NULL && b->s == s) {
		strmap_del(&reg->agents, agent_id);
		free(b->id);
		free(b);
	}
}

struct session *registry_gateway(const struct registry *reg, const char *gateway_id)
{
	const struct gateway_sessions *g = strmap_get(&reg->gateways, gateway_id);
	return g && g->n ? g->v[0] : NULL;
}

void registry_bind_gateway(struct registry *reg, const char *gateway_id, struct session *s)
{
	struct gateway_sessions *g = strmap_get(&reg->gateways, gateway_id);

	if (g == NULL) {
		g = xcalloc(1, sizeof *g);
		g->id = xstrdup(gateway_id);
		strmap_put(&reg->gateways, g->id, g);
	}
	g->v = xreallocarray(g->v, g->n + 1, sizeof *g->v);
	memmove(g->v + 1, g->v, g->n * sizeof *g->v);
	g->v[0] = s;
	g->n++;
}

void registry_unbind_gateway(struct registry *reg, const char *gateway_id, struct session *s)
{
	struct gateway_sessions *g = gateway_id ? strmap_get(&reg->gateways, gateway_id) : NULL;

	for (size_t i = 0; g != NULL && i < g->n; i++)
		if (g->v[i] == s) {
			memmove(g->v + i, g->v + i + 1, (g->n - i - 1) * sizeof *g->v);
			g->n--;
			return;
		}
}

struct turn_away {
	const struct sb_config *cfg;
	const struct engine *e;
};

static void registry_turn_away_one(void *arg, struct session *s)
{
	const struct turn_away *t = arg;
	const char *id = session_client_id(s);

	if (id == NULL || !session_is_active(s))
		return;
	if (session_role(s) == SESSION_AGENT && engine_agent(t->e, id) == NULL) {
		session_send_error(s, 0, SB_ERR_FORBIDDEN,
				   "removed from the roster by a configuration reload");
		session_close(s, "agent removed from the roster", true);
	} else if (session_role(s) == SESSION_GATEWAY && config_gateway(t->cfg, id) == NULL) {
		session_send_error(s, 0, SB_ERR_UNAUTHENTICATED,
				   "gateway removed by a configuration reload");
		session_close(s, "gateway removed from the configuration", true);
	}
}

void registry_turn_away_removed(struct registry *reg, const struct sb_config *cfg,
				const struct engine *e)
{
	struct turn_away t = { cfg, e };
	registry_each(reg, registry_turn_away_one, &t);
}
