/* load_ready: a FIFO of connection ids, each at most once (load_ready.h). */
#include "load_ready.h"

#include <stdlib.h>

#include "util/xalloc.h"

void load_ready_init(struct load_ready *r, size_t n)
{
	r->cap = n;
	r->head = 0;
	r->n = 0;
	r->ring = xcalloc(n ? n : 1, sizeof(*r->ring));
	r->queued = xcalloc(n ? n : 1, sizeof(*r->queued));
}

void load_ready_free(struct load_ready *r)
{
	free(r->ring);
	free(r->queued);
	r->ring = NULL;
	r->queued = NULL;
	r->cap = r->head = r->n = 0;
}

bool load_ready_push(struct load_ready *r, uint32_t id)
{
	if (id >= r->cap || r->queued[id])
		return false;
	/* Each id at most once, so n < cap here: the ring cannot overflow. */
	r->ring[(r->head + r->n) % r->cap] = id;
	r->n++;
	r->queued[id] = true;
	return true;
}

bool load_ready_pop(struct load_ready *r, uint32_t *id)
{
	if (r->n == 0)
		return false;
	*id = r->ring[r->head];
	r->head = (r->head + 1) % r->cap;
	r->n--;
	r->queued[*id] = false;
	return true;
}

size_t load_ready_count(const struct load_ready *r)
{
	return r->n;
}

bool load_ready_has(const struct load_ready *r, uint32_t id)
{
	return id < r->cap && r->queued[id];
}
