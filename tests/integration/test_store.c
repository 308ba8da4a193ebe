/* The store against a real Redis: group commit (everything asked for in one
 * loop turn goes as one EVALSHA, answered in order), the batch size cap,
 * fencing of a whole batch, a write sent twice landing once, writes Redis
 * refuses kept and sent again in order, and Redis losing data noticed and
 * the owner's state put back. The harness's daemon runs on site "test";
 * this test's store writes site "storetest" on the same Redis. */
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "store/store.h"
#include "util/err.h"

#define SITE "storetest"
#define MAX_OPS 600

struct fixture {
	struct harness *h;
	struct event_base *base;
	struct store *st;
	enum store_state state;
	bool ready, leased, fenced;
	bool unready, refusing;   /* the store left READY / refuses writes */
	int losses;               /* lost hook calls */
	char lost_why[160];
	bool put_on_loss;         /* the lost hook puts contact c1 back */
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
	f->state = s;
	f->ready = s == STORE_READY;
	f->unready = s != STORE_READY;
	f->refusing = s == STORE_REFUSING;
}

static void on_fenced(void *ctx)
{
	struct fixture *f = ctx;
	f->fenced = true;
}

/* The owner's live state, as a daemon would hand it back: contact c1,
 * waiting in q1, at transition 2. */
static void on_lost(void *ctx, const char *why)
{
	struct fixture *f = ctx;

	f->losses++;
	snprintf(f->lost_why, sizeof f->lost_why, "%s", why);
	if (!f->put_on_loss)
		return;
	struct store_field fields[] = { { "state", "waiting", 0 }, { "queue", "q1", 0 },
					{ "event_seq", "2", 0 }, { "payload", "\x01", 1 } };
	struct store_write w = {
		.kind = STORE_CONTACT, .id = "c1", .queue = "q1", .zop = STORE_ZADD, .score = 7,
		.opens = true, .external_key = "gw:e1", .fields = fields, .n_fields = 4,
	};
	store_put(f->st, &w);
}

static void on_lease(void *arg, int err, enum store_lease_status status, const char *info,
		     int64_t epoch)
{
	struct fixture *f = arg;
	assert_int_equal(err, 0);
	assert_int_not_equal(status, STORE_LEASE_HELD_BY_OTHER);
	f->leased = status == STORE_LEASE_NEW_TERM || status == STORE_LEASE_KEPT;
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

/* Runs the loop until *flag or (answered >= n when n > 0), at most ms. */
static void run_for(struct fixture *f, const bool *flag, int n, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *deadline = evtimer_new(f->base, on_deadline, f->base);
	evtimer_add(deadline, &tv);
	while (!(flag != NULL && *flag) && !(n > 0 && f->answered >= n) &&
	       evtimer_pending(deadline, NULL))
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(deadline);
}

static void run_until(struct fixture *f, const bool *flag, int n)
{
	run_for(f, flag, n, 5000);
}

/* Long enough for a loaded machine; test_a_repeated_write_lands_once
 * shortens it, to give up on a hung Redis sooner. */
static int command_timeout_ms = 5000;

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	f->h = harness_start(NULL);
	f->base = event_base_new();
	struct store_conf sc = {
		.address = harness_redis_addr(f->h),
		.site = SITE,
		.connect_timeout_ms = 2000,
		.command_timeout_ms = command_timeout_ms,
		.reconnect_max_ms = 200,
		.events_maxlen = 100000,
		.idempotency_ttl_s = 3600,
		.seq_field = "event_seq",
	};
	struct store_hooks hooks = {
		.state = on_state, .fenced = on_fenced, .lost = on_lost, .ctx = f
	};
	f->st = store_new(f->base, &sc, &hooks);
	store_start(f->st);
	run_until(f, &f->ready, 0);
	assert_true(f->ready);
	assert_int_equal(store_lease(f->st, "node-t", 60000, "node-t - -", 0, on_lease, f), 0);
	run_until(f, &f->leased, 0);
	assert_true(f->leased);
	/* Every command Redis runs is logged, so the test can count EVALSHAs. */
	harness_redis_int(f->h, "CONFIG SET slowlog-log-slower-than 0");
	harness_redis_int(f->h, "CONFIG SET slowlog-max-len 100000");
	harness_redis_int(f->h, "SLOWLOG RESET");
	*state = f;
	return 0;
}

static int setup_quick_timeout(void **state)
{
	command_timeout_ms = 1000;
	int rc = setup(state);
	command_timeout_ms = 5000;
	return rc;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	harness_redis_int(f->h, "CONFIG SET maxmemory 0");
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
		/* the batch script has 5 keys (sync, 2) */
		if (argv->elements > 3 && strcasecmp(argv->element[0]->str, "EVALSHA") == 0 &&
		    strcmp(argv->element[2]->str, "5") == 0 &&
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
	struct store_field fields[] = { { "state", "waiting", 0 }, { "queue", "q1", 0 },
					{ "event_seq", "1", 0 }, { "payload", "\x01\x00\x02", 3 } };
	struct store_field ev[] = { { "event", "submitted", 0 }, { "contact", id, 0 },
				    { "queue", "q1", 0 } };
	struct store_submit s = {
		.contact_id = id, .gateway_id = "gw", .external_id = ext, .queue = "q1",
		.deadline_ms = 1000 + i, .fields = fields, .n_fields = 4, .event = ev, .n_event = 3,
	};
	assert_int_equal(store_submit(f->st, &s, on_submitted, tag(f, i)), 0);
}

/* Transition seq of contact id (or agent, with kind) to state. */
static void write_state(struct fixture *f, int i, enum store_kind kind, const char *id,
			uint32_t seq, const char *state)
{
	char n[16];
	snprintf(n, sizeof n, "%u", seq);
	struct store_field fields[] = { { "state", state, 0 }, { "event_seq", n, 0 } };
	struct store_field ev[] = { { "event", state, 0 }, { "contact", id, 0 } };
	struct store_write w = {
		.kind = kind, .id = id, .seq = seq, .queue = "q1", .zop = STORE_ZREM,
		.fields = fields, .n_fields = 2, .event = ev, .n_event = 2,
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
	write_state(f, 2, STORE_CONTACT, "c1", 2, "assigned");
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
	assert_string_equal(harness_hget(f->h, ck, "event_seq"), "2");
	redisReply *r = redisCommand(harness_redis(f->h), "HGET %s payload", ck);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_int_equal(r->len, 3);
	assert_memory_equal(r->str, "\x01\x00\x02", 3);
	freeReplyObject(r);
	/* The submitted event is exactly what the caller gave. */
	r = redisCommand(harness_redis(f->h), "XRANGE %s - + COUNT 1", key("events"));
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 1);
	redisReply *ev = r->element[0]->element[1];
	const char *want[] = { "event", "submitted", "contact", "c1", "queue", "q1" };
	assert_int_equal(ev->elements, 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(ev->element[i]->str, want[i]);
	freeReplyObject(r);
	assert_null(harness_hget(f->h, key("contact:c2"), "state"));
	assert_int_equal(harness_redis_int(f->h, "SISMEMBER %s c1", key("open")), 1);
	assert_int_equal(harness_redis_int(f->h, "ZCARD %s", key("queue:q1")), 0);
	assert_int_equal(harness_redis_int(f->h, "XLEN %s", key("events")), 2);
	assert_int_equal(harness_redis_int(f->h, "TTL %s", key("ext:gw:e1")) > 0, 1);
	/* one batch applied: the counter says so */
	redisReply *c = redisCommand(harness_redis(f->h), "GET %s", key("commits"));
	assert_int_equal(c->type, REDIS_REPLY_STRING);
	assert_string_equal(c->str, "1");
	freeReplyObject(c);
	harness_passed(f->h);
}

static void test_batch_is_cut_at_its_cap(void **state)
{
	struct fixture *f = *state;
	char id[32];

	/* agents' hashes may be new at their first transition */
	for (int i = 0; i < MAX_OPS; i++) {
		snprintf(id, sizeof id, "w%d", i);
		write_state(f, i, STORE_AGENT, id, 1, "available");
	}
	run_until(f, NULL, MAX_OPS);

	assert_int_equal(f->answered, MAX_OPS);
	for (int i = 0; i < MAX_OPS; i++) {
		assert_int_equal(f->order[i], i);
		assert_int_equal(f->err[i], 0);
	}
	assert_int_equal(batches_sent(f), (MAX_OPS + STORE_BATCH_MAX_OPS - 1) / STORE_BATCH_MAX_OPS);
	assert_string_equal(harness_hget(f->h, key("agent:w599"), "state"), "available");
	assert_int_equal(harness_redis_int(f->h, "XLEN %s", key("events")), MAX_OPS);
	harness_passed(f->h);
}

static void test_a_fenced_batch_changes_nothing(void **state)
{
	struct fixture *f = *state;

	/* Another daemon took over: the epoch moved on. */
	harness_redis_int(f->h, "INCR %s", key("epoch"));
	write_state(f, 0, STORE_AGENT, "f1", 1, "available");
	submit(f, 1, "f2", "e-f2");
	run_until(f, NULL, 2);

	assert_int_equal(f->answered, 2);
	assert_int_equal(f->err[0], SB_ERR_NOT_LEADER);
	assert_int_equal(f->err[1], SB_ERR_NOT_LEADER);
	assert_true(f->fenced);
	assert_string_equal(store_epoch(f->st), "0");
	assert_int_equal(harness_redis_int(f->h, "EXISTS %s", key("agent:f1")), 0);
	assert_int_equal(harness_redis_int(f->h, "EXISTS %s", key("contact:f2")), 0);
	assert_int_equal(harness_redis_int(f->h, "EXISTS %s", key("ext:gw:e-f2")), 0);
	assert_int_equal(harness_redis_int(f->h, "EXISTS %s", key("events")), 0);
	/* and nothing more is taken */
	assert_int_equal(store_pending(f->st), 0);
	harness_passed(f->h);
}

/* A transition sent again (its first answer was lost with a connection) is
 * answered as done and recorded once: one event. Redis hangs (SIGSTOP)
 * with the batch in its socket; the store gives up on the connection; Redis
 * wakes, runs the batch and sees the hang-up; the store reconnects and,
 * not knowing the batch's fate, sends the write again, checked. */
static void test_a_repeated_write_lands_once(void **state)
{
	struct fixture *f = *state;

	submit(f, 0, "c1", "e1");
	run_until(f, NULL, 1);
	harness_redis_signal(f->h, SIGSTOP);
	write_state(f, 1, STORE_CONTACT, "c1", 2, "offered");
	run_until(f, &f->unready, 0);
	assert_false(f->ready);
	harness_redis_signal(f->h, SIGCONT);
	run_until(f, NULL, 2);

	assert_int_equal(f->err[0], 0);
	assert_int_equal(f->err[1], 0);
	/* the submit's batch, the write's, and the write's again */
	assert_int_equal(batches_sent(f), 3);
	assert_string_equal(harness_hget(f->h, key("contact:c1"), "event_seq"), "2");
	assert_int_equal(harness_redis_int(f->h, "XLEN %s", key("events")), 2);
	harness_passed(f->h);
}

/* Redis refusing writes (maxmemory reached): they are not answered, not
 * dropped and not applied out of order; once Redis takes writes again they
 * all land, in order, and only then are they answered. */
static void test_refused_writes_are_kept_in_order(void **state)
{
	struct fixture *f = *state;
	char id[16];

	harness_redis_int(f->h, "CONFIG SET maxmemory 1");
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof id, "r%d", i % 3);
		write_state(f, i, STORE_AGENT, id, (uint32_t)(i / 3 + 1), i % 2 ? "break" : "available");
	}
	run_for(f, NULL, 0, 800);
	assert_int_equal(f->answered, 0);
	assert_int_equal(f->state, STORE_REFUSING);
	assert_int_equal(harness_redis_int(f->h, "EXISTS %s", key("agent:r0")), 0);
	/* a submit is refused at once while Redis refuses writes */
	struct store_field fields[] = { { "state", "waiting", 0 } };
	struct store_submit s = { .contact_id = "x", .gateway_id = "gw", .external_id = "x",
				  .queue = "q1", .fields = fields, .n_fields = 1 };
	assert_int_equal(store_submit(f->st, &s, on_submitted, tag(f, 200)),
			 SB_ERR_STORE_UNAVAILABLE);

	harness_redis_int(f->h, "CONFIG SET maxmemory 0");
	run_until(f, NULL, 100);
	assert_int_equal(f->answered, 100);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(f->order[i], i);
		assert_int_equal(f->err[i], 0);
	}
	assert_true(f->ready);
	/* the last transition of each agent is what Redis holds */
	assert_string_equal(harness_hget(f->h, key("agent:r0"), "event_seq"), "34");
	assert_string_equal(harness_hget(f->h, key("agent:r0"), "state"), "break");
	assert_int_equal(harness_redis_int(f->h, "XLEN %s", key("events")), 100);
	harness_passed(f->h);
}

/* A write checked (sent again, here after Redis refused it) whose
 * predecessor Redis does not hold means Redis lost data: the owner is asked
 * for its state, which goes in first, and the write is then a repeat. */
static void test_a_missing_predecessor_is_a_loss(void **state)
{
	struct fixture *f = *state;

	f->put_on_loss = true;
	harness_redis_int(f->h, "CONFIG SET maxmemory 1");
	write_state(f, 0, STORE_CONTACT, "c1", 2, "offered");
	run_until(f, &f->refusing, 0);
	assert_int_equal(f->state, STORE_REFUSING);
	harness_redis_int(f->h, "CONFIG SET maxmemory 0");
	run_until(f, NULL, 1);

	assert_int_equal(f->answered, 1);
	assert_int_equal(f->err[0], 0);
	assert_int_equal(f->losses, 1);
	assert_non_null(strstr(f->lost_why, "predecessor"));
	/* the put, whole: payload, queue entry, open set, external id */
	assert_string_equal(harness_hget(f->h, key("contact:c1"), "state"), "waiting");
	assert_string_equal(harness_hget(f->h, key("contact:c1"), "event_seq"), "2");
	assert_int_equal(harness_redis_int(f->h, "SISMEMBER %s c1", key("open")), 1);
	assert_int_equal(harness_redis_int(f->h, "ZCARD %s", key("queue:q1")), 1);
	assert_int_equal(harness_redis_int(f->h, "EXISTS %s", key("ext:gw:e1")), 1);
	assert_true(f->ready);
	harness_passed(f->h);
}

/* FLUSHALL: the next batch finds its epoch gone. The owner's state goes
 * back, then the epoch, the counter and the lease, then the write. */
static void test_a_flushed_redis_is_put_back(void **state)
{
	struct fixture *f = *state;
	const char *epoch = harness_printf(f->h, "%s", store_epoch(f->st));

	submit(f, 0, "c1", "e1");
	run_until(f, NULL, 1);
	harness_redis_int(f->h, "FLUSHALL");
	f->put_on_loss = true;
	write_state(f, 1, STORE_CONTACT, "c1", 3, "offered");
	run_until(f, NULL, 2);

	assert_int_equal(f->err[1], 0);
	assert_int_equal(f->losses, 1);
	assert_non_null(strstr(f->lost_why, "LOST"));
	assert_string_equal(harness_hget(f->h, key("contact:c1"), "state"), "offered");
	assert_string_equal(harness_hget(f->h, key("contact:c1"), "event_seq"), "3");
	assert_string_equal(harness_hget(f->h, key("contact:c1"), "queue"), "q1");
	redisReply *r = redisCommand(harness_redis(f->h), "GET %s", key("epoch"));
	assert_string_equal(r->str, epoch);
	freeReplyObject(r);
	r = redisCommand(harness_redis(f->h), "GET %s", key("leader"));
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	freeReplyObject(r);
	/* noticed once: the next writes just land */
	write_state(f, 2, STORE_CONTACT, "c1", 4, "assigned");
	run_until(f, NULL, 3);
	assert_int_equal(f->err[2], 0);
	assert_int_equal(f->losses, 1);
	harness_passed(f->h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_turn_is_one_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_is_cut_at_its_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_fenced_batch_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_repeated_write_lands_once, setup_quick_timeout,
						teardown),
		cmocka_unit_test_setup_teardown(test_refused_writes_are_kept_in_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_missing_predecessor_is_a_loss, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_flushed_redis_is_put_back, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
