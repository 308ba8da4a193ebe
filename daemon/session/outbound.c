#include "session/outbound.h"

#include <stdio.h>
#include <string.h>

#include "record/record.h"
#include "session/contactinfo.h"
#include "session/session.h"
#include "switchboard.pb-c.h"

/* Sends env answering ref. */
static void outbound_send(struct session *s, uint64_t ref, Envelope *env)
{
	if (s == NULL)
		return;
	env->ref = ref;
	session_send(s, env);
}

static void outbound_tag(Envelope *env, const char *event_id, bool redelivered)
{
	env->event_id = (char *)(uintptr_t)(event_id ? event_id : "");
	env->redelivered = redelivered;
}

void outbound_ack(struct session *s, uint64_t ref)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Ack a = SWITCHBOARD__V1__ACK__INIT;

	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_ACK;
	env.ack = &a;
	outbound_send(s, ref, &env);
}

void outbound_state(struct session *s, uint64_t ref, enum engine_agent_state state,
		    const char *reason)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__StateChanged sc = SWITCHBOARD__V1__STATE_CHANGED__INIT;

	/* The wire enum is the engine's plus one (0 is UNSPECIFIED). */
	sc.state = (Switchboard__V1__AgentState)(state + 1);
	sc.reason = (char *)(uintptr_t)reason;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_STATE_CHANGED;
	env.state_changed = &sc;
	outbound_send(s, ref, &env);
}

void outbound_assignment(struct session *s, uint64_t ref, const char *contact_id,
			 const struct engine_contact_view *c, const char *event_id,
			 bool redelivered)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__AssignmentConfirmed ac = SWITCHBOARD__V1__ASSIGNMENT_CONFIRMED__INIT;
	Switchboard__V1__ContactInfo ci;
	Switchboard__V1__Customer cust;

	Switchboard__V1__SubmitContact *m = NULL;

	if (s == NULL)
		return;
	ac.contact_id = (char *)(uintptr_t)contact_id;
	if (c != NULL) {
		m = contactinfo_fill(&ci, &cust, c);
		ac.contact = &ci;
	}
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_ASSIGNMENT_CONFIRMED;
	env.assignment_confirmed = &ac;
	outbound_tag(&env, event_id, redelivered);
	outbound_send(s, ref, &env);
	if (m != NULL)
		switchboard__v1__submit_contact__free_unpacked(m, NULL);
}

void outbound_offer(struct session *s, const struct engine_contact_view *c, const char *event_id,
		    bool redelivered)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Offer o = SWITCHBOARD__V1__OFFER__INIT;
	Switchboard__V1__ContactInfo ci;
	Switchboard__V1__Customer cust;

	if (s == NULL)
		return; /* nobody to tell: no need to decode the payload */
	Switchboard__V1__SubmitContact *m = contactinfo_fill(&ci, &cust, c);
	o.offer_id = (char *)(uintptr_t)c->offer_id;
	o.contact = &ci;
	o.expires_ms = (uint64_t)c->offer_expires_ms;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_OFFER;
	env.offer = &o;
	outbound_tag(&env, event_id, redelivered);
	outbound_send(s, 0, &env);
	if (m != NULL)
		switchboard__v1__submit_contact__free_unpacked(m, NULL);
}

void outbound_rescind(struct session *s, const char *offer_id, const char *reason)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__OfferRescinded r = SWITCHBOARD__V1__OFFER_RESCINDED__INIT;

	r.offer_id = (char *)(uintptr_t)offer_id;
	r.reason = (char *)(uintptr_t)reason;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_OFFER_RESCINDED;
	env.offer_rescinded = &r;
	outbound_send(s, 0, &env);
}

void outbound_revoked(struct session *s, const char *contact_id, const char *reason,
		      const char *event_id)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__AssignmentRevoked r = SWITCHBOARD__V1__ASSIGNMENT_REVOKED__INIT;

	r.contact_id = (char *)(uintptr_t)contact_id;
	r.reason = (char *)(uintptr_t)reason;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_ASSIGNMENT_REVOKED;
	env.assignment_revoked = &r;
	outbound_tag(&env, event_id, false);
	outbound_send(s, 0, &env);
}

void outbound_accepted(struct session *s, uint64_t ref, const char *contact_id, const char *queue,
		       uint32_t position, int64_t deadline_ms, int64_t estimated_wait_ms,
		       bool duplicate, const char *event_id, bool redelivered)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__ContactAccepted a = SWITCHBOARD__V1__CONTACT_ACCEPTED__INIT;

	a.contact_id = (char *)(uintptr_t)contact_id;
	a.queue = (char *)(uintptr_t)queue;
	a.position = position;
	a.deadline_ms = (uint64_t)deadline_ms;
	a.estimated_wait_ms = (uint64_t)(estimated_wait_ms > 0 ? estimated_wait_ms : 0);
	a.estimated_wait_unknown = estimated_wait_ms == ENGINE_WAIT_UNKNOWN;
	a.duplicate = duplicate;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ACCEPTED;
	env.contact_accepted = &a;
	outbound_tag(&env, event_id, redelivered);
	outbound_send(s, ref, &env);
}

void outbound_contact_state(struct session *s, const struct engine_contact_view *c,
			    uint32_t position, int64_t estimated_wait_ms)
{
	char id[160];

	record_event_id(c, id, sizeof id);
	if (c->state != CONTACT_ASSIGNED) {
		outbound_accepted(s, 0, c->id, c->queue, position, c->deadline_ms,
				  estimated_wait_ms, false, id, true);
		return;
	}
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__ContactAssigned ca = SWITCHBOARD__V1__CONTACT_ASSIGNED__INIT;
	int64_t waited = c->assigned_ms - c->arrived_ms;

	ca.contact_id = (char *)(uintptr_t)c->id;
	ca.agent_id = (char *)(uintptr_t)c->agent_id;
	ca.waited_ms = (uint64_t)(waited > 0 ? waited : 0);
	ca.sla_met = waited <= c->sla_ms;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ASSIGNED;
	env.contact_assigned = &ca;
	outbound_tag(&env, id, true);
	outbound_send(s, 0, &env);
}

void outbound_cancelled(struct session *s, uint64_t ref, const char *contact_id,
			const char *event_id)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__ContactCancelled cc = SWITCHBOARD__V1__CONTACT_CANCELLED__INIT;

	cc.contact_id = (char *)(uintptr_t)contact_id;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_CANCELLED;
	env.contact_cancelled = &cc;
	outbound_tag(&env, event_id, false);
	outbound_send(s, ref, &env);
}

void outbound_outcome(struct session *s, const struct record_outcome *o)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__ContactCompleted cc = SWITCHBOARD__V1__CONTACT_COMPLETED__INIT;
	Switchboard__V1__ContactCancelled cx = SWITCHBOARD__V1__CONTACT_CANCELLED__INIT;
	Switchboard__V1__ContactEvent ev = SWITCHBOARD__V1__CONTACT_EVENT__INIT;
	char id[RECORD_EVENT_ID_MAX];

	snprintf(id, sizeof id, "%s/%u", o->id, o->seq);
	if (strcmp(o->state, "completed") == 0) {
		int64_t handled = o->completed_ms - o->assigned_ms;
		cc.contact_id = (char *)(uintptr_t)o->id;
		cc.disposition = (char *)(uintptr_t)o->text;
		cc.handle_ms = (uint64_t)(handled > 0 ? handled : 0);
		env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_COMPLETED;
		env.contact_completed = &cc;
	} else if (strcmp(o->state, "cancelled") == 0) {
		cx.contact_id = (char *)(uintptr_t)o->id;
		env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_CANCELLED;
		env.contact_cancelled = &cx;
	} else {
		ev.contact_id = (char *)(uintptr_t)o->id;
		ev.kind = SWITCHBOARD__V1__CONTACT_EVENT__KIND__EXPIRED;
		ev.detail = (char *)(uintptr_t)o->text;
		env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EVENT;
		env.contact_event = &ev;
	}
	outbound_tag(&env, id, true);
	outbound_send(s, 0, &env);
}
