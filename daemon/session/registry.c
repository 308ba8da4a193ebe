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

/* Open connections from one peer address. Owner: the addresses map; freed
 * when its count drops to zero. */
struct peer_count {
	char *addr; /* the key */
	size_t n;
};

/* An agent id's session. Owner: the agents map. */
struct agent_binding {
	char *id; /* the key */
	struct session *s;
};

struct registry {
	struct strmap sessions;  /* sid -> session */
	struct strmap agents;    /* agent id -> agent_binding */
	struct strmap gateways;  /* gateway id -> gateway_sessions */
	struct strmap addresses; /* peer address without port -> peer_count */
	size_t n_conns[2];       /* by enum session_role */
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

/* Counts a session in or out of its role's and its address's totals. */
static void registry_count_session(struct registry *reg, struct session *s, bool in)
{
	char key[64];
	struct peer_count *a;

	registry_peer_address(session_peer(s), key, sizeof key);
	a = strmap_get(&reg->addresses, key);
	if (in) {
		reg->n_conns[session_role(s)]++;
		metrics_connection(session_role(s), +1);
		if (a == NULL) {
			a = xcalloc(1, sizeof *a);
			a->addr = xstrdup(key);
			strmap_put(&reg->addresses, a->addr, a);
		}
		a->n++;
		return;
	}
	reg->n_conns[session_role(s)]--;
	metrics_connection(session_role(s), -1);
	if (a != NULL && --a->n == 0) {
		strmap_del(&reg->addresses, a->addr);
		free(a->addr);
		free(a);
	}
}

void registry_add(struct registry *reg, struct session *s)
{
	strmap_put(&reg->sessions, session_id(s), s);
	registry_count_session(reg, s, true);
}

void registry_remove(struct registry *reg, struct session *s)
{
	if (strmap_get(&reg->sessions, session_id(s)) == s) {
		strmap_del(&reg->sessions, session_id(s));
		registry_count_session(reg, s, false);
	}
}

struct session *registry_session(const struct registry *reg, const char *sid)
{
	return strmap_get(&reg->sessions, sid);
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
		fn(arg, v);
}

struct session *registry_any(const struct registry *reg)
{
	const char *k;
	void *v;
	size_t it = 0;

	return strmap_next(&reg->sessions, &it, &k, &v) ? v : NULL;
}

const char *registry_over_limit(const struct registry *reg, const struct session *s,
				const struct sb_config *cfg, char *buf, size_t len)
{
	enum session_role role = session_role(s);
	int64_t max = role == SESSION_GATEWAY ? cfg->max_gateway_connections
					      : cfg->max_agent_connections;
	char key[64];
	const struct peer_count *a;

	registry_peer_address(session_peer(s), key, sizeof key);
	a = strmap_get(&reg->addresses, key);
	if ((int64_t)reg->n_conns[role] > max)
		snprintf(buf, len, "too many %s connections (limits.%s: %" PRId64 ")",
			 role == SESSION_GATEWAY ? "gateway" : "agent",
			 role == SESSION_GATEWAY ? "max_gateway_connections"
						 : "max_agent_connections",
			 max);
	else if (a != NULL && (int64_t)a->n > cfg->max_connections_per_address)
		snprintf(buf, len,
			 "too many connections from %s (limits.max_connections_per_address: %" PRId64
			 ")",
			 key, cfg->max_connections_per_address);
	else
		return NULL;
	return buf;
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
