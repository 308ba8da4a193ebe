/* Transfer: an agent sends an assigned contact to another queue of the same
 * channel. The agent's slot frees at once (no wrap-up); the contact
 * re-enters as a new arrival would, its deadline brought forward by
 * transfer_boost_ms, its SLA counted again from the transfer. */
#include "engine/internal.h"
#include "util/err.h"

/* engine_transfer's work, done under the re-entry guard. */
static int transfer_contact(struct engine *e, const char *agent_id, const char *contact_id,
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
	/* Its accepted offer goes with the assignment. Left listed, the next
	 * offer would list c a second time, and a late retry of this accept
	 * would find c through the stale slot after c is freed. */
	offer_table_remove(&e->offers, c);
	c->offer_id[0] = '\0';
	agent_state_load(e, a, c->v.channel, -1, now);
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

/* An agent hands a contact on to another queue. */
int engine_transfer(struct engine *e, const char *agent_id, const char *contact_id,
		    const char *queue, int64_t now, const char **why)
{
	reentry_enter(e, __func__);
	int rc = transfer_contact(e, agent_id, contact_id, queue, now, why);
	reentry_leave(e);
	return rc;
}
