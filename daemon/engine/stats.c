/* SLA accounting per queue: totals since start and a rolling window kept as
 * STATS_SLOTS time slots, so reading the window costs a fixed 60 adds. */
#include <string.h>

#include "engine/internal.h"

/* The window slot now falls in, emptied first if it held an older period. */
static struct period *stats_slot(struct equeue *q, int64_t now, int64_t window_ms)
{
	int64_t width = window_ms / STATS_SLOTS > 0 ? window_ms / STATS_SLOTS : 1;
	int64_t start = now - (now % width + width) % width;
	size_t i = (size_t)((start / width) % STATS_SLOTS + STATS_SLOTS) % STATS_SLOTS;

	if (q->slots[i].start != start) {
		memset(&q->slots[i].p, 0, sizeof q->slots[i].p);
		q->slots[i].start = start;
	}
	return &q->slots[i].p;
}

/* Counts one event of kind in period p. */
static void stats_add(struct period *p, enum stat_kind kind, int64_t value, bool in_sla)
{
	switch (kind) {
	case STAT_OFFERED: p->offered++; break;
	case STAT_ANSWERED:
		p->answered++;
		p->answered_in_sla += in_sla;
		p->wait_sum += value;
		break;
	case STAT_ABANDONED:
		if (in_sla)
			p->abandoned_in_sla++;
		else
			p->abandoned_after_sla++;
		break;
	case STAT_EXPIRED: p->expired++; break;
	case STAT_OVERFLOWED: p->overflowed++; break;
	case STAT_COMPLETED:
		p->completed++;
		p->handle_sum += value;
		break;
	}
}

/* Counts an event in the queue's totals and its window slot. */
void stats_record(struct equeue *q, enum stat_kind kind, int64_t now, int64_t value,
		  bool in_sla, int64_t window_ms)
{
	stats_add(&q->total, kind, value, in_sla);
	stats_add(stats_slot(q, now, window_ms), kind, value, in_sla);
}

/* Adds period p into to. */
static void stats_sum(struct period *to, const struct period *p)
{
	to->offered += p->offered;
	to->answered += p->answered;
	to->answered_in_sla += p->answered_in_sla;
	to->abandoned_in_sla += p->abandoned_in_sla;
	to->abandoned_after_sla += p->abandoned_after_sla;
	to->expired += p->expired;
	to->overflowed += p->overflowed;
	to->completed += p->completed;
	to->wait_sum += p->wait_sum;
	to->handle_sum += p->handle_sum;
}

/* The window: slots that started within window_ms before now. */
static void stats_window(const struct equeue *q, int64_t now, int64_t window_ms,
			 struct period *out)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < STATS_SLOTS; i++)
		if (q->slots[i].start > now - window_ms && q->slots[i].start <= now)
			stats_sum(out, &q->slots[i].p);
}

/* Service level as DESIGN 2 defines it: abandons inside the threshold are
 * left out. */
void stats_period_of(const struct equeue *q, int64_t now, int64_t window_ms, bool whole,
		     struct engine_period_stats *out)
{
	struct period p;

	if (whole)
		p = q->total;
	else
		stats_window(q, now, window_ms, &p);
	out->offered = p.offered;
	out->answered = p.answered;
	out->answered_in_sla = p.answered_in_sla;
	out->abandoned_in_sla = p.abandoned_in_sla;
	out->abandoned_after_sla = p.abandoned_after_sla;
	out->expired = p.expired;
	out->overflowed = p.overflowed;
	uint64_t base = p.answered + p.abandoned_after_sla;
	out->service_level = base ? (double)p.answered_in_sla / (double)base : -1;
	out->asa_ms = p.answered ? (double)p.wait_sum / (double)p.answered : -1;
	out->aht_ms = p.completed ? (double)p.handle_sum / (double)p.completed : -1;
}

/* The window follows today's mix of contacts; after a quiet spell with no
 * completion in it the totals are still a better guess than nothing. */
double stats_handle_ms(const struct equeue *q, int64_t now, int64_t window_ms)
{
	struct period p;

	stats_window(q, now, window_ms, &p);
	if (p.completed == 0)
		p = q->total;
	return p.completed ? (double)p.handle_sum / (double)p.completed : -1;
}

/* Reload: the new engine's queues carry on the old ones' figures. */
void engine_adopt_stats(struct engine *to, const struct engine *from)
{
	reentry_enter(to, __func__);
	for (size_t i = 0; i < to->n_queues; i++) {
		struct equeue *q = to->queues[i];
		const struct equeue *old = strmap_get(&from->queue_ids, q->name);
		if (old == NULL)
			continue;
		q->total = old->total;
		memcpy(q->slots, old->slots, sizeof q->slots);
	}
	reentry_leave(to);
}
