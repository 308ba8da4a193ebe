/* The route table and the read-only handlers: health, status, queues,
 * agents, contacts, config. Roster changes and forced states are in
 * admin_roster.c, /metrics in admin_metrics.c. */
#include "admin/admin_internal.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "util/json_out.h"
#include "record/roster.h"
#include "config/config.h"
#include "config/config_json.h"
#include "engine/engine.h"
#include "util/log.h"
#include "metrics.h"
#include "router/router.h"
#include "store/store.h"

static void admin_route_healthz(struct admin_req *r);
static void admin_route_readyz(struct admin_req *r);
static void admin_route_status(struct admin_req *r);
static void admin_route_queues(struct admin_req *r);
static void admin_route_queue(struct admin_req *r);
static void admin_route_agents(struct admin_req *r);
static void admin_route_agent(struct admin_req *r);
static void admin_route_contact(struct admin_req *r);
static void admin_route_contacts(struct admin_req *r);
static void admin_route_config(struct admin_req *r);
static void admin_route_reload(struct admin_req *r);

/* Method, path ("{}" = one segment), whether it changes state (bearer
 * token), handler. The first route whose path and method match serves. */
const struct admin_route admin_routes[] = {
    {EVHTTP_REQ_GET, "/healthz", false, admin_route_healthz},
    {EVHTTP_REQ_GET, "/readyz", false, admin_route_readyz},
    {EVHTTP_REQ_GET, "/metrics", false, admin_metrics_handler},
    {EVHTTP_REQ_GET, "/v1/status", false, admin_route_status},
    {EVHTTP_REQ_GET, "/v1/queues", false, admin_route_queues},
    {EVHTTP_REQ_GET, "/v1/queues/{}", false, admin_route_queue},
    {EVHTTP_REQ_GET, "/v1/agents", false, admin_route_agents},
    {EVHTTP_REQ_GET, "/v1/agents/{}", false, admin_route_agent},
    {EVHTTP_REQ_POST, "/v1/agents/{}/state", true, admin_route_agent_force_state},
    {EVHTTP_REQ_GET, "/v1/contacts", false, admin_route_contacts},
    {EVHTTP_REQ_GET, "/v1/contacts/{}", false, admin_route_contact},
    {EVHTTP_REQ_POST, "/v1/contacts/{}/requeue", true, admin_route_contact_requeue},
    {EVHTTP_REQ_POST, "/v1/contacts/{}/close", true, admin_route_contact_close},
    {EVHTTP_REQ_GET, "/v1/roster", false, admin_route_roster_list},
    {EVHTTP_REQ_POST, "/v1/roster", true, admin_route_roster_create},
    {EVHTTP_REQ_PATCH, "/v1/roster/{}", true, admin_route_roster_patch},
    {EVHTTP_REQ_DELETE, "/v1/roster/{}", true, admin_route_roster_delete},
    {EVHTTP_REQ_GET, "/v1/config", false, admin_route_config},
    {EVHTTP_REQ_POST, "/v1/reload", true, admin_route_reload},
    {EVHTTP_REQ_GET, "/", false, admin_route_wallboard_page},
    {EVHTTP_REQ_GET, "/wallboard", false, admin_route_wallboard_page},
    {EVHTTP_REQ_GET, "/wallboard.css", false, admin_route_wallboard_css},
    {EVHTTP_REQ_GET, "/wallboard.js", false, admin_route_wallboard_js},
    {EVHTTP_REQ_GET, "/v1/wallboard", false, admin_route_wallboard_json},
    {EVHTTP_REQ_GET, "/v1/wallboard/events", false, admin_route_wallboard_events},
};
const size_t admin_routes_len = sizeof admin_routes / sizeof admin_routes[0];

/* A new body with an open JSON writer. */
static struct evbuffer *admin_body(struct json_out *j)
{
	struct evbuffer *b = evbuffer_new();

	json_init(j, b);
	return b;
}

static void admin_route_healthz(struct admin_req *r)
{
	struct json_out j;
	struct evbuffer *b = admin_body(&j);

	json_obj_open(&j);
	json_kstr(&j, "status", "ok");
	json_obj_close(&j);
	admin_reply(r->req, 200, b);
}

/* Ready = the store is READY: the daemon can acknowledge work. (Once HA
 * exists, also: this daemon holds the leader lease.) */
/* Ready = this daemon serves clients: it leads, has loaded its state and
 * Redis answers. A standby is healthy but not ready (load balancers and
 * orchestrators send traffic to the leader only). */
static void admin_route_readyz(struct admin_req *r)
{
	struct admin *adm_ = r->adm;
	enum store_state st = store_state(adm_->env.store);
	bool ready = st == STORE_READY && router_serving(adm_->env.router);
	struct json_out j;
	struct evbuffer *b = admin_body(&j);
	char reason[96];

	json_obj_open(&j);
	json_kbool(&j, "ready", ready);
	json_kstr(&j, "store", store_state_name(st));
	json_kstr(&j, "role", adm_->env.role_name(adm_->env.ctx));
	if (!ready) {
		if (st != STORE_READY)
			snprintf(reason, sizeof reason, "store is %s", store_state_name(st));
		else
			snprintf(reason, sizeof reason, "this daemon is %s", adm_->env.role_name(adm_->env.ctx));
		json_kstr(&j, "reason", reason);
		if (adm_->env.leader_address(adm_->env.ctx, true)[0] != '\0')
			json_kstr(&j, "leader", adm_->env.leader_address(adm_->env.ctx, true));
	}
	json_obj_close(&j);
	admin_reply(r->req, ready ? 200 : 503, b);
}

struct admin_agent_count {
	size_t total, logged_in, by_state[3];
};

static void admin_count_agent(void *arg, const struct engine_agent_view *a)
{
	struct admin_agent_count *c = arg;

	c->total++;
	if (a->logged_in) {
		c->logged_in++;
		c->by_state[a->state]++;
	}
}

static void admin_route_status(struct admin_req *r)
{
	struct admin *adm_ = r->adm;
	const struct sb_config *cfg = router_config(adm_->env.router);
	const struct engine *e = router_engine(adm_->env.router);
	const struct metrics *m = r->adm->metrics;
	int64_t now = router_now_ms();
	struct admin_agent_count c = {0};
	struct json_out j;
	struct evbuffer *b = admin_body(&j);

	engine_each_agent(e, admin_count_agent, &c);
	json_obj_open(&j);
	json_kstr(&j, "version", SB_VERSION);
	json_kstr(&j, "site", cfg->site);
	json_kint(&j, "started_ms", r->adm->started_ms);
	json_kint(&j, "uptime_s", (now - r->adm->started_ms) / 1000);
	json_kint(&j, "now_ms", now);
	json_kstr(&j, "store", store_state_name(store_state(adm_->env.store)));
	json_kstr(&j, "role", adm_->env.role_name(adm_->env.ctx));
	json_kstr(&j, "epoch", store_epoch(adm_->env.store));
	json_kuint(&j, "store_pending", store_pending(adm_->env.store));
	json_kuint(&j, "queues", engine_queue_count(e));
	json_kuint(&j, "waiting", engine_waiting_count(e));
	json_key(&j, "agents");
	json_obj_open(&j);
	json_kuint(&j, "roster", c.total);
	json_kuint(&j, "logged_in", c.logged_in);
	for (int s = 0; s < 3; s++)
		json_kuint(&j, engine_agent_state_name((enum engine_agent_state)s), c.by_state[s]);
	json_obj_close(&j);
	json_key(&j, "connections");
	json_obj_open(&j);
	json_kuint(&j, "gateway", m->connections[0]);
	json_kuint(&j, "agent", m->connections[1]);
	json_kuint(&j, "admin", m->admin_connections);
	json_obj_close(&j);
	json_obj_close(&j);
	admin_reply(r->req, 200, b);
}

/* -1 means "nothing to measure yet": null in JSON. */
static void admin_kmaybe(struct json_out *j, const char *key, double v)
{
	json_key(j, key);
	if (v < 0)
		json_null(j);
	else
		json_num(j, v);
}

static void admin_write_period(struct json_out *j, const struct engine_period_stats *p,
                               int target_pct)
{
	json_obj_open(j);
	json_kuint(j, "offered", p->offered);
	json_kuint(j, "answered", p->answered);
	json_kuint(j, "answered_in_sla", p->answered_in_sla);
	json_kuint(j, "abandoned", p->abandoned_in_sla + p->abandoned_after_sla);
	json_kuint(j, "abandoned_in_sla", p->abandoned_in_sla);
	json_kuint(j, "abandoned_after_sla", p->abandoned_after_sla);
	json_kuint(j, "expired", p->expired);
	json_kuint(j, "overflowed", p->overflowed);
	admin_kmaybe(j, "service_level", p->service_level);
	json_key(j, "meets_target");
	if (p->service_level < 0)
		json_null(j);
	else
		json_bool(j, p->service_level * 100.0 >= target_pct);
	admin_kmaybe(j, "asa_ms", p->asa_ms);
	admin_kmaybe(j, "aht_ms", p->aht_ms);
	json_obj_close(j);
}

static void admin_write_queue(struct json_out *j, const struct engine_queue_stats *q,
                              int64_t window_ms)
{
	json_obj_open(j);
	json_kstr(j, "name", q->queue);
	json_kstr(j, "channel", channel_name(q->channel));
	json_kuint(j, "waiting", q->waiting);
	json_kint(j, "longest_wait_ms", q->longest_wait_ms);
	json_kint(j, "sla_ms", q->sla_ms);
	json_kint(j, "target_pct", q->target_pct);
	json_kint(j, "window_ms", window_ms);
	json_key(j, "window");
	admin_write_period(j, &q->window, q->target_pct);
	json_key(j, "total");
	admin_write_period(j, &q->total, q->target_pct);
	json_obj_close(j);
}

static void admin_route_queues(struct admin_req *r)
{
	struct admin *adm_ = r->adm;
	const struct engine *e = router_engine(adm_->env.router);
	int64_t now = router_now_ms();
	struct json_out j;
	struct evbuffer *b = admin_body(&j);

	json_obj_open(&j);
	json_key(&j, "queues");
	json_arr_open(&j);
	for (size_t i = 0; i < engine_queue_count(e); i++) {
		struct engine_queue_stats q;
		if (engine_queue_stats(e, engine_queue_name(e, i), now, &q) == 0)
			admin_write_queue(&j, &q, router_config(adm_->env.router)->stats_window_ms);
	}
	json_arr_close(&j);
	json_obj_close(&j);
	admin_reply(r->req, 200, b);
}

static void admin_route_queue(struct admin_req *r)
{
	struct admin *adm_ = r->adm;
	struct engine_queue_stats q;
	struct json_out j;

	if (engine_queue_stats(router_engine(adm_->env.router), r->param, router_now_ms(), &q) != 0) {
		admin_error(r->req, 404, "NOT_FOUND", "no queue named \"%.64s\"", r->param);
		return;
	}
	struct evbuffer *b = admin_body(&j);
	admin_write_queue(&j, &q, router_config(adm_->env.router)->stats_window_ms);
	admin_reply(r->req, 200, b);
}

struct admin_agents_ctx {
	struct admin *adm;
	struct json_out *j;
	int64_t now;
};

void admin_json_agent_fields(struct admin *adm, struct json_out *j,
			     const struct engine_agent_view *a, int64_t now)
{
	const struct roster_agent *def =
	    adm != NULL ? router_roster_get(adm->env.router, a->id) : NULL;

	json_kstr(j, "id", a->id);
	json_kstr(j, "name", def != NULL ? def->name : a->id);
	json_kstr(j, "tier", a->tier);
	json_kstr(j, "reason", a->reason);
	json_kbool(j, "logged_in", a->logged_in);
	/* Logged in but its client is gone: inside its grace period, no offers. */
	json_kbool(j, "away", a->logged_in && a->detached);
	json_kuint(j, "handled", a->handled);
	json_key(j, "channels");
	json_obj_open(j);
	for (int ch = 0; ch < SB_CH_COUNT; ch++) {
		json_key(j, channel_name((enum sb_channel)ch));
		json_obj_open(j);
		json_kint(j, "load", a->load[ch]);
		json_kint(j, "capacity", a->capacity[ch]);
		json_obj_close(j);
	}
	json_obj_close(j);
}

static void admin_write_agent(struct admin *adm, struct json_out *j,
                              const struct engine_agent_view *a, int64_t now)
{
	json_obj_open(j);
	admin_json_agent_fields(adm, j, a, now);
	json_kstr(j, "state", engine_agent_state_name(a->state));
	json_kint(j, "time_in_state_ms", a->state_since_ms > 0 ? now - a->state_since_ms : 0);
	json_kint(j, "state_since_ms", a->state_since_ms);
	json_obj_close(j);
}

static void admin_agents_one(void *arg, const struct engine_agent_view *a)
{
	struct admin_agents_ctx *c = arg;

	admin_write_agent(c->adm, c->j, a, c->now);
}

static void admin_route_agents(struct admin_req *r)
{
	struct admin *adm_ = r->adm;
	struct json_out j;
	struct evbuffer *b = admin_body(&j);
	struct admin_agents_ctx c = {r->adm, &j, router_now_ms()};

	json_obj_open(&j);
	json_key(&j, "agents");
	json_arr_open(&j);
	engine_each_agent(router_engine(adm_->env.router), admin_agents_one, &c);
	json_arr_close(&j);
	json_obj_close(&j);
	admin_reply(r->req, 200, b);
}

static void admin_route_agent(struct admin_req *r)
{
	struct admin *adm_ = r->adm;
	const struct engine_agent_view *a = engine_agent(router_engine(adm_->env.router), r->param);
	struct json_out j;

	if (a == NULL) {
		admin_error(r->req, 404, "NOT_FOUND", "no agent \"%.64s\" in the roster", r->param);
		return;
	}
	struct evbuffer *b = admin_body(&j);
	admin_write_agent(r->adm, &j, a, router_now_ms());
	admin_reply(r->req, 200, b);
}

static void admin_write_explain(struct json_out *j, const struct engine_explain *x)
{
	json_obj_open(j);
	json_kstr(j, "queue", x->queue);
	json_kint(j, "step", x->step);
	json_kuint(j, "position", x->position);
	json_kint(j, "deadline_ms", x->deadline_ms);
	json_kint(j, "waited_ms", x->waited_ms);
	json_kuint(j, "eligible", x->eligible);
	json_key(j, "blocked");
	json_obj_open(j);
	json_kuint(j, "skill", x->blocked_skill);
	json_kuint(j, "tier", x->blocked_tier);
	json_kuint(j, "queue", x->blocked_queue);
	json_kuint(j, "state", x->blocked_state);
	json_kuint(j, "capacity", x->blocked_capacity);
	json_kuint(j, "penalty", x->blocked_penalty);
	json_kuint(j, "preferred", x->blocked_preferred);
	json_obj_close(j);
	json_obj_close(j);
}

static void admin_route_contact(struct admin_req *r)
{
	struct admin *adm_ = r->adm;
	const struct engine *e = router_engine(adm_->env.router);
	const struct engine_contact_view *c = engine_contact(e, r->param);
	int64_t now = router_now_ms();
	struct engine_explain x;
	const char *why = NULL;
	struct json_out j;

	if (c == NULL) {
		admin_error(r->req, 404, "NOT_FOUND",
		            "no live contact \"%.64s\" (finished contacts are in Redis)", r->param);
		return;
	}
	struct evbuffer *b = admin_body(&j);
	json_obj_open(&j);
	json_kstr(&j, "id", c->id);
	json_kstr(&j, "gateway", c->gateway_id);
	json_kstr(&j, "external_id", c->external_id);
	json_kstr(&j, "queue", c->queue);
	json_kstr(&j, "channel", channel_name(c->channel));
	json_kstr(&j, "customer_tier", c->customer_tier);
	json_kstr(&j, "state", engine_contact_state_name(c->state));
	json_kint(&j, "arrived_ms", c->arrived_ms);
	json_kint(&j, "waited_ms", now - c->arrived_ms);
	json_kint(&j, "deadline_ms", c->deadline_ms);
	json_kint(&j, "sla_ms", c->sla_ms);
	json_kbool(&j, "sla_breached", c->sla_breached);
	json_kint(&j, "step", c->step);
	json_kuint(&j, "position", engine_contact_position(e, c->id));
	json_kstr(&j, "agent", c->agent_id);
	json_kstr(&j, "offer_id", c->offer_id);
	if (c->offer_id != NULL)
		json_kint(&j, "offer_expires_ms", c->offer_expires_ms);
	if (c->assigned_ms > 0)
		json_kint(&j, "assigned_ms", c->assigned_ms);
	json_key(&j, "explain");
	if (engine_explain(e, c->id, now, &x, &why) == 0)
		admin_write_explain(&j, &x);
	else
		json_null(&j);
	json_obj_close(&j);
	admin_reply(r->req, 200, b);
}

static void admin_contacts_one(void *arg, const struct engine_contact_view *c)
{
	struct json_out *j = arg;

	json_obj_open(j);
	json_kstr(j, "id", c->id);
	json_kstr(j, "state", engine_contact_state_name(c->state));
	json_kstr(j, "queue", c->queue);
	json_kstr(j, "agent", c->agent_id);
	json_obj_close(j);
}

/* GET /v1/contacts: every open contact (waiting, offered, assigned) with its
 * state, queue and agent: the daemon's side of a comparison with Redis's
 * open set (a checker, an operator after an incident). */
static void admin_route_contacts(struct admin_req *r)
{
	struct json_out j;
	struct evbuffer *b = admin_body(&j);

	json_obj_open(&j);
	json_key(&j, "contacts");
	json_arr_open(&j);
	engine_each_contact(router_engine(r->adm->env.router), admin_contacts_one, &j);
	json_arr_close(&j);
	json_obj_close(&j);
	admin_reply(r->req, 200, b);
}

static void admin_route_config(struct admin_req *r)
{
	struct json_out j;
	struct evbuffer *b = admin_body(&j);

	config_write_json(&j, router_config(r->adm->env.router));
	admin_reply(r->req, 200, b);
}

/* POST /v1/reload: the same as `systemctl reload` (SIGHUP), which the
 * server's signal handler carries out on the loop; the outcome is logged.
 * 202: requested, not yet done. */
static void admin_route_reload(struct admin_req *r)
{
	struct json_out j;
	struct evbuffer *b = admin_body(&j);

	log_info("admin: reload requested");
	raise(SIGHUP);
	json_obj_open(&j);
	json_kstr(&j, "reload", "requested");
	json_obj_close(&j);
	admin_reply(r->req, 202, b);
}
