/* The routing engine: decides which agent gets which contact, and when.
 *
 * Pure: no I/O, no clock. Every entry point takes `now` (ms, any epoch) and
 * every result goes out through the sink, synchronously, before the call
 * returns. engine_next_wakeup() says when engine_tick() must next be called;
 * the daemon arms one timer for it. Tests, the benchmark and the simulator
 * drive it with a fake clock. The rules are DESIGN section 3; the data
 * structures that make each decision cost O(log n) are in docs/engine.md.
 *
 * Set-up order: skills and tiers, then queues, then agents; engine_ready_check
 * validates cross-references. Agents may be added, changed and removed while
 * routing.
 *
 * Owner: the engine owns every contact and agent; pointers handed to the
 * sink are valid only during the callback (a finished contact is freed right
 * after its callback). */
#ifndef SB_ENGINE_H
#define SB_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel.h"

struct engine;

#define ENGINE_MAX_TIERS 32  /* agent tiers fit a bitmask */
/* An estimated wait the engine cannot give: nobody who could take the
 * contact is logged in and available, or no handle time is known yet. */
#define ENGINE_WAIT_UNKNOWN ((int64_t)-1)
#define ENGINE_MAX_STEPS 16

enum engine_contact_state {
	CONTACT_WAITING,
	CONTACT_OFFERED,
	CONTACT_ASSIGNED,
	CONTACT_COMPLETED,
	CONTACT_CANCELLED,
	CONTACT_EXPIRED,
};

enum engine_agent_state { AGENT_OFFLINE, AGENT_AVAILABLE, AGENT_BREAK };

enum engine_strategy {
	STRATEGY_LONGEST_IDLE, /* longest since last given work */
	STRATEGY_MOST_SKILLED, /* highest sum of levels in the queue's skills */
	STRATEGY_LEAST_OCCUPIED, /* lowest share of its capacity in use */
	STRATEGY_ROUND_ROBIN,  /* longest since last offered a contact of this queue */
	STRATEGY_FEWEST_CONTACTS, /* fewest contacts handled since login */
	STRATEGY_RANDOM,       /* seeded: a run is reproducible */
	STRATEGY_COUNT
};

/* Why an offer ended without being accepted. */
enum engine_offer_end {
	OFFER_END_TIMEOUT,    /* not answered within the channel's offer timeout */
	OFFER_END_REJECTED,   /* the agent declined */
	OFFER_END_CANCELLED,  /* the gateway cancelled the contact (reported by `cancelled`) */
	OFFER_END_AGENT_GONE, /* the agent's session closed */
	OFFER_END_AGENT_AWAY, /* the agent left `available` (break, offline) */
	OFFER_END_ADMIN,      /* a supervisor requeued the contact (engine_requeue) */
};

/* Things that happen to a contact that its gateway is told about. */
enum engine_event {
	EVENT_SLA_BREACHED, /* still waiting past its threshold */
	EVENT_OVERFLOWED,   /* moved to another queue (detail: the queue) */
	EVENT_TRANSFERRED,  /* an agent sent it to another queue (detail: the queue) */
};

/* Read-only outside the engine. */
struct engine_contact_view {
	const char *id;
	const char *gateway_id;
	const char *external_id;
	const char *queue; /* current queue */
	const char *customer_tier;
	enum sb_channel channel;
	enum engine_contact_state state;
	int64_t arrived_ms;
	int64_t deadline_ms;
	int64_t sla_ms;  /* its threshold: queue or channel SLA x tier factor */
	int step;        /* escalation step in force, 0 before the first */
	const char *agent_id; /* offered to / assigned to; NULL while waiting */
	const char *offer_id; /* live offer; NULL otherwise */
	int64_t offer_expires_ms;
	int64_t assigned_ms;
	bool sla_breached;
	void *user; /* the caller's payload, given at submit */
};

struct engine_agent_view {
	const char *id;
	const char *tier;
	enum engine_agent_state state;
	const char *reason;
	bool logged_in;
	/* Logged in, but its client is gone (a dropped connection or a daemon
	 * restart): keeps its state and contacts, gets no new offers, until it
	 * is attached again or logged out. */
	bool detached;
	int load[SB_CH_COUNT];     /* slots in use (offered, assigned, wrap-up) */
	int capacity[SB_CH_COUNT];
	int64_t state_since_ms;
	/* When it last started or stopped holding contacts (load from none
	 * to some, or back): with state_since_ms, how long it has shown as
	 * it does ("on contact" or idle). 0: never since login. */
	int64_t busy_since_ms;
	uint32_t handled;          /* contacts completed since login */
	void *user;
};

/* The engine's output. Each callback runs synchronously inside the entry
 * point that made the decision, while the engine is half-way through a
 * change.
 *
 * No re-entry: a callback may read the engine — engine_contact,
 * engine_agent, engine_agent_each_contact, engine_each_contact,
 * engine_each_agent, engine_agent_each_wrapup, the counts
 * (engine_waiting_count, engine_queue_waiting, engine_contact_position,
 * engine_queue_stats, ...), engine_explain, engine_check_invariants — but
 * must not call an entry point that changes it: engine_submit,
 * engine_cancel, engine_restore_*, engine_agent_* (login, logout, detach,
 * attach, set_state), engine_accept, engine_reject, engine_complete,
 * engine_ready, engine_transfer, engine_requeue, engine_close,
 * engine_set_paused, engine_tick, the
 * set-up and roster calls (tiers, queues, engine_agent_add, _update,
 * _remove), engine_adopt_stats or engine_free. Each of those marks the
 * engine busy while it runs and, entered while it is busy, logs both names
 * and aborts, in every build. Work a callback wants done is queued by the
 * caller and done after the entry point returns.
 *
 * Nor may a callback deliver anything to a client: it records what to
 * persist and what to tell, and the daemon tells the clients once the write
 * is acknowledged, outside the engine's call. */
struct engine_sink {
	/* An offer was made: c->offer_id to c->agent_id. */
	void (*offer)(void *ctx, const struct engine_contact_view *c, int64_t now);
	/* An offer ended unaccepted (never CANCELLED: see `cancelled`); the
	 * contact is waiting again, keeping its place. */
	void (*offer_ended)(void *ctx, const struct engine_contact_view *c, const char *agent_id,
			    const char *offer_id, enum engine_offer_end why, int64_t now);
	/* A supervisor took an assigned contact back from agent_id
	 * (engine_requeue): it waits again, keeping its deadline and so its
	 * place. Only engine_requeue calls it. */
	void (*unassigned)(void *ctx, const struct engine_contact_view *c, const char *agent_id,
			   int64_t now);
	/* Accepted (c->offer_expires_ms is still the accepted offer's), or
	 * auto-accepted (then no offer came first, and it is 0). */
	void (*assigned)(void *ctx, const struct engine_contact_view *c, int64_t now);
	/* Done; freed after this returns. */
	void (*completed)(void *ctx, const struct engine_contact_view *c, const char *disposition,
			  int64_t now);
	/* The gateway cancelled; if an offer was live, rescinded_agent and
	 * rescinded_offer name it (else NULL). Freed after this returns. */
	void (*cancelled)(void *ctx, const struct engine_contact_view *c, const char *reason,
			  const char *rescinded_agent, const char *rescinded_offer, int64_t now);
	/* Gave up: reason "max-wait" or "no-agent". Freed after this returns. */
	void (*expired)(void *ctx, const struct engine_contact_view *c, const char *reason,
			int64_t now);
	/* SLA breach, overflow, transfer: the contact lives on. */
	void (*event)(void *ctx, const struct engine_contact_view *c, enum engine_event ev,
		      const char *detail, int64_t now);
	void (*agent_state)(void *ctx, const struct engine_agent_view *a, int64_t now);
	/* Releases a contact's user payload. */
	void (*contact_free)(void *ctx, void *user);
};

struct engine_channel_conf {
	int64_t sla_ms;
	int64_t offer_timeout_ms;
	int64_t wrapup_ms;
	int capacity;
	bool exclusive;
	bool auto_accept;
};

struct engine_conf {
	struct engine_channel_conf channels[SB_CH_COUNT];
	int64_t reject_delay_ms;
	int max_no_answer;         /* 0: never put an agent on break for it */
	int64_t transfer_boost_ms;
	int64_t stats_window_ms;   /* rolling window for service level; > 0 */
	uint64_t seed;             /* for the random strategy */
	/* Offer ids are "o-<prefix>-<n>": a per-start prefix keeps them unique
	 * across restarts. */
	const char *offer_prefix;
	/* Check every invariant after every entry point (tests, debug). */
	bool check_invariants;
};

struct engine_skill_req {
	const char *skill;
	int min_level; /* 1..5 */
};

struct engine_step {
	int64_t after_ms;  /* since the contact entered the queue */
	int skill_relax;   /* subtracted from the queue's minimum levels */
	const char *const *agent_tiers; /* allowed from this step; NULL/0 = unchanged */
	size_t n_agent_tiers;
	const char *add_queue; /* its agents may also take the contact */
	const char *overflow;  /* move the contact there */
};

struct engine_queue_def {
	const char *name;
	enum sb_channel channel;
	const struct engine_skill_req *skills;
	size_t n_skills;
	enum engine_strategy strategy;
	int64_t sla_ms;     /* 0: the channel's */
	int target_pct;     /* service-level target, for reports */
	const char *const *agent_tiers; /* NULL/0 = all */
	size_t n_agent_tiers;
	const struct engine_step *steps;
	size_t n_steps;
	int64_t max_wait_ms;          /* 0: none */
	int64_t max_wait_no_agent_ms; /* 0: none */
	const char *overflow;         /* NULL: expire */
};

struct engine_customer_tier {
	const char *name;
	double sla_factor;
	const char *const *first_agent_tiers; /* NULL/0: no restriction */
	size_t n_first_agent_tiers;
	int64_t widen_after_ms;
};

struct engine_skill_level {
	const char *skill;
	int level;
};

struct engine_agent_def {
	const char *id;
	const char *tier; /* NULL: the lowest tier */
	const struct engine_skill_level *skills;
	size_t n_skills;
	int capacity[SB_CH_COUNT]; /* 0: the channel's */
	const char *const *queues; /* NULL/0: every queue */
	size_t n_queues;
};

struct engine *engine_new(const struct engine_conf *conf, const struct engine_sink *sink,
			  void *sink_ctx);
void engine_free(struct engine *e);

/* Set-up. Each returns 0 or SB_ERR_INVALID_ARGUMENT with *why. Agent tiers
 * first (most senior first; an agent naming none gets the last), then
 * customer tiers (most important first; a contact naming none gets the
 * last), then queues (a queue may name queues added after it), then
 * engine_queues_done, then agents. */
int engine_agent_tier_add(struct engine *e, const char *name, const char **why);
int engine_customer_tier_add(struct engine *e, const struct engine_customer_tier *t,
			     const char **why);
int engine_queue_add(struct engine *e, const struct engine_queue_def *q, const char **why);
/* Resolves queue cross-references (overflow, add_queue); call once after
 * the last engine_queue_add. */
int engine_queues_done(struct engine *e, const char **why);

/* The roster. Adding or changing an agent while routing takes effect at
 * once (its eligibility is recomputed); removing one that holds contacts is
 * refused (SB_ERR_CONFLICT). */
int engine_agent_add(struct engine *e, const struct engine_agent_def *a, void *user,
		     const char **why);
int engine_agent_update(struct engine *e, const struct engine_agent_def *a, int64_t now,
			const char **why);
int engine_agent_remove(struct engine *e, const char *id, int64_t now, const char **why);

/* A contact, as submitted. */
struct engine_submit {
	const char *id;
	const char *gateway_id;
	const char *external_id;
	const char *queue;
	enum sb_channel channel;
	const char *customer_tier; /* NULL/"": the default (last) tier */
	const struct engine_skill_req *skills; /* the contact's own (language, ...) */
	size_t n_skills;
	int32_t priority_s;    /* deadline boost, seconds */
	const char *preferred_agent; /* NULL: none */
	int64_t preferred_wait_ms;
	int64_t arrived_ms;
	int64_t deadline_ms; /* from engine_deadline, as persisted */
	void *user; /* the engine's once submit succeeds (contact_free); the caller's if not */
};

/* Checks a submit before it is persisted: queue exists and takes the channel,
 * tier known, skills known and levels 1..5, preferred agent in the roster. */
int engine_check_submit(const struct engine *e, const struct engine_submit *in,
			const char **why);
/* The channel's default queue (first configured), or NULL. */
const char *engine_default_queue(const struct engine *e, enum sb_channel channel);
/* The deadline a contact gets: arrival + threshold - priority boost, where
 * threshold = (queue SLA or channel SLA) x the tier's sla_factor. */
int64_t engine_deadline(const struct engine *e, const char *queue, enum sb_channel channel,
			const char *customer_tier, int64_t arrived_ms, int32_t priority_s);

/* Adds a durable contact and routes. *position is its 1-based place in its
 * queue's deadline order, *estimated_wait_ms engine_contact_estimate's
 * answer once routed (0 when offered at once, ENGINE_WAIT_UNKNOWN when
 * nobody who could take it is staffed). */
int engine_submit(struct engine *e, const struct engine_submit *in, int64_t now,
		  uint32_t *position, int64_t *estimated_wait_ms);
/* Recovery: a contact as Redis holds it after a restart. submit carries its
 * current queue and its persisted arrival and deadline. With agent_id it is
 * held (assigned) by that agent; otherwise it will wait (placed by
 * engine_restore_finish), keeping its deadline and so its place, with its
 * steps counted from entered_ms. Nothing goes to the
 * sink for the contact itself (Redis already says so). NOT_FOUND when the
 * agent left the roster: the caller restores it as waiting instead. */
struct engine_restore {
	const struct engine_submit *submit;
	int64_t entered_ms; /* 0: arrived_ms */
	bool sla_breached;
	const char *agent_id;
	int64_t assigned_ms;
	/* A live offer to carry over (configuration reload): the contact stays
	 * offered to offer_agent_id under offer_id until offer_expires_ms. */
	const char *offer_agent_id;
	const char *offer_id;
	int64_t offer_expires_ms;
};
int engine_restore_contact(struct engine *e, const struct engine_restore *r, int64_t now,
			   const char **why);
/* Places the restored waiting contacts — by deadline, ties in submission
 * order, so each gets the place it had — and routes (unless paused). Call
 * once after the last engine_restore_contact. */
void engine_restore_finish(struct engine *e, int64_t now);
/* Reload: an agent's wrap-ups in progress (channel, end), and setting one
 * up in the new engine so the slot stays taken until the same moment. */
void engine_agent_each_wrapup(const struct engine *e, const char *agent_id,
			      void (*fn)(void *arg, enum sb_channel ch, int64_t until), void *arg);
int engine_restore_wrapup(struct engine *e, const char *agent_id, enum sb_channel ch,
			  int64_t until);

/* Reload: takes over the SLA figures of the queues `from` also has (same
 * name), so a configuration reload does not reset service levels. */
void engine_adopt_stats(struct engine *to, const struct engine *from);

/* Recovery: an agent that was logged in before the restart, back in its
 * state (no sink output) and detached until its client returns. OFFLINE
 * leaves it logged out. */
int engine_restore_agent(struct engine *e, const char *agent_id, enum engine_agent_state state,
			 const char *reason, int64_t since_ms, int64_t now);
/* The gateway gave up on a waiting or offered contact (an offer is
 * rescinded). CONFLICT once assigned: its agent has the customer and
 * completes it; NOT_FOUND once finished; FORBIDDEN for another gateway. */
int engine_cancel(struct engine *e, const char *contact_id, const char *gateway_id,
		  const char *reason, int64_t now, const char **why);

/* Agent sessions. Login makes an agent present (state OFFLINE until it sets
 * one); logout rescinds its offers and sets OFFLINE but it keeps the
 * contacts it holds. */
int engine_agent_login(struct engine *e, const char *agent_id, int64_t now);
int engine_agent_logout(struct engine *e, const char *agent_id, int64_t now);
/* A dropped session: the agent stops getting offers; its live offers end at
 * once (OFFER_END_AGENT_GONE: not a no-answer, no reject delay) and their
 * contacts go to the next agent; it keeps its state and the contacts it
 * holds. Attach resumes it (or logs it in when it was not). */
int engine_agent_detach(struct engine *e, const char *agent_id, int64_t now);
int engine_agent_attach(struct engine *e, const char *agent_id, int64_t now);
int engine_agent_set_state(struct engine *e, const char *agent_id, enum engine_agent_state state,
			   const char *reason, int64_t now, const char **why);
int engine_accept(struct engine *e, const char *agent_id, const char *offer_id, int64_t now,
		  const char **why, const struct engine_contact_view **out);
int engine_reject(struct engine *e, const char *agent_id, const char *offer_id,
		  const char *reason, int64_t now, const char **why);
int engine_complete(struct engine *e, const char *agent_id, const char *contact_id,
		    const char *disposition, int64_t now, const char **why);
int engine_ready(struct engine *e, const char *agent_id, int64_t now);
/* Sends an assigned contact to another queue (same channel), with the
 * transfer boost; the agent's slot is free at once (no wrap-up). */
int engine_transfer(struct engine *e, const char *agent_id, const char *contact_id,
		    const char *queue, int64_t now, const char **why);

/* A supervisor's hand on a contact held by an agent (one who is not coming
 * back, say). Requeue: an offered contact's offer ends (OFFER_END_ADMIN); an
 * assigned one's assignment ends (`unassigned`; the agent's slot frees at
 * once, no wrap-up), and it re-enters its queue: its deadline, and so its
 * place ahead of later arrivals and its SLA clock, are kept; its escalation
 * steps and max wait count from now. Either way that agent is kept from it
 * for the reject delay. Close: an assigned contact is completed with
 * disposition, as if its agent had (`completed`, no wrap-up). Both return
 * 0, NOT_FOUND (no such contact), CONFLICT (waiting; or, to close, offered)
 * or INVALID_ARGUMENT (close without a disposition), with *why. */
int engine_requeue(struct engine *e, const char *contact_id, int64_t now, const char **why);
int engine_close(struct engine *e, const char *contact_id, const char *disposition, int64_t now,
		 const char **why);

/* While paused (the daemon's store is unreachable) the engine makes no new
 * offers — it could not record them — and an offer timing out does not count
 * against its agent. Unpausing routes everything that waited. */
void engine_set_paused(struct engine *e, bool paused, int64_t now);

/* Fires every timer due at or before now. */
void engine_tick(struct engine *e, int64_t now);
/* When engine_tick must next run; INT64_MAX when nothing is pending. */
int64_t engine_next_wakeup(const struct engine *e);

/* Lookups. */
const struct engine_contact_view *engine_contact(const struct engine *e, const char *id);
const struct engine_agent_view *engine_agent(const struct engine *e, const char *id);
/* Calls fn for each contact the agent holds (offered or assigned). */
void engine_agent_each_contact(const struct engine *e, const char *agent_id,
			       void (*fn)(void *arg, const struct engine_contact_view *c), void *arg);
/* Every open contact, in no particular order. */
void engine_each_contact(const struct engine *e,
			 void (*fn)(void *arg, const struct engine_contact_view *c), void *arg);
void engine_each_agent(const struct engine *e,
		       void (*fn)(void *arg, const struct engine_agent_view *a), void *arg);
size_t engine_waiting_count(const struct engine *e);
/* Waiting and offered contacts of one queue (0 for an unknown queue), in
 * O(1): the gateway checks it on every submit. */
uint32_t engine_queue_waiting(const struct engine *e, const char *queue);
/* When the contact entered its current queue (steps count from then). */
int64_t engine_contact_entered_ms(const struct engine *e, const char *id);
/* 1-based place of a waiting or offered contact in its queue's deadline
 * order; 0 once assigned or finished. */
uint32_t engine_contact_position(const struct engine *e, const char *id);
/* Its place (as engine_contact_position) and the wait a fresh answer to its
 * submit would estimate from that place now: what a redelivered
 * ContactAccepted says. Both 0 once assigned; NOT_FOUND when unknown. */
int engine_contact_wait(const struct engine *e, const char *id, int64_t now, uint32_t *position,
			int64_t *estimated_wait_ms);

/* Why a waiting contact is not assigned yet (DESIGN 3.11). */
struct engine_explain {
	int step;
	int64_t deadline_ms;
	int64_t waited_ms;
	const char *queue;
	uint32_t position;
	uint32_t eligible;      /* could take it now */
	uint32_t blocked_skill; /* lacks a required skill or level */
	uint32_t blocked_tier;  /* tier not allowed yet */
	uint32_t blocked_queue; /* does not serve the queue */
	uint32_t blocked_state; /* offline, on break or logged out */
	uint32_t blocked_capacity; /* no free slot on the channel */
	uint32_t blocked_penalty;  /* declined it within reject_delay */
	uint32_t blocked_preferred; /* waiting for its preferred agent */
};
int engine_explain(const struct engine *e, const char *contact_id, int64_t now,
		   struct engine_explain *out, const char **why);

/* Live figures of one queue (channel = the queue's). Rolling figures cover
 * the engine's stats window up to now. */
struct engine_period_stats {
	uint64_t offered, answered, answered_in_sla, abandoned_in_sla, abandoned_after_sla,
		expired, overflowed;
	double service_level; /* answered_in_sla / (answered + abandoned_after_sla); -1 if none */
	double asa_ms;        /* average speed of answer; -1 if none */
	double aht_ms;        /* average handle time; -1 if none */
};
struct engine_queue_stats {
	const char *queue;
	enum sb_channel channel;
	int target_pct;
	int64_t sla_ms;
	uint32_t waiting;
	int64_t longest_wait_ms;
	struct engine_period_stats total, window;
};
int engine_queue_stats(const struct engine *e, const char *queue, int64_t now,
		       struct engine_queue_stats *out);
size_t engine_queue_count(const struct engine *e);
const char *engine_queue_name(const struct engine *e, size_t i);

/* A contact's estimated wait from now, in ms (estimate.c has the model):
 * its place past the free eligible slots x (the queue's mean handle time +
 * the channel's wrap-up) / the slots of eligible agents logged in,
 * connected and available. 0 when it is offered, assigned or finished (or
 * a free slot is there for its place); ENGINE_WAIT_UNKNOWN when no such
 * agent is there or the queue has no handle time measured yet. */
int64_t engine_contact_estimate(const struct engine *e, const char *id, int64_t now);

/* Checks every invariant (each contact in exactly one place, slot counts
 * equal to held contacts, index membership); returns NULL or the first
 * breach. */
const char *engine_check_invariants(const struct engine *e);

const char *engine_contact_state_name(enum engine_contact_state s);
const char *engine_agent_state_name(enum engine_agent_state s);
const char *engine_offer_end_name(enum engine_offer_end why);
const char *engine_event_name(enum engine_event ev);
const char *engine_strategy_name(enum engine_strategy s);
int engine_strategy_parse(const char *name); /* -1 if unknown */

#endif
