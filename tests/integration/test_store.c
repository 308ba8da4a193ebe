/* The store against a real Redis: group commit (everything asked for in one
 * loop turn goes as one EVALSHA, answered in order), the batch size cap,
 * fencing of a whole batch, idempotent submits inside one batch, and
 * external-id keys in the layout before 0.2. The harness's daemon runs on
 * site "test"; this test's store writes site "storetest" on the same Redis. */
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/err.h"
#include "harness.h"
#include "store/store.h"

#define SITE "storetest"
#define MAX_OPS 600

struct fixture {
	struct harness *h;
	struct event_base *base;
	struct store *st;
	bool ready, leased, fenced;
	int answered;             /* callbacks so far */
	int order[MAX_OPS];       /* the tag of each callback, in call order */
	int err[MAX_OPS];         /* its error */
	bool created[MAX_OPS];    /* submits: created */
	char dup_of[MAX_OPS][64]; /* submits: the contact id answered */
	char dup_queue[64];       /* a duplicate's "queue" field */
};

struct tag {
	struct fixture *f;
	int i;
};

static struct tag tags[MAX_OPS];

static void on_state(void *ctx, enum store_state s)
{
	struct fixture *f = ctx;
	f->ready = s == STORE_READY;
}

static void on_fenced(void *ctx)
{
	struct fixture *f = ctx;
	f->fenced = true;
}

static void on_lease(void *arg, int err, enum store_lease_status status, const char *info)
{
	struct fixture *f = arg;
	assert_int_equal(err, 0);
	assert_int_not_equal(status, STORE_LEASE_HELD_BY_OTHER);
	f->leased = true;
}

static void record(struct tag *t, int err)
{
	struct fixture *f = t->f;
	f->order[f->answered] = t->i;
	f->err[t->i] = err;
	f->answered++;
}

static void on_done(void *arg, int err)
{
	record(arg, err);
}

static void on_submitted(void *arg, int err, const struct store_submit_result *r)
{
	struct tag *t = arg;
	if (r != NULL) {
		t->f->created[t->i] = r->created;
		snprintf(t->f->dup_of[t->i], sizeof t->f->dup_of[t->i], "%s", r->contact_id);
		for (size_t k = 0; k < r->n_fields; k++)
			if (strcmp(r->fields[k].name, "queue") == 0)
				snprintf(t->f->dup_queue, sizeof t->f->dup_queue, "%s",
					 r->fields[k].value);
	}
	record(t, err);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Runs the loop until *flag or (answered >= n when n > 0), at most 5 s. */
static void run_until(struct fixture *f, const bool *flag, int n)
{
	struct timeval tv = { 5, 0 };
	struct event *deadline = evtimer_new(f->base, on_deadline, f->base);
	evtimer_add(deadline, &tv);
	while (!(flag != NULL && *flag) && !(n > 0 && f->answered >= n) &&
	       evtimer_pending(deadline, NULL))
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(deadline);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	f->h = harness_start(NULL);
	f->base = event_base_new();
	struct store_conf sc = {
		.address = harness_redis_addr(f->h),
		.site = SITE,
		.connect_timeout_ms = 2000,
		.command_timeout_ms = 5000,
		.reconnect_max_ms = 1000,
		.events_maxlen = 100000,
		.idempotency_ttl_s = 3600,
	};
	f->st = store_new(f->base, &sc, on_state, f);
	store_on_fenced(f->st, on_fenced);
	store_start(f->st);
	run_until(f, &f->ready, 0);
	assert_true(f->ready);
	assert_int_equal(store_lease(f->st, "node-t", 60000, "node-t - -", on_lease, f), 0);
	run_until(f, &f->leased, 0);
	assert_true(f->leased);
	/* Every command Redis runs is logged, so the test can count EVALSHAs. */
	harness_redis_int(f->h, "CONFIG SET slowlog-log-slower-than 0");
	harness_redis_int(f->h, "CONFIG SET slowlog-max-len 100000");
	harness_redis_int(f->h, "SLOWLOG RESET");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_free(f->st);
	event_base_free(f->base);
	int rc = harness_stop(f->h);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* EVALSHAs of this test's batches (KEYS[1] is the site's epoch) since the
 * last SLOWLOG RESET. */
static int batches_sent(struct fixture *f)
{
	redisReply *r = redisCommand(harness_redis(f->h), "SLOWLOG GET -1");
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	int n = 0;
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *argv = r->element[i]->element[3];
		if (argv->elements > 3 && strcasecmp(argv->element[0]->str, "EVALSHA") == 0 &&
		    strcmp(argv->element[3]->str, "sb:{" SITE "}:epoch") == 0)
			n++;
	}
	freeReplyObject(r);
	return n;
}

static struct tag *tag(struct fixture *f, int i)
{
	tags[i] = (struct tag){ f, i };
	return &tags[i];
}

static void submit(struct fixture *f, int i, const char *id, const char *ext)
{
	struct store_field fields[] = { { "state", "waiting", 0 }, { "queue", "q1", 0 } };
	struct store_submit s = {
		.contact_id = id, .gateway_id = "gw", .external_id = ext, .queue = "q1",
		.deadline_ms = 1000 + i, .fields = fields, .n_fields = 2,
		.payload = "\x01\x00\x02", .payload_len = 3,
	};
	assert_int_equal(store_submit(f->st, &s, on_submitted, tag(f, i)), 0);
}

static void write_state(struct fixture *f, int i, const char *id, const char *state)
{
	struct store_field fields[] = { { "state", state, 0 } };
	struct store_field ev[] = { { "event", state, 0 }, { "contact", id, 0 } };
	struct store_write w = {
		.kind = STORE_CONTACT, .id = id, .queue = "q1", .zop = STORE_ZREM,
		.fields = fields, .n_fields = 1, .event = ev, .n_event = 2,
	};
	assert_int_equal(store_write(f->st, &w, on_done, tag(f, i)), 0);
}

static const char *key(const char *rest)
{
	static char buf[128];
	snprintf(buf, sizeof buf, "sb:{" SITE "}:%s", rest);
	return buf;
}

static void test_one_turn_is_one_call(void **state)
{
	struct fixture *f = *state;

	submit(f, 0, "c1", "e1");
	submit(f, 1, "c2", "e1"); /* the same external id: answered with c1 */
	write_state(f, 2, "c1", "assigned");
	assert_int_equal(store_pending(f->st), 3);
	run_until(f, NULL, 3);

	assert_int_equal(f->answered, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(f->order[i], i);
		assert_int_equal(f->err[i], 0);
	}
	assert_true(f->created[0]);
	assert_string_equal(f->dup_of[0], "c1");
	assert_false(f->created[1]);
	assert_string_equal(f->dup_of[1], "c1");
	assert_string_equal(f->dup_queue, "q1");
	assert_int_equal(store_pending(f->st), 0);
	assert_int_equal(batches_sent(f), 1);

	const char *ck = key("contact:c1");
	assert_string_equal(harness_hget(f->h, ck, "state"), "assigned");
	redisReply *r = redisCommand(harness_redis(f->h), "HGET %s payload", ck);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_int_equal(r->len, 3);
	assert_memory_equal(r->str, "\x01\x00\x02", 3);
	freeReplyObject(r);
	/* The submitted event: the contact's fields but not its payload. */
	r = redisCommand(harness_redis(f->h), "XRANGE %s - + COUNT 1", key("events"));
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 1);
	redisReply *ev = r->element[0]->element[1];
	const char *want[] = { "event", "submitted", "contact", "c1", "state", "waiting", "queue", "q1" };
	assert_int_equal(ev->elements, 8);
	for (size_t i = 0; i < 8; i++)
		assert_string_equal(ev->element[i]->str, want[i]);
	freeReplyObject(r);
	assert_null(harness_hget(f->h, key("contact:c2"), "state"));
	assert_int_equal(harness_redis_int(f->h, "SISMEMBER %s c1", key("open")), 1);
	assert_int_equal(harness_redis_int(f->h, "ZCARD %s", key("queue:q1")), 0);
	assert_int_equal(harness_redis_int(f->h, "XLEN %s", key("events")), 2);
	assert_int_equal(harness_redis_int(f->h, "TTL %s", key("ext:gw:e1")) > 0, 1);
	harness_passed(f->h);
}

static void test_batch_is_cut_at_its_cap(void **state)
{
	struct fixture *f = *state;
	char id[32];

	for (int i = 0; i < MAX_OPS; i++) {
		snprintf(id, sizeof id, "w%d", i);
		write_state(f, i, id, "waiting");
	}
	run_until(f, NULL, MAX_OPS);

	assert_int_equal(f->answered, MAX_OPS);
	for (int i = 0; i < MAX_OPS; i++) {
		assert_int_equal(f->order[i], i);
		assert_int_equal(f->err[i], 0);
	}
	assert_int_equal(batches_sent(f), (MAX_OPS + STORE_BATCH_MAX_OPS - 1) / STORE_BATCH_MAX_OPS);
	assert_string_equal(harness_hget(f->h, key("contact:w599"), "state"), "waiting");
	assert_int_equal(harness_redis_int(f->h, "XLEN %s", key("events")), MAX_OPS);
	harness_passed(f->h);
}

static void test_a_fenced_batch_changes_nothing(void **state)
{
	struct fixture *f = *state;

	/* Another daemon took over: the epoch moved on. */
	harness_redis_int(f->h, "INCR %s", key("epoch"));
	write_state(f, 0, "f1", "assigned");
	submit(f, 1, "f2", "e-f2");
	run_until(f, NULL, 2);

	assert_int_equal(f->answered, 2);
	assert_int_equal(f->err[0], SB_ERR_NOT_LEADER);
	assert_int_equal(f->err[1], SB_ERR_NOT_LEADER);
	assert_true(f->fenced);
	assert_string_equal(store_epoch(f->st), "0");
	assert_int_equal(harness_redis_int(f->h, "EXISTS %s", key("contact:f1")), 0);
	assert_int_equal(harness_redis_int(f->h, "EXISTS %s", key("contact:f2")), 0);
	assert_int_equal(harness_redis_int(f->h, "EXISTS %s", key("ext:gw:e-f2")), 0);
	assert_int_equal(harness_redis_int(f->h, "EXISTS %s", key("events")), 0);
	harness_passed(f->h);
}

/* An operation that fails (its key holds the wrong type) fails alone; the
 * rest of its batch lands. */
static void test_a_failing_operation_fails_alone(void **state)
{
	struct fixture *f = *state;

	harness_redis_int(f->h, "SET %s not-a-hash", key("contact:bad"));
	write_state(f, 0, "ok1", "assigned");
	write_state(f, 1, "bad", "assigned");
	write_state(f, 2, "ok2", "assigned");
	run_until(f, NULL, 3);

	assert_int_equal(f->answered, 3);
	assert_int_equal(f->err[0], 0);
	assert_int_equal(f->err[1], SB_ERR_INTERNAL);
	assert_int_equal(f->err[2], 0);
	assert_int_equal(batches_sent(f), 1);
	assert_false(f->fenced);
	assert_string_equal(harness_hget(f->h, key("contact:ok1"), "state"), "assigned");
	assert_string_equal(harness_hget(f->h, key("contact:ok2"), "state"), "assigned");
	harness_passed(f->h);
}

/* Before 0.2 the external-id key was a hash {contact: id}; a retry of such
 * a submit after an upgrade is still recognised. */
static void test_external_id_in_the_old_layout(void **state)
{
	struct fixture *f = *state;

	harness_redis_int(f->h, "HSET %s contact c-old", key("ext:gw:e-old"));
	harness_redis_int(f->h, "HSET %s queue q-old state waiting", key("contact:c-old"));
	submit(f, 0, "c-new", "e-old");
	run_until(f, NULL, 1);

	assert_int_equal(f->err[0], 0);
	assert_false(f->created[0]);
	assert_string_equal(f->dup_of[0], "c-old");
	assert_string_equal(f->dup_queue, "q-old");
	assert_int_equal(harness_redis_int(f->h, "EXISTS %s", key("contact:c-new")), 0);
	harness_passed(f->h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_turn_is_one_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_is_cut_at_its_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_fenced_batch_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_failing_operation_fails_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_external_id_in_the_old_layout, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
