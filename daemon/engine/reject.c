/* Declining an offer, and the reject delay: an agent that declined a
 * contact, or let its offer time out, is not offered that contact again for
 * reject_delay_ms. Each such agent has its own exclusion with its own timer;
 * dispatch and the classes ask reject_excluded. */
#include <stdlib.h>

#include "engine/internal.h"
#include "util/err.h"
#include "util/xalloc.h"

/* Whether a declined c (or let its offer lapse) within the reject delay. */
bool reject_excluded(const struct econtact *c, const struct eagent *a)
{
	for (const struct eexclusion *x = c->excluded; x != NULL; x = x->next)
		if (x->agent == a)
			return true;
	return false;
}

/* Forgets one exclusion and its timer. */
static void reject_exclusion_end(struct engine *e, struct eexclusion *x)
{
	struct eexclusion **pp = &x->contact->excluded;

	while (*pp != x)
		pp = &(*pp)->next;
	*pp = x->next;
	timers_cancel(e, &x->timer);
	free(x);
}

/* Keeps a from c for the reject delay (re-arming if it declined before). */
void reject_exclude(struct engine *e, struct econtact *c, struct eagent *a, int64_t now)
{
	struct eexclusion *x = c->excluded;

	while (x != NULL && x->agent != a)
		x = x->next;
	if (x == NULL) {
		x = xcalloc(1, sizeof *x);
		x->contact = c;
		x->agent = a;
		x->timer.idx = HEAP_NONE;
		x->next = c->excluded;
		c->excluded = x;
	}
	timers_arm(e, &x->timer, TIMER_EXCLUDE, x, now + e->conf.reject_delay_ms);
}

/* A reject delay ran out: the agent may be offered the contact again. */
void reject_delay_over(struct engine *e, struct eexclusion *x)
{
	struct econtact *c = x->contact;
	struct eagent *a = x->agent;

	reject_exclusion_end(e, x);
	if (c->v.state == CONTACT_WAITING) {
		dispatch_add_contact(e, c);
		dispatch_add_agent(e, a);
	}
}

/* engine_reject's work, done under the re-entry guard. */
static int reject_offer(struct engine *e, const char *agent_id, const char *offer_id,
			const char *reason, int64_t now, const char **why)
{
	struct eagent *a;
	struct econtact *c;
	int rc = held_offer(e, agent_id, offer_id, &a, &c, why);

	if (rc != 0)
		return rc;
	if (c->v.state != CONTACT_OFFERED) {
		*why = "offer was already accepted";
		return SB_ERR_CONFLICT;
	}
	offer_end(e, c, OFFER_END_REJECTED, now);
	dispatch_run(e, now);
	return 0;
}

/* The agent declined: the contact waits again, kept from it for a while. */
int engine_reject(struct engine *e, const char *agent_id, const char *offer_id,
		  const char *reason, int64_t now, const char **why)
{
	reentry_enter(e, __func__);
	int rc = reject_offer(e, agent_id, offer_id, reason, now, why);
	reentry_leave(e);
	return rc;
}
