/* load_timers: when each of sb-load's sessions next needs sbs_service().
 *
 * Every session has one wake-up time (its next Ping, or its next reconnect
 * attempt: sbs_next_wake()). Walking 10 000 sessions per loop pass to find
 * the few that are due is what made sb-load measure itself, so the times
 * live in an indexed min-heap: the earliest is at the top, and a session's
 * time moves in O(log n) when it changes (its position is kept per id).
 *
 * Ids are 0 .. n-1; each has at most one time. Times are whatever unit the
 * caller uses (sb-load: monotonic microseconds).
 *
 * Owner: embedded by value in its user; load_timers_init() allocates,
 * load_timers_free() releases. */
#ifndef SB_BENCH_LOAD_TIMERS_H
#define SB_BENCH_LOAD_TIMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct load_timers {
	uint32_t *heap; /* ids, heap-ordered by due[id] */
	size_t n, cap;
	int64_t *due;   /* due[id]: its time, when set */
	uint32_t *pos;  /* pos[id]: its index in heap, or LOAD_TIMERS_UNSET */
};

#define LOAD_TIMERS_UNSET UINT32_MAX

/* No times set, for ids 0 .. n-1. */
void load_timers_init(struct load_timers *t, size_t n);
void load_timers_free(struct load_timers *t);
/* Sets (or moves) id's time to due. Setting the time it has costs nothing. */
void load_timers_set(struct load_timers *t, uint32_t id, int64_t due);
/* Removes id's time, if it has one. */
void load_timers_clear(struct load_timers *t, uint32_t id);
/* The earliest time, INT64_MAX when none is set. */
int64_t load_timers_next(const struct load_timers *t);
/* Removes the earliest time if it is <= now, its id into *id; false when
 * nothing is due. */
bool load_timers_pop_due(struct load_timers *t, int64_t now, uint32_t *id);
size_t load_timers_count(const struct load_timers *t);

#endif
