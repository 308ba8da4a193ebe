/* The load generator's latency histogram (bench/load_hist.c): percentiles
 * within its stated relative error of the exact ones, an exact maximum,
 * and the edges (empty, one sample, huge values). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "load_hist.h"

/* Exact quantile of 0..n-1 by the same rank rule: the ceil(q*n)-th value. */
static uint64_t exact(uint64_t n, double q)
{
	uint64_t rank = (uint64_t)(q * (double)n);

	if ((double)rank < q * (double)n)
		rank++;
	return rank == 0 ? 0 : rank - 1;
}

static void test_quantiles_within_error(void **state)
{
	static struct load_hist h;
	static const double qs[] = {0.5, 0.9, 0.99, 0.999};
	const uint64_t n = 2000000;

	(void)state;
	load_hist_init(&h);
	for (uint64_t v = 0; v < n; v++)
		load_hist_add(&h, v);
	assert_int_equal(h.n, n);
	assert_int_equal(h.max, n - 1);
	assert_int_equal(load_hist_quantile(&h, 1.0), n - 1);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t want = exact(n, qs[i]), got = load_hist_quantile(&h, qs[i]);

		/* The bucket's upper edge: never below, at most 1/128 above. */
		assert_true(got >= want);
		assert_true((double)(got - want) <= (double)want / LOAD_HIST_SUB + 1);
	}
	assert_true(load_hist_mean(&h) > (double)(n / 2) - 1.0);
	assert_true(load_hist_mean(&h) < (double)(n / 2));
}

static void test_small_values_exact(void **state)
{
	static struct load_hist h;

	(void)state;
	load_hist_init(&h);
	for (uint64_t v = 1; v <= 100; v++)
		load_hist_add(&h, v);
	assert_int_equal(load_hist_quantile(&h, 0.5), 50);
	assert_int_equal(load_hist_quantile(&h, 0.9), 90);
	assert_int_equal(load_hist_quantile(&h, 0.99), 99);
}

static void test_edges(void **state)
{
	static struct load_hist h;

	(void)state;
	load_hist_init(&h);
	assert_int_equal(load_hist_quantile(&h, 0.5), 0);
	assert_true(load_hist_mean(&h) == 0.0);
	load_hist_add(&h, 7);
	assert_int_equal(load_hist_quantile(&h, 0.0), 7);
	assert_int_equal(load_hist_quantile(&h, 0.999), 7);
	/* Beyond the last bucket: counted in it, the maximum still exact. */
	load_hist_add(&h, UINT64_MAX / 2);
	assert_int_equal(h.max, UINT64_MAX / 2);
	assert_int_equal(load_hist_quantile(&h, 1.0), UINT64_MAX / 2);
	assert_true(load_hist_quantile(&h, 0.99) <= UINT64_MAX / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quantiles_within_error),
	    cmocka_unit_test(test_small_values_exact),
	    cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
