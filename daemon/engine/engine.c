/* The routing engine. See engine.h for the contract and the rule in force. */
#include "engine/engine.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/heap.h"
#include "err.h"
#include "strmap.h"
#include "xalloc.h"

enum etimer_kind { TIMER_OFFER, TIMER_EXCLUDE, TIMER_WRAPUP };

/* A timer embedded in the object it belongs to, so cancelling is a heap
 * removal and nothing dangles. */
struct etimer {
	int64_t when;
	uint64_t seq; /* ties broken by arming order: runs are deterministic */
	size_t idx;
	enum etimer_kind kind;
	void *obj;
};

struct eagent;
struct equeue;
struct econtact;

/* An agent that declined a contact (rejected it or let the offer time out)
 * is kept from it until the timer fires. Owner: the contact's list. */
struct eexclusion {
	struct econtact *contact;
	struct eagent *agent;
	struct etimer timer;
	struct eexclusion *next;
};

/* Owner: the engine (contacts map); freed when completed or cancelled. */
struct econtact {
	struct engine_contact_view v; /* first: views cast back to econtact */
	struct equeue *queue;
	uint64_t order; /* arrival order, breaks deadline ties */
	size_t heap_idx;
	struct eagent *agent; /* offered to or assigned to */
	char offer_id[64];
	struct etimer offer_timer;
	struct eexclusion *excluded; /* agents that declined it recently */
	struct econtact *held_prev, *held_next; /* agent's held list */
};

/* Owner: the agent it belongs to. */
struct ewrapup {
	struct eagent *agent;
	enum sb_channel channel;
	struct etimer timer;
	struct ewrapup *next;
};

/* Owner: the engine (agents array), for the engine's lifetime. */
struct eagent {
	struct engine_agent_view v; /* first */
	char *reason;
	int used[SB_CH_COUNT]; /* offered + assigned + in wrap-up, per channel */
	int64_t idle_since;    /* last time it was given work, or became available */
	struct econtact *held; /* offered and assigned contacts */
	struct ewrapup *wrapups;
};

struct equeue {
	char *name;
	enum sb_channel channel;
	struct heap waiting; /* by (deadline, order) */
	int64_t last_answer_ms;
	double answer_interval_ms; /* moving average of time between answers */
};

struct engine {
	struct engine_conf conf;
	char *offer_prefix;
	struct engine_sink sink;
	void *ctx;
	struct equeue *queues;
	size_t n_queues;
	struct eagent **agents;
	size_t n_agents;
	struct strmap contacts; /* id -> econtact */
	struct strmap agent_ids; /* id -> eagent */
	struct strmap offers;   /* offer id -> econtact, while the offer is live */
	struct heap timers;
	uint64_t next_order, next_offer, next_timer_seq;
	size_t waiting;
};

static bool engine_contact_less(const void *a, const void *b)
{
	const struct econtact *x = a, *y = b;
	if (x->v.deadline_ms != y->v.deadline_ms)
		return x->v.deadline_ms < y->v.deadline_ms;
	return x->order < y->order;
}

static bool engine_timer_less(const void *a, const void *b)
{
	const struct etimer *x = a, *y = b;
	if (x->when != y->when)
		return x->when < y->when;
	return x->seq < y->seq;
}

/* Arms t (re-arming moves it) to fire at when. */
static void engine_timer_arm(struct engine *e, struct etimer *t, enum etimer_kind kind, void *obj,
			     int64_t when)
{
	heap_remove(&e->timers, t);
	t->when = when;
	t->seq = e->next_timer_seq++;
	t->kind = kind;
	t->obj = obj;
	heap_push(&e->timers, t);
}

static void engine_timer_cancel(struct engine *e, struct etimer *t)
{
	heap_remove(&e->timers, t);
}

struct engine *engine_new(const struct engine_conf *conf, const struct engine_sink *sink,
			  void *sink_ctx)
{
	struct engine *e = xcalloc(1, sizeof *e);

	e->conf = *conf;
	e->offer_prefix = xstrdup(conf->offer_prefix ? conf->offer_prefix : "0");
	e->conf.offer_prefix = e->offer_prefix;
	e->sink = *sink;
	e->ctx = sink_ctx;
	strmap_init(&e->contacts);
	strmap_init(&e->agent_ids);
	strmap_init(&e->offers);
	heap_init(&e->timers, engine_timer_less, offsetof(struct etimer, idx));
	return e;
}

static void engine_contact_destroy(struct engine *e, struct econtact *c)
{
	while (c->excluded != NULL) {
		struct eexclusion *x = c->excluded;
		c->excluded = x->next;
		free(x);
	}
	if (e->sink.contact_free != NULL && c->v.user != NULL)
		e->sink.contact_free(e->ctx, c->v.user);
	free((char *)(uintptr_t)c->v.id);
	free((char *)(uintptr_t)c->v.gateway_id);
	free((char *)(uintptr_t)c->v.external_id);
	free(c);
}

void engine_free(struct engine *e)
{
	const char *k;
	void *v;

	if (e == NULL)
		return;
	for (size_t it = 0; strmap_next(&e->contacts, &it, &k, &v);)
		engine_contact_destroy(e, v);
	for (size_t i = 0; i < e->n_agents; i++) {
		struct eagent *a = e->agents[i];
		while (a->wrapups != NULL) {
			struct ewrapup *w = a->wrapups;
			a->wrapups = w->next;
			free(w);
		}
		free((char *)(uintptr_t)a->v.id);
		free(a->reason);
		free(a);
	}
	for (size_t i = 0; i < e->n_queues; i++) {
		heap_free(&e->queues[i].waiting);
		free(e->queues[i].name);
	}
	free(e->queues);
	free(e->agents);
	strmap_free(&e->contacts);
	strmap_free(&e->agent_ids);
	strmap_free(&e->offers);
	heap_free(&e->timers);
	free(e->offer_prefix);
	free(e);
}

static struct equeue *engine_find_queue(const struct engine *e, const char *name)
{
	for (size_t i = 0; i < e->n_queues; i++)
		if (strcmp(e->queues[i].name, name) == 0)
			return &e->queues[i];
	return NULL;
}

int engine_queue_add(struct engine *e, const char *name, enum sb_channel channel)
{
	if (engine_find_queue(e, name) != NULL)
		return SB_ERR_INVALID_ARGUMENT;
	/* Queues are added before any contact, so moving the array is safe. */
	if (strmap_count(&e->contacts) != 0)
		return SB_ERR_CONFLICT;
	e->queues = xreallocarray(e->queues, e->n_queues + 1, sizeof *e->queues);
	struct equeue *q = &e->queues[e->n_queues++];
	memset(q, 0, sizeof *q);
	q->name = xstrdup(name);
	q->channel = channel;
	heap_init(&q->waiting, engine_contact_less, offsetof(struct econtact, heap_idx));
	return 0;
}

int engine_agent_add(struct engine *e, const char *id, void *user)
{
	if (strmap_get(&e->agent_ids, id) != NULL)
		return SB_ERR_INVALID_ARGUMENT;
	struct eagent *a = xcalloc(1, sizeof *a);
	a->v.id = xstrdup(id);
	a->v.state = AGENT_OFFLINE;
	a->v.reason = "";
	a->v.user = user;
	e->agents = xreallocarray(e->agents, e->n_agents + 1, sizeof *e->agents);
	e->agents[e->n_agents++] = a;
	strmap_put(&e->agent_ids, a->v.id, a);
	return 0;
}

int64_t engine_deadline(const struct engine *e, enum sb_channel channel, int64_t arrived_ms,
			int32_t priority_s)
{
	return arrived_ms + e->conf.channels[channel].sla_ms - (int64_t)priority_s * 1000;
}

int engine_check_queue(const struct engine *e, const char *queue, enum sb_channel channel,
		       const char **why)
{
	const struct equeue *q = engine_find_queue(e, queue);
	if (q == NULL) {
		*why = "unknown queue";
		return SB_ERR_INVALID_ARGUMENT;
	}
	if (q->channel != channel) {
		*why = "queue does not take this channel";
		return SB_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

const char *engine_default_queue(const struct engine *e, enum sb_channel channel)
{
	for (size_t i = 0; i < e->n_queues; i++)
		if (e->queues[i].channel == channel)
			return e->queues[i].name;
	return NULL;
}

/* Whether a can take one more contact on ch: capacity, and exclusivity (an
 * agent on an exclusive channel, voice by default, gets nothing else, and an
 * exclusive contact needs an otherwise idle agent). */
static bool engine_slot_free(const struct engine *e, const struct eagent *a, enum sb_channel ch)
{
	if (a->used[ch] >= e->conf.channels[ch].capacity)
		return false;
	for (int o = 0; o < SB_CH_COUNT; o++) {
		if (o == (int)ch || a->used[o] == 0)
			continue;
		if (e->conf.channels[o].exclusive || e->conf.channels[ch].exclusive)
			return false;
	}
	return true;
}

static bool engine_routable(const struct eagent *a)
{
	return a->v.logged_in && a->v.state == AGENT_AVAILABLE;
}

static struct eexclusion **engine_exclusion(struct econtact *c, const struct eagent *a)
{
	struct eexclusion **pp = &c->excluded;

	while (*pp != NULL && (*pp)->agent != a)
		pp = &(*pp)->next;
	return pp;
}

static bool engine_excluded(const struct econtact *c, const struct eagent *a)
{
	return *engine_exclusion((struct econtact *)(uintptr_t)c, a) != NULL;
}

/* Keeps a from c for the reject delay (re-arming if it declined before). */
static void engine_exclude(struct engine *e, struct econtact *c, struct eagent *a, int64_t now)
{
	struct eexclusion *x = *engine_exclusion(c, a);

	if (x == NULL) {
		x = xcalloc(1, sizeof *x);
		x->contact = c;
		x->agent = a;
		x->timer.idx = HEAP_NONE;
		x->next = c->excluded;
		c->excluded = x;
	}
	engine_timer_arm(e, &x->timer, TIMER_EXCLUDE, x, now + e->conf.reject_delay_ms);
}

static void engine_exclusion_end(struct engine *e, struct eexclusion *x)
{
	struct eexclusion **pp = engine_exclusion(x->contact, x->agent);

	*pp = x->next;
	engine_timer_cancel(e, &x->timer);
	free(x);
}

static void engine_exclusions_clear(struct engine *e, struct econtact *c)
{
	while (c->excluded != NULL)
		engine_exclusion_end(e, c->excluded);
}

static bool engine_may_take(const struct engine *e, const struct eagent *a,
			    const struct econtact *c)
{
	return !engine_excluded(c, a) && engine_slot_free(e, a, c->v.channel);
}

/* The earliest-deadline waiting contact a may take across every queue, or
 * NULL. The head of each queue is usually it; only a contact a recently
 * declined forces a look further down. */
static struct econtact *engine_best_contact(const struct engine *e, const struct eagent *a)
{
	struct econtact *best = NULL;

	for (size_t qi = 0; qi < e->n_queues; qi++) {
		const struct equeue *q = &e->queues[qi];
		if (q->waiting.n == 0 || !engine_slot_free(e, a, q->channel))
			continue;
		struct econtact *pick = heap_top(&q->waiting);
		if (engine_excluded(pick, a)) {
			pick = NULL;
			for (size_t i = 0; i < q->waiting.n; i++) {
				struct econtact *c = q->waiting.items[i];
				if (engine_may_take(e, a, c) &&
				    (pick == NULL || engine_contact_less(c, pick)))
					pick = c;
			}
		}
		if (pick != NULL && (best == NULL || engine_contact_less(pick, best)))
			best = pick;
	}
	return best;
}

static void engine_held_link(struct eagent *a, struct econtact *c)
{
	c->held_prev = NULL;
	c->held_next = a->held;
	if (a->held != NULL)
		a->held->held_prev = c;
	a->held = c;
}

static void engine_held_unlink(struct eagent *a, struct econtact *c)
{
	if (c->held_prev != NULL)
		c->held_prev->held_next = c->held_next;
	else
		a->held = c->held_next;
	if (c->held_next != NULL)
		c->held_next->held_prev = c->held_prev;
	c->held_prev = c->held_next = NULL;
}

static void engine_offer(struct engine *e, struct econtact *c, struct eagent *a, int64_t now)
{
	heap_remove(&c->queue->waiting, c);
	e->waiting--;
	c->agent = a;
	c->v.agent_id = a->v.id;
	c->v.state = CONTACT_OFFERED;
	snprintf(c->offer_id, sizeof c->offer_id, "o-%s-%" PRIu64, e->offer_prefix,
		 ++e->next_offer);
	c->v.offer_id = c->offer_id;
	c->v.offer_expires_ms = now + e->conf.channels[c->v.channel].offer_timeout_ms;
	engine_timer_arm(e, &c->offer_timer, TIMER_OFFER, c, c->v.offer_expires_ms);
	strmap_put(&e->offers, c->offer_id, c);
	a->used[c->v.channel]++;
	a->idle_since = now;
	engine_held_link(a, c);
	e->sink.offer(e->ctx, &c->v, now);
}

/* Orders routable agents for selection: longest idle first, then by id so a
 * run is deterministic. */
static int engine_agent_cmp(const void *pa, const void *pb)
{
	const struct eagent *a = *(struct eagent *const *)pa, *b = *(struct eagent *const *)pb;
	if (a->idle_since != b->idle_since)
		return a->idle_since < b->idle_since ? -1 : 1;
	return strcmp(a->v.id, b->v.id);
}

/* Makes every offer that can be made now: repeatedly, the longest-idle
 * routable agent that can take something gets its earliest-deadline
 * contact. */
static void engine_dispatch(struct engine *e, int64_t now)
{
	if (e->waiting == 0)
		return;
	struct eagent **cand = xcalloc(e->n_agents, sizeof *cand);
	for (;;) {
		size_t n = 0;
		for (size_t i = 0; i < e->n_agents; i++)
			if (engine_routable(e->agents[i]))
				cand[n++] = e->agents[i];
		qsort(cand, n, sizeof *cand, engine_agent_cmp);
		bool offered = false;
		for (size_t i = 0; i < n && !offered; i++) {
			struct econtact *c = engine_best_contact(e, cand[i]);
			if (c != NULL) {
				engine_offer(e, c, cand[i], now);
				offered = true;
			}
		}
		if (!offered || e->waiting == 0)
			break;
	}
	free(cand);
}

/* Ends c's live offer. Unless the contact is being cancelled, it waits again
 * with its deadline and arrival order unchanged: it keeps its place. */
static void engine_offer_end(struct engine *e, struct econtact *c, enum engine_offer_end why,
			     int64_t now)
{
	struct eagent *a = c->agent;
	char offer_id[sizeof c->offer_id];

	memcpy(offer_id, c->offer_id, sizeof offer_id);
	engine_timer_cancel(e, &c->offer_timer);
	strmap_del(&e->offers, c->offer_id);
	a->used[c->v.channel]--;
	engine_held_unlink(a, c);
	c->agent = NULL;
	c->v.agent_id = NULL;
	c->v.offer_id = NULL;
	c->v.offer_expires_ms = 0;
	/* A cancel reports the rescinded offer with the cancellation. */
	if (why == OFFER_END_CANCELLED)
		return;
	c->v.state = CONTACT_WAITING;
	heap_push(&c->queue->waiting, c);
	e->waiting++;
	if ((why == OFFER_END_TIMEOUT || why == OFFER_END_REJECTED) && e->conf.reject_delay_ms > 0)
		engine_exclude(e, c, a, now);
	e->sink.offer_ended(e->ctx, &c->v, a->v.id, offer_id, why, now);
}

/* Removes a finished contact from every index and frees it. */
static void engine_contact_retire(struct engine *e, struct econtact *c)
{
	engine_timer_cancel(e, &c->offer_timer);
	engine_exclusions_clear(e, c);
	if (c->offer_id[0] != '\0' && strmap_get(&e->offers, c->offer_id) == c)
		strmap_del(&e->offers, c->offer_id);
	strmap_del(&e->contacts, c->v.id);
	engine_contact_destroy(e, c);
}

/* How many waiting contacts of q come before c. A scan: issue 2's queues
 * are small; an order-statistic structure replaces it with the full engine. */
static uint32_t engine_ahead(const struct equeue *q, const struct econtact *c)
{
	uint32_t ahead = 0;
	for (size_t i = 0; i < q->waiting.n; i++)
		if (engine_contact_less(q->waiting.items[i], c))
			ahead++;
	return ahead;
}

int engine_submit(struct engine *e, const struct engine_submit *in, int64_t now,
		  uint32_t *position, int64_t *estimated_wait_ms)
{
	struct equeue *q = engine_find_queue(e, in->queue);

	if (q == NULL || q->channel != in->channel)
		return SB_ERR_INVALID_ARGUMENT;
	if (strmap_get(&e->contacts, in->id) != NULL)
		return SB_ERR_CONFLICT;
	struct econtact *c = xcalloc(1, sizeof *c);
	c->v.id = xstrdup(in->id);
	c->v.gateway_id = xstrdup(in->gateway_id);
	c->v.external_id = xstrdup(in->external_id);
	c->v.queue = q->name;
	c->v.channel = in->channel;
	c->v.state = CONTACT_WAITING;
	c->v.arrived_ms = in->arrived_ms;
	c->v.deadline_ms = in->deadline_ms;
	c->v.sla_ms = e->conf.channels[in->channel].sla_ms;
	c->v.user = in->user;
	c->queue = q;
	c->order = ++e->next_order;
	c->heap_idx = c->offer_timer.idx = HEAP_NONE;
	strmap_put(&e->contacts, c->v.id, c);

	uint32_t ahead = engine_ahead(q, c);
	heap_push(&q->waiting, c);
	e->waiting++;
	if (position != NULL)
		*position = ahead + 1;

	engine_dispatch(e, now);
	if (estimated_wait_ms != NULL) {
		*estimated_wait_ms = 0;
		if (c->v.state == CONTACT_WAITING && q->answer_interval_ms > 0)
			*estimated_wait_ms = (int64_t)(q->answer_interval_ms * (ahead + 1));
	}
	return 0;
}

int engine_cancel(struct engine *e, const char *contact_id, const char *gateway_id,
		  const char *reason, int64_t now, const char **why)
{
	struct econtact *c = strmap_get(&e->contacts, contact_id);

	if (c == NULL) {
		*why = "no such contact (finished, or never submitted)";
		return SB_ERR_NOT_FOUND;
	}
	if (strcmp(c->v.gateway_id, gateway_id) != 0) {
		*why = "contact belongs to another gateway";
		return SB_ERR_FORBIDDEN;
	}
	if (c->v.state == CONTACT_ASSIGNED) {
		*why = "contact is already assigned; the agent completes it";
		return SB_ERR_CONFLICT;
	}
	const char *rescinded_agent = NULL;
	char rescinded_offer[sizeof c->offer_id];
	if (c->v.state == CONTACT_OFFERED) {
		rescinded_agent = c->agent->v.id;
		memcpy(rescinded_offer, c->offer_id, sizeof rescinded_offer);
		engine_offer_end(e, c, OFFER_END_CANCELLED, now);
	} else {
		heap_remove(&c->queue->waiting, c);
		e->waiting--;
	}
	c->v.state = CONTACT_CANCELLED;
	e->sink.cancelled(e->ctx, &c->v, reason, rescinded_agent,
			  rescinded_agent ? rescinded_offer : NULL, now);
	engine_contact_retire(e, c);
	engine_dispatch(e, now);
	return 0;
}

static struct eagent *engine_find_agent(const struct engine *e, const char *id)
{
	return strmap_get(&e->agent_ids, id);
}

/* Ends every live offer a holds (it went away or stopped being available). */
static void engine_rescind_offers(struct engine *e, struct eagent *a, int64_t now)
{
	struct econtact *c = a->held, *next;

	for (; c != NULL; c = next) {
		next = c->held_next;
		if (c->v.state == CONTACT_OFFERED)
			engine_offer_end(e, c, OFFER_END_AGENT_GONE, now);
	}
}

static void engine_agent_set(struct engine *e, struct eagent *a, enum engine_agent_state state,
			     const char *reason, int64_t now)
{
	bool changed = a->v.state != state || strcmp(a->v.reason, reason) != 0;

	if (state == AGENT_AVAILABLE && a->v.state != AGENT_AVAILABLE)
		a->idle_since = now;
	a->v.state = state;
	free(a->reason);
	a->reason = xstrdup(reason);
	a->v.reason = a->reason;
	if (state != AGENT_AVAILABLE)
		engine_rescind_offers(e, a, now);
	if (changed)
		e->sink.agent_state(e->ctx, &a->v, now);
}

int engine_agent_login(struct engine *e, const char *agent_id, int64_t now)
{
	struct eagent *a = engine_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	a->v.logged_in = true;
	return 0;
}

int engine_agent_logout(struct engine *e, const char *agent_id, int64_t now)
{
	struct eagent *a = engine_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	a->v.logged_in = false;
	engine_agent_set(e, a, AGENT_OFFLINE, "logged-out", now);
	engine_dispatch(e, now);
	return 0;
}

int engine_agent_set_state(struct engine *e, const char *agent_id, enum engine_agent_state state,
			   const char *reason, int64_t now, const char **why)
{
	struct eagent *a = engine_find_agent(e, agent_id);

	if (a == NULL) {
		*why = "agent not in the roster";
		return SB_ERR_NOT_FOUND;
	}
	if (!a->v.logged_in) {
		*why = "agent is not logged in";
		return SB_ERR_CONFLICT;
	}
	if (state == AGENT_BREAK && (reason == NULL || reason[0] == '\0')) {
		*why = "a break needs a reason";
		return SB_ERR_INVALID_ARGUMENT;
	}
	engine_agent_set(e, a, state, reason ? reason : "", now);
	engine_dispatch(e, now);
	return 0;
}

/* Finds the offer an agent acts on; *why explains a refusal. */
static int engine_agent_offer(const struct engine *e, const char *agent_id, const char *offer_id,
			      struct eagent **ap, struct econtact **cp, const char **why)
{
	*ap = engine_find_agent(e, agent_id);
	*cp = strmap_get(&e->offers, offer_id);
	if (*ap == NULL) {
		*why = "agent not in the roster";
		return SB_ERR_NOT_FOUND;
	}
	if (*cp == NULL) {
		*why = "no such offer (expired, rescinded or never made)";
		return SB_ERR_NOT_FOUND;
	}
	if ((*cp)->agent != *ap) {
		*why = "offer was made to another agent";
		return SB_ERR_FORBIDDEN;
	}
	return 0;
}

int engine_accept(struct engine *e, const char *agent_id, const char *offer_id, int64_t now,
		  const char **why, const struct engine_contact_view **out)
{
	struct eagent *a;
	struct econtact *c;
	int rc = engine_agent_offer(e, agent_id, offer_id, &a, &c, why);

	if (rc != 0)
		return rc;
	*out = &c->v;
	/* A retried accept (the first answer was lost) confirms again. */
	if (c->v.state == CONTACT_ASSIGNED)
		return 0;
	engine_timer_cancel(e, &c->offer_timer);
	engine_exclusions_clear(e, c); /* it will not wait again */
	c->v.state = CONTACT_ASSIGNED;
	c->v.offer_id = NULL;
	c->v.assigned_ms = now;
	struct equeue *q = c->queue;
	if (q->last_answer_ms != 0) {
		double gap = (double)(now - q->last_answer_ms);
		q->answer_interval_ms =
			q->answer_interval_ms > 0 ? 0.8 * q->answer_interval_ms + 0.2 * gap : gap;
	}
	q->last_answer_ms = now;
	e->sink.assigned(e->ctx, &c->v, now);
	return 0;
}

int engine_reject(struct engine *e, const char *agent_id, const char *offer_id,
		  const char *reason, int64_t now, const char **why)
{
	struct eagent *a;
	struct econtact *c;
	int rc = engine_agent_offer(e, agent_id, offer_id, &a, &c, why);

	if (rc != 0)
		return rc;
	if (c->v.state != CONTACT_OFFERED) {
		*why = "offer was already accepted";
		return SB_ERR_CONFLICT;
	}
	engine_offer_end(e, c, OFFER_END_REJECTED, now);
	engine_dispatch(e, now);
	return 0;
}

int engine_complete(struct engine *e, const char *agent_id, const char *contact_id,
		    const char *disposition, int64_t now, const char **why)
{
	struct eagent *a = engine_find_agent(e, agent_id);
	struct econtact *c = strmap_get(&e->contacts, contact_id);

	if (a == NULL) {
		*why = "agent not in the roster";
		return SB_ERR_NOT_FOUND;
	}
	if (c == NULL) {
		*why = "no such contact (finished, or never submitted)";
		return SB_ERR_NOT_FOUND;
	}
	if (c->agent != a) {
		*why = "contact is not held by this agent";
		return SB_ERR_FORBIDDEN;
	}
	if (c->v.state != CONTACT_ASSIGNED) {
		*why = "contact is offered, not yet accepted";
		return SB_ERR_CONFLICT;
	}
	engine_held_unlink(a, c);
	int64_t wrapup = e->conf.channels[c->v.channel].wrapup_ms;
	if (wrapup > 0) {
		struct ewrapup *w = xcalloc(1, sizeof *w);
		w->agent = a;
		w->channel = c->v.channel;
		w->timer.idx = HEAP_NONE;
		w->next = a->wrapups;
		a->wrapups = w;
		engine_timer_arm(e, &w->timer, TIMER_WRAPUP, w, now + wrapup);
	} else {
		a->used[c->v.channel]--;
	}
	c->v.state = CONTACT_COMPLETED;
	e->sink.completed(e->ctx, &c->v, disposition, now);
	engine_contact_retire(e, c);
	engine_dispatch(e, now);
	return 0;
}

/* Frees the slot a wrap-up held. */
static void engine_wrapup_end(struct engine *e, struct ewrapup *w)
{
	struct eagent *a = w->agent;
	struct ewrapup **pp = &a->wrapups;

	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
	engine_timer_cancel(e, &w->timer);
	a->used[w->channel]--;
	free(w);
}

int engine_ready(struct engine *e, const char *agent_id, int64_t now)
{
	struct eagent *a = engine_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	while (a->wrapups != NULL)
		engine_wrapup_end(e, a->wrapups);
	engine_dispatch(e, now);
	return 0;
}

void engine_tick(struct engine *e, int64_t now)
{
	struct etimer *t;

	while ((t = heap_top(&e->timers)) != NULL && t->when <= now) {
		heap_pop(&e->timers);
		switch (t->kind) {
		case TIMER_OFFER:
			engine_offer_end(e, t->obj, OFFER_END_TIMEOUT, now);
			break;
		case TIMER_EXCLUDE:
			engine_exclusion_end(e, t->obj);
			break;
		case TIMER_WRAPUP:
			engine_wrapup_end(e, t->obj);
			break;
		}
	}
	engine_dispatch(e, now);
}

int64_t engine_next_wakeup(const struct engine *e)
{
	const struct etimer *t = heap_top(&e->timers);
	return t ? t->when : INT64_MAX;
}

const struct engine_contact_view *engine_contact(const struct engine *e, const char *id)
{
	struct econtact *c = strmap_get(&e->contacts, id);
	return c ? &c->v : NULL;
}

const struct engine_agent_view *engine_agent(const struct engine *e, const char *id)
{
	struct eagent *a = engine_find_agent(e, id);
	return a ? &a->v : NULL;
}

void engine_agent_each_contact(const struct engine *e, const char *agent_id,
			       void (*fn)(void *arg, const struct engine_contact_view *c), void *arg)
{
	struct eagent *a = engine_find_agent(e, agent_id);

	for (struct econtact *c = a ? a->held : NULL; c != NULL; c = c->held_next)
		fn(arg, &c->v);
}

size_t engine_waiting_count(const struct engine *e)
{
	return e->waiting;
}

uint32_t engine_contact_position(const struct engine *e, const char *id)
{
	const struct econtact *c = strmap_get(&e->contacts, id);
	if (c == NULL || c->v.state != CONTACT_WAITING)
		return 0;
	return engine_ahead(c->queue, c) + 1;
}

const char *engine_check_invariants(const struct engine *e)
{
	static char why[256];
	size_t in_heaps = 0;
	const char *k;
	void *v;

	for (size_t i = 0; i < e->n_queues; i++)
		in_heaps += e->queues[i].waiting.n;
	if (in_heaps != e->waiting)
		return "waiting count differs from queue contents";
	for (size_t it = 0; strmap_next(&e->contacts, &it, &k, &v);) {
		const struct econtact *c = v;
		bool queued = heap_contains(&c->queue->waiting, c);
		if ((c->v.state == CONTACT_WAITING) != queued) {
			snprintf(why, sizeof why, "contact %s: state %s but %s a queue", c->v.id,
				 engine_contact_state_name(c->v.state), queued ? "in" : "not in");
			return why;
		}
		bool offered = c->v.state == CONTACT_OFFERED;
		if (offered != (strmap_get(&e->offers, c->offer_id) == c && c->offer_id[0] &&
				c->v.state != CONTACT_ASSIGNED) ||
		    offered != heap_contains(&e->timers, &c->offer_timer)) {
			snprintf(why, sizeof why, "contact %s: offer bookkeeping broken", c->v.id);
			return why;
		}
		if ((c->agent != NULL) != (offered || c->v.state == CONTACT_ASSIGNED)) {
			snprintf(why, sizeof why, "contact %s: agent link broken", c->v.id);
			return why;
		}
	}
	for (size_t i = 0; i < e->n_agents; i++) {
		const struct eagent *a = e->agents[i];
		int used[SB_CH_COUNT] = { 0 };
		for (const struct econtact *c = a->held; c != NULL; c = c->held_next) {
			if (c->agent != a)
				return "held list has another agent's contact";
			used[c->v.channel]++;
		}
		for (const struct ewrapup *w = a->wrapups; w != NULL; w = w->next)
			used[w->channel]++;
		for (int ch = 0; ch < SB_CH_COUNT; ch++)
			if (used[ch] != a->used[ch]) {
				snprintf(why, sizeof why, "agent %s: %s slots %d, holds %d", a->v.id,
					 channel_name(ch), a->used[ch], used[ch]);
				return why;
			}
	}
	return NULL;
}

const char *engine_contact_state_name(enum engine_contact_state s)
{
	static const char *const names[] = { "waiting", "offered", "assigned", "completed",
					     "cancelled" };
	return (unsigned)s < sizeof names / sizeof *names ? names[s] : "?";
}

const char *engine_agent_state_name(enum engine_agent_state s)
{
	static const char *const names[] = { "offline", "available", "break" };
	return (unsigned)s < sizeof names / sizeof *names ? names[s] : "?";
}

const char *engine_offer_end_name(enum engine_offer_end why)
{
	static const char *const names[] = { "timeout", "rejected", "cancelled", "session-closed" };
	return (unsigned)why < sizeof names / sizeof *names ? names[why] : "?";
}
