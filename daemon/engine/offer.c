/* Offers: one live offer per contact, to the agent dispatch chose, under
 * an id "o-<prefix>-<n>". Ending an offer unaccepted puts the contact back
 * to wait with its deadline unchanged, so it keeps its place. Accepting is
 * accept.c (auto-accept channels assign at once), declining reject.c, the
 * timeout offer_timeout.c; the id table is offer_table.c. */
#include <string.h>

#include "engine/internal.h"

/* "o-<prefix>-<n>", cut to len - 1 like snprintf: built by hand because
 * it runs on every offer. */
static void offer_make_id(const struct engine *e, char *out, size_t len, uint64_t n)
{
	char digits[24];
	size_t nd = 0, off = e->offer_head_len < len - 1 ? e->offer_head_len : len - 1;

	memcpy(out, e->offer_head, off);
	do {
		digits[nd++] = (char)('0' + n % 10);
		n /= 10;
	} while (n != 0);
	while (nd > 0 && off < len - 1)
		out[off++] = digits[--nd];
	out[off] = '\0';
}

/* Offers c to a: c leaves its class, a's slot is taken, the sink hears. */
void offer_make(struct engine *e, struct econtact *c, struct eagent *a, int64_t now)
{
	contact_prefetch(c);
	contact_unwait(e, c);
	c->agent = a;
	c->v.agent_id = a->v.id;
	c->v.state = CONTACT_OFFERED;
	uint64_t n = ++e->next_offer;
	offer_make_id(e, c->offer_id, sizeof c->offer_id, n);
	/* An id cut short is not "<head><n>": key it as any other string. */
	bool whole = e->offer_head_len + 21 <= sizeof c->offer_id;
	offer_table_add(&e->offers, c, whole ? n : offer_table_key(e, c->offer_id));
	a->idle_since = now;
	a->last_offer[c->queue->index] = now;
	a->rnd = select_rand(e);
	held_link(a, c);
	agent_state_load(e, a, c->v.channel, +1, now);
	stats_record(c->queue, STAT_OFFERED, now, 0, false, e->conf.stats_window_ms);
	if (e->conf.channels[c->v.channel].auto_accept) {
		accept_assign(e, c, now);
		return;
	}
	c->v.offer_id = c->offer_id;
	c->v.offer_expires_ms = now + e->conf.channels[c->v.channel].offer_timeout_ms;
	timers_arm(e, &c->offer_timer, TIMER_OFFER, c, c->v.offer_expires_ms);
	e->sink.offer(e->ctx, &c->v, now);
}

/* Ends c's live offer. Unless the contact is being cancelled or expired, it
 * waits again with its deadline unchanged: it keeps its place. */
void offer_end(struct engine *e, struct econtact *c, enum engine_offer_end why, int64_t now)
{
	struct eagent *a = c->agent;
	char offer_id[sizeof c->offer_id];

	memcpy(offer_id, c->offer_id, sizeof offer_id);
	timers_cancel(e, &c->offer_timer);
	offer_table_remove(&e->offers, c);
	held_unlink(a, c);
	c->agent = NULL;
	c->v.agent_id = NULL;
	c->v.offer_id = NULL;
	c->v.offer_expires_ms = 0;
	agent_state_load(e, a, c->v.channel, -1, now);
	dispatch_add_agent(e, a);
	if (why == OFFER_END_CANCELLED)
		return;
	if ((why == OFFER_END_TIMEOUT || why == OFFER_END_REJECTED || why == OFFER_END_ADMIN) &&
	    e->conf.reject_delay_ms > 0)
		reject_exclude(e, c, a, now);
	contact_wait(e, c, now);
	e->sink.offer_ended(e->ctx, &c->v, a->v.id, offer_id, why, now);
}

/* Ends every live offer a holds (it went away or stopped being available). */
void offer_rescind(struct engine *e, struct eagent *a, enum engine_offer_end why, int64_t now)
{
	struct econtact *c = a->held, *next;

	for (; c != NULL; c = next) {
		next = c->held_next;
		if (c->v.state == CONTACT_OFFERED)
			offer_end(e, c, why, now);
	}
}
