/* The router: the one owner of the routing engine, its timer and its sink,
 * and the one path from a routing decision to a Redis write to what clients
 * are told.
 *
 * Sessions, the admin API, presence, recovery and reload change routing
 * state only through the calls below; each runs the engine and re-arms its
 * timer before returning, so no caller can forget to. Reads go through
 * router_engine().
 *
 * Persist, then tell. Every engine decision becomes a `struct decision`:
 * its record write goes to the store (in decision order), and its news goes
 * out (hooks.tell, and the requester's answer) only once Redis holds it and
 * everything decided before it. Consequences:
 * - a request answered from memory (a retried accept, complete or cancel, a
 *   duplicate submit, a re-login's redelivery) is answered only once every
 *   decision made before it is recorded;
 * - while the store cannot write (down, refusing writes, putting back lost
 *   data), requests that would change state are refused
 *   SB_ERR_STORE_UNAVAILABLE, the engine makes no offers, and requesters
 *   whose decision is not recorded yet are answered SB_ERR_STORE_UNAVAILABLE
 *   (retry); the decision stands, its write is kept and sent again in order,
 *   and once it lands the news still goes out (an agent then gets its
 *   AssignmentConfirmed or StateChanged pushed);
 * - nothing is delivered inside an engine callback (checked: a delivery
 *   there aborts).
 * Offers are the one exception: an Offer goes to its agent at the end of
 * the loop turn that made it, while its record is written, since recovery
 * requeues every outstanding offer whatever Redis holds. Accepting one is
 * confirmed only once Redis has the assignment.
 *
 * Owner: the server (router_new / router_free). */
#ifndef SB_ROUTER_H
#define SB_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "store/store.h"
#include "switchboard.pb-c.h"

struct event_base;
struct sb_config;
struct sb_queue_conf;
struct record_contact;
struct record_agent;
struct roster_agent;
struct router;

enum decision_kind {
	DECISION_OFFER,
	DECISION_OFFER_ENDED, /* code: enum engine_offer_end, text: its name */
	DECISION_UNASSIGNED,  /* a supervisor took it from agent_id; text: reason */
	DECISION_ASSIGNED,    /* n1: waited ms, flag: SLA met */
	DECISION_COMPLETED,   /* text: disposition, n1: handle ms, flag: a supervisor
			       * closed it (its agent is told) */
	DECISION_CANCELLED,   /* agent_id/offer_id: a rescinded offer, if any */
	DECISION_EXPIRED,     /* text: reason */
	DECISION_EVENT,       /* code: enum engine_event, text: detail */
	DECISION_AGENT_STATE, /* code: enum engine_agent_state, text: reason */
	DECISION_ROSTER,      /* text: "created", "updated", "removed" */
};

/* One decision as it is told: copied when it was made (the engine may have
 * moved on by the time Redis acknowledges). Read-only outside the router. */
struct decision {
	enum decision_kind kind;
	char *contact_id, *gateway_id, *gateway_sid, *agent_id, *offer_id;
	char *event_id; /* "<contact>/<n>", "agent:<id>/<n>" */
	char *text;
	int code;
	int64_t n1;
	bool flag;
	/* The request that caused it was answered with it (the gateway's
	 * ContactCancelled, the agent's AssignmentConfirmed, ...): that client
	 * is not pushed it as well. */
	bool answered;
	/* ... and that requester was the agent it is about. */
	bool agent_answered;
};

/* How a request is answered, exactly once. */
struct router_outcome {
	/* The decision that answers it; NULL when the request changed nothing
	 * and is answered from memory, now that everything decided before it
	 * is recorded. */
	const struct decision *decision;
	/* A submit: */
	const char *contact_id, *queue, *event_id;
	uint32_t position;
	int64_t deadline_ms, estimated_wait_ms;
	bool duplicate;
};
/* Returns whether the answer reached its requester (false: its session
 * had gone): then the news goes out as if nobody had asked. */
typedef bool (*router_answer_fn)(void *arg, int err, const char *why,
				 const struct router_outcome *o);
struct router_answer {
	router_answer_fn fn;
	void *arg;
	/* The requester is the agent the decision is about (its session). */
	bool agent;
};

/* Answers a request now (o may be NULL): for a caller refusing one before
 * it reaches the router. */
bool router_answer(const struct router_answer *a, int err, const char *why,
		   const struct router_outcome *o);
/* Whether a decision about this contact (or this agent's state, with
 * contact_id NULL) is still waiting for Redis: its news goes out when it
 * lands, so a redelivery skips it rather than tell it early. */
bool router_pending(const struct router *r, const char *contact_id, const char *agent_id);

struct router_hooks {
	/* A recorded decision's news for everyone but the requester (Offers:
	 * at the end of the turn that made them). */
	void (*tell)(void *ctx, const struct decision *d);
	/* Whether this daemon's lease holds right now (NULL: always): a leader
	 * whose lease lapsed answers nothing, from memory least of all, until
	 * it has renewed it. */
	bool (*current)(void *ctx);
	void *ctx;
};

/* cfg stays the caller's (router_reload installs another). */
struct router *router_new(struct event_base *base, struct store *st, const struct sb_config *cfg,
			  bool check_invariants, const struct router_hooks *hooks);
void router_free(struct router *r);

/* Reads of routing state. */
const struct engine *router_engine(const struct router *r);
const struct sb_config *router_config(const struct router *r);
/* Wall clock, Unix ms: the engine's `now`. */
int64_t router_now_ms(void);

/* ---- life cycle (the server) ------------------------------------------------ */

/* A fresh engine with nothing in it, paused: a term starts (recovery fills
 * it) or ends. Decisions not yet told are dropped, their requesters
 * answered SB_ERR_NOT_LEADER. Returns 0 or SB_ERR_CONFIG with *why. */
int router_reset(struct router *r, const char **why);
/* Routes only while serving (leading, state loaded) and the store writes. */
void router_set_serving(struct router *r, bool serving);
/* Serving, and the lease holds now: clients may be answered. */
bool router_serving(const struct router *r);
/* The store's state changed (store hooks go to the server, which passes
 * them on). */
void router_store_state(struct router *r, enum store_state st);
/* Redis lost data: hand the store the live state (in the lost hook). */
void router_store_lost(struct router *r, const char *why);
/* A submit answered STORE_UNAVAILABLE is in Redis after all: route it. */
void router_store_found(struct router *r, const struct store_submit_result *res);

/* ---- gateways ------------------------------------------------------------------ */

/* Submits a checked contact (gateway.c validates it against the engine
 * first): msg is taken. Answered once stored (outcome: contact id, queue,
 * position, deadline, estimate, event id, duplicate), or with an error. */
struct router_submit {
	const char *gateway_id;
	const char *sid; /* the session to tell about it */
	Switchboard__V1__SubmitContact *msg;
	const char *queue;
	enum sb_channel channel;
};
void router_submit(struct router *r, struct router_submit *s, const struct router_answer *a);
void router_cancel(struct router *r, const char *gateway_id, const char *contact_id,
		   const char *reason, const struct router_answer *a);

/* What finished contacts became, from Redis (router/outcomes.c). A page of
 * a gateway's outcomes, oldest first, after the one named by
 * after_event_id (an event id of a contact of that gateway; NULL, or one
 * no longer kept: from the oldest kept) or, for the pages after the first,
 * after after_score (the last page's `last`). fn gets the finished
 * contacts of the page (n may be less than the page held: hashes that
 * expired are skipped) and last, NULL when the page was empty: nothing
 * more is kept. The read goes on the connection that carries the writes,
 * so it sees everything told before it was sent. Returns 0 (fn is called
 * once, later) or SB_ERR_STORE_UNAVAILABLE. */
struct record_outcome;
typedef void (*router_outcomes_fn)(void *arg, int err, const struct record_outcome *v, size_t n,
				   const char *last);
int router_read_outcomes(struct router *r, const char *gateway_id, const char *after_event_id,
			 const char *after_score, int count, router_outcomes_fn fn, void *arg);
/* A contact as Redis has it once everything decided so far is recorded
 * (ExplainContact of one the engine no longer holds): fn gets it, or
 * SB_ERR_NOT_FOUND (no such hash: never submitted, or expired), or
 * SB_ERR_STORE_UNAVAILABLE. Called once, later. */
typedef void (*router_finished_fn)(void *arg, int err, const struct record_outcome *o);
void router_read_finished(struct router *r, const char *contact_id, router_finished_fn fn,
			  void *arg);

/* ---- agents -------------------------------------------------------------------- */

/* A session logged in as agent_id (resumes it, or logs it in). */
void router_agent_attach(struct router *r, const char *agent_id);
/* Its session is gone: no offers until it is back, its state kept. */
void router_agent_detach(struct router *r, const char *agent_id);
/* Not back within its grace period. */
void router_agent_logout(struct router *r, const char *agent_id);
void router_set_state(struct router *r, const char *agent_id, enum engine_agent_state state,
		      const char *reason, const struct router_answer *a);
void router_accept(struct router *r, const char *agent_id, const char *offer_id,
		   const struct router_answer *a);
void router_reject(struct router *r, const char *agent_id, const char *offer_id,
		   const char *reason, const struct router_answer *a);
void router_complete(struct router *r, const char *agent_id, const char *contact_id,
		     const char *disposition, const struct router_answer *a);
void router_ready(struct router *r, const char *agent_id, const struct router_answer *a);
void router_transfer(struct router *r, const char *agent_id, const char *contact_id,
		     const char *queue, const struct router_answer *a);
/* Calls fn once everything decided so far is recorded (err 0), or with an
 * error when this daemon stops leading. Patient: it waits through a store
 * outage (a re-login's redelivery); otherwise it is answered
 * SB_ERR_STORE_UNAVAILABLE when the store stops writing. */
void router_when_recorded(struct router *r, bool patient,
			  void (*fn)(void *arg, int err), void *arg);

/* ---- the roster (admin API) ------------------------------------------------------- */

/* The roster as shown: the configuration's, with the API's changes over it. */
const struct roster_agent *router_roster_get(const struct router *r, const char *id);
/* Adds (create) or replaces (patch) a definition, or removes id (a NULL
 * a); the change is recorded in Redis and kept over reloads. Answered once
 * recorded (SB_ERR_INVALID_ARGUMENT, _CONFLICT, _NOT_FOUND, _STORE_UNAVAILABLE
 * otherwise). a is taken. */
void router_roster_set(struct router *r, const char *id, struct roster_agent *a, bool create,
		       const struct router_answer *ans);
/* A supervisor sets an agent's state (the agent is pushed StateChanged). */
void router_force_state(struct router *r, const char *agent_id, enum engine_agent_state state,
			const char *reason, const struct router_answer *a);
/* A supervisor takes an offered or assigned contact from its agent
 * (engine_requeue); recorded as "requeued" with reason "admin", then its
 * gateway hears ContactEvent REQUEUED and the agent OfferRescinded or
 * AssignmentRevoked. Answered once recorded: SB_ERR_NOT_FOUND, _CONFLICT
 * (waiting), _STORE_UNAVAILABLE, _NOT_LEADER otherwise. */
void router_admin_requeue(struct router *r, const char *contact_id, const struct router_answer *a);
/* A supervisor closes an assigned contact with a disposition
 * (engine_close); recorded as "completed" with by "admin", then its gateway
 * hears ContactCompleted and the agent AssignmentRevoked. Errors as above,
 * and SB_ERR_INVALID_ARGUMENT without a disposition. */
void router_admin_close(struct router *r, const char *contact_id, const char *disposition,
			const struct router_answer *a);

/* ---- recovery ---------------------------------------------------------------------- */

/* The state Redis holds, put back at the start of a term (the engine is
 * paused): an agent's roster override, its state, each open contact. An
 * offer outstanding when the previous leader stopped is requeued (and
 * recorded so). Each returns 0 or an sb_err with *why. */
int router_restore_roster(struct router *r, const char *agent_id, const char *json,
			  bool removed, const char **why);
void router_restore_agent(struct router *r, const char *agent_id, const struct record_agent *ra);
/* *requeued is set when an offer (or an assignment to an agent gone from
 * the roster) went back to waiting. */
int router_restore_contact(struct router *r, const struct record_contact *rc, bool *requeued,
			   const char **why);
void router_restore_finish(struct router *r);
/* Calls fn for every agent of the roster (for recovery to read each). */
void router_each_roster_agent(const struct router *r, void (*fn)(void *arg, const char *id),
			      void *arg);

/* ---- reload -------------------------------------------------------------------------- */

/* Builds an engine for cfg (plus the queues it drops that still hold
 * contacts, draining), moves every agent and contact into it, and installs
 * it with cfg. Refused (0 not returned, *why said) when the API's roster
 * changes do not apply, an agent it removes holds contacts, or a contact
 * cannot move; the running engine stays. */
int router_reload(struct router *r, const struct sb_config *cfg,
		  const struct sb_queue_conf *const *draining, size_t n_draining,
		  const char **why);

#endif
