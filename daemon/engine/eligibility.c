/* Eligibility (DESIGN 3.2): which agents may take a routing class at all.
 * State, free slots and reject penalties change by the second and are
 * checked by bucket.c, agent_state.c and reject.c; this file answers the
 * static part. */
#include <string.h>

#include "engine/internal.h"
#include "util/err.h"

/* An agent's level in skill, 0 when it lacks it (skills are sorted). */
int eligibility_level(const struct eagent *a, int skill)
{
	int lo = 0, hi = a->n_skills - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (a->skills[mid].skill == skill)
			return a->skills[mid].level;
		if (a->skills[mid].skill < skill)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

/* Whether a has every skill of reqs at its level or above. */
static bool eligibility_meets(const struct eagent *a, const struct req *reqs, int n)
{
	for (int i = 0; i < n; i++)
		if (eligibility_level(a, reqs[i].skill) < reqs[i].level)
			return false;
	return true;
}

/* Whether a serves queue q (no list: every queue). */
static bool eligibility_serves(const struct eagent *a, const struct equeue *q)
{
	return q != NULL &&
	       (a->serves == NULL || (a->serves[q->index / 64] >> (q->index % 64)) & 1);
}

/* The preferred agent takes its customer's contact whatever its skills or
 * tier: the customer asked for that person. */
enum eligibility eligibility_check(const struct engine *e, const struct eagent *a,
				   const struct bucket *b)
{
	if (b->preferred != NULL)
		return b->preferred == a ? ELIGIBLE : BLOCKED_PREFERRED;
	/* An agent qualifies through the contact's queue, or through the queue
	 * an escalation step added, each with that queue's own skills. */
	bool own = eligibility_serves(a, b->queue), added = eligibility_serves(a, b->extra);
	if (!own && !added)
		return BLOCKED_QUEUE;
	if (!(own && eligibility_meets(a, b->reqs, b->n_reqs)) &&
	    !(added && eligibility_meets(a, b->extra_reqs, b->n_extra_reqs)))
		return BLOCKED_SKILL;
	if (!((b->tiers >> a->tier) & 1))
		return BLOCKED_TIER;
	return ELIGIBLE;
}

/* Why a waiting contact has no agent: each agent counted under its first block. */
int engine_explain(const struct engine *e, const char *contact_id, int64_t now,
		   struct engine_explain *out, const char **why)
{
	const struct econtact *c = strmap_get(&e->contacts, contact_id);

	memset(out, 0, sizeof *out);
	if (c == NULL) {
		*why = "no such contact (finished, or never submitted)";
		return SB_ERR_NOT_FOUND;
	}
	out->step = c->v.step;
	out->deadline_ms = c->v.deadline_ms;
	out->waited_ms = now - c->v.arrived_ms;
	out->queue = c->queue->name;
	out->position = engine_contact_position(e, contact_id);
	/* Each agent is counted under the first thing that keeps it away. */
	for (size_t i = 0; i < e->n_agents; i++) {
		const struct eagent *a = e->agents[i];
		switch (eligibility_check(e, a, c->bucket)) {
		case BLOCKED_QUEUE: out->blocked_queue++; continue;
		case BLOCKED_SKILL: out->blocked_skill++; continue;
		case BLOCKED_TIER: out->blocked_tier++; continue;
		case BLOCKED_PREFERRED: out->blocked_preferred++; continue;
		case ELIGIBLE: break;
		}
		if (!agent_state_routable(a))
			out->blocked_state++;
		else if (!agent_state_slot_free(e, a, c->v.channel))
			out->blocked_capacity++;
		else if (reject_excluded(c, a))
			out->blocked_penalty++;
		else
			out->eligible++;
	}
	return 0;
}
