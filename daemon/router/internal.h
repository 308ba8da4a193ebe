/* What the router's files share; nothing else includes this.
 *
 * router.c     the engine's owner: life cycle, its timer, each request
 * decisions.c  the engine's sink: decisions, their writes, telling in order
 * recent.c     contacts that finished a moment ago (retries, re-seeds)
 * roster.c     the roster as the admin API changed it
 * reseed.c     putting the live state back when Redis lost it
 * rebuild.c    a new engine for a reloaded configuration, the state moved in
 * outcomes.c   what finished contacts became, read back for their gateway */
#ifndef SB_ROUTER_INTERNAL_H
#define SB_ROUTER_INTERNAL_H

#include "router/router.h"
#include "util/strmap.h"

struct event;
struct recent;
struct record_finished;

/* An entry of the told-in-order list: a decision, or a request answered
 * from memory once everything before it is recorded. Owner: the router's
 * list, from its making until it is told (or dropped). */
struct tiding {
	struct tiding *next;
	struct router *r;
	bool is_decision;
	bool recorded;  /* Redis holds it (a barrier: nothing of its own to write) */
	bool dropped;   /* never to be told: this daemon no longer leads */
	bool told;      /* an Offer, told early */
	uint32_t seq;   /* the transition's number (its contact's or agent's) */
	struct decision d;
	bool answering; /* answer below is still owed */
	struct router_answer answer;
	/* A request answered from memory: what it is answered (its strings
	 * are kept in d's contact_id, text and event_id). */
	bool has_outcome;
	struct router_outcome outcome;
	/* router_when_recorded */
	void (*done)(void *arg, int err);
	void *done_arg;
	bool patient;
	struct tiding *next_early; /* an Offer waiting for the end of the turn */
};

/* The request an engine call is made for, while it runs: the first decision
 * of the kind that answers it takes its answer. */
struct router_req {
	const struct router_answer *answer;
	enum decision_kind claims;
	int code;             /* -1: any; else the decision's code must match */
	const char *agent_id; /* DECISION_AGENT_STATE: only this agent's */
	const char *by;       /* a supervisor's request: "admin", recorded with it */
	bool claimed;
};

/* An agent's transitions so far (its hash's number). Owner: agent_seq map. */
struct agent_seq {
	char *id;
	uint32_t seq;  /* decided */
	uint32_t told; /* recorded and told */
};

/* An API roster change kept over the configuration: a definition, or (a
 * NULL) a removal. Owner: the overrides map. */
struct roster_override {
	char *id; /* the map key */
	struct roster_agent *a;
};

struct router {
	struct event_base *base;
	struct store *st;
	const struct sb_config *cfg;
	struct engine *engine;
	struct event *timer;
	struct event *early_ev; /* tells this turn's Offers */
	struct router_hooks hooks;
	bool check_invariants;
	bool in_engine; /* an engine call is running: its sink may not deliver */
	bool serving;
	enum store_state store;
	/* The store outage under way (since: wall ms, 0 = none) and the
	 * STORE_UNAVAILABLE answers counted when it began, for its summary. */
	int64_t outage_since_ms;
	uint64_t outage_refused_from;
	struct router_req *req;
	struct tiding *head, *tail;          /* not yet told, in decision order */
	struct tiding *early_head, *early_tail;
	size_t n_tidings;
	char boot[16];       /* base-36 start time: makes ids unique across restarts */
	unsigned generation; /* engines built: offer ids carry it */
	uint64_t contact_counter;
	struct recent *recent;
	struct strmap agent_seq;  /* agent id -> struct agent_seq */
	struct strmap roster;     /* shown: agent id -> struct roster_agent (owned) */
	struct strmap overrides;  /* API changes: agent id -> struct roster_override */
	bool strays_pending;      /* a re-seed is written: read the open set again */
};

/* router.c */
/* Marks the start and end of an engine call; leaving re-arms the timer. */
void router_enter(struct router *r, struct router_req *rq);
void router_leave(struct router *r);
/* A paused engine for cfg (draining: a reload's dropped queues), with the
 * router's sink. NULL with *why if the configuration cannot be routed. */
struct engine *router_build(struct router *r, const struct sb_config *cfg,
			    const struct sb_queue_conf *const *draining, size_t n_draining,
			    const char **why);
/* A Redis contact the engine does not hold (a duplicate submit whose first
 * answer was lost, a submit found after all, a re-seed's stray): routes it
 * when it is still open. Returns 0 or an sb_err. */
int router_adopt(struct router *r, const char *id, const struct store_field *f, size_t n,
		 const char *sid);
/* The next transition number of an agent (its hash's, plus one). */
uint32_t router_agent_next_seq(struct router *r, const char *agent_id);
uint32_t router_agent_seq(const struct router *r, const char *agent_id);
/* A decision's news went out (or it is being answered): its contact or
 * agent has nothing pending up to seq. */
void router_told(struct router *r, const struct decision *d, uint32_t seq);
void router_agent_set_seq(struct router *r, const char *agent_id, uint32_t seq);

/* decisions.c */
extern const struct engine_sink router_sink;
void decisions_init(struct router *r);
void decisions_free(struct router *r);
/* A request answered from memory, with o (NULL: nothing to say but
 * done), once everything decided before it is recorded (at once when
 * nothing is pending). */
void decisions_barrier(struct router *r, const struct router_answer *a,
		       const struct router_outcome *o);
void decisions_when_recorded(struct router *r, bool patient, void (*fn)(void *arg, int err),
			     void *arg);
/* The store stopped writing: requesters waiting are answered
 * SB_ERR_STORE_UNAVAILABLE (the news still goes out once recorded). */
void decisions_stall(struct router *r);
/* This daemon stopped leading: everything not told is dropped. */
void decisions_drop(struct router *r, int err);
/* A roster change as a decision: recorded, then answered. json NULL: removed. */
void decisions_roster(struct router *r, const char *agent_id, const char *json,
		      const char *change, const struct router_answer *a);

/* recent.c */
enum recent_kind { RECENT_COMPLETED, RECENT_CANCELLED, RECENT_EXPIRED };
struct recent *recent_new(void);
void recent_free(struct recent *rc);
/* c is about to finish that way (text: its disposition or reason): what a
 * re-seed would write back is kept. */
void recent_add(struct recent *rc, enum recent_kind kind, const struct engine_contact_view *c,
		const char *text, int64_t ttl_s, int64_t now);
/* Whether contact_id finished that way, by the agent that completed it or
 * the gateway that cancelled it, a moment ago. */
bool recent_done(const struct recent *rc, const char *contact_id, const char *by,
		 enum recent_kind kind);
/* The kept final state of contact_id, or NULL. */
const struct record_finished *recent_finished(const struct recent *rc, const char *contact_id);
/* Calls fn for each kept final state finished at or after since_ms. */
void recent_each_since(const struct recent *rc, int64_t since_ms,
		       void (*fn)(void *arg, const struct record_finished *f), void *arg);

/* reseed.c */
/* Reads Redis's open set once the re-seed has landed: strays are routed. */
void reseed_scan_strays(struct router *r);

/* roster.c */
void roster_init(struct router *r);
void roster_free(struct router *r);
/* Applies the kept API changes to engine e (a reload's new one). */
int roster_reapply(struct router *r, struct engine *e, const char **why);
/* Shows cfg's roster with the kept changes over it (after a reload). */
void roster_reset(struct router *r, const struct sb_config *cfg);
/* The kept change of agent_id: *removed, or its definition as JSON
 * (free()); false when it has none. */
bool roster_override_json(const struct router *r, const char *agent_id, char **json,
			  bool *removed);

#endif
