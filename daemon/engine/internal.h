/* The routing engine's own structures, shared by its files and by nothing
 * else. The design (routing classes, ready-agent heaps) is in docs/engine.md.
 *
 * engine.c     the API: contacts, agents, offers, timers, dispatch
 * offer_table.c  live and accepted offers by id
 * bucket.c     routing classes: which agents may take which contacts
 * eligibility.c  the eligibility rule, and explain
 * select.c     the six agent-selection strategies
 * escalate.c   a contact's class over time: steps, tier widening, preferred agent
 * stats.c      SLA accounting per queue
 * cqueue.c     a class's waiting contacts: a sorted run and a heap */
#ifndef SB_ENGINE_INTERNAL_H
#define SB_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/cqueue.h"
#include "engine/heap.h"
#include "engine/ostree.h"
#include "util/strmap.h"

enum etimer_kind {
	TIMER_OFFER,   /* offer timeout */
	TIMER_EXCLUDE, /* reject delay over */
	TIMER_WRAPUP,  /* wrap-up over */
	TIMER_CONTACT, /* the earliest of a contact's scheduled moments (enum due) */
};

/* What a contact's one timer may be waiting for. One heap entry per contact
 * instead of four keeps submits and assignments to one heap operation. */
enum due {
	DUE_BREACH,  /* SLA threshold passes */
	DUE_RECLASS, /* escalation step, tier widening or preferred wait lapses */
	DUE_MAXWAIT, /* the queue's max_wait */
	DUE_NOAGENT, /* max_wait_no_agent */
	DUE_COUNT
};

/* A timer embedded in what it belongs to: cancelling is a heap removal. */
struct etimer {
	int64_t when;
	uint64_t seq; /* ties fire in arming order: runs are deterministic */
	size_t idx;
	enum etimer_kind kind;
	void *obj;
};

struct req {
	int skill;
	int level;
};

struct estep {
	int64_t after_ms;
	int relax;
	uint32_t tiers; /* 0: unchanged */
	struct equeue *add;
	struct equeue *overflow;
	char *add_name, *overflow_name;
};

/* Per-queue SLA figures for one period. */
struct period {
	uint64_t offered, answered, answered_in_sla, abandoned_in_sla, abandoned_after_sla,
		expired, overflowed, completed;
	int64_t wait_sum, handle_sum;
};

#define STATS_SLOTS 60

/* Owner: the engine's queue array. */
struct equeue {
	char *name;
	size_t index;
	enum sb_channel channel;
	struct req *reqs;
	int n_reqs;
	enum engine_strategy strategy;
	int64_t sla_ms; /* 0: channel's */
	int target_pct;
	uint32_t tiers;
	struct estep steps[ENGINE_MAX_STEPS];
	int n_steps;
	int64_t max_wait_ms, max_wait_no_agent_ms;
	struct equeue *overflow;
	char *overflow_name;
	struct ostree order; /* contacts in the queue (waiting or offered), by deadline */
	struct heap by_arrival; /* the same contacts, oldest first: longest wait */
	struct period total;
	int64_t first_answer_ms;
	struct {
		int64_t start;
		struct period p;
	} slots[STATS_SLOTS];
};

struct eagent;
struct bucket;

/* An agent's eligibility for a bucket. Owner: the bucket and agent lists. */
struct link {
	struct eagent *agent;
	struct bucket *bucket;
	size_t ready_idx; /* in bucket->ready while the agent could take one now */
	int64_t k1, k2;   /* the bucket queue's strategy key */
	struct link *next_in_agent;
	struct link *next_in_bucket;
};

/* An entry of an agent's link array. */
struct alink {
	struct link *link;
	struct bucket *bucket;
	enum sb_channel channel; /* the bucket's */
};

/* A routing class: contacts that share every input of eligibility, so one
 * set of eligible agents serves them all. Owner: the engine's bucket map. */
struct bucket {
	char *key;
	struct equeue *queue;
	struct equeue *extra; /* add_queue: its agents may take these too */
	enum sb_channel channel;
	struct req *reqs;
	int n_reqs;
	struct req *extra_reqs; /* what extra's agents need: its skills and the contact's */
	int n_extra_reqs;
	uint32_t tiers;
	struct eagent *preferred; /* only this agent, when set */
	struct cqueue contacts; /* waiting, by (deadline, order) */
	struct heap ready;     /* links of agents that could take one now, best first */
	struct link *links;    /* every eligible agent */
	uint32_t logged_in;    /* eligible agents with a live session */
};

struct eexclusion {
	struct econtact *contact;
	struct eagent *agent;
	struct etimer timer;
	struct eexclusion *next;
};

/* Owner: the engine (contacts map); freed when it finishes. The fields a
 * routing decision reads come first, after the view, so an offer or a
 * completion touches as few of its cache lines as it can. Its id, gateway
 * id and external id are in the same allocation, just before it (v.id is
 * where the allocation starts): the contacts map compares the id, then
 * the engine reads the view, and the two are neighbours. */
struct econtact {
	struct engine_contact_view v; /* first: views cast back */
	struct eagent *agent;
	struct bucket *bucket; /* its class now (also while offered) */
	struct equeue *queue;
	struct eexclusion *excluded;
	size_t heap_idx;       /* in bucket->contacts' heap */
	uint64_t run_pos;      /* in bucket->contacts' run, or CQ_NONE */
	uint64_t order;
	struct econtact *held_prev, *held_next;
	char offer_id[64]; /* next to the fields accept reads */
	uint64_t offer_key; /* in the offer table (offer_table.c), while offer_listed */
	struct etimer offer_timer;
	struct etimer timer;   /* at the earliest of due[] */
	int64_t due[DUE_COUNT]; /* INT64_MAX: not scheduled */
	size_t arrival_idx;    /* in queue->by_arrival */
	struct ostnode onode;  /* in queue->order */
	int64_t entered_ms; /* entered its current queue: steps count from here */
	int tier;              /* customer tier index */
	int32_t priority_s;
	struct req *reqs;      /* its own skill requirements */
	int n_reqs;
	bool in_queue;
	bool restoring; /* restored, not placed yet (engine_restore_finish) */
	uint8_t pool_class; /* its allocation's free list (engine.c), 0: none */
	bool offer_listed;  /* in the offer table */
	bool offer_in_ring; /* in its ring, not its overflow (offer_table.c) */
	struct eagent *preferred;
	int64_t preferred_until;
};

struct ewrapup {
	struct eagent *agent;
	enum sb_channel channel;
	struct etimer timer;
	struct ewrapup *next;
};

/* Owner: the engine's agent array. */
struct eagent {
	struct engine_agent_view v; /* first */
	char *reason;
	size_t index;
	int tier;
	struct req *skills; /* sorted by skill: binary search */
	int n_skills;
	uint64_t *serves; /* bitmap over queues; NULL = every queue */
	int64_t idle_since;
	int no_answer;
	uint64_t rnd;
	int64_t *last_offer; /* per queue, for round-robin */
	struct econtact *held;
	struct ewrapup *wrapups;
	struct link *links;
	/* The same links in an array, with what the hot paths need of them:
	 * finding the next contact and re-filing read every one, and loads
	 * from an array overlap where a list's don't. */
	struct alink *linkv;
	size_t n_linkv, cap_linkv;
	size_t n_ready; /* links in their bucket's ready heap */
	bool queued; /* in the dispatch work list */
	/* Its load fell and its links were not re-filed yet (engine_complete
	 * defers that to dispatch, which usually fills the slot at once). */
	bool links_stale;
};

struct customer_tier {
	char *name;
	double factor;
	uint32_t first; /* 0: no restriction */
	int64_t widen_after_ms;
};

/* Free lists of contact allocations by size, in steps of this many bytes
 * up to the last class: a finished contact's memory goes to the next one
 * without malloc and free (free merging neighbouring chunks cost a cache
 * miss or two per contact). Never shrinks: it holds the peak. */
/* Live and accepted offers by id (offer_table.c). Owner: the engine. */
struct offer_slot {
	uint64_t key;
	struct econtact *c; /* NULL: empty */
};

struct offer_table {
	struct offer_slot *ring; /* slot = key mod ring_cap */
	size_t ring_cap;
	struct offer_slot *slots; /* overflow: linear probing */
	size_t cap, n_over;
	size_t live; /* in either */
};

#define CONTACT_POOL_GRAIN 64
#define CONTACT_POOL_CLASSES 32

struct engine {
	struct engine_conf conf;
	void *contact_pool[CONTACT_POOL_CLASSES];
	char *offer_prefix;
	char *offer_head; /* "o-<offer_prefix>-": offer ids are this and a number */
	size_t offer_head_len;
	struct engine_sink sink;
	void *ctx;
	char *agent_tiers[ENGINE_MAX_TIERS];
	int n_agent_tiers;
	struct customer_tier *ctiers;
	int n_ctiers;
	char **skills; /* interned names; index = skill id */
	int n_skills;
	struct strmap skill_ids;
	struct equeue **queues;
	size_t n_queues;
	struct strmap queue_ids; /* name -> queue */
	bool queues_done;
	struct eagent **agents;
	size_t n_agents;
	struct strmap agent_ids;
	struct strmap contacts;
	struct offer_table offers;
	struct strmap buckets; /* key -> bucket */
	struct heap timers;
	uint64_t next_order, next_offer, next_timer_seq, rng;
	size_t waiting;
	bool paused;
	/* Waiting contacts restored and not placed yet. */
	struct econtact **restoring;
	size_t n_restoring, cap_restoring;
	/* Dispatch work list: contacts that became routable, agents that may
	 * take more; processed in order until empty. */
	struct econtact **work_c;
	size_t n_work_c, cap_work_c;
	struct eagent **work_a;
	size_t n_work_a, cap_work_a;
};

/* engine.c */
void timers_arm(struct engine *e, struct etimer *t, enum etimer_kind kind, void *obj,
		int64_t when);
void timers_cancel(struct engine *e, struct etimer *t);
/* Schedules (when < INT64_MAX) or cancels one of c's moments. */
void timers_due(struct engine *e, struct econtact *c, enum due what, int64_t when);
bool agent_state_slot_free(const struct engine *e, const struct eagent *a, enum sb_channel ch);
bool agent_state_routable(const struct eagent *a);
bool reject_excluded(const struct econtact *c, const struct eagent *a);
int setup_skill_id(struct engine *e, const char *name, bool create);
uint64_t select_rand(struct engine *e);

/* offer_table.c */
/* The table key of an offer id: its number when it is one of ours. */
uint64_t offer_table_key(const struct engine *e, const char *id);
/* Adds c under c->offer_id, whose key is key. */
void offer_table_add(struct offer_table *t, struct econtact *c, uint64_t key);
struct econtact *offer_table_get(const struct offer_table *t, uint64_t key, const char *id);
/* Asks for the line offer_table_remove(t, c) will start at. */
void offer_table_prefetch(const struct offer_table *t, const struct econtact *c);
/* Removes c if it is listed. */
void offer_table_remove(struct offer_table *t, struct econtact *c);
void offer_table_free(struct offer_table *t);

/* bucket.c */
/* A class's eligibility inputs. */
struct class_spec {
	struct equeue *queue;
	struct equeue *extra;
	enum sb_channel channel;
	const struct req *reqs;
	int n_reqs;
	const struct req *extra_reqs;
	int n_extra_reqs;
	uint32_t tiers;
	struct eagent *preferred;
};

struct bucket *bucket_get(struct engine *e, const struct class_spec *spec);
void bucket_free_all(struct engine *e);
/* Forgets the (empty) classes reserved for a's customers: a is leaving. */
void bucket_drop_preferred(struct engine *e, const struct eagent *a);
/* Re-keys and re-files every link of a after its state, load or keys changed. */
void bucket_agent_refresh(struct engine *e, struct eagent *a);
/* Recomputes which buckets a is eligible for (roster change). */
void bucket_agent_relink(struct engine *e, struct eagent *a);
void bucket_agent_unlink(struct engine *e, struct eagent *a);
/* The best agent of b's ready heap that c may go to, or NULL. */
struct eagent *bucket_best_agent(struct engine *e, struct bucket *b, const struct econtact *c);
/* The earliest-deadline waiting contact a may take, over all its buckets. */
struct econtact *bucket_best_contact(struct engine *e, struct eagent *a);
/* Logged-in count changes, for max_wait_no_agent. */
void bucket_agent_presence(struct engine *e, struct eagent *a, bool logged_in, int64_t now);
bool bucket_link_should_be_ready(const struct engine *e, const struct link *l);

/* eligibility.c */
enum eligibility {
	ELIGIBLE,
	BLOCKED_QUEUE,
	BLOCKED_SKILL,
	BLOCKED_TIER,
	BLOCKED_PREFERRED,
};
/* Static eligibility of a for b: queue served, skills, tier, preferred. */
enum eligibility eligibility_check(const struct engine *e, const struct eagent *a,
				   const struct bucket *b);
int eligibility_level(const struct eagent *a, int skill);

/* select.c */
void select_key(const struct engine *e, const struct eagent *a, const struct bucket *b,
		int64_t *k1, int64_t *k2);
bool select_less(const void *x, const void *y);

/* escalate.c */
/* Files c in the bucket its class has at now, and arms its reclass timer. */
struct bucket *escalate_class(struct engine *e, struct econtact *c, int64_t now);
int escalate_step_at(const struct equeue *q, int64_t since_entry_ms);

/* stats.c */
enum stat_kind {
	STAT_OFFERED,
	STAT_ANSWERED,
	STAT_ABANDONED,
	STAT_EXPIRED,
	STAT_OVERFLOWED,
	STAT_COMPLETED,
};
void stats_record(struct equeue *q, enum stat_kind kind, int64_t now, int64_t value,
		  bool in_sla, int64_t window_ms);
void stats_period_of(const struct equeue *q, int64_t now, int64_t window_ms, bool whole,
		     struct engine_period_stats *out);
/* Answers per ms over the window; 0 when none. */
double stats_answer_rate(const struct equeue *q, int64_t now, int64_t window_ms);

#endif
