/* The intrusive min-heap (engine/heap.c): pops come out in key order
 * (checked against qsort), removal from anywhere and re-keying keep the
 * order, and an element knows whether it is in the heap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "engine/heap.h"

#define N_ITEMS 1000

/* An element: a key and the heap's slot for its own index. */
struct item {
	int key;
	size_t idx;
};

/* A deterministic generator, so a failure reproduces. */
static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Orders items by key. */
static bool item_less(const void *a, const void *b)
{
	return ((const struct item *)a)->key < ((const struct item *)b)->key;
}

/* qsort comparator for plain ints. */
static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* An empty heap over struct item. */
static void heap_new(struct heap *h)
{
	heap_init(h, item_less, offsetof(struct item, idx));
}

/* Fills items with random keys (some repeated) and pushes them all. */
static void fill(struct heap *h, struct item *items, int *keys, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		items[i].key = (int)(rng_next(&seed) % 500);
		items[i].idx = HEAP_NONE;
		keys[i] = items[i].key;
		heap_push(h, &items[i]);
	}
}

/* Pops everything and checks the keys come out equal to sorted[0..n). */
static void drain_equals(struct heap *h, const int *sorted, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct item *it = heap_pop(h);
		assert_non_null(it);
		assert_int_equal(it->key, sorted[i]);
		assert_true(it->idx == HEAP_NONE);
	}
	assert_int_equal(h->n, 0);
	assert_null(heap_top(h));
	assert_null(heap_pop(h));
}

/* Random keys pop in the order qsort gives. */
static void test_pop_order_matches_qsort(void **state)
{
	static struct item items[N_ITEMS];
	static int keys[N_ITEMS];
	struct heap h;

	heap_new(&h);
	assert_null(heap_top(&h));
	fill(&h, items, keys, N_ITEMS, 12345);
	assert_int_equal(h.n, N_ITEMS);
	qsort(keys, N_ITEMS, sizeof *keys, int_cmp);
	assert_int_equal(((struct item *)heap_top(&h))->key, keys[0]);
	drain_equals(&h, keys, N_ITEMS);
	heap_free(&h);
}

/* Removing elements from the middle (and the last slot) keeps the rest in
 * order; removing something absent is a no-op. */
static void test_remove_middle(void **state)
{
	static struct item items[N_ITEMS];
	static int keys[N_ITEMS];
	static int rest[N_ITEMS];
	struct heap h;
	size_t n_rest = 0;

	heap_new(&h);
	fill(&h, items, keys, N_ITEMS, 777);
	for (size_t i = 0; i < N_ITEMS; i++) {
		if (i % 3 == 1) {
			heap_remove(&h, &items[i]);
			assert_false(heap_contains(&h, &items[i]));
			assert_true(items[i].idx == HEAP_NONE);
			heap_remove(&h, &items[i]); /* twice: still a no-op */
		} else {
			rest[n_rest++] = items[i].key;
		}
	}
	assert_int_equal(h.n, n_rest);
	/* The element in the last array slot is a special case. */
	struct item *last = heap_at(&h, h.n - 1);
	for (size_t i = 0; i < n_rest; i++)
		if (rest[i] == last->key) {
			rest[i] = rest[--n_rest];
			break;
		}
	heap_remove(&h, last);
	assert_int_equal(h.n, n_rest);
	qsort(rest, n_rest, sizeof *rest, int_cmp);
	drain_equals(&h, rest, n_rest);
	heap_free(&h);
}

/* heap_update restores order after keys go down and up. */
static void test_update_after_key_change(void **state)
{
	static struct item items[N_ITEMS];
	static int keys[N_ITEMS];
	struct heap h;
	uint32_t seed = 99;

	heap_new(&h);
	fill(&h, items, keys, N_ITEMS, 4242);
	for (size_t i = 0; i < N_ITEMS; i += 7) {
		items[i].key = (int)(rng_next(&seed) % 1000) - 250;
		heap_update(&h, &items[i]);
	}
	/* The maximum becomes the minimum and the reverse. */
	struct item *top = heap_top(&h);
	top->key = 100000;
	heap_update(&h, top);
	items[500].key = -100000;
	heap_update(&h, &items[500]);
	assert_ptr_equal(heap_top(&h), &items[500]);

	for (size_t i = 0; i < N_ITEMS; i++)
		keys[i] = items[i].key;
	qsort(keys, N_ITEMS, sizeof *keys, int_cmp);
	drain_equals(&h, keys, N_ITEMS);
	heap_free(&h);
}

/* heap_contains follows push, pop and remove, and tells two heaps apart. */
static void test_contains(void **state)
{
	struct item a = {1, HEAP_NONE}, b = {2, HEAP_NONE}, c = {3, HEAP_NONE};
	struct item other = {0, HEAP_NONE};
	struct heap h, h2;

	heap_new(&h);
	heap_new(&h2);
	assert_false(heap_contains(&h, &a));
	heap_push(&h, &a);
	heap_push(&h, &b);
	heap_push(&h, &c);
	heap_push(&h2, &other);
	assert_true(heap_contains(&h, &a));
	assert_true(heap_contains(&h, &b));
	assert_true(heap_contains(&h, &c));
	/* other's index (0) is valid in h, but h's slot 0 holds a. */
	assert_false(heap_contains(&h, &other));
	assert_false(heap_contains(&h2, &b));

	assert_ptr_equal(heap_pop(&h), &a);
	assert_false(heap_contains(&h, &a));
	heap_remove(&h, &c);
	assert_false(heap_contains(&h, &c));
	assert_true(heap_contains(&h, &b));
	assert_int_equal(h.n, 1);
	heap_free(&h);
	heap_free(&h2);
}

/* Every way out of the heap leaves the index at HEAP_NONE, and the element
 * can be pushed again. */
static void test_none_after_removal(void **state)
{
	struct item it[4] = {{4, HEAP_NONE}, {3, HEAP_NONE}, {2, HEAP_NONE}, {1, HEAP_NONE}};
	struct heap h;

	heap_new(&h);
	for (int i = 0; i < 4; i++)
		heap_push(&h, &it[i]);
	for (int i = 0; i < 4; i++)
		assert_true(it[i].idx < h.n);
	heap_remove(&h, &it[1]);
	assert_true(it[1].idx == HEAP_NONE);
	struct item *p = heap_pop(&h);
	assert_ptr_equal(p, &it[3]);
	assert_true(p->idx == HEAP_NONE);
	heap_remove(&h, &it[0]);
	assert_true(it[0].idx == HEAP_NONE);
	assert_ptr_equal(heap_pop(&h), &it[2]);
	assert_true(it[2].idx == HEAP_NONE);
	assert_int_equal(h.n, 0);

	heap_push(&h, &it[1]);
	assert_true(heap_contains(&h, &it[1]));
	assert_ptr_equal(heap_pop(&h), &it[1]);
	assert_true(it[1].idx == HEAP_NONE);
	heap_free(&h);
	assert_null(h.ents);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pop_order_matches_qsort), cmocka_unit_test(test_remove_middle),
	    cmocka_unit_test(test_update_after_key_change), cmocka_unit_test(test_contains),
	    cmocka_unit_test(test_none_after_removal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
