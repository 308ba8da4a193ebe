/* The routing engine: decides which agent gets which contact, and when.
 *
 * Pure: no I/O, no clock. Every entry point takes `now` (Unix ms) and every
 * result goes out through the sink, synchronously, before the call returns.
 * engine_next_wakeup() says when engine_tick() must next be called; the
 * server arms one timer for it. Tests drive it with a fake clock.
 *
 * The rule in force (issue 2's first rule; the full rules of DESIGN section
 * 3 grow here): a contact waits in its queue in deadline order
 * (arrival + the channel's SLA - priority); an agent that is available with a
 * free slot on the contact's channel may take it; the longest-idle such agent
 * gets the earliest deadline across all queues. Voice is exclusive by default.
 * A rejected or timed-out offer puts the contact back with its deadline
 * unchanged (it keeps its place) and keeps it from that agent for
 * reject_delay_ms.
 *
 * Owner: the engine owns every contact and agent struct; pointers handed to
 * the sink are valid only during the callback unless the entity is still
 * live (a completed or cancelled contact is freed right after its callback). */
#ifndef SB_ENGINE_H
#define SB_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "channel.h"

struct engine;

enum engine_contact_state {
	CONTACT_WAITING,
	CONTACT_OFFERED,
	CONTACT_ASSIGNED,
	CONTACT_COMPLETED,
	CONTACT_CANCELLED,
};

enum engine_agent_state { AGENT_OFFLINE, AGENT_AVAILABLE, AGENT_BREAK };

/* Why an offer ended without being accepted. */
enum engine_offer_end {
	OFFER_END_TIMEOUT,   /* not answered within the channel's offer timeout */
	OFFER_END_REJECTED,  /* the agent declined */
	OFFER_END_CANCELLED, /* the gateway cancelled the contact */
	OFFER_END_AGENT_GONE /* the agent's session closed or it left `available` */
};

/* Read-only outside the engine. */
struct engine_contact_view {
	const char *id;
	const char *gateway_id;
	const char *external_id;
	const char *queue;
	enum sb_channel channel;
	enum engine_contact_state state;
	int64_t arrived_ms;
	int64_t deadline_ms;
	int64_t sla_ms;
	const char *agent_id; /* offered to / assigned to; NULL while waiting */
	const char *offer_id; /* live offer; NULL otherwise */
	int64_t offer_expires_ms;
	int64_t assigned_ms;
	void *user; /* the server's payload, given at submit */
};

struct engine_agent_view {
	const char *id;
	enum engine_agent_state state;
	const char *reason;
	bool logged_in;
	void *user;
};

struct engine_sink {
	/* An offer was made: c->offer_id to c->agent_id. */
	void (*offer)(void *ctx, const struct engine_contact_view *c, int64_t now);
	/* An offer ended unaccepted (never CANCELLED: see `cancelled`); the
	 * contact is waiting again, keeping its place. */
	void (*offer_ended)(void *ctx, const struct engine_contact_view *c, const char *agent_id,
			    const char *offer_id, enum engine_offer_end why, int64_t now);
	void (*assigned)(void *ctx, const struct engine_contact_view *c, int64_t now);
	/* The contact is done; freed after this returns. */
	void (*completed)(void *ctx, const struct engine_contact_view *c, const char *disposition,
			  int64_t now);
	/* The gateway cancelled; if an offer was live, rescinded_agent and
	 * rescinded_offer name it (else NULL). Freed after this returns. */
	void (*cancelled)(void *ctx, const struct engine_contact_view *c, const char *reason,
			  const char *rescinded_agent, const char *rescinded_offer, int64_t now);
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
};

struct engine_conf {
	struct engine_channel_conf channels[SB_CH_COUNT];
	int64_t reject_delay_ms;
	/* Offer ids are "o-<prefix>-<n>"; a per-start prefix keeps them unique
	 * across restarts. */
	const char *offer_prefix;
};

struct engine *engine_new(const struct engine_conf *conf, const struct engine_sink *sink,
			  void *sink_ctx);
void engine_free(struct engine *e);

/* Roster and queues (set up before routing; the roster may change live). */
int engine_queue_add(struct engine *e, const char *name, enum sb_channel channel);
int engine_agent_add(struct engine *e, const char *id, void *user);

/* The deadline a new contact would get: arrival + SLA - priority boost. */
int64_t engine_deadline(const struct engine *e, enum sb_channel channel, int64_t arrived_ms,
			int32_t priority_s);

struct engine_submit {
	const char *id;
	const char *gateway_id;
	const char *external_id;
	const char *queue;
	enum sb_channel channel;
	int64_t arrived_ms;
	int64_t deadline_ms; /* from engine_deadline, as persisted */
	void *user; /* the engine's once submit succeeds (contact_free); the caller's if not */
};
/* Adds a durable contact to its queue and routes. *position is its 1-based
 * place in the queue at arrival, *estimated_wait_ms a guess from the queue's
 * recent answer rate (0 when an agent is free). */
int engine_submit(struct engine *e, const struct engine_submit *in, int64_t now,
		  uint32_t *position, int64_t *estimated_wait_ms);
/* Checks a submit before it is persisted: queue exists and takes channel. */
int engine_check_queue(const struct engine *e, const char *queue, enum sb_channel channel,
		       const char **why);
/* The channel's default queue (first configured), or NULL. */
const char *engine_default_queue(const struct engine *e, enum sb_channel channel);

int engine_cancel(struct engine *e, const char *contact_id, const char *gateway_id,
		  const char *reason, int64_t now, const char **why);

/* Agent sessions. Login makes an agent known-present (state unchanged:
 * OFFLINE on first login); logout rescinds its offers and sets OFFLINE, but
 * it keeps the contacts it holds. */
int engine_agent_login(struct engine *e, const char *agent_id, int64_t now);
int engine_agent_logout(struct engine *e, const char *agent_id, int64_t now);
int engine_agent_set_state(struct engine *e, const char *agent_id, enum engine_agent_state state,
			   const char *reason, int64_t now, const char **why);
int engine_accept(struct engine *e, const char *agent_id, const char *offer_id, int64_t now,
		  const char **why, const struct engine_contact_view **out);
int engine_reject(struct engine *e, const char *agent_id, const char *offer_id,
		  const char *reason, int64_t now, const char **why);
int engine_complete(struct engine *e, const char *agent_id, const char *contact_id,
		    const char *disposition, int64_t now, const char **why);
int engine_ready(struct engine *e, const char *agent_id, int64_t now);

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
size_t engine_waiting_count(const struct engine *e);
/* 1-based place of a waiting contact in its queue; 0 if not waiting. */
uint32_t engine_contact_position(const struct engine *e, const char *id);

/* Checks every invariant (each contact in exactly one place, slot counts
 * equal to held contacts); returns 0 or a description of the first breach. */
const char *engine_check_invariants(const struct engine *e);

const char *engine_contact_state_name(enum engine_contact_state s);
const char *engine_agent_state_name(enum engine_agent_state s);
const char *engine_offer_end_name(enum engine_offer_end why);

#endif
