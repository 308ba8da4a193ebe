/* Completing an assigned contact: the handle time counts for its queue,
 * the contact is retired, and the agent's slot frees at once or after the
 * channel's wrap-up (wrapup.c). Most routing decisions start here, so the
 * path is tuned (see the comments). */
#include "engine/internal.h"

/* c's end once its agent's slot is dealt with: counted, told, freed, and
 * the freed slot offered its next contact. The agent's completion and a
 * supervisor's close both end here. */
void complete_finish(struct engine *e, struct econtact *c, const char *disposition, int64_t now)
{
	stats_record(c->queue, STAT_COMPLETED, now, now - c->v.assigned_ms, false,
		     e->conf.stats_window_ms);
	c->v.state = CONTACT_COMPLETED;
	e->sink.completed(e->ctx, &c->v, disposition, now);
	contact_retire(e, c);
	dispatch_run(e, now);
}

/* engine_complete's work, done under the re-entry guard. */
static int complete_contact(struct engine *e, const char *agent_id, const char *contact_id,
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
		agent_state_load_mark(a, c->v.channel, -1, now);
		a->links_stale = true;
	}
	dispatch_add_agent(e, a);
	complete_finish(e, c, disposition, now);
	return 0;
}

/* The agent finished a contact; the freed slot may take the next at once. */
int engine_complete(struct engine *e, const char *agent_id, const char *contact_id,
		    const char *disposition, int64_t now, const char **why)
{
	reentry_enter(e, __func__);
	int rc = complete_contact(e, agent_id, contact_id, disposition, now, why);
	reentry_leave(e);
	return rc;
}
