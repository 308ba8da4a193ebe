#include "engine/heap.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* Where item keeps its heap index. */
static size_t *heap_idx(const struct heap *h, const void *item)
{
	return (size_t *)((char *)(uintptr_t)item + h->idx_off);
}

/* Four children per node: half the levels of a binary heap, so half the
 * index writes into elements (each a cache miss in a big heap), and the
 * four keys compared at a level share one or two cache lines. */
#define HEAP_D 4

/* Entry order: keys first, the tie-break function last. */
static bool heap_ent_less(const struct heap *h, const struct heap_ent *a, const struct heap_ent *b)
{
	if (a->k1 != b->k1)
		return a->k1 < b->k1;
	if (a->k2 != b->k2)
		return a->k2 < b->k2;
	return h->less != NULL && h->less(a->item, b->item);
}

/* An entry for item, its key read once here. */
static void heap_ent_of(const struct heap *h, void *item, struct heap_ent *out)
{
	out->k1 = out->k2 = 0;
	if (h->key != NULL)
		h->key(item, &out->k1, &out->k2);
	out->item = item;
}

/* Puts an entry at i and tells its element. */
static void heap_set(struct heap *h, size_t i, const struct heap_ent *ent)
{
	h->ents[i] = *ent;
	*heap_idx(h, ent->item) = i;
}

/* Moves entry i up until its parent is not after it. */
static void heap_sift_up(struct heap *h, size_t i)
{
	struct heap_ent ent = h->ents[i];

	while (i > 0) {
		size_t parent = (i - 1) / HEAP_D;
		if (!heap_ent_less(h, &ent, &h->ents[parent]))
			break;
		heap_set(h, i, &h->ents[parent]);
		i = parent;
	}
	heap_set(h, i, &ent);
}

/* Moves entry i down until no child is before it. */
static void heap_sift_down(struct heap *h, size_t i)
{
	struct heap_ent ent = h->ents[i];

	for (;;) {
		size_t first = HEAP_D * i + 1, best = i;
		const struct heap_ent *bestp = &ent;
		/* The next level is one of these children's groups: asking
		 * for all of them now overlaps their misses with this level's
		 * comparisons instead of waiting for each level in turn. */
		for (size_t g = HEAP_D * first + 1; g < h->n && g < HEAP_D * (first + HEAP_D) + 1;
		     g += HEAP_D) {
			__builtin_prefetch(&h->ents[g]);
			if (g + HEAP_D - 1 < h->n)
				__builtin_prefetch(&h->ents[g + HEAP_D - 1]);
		}
		for (size_t c = first; c < first + HEAP_D && c < h->n; c++)
			if (heap_ent_less(h, &h->ents[c], bestp)) {
				best = c;
				bestp = &h->ents[c];
			}
		if (best == i)
			break;
		heap_set(h, i, bestp);
		i = best;
	}
	heap_set(h, i, &ent);
}

/* Moves the entry at i (its key already current) to its place. */
static void heap_fix(struct heap *h, size_t i)
{
	if (i > 0 && heap_ent_less(h, &h->ents[i], &h->ents[(i - 1) / HEAP_D]))
		heap_sift_up(h, i);
	else
		heap_sift_down(h, i);
}

/* A heap ordered by less alone (no keys). */
void heap_init(struct heap *h, heap_less_fn less, size_t idx_off)
{
	heap_init_keyed(h, NULL, less, idx_off);
}

/* A heap ordered by key, ties broken by tie (may be NULL). */
void heap_init_keyed(struct heap *h, heap_key_fn key, heap_less_fn tie, size_t idx_off)
{
	memset(h, 0, sizeof *h);
	h->key = key;
	h->less = tie;
	h->idx_off = idx_off;
}

/* Frees the entry array; the elements are the caller's. */
void heap_free(struct heap *h)
{
	free(h->ents);
	h->ents = NULL;
	h->n = h->cap = 0;
}

/* Adds item, reading its key. */
void heap_push(struct heap *h, void *item)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->ents = xreallocarray(h->ents, h->cap, sizeof *h->ents);
	}
	heap_ent_of(h, item, &h->ents[h->n]);
	*heap_idx(h, item) = h->n;
	h->n++;
	heap_sift_up(h, h->n - 1);
}

/* The first item, or NULL. */
void *heap_top(const struct heap *h)
{
	return h->n ? h->ents[0].item : NULL;
}

/* The first entry, key included, or NULL. */
const struct heap_ent *heap_top_ent(const struct heap *h)
{
	return h->n ? &h->ents[0] : NULL;
}

/* The i-th element of the array, for iteration in no order. */
void *heap_at(const struct heap *h, size_t i)
{
	return h->ents[i].item;
}

/* Whether item is in this heap (its index points back at it). */
bool heap_contains(const struct heap *h, const void *item)
{
	size_t i = *heap_idx(h, item);
	return i < h->n && h->ents[i].item == item;
}

/* Takes item out, if it is in, moving the last entry into its place. */
void heap_remove(struct heap *h, void *item)
{
	if (!heap_contains(h, item))
		return;
	size_t i = *heap_idx(h, item);
	*heap_idx(h, item) = HEAP_NONE;
	h->n--;
	if (i == h->n)
		return;
	h->ents[i] = h->ents[h->n];
	*heap_idx(h, h->ents[i].item) = i;
	heap_fix(h, i);
}

/* Takes the first item out and returns it, or NULL. */
void *heap_pop(struct heap *h)
{
	void *top = heap_top(h);
	if (top != NULL)
		heap_remove(h, top);
	return top;
}

/* Re-reads item's key and moves it to its place. */
void heap_update(struct heap *h, void *item)
{
	size_t i = *heap_idx(h, item);
	heap_ent_of(h, item, &h->ents[i]);
	heap_fix(h, i);
}

/* A frontier of heap positions, itself a small heap ordered by the items. */
struct heap_frontier {
	size_t *v;
	size_t n, cap;
	size_t local[32];
};

/* Frontier order: the order of the heap entries it points at. */
static bool heap_frontier_less(const struct heap *h, size_t a, size_t b)
{
	return heap_ent_less(h, &h->ents[a], &h->ents[b]);
}

/* Adds heap position pos to the frontier (nothing past the heap's end). */
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

/* Takes the frontier's best heap position out. */
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

/* The best item ok accepts, walking the heap best-first from the root. */
void *heap_first(const struct heap *h, bool (*ok)(const void *item, const void *arg),
		 const void *arg)
{
	struct heap_frontier f = { .v = NULL, .cap = 32 };
	void *found = NULL;

	f.v = f.local;
	heap_frontier_push(h, &f, 0);
	while (f.n > 0) {
		size_t pos = heap_frontier_pop(h, &f);
		if (ok(h->ents[pos].item, arg)) {
			found = h->ents[pos].item;
			break;
		}
		/* Children of a skipped item are the next candidates. */
		for (size_t c = HEAP_D * pos + 1; c <= HEAP_D * pos + HEAP_D; c++)
			heap_frontier_push(h, &f, c);
	}
	if (f.v != f.local)
		free(f.v);
	return found;
}
