/* An intrusive binary min-heap of pointers. Each element stores its own
 * position (a size_t at idx_off), so removal and re-keying are O(log n)
 * without a search: the engine's waiting queues and its timers use it. */
#ifndef SB_ENGINE_HEAP_H
#define SB_ENGINE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_NONE SIZE_MAX

typedef bool (*heap_less_fn)(const void *a, const void *b);

/* Owner: whoever embeds it; the heap owns only its pointer array. */
struct heap {
	void **items;
	size_t n, cap;
	heap_less_fn less;
	size_t idx_off; /* offsetof(element, its size_t heap index) */
};

void heap_init(struct heap *h, heap_less_fn less, size_t idx_off);
void heap_free(struct heap *h);
void heap_push(struct heap *h, void *item);
void *heap_top(const struct heap *h);
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
