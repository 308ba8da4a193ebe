/* The engine's sink: persist each routing decision, then tell the clients.
 * See sink.h. */
#include "sink.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "util/decimal.h"
#include "util/err.h"
#include "util/log.h"
#include "metrics.h"
#include "server.h"
#include "session/contactinfo.h"
#include "session/outbound.h"
#include "session/recent.h"
#include "session/session.h"
#include "store/store.h"
#include "admin/wallboard.h"
#include "util/xalloc.h"

#define SINK_N(a) (sizeof(a) / sizeof((a)[0]))

struct sink {
	struct server *srv;
	struct session *req; /* the request being handled, if any */
	uint64_t req_seq;
	bool req_claimed;
	/* Offers to send at the end of this loop turn (see sink_write). */
	struct note *early_head, *early_tail;
	struct event *early_ev;
};

enum note_kind {
	NOTE_OFFER,
	NOTE_OFFER_ENDED,
	NOTE_ASSIGNED,
	NOTE_COMPLETED,
	NOTE_CANCELLED,
	NOTE_AGENT_STATE,
	NOTE_EXPIRED,
	NOTE_EVENT,
};

/* What to tell whom once a write is acknowledged. Owner: the write's
 * callback, which frees it. Holds a reference on the requester. */
struct note {
	struct sink *sk;
	enum note_kind kind;
	struct session *req;
	uint64_t req_seq;
	char *contact_id;
	char *gateway_id;
	char *gateway_sid;
	char *agent_id;
	char *offer_id;
	char *event_id; /* "<contact>/<n>": the transition this note reports */
	char *text; /* reason or disposition */
	int code;   /* offer end reason or agent state */
	int64_t n1, n2;
	bool flag;
	struct note *next; /* in the sink's early list */
};

static void sink_on_early(evutil_socket_t fd, short what, void *arg);
static void sink_note_free(struct note *n);

struct sink *sink_new(struct server *srv)
{
	struct sink *sk = xcalloc(1, sizeof *sk);
	sk->srv = srv;
	sk->early_ev = event_new(server_base(srv), -1, 0, sink_on_early, sk);
	return sk;
}

void sink_free(struct sink *sk)
{
	if (sk == NULL)
		return;
	while (sk->early_head != NULL) {
		struct note *n = sk->early_head;
		sk->early_head = n->next;
		sink_note_free(n);
	}
	event_free(sk->early_ev);
	free(sk);
}

void sink_request_begin(struct sink *sk, struct session *s, uint64_t seq)
{
	sk->req = s;
	sk->req_seq = seq;
	sk->req_claimed = false;
}

bool sink_request_end(struct sink *sk)
{
	bool claimed = sk->req_claimed;
	sk->req = NULL;
	sk->req_seq = 0;
	sk->req_claimed = false;
	return claimed;
}

static char *sink_dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static struct note *sink_note(struct sink *sk, enum note_kind kind,
			      const struct engine_contact_view *c, bool claim)
{
	struct note *n = xcalloc(1, sizeof *n);

	n->sk = sk;
	n->kind = kind;
	if (c != NULL) {
		const struct contact_payload *p = c->user;
		n->contact_id = xstrdup(c->id);
		n->gateway_id = xstrdup(c->gateway_id);
		n->gateway_sid = p ? xstrdup(p->sid) : NULL;
		n->agent_id = sink_dup(c->agent_id);
		n->offer_id = sink_dup(c->offer_id);
	}
	/* The first output of a request carries its reply. */
	if (claim && sk->req != NULL && !sk->req_claimed) {
		sk->req_claimed = true;
		n->req = sk->req;
		n->req_seq = sk->req_seq;
		session_ref(n->req);
	}
	return n;
}

static void sink_note_free(struct note *n)
{
	if (n->req != NULL)
		session_unref(n->req);
	free(n->contact_id);
	free(n->gateway_id);
	free(n->gateway_sid);
	free(n->agent_id);
	free(n->offer_id);
	free(n->event_id);
	free(n->text);
	free(n);
}

/* The gateway session that hears about a contact: the one that submitted
 * it while it lives, else the gateway's newest. */
static struct session *sink_gateway(struct sink *sk, const struct note *n)
{
	struct session *s = n->gateway_sid ? server_session(sk->srv, n->gateway_sid) : NULL;

	if (s != NULL && session_is_active(s) && session_client_id(s) != NULL &&
	    strcmp(session_client_id(s), n->gateway_id) == 0)
		return s;
	return server_gateway_session(sk->srv, n->gateway_id);
}

static struct session *sink_agent(struct sink *sk, const char *agent_id)
{
	struct session *s = agent_id ? server_agent_session(sk->srv, agent_id) : NULL;
	return s != NULL && session_is_active(s) ? s : NULL;
}

static void sink_send(struct session *s, uint64_t ref, const struct note *n, Envelope *env)
{
	if (s == NULL)
		return;
	env->ref = ref;
	env->event_id = n->event_id ? n->event_id : "";
	session_send(s, env);
}

static void sink_send_offer(struct sink *sk, const struct note *n)
{
	const struct engine_contact_view *c = engine_contact(server_engine(sk->srv), n->contact_id);

	/* Rescinded or cancelled before Redis answered: nothing to offer. */
	if (c == NULL || c->offer_id == NULL || strcmp(c->offer_id, n->offer_id) != 0)
		return;
	outbound_offer(sink_agent(sk, n->agent_id), c, n->event_id, false);
}

static void sink_deliver_offer_ended(struct sink *sk, const struct note *n)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__ContactEvent ev = SWITCHBOARD__V1__CONTACT_EVENT__INIT;

	if (n->code == OFFER_END_REJECTED)
		outbound_ack(n->req, n->req_seq);
	else
		outbound_rescind(sink_agent(sk, n->agent_id), n->offer_id, n->text);
	ev.contact_id = n->contact_id;
	ev.kind = SWITCHBOARD__V1__CONTACT_EVENT__KIND__REQUEUED;
	ev.detail = n->text;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EVENT;
	env.contact_event = &ev;
	sink_send(sink_gateway(sk, n), 0, n, &env);
}

static void sink_deliver_assigned(struct sink *sk, const struct note *n)
{
	Switchboard__V1__ContactAssigned ca = SWITCHBOARD__V1__CONTACT_ASSIGNED__INIT;
	const struct engine_contact_view *c = engine_contact(server_engine(sk->srv), n->contact_id);

	if (n->req != NULL)
		outbound_assignment(n->req, n->req_seq, n->contact_id, c, n->event_id, false);
	else
		outbound_assignment(sink_agent(sk, n->agent_id), 0, n->contact_id, c, n->event_id,
				    false);

	Envelope genv = SWITCHBOARD__V1__ENVELOPE__INIT;
	ca.contact_id = n->contact_id;
	ca.agent_id = n->agent_id;
	ca.waited_ms = (uint64_t)n->n1;
	ca.sla_met = n->flag;
	genv.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ASSIGNED;
	genv.contact_assigned = &ca;
	sink_send(sink_gateway(sk, n), 0, n, &genv);
}

static void sink_deliver_completed(struct sink *sk, const struct note *n)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__ContactCompleted cc = SWITCHBOARD__V1__CONTACT_COMPLETED__INIT;

	outbound_ack(n->req, n->req_seq);
	cc.contact_id = n->contact_id;
	cc.disposition = n->text;
	cc.handle_ms = (uint64_t)n->n1;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_COMPLETED;
	env.contact_completed = &cc;
	sink_send(sink_gateway(sk, n), 0, n, &env);
}

static void sink_deliver_cancelled(struct sink *sk, const struct note *n)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__ContactCancelled cc = SWITCHBOARD__V1__CONTACT_CANCELLED__INIT;

	if (n->offer_id != NULL)
		outbound_rescind(sink_agent(sk, n->agent_id), n->offer_id, "cancelled");
	cc.contact_id = n->contact_id;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_CANCELLED;
	env.contact_cancelled = &cc;
	sink_send(n->req, n->req_seq, n, &env);
}

static void sink_deliver_agent_state(struct sink *sk, const struct note *n)
{
	struct session *s = n->req != NULL ? n->req : sink_agent(sk, n->agent_id);

	outbound_state(s, n->req != NULL ? n->req_seq : 0, (enum engine_agent_state)n->code,
		       n->text);
}

static void sink_send_contact_event(struct sink *sk, const struct note *n,
				    Switchboard__V1__ContactEvent__Kind kind)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__ContactEvent ev = SWITCHBOARD__V1__CONTACT_EVENT__INIT;

	ev.contact_id = n->contact_id;
	ev.kind = kind;
	ev.detail = n->text ? n->text : "";
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EVENT;
	env.contact_event = &ev;
	sink_send(sink_gateway(sk, n), 0, n, &env);
}

static void sink_deliver_event(struct sink *sk, const struct note *n)
{
	static const Switchboard__V1__ContactEvent__Kind kinds[] = {
		[EVENT_SLA_BREACHED] = SWITCHBOARD__V1__CONTACT_EVENT__KIND__SLA_BREACHED,
		[EVENT_OVERFLOWED] = SWITCHBOARD__V1__CONTACT_EVENT__KIND__OVERFLOWED,
		[EVENT_TRANSFERRED] = SWITCHBOARD__V1__CONTACT_EVENT__KIND__TRANSFERRED,
	};

	if (n->req != NULL)
		outbound_ack(n->req, n->req_seq);
	sink_send_contact_event(sk, n, kinds[n->code]);
}

/* A write was acknowledged (or not): tell whoever is waiting. */
static void sink_on_written(void *arg, int err)
{
	struct note *n = arg;
	struct sink *sk = n->sk;

	if (err != 0) {
		/* The store replays the write; the requester learns it may retry. */
		if (n->req != NULL)
			session_send_error(n->req, n->req_seq, err,
					   "the store did not acknowledge; retry");
		/* What the engine has already done (an offer ended, an agent put
		 * on break, a contact expired) is still true and its write will
		 * be replayed: say so now rather than leave clients guessing.
		 * Offers and confirmations wait for Redis. */
		bool tell = n->kind == NOTE_OFFER_ENDED || n->kind == NOTE_AGENT_STATE ||
			    n->kind == NOTE_EXPIRED || n->kind == NOTE_EVENT;
		if (!tell || err != SB_ERR_STORE_UNAVAILABLE) {
			sink_note_free(n);
			return;
		}
		if (n->req != NULL) {
			session_unref(n->req);
			n->req = NULL;
		}
	}
	switch (n->kind) {
	case NOTE_OFFER: sink_send_offer(sk, n); break;
	case NOTE_OFFER_ENDED: sink_deliver_offer_ended(sk, n); break;
	case NOTE_ASSIGNED: sink_deliver_assigned(sk, n); break;
	case NOTE_COMPLETED: sink_deliver_completed(sk, n); break;
	case NOTE_CANCELLED: sink_deliver_cancelled(sk, n); break;
	case NOTE_AGENT_STATE: sink_deliver_agent_state(sk, n); break;
	case NOTE_EXPIRED:
		sink_send_contact_event(sk, n, SWITCHBOARD__V1__CONTACT_EVENT__KIND__EXPIRED);
		break;
	case NOTE_EVENT: sink_deliver_event(sk, n); break;
	}
	sink_note_free(n);
}

static void sink_on_early(evutil_socket_t fd, short what, void *arg)
{
	struct sink *sk = arg;
	struct note *n = sk->early_head;

	sk->early_head = sk->early_tail = NULL;
	while (n != NULL) {
		struct note *next = n->next;
		sink_on_written(n, 0);
		n = next;
	}
}

#define SINK_MAX_FIELDS 16

/* "<contact>/<n>": the id of a contact's n-th transition. */
static void sink_event_id(char *out, size_t size, const char *contact, unsigned n)
{
	size_t len = strlen(contact);

	if (len + 1 + DECIMAL_MAX > size) {
		snprintf(out, size, "%s/%u", contact, n);
		return;
	}
	memcpy(out, contact, len);
	out[len] = '/';
	decimal_u64(out + len + 1, n);
}

/* Persists one transition, then delivers n. A contact's transition is
 * numbered: the hash keeps the count (event_seq) and the event and every
 * frame about it carry "<contact>/<n>", so a client told twice (a reconnect,
 * a restart) can tell. Field values are copied by the store before this
 * returns. */
static void sink_write(struct sink *sk, struct store_write *w, struct note *n,
		       const struct engine_contact_view *c)
{
	struct store_field f[SINK_MAX_FIELDS], ev[SINK_MAX_FIELDS];
	char seq[DECIMAL_MAX], id[160];
	struct contact_payload *p = c != NULL ? c->user : NULL;

	if (p != NULL && w->n_fields < SINK_MAX_FIELDS && w->n_event < SINK_MAX_FIELDS) {
		decimal_u64(seq, ++p->event_seq);
		sink_event_id(id, sizeof id, c->id, p->event_seq);
		memcpy(f, w->fields, w->n_fields * sizeof *f);
		f[w->n_fields] = (struct store_field){ "event_seq", seq, 0 };
		memcpy(ev, w->event, w->n_event * sizeof *ev);
		ev[w->n_event] = (struct store_field){ "event_id", id, 0 };
		w->fields = f;
		w->n_fields++;
		w->event = ev;
		w->n_event++;
		n->event_id = xstrdup(id);
	}
	/* An Offer goes out at the end of this loop turn, while its record is
	 * written, not once Redis has it: after a crash every outstanding
	 * offer is requeued whatever Redis holds, so waiting would add a round
	 * trip to every offer and no safety. The assignment that follows is
	 * confirmed only once Redis has it, as before. */
	bool early = n->kind == NOTE_OFFER;
	int rc = store_write(server_store(sk->srv), w, early ? NULL : sink_on_written,
			     early ? NULL : n);
	if (rc == 0 && early) {
		n->next = NULL;
		if (sk->early_tail != NULL)
			sk->early_tail->next = n;
		else
			sk->early_head = n;
		sk->early_tail = n;
		/* Not from inside the engine's callback: sending can close a
		 * session, which calls back into the engine. */
		event_active(sk->early_ev, EV_TIMEOUT, 1);
	}
	if (rc != 0) {
		/* Not READY: handlers refuse new work in that state, so this is
		 * a timer (offer timeout) or a closing session acting while
		 * Redis is away. The engine has moved on; the requester, if
		 * any, is told. */
		log_warnx("store unavailable: %s of %s not persisted",
			  w->event && w->n_event ? w->event[0].value : "write", w->id);
		sink_on_written(n, SB_ERR_STORE_UNAVAILABLE);
	}
}

static void sink_on_offer(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	struct sink *sk = ctx;
	char expires[DECIMAL_MAX], ts[DECIMAL_MAX];

	decimal_i64(expires, c->offer_expires_ms);
	decimal_i64(ts, now);
	struct store_field f[] = {
		{ "state", "offered", 0 },	     { "agent", c->agent_id, 0 },
		{ "offer_id", c->offer_id, 0 },	     { "offer_expires_ms", expires, 0 },
		{ "updated_ms", ts, 0 },
	};
	struct store_field ev[] = {
		{ "event", "offered", 0 },
		{ "contact", c->id, 0 },
		{ "agent", c->agent_id, 0 },
		{ "offer_id", c->offer_id, 0 },
	};
	/* An offered contact keeps its place in its queue's set (it was put
	 * there, at this deadline, when it last began to wait). */
	struct store_write w = {
		.kind = STORE_CONTACT, .id = c->id, .queue = c->queue, .zop = STORE_ZNONE,
		.expire_s = 0, .fields = f, .n_fields = SINK_N(f), .event = ev, .n_event = SINK_N(ev),
	};
	metrics_offer_made();
	log_info("offer %s: contact %s (%s, queue %s) -> agent %s", c->offer_id, c->id,
		 channel_name(c->channel), c->queue, c->agent_id);
	sink_write(sk, &w, sink_note(sk, NOTE_OFFER, c, false), c);
}

static void sink_on_offer_ended(void *ctx, const struct engine_contact_view *c,
				const char *agent_id, const char *offer_id,
				enum engine_offer_end why, int64_t now)
{
	struct sink *sk = ctx;
	const char *reason = engine_offer_end_name(why);
	char ts[DECIMAL_MAX];

	decimal_i64(ts, now);
	struct store_field f[] = {
		{ "state", "waiting", 0 },
		{ "agent", "", 0 },
		{ "offer_id", "", 0 },
		{ "updated_ms", ts, 0 },
	};
	struct store_field ev[] = {
		{ "event", "requeued", 0 },   { "contact", c->id, 0 },   { "agent", agent_id, 0 },
		{ "offer_id", offer_id, 0 }, { "reason", reason, 0 },
	};
	struct store_write w = {
		.kind = STORE_CONTACT, .id = c->id, .queue = c->queue, .zop = STORE_ZADD,
		.score = c->deadline_ms, .expire_s = 0, .fields = f, .n_fields = SINK_N(f), .event = ev, .n_event = SINK_N(ev),
	};
	/* Only a reject is the requester's own act; a timeout or an agent
	 * leaving is not answered to whoever happens to be calling. */
	struct note *n = sink_note(sk, NOTE_OFFER_ENDED, c, why == OFFER_END_REJECTED);
	free(n->agent_id);
	n->agent_id = xstrdup(agent_id);
	free(n->offer_id);
	n->offer_id = xstrdup(offer_id);
	n->text = xstrdup(reason);
	n->code = (int)why;
	metrics_offer_ended((int)why);
	log_info("offer %s: contact %s back to waiting (%s by %s)", offer_id, c->id, reason,
		 agent_id);
	sink_write(sk, &w, n, c);
}

static void sink_on_assigned(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	struct sink *sk = ctx;
	int64_t waited = now - c->arrived_ms;
	bool met = waited <= c->sla_ms;
	char ts[DECIMAL_MAX], w_ms[DECIMAL_MAX];

	decimal_i64(ts, now);
	decimal_i64(w_ms, waited);
	struct store_field f[] = {
		{ "state", "assigned", 0 },
		{ "agent", c->agent_id, 0 },
		{ "offer_id", "", 0 },
		{ "assigned_ms", ts, 0 },
		{ "updated_ms", ts, 0 },
	};
	struct store_field ev[] = {
		{ "event", "assigned", 0 },
		{ "contact", c->id, 0 },
		{ "agent", c->agent_id, 0 },
		{ "waited_ms", w_ms, 0 },
		{ "sla_met", met ? "1" : "0", 0 },
	};
	struct store_write w = {
		.kind = STORE_CONTACT, .id = c->id, .queue = c->queue, .zop = STORE_ZREM,
		.score = 0, .expire_s = 0, .fields = f, .n_fields = SINK_N(f), .event = ev, .n_event = SINK_N(ev),
	};
	struct note *n = sink_note(sk, NOTE_ASSIGNED, c, true);
	n->n1 = waited;
	n->flag = met;
	metrics_assigned(c->queue, waited);
	log_info("contact %s assigned to %s after %" PRId64 " ms (SLA %s)", c->id, c->agent_id,
		 waited, met ? "met" : "missed");
	sink_write(sk, &w, n, c);
}

static void sink_on_completed(void *ctx, const struct engine_contact_view *c,
			      const char *disposition, int64_t now)
{
	struct sink *sk = ctx;
	const struct sb_config *cfg = server_config(sk->srv);
	int64_t handled = now - c->assigned_ms;
	char ts[DECIMAL_MAX], h_ms[DECIMAL_MAX];

	decimal_i64(ts, now);
	decimal_i64(h_ms, handled);
	struct store_field f[] = {
		{ "state", "completed", 0 },
		{ "disposition", disposition, 0 },
		{ "completed_ms", ts, 0 },
		{ "updated_ms", ts, 0 },
	};
	struct store_field ev[] = {
		{ "event", "completed", 0 },	    { "contact", c->id, 0 },
		{ "agent", c->agent_id, 0 },	    { "disposition", disposition, 0 },
		{ "handle_ms", h_ms, 0 },
	};
	/* Its assignment already took it out of its queue's set. */
	struct store_write w = {
		.kind = STORE_CONTACT, .id = c->id, .zop = STORE_ZNONE,
		.expire_s = cfg->idempotency_ttl_s, .fields = f, .n_fields = SINK_N(f), .event = ev, .n_event = SINK_N(ev),
		.closes = true,
	};
	recent_add(server_recent(sk->srv), c->id, c->agent_id, RECENT_COMPLETED);
	struct note *n = sink_note(sk, NOTE_COMPLETED, c, true);
	n->text = xstrdup(disposition);
	n->n1 = handled;
	metrics_completed(c->queue, handled);
	log_info("contact %s completed by %s: %s", c->id, c->agent_id, disposition);
	sink_write(sk, &w, n, c);
}

/* The last write of a contact that ends unhandled (cancelled, expired): its
 * state and why, out of its queue, its hash expiring with the idempotency
 * window. */
static void sink_write_end(struct sink *sk, const struct engine_contact_view *c,
			   const char *state, const char *reason, int64_t now, struct note *n)
{
	const struct sb_config *cfg = server_config(sk->srv);
	char ts[DECIMAL_MAX];

	decimal_i64(ts, now);
	struct store_field f[] = {
		{ "state", state, 0 },	  { "reason", reason, 0 },    { "agent", "", 0 },
		{ "offer_id", "", 0 }, { "updated_ms", ts, 0 },
	};
	struct store_field ev[] = {
		{ "event", state, 0 },
		{ "contact", c->id, 0 },
		{ "reason", reason, 0 },
	};
	struct store_write w = {
		.kind = STORE_CONTACT, .id = c->id, .queue = c->queue, .zop = STORE_ZREM,
		.expire_s = cfg->idempotency_ttl_s, .fields = f, .n_fields = SINK_N(f),
		.event = ev, .n_event = SINK_N(ev), .closes = true,
	};
	sink_write(sk, &w, n, c);
}

static void sink_on_cancelled(void *ctx, const struct engine_contact_view *c, const char *reason,
			      const char *rescinded_agent, const char *rescinded_offer,
			      int64_t now)
{
	struct sink *sk = ctx;
	recent_add(server_recent(sk->srv), c->id, c->gateway_id, RECENT_CANCELLED);
	struct note *n = sink_note(sk, NOTE_CANCELLED, c, true);

	n->agent_id = sink_dup(rescinded_agent);
	n->offer_id = sink_dup(rescinded_offer);
	if (rescinded_offer != NULL) metrics_offer_ended(OFFER_END_CANCELLED);
	log_info("contact %s cancelled by gateway %s: %s", c->id, c->gateway_id, reason);
	sink_write_end(sk, c, "cancelled", reason, now, n);
}

static void sink_on_agent_state(void *ctx, const struct engine_agent_view *a, int64_t now)
{
	struct sink *sk = ctx;
	const char *state = engine_agent_state_name(a->state);
	char ts[DECIMAL_MAX];

	decimal_i64(ts, now);
	struct store_field f[] = {
		{ "state", state, 0 },
		{ "reason", a->reason, 0 },
		{ "updated_ms", ts, 0 },
	};
	struct store_field ev[] = {
		{ "event", "agent_state", 0 },
		{ "agent", a->id, 0 },
		{ "state", state, 0 },
		{ "reason", a->reason, 0 },
	};
	struct store_write w = {
		.kind = STORE_AGENT, .id = a->id, .queue = NULL, .zop = STORE_ZNONE,
		.score = 0, .expire_s = 0, .fields = f, .n_fields = SINK_N(f), .event = ev, .n_event = SINK_N(ev),
	};
	/* The reply to SetState is the agent's own; a state change caused by
	 * another client's request is pushed to the agent instead. */
	bool own = sk->req != NULL && session_client_id(sk->req) != NULL &&
		   session_role(sk->req) == SESSION_AGENT &&
		   strcmp(session_client_id(sk->req), a->id) == 0;
	struct note *n = sink_note(sk, NOTE_AGENT_STATE, NULL, own);
	n->agent_id = xstrdup(a->id);
	n->text = xstrdup(a->reason);
	n->code = (int)a->state;
	log_info("agent %s: %s%s%s", a->id, state, a->reason[0] ? " " : "", a->reason);
	sink_write(sk, &w, n, NULL);
}

static void sink_on_expired(void *ctx, const struct engine_contact_view *c, const char *reason,
			    int64_t now)
{
	struct sink *sk = ctx;
	struct note *n = sink_note(sk, NOTE_EXPIRED, c, false);

	n->text = xstrdup(reason);
	log_info("contact %s expired in queue %s: %s", c->id, c->queue, reason);
	wallboard_note("expired", c, reason, now);
	sink_write_end(sk, c, "expired", reason, now, n);
}

/* SLA breach, overflow, transfer. Overflow and transfer move the contact
 * between queues' sorted sets in the same atomic write. */
static void sink_on_event(void *ctx, const struct engine_contact_view *c, enum engine_event kind,
			  const char *detail, int64_t now)
{
	struct sink *sk = ctx;
	const char *name = engine_event_name(kind);
	char ts[DECIMAL_MAX], deadline[DECIMAL_MAX];

	decimal_i64(ts, now);
	decimal_i64(deadline, c->deadline_ms);
	/* entered_ms: steps count from entering the new queue (recovery). */
	struct store_field f[] = {
		{ "queue", c->queue, 0 },      { "deadline_ms", deadline, 0 },
		{ "entered_ms", ts, 0 },       { "state", "waiting", 0 },
		{ "agent", "", 0 },            { "updated_ms", ts, 0 },
	};
	struct store_field ev[] = {
		{ "event", name, 0 },
		{ "contact", c->id, 0 },
		{ "detail", detail, 0 },
	};
	struct store_field breached[] = { { "sla_breached", "1", 0 } };
	struct store_write w = {
		.kind = STORE_CONTACT, .id = c->id, .queue = c->queue, .zop = STORE_ZNONE,
		.event = ev, .n_event = SINK_N(ev),
	};
	if (kind == EVENT_SLA_BREACHED) {
		wallboard_note("sla_breached", c, detail, now);
		w.fields = breached;
		w.n_fields = SINK_N(breached);
	} else {
		/* An overflowed contact moves between queues' sets; a transferred
		 * one left its old set when it was assigned. */
		struct contact_payload *p = c->user;
		w.fields = f;
		w.n_fields = kind == EVENT_OVERFLOWED ? 3 : SINK_N(f);
		w.zop = kind == EVENT_OVERFLOWED && p && p->queue[0] ? STORE_ZMOVE : STORE_ZADD;
		w.from_queue = p ? p->queue : NULL;
		w.score = c->deadline_ms;
	}
	struct note *n = sink_note(sk, NOTE_EVENT, c, kind == EVENT_TRANSFERRED);
	n->text = xstrdup(detail);
	n->code = (int)kind;
	log_info("contact %s: %s%s%s", c->id, name, detail[0] ? " " : "", detail);
	sink_write(sk, &w, n, c);
	if (kind != EVENT_SLA_BREACHED && c->user != NULL) {
		struct contact_payload *p = c->user;
		snprintf(p->queue, sizeof p->queue, "%s", c->queue);
	}
}

void sink_recovered_requeue(struct sink *sk, const struct engine_contact_view *c,
			    const char *agent_id, const char *offer_id, int64_t now)
{
	sink_on_offer_ended(sk, c, agent_id, offer_id, OFFER_END_AGENT_GONE, now);
}

static const struct engine_sink sink_engine_ops = {
	.offer = sink_on_offer,
	.offer_ended = sink_on_offer_ended,
	.assigned = sink_on_assigned,
	.completed = sink_on_completed,
	.cancelled = sink_on_cancelled,
	.agent_state = sink_on_agent_state,
	.expired = sink_on_expired,
	.event = sink_on_event,
	.contact_free = contactinfo_free,
};

const struct engine_sink *sink_ops(void)
{
	return &sink_engine_ops;
}
