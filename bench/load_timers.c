/* load_timers: an indexed min-heap of per-session wake-up times
 * (load_timers.h). */
#include "load_timers.h"

#include <stdlib.h>

#include "util/xalloc.h"

void load_timers_init(struct load_timers *t, size_t n)
{
	t->cap = n;
	t->n = 0;
	t->heap = xcalloc(n ? n : 1, sizeof(*t->heap));
	t->due = xcalloc(n ? n : 1, sizeof(*t->due));
	t->pos = xcalloc(n ? n : 1, sizeof(*t->pos));
	for (size_t i = 0; i < n; i++)
		t->pos[i] = LOAD_TIMERS_UNSET;
}

void load_timers_free(struct load_timers *t)
{
	free(t->heap);
	free(t->due);
	free(t->pos);
	t->heap = NULL;
	t->due = NULL;
	t->pos = NULL;
	t->n = t->cap = 0;
}

/* Puts id at heap index i and records where it is. */
static void load_timers_place(struct load_timers *t, size_t i, uint32_t id)
{
	t->heap[i] = id;
	t->pos[id] = (uint32_t)i;
}

/* Moves the entry at i towards the top while it is earlier than its parent. */
static void load_timers_up(struct load_timers *t, size_t i)
{
	uint32_t id = t->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (t->due[t->heap[p]] <= t->due[id])
			break;
		load_timers_place(t, i, t->heap[p]);
		i = p;
	}
	load_timers_place(t, i, id);
}

/* Moves the entry at i down while a child is earlier. */
static void load_timers_down(struct load_timers *t, size_t i)
{
	uint32_t id = t->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= t->n)
			break;
		if (c + 1 < t->n && t->due[t->heap[c + 1]] < t->due[t->heap[c]])
			c++;
		if (t->due[id] <= t->due[t->heap[c]])
			break;
		load_timers_place(t, i, t->heap[c]);
		i = c;
	}
	load_timers_place(t, i, id);
}

void load_timers_set(struct load_timers *t, uint32_t id, int64_t due)
{
	uint32_t i;
	int64_t old;

	if (id >= t->cap)
		return;
	i = t->pos[id];
	if (i == LOAD_TIMERS_UNSET) {
		t->due[id] = due;
		load_timers_place(t, t->n++, id);
		load_timers_up(t, t->n - 1);
		return;
	}
	old = t->due[id];
	if (old == due)
		return;
	t->due[id] = due;
	if (due < old)
		load_timers_up(t, i);
	else
		load_timers_down(t, i);
}

void load_timers_clear(struct load_timers *t, uint32_t id)
{
	uint32_t i, last;

	if (id >= t->cap || t->pos[id] == LOAD_TIMERS_UNSET)
		return;
	i = t->pos[id];
	t->pos[id] = LOAD_TIMERS_UNSET;
	last = t->heap[--t->n];
	if (i == t->n)
		return; /* it was the last entry */
	/* The last entry fills the hole, then goes whichever way it must. */
	load_timers_place(t, i, last);
	load_timers_up(t, i);
	load_timers_down(t, t->pos[last]);
}

int64_t load_timers_next(const struct load_timers *t)
{
	return t->n > 0 ? t->due[t->heap[0]] : INT64_MAX;
}

bool load_timers_pop_due(struct load_timers *t, int64_t now, uint32_t *id)
{
	if (t->n == 0 || t->due[t->heap[0]] > now)
		return false;
	*id = t->heap[0];
	load_timers_clear(t, *id);
	return true;
}

size_t load_timers_count(const struct load_timers *t)
{
	return t->n;
}
