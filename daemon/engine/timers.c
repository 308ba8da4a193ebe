/* Timers: one heap of timers embedded in what they belong to (an offer's
 * timeout, a reject delay, a wrap-up, and each contact's one timer for its
 * SLA breach, escalation, max wait and no-agent moments). engine_tick fires
 * what is due, one timer at a time, each followed by its dispatch;
 * engine_next_wakeup tells the daemon when to call it. Nothing is polled. */
#include <stddef.h>

#include "engine/internal.h"

/* Timers fire by (when, arming order). */
static void timers_key(const void *item, int64_t *k1, int64_t *k2)
{
	const struct etimer *t = item;
	*k1 = t->when;
	*k2 = (int64_t)t->seq;
}

/* An empty timer heap, in firing order. */
void timers_init(struct engine *e)
{
	heap_init_keyed(&e->timers, timers_key, NULL, offsetof(struct etimer, idx));
}

/* Sets one of c's moments and keeps its one timer at the earliest. */
void timers_due(struct engine *e, struct econtact *c, enum due what, int64_t when)
{
	int64_t next = INT64_MAX;

	c->due[what] = when;
	for (int i = 0; i < DUE_COUNT; i++)
		if (c->due[i] < next)
			next = c->due[i];
	if (next == INT64_MAX)
		timers_cancel(e, &c->timer);
	else if (!heap_contains(&e->timers, &c->timer) || c->timer.when != next)
		timers_arm(e, &c->timer, TIMER_CONTACT, c, next);
}

/* A contact's timer: runs each moment that has come, in a fixed order
 * (the breach is reported before an expiry it leads to), then re-arms for
 * the next. Expiry ends the contact: nothing after it runs. */
static void timers_contact(struct engine *e, struct econtact *c, int64_t now)
{
	/* The SLA breach: told once, while the contact is in its queue. */
	if (c->due[DUE_BREACH] <= now) {
		c->due[DUE_BREACH] = INT64_MAX;
		c->v.sla_breached = true;
		e->sink.event(e->ctx, &c->v, EVENT_SLA_BREACHED, "", now);
	}
	if (c->due[DUE_RECLASS] <= now) {
		c->due[DUE_RECLASS] = INT64_MAX;
		escalate_reclass(e, c, now);
	}
	for (int what = DUE_MAXWAIT; what <= DUE_NOAGENT; what++)
		if (c->due[what] <= now) {
			c->due[what] = INT64_MAX;
			if (max_wait_due(e, c, (enum due)what, now))
				return;
		}
	timers_due(e, c, DUE_BREACH, c->due[DUE_BREACH]);
}

/* Hands a due timer to the rule it belongs to. */
static void timers_fire(struct engine *e, struct etimer *t, int64_t now)
{
	switch (t->kind) {
	case TIMER_OFFER:
		offer_timeout_fire(e, t->obj, now);
		break;
	case TIMER_EXCLUDE:
		reject_delay_over(e, t->obj);
		break;
	case TIMER_WRAPUP:
		wrapup_end(e, t->obj, now);
		break;
	case TIMER_CONTACT:
		timers_contact(e, t->obj, now);
		break;
	}
}

/* engine_tick's work, done under the re-entry guard. */
static void timers_tick(struct engine *e, int64_t now)
{
	struct etimer *t;

	/* One timer at a time, each followed by its dispatch, so a contact a
	 * timer made routable is offered before a later timer looks at it. */
	while ((t = heap_top(&e->timers)) != NULL && t->when <= now) {
		heap_pop(&e->timers);
		timers_fire(e, t, now);
		dispatch_run(e, now);
	}
}

/* The daemon's one timer went off: fires everything due by now. */
void engine_tick(struct engine *e, int64_t now)
{
	reentry_enter(e, __func__);
	timers_tick(e, now);
	reentry_leave(e);
}

/* When the daemon must next call engine_tick: the heap's top. */
int64_t engine_next_wakeup(const struct engine *e)
{
	const struct etimer *t = heap_top(&e->timers);
	return t ? t->when : INT64_MAX;
}
