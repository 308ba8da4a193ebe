/* The engine's invariants (docs/engine.md, "Nothing gets stuck"): every
 * contact in exactly one place, loads equal to what agents hold, every
 * class's ready heap and logged-in count right. With conf.check_invariants
 * (tests, debug, SB_CHECK_INVARIANTS=1) they are checked after every
 * dispatch. */
#include <stdio.h>
#include <stdlib.h>

#include "engine/internal.h"

/* One contact's memberships against its state: NULL, or why (in why). */
static const char *invariants_contact(const struct engine *e, const struct econtact *c,
				      char *why, size_t len)
{
	bool waiting = c->v.state == CONTACT_WAITING;
	bool offered = c->v.state == CONTACT_OFFERED;

	if (waiting != cq_contains(&c->bucket->contacts, c))
		snprintf(why, len, "contact %s: %s but %s its class", c->v.id,
			 engine_contact_state_name(c->v.state), waiting ? "not in" : "in");
	else if ((waiting || offered) != c->in_queue)
		snprintf(why, len, "contact %s: queue membership broken", c->v.id);
	else if (offered != heap_contains(&e->timers, &c->offer_timer))
		snprintf(why, len, "contact %s: offer timer broken", c->v.id);
	else if ((c->agent != NULL) != (offered || c->v.state == CONTACT_ASSIGNED))
		snprintf(why, len, "contact %s: agent link broken", c->v.id);
	else
		return NULL;
	return why;
}

/* Walks every class, contact and agent: the first breach, or NULL. */
const char *engine_check_invariants(const struct engine *e)
{
	static char why[256];
	size_t in_buckets = 0;
	const char *k;
	void *v;

	for (size_t it = 0; strmap_next(&e->buckets, &it, &k, &v);) {
		const struct bucket *b = v;
		uint32_t logged_in = 0, staffed = 0;
		in_buckets += cq_count(&b->contacts);
		for (const struct link *l = b->links; l != NULL; l = l->next_in_bucket) {
			logged_in += l->agent->v.logged_in;
			if (agent_state_routable(l->agent))
				staffed += (uint32_t)l->agent->v.capacity[b->channel];
			if (heap_contains(&b->ready, l) != bucket_link_should_be_ready(e, l)) {
				snprintf(why, sizeof why, "agent %s: readiness for a class is stale",
					 l->agent->v.id);
				return why;
			}
		}
		if (logged_in != b->logged_in)
			return "a class's logged-in agent count is wrong";
		if (staffed != b->staffed)
			return "a class's staffed capacity is wrong";
	}
	if (in_buckets != e->waiting)
		return "waiting count differs from the classes' contents";
	size_t listed = 0;
	for (size_t it = 0; strmap_next(&e->contacts, &it, &k, &v);) {
		const struct econtact *c = v;
		if (!c->restoring && invariants_contact(e, c, why, sizeof why) != NULL)
			return why;
		if (!c->offer_listed)
			continue;
		listed++;
		if (offer_table_get(&e->offers, c->offer_key, c->offer_id) != c) {
			snprintf(why, sizeof why, "contact %s: its offer %s is not found by id",
				 c->v.id, c->offer_id);
			return why;
		}
	}
	/* A contact listed twice leaves a slot that outlives it. */
	if (listed != e->offers.live)
		return "the offer table lists more offers than contacts hold";
	for (size_t i = 0; i < e->n_agents; i++) {
		const struct eagent *a = e->agents[i];
		int used[SB_CH_COUNT] = { 0 };
		for (const struct econtact *c = a->held; c != NULL; c = c->held_next) {
			if (c->agent != a)
				return "held list has another agent's contact";
			used[c->v.channel]++;
		}
		for (const struct ewrapup *w = a->wrapups; w != NULL; w = w->next)
			used[w->channel]++;
		size_t n_links = 0, n_ready = 0;
		for (const struct link *l = a->links; l != NULL; l = l->next_in_agent) {
			if (n_links >= a->n_linkv || a->linkv[n_links].link == NULL)
				return "an agent's link array differs from its links";
			n_ready += heap_contains(&l->bucket->ready, l);
			n_links++;
		}
		if (n_links != a->n_linkv || n_ready != a->n_ready || a->links_stale) {
			snprintf(why, sizeof why, "agent %s: link array or ready count is stale",
				 a->v.id);
			return why;
		}
		for (int ch = 0; ch < SB_CH_COUNT; ch++)
			if (used[ch] != a->v.load[ch]) {
				snprintf(why, sizeof why, "agent %s: %s load %d, holds %d", a->v.id,
					 channel_name(ch), a->v.load[ch], used[ch]);
				return why;
			}
	}
	return NULL;
}

/* Aborts on a breach: an engine that lost track of a contact must stop. */
void invariants_or_die(const struct engine *e, const char *where)
{
	const char *why = engine_check_invariants(e);
	if (why != NULL) {
		fprintf(stderr, "engine invariant broken after %s: %s\n", where, why);
		abort();
	}
}
