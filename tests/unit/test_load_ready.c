/* sb-load's ready list (bench/load_ready.c): first in, first out; an id
 * queued once however often it is pushed; ids out of range refused; the
 * ring wraps around without losing or repeating an id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "load_ready.h"

static void test_fifo_once_each(void **state)
{
	struct load_ready r;
	uint32_t id;

	(void)state;
	load_ready_init(&r, 4);
	assert_false(load_ready_pop(&r, &id));
	assert_true(load_ready_push(&r, 2));
	assert_true(load_ready_push(&r, 0));
	assert_false(load_ready_push(&r, 2)); /* already queued: no second entry */
	assert_false(load_ready_push(&r, 4)); /* out of range */
	assert_int_equal(load_ready_count(&r), 2);
	assert_true(load_ready_has(&r, 2));
	assert_false(load_ready_has(&r, 1));
	assert_true(load_ready_pop(&r, &id));
	assert_int_equal(id, 2);
	assert_false(load_ready_has(&r, 2));
	assert_true(load_ready_push(&r, 2)); /* popped: may come back */
	assert_true(load_ready_pop(&r, &id));
	assert_int_equal(id, 0);
	assert_true(load_ready_pop(&r, &id));
	assert_int_equal(id, 2);
	assert_false(load_ready_pop(&r, &id));
	assert_int_equal(load_ready_count(&r), 0);
	load_ready_free(&r);
}

/* Every id at once, many times round the ring, in a rotating order. */
static void test_full_and_wrapping(void **state)
{
	enum { N = 7 };
	struct load_ready r;
	uint32_t id;

	(void)state;
	load_ready_init(&r, N);
	for (uint32_t round = 0; round < 50; round++) {
		for (uint32_t k = 0; k < N; k++)
			assert_true(load_ready_push(&r, (k + round) % N));
		assert_int_equal(load_ready_count(&r), N);
		for (uint32_t k = 0; k < N; k++)
			assert_false(load_ready_push(&r, k));
		/* Half out, then back in: the ring's head moves on. */
		for (uint32_t k = 0; k < N / 2 + round % 2; k++) {
			assert_true(load_ready_pop(&r, &id));
			assert_int_equal(id, (k + round) % N);
		}
		for (uint32_t k = N / 2 + round % 2; k < N; k++) {
			assert_true(load_ready_pop(&r, &id));
			assert_int_equal(id, (k + round) % N);
		}
		assert_false(load_ready_pop(&r, &id));
	}
	load_ready_free(&r);
}

static void test_empty_list(void **state)
{
	struct load_ready r;
	uint32_t id;

	(void)state;
	load_ready_init(&r, 0);
	assert_false(load_ready_push(&r, 0));
	assert_false(load_ready_pop(&r, &id));
	load_ready_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fifo_once_each),
	    cmocka_unit_test(test_full_and_wrapping),
	    cmocka_unit_test(test_empty_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
