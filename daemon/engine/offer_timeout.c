/* The offer timeout: an offer not answered within its channel's
 * offer_timeout_ms ends; the contact waits again, keeping its place, kept
 * from that agent for the reject delay (reject.c); and the miss counts
 * against the agent (no_answer.c). */
#include "engine/internal.h"

/* c's offer timer went off. */
void offer_timeout_fire(struct engine *e, struct econtact *c, int64_t now)
{
	struct eagent *a = c->agent;

	offer_end(e, c, OFFER_END_TIMEOUT, now);
	no_answer_missed(e, a, now);
}
