/* Roster changes and forced agent states over the admin API.
 *
 * Durability: the router applies a change to the engine (which validates
 * it), records it in the agent's Redis hash with an event, and the answer
 * is sent once Redis has it. If the store is not writing, nothing is
 * changed and the answer is 503. If Redis stops answering after the change
 * was made, it stays in force and its write is sent again when Redis is
 * back; the answer is then 503 saying so. */
#include "admin/admin_internal.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "engine/engine.h"
#include "record/record.h"
#include "record/roster.h"
#include "router/router.h"
#include "util/err.h"
#include "util/json_out.h"
#include "util/json_parse.h"
#include "util/log.h"
#include "util/xalloc.h"

/* A request waiting for Redis. Owner: its answer, which frees it. */
struct admin_pending {
	struct evhttp_request *req;
	int status;          /* on success */
	struct evbuffer *ok; /* the body on success */
};

/* The router's answer: status + body once recorded, an error otherwise. */
static bool admin_on_answered(void *arg, int err, const char *why, const struct router_outcome *o)
{
	struct admin_pending *p = arg;

	if (err == 0) {
		admin_reply(p->req, p->status, p->ok);
	} else {
		evbuffer_free(p->ok);
		/* Refused up front, nothing changed; or made, and Redis did not
		 * answer in time (router_store_state): then it is in force. */
		if (err == SB_ERR_STORE_UNAVAILABLE)
			admin_error(p->req, 503, "STORE_UNAVAILABLE", "%s",
				    strstr(why, "acknowledge") != NULL
					    ? "Redis did not acknowledge in time; the change is in "
					      "force and is written when Redis is back"
					    : "Redis is unavailable: nothing was changed");
		else
			admin_error_err(p->req, err, why);
	}
	free(p);
	return true;
}

struct router_answer admin_answer(struct admin_req *r, int status, struct evbuffer *ok)
{
	struct admin_pending *p = xcalloc(1, sizeof *p);

	p->req = r->req;
	p->status = status;
	p->ok = ok;
	return (struct router_answer){ admin_on_answered, p, false };
}

/* The definition as the API shows it. */
static struct evbuffer *admin_roster_body(const struct roster_agent *a)
{
	struct evbuffer *b = evbuffer_new();
	struct json_out j;

	json_init(&j, b);
	roster_agent_write(&j, a);
	return b;
}

struct admin_list_ctx {
	struct admin *adm;
	struct json_out *j;
};

static void admin_list_one(void *arg, const struct engine_agent_view *v)
{
	struct admin_list_ctx *c = arg;
	const struct roster_agent *a = router_roster_get(c->adm->env.router, v->id);

	if (a != NULL) {
		roster_agent_write(c->j, a);
		return;
	}
	/* added behind the admin API's back: show what the engine knows */
	json_obj_open(c->j);
	json_kstr(c->j, "id", v->id);
	json_kstr(c->j, "tier", v->tier);
	json_obj_close(c->j);
}

void admin_route_roster_list(struct admin_req *r)
{
	struct evbuffer *b = evbuffer_new();
	struct json_out j;
	struct admin_list_ctx c = {r->adm, &j};

	json_init(&j, b);
	json_obj_open(&j);
	json_key(&j, "agents");
	json_arr_open(&j);
	engine_each_agent(router_engine(r->adm->env.router), admin_list_one, &c);
	json_arr_close(&j);
	json_obj_close(&j);
	admin_reply(r->req, 200, b);
}

/* Applies a definition (create or patch) through the router. */
static void admin_roster_change(struct admin_req *r, struct roster_agent *a, bool create)
{
	struct evbuffer *ok = admin_roster_body(a);
	struct router_answer ans = admin_answer(r, create ? 201 : 200, ok);
	char id[80];

	snprintf(id, sizeof id, "%s", a->id);
	router_roster_set(r->adm->env.router, id, a, create, &ans);
}

void admin_route_roster_create(struct admin_req *r)
{
	struct jv *body = admin_body_json(r);
	struct roster_agent *a;
	char err[200];

	if (body == NULL)
		return;
	a = roster_agent_from_json(body, NULL, err, sizeof err);
	jv_free(body);
	if (a == NULL) {
		admin_error(r->req, 400, "INVALID_ARGUMENT", "%s", err);
		return;
	}
	if (engine_agent(router_engine(r->adm->env.router), a->id) != NULL) {
		admin_error(
		    r->req, 409, "CONFLICT",
		    "agent \"%s\" is already in the roster (PATCH /v1/roster/%s changes it)", a->id,
		    a->id);
		roster_agent_free(a);
		return;
	}
	admin_roster_change(r, a, true);
}

void admin_route_roster_patch(struct admin_req *r)
{
	struct router *rt = r->adm->env.router;
	const struct roster_agent *base = router_roster_get(rt, r->param);
	struct roster_agent *a;
	struct jv *body;
	char err[200];

	if (base == NULL || engine_agent(router_engine(rt), r->param) == NULL) {
		admin_error(r->req, 404, "NOT_FOUND", "no agent \"%.64s\" in the roster", r->param);
		return;
	}
	if ((body = admin_body_json(r)) == NULL)
		return;
	a = roster_agent_from_json(body, base, err, sizeof err);
	jv_free(body);
	if (a == NULL) {
		admin_error(r->req, 400, "INVALID_ARGUMENT", "%s", err);
		return;
	}
	admin_roster_change(r, a, false);
}

void admin_route_roster_delete(struct admin_req *r)
{
	struct router *rt = r->adm->env.router;
	const struct engine_agent_view *v = engine_agent(router_engine(rt), r->param);
	char id[80];

	if (v == NULL) {
		admin_error(r->req, 404, "NOT_FOUND", "no agent \"%.64s\" in the roster", r->param);
		return;
	}
	snprintf(id, sizeof id, "%s", v->id);
	struct evbuffer *ok = evbuffer_new();
	struct json_out j;
	json_init(&j, ok);
	json_obj_open(&j);
	json_kstr(&j, "removed", id);
	json_obj_close(&j);
	struct router_answer ans = admin_answer(r, 200, ok);
	router_roster_set(rt, id, NULL, false, &ans);
}

/* POST /v1/agents/{id}/state {"state": "available"|"break"|"offline",
 * "reason": "..."}: a supervisor sets an agent's state, answered once Redis
 * has it (the agent is pushed StateChanged). */
void admin_route_agent_force_state(struct admin_req *r)
{
	struct admin *adm = r->adm;
	const struct engine *e = router_engine(adm->env.router);
	const struct engine_agent_view *v = engine_agent(e, r->param);
	const struct jv *st, *rs;
	const char *reason = "";
	enum engine_agent_state state;
	struct jv *body;

	if (v == NULL) {
		admin_error(r->req, 404, "NOT_FOUND", "no agent \"%.64s\" in the roster", r->param);
		return;
	}
	if ((body = admin_body_json(r)) == NULL)
		return;
	st = jv_get(body, "state");
	rs = jv_get(body, "reason");
	if (body->type != JV_OBJECT || st == NULL || st->type != JV_STRING) {
		admin_error(r->req, 400, "INVALID_ARGUMENT",
		            "the body must be {\"state\": \"available\"|\"break\"|\"offline\", "
		            "\"reason\": \"...\"}");
		goto out;
	}
	if (strcmp(st->str, "available") == 0)
		state = AGENT_AVAILABLE;
	else if (strcmp(st->str, "break") == 0)
		state = AGENT_BREAK;
	else if (strcmp(st->str, "offline") == 0)
		state = AGENT_OFFLINE;
	else {
		admin_error(r->req, 400, "INVALID_ARGUMENT",
		            "state must be available, break or offline");
		goto out;
	}
	if (rs != NULL && rs->type != JV_NULL) {
		if (rs->type != JV_STRING || !record_reason_ok(rs->str)) {
			admin_error(r->req, 400, "INVALID_ARGUMENT",
			            "reason must be at most %d printable bytes", RECORD_MAX_REASON);
			goto out;
		}
		reason = rs->str;
	}
	if (state == AGENT_BREAK && reason[0] == '\0')
		reason = "supervisor";
	struct evbuffer *ok = evbuffer_new();
	struct json_out j;
	json_init(&j, ok);
	json_obj_open(&j);
	json_kstr(&j, "id", v->id);
	json_kstr(&j, "state", st->str);
	json_kstr(&j, "reason", reason);
	json_obj_close(&j);
	log_info("admin: agent %s forced to %s%s%s", v->id, st->str, reason[0] ? " " : "", reason);
	struct router_answer ans = admin_answer(r, 200, ok);
	router_force_state(adm->env.router, v->id, state, reason, &ans);
out:
	jv_free(body);
}
