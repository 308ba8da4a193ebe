/* Accepting an offer (and auto-accept): the contact is assigned to the
 * agent, leaves its queue, its timers and its reject delays, and counts as
 * answered for its queue's SLA. The agent's run of missed offers ends
 * (no_answer.c). */
#include "engine/internal.h"

/* Makes c assigned to the agent it is offered to. */
void accept_assign(struct engine *e, struct econtact *c, int64_t now)
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
	c->agent->no_answer = 0; /* its run of missed offers ends (no_answer.c) */
	stats_record(q, STAT_ANSWERED, now, waited, waited <= c->v.sla_ms, e->conf.stats_window_ms);
	e->sink.assigned(e->ctx, &c->v, now);
	/* Told which offer it was (0: auto-accepted); stale from here on, and
	 * a contact transferred and auto-accepted later must not look offered. */
	c->v.offer_expires_ms = 0;
}

/* engine_accept's work, done under the re-entry guard. */
static int accept_offer(struct engine *e, const char *agent_id, const char *offer_id, int64_t now,
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

/* The agent took the offer; a repeated accept confirms it again. */
int engine_accept(struct engine *e, const char *agent_id, const char *offer_id, int64_t now,
		  const char **why, const struct engine_contact_view **out)
{
	reentry_enter(e, __func__);
	int rc = accept_offer(e, agent_id, offer_id, now, why, out);
	reentry_leave(e);
	return rc;
}
