/* The routing engine's API: contacts, agents, offers, timers and dispatch.
 * See engine.h for the contract, internal.h for the parts, docs/engine.md
 * for the design. */
#include "engine/engine.h"

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "util/err.h"
#include "util/xalloc.h"

static void invariants_or_die(const struct engine *e, const char *where);

/* ---- small helpers ------------------------------------------------------ */

/* Timers fire by (when, arming order). */
static void timers_key(const void *item, int64_t *k1, int64_t *k2)
{
	const struct etimer *t = item;
	*k1 = t->when;
	*k2 = (int64_t)t->seq;
}

/* Longest wait: by (arrival, submit order). */
static void setup_arrival_key(const void *item, int64_t *k1, int64_t *k2)
{
	const struct econtact *c = item;
	*k1 = c->v.arrived_ms;
	*k2 = (int64_t)c->order;
}

void timers_arm(struct engine *e, struct etimer *t, enum etimer_kind kind, void *obj,
		int64_t when)
{
	heap_remove(&e->timers, t);
	t->when = when;
	t->seq = e->next_timer_seq++;
	t->kind = kind;
	t->obj = obj;
	heap_push(&e->timers, t);
}

void timers_cancel(struct engine *e, struct etimer *t)
{
	heap_remove(&e->timers, t);
}

void timers_due(struct engine *e, struct econtact *c, enum due what, int64_t when)
{
	int64_t next = INT64_MAX;

	c->due[what] = when;
	for (int i = 0; i < DUE_COUNT; i++)
		if (c->due[i] < next)
			next = c->due[i];
	if (next == INT64_MAX)
		timers_cancel(e, &c->timer);
	else if (!heap_contains(&e->timers, &c->timer) || c->timer.when != next)
		timers_arm(e, &c->timer, TIMER_CONTACT, c, next);
}

uint64_t select_rand(struct engine *e)
{
	/* splitmix64: the random strategy needs only a reproducible spread */
	uint64_t z = (e->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int setup_skill_id(struct engine *e, const char *name, bool create)
{
	void *v = strmap_get(&e->skill_ids, name);
	if (v != NULL)
		return (int)(intptr_t)v - 1;
	if (!create)
		return -1;
	e->skills = xreallocarray(e->skills, (size_t)e->n_skills + 1, sizeof *e->skills);
	e->skills[e->n_skills] = xstrdup(name);
	strmap_put(&e->skill_ids, e->skills[e->n_skills], (void *)(intptr_t)(e->n_skills + 1));
	return e->n_skills++;
}

static int setup_tier_find(const struct engine *e, const char *name)
{
	for (int i = 0; i < e->n_agent_tiers; i++)
		if (strcmp(e->agent_tiers[i], name) == 0)
			return i;
	return -1;
}

static int setup_find_ctier(const struct engine *e, const char *name)
{
	if (name == NULL || name[0] == '\0')
		return e->n_ctiers - 1;
	for (int i = 0; i < e->n_ctiers; i++)
		if (strcmp(e->ctiers[i].name, name) == 0)
			return i;
	return -1;
}

static struct equeue *setup_find_queue(const struct engine *e, const char *name)
{
	return name ? strmap_get(&e->queue_ids, name) : NULL;
}

static struct eagent *setup_find_agent(const struct engine *e, const char *id)
{
	return id ? strmap_get(&e->agent_ids, id) : NULL;
}

/* A tier list as a bitmask; *bad names the first unknown tier. */
static uint32_t setup_tier_mask(const struct engine *e, const char *const *names, size_t n,
				const char **bad)
{
	uint32_t mask = 0;
	for (size_t i = 0; i < n; i++) {
		int t = setup_tier_find(e, names[i]);
		if (t < 0) {
			*bad = names[i];
			return 0;
		}
		mask |= 1u << t;
	}
	return mask;
}

/* ---- set-up -------------------------------------------------------------- */

struct engine *engine_new(const struct engine_conf *conf, const struct engine_sink *sink,
			  void *sink_ctx)
{
	struct engine *e = xcalloc(1, sizeof *e);

	e->conf = *conf;
	if (e->conf.stats_window_ms <= 0)
		e->conf.stats_window_ms = 15 * 60 * 1000;
	e->offer_prefix = xstrdup(conf->offer_prefix ? conf->offer_prefix : "0");
	e->conf.offer_prefix = e->offer_prefix;
	e->offer_head_len = strlen(e->offer_prefix) + 3;
	e->offer_head = xmalloc(e->offer_head_len + 1);
	snprintf(e->offer_head, e->offer_head_len + 1, "o-%s-", e->offer_prefix);
	e->rng = conf->seed;
	e->sink = *sink;
	e->ctx = sink_ctx;
	strmap_init(&e->skill_ids);
	strmap_init(&e->queue_ids);
	strmap_init(&e->agent_ids);
	strmap_init(&e->contacts);
	strmap_init(&e->buckets);
	heap_init_keyed(&e->timers, timers_key, NULL, offsetof(struct etimer, idx));
	return e;
}

/* Under AddressSanitizer every contact is its own malloc, so a use after
 * free is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define CONTACT_POOL_ON 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONTACT_POOL_ON 0
#endif
#endif
#ifndef CONTACT_POOL_ON
#define CONTACT_POOL_ON 1
#endif

/* n zeroed bytes for a contact; *cls says which free list takes them back
 * (0: free()). */
static void *contact_alloc(struct engine *e, size_t n, uint8_t *cls)
{
	size_t k = (n + CONTACT_POOL_GRAIN - 1) / CONTACT_POOL_GRAIN;

	if (!CONTACT_POOL_ON || k >= CONTACT_POOL_CLASSES) {
		*cls = 0;
		return xcalloc(1, n);
	}
	*cls = (uint8_t)k;
	void *p = e->contact_pool[k];
	if (p == NULL)
		return xcalloc(k, CONTACT_POOL_GRAIN);
	memcpy(&e->contact_pool[k], p, sizeof(void *)); /* the next free one */
	memset(p, 0, k * CONTACT_POOL_GRAIN);
	return p;
}

static void contact_release(struct engine *e, void *p, uint8_t cls)
{
	if (cls == 0) {
		free(p);
		return;
	}
	memcpy(p, &e->contact_pool[cls], sizeof(void *));
	e->contact_pool[cls] = p;
}

static void contact_pool_free(struct engine *e)
{
	for (size_t k = 0; k < CONTACT_POOL_CLASSES; k++)
		while (e->contact_pool[k] != NULL) {
			void *p = e->contact_pool[k];
			memcpy(&e->contact_pool[k], p, sizeof(void *));
			free(p);
		}
}

static void contact_destroy(struct engine *e, struct econtact *c)
{
	while (c->excluded != NULL) {
		struct eexclusion *x = c->excluded;
		c->excluded = x->next;
		free(x);
	}
	if (e->sink.contact_free != NULL && c->v.user != NULL)
		e->sink.contact_free(e->ctx, c->v.user);
	/* The allocation starts at the id; c and c->reqs are in it. */
	contact_release(e, (char *)(uintptr_t)c->v.id, c->pool_class);
}

static void setup_agent_destroy(struct eagent *a)
{
	while (a->wrapups != NULL) {
		struct ewrapup *w = a->wrapups;
		a->wrapups = w->next;
		free(w);
	}
	free((char *)(uintptr_t)a->v.id);
	free(a->reason);
	free(a->skills);
	free(a->serves);
	free(a->last_offer);
	free(a->linkv);
	free(a);
}

void engine_free(struct engine *e)
{
	const char *k;
	void *v;

	if (e == NULL)
		return;
	for (size_t it = 0; strmap_next(&e->contacts, &it, &k, &v);)
		contact_destroy(e, v);
	free(e->restoring);
	contact_pool_free(e);
	bucket_free_all(e);
	for (size_t i = 0; i < e->n_agents; i++)
		setup_agent_destroy(e->agents[i]);
	for (size_t i = 0; i < e->n_queues; i++) {
		struct equeue *q = e->queues[i];
		for (int s = 0; s < q->n_steps; s++) {
			free(q->steps[s].add_name);
			free(q->steps[s].overflow_name);
		}
		heap_free(&q->by_arrival);
		free(q->overflow_name);
		free(q->reqs);
		free(q->name);
		free(q);
	}
	for (int i = 0; i < e->n_agent_tiers; i++)
		free(e->agent_tiers[i]);
	for (int i = 0; i < e->n_ctiers; i++)
		free(e->ctiers[i].name);
	for (int i = 0; i < e->n_skills; i++)
		free(e->skills[i]);
	free(e->skills);
	free(e->ctiers);
	free(e->queues);
	free(e->agents);
	free(e->work_c);
	free(e->work_a);
	strmap_free(&e->skill_ids);
	strmap_free(&e->queue_ids);
	strmap_free(&e->agent_ids);
	strmap_free(&e->contacts);
	offer_table_free(&e->offers);
	heap_free(&e->timers);
	free(e->offer_prefix);
	free(e->offer_head);
	free(e);
}

int engine_agent_tier_add(struct engine *e, const char *name, const char **why)
{
	if (e->n_agent_tiers >= ENGINE_MAX_TIERS || setup_tier_find(e, name) >= 0 ||
	    e->n_agents > 0) {
		*why = "agent tiers: too many, duplicate, or added after agents";
		return SB_ERR_INVALID_ARGUMENT;
	}
	e->agent_tiers[e->n_agent_tiers++] = xstrdup(name);
	return 0;
}

int engine_customer_tier_add(struct engine *e, const struct engine_customer_tier *t,
			     const char **why)
{
	const char *bad = NULL;
	uint32_t first = setup_tier_mask(e, t->first_agent_tiers, t->n_first_agent_tiers, &bad);

	if (bad != NULL) {
		*why = "customer tier names an unknown agent tier";
		return SB_ERR_INVALID_ARGUMENT;
	}
	if (t->name == NULL || t->name[0] == '\0' ||
	    (e->n_ctiers > 0 && setup_find_ctier(e, t->name) >= 0)) {
		*why = "customer tier without a name, or a duplicate";
		return SB_ERR_INVALID_ARGUMENT;
	}
	if (!(t->sla_factor > 0)) {
		*why = "sla_factor must be positive";
		return SB_ERR_INVALID_ARGUMENT;
	}
	e->ctiers = xreallocarray(e->ctiers, (size_t)e->n_ctiers + 1, sizeof *e->ctiers);
	struct customer_tier *ct = &e->ctiers[e->n_ctiers++];
	ct->name = xstrdup(t->name);
	ct->factor = t->sla_factor;
	ct->first = first;
	ct->widen_after_ms = t->widen_after_ms;
	return 0;
}

/* Fills out[0, n) from in (out has room for n), interning skill names;
 * *why on a bad level. */
static int setup_reqs_fill(struct engine *e, const struct engine_skill_req *in, size_t n,
			   struct req *out, int *n_out, const char **why)
{
	*n_out = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i].min_level < 1 || in[i].min_level > 5 || in[i].skill == NULL ||
		    in[i].skill[0] == '\0') {
			*why = "skill requirement needs a name and a level 1..5";
			return SB_ERR_INVALID_ARGUMENT;
		}
		out[(*n_out)++] = (struct req){ setup_skill_id(e, in[i].skill, true),
						in[i].min_level };
	}
	return 0;
}

/* The same into a new array (a queue's). */
static int setup_reqs(struct engine *e, const struct engine_skill_req *in, size_t n,
		      struct req **out, int *n_out, const char **why)
{
	*out = xcalloc(n + 1, sizeof **out);
	if (setup_reqs_fill(e, in, n, *out, n_out, why) != 0) {
		free(*out);
		*out = NULL;
		return SB_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

int engine_queue_add(struct engine *e, const struct engine_queue_def *d, const char **why)
{
	if (setup_find_queue(e, d->name) != NULL || e->queues_done) {
		*why = "duplicate queue, or added after engine_queues_done";
		return SB_ERR_INVALID_ARGUMENT;
	}
	if (d->n_steps > ENGINE_MAX_STEPS || (unsigned)d->strategy >= STRATEGY_COUNT) {
		*why = "too many steps, or unknown strategy";
		return SB_ERR_INVALID_ARGUMENT;
	}
	const char *bad = NULL;
	uint32_t tiers = setup_tier_mask(e, d->agent_tiers, d->n_agent_tiers, &bad);
	for (size_t i = 0; bad == NULL && i < d->n_steps; i++)
		setup_tier_mask(e, d->steps[i].agent_tiers, d->steps[i].n_agent_tiers, &bad);
	if (bad != NULL) {
		*why = "queue or step names an unknown agent tier";
		return SB_ERR_INVALID_ARGUMENT;
	}
	struct equeue *q = xcalloc(1, sizeof *q);
	if (setup_reqs(e, d->skills, d->n_skills, &q->reqs, &q->n_reqs, why) != 0) {
		free(q);
		return SB_ERR_INVALID_ARGUMENT;
	}
	q->name = xstrdup(d->name);
	q->index = e->n_queues;
	q->channel = d->channel;
	q->strategy = d->strategy;
	q->sla_ms = d->sla_ms;
	q->target_pct = d->target_pct ? d->target_pct : 80;
	q->tiers = tiers ? tiers : UINT32_MAX;
	q->max_wait_ms = d->max_wait_ms;
	q->max_wait_no_agent_ms = d->max_wait_no_agent_ms;
	q->overflow_name = d->overflow ? xstrdup(d->overflow) : NULL;
	for (size_t i = 0; i < d->n_steps; i++) {
		const struct engine_step *s = &d->steps[i];
		struct estep *st = &q->steps[q->n_steps++];
		st->after_ms = s->after_ms;
		st->relax = s->skill_relax;
		st->tiers = setup_tier_mask(e, s->agent_tiers, s->n_agent_tiers, &bad);
		st->add_name = s->add_queue ? xstrdup(s->add_queue) : NULL;
		st->overflow_name = s->overflow ? xstrdup(s->overflow) : NULL;
	}
	ostree_init(&q->order);
	heap_init_keyed(&q->by_arrival, setup_arrival_key, NULL,
			offsetof(struct econtact, arrival_idx));
	e->queues = xreallocarray(e->queues, e->n_queues + 1, sizeof *e->queues);
	e->queues[e->n_queues++] = q;
	strmap_put(&e->queue_ids, q->name, q);
	return 0;
}

/* Resolves a queue reference that must take the same channel. */
static int setup_resolve(struct engine *e, const struct equeue *q, const char *name,
			 struct equeue **out, const char **why)
{
	*out = NULL;
	if (name == NULL)
		return 0;
	*out = setup_find_queue(e, name);
	if (*out == NULL || *out == q || (*out)->channel != q->channel) {
		*why = "queue reference is unknown, itself, or of another channel";
		return SB_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

int engine_queues_done(struct engine *e, const char **why)
{
	if (e->n_agent_tiers == 0)
		engine_agent_tier_add(e, "regular", why);
	if (e->n_ctiers == 0) {
		struct engine_customer_tier std = { .name = "standard", .sla_factor = 1.0 };
		engine_customer_tier_add(e, &std, why);
	}
	for (size_t i = 0; i < e->n_queues; i++) {
		struct equeue *q = e->queues[i];
		if (setup_resolve(e, q, q->overflow_name, &q->overflow, why) != 0)
			return SB_ERR_INVALID_ARGUMENT;
		for (int s = 0; s < q->n_steps; s++) {
			struct estep *st = &q->steps[s];
			/* add_queue may name any queue: its agents may be skilled
			 * for several channels. */
			st->add = st->add_name ? setup_find_queue(e, st->add_name) : NULL;
			if ((st->add_name && (st->add == NULL || st->add == q)) ||
			    setup_resolve(e, q, st->overflow_name, &st->overflow, why) != 0) {
				*why = "step names an unknown queue, itself, or another channel";
				return SB_ERR_INVALID_ARGUMENT;
			}
		}
	}
	e->queues_done = true;
	return 0;
}

/* Fills a's roster attributes from d. */
static int setup_agent_apply(struct engine *e, struct eagent *a, const struct engine_agent_def *d,
			     const char **why)
{
	int tier = d->tier ? setup_tier_find(e, d->tier) : e->n_agent_tiers - 1;
	if (tier < 0) {
		*why = "unknown agent tier";
		return SB_ERR_INVALID_ARGUMENT;
	}
	uint64_t *serves = NULL;
	if (d->n_queues > 0) {
		serves = xcalloc(e->n_queues / 64 + 1, sizeof *serves);
		for (size_t i = 0; i < d->n_queues; i++) {
			struct equeue *q = setup_find_queue(e, d->queues[i]);
			if (q == NULL) {
				free(serves);
				*why = "agent serves an unknown queue";
				return SB_ERR_INVALID_ARGUMENT;
			}
			serves[q->index / 64] |= 1ULL << (q->index % 64);
		}
	}
	struct req *skills = xcalloc(d->n_skills + 1, sizeof *skills);
	for (size_t i = 0; i < d->n_skills; i++) {
		if (d->skills[i].level < 1 || d->skills[i].level > 5) {
			free(skills);
			free(serves);
			*why = "skill level must be 1..5";
			return SB_ERR_INVALID_ARGUMENT;
		}
		skills[i] = (struct req){ setup_skill_id(e, d->skills[i].skill, true),
					  d->skills[i].level };
	}
	/* sorted for eligibility_level's binary search */
	for (size_t i = 1; i < d->n_skills; i++)
		for (size_t j = i; j > 0 && skills[j - 1].skill > skills[j].skill; j--) {
			struct req t = skills[j];
			skills[j] = skills[j - 1];
			skills[j - 1] = t;
		}
	free(a->skills);
	free(a->serves);
	a->skills = skills;
	a->n_skills = (int)d->n_skills;
	a->serves = serves;
	a->tier = tier;
	a->v.tier = e->agent_tiers[tier];
	for (int ch = 0; ch < SB_CH_COUNT; ch++)
		a->v.capacity[ch] =
			d->capacity[ch] > 0 ? d->capacity[ch] : e->conf.channels[ch].capacity;
	return 0;
}

int engine_agent_add(struct engine *e, const struct engine_agent_def *d, void *user,
		     const char **why)
{
	if (!e->queues_done) {
		const char *ignored;
		if (engine_queues_done(e, &ignored) != 0) {
			*why = ignored;
			return SB_ERR_INVALID_ARGUMENT;
		}
	}
	if (d->id == NULL || d->id[0] == '\0' || setup_find_agent(e, d->id) != NULL) {
		*why = "agent id missing or already in the roster";
		return SB_ERR_INVALID_ARGUMENT;
	}
	struct eagent *a = xcalloc(1, sizeof *a);
	if (setup_agent_apply(e, a, d, why) != 0) {
		free(a);
		return SB_ERR_INVALID_ARGUMENT;
	}
	a->v.id = xstrdup(d->id);
	a->v.state = AGENT_OFFLINE;
	a->reason = xstrdup("");
	a->v.reason = a->reason;
	a->v.user = user;
	a->index = e->n_agents;
	a->last_offer = xcalloc(e->n_queues + 1, sizeof *a->last_offer);
	a->rnd = select_rand(e);
	e->agents = xreallocarray(e->agents, e->n_agents + 1, sizeof *e->agents);
	e->agents[e->n_agents++] = a;
	strmap_put(&e->agent_ids, a->v.id, a);
	bucket_agent_relink(e, a);
	return 0;
}

static void dispatch_add_agent(struct engine *e, struct eagent *a);
static void dispatch_run(struct engine *e, int64_t now);

int engine_agent_update(struct engine *e, const struct engine_agent_def *d, int64_t now,
			const char **why)
{
	struct eagent *a = setup_find_agent(e, d->id);

	if (a == NULL) {
		*why = "agent not in the roster";
		return SB_ERR_NOT_FOUND;
	}
	if (setup_agent_apply(e, a, d, why) != 0)
		return SB_ERR_INVALID_ARGUMENT;
	bool in = a->v.logged_in;
	/* Presence counts follow the links: drop them with the old links. */
	if (in)
		bucket_agent_presence(e, a, false, now);
	a->v.logged_in = false;
	bucket_agent_relink(e, a);
	a->v.logged_in = in;
	if (in)
		bucket_agent_presence(e, a, true, now);
	bucket_agent_refresh(e, a);
	dispatch_add_agent(e, a);
	dispatch_run(e, now);
	return 0;
}

int engine_agent_remove(struct engine *e, const char *id, int64_t now, const char **why)
{
	struct eagent *a = setup_find_agent(e, id);

	if (a == NULL) {
		*why = "agent not in the roster";
		return SB_ERR_NOT_FOUND;
	}
	if (a->held != NULL || a->v.logged_in) {
		*why = "agent is logged in or holds contacts";
		return SB_ERR_CONFLICT;
	}
	/* Contacts that asked for it route normally from now on. */
	const char *k;
	void *v;
	for (size_t it = 0; strmap_next(&e->contacts, &it, &k, &v);)
		if (((struct econtact *)v)->preferred == a)
			((struct econtact *)v)->preferred = NULL;
	bucket_agent_unlink(e, a);
	bucket_drop_preferred(e, a);
	strmap_del(&e->agent_ids, a->v.id);
	for (size_t i = a->index + 1; i < e->n_agents; i++) {
		e->agents[i - 1] = e->agents[i];
		e->agents[i - 1]->index = i - 1;
	}
	e->n_agents--;
	/* Wrap-ups hold timers: cancel before freeing. */
	for (struct ewrapup *w = a->wrapups; w != NULL; w = w->next)
		timers_cancel(e, &w->timer);
	setup_agent_destroy(a);
	return 0;
}

/* ---- agents' slots ------------------------------------------------------- */

/* Capacity, and exclusivity: an agent on an exclusive channel (voice by
 * default) gets nothing else, and an exclusive contact needs an otherwise
 * idle agent. */
bool agent_state_slot_free(const struct engine *e, const struct eagent *a, enum sb_channel ch)
{
	if (a->v.load[ch] >= a->v.capacity[ch])
		return false;
	for (int o = 0; o < SB_CH_COUNT; o++) {
		if (o == (int)ch || a->v.load[o] == 0)
			continue;
		if (e->conf.channels[o].exclusive || e->conf.channels[ch].exclusive)
			return false;
	}
	return true;
}

bool agent_state_routable(const struct eagent *a)
{
	return a->v.logged_in && !a->v.detached && a->v.state == AGENT_AVAILABLE;
}

bool reject_excluded(const struct econtact *c, const struct eagent *a)
{
	for (const struct eexclusion *x = c->excluded; x != NULL; x = x->next)
		if (x->agent == a)
			return true;
	return false;
}

static void agent_state_load(struct engine *e, struct eagent *a, enum sb_channel ch, int delta)
{
	a->v.load[ch] += delta;
	bucket_agent_refresh(e, a);
}

/* ---- the dispatch work list ---------------------------------------------- */

static void dispatch_add_contact(struct engine *e, struct econtact *c)
{
	if (e->n_work_c == e->cap_work_c) {
		e->cap_work_c = e->cap_work_c ? e->cap_work_c * 2 : 16;
		e->work_c = xreallocarray(e->work_c, e->cap_work_c, sizeof *e->work_c);
	}
	e->work_c[e->n_work_c++] = c;
}

static void dispatch_add_agent(struct engine *e, struct eagent *a)
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

/* ---- queue and class membership ------------------------------------------ */

/* Files c in its queue's order (by deadline, then submit order); returns
 * how many come before it. */
static uint32_t contact_queue_enter(struct engine *e, struct econtact *c)
{
	c->onode.k1 = c->v.deadline_ms;
	c->onode.k2 = (int64_t)c->order;
	uint32_t rank = ostree_insert(&c->queue->order, &c->onode);
	heap_push(&c->queue->by_arrival, c);
	c->in_queue = true;
	return rank;
}

static void contact_queue_leave(struct engine *e, struct econtact *c)
{
	if (!c->in_queue)
		return;
	ostree_remove(&c->queue->order, &c->onode);
	heap_remove(&c->queue->by_arrival, c);
	c->in_queue = false;
}

/* Makes c wait in its class; dispatch will look for an agent. */
static void contact_wait(struct engine *e, struct econtact *c, int64_t now)
{
	c->v.state = CONTACT_WAITING;
	c->bucket = escalate_class(e, c, now);
	cq_push(&c->bucket->contacts, c);
	e->waiting++;
	if (c->bucket->logged_in == 0 && c->queue->max_wait_no_agent_ms > 0)
		timers_due(e, c, DUE_NOAGENT, now + c->queue->max_wait_no_agent_ms);
	dispatch_add_contact(e, c);
}

static void contact_unwait(struct engine *e, struct econtact *c)
{
	if (!cq_contains(&c->bucket->contacts, c))
		return;
	cq_remove(&c->bucket->contacts, c);
	timers_due(e, c, DUE_NOAGENT, INT64_MAX);
	e->waiting--;
}

static void held_link(struct eagent *a, struct econtact *c)
{
	c->held_prev = NULL;
	c->held_next = a->held;
	if (a->held != NULL)
		a->held->held_prev = c;
	a->held = c;
}

static void held_unlink(struct eagent *a, struct econtact *c)
{
	if (c->held_prev != NULL)
		c->held_prev->held_next = c->held_next;
	else
		a->held = c->held_next;
	if (c->held_next != NULL)
		c->held_next->held_prev = c->held_prev;
	c->held_prev = c->held_next = NULL;
}

static void reject_exclusion_end(struct engine *e, struct eexclusion *x)
{
	struct eexclusion **pp = &x->contact->excluded;

	while (*pp != x)
		pp = &(*pp)->next;
	*pp = x->next;
	timers_cancel(e, &x->timer);
	free(x);
}

static void reject_exclusions_clear(struct engine *e, struct econtact *c)
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

/* Keeps a from c for the reject delay (re-arming if it declined before). */
static void reject_exclude(struct engine *e, struct econtact *c, struct eagent *a, int64_t now)
{
	struct eexclusion *x = c->excluded;

	while (x != NULL && x->agent != a)
		x = x->next;
	if (x == NULL) {
		x = xcalloc(1, sizeof *x);
		x->contact = c;
		x->agent = a;
		x->timer.idx = HEAP_NONE;
		x->next = c->excluded;
		c->excluded = x;
	}
	timers_arm(e, &x->timer, TIMER_EXCLUDE, x, now + e->conf.reject_delay_ms);
}

/* ---- offers --------------------------------------------------------------- */

static void accept_assign(struct engine *e, struct econtact *c, int64_t now)
{
	struct equeue *q = c->queue;
	int64_t waited = now - c->v.arrived_ms;

	timers_cancel(e, &c->offer_timer);
	for (int i = 0; i < DUE_COUNT; i++)
		c->due[i] = INT64_MAX;
	timers_cancel(e, &c->timer);
	reject_exclusions_clear(e, c);
	contact_queue_leave(e, c);
	c->v.state = CONTACT_ASSIGNED;
	c->v.offer_id = NULL;
	c->v.assigned_ms = now;
	c->agent->no_answer = 0;
	stats_record(q, STAT_ANSWERED, now, waited, waited <= c->v.sla_ms, e->conf.stats_window_ms);
	e->sink.assigned(e->ctx, &c->v, now);
}

/* "o-<prefix>-<n>", cut to len - 1 like snprintf: built by hand because
 * it runs on every offer. */
static void offer_make_id(const struct engine *e, char *out, size_t len, uint64_t n)
{
	char digits[24];
	size_t nd = 0, off = e->offer_head_len < len - 1 ? e->offer_head_len : len - 1;

	memcpy(out, e->offer_head, off);
	do {
		digits[nd++] = (char)('0' + n % 10);
		n /= 10;
	} while (n != 0);
	while (nd > 0 && off < len - 1)
		out[off++] = digits[--nd];
	out[off] = '\0';
}

/* An offer writes to most of a contact's cache lines (view, class heap
 * position, offer id, timers): asking for all of them at once lets their
 * misses overlap instead of arriving one by one as the code reaches them. */
static void contact_prefetch(const struct econtact *c)
{
	for (size_t off = 0; off < sizeof *c; off += 64)
		__builtin_prefetch((const char *)c + off, 1);
}

static void offer_make(struct engine *e, struct econtact *c, struct eagent *a, int64_t now)
{
	contact_prefetch(c);
	contact_unwait(e, c);
	c->agent = a;
	c->v.agent_id = a->v.id;
	c->v.state = CONTACT_OFFERED;
	uint64_t n = ++e->next_offer;
	offer_make_id(e, c->offer_id, sizeof c->offer_id, n);
	/* An id cut short is not "<head><n>": key it as any other string. */
	offer_table_add(&e->offers, c,
		   e->offer_head_len + 21 <= sizeof c->offer_id ? n : offer_table_key(e, c->offer_id));
	a->idle_since = now;
	a->last_offer[c->queue->index] = now;
	a->rnd = select_rand(e);
	held_link(a, c);
	agent_state_load(e, a, c->v.channel, +1);
	stats_record(c->queue, STAT_OFFERED, now, 0, false, e->conf.stats_window_ms);
	if (e->conf.channels[c->v.channel].auto_accept) {
		accept_assign(e, c, now);
		return;
	}
	c->v.offer_id = c->offer_id;
	c->v.offer_expires_ms = now + e->conf.channels[c->v.channel].offer_timeout_ms;
	timers_arm(e, &c->offer_timer, TIMER_OFFER, c, c->v.offer_expires_ms);
	e->sink.offer(e->ctx, &c->v, now);
}

/* Ends c's live offer. Unless the contact is being cancelled or expired, it
 * waits again with its deadline unchanged: it keeps its place. */
static void offer_end(struct engine *e, struct econtact *c, enum engine_offer_end why,
		      int64_t now)
{
	struct eagent *a = c->agent;
	char offer_id[sizeof c->offer_id];

	memcpy(offer_id, c->offer_id, sizeof offer_id);
	timers_cancel(e, &c->offer_timer);
	offer_table_remove(&e->offers, c);
	held_unlink(a, c);
	c->agent = NULL;
	c->v.agent_id = NULL;
	c->v.offer_id = NULL;
	c->v.offer_expires_ms = 0;
	agent_state_load(e, a, c->v.channel, -1);
	dispatch_add_agent(e, a);
	if (why == OFFER_END_CANCELLED)
		return;
	if ((why == OFFER_END_TIMEOUT || why == OFFER_END_REJECTED) && e->conf.reject_delay_ms > 0)
		reject_exclude(e, c, a, now);
	contact_wait(e, c, now);
	e->sink.offer_ended(e->ctx, &c->v, a->v.id, offer_id, why, now);
}

/* Removes a finished contact from every index and frees it. */
static void contact_retire(struct engine *e, struct econtact *c)
{
	contact_unwait(e, c);
	contact_queue_leave(e, c);
	timers_cancel(e, &c->offer_timer);
	timers_cancel(e, &c->timer);
	reject_exclusions_clear(e, c);
	offer_table_remove(&e->offers, c);
	strmap_del(&e->contacts, c->v.id);
	contact_destroy(e, c);
}

/* ---- dispatch --------------------------------------------------------------- */

/* Makes every offer that can be made now. A contact that became routable
 * goes to the best ready agent of its class; an agent that can take more
 * gets the earliest-deadline contact over the classes it serves. Offers
 * only consume, so one pass over the work list finds them all. */
static void dispatch_run(struct engine *e, int64_t now)
{
	size_t ic = 0, ia = 0;

	if (e->paused) {
		/* Keep nothing: unpausing looks at every agent again. */
		for (size_t i = 0; i < e->n_work_a; i++) {
			e->work_a[i]->queued = false;
			if (e->work_a[i]->links_stale)
				bucket_agent_refresh(e, e->work_a[i]);
		}
		e->n_work_c = e->n_work_a = 0;
		return;
	}
	while (ic < e->n_work_c || ia < e->n_work_a) {
		if (ic < e->n_work_c) {
			struct econtact *c = e->work_c[ic++];
			if (c->v.state != CONTACT_WAITING)
				continue;
			struct eagent *a = bucket_best_agent(e, c->bucket, c);
			if (a != NULL)
				offer_make(e, c, a, now);
			continue;
		}
		struct eagent *a = e->work_a[ia++];
		a->queued = false;
		struct econtact *c;
		while (agent_state_routable(a) && (c = bucket_best_contact(e, a)) != NULL)
			offer_make(e, c, a, now);
		if (a->links_stale)
			bucket_agent_refresh(e, a);
	}
	e->n_work_c = e->n_work_a = 0;
	if (e->conf.check_invariants)
		invariants_or_die(e, "dispatch");
}

/* ---- contacts ---------------------------------------------------------------- */

static int64_t contact_threshold(const struct engine *e, const struct equeue *q,
				 enum sb_channel ch, int tier)
{
	int64_t base = q && q->sla_ms ? q->sla_ms : e->conf.channels[ch].sla_ms;
	return (int64_t)llround((double)base * e->ctiers[tier].factor);
}

int64_t engine_deadline(const struct engine *e, const char *queue, enum sb_channel channel,
			const char *customer_tier, int64_t arrived_ms, int32_t priority_s)
{
	int tier = setup_find_ctier(e, customer_tier);
	if (tier < 0)
		tier = e->n_ctiers - 1;
	return arrived_ms + contact_threshold(e, setup_find_queue(e, queue), channel, tier) -
	       (int64_t)priority_s * 1000;
}

const char *engine_default_queue(const struct engine *e, enum sb_channel channel)
{
	for (size_t i = 0; i < e->n_queues; i++)
		if (e->queues[i]->channel == channel)
			return e->queues[i]->name;
	return NULL;
}

int engine_check_submit(const struct engine *e, const struct engine_submit *in,
			const char **why)
{
	const struct equeue *q = in->queue ? setup_find_queue(e, in->queue) : NULL;

	if (q == NULL) {
		*why = "unknown queue";
		return SB_ERR_INVALID_ARGUMENT;
	}
	if (q->channel != in->channel) {
		*why = "queue does not take this channel";
		return SB_ERR_INVALID_ARGUMENT;
	}
	if (setup_find_ctier(e, in->customer_tier) < 0) {
		*why = "unknown customer tier";
		return SB_ERR_INVALID_ARGUMENT;
	}
	for (size_t i = 0; i < in->n_skills; i++)
		if (in->skills[i].min_level < 1 || in->skills[i].min_level > 5 ||
		    in->skills[i].skill == NULL || in->skills[i].skill[0] == '\0') {
			*why = "required skill needs a name and a min_level 1..5";
			return SB_ERR_INVALID_ARGUMENT;
		}
	if (in->preferred_agent != NULL && in->preferred_agent[0] != '\0' &&
	    setup_find_agent(e, in->preferred_agent) == NULL) {
		*why = "preferred agent is not in the roster";
		return SB_ERR_INVALID_ARGUMENT;
	}
	return 0;
}

/* Sets the timers that belong to a contact's stay in its queue. */
static void contact_arm_queue_timers(struct engine *e, struct econtact *c)
{
	timers_due(e, c, DUE_MAXWAIT,
		   c->queue->max_wait_ms > 0 ? c->entered_ms + c->queue->max_wait_ms : INT64_MAX);
}

/* A contact in no index yet; NULL with *rc when in is refused. */
static struct econtact *contact_new(struct engine *e, const struct engine_submit *in,
				    int *rc, const char **why)
{
	*rc = SB_ERR_INVALID_ARGUMENT;
	if (engine_check_submit(e, in, why) != 0)
		return NULL;
	if (strmap_get(&e->contacts, in->id) != NULL) {
		*rc = SB_ERR_CONFLICT;
		*why = "a contact with this id exists";
		return NULL;
	}
	/* Its three strings, the contact and its skill requirements in one
	 * allocation, strings first: one malloc and one free instead of five. */
	const char *gw = in->gateway_id ? in->gateway_id : "";
	const char *ext = in->external_id ? in->external_id : "";
	size_t l_id = strlen(in->id) + 1, l_gw = strlen(gw) + 1, l_ext = strlen(ext) + 1;
	size_t align = _Alignof(struct econtact);
	size_t off = (l_id + l_gw + l_ext + align - 1) / align * align;
	uint8_t cls;
	char *base = contact_alloc(
		e, off + sizeof(struct econtact) + (in->n_skills + 1) * sizeof(struct req), &cls);
	struct econtact *c = (struct econtact *)(void *)(base + off);
	c->pool_class = cls;
	c->reqs = (struct req *)(void *)(c + 1);
	c->v.id = memcpy(base, in->id, l_id);
	c->v.gateway_id = memcpy(base + l_id, gw, l_gw);
	c->v.external_id = memcpy(base + l_id + l_gw, ext, l_ext);
	if (setup_reqs_fill(e, in->skills, in->n_skills, c->reqs, &c->n_reqs, why) != 0) {
		contact_release(e, base, cls);
		return NULL;
	}
	c->queue = setup_find_queue(e, in->queue);
	c->tier = setup_find_ctier(e, in->customer_tier);
	c->v.queue = c->queue->name;
	c->v.customer_tier = e->ctiers[c->tier].name;
	c->v.channel = in->channel;
	c->v.arrived_ms = in->arrived_ms;
	c->v.deadline_ms = in->deadline_ms;
	c->v.sla_ms = contact_threshold(e, c->queue, in->channel, c->tier);
	c->v.user = in->user;
	c->priority_s = in->priority_s;
	c->preferred = setup_find_agent(e, in->preferred_agent);
	c->preferred_until = in->arrived_ms + in->preferred_wait_ms;
	c->entered_ms = in->arrived_ms;
	c->order = ++e->next_order;
	c->heap_idx = c->arrival_idx = HEAP_NONE;
	c->run_pos = CQ_NONE;
	c->offer_timer.idx = c->timer.idx = HEAP_NONE;
	for (int i = 0; i < DUE_COUNT; i++)
		c->due[i] = INT64_MAX;
	strmap_put(&e->contacts, c->v.id, c);
	*rc = 0;
	return c;
}

int engine_submit(struct engine *e, const struct engine_submit *in, int64_t now,
		  uint32_t *position, int64_t *estimated_wait_ms)
{
	const char *why;
	int rc;
	struct econtact *c = contact_new(e, in, &rc, &why);

	if (c == NULL)
		return rc;
	uint32_t place = contact_queue_enter(e, c) + 1;
	if (position != NULL)
		*position = place;
	timers_due(e, c, DUE_BREACH, c->v.arrived_ms + c->v.sla_ms);
	contact_arm_queue_timers(e, c);
	contact_wait(e, c, now);
	dispatch_run(e, now);

	if (estimated_wait_ms != NULL) {
		double rate = stats_answer_rate(c->queue, now, e->conf.stats_window_ms);
		*estimated_wait_ms = 0;
		if (c->v.state == CONTACT_WAITING && rate > 0)
			*estimated_wait_ms = (int64_t)((double)place / rate);
	}
	return 0;
}

int engine_restore_contact(struct engine *e, const struct engine_restore *r, int64_t now,
			   const char **why)
{
	struct eagent *a = NULL;
	int rc;

	if (r->agent_id != NULL && (a = setup_find_agent(e, r->agent_id)) == NULL) {
		*why = "its agent is no longer in the roster";
		return SB_ERR_NOT_FOUND;
	}
	struct econtact *c = contact_new(e, r->submit, &rc, why);
	if (c == NULL)
		return rc;
	c->v.sla_breached = r->sla_breached;
	if (a != NULL) {
		/* Held, as before the restart: out of the queue, no timers. */
		c->agent = a;
		c->v.agent_id = a->v.id;
		c->v.state = CONTACT_ASSIGNED;
		c->v.assigned_ms = r->assigned_ms;
		/* Its class, as if it had waited: a transfer starts from it. */
		c->bucket = escalate_class(e, c, now);
		held_link(a, c);
		agent_state_load(e, a, c->v.channel, +1);
		return 0;
	}
	/* Placed by engine_restore_finish, in the order it had. */
	if (r->entered_ms > 0)
		c->entered_ms = r->entered_ms;
	if (r->offer_agent_id != NULL) {
		/* A live offer moving to this engine (a reload): held by its
		 * agent from now, its timer armed at placing. */
		struct eagent *oa = setup_find_agent(e, r->offer_agent_id);
		if (oa == NULL || r->offer_id == NULL ||
		    offer_table_get(&e->offers, offer_table_key(e, r->offer_id), r->offer_id) != NULL) {
			strmap_del(&e->contacts, c->v.id);
			c->v.user = NULL; /* still the caller's */
			contact_destroy(e, c);
			*why = "its offer's agent is not in the roster";
			return SB_ERR_NOT_FOUND;
		}
		c->agent = oa;
		c->v.agent_id = oa->v.id;
		c->v.state = CONTACT_OFFERED;
		snprintf(c->offer_id, sizeof c->offer_id, "%s", r->offer_id);
		c->v.offer_id = c->offer_id;
		c->v.offer_expires_ms = r->offer_expires_ms;
		offer_table_add(&e->offers, c, offer_table_key(e, c->offer_id));
		held_link(oa, c);
		agent_state_load(e, oa, c->v.channel, +1);
	}
	c->restoring = true;
	if (e->n_restoring == e->cap_restoring) {
		e->cap_restoring = e->cap_restoring ? e->cap_restoring * 2 : 64;
		e->restoring = xreallocarray(e->restoring, e->cap_restoring, sizeof *e->restoring);
	}
	e->restoring[e->n_restoring++] = c;
	return 0;
}

/* Contact ids are "c-<daemon start, base 36>-<n>": by start, then by n,
 * is the order they were submitted in. Other shapes compare as strings. */
static int contact_id_order(const char *x, const char *y)
{
	const char *dx = strrchr(x, '-'), *dy = strrchr(y, '-');

	if (dx == NULL || dy == NULL || dx - x != dy - y || strncmp(x, y, (size_t)(dx - x)) != 0)
		return strcmp(x, y);
	size_t lx = strlen(dx), ly = strlen(dy);
	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(dx, dy);
}

static int contact_restore_cmp(const void *a, const void *b)
{
	const struct econtact *x = *(struct econtact *const *)a, *y = *(struct econtact *const *)b;

	if (x->v.deadline_ms != y->v.deadline_ms)
		return x->v.deadline_ms < y->v.deadline_ms ? -1 : 1;
	if (x->v.arrived_ms != y->v.arrived_ms)
		return x->v.arrived_ms < y->v.arrived_ms ? -1 : 1;
	return contact_id_order(x->v.id, y->v.id);
}

void engine_restore_finish(struct engine *e, int64_t now)
{
	/* Ties of deadline keep their submission order: same places as before. */
	if (e->n_restoring > 1)
		qsort(e->restoring, e->n_restoring, sizeof *e->restoring, contact_restore_cmp);
	for (size_t i = 0; i < e->n_restoring; i++) {
		struct econtact *c = e->restoring[i];
		c->restoring = false;
		c->order = ++e->next_order;
		contact_queue_enter(e, c);
		/* Steps count from when it entered this queue, so an escalation
		 * due during the outage applies at once. */
		if (!c->v.sla_breached)
			timers_due(e, c, DUE_BREACH, c->v.arrived_ms + c->v.sla_ms);
		contact_arm_queue_timers(e, c);
		if (c->v.state == CONTACT_OFFERED) {
			c->bucket = escalate_class(e, c, now);
			timers_arm(e, &c->offer_timer, TIMER_OFFER, c, c->v.offer_expires_ms);
		} else {
			contact_wait(e, c, now);
		}
	}
	free(e->restoring);
	e->restoring = NULL;
	e->n_restoring = e->cap_restoring = 0;
	dispatch_run(e, now);
}

int engine_restore_agent(struct engine *e, const char *agent_id, enum engine_agent_state state,
			 const char *reason, int64_t since_ms, int64_t now)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	if (state == AGENT_OFFLINE)
		return 0;
	/* Present in its last state, but away until its client is back. */
	a->v.detached = true;
	engine_agent_login(e, agent_id, now);
	a->v.state = state;
	a->v.state_since_ms = since_ms;
	free(a->reason);
	a->reason = xstrdup(reason ? reason : "");
	a->v.reason = a->reason;
	a->idle_since = now;
	bucket_agent_refresh(e, a);
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
		offer_end(e, c, OFFER_END_CANCELLED, now);
	}
	int64_t waited = now - c->v.arrived_ms;
	stats_record(c->queue, STAT_ABANDONED, now, waited, waited <= c->v.sla_ms,
		     e->conf.stats_window_ms);
	contact_unwait(e, c);
	c->v.state = CONTACT_CANCELLED;
	e->sink.cancelled(e->ctx, &c->v, reason, rescinded_agent,
			  rescinded_agent ? rescinded_offer : NULL, now);
	contact_retire(e, c);
	dispatch_run(e, now);
	return 0;
}

/* Moves a waiting (or offered) contact to another queue: it keeps its
 * deadline and SLA threshold, its steps start again there. */
static void contact_move(struct engine *e, struct econtact *c, struct equeue *to, int64_t now)
{
	bool waiting = c->v.state == CONTACT_WAITING;

	if (waiting)
		contact_unwait(e, c);
	contact_queue_leave(e, c);
	c->queue = to;
	c->v.queue = to->name;
	c->entered_ms = now;
	contact_queue_enter(e, c);
	contact_arm_queue_timers(e, c);
	if (waiting)
		contact_wait(e, c, now);
	else
		c->bucket = escalate_class(e, c, now);
}

static void contact_overflow(struct engine *e, struct econtact *c, struct equeue *to, int64_t now)
{
	stats_record(c->queue, STAT_OVERFLOWED, now, 0, false, e->conf.stats_window_ms);
	contact_move(e, c, to, now);
	e->sink.event(e->ctx, &c->v, EVENT_OVERFLOWED, to->name, now);
}

static void contact_expire(struct engine *e, struct econtact *c, const char *reason, int64_t now)
{
	stats_record(c->queue, STAT_EXPIRED, now, 0, false, e->conf.stats_window_ms);
	contact_unwait(e, c);
	c->v.state = CONTACT_EXPIRED;
	e->sink.expired(e->ctx, &c->v, reason, now);
	contact_retire(e, c);
}

/* ---- agents ------------------------------------------------------------------ */

/* Ends every live offer a holds (it went away or stopped being available). */
static void offer_rescind(struct engine *e, struct eagent *a, enum engine_offer_end why,
			  int64_t now)
{
	struct econtact *c = a->held, *next;

	for (; c != NULL; c = next) {
		next = c->held_next;
		if (c->v.state == CONTACT_OFFERED)
			offer_end(e, c, why, now);
	}
}

static void agent_state_set(struct engine *e, struct eagent *a, enum engine_agent_state state,
			    const char *reason, int64_t now)
{
	bool changed = a->v.state != state || strcmp(a->v.reason, reason) != 0;

	if (state == AGENT_AVAILABLE && a->v.state != AGENT_AVAILABLE) {
		a->idle_since = now;
		a->no_answer = 0;
	}
	if (a->v.state != state)
		a->v.state_since_ms = now;
	a->v.state = state;
	free(a->reason);
	a->reason = xstrdup(reason);
	a->v.reason = a->reason;
	bucket_agent_refresh(e, a);
	if (state != AGENT_AVAILABLE)
		offer_rescind(e, a,
			      a->v.logged_in ? OFFER_END_AGENT_AWAY : OFFER_END_AGENT_GONE,
			      now);
	if (changed)
		e->sink.agent_state(e->ctx, &a->v, now);
	dispatch_add_agent(e, a);
}

/* Contacts waiting for a as their preferred agent route normally once it is
 * gone. */
static void agent_state_release_preferred(struct engine *e, struct eagent *a, int64_t now)
{
	for (struct link *l = a->links; l != NULL; l = l->next_in_agent) {
		struct bucket *b = l->bucket;
		if (b->preferred != a)
			continue;
		while (cq_count(&b->contacts) > 0) {
			struct econtact *c = cq_top(&b->contacts);
			contact_unwait(e, c);
			c->preferred = NULL;
			contact_wait(e, c, now);
		}
	}
}

int engine_agent_login(struct engine *e, const char *agent_id, int64_t now)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	if (!a->v.logged_in) {
		a->v.logged_in = true;
		a->v.handled = 0;
		a->v.state_since_ms = now;
		bucket_agent_presence(e, a, true, now);
		bucket_agent_refresh(e, a);
	}
	return 0;
}

int engine_agent_detach(struct engine *e, const char *agent_id, int64_t now)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	if (!a->v.logged_in || a->v.detached)
		return 0;
	a->v.detached = true;
	bucket_agent_refresh(e, a);
	return 0;
}

int engine_agent_attach(struct engine *e, const char *agent_id, int64_t now)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	if (!a->v.logged_in)
		return engine_agent_login(e, agent_id, now);
	if (a->v.detached) {
		a->v.detached = false;
		bucket_agent_refresh(e, a);
		dispatch_add_agent(e, a);
		dispatch_run(e, now);
	}
	return 0;
}

int engine_agent_logout(struct engine *e, const char *agent_id, int64_t now)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	a->v.detached = false;
	if (a->v.logged_in) {
		a->v.logged_in = false;
		bucket_agent_presence(e, a, false, now);
		agent_state_release_preferred(e, a, now);
	}
	agent_state_set(e, a, AGENT_OFFLINE, "logged-out", now);
	dispatch_run(e, now);
	return 0;
}

int engine_agent_set_state(struct engine *e, const char *agent_id, enum engine_agent_state state,
			   const char *reason, int64_t now, const char **why)
{
	struct eagent *a = setup_find_agent(e, agent_id);

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
	agent_state_set(e, a, state, reason ? reason : "", now);
	dispatch_run(e, now);
	return 0;
}

/* Checks that c, found by the caller (NULL: absent), belongs to a (NULL:
 * not in the roster); *why explains a refusal in the caller's words. */
static int held_owned(struct eagent *a, struct econtact *c, const char *missing,
		      const char *other, struct eagent **ap, struct econtact **cp, const char **why)
{
	*ap = a;
	*cp = c;
	if (a == NULL) {
		*why = "agent not in the roster";
		return SB_ERR_NOT_FOUND;
	}
	if (c == NULL) {
		*why = missing;
		return SB_ERR_NOT_FOUND;
	}
	if (c->agent != a) {
		*why = other;
		return SB_ERR_FORBIDDEN;
	}
	return 0;
}

/* The agent's own contacts are few and are what it acts on: looking there
 * first finds the contact without a probe of the (large) engine-wide map.
 * A contact a holds under this offer id is the one the offer table has:
 * held contacts' live or accepted offers stay in it until they finish. */
static struct econtact *held_find_offer(const struct eagent *a, const char *offer_id)
{
	for (struct econtact *c = a ? a->held : NULL; c != NULL; c = c->held_next)
		if (c->offer_id[0] != '\0' && strcmp(c->offer_id, offer_id) == 0)
			return c;
	return NULL;
}

static struct econtact *held_find_contact(const struct eagent *a, const char *contact_id)
{
	for (struct econtact *c = a ? a->held : NULL; c != NULL; c = c->held_next)
		if (strcmp(c->v.id, contact_id) == 0)
			return c;
	return NULL;
}

/* Finds the offer an agent acts on. */
static int held_offer(const struct engine *e, const char *agent_id, const char *offer_id,
		      struct eagent **ap, struct econtact **cp, const char **why)
{
	struct eagent *a = setup_find_agent(e, agent_id);
	struct econtact *c = held_find_offer(a, offer_id);

	if (c == NULL)
		c = offer_table_get(&e->offers, offer_table_key(e, offer_id), offer_id);
	return held_owned(a, c, "no such offer (expired, rescinded or never made)",
			  "offer was made to another agent", ap, cp, why);
}

int engine_accept(struct engine *e, const char *agent_id, const char *offer_id, int64_t now,
		  const char **why, const struct engine_contact_view **out)
{
	struct eagent *a;
	struct econtact *c;
	int rc = held_offer(e, agent_id, offer_id, &a, &c, why);

	if (rc != 0)
		return rc;
	*out = &c->v;
	/* A retried accept (the first answer was lost) confirms again. */
	if (c->v.state == CONTACT_ASSIGNED)
		return 0;
	accept_assign(e, c, now);
	dispatch_run(e, now);
	return 0;
}

int engine_reject(struct engine *e, const char *agent_id, const char *offer_id,
		  const char *reason, int64_t now, const char **why)
{
	struct eagent *a;
	struct econtact *c;
	int rc = held_offer(e, agent_id, offer_id, &a, &c, why);

	if (rc != 0)
		return rc;
	if (c->v.state != CONTACT_OFFERED) {
		*why = "offer was already accepted";
		return SB_ERR_CONFLICT;
	}
	offer_end(e, c, OFFER_END_REJECTED, now);
	dispatch_run(e, now);
	return 0;
}

/* Finds a contact an agent holds as an assignment. */
static int held_assignment(const struct engine *e, const char *agent_id, const char *contact_id,
			   struct eagent **ap, struct econtact **cp, const char **why)
{
	struct eagent *a = setup_find_agent(e, agent_id);
	struct econtact *c = held_find_contact(a, contact_id);

	if (c == NULL)
		c = strmap_get(&e->contacts, contact_id);
	int rc = held_owned(a, c, "no such contact (finished, or never submitted)",
			    "contact is not held by this agent", ap, cp, why);
	if (rc == 0 && (*cp)->v.state != CONTACT_ASSIGNED) {
		*why = "contact is offered, not yet accepted";
		return SB_ERR_CONFLICT;
	}
	return rc;
}

/* The slot stays taken (the load is the caller's) until `until` or Ready. */
static void wrapup_begin(struct engine *e, struct eagent *a, enum sb_channel ch,
			 int64_t until)
{
	struct ewrapup *w = xcalloc(1, sizeof *w);

	w->agent = a;
	w->channel = ch;
	w->timer.idx = HEAP_NONE;
	w->next = a->wrapups;
	a->wrapups = w;
	timers_arm(e, &w->timer, TIMER_WRAPUP, w, until);
}

int engine_complete(struct engine *e, const char *agent_id, const char *contact_id,
		    const char *disposition, int64_t now, const char **why)
{
	struct eagent *a;
	struct econtact *c;
	int rc = held_assignment(e, agent_id, contact_id, &a, &c, why);

	if (rc != 0)
		return rc;
	contact_prefetch(c); /* retiring it reads most of its lines */
	/* and writes a slot of each map: their misses overlap this way, where
	 * each would wait for the one before when retiring reached it. */
	strmap_prefetch(&e->contacts, c->v.id);
	offer_table_prefetch(&e->offers, c);
	held_unlink(a, c);
	int64_t wrapup = e->conf.channels[c->v.channel].wrapup_ms;
	a->v.handled++;
	if (wrapup > 0) {
		wrapup_begin(e, a, c->v.channel, now + wrapup);
		bucket_agent_refresh(e, a); /* handled count is a strategy key */
	} else {
		/* Its links are re-filed by the dispatch below, after it has
		 * most likely taken its next contact: filing it as ready in
		 * every class only to take it out again was a third of the
		 * decision. Nothing reads the ready heaps before that: the
		 * work lists hold only a. */
		a->v.load[c->v.channel]--;
		a->links_stale = true;
	}
	dispatch_add_agent(e, a);
	stats_record(c->queue, STAT_COMPLETED, now, now - c->v.assigned_ms, false,
		     e->conf.stats_window_ms);
	c->v.state = CONTACT_COMPLETED;
	e->sink.completed(e->ctx, &c->v, disposition, now);
	contact_retire(e, c);
	dispatch_run(e, now);
	return 0;
}

void engine_agent_each_wrapup(const struct engine *e, const char *agent_id,
			      void (*fn)(void *arg, enum sb_channel ch, int64_t until), void *arg)
{
	const struct eagent *a = setup_find_agent(e, agent_id);

	for (const struct ewrapup *w = a ? a->wrapups : NULL; w != NULL; w = w->next)
		fn(arg, w->channel, w->timer.when);
}

int engine_restore_wrapup(struct engine *e, const char *agent_id, enum sb_channel ch,
			  int64_t until)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	wrapup_begin(e, a, ch, until);
	agent_state_load(e, a, ch, +1);
	return 0;
}

static void wrapup_end(struct engine *e, struct ewrapup *w)
{
	struct eagent *a = w->agent;
	struct ewrapup **pp = &a->wrapups;

	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
	timers_cancel(e, &w->timer);
	agent_state_load(e, a, w->channel, -1);
	dispatch_add_agent(e, a);
	free(w);
}

int engine_ready(struct engine *e, const char *agent_id, int64_t now)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	while (a->wrapups != NULL)
		wrapup_end(e, a->wrapups);
	dispatch_run(e, now);
	return 0;
}

int engine_transfer(struct engine *e, const char *agent_id, const char *contact_id,
		    const char *queue, int64_t now, const char **why)
{
	struct eagent *a;
	struct econtact *c;
	int rc = held_assignment(e, agent_id, contact_id, &a, &c, why);

	if (rc != 0)
		return rc;
	struct equeue *to = setup_find_queue(e, queue);
	if (to == NULL || to->channel != c->v.channel) {
		*why = "unknown queue, or a queue of another channel";
		return SB_ERR_INVALID_ARGUMENT;
	}
	held_unlink(a, c);
	c->agent = NULL;
	c->v.agent_id = NULL;
	agent_state_load(e, a, c->v.channel, -1);
	dispatch_add_agent(e, a);
	/* It re-enters as a new arrival would, ahead by the transfer boost. */
	c->queue = to;
	c->v.queue = to->name;
	c->entered_ms = now;
	c->v.sla_ms = contact_threshold(e, to, c->v.channel, c->tier);
	c->v.deadline_ms = now + c->v.sla_ms - (int64_t)c->priority_s * 1000 -
			   e->conf.transfer_boost_ms;
	c->v.assigned_ms = 0;
	/* Its SLA in the new queue counts from the transfer. */
	c->v.sla_breached = false;
	timers_due(e, c, DUE_BREACH, now + c->v.sla_ms);
	contact_queue_enter(e, c);
	contact_arm_queue_timers(e, c);
	contact_wait(e, c, now);
	e->sink.event(e->ctx, &c->v, EVENT_TRANSFERRED, to->name, now);
	dispatch_run(e, now);
	return 0;
}

/* ---- timers ------------------------------------------------------------------- */

static void offer_timeout_fire(struct engine *e, struct econtact *c, int64_t now)
{
	struct eagent *a = c->agent;

	offer_end(e, c, OFFER_END_TIMEOUT, now);
	/* While paused the agent's answer may have been refused, not missed. */
	if (!e->paused && e->conf.max_no_answer > 0 && ++a->no_answer >= e->conf.max_no_answer &&
	    a->v.state == AGENT_AVAILABLE)
		agent_state_set(e, a, AGENT_BREAK, "no-answer", now);
}

/* An escalation step, a tier widening or a preferred wait came due. */
static void escalate_reclass(struct engine *e, struct econtact *c, int64_t now)
{
	struct equeue *q = c->queue;
	int old = c->v.step;
	int k = escalate_step_at(q, now - c->entered_ms);

	for (int s = old; s < k; s++)
		if (q->steps[s].overflow != NULL) {
			contact_overflow(e, c, q->steps[s].overflow, now);
			return;
		}
	if (c->v.state != CONTACT_WAITING) {
		/* Offered: the new class applies if the offer comes back. */
		c->bucket = escalate_class(e, c, now);
		return;
	}
	contact_unwait(e, c);
	contact_wait(e, c, now);
}

/* Max wait or no agent came due. Returns true when the contact has
 * expired (and is freed). */
static bool max_wait_due(struct engine *e, struct econtact *c, enum due what, int64_t now)
{
	if (c->v.state == CONTACT_OFFERED) {
		/* Let the offer run its course (it is bounded by its timeout);
		 * decide when it ends. */
		timers_due(e, c, what, c->v.offer_expires_ms);
		return false;
	}
	if (c->queue->overflow != NULL) {
		contact_overflow(e, c, c->queue->overflow, now);
		return false;
	}
	contact_expire(e, c, what == DUE_MAXWAIT ? "max-wait" : "no-agent", now);
	return true;
}

/* A contact's timer: runs each moment that has come, in a fixed order
 * (the breach is reported before an expiry it leads to), then re-arms for
 * the next. Expiry ends the contact: nothing after it runs. */
static void timers_contact(struct engine *e, struct econtact *c, int64_t now)
{
	if (c->due[DUE_BREACH] <= now) {
		c->due[DUE_BREACH] = INT64_MAX;
		c->v.sla_breached = true;
		e->sink.event(e->ctx, &c->v, EVENT_SLA_BREACHED, "", now);
	}
	if (c->due[DUE_RECLASS] <= now) {
		c->due[DUE_RECLASS] = INT64_MAX;
		escalate_reclass(e, c, now);
	}
	for (int what = DUE_MAXWAIT; what <= DUE_NOAGENT; what++)
		if (c->due[what] <= now) {
			c->due[what] = INT64_MAX;
			if (max_wait_due(e, c, (enum due)what, now))
				return;
		}
	timers_due(e, c, DUE_BREACH, c->due[DUE_BREACH]);
}

static void timers_fire(struct engine *e, struct etimer *t, int64_t now)
{
	switch (t->kind) {
	case TIMER_OFFER:
		offer_timeout_fire(e, t->obj, now);
		break;
	case TIMER_EXCLUDE: {
		struct eexclusion *x = t->obj;
		struct econtact *c = x->contact;
		struct eagent *a = x->agent;
		reject_exclusion_end(e, x);
		if (c->v.state == CONTACT_WAITING) {
			dispatch_add_contact(e, c);
			dispatch_add_agent(e, a);
		}
		break;
	}
	case TIMER_WRAPUP:
		wrapup_end(e, t->obj);
		break;
	case TIMER_CONTACT:
		timers_contact(e, t->obj, now);
		break;
	}
}

void engine_tick(struct engine *e, int64_t now)
{
	struct etimer *t;

	/* One timer at a time, each followed by its dispatch, so a contact a
	 * timer made routable is offered before a later timer looks at it. */
	while ((t = heap_top(&e->timers)) != NULL && t->when <= now) {
		heap_pop(&e->timers);
		timers_fire(e, t, now);
		dispatch_run(e, now);
	}
}

void engine_set_paused(struct engine *e, bool paused, int64_t now)
{
	if (e->paused == paused)
		return;
	e->paused = paused;
	if (paused)
		return;
	for (size_t i = 0; i < e->n_agents; i++)
		dispatch_add_agent(e, e->agents[i]);
	dispatch_run(e, now);
}

int64_t engine_next_wakeup(const struct engine *e)
{
	const struct etimer *t = heap_top(&e->timers);
	return t ? t->when : INT64_MAX;
}

/* ---- lookups ------------------------------------------------------------------ */

int64_t engine_contact_entered_ms(const struct engine *e, const char *id)
{
	const struct econtact *c = strmap_get(&e->contacts, id);
	return c ? c->entered_ms : 0;
}

const struct engine_contact_view *engine_contact(const struct engine *e, const char *id)
{
	struct econtact *c = strmap_get(&e->contacts, id);
	return c ? &c->v : NULL;
}

const struct engine_agent_view *engine_agent(const struct engine *e, const char *id)
{
	struct eagent *a = setup_find_agent(e, id);
	return a ? &a->v : NULL;
}

void engine_agent_each_contact(const struct engine *e, const char *agent_id,
			       void (*fn)(void *arg, const struct engine_contact_view *c), void *arg)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	for (struct econtact *c = a ? a->held : NULL; c != NULL; c = c->held_next)
		fn(arg, &c->v);
}

void engine_each_contact(const struct engine *e,
			 void (*fn)(void *arg, const struct engine_contact_view *c), void *arg)
{
	const char *k;
	void *v;

	for (size_t it = 0; strmap_next(&e->contacts, &it, &k, &v);)
		fn(arg, &((const struct econtact *)v)->v);
}

void engine_each_agent(const struct engine *e,
		       void (*fn)(void *arg, const struct engine_agent_view *a), void *arg)
{
	for (size_t i = 0; i < e->n_agents; i++)
		fn(arg, &e->agents[i]->v);
}

size_t engine_waiting_count(const struct engine *e)
{
	return e->waiting;
}

uint32_t engine_queue_waiting(const struct engine *e, const char *queue)
{
	const struct equeue *q = setup_find_queue(e, queue);
	return q ? (uint32_t)ostree_count(&q->order) : 0;
}

uint32_t engine_contact_position(const struct engine *e, const char *id)
{
	const struct econtact *c = strmap_get(&e->contacts, id);
	if (c == NULL || !c->in_queue)
		return 0;
	return ostree_rank(&c->queue->order, &c->onode) + 1;
}

size_t engine_queue_count(const struct engine *e)
{
	return e->n_queues;
}

const char *engine_queue_name(const struct engine *e, size_t i)
{
	return i < e->n_queues ? e->queues[i]->name : NULL;
}

int engine_queue_stats(const struct engine *e, const char *queue, int64_t now,
		       struct engine_queue_stats *out)
{
	const struct equeue *q = setup_find_queue(e, queue);

	memset(out, 0, sizeof *out);
	if (q == NULL)
		return SB_ERR_NOT_FOUND;
	out->queue = q->name;
	out->channel = q->channel;
	out->target_pct = q->target_pct;
	out->sla_ms = q->sla_ms ? q->sla_ms : e->conf.channels[q->channel].sla_ms;
	out->waiting = ostree_count(&q->order);
	const struct econtact *oldest = heap_top(&q->by_arrival);
	out->longest_wait_ms = oldest ? now - oldest->v.arrived_ms : 0;
	stats_period_of(q, now, e->conf.stats_window_ms, true, &out->total);
	stats_period_of(q, now, e->conf.stats_window_ms, false, &out->window);
	return 0;
}

/* ---- invariants ---------------------------------------------------------------- */

static const char *invariants_contact(const struct engine *e, const struct econtact *c,
				      char *why, size_t len)
{
	bool waiting = c->v.state == CONTACT_WAITING;
	bool offered = c->v.state == CONTACT_OFFERED;

	if (waiting != cq_contains(&c->bucket->contacts, c))
		snprintf(why, len, "contact %s: %s but %s its class", c->v.id,
			 engine_contact_state_name(c->v.state), waiting ? "not in" : "in");
	else if ((waiting || offered) != c->in_queue)
		snprintf(why, len, "contact %s: queue membership broken", c->v.id);
	else if (offered != heap_contains(&e->timers, &c->offer_timer))
		snprintf(why, len, "contact %s: offer timer broken", c->v.id);
	else if ((c->agent != NULL) != (offered || c->v.state == CONTACT_ASSIGNED))
		snprintf(why, len, "contact %s: agent link broken", c->v.id);
	else
		return NULL;
	return why;
}

const char *engine_check_invariants(const struct engine *e)
{
	static char why[256];
	size_t in_buckets = 0;
	const char *k;
	void *v;

	for (size_t it = 0; strmap_next(&e->buckets, &it, &k, &v);) {
		const struct bucket *b = v;
		uint32_t logged_in = 0;
		in_buckets += cq_count(&b->contacts);
		for (const struct link *l = b->links; l != NULL; l = l->next_in_bucket) {
			logged_in += l->agent->v.logged_in;
			if (heap_contains(&b->ready, l) != bucket_link_should_be_ready(e, l)) {
				snprintf(why, sizeof why, "agent %s: readiness for a class is stale",
					 l->agent->v.id);
				return why;
			}
		}
		if (logged_in != b->logged_in)
			return "a class's logged-in agent count is wrong";
	}
	if (in_buckets != e->waiting)
		return "waiting count differs from the classes' contents";
	for (size_t it = 0; strmap_next(&e->contacts, &it, &k, &v);)
		if (!((const struct econtact *)v)->restoring &&
		    invariants_contact(e, v, why, sizeof why) != NULL)
			return why;
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
		size_t n_links = 0, n_ready = 0;
		for (const struct link *l = a->links; l != NULL; l = l->next_in_agent) {
			if (n_links >= a->n_linkv || a->linkv[n_links].link == NULL)
				return "an agent's link array differs from its links";
			n_ready += heap_contains(&l->bucket->ready, l);
			n_links++;
		}
		if (n_links != a->n_linkv || n_ready != a->n_ready || a->links_stale) {
			snprintf(why, sizeof why, "agent %s: link array or ready count is stale",
				 a->v.id);
			return why;
		}
		for (int ch = 0; ch < SB_CH_COUNT; ch++)
			if (used[ch] != a->v.load[ch]) {
				snprintf(why, sizeof why, "agent %s: %s load %d, holds %d", a->v.id,
					 channel_name(ch), a->v.load[ch], used[ch]);
				return why;
			}
	}
	return NULL;
}

static void invariants_or_die(const struct engine *e, const char *where)
{
	const char *why = engine_check_invariants(e);
	if (why != NULL) {
		fprintf(stderr, "engine invariant broken after %s: %s\n", where, why);
		abort();
	}
}

/* ---- names ----------------------------------------------------------------------- */

const char *engine_contact_state_name(enum engine_contact_state s)
{
	static const char *const names[] = { "waiting",	  "offered",   "assigned",
					     "completed", "cancelled", "expired" };
	return (unsigned)s < sizeof names / sizeof *names ? names[s] : "?";
}

const char *engine_agent_state_name(enum engine_agent_state s)
{
	static const char *const names[] = { "offline", "available", "break" };
	return (unsigned)s < sizeof names / sizeof *names ? names[s] : "?";
}

const char *engine_offer_end_name(enum engine_offer_end why)
{
	static const char *const names[] = { "timeout", "rejected", "cancelled", "session-closed",
					     "agent-unavailable" };
	return (unsigned)why < sizeof names / sizeof *names ? names[why] : "?";
}

const char *engine_event_name(enum engine_event ev)
{
	static const char *const names[] = { "sla_breached", "overflowed", "transferred" };
	return (unsigned)ev < sizeof names / sizeof *names ? names[ev] : "?";
}
