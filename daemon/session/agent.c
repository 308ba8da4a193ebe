/* The agent role: token login, state, accepting, rejecting and completing
 * contacts. What the daemon pushes to agents is sent from sink.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "engine/engine.h"
#include "util/err.h"
#include "util/log.h"
#include "ha/presence.h"
#include "security/token.h"
#include "server.h"
#include "session/contactinfo.h"
#include "session/outbound.h"
#include "session/recent.h"
#include "session/roles.h"
#include "session/session.h"
#include "sink.h"
#include "store/store.h"

int agent_hello(struct session *s, const Switchboard__V1__Hello *hello, const char **why)
{
	struct server *srv = session_server(s);
	const struct sb_config *cfg = server_config(srv);
	int64_t now_s = server_now_ms(srv) / 1000;
	int rc = token_verify(cfg->agent_secret, hello->client_id, hello->token ? hello->token : "",
			      now_s, why);

	if (rc != 0)
		return SB_ERR_UNAUTHENTICATED;
	if (engine_agent(server_engine(srv), hello->client_id) == NULL) {
		*why = "agent is not in the roster";
		return SB_ERR_FORBIDDEN;
	}
	/* One session per agent: a new login replaces the old one (a desktop
	 * reconnecting before the old socket timed out). */
	struct session *old = server_agent_session(srv, hello->client_id);
	if (old != NULL) {
		session_send_error(old, 0, SB_ERR_CONFLICT, "replaced by a new login");
		session_close(old, "replaced by a new login", true);
	}
	server_agent_bind(srv, hello->client_id, s);
	/* Back within its grace period, it resumes where it was. */
	presence_back(server_presence(srv), hello->client_id);
	engine_agent_attach(server_engine(srv), hello->client_id, server_now_ms(srv));
	server_engine_touched(srv);
	return 0;
}

static void agent_resend(void *arg, const struct engine_contact_view *c)
{
	char event_id[160];

	contactinfo_event_id(c, event_id, sizeof event_id);
	if (c->state == CONTACT_ASSIGNED)
		outbound_assignment(arg, 0, c->id, c, event_id, true);
	else if (c->state == CONTACT_OFFERED)
		outbound_offer(arg, c, event_id, true);
}

void agent_welcomed(struct session *s)
{
	struct server *srv = session_server(s);
	const char *id = session_client_id(s);

	/* Tell a (re)connecting agent where it stands and what it holds. */
	const struct engine_agent_view *a = engine_agent(server_engine(srv), id);

	outbound_state(s, 0, a->state, a->reason);
	engine_agent_each_contact(server_engine(srv), id, agent_resend, s);
}

void agent_closed(struct session *s)
{
	struct server *srv = session_server(s);
	const char *id = session_client_id(s);

	if (id == NULL || server_agent_session(srv, id) != s)
		return;
	server_agent_unbind(srv, id, s);
	/* Not logged out yet: a client that reconnects within the grace period
	 * keeps its state, its offer and its contacts. */
	presence_lost(server_presence(srv), id);
}

/* What an engine call says back beyond its return code. */
struct agent_call {
	const char *why;
	const struct engine_contact_view *contact; /* accept's result */
};

static int agent_state_from_wire(Switchboard__V1__AgentState st)
{
	switch (st) {
	case SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_OFFLINE: return AGENT_OFFLINE;
	case SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE: return AGENT_AVAILABLE;
	case SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_BREAK: return AGENT_BREAK;
	default: return -1;
	}
}

/* Runs the engine call for one request. An engine output that persisted
 * something carries the reply (sink.c); when nothing changed, the answer is
 * sent here. */
void agent_request(struct session *s, Envelope *env)
{
	struct server *srv = session_server(s);
	struct engine *e = server_engine(srv);
	struct sink *sk = server_sink(srv);
	const char *id = session_client_id(s);
	int64_t now = server_now_ms(srv);
	struct agent_call call = { 0 };
	int rc = 0;

	/* Every change below is persisted before it is confirmed: refuse up
	 * front rather than change routing state Redis cannot record. */
	if (store_state(server_store(srv)) != STORE_READY &&
	    env->body_case != SWITCHBOARD__V1__ENVELOPE__BODY_READY) {
		session_send_error(s, env->seq, SB_ERR_STORE_UNAVAILABLE,
				   "the store is unavailable; retry");
		envelope_free(env);
		return;
	}
	sink_request_begin(sk, s, env->seq);
	switch (env->body_case) {
	case SWITCHBOARD__V1__ENVELOPE__BODY_SET_STATE: {
		int st = agent_state_from_wire(env->set_state->state);
		if (st < 0) {
			rc = SB_ERR_INVALID_ARGUMENT;
			call.why = "state must be available, break or offline";
			break;
		}
		rc = engine_agent_set_state(e, id, (enum engine_agent_state)st,
					    env->set_state->reason, now, &call.why);
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_ACCEPT_OFFER:
		rc = engine_accept(e, id, env->accept_offer->offer_id, now, &call.why,
				   &call.contact);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_REJECT_OFFER:
		rc = engine_reject(e, id, env->reject_offer->offer_id,
				   env->reject_offer->reason, now, &call.why);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_COMPLETE_CONTACT:
		if (env->complete_contact->disposition[0] == '\0') {
			rc = SB_ERR_INVALID_ARGUMENT;
			call.why = "disposition is required";
			break;
		}
		rc = engine_complete(e, id, env->complete_contact->contact_id,
				     env->complete_contact->disposition, now, &call.why);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_READY:
		rc = engine_ready(e, id, now);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_TRANSFER:
		rc = engine_transfer(e, id, env->transfer->contact_id, env->transfer->queue, now,
				     &call.why);
		break;
	default:
		rc = SB_ERR_BAD_FRAME;
		call.why = "unhandled agent message";
		break;
	}
	bool claimed = sink_request_end(sk);
	server_engine_touched(srv);

	/* A retried Complete of a contact this agent already completed. */
	if (rc == SB_ERR_NOT_FOUND &&
	    env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_COMPLETE_CONTACT &&
	    recent_done(server_recent(srv), env->complete_contact->contact_id, id,
			RECENT_COMPLETED))
		rc = 0;
	if (rc != 0) {
		session_send_error(s, env->seq, rc, call.why ? call.why : sb_err_name(rc));
	} else if (!claimed) {
		/* Nothing changed that needed persisting: answer now. */
		switch (env->body_case) {
		case SWITCHBOARD__V1__ENVELOPE__BODY_SET_STATE:
			outbound_state(s, env->seq, engine_agent(e, id)->state,
				       engine_agent(e, id)->reason);
			break;
		case SWITCHBOARD__V1__ENVELOPE__BODY_ACCEPT_OFFER:
			/* A retried accept of an offer already assigned to it. */
		{
			char event_id[160];
			contactinfo_event_id(call.contact, event_id, sizeof event_id);
			outbound_assignment(s, env->seq, call.contact->id, call.contact, event_id,
					    false);
		}
			break;
		default:
			outbound_ack(s, env->seq);
			break;
		}
	}
	envelope_free(env);
}
