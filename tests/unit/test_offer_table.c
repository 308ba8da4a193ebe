/* The offer table (engine/offer_table.c): every listed offer is found by its
 * id, removed ones are not, through growth, removals from anywhere in a
 * probe run (backward shift) and keys shared by different ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/internal.h"

#define N_OFFERS 5000

static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static struct econtact contacts[N_OFFERS];

static void engine_with_head(struct engine *e)
{
	memset(e, 0, sizeof *e);
	e->offer_head = "o-T-";
	e->offer_head_len = 4;
}

static void check_all(const struct engine *e, const struct offer_table *t)
{
	size_t live = 0;
	for (size_t i = 0; i < N_OFFERS; i++) {
		const struct econtact *c = &contacts[i];
		const struct econtact *got = offer_table_get(t, offer_table_key(e, c->offer_id), c->offer_id);
		assert_ptr_equal(got, c->offer_listed ? c : NULL);
		live += c->offer_listed;
	}
	assert_int_equal(t->live, live);
}

static void test_keys(void **state)
{
	(void)state;
	struct engine e;
	engine_with_head(&e);
	assert_int_equal(offer_table_key(&e, "o-T-1"), 1);
	assert_int_equal(offer_table_key(&e, "o-T-1234567"), 1234567);
	/* Not ours: hashed, and two different ones do not share it by rule. */
	assert_int_not_equal(offer_table_key(&e, "o-U-1"), offer_table_key(&e, "o-V-1"));
	assert_int_not_equal(offer_table_key(&e, "o-T-12a"), 12);
	assert_int_not_equal(offer_table_key(&e, "o-T-"), offer_table_key(&e, "o-T-0"));
}

static void test_add_find_remove(void **state)
{
	(void)state;
	struct engine e;
	struct offer_table t = { 0 };
	uint32_t rng = 12345;

	engine_with_head(&e);
	memset(contacts, 0, sizeof contacts);
	for (size_t i = 0; i < N_OFFERS; i++) {
		struct econtact *c = &contacts[i];
		snprintf(c->offer_id, sizeof c->offer_id, "o-T-%zu", i + 1);
		offer_table_add(&t, c, offer_table_key(&e, c->offer_id));
		assert_int_equal(c->offer_key, i + 1);
		if (i % 997 == 0)
			check_all(&e, &t); /* across every growth */
	}
	check_all(&e, &t);
	/* Remove in random order, re-add some under new numbers. */
	for (int round = 0; round < 4; round++) {
		for (size_t k = 0; k < N_OFFERS / 2; k++) {
			struct econtact *c = &contacts[rng_next(&rng) % N_OFFERS];
			offer_table_remove(&t, c); /* not listed: nothing */
		}
		check_all(&e, &t);
		for (size_t i = 0; i < N_OFFERS; i++) {
			struct econtact *c = &contacts[i];
			if (!c->offer_listed && rng_next(&rng) % 2 == 0) {
				snprintf(c->offer_id, sizeof c->offer_id, "o-T-%zu",
					 (size_t)(round + 1) * N_OFFERS + i + 1);
				offer_table_add(&t, c, offer_table_key(&e, c->offer_id));
			}
		}
		check_all(&e, &t);
	}
	for (size_t i = 0; i < N_OFFERS; i++)
		offer_table_remove(&t, &contacts[i]);
	check_all(&e, &t);
	assert_int_equal(t.live, 0);
	offer_table_free(&t);
}

/* Ids that share a key (hash collisions, or a restored id that spells one
 * of our numbers differently) are told apart by the id itself. */
static void test_shared_keys(void **state)
{
	(void)state;
	struct engine e;
	struct offer_table t = { 0 };

	engine_with_head(&e);
	memset(contacts, 0, sizeof contacts);
	for (size_t i = 0; i < 200; i++) {
		snprintf(contacts[i].offer_id, sizeof contacts[i].offer_id, "x-%zu", i);
		offer_table_add(&t, &contacts[i], 7); /* one key for all: one long run */
	}
	for (size_t i = 0; i < 200; i++)
		assert_ptr_equal(offer_table_get(&t, 7, contacts[i].offer_id), &contacts[i]);
	assert_null(offer_table_get(&t, 7, "x-200"));
	for (size_t i = 0; i < 200; i += 3)
		offer_table_remove(&t, &contacts[i]);
	for (size_t i = 0; i < 200; i++)
		assert_ptr_equal(offer_table_get(&t, 7, contacts[i].offer_id),
				 i % 3 == 0 ? NULL : &contacts[i]);
	offer_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_add_find_remove),
	    cmocka_unit_test(test_shared_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
