/* The order-statistic treap (engine/ostree.c): the rank insert returns and
 * ostree_rank agree with a sorted array, through inserts, removals from
 * anywhere and ties on the first key, and the count follows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "engine/ostree.h"

#define N_NODES 2000

/* A deterministic generator, so a failure reproduces. */
static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static struct ostnode nodes[N_NODES];
static int in_tree[N_NODES];

/* Nodes in the tree ordered before n, counted the slow way. */
static uint32_t slow_rank(const struct ostnode *n)
{
	uint32_t r = 0;
	for (size_t i = 0; i < N_NODES; i++) {
		const struct ostnode *m = &nodes[i];
		if (in_tree[i] && (m->k1 < n->k1 || (m->k1 == n->k1 && m->k2 < n->k2)))
			r++;
	}
	return r;
}

static void check_all(const struct ostree *t, uint32_t expect_count)
{
	assert_int_equal(ostree_count(t), expect_count);
	for (size_t i = 0; i < N_NODES; i++)
		if (in_tree[i])
			assert_int_equal(ostree_rank(t, &nodes[i]), slow_rank(&nodes[i]));
}

/* Random keys with many ties on k1 (k2 unique, like deadline and submit
 * order): every rank right after each insert, after removals from the
 * middle, and after re-inserting. */
static void test_ranks_through_inserts_and_removals(void **state)
{
	struct ostree t;
	uint32_t seed = 2024, count = 0;

	ostree_init(&t);
	assert_int_equal(ostree_count(&t), 0);
	for (size_t i = 0; i < N_NODES; i++) {
		nodes[i].k1 = (int64_t)(rng_next(&seed) % 300);
		nodes[i].k2 = (int64_t)i;
		uint32_t expect = slow_rank(&nodes[i]);
		assert_int_equal(ostree_insert(&t, &nodes[i]), expect);
		in_tree[i] = 1;
		count++;
	}
	check_all(&t, count);
	for (size_t i = 0; i < N_NODES; i += 3) {
		ostree_remove(&t, &nodes[i]);
		in_tree[i] = 0;
		count--;
	}
	check_all(&t, count);
	/* Back in, with new keys (a transfer re-enters with a new deadline). */
	for (size_t i = 0; i < N_NODES; i += 3) {
		nodes[i].k1 = (int64_t)(rng_next(&seed) % 300) - 100;
		uint32_t expect = slow_rank(&nodes[i]);
		assert_int_equal(ostree_insert(&t, &nodes[i]), expect);
		in_tree[i] = 1;
		count++;
	}
	check_all(&t, count);
	/* Empty it from the front, as routing does. */
	while (count > 0) {
		size_t best = N_NODES;
		for (size_t i = 0; i < N_NODES; i++)
			if (in_tree[i] && (best == N_NODES || nodes[i].k1 < nodes[best].k1 ||
					   (nodes[i].k1 == nodes[best].k1 &&
					    nodes[i].k2 < nodes[best].k2)))
				best = i;
		assert_true(best < N_NODES);
		assert_int_equal(ostree_rank(&t, &nodes[best]), 0);
		ostree_remove(&t, &nodes[best]);
		in_tree[best] = 0;
		count--;
		assert_int_equal(ostree_count(&t), count);
	}
	assert_null(t.root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ranks_through_inserts_and_removals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
