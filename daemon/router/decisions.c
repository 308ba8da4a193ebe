/* The engine's sink in the daemon: each engine decision becomes one record
 * write, and what it means for clients is told only once Redis holds it and
 * everything decided before it (router.h). The list of tidings is that
 * order: decisions, and requests answered from memory, told from its head
 * as their writes are acknowledged. */
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "metrics.h"
#include "record/record.h"
#include "router/internal.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

static void tiding_free(struct tiding *t)
{
	free(t);
}

static void tiding_append(struct router *r, struct tiding *t)
{
	t->r = r;
	if (r->tail != NULL)
		r->tail->next = t;
	else
		r->head = t;
	r->tail = t;
	r->n_tidings++;
}

/* What a decision names, copied into it. */
struct tiding_strs {
	const char *contact_id, *gateway_id, *gateway_sid, *agent_id, *offer_id, *event_id,
		*text;
};

/* A tiding and its strings in one allocation: every decision makes one,
 * and they come and go by the thousand a second. */
static struct tiding *tiding_new(const struct tiding_strs *in)
{
	const char *const src[] = { in->contact_id, in->gateway_id, in->gateway_sid, in->agent_id,
				    in->offer_id,   in->event_id,   in->text };
	size_t size = sizeof(struct tiding);

	for (size_t i = 0; i < sizeof src / sizeof src[0]; i++)
		if (src[i] != NULL)
			size += strlen(src[i]) + 1;
	struct tiding *t = xcalloc(1, size);
	char *at = (char *)(t + 1);
	char **dst[] = { &t->d.contact_id, &t->d.gateway_id, &t->d.gateway_sid, &t->d.agent_id,
			 &t->d.offer_id,   &t->d.event_id,   &t->d.text };
	for (size_t i = 0; i < sizeof src / sizeof src[0]; i++) {
		if (src[i] == NULL)
			continue;
		size_t n = strlen(src[i]) + 1;
		memcpy(at, src[i], n);
		*dst[i] = at;
		at += n;
	}
	return t;
}

/* A decision: about contact c (NULL: about an agent), naming agent_id and
 * offer_id (c's, when NULL and c is given), with text, recorded by rw. */
static struct tiding *tiding_decision(enum decision_kind kind, const struct engine_contact_view *c,
				      const char *agent_id, const char *offer_id, const char *text,
				      const struct record_write *rw)
{
	const struct record_data *data = c != NULL ? c->user : NULL;
	struct tiding_strs in = {
		.agent_id = agent_id,
		.offer_id = offer_id,
		.text = text,
		.event_id = rw->event_id,
	};

	if (c != NULL) {
		in.contact_id = c->id;
		in.gateway_id = c->gateway_id;
		in.gateway_sid = data != NULL && data->sid[0] ? data->sid : NULL;
		if (agent_id == NULL)
			in.agent_id = c->agent_id;
		if (offer_id == NULL)
			in.offer_id = c->offer_id;
	}
	struct tiding *t = tiding_new(&in);
	t->is_decision = true;
	t->d.kind = kind;
	t->seq = rw->w.seq;
	return t;
}

/* The request being handled takes this decision as its answer when it is
 * the kind that answers it (the first such decision of the call). */
static void tiding_claim(struct router *r, struct tiding *t)
{
	struct router_req *rq = r->req;

	if (rq == NULL || rq->claimed || rq->claims != t->d.kind)
		return;
	if (rq->code >= 0 && rq->code != t->d.code)
		return;
	if (rq->agent_id != NULL && (t->d.agent_id == NULL || strcmp(rq->agent_id, t->d.agent_id) != 0))
		return;
	rq->claimed = true;
	t->answer = *rq->answer;
	t->answering = true;
}

static void decisions_on_written(void *arg, int err);
static void decisions_tell(struct router *r);

/* Appends the decision and hands its write to the store. */
static void tiding_write(struct router *r, struct tiding *t, struct record_write *rw)
{
	tiding_append(r, t);
	if (t->d.kind == DECISION_OFFER) {
		t->next_early = NULL;
		t->told = false;
		if (r->early_tail != NULL)
			r->early_tail->next_early = t;
		else
			r->early_head = t;
		r->early_tail = t;
		event_active(r->early_ev, EV_TIMEOUT, 1);
	}
	if (store_write(r->st, &rw->w, decisions_on_written, t) != 0) {
		/* No epoch: this daemon leads nothing, and the decision goes
		 * with the engine it was made in. */
		t->recorded = t->dropped = true;
	}
	record_write_done(rw);
}

static void tiding_answer(struct tiding *t, int err, const char *why)
{
	struct router_outcome o = { .decision = err == 0 && t->is_decision ? &t->d : NULL };

	if (!t->answering)
		return;
	if (t->has_outcome && err == 0)
		o = t->outcome;
	t->answering = false;
	bool delivered = router_answer(&t->answer, err, why, &o);
	t->d.answered = err == 0 && delivered;
	t->d.agent_answered = t->d.answered && t->answer.agent;
}

/* The store's answer for a decision's write: 0 (Redis has it) or
 * SB_ERR_NOT_LEADER (another daemon leads; it never lands). */
static void decisions_on_written(void *arg, int err)
{
	struct tiding *t = arg;
	struct router *r = t->r;

	t->recorded = true;
	if (err != 0) {
		t->dropped = true;
		tiding_answer(t, err, "this daemon is no longer the leader; retry with the leader");
	}
	decisions_tell(r);
}

/* An Offer not told yet: it goes at the end of its turn, and what follows
 * it waits for that. */
static bool decisions_early_pending(const struct tiding *t)
{
	return t->is_decision && t->d.kind == DECISION_OFFER && !t->told && !t->dropped;
}

/* Tells, in order, every tiding whose write (and every one before it) is
 * recorded. Never inside an engine call: telling sends frames, and sending
 * can close a session, which calls the engine. */
static void decisions_tell(struct router *r)
{
	if (r->in_engine) {
		log_error("router: a decision was about to be told inside an engine callback");
		abort();
	}
	while (r->head != NULL && r->head->recorded && !decisions_early_pending(r->head)) {
		struct tiding *t = r->head;
		r->head = t->next;
		if (r->head == NULL)
			r->tail = NULL;
		r->n_tidings--;
		if (!t->dropped) {
			if (t->is_decision)
				router_told(r, &t->d, t->seq);
			tiding_answer(t, 0, NULL);
			if (t->is_decision && t->d.kind != DECISION_OFFER && r->hooks.tell != NULL)
				r->hooks.tell(r->hooks.ctx, &t->d);
			if (t->done != NULL)
				t->done(t->done_arg, 0);
		}
		tiding_free(t);
	}
}

/* End of the turn that made them: Offers go to their agents while their
 * records are written. */
static void decisions_on_early(evutil_socket_t fd, short what, void *arg)
{
	struct router *r = arg;
	struct tiding *t = r->early_head;

	r->early_head = r->early_tail = NULL;
	while (t != NULL) {
		struct tiding *next = t->next_early;
		t->next_early = NULL;
		t->told = true;
		if (!t->dropped && r->hooks.tell != NULL)
			r->hooks.tell(r->hooks.ctx, &t->d);
		t = next;
	}
	decisions_tell(r);
}

void decisions_init(struct router *r)
{
	r->early_ev = event_new(r->base, -1, 0, decisions_on_early, r);
}

void decisions_free(struct router *r)
{
	decisions_drop(r, SB_ERR_STORE_UNAVAILABLE);
	if (r->early_ev != NULL)
		event_free(r->early_ev);
}

void decisions_barrier(struct router *r, const struct router_answer *a,
		       const struct router_outcome *o)
{
	/* Memory is the truth only while this daemon leads. */
	if (!router_serving(r)) {
		router_answer(a, SB_ERR_NOT_LEADER, "this daemon is not serving; retry", NULL);
		return;
	}
	if (r->head == NULL) {
		router_answer(a, 0, NULL, o);
		return;
	}
	struct tiding_strs in = { 0 };
	if (o != NULL) {
		in.contact_id = o->contact_id;
		in.text = o->queue;
		in.event_id = o->event_id;
	}
	struct tiding *t = tiding_new(&in);
	t->recorded = true;
	t->answering = true;
	t->answer = *a;
	if (o != NULL) {
		t->has_outcome = true;
		t->outcome = *o;
		t->outcome.contact_id = t->d.contact_id;
		t->outcome.queue = t->d.text;
		t->outcome.event_id = t->d.event_id;
	}
	tiding_append(r, t);
}

void decisions_when_recorded(struct router *r, bool patient, void (*fn)(void *arg, int err),
			     void *arg)
{
	if (r->head == NULL) {
		fn(arg, 0);
		return;
	}
	struct tiding_strs none = { 0 };
	struct tiding *t = tiding_new(&none);
	t->recorded = true;
	t->done = fn;
	t->done_arg = arg;
	t->patient = patient;
	tiding_append(r, t);
}

void decisions_stall(struct router *r)
{
	static const char why[] = "the store did not acknowledge in time; retry";

	for (struct tiding *t = r->head, *next; t != NULL; t = next) {
		next = t->next;
		/* The decision stands and is told when it lands: the requester
		 * then hears it as news, not as this answer. */
		if (t->answering)
			tiding_answer(t, SB_ERR_STORE_UNAVAILABLE, why);
		if (t->done != NULL && !t->patient) {
			void (*fn)(void *, int) = t->done;
			t->done = NULL;
			fn(t->done_arg, SB_ERR_STORE_UNAVAILABLE);
		}
	}
}

void decisions_drop(struct router *r, int err)
{
	while (r->head != NULL) {
		struct tiding *t = r->head;
		r->head = t->next;
		if (!t->dropped) {
			tiding_answer(t, err, "this daemon is no longer the leader; retry");
			if (t->done != NULL)
				t->done(t->done_arg, err);
		}
		tiding_free(t);
	}
	r->tail = NULL;
	r->early_head = r->early_tail = NULL;
	r->n_tidings = 0;
}

/* ---- the engine's callbacks: each decision, its record, its news ------------ */

static void sink_offer(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	struct router *r = ctx;
	struct record_write rw;

	metrics_offer_made(c->queue);
	log_info("offer %s: contact %s (%s, queue %s) -> agent %s", c->offer_id, c->id,
		 channel_name(c->channel), c->queue, c->agent_id);
	record_offered(&rw, c, now);
	tiding_write(r, tiding_decision(DECISION_OFFER, c, NULL, NULL, NULL, &rw), &rw);
}

static void sink_offer_ended(void *ctx, const struct engine_contact_view *c, const char *agent_id,
			     const char *offer_id, enum engine_offer_end why, int64_t now)
{
	struct router *r = ctx;
	const char *reason = engine_offer_end_name(why);
	struct record_write rw;

	metrics_offer_ended(c->queue, (int)why);
	log_info("offer %s: contact %s back to waiting (%s by %s)", offer_id, c->id, reason,
		 agent_id);
	record_requeued(&rw, c, agent_id, offer_id, reason, now);
	struct tiding *t = tiding_decision(DECISION_OFFER_ENDED, c, agent_id, offer_id, reason, &rw);
	t->d.code = (int)why;
	tiding_claim(r, t);
	tiding_write(r, t, &rw);
}

static void sink_unassigned(void *ctx, const struct engine_contact_view *c, const char *agent_id,
			    int64_t now)
{
	struct router *r = ctx;
	const char *reason = "admin"; /* only a supervisor takes an assignment back */
	struct record_write rw;

	log_info("contact %s: taken from agent %s by %s; waiting again in queue %s", c->id,
		 agent_id, reason, c->queue);
	record_unassigned(&rw, c, agent_id, reason, now);
	struct tiding *t = tiding_decision(DECISION_UNASSIGNED, c, agent_id, NULL, reason, &rw);
	tiding_claim(r, t);
	tiding_write(r, t, &rw);
}

static void sink_assigned(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	struct router *r = ctx;
	int64_t waited = now - c->arrived_ms;
	bool met = waited <= c->sla_ms;
	struct record_write rw;

	/* No offer expiry: auto-accepted, no offer came first (engine.h). */
	metrics_assigned(c->queue, waited, c->offer_expires_ms == 0);
	log_info("contact %s assigned to %s after %" PRId64 " ms (SLA %s)", c->id, c->agent_id,
		 waited, met ? "met" : "missed");
	record_assigned(&rw, c, waited, met, now);
	struct tiding *t = tiding_decision(DECISION_ASSIGNED, c, NULL, NULL, NULL, &rw);
	t->d.n1 = waited;
	t->d.flag = met;
	tiding_claim(r, t);
	tiding_write(r, t, &rw);
}

static void sink_completed(void *ctx, const struct engine_contact_view *c, const char *disposition,
			   int64_t now)
{
	struct router *r = ctx;
	int64_t handled = now - c->assigned_ms;
	int64_t ttl = r->cfg->idempotency_ttl_s;
	/* Closed by a supervisor's request rather than by its agent. */
	const struct router_req *rq = r->req;
	const char *by = rq != NULL && !rq->claimed && rq->claims == DECISION_COMPLETED ? rq->by
											: NULL;
	struct record_write rw;

	metrics_completed(c->queue, handled);
	log_info("contact %s completed by %s: %s", c->id, by != NULL ? by : c->agent_id,
		 disposition);
	record_completed(&rw, c, disposition, handled, by, ttl, now);
	recent_add(r->recent, RECENT_COMPLETED, c, disposition, ttl, now);
	struct tiding *t = tiding_decision(DECISION_COMPLETED, c, NULL, NULL, disposition, &rw);
	t->d.n1 = handled;
	t->d.flag = by != NULL;
	tiding_claim(r, t);
	tiding_write(r, t, &rw);
}

static void sink_cancelled(void *ctx, const struct engine_contact_view *c, const char *reason,
			   const char *rescinded_agent, const char *rescinded_offer, int64_t now)
{
	struct router *r = ctx;
	int64_t ttl = r->cfg->idempotency_ttl_s;
	struct record_write rw;

	if (rescinded_offer != NULL)
		metrics_offer_ended(c->queue, OFFER_END_CANCELLED);
	log_info("contact %s cancelled by gateway %s: %s", c->id, c->gateway_id, reason);
	record_ended(&rw, c, "cancelled", reason, ttl, now);
	recent_add(r->recent, RECENT_CANCELLED, c, reason, ttl, now);
	/* It names the rescinded offer and its agent, if any: none else. */
	struct tiding *t = tiding_decision(DECISION_CANCELLED, c, rescinded_agent ? rescinded_agent : "",
					   rescinded_offer ? rescinded_offer : "", reason, &rw);
	if (rescinded_offer == NULL)
		t->d.agent_id = t->d.offer_id = NULL;
	tiding_claim(r, t);
	tiding_write(r, t, &rw);
}

static void sink_expired(void *ctx, const struct engine_contact_view *c, const char *reason,
			 int64_t now)
{
	struct router *r = ctx;
	int64_t ttl = r->cfg->idempotency_ttl_s;
	struct record_write rw;

	log_info("contact %s expired in queue %s: %s", c->id, c->queue, reason);
	metrics_note("expired", c, reason, now);
	record_ended(&rw, c, "expired", reason, ttl, now);
	recent_add(r->recent, RECENT_EXPIRED, c, reason, ttl, now);
	tiding_write(r, tiding_decision(DECISION_EXPIRED, c, NULL, NULL, reason, &rw), &rw);
}

static void sink_event(void *ctx, const struct engine_contact_view *c, enum engine_event kind,
		       const char *detail, int64_t now)
{
	struct router *r = ctx;
	const char *name = engine_event_name(kind);
	struct record_data *data = c->user;
	struct record_write rw;

	log_info("contact %s: %s%s%s", c->id, name, detail[0] ? " " : "", detail);
	if (kind == EVENT_SLA_BREACHED)
		metrics_note("sla_breached", c, detail, now);
	record_event(&rw, c, kind, detail, now);
	struct tiding *t = tiding_decision(DECISION_EVENT, c, NULL, NULL, detail, &rw);
	t->d.code = (int)kind;
	tiding_claim(r, t);
	tiding_write(r, t, &rw);
	/* Redis has it in its new queue's set from this write on. */
	if (kind != EVENT_SLA_BREACHED && data != NULL)
		snprintf(data->queue, sizeof data->queue, "%s", c->queue);
}

static void sink_agent_state(void *ctx, const struct engine_agent_view *a, int64_t now)
{
	struct router *r = ctx;
	struct record_write rw;

	log_info("agent %s: %s%s%s", a->id, engine_agent_state_name(a->state),
		 a->reason[0] ? " " : "", a->reason);
	record_agent_state(&rw, a, router_agent_next_seq(r, a->id), now);
	struct tiding *t = tiding_decision(DECISION_AGENT_STATE, NULL, a->id, NULL, a->reason, &rw);
	t->d.code = (int)a->state;
	tiding_claim(r, t);
	tiding_write(r, t, &rw);
}

void decisions_roster(struct router *r, const char *agent_id, const char *json,
		      const char *change, const struct router_answer *a)
{
	struct record_write rw;

	record_roster(&rw, agent_id, json, change, router_agent_next_seq(r, agent_id),
		      router_now_ms());
	struct tiding *t = tiding_decision(DECISION_ROSTER, NULL, agent_id, NULL, change, &rw);
	t->answer = *a;
	t->answering = true;
	tiding_write(r, t, &rw);
}

const struct engine_sink router_sink = {
	.offer = sink_offer,
	.offer_ended = sink_offer_ended,
	.unassigned = sink_unassigned,
	.assigned = sink_assigned,
	.completed = sink_completed,
	.cancelled = sink_cancelled,
	.agent_state = sink_agent_state,
	.expired = sink_expired,
	.event = sink_event,
	.contact_free = record_data_free,
};
