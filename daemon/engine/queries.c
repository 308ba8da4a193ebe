/* Read-only questions: lookups, iteration, counts, a contact's place, a
 * queue's figures, and the engine's enums as text. None changes the engine:
 * a sink callback may call them (engine.h). */
#include <string.h>

#include "engine/estimate.h"
#include "engine/internal.h"
#include "util/err.h"

/* When a contact entered its queue: a reload carries it over (steps count from it). */
int64_t engine_contact_entered_ms(const struct engine *e, const char *id)
{
	const struct econtact *c = strmap_get(&e->contacts, id);
	return c ? c->entered_ms : 0;
}

/* A contact's view by id; NULL once it has finished. */
const struct engine_contact_view *engine_contact(const struct engine *e, const char *id)
{
	struct econtact *c = strmap_get(&e->contacts, id);
	return c ? &c->v : NULL;
}

/* An agent's view by id; NULL when it is not in the roster. */
const struct engine_agent_view *engine_agent(const struct engine *e, const char *id)
{
	struct eagent *a = setup_find_agent(e, id);
	return a ? &a->v : NULL;
}

/* What an agent holds: a resumed session is sent them again. */
void engine_agent_each_contact(const struct engine *e, const char *agent_id,
			       void (*fn)(void *arg, const struct engine_contact_view *c), void *arg)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	for (struct econtact *c = a ? a->held : NULL; c != NULL; c = c->held_next)
		fn(arg, &c->v);
}

/* Every open contact: reload, redelivery, the wallboard and the admin listing. */
void engine_each_contact(const struct engine *e,
			 void (*fn)(void *arg, const struct engine_contact_view *c), void *arg)
{
	const char *k;
	void *v;

	for (size_t it = 0; strmap_next(&e->contacts, &it, &k, &v);)
		fn(arg, &((const struct econtact *)v)->v);
}

/* Every agent of the roster, in roster order. */
void engine_each_agent(const struct engine *e,
		       void (*fn)(void *arg, const struct engine_agent_view *a), void *arg)
{
	for (size_t i = 0; i < e->n_agents; i++)
		fn(arg, &e->agents[i]->v);
}

/* Contacts waiting in a class (offered ones not counted), in O(1). */
size_t engine_waiting_count(const struct engine *e)
{
	return e->waiting;
}

/* A queue's waiting and offered contacts: the gateway's cap on submit. */
uint32_t engine_queue_waiting(const struct engine *e, const char *queue)
{
	const struct equeue *q = setup_find_queue(e, queue);
	return q ? (uint32_t)ostree_count(&q->order) : 0;
}

/* A contact's 1-based place by deadline in its queue, in O(log n). */
uint32_t engine_contact_position(const struct engine *e, const char *id)
{
	const struct econtact *c = strmap_get(&e->contacts, id);
	if (c == NULL || !c->in_queue)
		return 0;
	return ostree_rank(&c->queue->order, &c->onode) + 1;
}

/* What a fresh ContactAccepted would say now: the place and the estimate
 * of the submit's answer, for a contact that already waits. */
int engine_contact_wait(const struct engine *e, const char *id, int64_t now, uint32_t *position,
			int64_t *estimated_wait_ms)
{
	const struct econtact *c = strmap_get(&e->contacts, id);

	*position = 0;
	*estimated_wait_ms = 0;
	if (c == NULL)
		return SB_ERR_NOT_FOUND;
	if (!c->in_queue)
		return 0;
	*position = ostree_rank(&c->queue->order, &c->onode) + 1;
	*estimated_wait_ms = contact_estimate(e, c, now);
	return 0;
}

/* How many queues engine_queue_name numbers. */
/* The figures the estimate needs, as the engine holds them at now. Only a
 * contact that waits in a class has a wait ahead: offered, it rings. */
int64_t contact_estimate(const struct engine *e, const struct econtact *c, int64_t now)
{
	if (c->restoring)
		return ENGINE_WAIT_UNKNOWN; /* not placed yet: no class to ask */
	if (c->v.state != CONTACT_WAITING || !c->in_queue)
		return 0;
	struct estimate_in in = {
		.position = ostree_rank(&c->queue->order, &c->onode) + 1,
		.handle_ms = stats_handle_ms(c->queue, now, e->conf.stats_window_ms),
		.wrapup_ms = e->conf.channels[c->v.channel].wrapup_ms,
	};
	/* Its class now, then the classes its escalation will give it, as far
	 * as they exist (a class no contact has reached yet has no agents
	 * counted: the last known one stands in for the rest of the wait). */
	const struct bucket *b = c->bucket;
	int64_t start = now, next = c->due[DUE_RECLASS];
	for (;;) {
		in.phases[in.n_phases++] = (struct estimate_phase){
			.from_ms = start - now,
			.free_slots = (uint32_t)b->ready.n,
			.staffed_slots = b->staffed,
		};
		if (in.n_phases == ESTIMATE_MAX_PHASES || next == INT64_MAX || next <= start)
			break;
		int64_t after;
		b = escalate_class_at(e, c, next, &after);
		if (b == NULL)
			break;
		start = next;
		next = after;
	}
	return estimate_wait(&in);
}

/* A contact's estimated wait from now by id; 0 once it has finished. */
int64_t engine_contact_estimate(const struct engine *e, const char *id, int64_t now)
{
	const struct econtact *c = strmap_get(&e->contacts, id);
	return c ? contact_estimate(e, c, now) : 0;
}

size_t engine_queue_count(const struct engine *e)
{
	return e->n_queues;
}

/* The i-th queue, in configuration order. */
const char *engine_queue_name(const struct engine *e, size_t i)
{
	return i < e->n_queues ? e->queues[i]->name : NULL;
}

/* A queue's live figures: waiting, longest wait, SLA totals and window. */
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

/* A contact state as the admin API, the wire and the tests write it. */
const char *engine_contact_state_name(enum engine_contact_state s)
{
	static const char *const names[] = { "waiting",	  "offered",   "assigned",
					     "completed", "cancelled", "expired" };
	return (unsigned)s < sizeof names / sizeof *names ? names[s] : "?";
}

/* An agent state as logs, the admin API and the tests write it. */
const char *engine_agent_state_name(enum engine_agent_state s)
{
	static const char *const names[] = { "offline", "available", "break" };
	return (unsigned)s < sizeof names / sizeof *names ? names[s] : "?";
}

/* Why an offer ended, as rescinds, requeue events and logs say it. */
const char *engine_offer_end_name(enum engine_offer_end why)
{
	static const char *const names[] = { "timeout", "rejected", "cancelled", "session-closed",
					     "agent-unavailable", "admin" };
	return (unsigned)why < sizeof names / sizeof *names ? names[why] : "?";
}

/* A contact event as its gateway and the logs see it. */
const char *engine_event_name(enum engine_event ev)
{
	static const char *const names[] = { "sla_breached", "overflowed", "transferred" };
	return (unsigned)ev < sizeof names / sizeof *names ? names[ev] : "?";
}
