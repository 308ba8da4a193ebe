/* The gateway role: authentication, SubmitContact and CancelContact.
 * What the daemon pushes to gateways is sent from sink.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "util/decimal.h"
#include "engine/engine.h"
#include "util/err.h"
#include "util/log.h"
#include "security/token.h"
#include "server.h"
#include "session/contactinfo.h"
#include "session/outbound.h"
#include "session/recent.h"
#include "session/roles.h"
#include "session/session.h"
#include "sink.h"
#include "store/store.h"
#include "util/xalloc.h"

/* Bounds on what a gateway may put in one contact, checked before anything
 * is stored: a contact's size must not be the client's choice. Attribute
 * bounds are configured (limits.max_attributes, limits.max_attribute_bytes). */
#define GATEWAY_MAX_ID 128
#define GATEWAY_MAX_SKILLS CONTACTINFO_MAX_SKILLS
#define GATEWAY_MAX_PRIORITY 3600

/* A submit waiting for Redis. Owner: the store callback. */
struct gateway_submit {
	struct session *s; /* referenced */
	uint64_t seq;
	Switchboard__V1__SubmitContact *msg; /* until handed to the engine */
	char *contact_id;
	char *queue;
	enum sb_channel channel;
	int64_t arrived_ms;
	int64_t deadline_ms;
};

int gateway_hello(struct session *s, const Switchboard__V1__Hello *hello, const char **why)
{
	struct server *srv = session_server(s);
	const struct sb_gateway_conf *gw = config_gateway(server_config(srv), hello->client_id);

	/* Same answer for an unknown id and a wrong secret: no probing ids. */
	if (gw == NULL || !secret_equal(gw->secret, hello->token ? hello->token : "")) {
		*why = "unknown gateway or wrong secret";
		return SB_ERR_UNAUTHENTICATED;
	}
	/* Mutual TLS: a certificate binds the connection to one gateway, so
	 * a leaked secret alone cannot be used with another gateway's cert. */
	if (server_config(srv)->gateway_tls.client_ca_file != NULL &&
	    session_peer_cert_names(s, hello->client_id) == 0) {
		*why = "certificate identity does not match gateway id";
		return SB_ERR_FORBIDDEN;
	}
	server_gateway_bind(srv, hello->client_id, s);
	return 0;
}

static void gateway_redeliver(void *arg, const struct engine_contact_view *c)
{
	struct session *s = arg;

	if (strcmp(c->gateway_id, session_client_id(s)) == 0)
		outbound_contact_state(s, c);
}

void gateway_welcomed(struct session *s)
{
	/* At least once: whatever it missed while away (or across a restart or
	 * a fail-over), it hears where each of its open contacts stands now. */
	engine_each_contact(server_engine(session_server(s)), gateway_redeliver, s);
}

void gateway_closed(struct session *s)
{
	server_gateway_unbind(session_server(s), session_client_id(s), s);
}

static void gateway_submit_free(struct gateway_submit *g)
{
	session_unref(g->s);
	if (g->msg != NULL)
		switchboard__v1__submit_contact__free_unpacked(g->msg, NULL);
	free(g->contact_id);
	free(g->queue);
	free(g);
}

static const char *gateway_field(const struct store_submit_result *r, const char *name)
{
	for (size_t i = 0; i < r->n_fields; i++)
		if (strcmp(r->fields[i].name, name) == 0)
			return r->fields[i].value;
	return NULL;
}

/* Hands a durable contact to the engine; takes msg. */
static int gateway_route(struct server *srv, const char *sid, const char *contact_id,
			 const char *gateway_id, Switchboard__V1__SubmitContact *msg,
			 const char *queue, enum sb_channel ch, int64_t arrived_ms,
			 int64_t deadline_ms, uint32_t event_seq, uint32_t *position,
			 int64_t *estimate)
{
	struct engine_skill_req skills[GATEWAY_MAX_SKILLS];
	struct engine_submit in;

	contactinfo_engine_in(msg, queue, ch, skills, &in);
	in.id = contact_id;
	in.gateway_id = gateway_id;
	in.arrived_ms = arrived_ms;
	in.deadline_ms = deadline_ms;
	struct contact_payload *p = contactinfo_payload_new(msg, sid, queue);
	p->event_seq = event_seq;
	in.user = p;
	int rc = engine_submit(server_engine(srv), &in, server_now_ms(srv), position, estimate);
	if (rc != 0)
		contactinfo_free(NULL, in.user);
	/* The engine copied what it routes by; the payload keeps it packed. */
	switchboard__v1__submit_contact__free_unpacked(msg, NULL);
	server_engine_touched(srv);
	return rc;
}

/* A resubmission: answer as the first time. If the contact is in Redis
 * but not routed here (its first answer was lost with a dying connection),
 * route it now: an acknowledged contact is never left behind. */
static void gateway_on_duplicate(struct gateway_submit *g, const struct store_submit_result *r)
{
	struct server *srv = session_server(g->s);
	struct engine *e = server_engine(srv);
	const struct engine_contact_view *c = engine_contact(e, r->contact_id);

	char event_id[160];
	if (c != NULL) {
		contactinfo_event_id(c, event_id, sizeof event_id);
		outbound_accepted(g->s, g->seq, c->id, c->queue, engine_contact_position(e, c->id),
				  c->deadline_ms, 0, true, event_id, false);
		return;
	}
	const char *state = gateway_field(r, "state");
	const char *queue = gateway_field(r, "queue");
	const char *deadline = gateway_field(r, "deadline_ms");
	const char *arrived = gateway_field(r, "arrived_ms");
	const char *seq = gateway_field(r, "event_seq");
	uint32_t event_seq = seq ? (uint32_t)strtoul(seq, NULL, 10) : 1;
	int64_t deadline_ms = deadline ? strtoll(deadline, NULL, 10) : 0;
	uint32_t position = 0;
	int64_t estimate = 0;
	const char *why = NULL;

	struct engine_skill_req skills[GATEWAY_MAX_SKILLS];
	struct engine_submit in;
	if (queue != NULL)
		contactinfo_engine_in(g->msg, queue, g->channel, skills, &in);
	if (state != NULL && queue != NULL && arrived != NULL &&
	    (strcmp(state, "waiting") == 0 || strcmp(state, "offered") == 0) &&
	    engine_check_submit(e, &in, &why) == 0) {
		const char *gw = session_client_id(g->s);
		Switchboard__V1__SubmitContact *msg = g->msg;
		g->msg = NULL;
		if (gateway_route(srv, session_id(g->s), r->contact_id, gw, msg, queue, g->channel,
				  strtoll(arrived, NULL, 10), deadline_ms, event_seq, &position,
				  &estimate) == 0)
			log_info("contact %s: resubmitted and routed again", r->contact_id);
	}
	snprintf(event_id, sizeof event_id, "%s/%u", r->contact_id, event_seq);
	outbound_accepted(g->s, g->seq, r->contact_id, queue ? queue : "", position, deadline_ms,
			  estimate, true, event_id, false);
}

static void gateway_on_stored(void *arg, int err, const struct store_submit_result *r)
{
	struct gateway_submit *g = arg;
	struct server *srv = session_server(g->s);

	if (err != 0) {
		session_send_error(g->s, g->seq, err,
				   err == SB_ERR_STORE_UNAVAILABLE
					   ? "the store did not acknowledge; retry (submits are idempotent)"
				   : err == SB_ERR_NOT_LEADER
					   ? "this daemon is no longer the leader; retry with the leader"
					   : "the store refused the contact");
	} else if (!server_serving(srv)) {
		/* Stored, but this daemon stood down meanwhile: the new leader
		 * routes it, and answers the retry as a duplicate. */
		session_send_error(g->s, g->seq, SB_ERR_NOT_LEADER,
				   "this daemon is no longer the leader; retry with the leader "
				   "(submits are idempotent)");
	} else if (!r->created) {
		gateway_on_duplicate(g, r);
	} else {
		uint32_t position = 0;
		int64_t estimate = 0;
		Switchboard__V1__SubmitContact *msg = g->msg;
		g->msg = NULL;
		log_info("contact %s: submitted by %s as '%s' (%s, queue %s)", g->contact_id,
			 session_client_id(g->s), msg->external_id, channel_name(g->channel),
			 g->queue);
		int rc = gateway_route(srv, session_id(g->s), g->contact_id, session_client_id(g->s),
				       msg, g->queue, g->channel, g->arrived_ms, g->deadline_ms, 1,
				       &position, &estimate);
		if (rc != 0) {
			log_error("contact %s: stored but the engine refused it: %s", g->contact_id,
				  sb_err_name(rc));
			session_send_error(g->s, g->seq, SB_ERR_INTERNAL, "internal error");
		} else {
			char event_id[160];
			snprintf(event_id, sizeof event_id, "%s/1", g->contact_id);
			outbound_accepted(g->s, g->seq, g->contact_id, g->queue, position,
					  g->deadline_ms, estimate, false, event_id, false);
		}
	}
	gateway_submit_free(g);
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
	for (size_t i = 0; i < m->n_required_skills; i++)
		if (m->required_skills[i]->min_level < 1 || m->required_skills[i]->min_level > 5) {
			*why = "required_skills min_level must be 1..5";
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
	struct engine_skill_req skills[GATEWAY_MAX_SKILLS];
	struct engine_submit in;
	contactinfo_engine_in(m, *queue, (enum sb_channel)*ch, skills, &in);
	if (engine_check_submit(e, &in, why) != 0)
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
static int gateway_backlog_check(struct server *srv, const char *queue, char *buf, size_t len,
				 const char **why)
{
	const struct sb_config *cfg = server_config(srv);
	const struct engine *e = server_engine(srv);
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
	struct server *srv = session_server(s);
	Switchboard__V1__SubmitContact *m = env->submit_contact;
	const char *queue = NULL, *why = NULL;
	char reason[256];
	int ch = -1;
	int rc = gateway_validate(server_config(srv), server_engine(srv), m, &queue, &ch, reason,
				  sizeof reason, &why);

	if (rc == 0)
		rc = gateway_backlog_check(srv, queue, reason, sizeof reason, &why);
	if (rc != 0) {
		session_send_error(s, env->seq, rc, why);
		envelope_free(env);
		return;
	}
	struct gateway_submit *g = xcalloc(1, sizeof *g);
	g->s = s;
	session_ref(s);
	g->seq = env->seq;
	g->channel = (enum sb_channel)ch;
	g->queue = xstrdup(queue);
	g->contact_id = server_new_contact_id(srv);
	g->arrived_ms = server_now_ms(srv);
	g->deadline_ms = engine_deadline(server_engine(srv), g->queue, g->channel,
					 m->customer ? m->customer->tier : NULL, g->arrived_ms,
					 m->priority);
	/* Keep the decoded message: it becomes the contact's payload. */
	g->msg = m;
	env->submit_contact = NULL;
	env->body_case = SWITCHBOARD__V1__ENVELOPE__BODY__NOT_SET;
	envelope_free(env);

	size_t plen = switchboard__v1__submit_contact__get_packed_size(g->msg);
	uint8_t *payload = xmalloc(plen ? plen : 1);
	switchboard__v1__submit_contact__pack(g->msg, payload);
	char arrived[DECIMAL_MAX], deadline[DECIMAL_MAX], prio[DECIMAL_MAX];
	decimal_i64(arrived, g->arrived_ms);
	decimal_i64(deadline, g->deadline_ms);
	decimal_i64(prio, g->msg->priority);
	const char *tier = g->msg->customer ? g->msg->customer->tier : "";
	struct store_field f[] = {
		{ "id", g->contact_id, 0 },
		{ "gateway", session_client_id(s), 0 },
		{ "external_id", g->msg->external_id, 0 },
		{ "channel", channel_name(g->channel), 0 },
		{ "queue", g->queue, 0 },
		{ "tier", tier, 0 },
		{ "priority", prio, 0 },
		{ "arrived_ms", arrived, 0 },
		{ "deadline_ms", deadline, 0 },
		{ "state", "waiting", 0 },
		{ "agent", "", 0 },
		{ "entered_ms", arrived, 0 },
		{ "event_seq", "1", 0 },
	};
	struct store_submit sub = {
		.contact_id = g->contact_id,
		.gateway_id = session_client_id(s),
		.external_id = g->msg->external_id,
		.queue = g->queue,
		.deadline_ms = g->deadline_ms,
		.fields = f,
		.n_fields = sizeof f / sizeof *f,
		.payload = payload,
		.payload_len = plen,
	};
	rc = store_submit(server_store(srv), &sub, gateway_on_stored, g);
	free(payload);
	if (rc != 0) {
		session_send_error(s, g->seq, rc, "the store is unavailable; retry");
		gateway_submit_free(g);
	}
}

static void gateway_cancel(struct session *s, Envelope *env)
{
	struct server *srv = session_server(s);
	const Switchboard__V1__CancelContact *m = env->cancel_contact;
	const char *why = NULL;
	int rc;

	if (m->contact_id[0] == '\0') {
		session_send_error(s, env->seq, SB_ERR_INVALID_ARGUMENT, "contact_id is required");
		return;
	}
	if (store_state(server_store(srv)) != STORE_READY) {
		session_send_error(s, env->seq, SB_ERR_STORE_UNAVAILABLE,
				   "the store is unavailable; retry");
		return;
	}
	sink_request_begin(server_sink(srv), s, env->seq);
	rc = engine_cancel(server_engine(srv), m->contact_id, session_client_id(s),
			   m->reason[0] ? m->reason : "cancelled", server_now_ms(srv), &why);
	sink_request_end(server_sink(srv));
	server_engine_touched(srv);
	if (rc == SB_ERR_NOT_FOUND &&
	    recent_done(server_recent(srv), m->contact_id, session_client_id(s), RECENT_CANCELLED)) {
		/* A retry of a cancel that was made: answer as the first time. */
		Envelope out = SWITCHBOARD__V1__ENVELOPE__INIT;
		Switchboard__V1__ContactCancelled cc = SWITCHBOARD__V1__CONTACT_CANCELLED__INIT;
		cc.contact_id = m->contact_id;
		out.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_CANCELLED;
		out.contact_cancelled = &cc;
		out.ref = env->seq;
		session_send(s, &out);
		return;
	}
	if (rc != 0)
		session_send_error(s, env->seq, rc, why);
}

/* ExplainContact: the engine's account of why a contact waits. */
static void gateway_explain(struct session *s, Envelope *env)
{
	struct server *srv = session_server(s);
	const char *id = env->explain_contact->contact_id, *why = NULL;
	const struct engine_contact_view *c = engine_contact(server_engine(srv), id);
	struct engine_explain x;

	if (c == NULL) {
		session_send_error(s, env->seq, SB_ERR_NOT_FOUND,
				   "no such contact (finished, or never submitted)");
		return;
	}
	if (strcmp(c->gateway_id, session_client_id(s)) != 0) {
		session_send_error(s, env->seq, SB_ERR_FORBIDDEN, "contact belongs to another gateway");
		return;
	}
	int rc = engine_explain(server_engine(srv), id, server_now_ms(srv), &x, &why);
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
