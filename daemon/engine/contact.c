/* A contact's life: made by a submit or a restore, placed in its queue and
 * its class, moved to another queue (overflow), and retired when it is
 * cancelled, expires or completes. The deadline rule is here: arrival +
 * threshold - priority boost, threshold = (queue or channel SLA) x the
 * customer tier's factor. Contacts come from per-size free lists. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "util/err.h"
#include "util/xalloc.h"

/* A contact's SLA threshold: queue (or channel) SLA x customer tier factor. */
int64_t contact_threshold(const struct engine *e, const struct equeue *q,
			  enum sb_channel ch, int tier)
{
	int64_t base = q && q->sla_ms ? q->sla_ms : e->conf.channels[ch].sla_ms;
	return (int64_t)llround((double)base * e->ctiers[tier].factor);
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

/* Gives a contact's memory back to its free list, or to free(). */
static void contact_release(struct engine *e, void *p, uint8_t cls)
{
	if (cls == 0) {
		free(p);
		return;
	}
	memcpy(p, &e->contact_pool[cls], sizeof(void *));
	e->contact_pool[cls] = p;
}

/* Frees the memory the free lists keep (engine_free). */
void contact_pool_free(struct engine *e)
{
	for (size_t k = 0; k < CONTACT_POOL_CLASSES; k++)
		while (e->contact_pool[k] != NULL) {
			void *p = e->contact_pool[k];
			memcpy(&e->contact_pool[k], p, sizeof(void *));
			free(p);
		}
}

/* Frees a contact that is in no index any more, releasing its payload. */
void contact_destroy(struct engine *e, struct econtact *c)
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

/* Files c in its queue's order (by deadline, then submit order); returns
 * how many come before it. */
uint32_t contact_queue_enter(struct engine *e, struct econtact *c)
{
	c->onode.k1 = c->v.deadline_ms;
	c->onode.k2 = (int64_t)c->order;
	uint32_t rank = ostree_insert(&c->queue->order, &c->onode);
	heap_push(&c->queue->by_arrival, c);
	c->in_queue = true;
	return rank;
}

/* Makes c wait in its class; dispatch will look for an agent. */
void contact_wait(struct engine *e, struct econtact *c, int64_t now)
{
	c->v.state = CONTACT_WAITING;
	c->bucket = escalate_class(e, c, now);
	cq_push(&c->bucket->contacts, c);
	e->waiting++;
	if (c->bucket->logged_in == 0 && c->queue->max_wait_no_agent_ms > 0)
		timers_due(e, c, DUE_NOAGENT, now + c->queue->max_wait_no_agent_ms);
	dispatch_add_contact(e, c);
}

/* Removes a finished contact from every index and frees it. */
void contact_retire(struct engine *e, struct econtact *c)
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

/* The deadline rule, for the caller to persist before it submits. */
int64_t engine_deadline(const struct engine *e, const char *queue, enum sb_channel channel,
			const char *customer_tier, int64_t arrived_ms, int32_t priority_s)
{
	int tier = setup_find_ctier(e, customer_tier);
	if (tier < 0)
		tier = e->n_ctiers - 1;
	return arrived_ms + contact_threshold(e, setup_find_queue(e, queue), channel, tier) -
	       (int64_t)priority_s * 1000;
}

/* Where a submit that names no queue goes: its channel's first queue. */
const char *engine_default_queue(const struct engine *e, enum sb_channel channel)
{
	for (size_t i = 0; i < e->n_queues; i++)
		if (e->queues[i]->channel == channel)
			return e->queues[i]->name;
	return NULL;
}

/* Refuses a bad submit before it is persisted, saying why to the gateway. */
int engine_check_submit(const struct engine *e, const struct engine_submit *in, const char **why)
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
void contact_arm_queue_timers(struct engine *e, struct econtact *c)
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

/* engine_submit's work, done under the re-entry guard. */
static int contact_submit(struct engine *e, const struct engine_submit *in, int64_t now,
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

	if (estimated_wait_ms != NULL)
		*estimated_wait_ms = contact_estimate(e, c, now);
	return 0;
}

/* A new contact: into its queue and class, offered if an agent is ready. */
int engine_submit(struct engine *e, const struct engine_submit *in, int64_t now,
		  uint32_t *position, int64_t *estimated_wait_ms)
{
	reentry_enter(e, __func__);
	int rc = contact_submit(e, in, now, position, estimated_wait_ms);
	reentry_leave(e);
	return rc;
}

/* engine_restore_contact's work, done under the re-entry guard. */
static int contact_restore(struct engine *e, const struct engine_restore *r, int64_t now,
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
		agent_state_load(e, a, c->v.channel, +1, now);
		return 0;
	}
	/* Placed by engine_restore_finish, in the order it had. */
	if (r->entered_ms > 0)
		c->entered_ms = r->entered_ms;
	if (r->offer_agent_id != NULL) {
		/* A live offer moving to this engine (a reload): held by its
		 * agent from now, its timer armed at placing. */
		struct eagent *oa = setup_find_agent(e, r->offer_agent_id);
		uint64_t key = r->offer_id ? offer_table_key(e, r->offer_id) : 0;
		if (oa == NULL || r->offer_id == NULL ||
		    offer_table_get(&e->offers, key, r->offer_id) != NULL) {
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
		agent_state_load(e, oa, c->v.channel, +1, now);
	}
	c->restoring = true;
	if (e->n_restoring == e->cap_restoring) {
		e->cap_restoring = e->cap_restoring ? e->cap_restoring * 2 : 64;
		e->restoring = xreallocarray(e->restoring, e->cap_restoring, sizeof *e->restoring);
	}
	e->restoring[e->n_restoring++] = c;
	return 0;
}

/* Recovery and reload: a contact as Redis (or the old engine) holds it. */
int engine_restore_contact(struct engine *e, const struct engine_restore *r, int64_t now,
			   const char **why)
{
	reentry_enter(e, __func__);
	int rc = contact_restore(e, r, now, why);
	reentry_leave(e);
	return rc;
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

/* Restored contacts by deadline, then arrival, then submission order. */
static int contact_restore_cmp(const void *a, const void *b)
{
	const struct econtact *x = *(struct econtact *const *)a, *y = *(struct econtact *const *)b;

	if (x->v.deadline_ms != y->v.deadline_ms)
		return x->v.deadline_ms < y->v.deadline_ms ? -1 : 1;
	if (x->v.arrived_ms != y->v.arrived_ms)
		return x->v.arrived_ms < y->v.arrived_ms ? -1 : 1;
	return contact_id_order(x->v.id, y->v.id);
}

/* engine_restore_finish's work, done under the re-entry guard. */
static void contact_restore_finish(struct engine *e, int64_t now)
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

/* Places the restored contacts in the order they had, then routes. */
void engine_restore_finish(struct engine *e, int64_t now)
{
	reentry_enter(e, __func__);
	contact_restore_finish(e, now);
	reentry_leave(e);
}

/* engine_cancel's work, done under the re-entry guard. */
static int contact_cancel(struct engine *e, const char *contact_id, const char *gateway_id,
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

/* The gateway gave up: a live offer is rescinded, the contact retired. */
int engine_cancel(struct engine *e, const char *contact_id, const char *gateway_id,
		  const char *reason, int64_t now, const char **why)
{
	reentry_enter(e, __func__);
	int rc = contact_cancel(e, contact_id, gateway_id, reason, now, why);
	reentry_leave(e);
	return rc;
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

/* Overflow (a step's, or max wait's): moves c and tells its gateway. */
void contact_overflow(struct engine *e, struct econtact *c, struct equeue *to, int64_t now)
{
	stats_record(c->queue, STAT_OVERFLOWED, now, 0, false, e->conf.stats_window_ms);
	contact_move(e, c, to, now);
	e->sink.event(e->ctx, &c->v, EVENT_OVERFLOWED, to->name, now);
}

/* Max wait with no overflow queue: c leaves unserved. */
void contact_expire(struct engine *e, struct econtact *c, const char *reason, int64_t now)
{
	stats_record(c->queue, STAT_EXPIRED, now, 0, false, e->conf.stats_window_ms);
	contact_unwait(e, c);
	c->v.state = CONTACT_EXPIRED;
	e->sink.expired(e->ctx, &c->v, reason, now);
	contact_retire(e, c);
}
