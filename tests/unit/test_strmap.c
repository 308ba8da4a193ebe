/* The string map (strmap.c): put/get/del, replace returns the previous
 * value, growth keeps every key, tombstone churn does not grow the table
 * without bound, iteration sees each live key exactly once, and growth is
 * incremental: keys stay findable, deletable and replaceable mid-move. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/strmap.h"

#define N_MANY 5000
#define KEY_LEN 16

/* Keys live in this table: the map does not copy them. */
static char keys[N_MANY][KEY_LEN];

/* Writes "k<i>" into keys[i] and returns it. */
static const char *key(size_t i)
{
	snprintf(keys[i], KEY_LEN, "k%u", (unsigned)i); /* i < N_MANY */
	return keys[i];
}

/* A distinct non-NULL value for index i. */
static void *val(size_t i)
{
	return (void *)(uintptr_t)(i + 1);
}

/* Basic put, get and delete, on an empty and a non-empty map. */
static void test_put_get_del(void **state)
{
	struct strmap m;

	strmap_init(&m);
	assert_null(strmap_get(&m, "a"));
	assert_null(strmap_del(&m, "a"));
	assert_int_equal(strmap_count(&m), 0);

	assert_null(strmap_put(&m, "a", val(1)));
	assert_null(strmap_put(&m, "b", val(2)));
	assert_int_equal(strmap_count(&m), 2);
	assert_ptr_equal(strmap_get(&m, "a"), val(1));
	assert_ptr_equal(strmap_get(&m, "b"), val(2));
	assert_null(strmap_get(&m, "c"));
	assert_null(strmap_get(&m, ""));

	assert_ptr_equal(strmap_del(&m, "a"), val(1));
	assert_null(strmap_get(&m, "a"));
	assert_null(strmap_del(&m, "a"));
	assert_ptr_equal(strmap_get(&m, "b"), val(2));
	assert_int_equal(strmap_count(&m), 1);

	/* Re-insert after delete (reuses a tombstone). */
	assert_null(strmap_put(&m, "a", val(3)));
	assert_ptr_equal(strmap_get(&m, "a"), val(3));
	assert_int_equal(strmap_count(&m), 2);

	/* The empty string is a key like any other. */
	assert_null(strmap_put(&m, "", val(4)));
	assert_ptr_equal(strmap_get(&m, ""), val(4));
	strmap_free(&m);
	assert_int_equal(strmap_count(&m), 0);
	assert_null(strmap_get(&m, "a"));
}

/* Putting an existing key replaces its value (and key pointer), returning
 * the previous value, without changing the count. */
static void test_replace_returns_previous(void **state)
{
	struct strmap m;
	char k1[] = "same", k2[] = "same";

	strmap_init(&m);
	assert_null(strmap_put(&m, k1, val(1)));
	assert_ptr_equal(strmap_put(&m, k2, val(2)), val(1));
	assert_int_equal(strmap_count(&m), 1);
	assert_ptr_equal(strmap_get(&m, "same"), val(2));

	/* The map now holds k2's pointer: k1 may die. */
	const char *k;
	void *v;
	size_t it = 0;
	assert_true(strmap_next(&m, &it, &k, &v));
	assert_ptr_equal(k, k2);
	assert_false(strmap_next(&m, &it, &k, &v));
	strmap_free(&m);
}

/* Thousands of keys survive every growth step; half deleted, the other
 * half still there. */
static void test_many_keys_growth(void **state)
{
	struct strmap m;

	strmap_init(&m);
	for (size_t i = 0; i < N_MANY; i++) {
		assert_null(strmap_put(&m, key(i), val(i)));
		assert_int_equal(strmap_count(&m), i + 1);
	}
	assert_true(m.cap >= N_MANY);
	assert_true((m.cap & (m.cap - 1)) == 0);
	for (size_t i = 0; i < N_MANY; i++)
		assert_ptr_equal(strmap_get(&m, keys[i]), val(i));
	for (size_t i = 0; i < N_MANY; i += 2)
		assert_ptr_equal(strmap_del(&m, keys[i]), val(i));
	assert_int_equal(strmap_count(&m), N_MANY / 2);
	for (size_t i = 0; i < N_MANY; i++) {
		if (i % 2 == 0)
			assert_null(strmap_get(&m, keys[i]));
		else
			assert_ptr_equal(strmap_get(&m, keys[i]), val(i));
	}
	strmap_free(&m);
}

/* 100000 inserts and deletes with at most 10 live keys: tombstones are
 * cleared by rehashing in place, so the slot array stays small. */
static void test_delete_churn_bounded(void **state)
{
	struct strmap m;
	size_t max_cap = 0;

	strmap_init(&m);
	for (size_t i = 0; i < 100000; i++) {
		size_t slot = i % N_MANY;
		if (i >= 10) {
			size_t old = (i - 10) % N_MANY;
			assert_ptr_equal(strmap_del(&m, keys[old]), val(old));
		}
		assert_null(strmap_put(&m, key(slot), val(slot)));
		assert_true(strmap_count(&m) <= 10);
		if (m.cap > max_cap)
			max_cap = m.cap;
	}
	assert_int_equal(strmap_count(&m), 10);
	assert_true(max_cap <= 64);
	assert_true(m.used <= m.cap * 3 / 4);
	for (size_t i = 100000 - 10; i < 100000; i++)
		assert_ptr_equal(strmap_get(&m, keys[i % N_MANY]), val(i % N_MANY));
	strmap_free(&m);
}

/* Iteration visits each live key once (deleted keys never), on a map with
 * tombstones in it. */
static void test_iteration_each_once(void **state)
{
	static int seen[N_MANY];
	struct strmap m;
	const char *k;
	void *v;
	size_t n = 0;

	strmap_init(&m);
	/* An empty, never-allocated map iterates nothing. */
	size_t it0 = 0;
	assert_false(strmap_next(&m, &it0, &k, &v));
	for (size_t i = 0; i < 1000; i++)
		strmap_put(&m, key(i), val(i));
	for (size_t i = 0; i < 1000; i += 3)
		strmap_del(&m, keys[i]);
	memset(seen, 0, sizeof seen);
	for (size_t it = 0; strmap_next(&m, &it, &k, &v);) {
		size_t i = (size_t)(uintptr_t)v - 1;
		assert_true(i < 1000);
		assert_ptr_equal(k, keys[i]);
		assert_int_not_equal(i % 3, 0);
		seen[i]++;
		n++;
	}
	assert_int_equal(n, strmap_count(&m));
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(seen[i], i % 3 == 0 ? 0 : 1);
	strmap_free(&m);
}

/* Counts the live keys iteration sees, checking each is one of keys[0, n)
 * with the value it was put with, at most once. */
static size_t iterate_count(const struct strmap *m, size_t n)
{
	static int seen[N_MANY];
	const char *k;
	void *v;
	size_t count = 0;

	memset(seen, 0, sizeof seen);
	for (size_t it = 0; strmap_next(m, &it, &k, &v);) {
		size_t i = (size_t)(uintptr_t)v - 1;
		assert_true(i < n);
		assert_ptr_equal(k, keys[i]);
		assert_int_equal(seen[i], 0);
		seen[i]++;
		count++;
	}
	return count;
}

/* Growth is incremental: once a move to a bigger array starts, every key
 * stays findable, each insert moves only a few old slots, and deletes,
 * replacements and iteration work on keys in either array until the old
 * one is gone. */
static void test_incremental_rehash(void **state)
{
	struct strmap m;
	size_t n = 0;

	strmap_init(&m);
	/* Insert until a move is under way. */
	while (m.old == NULL) {
		assert_null(strmap_put(&m, key(n), val(n)));
		n++;
		assert_true(n < N_MANY);
	}
	size_t old_cap = m.old_cap;
	assert_true(m.cap == 2 * old_cap);
	assert_true(m.moved < old_cap);
	for (size_t i = 0; i < n; i++)
		assert_ptr_equal(strmap_get(&m, keys[i]), val(i));
	assert_int_equal(iterate_count(&m, n), n);

	/* Keys still in the old array (the last slots are moved last): delete
	 * one, replace another, by a different pointer to the same text. */
	size_t del_i = SIZE_MAX, rep_i = SIZE_MAX;
	for (size_t i = 0; i < n && (del_i == SIZE_MAX || rep_i == SIZE_MAX); i++) {
		const struct strmap_slot *s = NULL;
		for (size_t j = m.moved; j < m.old_cap; j++)
			if (m.old[j].key == keys[i])
				s = &m.old[j];
		if (s == NULL)
			continue;
		if (del_i == SIZE_MAX)
			del_i = i;
		else
			rep_i = i;
	}
	assert_true(del_i != SIZE_MAX && rep_i != SIZE_MAX);
	assert_ptr_equal(strmap_del(&m, keys[del_i]), val(del_i));
	assert_null(strmap_get(&m, keys[del_i]));
	assert_null(strmap_del(&m, keys[del_i]));
	static char copy[KEY_LEN];
	memcpy(copy, keys[rep_i], KEY_LEN);
	size_t live = strmap_count(&m);
	assert_ptr_equal(strmap_put(&m, copy, val(rep_i)), val(rep_i));
	assert_int_equal(strmap_count(&m), live);
	assert_ptr_equal(strmap_get(&m, keys[rep_i]), val(rep_i));
	memcpy(keys[rep_i], copy, KEY_LEN); /* iterate_count compares pointers */

	/* Each insert moves at most a few slots, until the move ends. */
	while (m.old != NULL) {
		size_t before = m.moved;
		assert_null(strmap_put(&m, key(n), val(n)));
		n++;
		if (m.old != NULL)
			assert_true(m.moved - before <= 8);
	}
	assert_int_equal(m.old_cap, 0);
	assert_int_equal(strmap_count(&m), n - 1);
	for (size_t i = 0; i < n; i++) {
		if (i == del_i)
			assert_null(strmap_get(&m, keys[i]));
		else
			assert_ptr_equal(strmap_get(&m, keys[i]), val(i));
	}
	strmap_free(&m);
}

/* Deleting while iterating (during a move) visits every surviving key once
 * and leaves the map consistent. */
static void test_delete_while_iterating_during_move(void **state)
{
	struct strmap m;
	const char *k;
	void *v;
	size_t n = 0, visited = 0;

	strmap_init(&m);
	while (m.old == NULL) {
		strmap_put(&m, key(n), val(n));
		n++;
	}
	for (size_t it = 0; strmap_next(&m, &it, &k, &v);) {
		size_t i = (size_t)(uintptr_t)v - 1;
		visited++;
		if (i % 2 == 0)
			assert_ptr_equal(strmap_del(&m, k), val(i));
	}
	assert_int_equal(visited, n);
	assert_int_equal(strmap_count(&m), n / 2);
	for (size_t i = 0; i < n; i++) {
		if (i % 2 == 0)
			assert_null(strmap_get(&m, keys[i]));
		else
			assert_ptr_equal(strmap_get(&m, keys[i]), val(i));
	}
	strmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_get_del),
	    cmocka_unit_test(test_replace_returns_previous),
	    cmocka_unit_test(test_many_keys_growth),
	    cmocka_unit_test(test_delete_churn_bounded),
	    cmocka_unit_test(test_iteration_each_once),
	    cmocka_unit_test(test_incremental_rehash),
	    cmocka_unit_test(test_delete_while_iterating_during_move),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
