/* sb-load's per-session wake-up heap (bench/load_timers.c): times come out
 * earliest first, only when due; moving a time earlier or later, clearing
 * one, and setting the same time again all keep the order; a random run is
 * checked against a plain array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "load_timers.h"

static void test_due_in_order(void **state)
{
	struct load_timers t;
	uint32_t id;

	(void)state;
	load_timers_init(&t, 5);
	assert_int_equal(load_timers_next(&t), INT64_MAX);
	assert_false(load_timers_pop_due(&t, INT64_MAX, &id));
	load_timers_set(&t, 0, 50);
	load_timers_set(&t, 1, 10);
	load_timers_set(&t, 2, 30);
	load_timers_set(&t, 3, 20);
	load_timers_set(&t, 4, 40);
	assert_int_equal(load_timers_count(&t), 5);
	assert_int_equal(load_timers_next(&t), 10);
	assert_false(load_timers_pop_due(&t, 9, &id)); /* nothing due yet */
	assert_true(load_timers_pop_due(&t, 25, &id));
	assert_int_equal(id, 1);
	assert_true(load_timers_pop_due(&t, 25, &id));
	assert_int_equal(id, 3);
	assert_false(load_timers_pop_due(&t, 25, &id));
	assert_int_equal(load_timers_count(&t), 3);
	load_timers_free(&t);
}

static void test_move_and_clear(void **state)
{
	struct load_timers t;
	uint32_t id;

	(void)state;
	load_timers_init(&t, 4);
	load_timers_set(&t, 0, 100);
	load_timers_set(&t, 1, 200);
	load_timers_set(&t, 2, 300);
	load_timers_set(&t, 3, 400);
	load_timers_set(&t, 3, 50);  /* earlier: to the top */
	assert_int_equal(load_timers_next(&t), 50);
	load_timers_set(&t, 3, 500); /* later: to the bottom */
	load_timers_set(&t, 1, 200); /* the same time: no change */
	load_timers_clear(&t, 0);
	load_timers_clear(&t, 0);    /* twice: harmless */
	load_timers_set(&t, 9, 1);   /* out of range: ignored */
	assert_int_equal(load_timers_count(&t), 3);
	assert_true(load_timers_pop_due(&t, 1000, &id));
	assert_int_equal(id, 1);
	assert_true(load_timers_pop_due(&t, 1000, &id));
	assert_int_equal(id, 2);
	assert_true(load_timers_pop_due(&t, 1000, &id));
	assert_int_equal(id, 3);
	assert_false(load_timers_pop_due(&t, 1000, &id));
	load_timers_set(&t, 0, 7); /* cleared ids can be set again */
	assert_int_equal(load_timers_next(&t), 7);
	load_timers_free(&t);
}

/* Random sets, moves and clears against a plain array of times. */
static void test_random_against_array(void **state)
{
	enum { N = 200, STEPS = 20000 };
	static int64_t want[N];
	struct load_timers t;
	uint64_t x = 88172645463325252ull;
	uint32_t id;

	(void)state;
	for (size_t i = 0; i < N; i++)
		want[i] = -1; /* unset */
	load_timers_init(&t, N);
	for (int step = 0; step < STEPS; step++) {
		uint32_t k;
		int64_t earliest = INT64_MAX;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		k = (uint32_t)(x % N);
		if (x % 5 == 0) {
			load_timers_clear(&t, k);
			want[k] = -1;
		} else {
			want[k] = (int64_t)((x >> 20) % 1000); /* ties on purpose */
			load_timers_set(&t, k, want[k]);
		}
		for (size_t i = 0; i < N; i++)
			if (want[i] >= 0 && want[i] < earliest)
				earliest = want[i];
		assert_int_equal(load_timers_next(&t), earliest);
		if (step % 97 == 0 && earliest != INT64_MAX) {
			assert_true(load_timers_pop_due(&t, earliest, &id));
			assert_int_equal(want[id], earliest);
			want[id] = -1;
		}
	}
	/* Everything left comes out in order. */
	for (int64_t last = -1; load_timers_pop_due(&t, INT64_MAX - 1, &id);) {
		assert_true(want[id] >= last);
		last = want[id];
		want[id] = -1;
	}
	for (size_t i = 0; i < N; i++)
		assert_int_equal(want[i], -1);
	load_timers_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_due_in_order),
	    cmocka_unit_test(test_move_and_clear),
	    cmocka_unit_test(test_random_against_array),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
