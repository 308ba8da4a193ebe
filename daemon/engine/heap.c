#include "engine/heap.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static size_t *heap_idx(const struct heap *h, const void *item)
{
	return (size_t *)((char *)(uintptr_t)item + h->idx_off);
}

static void heap_set(struct heap *h, size_t i, void *item)
{
	h->items[i] = item;
	*heap_idx(h, item) = i;
}

static void heap_sift_up(struct heap *h, size_t i)
{
	void *item = h->items[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!h->less(item, h->items[parent]))
			break;
		heap_set(h, i, h->items[parent]);
		i = parent;
	}
	heap_set(h, i, item);
}

static void heap_sift_down(struct heap *h, size_t i)
{
	void *item = h->items[i];

	for (;;) {
		size_t l = 2 * i + 1, best = i;
		void *bestp = item;
		if (l < h->n && h->less(h->items[l], bestp)) {
			best = l;
			bestp = h->items[l];
		}
		if (l + 1 < h->n && h->less(h->items[l + 1], bestp)) {
			best = l + 1;
			bestp = h->items[l + 1];
		}
		if (best == i)
			break;
		heap_set(h, i, bestp);
		i = best;
	}
	heap_set(h, i, item);
}

void heap_init(struct heap *h, heap_less_fn less, size_t idx_off)
{
	memset(h, 0, sizeof *h);
	h->less = less;
	h->idx_off = idx_off;
}

void heap_free(struct heap *h)
{
	free(h->items);
	h->items = NULL;
	h->n = h->cap = 0;
}

void heap_push(struct heap *h, void *item)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->items = xreallocarray(h->items, h->cap, sizeof *h->items);
	}
	h->items[h->n] = item;
	*heap_idx(h, item) = h->n;
	h->n++;
	heap_sift_up(h, h->n - 1);
}

void *heap_top(const struct heap *h)
{
	return h->n ? h->items[0] : NULL;
}

bool heap_contains(const struct heap *h, const void *item)
{
	size_t i = *heap_idx(h, item);
	return i < h->n && h->items[i] == item;
}

void heap_remove(struct heap *h, void *item)
{
	if (!heap_contains(h, item))
		return;
	size_t i = *heap_idx(h, item);
	*heap_idx(h, item) = HEAP_NONE;
	h->n--;
	if (i == h->n)
		return;
	h->items[i] = h->items[h->n];
	*heap_idx(h, h->items[i]) = i;
	heap_update(h, h->items[i]);
}

void *heap_pop(struct heap *h)
{
	void *top = heap_top(h);
	if (top != NULL)
		heap_remove(h, top);
	return top;
}

void heap_update(struct heap *h, void *item)
{
	size_t i = *heap_idx(h, item);
	if (i > 0 && h->less(item, h->items[(i - 1) / 2]))
		heap_sift_up(h, i);
	else
		heap_sift_down(h, i);
}

/* A frontier of heap positions, itself a small heap ordered by the items. */
struct heap_frontier {
	size_t *v;
	size_t n, cap;
	size_t local[32];
};

static bool heap_frontier_less(const struct heap *h, size_t a, size_t b)
{
	return h->less(h->items[a], h->items[b]);
}

static void heap_frontier_push(const struct heap *h, struct heap_frontier *f, size_t pos)
{
	if (pos >= h->n)
		return;
	if (f->n == f->cap) {
		size_t cap = f->cap * 2;
		size_t *v = xreallocarray(f->v == f->local ? NULL : f->v, cap, sizeof *v);
		if (f->v == f->local)
			memcpy(v, f->local, f->n * sizeof *v);
		f->v = v;
		f->cap = cap;
	}
	size_t i = f->n++;
	while (i > 0 && heap_frontier_less(h, pos, f->v[(i - 1) / 2])) {
		f->v[i] = f->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	f->v[i] = pos;
}

static size_t heap_frontier_pop(const struct heap *h, struct heap_frontier *f)
{
	size_t top = f->v[0], last = f->v[--f->n], i = 0;

	for (;;) {
		size_t l = 2 * i + 1, best = l;
		if (l >= f->n)
			break;
		if (l + 1 < f->n && heap_frontier_less(h, f->v[l + 1], f->v[l]))
			best = l + 1;
		if (!heap_frontier_less(h, f->v[best], last))
			break;
		f->v[i] = f->v[best];
		i = best;
	}
	if (f->n > 0)
		f->v[i] = last;
	return top;
}

void *heap_first(const struct heap *h, bool (*ok)(const void *item, const void *arg),
		 const void *arg)
{
	struct heap_frontier f = { .v = NULL, .cap = 32 };
	void *found = NULL;

	f.v = f.local;
	heap_frontier_push(h, &f, 0);
	while (f.n > 0) {
		size_t pos = heap_frontier_pop(h, &f);
		if (ok(h->items[pos], arg)) {
			found = h->items[pos];
			break;
		}
		/* Children of a skipped item are the next candidates. */
		heap_frontier_push(h, &f, 2 * pos + 1);
		heap_frontier_push(h, &f, 2 * pos + 2);
	}
	if (f.v != f.local)
		free(f.v);
	return found;
}
