/* The gateway role: authentication, SubmitContact, CancelContact and
 * ExplainContact. Submits and cancels go to the router and are answered
 * once recorded; what the daemon pushes to gateways is deliver.c's. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "engine/engine.h"
#include "record/record.h"
#include "router/router.h"
#include "security/token.h"
#include "session/outbound.h"
#include "session/redeliver.h"
#include "session/registry.h"
#include "session/roles.h"
#include "session/session.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Bounds on what a gateway may put in one contact, checked before anything
 * is stored: a contact's size must not be the client's choice. Attribute
 * bounds are configured (limits.max_attributes, limits.max_attribute_bytes). */
#define GATEWAY_MAX_ID 128
#define GATEWAY_MAX_SKILLS RECORD_MAX_SKILLS
#define GATEWAY_MAX_PRIORITY 3600

int gateway_hello(struct session *s, const Switchboard__V1__Hello *hello, const char **why)
{
	struct session_env *env = session_env(s);
	const struct sb_config *cfg = router_config(env->router);
	const struct sb_gateway_conf *gw = config_gateway(cfg, hello->client_id);

	/* Same answer for an unknown id and a wrong secret: no probing ids. */
	if (gw == NULL || !secret_equal(gw->secret, hello->token ? hello->token : "")) {
		*why = "unknown gateway or wrong secret";
		return SB_ERR_UNAUTHENTICATED;
	}
	/* Mutual TLS: a certificate binds the connection to one gateway, so
	 * a leaked secret alone cannot be used with another gateway's cert. */
	if (cfg->gateway_tls.client_ca_file != NULL &&
	    session_peer_cert_names(s, hello->client_id) == 0) {
		*why = "certificate identity does not match gateway id";
		return SB_ERR_FORBIDDEN;
	}
	if (strlen(hello->last_outcome_id) >= RECORD_EVENT_ID_MAX) {
		*why = "last_outcome_id is too long (max 159 bytes)";
		return SB_ERR_INVALID_ARGUMENT;
	}
	/* Bound before anything is read for the redelivery: an outcome told
	 * from now on reaches this session, one told before is in Redis. */
	registry_bind_gateway(env->registry, hello->client_id, s);
	session_set_role_ctx(s, redeliver_new(s, hello->last_outcome_id));
	return 0;
}

void gateway_welcomed(struct session *s)
{
	/* At least once: whatever it missed while away (or across a restart or
	 * a fail-over): the outcomes it has not seen and where each of its
	 * open contacts stands now, as Redis has it, at the pace it reads. */
	redeliver_start(session_role_ctx(s));
}

bool gateway_holds_outcomes(const struct session *s)
{
	return redeliver_holds_outcomes(session_role_ctx(s));
}

void gateway_closed(struct session *s)
{
	registry_unbind_gateway(session_env(s)->registry, session_client_id(s), s);
	session_on_drained(s, NULL, NULL);
	redeliver_free(session_role_ctx(s));
	session_set_role_ctx(s, NULL);
}

/* A request waiting for its answer. Owner: the answer, which frees it. */
struct gateway_pending {
	struct session *s; /* referenced */
	uint64_t seq;
	char *contact_id; /* a cancel's */
};

static bool gateway_on_submitted(void *arg, int err, const char *why,
				 const struct router_outcome *o)
{
	struct gateway_pending *p = arg;
	bool delivered = session_is_active(p->s);

	if (err != 0)
		session_send_error(p->s, p->seq, err, why);
	else
		outbound_accepted(p->s, p->seq, o->contact_id, o->queue ? o->queue : "", o->position,
				  o->deadline_ms, o->estimated_wait_ms, o->duplicate, o->event_id,
				  false);
	session_unref(p->s);
	free(p);
	return delivered;
}

static bool gateway_on_cancelled(void *arg, int err, const char *why,
				 const struct router_outcome *o)
{
	struct gateway_pending *p = arg;
	bool delivered = session_is_active(p->s);

	if (err != 0)
		session_send_error(p->s, p->seq, err, why);
	else
		outbound_cancelled(p->s, p->seq, p->contact_id,
				   o->decision != NULL ? o->decision->event_id : NULL);
	session_unref(p->s);
	free(p->contact_id);
	free(p);
	return delivered;
}

static struct gateway_pending *gateway_pending_new(struct session *s, uint64_t seq)
{
	struct gateway_pending *p = xcalloc(1, sizeof *p);

	p->s = s;
	p->seq = seq;
	session_ref(s);
	return p;
}

/* Checks a SubmitContact; returns 0 or INVALID_ARGUMENT with *why, which
 * may point into buf. */
static int gateway_validate(const struct sb_config *cfg, const struct engine *e,
			    const Switchboard__V1__SubmitContact *m, const char **queue, int *ch,
			    char *buf, size_t len, const char **why)
{
	size_t n = strlen(m->external_id);

	if (n == 0 || n > GATEWAY_MAX_ID) {
		*why = "external_id is required (1..128 bytes)";
		return SB_ERR_INVALID_ARGUMENT;
	}
	*ch = channel_from_wire(m->channel);
	if (*ch < 0) {
		*why = "channel must be voice, chat, email or social";
		return SB_ERR_INVALID_ARGUMENT;
	}
	*queue = m->queue[0] ? m->queue : engine_default_queue(e, (enum sb_channel)*ch);
	if (*queue == NULL) {
		*why = "no queue takes this channel";
		return SB_ERR_INVALID_ARGUMENT;
	}
	/* A queue a reload removed still routes what it holds, and no more. */
	struct engine_queue_stats qs;
	if (config_queue(cfg, *queue) == NULL && engine_queue_stats(e, *queue, 0, &qs) == 0) {
		*why = "that queue was removed from the configuration; it takes no new contacts";
		return SB_ERR_INVALID_ARGUMENT;
	}
	if (m->priority < 0 || m->priority > GATEWAY_MAX_PRIORITY) {
		*why = "priority must be 0..3600 (seconds of boost)";
		return SB_ERR_INVALID_ARGUMENT;
	}
	if (m->n_required_skills > GATEWAY_MAX_SKILLS) {
		*why = "too many required_skills (max 32)";
		return SB_ERR_INVALID_ARGUMENT;
	}
	for (size_t i = 0; i < m->n_required_skills; i++) {
		if (m->required_skills[i]->min_level < 1 || m->required_skills[i]->min_level > 5) {
			*why = "required_skills min_level must be 1..5";
			return SB_ERR_INVALID_ARGUMENT;
		}
		/* Stored in the payload and offered to agents, like every string
		 * here: the client's choice must not set its size. */
		if (strlen(m->required_skills[i]->name) > GATEWAY_MAX_ID) {
			snprintf(buf, len,
				 "submit_contact.required_skills[%zu].name is too long (max %d bytes)",
				 i, GATEWAY_MAX_ID);
			*why = buf;
			return SB_ERR_INVALID_ARGUMENT;
		}
	}
	if (strlen(m->language) > GATEWAY_MAX_ID) {
		*why = "submit_contact.language is too long (max 128 bytes)";
		return SB_ERR_INVALID_ARGUMENT;
	}
	if ((int64_t)m->n_attributes > cfg->max_attributes) {
		snprintf(buf, len, "too many attributes: %zu (max %" PRId64 ")", m->n_attributes,
			 cfg->max_attributes);
		*why = buf;
		return SB_ERR_INVALID_ARGUMENT;
	}
	for (size_t i = 0; i < m->n_attributes; i++) {
		size_t bytes = strlen(m->attributes[i]->key) + strlen(m->attributes[i]->value);
		if ((int64_t)bytes > cfg->max_attribute_bytes) {
			/* The index, not the key: the key may be the oversized part. */
			snprintf(buf, len,
				 "attribute %zu is too long: %zu bytes of key and value (max %" PRId64
				 ")",
				 i, bytes, cfg->max_attribute_bytes);
			*why = buf;
			return SB_ERR_INVALID_ARGUMENT;
		}
	}
	struct record_engine x;
	record_check_input(m, (enum sb_channel)*ch, *queue, &x);
	if (engine_check_submit(e, &x.in, why) != 0)
		return SB_ERR_INVALID_ARGUMENT;
	if (strlen(m->preferred_agent_id) > GATEWAY_MAX_ID ||
	    (m->customer && (strlen(m->customer->id) > GATEWAY_MAX_ID ||
			     strlen(m->customer->tier) > GATEWAY_MAX_ID))) {
		*why = "an id is too long (max 128 bytes)";
		return SB_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

/* Refuses a new contact while the backlog is at its cap: a submit beyond it
 * would grow memory and Redis without bound. Checked before anything is
 * stored, so a retried submit of a contact already stored is refused too
 * while the backlog is full; the gateway retries later and is answered
 * then. Contacts whose store write is in flight are not counted yet. */
static int gateway_backlog_check(const struct router *r, const char *queue, char *buf,
				 size_t len, const char **why)
{
	const struct sb_config *cfg = router_config(r);
	const struct engine *e = router_engine(r);
	size_t all = engine_waiting_count(e);
	uint32_t inq = engine_queue_waiting(e, queue);

	if ((int64_t)all >= cfg->max_waiting) {
		snprintf(buf, len, "too many contacts waiting (%zu, limit %" PRId64 ")", all,
			 cfg->max_waiting);
		*why = buf;
		return SB_ERR_OVERLOADED;
	}
	if ((int64_t)inq >= cfg->max_waiting_per_queue) {
		snprintf(buf, len, "queue %s is full (%" PRIu32 " waiting)", queue, inq);
		*why = buf;
		return SB_ERR_OVERLOADED;
	}
	return 0;
}

static void gateway_submit(struct session *s, Envelope *env)
{
	struct router *r = session_env(s)->router;
	Switchboard__V1__SubmitContact *m = env->submit_contact;
	const char *queue = NULL, *why = NULL;
	char reason[256];
	int ch = -1;
	int rc = gateway_validate(router_config(r), router_engine(r), m, &queue, &ch, reason,
				  sizeof reason, &why);

	if (rc == 0)
		rc = gateway_backlog_check(r, queue, reason, sizeof reason, &why);
	if (rc != 0) {
		session_send_error(s, env->seq, rc, why);
		envelope_free(env);
		return;
	}
	struct gateway_pending *p = gateway_pending_new(s, env->seq);
	struct router_answer a = { gateway_on_submitted, p, false };
	char *q = xstrdup(queue); /* may point into the message */
	struct router_submit sub = {
		.gateway_id = session_client_id(s),
		.sid = session_id(s),
		.msg = m,
		.queue = q,
		.channel = (enum sb_channel)ch,
	};
	/* The decoded message goes to the router (it becomes the payload). */
	env->submit_contact = NULL;
	env->body_case = SWITCHBOARD__V1__ENVELOPE__BODY__NOT_SET;
	envelope_free(env);
	router_submit(r, &sub, &a);
	free(q);
}

static void gateway_cancel(struct session *s, Envelope *env)
{
	const Switchboard__V1__CancelContact *m = env->cancel_contact;

	if (m->contact_id[0] == '\0') {
		session_send_error(s, env->seq, SB_ERR_INVALID_ARGUMENT, "contact_id is required");
		return;
	}
	/* Stored with the contact, like an agent's reasons: the same cap. */
	if (!record_reason_ok(m->reason)) {
		char why[128];
		snprintf(why, sizeof why,
			 "cancel_contact.reason must be at most %d bytes without control characters",
			 RECORD_MAX_REASON);
		session_send_error(s, env->seq, SB_ERR_INVALID_ARGUMENT, why);
		return;
	}
	struct gateway_pending *p = gateway_pending_new(s, env->seq);
	struct router_answer a = { gateway_on_cancelled, p, false };
	p->contact_id = xstrdup(m->contact_id);
	router_cancel(session_env(s)->router, session_client_id(s), m->contact_id,
		      m->reason[0] ? m->reason : "cancelled", &a);
}

/* An ExplainContact of a contact the engine no longer holds, waiting for
 * Redis. Owner: the read's callback. */
struct gateway_explaining {
	struct session *s; /* referenced */
	uint64_t seq;
};

/* How a finished contact ended, as Redis keeps it. */
static void gateway_on_finished(void *arg, int err, const struct record_outcome *o)
{
	struct gateway_explaining *x = arg;
	struct session *s = x->s;

	if (!session_is_active(s)) {
		/* gone: nobody to answer */
	} else if (err == SB_ERR_NOT_FOUND || (err == 0 && !o->finished)) {
		session_send_error(s, x->seq, SB_ERR_NOT_FOUND,
				   "no such contact (never submitted, or finished longer ago than "
				   "redis.idempotency_ttl_s)");
	} else if (err != 0) {
		session_send_error(s, x->seq, err, "the store is unavailable; retry");
	} else if (strcmp(o->gateway, session_client_id(s)) != 0) {
		session_send_error(s, x->seq, SB_ERR_FORBIDDEN, "contact belongs to another gateway");
	} else {
		Envelope out = SWITCHBOARD__V1__ENVELOPE__INIT;
		Switchboard__V1__ContactExplanation ce = SWITCHBOARD__V1__CONTACT_EXPLANATION__INIT;
		int64_t waited = o->assigned_ms > 0 ? o->assigned_ms - o->arrived_ms : 0;
		ce.contact_id = (char *)(uintptr_t)o->id;
		ce.state = (char *)(uintptr_t)o->state;
		ce.queue = (char *)(uintptr_t)(o->queue ? o->queue : "");
		ce.deadline_ms = (uint64_t)o->deadline_ms;
		ce.waited_ms = (uint64_t)(waited > 0 ? waited : 0);
		ce.detail = (char *)(uintptr_t)o->text;
		out.ref = x->seq;
		out.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EXPLANATION;
		out.contact_explanation = &ce;
		session_send(s, &out);
	}
	session_unref(s);
	free(x);
}

/* ExplainContact: the engine's account of why a contact waits, or how it
 * ended once it has finished. */
static void gateway_explain(struct session *s, Envelope *env)
{
	const struct engine *e = router_engine(session_env(s)->router);
	const char *id = env->explain_contact->contact_id, *why = NULL;
	const struct engine_contact_view *c = engine_contact(e, id);
	struct engine_explain x;

	if (c == NULL) {
		struct gateway_explaining *ex = xcalloc(1, sizeof *ex);
		ex->s = s;
		ex->seq = env->seq;
		session_ref(s);
		router_read_finished(session_env(s)->router, id, gateway_on_finished, ex);
		return;
	}
	if (strcmp(c->gateway_id, session_client_id(s)) != 0) {
		session_send_error(s, env->seq, SB_ERR_FORBIDDEN, "contact belongs to another gateway");
		return;
	}
	int rc = engine_explain(e, id, router_now_ms(), &x, &why);
	if (rc != 0) {
		session_send_error(s, env->seq, rc, why);
		return;
	}
	Envelope out = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__ContactExplanation ce = SWITCHBOARD__V1__CONTACT_EXPLANATION__INIT;
	ce.contact_id = (char *)(uintptr_t)c->id;
	ce.state = (char *)(uintptr_t)engine_contact_state_name(c->state);
	ce.queue = (char *)(uintptr_t)x.queue;
	ce.step = (uint32_t)x.step;
	ce.deadline_ms = (uint64_t)x.deadline_ms;
	ce.waited_ms = (uint64_t)(x.waited_ms > 0 ? x.waited_ms : 0);
	ce.position = x.position;
	ce.eligible = x.eligible;
	ce.blocked_queue = x.blocked_queue;
	ce.blocked_skill = x.blocked_skill;
	ce.blocked_tier = x.blocked_tier;
	ce.blocked_preferred = x.blocked_preferred;
	ce.blocked_state = x.blocked_state;
	ce.blocked_capacity = x.blocked_capacity;
	ce.blocked_penalty = x.blocked_penalty;
	out.ref = env->seq;
	out.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EXPLANATION;
	out.contact_explanation = &ce;
	session_send(s, &out);
}

void gateway_request(struct session *s, Envelope *env)
{
	switch (env->body_case) {
	case SWITCHBOARD__V1__ENVELOPE__BODY_SUBMIT_CONTACT:
		gateway_submit(s, env); /* consumes env */
		return;
	case SWITCHBOARD__V1__ENVELOPE__BODY_CANCEL_CONTACT:
		gateway_cancel(s, env);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_EXPLAIN_CONTACT:
		gateway_explain(s, env);
		break;
	default:
		session_send_error(s, env->seq, SB_ERR_BAD_FRAME, "unhandled gateway message");
		break;
	}
	envelope_free(env);
}
