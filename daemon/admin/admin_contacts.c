/* A supervisor's requeue and close of a contact an agent holds, over the
 * admin API: for contacts left with an agent who is not coming back (after
 * a restart nobody logged back in from, say), which nothing else would ever
 * end. Each goes through the router like any transition: recorded in Redis
 * first (the stream says "admin" did it), then the gateway and the agent
 * are told, then the answer: 200 once Redis has it, 404 / 409 / 400 with
 * what was wrong, 503 when Redis cannot take it (nothing changed) or did
 * not acknowledge in time (in force, written when Redis is back). */
#include "admin/admin_internal.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "record/record.h"
#include "router/router.h"
#include "util/json_out.h"
#include "util/json_parse.h"
#include "util/log.h"

/* The live contact the path names, or NULL after answering 404. */
static const struct engine_contact_view *admin_contact_named(struct admin_req *r)
{
	const struct engine_contact_view *c =
		engine_contact(router_engine(r->adm->env.router), r->param);

	if (c == NULL)
		admin_error(r->req, 404, "NOT_FOUND",
			    "no live contact \"%.64s\" (finished contacts are in Redis)", r->param);
	return c;
}

/* The 200 body of a supervisor's action on c: its id, its new state, one
 * detail and the agent it was taken from (agent_key). c's id and agent are
 * copied into id and agent first: c may be gone once the router acts. */
static struct evbuffer *admin_contact_reply(const struct engine_contact_view *c,
					    const char *state, const char *key, const char *value,
					    const char *agent_key, char id[80], char agent[80])
{
	struct evbuffer *ok = evbuffer_new();
	struct json_out j;

	snprintf(id, 80, "%s", c->id);
	snprintf(agent, 80, "%s", c->agent_id != NULL ? c->agent_id : "");
	json_init(&j, ok);
	json_obj_open(&j);
	json_kstr(&j, "id", id);
	json_kstr(&j, "state", state);
	json_kstr(&j, key, value);
	json_kstr(&j, agent_key, agent);
	json_obj_close(&j);
	return ok;
}

/* POST /v1/contacts/{id}/requeue (no body): an offered or assigned contact
 * goes back to waiting in its queue, keeping its deadline (its place ahead
 * of later arrivals, its SLA clock); another agent is offered it. 409 while
 * it waits. */
void admin_route_contact_requeue(struct admin_req *r)
{
	const struct engine_contact_view *c = admin_contact_named(r);
	char id[80], agent[80];

	if (c == NULL)
		return;
	struct evbuffer *ok =
		admin_contact_reply(c, "waiting", "queue", c->queue, "requeued_from", id, agent);
	if (agent[0] != '\0')
		log_info("admin: contact %s requeued from agent %s", id, agent);
	struct router_answer ans = admin_answer(r, 200, ok);
	router_admin_requeue(r->adm->env.router, id, &ans);
}

/* POST /v1/contacts/{id}/close {"disposition": "..."}: an assigned contact
 * is completed with the supervisor's disposition (no wrap-up for its
 * agent). 409 unless assigned; 400 without a disposition of 1 to 64
 * printable bytes. */
void admin_route_contact_close(struct admin_req *r)
{
	const struct engine_contact_view *c = admin_contact_named(r);
	const struct jv *d;
	struct jv *body;
	char id[80], agent[80];

	if (c == NULL || (body = admin_body_json(r)) == NULL)
		return;
	d = body->type == JV_OBJECT ? jv_get(body, "disposition") : NULL;
	if (d == NULL || d->type != JV_STRING || d->str[0] == '\0' ||
	    !record_reason_ok(d->str)) {
		admin_error(r->req, 400, "INVALID_ARGUMENT",
			    "the body must be {\"disposition\": \"...\"}, 1 to 64 printable bytes");
		jv_free(body);
		return;
	}
	struct evbuffer *ok =
		admin_contact_reply(c, "completed", "disposition", d->str, "agent", id, agent);
	if (c->state == CONTACT_ASSIGNED)
		log_info("admin: contact %s of agent %s closed: %s", id, agent, d->str);
	struct router_answer ans = admin_answer(r, 200, ok);
	router_admin_close(r->adm->env.router, id, d->str, &ans);
	jv_free(body);
}
