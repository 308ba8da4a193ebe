/* router/recent.c: contacts that finished a moment ago, in a ring of bytes.
 * Checked against what was added: the newest are all there and intact
 * across many wraps of the ring, entries of all sizes, the oldest go first,
 * and nothing older than the keep time stays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record/record.h"
#include "router/internal.h"

#define ADDS 200000

/* A finished contact like the n-th the engine would hand over: its text
 * and payload lengths vary so entries wrap the ring at every offset. */
static void contact(uint64_t n, char *id, size_t idlen, char *text, size_t textlen,
		    struct record_data *d, uint8_t *payload, struct engine_contact_view *c)
{
	snprintf(id, idlen, "c-test-%llu", (unsigned long long)n);
	size_t tl = n % 97;
	memset(text, 'a' + (int)(n % 26), tl);
	text[tl] = '\0';
	(void)textlen;
	size_t pl = (n * 7) % 400;
	for (size_t i = 0; i < pl; i++)
		payload[i] = (uint8_t)(n + i);
	*d = (struct record_data){ .packed = payload, .packed_len = pl, .seq = (uint32_t)(n % 9) + 1 };
	*c = (struct engine_contact_view){
		.id = id,
		.gateway_id = "gw1",
		.external_id = id,
		.queue = "q",
		.customer_tier = "gold",
		.agent_id = n % 3 ? "alice" : NULL,
		.arrived_ms = (int64_t)n,
		.user = d,
	};
}

/* f is what contact n became. */
static void check(const struct record_finished *f, uint64_t n)
{
	char id[48], text[128];
	uint8_t payload[512];
	struct record_data d;
	struct engine_contact_view c;

	contact(n, id, sizeof id, text, sizeof text, &d, payload, &c);
	assert_non_null(f);
	assert_string_equal(f->id, id);
	assert_string_equal(f->text, text);
	assert_string_equal(f->agent, n % 3 ? "alice" : "");
	assert_int_equal(f->arrived_ms, (int64_t)n);
	assert_int_equal(f->seq, d.seq);
	assert_int_equal(f->payload_len, d.packed_len);
	assert_memory_equal(f->payload, payload, d.packed_len);
}

struct walk {
	uint64_t count, last;
	bool ordered;
};

static void walk_one(void *arg, const struct record_finished *f)
{
	struct walk *w = arg;
	uint64_t n = (uint64_t)f->arrived_ms;

	if (w->count > 0 && n <= w->last)
		w->ordered = false;
	w->last = n;
	w->count++;
}

static void test_ring_keeps_the_newest_intact(void **state)
{
	struct recent *rc = recent_new();
	char id[48], text[128];
	uint8_t payload[512];
	struct record_data d;
	struct engine_contact_view c;

	for (uint64_t n = 1; n <= ADDS; n++) {
		contact(n, id, sizeof id, text, sizeof text, &d, payload, &c);
		/* all finished at the same moment: only the ring's size drops them */
		recent_add(rc, n % 2 ? RECENT_COMPLETED : RECENT_CANCELLED, &c, text, 60, 1000);
		check(recent_finished(rc, id), n);
		if (n % 9973 == 0) {
			/* the last thousand are all there, as added */
			for (uint64_t k = n - 999; k <= n; k++) {
				char kid[48];
				snprintf(kid, sizeof kid, "c-test-%llu", (unsigned long long)k);
				check(recent_finished(rc, kid), k);
			}
		}
	}
	/* the walk sees every kept one, oldest first, ending at the newest */
	struct walk w = { .ordered = true };
	recent_each_since(rc, 0, walk_one, &w);
	assert_true(w.ordered);
	assert_int_equal(w.last, ADDS);
	assert_true(w.count > 10000);  /* megabytes hold tens of thousands */
	assert_true(w.count < ADDS);   /* and the oldest went */
	assert_null(recent_finished(rc, "c-test-1"));
	/* who finished it */
	assert_true(recent_done(rc, "c-test-199999", "alice", RECENT_COMPLETED));
	assert_false(recent_done(rc, "c-test-199999", "bob", RECENT_COMPLETED));
	assert_true(recent_done(rc, "c-test-200000", "gw1", RECENT_CANCELLED));
	assert_false(recent_done(rc, "c-test-200000", "gw1", RECENT_COMPLETED));
	recent_free(rc);
}

static void test_old_ones_expire(void **state)
{
	struct recent *rc = recent_new();
	char id[48], text[128];
	uint8_t payload[512];
	struct record_data d;
	struct engine_contact_view c;

	for (uint64_t n = 1; n <= 100; n++) {
		contact(n, id, sizeof id, text, sizeof text, &d, payload, &c);
		recent_add(rc, RECENT_EXPIRED, &c, text, 60, (int64_t)n * 1000);
	}
	/* 100 s of finishes, one a second: the last 30 s are kept */
	struct walk w = { .ordered = true };
	recent_each_since(rc, 0, walk_one, &w);
	assert_true(w.ordered);
	assert_int_equal(w.count, 31);
	assert_null(recent_finished(rc, "c-test-69"));
	check(recent_finished(rc, "c-test-70"), 70);
	/* since: only what finished at or after it */
	w = (struct walk){ .ordered = true };
	recent_each_since(rc, 95000, walk_one, &w);
	assert_int_equal(w.count, 6);
	recent_free(rc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_keeps_the_newest_intact),
		cmocka_unit_test(test_old_ones_expire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
