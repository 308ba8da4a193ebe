/* A class's waiting contacts (engine/cqueue.c): the top, the first item a
 * predicate accepts and iteration agree with a plain array, through
 * in-order appends, out-of-order pushes to the heap, removals from anywhere
 * (holes in the run), compaction and growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "engine/cqueue.h"

#define N_ITEMS 3000

struct item {
	int64_t k1, k2;
	size_t idx;
	uint64_t pos;
	int in;
	int seen;
};

static struct item items[N_ITEMS];

static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void item_key(const void *x, int64_t *k1, int64_t *k2)
{
	const struct item *it = x;
	*k1 = it->k1;
	*k2 = it->k2;
}

static int item_before(const struct item *a, const struct item *b)
{
	return a->k1 != b->k1 ? a->k1 < b->k1 : a->k2 < b->k2;
}

/* Odd k2 only: a predicate that skips about half the items. */
static bool item_odd(const void *x, const void *arg)
{
	(void)arg;
	return ((const struct item *)x)->k2 % 2 == 1;
}

static void check(const struct cqueue *q)
{
	const struct item *best = NULL, *best_odd = NULL;
	size_t n = 0;
	for (size_t i = 0; i < N_ITEMS; i++) {
		struct item *it = &items[i];
		it->seen = 0;
		assert_int_equal(cq_contains(q, it), it->in);
		if (!it->in)
			continue;
		n++;
		if (best == NULL || item_before(it, best))
			best = it;
		if (item_odd(it, NULL) && (best_odd == NULL || item_before(it, best_odd)))
			best_odd = it;
	}
	assert_int_equal(cq_count(q), n);
	assert_ptr_equal(cq_top(q), best);
	assert_ptr_equal(cq_first(q, item_odd, NULL), best_odd);
	if (best != NULL) {
		const struct heap_ent *t = cq_top_ent(q);
		assert_int_equal(t->k1, best->k1);
		assert_int_equal(t->k2, best->k2);
	}
	struct item *it;
	size_t visited = 0;
	for (size_t i = 0; (it = cq_next(q, &i)) != NULL; visited++) {
		assert_true(it->in);
		assert_int_equal(it->seen, 0);
		it->seen = 1;
	}
	assert_int_equal(visited, n);
}

static void run(uint32_t seed, int out_of_order_pct, int remove_pct)
{
	struct cqueue q;
	uint32_t rng = seed;
	int64_t clock = 0;

	cq_init(&q, item_key, offsetof(struct item, idx), offsetof(struct item, pos));
	for (size_t i = 0; i < N_ITEMS; i++)
		items[i] = (struct item){ .k2 = (int64_t)i, .pos = CQ_NONE, .idx = SIZE_MAX };
	for (int step = 0; step < 20000; step++) {
		struct item *it = &items[rng_next(&rng) % N_ITEMS];
		if (it->in && (int)(rng_next(&rng) % 100) < remove_pct) {
			/* Mostly the top, as dispatch does; sometimes any item. */
			struct item *victim = rng_next(&rng) % 2 ? cq_top(&q) : it;
			cq_remove(&q, victim);
			victim->in = 0;
		} else if (!it->in) {
			clock += rng_next(&rng) % 5;
			it->k1 = (int)(rng_next(&rng) % 100) < out_of_order_pct
					 ? clock - (int64_t)(rng_next(&rng) % 50)
					 : clock;
			cq_push(&q, it);
			it->in = 1;
		}
		cq_remove(&q, &items[0]); /* removing what may be absent is a no-op */
		items[0].in = 0;
		if (step % 500 == 0)
			check(&q);
	}
	check(&q);
	while (cq_count(&q) > 0) {
		struct item *top = cq_top(&q);
		cq_remove(&q, top);
		top->in = 0;
	}
	check(&q);
	cq_free(&q);
}

static void test_in_order(void **state)
{
	(void)state;
	run(1, 0, 50);
}

static void test_mixed(void **state)
{
	(void)state;
	run(2, 20, 50);
	run(3, 80, 40);
}

static void test_many_holes(void **state)
{
	(void)state;
	run(4, 5, 70); /* removals outpace pushes: holes, compaction */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order),
	    cmocka_unit_test(test_mixed),
	    cmocka_unit_test(test_many_holes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
