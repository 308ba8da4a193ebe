/* The router: see router.h. This file owns the engine, its timer and its
 * life cycle, and runs each request; decisions.c turns what the engine
 * decides into writes and news. */
#include "router/router.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "config/config.h"
#include "record/record.h"
#include "record/roster.h"
#include "config/config_engine.h"
#include "metrics.h"
#include "router/internal.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

int64_t router_now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

const struct engine *router_engine(const struct router *r)
{
	return r->engine;
}

const struct sb_config *router_config(const struct router *r)
{
	return r->cfg;
}

bool router_serving(const struct router *r)
{
	return r->serving && (r->hooks.current == NULL || r->hooks.current(r->hooks.ctx));
}

/* STORE_UNAVAILABLE answers so far, for the outage summary. Counted here,
 * where every answer passes, because answers reach router_answer without
 * their router (a session refuses some before asking one); a process runs
 * one router, so one count is that router's. */
static uint64_t router_unavailable_answers;

bool router_answer(const struct router_answer *a, int err, const char *why,
		   const struct router_outcome *o)
{
	static const struct router_outcome none = { 0 };

	if (err == SB_ERR_STORE_UNAVAILABLE)
		router_unavailable_answers++;
	if (a == NULL || a->fn == NULL)
		return false;
	return a->fn(a->arg, err, err != 0 && why == NULL ? sb_err_name(err) : why,
		     o != NULL ? o : &none);
}

/* ---- the engine, its timer ------------------------------------------------------ */

static void router_arm(struct router *r)
{
	int64_t next = engine_next_wakeup(r->engine);

	if (next == INT64_MAX) {
		evtimer_del(r->timer);
		return;
	}
	int64_t in = next - router_now_ms();
	if (in < 0)
		in = 0;
	struct timeval tv = { in / 1000, (in % 1000) * 1000 };
	evtimer_add(r->timer, &tv);
}

void router_enter(struct router *r, struct router_req *rq)
{
	r->req = rq;
	r->in_engine = true;
}

void router_leave(struct router *r)
{
	r->in_engine = false;
	r->req = NULL;
	router_arm(r);
}

static void router_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct router *r = arg;

	router_enter(r, NULL);
	engine_tick(r->engine, router_now_ms());
	router_leave(r);
}

/* The engine routes only while this daemon serves and Redis can record its
 * decisions. */
static void router_update_pause(struct router *r)
{
	bool run = r->serving && r->store == STORE_READY;

	router_enter(r, NULL);
	engine_set_paused(r->engine, !run, router_now_ms());
	router_leave(r);
}

struct engine *router_build(struct router *r, const struct sb_config *cfg,
			    const struct sb_queue_conf *const *draining, size_t n_draining,
			    const char **why)
{
	/* Offer ids carry the engine's generation: a new engine must not hand
	 * out an id an old one used. */
	char prefix[32];
	snprintf(prefix, sizeof prefix, "%s.%u", r->boot, ++r->generation);
	struct engine *e = config_engine_new_draining(cfg, draining, n_draining, &router_sink, r,
						      prefix, r->check_invariants, why);
	if (e != NULL)
		engine_set_paused(e, true, router_now_ms());
	return e;
}

int router_reset(struct router *r, const char **why)
{
	struct engine *e = router_build(r, r->cfg, NULL, 0, why);

	if (e == NULL)
		return SB_ERR_CONFIG;
	decisions_drop(r, SB_ERR_NOT_LEADER);
	evtimer_del(r->timer);
	engine_free(r->engine);
	r->engine = e;
	/* Agents' numbers are read again from Redis with the state. */
	const char *k;
	void *v;
	for (size_t it = 0; strmap_next(&r->agent_seq, &it, &k, &v);)
		((struct agent_seq *)v)->seq = ((struct agent_seq *)v)->told = 0;
	router_update_pause(r);
	return 0;
}

void router_set_serving(struct router *r, bool serving)
{
	r->serving = serving;
	router_update_pause(r);
}

/* One line when a store outage ends, with what it cost: the store logs its
 * start and cause, and the requests refused meanwhile (each answered
 * STORE_UNAVAILABLE) are counted here rather than logged one by one. */
static void router_note_outage(struct router *r, enum store_state st)
{
	int64_t now = router_now_ms();

	if (st != STORE_READY && r->store == STORE_READY) {
		r->outage_since_ms = now;
		r->outage_refused_from = router_unavailable_answers;
	} else if (st == STORE_READY && r->outage_since_ms != 0) {
		log_warnx("store: outage over after %.1f s; %" PRIu64 " requests refused",
			  (double)(now - r->outage_since_ms) / 1000.0,
			  router_unavailable_answers - r->outage_refused_from);
		r->outage_since_ms = 0;
	}
}

void router_store_state(struct router *r, enum store_state st)
{
	router_note_outage(r, st);
	r->store = st;
	if (st != STORE_READY)
		decisions_stall(r);
	if (st == STORE_READY && r->strays_pending) {
		r->strays_pending = false;
		reseed_scan_strays(r);
	}
	router_update_pause(r);
}

/* Writes Base 36: short, sortable-enough ids. */
static void router_base36(uint64_t v, char *out, size_t len)
{
	char tmp[16];
	size_t n = 0;

	do {
		tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
		v /= 36;
	} while (v && n < sizeof tmp);
	size_t i = 0;
	for (; i < n && i + 1 < len; i++)
		out[i] = tmp[n - 1 - i];
	out[i] = '\0';
}

struct router *router_new(struct event_base *base, struct store *st, const struct sb_config *cfg,
			  bool check_invariants, const struct router_hooks *hooks)
{
	struct router *r = xcalloc(1, sizeof *r);
	const char *why = NULL;

	r->base = base;
	r->st = st;
	r->cfg = cfg;
	r->check_invariants = check_invariants;
	r->hooks = *hooks;
	r->store = STORE_DOWN;
	router_base36((uint64_t)router_now_ms(), r->boot, sizeof r->boot);
	r->timer = evtimer_new(base, router_on_timer, r);
	r->recent = recent_new();
	strmap_init(&r->agent_seq);
	decisions_init(r);
	roster_init(r);
	r->engine = router_build(r, cfg, NULL, 0, &why);
	if (r->engine == NULL) {
		log_error("routing configuration refused: %s", why);
		router_free(r);
		return NULL;
	}
	return r;
}

void router_free(struct router *r)
{
	const char *k;
	void *v;

	if (r == NULL)
		return;
	decisions_free(r);
	if (r->timer != NULL)
		event_free(r->timer);
	engine_free(r->engine);
	recent_free(r->recent);
	roster_free(r);
	for (size_t it = 0; strmap_next(&r->agent_seq, &it, &k, &v);) {
		struct agent_seq *s = v;
		free(s->id);
		free(s);
	}
	strmap_free(&r->agent_seq);
	free(r);
}

/* ---- agents' transition numbers ---------------------------------------------- */

static struct agent_seq *router_seq_entry(struct router *r, const char *agent_id)
{
	struct agent_seq *s = strmap_get(&r->agent_seq, agent_id);

	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->id = xstrdup(agent_id);
		strmap_put(&r->agent_seq, s->id, s);
	}
	return s;
}

uint32_t router_agent_next_seq(struct router *r, const char *agent_id)
{
	return ++router_seq_entry(r, agent_id)->seq;
}

uint32_t router_agent_seq(const struct router *r, const char *agent_id)
{
	const struct agent_seq *s = strmap_get(&r->agent_seq, agent_id);
	return s != NULL ? s->seq : 0;
}

void router_agent_set_seq(struct router *r, const char *agent_id, uint32_t seq)
{
	struct agent_seq *s = router_seq_entry(r, agent_id);
	s->seq = s->told = seq;
}

void router_told(struct router *r, const struct decision *d, uint32_t seq)
{
	if (d->kind == DECISION_AGENT_STATE || d->kind == DECISION_ROSTER) {
		struct agent_seq *s = strmap_get(&r->agent_seq, d->agent_id);
		if (s != NULL && seq > s->told)
			s->told = seq;
		return;
	}
	const struct engine_contact_view *c = engine_contact(r->engine, d->contact_id);
	struct record_data *data = c != NULL ? c->user : NULL;
	if (data != NULL && seq > data->told)
		data->told = seq;
}

bool router_pending(const struct router *r, const char *contact_id, const char *agent_id)
{
	if (contact_id == NULL) {
		const struct agent_seq *s = strmap_get(&r->agent_seq, agent_id);
		return s != NULL && s->seq != s->told;
	}
	const struct engine_contact_view *c = engine_contact(r->engine, contact_id);
	const struct record_data *data = c != NULL ? c->user : NULL;
	return data != NULL && data->seq != data->told;
}

/* ---- requests ---------------------------------------------------------------- */

/* Whether a request that changes routing state may run now; answers it
 * when not. */
static bool router_may_change(struct router *r, const struct router_answer *a)
{
	if (!router_serving(r)) {
		router_answer(a, SB_ERR_NOT_LEADER, "this daemon is not serving; retry with the leader",
			      NULL);
		return false;
	}
	if (r->store != STORE_READY) {
		metrics_store_error(METRICS_STORE_NOT_READY, 1);
		router_answer(a, SB_ERR_STORE_UNAVAILABLE, "the store is unavailable; retry", NULL);
		return false;
	}
	return true;
}

/* After an engine call made for a request: an error is answered now; a
 * request no decision took is answered once all before it is recorded. */
static void router_finish(struct router *r, const struct router_req *rq, int rc, const char *why)
{
	if (rc != 0)
		router_answer(rq->answer, rc, why, NULL);
	else if (!rq->claimed)
		decisions_barrier(r, rq->answer, NULL);
}

/* A submit waiting for Redis. Owner: the store callback. Ids and names are
 * at most 64 bytes (config), a session id 23. */
struct router_submitting {
	struct router *r;
	struct router_answer answer;
	Switchboard__V1__SubmitContact *msg;
	struct record_data *data;
	char contact_id[48], gateway_id[72], queue[72], sid[24];
	enum sb_channel channel;
	int64_t arrived_ms, deadline_ms;
};

static void router_submitting_free(struct router_submitting *p)
{
	if (p->msg != NULL)
		switchboard__v1__submit_contact__free_unpacked(p->msg, NULL);
	record_data_free(NULL, p->data);
	free(p);
}

/* The answer to a duplicate: the contact as the engine has it when it is
 * there, else as Redis has it. */
static void router_duplicate(struct router *r, struct router_submitting *p,
			     const struct store_submit_result *res)
{
	const struct engine_contact_view *c = engine_contact(r->engine, res->contact_id);
	char event_id[RECORD_EVENT_ID_MAX];
	struct router_outcome o = { .contact_id = res->contact_id, .duplicate = true };

	if (c == NULL && router_adopt(r, res->contact_id, res->fields, res->n_fields, p->sid) == 0) {
		log_info("contact %s: resubmitted and routed again", res->contact_id);
		c = engine_contact(r->engine, res->contact_id);
	}
	if (c != NULL) {
		record_event_id(c, event_id, sizeof event_id);
		o.queue = c->queue;
		o.position = engine_contact_position(r->engine, c->id);
		o.estimated_wait_ms = engine_contact_estimate(r->engine, c->id, router_now_ms());
		o.deadline_ms = c->deadline_ms;
		o.event_id = event_id;
		/* Answered from memory: once what was decided before is recorded. */
		decisions_barrier(r, &p->answer, &o);
		return;
	}
	struct record_contact rc;
	const char *why = NULL;
	if (record_contact_read(res->contact_id, res->fields, res->n_fields, &rc, &why) == 0) {
		snprintf(event_id, sizeof event_id, "%s/%u", res->contact_id, rc.seq);
		o.queue = rc.queue;
		o.deadline_ms = rc.deadline_ms;
		o.event_id = event_id;
	}
	router_answer(&p->answer, 0, NULL, &o);
}

static void router_on_stored(void *arg, int err, const struct store_submit_result *res)
{
	struct router_submitting *p = arg;
	struct router *r = p->r;

	if (err != 0) {
		router_answer(&p->answer, err,
			      err == SB_ERR_STORE_UNAVAILABLE
				      ? "the store did not acknowledge; retry (submits are idempotent)"
			      : err == SB_ERR_NOT_LEADER
				      ? "this daemon is no longer the leader; retry with the leader"
				      : "the store refused the contact",
			      NULL);
	} else if (!router_serving(r)) {
		/* Stored, but this daemon stood down meanwhile: the new leader
		 * routes it, and answers the retry as a duplicate. */
		router_answer(&p->answer, SB_ERR_NOT_LEADER,
			      "this daemon is no longer the leader; retry with the leader (submits "
			      "are idempotent)",
			      NULL);
	} else if (!res->created) {
		router_duplicate(r, p, res);
	} else {
		struct record_engine x;
		uint32_t position = 0;
		int64_t estimate = 0;
		log_info("contact %s: submitted by %s as '%s' (%s, queue %s)", p->contact_id,
			 p->gateway_id, p->msg->external_id, channel_name(p->channel), p->queue);
		record_submit_to_engine(p->msg, p->data, p->contact_id, p->gateway_id, p->channel,
					p->queue, p->arrived_ms, p->deadline_ms, &x);
		p->data = NULL; /* the engine's, or freed below */
		router_enter(r, NULL);
		int rc = engine_submit(r->engine, &x.in, router_now_ms(), &position, &estimate);
		router_leave(r);
		if (rc == 0)
			x.data = NULL;
		record_engine_done(&x);
		if (rc != 0) {
			log_error("contact %s: stored but the engine refused it: %s", p->contact_id,
				  sb_err_name(rc));
			router_answer(&p->answer, SB_ERR_INTERNAL, "internal error", NULL);
		} else {
			char event_id[RECORD_EVENT_ID_MAX];
			snprintf(event_id, sizeof event_id, "%s/1", p->contact_id);
			struct router_outcome o = {
				.contact_id = p->contact_id,
				.queue = p->queue,
				.event_id = event_id,
				.position = position,
				.deadline_ms = p->deadline_ms,
				.estimated_wait_ms = estimate,
			};
			router_answer(&p->answer, 0, NULL, &o);
		}
	}
	router_submitting_free(p);
}

void router_submit(struct router *r, struct router_submit *s, const struct router_answer *a)
{
	struct record_submit rs;

	if (!router_may_change(r, a)) {
		switchboard__v1__submit_contact__free_unpacked(s->msg, NULL);
		s->msg = NULL;
		return;
	}
	struct router_submitting *p = xcalloc(1, sizeof *p);
	p->r = r;
	p->answer = *a;
	p->msg = s->msg;
	s->msg = NULL;
	p->channel = s->channel;
	snprintf(p->queue, sizeof p->queue, "%s", s->queue);
	snprintf(p->gateway_id, sizeof p->gateway_id, "%s", s->gateway_id);
	snprintf(p->sid, sizeof p->sid, "%s", s->sid ? s->sid : "");
	snprintf(p->contact_id, sizeof p->contact_id, "c-%s-%" PRIu64, r->boot,
		 ++r->contact_counter);
	p->arrived_ms = router_now_ms();
	p->deadline_ms = engine_deadline(r->engine, p->queue, p->channel,
					 p->msg->customer ? p->msg->customer->tier : NULL,
					 p->arrived_ms, p->msg->priority);
	/* Packed once: the hash's payload now, the engine's payload later. */
	p->data = record_data_new(p->msg, p->sid, p->queue);
	record_submit(&rs, p->contact_id, p->gateway_id, p->msg, p->data, p->channel, p->queue,
		      p->arrived_ms, p->deadline_ms);
	int rc = store_submit(r->st, &rs.s, router_on_stored, p);
	if (rc != 0) {
		if (rc == SB_ERR_STORE_UNAVAILABLE)
			metrics_store_error(METRICS_STORE_NOT_READY, 1);
		router_answer(a, rc, "the store is unavailable; retry", NULL);
		router_submitting_free(p);
	}
}

int router_adopt(struct router *r, const char *id, const struct store_field *f, size_t n,
		 const char *sid)
{
	struct record_contact rc;
	struct record_engine x;
	const char *why = NULL;
	uint32_t position;
	int64_t estimate;

	if (engine_contact(r->engine, id) != NULL)
		return 0;
	if (record_contact_read(id, f, n, &rc, &why) != 0 ||
	    (rc.state != RECORD_WAITING && rc.state != RECORD_OFFERED))
		return SB_ERR_NOT_FOUND;
	if (record_to_engine(&rc, sid, &x, &why) != 0)
		return SB_ERR_INVALID_ARGUMENT;
	int rc_ = engine_check_submit(r->engine, &x.in, &why);
	if (rc_ == 0) {
		router_enter(r, NULL);
		rc_ = engine_submit(r->engine, &x.in, router_now_ms(), &position, &estimate);
		router_leave(r);
	}
	if (rc_ == 0)
		x.data = NULL;
	else
		log_error("contact %s: in redis but cannot be routed: %s", id,
			  why ? why : sb_err_name(rc_));
	record_engine_done(&x);
	return rc_;
}

void router_store_found(struct router *r, const struct store_submit_result *res)
{
	if (!r->serving || engine_contact(r->engine, res->contact_id) != NULL)
		return;
	if (router_adopt(r, res->contact_id, res->fields, res->n_fields, "") == 0)
		log_info("contact %s: its submit's answer was lost with the connection; it was "
			 "stored, and is routed",
			 res->contact_id);
}

void router_cancel(struct router *r, const char *gateway_id, const char *contact_id,
		   const char *reason, const struct router_answer *a)
{
	struct router_req rq = { .answer = a, .claims = DECISION_CANCELLED, .code = -1 };
	const char *why = NULL;

	if (!router_may_change(r, a))
		return;
	router_enter(r, &rq);
	int rc = engine_cancel(r->engine, contact_id, gateway_id, reason, router_now_ms(), &why);
	router_leave(r);
	/* A retry of a cancel that was made: answered as the first time, once
	 * that is recorded. */
	if (rc == SB_ERR_NOT_FOUND && recent_done(r->recent, contact_id, gateway_id, RECENT_CANCELLED))
		rc = 0;
	router_finish(r, &rq, rc, why);
}

/* ---- agents ----------------------------------------------------------------------- */

void router_agent_attach(struct router *r, const char *agent_id)
{
	router_enter(r, NULL);
	engine_agent_attach(r->engine, agent_id, router_now_ms());
	router_leave(r);
}

void router_agent_detach(struct router *r, const char *agent_id)
{
	router_enter(r, NULL);
	engine_agent_detach(r->engine, agent_id, router_now_ms());
	router_leave(r);
}

void router_agent_logout(struct router *r, const char *agent_id)
{
	router_enter(r, NULL);
	engine_agent_logout(r->engine, agent_id, router_now_ms());
	router_leave(r);
}

void router_set_state(struct router *r, const char *agent_id, enum engine_agent_state state,
		      const char *reason, const struct router_answer *a)
{
	struct router_req rq = {
		.answer = a, .claims = DECISION_AGENT_STATE, .code = -1, .agent_id = agent_id
	};
	const char *why = NULL;

	if (!router_may_change(r, a))
		return;
	router_enter(r, &rq);
	int rc = engine_agent_set_state(r->engine, agent_id, state, reason, router_now_ms(), &why);
	router_leave(r);
	router_finish(r, &rq, rc, why);
}

void router_force_state(struct router *r, const char *agent_id, enum engine_agent_state state,
			const char *reason, const struct router_answer *a)
{
	router_set_state(r, agent_id, state, reason, a);
}

void router_admin_requeue(struct router *r, const char *contact_id, const struct router_answer *a)
{
	const struct engine_contact_view *c = engine_contact(r->engine, contact_id);
	bool assigned = c != NULL && c->state == CONTACT_ASSIGNED;
	/* What answers it depends on what it takes back: an offer or an
	 * assignment. */
	struct router_req rq = {
		.answer = a,
		.claims = assigned ? DECISION_UNASSIGNED : DECISION_OFFER_ENDED,
		.code = assigned ? -1 : OFFER_END_ADMIN,
		.by = "admin",
	};
	const char *why = NULL;

	if (!router_may_change(r, a))
		return;
	router_enter(r, &rq);
	int rc = engine_requeue(r->engine, contact_id, router_now_ms(), &why);
	router_leave(r);
	router_finish(r, &rq, rc, why);
}

void router_admin_close(struct router *r, const char *contact_id, const char *disposition,
			const struct router_answer *a)
{
	struct router_req rq = {
		.answer = a, .claims = DECISION_COMPLETED, .code = -1, .by = "admin"
	};
	const char *why = NULL;

	if (!router_may_change(r, a))
		return;
	router_enter(r, &rq);
	int rc = engine_close(r->engine, contact_id, disposition, router_now_ms(), &why);
	router_leave(r);
	router_finish(r, &rq, rc, why);
}

void router_accept(struct router *r, const char *agent_id, const char *offer_id,
		   const struct router_answer *a)
{
	struct router_req rq = { .answer = a, .claims = DECISION_ASSIGNED, .code = -1 };
	const struct engine_contact_view *c = NULL;
	const char *why = NULL;

	if (!router_may_change(r, a))
		return;
	router_enter(r, &rq);
	int rc = engine_accept(r->engine, agent_id, offer_id, router_now_ms(), &why, &c);
	router_leave(r);
	/* A retried accept of an offer already assigned to it is answered from
	 * memory: once the assignment is recorded, never before. */
	if (rc == 0 && !rq.claimed && c != NULL) {
		char event_id[RECORD_EVENT_ID_MAX];
		record_event_id(c, event_id, sizeof event_id);
		struct router_outcome o = { .contact_id = c->id, .event_id = event_id };
		decisions_barrier(r, a, &o);
		return;
	}
	router_finish(r, &rq, rc, why);
}

void router_reject(struct router *r, const char *agent_id, const char *offer_id,
		   const char *reason, const struct router_answer *a)
{
	struct router_req rq = {
		.answer = a, .claims = DECISION_OFFER_ENDED, .code = OFFER_END_REJECTED
	};
	const char *why = NULL;

	if (!router_may_change(r, a))
		return;
	router_enter(r, &rq);
	int rc = engine_reject(r->engine, agent_id, offer_id, reason, router_now_ms(), &why);
	router_leave(r);
	router_finish(r, &rq, rc, why);
}

void router_complete(struct router *r, const char *agent_id, const char *contact_id,
		     const char *disposition, const struct router_answer *a)
{
	struct router_req rq = { .answer = a, .claims = DECISION_COMPLETED, .code = -1 };
	const char *why = NULL;

	if (!router_may_change(r, a))
		return;
	router_enter(r, &rq);
	int rc = engine_complete(r->engine, agent_id, contact_id, disposition, router_now_ms(), &why);
	router_leave(r);
	/* A retried Complete of a contact this agent already completed. */
	if (rc == SB_ERR_NOT_FOUND && recent_done(r->recent, contact_id, agent_id, RECENT_COMPLETED))
		rc = 0;
	router_finish(r, &rq, rc, why);
}

void router_ready(struct router *r, const char *agent_id, const struct router_answer *a)
{
	/* Nothing to record (a slot's wrap-up ends): allowed while Redis is away. */
	struct router_req rq = { .answer = a, .claims = DECISION_OFFER, .code = -2 };

	if (!router_serving(r)) {
		router_answer(a, SB_ERR_NOT_LEADER, "this daemon is not serving", NULL);
		return;
	}
	router_enter(r, &rq);
	int rc = engine_ready(r->engine, agent_id, router_now_ms());
	router_leave(r);
	router_finish(r, &rq, rc, NULL);
}

void router_transfer(struct router *r, const char *agent_id, const char *contact_id,
		     const char *queue, const struct router_answer *a)
{
	struct router_req rq = { .answer = a, .claims = DECISION_EVENT, .code = EVENT_TRANSFERRED };
	const char *why = NULL;

	if (!router_may_change(r, a))
		return;
	router_enter(r, &rq);
	int rc = engine_transfer(r->engine, agent_id, contact_id, queue, router_now_ms(), &why);
	router_leave(r);
	router_finish(r, &rq, rc, why);
}

void router_when_recorded(struct router *r, bool patient, void (*fn)(void *arg, int err),
			  void *arg)
{
	decisions_when_recorded(r, patient, fn, arg);
}

/* ---- recovery ---------------------------------------------------------------------- */

void router_restore_agent(struct router *r, const char *agent_id, const struct record_agent *ra)
{
	router_agent_set_seq(r, agent_id, ra->seq);
	if (ra->state == AGENT_OFFLINE)
		return;
	router_enter(r, NULL);
	engine_restore_agent(r->engine, agent_id, ra->state, ra->reason, ra->since_ms,
			     router_now_ms());
	router_leave(r);
}

int router_restore_contact(struct router *r, const struct record_contact *rc, bool *requeued,
			   const char **why)
{
	struct record_engine x;
	int64_t now = router_now_ms();
	int e;

	*requeued = false;
	if (rc->state == RECORD_FINISHED) {
		*why = "its hash says it finished, yet it is in the open set";
		return SB_ERR_INVALID_ARGUMENT;
	}
	if (record_to_engine(rc, "", &x, why) != 0)
		return SB_ERR_INVALID_ARGUMENT;
	router_enter(r, NULL);
	e = engine_restore_contact(r->engine, &x.restore, now, why);
	if (e == SB_ERR_NOT_FOUND && x.restore.agent_id != NULL) {
		log_warnx("recovery: contact %s: agent %s left the roster; requeued", rc->id,
			  rc->agent);
		x.restore.agent_id = NULL;
		e = engine_restore_contact(r->engine, &x.restore, now, why);
		*requeued = e == 0;
	}
	router_leave(r);
	if (e == 0)
		x.data = NULL;
	record_engine_done(&x);
	if (e != 0)
		return e;
	if (rc->state == RECORD_OFFERED && rc->agent != NULL)
		*requeued = true;
	if (*requeued) {
		/* The offer (or the holder) is gone with the old process: record
		 * the requeue, so Redis says what the engine now does. */
		const struct engine_contact_view *c = engine_contact(r->engine, rc->id);
		router_enter(r, NULL);
		router_sink.offer_ended(r, c, rc->agent, rc->offer_id ? rc->offer_id : "",
					OFFER_END_AGENT_GONE, now);
		router_leave(r);
	}
	return 0;
}

void router_restore_finish(struct router *r)
{
	router_enter(r, NULL);
	engine_restore_finish(r->engine, router_now_ms());
	router_leave(r);
}

struct router_each_roster {
	void (*fn)(void *arg, const char *id);
	void *arg;
};

static void router_each_roster_one(void *arg, const struct engine_agent_view *a)
{
	struct router_each_roster *e = arg;
	e->fn(e->arg, a->id);
}

void router_each_roster_agent(const struct router *r, void (*fn)(void *arg, const char *id),
			      void *arg)
{
	struct router_each_roster e = { fn, arg };
	engine_each_agent(r->engine, router_each_roster_one, &e);
}
