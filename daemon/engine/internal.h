/* The routing engine's own structures, shared by its files and by nothing
 * else. The design (routing classes, ready-agent heaps) is in docs/engine.md.
 * engine.h is the only API; each file below holds one role or one rule.
 *
 * setup.c        engine_new/free, tiers, queues, the roster (agent add/update/remove)
 * contact.c      a contact's life: submit, restore, cancel, move, overflow, expire,
 *                retire; the deadline rule
 * held.c         what an agent holds, and finding the offer or contact it acts on
 * dispatch.c     the work lists and the matching loop; pausing
 * offer.c        making an offer (and its id), ending one, rescinding an agent's
 * accept.c       accepting an offer (and auto-accept)
 * reject.c       declining an offer, and the reject delay
 * offer_timeout.c  an offer not answered in time
 * no_answer.c    max_no_answer: a break after offers missed in a row
 * max_wait.c     max_wait and max_wait_no_agent: overflow or expire
 * agent_state.c  login, logout, detach, attach, available or break; routable, free slot
 * wrapup.c       wrap-up after a completion, and Ready
 * complete.c     completing an assigned contact
 * transfer.c     sending an assigned contact to another queue
 * supervise.c    a supervisor's requeue and close of a contact an agent holds
 * timers.c       the timer heap, engine_tick, engine_next_wakeup, timer kinds
 * queries.c      lookups, each_*, counts, position, queue figures, enum names
 * invariants.c   engine_check_invariants
 * bucket.c       routing classes: which agents may take which contacts
 * eligibility.c  the eligibility rule, and explain
 * select.c       the six agent-selection strategies
 * escalate.c     a contact's class over time: steps, tier widening, preferred agent
 * stats.c        SLA accounting per queue
 * estimate.c     the estimated wait (a pure rule; queries.c feeds it)
 * offer_table.c  live and accepted offers by id
 * cqueue.c       a class's waiting contacts: a sorted run and a heap
 * heap.c, ostree.c  a keyed 4-ary heap, an order-statistic tree */
#ifndef SB_ENGINE_INTERNAL_H
#define SB_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/engine.h"
#include "engine/cqueue.h"
#include "engine/heap.h"
#include "engine/ostree.h"
#include "util/strmap.h"
#include "util/xalloc.h"

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
	uint32_t staffed; /* slots it adds to bucket->staffed (0: not staffed) */
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
	/* Capacity on the channel of eligible agents who are routable
	 * (logged in, attached, available), busy or not: the estimate's. */
	uint32_t staffed;
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
	uint8_t pool_class; /* its allocation's free list (contact.c), 0: none */
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
	/* Its links count in their classes' staffed capacity: it was routable
	 * at the last bucket_agent_refresh. */
	bool staffed;
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

/* Free lists of contact allocations by size, in steps of this many bytes
 * up to the last class: a finished contact's memory goes to the next one
 * without malloc and free (free merging neighbouring chunks cost a cache
 * miss or two per contact). Never shrinks: it holds the peak (contact.c). */
#define CONTACT_POOL_GRAIN 64
#define CONTACT_POOL_CLASSES 32

struct engine {
	struct engine_conf conf;
	/* The state-changing entry point running (its name), or NULL: the
	 * re-entry guard (reentry.c). */
	const char *busy;
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
/* The class for spec if some contact made it already, else NULL. */
const struct bucket *bucket_find(const struct engine *e, const struct class_spec *spec);
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
/* The engine's seeded draw (splitmix64): the random strategy needs only a
 * reproducible spread. */
static inline uint64_t select_rand(struct engine *e)
{
	uint64_t z = (e->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* escalate.c */
/* Files c in the bucket its class has at now, and arms its reclass timer. */
struct bucket *escalate_class(struct engine *e, struct econtact *c, int64_t now);
int escalate_step_at(const struct equeue *q, int64_t since_entry_ms);
/* The class c will be in at `at` if it exists yet (else NULL, as for a step
 * that moves c to another queue), and when that one changes (*next). */
const struct bucket *escalate_class_at(const struct engine *e, const struct econtact *c,
				       int64_t at, int64_t *next);
/* A step, a tier widening or a preferred wait came due for c. */
void escalate_reclass(struct engine *e, struct econtact *c, int64_t now);

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
/* Mean handle time (accept to complete) over the window, else since start;
 * -1 when none completed. */
double stats_handle_ms(const struct equeue *q, int64_t now, int64_t window_ms);

/* Small helpers on the offer and completion paths are static inline below,
 * under the file whose role they serve: as calls from file to file they
 * cost the engine benchmark a few per cent. */

/* setup.c */
/* Fills out[0, n) (room for n) from in, interning skill names; *why on a
 * bad level. */
int setup_reqs_fill(struct engine *e, const struct engine_skill_req *in, size_t n,
		    struct req *out, int *n_out, const char **why);
/* A customer tier's number (no name: the last, default one); -1 if unknown. */
int setup_find_ctier(const struct engine *e, const char *name);
/* A queue by name; NULL if unknown (or no name). */
static inline struct equeue *setup_find_queue(const struct engine *e, const char *name)
{
	return name ? strmap_get(&e->queue_ids, name) : NULL;
}
/* An agent of the roster by id; NULL if unknown (or no id). */
static inline struct eagent *setup_find_agent(const struct engine *e, const char *id)
{
	return id ? strmap_get(&e->agent_ids, id) : NULL;
}

/* timers.c */
/* An empty timer heap, in firing order (engine_new). */
void timers_init(struct engine *e);
/* Arms (or re-arms) t for when, after timers armed earlier for that moment. */
static inline void timers_arm(struct engine *e, struct etimer *t, enum etimer_kind kind,
			      void *obj, int64_t when)
{
	heap_remove(&e->timers, t);
	t->when = when;
	t->seq = e->next_timer_seq++;
	t->kind = kind;
	t->obj = obj;
	heap_push(&e->timers, t);
}
/* Disarms t; one not armed is left alone. */
static inline void timers_cancel(struct engine *e, struct etimer *t)
{
	heap_remove(&e->timers, t);
}
/* Schedules (when < INT64_MAX) or cancels one of c's moments. */
void timers_due(struct engine *e, struct econtact *c, enum due what, int64_t when);

/* dispatch.c */
/* Queues c for dispatch: it became routable. */
static inline void dispatch_add_contact(struct engine *e, struct econtact *c)
{
	if (e->n_work_c == e->cap_work_c) {
		e->cap_work_c = e->cap_work_c ? e->cap_work_c * 2 : 16;
		e->work_c = xreallocarray(e->work_c, e->cap_work_c, sizeof *e->work_c);
	}
	e->work_c[e->n_work_c++] = c;
}
/* Queues a for dispatch, once: it may take more. */
static inline void dispatch_add_agent(struct engine *e, struct eagent *a)
{
	if (a->queued)
		return;
	if (e->n_work_a == e->cap_work_a) {
		e->cap_work_a = e->cap_work_a ? e->cap_work_a * 2 : 16;
		e->work_a = xreallocarray(e->work_a, e->cap_work_a, sizeof *e->work_a);
	}
	a->queued = true;
	e->work_a[e->n_work_a++] = a;
}
/* Makes every offer that can be made now: entry points that may free an agent
 * or a contact end with it. */
void dispatch_run(struct engine *e, int64_t now);

/* contact.c */
/* A contact's SLA threshold: queue (or channel) SLA x customer tier factor. */
int64_t contact_threshold(const struct engine *e, const struct equeue *q, enum sb_channel ch,
			  int tier);
/* Frees the memory the contact free lists keep (engine_free). */
void contact_pool_free(struct engine *e);
/* Frees a contact in no index any more, releasing its payload. */
void contact_destroy(struct engine *e, struct econtact *c);
/* Files c in its queue's deadline order; returns how many come before it. */
uint32_t contact_queue_enter(struct engine *e, struct econtact *c);
/* Takes c out of its queue's order and longest-wait heap, if it is there. */
static inline void contact_queue_leave(struct engine *e, struct econtact *c)
{
	if (!c->in_queue)
		return;
	ostree_remove(&c->queue->order, &c->onode);
	heap_remove(&c->queue->by_arrival, c);
	c->in_queue = false;
}
/* Makes c wait in its class at now; dispatch will look for an agent. */
void contact_wait(struct engine *e, struct econtact *c, int64_t now);
/* Takes c out of its class, if it waits there (offered, moved, finished). */
static inline void contact_unwait(struct engine *e, struct econtact *c)
{
	if (!cq_contains(&c->bucket->contacts, c))
		return;
	cq_remove(&c->bucket->contacts, c);
	timers_due(e, c, DUE_NOAGENT, INT64_MAX);
	e->waiting--;
}

/* Ends an assigned contact whose agent's slot is dealt with: counts it,
 * tells the sink, frees it and dispatches (complete.c). */
void complete_finish(struct engine *e, struct econtact *c, const char *disposition, int64_t now);
/* Removes a finished contact from every index and frees it. */
void contact_retire(struct engine *e, struct econtact *c);
/* Sets the timers of c's stay in its queue (max wait). */
void contact_arm_queue_timers(struct engine *e, struct econtact *c);
/* Moves c to another queue and tells its gateway (a step's or max wait's). */
void contact_overflow(struct engine *e, struct econtact *c, struct equeue *to, int64_t now);
/* Max wait with no overflow queue: c leaves unserved, and is freed. */
void contact_expire(struct engine *e, struct econtact *c, const char *reason, int64_t now);
/* Asks for every cache line of c at once, so their misses overlap: an
 * offer or a completion touches most of them. */
static inline void contact_prefetch(const struct econtact *c)
{
	for (size_t off = 0; off < sizeof *c; off += 64)
		__builtin_prefetch((const char *)c + off, 1);
}

/* held.c */
/* Adds c to what a holds (offered or assigned to it). */
static inline void held_link(struct eagent *a, struct econtact *c)
{
	c->held_prev = NULL;
	c->held_next = a->held;
	if (a->held != NULL)
		a->held->held_prev = c;
	a->held = c;
}
/* Takes c off a's list: offer ended, contact completed or transferred. */
static inline void held_unlink(struct eagent *a, struct econtact *c)
{
	if (c->held_prev != NULL)
		c->held_prev->held_next = c->held_next;
	else
		a->held = c->held_next;
	if (c->held_next != NULL)
		c->held_next->held_prev = c->held_prev;
	c->held_prev = c->held_next = NULL;
}
/* The offer an agent's accept or reject names, checked to be its own. */
int held_offer(const struct engine *e, const char *agent_id, const char *offer_id,
	       struct eagent **ap, struct econtact **cp, const char **why);
/* The assigned contact an agent's complete or transfer names, checked. */
int held_assignment(const struct engine *e, const char *agent_id, const char *contact_id,
		    struct eagent **ap, struct econtact **cp, const char **why);

/* offer.c */
/* Offers c to a (dispatch chose them), or assigns it on auto-accept channels. */
void offer_make(struct engine *e, struct econtact *c, struct eagent *a, int64_t now);
/* Ends c's live offer; unless why is CANCELLED, c waits again in its place. */
void offer_end(struct engine *e, struct econtact *c, enum engine_offer_end why, int64_t now);
/* Ends every live offer a holds. */
void offer_rescind(struct engine *e, struct eagent *a, enum engine_offer_end why, int64_t now);

/* accept.c */
/* Makes c assigned to the agent it is offered to (accept, auto-accept). */
void accept_assign(struct engine *e, struct econtact *c, int64_t now);

/* reject.c */
/* Whether a declined c (or let its offer lapse) within the reject delay. */
bool reject_excluded(const struct econtact *c, const struct eagent *a);
/* Keeps a from c for the reject delay. */
void reject_exclude(struct engine *e, struct econtact *c, struct eagent *a, int64_t now);
/* Forgets every exclusion of c: it was assigned or it finished. */
static inline void reject_exclusions_clear(struct engine *e, struct econtact *c)
{
	struct eexclusion *x = c->excluded;

	c->excluded = NULL;
	while (x != NULL) {
		struct eexclusion *next = x->next;
		timers_cancel(e, &x->timer);
		free(x);
		x = next;
	}
}
/* A reject delay's timer: the agent may be offered the contact again. */
void reject_delay_over(struct engine *e, struct eexclusion *x);

/* offer_timeout.c */
/* c's offer timer: the offer ends, the miss counts against the agent. */
void offer_timeout_fire(struct engine *e, struct econtact *c, int64_t now);

/* no_answer.c */
/* Counts an offer a let time out; at max_no_answer a goes on break. */
void no_answer_missed(struct engine *e, struct eagent *a, int64_t now);

/* max_wait.c */
/* Max wait or no agent came due; true when c expired (and is freed). */
bool max_wait_due(struct engine *e, struct econtact *c, enum due what, int64_t now);

/* agent_state.c */
/* Capacity and exclusivity: whether a may take one more on ch. */
bool agent_state_slot_free(const struct engine *e, const struct eagent *a, enum sb_channel ch);
/* Whether a holds any contact (offered, assigned or in wrap-up). */
static inline bool agent_state_busy(const struct eagent *a)
{
	for (int i = 0; i < SB_CH_COUNT; i++)
		if (a->v.load[i] > 0)
			return true;
	return false;
}
/* Changes a's load on ch; when it starts or stops holding contacts, that
 * moment is its busy_since_ms (a wallboard's "in state" for "on contact"). */
static inline void agent_state_load_mark(struct eagent *a, enum sb_channel ch, int delta,
					 int64_t now)
{
	bool was = agent_state_busy(a);

	a->v.load[ch] += delta;
	if (agent_state_busy(a) != was)
		a->v.busy_since_ms = now;
}
/* Changes a's load on ch and re-files it in its classes' ready heaps. */
static inline void agent_state_load(struct engine *e, struct eagent *a, enum sb_channel ch,
				    int delta, int64_t now)
{
	agent_state_load_mark(a, ch, delta, now);
	bucket_agent_refresh(e, a);
}
/* Sets a's state and reason; offers end if it stops being available. */
void agent_state_set(struct engine *e, struct eagent *a, enum engine_agent_state state,
		     const char *reason, int64_t now);
/* Logged in, attached and available: a may be offered work (slots aside). */
static inline bool agent_state_routable(const struct eagent *a)
{
	return a->v.logged_in && !a->v.detached && a->v.state == AGENT_AVAILABLE;
}

/* wrapup.c */
/* Holds a's slot on ch (the load is the caller's) until `until` or Ready. */
void wrapup_begin(struct engine *e, struct eagent *a, enum sb_channel ch, int64_t until);
/* A wrap-up is over (its timer, or Ready): the slot frees. */
void wrapup_end(struct engine *e, struct ewrapup *w, int64_t now);

/* queries.c */
/* c's estimated wait at now (engine_contact_estimate). */
int64_t contact_estimate(const struct engine *e, const struct econtact *c, int64_t now);

/* invariants.c */
/* Checks every invariant and aborts on a breach (conf.check_invariants). */
void invariants_or_die(const struct engine *e, const char *where);

/* reentry.c */
/* Aborts naming fn and the entry point it interrupted. */
void reentry_abort(const struct engine *e, const char *fn) __attribute__((noreturn, cold));
/* Marks e busy with fn (a state-changing entry point, by its __func__) until
 * reentry_leave; aborts if e is busy already: a sink callback called back in.
 * Always on, not an assert: one load, one branch and a store per call. */
static inline void reentry_enter(struct engine *e, const char *fn)
{
	if (__builtin_expect(e->busy != NULL, 0))
		reentry_abort(e, fn);
	e->busy = fn;
}
/* The entry point is done: e may be entered again. */
static inline void reentry_leave(struct engine *e)
{
	e->busy = NULL;
}

#endif
