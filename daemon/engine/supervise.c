/* A supervisor's hand on a contact an agent holds, for when the agent will
 * not deal with it (logged out for good, a restart nobody logged back in
 * after): requeue it for another agent, or close it with a disposition.
 * Nothing else ends an assignment but its agent, so without this a contact
 * could stay with a departed agent for ever. */
#include "engine/internal.h"
#include "util/err.h"

/* c, assigned to its agent, waits again. The agent's slot frees at once (no
 * wrap-up: it did not finish the contact). c keeps its deadline, so its
 * place ahead of later arrivals and its SLA clock; it re-enters its queue
 * as an arrival does, so escalation steps and max wait count from now (an
 * email held for hours must not expire the moment it is requeued). */
static void supervise_unassign(struct engine *e, struct econtact *c, int64_t now)
{
	struct eagent *a = c->agent;

	held_unlink(a, c);
	c->agent = NULL;
	c->v.agent_id = NULL;
	c->v.assigned_ms = 0;
	/* Its accepted offer goes with the assignment: a late retry of that
	 * accept must find nothing. */
	offer_table_remove(&e->offers, c);
	c->offer_id[0] = '\0';
	agent_state_load(e, a, c->v.channel, -1, now);
	dispatch_add_agent(e, a);
	c->entered_ms = now;
	contact_queue_enter(e, c);
	if (!c->v.sla_breached)
		timers_due(e, c, DUE_BREACH, c->v.arrived_ms + c->v.sla_ms);
	contact_arm_queue_timers(e, c);
	if (e->conf.reject_delay_ms > 0)
		reject_exclude(e, c, a, now);
	contact_wait(e, c, now);
	e->sink.unassigned(e->ctx, &c->v, a->v.id, now);
}

/* engine_requeue's work, done under the re-entry guard. */
static int supervise_requeue(struct engine *e, const char *contact_id, int64_t now,
			     const char **why)
{
	struct econtact *c = strmap_get(&e->contacts, contact_id);

	if (c == NULL) {
		*why = "no such contact (finished, or never submitted)";
		return SB_ERR_NOT_FOUND;
	}
	if (c->v.state == CONTACT_OFFERED)
		offer_end(e, c, OFFER_END_ADMIN, now);
	else if (c->v.state == CONTACT_ASSIGNED)
		supervise_unassign(e, c, now);
	else {
		*why = "contact is waiting, not with an agent";
		return SB_ERR_CONFLICT;
	}
	dispatch_run(e, now);
	return 0;
}

/* A supervisor takes a contact back from its agent. */
int engine_requeue(struct engine *e, const char *contact_id, int64_t now, const char **why)
{
	reentry_enter(e, __func__);
	int rc = supervise_requeue(e, contact_id, now, why);
	reentry_leave(e);
	return rc;
}

/* engine_close's work, done under the re-entry guard. */
static int supervise_close(struct engine *e, const char *contact_id, const char *disposition,
			   int64_t now, const char **why)
{
	struct econtact *c = strmap_get(&e->contacts, contact_id);

	if (c == NULL) {
		*why = "no such contact (finished, or never submitted)";
		return SB_ERR_NOT_FOUND;
	}
	if (c->v.state != CONTACT_ASSIGNED) {
		*why = c->v.state == CONTACT_OFFERED
			       ? "contact is offered, not assigned: requeue it instead"
			       : "contact is waiting, not with an agent (its gateway cancels it)";
		return SB_ERR_CONFLICT;
	}
	if (disposition == NULL || disposition[0] == '\0') {
		*why = "a disposition is required";
		return SB_ERR_INVALID_ARGUMENT;
	}
	struct eagent *a = c->agent;
	held_unlink(a, c);
	/* No wrap-up: the agent did not finish it. */
	agent_state_load(e, a, c->v.channel, -1, now);
	dispatch_add_agent(e, a);
	complete_finish(e, c, disposition, now);
	return 0;
}

/* A supervisor closes a contact an agent holds, with a disposition. */
int engine_close(struct engine *e, const char *contact_id, const char *disposition, int64_t now,
		 const char **why)
{
	reentry_enter(e, __func__);
	int rc = supervise_close(e, contact_id, disposition, now, why);
	reentry_leave(e);
	return rc;
}
