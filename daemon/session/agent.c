/* The agent role: token login, state, accepting, rejecting and completing
 * contacts. Each request goes to the router and is answered once what it
 * changed is recorded; what the daemon pushes to agents is deliver.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "engine/engine.h"
#include "ha/presence.h"
#include "record/record.h"
#include "router/router.h"
#include "security/token.h"
#include "session/outbound.h"
#include "session/registry.h"
#include "session/roles.h"
#include "session/session.h"
#include "util/err.h"
#include "util/log.h"
#include "util/strvec.h"
#include "util/xalloc.h"

int agent_hello(struct session *s, const Switchboard__V1__Hello *hello, const char **why)
{
	struct session_env *env = session_env(s);
	const struct sb_config *cfg = router_config(env->router);
	int64_t now_s = router_now_ms() / 1000;
	int rc = token_verify(cfg->agent_secret, hello->client_id, hello->token ? hello->token : "",
			      now_s, cfg->agent_token_max_ttl_s, why);

	if (rc != 0)
		return SB_ERR_UNAUTHENTICATED;
	if (engine_agent(router_engine(env->router), hello->client_id) == NULL) {
		*why = "agent is not in the roster";
		return SB_ERR_FORBIDDEN;
	}
	/* One session per agent: a new login replaces the old one (a desktop
	 * reconnecting before the old socket timed out). Bound first, so the
	 * old session's close is not its last: the offer it was sent is not
	 * withdrawn but sent again to this one (agent_welcomed). */
	struct session *old = registry_agent(env->registry, hello->client_id);
	registry_bind_agent(env->registry, hello->client_id, s);
	if (old != NULL) {
		session_send_error(old, 0, SB_ERR_CONFLICT, "replaced by a new login");
		session_close(old, "replaced by a new login", true);
	}
	/* Back within its grace period, it resumes where it was, once it has
	 * been told where that is (agent_welcomed); logged out, it logs in. */
	presence_back(env->presence, hello->client_id);
	return 0;
}

/* A contact the agent holds, as Redis has it: an assignment still on its
 * way to Redis is pushed when it lands, never before. A live offer goes
 * again whatever its record (offers are told while being written). */
static void agent_resend(struct session *s, const struct engine_contact_view *c)
{
	char event_id[RECORD_EVENT_ID_MAX];

	record_event_id(c, event_id, sizeof event_id);
	if (c->state == CONTACT_OFFERED)
		outbound_offer(s, c, event_id, true);
	else if (c->state == CONTACT_ASSIGNED && !router_pending(session_env(s)->router, c->id, NULL))
		outbound_assignment(s, 0, c->id, c, event_id, true);
}

static void agent_note_held(void *arg, const struct engine_contact_view *c)
{
	strvec_push(arg, c->id);
}

/* Its state once a change of it on its way to Redis has landed. */
static void agent_state_later(void *arg, int err)
{
	struct session *s = arg;
	const struct engine_agent_view *a =
		engine_agent(router_engine(session_env(s)->router), session_client_id(s));

	if (err == 0 && session_is_active(s) && a != NULL)
		outbound_state(s, 0, a->state, a->reason);
	session_unref(s);
}

void agent_welcomed(struct session *s)
{
	struct session_env *env = session_env(s);
	const char *id = session_client_id(s);
	const struct engine *e = router_engine(env->router);
	const struct engine_agent_view *a = engine_agent(e, id);

	/* Where it stands and what it holds, as Redis has it; then it takes
	 * offers again. */
	if (!router_pending(env->router, NULL, id)) {
		outbound_state(s, 0, a->state, a->reason);
	} else {
		session_ref(s);
		router_when_recorded(env->router, true, agent_state_later, s);
	}
	/* Ids first: a send can close the session, which must not happen while
	 * the engine is being walked. */
	struct strvec held = { 0 };
	engine_agent_each_contact(e, id, agent_note_held, &held);
	for (size_t i = 0; i < held.n && session_is_active(s); i++) {
		const struct engine_contact_view *c = engine_contact(e, held.v[i]);
		if (c != NULL)
			agent_resend(s, c);
	}
	strvec_free(&held);
	if (session_is_active(s))
		router_agent_attach(env->router, id);
}

void agent_closed(struct session *s)
{
	struct session_env *env = session_env(s);
	const char *id = session_client_id(s);

	if (id == NULL || registry_agent(env->registry, id) != s)
		return;
	registry_unbind_agent(env->registry, id, s);
	/* Its last session: its offers are withdrawn now (session-closed), but
	 * it is not logged out yet: a client that reconnects within the grace
	 * period keeps its state and its contacts. */
	presence_lost(env->presence, id);
}

static int agent_state_from_wire(Switchboard__V1__AgentState st)
{
	switch (st) {
	case SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_OFFLINE: return AGENT_OFFLINE;
	case SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE: return AGENT_AVAILABLE;
	case SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_BREAK: return AGENT_BREAK;
	default: return -1;
	}
}

/* A request waiting for its answer. Owner: the answer, which frees it. */
struct agent_pending {
	struct session *s; /* referenced */
	uint64_t seq;
	Switchboard__V1__Envelope__BodyCase body;
};

/* The router's answer: the reply the request's kind calls for. */
static bool agent_answered(void *arg, int err, const char *why, const struct router_outcome *o)
{
	struct agent_pending *p = arg;
	struct session *s = p->s;
	const struct decision *d = o->decision;
	bool delivered = session_is_active(s);

	if (err != 0) {
		session_send_error(s, p->seq, err, why);
	} else if (p->body == SWITCHBOARD__V1__ENVELOPE__BODY_SET_STATE) {
		const struct engine_agent_view *a =
			engine_agent(router_engine(session_env(s)->router), session_client_id(s));
		if (d != NULL)
			outbound_state(s, p->seq, (enum engine_agent_state)d->code, d->text);
		else if (a != NULL)
			outbound_state(s, p->seq, a->state, a->reason);
	} else if (p->body == SWITCHBOARD__V1__ENVELOPE__BODY_ACCEPT_OFFER) {
		const char *id = d != NULL ? d->contact_id : o->contact_id;
		outbound_assignment(s, p->seq, id,
				    engine_contact(router_engine(session_env(s)->router), id),
				    d != NULL ? d->event_id : o->event_id, false);
	} else {
		outbound_ack(s, p->seq);
	}
	session_unref(s);
	free(p);
	return delivered;
}

/* The reason or disposition a request would store, when it is longer than
 * the admin API takes or holds control characters: why, written into buf.
 * NULL when it may be stored. */
static const char *agent_reason_refused(const Envelope *env, char *buf, size_t len)
{
	const char *field, *value;

	switch (env->body_case) {
	case SWITCHBOARD__V1__ENVELOPE__BODY_SET_STATE:
		field = "set_state.reason";
		value = env->set_state->reason;
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_REJECT_OFFER:
		field = "reject_offer.reason";
		value = env->reject_offer->reason;
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_COMPLETE_CONTACT:
		field = "complete_contact.disposition";
		value = env->complete_contact->disposition;
		break;
	default:
		return NULL;
	}
	if (value == NULL || record_reason_ok(value))
		return NULL;
	snprintf(buf, len, "%s must be at most %d bytes without control characters", field,
		 RECORD_MAX_REASON);
	return buf;
}

void agent_request(struct session *s, Envelope *env)
{
	struct router *r = session_env(s)->router;
	const char *id = session_client_id(s);
	struct agent_pending *p = xcalloc(1, sizeof *p);
	struct router_answer a = { agent_answered, p, true };
	char buf[128];
	const char *refused = agent_reason_refused(env, buf, sizeof buf);

	p->s = s;
	p->seq = env->seq;
	p->body = env->body_case;
	session_ref(s);
	if (refused != NULL) {
		router_answer(&a, SB_ERR_INVALID_ARGUMENT, refused, NULL);
		envelope_free(env);
		return;
	}
	switch (env->body_case) {
	case SWITCHBOARD__V1__ENVELOPE__BODY_SET_STATE: {
		int st = agent_state_from_wire(env->set_state->state);
		if (st < 0)
			router_answer(&a, SB_ERR_INVALID_ARGUMENT,
				      "state must be available, break or offline", NULL);
		else
			router_set_state(r, id, (enum engine_agent_state)st, env->set_state->reason,
					 &a);
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_ACCEPT_OFFER:
		router_accept(r, id, env->accept_offer->offer_id, &a);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_REJECT_OFFER:
		router_reject(r, id, env->reject_offer->offer_id, env->reject_offer->reason, &a);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_COMPLETE_CONTACT:
		if (env->complete_contact->disposition[0] == '\0')
			router_answer(&a, SB_ERR_INVALID_ARGUMENT, "disposition is required", NULL);
		else
			router_complete(r, id, env->complete_contact->contact_id,
					env->complete_contact->disposition, &a);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_READY:
		router_ready(r, id, &a);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_TRANSFER:
		router_transfer(r, id, env->transfer->contact_id, env->transfer->queue, &a);
		break;
	default:
		router_answer(&a, SB_ERR_BAD_FRAME, "unhandled agent message", NULL);
		break;
	}
	envelope_free(env);
}
