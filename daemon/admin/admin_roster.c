/* Roster changes and forced agent states over the admin API.
 *
 * Durability: a change is applied to the engine (which validates it), then
 * written to the agent's Redis hash (`roster` = the definition as JSON,
 * `roster_removed` = 0/1, docs/redis.md) with an event, and answered only
 * when Redis acknowledges. If the store is not ready nothing is changed and
 * the answer is 503. If Redis fails after the write was sent, the change
 * stays in force and the store replays the write when Redis is back (it
 * keeps failed writes in order); the answer is then 503 saying so. */
#include "admin/admin_internal.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "util/json_out.h"
#include "util/json_parse.h"
#include "admin/roster.h"
#include "config/config.h"
#include "engine/engine.h"
#include "util/err.h"
#include "util/log.h"
#include "server.h"
#include "store/store.h"
#include "util/xalloc.h"

/* An API change kept over the configuration: a definition, or (a NULL) a
 * removal. Owner: adm->overrides. */
struct override {
	char *id; /* the map key */
	struct roster_agent *a;
};

/* The roster shown: the configuration's, with the API's changes over it. */
static void admin_roster_fill(struct admin *adm, const struct sb_config *cfg)
{
	const char *k;
	void *v;

	strmap_init(&adm->roster);
	for (size_t i = 0; i < cfg->n_agents; i++) {
		struct roster_agent *a = roster_agent_from_conf(&cfg->agents[i]);
		strmap_put(&adm->roster, a->id, a);
	}
	for (size_t it = 0; strmap_next(&adm->overrides, &it, &k, &v);) {
		const struct override *o = v;
		roster_agent_free(strmap_del(&adm->roster, k));
		if (o->a != NULL) {
			struct roster_agent *a = roster_agent_copy(o->a);
			strmap_put(&adm->roster, a->id, a);
		}
	}
}

static void admin_roster_free_map(struct admin *adm)
{
	const char *k;
	void *v;

	for (size_t it = 0; strmap_next(&adm->roster, &it, &k, &v);)
		roster_agent_free(v);
	strmap_free(&adm->roster);
}

static void admin_override_free(struct override *o)
{
	if (o == NULL)
		return;
	roster_agent_free(o->a);
	free(o->id);
	free(o);
}

void admin_roster_init(struct admin *adm)
{
	strmap_init(&adm->overrides);
	admin_roster_fill(adm, server_config(adm->srv));
}

void admin_roster_clear(struct admin *adm)
{
	const char *k;
	void *v;

	admin_roster_free_map(adm);
	for (size_t it = 0; strmap_next(&adm->overrides, &it, &k, &v);)
		admin_override_free(v);
	strmap_free(&adm->overrides);
}

/* Records an API change (a NULL: a removal) so a reload keeps it. */
static void admin_override(struct admin *adm, const char *id, const struct roster_agent *a)
{
	struct override *o = xcalloc(1, sizeof *o);

	o->id = xstrdup(id);
	o->a = a != NULL ? roster_agent_copy(a) : NULL;
	admin_override_free(strmap_del(&adm->overrides, id));
	strmap_put(&adm->overrides, o->id, o);
}

const struct roster_agent *admin_roster_get(struct admin *adm, const char *id)
{
	return strmap_get(&adm->roster, id);
}

/* Replaces (or, with a NULL, drops) the definition kept for id; it is an
 * override of the configuration from now on. */
static void admin_roster_set(struct admin *adm, const char *id, struct roster_agent *a)
{
	admin_override(adm, id, a);
	struct roster_agent *old = strmap_del(&adm->roster, id);

	roster_agent_free(old);
	if (a != NULL)
		strmap_put(&adm->roster, a->id, a);
}

static int admin_roster_apply_to(struct admin *adm, struct engine *e,
				 const struct roster_agent *a, bool add, const char **why);

/* Applies a to the engine: add when new, else update. */
static int admin_roster_apply(struct admin *adm, const struct roster_agent *a, bool add,
                              const char **why)
{
	return admin_roster_apply_to(adm, server_engine(adm->srv), a, add, why);
}

int admin_roster_reapply(struct admin *adm, struct engine *e, const char **why)
{
	const char *k;
	void *v;
	int rc = 0;

	for (size_t it = 0; rc == 0 && strmap_next(&adm->overrides, &it, &k, &v);) {
		const struct override *o = v;
		if (o->a == NULL) {
			if (engine_agent(e, k) != NULL)
				rc = engine_agent_remove(e, k, server_now_ms(adm->srv), why);
			continue;
		}
		rc = admin_roster_apply_to(adm, e, o->a, engine_agent(e, k) == NULL, why);
	}
	return rc;
}

void admin_roster_reset(struct admin *adm, const struct sb_config *cfg)
{
	admin_roster_free_map(adm);
	admin_roster_fill(adm, cfg);
}

static int admin_roster_apply_to(struct admin *adm, struct engine *e,
				 const struct roster_agent *a, bool add, const char **why)
{
	struct engine_skill_level *skills = xcalloc(a->n_skills + 1, sizeof *skills);
	struct engine_agent_def d;
	int rc;

	roster_agent_def(a, &d, skills);
	rc = add ? engine_agent_add(e, &d, NULL, why)
	         : engine_agent_update(e, &d, server_now_ms(adm->srv), why);
	free(skills);
	server_engine_touched(adm->srv);
	return rc;
}

int admin_roster_restore(struct admin *adm, const char *agent_id, const char *roster_json,
                         bool removed, const char **why)
{
	struct engine *e = server_engine(adm->srv);
	static char err[200];
	struct roster_agent *a;
	int rc;

	if (removed) {
		if (engine_agent(e, agent_id) == NULL)
			return 0;
		rc = engine_agent_remove(e, agent_id, server_now_ms(adm->srv), why);
		if (rc == 0)
			admin_roster_set(adm, agent_id, NULL);
		server_engine_touched(adm->srv);
		return rc;
	}
	a = roster_agent_parse(roster_json, strlen(roster_json), err, sizeof err);
	if (a == NULL) {
		*why = err;
		return SB_ERR_INVALID_ARGUMENT;
	}
	if (strcmp(a->id, agent_id) != 0) {
		roster_agent_free(a);
		*why = "the roster definition names another agent";
		return SB_ERR_INVALID_ARGUMENT;
	}
	rc = admin_roster_apply(adm, a, engine_agent(e, agent_id) == NULL, why);
	if (rc != 0) {
		roster_agent_free(a);
		return rc;
	}
	admin_roster_set(adm, agent_id, a);
	return 0;
}

/* A request waiting for Redis. Owner: the store callback frees it. */
struct admin_pending {
	struct admin *adm;
	struct evhttp_request *req;
	int status;          /* on success */
	struct evbuffer *ok; /* the body on success */
};

static void admin_on_written(void *arg, int err)
{
	struct admin_pending *p = arg;

	if (err == 0) {
		admin_reply(p->req, p->status, p->ok);
	} else {
		evbuffer_free(p->ok);
		admin_error(p->req, 503, "STORE_UNAVAILABLE",
		            "Redis did not acknowledge; the change is in force and is written "
		            "when Redis is back");
	}
	free(p);
}

/* Writes the agent's roster fields and event; answers status + ok once
 * Redis acknowledges. Returns 0, or SB_ERR_STORE_UNAVAILABLE (nothing sent,
 * ok still the caller's). */
static int admin_roster_persist(struct admin_req *r, const char *id, const struct roster_agent *a,
                                const char *change, int status, struct evbuffer *ok)
{
	struct server *srv = r->adm->srv;
	struct evbuffer *json = evbuffer_new();
	struct admin_pending *p = xcalloc(1, sizeof *p);
	struct json_out j;
	char ts[24];
	int rc;

	if (a != NULL) {
		json_init(&j, json);
		roster_agent_write(&j, a);
	}
	evbuffer_add(json, "", 1); /* NUL-terminate */
	snprintf(ts, sizeof ts, "%" PRId64, server_now_ms(srv));
	struct store_field f[] = {
	    {"roster_removed", a == NULL ? "1" : "0", 0},
	    {"updated_ms", ts, 0},
	    {"roster", (const char *)evbuffer_pullup(json, -1), 0},
	};
	struct store_field ev[] = {
	    {"event", "roster", 0},
	    {"agent", id, 0},
	    {"change", change, 0},
	};
	struct store_write w = {
	    .kind = STORE_AGENT,
	    .id = id,
	    .zop = STORE_ZNONE,
	    .fields = f,
	    .n_fields = a != NULL ? 3 : 2,
	    .event = ev,
	    .n_event = 3,
	    .roster = true,
	};
	p->adm = r->adm;
	p->req = r->req;
	p->status = status;
	p->ok = ok;
	rc = store_write(server_store(srv), &w, admin_on_written, p);
	evbuffer_free(json);
	if (rc != 0)
		free(p);
	return rc;
}

static bool admin_store_ready(struct admin_req *r)
{
	enum store_state st = store_state(server_store(r->adm->srv));

	if (st == STORE_READY)
		return true;
	admin_error(r->req, 503, "STORE_UNAVAILABLE", "Redis is %s: nothing was changed",
	            store_state_name(st));
	return false;
}

/* The definition as the API shows it: stored form plus the effective tier. */
static struct evbuffer *admin_roster_body(struct admin *adm, const struct roster_agent *a)
{
	struct evbuffer *b = evbuffer_new();
	struct json_out j;

	json_init(&j, b);
	admin_roster_write_agent(&j, a);
	return b;
}

void admin_roster_write_agent(struct json_out *j, const struct roster_agent *a)
{
	roster_agent_write(j, a);
}

struct admin_list_ctx {
	struct admin *adm;
	struct json_out *j;
};

static void admin_list_one(void *arg, const struct engine_agent_view *v)
{
	struct admin_list_ctx *c = arg;
	const struct roster_agent *a = admin_roster_get(c->adm, v->id);

	if (a != NULL) {
		admin_roster_write_agent(c->j, a);
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
	engine_each_agent(server_engine(r->adm->srv), admin_list_one, &c);
	json_arr_close(&j);
	json_obj_close(&j);
	admin_reply(r->req, 200, b);
}

void admin_route_roster_create(struct admin_req *r)
{
	struct engine *e = server_engine(r->adm->srv);
	struct jv *body = admin_body_json(r);
	struct roster_agent *a;
	const char *why = NULL;
	char err[200];

	if (body == NULL)
		return;
	a = roster_agent_from_json(body, NULL, err, sizeof err);
	jv_free(body);
	if (a == NULL) {
		admin_error(r->req, 400, "INVALID_ARGUMENT", "%s", err);
		return;
	}
	if (engine_agent(e, a->id) != NULL) {
		admin_error(
		    r->req, 409, "CONFLICT",
		    "agent \"%s\" is already in the roster (PATCH /v1/roster/%s changes it)", a->id,
		    a->id);
		roster_agent_free(a);
		return;
	}
	if (!admin_store_ready(r)) {
		roster_agent_free(a);
		return;
	}
	if (admin_roster_apply(r->adm, a, true, &why) != 0) {
		admin_error(r->req, 400, "INVALID_ARGUMENT", "%s", why);
		roster_agent_free(a);
		return;
	}
	struct evbuffer *ok = admin_roster_body(r->adm, a);
	if (admin_roster_persist(r, a->id, a, "created", 201, ok) != 0) {
		engine_agent_remove(e, a->id, server_now_ms(r->adm->srv), &why);
		server_engine_touched(r->adm->srv);
		evbuffer_free(ok);
		roster_agent_free(a);
		admin_error(r->req, 503, "STORE_UNAVAILABLE",
		            "Redis is unavailable: nothing was changed");
		return;
	}
	log_info("admin: agent %s added to the roster", a->id);
	admin_roster_set(r->adm, a->id, a);
}

void admin_route_roster_patch(struct admin_req *r)
{
	struct admin *adm = r->adm;
	const struct roster_agent *base = admin_roster_get(adm, r->param);
	struct roster_agent *a, *old;
	const char *why = NULL;
	struct jv *body;
	char err[200];

	if (base == NULL || engine_agent(server_engine(adm->srv), r->param) == NULL) {
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
	if (!admin_store_ready(r)) {
		roster_agent_free(a);
		return;
	}
	if (admin_roster_apply(adm, a, false, &why) != 0) {
		admin_error(r->req, 400, "INVALID_ARGUMENT", "%s", why);
		roster_agent_free(a);
		return;
	}
	struct evbuffer *ok = admin_roster_body(adm, a);
	if (admin_roster_persist(r, a->id, a, "updated", 200, ok) != 0) {
		old = roster_agent_copy(base);
		admin_roster_apply(adm, old, false, &why);
		roster_agent_free(old);
		evbuffer_free(ok);
		roster_agent_free(a);
		admin_error(r->req, 503, "STORE_UNAVAILABLE",
		            "Redis is unavailable: nothing was changed");
		return;
	}
	log_info("admin: agent %s changed in the roster", a->id);
	admin_roster_set(adm, a->id, a);
}

void admin_route_roster_delete(struct admin_req *r)
{
	struct admin *adm = r->adm;
	struct engine *e = server_engine(adm->srv);
	const struct engine_agent_view *v = engine_agent(e, r->param);
	const struct roster_agent *def;
	const char *why = NULL;
	char id[80];
	int rc;

	if (v == NULL) {
		admin_error(r->req, 404, "NOT_FOUND", "no agent \"%.64s\" in the roster", r->param);
		return;
	}
	snprintf(id, sizeof id, "%s", v->id);
	if (!admin_store_ready(r))
		return;
	rc = engine_agent_remove(e, id, server_now_ms(adm->srv), &why);
	server_engine_touched(adm->srv);
	if (rc != 0) {
		admin_error_err(r->req, rc, why);
		return;
	}
	struct evbuffer *ok = evbuffer_new();
	struct json_out j;
	json_init(&j, ok);
	json_obj_open(&j);
	json_kstr(&j, "removed", id);
	json_obj_close(&j);
	if (admin_roster_persist(r, id, NULL, "removed", 200, ok) != 0) {
		/* put it back as it was */
		def = admin_roster_get(adm, id);
		if (def != NULL)
			admin_roster_apply(adm, def, true, &why);
		evbuffer_free(ok);
		admin_error(r->req, 503, "STORE_UNAVAILABLE",
		            "Redis is unavailable: nothing was changed");
		return;
	}
	log_info("admin: agent %s removed from the roster", id);
	admin_roster_set(adm, id, NULL);
}

/* Whether s has no control characters: a reason reaches log lines, the
 * agent's client and Redis. */
static bool admin_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* POST /v1/agents/{id}/state {"state": "available"|"break"|"offline",
 * "reason": "..."}: a supervisor sets an agent's state. The engine's
 * agent_state write records it; an empty write after it, answered in order,
 * tells us when Redis has it. */
void admin_route_agent_force_state(struct admin_req *r)
{
	struct admin *adm = r->adm;
	struct engine *e = server_engine(adm->srv);
	const struct engine_agent_view *v = engine_agent(e, r->param);
	const struct jv *st, *rs;
	const char *why = NULL, *reason = "";
	enum engine_agent_state state;
	struct jv *body;
	int rc;

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
		if (rs->type != JV_STRING || strlen(rs->str) > 64 || !admin_printable(rs->str)) {
			admin_error(r->req, 400, "INVALID_ARGUMENT",
			            "reason must be at most 64 printable bytes");
			goto out;
		}
		reason = rs->str;
	}
	if (state == AGENT_BREAK && reason[0] == '\0')
		reason = "supervisor";
	if (!admin_store_ready(r))
		goto out;
	rc = engine_agent_set_state(e, v->id, state, reason, server_now_ms(adm->srv), &why);
	server_engine_touched(adm->srv);
	if (rc != 0) {
		admin_error_err(r->req, rc, why != NULL ? why : "refused");
		goto out;
	}
	log_info("admin: agent %s forced to %s%s%s", v->id, st->str, reason[0] ? " " : "", reason);
	struct evbuffer *ok = evbuffer_new();
	struct json_out j;
	json_init(&j, ok);
	json_obj_open(&j);
	json_kstr(&j, "id", v->id);
	json_kstr(&j, "state", engine_agent_state_name(v->state));
	json_kstr(&j, "reason", v->reason);
	json_obj_close(&j);
	struct admin_pending *p = xcalloc(1, sizeof *p);
	*p = (struct admin_pending){adm, r->req, 200, ok};
	struct store_write w = {.kind = STORE_AGENT, .id = v->id, .zop = STORE_ZNONE};
	if (store_write(server_store(adm->srv), &w, admin_on_written, p) != 0) {
		free(p);
		evbuffer_free(ok);
		admin_error(
		    r->req, 503, "STORE_UNAVAILABLE",
		    "Redis went away: the state is in force and is written when it is back");
	}
out:
	jv_free(body);
}
