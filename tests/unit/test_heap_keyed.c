/* The keyed heap (engine/heap.c, heap_init_keyed): keys kept beside the
 * pointers order pops like a sort by (k1, k2, tie), re-keying through
 * heap_update and removal from anywhere keep that order, heap_top_ent
 * shows the top's key, and heap_first finds the best element a predicate
 * accepts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "engine/heap.h"

#define N_ITEMS 3000

struct item {
	int64_t k1, k2;
	int tie; /* third key, seen only through the tie function */
	size_t idx;
};

static struct item items[N_ITEMS];
static struct item *sorted[N_ITEMS];

static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void item_key(const void *p, int64_t *k1, int64_t *k2)
{
	const struct item *it = p;
	*k1 = it->k1;
	*k2 = it->k2;
}

static bool item_tie(const void *a, const void *b)
{
	return ((const struct item *)a)->tie < ((const struct item *)b)->tie;
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = *(struct item *const *)a, *y = *(struct item *const *)b;
	if (x->k1 != y->k1)
		return x->k1 < y->k1 ? -1 : 1;
	if (x->k2 != y->k2)
		return x->k2 < y->k2 ? -1 : 1;
	return (x->tie > y->tie) - (x->tie < y->tie);
}

/* Small key ranges, so (k1, k2) ties are common and the tie key decides;
 * tie values are distinct, so the order is total. */
static void fill(struct heap *h, uint32_t seed)
{
	heap_init_keyed(h, item_key, item_tie, offsetof(struct item, idx));
	for (size_t i = 0; i < N_ITEMS; i++) {
		items[i].k1 = (int64_t)(rng_next(&seed) % 20) - 10;
		items[i].k2 = (int64_t)(rng_next(&seed) % 5);
		items[i].tie = (int)i * 7 % N_ITEMS;
		items[i].idx = HEAP_NONE;
		heap_push(h, &items[i]);
	}
}

/* Pops everything; each pop must be the least of what is left. */
static void drain_sorted(struct heap *h)
{
	size_t n = 0;
	for (size_t i = 0; i < N_ITEMS; i++)
		if (heap_contains(h, &items[i]))
			sorted[n++] = &items[i];
	assert_int_equal(n, h->n);
	qsort(sorted, n, sizeof *sorted, item_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct heap_ent *top = heap_top_ent(h);
		assert_non_null(top);
		assert_ptr_equal(top->item, sorted[i]);
		assert_true(top->k1 == sorted[i]->k1 && top->k2 == sorted[i]->k2);
		assert_ptr_equal(heap_pop(h), sorted[i]);
		assert_true(sorted[i]->idx == HEAP_NONE);
	}
	assert_null(heap_top_ent(h));
	assert_null(heap_top(h));
}

static void test_pops_in_key_then_tie_order(void **state)
{
	struct heap h;

	fill(&h, 31337);
	drain_sorted(&h);
	heap_free(&h);
}

/* Keys change (through heap_update) and elements leave from anywhere. */
static void test_update_and_remove_keep_order(void **state)
{
	struct heap h;
	uint32_t seed = 4711;

	fill(&h, 8080);
	for (size_t i = 0; i < N_ITEMS; i += 5) {
		items[i].k1 = (int64_t)(rng_next(&seed) % 40) - 20;
		heap_update(&h, &items[i]);
	}
	for (size_t i = 1; i < N_ITEMS; i += 4) {
		heap_remove(&h, &items[i]);
		assert_false(heap_contains(&h, &items[i]));
	}
	drain_sorted(&h);
	heap_free(&h);
}

/* Only odd tie values are acceptable: heap_first returns the least of
 * them without removing anything. */
static bool odd_tie(const void *item, const void *arg)
{
	(void)arg;
	return ((const struct item *)item)->tie % 2 == 1;
}

static void test_first_accepted(void **state)
{
	struct heap h;
	struct item *best = NULL;

	fill(&h, 99);
	for (size_t i = 0; i < N_ITEMS; i++) {
		struct item *p = &items[i];
		if (odd_tie(p, NULL) && (best == NULL || item_cmp(&p, &best) < 0))
			best = p;
	}
	size_t n = h.n;
	assert_ptr_equal(heap_first(&h, odd_tie, NULL), best);
	assert_int_equal(h.n, n);
	heap_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pops_in_key_then_tie_order),
	    cmocka_unit_test(test_update_and_remove_keep_order),
	    cmocka_unit_test(test_first_accepted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
