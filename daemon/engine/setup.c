/* Set-up: creating and freeing an engine; agent and customer tiers; queues
 * and the names they refer to; the roster (agents added, changed and
 * removed, also while routing). engine.h gives the order of the calls. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "util/err.h"
#include "util/xalloc.h"

/* Longest wait: by (arrival, submit order). */
static void setup_arrival_key(const void *item, int64_t *k1, int64_t *k2)
{
	const struct econtact *c = item;
	*k1 = c->v.arrived_ms;
	*k2 = (int64_t)c->order;
}

/* A skill's number, interning the name if create; -1 if unknown. */
static int setup_skill_id(struct engine *e, const char *name, bool create)
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

/* An agent tier's number (most senior first); -1 if unknown. */
static int setup_tier_find(const struct engine *e, const char *name)
{
	for (int i = 0; i < e->n_agent_tiers; i++)
		if (strcmp(e->agent_tiers[i], name) == 0)
			return i;
	return -1;
}

/* A customer tier's number (no name: the last, default one); -1 if unknown. */
int setup_find_ctier(const struct engine *e, const char *name)
{
	if (name == NULL || name[0] == '\0')
		return e->n_ctiers - 1;
	for (int i = 0; i < e->n_ctiers; i++)
		if (strcmp(e->ctiers[i].name, name) == 0)
			return i;
	return -1;
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

/* An empty engine; the set-up calls fill it. */
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
	timers_init(e);
	return e;
}

/* Frees an agent and its wrap-ups; cancelling their timers is the caller's. */
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

/* Frees it all; open contacts release their payloads through the sink. */
void engine_free(struct engine *e)
{
	const char *k;
	void *v;

	if (e == NULL)
		return;
	/* Busy for good: a contact_free callback must not call back in. */
	reentry_enter(e, __func__);
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

/* engine_agent_tier_add's work, done under the re-entry guard. */
static int setup_agent_tier_add(struct engine *e, const char *name, const char **why)
{
	if (e->n_agent_tiers >= ENGINE_MAX_TIERS || setup_tier_find(e, name) >= 0 ||
	    e->n_agents > 0) {
		*why = "agent tiers: too many, duplicate, or added after agents";
		return SB_ERR_INVALID_ARGUMENT;
	}
	e->agent_tiers[e->n_agent_tiers++] = xstrdup(name);
	return 0;
}

/* Adds the next agent tier, most senior first. */
int engine_agent_tier_add(struct engine *e, const char *name, const char **why)
{
	reentry_enter(e, __func__);
	int rc = setup_agent_tier_add(e, name, why);
	reentry_leave(e);
	return rc;
}

/* engine_customer_tier_add's work, done under the re-entry guard. */
static int setup_customer_tier_add(struct engine *e, const struct engine_customer_tier *t,
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

/* Adds the next customer tier, most important first. */
int engine_customer_tier_add(struct engine *e, const struct engine_customer_tier *t,
			     const char **why)
{
	reentry_enter(e, __func__);
	int rc = setup_customer_tier_add(e, t, why);
	reentry_leave(e);
	return rc;
}

/* Fills out[0, n) from in (out has room for n), interning skill names;
 * *why on a bad level. */
int setup_reqs_fill(struct engine *e, const struct engine_skill_req *in, size_t n,
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

/* engine_queue_add's work, done under the re-entry guard. */
static int setup_queue_add(struct engine *e, const struct engine_queue_def *d, const char **why)
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

/* Adds a queue; the queues it names are resolved by engine_queues_done. */
int engine_queue_add(struct engine *e, const struct engine_queue_def *d, const char **why)
{
	reentry_enter(e, __func__);
	int rc = setup_queue_add(e, d, why);
	reentry_leave(e);
	return rc;
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

/* engine_queues_done's work, done under the re-entry guard. */
static int setup_queues_done(struct engine *e, const char **why)
{
	if (e->n_agent_tiers == 0)
		setup_agent_tier_add(e, "regular", why);
	if (e->n_ctiers == 0) {
		struct engine_customer_tier std = { .name = "standard", .sla_factor = 1.0 };
		setup_customer_tier_add(e, &std, why);
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

/* Resolves queues' references to queues; adds default tiers if none given. */
int engine_queues_done(struct engine *e, const char **why)
{
	reentry_enter(e, __func__);
	int rc = setup_queues_done(e, why);
	reentry_leave(e);
	return rc;
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

/* engine_agent_add's work, done under the re-entry guard. */
static int setup_agent_add(struct engine *e, const struct engine_agent_def *d, void *user,
			   const char **why)
{
	if (!e->queues_done) {
		const char *ignored;
		if (setup_queues_done(e, &ignored) != 0) {
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

/* Adds an agent, logged out, linked to the classes it may serve. */
int engine_agent_add(struct engine *e, const struct engine_agent_def *d, void *user,
		     const char **why)
{
	reentry_enter(e, __func__);
	int rc = setup_agent_add(e, d, user, why);
	reentry_leave(e);
	return rc;
}

/* engine_agent_update's work, done under the re-entry guard. */
static int setup_agent_update(struct engine *e, const struct engine_agent_def *d, int64_t now,
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

/* Changes an agent's tier, skills, queues or capacity, also while it works. */
int engine_agent_update(struct engine *e, const struct engine_agent_def *d, int64_t now,
			const char **why)
{
	reentry_enter(e, __func__);
	int rc = setup_agent_update(e, d, now, why);
	reentry_leave(e);
	return rc;
}

/* engine_agent_remove's work, done under the re-entry guard. */
static int setup_agent_remove(struct engine *e, const char *id, int64_t now, const char **why)
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

/* Takes an agent that is logged out and holds nothing off the roster. */
int engine_agent_remove(struct engine *e, const char *id, int64_t now, const char **why)
{
	reentry_enter(e, __func__);
	int rc = setup_agent_remove(e, id, now, why);
	reentry_leave(e);
	return rc;
}
