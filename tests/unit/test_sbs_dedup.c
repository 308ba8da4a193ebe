/* The client's redelivery filter (client/sbsession.c, sbs_dedup): it starts
 * small and grows, and across every growth it still catches a redelivered
 * id and forgets the oldest first once the window is full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "sbsession.h"

static void id_of(char *buf, size_t len, int i)
{
	snprintf(buf, len, "c-%d/%d", i, i % 7);
}

/* Far more ids than the initial ring, fewer than the window: all kept. */
static void test_grows_and_remembers(void **state)
{
	struct sbs_dedup *d = sbs_dedup_new(65536);
	char id[32];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		id_of(id, sizeof(id), i);
		assert_false(sbs_dedup_seen(d, id));
		/* Redelivered at once, and an early one again later. */
		assert_true(sbs_dedup_seen(d, id));
		id_of(id, sizeof(id), i / 3);
		assert_true(sbs_dedup_seen(d, id));
	}
	assert_int_equal(sbs_dedup_count(d), 5000);
	sbs_dedup_free(d);
}

/* A window that is not a power of two, reached by growing: the last 40
 * are remembered, the older ones forgotten in arrival order. */
static void test_window_after_growth(void **state)
{
	struct sbs_dedup *d = sbs_dedup_new(40);
	char id[32];

	(void)state;
	for (int i = 0; i < 100; i++) {
		id_of(id, sizeof(id), i);
		assert_false(sbs_dedup_seen(d, id));
	}
	assert_int_equal(sbs_dedup_count(d), 40);
	for (int i = 60; i < 100; i++) {
		id_of(id, sizeof(id), i);
		assert_true(sbs_dedup_seen(d, id));
	}
	id_of(id, sizeof(id), 59);
	assert_false(sbs_dedup_seen(d, id)); /* forgotten: new again, evicts 60 */
	id_of(id, sizeof(id), 60);
	assert_false(sbs_dedup_seen(d, id));
	assert_int_equal(sbs_dedup_count(d), 40);
	assert_false(sbs_dedup_seen(d, ""));
	assert_false(sbs_dedup_seen(d, NULL));
	sbs_dedup_free(d);
}

/* Freed part-way through a growth step (no leak under ASan), and a
 * window of one. */
static void test_small_and_partial(void **state)
{
	struct sbs_dedup *d = sbs_dedup_new(1);
	char id[32];

	(void)state;
	assert_false(sbs_dedup_seen(d, "a"));
	assert_true(sbs_dedup_seen(d, "a"));
	assert_false(sbs_dedup_seen(d, "b"));
	assert_false(sbs_dedup_seen(d, "a"));
	assert_int_equal(sbs_dedup_count(d), 1);
	sbs_dedup_free(d);
	d = sbs_dedup_new(1000);
	for (int i = 0; i < 21; i++) {
		id_of(id, sizeof(id), i);
		assert_false(sbs_dedup_seen(d, id));
	}
	sbs_dedup_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grows_and_remembers),
	    cmocka_unit_test(test_window_after_growth),
	    cmocka_unit_test(test_small_and_partial),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
