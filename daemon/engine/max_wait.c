/* Max wait: past its queue's max_wait_ms, or after max_wait_no_agent_ms
 * with no logged-in agent eligible for its class, a contact overflows to the
 * queue's overflow queue, or expires. The no-agent moment is set when a
 * contact starts to wait in a class with nobody logged in (contact.c) and
 * follows the class's logged-in count (bucket.c). */
#include "engine/internal.h"

/* Max wait or no agent came due. Returns true when the contact has
 * expired (and is freed). */
bool max_wait_due(struct engine *e, struct econtact *c, enum due what, int64_t now)
{
	if (c->v.state == CONTACT_OFFERED) {
		/* Let the offer run its course (it is bounded by its timeout);
		 * decide when it ends. */
		timers_due(e, c, what, c->v.offer_expires_ms);
		return false;
	}
	if (c->queue->overflow != NULL) {
		contact_overflow(e, c, c->queue->overflow, now);
		return false;
	}
	contact_expire(e, c, what == DUE_MAXWAIT ? "max-wait" : "no-agent", now);
	return true;
}
