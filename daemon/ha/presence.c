/* Agent presence: see presence.h. */
#include "ha/presence.h"

#include <event2/event.h>
#include <stdlib.h>

#include "engine/engine.h"
#include "util/log.h"
#include "router/router.h"
#include "util/strmap.h"
#include "util/xalloc.h"

/* One agent's grace period. Owner: the presence map. */
struct grace {
	struct presence *p;
	char *agent_id; /* the map key */
	struct event *timer;
};

struct presence {
	struct event_base *base;
	struct router *router;
	int64_t grace_ms;
	struct strmap graces; /* agent id -> grace */
};

static void presence_grace_free(struct presence *p, struct grace *g)
{
	strmap_del(&p->graces, g->agent_id);
	event_free(g->timer);
	free(g->agent_id);
	free(g);
}

static void presence_logout(struct presence *p, const char *agent_id)
{
	router_agent_logout(p->router, agent_id);
}

static void presence_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct grace *g = arg;
	struct presence *p = g->p;
	char *id = xstrdup(g->agent_id);

	presence_grace_free(p, g);
	log_info("agent %s: not back within %lld ms; logged out", id, (long long)p->grace_ms);
	presence_logout(p, id);
	free(id);
}

struct presence *presence_new(struct event_base *base, struct router *r, int64_t grace_ms)
{
	struct presence *p = xcalloc(1, sizeof *p);

	p->base = base;
	p->router = r;
	p->grace_ms = grace_ms;
	strmap_init(&p->graces);
	return p;
}

void presence_clear(struct presence *p)
{
	const char *k;
	void *v;

	while (strmap_count(&p->graces) > 0) {
		size_t it = 0;
		strmap_next(&p->graces, &it, &k, &v);
		presence_grace_free(p, v);
	}
}

void presence_free(struct presence *p)
{
	if (p == NULL)
		return;
	presence_clear(p);
	strmap_free(&p->graces);
	free(p);
}

void presence_lost(struct presence *p, const char *agent_id)
{
	const struct engine_agent_view *a = engine_agent(router_engine(p->router), agent_id);

	if (a == NULL || !a->logged_in)
		return;
	if (p->grace_ms == 0) {
		presence_logout(p, agent_id);
		return;
	}
	router_agent_detach(p->router, agent_id);
	if (strmap_get(&p->graces, agent_id) != NULL)
		return;
	struct grace *g = xcalloc(1, sizeof *g);
	g->p = p;
	g->agent_id = xstrdup(agent_id);
	g->timer = evtimer_new(p->base, presence_on_timer, g);
	strmap_put(&p->graces, g->agent_id, g);
	struct timeval tv = { p->grace_ms / 1000, (p->grace_ms % 1000) * 1000 };
	evtimer_add(g->timer, &tv);
}

void presence_back(struct presence *p, const char *agent_id)
{
	struct grace *g = strmap_get(&p->graces, agent_id);

	if (g != NULL)
		presence_grace_free(p, g);
}

void presence_set_grace(struct presence *p, int64_t grace_ms)
{
	p->grace_ms = grace_ms;
}
