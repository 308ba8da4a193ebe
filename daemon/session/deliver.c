/* What clients are told about a recorded decision: see deliver.h. */
#include "session/deliver.h"

#include <string.h>

#include "router/router.h"
#include "session/outbound.h"
#include "session/registry.h"
#include "session/roles.h"
#include "session/session.h"

/* The gateway session that hears about a contact: the one that submitted it
 * while it lives, else the gateway's newest. */
static struct session *deliver_gateway(const struct session_env *env, const struct decision *d)
{
	struct session *s = d->gateway_sid ? registry_session(env->registry, d->gateway_sid) : NULL;

	if (s != NULL && session_is_active(s) && session_client_id(s) != NULL &&
	    d->gateway_id != NULL && strcmp(session_client_id(s), d->gateway_id) == 0)
		return s;
	return d->gateway_id ? registry_gateway(env->registry, d->gateway_id) : NULL;
}

/* The same for an outcome (completed, cancelled, expired): NULL while that
 * session's re-login replay has not caught up; the replay sends it, after
 * the outcomes recorded before it. */
static struct session *deliver_outcome_to(const struct session_env *env, const struct decision *d)
{
	struct session *s = deliver_gateway(env, d);
	return s != NULL && gateway_holds_outcomes(s) ? NULL : s;
}

static struct session *deliver_agent(const struct session_env *env, const char *agent_id)
{
	struct session *s = agent_id ? registry_agent(env->registry, agent_id) : NULL;
	return s != NULL && session_is_active(s) ? s : NULL;
}

static void deliver_event(struct session *s, const struct decision *d,
			  Switchboard__V1__ContactEvent__Kind kind)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__ContactEvent ev = SWITCHBOARD__V1__CONTACT_EVENT__INIT;

	if (s == NULL)
		return;
	ev.contact_id = d->contact_id;
	ev.kind = kind;
	ev.detail = d->text ? d->text : "";
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EVENT;
	env.contact_event = &ev;
	env.event_id = d->event_id ? d->event_id : "";
	session_send(s, &env);
}

static void deliver_offer(const struct session_env *env, const struct decision *d)
{
	const struct engine_contact_view *c = engine_contact(router_engine(env->router), d->contact_id);

	/* Rescinded or cancelled since: nothing to offer. */
	if (c == NULL || c->offer_id == NULL || strcmp(c->offer_id, d->offer_id) != 0)
		return;
	outbound_offer(deliver_agent(env, d->agent_id), c, d->event_id, false);
}

static void deliver_assigned(const struct session_env *env, const struct decision *d)
{
	Envelope genv = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__ContactAssigned ca = SWITCHBOARD__V1__CONTACT_ASSIGNED__INIT;
	struct session *gw = deliver_gateway(env, d);

	if (!d->agent_answered)
		outbound_assignment(deliver_agent(env, d->agent_id), 0, d->contact_id,
				    engine_contact(router_engine(env->router), d->contact_id),
				    d->event_id, false);
	if (gw == NULL)
		return;
	ca.contact_id = d->contact_id;
	ca.agent_id = d->agent_id;
	ca.waited_ms = (uint64_t)d->n1;
	ca.sla_met = d->flag;
	genv.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ASSIGNED;
	genv.contact_assigned = &ca;
	genv.event_id = d->event_id;
	session_send(gw, &genv);
}

static void deliver_completed(const struct session_env *env, const struct decision *d)
{
	Envelope e = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__ContactCompleted cc = SWITCHBOARD__V1__CONTACT_COMPLETED__INIT;
	struct session *gw = deliver_outcome_to(env, d);

	/* Its agent did not close it: it is told the contact is no longer its. */
	if (d->flag)
		outbound_revoked(deliver_agent(env, d->agent_id), d->contact_id, "closed",
				 d->event_id);
	if (gw == NULL)
		return;
	cc.contact_id = d->contact_id;
	cc.disposition = d->text;
	cc.handle_ms = (uint64_t)d->n1;
	e.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_COMPLETED;
	e.contact_completed = &cc;
	e.event_id = d->event_id;
	session_send(gw, &e);
}

static void deliver_cancelled(const struct session_env *env, const struct decision *d)
{
	if (d->offer_id != NULL)
		outbound_rescind(deliver_agent(env, d->agent_id), d->offer_id, "cancelled");
	/* Its gateway asked: it was answered, unless the answer had to be
	 * STORE_UNAVAILABLE, and then it hears it now. */
	if (!d->answered)
		outbound_cancelled(deliver_outcome_to(env, d), 0, d->contact_id, d->event_id);
}

void deliver_tell(void *ctx, const struct decision *d)
{
	static const Switchboard__V1__ContactEvent__Kind kinds[] = {
		[EVENT_SLA_BREACHED] = SWITCHBOARD__V1__CONTACT_EVENT__KIND__SLA_BREACHED,
		[EVENT_OVERFLOWED] = SWITCHBOARD__V1__CONTACT_EVENT__KIND__OVERFLOWED,
		[EVENT_TRANSFERRED] = SWITCHBOARD__V1__CONTACT_EVENT__KIND__TRANSFERRED,
	};
	const struct session_env *env = ctx;

	switch (d->kind) {
	case DECISION_OFFER:
		deliver_offer(env, d);
		break;
	case DECISION_OFFER_ENDED:
		if (d->code != OFFER_END_REJECTED)
			outbound_rescind(deliver_agent(env, d->agent_id), d->offer_id, d->text);
		deliver_event(deliver_gateway(env, d), d,
			      SWITCHBOARD__V1__CONTACT_EVENT__KIND__REQUEUED);
		break;
	case DECISION_UNASSIGNED:
		outbound_revoked(deliver_agent(env, d->agent_id), d->contact_id, "requeued",
				 d->event_id);
		deliver_event(deliver_gateway(env, d), d,
			      SWITCHBOARD__V1__CONTACT_EVENT__KIND__REQUEUED);
		break;
	case DECISION_ASSIGNED:
		deliver_assigned(env, d);
		break;
	case DECISION_COMPLETED:
		deliver_completed(env, d);
		break;
	case DECISION_CANCELLED:
		deliver_cancelled(env, d);
		break;
	case DECISION_EXPIRED:
		deliver_event(deliver_outcome_to(env, d), d,
			      SWITCHBOARD__V1__CONTACT_EVENT__KIND__EXPIRED);
		break;
	case DECISION_EVENT:
		deliver_event(deliver_gateway(env, d), d, kinds[d->code]);
		break;
	case DECISION_AGENT_STATE:
		if (!d->agent_answered)
			outbound_state(deliver_agent(env, d->agent_id), 0,
				       (enum engine_agent_state)d->code, d->text);
		break;
	case DECISION_ROSTER:
		break;
	}
}
