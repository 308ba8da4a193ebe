/* An intrusive min-heap of pointers, four children a node (heap.c). Each
 * element stores its own position (a size_t at idx_off), so removal and
 * re-keying are O(log n) without a search: the engine's waiting queues and
 * its timers use it.
 *
 * A heap made with heap_init_keyed keeps each element's key (two int64s)
 * next to its pointer in the array, read once when the element is pushed or
 * updated: sifting then compares array entries instead of following a
 * pointer per comparison, which at 100 000+ elements was a cache miss each.
 * The less function, if any, only breaks ties between equal keys. */
#ifndef SB_ENGINE_HEAP_H
#define SB_ENGINE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_NONE SIZE_MAX

typedef bool (*heap_less_fn)(const void *a, const void *b);
/* An element's key; the heap orders by (k1, k2), then by less. */
typedef void (*heap_key_fn)(const void *item, int64_t *k1, int64_t *k2);

struct heap_ent {
	int64_t k1, k2;
	void *item;
};

/* Owner: whoever embeds it; the heap owns only its entry array. */
struct heap {
	struct heap_ent *ents;
	size_t n, cap;
	heap_key_fn key;   /* NULL: every key is (0, 0), less decides */
	heap_less_fn less; /* NULL: equal keys are equal */
	size_t idx_off;    /* offsetof(element, its size_t heap index) */
};

void heap_init(struct heap *h, heap_less_fn less, size_t idx_off);
void heap_init_keyed(struct heap *h, heap_key_fn key, heap_less_fn tie, size_t idx_off);
void heap_free(struct heap *h);
void heap_push(struct heap *h, void *item);
void *heap_top(const struct heap *h);
/* The top entry, key included, or NULL: compare tops without touching them. */
const struct heap_ent *heap_top_ent(const struct heap *h);
/* The i-th element of the array (i < h->n), in no particular order. */
void *heap_at(const struct heap *h, size_t i);
void *heap_pop(struct heap *h);
/* Removes item if it is in the heap; a no-op otherwise. */
void heap_remove(struct heap *h, void *item);
/* Restores order after item's key changed. */
void heap_update(struct heap *h, void *item);
bool heap_contains(const struct heap *h, const void *item);
/* The best item for which ok(item, arg) holds, or NULL. Walks the heap
 * best-first from the root, so skipping k items costs O(k log k), not a
 * scan of the heap. */
void *heap_first(const struct heap *h, bool (*ok)(const void *item, const void *arg),
		 const void *arg);

#endif
