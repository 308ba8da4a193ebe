/* An agent's session and state: login and logout, detach and attach
 * (presence), available or on a break, and what makes it routable now:
 * logged in, attached, available, with a free slot on the channel. */
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "util/err.h"
#include "util/xalloc.h"

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

/* Sets a's state and reason; offers end if it stops being available. */
void agent_state_set(struct engine *e, struct eagent *a, enum engine_agent_state state,
		     const char *reason, int64_t now)
{
	bool changed = a->v.state != state || strcmp(a->v.reason, reason) != 0;

	if (state == AGENT_AVAILABLE && a->v.state != AGENT_AVAILABLE) {
		a->idle_since = now;
		a->no_answer = 0; /* a fresh start (no_answer.c) */
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

/* engine_agent_login's work, done under the re-entry guard. */
static int agent_state_login(struct engine *e, const char *agent_id, int64_t now)
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

/* The agent's session began: present, offline until it sets a state. */
int engine_agent_login(struct engine *e, const char *agent_id, int64_t now)
{
	reentry_enter(e, __func__);
	int rc = agent_state_login(e, agent_id, now);
	reentry_leave(e);
	return rc;
}

/* engine_agent_detach's work, done under the re-entry guard. */
static int agent_state_detach(struct engine *e, const char *agent_id, int64_t now)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	if (!a->v.logged_in || a->v.detached)
		return 0;
	a->v.detached = true;
	bucket_agent_refresh(e, a);
	/* An offer does not survive its agent's session: nobody is there to
	 * answer it, so the contact goes to the next agent now rather than at
	 * the offer timeout, and the agent is not charged a no-answer. */
	offer_rescind(e, a, OFFER_END_AGENT_GONE, now);
	dispatch_run(e, now);
	return 0;
}

/* The agent's connection dropped: its offers end; it keeps its state and
 * its contacts, and gets no new offers. */
int engine_agent_detach(struct engine *e, const char *agent_id, int64_t now)
{
	reentry_enter(e, __func__);
	int rc = agent_state_detach(e, agent_id, now);
	reentry_leave(e);
	return rc;
}

/* engine_agent_attach's work, done under the re-entry guard. */
static int agent_state_attach(struct engine *e, const char *agent_id, int64_t now)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	if (!a->v.logged_in)
		return agent_state_login(e, agent_id, now);
	if (a->v.detached) {
		a->v.detached = false;
		bucket_agent_refresh(e, a);
		dispatch_add_agent(e, a);
		dispatch_run(e, now);
	}
	return 0;
}

/* The agent's client is back: it routes again (or logs in). */
int engine_agent_attach(struct engine *e, const char *agent_id, int64_t now)
{
	reentry_enter(e, __func__);
	int rc = agent_state_attach(e, agent_id, now);
	reentry_leave(e);
	return rc;
}

/* engine_agent_logout's work, done under the re-entry guard. */
static int agent_state_logout(struct engine *e, const char *agent_id, int64_t now)
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

/* The agent left: its offers end, it goes offline, it keeps its contacts. */
int engine_agent_logout(struct engine *e, const char *agent_id, int64_t now)
{
	reentry_enter(e, __func__);
	int rc = agent_state_logout(e, agent_id, now);
	reentry_leave(e);
	return rc;
}

/* engine_agent_set_state's work, done under the re-entry guard. */
static int agent_state_request(struct engine *e, const char *agent_id,
			       enum engine_agent_state state, const char *reason, int64_t now,
			       const char **why)
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

/* The agent asked to be available or on a break. */
int engine_agent_set_state(struct engine *e, const char *agent_id, enum engine_agent_state state,
			   const char *reason, int64_t now, const char **why)
{
	reentry_enter(e, __func__);
	int rc = agent_state_request(e, agent_id, state, reason, now, why);
	reentry_leave(e);
	return rc;
}

/* engine_restore_agent's work, done under the re-entry guard. */
static int agent_state_restore(struct engine *e, const char *agent_id,
			       enum engine_agent_state state, const char *reason, int64_t since_ms,
			       int64_t now)
{
	struct eagent *a = setup_find_agent(e, agent_id);

	if (a == NULL)
		return SB_ERR_NOT_FOUND;
	if (state == AGENT_OFFLINE)
		return 0;
	/* Present in its last state, but away until its client is back. */
	a->v.detached = true;
	agent_state_login(e, agent_id, now);
	a->v.state = state;
	a->v.state_since_ms = since_ms;
	free(a->reason);
	a->reason = xstrdup(reason ? reason : "");
	a->v.reason = a->reason;
	a->idle_since = now;
	bucket_agent_refresh(e, a);
	return 0;
}

/* Recovery: an agent in its persisted state, detached till its client returns. */
int engine_restore_agent(struct engine *e, const char *agent_id, enum engine_agent_state state,
			 const char *reason, int64_t since_ms, int64_t now)
{
	reentry_enter(e, __func__);
	int rc = agent_state_restore(e, agent_id, state, reason, since_ms, now);
	reentry_leave(e);
	return rc;
}
