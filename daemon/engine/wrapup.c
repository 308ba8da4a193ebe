/* Wrap-up and Ready: after a completion the agent's slot stays taken for
 * the channel's wrapup_ms, or until the agent says Ready. Each wrap-up has
 * its own timer; a reload carries them over to the new engine. */
#include <stdlib.h>

#include "engine/internal.h"
#include "util/err.h"
#include "util/xalloc.h"

/* The slot stays taken (the load is the caller's) until `until` or Ready. */
void wrapup_begin(struct engine *e, struct eagent *a, enum sb_channel ch, int64_t until)
{
	struct ewrapup *w = xcalloc(1, sizeof *w);

	w->agent = a;
	w->channel = ch;
	w->timer.idx = HEAP_NONE;
	w->next = a->wrapups;
	a->wrapups = w;
	timers_arm(e, &w->timer, TIMER_WRAPUP, w, until);
}

/* Reload: an agent's wrap-ups, for the new engine to hold the same slots. */
void engine_agent_each_wrapup(const struct engine *e, const char *agent_id,
			      void (*fn)(void *arg, enum sb_channel ch, int64_t until), void *arg)
{
	const struct eagent *a = setup_find_agent(e, agent_id);

	for (const struct ewrapup *w = a ? a->wrapups : NULL; w != NULL; w = w->next)
		fn(arg, w->channel, w->timer.when);
}

/* engine_restore_wrapup's work, done under the re-entry guard. */
static int wrapup_restore(struct engine *e, const char *agent_id, enum sb_channel ch, int64_t until)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	wrapup_begin(e, a, ch, until);
	agent_state_load(e, a, ch, +1, a->v.state_since_ms); /* busy since: unknown; the state's */
	return 0;
}

/* Reload: a wrap-up carried over, ending at the same moment. */
int engine_restore_wrapup(struct engine *e, const char *agent_id, enum sb_channel ch, int64_t until)
{
	reentry_enter(e, __func__);
	int rc = wrapup_restore(e, agent_id, ch, until);
	reentry_leave(e);
	return rc;
}

/* A wrap-up is over (its timer, or Ready): the slot frees. */
void wrapup_end(struct engine *e, struct ewrapup *w, int64_t now)
{
	struct eagent *a = w->agent;
	struct ewrapup **pp = &a->wrapups;

	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
	timers_cancel(e, &w->timer);
	agent_state_load(e, a, w->channel, -1, now);
	dispatch_add_agent(e, a);
	free(w);
}

/* engine_ready's work, done under the re-entry guard. */
static int wrapup_ready(struct engine *e, const char *agent_id, int64_t now)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	/* wrapup_end unlinks w (the head) and frees it: read next first. */
	for (struct ewrapup *w = a->wrapups, *next; w != NULL; w = next) {
		next = w->next;
		wrapup_end(e, w, now);
	}
	dispatch_run(e, now);
	return 0;
}

/* The agent is ready before its wrap-ups ran out: they end now. */
int engine_ready(struct engine *e, const char *agent_id, int64_t now)
{
	reentry_enter(e, __func__);
	int rc = wrapup_ready(e, agent_id, now);
	reentry_leave(e);
	return rc;
}
