/* Dispatch: the work lists and the matching loop. An entry point that makes
 * a contact routable or lets an agent take more adds it to a work list and
 * ends with dispatch_run, which makes every offer that can be made now
 * (docs/engine.md, "Data structures"). Pausing holds offers back while the
 * daemon's store is unreachable. */
#include "engine/internal.h"

/* Makes every offer that can be made now. A contact that became routable
 * goes to the best ready agent of its class; an agent that can take more
 * gets the earliest-deadline contact over the classes it serves. Offers
 * only consume, so one pass over the work list finds them all. */
void dispatch_run(struct engine *e, int64_t now)
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

/* engine_set_paused's work, done under the re-entry guard. */
static void dispatch_set_paused(struct engine *e, bool paused, int64_t now)
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

/* The store went away or came back; unpausing routes all that waited. */
void engine_set_paused(struct engine *e, bool paused, int64_t now)
{
	reentry_enter(e, __func__);
	dispatch_set_paused(e, paused, now);
	reentry_leave(e);
}
