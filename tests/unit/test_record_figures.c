/* record/figures.c: the wallboard's figures as Redis keeps them. What is
 * encoded decodes to the same counts and samples; a damaged field is
 * skipped and counted, never half-read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record/figures.h"
#include "store/store.h"

struct seen {
	int todays, histories;
	struct engine_period_stats today;
	double asa_sum;
	size_t n;
	int64_t t[8];
	double sl[8];
	uint32_t w[8];
};

static void on_today(void *arg, const char *queue, const struct engine_period_stats *t, double asa)
{
	struct seen *s = arg;

	assert_string_equal(queue, "voice-q");
	s->todays++;
	s->today = *t;
	s->asa_sum = asa;
}

static void on_history(void *arg, const char *queue, size_t n, const int64_t *t, const double *sl,
                       const uint32_t *w)
{
	struct seen *s = arg;

	assert_string_equal(queue, "voice-q");
	assert_true(n <= 8);
	s->histories++;
	s->n = n;
	memcpy(s->t, t, n * sizeof *t);
	memcpy(s->sl, sl, n * sizeof *sl);
	memcpy(s->w, w, n * sizeof *w);
}

static void test_round_trip(void **state)
{
	const int64_t t[3] = {1700000000000, 1700000015000, 1700000030000};
	const double sl[3] = {-1, 0.8, 1};
	const uint32_t w[3] = {0, 49, 121};
	struct record_figures_queue q = {.name = "voice-q", .asa_sum_ms = 12345,
	                                 .n = 3, .t_ms = t, .sl = sl, .waiting = w};
	struct seen s = {0};
	struct record_figures_sink sink = {on_today, on_history, &s};
	struct store_field *f;
	size_t n;
	int64_t day;

	(void)state;
	q.today.offered = 10;
	q.today.answered = 7;
	q.today.answered_in_sla = 6;
	q.today.abandoned_in_sla = 1;
	q.today.abandoned_after_sla = 2;
	q.today.expired = 3;
	q.today.overflowed = 4;
	f = record_figures_encode(1699990000000, &q, 1, &n);
	assert_int_equal(n, 3);
	assert_int_equal(record_figures_decode(f, n, &day, &sink), 0);
	record_figures_free(f, n);
	assert_int_equal(day, 1699990000000);
	assert_int_equal(s.todays, 1);
	assert_int_equal(s.today.offered, 10);
	assert_int_equal(s.today.answered, 7);
	assert_int_equal(s.today.answered_in_sla, 6);
	assert_int_equal(s.today.abandoned_in_sla, 1);
	assert_int_equal(s.today.abandoned_after_sla, 2);
	assert_int_equal(s.today.expired, 3);
	assert_int_equal(s.today.overflowed, 4);
	assert_true(s.asa_sum == 12345);
	assert_int_equal(s.histories, 1);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.t[2], t[2]);
	assert_true(s.sl[0] < 0);
	assert_true(s.sl[1] == 0.8);
	assert_int_equal(s.w[2], 121);
}

static void test_damaged_fields_are_skipped(void **state)
{
	const struct store_field f[] = {
	    {"day", "yesterday", 0},
	    {"q:voice-q", "1 2 3", 0},             /* too few numbers */
	    {"h:voice-q", "1:500:2,oops", 0},      /* a bad sample */
	    {"h:voice-q", "1:2000:2", 0},          /* a service level over 100 % */
	};
	struct seen s = {0};
	struct record_figures_sink sink = {on_today, on_history, &s};
	int64_t day;

	(void)state;
	assert_int_equal(record_figures_decode(f, 4, &day, &sink), 4);
	assert_int_equal(day, 0);
	assert_int_equal(s.todays, 0);
	assert_int_equal(s.histories, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_damaged_fields_are_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
